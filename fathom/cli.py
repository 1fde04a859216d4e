"""The `fathom` command line: every role's actions. `fathom --help` lists them."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from . import __version__
from .config import Settings
from .deployments import read_deployment
from .errors import FathomError


def _cmd_deployments(args: argparse.Namespace, settings: Settings) -> int:
    record = read_deployment(settings.deployments_dir, args.network or settings.network)
    if args.json:
        print(json.dumps(record, indent=2, sort_keys=True))
        return 0
    print(f"network {record.get('network')} (chain id {record.get('chain_id')}), deployed at block {record.get('block')}")
    for name, address in sorted(record["contracts"].items()):
        print(f"  {name:<16} {address}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fathom",
        description="Fathom: pay to have a model trained on data you never see. "
        "Settings come from FATHOM_* environment variables (see README.md).",
    )
    parser.add_argument("--version", action="version", version=f"fathom {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    dep = sub.add_parser("deployments", help="show where the contracts of a network live")
    dep.add_argument("--network", help="brownie network id (default: FATHOM_NETWORK or development)")
    dep.add_argument("--json", action="store_true", help="print the deployment record as JSON")
    dep.set_defaults(func=_cmd_deployments)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args, Settings.from_env())
    except FathomError as exc:
        print(f"fathom: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("fathom: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

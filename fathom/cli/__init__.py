"""The `fathom` command line: every role's actions. `fathom --help` lists them.

Settings come from FATHOM_* environment variables (README.md, "Configuration"): the
node (FATHOM_RPC_URL), the deployment (FATHOM_NETWORK, FATHOM_DEPLOYMENTS), the account
(FATHOM_PRIVATE_KEY, or --key-file), the store (FATHOM_IPFS_API, else the embedded one).
User mistakes print one plain line on stderr and exit 1; nothing prints a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from fathom import __version__
from fathom.config import Settings
from fathom.errors import FathomError

from fathom.cli import bounty, contribute, devnet, export, misc, oracle, privacy, tables


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fathom",
        description="Fathom: pay to have a model trained on data you never see. "
        "Settings come from FATHOM_* environment variables (see README.md).",
    )
    parser.add_argument("--version", action="version", version=f"fathom {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    for group in (devnet, misc, oracle, bounty, contribute, privacy, tables, export):
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        # argument types raise FathomError (not ValueError), so a bad address or amount
        # gets the same one line as every other mistake
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        return args.func(args, Settings.from_env())
    except FathomError as exc:
        print(f"fathom: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("fathom: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader stopped reading (`fathom bounty show 1 --json | grep -q Open`, `| head`):
        # its choice, not our failure. Point stdout at /dev/null so the exit flush stays quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())

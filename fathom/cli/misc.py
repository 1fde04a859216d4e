"""Commands of no single role: deployments, cid, keys, reputation, report, demo."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from fathom.chain.deployments import read_deployment
from fathom.config import Settings
from fathom.cli._common import account_key, address_arg, market_for, store_for, with_key


def _cmd_deployments(args: argparse.Namespace, settings: Settings) -> int:
    record = read_deployment(settings.deployments_dir, args.network or settings.network)
    if args.json:
        print(json.dumps(record, indent=2, sort_keys=True))
        return 0
    print(f"network {record.get('network')} (chain id {record.get('chain_id')}), deployed at block {record.get('block')}")
    for name, address in sorted(record["contracts"].items()):
        print(f"  {name:<21} {address}")
    return 0


def _cmd_cid(args: argparse.Namespace, settings: Settings) -> int:
    from fathom.storage.store import compute_file_cid

    print(compute_file_cid(args.path))
    return 0


def _cmd_keys_publish(args: argparse.Namespace, settings: Settings) -> int:
    from fathom.crypto.envelope import public_key_of

    key = account_key(args, settings)
    market = market_for(args, settings)
    changed = market.ensure_key_published(public_key_of(key))
    print(f"{market.sender.address}: public key {'published' if changed else 'already published'}")
    return 0


def _cmd_keys_show(args: argparse.Namespace, settings: Settings) -> int:
    market = market_for(args, settings, signer=False)
    print(market.public_key(address_arg(args.address)).hex())
    return 0


def _cmd_reputation(args: argparse.Namespace, settings: Settings) -> int:
    from fathom.cli.reputation import reputation

    counts = reputation(market_for(args, settings, signer=False), address_arg(args.address))
    if args.json:
        print(json.dumps(counts, indent=2))
    else:
        for k, v in counts.items():
            print(f"  {k:<22} {v}")
    return 0


def _cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from fathom.cli.report import report

    market = market_for(args, settings, signer=False)
    market.require_bounty(args.bounty)
    png, page = report(market, args.bounty, args.out, store=store_for(settings))  # with the test set (F14)
    print(f"wrote {png} and {page}")
    return 0


def _cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from fathom.cli.demo import main as demo_main

    return demo_main((["--workdir", str(args.workdir)] if args.workdir else [])
                     + ["--chain", args.chain, "--report-dir", str(args.report_dir)])


def register(sub: Any) -> None:
    dep = sub.add_parser("deployments", help="show where the contracts of a network live")
    dep.add_argument("--network", help="brownie network id (default: FATHOM_NETWORK or development)")
    dep.add_argument("--json", action="store_true", help="print the deployment record as JSON")
    dep.set_defaults(func=_cmd_deployments)

    cid = sub.add_parser(
        "cid",
        help="print the CID of a file (what `ipfs add --cid-version=1 --raw-leaves` gives it)",
        description="Print the CID of a file without storing it: base32 CIDv1, the same as "
        "`ipfs add --cid-version=1 --raw-leaves` and Fathom's stores give it. The file is read in pieces.",
    )
    cid.add_argument("path", metavar="PATH", help="the file")
    cid.set_defaults(func=_cmd_cid)

    keys = sub.add_parser("keys", help="your public key in the on-chain KeyRegistry").add_subparsers(dest="sub", metavar="ACTION", required=True)
    p = with_key(keys.add_parser("publish", help="publish this account's public key (artefacts are encrypted to it)"))
    p.set_defaults(func=_cmd_keys_publish)
    p = keys.add_parser("show", help="print an address's published public key")
    p.add_argument("address")
    p.set_defaults(func=_cmd_keys_show)

    p = sub.add_parser("reputation", help="what an address did, counted from events")
    p.add_argument("address")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_reputation)

    p = sub.add_parser("report", help="plot a bounty: score over versions, rewards, the curve (PNG + HTML)")
    p.add_argument("bounty", type=int)
    p.add_argument("--out", type=Path, default=Path("reports"), help="folder for bounty-<id>.png/.html (default reports/)")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("demo", help="run a whole bounty round on a local chain (what `make demo` runs)")
    p.add_argument("--workdir", type=Path, help="where to keep the run's files (default: a fresh temp folder)")
    p.add_argument("--chain", choices=("ganache", "anvil"), default="ganache", help="local chain (default ganache)")
    p.add_argument("--report-dir", type=Path, default=Path("reports"), help="where the round's report goes (default reports/)")
    p.set_defaults(func=_cmd_demo)

"""`fathom bounty`: the requester's commands (open, admit, cancel, close, reveal, export) and anyone's views."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from fathom.config import Settings
from fathom.errors import FathomError
from fathom.cli._common import account_key, eth, load_arrays, market_for, store_for, with_key


def _cmd_bounty_show(args: argparse.Namespace, settings: Settings) -> int:
    market = market_for(args, settings, signer=False)
    view = market.bounty(args.bounty)
    view["state"] = market.state(args.bounty)
    if args.json:
        print(json.dumps({k: (v.hex() if isinstance(v, bytes) else v) for k, v in view.items()}, indent=2))
        return 0
    print(f"bounty {args.bounty}: {view['state']}, requester {view['requester']}")
    print(f"  reward {eth(view['reward'])} (paid {eth(view['paid'])}), stake {eth(view['stake'])}, batch size {view['batchSize']}")
    print(f"  baseline {view['baselineScore']}, head version {view['versionCount']} at {view['headScore']}, target {view['target']}")
    print(f"  submissions {view['submissionCount']}, next batch to settle {view['nextBatch']}")
    return 0


def _cmd_bounty_lineage(args: argparse.Namespace, settings: Settings) -> int:
    from fathom.roles.requester import lineage, payouts

    market = market_for(args, settings, signer=False)
    versions = lineage(market, args.bounty)
    if args.json:
        print(json.dumps({"versions": versions, "payouts": payouts(market, args.bounty)}, indent=2))
        return 0
    print(f"{'version':>7} {'parent':>6} {'score':>7} {'submission':>10} {'reward':>12}  author")
    for v in versions:
        print(f"{v['version']:>7} {str(v['parent'] if v['parent'] is not None else '-'):>6} {str(v['score']):>7} "
              f"{str(v['submission'] if v['submission'] is not None else '-'):>10} {eth(v['reward']):>12}  {v['author'] or '-'}")
    print("\npayouts per contributor")
    for who, row in payouts(market, args.bounty).items():
        print(f"  {who}: {row['submitted']} sent, {row['accepted']} accepted, {row['rejected']} rejected, "
              f"{row['slashed']} slashed; reward {eth(row['reward'])}, burned {eth(row['burned'])}")
    return 0


def _cmd_bounty_open(args: argparse.Namespace, settings: Settings) -> int:
    from fathom.roles.requester import default_terms, open_bounty

    key = account_key(args, settings)
    market = market_for(args, settings)
    model_manifest, model_arrays = load_arrays(args.model)
    val_manifest, val_arrays = load_arrays(args.validation)
    if not val_manifest:
        val_manifest = {"task": "classification", "n_classes": int(val_arrays["y"].max()) + 1}
    committee = [c.strip() for c in args.committee.split(",") if c.strip()]
    overrides: dict[str, Any] = {
        "reward": int(args.reward * 10**18), "stake": int(args.stake * 10**18), "batchSize": args.batch_size,
        "target": args.target, "deadline": market.now() + int(args.days * 86_400),
    }
    if args.token:
        overrides["token"] = args.token
    terms = default_terms(market.now(), committee, validation_rows=len(val_arrays["y"]), **overrides)
    secrets = open_bounty(market, store_for(settings), key, settings.data_dir, (model_manifest, model_arrays),
                          (val_manifest, val_arrays), terms, admitted=args.admit or [], clear=args.clear)
    print(f"bounty {secrets.bounty_id} opened; its secrets are in {settings.data_dir}/requester/bounty-{secrets.bounty_id}.json")
    return 0


def bounty_secrets(args: argparse.Namespace, settings: Settings) -> Any:
    from fathom.roles.requester import BountySecrets

    return BountySecrets.load(settings.data_dir, args.bounty)


def _cmd_bounty_admit(args: argparse.Namespace, settings: Settings) -> int:
    from fathom.roles.requester import admit

    cid = admit(market_for(args, settings), store_for(settings), account_key(args, settings), bounty_secrets(args, settings), args.addresses)
    print(f"keyring extended with {len(args.addresses)} contributors: {cid}")
    return 0


def _cmd_bounty_simple(action: str) -> Any:
    def run(args: argparse.Namespace, settings: Settings) -> int:
        market = market_for(args, settings)
        if action == "reveal":
            from fathom.roles.requester import reveal

            reveal(market, bounty_secrets(args, settings))
        else:
            getattr(market, action)(args.bounty)
        print(f"bounty {args.bounty}: {action} done; now {market.state(args.bounty)}")
        return 0

    return run


def _cmd_bounty_export(args: argparse.Namespace, settings: Settings) -> int:
    from fathom.roles.requester import export_model

    key = account_key(args, settings) if (args.key_file or settings.private_key) else None
    model_key = None
    try:
        model_key = bounty_secrets(args, settings).model_key
    except FathomError:
        pass
    market = market_for(args, settings, signer=False)
    if model_key is None:
        from fathom.roles.requester import revealed_keys

        revealed = revealed_keys(market, args.bounty)  # after the reveal, anyone can export
        if revealed is not None and any(revealed[1]):
            model_key = revealed[1]
    info = export_model(market, store_for(settings), args.bounty, args.out, key, model_key, args.version)
    print(f"version {info['version']} (score {info['score']}) written to {args.out}: {', '.join(info['files'])}")
    return 0


def register(sub: Any) -> None:
    bounty = sub.add_parser("bounty", help="open, inspect, close and reveal bounties").add_subparsers(dest="sub", metavar="ACTION", required=True)
    p = with_key(bounty.add_parser("open", help="encrypt, pin, commit and fund a new bounty"))
    p.add_argument("--model", type=Path, required=True, help="folder: manifest.json + W0.npy, b0.npy, ...")
    p.add_argument("--validation", type=Path, required=True, help="folder: X.npy, y.npy (+ optional manifest.json)")
    p.add_argument("--committee", required=True, help="comma-separated oracle addresses (3 or more)")
    p.add_argument("--reward", type=float, default=1.0, help="reward escrow, in ETH (or token units)")
    p.add_argument("--stake", type=float, default=0.01, help="stake per submission")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--target", type=int, default=9_800, help="target score in score units (1e-4)")
    p.add_argument("--days", type=float, default=7.0, help="deadline, in days from now")
    p.add_argument("--token", help="ERC-20 address (default: ETH)")
    p.add_argument("--admit", nargs="*", help="contributor addresses to admit to the keyring")
    p.add_argument("--clear", action="store_true", help="publish the models in the clear (no model key)")
    p.set_defaults(func=_cmd_bounty_open)
    p = bounty.add_parser("show", help="a bounty's state")
    p.add_argument("bounty", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_bounty_show)
    p = bounty.add_parser("lineage", help="versions and payouts, from events")
    p.add_argument("bounty", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_bounty_lineage)
    p = with_key(bounty.add_parser("admit", help="wrap the model key for more contributors"))
    p.add_argument("bounty", type=int)
    p.add_argument("addresses", nargs="+")
    p.set_defaults(func=_cmd_bounty_admit)
    for action, text in (("close", "close a bounty that has ended (refunds what was not earned)"),
                         ("cancel", "stop taking submissions (effective once every batch is decided)"),
                         ("reveal", "publish the validation key, salt and model key")):
        p = with_key(bounty.add_parser(action, help=text))
        p.add_argument("bounty", type=int)
        p.set_defaults(func=_cmd_bounty_simple(action))
    p = with_key(bounty.add_parser("export", help="fetch, decrypt and write the final model"))
    p.add_argument("bounty", type=int)
    p.add_argument("out", type=Path, help="folder to write manifest.json and .npy arrays to")
    p.add_argument("--version", type=int, help="a version other than the head")
    p.set_defaults(func=_cmd_bounty_export)

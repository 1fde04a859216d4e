"""The `fathom` command line: every role's actions. `fathom --help` lists them.

Settings come from FATHOM_* environment variables (README.md, "Configuration"): the
node (FATHOM_RPC_URL), the deployment (FATHOM_NETWORK, FATHOM_DEPLOYMENTS), the account
(FATHOM_PRIVATE_KEY, or --key-file), the store (FATHOM_IPFS_API, else the embedded one).
User mistakes print one plain line on stderr and exit 1; nothing prints a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any, Sequence

from . import __version__
from .config import Settings
from .deployments import read_deployment
from .errors import FathomError

ETH_ADDRESS = "0x0000000000000000000000000000000000000000"


# ---------------------------------------------------------------- shared plumbing


def _key(args: argparse.Namespace, settings: Settings) -> bytes:
    from .crypto import load_private_key

    if getattr(args, "key_file", None):
        try:
            raw = Path(args.key_file).read_text().strip()
        except OSError as exc:
            raise FathomError(f"cannot read the key file {args.key_file}: {exc.strerror}") from None
        return load_private_key(raw)
    if settings.private_key:
        return load_private_key(settings.private_key)
    raise FathomError("this needs an account: set FATHOM_PRIVATE_KEY or pass --key-file")


def _market(args: argparse.Namespace, settings: Settings, signer: bool = True) -> Any:
    from .market import Market

    key = _key(args, settings) if signer else None
    return Market.from_settings(settings, "0x" + key.hex() if key else None)


def _store(settings: Settings) -> Any:
    from .storage import open_store

    return open_store(settings)


def _address(text: str) -> str:
    """A checksummed address, or a plain error naming what was given."""
    from eth_utils import is_address, to_checksum_address

    if not is_address(text):
        raise FathomError(f"{text!r} is not an Ethereum address (0x and 40 hex digits, checksummed if mixed-case)")
    return to_checksum_address(text)


def _eth(wei: int) -> str:
    return f"{wei / 1e18:.6f}"


def _load_arrays(folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """manifest.json (optional) plus NAME.npy files, loaded without pickle."""
    import numpy as np

    if not folder.is_dir():
        raise FathomError(f"{folder} is not a folder (expected manifest.json and .npy files)")
    manifest: dict[str, Any] = {}
    if (folder / "manifest.json").exists():
        try:
            manifest = json.loads((folder / "manifest.json").read_text())
        except json.JSONDecodeError as exc:
            raise FathomError(f"{folder}/manifest.json is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    arrays = {}
    for path in sorted(folder.glob("*.npy")):
        try:
            arrays[path.stem] = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise FathomError(f"{path} cannot be read as a plain array: {exc}") from None
    if not arrays:
        raise FathomError(f"{folder} holds no .npy arrays")
    return manifest, arrays


class _Progress:
    """A one-line progress bar on stderr (silent when stderr is not a terminal)."""

    def __init__(self, label: str):
        self.label = label
        self.tty = sys.stderr.isatty()

    def __call__(self, done: int, total: int, *extra: Any) -> None:
        if not self.tty:
            return
        width = 30
        filled = int(width * done / max(total, 1))
        sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


# ---------------------------------------------------------------- commands


def _cmd_deployments(args: argparse.Namespace, settings: Settings) -> int:
    record = read_deployment(settings.deployments_dir, args.network or settings.network)
    if args.json:
        print(json.dumps(record, indent=2, sort_keys=True))
        return 0
    print(f"network {record.get('network')} (chain id {record.get('chain_id')}), deployed at block {record.get('block')}")
    for name, address in sorted(record["contracts"].items()):
        print(f"  {name:<16} {address}")
    return 0


def _cmd_cid(args: argparse.Namespace, settings: Settings) -> int:
    from .storage import compute_file_cid

    print(compute_file_cid(args.path))
    return 0


def _cmd_keys_publish(args: argparse.Namespace, settings: Settings) -> int:
    from .crypto import public_key_of

    key = _key(args, settings)
    market = _market(args, settings)
    changed = market.ensure_key_published(public_key_of(key))
    print(f"{market.sender.address}: public key {'published' if changed else 'already published'}")
    return 0


def _cmd_keys_show(args: argparse.Namespace, settings: Settings) -> int:
    market = _market(args, settings, signer=False)
    print(market.public_key(_address(args.address)).hex())
    return 0


def _cmd_oracle_stake(args: argparse.Namespace, settings: Settings) -> int:
    market = _market(args, settings)
    market.stake_oracle(int(args.eth * 10**18))
    print(f"staked {args.eth:g} ETH for {market.sender.address}")
    return 0


def _cmd_oracle_run(args: argparse.Namespace, settings: Settings) -> int:
    from .oracle import OracleNode

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stdout)
    key = _key(args, settings)
    node = OracleNode(
        _market(args, settings), _store(settings), key, settings.data_dir,
        confirmations=settings.confirmations, poll_seconds=args.poll, stake_wei=int(args.stake * 10**18),
        max_failures=args.max_failures,
    )
    print(f"oracle {node.address} following {node.market.address} from block {node.checkpoint + 1} "
          f"({settings.confirmations} confirmations), state in {settings.data_dir}", flush=True)
    node.run(ticks=args.ticks)
    return 0


def _cmd_bounty_show(args: argparse.Namespace, settings: Settings) -> int:
    market = _market(args, settings, signer=False)
    view = market.bounty(args.bounty)
    view["state"] = market.state(args.bounty)
    if args.json:
        print(json.dumps({k: (v.hex() if isinstance(v, bytes) else v) for k, v in view.items()}, indent=2))
        return 0
    print(f"bounty {args.bounty}: {view['state']}, requester {view['requester']}")
    print(f"  reward {_eth(view['reward'])} (paid {_eth(view['paid'])}), stake {_eth(view['stake'])}, batch size {view['batchSize']}")
    print(f"  baseline {view['baselineScore']}, head version {view['versionCount']} at {view['headScore']}, target {view['target']}")
    print(f"  submissions {view['submissionCount']}, next batch to settle {view['nextBatch']}")
    return 0


def _cmd_bounty_lineage(args: argparse.Namespace, settings: Settings) -> int:
    from .requester import lineage, payouts

    market = _market(args, settings, signer=False)
    versions = lineage(market, args.bounty)
    if args.json:
        print(json.dumps({"versions": versions, "payouts": payouts(market, args.bounty)}, indent=2))
        return 0
    print(f"{'version':>7} {'parent':>6} {'score':>7} {'submission':>10} {'reward':>12}  author")
    for v in versions:
        print(f"{v['version']:>7} {str(v['parent'] if v['parent'] is not None else '-'):>6} {str(v['score']):>7} "
              f"{str(v['submission'] if v['submission'] is not None else '-'):>10} {_eth(v['reward']):>12}  {v['author'] or '-'}")
    print("\npayouts per contributor")
    for who, row in payouts(market, args.bounty).items():
        print(f"  {who}: {row['submitted']} sent, {row['accepted']} accepted, {row['rejected']} rejected, "
              f"{row['slashed']} slashed; reward {_eth(row['reward'])}, burned {_eth(row['burned'])}")
    return 0


def _cmd_bounty_open(args: argparse.Namespace, settings: Settings) -> int:
    from .requester import default_terms, open_bounty

    key = _key(args, settings)
    market = _market(args, settings)
    model_manifest, model_arrays = _load_arrays(args.model)
    val_manifest, val_arrays = _load_arrays(args.validation)
    if not val_manifest:
        val_manifest = {"task": "classification", "n_classes": int(val_arrays["y"].max()) + 1}
    committee = [c.strip() for c in args.committee.split(",") if c.strip()]
    overrides: dict[str, Any] = {
        "reward": int(args.reward * 10**18), "stake": int(args.stake * 10**18), "batchSize": args.batch_size,
        "target": args.target, "deadline": market.now() + int(args.days * 86_400),
    }
    if args.token:
        overrides["token"] = args.token
    terms = default_terms(market.now(), committee, **overrides)
    secrets = open_bounty(market, _store(settings), key, settings.data_dir, (model_manifest, model_arrays),
                          (val_manifest, val_arrays), terms, admitted=args.admit or [], clear=args.clear)
    print(f"bounty {secrets.bounty_id} opened; its secrets are in {settings.data_dir}/requester/bounty-{secrets.bounty_id}.json")
    return 0


def _secrets(args: argparse.Namespace, settings: Settings) -> Any:
    from .requester import BountySecrets

    return BountySecrets.load(settings.data_dir, args.bounty)


def _cmd_bounty_admit(args: argparse.Namespace, settings: Settings) -> int:
    from .requester import admit

    cid = admit(_market(args, settings), _store(settings), _key(args, settings), _secrets(args, settings), args.addresses)
    print(f"keyring extended with {len(args.addresses)} contributors: {cid}")
    return 0


def _cmd_bounty_simple(action: str) -> Any:
    def run(args: argparse.Namespace, settings: Settings) -> int:
        market = _market(args, settings)
        if action == "reveal":
            from .requester import reveal

            reveal(market, _secrets(args, settings))
        else:
            getattr(market, action)(args.bounty)
        print(f"bounty {args.bounty}: {action} done; now {market.state(args.bounty)}")
        return 0

    return run


def _cmd_bounty_export(args: argparse.Namespace, settings: Settings) -> int:
    from .requester import export_model

    key = _key(args, settings) if (args.key_file or settings.private_key) else None
    model_key = None
    try:
        model_key = _secrets(args, settings).model_key
    except FathomError:
        pass
    market = _market(args, settings, signer=False)
    if model_key is None:
        from .requester import revealed_keys

        revealed = revealed_keys(market, args.bounty)  # after the reveal, anyone can export
        if revealed is not None and any(revealed[1]):
            model_key = revealed[1]
    info = export_model(market, _store(settings), args.bounty, args.out, key, model_key, args.version)
    print(f"version {info['version']} (score {info['score']}) written to {args.out}: {', '.join(info['files'])}")
    return 0


def _cmd_contribute(args: argparse.Namespace, settings: Settings) -> int:
    from .contributor import PrivacySettings, contribute

    key = _key(args, settings)
    _, arrays = _load_arrays(args.data)
    if "X" not in arrays or "y" not in arrays:
        raise FathomError(f"{args.data} must hold X.npy (features) and y.npy (labels)")
    dp = PrivacySettings(args.clip, args.noise, args.dp_delta) if args.noise else None
    if args.noise and not args.clip:
        raise FathomError("--noise needs --clip: the noise is scaled to the clipping norm")
    c = contribute(_market(args, settings), _store(settings), key, args.bounty, arrays["X"], arrays["y"], lr=args.lr,
                   epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, dp=dp, progress=_Progress("training"),
                   stake_from=args.stake_from)
    print(f"submitted #{c.submission_id} to bounty {c.bounty_id} on version {c.base_version}: {c.cid}")
    print({"balance": "stake taken from your claimable balance",
           "once": "stake paid from your wallet; its payout is claimed once with a proof (`fathom claim`)"}.get(
        c.staked_from, "stake paid from your wallet"))
    if c.epsilon is not None:
        print(f"privacy: one contribution of one data owner is ({c.epsilon:.3f}, {c.delta:g})-differentially private "
              "(Gaussian mechanism, RDP accountant)")
    return 0


def _cmd_outcome(args: argparse.Namespace, settings: Settings) -> int:
    from .contributor import outcome

    import time

    market = _market(args, settings, signer=False)
    deadline = time.monotonic() + args.wait
    result = outcome(market, args.bounty, args.submission)
    while result is None and time.monotonic() < deadline:
        time.sleep(2)
        result = outcome(market, args.bounty, args.submission)
    print(json.dumps(result) if result else f"submission {args.submission} is not decided yet")
    return 0


def _cmd_claim(args: argparse.Namespace, settings: Settings) -> int:
    market = _market(args, settings)
    amount = market.claim(args.token)
    name = "ETH" if args.token == ETH_ADDRESS else args.token
    if amount:
        print(f"claimed {_eth(amount)} ({name}) from your balance")
    paid = market.claim_payouts(args.token)
    for p in paid:
        print(f"claimed {_eth(p['amount'])} ({name}): one-off payout of bounty {p['bountyId']} submission {p['submissionId']}")
    if not amount and not paid:
        print("nothing to claim")
    return 0


def _cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    from .requester import audit

    report = audit(_market(args, settings, signer=False), _store(settings), args.bounty)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"bounty {args.bounty}: {len(report['versions'])} versions and {report['reports']} reports re-scored")
        for d in report["differences"]:
            print(f"  differs: {d['what']}: chain {d['chain']}, re-scored {d['rescored']}")
        print("no differences" if not report["differences"] else f"{len(report['differences'])} differences")
    return 1 if report["differences"] else 0


def _cmd_reputation(args: argparse.Namespace, settings: Settings) -> int:
    from .reputation import reputation

    counts = reputation(_market(args, settings, signer=False), _address(args.address))
    if args.json:
        print(json.dumps(counts, indent=2))
    else:
        for k, v in counts.items():
            print(f"  {k:<22} {v}")
    return 0


def _cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from .report import report

    png, page = report(_market(args, settings, signer=False), args.bounty, args.out)
    print(f"wrote {png} and {page}")
    return 0


def _cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from .demo import main as demo_main

    return demo_main((["--workdir", str(args.workdir)] if args.workdir else [])
                     + ["--chain", args.chain, "--report-dir", str(args.report_dir)])


# ---------------------------------------------------------------- parser


def _with_key(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--key-file", help="file holding the account's private key (default: FATHOM_PRIVATE_KEY)")
    return p


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

    cid = sub.add_parser(
        "cid",
        help="print the CID of a file (what `ipfs add --cid-version=1 --raw-leaves` gives it)",
        description="Print the CID of a file without storing it: base32 CIDv1, the same as "
        "`ipfs add --cid-version=1 --raw-leaves` and Fathom's stores give it. The file is read in pieces.",
    )
    cid.add_argument("path", metavar="PATH", help="the file")
    cid.set_defaults(func=_cmd_cid)

    keys = sub.add_parser("keys", help="your public key in the on-chain KeyRegistry").add_subparsers(dest="sub", metavar="ACTION", required=True)
    p = _with_key(keys.add_parser("publish", help="publish this account's public key (artefacts are encrypted to it)"))
    p.set_defaults(func=_cmd_keys_publish)
    p = keys.add_parser("show", help="print an address's published public key")
    p.add_argument("address")
    p.set_defaults(func=_cmd_keys_show)

    oracle = sub.add_parser("oracle", help="run or fund an oracle node").add_subparsers(dest="sub", metavar="ACTION", required=True)
    p = _with_key(oracle.add_parser("stake", help="stake ETH in the oracle registry"))
    p.add_argument("eth", type=float, help="amount in ETH")
    p.set_defaults(func=_cmd_oracle_stake)
    p = _with_key(oracle.add_parser("run", help="the oracle daemon: follow events, score batches, report, settle",
                                    description="Follow the market from a checkpoint (state in FATHOM_DATA_DIR), "
                                    "serve every bounty whose committee names this account."))
    p.add_argument("--stake", type=float, default=0.0, help="stake this much ETH first if not yet eligible")
    p.add_argument("--poll", type=float, default=2.0, help="seconds between ticks (default 2)")
    p.add_argument("--max-failures", type=int, default=8, help="stop after this many failed ticks in a row")
    p.add_argument("--ticks", type=int, help="stop after this many ticks (default: run until interrupted)")
    p.set_defaults(func=_cmd_oracle_run)

    bounty = sub.add_parser("bounty", help="open, inspect, close and reveal bounties").add_subparsers(dest="sub", metavar="ACTION", required=True)
    p = _with_key(bounty.add_parser("open", help="encrypt, pin, commit and fund a new bounty"))
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
    p = _with_key(bounty.add_parser("admit", help="wrap the model key for more contributors"))
    p.add_argument("bounty", type=int)
    p.add_argument("addresses", nargs="+")
    p.set_defaults(func=_cmd_bounty_admit)
    for action, text in (("close", "close a bounty that has ended (refunds what was not earned)"),
                         ("cancel", "stop taking submissions (effective once every batch is decided)"),
                         ("reveal", "publish the validation key, salt and model key")):
        p = _with_key(bounty.add_parser(action, help=text))
        p.add_argument("bounty", type=int)
        p.set_defaults(func=_cmd_bounty_simple(action))
    p = _with_key(bounty.add_parser("export", help="fetch, decrypt and write the final model"))
    p.add_argument("bounty", type=int)
    p.add_argument("out", type=Path, help="folder to write manifest.json and .npy arrays to")
    p.add_argument("--version", type=int, help="a version other than the head")
    p.set_defaults(func=_cmd_bounty_export)

    p = _with_key(sub.add_parser("contribute", help="train on local data and submit an encrypted update"))
    p.add_argument("bounty", type=int)
    p.add_argument("--data", type=Path, required=True, help="folder with X.npy and y.npy (never leaves this machine)")
    p.add_argument("--lr", type=float, default=0.1, help="learning rate")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--clip", type=float, help="clip the update to this L2 norm")
    p.add_argument("--noise", type=float, help="Gaussian noise multiplier (differential privacy)")
    p.add_argument("--dp-delta", type=float, default=1e-5, help="delta of the (epsilon, delta) guarantee")
    p.add_argument("--stake-from", choices=("auto", "wallet", "balance", "once"), default="auto",
                   help="pay the stake from your wallet, or from your claimable balance in the market "
                        "(stakes returned, rewards); auto (default): the balance when it covers the stake, "
                        "which saves the token transfer's gas; once: from your wallet, for a one-off "
                        "contributor: the payout is not credited to a balance but claimed once with a "
                        "proof (`fathom claim`), the cheapest way for someone who will not come back")
    p.set_defaults(func=_cmd_contribute)

    p = sub.add_parser("outcome", help="what happened to a submission")
    p.add_argument("bounty", type=int)
    p.add_argument("submission", type=int)
    p.add_argument("--wait", type=float, default=0.0, help="follow the chain up to this many seconds for the decision")
    p.set_defaults(func=_cmd_outcome)

    p = _with_key(sub.add_parser("claim", help="withdraw everything the market owes this account: its "
                                               "claimable balance and its one-off payouts, in the token"))
    p.add_argument("--token", default=ETH_ADDRESS, help="ERC-20 address (default: ETH)")
    p.set_defaults(func=_cmd_claim)

    p = sub.add_parser("audit", help="after the reveal: re-score every version and report")
    p.add_argument("bounty", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_audit)

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

"""`fathom bounty`: the requester's commands (open, admit, cancel, close, reveal, export) and anyone's views."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from fathom.config import Settings
from fathom.errors import FathomError
from fathom.cli._common import (ETH_ADDRESS, account_key, address_arg, address_list, amount_arg, count_arg, eth, load_arrays,
                                market_for, number_arg, seconds_arg, store_for, wei, with_key)
from fathom.cli.export import FORMATS, export_as, load_model
from fathom.cli.tables import add_table_arguments, schema_summary, validation_table


def _optional_key(args: argparse.Namespace, settings: Settings) -> bytes | None:
    return account_key(args, settings) if (args.key_file or settings.private_key) else None


def held_out_line(test: dict[str, Any], validation: str | None) -> str:
    """One line on the held-out test set (F14) beside the validation score."""
    status = test["status"]
    if status == "none":
        return "test set: none held out"
    if status == "sealed":
        return "test set: unknown until the reveal (the opening brief is sealed for the committee)"
    rows = f"{test['rows']} rows" if test.get("rows") is not None else "rows unknown"
    if status == "not revealed":
        return f"test set: committed ({rows}), not revealed"
    if status == "mismatch":
        return f"test set: DOES NOT MATCH its commitment ({test.get('reason')}): no score"
    return (f"test set ({rows}, scored only at close): {test['score']:.6g} for version {test['version']}, "
            f"beside validation {validation or '-'}")


def committee_mode(view: dict, members: list[str]) -> str:
    """How the committee was chosen (rule C4), as every place that shows a bounty says it."""
    from fathom.chain.market import SEED_OFFSET

    seats = ", ".join(m if int(m, 16) else "(empty seat)" for m in members)
    if not view["trustedCommittee"]:
        pending = f"; draw due in block {view['drawBlock'] + SEED_OFFSET} (its seed block) or later" if view["drawBlock"] else ""
        return f"DRAWN from the oracle registry, stake-weighted ({len(members)} seats{pending}): {seats}"
    who = "a single oracle" if view["trustSingleOracle"] else f"{len(members)} oracles"
    return f"TRUSTED: named by the requester ({who}; contributors trust the requester's choice): {seats}"


def token_line(token: str, balance_checked: bool) -> str:
    """`bounty show`'s line for the bounty's token and whether rule P4 protects it."""
    if int(token, 16) == 0:
        return "token ETH (its balance cannot fall without a transfer: not booked)"
    if balance_checked:
        return (f"token {token}: balance-checked (rule P4): the market books what it owes in it and freezes its "
                f"payouts if its balance falls without a transfer, until `fathom claim --token {token} --write-down` "
                "shares the loss pro rata")
    return (f"token {token}: listed as fixed-balance by the deployer (rule P4): not balance-checked; the deployer "
            "vouches that its balances change only by transfers (a rebase or slashing would go unprotected)")


def _cmd_bounty_show(args: argparse.Namespace, settings: Settings) -> int:
    from fathom.protocol.settlement import INVALID, dequantise
    from fathom.roles.requester import held_out_report

    market = market_for(args, settings, signer=False)
    view = market.bounty(args.bounty)
    view["state"] = market.state(args.bounty)
    view["schema"], schema_text = schema_summary(args, settings)
    params = market.opened_params(args.bounty)
    metric = bytes(params["metric"]).rstrip(b"\0").decode("ascii", "replace")
    resolution = view.get("resolution", params["resolution"])

    def units(score: int | None) -> str | None:  # a score in the metric's own units
        if score is None or score == INVALID:
            return None
        return f"{dequantise(score, resolution):.6g}"

    test = held_out_report(market, store_for(settings), args.bounty, _optional_key(args, settings))
    mode = _mode_of(args, settings, market)
    checked = market.balance_checked(view["token"])
    if args.json:
        out = {k: (v.hex() if isinstance(v, bytes) else v) for k, v in view.items()}
        out["privacyTerms"] = mode
        out["balanceChecked"] = checked
        out.update({"metricName": metric, "baseline": units(view["baselineScore"]), "head": units(view["headScore"]),
                    "targetValue": units(view["target"]), "testSet": test})
        print(json.dumps(out, indent=2))
        return 0
    better = "higher" if view["higherIsBetter"] else "lower"
    print(f"bounty {args.bounty}: {view['state']}, requester {view['requester']}")
    print(f"  reward {eth(view['reward'])} (paid {eth(view['paid'])}), stake {eth(view['stake'])}, batch size {view['batchSize']}")
    print(f"  {token_line(view['token'], checked)}")
    print(f"  metric {metric} ({better} is better; one score unit = {resolution / 1e18:g})")
    print(f"  baseline {units(view['baselineScore']) or '-'}, head version {view['versionCount']} at "
          f"{units(view['headScore']) or '-'}, target {units(view['target'])}")
    print(f"  submissions {view['submissionCount']}, next batch to settle {view['nextBatch']}")
    print(f"  {held_out_line(test, units(view['headScore']))}")
    print(f"  committee: {committee_mode(view, market.committee(args.bounty)[0])}")
    print(schema_text)
    print(_mode_lines(mode))
    if args.privacy:
        from fathom.cli.privacy import print_version_statements

        print_version_statements(args, settings, market)
    return 0


def _mode_of(args: argparse.Namespace, settings: Settings, market: Any) -> dict[str, Any]:
    """The bounty's mode and largest epsilon (`requester.bounty_mode`), read with the caller's key if it has one."""
    from fathom.cli._common import account_key, store_for
    from fathom.roles.requester import bounty_mode

    key = account_key(args, settings) if (getattr(args, "key_file", None) or settings.private_key) else None
    return bounty_mode(market, store_for(settings), args.bounty, key)


def _mode_lines(mode: dict[str, Any]) -> str:
    """`bounty show`'s privacy lines: how the model is protected, and the largest epsilon."""
    from fathom.roles.requester import MODE_TEXT

    eps = mode["max_epsilon"]
    eps_text = ("not readable with this account (the brief is sealed)" if eps == "sealed"
                else "not required" if eps is None else f"{eps:g} (an update stating more, or none, is invalid)")
    return (f"  mode: {MODE_TEXT[mode['mode']].format(bits=mode['paillier_bits'])}\n"
            f"  largest epsilon: {eps_text}")


def _cmd_bounty_lineage(args: argparse.Namespace, settings: Settings) -> int:
    from fathom.roles.requester import lineage, payouts

    market = market_for(args, settings, signer=False)
    market.require_bounty(args.bounty)
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
    from fathom.protocol.settlement import quantise
    from fathom.roles.requester import check_bounty, default_terms, metric_terms, open_bounty

    if args.model.is_dir():
        from fathom.ml.models import model_spec

        model_manifest, model_arrays = load_arrays(args.model)
        model_manifest = model_spec(model_manifest).manifest()  # the short spelling ({"d": 8, "k": 2}) too
    else:
        model_manifest, model_arrays = load_model(args.model)[:2]
    if args.schema is not None or args.validation.is_file():
        model_manifest, (val_manifest, val_arrays) = validation_table(args, model_manifest)
    else:
        val_manifest, val_arrays = load_arrays(args.validation)
    if not val_manifest:
        val_manifest = {"task": "classification", "n_classes": int(val_arrays["y"].max()) + 1}
    test_set = None
    if args.test_set is not None:  # F14: the same format as --validation's folder
        if not args.test_set.is_dir():
            raise FathomError(f"--test-set {args.test_set} is not a folder with X.npy and y.npy")
        test_manifest, test_arrays = load_arrays(args.test_set)
        test_set = (test_manifest or dict(val_manifest), test_arrays)
    metric = model_manifest.get("metric")
    if metric not in _metrics():
        raise FathomError(f"the model's manifest names metric {metric!r}; one of {', '.join(_metrics())} is needed")
    if args.metric is not None and args.metric != metric:
        raise FathomError(f"--metric {args.metric} is not the model's metric ({metric!r} in its manifest.json)")
    if args.target is None:
        if metric != "accuracy":
            raise FathomError(f"a {metric} bounty needs --target (in {metric}'s own units): it has no safe default")
        args.target = 0.98
    resolution = int(round(args.resolution * 10**18))
    if resolution <= 0:
        raise FathomError("--resolution must be positive")
    curve = _curve(args.curve)
    _check_bounds(args)
    # every check that needs no chain comes first: a mistake sends nothing
    check_bounty((model_manifest, model_arrays), (val_manifest, val_arrays), metric_terms(metric), test_set)
    if args.encrypted_weights:  # the mode's size bound (F13), before any key, pin or escrow
        from fathom.ml import encrypted

        try:
            encrypted.check_budget(model_manifest, args.batch_size, args.timeout)
        except FathomError as exc:
            raise FathomError(f"--encrypted-weights: {exc}") from None
    key = account_key(args, settings)
    market = market_for(args, settings)
    overrides: dict[str, Any] = {
        "reward": wei(args.reward), "stake": wei(args.stake), "batchSize": args.batch_size,
        "maxBatches": args.max_batches, "oracleFeePerBatch": wei(args.oracle_fee), "revealBond": wei(args.reveal_bond),
        "slashBps": args.slash_bps, "scoringTimeout": args.timeout, "revealWindow": int(args.reveal_window * 3600),
        "target": quantise(args.target, resolution), "resolution": resolution,
        "slashMargin": args.slash_margin, "deadline": market.now() + int(args.days * 86_400),
        "curveX": curve[0], "curveY": curve[1],
    }
    if args.tolerance is not None:
        overrides["tolerance"] = args.tolerance
    if args.token:
        overrides["token"] = args.token
    committee = args.committee or [ETH_ADDRESS] * args.committee_size  # empty seats: drawn (C4)
    terms = default_terms(market.now(), committee, metric=metric, validation_rows=len(val_arrays["y"]), **overrides)
    if terms["token"] == ETH_ADDRESS:  # the escrow, checked before anything is sealed or pinned
        escrow = terms["reward"] + terms["oracleFeePerBatch"] * terms["maxBatches"] + terms["revealBond"]
        market.sender.require_balance(escrow, f"the escrow (reward {eth(terms['reward'])}, oracle fees "
                                              f"{eth(terms['oracleFeePerBatch'] * terms['maxBatches'])}, reveal bond "
                                              f"{eth(terms['revealBond'])})")
    if not args.committee:
        _say_if_outside_envelope(market, terms)
    secrets = open_bounty(market, store_for(settings), key, settings.data_dir, (model_manifest, model_arrays),
                          (val_manifest, val_arrays), terms, admitted=args.admit or [], clear=args.clear,
                          max_epsilon=args.max_epsilon, confidence_bps=int(round(args.confidence * 100)),
                          test_set=test_set, encrypted_weights=args.encrypted_weights)
    print(f"bounty {secrets.bounty_id} opened ({metric}, {'higher' if terms['higherIsBetter'] else 'lower'} is better, "
          f"target {args.target:g}); its secrets are in {settings.data_dir}/requester/bounty-{secrets.bounty_id}.json")
    if not args.committee:
        _seat(market, settings, key, secrets, args.wait)
    return 0


def _say_if_outside_envelope(market: Any, terms: dict[str, Any]) -> None:
    """Rule O5 (R3-4): a drawn bounty inside the registry's standard envelope never misses a draw
    on a policy; outside it, a policy may refuse it and its first draw fail, charged (C4, C5)."""
    from fathom.protocol.policy import Policy, Terms, refusal

    fees = terms["oracleFeePerBatch"] * terms["maxBatches"]
    in_eth = terms["token"] == ETH_ADDRESS
    bond = max(market.draw_deposit(), fees if in_eth else 0)  # C1: the floor minStake/16, or the ETH fee budget
    why = refusal(Policy.from_tuple(market.envelope()), Terms(
        terms["scoringTimeout"], terms["deadline"] - market.now(), terms["oracleFeePerBatch"], in_eth,
        len(terms["committee"]) * terms["batchSize"], bond))
    if why is not None:
        print(f"note: these terms lie outside the oracle registry's standard envelope ({why.replace('policy', 'envelope')}):"
              " an oracle's policy may refuse them, so the first draw may fail, and a failed first draw is charged "
              "(5% of the reward and the draw deposit; rules O5, C4, C5)", flush=True)


def _seat(market: Any, settings: Settings, key: bytes, secrets: Any, wait: float) -> None:
    from fathom.roles.requester import draw_and_seat

    print(f"bounty {secrets.bounty_id}: drawing its committee from the oracle registry (stake-weighted, from the "
          "PREVRANDAO of a later drawing half's seed block) and handing the members their seat...", flush=True)
    members = draw_and_seat(market, store_for(settings), key, secrets, wait=wait)
    print(f"bounty {secrets.bounty_id}: committee drawn and seated: {', '.join(members)}")


def _cmd_bounty_seat(args: argparse.Namespace, settings: Settings) -> int:
    from fathom.roles.requester import BountySecrets

    key = account_key(args, settings)
    market = market_for(args, settings)
    _seat(market, settings, key, BountySecrets.load(settings.data_dir, args.bounty), args.wait)
    return 0


#: createBounty's bounds (SPECIFICATION B3, B4), checked here so that a mistake sends nothing
TIMEOUT_RANGE = (600, 7 * 86_400)
MAX_DAYS = 365
MAX_COMMITTEE_X_BATCH = 2_048


def _check_bounds(args: argparse.Namespace) -> None:
    lo, hi = TIMEOUT_RANGE
    if not lo <= args.timeout <= hi:
        raise FathomError(f"--timeout {args.timeout} is outside {lo}..{hi} seconds: an honest committee needs at least "
                          "10 minutes to fetch, score and report, and members stay bonded for at most 7 days a batch")
    if args.days > MAX_DAYS:
        raise FathomError(f"--days {args.days:g} is more than {MAX_DAYS}: members stay bonded until the bounty closes")
    size = len(args.committee) if args.committee else args.committee_size
    if not args.committee and not 3 <= size <= 16:
        raise FathomError(f"--committee-size {size}: a drawn committee has 3 to 16 seats")
    if not 3 <= size <= 16 and size != 1:
        raise FathomError(f"--committee names {size} oracles: 3 to 16 are needed (or exactly 1, a trusted single oracle)")
    if size * args.batch_size > MAX_COMMITTEE_X_BATCH:
        raise FathomError(f"committee {size} x batch size {args.batch_size} is more than {MAX_COMMITTEE_X_BATCH}: "
                          "a batch must settle within one transaction's gas (EIP-7825)")


def _metrics() -> tuple[str, ...]:
    from fathom.ml.models import METRIC_TABLE

    return tuple(METRIC_TABLE)


def _curve(text: str) -> tuple[list[int], list[int]]:
    """'0:0,0.5:0.8,1:1' (progress:share pairs) as the contract's WAD points."""
    try:
        points = [tuple(float(v) for v in pair.split(":")) for pair in text.split(",")]
        xs, ys = [int(round(p[0] * 10**18)) for p in points], [int(round(p[1] * 10**18)) for p in points]
    except (ValueError, IndexError):
        raise FathomError(f"--curve {text!r} is not a list of progress:share pairs such as 0:0,1:1") from None
    return xs, ys


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
        market.require_bounty(args.bounty)
        if action == "reveal":
            from fathom.roles.requester import reveal

            reveal(market, bounty_secrets(args, settings), store_for(settings), account_key(args, settings))
        else:
            getattr(market, action)(args.bounty)
        print(f"bounty {args.bounty}: {action} done; now {market.state(args.bounty)}")
        return 0

    return run


def _cmd_bounty_export(args: argparse.Namespace, settings: Settings) -> int:
    from fathom.roles.requester import export_model

    key = _optional_key(args, settings)
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
    if args.format != "npy":
        return export_as(args, settings, key, model_key)
    info = export_model(market, store_for(settings), args.bounty, args.out, key, model_key, args.version)
    print(f"version {info['version']} (score {info['score']}) written to {args.out}: {', '.join(info['files'])}")
    return 0


def register(sub: Any) -> None:
    bounty = sub.add_parser("bounty", help="open, inspect, close and reveal bounties").add_subparsers(dest="sub", metavar="ACTION", required=True)
    p = with_key(bounty.add_parser(
        "open", help="encrypt, pin, commit and fund a new bounty", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Seal the initial model and the validation set, pin them, and fund a bounty in ETH (or --token). "
        "Folders hold manifest.json and NAME.npy arrays (README, 'Artefacts: what the folders hold'). Every account "
        "named in --committee and --admit must have run `fathom keys publish`. Every parameter has a default, shown "
        "here. The metric and its direction come from the model's manifest; the target and the resolution are in the "
        "metric's own units. The validation set is checked to fit the model before anything is pinned or escrowed."))
    p.add_argument("--model", type=Path, required=True,
                   help="folder: manifest.json (architecture, layers) + W0.npy, b0.npy, ... (float32); or a .onnx / "
                        ".safetensors file written by `fathom bounty export` (e.g. of a scikit-learn model: fathom.ml.interop)")
    p.add_argument("--validation", type=Path, required=True,
                   help="folder: X.npy (float32, one row per example) and y.npy (int64 class labels; float32 for "
                        "regression) + optional manifest.json (task, n_classes); or a .csv/.parquet table with "
                        "--schema and --label")
    p.add_argument("--schema", type=Path, help="feature schema (fathom table schema): put in the model's manifest, "
                   "and the validation table is transformed by it")
    add_table_arguments(p)
    p.add_argument("--committee", type=address_list,
                   help="TRUSTED mode (private deployments; flagged wherever the bounty is shown): comma-separated "
                   "oracle addresses you name (3 or more, or 1). Default: the committee is drawn from the oracle "
                   "registry, stake-weighted, among oracles whose policy accepts the bounty (rule C4)")
    p.add_argument("--committee-size", type=count_arg, default=3, help="seats of a drawn committee (3 to 16); a drawn bounty also deposits the registry's "
                   "minimum stake / 16 in ETH, refunded at the baseline, burned if it ends before (C5)")
    p.add_argument("--wait", type=seconds_arg, default=600.0,
                   help="seconds to wait for the draw before giving up (then `fathom bounty seat ID`)")
    p.add_argument("--metric", choices=("accuracy", "log_loss", "mse"),
                   help="must equal the manifest's metric (default: the manifest's; accuracy is higher-is-better, "
                   "log_loss and mse lower-is-better)")
    p.add_argument("--target", type=number_arg,
                   help="the score that earns the whole reward, in the metric's units (default: 0.98 for accuracy; "
                   "required for log_loss and mse, which have no safe default); progress from the baseline towards "
                   "it prices each version")
    p.add_argument("--resolution", type=number_arg, default=1e-4, help="one score unit, in the metric's units")
    p.add_argument("--confidence", type=float, default=99.0, choices=(90.0, 95.0, 97.5, 99.0, 99.5, 99.9),
                   help="the acceptance rule's confidence, in percent: an update is accepted (and paid) only when its "
                        "paired improvement over the head on the validation set is positive with this confidence, "
                        "so a pure-noise update passes with probability below 1 - confidence (SPECIFICATION F12)")
    p.add_argument("--tolerance", type=count_arg,
                   help="score units a report may lie from the median (default: two validation rows' worth)")
    p.add_argument("--slash-margin", type=count_arg, default=200,
                   help="score units worse than the head past which an update is slashed")
    p.add_argument("--slash-bps", type=count_arg, default=5_000,
                   help="share of a slashed stake that is burned, in basis points")
    p.add_argument("--timeout", type=count_arg, default=3600, help="seconds the committee has to score a batch "
                   "(default 3600, inside the registry's standard envelope, which every oracle policy accepts: a "
                   "drawn bounty whose terms lie outside it is told so, since a policy may refuse it and its first "
                   "draw then fail, charged, R3-4)")
    p.add_argument("--curve", default="0:0,1:1", help="reward curve, progress:share pairs from 0:0 to 1:1 (linear)")
    p.add_argument("--reward", type=amount_arg, default="1", help="reward escrow, in ETH (or token units)")
    p.add_argument("--stake", type=amount_arg, default="0.01", help="stake per submission, in ETH (or token units)")
    p.add_argument("--batch-size", type=count_arg, default=4, help="submissions scored together")
    p.add_argument("--max-batches", type=count_arg, default=20, help="batches the bounty takes at most")
    p.add_argument("--oracle-fee", type=amount_arg, default="0.001", help="fee per batch shared by the reporting members")
    p.add_argument("--reveal-bond", type=amount_arg, default="0.01",
                   help="bond returned when the validation set is revealed")
    p.add_argument("--reveal-window", type=seconds_arg, default=24.0,
                   help="hours after closing to reveal before the bond is forfeited")
    p.add_argument("--days", type=seconds_arg, default=7.0, help="deadline, in days from now")
    p.add_argument("--token", type=address_arg, help="ERC-20 address (default: ETH)")
    p.add_argument("--admit", type=address_arg, nargs="*", help="contributor addresses to admit to the keyring")
    p.add_argument("--clear", action="store_true", help="publish the models in the clear (no model key)")
    p.add_argument("--test-set", type=Path, help="a held-out final test set (folder with X.npy and y.npy): sealed "
                   "for you alone and committed to in the opening brief, scored only after the reveal (which publishes "
                   "its key) and shown beside the validation score (F14)")
    p.add_argument("--max-epsilon", type=float, help="require differential privacy: the oracles score an update that "
                                                     "states a larger epsilon, or none, as invalid (its stake is slashed)")
    p.add_argument("--encrypted-weights", action="store_true",
                   help="give contributors the weights only as Paillier ciphertexts (2048-bit): they train a model they "
                        "cannot read or use, and the committee alone holds the key (sealed for it; published with the "
                        "model key at the reveal). Linear models only: logistic, or softmax trained one-vs-rest. Bound: "
                        "at most 1,024 weights (classes x (features + 1)), and (batch size + 1) x weights x 10 ms within "
                        "a quarter of --timeout less 60 s (the committee's decryption budget, leaving time to commit before the commit "
                        "close); checked before anything is sent. Needs a named "
                        "--committee for now (the key is sealed for exactly the committee at opening)")
    p.set_defaults(func=_cmd_bounty_open)
    p = with_key(bounty.add_parser("seat", help="draw (if due) and seat a drawn committee: hand the drawn members "
                                   "the key to the validation set (after opening, or after a member was replaced)"))
    p.add_argument("bounty", type=int)
    p.add_argument("--wait", type=seconds_arg, default=600.0, help="seconds to wait for the draw")
    p.set_defaults(func=_cmd_bounty_seat)
    p = with_key(bounty.add_parser("show", help="a bounty's state and its feature schema (read with your key when sealed)"))
    p.add_argument("bounty", type=int)
    p.add_argument("--json", action="store_true")
    p.add_argument("--privacy", action="store_true", help="each version's privacy statement (mechanism, unit, "
                   "epsilon, delta, accountant), read from its update: with a committee member's key, or with the "
                   "update keys a member disclosed after settlement (--update-keys)")
    p.add_argument("--update-keys", type=Path, metavar="FILE",
                   help="with --privacy: JSON {cid: hex key} of update keys a committee member disclosed (each checked "
                        "against its envelope's key commitment)")
    p.set_defaults(func=_cmd_bounty_show)
    p = bounty.add_parser("lineage", help="versions and payouts, from events")
    p.add_argument("bounty", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_bounty_lineage)
    p = with_key(bounty.add_parser("admit", help="wrap the model key for more contributors"))
    p.add_argument("bounty", type=int)
    p.add_argument("addresses", type=address_arg, nargs="+")
    p.set_defaults(func=_cmd_bounty_admit)
    for action, text in (("close", "close a bounty that has ended (refunds what was not earned)"),
                         ("cancel", "stop taking submissions (effective once every batch is decided)"),
                         ("reveal", "publish the validation key, salt and model key (and the held-out test "
                                    "set's key, F14)")):
        p = with_key(bounty.add_parser(action, help=text))
        p.add_argument("bounty", type=int)
        p.set_defaults(func=_cmd_bounty_simple(action))
    p = with_key(bounty.add_parser("export", help="fetch, decrypt and write the final model"))
    p.add_argument("bounty", type=int)
    p.add_argument("out", type=Path, help="folder to write manifest.json and .npy arrays to (a file with --format onnx|safetensors)")
    p.add_argument("--format", choices=FORMATS, default="npy", help="npy (default); onnx: one graph of the schema's "
                   "preprocessing and the model; safetensors: the weights, the manifest as metadata")
    p.add_argument("--version", type=int, help="a version other than the head")
    p.set_defaults(func=_cmd_bounty_export)

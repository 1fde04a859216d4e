"""The contributor's commands: contribute, outcome, claim; and audit, which anyone runs after the reveal."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from fathom.config import Settings
from fathom.errors import FathomError
from fathom.cli._common import ETH_ADDRESS, Progress, account_key, address_arg, eth, load_arrays, market_for, store_for, with_key
from fathom.cli.tables import add_table_arguments, contributor_arrays, is_table


def ledger_for(settings: Settings) -> Any:
    """The data owner's privacy ledger: <FATHOM_DATA_DIR>/privacy-ledger.json."""
    from fathom.ml.privacy.ledger import Ledger

    return Ledger(settings.data_dir / "privacy-ledger.json")


def _score_line(c: Any) -> str:
    if c.local_score_before is None or c.local_score_after is None:
        return "local score: not available on this data"
    line = f"local {c.metric} on your data: {c.local_score_before:.4f} (head) -> {c.local_score_after:.4f} (this update)"
    if c.local_score_without_noise is not None:
        line += f"; {c.local_score_without_noise:.4f} without the noise"
    return line


def _cmd_contribute_encrypted(args: argparse.Namespace, settings: Settings, market: Any, store: Any, key: bytes,
                              arrays: dict[str, Any]) -> int:
    """An encrypted-weights bounty (F13): steps on the ciphertexts, no local score."""
    from fathom.roles.contributor import contribute_encrypted

    if args.clip is not None or args.noise is not None or args.dp_sgd:
        raise FathomError(f"bounty {args.bounty} is in the encrypted-weights mode: you cannot clip an update you cannot "
                          "see, so --clip/--noise/--dp-sgd do not apply; --noise-std adds Gaussian noise under "
                          "encryption (it states no epsilon)")
    c = contribute_encrypted(market, store, key, args.bounty, arrays["X"], arrays["y"], lr=args.lr, steps=args.steps,
                             noise_std=args.noise_std, stake_from=args.stake_from, ledger=ledger_for(settings),
                             dry_run=args.dry_run, force=args.force)
    shape = f"{c.rows} row(s) of {c.inputs + 1} Paillier ciphertexts"
    if c.dry_run:
        print(f"dry run: bounty {c.bounty_id} is in the encrypted-weights mode ({shape}); your data's map checks out "
              f"for {c.steps} steps at lr {c.lr:g}; nothing was encrypted or sent")
    else:
        print(f"submitted #{c.submission_id} to bounty {c.bounty_id} on version {c.base_version}: {c.cid}")
        print(f"encrypted weights: {c.steps} steps at lr {c.lr:g} computed on {shape}"
              + (f", Gaussian noise of std {c.noise_std:g} added under encryption (no epsilon is stated)" if c.noise_std else ""))
    print(f"largest stable lr on your data: {c.largest_lr:.4g} (2 / the largest eigenvalue of its curvature)")
    print("no local score: you never hold the weights. The committee decrypts your update and scores it on the hidden "
          f"validation set; its published decision (score, accepted or not, reward) is `fathom outcome {c.bounty_id} "
          f"{c.submission_id if c.submission_id is not None else 'ID'}`")
    return 0


def _cmd_contribute(args: argparse.Namespace, settings: Settings) -> int:
    from fathom.roles.contributor import PrivacySettings, contribute, encrypted_mode

    key = account_key(args, settings)
    if is_table(args.data):
        arrays = contributor_arrays(args, settings, key)
    else:
        _, arrays = load_arrays(args.data)
    if "X" not in arrays or "y" not in arrays:
        raise FathomError(f"{args.data} must hold X.npy (features) and y.npy (labels)")
    if args.dp_sgd and args.noise is None:
        raise FathomError("--dp-sgd needs --clip (each example's gradient norm) and --noise")
    if args.noise is not None and not args.clip:
        raise FathomError("--noise needs --clip: the noise is scaled to the clipping norm")
    if args.clip is not None and args.noise is None:
        raise FathomError("--clip needs --noise: clipping alone gives no privacy guarantee")
    market, store = market_for(args, settings), store_for(settings)
    if encrypted_mode(market, store, args.bounty, key):
        return _cmd_contribute_encrypted(args, settings, market, store, key, arrays)
    dp = (PrivacySettings(args.clip, args.noise, args.dp_delta, args.budget_epsilon, mechanism="dp-sgd" if args.dp_sgd else "gaussian")
          if args.noise is not None else None)
    c = contribute(market, store, key, args.bounty, arrays["X"], arrays["y"], lr=args.lr,
                   epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, dp=dp, progress=Progress("training"),
                   stake_from=args.stake_from, ledger=ledger_for(settings), dry_run=args.dry_run, force=args.force)
    if c.dry_run:
        print(f"dry run: trained on version {c.base_version} of bounty {c.bounty_id}; nothing was sent, no stake was paid")
    else:
        print(f"submitted #{c.submission_id} to bounty {c.bounty_id} on version {c.base_version}: {c.cid}")
        print({"balance": "stake taken from your claimable balance",
               "once": "stake paid from your wallet; its payout is claimed once with a proof (`fathom claim`)"}.get(
            c.staked_from, "stake paid from your wallet"))
    print(_score_line(c))
    if c.trained_norm is not None:
        print(f"update norm: {c.trained_norm:.4g} as trained" + (f", {c.update_norm:.4g} as sent" if c.statement else ""))
    if c.worse:
        print("warning: this update makes your own local score worse; the oracles will likely reject or slash it"
              + (" (sent because of --force)" if not c.dry_run else ""))
    if c.statement is not None:
        print(f"privacy: this release is {c.statement}")
    if c.spending is not None:
        print(f"privacy ledger: {c.spending}" + (" (after this release)" if c.dry_run else ""))
    return 0


def _cmd_outcome(args: argparse.Namespace, settings: Settings) -> int:
    from fathom.roles.contributor import outcome

    import time

    market = market_for(args, settings, signer=False)
    market.require_submission(args.bounty, args.submission)
    deadline = time.monotonic() + args.wait
    result = outcome(market, args.bounty, args.submission)
    while result is None and time.monotonic() < deadline:
        time.sleep(2)
        result = outcome(market, args.bounty, args.submission)
    print(json.dumps(result) if result else f"submission {args.submission} is not decided yet")
    return 0


def _cmd_claim(args: argparse.Namespace, settings: Settings) -> int:
    from fathom.roles.contributor import claim_payouts

    market = market_for(args, settings)
    name = "ETH" if args.token == ETH_ADDRESS else args.token
    written_down = args.token != ETH_ADDRESS and market.books(args.token)[1]
    if args.write_down:
        if args.token == ETH_ADDRESS:
            raise FathomError("--write-down: ETH is never written down (rule P4 books ERC-20 tokens only); pass --token")
        if not written_down:
            market.write_down(args.token)  # NoShortfall, in one line, if the market holds what it owes
            written_down = True
            if not args.json:
                print(f"wrote {name} down (rule P4): every payout of it is now pro rata to what the market holds")
    amount = market.claim(args.token)
    paid = claim_payouts(market, args.token)
    if args.json:  # amounts in wei (the token's smallest unit), exact
        print(json.dumps({"account": market.account, "token": args.token, "balance": amount,
                          "one_off": [{k: p[k] for k in ("bountyId", "submissionId", "amount")} for p in paid],
                          "total": amount + sum(p["amount"] for p in paid),
                          "written_down": written_down}))
        return 0
    if amount:
        print(f"claimed {eth(amount)} ({name}) from your balance")
    for p in paid:
        print(f"claimed {eth(p['amount'])} ({name}): one-off payout of bounty {p['bountyId']} submission {p['submissionId']}")
    if written_down and (amount or paid):
        print(f"{name} is written down (rule P4): each claim above was paid pro rata, the market's holding over "
              "what it owed at that moment; the token's Transfer events show what arrived")
    if not amount and not paid:
        print("nothing to claim")
    return 0


def update_keys_file(path: Path) -> dict[str, bytes]:
    """A disclosure file: a JSON object `{cid: 64 hex digits}` (each key is checked against its
    envelope's key commitment when used, so a wrong one is refused, never trusted)."""
    try:
        document = json.loads(path.read_text())
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
        return {str(cid): bytes.fromhex(str(key).removeprefix("0x")) for cid, key in document.items()}
    except (OSError, ValueError) as exc:
        raise FathomError(f"--update-keys {path}: expected a JSON object of CID to 64 hex digits ({exc})") from None


def _cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    from fathom.cli.bounty import held_out_line
    from fathom.roles.requester import audit

    update_keys = update_keys_file(args.update_keys) if args.update_keys else None
    market = market_for(args, settings, signer=False)
    market.require_bounty(args.bounty)
    report = audit(market, store_for(settings), args.bounty, update_keys=update_keys)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"bounty {args.bounty}: {len(report['versions'])} versions and {report['reports']} reports re-scored")
        if report["sealed"]:
            print(f"  {report['sealed']} updates still sealed for the committee, not re-scored (F2)")
        head = report["versions"][-1]["chain"] if report["versions"] else None
        print(f"  {held_out_line(report['test_set'], None if head is None else str(head) + ' units')}")
        if report["unavailable"]:
            print(f"  {len(report['unavailable'])} report slots said UNAVAILABLE (the member could not fetch the "
                  f"update by its report deadline, R7a): not re-checked, not differences")
        for d in report["differences"]:
            print(f"  differs: {d['what']}: chain {d['chain']}, re-scored {d['rescored']}")
        print("no differences" if not report["differences"] else f"{len(report['differences'])} differences")
    return 1 if report["differences"] else 0


def register(sub: Any) -> None:
    p = with_key(sub.add_parser("contribute", help="train on local data and submit an encrypted update",
                                description="Train on your data and submit the update, sealed for the committee. On a "
                                "bounty in the encrypted-weights mode the model is Paillier ciphertexts: --steps steps of "
                                "--lr are computed on them (no local score: you never hold the weights)."))
    p.add_argument("bounty", type=int)
    p.add_argument("--data", type=Path, required=True, help="folder with X.npy and y.npy, or a .csv/.parquet table with "
                   "--label, its columns mapped onto the bounty's features (never leaves this machine)")
    add_table_arguments(p)
    p.add_argument("--lr", type=float, default=0.1, help="learning rate, in (0, 10] (default: %(default)s)")
    p.add_argument("--epochs", type=int, default=5, help="passes over your data, >= 1 (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=64, help="rows per SGD step (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="orders the training rows (never the DP noise, which comes "
                                                       "from the OS's randomness) (default: %(default)s)")
    p.add_argument("--clip", type=float, help="differential privacy: clip the update to this L2 norm (with --noise)")
    p.add_argument("--noise", type=float, help="differential privacy: Gaussian noise multiplier z; the noise's std "
                                               "is z * clip (with --clip)")
    p.add_argument("--dp-sgd", action="store_true",
                   help="record-level differential privacy (DP-SGD): clip each example's gradient to --clip and add "
                        "noise at every step, with Poisson-sampled batches; the privacy unit becomes one record of "
                        "your data instead of your whole data set")
    p.add_argument("--steps", type=int, default=5, help="encrypted-weights bounties only: gradient steps of --lr on "
                   "your data, computed on the Paillier-encrypted weights as one map (default: %(default)s)")
    p.add_argument("--noise-std", type=float, help="encrypted-weights bounties only: Gaussian noise of this std added "
                   "to every coordinate under encryption, from the OS's randomness; it states no epsilon (README)")
    p.add_argument("--dp-delta", type=float, default=1e-5, help="delta of the (epsilon, delta) guarantee (default: %(default)s)")
    p.add_argument("--budget-epsilon", type=float, default=10.0,
                   help="your privacy budget for this data set: a DP release that would take its epsilon, composed "
                        "over all its releases in your ledger (`fathom privacy`), above this is refused (default: %(default)s)")
    p.add_argument("--dry-run", action="store_true",
                   help="train and score on your data (with and without the DP noise), show the privacy it would "
                        "spend, and stop: nothing is sent, no stake is paid")
    p.add_argument("--force", action="store_true",
                   help="submit even if the update makes your own local score worse, or sends a data set with DP "
                        "releases in its ledger without noise")
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

    p = with_key(sub.add_parser("claim", help="withdraw everything the market owes this account: its "
                                               "claimable balance and its one-off payouts, in the token"))
    p.add_argument("--token", type=address_arg, default=ETH_ADDRESS, help="ERC-20 address (default: ETH)")
    p.add_argument("--json", action="store_true", help="print what was claimed as JSON, in wei")
    p.add_argument("--write-down", action="store_true",
                   help="an ERC-20 the market holds less of than it owes (a negative rebase: claims fail with "
                        "TokenShortfall) is written down first, so that everyone owed it, you too, is paid pro rata "
                        "(rule P4; anyone may, once)")
    p.set_defaults(func=_cmd_claim)

    p = sub.add_parser("audit", help="after the reveal: re-score every version, and every report whose updates "
                                     "you hold the keys of (updates are sealed for the committee only; the members' "
                                     "nodes disclose their keys on chain once the bounty is revealed)")
    p.add_argument("bounty", type=int)
    p.add_argument("--update-keys", type=Path, metavar="FILE",
                   help="JSON {cid: hex key}: more update keys a committee member disclosed, beside those on chain "
                        "(KeysDisclosed, read by default); each is checked against its envelope's key commitment")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_audit)

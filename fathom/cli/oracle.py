"""`fathom oracle`: stake in the registry and run the oracle daemon."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from fathom.config import Settings
from fathom.cli._common import (Progress, account_key, amount_arg, count_arg, eth, market_for, seconds_arg, store_for, wei,
                                with_key)
from fathom.errors import FathomError


def _policy_args(p: argparse.ArgumentParser) -> None:
    """The acceptance policy (rule O5): registered on chain; the node joins nothing outside it."""
    from fathom.protocol.policy import DAY, Policy

    d = Policy()
    g = p.add_argument_group("acceptance policy (rule O5: registered in the oracle registry; committees are drawn "
                             "only among oracles whose policy accepts the bounty, and the node never joins one "
                             "outside it. No option may be stricter than the registry's standard envelope, which "
                             "every policy accepts: --min-timeout at most 3600, --max-days at least 30, --min-fee at "
                             "most 0.001, --max-committee-by-batch at least 192, --max-bond at least minStake/16; "
                             "token fees may be refused. A bounty inside it never misses a draw on a policy, R3-4)")
    g.add_argument("--min-timeout", type=count_arg, default=d.min_scoring_timeout, metavar="SECONDS",
                   help=f"refuse bounties whose scoring timeout is shorter (default {d.min_scoring_timeout})")
    g.add_argument("--max-days", type=seconds_arg, default=d.max_duration / DAY, metavar="DAYS",
                   help=f"refuse bounties whose deadline is further from their opening (default {d.max_duration // DAY})")
    g.add_argument("--min-fee", type=amount_arg, default=0, metavar="ETH",
                   help="refuse ETH bounties paying less per batch to each committee (default 0)")
    g.add_argument("--max-committee-by-batch", type=count_arg, default=d.max_committee_by_batch, metavar="N",
                   help=f"refuse bounties whose committee size x batch size is larger (default {d.max_committee_by_batch})")
    g.add_argument("--max-bond", type=amount_arg, default=None, metavar="ETH",
                   help=f"refuse bounties whose member bond (what joining locks of the stake: the larger of "
                   f"minStake/16 and the ETH fee budget) is larger; also the most the node stakes more for one "
                   f"bounty (default {d.max_bond / 10**18:g}, the devnet's minimum stake: a requester cannot pick "
                   f"a bond this oracle cannot post and have its drawn seat vacated)")
    g.add_argument("--eth-fees-only", action="store_true",
                   help="refuse bounties paying their oracles in an ERC-20 (the registry cannot price a token, so "
                   "--min-fee binds ETH bounties only; default: token fees accepted)")


def _policy_from(args: argparse.Namespace) -> Any:
    from fathom.protocol.policy import DAY, Policy

    max_bond = Policy().max_bond if args.max_bond is None else wei(args.max_bond)
    if args.max_days <= 0 or args.max_committee_by_batch == 0 or max_bond == 0:
        raise FathomError("--max-days, --max-committee-by-batch and --max-bond must be above 0: that policy would "
                          "accept nothing")
    return Policy(min_scoring_timeout=args.min_timeout, max_duration=int(args.max_days * DAY),
                  min_fee_per_batch=wei(args.min_fee), max_committee_by_batch=args.max_committee_by_batch,
                  accept_token_fees=not args.eth_fees_only, max_bond=max_bond)


def _check_envelope(market: Any, policy: Any) -> None:
    """Rule O5 (R3-4): refuse, with nothing sent, a policy stricter than the registry's standard
    envelope (setPolicy would revert): every policy accepts every bounty inside it."""
    from fathom.protocol.policy import Policy, envelope_breach

    envelope = Policy.from_tuple(market.envelope())
    breach = envelope_breach(policy, envelope)
    if breach is not None:
        raise FathomError(f"{breach}: stricter than the registry's standard envelope, which every policy must "
                          f"accept ({_show_policy(envelope, True)}; rule O5)")


def _show_policy(policy: Any, is_set: bool) -> str:
    from fathom.protocol.policy import DAY

    if not is_set:
        return "no policy registered: accepts every bounty the market allows"
    return (f"scoring timeout >= {policy.min_scoring_timeout}s, deadline <= {policy.max_duration / DAY:g} days after "
            f"opening, fee >= {eth(policy.min_fee_per_batch)} ETH per batch (ETH bounties), committee x batch <= "
            f"{policy.max_committee_by_batch}, token fees {'accepted' if policy.accept_token_fees else 'refused'}, "
            f"member bond <= {eth(policy.max_bond)} ETH")


def _progress(message: str) -> None:
    """A wait the user should know about, on stderr: stdout keeps only the command's result
    (scripts read it), whatever phase the registry is in (O7)."""
    print(message, file=sys.stderr)


def _cmd_oracle_policy(args: argparse.Namespace, settings: Settings) -> int:
    from fathom.protocol.policy import Policy

    market = market_for(args, settings)
    if not args.show:
        policy = _policy_from(args)
        _check_envelope(market, policy)
        market.set_policy(policy.as_tuple(), notify=_progress)
    raw, is_set = market.policy_of(market.account)
    print(f"oracle {market.account}: {_show_policy(Policy.from_tuple(raw), is_set)}")
    return 0


def _cmd_oracle_stake(args: argparse.Namespace, settings: Settings) -> int:
    market = market_for(args, settings)
    market.stake_oracle(wei(args.eth), notify=_progress)
    print(f"staked {args.eth:g} ETH for {market.sender.address}")
    return 0


def _cmd_oracle_run(args: argparse.Namespace, settings: Settings) -> int:
    from fathom.roles.oracle import OracleNode

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stdout)
    key = account_key(args, settings)
    market = market_for(args, settings)
    registry = market.registry.functions
    if not args.stake and not registry.isEligible(market.account).call():
        minimum = registry.minStake().call()
        raise FathomError(f"{market.account} has no stake in the oracle registry, so no bounty can name it: stake "
                          f"first (`fathom oracle stake {eth(minimum)}`, at least {eth(minimum)} ETH) or pass "
                          f"--stake {eth(minimum)}")
    policy = _policy_from(args)
    _check_envelope(market, policy)
    node = OracleNode(
        market, store_for(settings), key, settings.data_dir,
        confirmations=settings.confirmations, poll_seconds=args.poll, stake_wei=wei(args.stake),
        max_stake_wei=None if args.max_stake is None else wei(args.max_stake),
        max_failures=args.max_failures, policy=policy,
        progress=Progress("scoring a batch", unit="chunk"),  # tqdm, silent unless stderr is a terminal
    )
    print(f"oracle {node.address} following {node.market.address} from block {node.checkpoint + 1} "
          f"({settings.confirmations} confirmations), state in {settings.data_dir}", flush=True)
    try:
        node.run(ticks=args.ticks)
    finally:
        node.close()
    return 0


def _cmd_oracle_leave(args: argparse.Namespace, settings: Settings) -> int:
    """Review 10, D3: leave a committee (release the bond); refused, nothing sent, unless joined."""
    market = market_for(args, settings)
    market.require_bounty(args.bounty)
    me = market.sender.address
    members, opted, _ = market.committee(args.bounty)
    if me not in members or not opted & (1 << members.index(me)):
        raise FathomError(f"{me} is not an opted-in member of bounty {args.bounty}: nothing to leave")
    if any(e.name == "CommitteeLeft" and e["oracle"] == me for e in market.events(bounty_id=args.bounty)):
        raise FathomError(f"{me} already left bounty {args.bounty}: its bond was released")
    if market.state(args.bounty) == "Settling" and \
            not market.batch(args.bounty, market.bounty(args.bounty)["nextBatch"])["submissions"]:
        market.close(args.bounty)  # review 11, S: ended with nothing left to decide: closed first (anyone may)
        print(f"closed bounty {args.bounty}")
    market.leave_committee(args.bounty)  # C2's refusals (a batch under way) come back as one line, unsent
    print(f"left the committee of bounty {args.bounty}: the bond of {me} is released")
    return 0


def _cmd_oracle_status(args: argparse.Namespace, settings: Settings) -> int:
    from fathom.roles.oracle import node_status

    key = account_key(args, settings)
    status = node_status(settings.data_dir, key)
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    print(f"oracle {status['address']}: checkpoint block {status['checkpoint']}, state in {status['path']}")
    print(f"  reports stored {status['reports']} ({status['unsent']} not sent yet), skipped submissions {status['skips']}")
    if not status["quarantined"]:
        print("  no quarantined bounty")
    for q in status["quarantined"]:
        print(f"  bounty {q['bounty']} quarantined: {q['reason']}")
    quarantined = {q["bounty"] for q in status["quarantined"]}
    for b in status["sitting_out"]:
        why = "quarantined after joining" if b in quarantined else "no keyring seats this node"
        print(f"  bounty {b}: sitting out every batch, {why} (C7)")
    for r in status["second_round"]:
        print(f"  bounty {r['bounty']} batch {r['batch']}: in its second round (R7b), the partial reports of "
              f"members {[i for i in range(16) if r['cleared'] >> i & 1]} cleared to report again")
    return 0


def register(sub: Any) -> None:
    oracle = sub.add_parser("oracle", help="run or fund an oracle node").add_subparsers(dest="sub", metavar="ACTION", required=True)
    p = with_key(oracle.add_parser("stake", help="stake ETH in the oracle registry",
                                   description="Stake ETH in the oracle registry. The registry alternates staking "
                                   "and drawing halves of drawPeriod blocks (rule O7: nothing a committee draw reads "
                                   "changes while its seed is public); in a drawing half this waits, saying so, for "
                                   "the next staking half."))
    p.add_argument("eth", type=amount_arg, help="amount in ETH (the registry's minimum is 1)")
    p.set_defaults(func=_cmd_oracle_stake)
    p = with_key(oracle.add_parser("run", help="the oracle daemon: follow events, score batches, report, settle",
                                    description="Follow the market from a checkpoint (state in FATHOM_DATA_DIR), "
                                    "register this node's acceptance policy (below) if the registry holds another "
                                    "(in a registry staking half, rule O7), trigger every committee draw that is "
                                    "due, join at once a drawn seat whose bounty the policy accepts, vacate drawn "
                                    "seats left idle past the join timeout (C6), and serve every bounty whose "
                                    "committee names this account (named or drawn) and that the policy accepts: "
                                    "commit to each batch's report, then reveal it (R11), reporting UNAVAILABLE (never INVALID) an "
                                    "update it cannot fetch by the report deadline (R7a, F8); when a batch is retried "
                                    "for its split votes with its partial report cleared (R7b), fetch again what it "
                                    "reported UNAVAILABLE (from the members that pinned it) and report again, without "
                                    "a commitment once the standing full reports are public; hold a "
                                    "standing sit-out on a drawn seat no keyring seats yet, and on a bounty it joined and then "
                                    "quarantined because it cannot serve it (C7, F9); once a bounty is revealed, "
                                    "disclose its updates' keys on chain for anyone's audit (F2); once a bounty it "
                                    "joined is closed or revealed (after that disclosure), or has ended with no batch left to "
                                    "decide (closing it first; a quarantined bounty's batches it settles or voids once "
                                    "their timeout passed), leave its committee, releasing the bond (as `fathom oracle leave`)."))
    _policy_args(p)
    p.add_argument("--stake", type=amount_arg, default=0, help="stake this much ETH first if not yet eligible "
                   "(without it, an account with no stake is refused at once, and the node never tops up); with "
                   "it, the node also stakes what a bounty's bond lacks of free stake, up to --max-stake in all")
    p.add_argument("--max-stake", type=amount_arg, default=None, metavar="ETH",
                   help="the most this account's registry stake may total after the node's top-ups for bonds "
                   "(default: --stake plus one --max-bond). Past it, or without --stake, a bounty whose bond "
                   "lacks free stake waits, retried every tick, until bonds elsewhere are released: decoy "
                   "bounties cannot draw an unbounded stake out of the node, and a drawn seat short of free "
                   "stake is never vacated for it (rule C6)")
    p.add_argument("--poll", type=seconds_arg, default=2.0, help="seconds between ticks (default 2)")
    p.add_argument("--max-failures", type=count_arg, default=8, help="stop after this many failed ticks in a row")
    p.add_argument("--ticks", type=count_arg, help="stop after this many ticks (default: run until interrupted)")
    p.set_defaults(func=_cmd_oracle_run)
    p = with_key(oracle.add_parser("policy", help="register (or --show) this oracle's acceptance policy",
                                   description="Register in the oracle registry the terms this oracle accepts "
                                   "(rule O5). Committees are drawn only among oracles whose policy accepts the "
                                   "bounty; joinCommittee refuses an oracle whose policy does not. In a registry "
                                   "drawing half (rule O7) this waits, saying so, for the next staking half."))
    _policy_args(p)
    p.add_argument("--show", action="store_true", help="print the registered policy, change nothing")
    p.set_defaults(func=_cmd_oracle_policy)
    p = with_key(oracle.add_parser("leave", help="leave a bounty's committee and release this oracle's bond",
                                   description="Leave the committee of bounty ID and release this oracle's bond "
                                   "in the registry (what slashes left of it). Once the bounty is Closed or "
                                   "Revealed, or ended with no batch left to decide (it is closed first: anyone may), "
                                   "at any time, arming no draw (`fathom oracle run` does it by itself, after its key "
                                   "disclosure, F2); before its end, only while no batch is under way and the committee "
                                   "stays large enough (rule C2). Refused, with nothing sent, for an account that "
                                   "is not an opted-in member or already left."))
    p.add_argument("bounty", type=int, metavar="ID")
    p.set_defaults(func=_cmd_oracle_leave)
    p = with_key(oracle.add_parser("status", help="what this node's state holds: checkpoint, reports, quarantined bounties",
                                   description="Read the node's SQLite state in FATHOM_DATA_DIR (no chain access): "
                                   "the checkpoint, reports, skipped submissions, every quarantined bounty "
                                   "with its reason, and every bounty where it holds a standing sit-out "
                                   "(rule C7): a drawn seat no keyring seats yet, or a bounty it joined and then "
                                   "quarantined; and every batch in its second round (rule R7b: retried because "
                                   "the votes split with a partial report; the members whose partial reports were "
                                   "cleared fetch again and report again), as far as the confirmed log shows."))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_oracle_status)

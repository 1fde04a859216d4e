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


def _cmd_oracle_stake(args: argparse.Namespace, settings: Settings) -> int:
    market = market_for(args, settings)
    market.stake_oracle(wei(args.eth))
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
    node = OracleNode(
        market, store_for(settings), key, settings.data_dir,
        confirmations=settings.confirmations, poll_seconds=args.poll, stake_wei=wei(args.stake),
        max_failures=args.max_failures,
        progress=Progress("scoring a batch", unit="chunk"),  # tqdm, silent unless stderr is a terminal
    )
    print(f"oracle {node.address} following {node.market.address} from block {node.checkpoint + 1} "
          f"({settings.confirmations} confirmations), state in {settings.data_dir}", flush=True)
    try:
        node.run(ticks=args.ticks)
    finally:
        node.close()
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
    return 0


def register(sub: Any) -> None:
    oracle = sub.add_parser("oracle", help="run or fund an oracle node").add_subparsers(dest="sub", metavar="ACTION", required=True)
    p = with_key(oracle.add_parser("stake", help="stake ETH in the oracle registry"))
    p.add_argument("eth", type=amount_arg, help="amount in ETH (the registry's minimum is 1)")
    p.set_defaults(func=_cmd_oracle_stake)
    p = with_key(oracle.add_parser("run", help="the oracle daemon: follow events, score batches, report, settle",
                                    description="Follow the market from a checkpoint (state in FATHOM_DATA_DIR), "
                                    "serve every bounty whose committee names this account."))
    p.add_argument("--stake", type=amount_arg, default=0, help="stake this much ETH first if not yet eligible "
                   "(without it, an account with no stake is refused at once)")
    p.add_argument("--poll", type=seconds_arg, default=2.0, help="seconds between ticks (default 2)")
    p.add_argument("--max-failures", type=count_arg, default=8, help="stop after this many failed ticks in a row")
    p.add_argument("--ticks", type=count_arg, help="stop after this many ticks (default: run until interrupted)")
    p.set_defaults(func=_cmd_oracle_run)
    p = with_key(oracle.add_parser("status", help="what this node's state holds: checkpoint, reports, quarantined bounties",
                                   description="Read the node's SQLite state in FATHOM_DATA_DIR (no chain access): "
                                   "the checkpoint, reports, skipped submissions and every quarantined bounty "
                                   "with its reason."))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_oracle_status)

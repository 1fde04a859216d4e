"""A whole bounty round with 100 contributors, on anvil and on ganache: wall time and gas.

    python benchmarks/round.py [--chain anvil|ganache|both] [--contributors 100]

What runs (everything for real except that the 3 oracles are in-process `OracleNode`s
ticked in turn instead of 3 daemons; they do their whole job: follow the events, fetch,
decrypt and score every submission, seal and pin merged models, report, settle, close):

1. setup (timed apart): a fresh chain (`fathom.chain.client.LocalChain`), the contracts
   deployed, 104 accounts funded with 20 ETH each (plain ETH transfers from an unlocked account: harness,
   not Fathom), each publishes its public key, the 3 oracles stake 2 ETH;
2. the round: the requester opens an ETH bounty on scikit-learn's digits (softmax,
   d = 64, 10 classes, 400 validation rows; batches of 32, committee of 3) admitting all
   100 contributors; the oracles report the baseline; 100 contributors, in waves of one
   batch, fetch and decrypt the head, train on their own 60-row shard, seal, pin and
   submit (every 10th sends a harmful update); after each wave the oracles score,
   report and settle the batch; after the last (partial) batch the requester cancels,
   the oracles settle it and close; the requester reveals; all 104 parties claim.

``wall_s`` is the round (step 2), ``gas_total`` the sum of `gasUsed` over every
transaction of step 2 (`gas_by_function` splits it). Step 1 is reported separately
(``setup_s``, ``setup_gas``). Artefacts go to the embedded store. One run per chain
(a round takes tens of seconds; the per-phase times are recorded).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_SRC = os.environ.get("FATHOM_BENCH_SRC")
sys.path.insert(0, _SRC or str(Path(__file__).resolve().parent.parent))
sys.path.insert(1, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from fathom.ml import models
from fathom.ml import training  # noqa: E402
from fathom.chain.client import ETH, LocalChain, Sender, abi, connect, deploy_all  # noqa: E402
from fathom.roles.contributor import contribute  # noqa: E402
from fathom.crypto.envelope import generate_private_key, public_key_of  # noqa: E402
from fathom.cli.demo import Party, shuffled_digits  # noqa: E402
from fathom.chain.market import WAD, Market  # noqa: E402
from fathom.roles.oracle import OracleNode  # noqa: E402
from fathom.roles.requester import default_terms, open_bounty, reveal  # noqa: E402
from fathom.storage.store import EmbeddedStore  # noqa: E402

from common import load, say  # noqa: E402

BATCH = 32
SHARD_ROWS = 60


def _drive(nodes: list[OracleNode], done: Any, what: str, limit: float = 600.0) -> int:
    """Tick every node in turn until done(); returns the number of passes."""
    deadline = time.monotonic() + limit
    passes = 0
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the oracles did not get to {what} within {limit:.0f} s")
        for node in nodes:
            node.tick()
        passes += 1
    return passes


def _selectors() -> dict[bytes, str]:
    from eth_utils import keccak

    out = {}
    for name in ("BountyMarket", "OracleRegistry", "KeyRegistry"):
        for entry in abi(name):
            if entry["type"] == "function":
                sig = f"{entry['name']}({','.join(_type(i) for i in entry['inputs'])})"
                out[keccak(text=sig)[:4]] = f"{name}.{entry['name']}"
    return out


def _type(param: dict[str, Any]) -> str:
    t = param["type"]
    if t.startswith("tuple"):
        return "(" + ",".join(_type(c) for c in param["components"]) + ")" + t[5:]
    return t


def _gas(w3: Any, first: int, last: int) -> tuple[int, dict[str, dict[str, int]], int]:
    """(total gasUsed, by function, transactions) over blocks first..last."""
    selectors = _selectors()
    total, count = 0, 0
    by: dict[str, dict[str, int]] = collections.defaultdict(lambda: {"count": 0, "gas": 0})
    for number in range(first, last + 1):
        block = w3.eth.get_block(number, full_transactions=True)
        for tx in block["transactions"]:
            receipt = w3.eth.get_transaction_receipt(tx["hash"])
            data = bytes(tx["input"])
            name = selectors.get(data[:4], "ETH transfer" if not data else "other") if tx["to"] else "deploy"
            by[name]["count"] += 1
            by[name]["gas"] += receipt["gasUsed"]
            total += receipt["gasUsed"]
            count += 1
    return total, dict(sorted(by.items(), key=lambda kv: -kv[1]["gas"])), count


def run_round(chain_kind: str, contributors: int = 100, log: Any = say) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix=f"fathom-bench-round-{chain_kind}-"))
    phases: dict[str, float] = {}
    load_before = load()
    t_start = time.monotonic()
    try:
        with LocalChain(chain_kind, accounts=2) as chain:
            w3 = connect(chain.url, timeout=120)
            phases["chain_start"] = time.monotonic() - t_start
            # ------------------------------------------------------------ setup
            t = time.monotonic()
            funder, deployer = Sender.unlocked(w3, 0), Sender.unlocked(w3, 1)
            contracts = deploy_all(deployer)
            addresses = {name: c.address for name, c in contracts.items()}
            setup_first = w3.eth.block_number + 1
            requester = Party("requester", generate_private_key())
            oracles = [Party(f"oracle{i}", generate_private_key()) for i in range(3)]
            people = [Party(f"c{i}", generate_private_key()) for i in range(contributors)]
            everyone = [requester, *oracles, *people]
            last_tx = None
            for p in everyone:
                last_tx = w3.eth.send_transaction({"from": funder.address, "to": p.address, "value": 20 * WAD})
            w3.eth.wait_for_transaction_receipt(last_tx, timeout=120)

            def market_for(p: Party) -> Market:
                return Market(w3, addresses, Sender.from_key(w3, p.key))

            markets = {p.name: market_for(p) for p in everyone}
            for p in everyone:
                markets[p.name].ensure_key_published(public_key_of(p.key))
            for o in oracles:
                markets[o.name].stake_oracle(2 * WAD)
            setup_last = w3.eth.block_number
            phases["setup"] = time.monotonic() - t

            store = EmbeddedStore(workdir / "store")
            nodes = [OracleNode(markets[o.name], store, o.key, workdir / o.name, confirmations=0, poll_seconds=0.0)
                     for o in oracles]
            X, y = shuffled_digits()
            vX, vy = X[60:460], y[60:460]
            pool_X, pool_y = X[460:], y[460:]
            rng = np.random.default_rng(2026)
            manifest = models.make_manifest("softmax", 64, 10, metric="accuracy")
            seed_params = training.train(manifest, models.init_model(manifest, seed=1), X[:60], y[:60], lr=0.5, epochs=3,
                                         batch_size=32, seed=1)

            # ------------------------------------------------------------ the round
            round_first = w3.eth.block_number + 1
            t_round = time.monotonic()
            t = t_round
            rq = markets["requester"]
            batches = -(-contributors // BATCH)
            terms = default_terms(rq.now(), [o.address for o in oracles], batchSize=BATCH, maxBatches=batches,
                                  target=9_900, slashMargin=500, tolerance=2, scoringTimeout=900)
            secrets = open_bounty(rq, store, requester.key, workdir / "requester", (manifest, seed_params),
                                  ({"task": "classification", "n_classes": 10}, {"X": vX, "y": vy}), terms,
                                  admitted=[p.address for p in people])
            bid = secrets.bounty_id
            phases["open"] = time.monotonic() - t
            t = time.monotonic()
            _drive(nodes, lambda: rq.state(bid) == "Open", "the baseline")
            phases["baseline"] = time.monotonic() - t
            phases["contribute"] = 0.0
            phases["score_and_settle"] = 0.0
            harmful = 0
            for k in range(batches):
                t = time.monotonic()
                for i, p in enumerate(people[k * BATCH:(k + 1) * BATCH], start=k * BATCH):
                    idx = rng.choice(len(pool_y), size=SHARD_ROWS, replace=False)
                    scale = -25.0 if i % 10 == 9 else 1.0
                    harmful += scale < 0
                    contribute(markets[p.name], store, p.key, bid, pool_X[idx], pool_y[idx], lr=0.5, epochs=3,
                               batch_size=32, seed=i, scale=scale)
                phases["contribute"] += time.monotonic() - t
                t = time.monotonic()
                if k == batches - 1 and contributors % BATCH:
                    rq.cancel(bid)  # the last batch is partial: ending the bounty makes it reportable
                _drive(nodes, lambda: rq.bounty(bid)["nextBatch"] > k, f"batch {k} settled")
                phases["score_and_settle"] += time.monotonic() - t
                log(f"    {chain_kind}: batch {k} settled, head version {rq.bounty(bid)['versionCount']} "
                    f"({time.monotonic() - t_round:.1f} s into the round)")
            t = time.monotonic()
            if rq.state(bid) == "Open":
                rq.cancel(bid)
            _drive(nodes, lambda: rq.state(bid) in ("Closed", "Revealed"), "the close")
            reveal(rq, secrets)
            phases["close_and_reveal"] = time.monotonic() - t
            t = time.monotonic()
            claimed = 0
            for p in everyone:
                claimed += markets[p.name].claim(ETH) > 0
            phases["claims"] = time.monotonic() - t
            wall = time.monotonic() - t_round
            round_last = w3.eth.block_number

            # ------------------------------------------------------------ accounting (not timed)
            view = rq.bounty(bid)
            events = rq.events(bounty_id=bid, outcomes=True)
            outcomes = collections.Counter(ev.name for ev in events
                                           if ev.name in ("UpdateMerged", "SubmissionRejected", "StakeSlashed"))
            scored = sum(outcomes.values())
            assert scored == contributors, f"{scored} of {contributors} submissions were decided"
            reports = sum(1 for ev in events if ev.name == "ReportPosted")
            gas_total, by_function, txs = _gas(w3, round_first, round_last)
            setup_gas, setup_by, _ = _gas(w3, setup_first, setup_last)
            fathom_setup = sum(v["gas"] for k, v in setup_by.items() if k != "ETH transfer")
            out = {
                "chain": chain_kind,
                "contributors": contributors,
                "wall_s": round(wall, 1),
                "gas_total": gas_total,
                "gas_per_contribution": round(gas_total / contributors),
                "transactions": txs,
                "phases_s": {k: round(v, 2) for k, v in phases.items()},
                "setup_s": round(phases["setup"], 1),
                "setup_gas": fathom_setup,
                "setup_gas_eth_transfers": setup_by.get("ETH transfer", {}).get("gas", 0),
                "gas_by_function": by_function,
                "outcomes": {"accepted": outcomes["UpdateMerged"], "rejected": outcomes["SubmissionRejected"],
                             "slashed": outcomes["StakeSlashed"], "harmful_sent": int(harmful)},
                "reports": reports,
                "claims": claimed,
                "final_head": {"version": view["versionCount"], "score": view["headScore"] / 1e4,
                               "baseline": view["baselineScore"] / 1e4},
                "load_before": load_before,
                "load_after": load(),
            }
            log(f"  {chain_kind}: round of {contributors} contributors in {wall:.1f} s, {gas_total:,} gas "
                f"({out['gas_per_contribution']:,} per contribution); accepted {outcomes['UpdateMerged']}, "
                f"rejected {outcomes['SubmissionRejected']}, slashed {outcomes['StakeSlashed']}; setup {phases['setup']:.1f} s")
            return out
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run(quick: bool = False, chains: tuple[str, ...] = ("anvil", "ganache"), contributors: int = 100) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in chains:
        out[kind] = run_round(kind, contributors)
    return {"contributors_100" if contributors == 100 else f"contributors_{contributors}": out}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chain", choices=("anvil", "ganache", "both"), default="both")
    parser.add_argument("--contributors", type=int, default=100)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    chains = ("anvil", "ganache") if args.chain == "both" else (args.chain,)
    out = run(chains=chains, contributors=args.contributors)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

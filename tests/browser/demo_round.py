"""A demo round on a local chain that stays up, for the dApp page and its browser test.

`fathom.demo.run` starts its own chain and stops it at the end, and has everyone claim.
This driver runs the same round (the same 3 oracle daemons, requester and 6 contributors
with the same shards and training plans; c5 sends a harmful update) on a chain it keeps
running, with two differences that give the page more to show:

- bounty 1 pays along a concave curve (breakpoints (0,0), (0.3,0.6), (1,1)) instead of
  the linear default, and nobody claims after the reveal except the requester and the
  oracles, so the contributors' rewards and returned stakes are still claimable;
- a second bounty (0.5 ETH, linear curve) is opened after the oracles stop, so it stays
  AwaitingBaseline.

It then writes `<workdir>/round.json`: the node's URL, the deployment, the wallet the test
uses (contributor c0: a throwaway key made for this throwaway chain) and what the page
must show, read with web3.py straight from the chain (views and events), so the browser
test compares the page (ethers) with an independent reader.

Usage:
  python tests/browser/demo_round.py [--chain anvil|ganache] [--workdir DIR]

It prints `demo-round: ready <round.json>` and keeps the chain up until its standard
input closes (the test runner holds a pipe) or it gets SIGINT/SIGTERM. By hand, it also
prints the page's address for `python -m http.server -d frontend` (after
`node frontend/build.mjs`).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import numpy as np

from fathom import models, training
from fathom.chain import ETH, LocalChain, Sender, connect, deploy_all
from fathom.contributor import contribute
from fathom.crypto import generate_private_key, public_key_of
from fathom.demo import Party, _digits, _shards, _wait
from fathom.deployments import write_deployment
from fathom.errors import FathomError
from fathom.market import STATES, WAD, Market
from fathom.requester import default_terms, lineage, open_bounty, payouts, reveal

NETWORK = "browser"
CURVE = ([0, 3 * WAD // 10, WAD], [0, 6 * WAD // 10, WAD])


def log(msg: str) -> None:
    print(f"demo-round: {msg}", flush=True)


# ------------------------------------------------------------------ formatting the page must match
# Written with Decimal here and with BigInt in the page: two implementations of one rule.


def eth_text(wei: int, decimals: int = 6) -> str:
    """Wei as ETH rounded half-up to `decimals`, without trailing zeros ("1", "0.35")."""
    q = (Decimal(wei) / Decimal(10**18)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    text = format(q, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def fraction_text(wad: int) -> str:
    """A WAD fraction exactly, without trailing zeros ("0.3", "1")."""
    text = format(Decimal(wad) / Decimal(10**18), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def score_text(score: int | None, resolution: int) -> str:
    if score is None:
        return "-"
    if score == 2**32 - 1:
        return "invalid"
    decimals = max(0, 18 - (len(str(resolution)) - 1))
    return f"{Decimal(score) * Decimal(resolution) / Decimal(10**18):.{decimals}f}"


# ------------------------------------------------------------------ the round


def run_round(chain: LocalChain, workdir: Path) -> dict[str, Any]:
    """The demo's round (fathom/demo.py) on `chain`, without the contributors' claims."""
    from fathom.storage import EmbeddedStore

    rng = np.random.default_rng(2026)
    store = EmbeddedStore(workdir / "store")
    w3 = connect(chain.url)
    funder = Sender.unlocked(w3, 0)
    deployer = Sender.unlocked(w3, 1)
    contracts = deploy_all(deployer)
    addresses = {name: c.address for name, c in contracts.items()}
    deployments = workdir / "deployments"
    record = {"network": NETWORK, "chain_id": w3.eth.chain_id, "block": 0, "deployer": deployer.address,
              "contracts": addresses}
    write_deployment(deployments, NETWORK, record)
    log(f"{chain.kind} at {chain.url}; market {addresses['BountyMarket']}")

    parties = {"requester": Party("requester", generate_private_key())}
    for i in range(3):
        parties[f"oracle{i}"] = Party(f"oracle{i}", generate_private_key())
    for i in range(6):
        parties[f"c{i}"] = Party(f"c{i}", generate_private_key())
    for p in parties.values():
        w3.eth.send_transaction({"from": funder.address, "to": p.address, "value": 100 * WAD})

    def market_for(p: Party) -> Market:
        return Market(w3, addresses, Sender.from_key(w3, p.key))

    for p in parties.values():
        market_for(p).ensure_key_published(public_key_of(p.key))

    env_base = {**os.environ, "FATHOM_RPC_URL": chain.url, "FATHOM_NETWORK": NETWORK,
                "FATHOM_DEPLOYMENTS": str(deployments), "FATHOM_CONFIRMATIONS": "0",
                "FATHOM_STORE_DIR": str(workdir / "store")}
    env_base.pop("FATHOM_IPFS_API", None)
    daemons: list[subprocess.Popen[bytes]] = []
    logs = []
    data = _shards(*_digits(), rng)
    manifest = models.make_manifest("softmax", 64, 10, metric="accuracy")
    seed_params = training.train(manifest, models.init_model(manifest, seed=1), *data["public"], lr=0.5,
                                 epochs=3, batch_size=32, seed=1)
    requester = market_for(parties["requester"])
    committee = [parties[f"oracle{i}"].address for i in range(3)]
    vX, vy = data["validation"]
    validation = ({"task": "classification", "n_classes": 10}, {"X": vX, "y": vy})
    try:
        for i in range(3):
            p = parties[f"oracle{i}"]
            env = {**env_base, "FATHOM_PRIVATE_KEY": "0x" + p.key.hex(), "FATHOM_DATA_DIR": str(workdir / p.name)}
            fh = open(workdir / f"{p.name}.log", "wb")
            logs.append(fh)
            daemons.append(subprocess.Popen([sys.executable, "-m", "fathom", "oracle", "run", "--stake", "2",
                                             "--poll", "0.5"], env=env, stdout=fh, stderr=subprocess.STDOUT))
        reg = contracts["OracleRegistry"]

        def all_staked() -> bool:
            for d in daemons:
                if d.poll() is not None:
                    raise FathomError(f"an oracle daemon exited with {d.returncode}: see {workdir}/oracle*.log")
            return all(reg.functions.isEligible(a).call() for a in committee)

        _wait("the oracles to stake", all_staked, 120)
        log("3 oracle daemons staked")

        terms = default_terms(requester.now(), committee, batchSize=2, maxBatches=8, target=9_900,
                              slashMargin=500, tolerance=2, scoringTimeout=900, curveX=CURVE[0], curveY=CURVE[1])
        secrets = open_bounty(requester, store, parties["requester"].key, workdir / "requester",
                              (manifest, seed_params), validation, terms,
                              admitted=[parties[f"c{i}"].address for i in range(6)])
        bid = secrets.bounty_id
        _wait("the baseline", lambda: requester.state(bid) == "Open", 300)
        log(f"bounty {bid} open, baseline {requester.bounty(bid)['baselineScore']}")

        plans = {"c0": dict(lr=0.5, epochs=8), "c1": dict(lr=0.5, epochs=8), "c2": dict(lr=0.5, epochs=6),
                 "c3": dict(lr=0.3, epochs=6), "c4": dict(lr=0.3, epochs=4), "c5": dict(lr=0.5, epochs=5, scale=-25.0)}
        n = 0
        names = list(plans)
        for rnd in range(2):
            for pair in (names[0:2], names[2:4], names[4:6]):
                for name in pair:
                    p = parties[name]
                    contribute(market_for(p), store, p.key, bid, *data[name], batch_size=32, seed=rnd, **plans[name])
                    n += 1
                _wait(f"batch {n // 2 - 1} to be scored", lambda: requester.bounty(bid)["nextBatch"] * 2 >= n, 600)
                head = requester.bounty(bid)
                log(f"round {rnd + 1}, batch {n // 2 - 1} settled: head is version {head['versionCount']} "
                    f"at {head['headScore']}")
        requester.cancel(bid)
        _wait("the bounty to settle", lambda: requester.state(bid) == "Settling", 60)
        requester.close(bid)
        reveal(requester, secrets)
        log(f"bounty {bid} cancelled, closed and revealed")
    finally:
        for d in daemons:
            d.terminate()
        for d in daemons:
            try:
                d.wait(10)
            except subprocess.TimeoutExpired:
                d.kill()
        for fh in logs:
            fh.close()

    # a second bounty nobody scores: the oracles are gone, so it waits for its baseline
    second = open_bounty(requester, store, parties["requester"].key, workdir / "requester2",
                         (manifest, seed_params), validation,
                         default_terms(requester.now(), committee, reward=WAD // 2, target=9_500))
    log(f"bounty {second.bounty_id} opened, awaiting its baseline")

    for name in ("requester", "oracle0", "oracle1", "oracle2"):
        market_for(parties[name]).claim(ETH)

    return {"w3": w3, "addresses": addresses, "record": record, "parties": parties, "bounty": bid}


# ------------------------------------------------------------------ what the page must show


def expectations(w3: Any, addresses: dict[str, str], parties: dict[str, Party], bid: int) -> dict[str, Any]:
    viewer = Market(w3, addresses)
    m = viewer.market
    names = {p.address: n for n, p in parties.items()}
    bounties = []
    for i in range(1, m.functions.bountyCount().call() + 1):
        b = viewer.bounty(i)
        params = viewer.opened_params(i)
        xs, ys = m.functions.getCurve(i).call()
        res = int(params["resolution"])
        bounties.append({
            "id": i, "state": STATES[m.functions.state(i).call()], "reward_wei": str(b["reward"]),
            "reward_text": eth_text(b["reward"]), "token": b["token"],
            "curve": [[str(x), str(y)] for x, y in zip(xs, ys)],
            "curve_text": [[fraction_text(x), fraction_text(y)] for x, y in zip(xs, ys)],
            "head_score": b["headScore"], "head_text": score_text(b["headScore"] if b["baselineSet"] else None, res),
            "version_count": b["versionCount"], "submission_count": b["submissionCount"],
            "resolution": str(res),
        })
    versions = lineage(viewer, bid)
    res = int(viewer.opened_params(bid)["resolution"])
    contributors = {}
    for addr, row in payouts(viewer, bid).items():
        contributors[addr] = {
            **row, "reward": str(row["reward"]), "burned": str(row["burned"]), "name": names.get(addr, ""),
            "reward_text": eth_text(row["reward"]), "burned_text": eth_text(row["burned"]),
            "claimable": str(viewer.claimable(addr, ETH)),
        }
    return {
        "bounty": bid,
        "bounties": bounties,
        "versions": [{"version": v["version"], "parent": v["parent"], "score": v["score"],
                      "score_text": score_text(v["score"], res), "author": v["author"], "reward": str(v["reward"]),
                      "reward_text": eth_text(v["reward"])} for v in versions],
        "contributors": contributors,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chain", choices=("anvil", "ganache"), default="anvil")
    parser.add_argument("--workdir", type=Path, help="the round's files (default: a fresh temp folder)")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="fathom-browser-"))
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()

    # Until the round is ready, SIGINT/SIGTERM abort it (the daemons and the chain are stopped
    # on the way out); afterwards they end the wait.
    stop = threading.Event()
    ready = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        if ready.is_set():
            stop.set()
        else:
            raise SystemExit(128 + signum)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)

    with LocalChain(args.chain, accounts=2) as chain:
        r = run_round(chain, workdir)
        w3, parties = r["w3"], r["parties"]
        wallet = parties["c0"]
        out = {
            "rpc": chain.url, "chain": args.chain, "chain_id": w3.eth.chain_id, "market": r["addresses"]["BountyMarket"],
            "deployment": r["record"], "not_market": r["addresses"]["KeyRegistry"],
            "wallet": {"name": "c0", "address": wallet.address, "private_key": "0x" + wallet.key.hex(),
                       "claimable": str(Market(w3, r["addresses"]).claimable(wallet.address, ETH))},
            **expectations(w3, r["addresses"], parties, r["bounty"]),
            "seconds": round(time.monotonic() - started, 1),
        }
        path = workdir / "round.json"
        path.write_text(json.dumps(out, indent=2) + "\n")
        log(f"round done in {out['seconds']} s")
        if sys.stdin.isatty():
            log(f"page: http://127.0.0.1:8000/?rpc={chain.url}&market={out['market']} "
                "(after `node frontend/build.mjs && python -m http.server -d frontend 8000`); Ctrl-C stops the chain")
        ready.set()
        log(f"ready {path}")

        def wait_stdin() -> None:
            try:
                while sys.stdin.read(4096):
                    pass
            except (OSError, ValueError):
                pass
            stop.set()

        if not sys.stdin.isatty():
            threading.Thread(target=wait_stdin, daemon=True).start()
        while not stop.wait(0.5):
            pass
        log("stopping the chain")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except FathomError as exc:
        print(f"demo-round: error: {exc}", file=sys.stderr)
        sys.exit(1)

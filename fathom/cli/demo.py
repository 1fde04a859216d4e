"""`make demo`: a whole bounty round on a local chain, from a bare machine.

It starts a local ganache, deploys the contracts, and runs every role for real:
- 3 oracle nodes, each a separate `fathom oracle run` daemon with its own key, data
  directory and SQLite state;
- a requester that opens a bounty on scikit-learn's digits (shipped inside the package,
  nothing downloaded): an encrypted initial model, a validation set wrapped for the
  committee, a keyring, the commitment, the escrow; its committee of 3 is drawn from the
  oracle registry (rule C4) and seated with a second keyring;
- 6 contributors whose private shards differ in size and quality; one sends a harmful
  update. They train locally, encrypt, pin and submit over two rounds.
Then the requester cancels, closes and reveals. A second, smaller bounty shows the
encrypted-weights mode (`play_encrypted_round`): a logistic model on scikit-learn's
breast_cancer (d = 30) that contributors train only as Paillier ciphertexts, decided and
paid by the same committee. Then everyone claims; anyone audits.

Artefacts go to the embedded store (shared folder) unless FATHOM_IPFS_API names a node.
It ends with a table of versions, scores, rewards and slashes, and checks the books.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fathom.ml import models
from fathom.ml import training
from fathom.chain.client import ETH, LocalChain, Sender, connect, deploy_all
from fathom.config import Settings
from fathom.roles.contributor import contribute, outcome
from fathom.crypto.envelope import account_address, generate_private_key, public_key_of
from fathom.chain.deployments import write_deployment
from fathom.errors import FathomError
from fathom.chain.market import WAD, Market
from fathom.roles.requester import audit, default_terms, draw_and_seat, lineage, open_bounty, payouts, reveal
from fathom.storage.store import EmbeddedStore, IpfsStore, Store

NETWORK = "demo"


@dataclass
class Party:
    name: str
    key: bytes

    @property
    def address(self) -> str:
        return account_address(self.key)


def shuffled_digits(seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits scaled to [0, 1] (float32), rows shuffled by `seed`."""
    from sklearn.datasets import load_digits

    data = load_digits()
    X = (data.data / 16.0).astype(np.float32)
    y = data.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    return X[order], y[order]


def _shards(X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> dict[str, Any]:
    """The public seed set, the hidden validation set, and six private shards. The validation
    set is 700 of the 1,797 digits: at 400 the paired test's noise (about 1.5 points at 99%)
    hid the second update of a batch; at 700 an honest first-round update is significant on
    its own, so each is merged and paid (R5)."""
    out: dict[str, Any] = {"public": (X[:60], y[:60]), "validation": (X[60:760], y[60:760])}
    rest_X, rest_y = X[760:], y[760:]
    sizes = [360, 260, 170, 110, 60, 70]  # different amounts of data...
    noise = [0.0, 0.0, 0.05, 0.1, 0.3, 0.0]  # ...and quality (share of flipped labels)
    start = 0
    for i, (n, flip) in enumerate(zip(sizes, noise)):
        sx, sy = rest_X[start:start + n], rest_y[start:start + n].copy()
        flips = rng.random(n) < flip
        sy[flips] = rng.integers(0, 10, flips.sum())
        out[f"c{i}"] = (sx, sy)
        start += n
    return out


def _wait(what: str, condition: Any, timeout: float = 300.0, every: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise FathomError(f"demo: timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)


def _settle_and_close(requester: Any, bid: int, what: str) -> None:
    """After a cancel: wait for the bounty to settle, then close it, unless a committee member's
    node closed it first (nodes close a settled bounty with nothing left to score, and can do so
    between two polls, so waiting for "Settling" alone can miss it)."""
    _wait(f"{what} to settle", lambda: requester.state(bid) in ("Settling", "Closed"), 60)
    if requester.state(bid) == "Settling":
        try:
            requester.close(bid)
        except Exception:
            if requester.state(bid) != "Closed":  # not the race with a node: a real failure
                raise


def play_round(chain: LocalChain, workdir: Path, store: Store, log: Any = print, network: str = NETWORK,
               ipfs_api: str | None = None, curve: tuple[list[int], list[int]] | None = None,
               one_off: tuple[tuple[str, int], ...] = ()) -> dict[str, Any]:
    """The round on `chain` (which the caller owns): deploy, keys, 3 oracle daemons, the bounty,
    two rounds of contributions, then cancel, close and reveal. The daemons are stopped on
    return; nobody has claimed yet. Returns what the caller needs to go on. `one_off` names
    (contributor, round) pairs that submit with submitUpdateOnce (rule U6): their payouts are
    claimed with a proof instead of credited to a balance."""
    rng = np.random.default_rng(2026)
    w3 = connect(chain.url)
    funder = Sender.unlocked(w3, 0)
    deployer = Sender.unlocked(w3, 1)
    contracts = deploy_all(deployer)
    addresses = {name: c.address for name, c in contracts.items()}
    deployments = workdir / "deployments"
    record = {"network": network, "chain_id": w3.eth.chain_id, "block": 0, "deployer": deployer.address,
              "contracts": addresses}
    write_deployment(deployments, network, record)
    log(f"chain {chain.kind} at {chain.url}; contracts deployed: " + ", ".join(f"{k} {v}" for k, v in addresses.items()))

    parties = {"requester": Party("requester", generate_private_key())}
    for i in range(3):
        parties[f"oracle{i}"] = Party(f"oracle{i}", generate_private_key())
    for i in range(6):
        parties[f"c{i}"] = Party(f"c{i}", generate_private_key())
    funded = [w3.eth.send_transaction({"from": funder.address, "to": p.address, "value": 100 * WAD})
              for p in parties.values()]
    for tx in funded:  # anvil answers before it mines: a party's first send must see its funds
        w3.eth.wait_for_transaction_receipt(tx, timeout=60)

    def market_for(p: Party) -> Market:
        return Market(w3, addresses, Sender.from_key(w3, p.key))

    for p in parties.values():
        market_for(p).ensure_key_published(public_key_of(p.key))

    # the three oracle daemons
    env_base = {**os.environ, "FATHOM_RPC_URL": chain.url, "FATHOM_NETWORK": network,
                "FATHOM_DEPLOYMENTS": str(deployments), "FATHOM_CONFIRMATIONS": "0"}
    if ipfs_api:
        env_base["FATHOM_IPFS_API"] = ipfs_api
    else:
        env_base["FATHOM_STORE_DIR"] = str(workdir / "store")
    daemons: list[subprocess.Popen[bytes]] = []
    logs = []
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
            return all(reg.functions.isEligible(parties[f"oracle{i}"].address).call() for i in range(3))

        _wait("the oracles to stake", all_staked, 120)
        log("3 oracle daemons staked 2 ETH each and are following the chain")

        # the requester opens the bounty
        data = _shards(*shuffled_digits(), rng)
        manifest = models.make_manifest("softmax", 64, 10, metric="accuracy")
        seed_params = training.train(manifest, models.init_model(manifest, seed=1), *data["public"], lr=0.5,
                                     epochs=3, batch_size=32, seed=1)
        requester = market_for(parties["requester"])
        seats = [ETH] * 3  # rule C4: the committee is drawn from the registry, not named
        terms = default_terms(requester.now(), seats, batchSize=2, maxBatches=8, target=9_900,
                              slashMargin=500, tolerance=2, scoringTimeout=900)
        if curve is not None:
            terms.update(curveX=curve[0], curveY=curve[1])
        vX, vy = data["validation"]
        validation = ({"task": "classification", "n_classes": 10}, {"X": vX, "y": vy})
        secrets = open_bounty(
            requester, store, parties["requester"].key, workdir / "requester", (manifest, seed_params), validation,
            terms, admitted=[parties[f"c{i}"].address for i in range(6)],
        )
        bid = secrets.bounty_id
        log(f"bounty {bid} opened: reward 1 ETH, stake 0.01 ETH, batches of 2, committee of 3 to be drawn, target 0.99, "
            "slash margin 0.05")
        committee = draw_and_seat(requester, store, parties["requester"].key, secrets, wait=300)
        names = {parties[f"oracle{i}"].address: f"oracle{i}" for i in range(3)}
        log(f"committee drawn from the registry (stake-weighted, from the PREVRANDAO of a drawing half's seed block after the opening) and "
            f"seated: {', '.join(names.get(m, m) for m in committee)}")
        _wait("the baseline", lambda: requester.state(bid) == "Open", 300)
        baseline = requester.bounty(bid)["baselineScore"]
        log(f"baseline of version 0 (median of 3 reports): {baseline / 1e4:.4f}")

        # two rounds of contributions; c5 sends a harmful update (its delta reversed and blown up)
        plans = {"c0": dict(lr=0.5, epochs=8), "c1": dict(lr=0.5, epochs=8), "c2": dict(lr=0.5, epochs=6),
                 "c3": dict(lr=0.3, epochs=6), "c4": dict(lr=0.3, epochs=4), "c5": dict(lr=0.5, epochs=5, scale=-25.0)}
        # each batch (2 submissions) is trained on the head of its time and scored
        # before the next pair trains, so every update is judged on the model it improved
        submissions: list[tuple[str, int]] = []
        names = list(plans)
        for rnd in range(2):
            for pair in (names[0:2], names[2:4], names[4:6]):
                for name in pair:
                    p = parties[name]
                    # force: the demo lets the committee judge every update, even one that makes its
                    # author's own (label-flipped) data score worse, which `contribute` refuses by default
                    c = contribute(market_for(p), store, p.key, bid, *data[name], batch_size=32, seed=rnd,
                                   stake_from="once" if (name, rnd) in one_off else "wallet", force=True, **plans[name])
                    submissions.append((name, c.submission_id))
                    log(f"round {rnd + 1}: {name} submitted #{c.submission_id} on version {c.base_version} "
                        f"(accuracy on its own data {c.local_score_before:.3f} -> {c.local_score_after:.3f}"
                        f"{', worse: sent anyway' if c.worse else ''})")
                n = len(submissions)
                _wait(f"batch {n // 2 - 1} to be scored", lambda: requester.bounty(bid)["nextBatch"] * 2 >= n, 600)
                head = requester.bounty(bid)
                log(f"  batch {n // 2 - 1} settled: head is version {head['versionCount']} at {head['headScore'] / 1e4:.4f}")

        requester.cancel(bid)
        _settle_and_close(requester, bid, "the bounty")
        reveal(requester, secrets)
        log("requester cancelled, closed and revealed (validation set, salt, model key)")
    finally:
        _stop(daemons, logs)
    return {"w3": w3, "addresses": addresses, "record": record, "parties": parties, "market_for": market_for,
            "bounty": bid, "secrets": secrets, "baseline": baseline, "submissions": submissions, "store": store,
            "committee": committee, "requester": requester, "manifest": manifest, "seed_params": seed_params,
            "validation": validation}


# ---------------------------------------------------------------- the encrypted-weights bounty (F13)


def breast_cancer(seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's breast_cancer (569 rows, d = 30, shipped with it), each feature
    standardised, rows shuffled by `seed`."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    X = (data.data - data.data.mean(axis=0)) / data.data.std(axis=0)
    order = np.random.default_rng(seed).permutation(len(data.target))
    return X[order].astype(np.float32), data.target[order].astype(np.int64)


def play_encrypted_round(r: dict[str, Any], workdir: Path, store: Store, log: Any = print) -> dict[str, Any]:
    """A second, smaller bounty in the encrypted-weights mode, on the chain and committee of
    `play_round`'s result `r`: the oracle daemons are started again (their state carries
    over), the requester opens a logistic bounty on breast_cancer whose weights contributors
    get only as Paillier ciphertexts, two batches of two are decided (c0 and c1 honest, c5
    with its labels flipped, c2 late on the new head), then cancel, close, reveal."""
    from fathom.roles.contributor import contribute_encrypted

    started = time.monotonic()
    parties, market_for, committee = r["parties"], r["market_for"], r["committee"]
    X, y = breast_cancer()
    shards = {"validation": (X[:200], y[:200]), "c0": (X[200:360], y[200:360]), "c5": (X[360:460], 1 - y[360:460]),
              "c1": (X[460:520], y[460:520]), "c2": (X[520:], y[520:])}
    manifest = models.make_manifest("logistic", X.shape[1], 2, metric="accuracy")
    initial = {k: np.zeros_like(v) for k, v in models.init_model(manifest, seed=0).items()}
    requester = market_for(parties["requester"])
    terms = default_terms(requester.now(), committee, batchSize=2, maxBatches=4, target=9_800, slashMargin=500,
                          tolerance=2, scoringTimeout=900, reward=WAD // 2)
    vX, vy = shards["validation"]
    daemons, logs = _oracle_daemons(r, workdir)
    try:
        secrets = open_bounty(requester, store, parties["requester"].key, workdir / "requester", (manifest, initial),
                              ({"task": "classification", "n_classes": 2}, {"X": vX, "y": vy}), terms,
                              encrypted_weights=True)
        bid = secrets.bounty_id
        log(f"\nbounty {bid} opened in the encrypted-weights mode: logistic on breast_cancer (d = 30), reward 0.5 ETH; "
            "contributors get the 31 weights only as 2048-bit Paillier ciphertexts, the secret key is sealed for the "
            "committee")
        _wait("the encrypted bounty's baseline", lambda: requester.state(bid) == "Open", 300)
        log(f"baseline of version 0 (the committee decrypted it): {requester.bounty(bid)['baselineScore'] / 1e4:.4f}")
        submissions: list[tuple[str, int]] = []
        for pair in (("c0", "c5"), ("c1", "c2")):
            for name in pair:
                p = parties[name]
                c = contribute_encrypted(market_for(p), store, p.key, bid, *shards[name], lr=0.3, steps=5)
                submissions.append((name, c.submission_id))
                log(f"  {name} submitted #{c.submission_id} on version {c.base_version}: 5 steps at lr 0.3 computed on "
                    f"the ciphertexts{' (its labels flipped)' if name == 'c5' else ''}; no local score (it never holds "
                    "the weights)")
            n = len(submissions)
            _wait(f"encrypted batch {n // 2 - 1}", lambda: requester.bounty(bid)["nextBatch"] * 2 >= n, 600)
            for name, sid in submissions[-2:]:
                o = outcome(requester, bid, sid) or {}
                log(f"  what {name} sees, the committee's published decision: #{sid} {o.get('outcome', '?')}, score "
                    f"{o.get('score', 0) / 1e4:.4f}" + (f", reward {o['reward'] / 1e18:.6f} ETH" if o.get("reward") else ""))
        requester.cancel(bid)
        _settle_and_close(requester, bid, "the encrypted bounty")
        reveal(requester, secrets)
        log("requester cancelled, closed and revealed: the model key now opens the Paillier secret key, so the model "
            f"is public from here on (it was protected until the reveal); this bounty took {time.monotonic() - started:.1f} s")
    finally:
        _stop(daemons, logs)
    return {"bounty": bid, "submissions": submissions, "secrets": secrets}


def _oracle_daemons(r: dict[str, Any], workdir: Path) -> tuple[list[subprocess.Popen[bytes]], list[Any]]:
    """The three `fathom oracle run` daemons again, on their data folders (already staked)."""
    env_base = {**os.environ, "FATHOM_RPC_URL": r["url"], "FATHOM_NETWORK": r["record"]["network"],
                "FATHOM_DEPLOYMENTS": str(workdir / "deployments"), "FATHOM_CONFIRMATIONS": "0"}
    if r.get("ipfs_api"):
        env_base["FATHOM_IPFS_API"] = r["ipfs_api"]
    else:
        env_base["FATHOM_STORE_DIR"] = str(workdir / "store")
    daemons, logs = [], []
    for i in range(3):
        p = r["parties"][f"oracle{i}"]
        fh = open(workdir / f"{p.name}-encrypted.log", "wb")
        logs.append(fh)
        env = {**env_base, "FATHOM_PRIVATE_KEY": "0x" + p.key.hex(), "FATHOM_DATA_DIR": str(workdir / p.name)}
        daemons.append(subprocess.Popen([sys.executable, "-m", "fathom", "oracle", "run", "--poll", "0.5"], env=env,
                                        stdout=fh, stderr=subprocess.STDOUT))
    return daemons, logs


def _stop(daemons: list[subprocess.Popen[bytes]], logs: list[Any]) -> None:
    for d in daemons:
        d.terminate()
    for d in daemons:
        try:
            d.wait(10)
        except subprocess.TimeoutExpired:
            d.kill()
    for fh in logs:
        fh.close()


def _encrypted_summary(r: dict[str, Any], viewer: Market, store: Store, log: Any) -> dict[str, Any]:
    """The encrypted bounty's outcomes, and its audit after the reveal (with oracle0's disclosed keys)."""
    from fathom.roles.reader import BountyReader
    from fathom.storage.store import cid_from_chain

    bid = r["bounty"]
    submitted = {cid_from_chain(*e["update"]): e["contributor"]
                 for e in viewer.events(bounty_id=bid) if e.name == "SubmissionReceived"}
    disclosed = BountyReader(viewer, store, bid, r["parties"]["oracle0"].key).disclose(submitted)
    report = audit(viewer, store, bid, update_keys=disclosed)
    outcomes = {sid: outcome(viewer, bid, sid) for _, sid in r["submissions"]}
    log(f"\nencrypted-weights bounty {bid}: the same contracts, committee, scoring and payouts")
    for name, sid in r["submissions"]:
        o = outcomes.get(sid) or {}
        log(f"  #{sid} {name:<3} {o.get('outcome', '?'):<9} reward {o.get('reward', 0) / 1e18:.6f} ETH")
    log(f"  audit after the reveal (the model key opens the Paillier key): {len(report['versions'])} versions and "
        f"{report['reports']} reports re-scored, {len(report['differences'])} differences")
    return {"bounty": bid, "outcomes": outcomes, "audit": report, "payouts": payouts(viewer, bid)}


def run(workdir: Path, ipfs_api: str | None = None, chain_kind: str = "ganache", log: Any = print,
        report_dir: Path | None = None) -> dict[str, Any]:
    started = time.monotonic()
    store: Store = IpfsStore(ipfs_api, timeout=30) if ipfs_api else EmbeddedStore(workdir / "store")
    with LocalChain(chain_kind, accounts=2) as chain:
        r = play_round(chain, workdir, store, log, ipfs_api=ipfs_api)
        enc = play_encrypted_round(r | {"store": store, "url": chain.url, "ipfs_api": ipfs_api}, workdir, store, log)
        w3, addresses, parties, market_for = r["w3"], r["addresses"], r["parties"], r["market_for"]
        bid, baseline, submissions = r["bounty"], r["baseline"], r["submissions"]
        # claims and the books
        viewer = Market(w3, addresses)
        before = w3.eth.get_balance(addresses["BountyMarket"])
        claimed: dict[str, int] = {}
        for name, p in parties.items():
            m = market_for(p)
            claimed[name] = m.claim(ETH)
        book = payouts(viewer, bid)
        versions = lineage(viewer, bid)
        # updates are sealed for the committee only (F2): a member discloses their keys after
        # settlement, each checked against its envelope, and then anyone re-scores them
        from fathom.roles.reader import BountyReader
        from fathom.storage.store import cid_from_chain

        submitted = {cid_from_chain(*e["update"]): e["contributor"]
                     for e in viewer.events(bounty_id=bid) if e.name == "SubmissionReceived"}
        disclosed = BountyReader(viewer, store, bid, parties["oracle0"].key).disclose(submitted)
        report = audit(viewer, store, bid, update_keys=disclosed)
        after = w3.eth.get_balance(addresses["BountyMarket"])
        pending = viewer.market.functions.pendingBurn(ETH).call()
        result = {
            "bounty": bid, "baseline": baseline, "versions": versions, "payouts": book, "claimed": claimed,
            "market_balance_before_claims": before, "market_balance_after_claims": after, "pending_burn": pending,
            "audit": report, "seconds": round(time.monotonic() - started, 1),
            "names": {p.address: n for n, p in parties.items()}, "submissions": submissions,
            "outcomes": {sid: outcome(viewer, bid, sid) for _, sid in submissions},
            "trusted_committee": viewer.bounty(bid)["trustedCommittee"], "committee": viewer.committee(bid)[0],
        }
        from fathom.cli.report import report

        png, page = report(viewer, bid, report_dir or workdir, {p.address: n for n, p in parties.items()})
        result["report"] = [str(png), str(page)]
        _print_table(result, log)
        result["encrypted"] = _encrypted_summary(enc | {"parties": parties}, viewer, store, log)
        log(f"report: {png} and {page}")
        return result


def _print_table(r: dict[str, Any], log: Any) -> None:
    names = r["names"]
    log("\nversions")
    log(f"  {'v':>2}  {'parent':>6}  {'score':>7}  {'author':<10} {'submission':>10}  {'reward (ETH)':>12}")
    for v in r["versions"]:
        score = f"{v['score'] / 1e4:.4f}" if v["score"] is not None else "-"
        log(f"  {v['version']:>2}  {str(v['parent'] if v['parent'] is not None else '-'):>6}  {score:>7}  "
            f"{names.get(v['author'], 'requester' if v['version'] == 0 else v['author'][:10]):<10} "
            f"{str(v['submission'] if v['submission'] is not None else '-'):>10}  {v['reward'] / 1e18:>12.6f}")
    log("\ncontributors")
    log(f"  {'who':<4} {'sent':>4} {'acc':>4} {'rej':>4} {'slash':>5}  {'reward (ETH)':>12}  {'burned (ETH)':>12}  {'claimed (ETH)':>13}")
    for addr, row in sorted(r["payouts"].items(), key=lambda kv: names.get(kv[0], kv[0])):
        n = names.get(addr, addr[:10])
        log(f"  {n:<4} {row['submitted']:>4} {row['accepted']:>4} {row['rejected']:>4} {row['slashed']:>5}  "
            f"{row['reward'] / 1e18:>12.6f}  {row['burned'] / 1e18:>12.6f}  {r['claimed'].get(n, 0) / 1e18:>13.6f}")
    for name in ("oracle0", "oracle1", "oracle2", "requester"):
        log(f"  {name:<9} claimed {r['claimed'].get(name, 0) / 1e18:.6f} ETH"
            + (" (oracle fees)" if name.startswith("oracle") else " (refund of what was not earned, and the reveal bond)"))
    log("\nsubmissions (the acceptance rule, F12: paired difference with the head, 99% lower bound; R5: each "
        "significant update merged into its batch's version and paid its share of the version's reward)")
    log(f"  {'#':>2} {'who':<4} {'outcome':<9} {'difference':>10} {'lower bnd':>10} {'share':>6} {'reward (ETH)':>12}  why")
    compared = r["audit"].get("submissions", {})
    for name, sid in r["submissions"]:
        got = r["outcomes"].get(sid) or {}
        o = got.get("outcome", "?")
        share = f"{got['share'] / 100:.1f}%" if o == "accepted" else "-"
        reward = f"{got['reward'] / 1e18:.6f}" if o == "accepted" else "-"
        c = compared.get(sid)
        if c is None:
            why, diff, lcb = "invalid: could not be opened or does not fit", "-", "-"
        else:
            diff, lcb = f"{c['mean']:+.4f}", f"{c['lcb']:+.4f}"
            why = {"accepted": f"significantly better than the head: merged into v{got.get('version')}, paid its share",
                   "slashed": "significantly worse than the head, beyond the slash margin"}.get(o) or (
                "did not beat the head" if c["mean"] <= 0 else
                "significant, but adds nothing the version does not have (no share)" if c["lcb"] > 0 else
                "better, but not significantly (within the noise)")
        log(f"  {sid:>2} {name:<4} {o:<9} {diff:>10} {lcb:>10} {share:>6} {reward:>12}  {why}")
    final = r["versions"][-1]["score"]
    log(f"\nfinal score {final / 1e4:.4f} against the baseline {r['baseline'] / 1e4:.4f}")
    total_claimed = sum(r["claimed"].values())
    log(f"books: the market held {r['market_balance_before_claims'] / 1e18:.6f} ETH before claims; "
        f"{total_claimed / 1e18:.6f} ETH claimed; {r['market_balance_after_claims'] / 1e18:.6f} ETH left = "
        f"{r['pending_burn'] / 1e18:.6f} ETH slashed stake awaiting burn")
    a = r["audit"]
    log(f"audit after the reveal: {len(a['versions'])} versions and {a['reports']} reports re-scored, "
        f"{len(a['differences'])} differences")
    log(f"demo took {r['seconds']} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fathom demo", description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="where to keep the run's files (default: a fresh temp folder)")
    parser.add_argument("--chain", choices=("ganache", "anvil"), default="ganache")
    parser.add_argument("--report-dir", type=Path, default=Path("reports"), help="where the round's report goes (default reports/)")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="fathom-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"demo files in {workdir}")
    result = run(workdir, settings.ipfs_api, args.chain, report_dir=args.report_dir)
    ok = (result["market_balance_after_claims"] == result["pending_burn"] and not result["audit"]["differences"]
          and not result["encrypted"]["audit"]["differences"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Rule F6 under faults: the oracle daemon killed, cut off, re-orged and robbed of a transaction.

The daemon under test is oracle 0 of a committee of three, run as `fathom oracle run` in
its own process at the default confirmation depth (Settings().confirmations), on anvil.
Oracles 1 and 2 are in-process `OracleNode`s the test ticks. Each scenario opens one
bounty (batches of 2), injects its fault while batch 0 is being decided, lets batch 1
run normally, then cancels, closes, reveals and has everyone claim. Every scenario ends
with `check_books`:

- exactly one report per (oracle, batch) on the canonical chain, the three equal (the
  daemon scored as the fault-free nodes did, and nothing INVALID), and the daemon never
  sent a report transaction that reverted;
- no batch missed: each settled once, none voided, no oracle slashed;
- 0 wei lost: every outcome is what `protocol.decide_batch` (the model of settleBatch)
  gives for the posted reports, each party claims exactly what it is owed and its
  balance moves by that, and the market keeps only the burned stake.

The faults: a SIGKILL at each of the points FATHOM_FAULT_PAUSE can pause the daemon at
(fathom/roles/oracle/), then a restart; a 30 s RPC outage and a store outage (a TCP relay in
front of anvil or of the js-ipfs API, cutting every connection while down; the store goes
down in the middle of the daemon's request for an update); re-orgs with `anvil_reorg` of
depth 1 to confirmations + 5 (R11: the others commit first, the daemon commits and
reveals); a report transaction dropped from the mempool
(`anvil_dropTransaction`, automine off). The session prints "N of N fault scenarios
survived" (tests/python/conftest.py), also under -q.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest
from eth_utils import function_abi_to_4byte_selector
from web3 import Web3

from fathom.protocol import settlement as protocol
from fathom.chain.client import ETH, ChainError, Sender, abi
from fathom.config import PROJECT_ROOT, Settings
from fathom.chain.deployments import write_deployment
from fathom.chain.market import INVALID, report_scores
from fathom.roles.oracle import OracleNode
from fathom.roles.requester import reveal
from fathom.storage.store import IpfsStore

from roles_helpers import (  # world, fresh_chain: the module's chain fixtures
    fresh_chain,  # noqa: F401
    world,  # noqa: F401
    Round,
    World,
    mine,
    named,
    open_round,
    rpc,
)

CONFIRMATIONS = Settings().confirmations  # the daemon runs with the default
BATCHES = 2
NETWORK = "faults"
REPORT_SELECTORS = {
    "0x" + function_abi_to_4byte_selector(entry).hex()
    for entry in abi("BountyMarket")
    if entry.get("type") == "function" and entry["name"] in ("report", "reportAndSettle")
}
#: R11: a member commits to its report before it reveals it (report / reportAndSettle).
COMMIT_SELECTORS = {
    "0x" + function_abi_to_4byte_selector(entry).hex()
    for entry in abi("BountyMarket")
    if entry.get("type") == "function" and entry["name"] == "commitReport"
}


# ---------------------------------------------------------------- a TCP relay that can go down


class Relay:
    """127.0.0.1:port -> 127.0.0.1:target. `down()` cuts every open connection and every
    new one until `up()`: to a client, the service is gone. `trip_on(pattern)` goes down
    the moment a request holding `pattern` passes, cutting that request off unanswered
    (the service died while serving it)."""

    def __init__(self, target_port: int):
        self.target = target_port
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        self.is_up = True
        self.trip: bytes | None = None
        self.tripped = threading.Event()
        self.lock = threading.Lock()
        self.open: set[socket.socket] = set()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @staticmethod
    def _reset(sock: socket.socket) -> None:
        # shutdown first: close() alone neither wakes a thread blocked in recv() on the
        # socket nor tells the peer anything until that recv returns
        for call in (lambda: sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)),
                     lambda: sock.shutdown(socket.SHUT_RDWR)):
            try:
                call()
            except OSError:
                pass
        sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return  # closed
            if not self.is_up:
                self._reset(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
                upstream.settimeout(None)
            except OSError:
                self._reset(client)
                continue
            with self.lock:
                # down() may have run since the check above: its cut missed this pair
                stale = not self.is_up
                if not stale:
                    self.open |= {client, upstream}
            if stale:
                self._reset(client)
                self._reset(upstream)
                continue
            for src, dst, requests in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(target=self._pump, args=(src, dst, requests), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, requests: bool) -> None:
        tail = b""  # the end of the previous chunk: a pattern may straddle two
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                trip = self.trip
                if requests and trip is not None:
                    if trip in tail + data:
                        self.trip = None
                        self.tripped.set()
                        self.down()
                        break
                    tail = (tail + data)[-len(trip):]
                dst.sendall(data)
        except OSError:
            pass
        with self.lock:
            pair = [s for s in (src, dst) if s in self.open]
            self.open -= set(pair)
        for s in pair:
            self._reset(s)

    def down(self) -> None:
        self.is_up = False
        with self.lock:
            cut, self.open = list(self.open), set()
        for s in cut:
            self._reset(s)

    def trip_on(self, pattern: bytes) -> None:
        self.trip = pattern

    def up(self) -> None:
        self.is_up = True

    def close(self) -> None:
        self.down()
        self.server.close()


# ---------------------------------------------------------------- the daemon under test


class Daemon:
    """`python -m fathom oracle run` for oracle 0, in its own process (and session)."""

    def __init__(self, rnd: Round, workdir: Path, rpc_url: str | None = None, ipfs_api: str | None = None):
        self.oracle = rnd.oracles[0]
        self.address = self.oracle.address
        self.w3 = rnd.world.w3
        self.workdir = workdir
        self.data_dir = workdir / "daemon0"
        self.marker = workdir / "fault.marker"
        self.proc: subprocess.Popen[bytes] | None = None
        self.logs: list[Path] = []
        deployments = workdir / "deployments"
        w3 = rnd.world.w3
        write_deployment(deployments, NETWORK, {"network": NETWORK, "chain_id": w3.eth.chain_id,
                                                "block": rnd.world.deploy_block, "contracts": rnd.world.addresses})
        env = {k: v for k, v in os.environ.items() if not k.startswith("FATHOM_")}
        env.update({"FATHOM_RPC_URL": rpc_url or rnd.world.chain.url, "FATHOM_NETWORK": NETWORK,
                    "FATHOM_DEPLOYMENTS": str(deployments), "FATHOM_PRIVATE_KEY": "0x" + self.oracle.key.hex(),
                    "FATHOM_DATA_DIR": str(self.data_dir), "PYTHONUNBUFFERED": "1"})
        if ipfs_api:
            env.update({"FATHOM_IPFS_API": ipfs_api, "FATHOM_IPFS_TIMEOUT": "5"})
        else:
            env["FATHOM_STORE_DIR"] = str(rnd.store.root)
        self.env = env

    def start(self, fault: str | None = None) -> None:
        env = dict(self.env)
        if fault:
            env.update({"FATHOM_FAULT_PAUSE": fault, "FATHOM_FAULT_MARKER": str(self.marker)})
        log = self.workdir / f"daemon0.run{len(self.logs)}.log"
        self.logs.append(log)
        with open(log, "wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "fathom", "oracle", "run", "--poll", "0.25"],
                                         cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return "".join(p.read_text(errors="replace") for p in self.logs if p.exists())

    def check(self) -> None:
        """Fail loudly if the daemon died."""
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"the oracle daemon exited with {self.proc.returncode}:\n{self.output()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no clean-up, no flush, no atexit."""
        assert self.proc is not None
        self.check()
        os.kill(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(timeout=10) == -signal.SIGKILL
        self.proc = None

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def db(self, sql: str, *args: Any) -> list[tuple]:
        """Read the daemon's SQLite state (from outside, as an operator would)."""
        con = sqlite3.connect(self.data_dir / f"oracle-{self.address.lower()}.sqlite", timeout=10)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    @property
    def checkpoint(self) -> int:
        rows = self.db("SELECT value FROM meta WHERE key = 'checkpoint'")
        return int(rows[0][0]) if rows else -1

    def stored_report(self, bid: int, batch: int) -> tuple | None:
        rows = self.db("SELECT scores, sent, tx FROM reports WHERE bounty = ? AND batch = ?", bid, batch)
        return rows[0] if rows else None


# ---------------------------------------------------------------- driving a scenario


def wait_until(what: str, condition: Callable[[], bool], daemon: Daemon, nodes: list[OracleNode] = (),
               mining: bool = True, timeout: float = 120.0) -> None:
    """Poll `condition`, ticking the in-process `nodes` and mining a block per pass (the
    daemon waits for confirmations), until it holds; the daemon must stay alive."""
    deadline = time.monotonic() + timeout
    while not condition():
        daemon.check()
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; "
                                 f"daemon log:\n{daemon.output()[-3000:]}")
        for node in nodes:
            try:
                node.tick()
            except ChainError:
                pass  # a race with the daemon (it settled first): the next pass sees it
        if mining:
            mine(daemon.w3)
        time.sleep(0.2)


def reports_by(events: list, oracle: str, batch: int) -> list:
    return [e for e in events if e.name == "ReportPosted" and e["oracle"] == oracle and e["batch"] == batch]


def pending_from(w3: Any, address: str) -> list[dict]:
    """The node's pending transactions from `address` (txpool_content)."""
    pool = rpc(w3, "txpool_content")["pending"]
    for who, by_nonce in pool.items():
        if who.lower() == address.lower():
            return list(by_nonce.values())
    return []


def hx(tx_hash: str) -> str:
    return "0x" + tx_hash.removeprefix("0x")


def raw_tx(w3: Any, tx_hash: str) -> str:
    return rpc(w3, "eth_getRawTransactionByHash", hx(tx_hash))


def set_automine(w3: Any, on: bool) -> None:
    rpc(w3, "evm_setAutomine", on)


class Scenario:
    """One bounty with the daemon as oracle 0; the in-process oracles 1 and 2 are `held`
    (not ticked) until the test lets them go."""

    def __init__(self, world: World, tmp_path: Path, store: Any = None, rpc_url: str | None = None,
                 ipfs_api: str | None = None):
        self.world = world
        self.w3 = world.w3
        self.rnd = open_round(world, tmp_path, ["c0", "c1"], store=store, batchSize=2, scoringTimeout=3_600)
        self.bid = self.rnd.bounty_id
        self.daemon = Daemon(self.rnd, tmp_path, rpc_url, ipfs_api)
        self.others = self.rnd.nodes[1:]  # oracle 0's in-process node only set the baseline
        self.me = self.daemon.address
        self.start_block = self.w3.eth.block_number

    def events(self) -> list:
        return self.rnd.events()

    def fill_batch0(self) -> int:
        """c0 and c1 submit (one block each); returns the block that filled the batch."""
        self.rnd.contribute("c0", 0)
        self.rnd.contribute("c1", 1)
        return self.w3.eth.block_number

    def confirm(self, blocks: int = CONFIRMATIONS) -> None:
        mine(self.w3, blocks)

    def wait(self, what: str, condition: Callable[[], bool], with_others: bool = True, **kwargs: Any) -> None:
        wait_until(what, condition, self.daemon, self.others if with_others else [], **kwargs)

    def daemon_reported(self, batch: int) -> bool:
        return bool(reports_by(self.events(), self.me, batch))

    def daemon_committed(self, batch: int) -> bool:
        """R11: the daemon's commitment to its report of `batch` is mined."""
        return any(e.name == "ReportCommitted" and e["oracle"] == self.me and e["batch"] == batch for e in self.events())

    def settle_batch0(self) -> None:
        self.wait("batch 0 to settle", lambda: self.rnd.view()["nextBatch"] == 1)

    def finish(self) -> None:
        """Batch 1 without faults (the daemon reports last: reportAndSettle), then the end."""
        self.rnd.contribute("c0", 2, seed=1)
        self.rnd.contribute("c1", 3, seed=1)
        self.wait("batch 1 to settle", lambda: self.rnd.view()["nextBatch"] == BATCHES)
        self.world.market_for(self.rnd.requester).cancel(self.bid)
        self.wait("the bounty to close", lambda: self.rnd.viewer.state(self.bid) == "Closed")
        self.daemon.check()
        self.daemon.stop()
        check_books(self)


def check_books(sc: Scenario) -> None:
    """One report per (oracle, batch), every batch settled by the rule, 0 wei lost."""
    rnd, world, w3 = sc.rnd, sc.world, sc.w3
    viewer, bid = rnd.viewer, sc.bid
    events = sc.events()
    members, _, _ = viewer.committee(bid)
    params = viewer.opened_params(bid)
    view = rnd.view()
    assert view["nextBatch"] == BATCHES, "a batch was missed"
    assert not named(events, "BatchVoided") and not named(events, "OracleSlashed")
    baseline = view["baselineScore"]
    terms = protocol.BountyTerms(
        higher_is_better=params["higherIsBetter"], target=params["target"], baseline_score=baseline,
        head_score=baseline, reward=params["reward"], paid=0, curve=protocol.Curve(params["curveX"], params["curveY"]),
        slash_margin=params["slashMargin"], tolerance=params["tolerance"], slash_bps=params["slashBps"],
        oracle_fee_per_batch=params["oracleFeePerBatch"], version_count=0)
    decided: list[protocol.SubmissionDecision] = []
    fees = 0
    for k in range(BATCHES):
        times = len(named(events, "BatchSettled", batch=k))
        assert times == 1, f"batch {k} settled {times} times"
        posted = []
        for m in members:
            mine_ = reports_by(events, m, k)
            assert len(mine_) == 1, f"{m} has {len(mine_)} reports on batch {k}"
            posted.append(mine_[0])
        scores = [report_scores(p["scores"]) for p in posted]
        assert all(s == scores[0] for s in scores), f"the oracles disagree on batch {k}: {scores}"
        assert len({tuple(p["merged"]) for p in posted}) == 1, f"the oracles pinned different merged models on batch {k}"
        assert INVALID not in scores[0], f"an honest update was scored INVALID on batch {k}"
        subs = sorted(named(events, "SubmissionReceived", batch=k), key=lambda e: e["submissionId"])
        assert len(subs) == 2
        full = [protocol.decode_report(bytes(p["scores"])) for p in posted]
        d = protocol.decide_batch(terms, [protocol.Submission(s["contributor"], s["stake"]) for s in subs], scores,
                                  first_id=subs[0]["submissionId"], merged=[tuple(p["merged"]) for p in posted],
                                  merged_scores=[f[1] for f in full], shares=[f[2] for f in full],
                                  base_versions=[s["baseVersion"] for s in subs])
        if d.new_version is not None:
            (v,) = named(events, "VersionAccepted", version=d.new_version)
            assert (v["author"], v["score"], v["reward"], tuple(v["merged"])) == (
                d.accepted.contributor, d.head_score_after, d.reward, d.merged)
        for sd in d.decisions:
            sid = sd.submission_id
            if sd.outcome is protocol.Outcome.ACCEPTED:
                (ev,) = named(events, "UpdateMerged", submissionId=sid)
                assert (ev["contributor"], ev["score"], ev["share"], ev["reward"]) == (
                    sd.contributor, sd.score, sd.share, sd.reward)
            elif sd.outcome is protocol.Outcome.REJECTED:
                (ev,) = named(events, "SubmissionRejected", submissionId=sid)
                assert (ev["contributor"], ev["score"]) == (sd.contributor, sd.score)
            else:
                (ev,) = named(events, "StakeSlashed", submissionId=sid)
                assert (ev["contributor"], ev["burned"], ev["returned"]) == (sd.contributor, sd.burned, sd.returned)
        (settled,) = named(events, "BatchSettled", batch=k)
        assert settled["feeShare"] == d.fee_share
        decided += d.decisions
        fees += d.fee_share
        terms = terms.after(d)
    assert (view["versionCount"], view["paid"], view["headScore"]) == (terms.version_count, terms.paid, terms.head_score)

    # the daemon's report transactions on the canonical chain: one per batch, none reverted
    sent = []
    for n in range(sc.start_block, w3.eth.block_number + 1):
        for tx in w3.eth.get_block(n, full_transactions=True)["transactions"]:
            if tx["from"] == sc.me and Web3.to_hex(tx["input"])[:10] in REPORT_SELECTORS:
                sent.append(w3.eth.get_transaction_receipt(tx["hash"])["status"])
    assert sent == [1] * BATCHES, f"the daemon's report transactions on chain: statuses {sent}"

    # the end: reveal, everyone claims exactly what it is owed, the market keeps the burn
    requester = world.market_for(rnd.requester)
    reveal(requester, rnd.secrets)
    events = sc.events()
    owed = {p.address: 0 for p in [rnd.requester, *rnd.oracles, *rnd.contributors.values()]}
    for sd in decided:
        owed[sd.contributor] += sd.payout
    for o in rnd.oracles:
        owed[o.address] += fees
    (closed,) = named(events, "BountyClosed")
    assert closed["rewardRefund"] == params["reward"] - terms.paid
    assert closed["feeRefund"] == params["oracleFeePerBatch"] * params["maxBatches"] - 3 * fees
    owed[rnd.requester.address] += closed["rewardRefund"] + closed["feeRefund"] + params["revealBond"]
    for p in [rnd.requester, *rnd.oracles, *rnd.contributors.values()]:
        before = world.balance(p.address)
        claimed = world.market_for(p).claim(ETH)
        block = w3.eth.get_block("latest", full_transactions=True)
        (tx,) = block["transactions"]
        receipt = w3.eth.get_transaction_receipt(tx["hash"])
        assert claimed == owed[p.address] > 0, p.name
        assert world.balance(p.address) - before + receipt["gasUsed"] * receipt["effectiveGasPrice"] == claimed, p.name
    pending = viewer.market.functions.pendingBurn(ETH).call()
    assert pending == sum(sd.burned for sd in decided)
    assert world.balance(world.addresses["BountyMarket"]) == pending, "the market holds wei nobody is owed"


@pytest.fixture
def scenario_cleanup(world: World):
    """Stop daemons and relays, and turn automine back on, whatever the test did."""
    made: list[Any] = []
    yield made.append
    for thing in made:
        if isinstance(thing, Daemon):
            thing.stop()
        elif isinstance(thing, Relay):
            thing.close()
    set_automine(world.w3, True)


def new_scenario(world: World, tmp_path: Path, cleanup: Callable, **kwargs: Any) -> Scenario:
    sc = Scenario(world, tmp_path, **kwargs)
    cleanup(sc.daemon)
    return sc


# ---------------------------------------------------------------- SIGKILL at each point, then a restart


@pytest.mark.parametrize("point", ["fetched", "scored", "sent", "sent-pending", "mined"])
def test_F6_sigkill_at_a_fault_point_then_restart(world: World, tmp_path, scenario_cleanup, point):
    """(a) artefacts fetched, (b) scored, (c) report sent, receipt unread (mined at once by
    automine; or, sent-pending, still in the mempool), (d) receipt read, not recorded.
    The restarted daemon reports batch 0 exactly once, with the scores it stored."""
    sc = new_scenario(world, tmp_path, scenario_cleanup)
    w3, bid, daemon = sc.w3, sc.bid, sc.daemon
    fault = "sent" if point == "sent-pending" else point
    sc.fill_batch0()
    sc.confirm()
    for node in sc.others:  # R11: the others commit first; they reveal once the daemon has committed
        node.tick()
    assert not reports_by(sc.events(), sc.others[0].address, 0)
    sc.confirm()  # the daemon reveals once the others' commitments are confirmed (R11)
    if point == "sent-pending":
        set_automine(w3, False)  # then no more blocks until the daemon pauses; the others are held
    daemon.start(fault=fault)
    sc.wait(f"the daemon to pause at {fault!r}", daemon.marker.exists, with_others=False, mining=False, timeout=90)

    stored = daemon.stored_report(bid, 0)
    on_chain = reports_by(sc.events(), sc.me, 0)
    if point == "fetched":
        assert stored is None and not on_chain
    elif point == "scored":
        assert stored is not None and stored[1:] == (0, None) and not on_chain
    elif point == "sent-pending":  # its first transaction, the commitment (R11), is in the mempool
        (tx,) = pending_from(w3, sc.me)
        assert stored[1:] == (0, tx["hash"]) and not on_chain
    elif point == "sent":  # the commitment was sent (and automine mined it); no report yet
        committed = [e for e in sc.events() if e.name == "ReportCommitted" and e["oracle"] == sc.me and e["batch"] == 0]
        assert stored is not None and stored[1] == 0 and len(committed) == 1 and not on_chain
        assert stored[2] == hx(committed[0].tx)
    else:  # mined: the commitment opened the reveal phase, and automine mined the report
        assert stored is not None and stored[1] == 0 and len(on_chain) == 1
        assert stored[2] == hx(on_chain[0].tx)
    daemon.kill()

    daemon.start()
    if point == "sent-pending":
        sc.wait("the restarted daemon to wait for its pending report (or send another)",
                lambda: "waiting for the report transaction" in daemon.output() or len(pending_from(w3, sc.me)) > 1,
                with_others=False, mining=False)
        assert [t["hash"] for t in pending_from(w3, sc.me)] == [stored[2]], "the restarted daemon sent a second report"
        set_automine(w3, True)
        mine(w3)
    sc.wait("the restarted daemon to report batch 0", lambda: sc.daemon_reported(0), with_others=False)
    (posted,) = reports_by(sc.events(), sc.me, 0)
    if stored is not None:
        assert report_scores(posted["scores"]) == json.loads(stored[0])["scores"], "the restart re-scored differently"
    sc.settle_batch0()
    sc.finish()


# ---------------------------------------------------------------- outages


def retry_delays(output: str) -> list[int]:
    return [int(line.split("retrying in ")[1].split("s")[0]) for line in output.splitlines() if "retrying in " in line]


def test_F6_an_rpc_outage_of_30s_is_survived_with_backoff(world: World, tmp_path, scenario_cleanup):
    relay = Relay(world.chain.port)
    scenario_cleanup(relay)
    sc = new_scenario(world, tmp_path, scenario_cleanup, rpc_url=relay.url)
    daemon = sc.daemon
    daemon.start()
    sc.wait("the daemon to follow the chain", lambda: "following" in daemon.output(), with_others=False, mining=False)
    sc.fill_batch0()
    relay.down()
    began = time.monotonic()
    # the chain goes on without the daemon: the batch is confirmed, the others commit to their
    # reports (R11: they reveal once every member committed, the daemon included, or at revealAt)
    sc.wait("the others to commit to batch 0", lambda: all(
        any(e.name == "ReportCommitted" and e["oracle"] == o.address and e["batch"] == 0 for e in sc.events())
        for o in sc.rnd.oracles[1:]))
    while time.monotonic() - began < 30:
        daemon.check()
        mine(sc.w3)
        time.sleep(1)
    delays = retry_delays(daemon.output())
    # doubling from 1 s, capped at 60 s (the outage lasts longer than 30 s when the others are slow to commit)
    assert len(delays) >= 3 and delays == [min(2 ** i, 60) for i in range(len(delays))], f"no exponential backoff: {delays}"
    assert not sc.daemon_reported(0)
    relay.up()
    sc.settle_batch0()  # needs the daemon's report: it came back by itself
    assert sc.daemon_reported(0)
    sc.finish()


def test_F6_a_store_outage_is_retried_not_scored_invalid(world: World, tmp_path, scenario_cleanup, ipfs_node):
    """The daemon's IPFS node dies while serving the fetch of an update (the request is cut
    off unanswered) and stays down for 8 s: the daemon retries; it must not score the
    update INVALID (that would slash an honest contributor, or make the daemon deviate)."""
    relay = Relay(ipfs_node.port)
    scenario_cleanup(relay)
    store = IpfsStore(ipfs_node.api, timeout=10)
    sc = new_scenario(world, tmp_path, scenario_cleanup, store=store, ipfs_api=f"/ip4/127.0.0.1/tcp/{relay.port}")
    daemon = sc.daemon
    daemon.start()
    c0 = sc.rnd.contribute("c0", 0)
    relay.trip_on(c0.cid.encode())
    sc.rnd.contribute("c1", 1)
    sc.wait("the daemon to fetch c0's update", relay.tripped.is_set)
    began = time.monotonic()
    failed = lambda: any("retrying in" in line and "IPFS" in line for line in daemon.output().splitlines())  # noqa: E731
    sc.wait("the daemon to fail on the store (or to report)", lambda: failed() or sc.daemon_reported(0))
    assert not sc.daemon_reported(0), f"the daemon reported during the outage:\n{daemon.output()[-2000:]}"
    while time.monotonic() - began < 8:
        daemon.check()
        time.sleep(0.5)
    assert not sc.daemon_reported(0)
    relay.up()
    sc.settle_batch0()
    assert daemon.db("SELECT * FROM skips") == [], "an outage was recorded as a bad artefact"
    sc.finish()  # check_books: the daemon's scores equal the others', none INVALID


# ---------------------------------------------------------------- re-orgs


def submit_in_one_block(sc: Scenario, monkeypatch) -> int:
    """c0 and c1 submit into the same block (automine off while they send), each with gas
    enough to be the one that fills the batch (sealing it costs more): either order runs."""
    transact = Sender.transact
    monkeypatch.setattr(Sender, "transact", lambda self, fn, value=0, gas=None, **kw: transact(
        self, fn, value=value, gas=gas or 2_000_000, **kw))
    set_automine(sc.w3, False)
    threads = [threading.Thread(target=sc.rnd.contribute, args=(name, shard)) for name, shard in (("c0", 0), ("c1", 1))]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while not all(pending_from(sc.w3, sc.rnd.contributors[n].address) for n in ("c0", "c1")):
        assert time.monotonic() < deadline, "the submissions never reached the mempool"
        time.sleep(0.1)
    mine(sc.w3)
    set_automine(sc.w3, True)
    for t in threads:
        t.join(60)
    monkeypatch.undo()
    subs = named(sc.events(), "SubmissionReceived", batch=0)
    assert len(subs) == 2 and subs[0].block == subs[1].block == sc.w3.eth.block_number
    return subs[0].block


@pytest.mark.parametrize("depth, case", [
    (1, "the daemon's report, not replayed"),
    (2, "the daemon's commitment and report, replayed"),
    (CONFIRMATIONS, "all three reports and the settlement"),
    (CONFIRMATIONS + 1, "the daemon's commitment, report and checkpoint block"),
    (CONFIRMATIONS + 5, "everything from both submissions on, replayed in the other order, then the daemon's "
                        "stale commitment"),
])
def test_F6_a_reorg_leaves_exactly_one_report_per_batch(world: World, tmp_path, scenario_cleanup, monkeypatch, depth,
                                                        case):
    """R11: the others commit first (in-process, one block each), then the daemon commits and
    reveals (two blocks: its commitment completes the commit phase). A re-org then removes the
    last `depth` blocks; after it every member has exactly one report on batch 0."""
    sc = new_scenario(world, tmp_path, scenario_cleanup)
    w3, bid, daemon = sc.w3, sc.bid, sc.daemon
    reorder = depth == CONFIRMATIONS + 5
    filled = submit_in_one_block(sc, monkeypatch) if reorder else sc.fill_batch0()
    subs_before = sorted(named(sc.events(), "SubmissionReceived", batch=0), key=lambda e: e["submissionId"])
    for node in sc.others:  # R11: the others commit first; they reveal once the daemon has committed
        node.tick()
    others_committed = [e for e in sc.events() if e.name == "ReportCommitted" and e["batch"] == 0]
    assert [e["oracle"] for e in others_committed] == [o.address for o in sc.others]
    assert not named(sc.events(), "ReportPosted")
    sc.confirm()
    daemon.start()
    sc.wait("the daemon to report batch 0", lambda: sc.daemon_reported(0), with_others=False, mining=False)
    (report,) = reports_by(sc.events(), sc.me, 0)
    (commit,) = [e for e in sc.events() if e.name == "ReportCommitted" and e["oracle"] == sc.me and e["batch"] == 0]
    assert commit.block + 1 == report.block == w3.eth.block_number
    assert report.block == filled + len(sc.others) + CONFIRMATIONS + 2
    # the daemon has synced past its report: its checkpoint is the newest confirmed block
    sc.wait("the daemon's checkpoint to reach the head", lambda: daemon.checkpoint == report.block - CONFIRMATIONS,
            with_others=False, mining=False)
    if depth == CONFIRMATIONS:  # the others reveal and settle on top of it
        for node in sc.others:
            node.tick()
        assert sc.rnd.view()["nextBatch"] == 1
    head = w3.eth.block_number
    removed = range(head - depth + 1, head + 1)
    assert report.block in removed
    assert (commit.block in removed) == (depth in (2, CONFIRMATIONS + 1, CONFIRMATIONS + 5))
    replay: list = []
    if depth == 2:  # the commitment first: the report reveals it
        replay = [[raw_tx(w3, commit.tx), 0], [raw_tx(w3, report.tx), 1]]
    if reorder:
        assert filled in removed and all(e.block in removed for e in others_committed)
        # the submissions in the other order, then the daemon's commitment to its report on the
        # old order (the others' commitments are not replayed: commits stay open)
        replay = [[raw_tx(w3, s.tx), 0] for s in reversed(subs_before)] + [[raw_tx(w3, commit.tx), 1]]
    hashes = [w3.eth.get_block(n)["hash"] for n in removed]
    # a transfer in each block of the new branch: anvil keeps the timestamps, so an empty
    # block would come out the same as the one it replaces, hash and all
    funder = world.funder.address
    replay += [[{"from": funder, "to": funder, "value": "0x0"}, i] for i in range(depth)]
    rpc(w3, "anvil_reorg", depth, replay)
    assert w3.eth.block_number == head
    assert all(w3.eth.get_block(n)["hash"] != h for n, h in zip(removed, hashes)), "a block survived the re-org"

    events = sc.events()
    # on the new branch (blocks up to the old head); the daemon thread, still running, may
    # already have sent its report again above it
    assert len([e for e in reports_by(events, sc.me, 0) if e.block <= head]) == (1 if depth == 2 else 0)
    assert not [e for e in named(events, "BatchSettled") if e.block <= head]
    mine_committed = lambda: [e for e in sc.events()  # noqa: E731
                              if e.name == "ReportCommitted" and e["oracle"] == sc.me and e["batch"] == 0]
    if reorder:
        subs_after = sorted(named(events, "SubmissionReceived", batch=0), key=lambda e: e["submissionId"])
        assert [s["contributor"] for s in subs_after] == [s["contributor"] for s in reversed(subs_before)]
        # on the new branch (blocks up to the old head): the replayed commitment alone; the
        # daemon thread may already have committed again above it, which the wait below expects
        assert len([e for e in mine_committed() if e.block <= head]) == 1
        assert not [e for e in events if e.name == "ReportCommitted" and e["oracle"] != sc.me]
        # the daemon re-scores and commits again (its commitment on chain is to the old order)
        # before the others are let go: their commitments would close the commit phase
        sc.wait("the daemon to commit again", lambda: len(mine_committed()) == 2, with_others=False)
    sc.settle_batch0()
    # the daemon may notice its report gone (and send it again) in the tick that was running
    # through the re-org, whose sync had already passed the checkpoint check: it sees the
    # re-org under its checkpoint at its next sync, which the settlement need not wait for
    if depth in (1, CONFIRMATIONS, CONFIRMATIONS + 1):
        sc.wait("the daemon to send its report again", lambda: "is gone; sending the report again" in daemon.output(),
                with_others=False)
    if depth > CONFIRMATIONS:
        sc.wait("the daemon to notice the re-org under its checkpoint",
                lambda: "re-org below block" in daemon.output(), with_others=False)
    out = daemon.output()
    if reorder:
        assert "holds other submissions since a re-org: scoring it again" in out
        assert "the report changed since it committed (re-org); committing again" in out
        # what makes the stale report wrong: the two updates score apart by more than the tolerance
        scores = report_scores(reports_by(sc.events(), sc.me, 0)[0]["scores"])
        assert abs(scores[0] - scores[1]) > sc.rnd.viewer.opened_params(bid)["tolerance"]
    sc.finish()


# ---------------------------------------------------------------- a dropped transaction


def test_F6_a_dropped_report_transaction_is_noticed_and_resent(world: World, tmp_path, scenario_cleanup):
    sc = new_scenario(world, tmp_path, scenario_cleanup)
    w3, daemon = sc.w3, sc.daemon
    daemon.start()
    sc.fill_batch0()
    set_automine(w3, False)
    sc.confirm()
    sc.wait("the daemon's report in the mempool", lambda: bool(pending_from(w3, sc.me)), with_others=False, mining=False)
    (tx,) = pending_from(w3, sc.me)
    assert tx["input"][:10] in COMMIT_SELECTORS  # R11: its first transaction commits to the report
    rpc(w3, "anvil_dropTransaction", tx["hash"])
    assert not pending_from(w3, sc.me)
    sc.wait("the daemon to send its report again", lambda: bool(pending_from(w3, sc.me)), with_others=False,
            mining=False, timeout=60)
    assert "was dropped" in daemon.output()
    (again,) = pending_from(w3, sc.me)
    assert int(again["nonce"], 16) == int(tx["nonce"], 16)
    set_automine(w3, True)
    mine(w3)
    sc.wait("the resent commitment to be mined", lambda: sc.daemon_committed(0), with_others=False)
    sc.settle_batch0()
    sc.finish()

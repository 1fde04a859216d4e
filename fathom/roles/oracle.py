"""The oracle node: `fathom oracle run`, a long-running daemon.

Each tick it
1. follows the market's events from its checkpoint up to `latest - confirmations`
   (re-org safe: the checkpoint keeps the block hash; a changed hash rewinds it),
   storing what it needs in SQLite (`<data dir>/oracle-<address>.sqlite`), in the same
   transaction as the new checkpoint;
2. for every bounty whose committee names it: opts in, reports the baseline, and for the
   next batch to decide (batches settle in order): fetches, decrypts and checks every
   update, scores all candidates in one vectorised pass, pins the merged model of its own
   best candidate, and posts one report; then settles the batch once every opted-in
   member reported (or the timeout passed with a quorum), or voids it when the timeout
   passed without one.

Restarts neither re-report nor skip: the chain's reported mask is the truth for "did I
report", and a computed report is stored before it is sent, so a crash between the
two re-sends the same scores. Updates that cannot be fetched, decrypted or parsed, or
whose author is not the submitter, score INVALID; every skip is logged with its reason.
RPC and IPFS errors are retried with backoff; `max_failures` in a row stop the node.
A stored report remembers the records it scored (a re-org that reorders a batch makes
it stale) and the hash of the transaction that last sent it: while that transaction is
pending the node waits for it instead of sending a second one, and once the node has
lost it (dropped from the mempool, or re-orged out) the report is sent again.

Fault injection, for the fault suite (tests/python/test_oracle_faults.py) only:
FATHOM_FAULT_PAUSE=<point> makes the node, the first time it reaches <point>, create
the file named by FATHOM_FAULT_MARKER and sleep until it is killed. The points:
`fetched` (a batch's artefacts fetched, not yet scored), `scored` (the report computed
and stored, not sent), `sent` (the report transaction accepted by the node, its receipt
not yet read), `mined` (the receipt read, the node's record of it not yet saved).
Unset, it costs one string comparison per point.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from time import monotonic
from time import time as wall_time
from typing import Any, Callable, Iterator, Mapping

import numpy as np

from fathom.ml import models
from fathom.protocol import settlement as protocol
from fathom.ml.artefacts import DEFAULT_LIMITS, apply_update, check_update_fits, check_validation_fits, pack_model
from fathom.roles.reader import BountyReader
from fathom.chain.client import ChainError
from fathom.crypto.envelope import account_address, seal_with_key
from fathom.errors import FathomError, RejectionError, Transient
from fathom.chain.market import INVALID, Event, Market, pack_records
from fathom.storage.store import (
    ContentTooLarge,
    InvalidCid,
    Store,
    StoreError,
    StoreTimeout,
    StoreUnavailable,
    cid_from_chain,
    cid_to_chain,
)

log = logging.getLogger("fathom.roles.oracle")
ZERO_CID = (b"\0" * 32, 0)

#: Where FATHOM_FAULT_PAUSE can pause the node (see the module's docstring).
FAULT_POINTS = ("fetched", "scored", "sent", "mined")
_fault_pause: str | None = os.environ.get("FATHOM_FAULT_PAUSE") or None


def _fault_point(point: str) -> None:
    """The test hook: pause here for good (the first time only) if FATHOM_FAULT_PAUSE names this point."""
    global _fault_pause
    if _fault_pause != point:
        return
    _fault_pause = None
    marker = os.environ.get("FATHOM_FAULT_MARKER")
    if marker:
        tmp = Path(marker + ".tmp")
        tmp.write_text(f"{os.getpid()} {point}\n")
        tmp.replace(marker)
    log.warning("fault injection: paused at %r until killed", point)
    while True:
        time.sleep(3600)


class OracleStopped(FathomError):
    """Too many failures in a row: the node stops loudly instead of limping on."""


class Unservable(FathomError):
    """This node cannot serve the bounty (its validation set does not fit its model, its
    metric is not the manifest's, ...): the bounty is quarantined, never the node."""


#: Failures that are the network's, not the bounty's: the tick fails and is retried with backoff
#: (OSError: the RPC client's connection errors, which requests raises untyped).
TRANSIENT = (ChainError, Transient, OSError)



def _transient(exc: BaseException) -> bool:
    """A failure of the network or the store's node, not of what it carried."""
    return isinstance(exc, TRANSIENT) or (isinstance(exc, StoreError) and _store_down(exc))


#: The report deadline of a batch is its timeout less 1/REPORT_RESERVE of the scoring timeout,
#: kept for scoring and for the report's inclusion: fetches run until then (rule F8).
REPORT_RESERVE = 4

#: Updates fetched side by side.
FETCH_THREADS = 16

#: Longest a tick waits for a batch's fetches before it serves the other bounties (they go on
#: in the background, under the batch's deadline).
FETCH_WAIT = 5.0


@dataclass
class OracleNode:
    market: Market
    store: Store
    private_key: bytes
    data_dir: Path
    confirmations: int = 3
    poll_seconds: float = 2.0
    max_failures: int = 8
    stake_wei: int = 0  # stake this much on start if not yet eligible (0: don't)
    on_event: Callable[[str], None] | None = None
    address: str = field(init=False)
    db: sqlite3.Connection = field(init=False)

    def __post_init__(self) -> None:
        self.address = account_address(self.private_key)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.data_dir / f"oracle-{self.address.lower()}.sqlite", isolation_level=None)
        self.db.executescript(
            """
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS events (block INTEGER, idx INTEGER, bounty INTEGER, name TEXT, args TEXT,
                                               PRIMARY KEY (block, idx));
            CREATE TABLE IF NOT EXISTS reports (bounty INTEGER, batch INTEGER, scores TEXT, merged TEXT, sent INTEGER,
                                                PRIMARY KEY (bounty, batch));
            CREATE TABLE IF NOT EXISTS checkpoints (block INTEGER PRIMARY KEY, hash TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS skips (bounty INTEGER, submission INTEGER, reason TEXT,
                                              PRIMARY KEY (bounty, submission));
            CREATE TABLE IF NOT EXISTS quarantine (bounty INTEGER PRIMARY KEY, reason TEXT NOT NULL, since REAL NOT NULL);
            CREATE TABLE IF NOT EXISTS validation (bounty INTEGER PRIMARY KEY, cid TEXT NOT NULL, salt TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS pins (bounty INTEGER, submission INTEGER, cid TEXT NOT NULL,
                                             attempts INTEGER NOT NULL DEFAULT 0, done INTEGER NOT NULL DEFAULT 0,
                                             PRIMARY KEY (bounty, submission));
            """
        )
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(reports)")}
        for column in ("records", "tx"):  # added after the first release: older state files lack them
            if column not in columns:
                self.db.execute(f"ALTER TABLE reports ADD COLUMN {column} TEXT")
        if _fault_pause is not None and _fault_pause not in FAULT_POINTS:
            raise FathomError(f"FATHOM_FAULT_PAUSE={_fault_pause!r} is not one of {', '.join(FAULT_POINTS)}")
        self._readers: dict[int, BountyReader] = {}
        self._validation: dict[int, Any] = {}
        self._pool = ThreadPoolExecutor(FETCH_THREADS, thread_name_prefix="fathom-fetch")
        self._fetches: dict[tuple[int, int, str], dict[int, Future]] = {}
        self._pinning: dict[tuple[int, int], Future] = {}

    # ------------------------------------------------------------ state

    def _meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    @property
    def checkpoint(self) -> int:
        return int(self._meta("checkpoint", str(self.market.start_block - 1)))

    def _say(self, message: str) -> None:
        log.info(message)
        if self.on_event:
            self.on_event(message)

    # ------------------------------------------------------------ following the chain

    def sync(self) -> int:
        """Store confirmed events past the checkpoint; returns the new checkpoint."""
        w3 = self.market.w3
        head = w3.eth.block_number
        safe = head - self.confirmations
        cp = self.checkpoint
        cp_hash = self._meta("checkpoint_hash")
        if cp >= 0 and cp_hash and (cp > head or w3.eth.get_block(cp)["hash"].hex() != cp_hash):
            cp = self._rewind(cp, head)
        if safe <= cp:
            return cp
        events = self.market.events(from_block=cp + 1, to_block=safe)
        # every call to the node comes before the transaction: one that fails mid-way (an RPC
        # outage) must not leave it open, or the next tick's BEGIN fails for good
        safe_hash = w3.eth.get_block(safe)["hash"].hex()
        with self._transaction():
            for ev in events:
                self.db.execute(
                    "INSERT OR REPLACE INTO events VALUES (?, ?, ?, ?, ?)",
                    (ev.block, ev.index, ev.args.get("bountyId"), ev.name, json.dumps(_jsonable(ev.args))),
                )
                if ev.name == "SubmissionReceived":
                    try:
                        cid = cid_from_chain(bytes(ev["update"][0]), ev["update"][1])
                    except InvalidCid:
                        continue  # nothing to pin: the submission scores INVALID
                    self.db.execute("INSERT OR IGNORE INTO pins (bounty, submission, cid) VALUES (?, ?, ?)",
                                    (ev["bountyId"], ev["submissionId"], cid))
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('checkpoint', ?)", (str(safe),))
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('checkpoint_hash', ?)", (safe_hash,))
            self.db.execute("INSERT OR REPLACE INTO checkpoints VALUES (?, ?)", (safe, safe_hash))
            self.db.execute("DELETE FROM checkpoints WHERE block < ?", (safe - 10_000,))
        return safe

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """BEGIN ... COMMIT, rolled back if anything inside raises (the database is left as it
        was, and the next transaction can begin)."""
        self.db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _rewind(self, cp: int, head: int) -> int:
        """A re-org (or a shorter chain) under the checkpoint: walk back through the stored
        checkpoint hashes to the newest one the chain still has, and forget what came after."""
        w3 = self.market.w3
        rewind = self.market.start_block - 1
        rows = self.db.execute("SELECT block, hash FROM checkpoints WHERE block < ? ORDER BY block DESC", (cp,)).fetchall()
        for block, block_hash in rows:
            if block <= head and w3.eth.get_block(block)["hash"].hex() == block_hash:
                rewind = block
                break
        self._say(f"re-org below block {cp}: rewinding to {rewind}")
        with self._transaction():
            self.db.execute("DELETE FROM events WHERE block > ?", (rewind,))
            self.db.execute("DELETE FROM checkpoints WHERE block > ?", (rewind,))
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('checkpoint', ?)", (str(rewind),))
            match = self.db.execute("SELECT hash FROM checkpoints WHERE block = ?", (rewind,)).fetchone()
            if match:
                self.db.execute("INSERT OR REPLACE INTO meta VALUES ('checkpoint_hash', ?)", (match[0],))
            else:
                self.db.execute("DELETE FROM meta WHERE key = 'checkpoint_hash'")
        return rewind

    def my_bounties(self) -> list[int]:
        rows = self.db.execute("SELECT bounty, args FROM events WHERE name = 'BountyOpened' ORDER BY block, idx").fetchall()
        return [b for b, args in rows if self.address in json.loads(args)["params"]["committee"]]

    def _confirmed(self, bounty_id: int) -> list[Event]:
        rows = self.db.execute(
            "SELECT block, idx, name, args FROM events WHERE bounty = ? ORDER BY block, idx", (bounty_id,)
        ).fetchall()
        return [Event(name, _restore(json.loads(args)), block, "", idx) for block, idx, name, args in rows]

    def _latest(self, bounty_id: int) -> list[Event]:
        """The bounty's events up to the chain's head: the stored, confirmed ones, and the
        few past the checkpoint fetched now (other members' reports may be that fresh)."""
        return self._confirmed(bounty_id) + self.market.events(from_block=self.checkpoint + 1, bounty_id=bounty_id)

    # ------------------------------------------------------------ the loop

    def run(self, ticks: int | None = None, stop: Callable[[], bool] | None = None) -> None:
        """Tick until `ticks` ran or `stop()` says so; failures back off, then stop the node."""
        if self.stake_wei:
            self._ensure_stake()
        failures = 0
        n = 0
        while (ticks is None or n < ticks) and not (stop and stop()):
            n += 1
            try:
                self.tick()
                failures = 0
                time.sleep(self.poll_seconds)
            except Exception as exc:  # noqa: BLE001 - any failure counts; a run of them stops the node
                failures += 1
                if not isinstance(exc, (ChainError, StoreError, OSError, ConnectionError, TimeoutError)):
                    log.exception("unexpected error in a tick")
                if failures >= self.max_failures:
                    raise OracleStopped(f"{failures} failures in a row, the last: {exc}") from exc
                delay = min(60.0, max(self.poll_seconds, 0.5) * 2 ** failures)
                self._say(f"retrying in {delay:.0f}s after: {exc}")
                time.sleep(delay)

    def _ensure_stake(self) -> None:
        if not self.market.registry.functions.isEligible(self.address).call():
            self.market.stake_oracle(self.stake_wei)
            self._say(f"staked {self.stake_wei / 1e18:g} ETH in the oracle registry")

    def tick(self) -> None:
        """Serve every bounty once. A transient failure (RPC, store down) fails the tick
        after the other bounties were served (the loop backs off); any other failure
        quarantines that one bounty, with its reason, for good (`fathom oracle status`)."""
        self.sync()
        mine = self.my_bounties()
        self._pin_new(set(mine))
        quarantined = self.quarantined()
        transient: Exception | None = None
        for bounty_id in mine:
            if bounty_id in quarantined:
                continue
            try:
                state = self.market.state(bounty_id)
                if state in ("Closed", "Revealed"):
                    continue
                self.serve(bounty_id, state)
            except Exception as exc:  # noqa: BLE001 - one bounty's failure is that bounty's, never the node's
                if _transient(exc):
                    transient = transient or exc
                else:
                    self._quarantine(bounty_id, exc)
        if transient is not None:
            raise transient

    # ------------------------------------------------------------ quarantine and pins

    def quarantined(self) -> dict[int, str]:
        return dict(self.db.execute("SELECT bounty, reason FROM quarantine").fetchall())

    def _quarantine(self, bounty_id: int, exc: BaseException) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, (FathomError, ValueError)):  # not a refusal we raise on purpose: show where
            log.error("bounty %s: unexpected failure", bounty_id, exc_info=exc)
        self.db.execute("INSERT OR REPLACE INTO quarantine VALUES (?, ?, ?)", (bounty_id, reason, wall_time()))
        self._readers.pop(bounty_id, None)
        self._validation.pop(bounty_id, None)
        self._say(f"bounty {bounty_id}: quarantined, not served any more ({reason})")

    def _pin_new(self, mine: set[int]) -> None:
        """Pin each submitted update of my bounties as soon as its event is confirmed (in the
        background): a member that has it serves it to the others (rule F8)."""
        for key, future in list(self._pinning.items()):
            if not future.done():
                continue
            del self._pinning[key]
            error = future.exception()
            if error is None:
                self.db.execute("UPDATE pins SET done = 1 WHERE bounty = ? AND submission = ?", key)
            else:  # the store down is no attempt; content nobody serves is (3 and the fetch alone tries)
                log.info("bounty %s: pinning submission %s failed (%s)", key[0], key[1], error)
                if not _transient(error):
                    self.db.execute("UPDATE pins SET attempts = attempts + 1 WHERE bounty = ? AND submission = ?", key)
        rows = self.db.execute("SELECT bounty, submission, cid FROM pins WHERE done = 0 AND attempts < 3").fetchall()
        for bounty_id, submission, cid in rows:
            if bounty_id not in mine or (bounty_id, submission) in self._pinning:
                continue
            self._pinning[(bounty_id, submission)] = self._pool.submit(self.store.pin, cid)

    def close(self) -> None:
        """Stop the background fetches and pins (waiting for none of them)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def reader(self, bounty_id: int) -> BountyReader:
        if bounty_id not in self._readers:
            self._readers[bounty_id] = BountyReader(self.market, self.store, bounty_id, self.private_key)
        return self._readers[bounty_id]

    def serve(self, bounty_id: int, state: str) -> None:
        members, opted, baseline_mask = self.market.committee(bounty_id)
        me = members.index(self.address)
        bit = 1 << me
        if not opted & bit:
            if state != "AwaitingBaseline" and state != "Open":
                return
            self._check_servable(bounty_id)  # raises (quarantine) before it bonds anything
            self.market.join(bounty_id)
            self._say(f"bounty {bounty_id}: joined the committee")
            opted |= bit
        if state == "AwaitingBaseline":
            if not baseline_mask & bit:
                score = self._baseline(bounty_id)
                self.market.report_baseline(bounty_id, score)
                self._say(f"bounty {bounty_id}: baseline reported ({score})")
            return
        view = self.market.bounty(bounty_id)
        k = view["nextBatch"]
        batch = self.market.batch(bounty_id, k)
        if batch["submissions"] == 0 or batch["decided"]:
            if state == "Settling" and batch["submissions"] == 0:
                self._try(lambda: self.market.close(bounty_id), f"bounty {bounty_id}: closed")
            return
        reportable = batch["filledAt"] != 0 or state == "Settling"
        if not reportable:
            return
        if not batch["reportedMask"] & bit:
            events = self._confirmed(bounty_id)
            records = Market.records_of(events, bounty_id, k)
            if len(records) < batch["submissions"]:
                return  # wait for the batch's submissions to be confirmed
            report = self._report_for(bounty_id, k, records, view, batch, members)
            if report is None:  # still fetching, or abstaining (rule F8): others' reports may still settle it
                self._finish_batch(bounty_id, k, batch, members, opted, view)
                return
            scores, merged, tx = report
            if tx is not None and self._awaited(bounty_id, k, tx):
                batch = self.market.batch(bounty_id, k)
        if not batch["reportedMask"] & bit:
            if (batch["reportedMask"] | bit) == opted and self._final_report(bounty_id, k, batch, members, scores, merged):
                return
            self.market.report(bounty_id, k, scores, merged, on_sent=self._on_sent(bounty_id, k))
            _fault_point("mined")
            self.db.execute("UPDATE reports SET sent = 1 WHERE bounty = ? AND batch = ?", (bounty_id, k))
            self._say(f"bounty {bounty_id}: batch {k} reported ({len(scores)} scores)")
            batch = self.market.batch(bounty_id, k)
        self._finish_batch(bounty_id, k, batch, members, opted, view)

    def _on_sent(self, bounty_id: int, k: int) -> Callable[[bytes], None]:
        def sent(tx_hash: bytes) -> None:
            self.db.execute("UPDATE reports SET tx = ? WHERE bounty = ? AND batch = ?",
                            ("0x" + bytes(tx_hash).hex(), bounty_id, k))
            _fault_point("sent")

        return sent

    def _awaited(self, bounty_id: int, k: int, tx: str) -> bool:
        """A report transaction sent before (then a restart, or a failed tick): wait for it if
        the node still has it pending (a second one would only revert and cost gas). False
        when the node no longer knows it: dropped, or re-orged out; the report is sent again."""
        status = self.market.tx_status(tx)
        if status == "unknown":
            self._say(f"bounty {bounty_id}: batch {k}: the report transaction {tx} is gone; sending the report again")
            return False
        if status == "pending":
            self._say(f"bounty {bounty_id}: batch {k}: waiting for the report transaction {tx} sent before")
            self.market.wait_for_receipt(tx)
        return True

    def _final_report(self, bounty_id: int, k: int, batch: dict[str, Any], members: list[str], scores: list[int],
                      merged: tuple) -> bool:
        """The last member to report settles in the same transaction (reportAndSettle),
        passing the records and the others' reports from the events. False: report plainly."""
        events = self._latest(bounty_id)
        records = Market.records_of(events, bounty_id, k)
        reporters = [m for i, m in enumerate(members) if batch["reportedMask"] >> i & 1]
        others = Market.reports_of(events, bounty_id, k, reporters)
        if len(others) != len(reporters) or len(records) != batch["submissions"]:
            return False
        sent: list[bytes] = []
        on_sent = self._on_sent(bounty_id, k)
        try:
            self.market.report_and_settle(bounty_id, k, scores, merged, records, others,
                                          on_sent=lambda tx: (sent.append(tx), on_sent(tx)))
        except ChainError as exc:
            if sent:  # it left (then was dropped, or reverted): the next tick looks the transaction up
                raise
            log.info("bounty %s batch %s: the finalising report fell back to a plain report (%s)", bounty_id, k, exc)
            return False
        _fault_point("mined")
        self.db.execute("UPDATE reports SET sent = 1 WHERE bounty = ? AND batch = ?", (bounty_id, k))
        self._say(f"bounty {bounty_id}: batch {k} reported and settled ({len(scores)} scores)")
        return True

    def _finish_batch(self, bounty_id: int, k: int, batch: dict[str, Any], members: list[str], opted: int,
                      view: dict[str, Any]) -> None:
        reported = batch["reportedMask"]
        quorum = _quorum(view)
        count = bin(reported).count("1")
        timed_out = self.market.now() >= batch["timeoutAt"]
        events = self._latest(bounty_id)
        records = Market.records_of(events, bounty_id, k)
        if reported == opted or (timed_out and count >= quorum):
            reporters = [m for i, m in enumerate(members) if reported >> i & 1]
            reports = Market.reports_of(events, bounty_id, k, reporters)
            if len(reports) == count:
                self._try(lambda: self.market.settle(bounty_id, k, records, reports), f"bounty {bounty_id}: batch {k} settled")
        elif timed_out:
            self._try(lambda: self.market.void(bounty_id, k, records), f"bounty {bounty_id}: batch {k} voided")

    def _try(self, action: Callable[[], Any], done: str) -> None:
        """Settle/void/close race with the other members: losing the race is fine."""
        try:
            action()
            self._say(done)
        except ChainError as exc:
            log.info("skipped (%s): %s", done, exc)

    # ------------------------------------------------------------ scoring

    def _validation_set(self, bounty_id: int) -> Any:
        """The validation set the bounty committed to on chain: checked against the
        commitment the first time, then kept by CID and salt, so that a later keyring
        naming another set changes nothing, across restarts too (rule F3)."""
        if bounty_id not in self._validation:
            row = self.db.execute("SELECT cid, salt FROM validation WHERE bounty = ?", (bounty_id,)).fetchone()
            reader = self.reader(bounty_id)
            known = (row[0], bytes.fromhex(row[1])) if row else None
            val, cid, salt = reader.committed_validation(known)
            if row is None:
                self.db.execute("INSERT OR REPLACE INTO validation VALUES (?, ?, ?)", (bounty_id, cid, salt.hex()))
            elif reader.brief.get("validation") != cid:
                self._say(f"bounty {bounty_id}: the keyring now names validation set {reader.brief.get('validation')}; "
                          f"scoring on the committed one, {cid}")
            self._validation[bounty_id] = val
        return self._validation[bounty_id]

    def _check_servable(self, bounty_id: int) -> None:
        """Before joining: the validation set matches the commitment and fits the initial
        model, and the bounty's registered metric and direction are the manifest's."""
        reader = self.reader(bounty_id)
        head = reader.model(0)
        val = self._validation_set(bounty_id)
        try:
            check_validation_fits(head, val)
        except RejectionError as exc:
            raise Unservable(f"the validation set does not fit the model: {exc}") from None
        params = reader.params
        metric = bytes(params["metric"]).rstrip(b"\0").decode("ascii", "replace")
        if metric != head.metric or bool(params["higherIsBetter"]) != models.higher_is_better(head.metric):
            raise Unservable(f"the bounty registers metric {metric!r} ({'higher' if params['higherIsBetter'] else 'lower'} "
                             f"is better) but its model is scored by {head.metric!r}")

    def _quantised(self, bounty_id: int, values: np.ndarray) -> list[int]:
        resolution = self.reader(bounty_id).params["resolution"]
        out = []
        for v in values:
            out.append(INVALID if not np.isfinite(v) else protocol.quantise(float(v), resolution))
        return out

    def _baseline(self, bounty_id: int) -> int:
        reader = self.reader(bounty_id)
        head = reader.model(0)
        val = self._validation_set(bounty_id)
        with _one_blas_thread():
            value = models.score(head.manifest, head.arrays, val.X, val.y, workers=_WORKERS)
        return self._quantised(bounty_id, np.array([value]))[0]

    def _fetched(self, bounty_id: int, k: int, digest: str, cids: dict[int, str], limit: int,
                 deadline: int) -> dict[int, bytes | BaseException] | None:
        """The batch's updates, fetched side by side under one deadline (the batch's report
        deadline, chain time, as a monotonic instant for the store). None while fetches are
        still running: they go on in the background and a later tick collects them."""
        key = (bounty_id, k, digest)
        futures = self._fetches.get(key)
        if futures is None:
            # past the deadline already (a node back from an outage): one short round still
            instant = monotonic() + max(deadline - self.market.now(), FETCH_WAIT)
            reader = self.reader(bounty_id)
            futures = {i: self._pool.submit(reader.fetch, cid, limit, instant) for i, cid in cids.items()}
            self._fetches[key] = futures
        wait(list(futures.values()), timeout=FETCH_WAIT)
        if not all(f.done() for f in futures.values()):
            return None
        del self._fetches[key]
        out: dict[int, bytes | BaseException] = {}
        for i, f in futures.items():
            error = f.exception()
            if error is not None and _transient(error):
                raise error  # the store is down, not the update missing: fail the tick, retry with backoff
            out[i] = error if error is not None else f.result()
        return out

    def _report_for(self, bounty_id: int, k: int, records: list[tuple], view: dict[str, Any], batch: dict[str, Any],
                    members: list[str]) -> tuple[list[int], tuple, str | None] | None:
        """The report on batch k: stored (scores, merged CID, hash of the transaction that
        last sent it), or computed now, stored, and not sent yet (no hash). None: not yet
        (updates still being fetched before the report deadline), or never (abstaining)."""
        digest = hashlib.sha256(pack_records(records)).hexdigest()
        row = self.db.execute("SELECT scores, merged, records, tx FROM reports WHERE bounty = ? AND batch = ?",
                              (bounty_id, k)).fetchone()
        if row and row[2] in (digest, None):  # computed before (a restart): send the same report
            merged = json.loads(row[1])
            return json.loads(row[0]), (bytes.fromhex(merged[0]), merged[1]), row[3]
        if row:
            self._say(f"bounty {bounty_id}: batch {k} holds other submissions since a re-org: scoring it again")
        reader = self.reader(bounty_id)
        reader.refresh()
        head_version = view["versionCount"]
        head = reader.model(head_version)
        val = self._validation_set(bounty_id)
        first_id = k * view["batchSize"]
        invalid: dict[int, BaseException] = {}
        cids: dict[int, str] = {}
        for i, (_contributor, _stake, _base, update) in enumerate(records):
            try:
                cids[i] = cid_from_chain(bytes(update[0]), update[1])
            except InvalidCid as exc:  # what the submitter put on chain is no CID at all
                invalid[i] = exc
        deadline = batch["timeoutAt"] - view["scoringTimeout"] // REPORT_RESERVE
        blobs = self._fetched(bounty_id, k, digest, cids, update_limit(head), deadline)
        if blobs is None:
            return None
        missing = {i: e for i, e in blobs.items() if isinstance(e, BaseException) and not isinstance(e, ContentTooLarge)}
        if missing and self.market.now() < deadline:
            self._say(f"bounty {bounty_id}: batch {k}: {len(missing)} update(s) unavailable so far; "
                      f"fetching again until the report deadline")
            return None
        if missing:
            reported = bin(batch["reportedMask"]).count("1")
            if reported >= _quorum(view):
                for i, exc in missing.items():
                    self._note(bounty_id, first_id + i, "unavailable, abstained", exc)
                self._say(f"bounty {bounty_id}: batch {k}: abstaining ({len(missing)} update(s) unavailable at the "
                          f"report deadline, and {reported} members reported already)")
                return None
        _fault_point("fetched")
        updates: dict[int, Any] = {}
        for i, (contributor, _stake, _base, _update) in enumerate(records):
            got = blobs.get(i)
            if i in invalid or i in missing:
                continue
            if isinstance(got, ContentTooLarge):
                invalid[i] = got
                continue
            try:
                upd = reader.open_update(cids[i], contributor, blob=got)
                models.check_update(head.manifest, upd.arrays)
                check_update_fits(head, upd)  # the whole manifest (metric, activation), not only the shapes
                updates[i] = upd
            except (RejectionError, models.ModelError) as exc:  # it opened, and it is malformed
                invalid[i] = exc
        for i, exc in sorted(invalid.items()):
            self._skip(bounty_id, first_id + i, exc)
        for i, exc in sorted(missing.items()):
            self._note(bounty_id, first_id + i, "unavailable at the report deadline, reported INVALID", exc)
        valid = sorted(updates)
        scores = [INVALID] * len(records)
        if updates:
            with _one_blas_thread():
                values = models.score_many(head.manifest, head.arrays, [updates[i].arrays for i in valid], val.X, val.y,
                                           invalid="nan", workers=_WORKERS)
            for i, q in zip(valid, self._quantised(bounty_id, values)):
                scores[i] = q
        merged = ZERO_CID
        higher = view["higherIsBetter"]
        if any(s != INVALID for s in scores):
            best = protocol.own_best(scores, higher)
            merged_model = apply_update(head, updates[best])
            blob = pack_model(merged_model.manifest, merged_model.arrays)
            key = reader.model_key
            if key is not None:
                # deterministic: every honest oracle seals the same bytes, so pins the same CID
                blob = seal_with_key(blob, key, bounty_id, "model", records[best][0])
            merged = cid_to_chain(self.store.add(blob))
        self.db.execute(
            "INSERT OR REPLACE INTO reports (bounty, batch, scores, merged, sent, records, tx)"
            " VALUES (?, ?, ?, ?, 0, ?, NULL)",
            (bounty_id, k, json.dumps(scores), json.dumps([merged[0].hex(), merged[1]]), digest),
        )
        _fault_point("scored")
        return scores, merged, None

    def _skip(self, bounty_id: int, submission: int, exc: BaseException) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        self.db.execute("INSERT OR REPLACE INTO skips VALUES (?, ?, ?)", (bounty_id, submission, reason))
        self._say(f"bounty {bounty_id}: submission {submission} is invalid ({reason})")

    def _note(self, bounty_id: int, submission: int, what: str, exc: BaseException) -> None:
        reason = f"{type(exc).__name__}: {exc} ({what})"
        self.db.execute("INSERT OR REPLACE INTO skips VALUES (?, ?, ?)", (bounty_id, submission, reason))
        self._say(f"bounty {bounty_id}: submission {submission}: {what} ({type(exc).__name__})")


def node_status(data_dir: Path, private_key: bytes) -> dict[str, Any]:
    """What a node's state file holds (read-only; the daemon may be running)."""
    address = account_address(private_key)
    path = Path(data_dir) / f"oracle-{address.lower()}.sqlite"
    if not path.exists():
        raise FathomError(f"no oracle state for {address} at {path}: run `fathom oracle run` first")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        one = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
        checkpoint = db.execute("SELECT value FROM meta WHERE key = 'checkpoint'").fetchone()
        quarantined = ([{"bounty": b, "reason": r, "since": t} for b, r, t in
                        db.execute("SELECT bounty, reason, since FROM quarantine ORDER BY bounty")]
                       if "quarantine" in tables else [])
        return {"address": address, "path": str(path), "checkpoint": int(checkpoint[0]) if checkpoint else None,
                "reports": one("SELECT COUNT(*) FROM reports"), "unsent": one("SELECT COUNT(*) FROM reports WHERE sent = 0"),
                "skips": one("SELECT COUNT(*) FROM skips"), "quarantined": quarantined}
    finally:
        db.close()


def _quorum(view: Mapping[str, Any]) -> int:
    """Reports a batch needs after its timeout (R4)."""
    return 1 if view["trustSingleOracle"] else 3


def update_limit(model: Any) -> int:
    """The most bytes an update of `model` can take: its arrays are the model's shapes, its
    manifest at most `Limits.max_manifest_bytes`, plus the container's and the envelope's
    framing. Fetches stop there, which bounds the CPU a batch's parsing can take (rule F1)."""
    arrays = sum(a.nbytes + 256 for a in model.arrays.values())  # + .npy header and table entry
    return arrays + DEFAULT_LIMITS.max_manifest_bytes + 64 * 1024


def _store_down(exc: StoreError) -> bool:
    """The store failed, not the artefact: it was unreachable or too slow, or the connection
    broke mid-call (the IPFS client reports a daemon dying with the request unanswered,
    "Connection aborted", as a protocol error, which reaches us as a plain StoreError)."""
    if isinstance(exc, (StoreUnavailable, StoreTimeout)):
        return True
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc.__cause__, exc.__context__]
    while todo:
        err = todo.pop()
        if err is None or id(err) in seen:
            continue
        seen.add(id(err))
        if isinstance(err, (ConnectionError, TimeoutError)):  # builtins: reset, refused, aborted, timed out
            return True
        todo += [err.__cause__, err.__context__, *(a for a in err.args if isinstance(a, BaseException))]
    return False


#: Threads that score row chunks side by side, each GEMM on one BLAS thread (same bits).
_WORKERS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
_BLAS: Any = None


def _one_blas_thread() -> Any:
    """OpenBLAS rounds a large GEMM differently with 1 and 2 threads (in the 9th digit of a
    log-loss): every oracle scores with one thread, so honest oracles agree bit for bit."""
    global _BLAS
    from threadpoolctl import ThreadpoolController

    if _BLAS is None:  # finding the libraries walks every loaded .so (~2 ms): do it once
        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


def _jsonable(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return {"__bytes__": bytes(value).hex()}
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _restore(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__bytes__"}:
            return bytes.fromhex(value["__bytes__"])
        return {k: _restore(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore(v) for v in value]
    return value

"""A batch's report: fetch (side by side, under one deadline), open, check, score, merge, seal, pin.

Rule F8: a batch's updates are fetched by a thread pool under the batch's report deadline,
`timeoutAt - scoringTimeout / REPORT_RESERVE`; an update that is `Unavailable` is fetched
again until then; at the deadline the member reports it UNAVAILABLE (R7a: never INVALID,
and never judged on it), a *partial* report that still votes over what it fetched: it merges
the updates it could score, gives its UNAVAILABLE ones no share and scores that merge. An
update that opened and is malformed (`RejectionError`, `ModelError`) scores INVALID (F4). The validation set is the one committed on chain (F3), and a bounty
the node cannot serve raises `Unservable` (quarantined by the node, F9). An update already
stale at this batch's settlement (G1: based more than MAX_LAG versions behind the head) is
not fetched at all: it is reported INVALID, so an unpublished stale update cannot make the
reports partial (review 12, A').

Rule R7b: when settlement finds no majority with a partial report in a batch's first round,
the contract retries it (`BatchRetried`, the partial reporters' bits cleared). A member whose
partial report was cleared scores the batch again: it fetches every update once more (the ones
it reported UNAVAILABLE now from the members that pinned them, the others from its own node)
under the second round's report deadline (the timeout restarts at the retry), and stores the
new report as the batch's second-round report (`again`), so a restart sends that one.
"""

from __future__ import annotations

import dataclasses

import hashlib
import json
import os
from concurrent.futures import wait
from time import monotonic
from typing import Any

import numpy as np

from fathom.chain.market import INVALID, pack_records
from fathom.errors import FathomError, RejectionError
from fathom.ml import models
from fathom.ml.artefacts import DEFAULT_LIMITS, Update, apply_update, check_update_fits, check_validation_fits
from fathom.ml import aggregate, encrypted, significance
from fathom.ml.privacy.statement import check_statement, max_epsilon_of
from fathom.protocol import settlement as protocol
from fathom.roles.oracle.faults import fault_point, transient
from fathom.storage.store import ContentTooLarge, InvalidCid, cid_from_chain, cid_to_chain

ZERO_CID = (b"\0" * 32, 0)

#: The report deadline of a batch is its timeout less 1/REPORT_RESERVE of the scoring timeout:
#: fetches run until then (rule F8); the next quarter is for scoring and the commitment's
#: inclusion before the reveal phase (the last quarter, R11).
REPORT_RESERVE = 2

#: Updates fetched side by side.
FETCH_THREADS = 16

#: Longest a tick waits for a batch's fetches before it serves the other bounties (they go on
#: in the background, under the batch's deadline).
FETCH_WAIT = 5.0


class Unservable(FathomError):
    """This node cannot serve the bounty (its validation set does not fit its model, its
    metric is not the manifest's, ...): the bounty is quarantined, never the node."""


class Reports:
    """The scoring half of `OracleNode` (a mixin: it uses the node's market, store, db and pool)."""

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
            # read as the scorer reads it once (F4: float32, subnormals as zero), so that no
            # batch's scoring step checks its rows for subnormals again
            self._validation[bounty_id] = dataclasses.replace(val, X=models.canonical_features(val.X))
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
        if reader.paillier_public is not None:  # the encrypted-weights mode (F13): its size bound and its key
            try:
                # margin 0 (review 14): the bound a bounty opened before B4's commit margin passed;
                # its estimate is four times the measured cost, so such a batch still commits in time
                encrypted.check_budget(head.manifest, int(params["batchSize"]), int(params["scoringTimeout"]), margin=0)
            except (encrypted.EncryptedModeError, models.ModelError) as exc:
                raise Unservable(f"the encrypted-weights bounty is beyond what a member can decrypt in time: {exc}") from None
        try:  # the scoring terms of the opening brief (F11, F12): a member joins only if it can apply them
            significance.confidence_of(reader.opening_brief)
            max_epsilon_of(reader.opening_brief)
        except FathomError as exc:
            raise Unservable(f"the bounty's brief has a term no member can apply: {exc}") from None

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
            if error is not None and transient(error):
                raise error  # the store is down, not the update missing: fail the tick, retry with backoff
            out[i] = error if error is not None else f.result()
        return out

    def _report_for(self, bounty_id: int, k: int, records: list[tuple], view: dict[str, Any], batch: dict[str, Any],
                    members: list[str], *, again: bool = False) -> tuple[dict[str, Any], tuple, str | None] | None:
        """The report on batch k: stored (the report, merged CID, hash of the transaction that
        last sent it), or computed now, stored, and not sent yet (no hash). None: not yet
        (updates still being fetched before the report deadline). `again`: the batch was retried
        with this member's partial report cleared (R7b): a report stored for the first round is
        not sent again; the batch is fetched and scored once more, for the second round.
        A report is {"scores": per submission, "merged_score": the merged model's,
        "shares": per submission, of SHARE_TOTAL} (`report_bytes` encodes it)."""
        digest = hashlib.sha256(pack_records(records)).hexdigest()
        row = self.db.execute("SELECT scores, merged, records, tx, second FROM reports WHERE bounty = ? AND batch = ?",
                              (bounty_id, k)).fetchone()
        if row and row[2] in (digest, None) and (row[4] or not again):  # computed before (a restart): the same
            merged = json.loads(row[1])
            return json.loads(row[0]), (bytes.fromhex(merged[0]), merged[1]), row[3]
        if row and again and row[2] in (digest, None):
            said = self.__dict__.setdefault("_second_rounds_said", set())
            if (bounty_id, k) not in said:
                said.add((bounty_id, k))
                unavailable = sum(1 for x in json.loads(row[0])["scores"] if x == protocol.UNAVAILABLE)
                self._say(f"bounty {bounty_id}: batch {k}: in its second round (R7b, its partial report cleared): "
                          f"fetching again the {unavailable} update(s) it reported UNAVAILABLE, then reporting again")
        elif row:
            self._say(f"bounty {bounty_id}: batch {k} holds other submissions since a re-org: scoring it again")
        reader = self.reader(bounty_id)
        reader.refresh()
        head_version = view["versionCount"]
        head = reader.model(head_version)
        val = self._validation_set(bounty_id)
        first_id = k * view["batchSize"]
        invalid: dict[int, BaseException] = {}
        cids: dict[int, str] = {}
        for i, (_contributor, _stake, base, update) in enumerate(records):
            if int(base) + protocol.MAX_LAG < head_version:
                # G1 (review 12, A'): stale at this batch's settlement, so refunded whatever its
                # median and never merged: not fetched at all, reported INVALID by every honest
                # member alike. Fetched, an unpublished one would make each report partial and
                # the batch lose its vote for the gas of one stale submission. The head here is
                # settlement's: batches settle in order and only a settlement adds a version.
                invalid[i] = RejectionError(f"stale: based on version {int(base)}, more than {protocol.MAX_LAG} "
                                            f"behind the head {head_version} (G1), not fetched")
                continue
            try:
                cids[i] = cid_from_chain(bytes(update[0]), update[1])
            except InvalidCid as exc:  # what the submitter put on chain is no CID at all
                invalid[i] = exc
        # R7b: in a second round the timeout (so this deadline) restarted at the retry
        deadline = batch["timeoutAt"] - view["scoringTimeout"] // REPORT_RESERVE
        blobs = self._fetched(bounty_id, k, digest + (":again" if again else ""), cids,
                              update_limit(head, reader.paillier_public), deadline)
        if blobs is None:
            return None
        missing = {i: e for i, e in blobs.items() if isinstance(e, BaseException) and not isinstance(e, ContentTooLarge)}
        if missing and self.market.now() < deadline:
            self._say(f"bounty {bounty_id}: batch {k}: {len(missing)} update(s) unavailable so far; "
                      f"fetching again until the report deadline")
            return None
        fault_point("fetched")
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
                check_statement(upd.manifest.get("privacy"), upd.arrays, max_epsilon_of(reader.opening_brief))  # the DP claim
                updates[i] = upd
            except (RejectionError, models.ModelError) as exc:  # it opened, and it is malformed
                invalid[i] = exc
        for i, exc in sorted(invalid.items()):
            self._skip(bounty_id, first_id + i, exc)
        for i, exc in sorted(missing.items()):
            self._note(bounty_id, first_id + i, "unavailable at the report deadline, reported UNAVAILABLE", exc)
        valid = sorted(updates)
        # R7a: what it could not fetch is UNAVAILABLE, never INVALID; such a partial report is
        # judged only on what it scored and earns no fee, and votes over what it fetched (below)
        scores = [protocol.UNAVAILABLE if i in missing else INVALID for i in range(len(records))]
        if updates:
            # the acceptance rule (F12): each candidate is reported as the head's recorded
            # score moved only by the part of its paired difference beyond the noise
            with _one_blas_thread():
                # one pass: the same exact per-row units give the reports and the batch's
                # decision below (G2), so both are the same on every kernel
                scored = models.row_units(head.manifest, head.arrays, [updates[i].arrays for i in valid], val.X, val.y,
                                          workers=_WORKERS, progress=self.progress)
                reported = significance.batch_reports(
                    head.manifest, head.arrays, [updates[i].arrays for i in valid], val.X, val.y, view["headScore"],
                    reader.params["resolution"], view["higherIsBetter"], significance.confidence_of(reader.opening_brief),
                    workers=_WORKERS, scored=scored)
            for i, (q, diff) in zip(valid, reported):
                scores[i] = INVALID if q is None else q
                if diff is not None:
                    self._say(f"bounty {bounty_id}: submission {first_id + i}: {diff.verdict} "
                              f"(difference {diff.mean:+.5f}, lower bound {diff.lcb:+.5f}, upper {diff.ucb:+.5f})")
        merged = ZERO_CID
        merged_score, shares = INVALID, [0] * len(records)
        if updates:
            # R5, G1-G7: the batch's merged model and each update's share of what it adds; a
            # partial report merges the updates it fetched (its UNAVAILABLE ones get no share,
            # R7a), so it votes with the others whenever what it missed would not be merged
            with _one_blas_thread():
                decision = aggregate.decide(
                    head.manifest, head.arrays, head_version,
                    [aggregate.Submission(i, updates[i].arrays, int(records[i][2]), records[i][0]) for i in valid],
                    val.X, val.y, protocol.SHARE_TOTAL, significance.confidence_of(reader.opening_brief),
                    workers=_WORKERS, scored=scored)
            for i, units in decision.shares.items():
                shares[i] = units
            # R5's caps: a share only where this report's own score beats the head; one vote
            # with the merged CID, which every honest member names alike (G7)
            shares = protocol.report_shares(shares, scores, view["headScore"], view["higherIsBetter"])
            if decision.merged_ids and any(shares):
                merged_model = apply_update(head, Update(head.manifest, decision.delta))
                with _one_blas_thread():
                    ((q, _diff),) = significance.batch_reports(
                        head.manifest, head.arrays, [decision.delta], val.X, val.y, view["headScore"],
                        reader.params["resolution"], view["higherIsBetter"],
                        significance.confidence_of(reader.opening_brief), workers=_WORKERS)
                merged_score = INVALID if q is None else q
                author = records[max(range(len(shares)), key=lambda i: (shares[i], -i))][0]
                # deterministic: every honest oracle seals the same bytes, so pins the same CID (in the
                # encrypted-weights mode, the same Paillier ciphertexts: F13)
                blob = reader.seal_model(merged_model, author)
                merged = cid_to_chain(self.store.add(blob))
                self._say(f"bounty {bounty_id}: batch {k}: merged {[first_id + i for i in decision.merged_ids]}, "
                          f"shares {({first_id + i: x for i, x in enumerate(shares) if x})}")
        report = {"scores": scores, "merged_score": merged_score, "shares": shares}
        self.db.execute(
            "INSERT OR REPLACE INTO reports (bounty, batch, scores, merged, sent, records, tx, second)"
            " VALUES (?, ?, ?, ?, 0, ?, NULL, ?)",
            (bounty_id, k, json.dumps(report), json.dumps([merged[0].hex(), merged[1]]), digest, "1" if again else None),
        )
        fault_point("scored")
        return report, merged, None

    def _skip(self, bounty_id: int, submission: int, exc: BaseException) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        self.db.execute("INSERT OR REPLACE INTO skips VALUES (?, ?, ?)", (bounty_id, submission, reason))
        self._say(f"bounty {bounty_id}: submission {submission} is invalid ({reason})")

    def _note(self, bounty_id: int, submission: int, what: str, exc: BaseException) -> None:
        reason = f"{type(exc).__name__}: {exc} ({what})"
        self.db.execute("INSERT OR REPLACE INTO skips VALUES (?, ?, ?)", (bounty_id, submission, reason))
        self._say(f"bounty {bounty_id}: submission {submission}: {what} ({type(exc).__name__})")


def update_limit(model: Any, paillier_key: Any = None) -> int:
    """The most bytes an update of `model` can take: its arrays are the model's shapes, its
    manifest at most `Limits.max_manifest_bytes`, plus the container's and the envelope's
    framing. Fetches stop there, which bounds the CPU a batch's parsing can take (rule F1).
    In the encrypted-weights mode (`paillier_key`, F13) the arrays are one ciphertext per
    weight, each `ciphertext_bytes` wide, plus the ciphertexts' own header (at most 4 KiB)."""
    arrays = sum(a.nbytes + 256 for a in model.arrays.values())  # + .npy header and table entry
    if paillier_key is not None:
        weights = sum(a.size for a in model.arrays.values())
        arrays = weights * paillier_key.ciphertext_bytes + 4096 + 256
    return arrays + DEFAULT_LIMITS.max_manifest_bytes + 64 * 1024


#: Threads that score row chunks side by side, each GEMM on one BLAS thread (same bits).
_WORKERS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
_BLAS: Any = None


def _one_blas_thread() -> Any:
    """Each GEMM on one BLAS thread, the row chunks side by side on the node's own pool
    (`_WORKERS`), so two thread pools do not compete for the cores. Agreement between
    oracles no longer rests on this: a score is defined without BLAS and the fast GEMM's
    result is used only where a proven error bound settles it (F4)."""
    global _BLAS
    from threadpoolctl import ThreadpoolController

    if _BLAS is None:  # finding the libraries walks every loaded .so (~2 ms): do it once
        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")

"""Oracle scoring: the whole path per submission, the scoring step alone, early rejection.

    python benchmarks/scoring.py [--quick]     # prints a table and the JSON of this section

What is measured (results.json, key "scoring"):

- ``per_s_batched`` / ``per_s_single``: submissions per second through the oracle's own
  code, `OracleNode._report_for`: fetch each update from the store (the embedded store,
  the default back-end), decrypt it (ECIES unwrap of the oracle's key, AES-GCM), check its
  author, unpack and check it, apply it to the head and score every candidate with
  `models.score_many` (one BLAS thread, as the node does), quantise, pick the best, merge,
  pack, seal and pin the merged model, and store the report in SQLite. Batched: one call
  with 32 submissions; single: the same code with a batch of one. Only the chain is
  stubbed (`MemoryMarket`: the bounty's events and views come from memory, no RPC); the
  bounty is opened by `requester.open_bounty` and the updates submitted by
  `contributor.submit_then_publish` on it, and the node opens and checks the committed
  validation set once (it caches it per bounty), as its baseline does. Each update is
  sealed for the committee of 3 (F2), as `contribute` does.
  Keyed ``"<arch>/d=<d>/rows=<n>"``; models: softmax (10 classes) at d = 64 and 784 and a
  one-hidden-layer ReLU mlp (h = 32 at d = 64, h = 64 at d = 784), 10 classes.
- ``batched_speedup_b32``: the scoring step alone (`models.score_many`, one BLAS thread)
  for softmax d = 784 on 10k rows: 32 candidates in one call against 32 calls of one.
- ``gemm_fraction``: that batched call's GFLOP/s (2 n d k per candidate: the model's
  multiply-adds, not the zero padding) divided by numpy's own float32 matmul peak
  (a 2048 x 2048 x 2048 product, the better of numpy's default threads and one thread)
  timed in the same loop.
- ``gemm_fraction_log_loss``, ``gemm_fraction_mse``: the same batch scored for log loss
  and for mse (float32 GEMM; rows rounded to the metric's floating grid, see
  `fathom.ml.models`), against the same float32 peak. ``scoring_step.
  gemm_fraction_per_repetition``: each metric's ratio within each repetition of the loop
  (against that repetition's own peak), so that a change of load between repetitions
  cannot pair a slow peak with a fast step. ``scoring_step.gemm_fraction_per_cpu_second``:
  the GEMM work each metric's step does per CPU second of the process (all its threads)
  over what a 1-thread float32 GEMM does per CPU second; load moves it far less than wall
  time.
- ``kernel_agreement``: `benchmarks/kernels.py` (the same batches scored in child
  processes under every ``OPENBLAS_CORETYPE`` this CPU runs; scores differing per kernel).
- ``early_reject_*``: `models.score_screened` (a 1,024-row sample first, the full set only
  for candidates that could beat the head) against `models.score_many` of all, on a task
  where candidates really were trained: a 10-class, 784-feature task, the head trained on
  20k rows, 32 candidates per batch trained from it on 50-800-row shards (label noise 0,
  20 or 60 %, various learning rates and epochs; 15 % sent reversed and scaled, i.e.
  harmful), so that a few per batch beat the head. ``saving`` = 1 - screened time / full
  time; ``error_rate`` = candidates rejected although their full score beats the head,
  over all candidates. Mode ``estimate`` (sample score within 2 standard errors of the
  head) is the headline; the sound mode ``bound`` is recorded too. Headline model: the
  mlp (d = 784, h = 64: groups of 8 candidates); softmax d = 784 is recorded beside it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

_SRC = os.environ.get("FATHOM_BENCH_SRC")  # measure another copy of the package (experiments)
sys.path.insert(0, _SRC or str(Path(__file__).resolve().parent.parent))
sys.path.insert(1, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

import fathom  # noqa: E402
from fathom.ml import models
from fathom.ml import training  # noqa: E402
from fathom.ml.artefacts import DEFAULT_LIMITS, ValidationSet, pack_update  # noqa: E402
from fathom.chain.market import Event, Market  # noqa: E402
from fathom.crypto.envelope import account_address, generate_private_key, public_key_of, seal_for  # noqa: E402
from fathom.roles import requester as requester_role  # noqa: E402
from fathom.roles.contributor import submit_then_publish  # noqa: E402
from fathom.roles.oracle import OracleNode, _one_blas_thread  # noqa: E402
from fathom.roles.reader import MAX_ARTEFACT_BYTES, BountyReader  # noqa: E402
from fathom.storage.store import EmbeddedStore  # noqa: E402

from common import load, median, say, summary  # noqa: E402

BOUNTY = 1
K = 10
BATCH = 32
RESOLUTION = 10**14
# (architecture, d, hidden width)
MODELS = [("softmax", 64, None), ("softmax", 784, None), ("mlp", 64, 32), ("mlp", 784, 64)]
ROWS = [1_000, 10_000, 100_000]


# ---------------------------------------------------------------------------- data


def blobs(n: int, d: int, seed: int = 0, spread: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """A 10-class task in d dimensions: each class a Gaussian around its own mean."""
    rng = np.random.default_rng(seed)
    means = rng.normal(0.0, spread / math.sqrt(d) * 4, size=(K, d)).astype(np.float32)
    y = rng.integers(0, K, n).astype(np.int64)
    X = rng.standard_normal((n, d), dtype=np.float32)
    X += means[y]
    return X, y


def random_deltas(head: dict[str, np.ndarray], count: int, seed: int) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [{k: (rng.standard_normal(v.shape) * 0.01).astype(np.float32) for k, v in head.items()} for _ in range(count)]


# ---------------------------------------------------------------------------- the oracle, chain stubbed


class MemoryMarket:
    """The chain, in memory: the part of `fathom.chain.market.Market` that opening a bounty
    (`requester.open_bounty`), submitting (`contributor.submit_then_publish`) and an oracle's
    report (`OracleNode._report_for`, `BountyReader`) use, so that all three run their real
    code with no RPC. Events are `Event`s as the chain edge decodes them; views are the
    dicts `Market.bounty` / `Market.batch` / `Market.committee` return."""

    start_block = 0
    address = "0x" + "fa" * 20
    CHAIN_ID = 1337
    NOW = 1_800_000_000

    def __init__(self, keys: dict[str, bytes], sender: str):
        self.w3 = SimpleNamespace(eth=SimpleNamespace(chain_id=self.CHAIN_ID))
        self._keys = keys
        self._sender = sender
        self._events: list[Event] = []
        self._bounties: dict[int, dict[str, Any]] = {}
        self._submissions: dict[int, int] = {}
        self.head_score: dict[int, int] = {}

    def _emit(self, name: str, args: dict[str, Any]) -> None:
        block = len(self._events) + 1
        self._events.append(Event(name, args, block, "0x" + "00" * 32, 0))

    # the views
    def bounty_count(self) -> int:
        return len(self._bounties)

    def public_key(self, account: str) -> bytes:
        return self._keys[account]

    def now(self) -> int:
        return self.NOW

    def events(self, from_block: int | None = None, to_block: int | str = "latest", bounty_id: int | None = None,
               outcomes: bool = False) -> list[Event]:
        first = self.start_block if from_block is None else from_block
        last = len(self._events) if to_block == "latest" else int(to_block)
        return [e for e in self._events if first <= e.block <= last
                and (bounty_id is None or e.args.get("bountyId") == bounty_id)]

    def committee(self, bounty_id: int) -> tuple[list[str], int, int]:
        members = list(self._bounties[bounty_id]["committee"])
        everyone = (1 << len(members)) - 1
        return members, everyone, everyone

    def bounty(self, bounty_id: int) -> dict[str, Any]:
        p = self._bounties[bounty_id]
        return {"versionCount": 0, "nextBatch": 0, "batchSize": p["batchSize"], "higherIsBetter": p["higherIsBetter"],
                "headScore": self.head_score.get(bounty_id, 0), "scoringTimeout": p["scoringTimeout"],
                "trustSingleOracle": p["trustSingleOracle"]}

    def batch(self, bounty_id: int, batch: int) -> dict[str, Any]:
        """Every batch filled now and timing out a scoring timeout later; nobody reported yet."""
        return {"recordsHash": b"\0" * 32, "filledAt": self.NOW, "reportedMask": 0, "decided": False,
                "submissions": self._bounties[bounty_id]["batchSize"],
                "timeoutAt": self.NOW + self._bounties[bounty_id]["scoringTimeout"]}

    # the transactions
    def create_bounty(self, params: dict[str, Any]) -> int:
        bounty_id = len(self._bounties) + 1
        self._bounties[bounty_id] = dict(params)
        self._emit("BountyOpened", {"bountyId": bounty_id, "requester": self._sender, "params": dict(params)})
        return bounty_id

    def submit(self, bounty_id: int, base: int, update: tuple, stake_from: str = "wallet") -> int:
        submission = self._submissions.get(bounty_id, 0)
        self._submissions[bounty_id] = submission + 1
        self._emit("SubmissionReceived", {
            "bountyId": bounty_id, "submissionId": submission, "contributor": self._sender, "stake": 10**16,
            "baseVersion": base, "update": tuple(update),
            "batch": submission // self._bounties[bounty_id]["batchSize"]})
        return submission

    def as_sender(self, account: str) -> "MemoryMarket":
        self._sender = account
        return self


class OracleHarness:
    """One bounty opened by `requester.open_bounty` (sealed model, keyring, committed
    validation set) on a `MemoryMarket` over an embedded store, `count` sealed updates
    submitted by `count` different contributors (`contributor.submit_then_publish`), and
    one oracle node of its committee of 3, whose validation set is opened and checked
    against the commitment once (`_validation_set`) and whose baseline is the head's score."""

    def __init__(self, workdir: Path, manifest: dict[str, Any], head: dict[str, np.ndarray], X: np.ndarray,
                 y: np.ndarray, deltas: list[dict[str, np.ndarray]]):
        self.workdir = workdir
        self.store = EmbeddedStore(workdir / "store")
        self.oracle_keys = [generate_private_key() for _ in range(3)]
        requester_key = generate_private_key()
        requester = account_address(requester_key)
        committee = {account_address(k): public_key_of(k) for k in self.oracle_keys}
        self.market = MemoryMarket(dict(committee), requester)
        terms = requester_role.default_terms(MemoryMarket.NOW, list(committee), metric=manifest["metric"],
                                             validation_rows=len(y), batchSize=BATCH, resolution=RESOLUTION)
        val_manifest = {"task": "classification", "n_classes": K}
        # a role fetches at most MAX_ARTEFACT_BYTES (64 MiB) of an artefact: a larger set
        # (100k rows at d=784) is opened with the rows that fit, and the node's per-bounty
        # cache is then given the whole set (what `_validation_set` holds)
        limit = min(DEFAULT_LIMITS.max_total_bytes, MAX_ARTEFACT_BYTES) - (1 << 20)
        fit = max(1, min(len(y), limit // max(1, X[0].nbytes + 8)))
        self.truncated = fit < len(y)
        secrets = requester_role.open_bounty(self.market, self.store, requester_key, workdir / "requester",
                                             (manifest, head), (val_manifest, {"X": X[:fit], "y": y[:fit]}), terms)
        self.bounty = secrets.bounty_id
        for delta in deltas:
            author_key = generate_private_key()
            reader = BountyReader(self.market.as_sender(account_address(author_key)), self.store, self.bounty)
            chain_id, market_address = reader.domain
            sealed = seal_for(pack_update(manifest, delta), reader.recipients(), self.bounty, "update",
                              account_address(author_key), chain_id=chain_id, market=market_address)
            submit_then_publish(self.market, self.store, self.bounty, 0, sealed)
        self.records = Market.records_of(self.market.events(), self.bounty, 0)
        self.node = OracleNode(self.market, self.store, self.oracle_keys[0], workdir / "oracle",  # type: ignore[arg-type]
                               confirmations=0)
        self.node._validation_set(self.bounty)  # opens and checks the committed validation set, and caches it
        if self.truncated:
            self.node._validation[self.bounty] = ValidationSet(val_manifest, X, y)
        self.market.head_score[self.bounty] = self.node._baseline(self.bounty)
        self._batch = 0

    def report(self, records: list[tuple]) -> list[int]:
        """One `_report_for` call, with the views the node's `serve` passes it: the oracle's
        whole path for these submissions."""
        self._batch += 1  # a fresh batch number: a stored report would be re-sent, not recomputed
        view = self.market.bounty(self.bounty)
        batch = self.market.batch(self.bounty, self._batch)
        members = self.market.committee(self.bounty)[0]
        while True:
            report = self.node._report_for(self.bounty, self._batch, records, view, batch, members)
            if report is not None:  # None: the background fetches are still running (FETCH_WAIT)
                return report[0]["scores"]  # the per-submission scores of the report (R5 adds the merged score and shares)

    def close(self) -> None:
        self.node.close()
        self.node.db.close()


def whole_path(quick: bool = False, models_: list | None = None, rows_: list[int] | None = None) -> dict[str, Any]:
    """The per_s_batched / per_s_single tables."""
    batched: dict[str, Any] = {}
    single: dict[str, Any] = {}
    detail: dict[str, Any] = {}
    rows_ = rows_ or (ROWS[:2] if quick else ROWS)
    for arch, d, h in models_ or MODELS:
        manifest = models.make_manifest(arch, d, K, h=h, metric="accuracy")
        head = models.init_model(manifest, seed=1)
        deltas = random_deltas(head, BATCH, seed=2)
        Xall, yall = blobs(max(rows_), d, seed=3)
        workdir = Path(tempfile.mkdtemp(prefix="fathom-bench-scoring-"))
        try:
            for n in rows_:
                X, y = Xall[:n], yall[:n]
                harness = OracleHarness(workdir / f"rows{n}", manifest, head, X, y, deltas)
                try:
                    big = n >= 100_000
                    reps_b = 3 if big else 5
                    reps_s = 3 if big else 16
                    before = load()
                    harness.report(harness.records[:1])  # warm-up: keyring, head model, code paths
                    tb = []
                    for _ in range(reps_b):
                        t = time.perf_counter()
                        scores = harness.report(harness.records)
                        tb.append(time.perf_counter() - t)
                    assert len(scores) == BATCH and all(s != 2**32 - 1 for s in scores), scores
                    ts = []
                    for i in range(reps_s):
                        t = time.perf_counter()
                        harness.report(harness.records[i % BATCH: i % BATCH + 1])
                        ts.append(time.perf_counter() - t)
                    key = f"{arch}/d={d}/rows={n}"
                    batched[key] = round(BATCH / median(tb), 2)
                    single[key] = round(1 / median(ts), 2)
                    detail[key] = {
                        "model": {"architecture": arch, "d": d, "k": K, "h": h, "group": models.default_group(manifest)},
                        "validation": ("opened from a committed container of its first rows (64 MiB fetch limit), the "
                                       "whole set in the node's cache") if harness.truncated else "committed, opened",
                        "batch_of_32_s": summary(tb), "batch_of_1_s": summary(ts), "load_before": before,
                        "load_after": load(),
                    }
                    say(f"  {key:<28} batched {batched[key]:>9.2f}/s   single {single[key]:>8.2f}/s   "
                        f"(batch of 32: {median(tb) * 1e3:8.1f} ms, of 1: {median(ts) * 1e3:7.1f} ms; load {before[0]})")
                finally:
                    harness.close()
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    return {"per_s_batched": batched, "per_s_single": single, "whole_path_detail": detail}


# ---------------------------------------------------------------------------- the scoring step alone


def node_kwargs() -> dict[str, Any]:
    """How OracleNode calls `score_many` beyond the data: `workers=` where the package
    scores row chunks on several threads (each on one BLAS thread), else nothing."""
    import inspect

    import fathom.roles.oracle as oracle_module

    if "workers" in inspect.signature(models.score_many).parameters and hasattr(oracle_module, "_WORKERS"):
        return {"workers": oracle_module._WORKERS}
    return {}


def numpy_peak_gflops(n: int = 2048, threads: int | None = None) -> tuple[float, float]:
    """(seconds, GFLOP/s) of one float32 n x n x n product with numpy's default threads
    (or `threads` BLAS threads)."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((n, n), dtype=np.float32)
    B = rng.standard_normal((n, n), dtype=np.float32)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(threads, "blas") if threads else _nullcontext():
        A @ B
        t = time.perf_counter()
        A @ B
        s = time.perf_counter() - t
    return s, 2 * n**3 / s / 1e9


class _nullcontext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def scoring_step(quick: bool = False) -> dict[str, Any]:
    """batched_speedup_b32 and gemm_fraction: softmax d=784, 10 classes, 10k rows."""
    from threadpoolctl import threadpool_limits

    d, n = 784, 10_000
    manifest = models.make_manifest("softmax", d, K, metric="accuracy")
    head = models.init_model(manifest, seed=1)
    deltas = random_deltas(head, BATCH, seed=2)
    X, y = blobs(n, d, seed=3)
    X = models.canonical_features(X)  # as the node holds its validation set (read once per bounty)
    rng = np.random.default_rng(0)
    P = 2048
    A = rng.standard_normal((P, P), dtype=np.float32)
    B = rng.standard_normal((P, P), dtype=np.float32)
    reps = 7
    singles_per_rep = 8
    peak_t, peak1_t, batch_t, single_t, unpadded_t = [], [], [], [], []
    before = load()
    A @ B
    kw = node_kwargs()
    with _one_blas_thread():
        models.score_many(manifest, head, deltas, X, y, **kw)
        models.score_many(manifest, head, deltas[:1], X, y, **kw)
    # the same batch scored for log loss and for mse (float32 GEMM, rows on their floating
    # grid: see models' docstring), in the same loop, so against the same peak
    other_t: dict[str, list[float]] = {"log_loss": [], "mse": []}
    manifests = {metric: models.make_manifest("softmax", d, K, metric=metric) for metric in other_t}
    with _one_blas_thread():
        for manifest_m in manifests.values():
            models.score_many(manifest_m, head, deltas, X, y, **kw)
    # CPU seconds of the process (every thread): the scoring step's GEMM work per CPU second
    # against a 1-thread GEMM's, a figure that other jobs' load moves far less than wall time
    cpu_t: dict[str, list[float]] = {"peak_1_thread": [], "accuracy": [], "log_loss": [], "mse": []}
    for r in range(reps):
        t = time.perf_counter()
        A @ B  # numpy's own peak: its default threads (all cores)
        peak_t.append(time.perf_counter() - t)
        with threadpool_limits(1, "blas"):
            # this thread's CPU, not the process's: OpenBLAS's own thread, woken by the 2-thread
            # product just before, spins for ~0.1 s and would count as this product's CPU
            t, c = time.perf_counter(), time.thread_time()
            A @ B
            peak1_t.append(time.perf_counter() - t)
            cpu_t["peak_1_thread"].append(time.thread_time() - c)
        with _one_blas_thread():  # exactly as the oracle scores
            t, c = time.perf_counter(), time.process_time()
            values = models.score_many(manifest, head, deltas, X, y, **kw)
            batch_t.append(time.perf_counter() - t)
            cpu_t["accuracy"].append(time.process_time() - c)
            for metric, manifest_m in manifests.items():
                t, c = time.perf_counter(), time.process_time()
                models.score_many(manifest_m, head, deltas, X, y, **kw)
                other_t[metric].append(time.perf_counter() - t)
                cpu_t[metric].append(time.process_time() - c)
            for i in range(singles_per_rep):
                delta = deltas[(r * singles_per_rep + i) % BATCH]
                t = time.perf_counter()
                models.score_many(manifest, head, [delta], X, y, **kw)
                single_t.append(time.perf_counter() - t)
            # reference only: a lone candidate WITHOUT the padding (group=1): not what the
            # determinism contract allows, but what "one at a time" costs without it
            t = time.perf_counter()
            models.score_many(manifest, head, deltas[:1], X, y, group=1, **kw)
            unpadded_t.append(time.perf_counter() - t)
    with _one_blas_thread():
        one = models.score_many(manifest, head, deltas[:1], X, y, **kw)
    assert one[0] == values[0], "a lone candidate must score the same bits as in the batch"
    flops = 2.0 * n * d * K * BATCH
    peak_default = 2.0 * P**3 / median(peak_t) / 1e9
    peak1 = 2.0 * P**3 / median(peak1_t) / 1e9
    # numpy's peak is the better of its default threads and one thread: while another job
    # holds a core, a 2-thread OpenBLAS GEMM waits for its descheduled thread and can fall
    # below one thread
    peak = max(peak_default, peak1)
    gflops = flops / median(batch_t) / 1e9
    speedup = BATCH * median(single_t) / median(batch_t)
    other_gflops = {m: flops / median(ts) / 1e9 for m, ts in other_t.items()}
    fraction = {m: round(other_gflops[m] / peak, 3) for m in other_t}
    # the same ratio within each repetition (its own peak, the better of its two products),
    # so that a change of load between repetitions cannot pair a slow peak with a fast step
    rep_peak = [2.0 * P**3 / min(a, b) / 1e9 for a, b in zip(peak_t, peak1_t)]
    per_rep = {m: sorted(round(flops / t / 1e9 / pk, 3) for t, pk in zip(ts, rep_peak))
               for m, ts in (("accuracy", batch_t), *other_t.items())}
    out = {
        "batched_speedup_b32": round(speedup, 2),
        "gemm_fraction": round(gflops / peak, 3),
        "gemm_fraction_log_loss": fraction["log_loss"],
        "gemm_fraction_mse": fraction["mse"],
        "scoring_step": {
            "model": f"softmax, d=784, k=10, accuracy, 10,000 rows, chunk_rows={models.DEFAULT_CHUNK_ROWS}, group=32, "
                     "1 BLAS thread per GEMM",
            "score_many_kwargs": kw,
            "batch_of_32_s": summary(batch_t),
            "batch_of_1_s": summary(single_t),
            "batch_of_1_unpadded_s": summary(unpadded_t),
            "batched_speedup_b32_vs_unpadded_single": round(BATCH * median(unpadded_t) / median(batch_t), 2),
            "gflops": round(gflops, 2),
            "numpy_peak_gflops": round(peak, 2),
            "numpy_peak_default_threads_gflops": round(peak_default, 2),
            "numpy_peak_1_thread_gflops": round(peak1, 2),
            "gemm_fraction_of_1_thread_peak": round(gflops / peak1, 3),
            "log_loss_batch_of_32_s": summary(other_t["log_loss"]),
            "log_loss_gflops": round(other_gflops["log_loss"], 2),
            "mse_batch_of_32_s": summary(other_t["mse"]),
            "mse_gflops": round(other_gflops["mse"], 2),
            "log_loss_note": "the same batch for log loss and for mse: float32 GEMM, each row rounded to its metric's "
                             f"floating grid (models.ROW_BITS = {models.ROW_BITS}), rows the float32 bound leaves "
                             "uncertain recomputed in float64, then on the fixed-order path; timed in the same loop as "
                             "accuracy, against the same peak",
            "gemm_fraction_per_repetition": {m: {"median": median(v), "runs": v} for m, v in per_rep.items()},
            "gemm_fraction_per_cpu_second": {
                m: round(flops / median(cpu_t[m]) / (2.0 * P**3 / median(cpu_t["peak_1_thread"])), 3)
                for m in ("accuracy", "log_loss", "mse")},
            "cpu_seconds": {m: summary(v) for m, v in cpu_t.items()},
            "peak_method": f"float32 {P}x{P} @ {P}x{P}, median of {reps} on numpy's default threads and on one "
                           "thread, interleaved with the scoring runs; the peak is the better of the two",
            "load_before": before,
            "load_after": load(),
        },
    }
    say(f"  scoring step, softmax d=784, 10k rows: batch of 32 {median(batch_t) * 1e3:.1f} ms, of 1 "
        f"{median(single_t) * 1e3:.1f} ms (unpadded {median(unpadded_t) * 1e3:.1f} ms) -> speedup {speedup:.1f}x")
    say(f"  {gflops:.1f} GFLOP/s against numpy's peak {peak:.1f} (1 thread: {peak1:.1f}) -> fraction {gflops / peak:.2f}")
    for m, ts in other_t.items():
        say(f"  {m}: {median(ts) * 1e3:.1f} ms, {other_gflops[m]:.1f} GFLOP/s -> fraction {fraction[m]:.2f}")
    say("  per CPU second (against a 1-thread GEMM's): " + ", ".join(
        f"{m} {out['scoring_step']['gemm_fraction_per_cpu_second'][m]:.2f}" for m in ("accuracy", "log_loss", "mse")))
    say("  per repetition (median [min, max]): " + ", ".join(
        f"{m} {median(v):.2f} [{v[0]:.2f}, {v[-1]:.2f}]" for m, v in per_rep.items()))
    say(f"  load (1, 5, 15 min) before {before}, after {out['scoring_step']['load_after']}: other jobs' load moves "
        "these ratios by tens of percent (the paired comparison: --part ab)")
    return out


def _thread_times() -> dict[str, tuple[int, int]] | None:
    """Per thread of this process but the calling one: (ns running, ns runnable but waiting
    for a core), from /proc/self/task/*/schedstat (Linux); None where there is none."""
    import threading

    own = str(threading.get_native_id())
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return None
    out = {}
    for tid in tasks:
        if tid == own:
            continue
        try:
            running, waiting = Path(f"/proc/self/task/{tid}/schedstat").read_text().split()[:2]
        except (OSError, ValueError):
            continue
        out[tid] = (int(running), int(waiting))
    return out


def _workers_split(before: dict[str, tuple[int, int]] | None, after: dict[str, tuple[int, int]] | None,
                   wall: float) -> tuple[float, float, float] | None:
    """Seconds the threads that ran during a call of ``wall`` seconds spent, summed over
    them: running, waiting for a core (other jobs), blocked (neither: the GIL, a lock, an
    empty queue)."""
    if before is None or after is None:
        return None
    running = waiting = blocked = 0.0
    for tid, (r1, q1) in after.items():
        r0, q0 = before.get(tid, (r1, q1))
        if r1 - r0 > 100_000:  # it worked in this call (0.1 ms or more)
            running += (r1 - r0) / 1e9
            waiting += (q1 - q0) / 1e9
            blocked += max(0.0, wall - (r1 - r0) / 1e9 - (q1 - q0) / 1e9)
    return running, waiting, blocked


def load_models(path: Path, name: str) -> Any:
    """Another copy of `fathom/ml/models.py` as a module of its own (it imports the rest of
    the package from this tree)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def paired(base: str = "main", reps: int = 11, rows: int = 10_000) -> dict[str, Any]:
    """The scoring step of this tree's scorer against `fathom/ml/models.py` at git ref
    ``base`` (or a models.py file of that path), in one process, alternating (ABBA) within
    each repetition with the numpy peak measured beside them: other jobs' load falls on both
    sides alike, so the paired speed ratio (base's time / this tree's) says what a change is
    worth where the fraction itself cannot. Both sides must give the same score bits. On
    Linux, each batch's worker threads are split (`_thread_times`) into running, waiting
    for a core, and blocked (the GIL, the pool's queue at both ends)."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    if Path(base).is_file():  # a copy of models.py (an experiment)
        source = Path(base).read_text()
    else:
        source = subprocess.run(["git", "-C", str(root), "show", f"{base}:fathom/ml/models.py"], check=True,
                                capture_output=True, text=True).stdout
    workdir = Path(tempfile.mkdtemp(prefix="fathom-bench-ab-"))
    try:
        (workdir / "models_base.py").write_text(source)
        other = load_models(workdir / "models_base.py", "fathom_bench_models_base")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    from threadpoolctl import threadpool_limits

    d, n = 784, rows
    metrics = ("accuracy", "log_loss", "mse")
    manifests = {m: models.make_manifest("softmax", d, K, metric=m) for m in metrics}
    head = models.init_model(manifests["accuracy"], seed=1)
    deltas = random_deltas(head, BATCH, seed=2)
    X, y = blobs(n, d, seed=3)
    P = 2048
    rng = np.random.default_rng(0)
    A = rng.standard_normal((P, P), dtype=np.float32)
    B = rng.standard_normal((P, P), dtype=np.float32)
    kw = node_kwargs()
    sides = {"base": other, "this": models}
    with _one_blas_thread():
        for m in metrics:  # warm-up, and the same bits on both sides
            got = {side: mod.score_many(manifests[m], head, deltas, X, y, **kw) for side, mod in sides.items()}
            assert got["base"].tobytes() == got["this"].tobytes(), f"{m}: the two scorers give different scores"
    times: dict[tuple[str, str], list[float]] = {(side, m): [] for side in sides for m in metrics}
    cpu: dict[tuple[str, str], list[float]] = {(side, m): [] for side in sides for m in metrics}
    split: dict[tuple[str, str], list[tuple[float, float, float]]] = {(side, m): [] for side in sides for m in metrics}
    peaks: list[float] = []
    loads = [load()[0]]
    for r in range(reps):
        t = time.perf_counter()
        A @ B
        two = time.perf_counter() - t
        with threadpool_limits(1, "blas"):
            t = time.perf_counter()
            A @ B
            one = time.perf_counter() - t
        peaks.append(2.0 * P**3 / min(one, two) / 1e9)
        with _one_blas_thread():
            for m in metrics:
                for side in (("base", "this", "this", "base") if r % 2 == 0 else ("this", "base", "base", "this")):
                    before_threads = _thread_times()
                    t, c = time.perf_counter(), time.process_time()
                    sides[side].score_many(manifests[m], head, deltas, X, y, **kw)
                    times[(side, m)].append(time.perf_counter() - t)
                    cpu[(side, m)].append(time.process_time() - c)
                    workers = _workers_split(before_threads, _thread_times(), times[(side, m)][-1])
                    if workers is not None:
                        split[(side, m)].append(workers)
        loads.append(load()[0])
    flops = 2.0 * n * d * K * BATCH
    out: dict[str, Any] = {"base": base, "repetitions": reps, "load_1min": [min(loads), max(loads)],
                           "numpy_peak_gflops_median": round(median(peaks), 1), "metrics": {}}
    say(f"  paired A/B against {base}'s models.py, {reps} repetitions (ABBA), load {min(loads):.2f}-{max(loads):.2f}, "
        f"peak median {median(peaks):.1f} GFLOP/s")
    for m in metrics:
        b_t, t_t = times[("base", m)], times[("this", m)]
        per_rep = [(b_t[2 * i] + b_t[2 * i + 1]) / (t_t[2 * i] + t_t[2 * i + 1]) for i in range(reps)]
        frac = {side: median([flops / ((ts[2 * i] + ts[2 * i + 1]) / 2) / 1e9 / peaks[i] for i in range(reps)])
                for side, ts in (("base", b_t), ("this", t_t))}
        # CPU seconds of the process (both workers): the work a change saves, which load moves far less
        b_c, t_c = cpu[("base", m)], cpu[("this", m)]
        cpu_rep = [(b_c[2 * i] + b_c[2 * i + 1]) / (t_c[2 * i] + t_c[2 * i + 1]) for i in range(reps)]
        out["metrics"][m] = {"speed_ratio_median": round(median(per_rep), 3), "speed_ratio_runs": sorted(
            round(x, 3) for x in per_rep), "base_ms": round(median(b_t) * 1e3, 2), "this_ms": round(median(t_t) * 1e3, 2),
            "cpu_ratio_median": round(median(cpu_rep), 3), "base_cpu_ms": round(median(b_c) * 1e3, 2),
            "this_cpu_ms": round(median(t_c) * 1e3, 2),
            "gemm_fraction_base": round(frac["base"], 3), "gemm_fraction_this": round(frac["this"], 3)}
        if split[("base", m)] and split[("this", m)]:
            out["metrics"][m]["workers_ms_per_batch"] = {side: {
                part: round(median([w[i] for w in split[(side, m)]]) * 1e3, 2)
                for i, part in enumerate(("running", "waiting_for_a_core", "blocked"))} for side in sides}
        say(f"  {m:9s} base {median(b_t) * 1e3:6.1f} ms, this {median(t_t) * 1e3:6.1f} ms: speed ratio "
            f"{median(per_rep):.3f} [{min(per_rep):.2f}, {max(per_rep):.2f}]; CPU {median(b_c) * 1e3:.1f} -> "
            f"{median(t_c) * 1e3:.1f} ms (ratio {median(cpu_rep):.3f}); fraction of the peak "
            f"{frac['base']:.2f} -> {frac['this']:.2f}")
        if "workers_ms_per_batch" in out["metrics"][m]:
            say("            workers per batch (both, ms: running / waiting for a core / blocked): " + "; ".join(
                f"{side} " + " / ".join(f"{v:.1f}" for v in parts.values())
                for side, parts in out["metrics"][m]["workers_ms_per_batch"].items()))
    return out


# ---------------------------------------------------------------------------- early rejection


def _supports_mode(mode: str) -> bool:
    """Whether models.screen knows `mode` (a paired mode is a proposed change)."""
    manifest = models.make_manifest("softmax", 2, 2)
    head = models.init_model(manifest)
    try:
        models.screen(manifest, head, [], np.zeros((1, 2), np.float32), np.zeros(1, np.int64), None, 0.5, mode=mode)
    except models.ModelError:
        return False
    return True


def early_reject(quick: bool = False) -> dict[str, Any]:
    """score_screened against score_many on candidates that were really trained."""
    out: dict[str, Any] = {}
    cases = [("softmax", 784, None), ("mlp", 784, 64)]
    n = 10_000
    trials = 3 if quick else 5
    for arch, d, h in cases:
        manifest = models.make_manifest(arch, d, K, h=h, metric="accuracy")
        X, y = blobs(n + 40_000, d, seed=5, spread=0.5)
        Xv, yv = X[:n], y[:n]
        # the head: well trained on 20k rows (a bounty some way in); candidates start from
        # it and train on small private shards of the other 20k, some with noisy labels
        head = training.train(manifest, models.init_model(manifest, seed=1), X[n:n + 20_000], y[n:n + 20_000],
                              lr=0.05, epochs=5, batch_size=50, seed=1)
        pool_X, pool_y = X[n + 20_000:], y[n + 20_000:]
        rng = np.random.default_rng(9)
        with _one_blas_thread():
            head_score = models.score(manifest, head, Xv, yv)
        case: dict[str, Any] = {"head_score": round(head_score, 4), "group": models.default_group(manifest), "modes": {}}
        deltas_by_trial = []
        for trial in range(trials):
            deltas = []
            for i in range(BATCH):
                idx = rng.choice(len(pool_y), size=int(rng.integers(50, 800)), replace=False)
                sy = pool_y[idx].copy()
                flip = rng.random(len(sy)) < rng.choice([0.0, 0.2, 0.6])
                sy[flip] = rng.integers(0, K, int(flip.sum()))
                trained = training.train(manifest, head, pool_X[idx], sy, lr=float(rng.choice([0.01, 0.05, 0.2])),
                                         epochs=int(rng.integers(1, 4)), batch_size=32, seed=trial * 100 + i)
                delta = training.make_update(head, trained)
                if rng.random() < 0.15:  # a harmful update
                    delta = {k: (v * np.float32(-20)).astype(np.float32) for k, v in delta.items()}
                deltas.append(delta)
            deltas_by_trial.append(deltas)
        kw = node_kwargs()
        modes = [("estimate", None), ("bound", 0.0)]
        if _supports_mode("paired"):
            modes.insert(1, ("paired", None))
        for mode, margin in modes:
            full_t, scr_t, improvers, wrong, kept_total, best_changed, total = [], [], 0, 0, 0, 0, 0
            for deltas in deltas_by_trial:
                with _one_blas_thread():
                    t = time.perf_counter()
                    full = models.score_many(manifest, head, deltas, Xv, yv, **kw)
                    full_t.append(time.perf_counter() - t)
                    if margin is not None:
                        m = margin
                    elif mode == "paired":  # 2 standard errors of a paired difference with <= 10 % discordant rows
                        m = 2 * math.sqrt(0.10 / 1024)
                    else:  # 2 standard errors of a 1,024-row sample accuracy
                        m = 2 * math.sqrt(max(head_score * (1 - head_score), 1e-4) / 1024)
                    t = time.perf_counter()
                    scr, kept = models.score_screened(manifest, head, deltas, Xv, yv, None, head_score, margin=m,
                                                      sample_rows=1024, mode=mode, **kw)
                    scr_t.append(time.perf_counter() - t)
                better = full > head_score
                improvers += int(better.sum())
                wrong += int((better & ~kept).sum())
                kept_total += int(kept.sum())
                total += len(deltas)
                best_full = int(np.nanargmax(full))
                best_scr = int(np.nanargmax(np.where(kept, scr, -np.inf))) if kept.any() else -1
                best_changed += int(best_full != best_scr and full[best_full] > head_score)
            saving = 1 - median(scr_t) / median(full_t)
            case["modes"][mode] = {
                "margin": margin if margin is not None else round(m, 4),
                "margin_rule": {"estimate": "2 standard errors of a 1,024-row sample accuracy, sqrt(p(1-p)/1024)",
                                "paired": "2 standard errors of a paired difference, sqrt(0.10/1024) (near-head "
                                          "candidates disagree with the head on 2-14 % of rows here)",
                                "bound": "sound: unseen rows assumed perfect"}[mode],
                "saving": round(saving, 3),
                "error_rate": round(wrong / total, 4),
                "missed_improvers": f"{wrong}/{improvers}",
                "kept_fraction": round(kept_total / total, 3),
                "batch_winner_changed": f"{best_changed}/{len(deltas_by_trial)}",
                "full_s": summary(full_t),
                "screened_s": summary(scr_t),
            }
            say(f"  early rejection {arch} d={d} ({mode}): kept {kept_total}/{total}, saving {saving:+.1%}, "
                f"wrongly rejected {wrong}/{improvers} improvers")
        out[f"{arch}/d={d}/rows={n}"] = case
    main_mode = "estimate"  # the package's statistical mode; "bound" (sound) and "paired" (if present) beside it
    main_case = out["mlp/d=784/rows=10000"]["modes"][main_mode]
    return {
        "early_reject_saving": main_case["saving"],
        "early_reject_error_rate": main_case["error_rate"],
        "early_reject": {
            "headline": f"mlp d=784 h=64, 10k rows, batches of 32, mode={main_mode}, 1,024-row sample",
            "softmax_d784": out["softmax/d=784/rows=10000"]["modes"][main_mode],
            "cases": out,
            "note": "score_screened pads survivors to whole groups (the determinism contract), so only "
                    "whole groups of rejected candidates save work: softmax d=784 has one group of 32, "
                    "so no saving is possible there with a batch of 32",
        },
    }


def run(quick: bool = False) -> dict[str, Any]:
    from common import machine  # noqa: F401 - keeps the import cheap when unused

    say("scoring: the oracle's whole path (fetch, decrypt, check, apply, score, merge, seal, pin)")
    out = whole_path(quick)
    say("scoring: the scoring step alone")
    out.update(scoring_step(quick))
    say("scoring: early rejection")
    out.update(early_reject(quick))
    import kernels

    say("scoring: the same batches under every OpenBLAS kernel this CPU runs (child processes)")
    out["kernel_agreement"] = kernels.run(quick)
    out["fathom_source"] = str(Path(fathom.__file__).parent)
    return out


def record_step(out: dict[str, Any], path: Path | None = None) -> None:
    """Write the scoring step's figures into benchmarks/results.json's ``scoring`` section
    (the other sections and the rest of ``scoring`` kept), with when it ran, the load
    before and after, and the targets table recomputed."""
    import datetime as dt

    import run as run_module
    from common import write_json

    path = path or run_module.RESULTS
    results = json.loads(path.read_text()) if path.exists() else {}
    results.setdefault("scoring", {}).update(out)
    results.setdefault("sections", {})["scoring_step"] = {
        "ran": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": "python benchmarks/scoring.py --part step",
        "load_before": out["scoring_step"]["load_before"], "load_after": out["scoring_step"]["load_after"]}
    results["targets"] = run_module.targets(results)
    write_json(path, results)
    say(f"  wrote the scoring step's figures into {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1k and 10k rows only, fewer trials")
    parser.add_argument("--part", choices=("whole", "step", "early", "kernels", "ab", "all"), default="all",
                        help="step: the scoring step's GEMM fraction per metric (and the load), written into "
                             "benchmarks/results.json's scoring section; ab: this tree's "
                             "scoring step against --base's, paired in one process")
    parser.add_argument("--base", default="main",
                        help="--part ab: the git ref whose fathom/ml/models.py is compared (or a models.py file)")
    parser.add_argument("--reps", type=int, default=11, help="--part ab: repetitions")
    parser.add_argument("--json", type=Path, help="write this section's JSON here")
    args = parser.parse_args()
    if args.part == "whole":
        out = whole_path(args.quick)
    elif args.part == "step":
        out = scoring_step(args.quick)
        record_step(out)
    elif args.part == "ab":
        out = paired(args.base, args.reps)
    elif args.part == "early":
        out = early_reject(args.quick)
    elif args.part == "kernels":
        import kernels

        out = {"kernel_agreement": kernels.run(args.quick)}
    else:
        out = run(args.quick)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

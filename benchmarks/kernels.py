"""Do scores depend on the OpenBLAS kernel? The same batches scored under every kernel.

    python benchmarks/kernels.py [--quick]    # prints a table and the JSON of this section

What is measured (results.json, key "scoring.kernel_agreement"): one child process per
``OPENBLAS_CORETYPE`` this CPU can run (SkylakeX needs AVX-512, Haswell and Zen AVX2 + FMA,
Sandybridge AVX, Nehalem SSE4.2; each child is named by the kernel threadpoolctl reports,
since several names load the same kernel, e.g. Zen loads Haswell's), plus one child with
the environment as it is (the reference). ``OPENBLAS_CORETYPE`` is set only in the
children's environments; the parent and the test suite never touch it.

Every child builds the same batches from fixed seeds and scores them with
`models.score_many` exactly as the oracle node does (one BLAS thread per GEMM, row chunks
on two workers), then quantises each score to score units (resolution 1e-4, as
`default_terms`). The batches (10,000 validation rows each):

- softmax, d = 784, 10 classes, 32 candidates, for accuracy, log loss and mse: 24 random
  updates and 8 crafted ties (two bit-identical output columns that lead on every row;
  the same columns one ulp apart on a feature that is 0 on every row; a class that
  equals another plus a bias exactly where two features are equal; a scaled copy);
- mlp, d = 784, h = 64, 10 classes, 16 candidates (2 crafted: bit-identical output
  columns), accuracy and log loss;
- logistic, d = 784, features on a 1/4 grid, 16 candidates of which 8 put whole rows
  exactly at the sigmoid's threshold (z = x_a - x_b), accuracy and log loss.

- subnormal inputs, softmax d = 784, 10 classes, accuracy and log loss: feature 6 scaled into
  float32's subnormals (times 2^-128) and weights near 2^126 on it (logits of order 1); two
  leading units at 0 (the rest 100 below), tied but for x_10 times a subnormal weight; a
  head and an update that sum to a subnormal weight;
- a deep mlp (784 -> 1 -> ... -> 1 -> 2, nine layers, ReLU) whose fixed-order float64 logit
  of unit 1 underflows to float64's subnormals (x 2^-1034), accuracy.

The same batches are also scored by one child per FP mode (``fp_modes``: ``daz``, ``ftz``,
``daz+ftz``; the default kernel): DAZ (subnormal inputs read as 0) and FTZ (subnormal
results written as 0) set in the child's MXCSR before numpy loads, so that OpenBLAS's
threads inherit them, and proven there in the main thread and in a GEMM on every BLAS
thread (`benchmarks/fpmode.py`); the parent never changes its own FP mode.

Per kernel: how many scores differ from the reference child in their float64 bits
(``scores_differ``) and in score units (``units_differ``, and the largest gap), out of
``scores``. The control (``plain_float32``) scores the same candidates the plain way
(float32 logits from one GEMM, then the metric in float64): it shows that the kernels do
round differently, so that 0 above is a property of the scorer, not of the data.
``elementwise_differing``: per kernel, which of numpy's float64 exp / log / log1p / tanh
gave other bits than in the reference child on fixed arguments (the scorer's only
operations that IEEE does not round exactly; they are not BLAS, so none should); results
below float64's normal range are hashed as zero (FTZ writes them so; the scorer never
depends on them: such an exp is added to a sum of at least 1, `fathom.ml.models`).
``differing_fp_modes``: per FP mode, scores whose bits differ from the reference child's
(the plain control there shows that the subnormal batches do change under the mode).

Batch decisions (issue 14.8): every child also decides 12 mirror-tied batches with
`aggregate.decide` (softmax, d = 784, 10 classes, accuracy / log loss / mse, 4 seeds each;
`mirror_batch`: two updates from two contributors whose per-row values are each other's on
mirrored rows, an exact tie, with an odd reward) and 8 near copies (`near_copy_batch`, log
loss, d = 784) decided with G3's threshold set at their fixed-order logit cosine
(`exact_logit_cosine`); ``differing_decisions`` counts, per
kernel and per FP mode, decisions whose merged ids, shares or merged bytes differ from the
reference child's (0 is the target: honest members must vote alike, R5). The control
(``plain_float32.decisions_differ``) compares the two updates' lower bounds computed on
float32 BLAS goodness (`significance.row_goodness`, what `decide` read before the fix).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

_SRC = os.environ.get("FATHOM_BENCH_SRC")
sys.path.insert(0, _SRC or str(Path(__file__).resolve().parent.parent))
sys.path.insert(1, str(Path(__file__).resolve().parent))

#: OPENBLAS_CORETYPE names to try, and the CPU flags each kernel needs.
CORETYPES = [("SkylakeX", {"avx512f", "avx512bw", "avx512vl", "avx512dq"}), ("Haswell", {"avx2", "fma"}),
             ("Zen", {"avx2", "fma"}), ("Sandybridge", {"avx"}), ("Nehalem", {"sse4_2"})]
#: FP modes scored in children of their own (`benchmarks/fpmode.py`), under the default kernel
FP_MODES = ("daz", "ftz", "daz+ftz")
RESOLUTION = 1e-4
ROWS = 10_000


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


# ---------------------------------------------------------------------------- the child


def _batches(quick: bool) -> list[dict[str, Any]]:
    """The batches every child scores: (name, manifest, head, deltas, X, y), from seeds."""
    import numpy as np

    from fathom.ml import models

    n = 2_000 if quick else ROWS
    rng = np.random.default_rng(20261206)
    d, k = 784, 10
    means = rng.normal(0.0, 4 / np.sqrt(d), size=(k, d)).astype(np.float32)
    y = rng.integers(0, k, n).astype(np.int64)
    X = rng.standard_normal((n, d), dtype=np.float32) + means[y]
    X[:, 5] = 0.0  # a feature that is 0 on every row (as a border pixel is)
    Xq = (np.round(X * 4) / 4).astype(np.float32)  # features on a grid: many exactly equal pairs
    out = []

    def rand(head: dict, count: int, scale: float) -> list[dict]:
        return [{key: (rng.standard_normal(v.shape) * scale).astype(np.float32) for key, v in head.items()}
                for _ in range(count)]

    for metric in ("accuracy", "log_loss", "mse"):
        man = models.make_manifest("softmax", d, k, metric=metric)
        head = models.init_model(man, seed=1)
        deltas = rand(head, 24, 0.01)
        trained = head["W0"] + means.T * 0.5  # a head that actually separates the classes
        for scale in (1.0, 3.0):
            W = trained * np.float32(scale)
            dup = W.copy()
            dup[:, 7] = dup[:, 3] = np.abs(W[:, 3]) * 2 + 0.01  # bit-identical leaders
            near = dup.copy()
            near[5, 7] = np.nextafter(near[5, 3], np.float32(1))  # differ only where x_5 = 0
            shift = W.copy()
            shift[:, 4] = 0
            shift[:, 6] = 0
            shift[20, 4], shift[21, 4] = 1.0, -1.0
            b_shift = np.zeros(k, np.float32)
            b_shift[4] = b_shift[6] = 50.0  # unit 4 = 50 + x_20 - x_21 ties unit 6 = 50 where x_20 == x_21
            for W_, b_ in ((dup, None), (near, None), (shift, b_shift), (W, None)):
                b_ = np.zeros(k, np.float32) if b_ is None else b_
                deltas.append({"W0": (W_ - head["W0"]).astype(np.float32), "b0": (b_ - head["b0"]).astype(np.float32)})
        Xs = Xq if metric == "accuracy" else X  # the bias-shifted tie needs exactly equal features
        out.append({"name": f"softmax/d=784/{metric}", "manifest": man, "head": head, "deltas": deltas, "X": Xs, "y": y})
    for metric in ("accuracy", "log_loss"):
        man = models.make_manifest("mlp", d, k, h=64, metric=metric)
        head = models.init_model(man, seed=2)
        deltas = rand(head, 14, 0.01)
        for _ in range(2):
            dup = {key: v.copy() for key, v in head.items()}
            dup["W1"][:, 8] = dup["W1"][:, 1]
            dup["b1"][8] = dup["b1"][1] = 5.0
            deltas.append({key: (dup[key] - head[key]).astype(np.float32) for key in head})
        out.append({"name": f"mlp/d=784/h=64/{metric}", "manifest": man, "head": head, "deltas": deltas, "X": X, "y": y})
    Xs = X.copy()  # feature 6 in float32's subnormals where |x| < 4 (the rest of the row as it is)
    Xs[:, 6] = (X[:, 6].astype(np.float64) * 2.0**-128).astype(np.float32)
    for metric in ("accuracy", "log_loss"):
        man = models.make_manifest("softmax", d, k, metric=metric)
        head = models.init_model(man, seed=4)
        head["W0"][10, 7] = np.float32(1.5 * 2.0**-126)
        deltas = rand(head, 4, 0.01)
        trained = head["W0"] + means.T * 0.5
        for i in range(4):
            big = trained.copy()  # x_6 2^-128 times weights near 2^126: logits moved by about x_6 / 4
            big[6] = (rng.uniform(-1.5, 1.5, k) * 2.0**126).astype(np.float32)
            tie = trained.copy()  # units 3 and 7 at 0 lead the rest (bias -100), equal but for x_10 times a subnormal weight
            tie[:, 3] = tie[:, 7] = 0
            tie[10, 7] = np.array([0x100 << i], np.uint32).view(np.float32)[0]
            b_tie = np.full(k, -100.0, np.float32)
            b_tie[3] = b_tie[7] = 0.0
            summed = tie.copy()  # the head's 1.5 * 2^-126 plus -2^-126: a subnormal merged weight
            for W_, b_ in ((big, None), (tie, b_tie), (summed, b_tie)):
                b_ = np.zeros(k, np.float32) if b_ is None else b_
                dl = {"W0": (W_ - head["W0"]).astype(np.float32), "b0": (b_ - head["b0"]).astype(np.float32)}
                if W_ is summed:
                    dl["W0"][10, 7] = np.float32(-(2.0**-126))
                deltas.append(dl)
        out.append({"name": f"subnormal/softmax/d=784/{metric}", "manifest": man, "head": head, "deltas": deltas,
                    "X": Xs, "y": y})
    # a deep mlp: x_10 2^-26 (times 1 + i/8), then seven hidden units times 2^-126 each, then
    # 2^-126: the fixed-order logit of unit 1 is about x_10 2^-1034, a float64 subnormal
    deep = {"architecture": "mlp", "metric": "accuracy", "activation": "relu",
            "layers": [[d, 1]] + [[1, 1]] * 7 + [[1, 2]]}
    head = {key: np.zeros_like(v) for key, v in models.init_model(deep).items()}
    deltas = []
    for i in range(8):
        p = {key: v.copy() for key, v in head.items()}
        p["W0"][10, 0] = np.float32(2.0**-26 * (1 + i / 8))
        for j in range(1, 8):
            p[f"W{j}"][0, 0] = np.float32(2.0**-126)
        p["W8"][0, 1] = np.float32(2.0**-126)
        deltas.append(p)
    out.append({"name": "underflow/mlp/deep/accuracy", "manifest": deep, "head": head, "deltas": deltas,
                "X": np.abs(X), "y": np.ones_like(y)})
    for metric in ("accuracy", "log_loss"):
        man = models.make_manifest("logistic", d, 2, metric=metric)
        head = models.init_model(man, seed=3)
        yb = (y % 2).astype(np.int64)
        deltas = rand(head, 8, 0.05)
        for i in range(8):
            W = np.zeros((d, 1), np.float32)
            W[30 + i, 0], W[300 + i, 0] = 1.0 + i, -(1.0 + i)  # z = (1+i)(x_a - x_b): 0 wherever they are equal
            deltas.append({"W0": W - head["W0"], "b0": -head["b0"]})
        out.append({"name": f"logistic/d=784/{metric}/threshold", "manifest": man, "head": head, "deltas": deltas,
                    "X": Xq, "y": yb})
    return out


#: the batch decisions (`aggregate.decide`) every child makes: mirror ties per metric and seed
DECIDE_METRICS = ("accuracy", "log_loss", "mse")
DECIDE_SEEDS = (1, 2, 3, 4)
#: odd, so that an exact tie of two shares leaves one unit to the tie rule (G5)
DECIDE_REWARD = 10_001
#: near copies decided at a G3 threshold equal to their fixed-order logit cosine
NEAR_SEEDS = tuple(range(8))


def mirror_batch(metric: str, seed: int, rows: int = 300, half: int = 48, k: int = 4) -> tuple[Any, ...]:
    """(manifest, head, [A, B], X, y), a batch whose decision is an exact tie: the rows come
    in pairs (u, v) and (v, u), the head weighs both feature blocks alike, update A moves the
    first block's weights and update B the second's by the same amounts. In exact
    arithmetic A's per-row values are B's on the mirrored rows (equal tests, lower bounds
    and Shapley values: ties go to the lower id, G4, G5); a float32 GEMM sums the two blocks
    at other positions, so each kernel rounds A's rows and B's rows differently.
    (`tests/python/test_decide_kernels.py` decides small ones under every kernel.)"""
    import numpy as np

    from fathom.ml import models

    rng = np.random.default_rng(seed)
    d = 2 * half
    means = rng.normal(0.0, 1.0, size=(k, half)).astype(np.float32)
    y = rng.integers(0, k, rows).astype(np.int64)
    u = (means[y] + rng.standard_normal((rows, half))).astype(np.float32)
    v = (means[y] + rng.standard_normal((rows, half))).astype(np.float32)
    X = np.concatenate([np.hstack([u, v]), np.hstack([v, u])]).astype(np.float32)
    yy = np.concatenate([y, y])
    manifest = models.make_manifest("softmax", d, k, metric=metric)
    H = (rng.standard_normal((half, k)) * 0.05).astype(np.float32)
    head = {"W0": np.vstack([H, H]).astype(np.float32), "b0": (rng.standard_normal(k) * 0.1).astype(np.float32)}
    step = (means.T * np.float32(0.05) + rng.standard_normal((half, k)).astype(np.float32) * np.float32(0.01))
    step = step.astype(np.float32)
    zero = np.zeros_like(step)
    a = {"W0": np.vstack([step, zero]), "b0": np.zeros(k, np.float32)}
    b = {"W0": np.vstack([zero, step]), "b0": np.zeros(k, np.float32)}
    return manifest, head, [a, b], X, yy


def near_copy_batch(seed: int, rows: int = 600, d: int = 96, k: int = 4) -> tuple[Any, ...]:
    """(manifest, head, [A, B], X, y): B is A plus Gaussian noise of 20 % of its norm, from
    another contributor; both beat the head. Their logit changes' cosine (G3's second) is
    about 0.99, above their deltas' cosine. Built without BLAS (norms by fsum), so every
    child builds the same bits."""
    import math

    import numpy as np

    from fathom.ml import models

    rng = np.random.default_rng(100 + seed)
    means = rng.normal(0.0, 1.0, size=(k, d)).astype(np.float32)
    y = rng.integers(0, k, rows).astype(np.int64)
    X = (means[y] + rng.standard_normal((rows, d))).astype(np.float32)
    manifest = models.make_manifest("softmax", d, k, metric="log_loss")
    head = {"W0": (rng.standard_normal((d, k)) * 0.05).astype(np.float32), "b0": np.zeros(k, np.float32)}
    step = (means.T * np.float32(0.03)).astype(np.float32)
    noise = rng.standard_normal((d, k))
    norm = lambda a: math.sqrt(math.fsum((np.asarray(a, dtype=np.float64) ** 2).ravel().tolist()))  # no BLAS
    noise *= 0.2 * norm(step) / norm(noise)
    a = {"W0": step, "b0": np.zeros(k, np.float32)}
    b = {"W0": (step + noise).astype(np.float32), "b0": np.zeros(k, np.float32)}
    return manifest, head, [a, b], X, y


def exact_logit_cosine(manifest: Any, head: Any, deltas: Any, X: Any) -> float:
    """G3's second cosine of the two updates on the fixed-order float64 logits (no BLAS):
    each row's logit change centred by its mean summed over the units in order, then the
    exactly rounded cosine (`aggregate.cosine`). Written on the scorer's fixed-order path
    (`_Group.exact_logits`) so that it runs on older trees too (`FATHOM_BENCH_SRC`)."""
    import numpy as np

    from fathom.ml import aggregate, models

    spec = models.model_spec(manifest)
    Xf = models._features(spec, X)

    def fixed(params):
        group = models._Group(spec, [models.check_params(spec, params)], 1, np.float32)
        rows = np.arange(Xf.shape[0])
        return group.exact_logits(spec, Xf, rows, np.zeros(len(rows), dtype=np.int64))

    def centred(Z):
        total = np.zeros(Z.shape[0])
        for j in range(Z.shape[1]):
            total += Z[:, j]
        return Z - (total / Z.shape[1])[:, None]

    Zh = fixed(head)
    a, b = (centred(fixed(models.apply_update(head, d)) - Zh).ravel() for d in deltas)
    return aggregate.cosine(a, b)


def decide_batches(quick: bool) -> dict[str, Any]:
    """Each mirror batch decided as the oracle node decides (`aggregate.decide`, one BLAS
    thread per GEMM, two workers): the merged ids, the shares, the merged delta's digest and
    the updates' own lower bounds; and the control (``plain``): the same lower bounds on
    float goodness from float32 BLAS outputs (`significance.row_goodness`, what `decide` used
    before issue 14.8's fix), whose bits show whether the kernels round these batches
    differently at all."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    from fathom.ml import aggregate, models, significance

    rows, half, k = (1_000, 392, 10) if quick else (ROWS // 2, 392, 10)
    out: dict[str, Any] = {}
    for metric in DECIDE_METRICS:
        for seed in DECIDE_SEEDS:
            manifest, head, deltas, X, y = mirror_batch(metric, seed, rows, half, k)
            subs = [aggregate.Submission(10 + i, dd, 0, f"c{i}") for i, dd in enumerate(deltas)]
            with threadpool_limits(1, "blas"):
                t = time.perf_counter()
                dec = aggregate.decide(manifest, head, 0, subs, X, y, DECIDE_REWARD, workers=2)
                seconds = time.perf_counter() - t
                hg = significance.row_goodness(manifest, head, X, y)
                plain = [significance.paired(hg, significance.row_goodness(
                    manifest, models.apply_update(head, dd), X, y)).lcb.hex() for dd in deltas]
            merged = b"" if dec.delta is None else b"".join(dec.delta[n].tobytes() for n in sorted(dec.delta))
            out[f"mirror/{metric}/{seed}"] = {
                "decision": {"merged_ids": list(dec.merged_ids),
                             "shares": [dec.shares[i] for i in sorted(dec.shares)],
                             "merged": hashlib.sha256(merged).hexdigest()[:16]},
                "lcb": [dec.outcomes[i].own.lcb.hex() if dec.outcomes[i].own else None for i in sorted(dec.outcomes)],
                "plain": plain, "seconds": round(seconds, 3)}
    # G3 at its threshold: near copies decided with the threshold at their fixed-order cosine
    for seed in NEAR_SEEDS:
        manifest, head, deltas, X, y = near_copy_batch(seed, rows, 784, k)
        threshold = exact_logit_cosine(manifest, head, deltas, X)
        subs = [aggregate.Submission(10 + i, dd, 0, f"c{i}") for i, dd in enumerate(deltas)]
        with threadpool_limits(1, "blas"):
            t = time.perf_counter()
            dec = aggregate.decide(manifest, head, 0, subs, X, y, DECIDE_REWARD, workers=2, duplicate_cosine=threshold)
            seconds = time.perf_counter() - t
        merged = b"" if dec.delta is None else b"".join(dec.delta[n].tobytes() for n in sorted(dec.delta))
        out[f"near/{seed}"] = {
            "decision": {"merged_ids": list(dec.merged_ids), "shares": [dec.shares[i] for i in sorted(dec.shares)],
                         "merged": hashlib.sha256(merged).hexdigest()[:16],
                         "verdicts": [dec.outcomes[i].verdict for i in sorted(dec.outcomes)]},
            "lcb": [threshold.hex()], "plain": [], "seconds": round(seconds, 3)}
    return out


def _plain(manifest: dict, head: dict, delta: dict, X: Any, y: Any) -> float:
    """The control: float32 logits from one GEMM, the metric from them in float64."""
    import numpy as np

    from fathom.ml import models

    spec = models.model_spec(manifest)
    with np.errstate(all="ignore"):  # the naive way: float32 sums and GEMMs on the inputs as they are
        params = {key: np.add(head[key], delta[key], dtype=np.float32) for key in head}
        A = np.asarray(X, dtype=np.float32)
        for i in range(len(spec.layers)):
            A = A @ params[f"W{i}"] + params[f"b{i}"]
            if i < len(spec.layers) - 1:
                A = np.tanh(A) if spec.activation == "tanh" else np.maximum(A, 0)
        Z = A.astype(np.float64)
    metric = spec.metric
    if spec.output == "sigmoid":
        z = Z[:, 0]
        if metric == "accuracy":
            return float(np.mean((z >= 0) == (y == 1)))
        t = np.where(y == 1, -z, z)
        return float(np.mean(np.maximum(t, 0) + np.log1p(np.exp(-np.abs(t)))))
    if metric == "accuracy":
        return float(np.mean(Z.argmax(axis=1) == y))
    mx = Z.max(axis=1, keepdims=True)
    E = np.exp(Z - mx)
    s = E.sum(axis=1)
    if metric == "log_loss":
        return float(np.mean(mx[:, 0] - Z[np.arange(len(y)), y] + np.log(s)))
    P = E / s[:, None]
    P[np.arange(len(y)), y] -= 1
    return float(np.mean(np.square(P).mean(axis=1)))


def child(quick: bool, fp_mode: str | None = None, batches: Path | None = None) -> dict[str, Any]:
    """One child's scores. With ``fp_mode``, `fpmode.enter` has already run (before numpy
    was imported); the mode is proven here, in the main thread and the BLAS threads. With
    ``batches``, the batches are read from that pickle (the parent's, built in the normal FP
    mode: under DAZ or FTZ, building them would already change the subnormal inputs)."""
    import numpy as np
    from threadpoolctl import threadpool_info, threadpool_limits

    from fathom.ml import models

    info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    out: dict[str, Any] = {"architecture": info[0].get("architecture") if info else None,
                           "coretype": os.environ.get("OPENBLAS_CORETYPE"), "batches": {}}
    if fp_mode is not None:
        import fpmode

        out["fp_mode"] = {"mode": fp_mode, "mxcsr": hex(fpmode.mxcsr()), "proven": fpmode.check(fp_mode)}
    t0 = time.perf_counter()
    if batches is not None:
        import pickle

        built = pickle.loads(batches.read_bytes())
    else:
        built = _batches(quick)
    for batch in built:
        X, y = batch["X"], batch["y"]
        digest = hashlib.sha256(X.tobytes() + y.tobytes() + b"".join(
            a.tobytes() for dd in batch["deltas"] for a in dd.values())).hexdigest()[:16]
        with threadpool_limits(1, "blas"):  # as the oracle node scores
            t = time.perf_counter()
            scores = models.score_many(batch["manifest"], batch["head"], batch["deltas"], X, y, workers=2)
            seconds = time.perf_counter() - t
            plain = [_plain(batch["manifest"], batch["head"], dd, X, y) for dd in batch["deltas"]]
        out["batches"][batch["name"]] = {"data": digest, "seconds": round(seconds, 3),
                                         "scores": [float(s).hex() for s in scores],
                                         "plain": [float(s).hex() for s in plain]}
    out["decisions"] = decide_batches(quick)
    out["elementwise"] = _elementwise_digests()
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def _elementwise_digests() -> dict[str, str]:
    """Digests of numpy's float64 exp / log / log1p / tanh (the scorer's only operations
    outside IEEE's correctly rounded five) on fixed arguments over the ranges the scorer
    feeds them: exp on [-745, 0] (z - max, and -|t| of softplus) and up to 709, log on
    [1, 2^24] (a row's sum of exponentials, at least 1), log1p on [0, 1]. They are not
    BLAS, so OPENBLAS_CORETYPE cannot change them; the children check that it does not."""
    import numpy as np

    rng = np.random.default_rng(11)
    args = {
        "exp": np.concatenate([-rng.exponential(4.0, 1 << 20), rng.uniform(-745.0, 709.0, 1 << 18)]),
        "log": np.concatenate([1 + rng.exponential(2.0, 1 << 20), rng.uniform(1.0, 2.0**24, 1 << 18)]),
        "log1p": rng.uniform(0.0, 1.0, 1 << 20),
        "tanh": rng.standard_normal(1 << 20) * 4,
    }
    def normal(r: Any) -> bytes:  # results below float64's normal range as +0 (what FTZ writes, up to sign)
        r = np.array(r, dtype=np.float64)
        r[np.abs(r.view(np.int64)) < (1 << 52)] = 0.0  # |bits| below the least normal's (DAZ-proof)
        return r.tobytes()

    with np.errstate(all="ignore"):
        return {name: hashlib.sha256(normal(getattr(np, name)(a))).hexdigest()[:16] for name, a in args.items()}


# ---------------------------------------------------------------------------- the parent


def _run_child(coretype: str | None, quick: bool, fp_mode: str | None = None,
               batches: Path | None = None) -> dict[str, Any]:
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None) if coretype is None else env.__setitem__("OPENBLAS_CORETYPE", coretype)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child"] + (["--quick"] if quick else []) \
        + (["--fp-mode", fp_mode] if fp_mode else []) + (["--batches", str(batches)] if batches else [])
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        return {"error": f"exit {done.returncode}: {(done.stderr or '').strip()[-500:]}", "coretype": coretype}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _units(hexes: list[str]) -> list[int | None]:
    out: list[int | None] = []
    for h in hexes:
        v = float.fromhex(h)
        out.append(None if v != v else int(v / RESOLUTION + 0.5))
    return out


def _compare(ref: list[str], got: list[str]) -> dict[str, Any]:
    bits = sum(a != b for a, b in zip(ref, got))
    ua, ub = _units(ref), _units(got)
    gaps = [abs(a - b) for a, b in zip(ua, ub) if a is not None and b is not None]
    units = sum(a != b for a, b in zip(ua, ub))
    return {"scores_differ": bits, "units_differ": units, "max_unit_gap": max(gaps) if gaps else 0}


def _empty() -> dict[str, Any]:
    """A kernel's or an FP mode's counts before its first batch."""
    return {"scores": 0, "scores_differ": 0, "units_differ": 0, "max_unit_gap": 0,
            "plain_float32": {"scores_differ": 0, "units_differ": 0, "max_unit_gap": 0}, "batches": {}}


def _tally_decisions(entry: dict[str, Any], res: dict[str, Any], reference: dict[str, Any]) -> None:
    """Add a child's batch decisions to ``entry``: how many differ from the reference child's
    (``decisions_differ``: merged ids, shares or merged bytes, what a member votes for;
    ``shares_differ`` of them by the shares; ``lower_bounds_differ``: the updates' own lower
    bounds, bit for bit), and the control's (``plain_float32.decisions_differ``: the float goodness's
    lower bounds, bit for bit)."""
    entry.setdefault("decisions", 0)
    entry.setdefault("decisions_differ", 0)
    entry.setdefault("shares_differ", 0)
    entry.setdefault("lower_bounds_differ", 0)
    entry["plain_float32"].setdefault("decisions_differ", 0)
    for name, got in res.get("decisions", {}).items():
        ref = reference["decisions"][name]
        entry["decisions"] += 1
        entry["decisions_differ"] += got["decision"] != ref["decision"]
        entry["shares_differ"] += got["decision"]["shares"] != ref["decision"]["shares"]
        entry["lower_bounds_differ"] += got["lcb"] != ref["lcb"]
        entry["plain_float32"]["decisions_differ"] += got["plain"] != ref["plain"]


def _tally(entry: dict[str, Any], res: dict[str, Any], reference: dict[str, Any], who: str) -> None:
    """Add a child's batches to ``entry``: per batch, its scores and the plain control's against
    the reference child's (the data checked to be the same by their hash)."""
    _tally_decisions(entry, res, reference)
    for bname, b in res["batches"].items():
        rb = reference["batches"][bname]
        if b["data"] != rb["data"]:
            raise RuntimeError(f"{bname}: the {who} child built other data than the reference ({b['data']} != {rb['data']})")
        ours, plain = _compare(rb["scores"], b["scores"]), _compare(rb["plain"], b["plain"])
        entry["batches"][bname] = {"fathom": ours, "plain_float32": plain, "seconds": b["seconds"]}
        entry["scores"] += len(b["scores"])
        for key in ("scores_differ", "units_differ"):
            entry[key] += ours[key]
            entry["plain_float32"][key] += plain[key]
        entry["max_unit_gap"] = max(entry["max_unit_gap"], ours["max_unit_gap"])
        entry["plain_float32"]["max_unit_gap"] = max(entry["plain_float32"]["max_unit_gap"], plain["max_unit_gap"])


def run(quick: bool = False) -> dict[str, Any]:
    from common import load, say

    flags = cpu_flags()
    before = load()
    say("kernels: the reference child (OPENBLAS_CORETYPE as the environment has it)")
    reference = _run_child(None, quick)
    if "error" in reference:
        raise RuntimeError(f"the reference child failed: {reference['error']}")
    kernels: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for name, needs in CORETYPES:
        if not needs <= flags:
            skipped[name] = f"this CPU lacks {', '.join(sorted(needs - flags))}"
            continue
        res = _run_child(name, quick)
        if "error" in res:
            skipped[name] = res["error"]
            continue
        arch = res["architecture"] or name
        entry = kernels.setdefault(arch, {"coretypes": [], **_empty()})
        entry["coretypes"].append(name)
        entry.setdefault("elementwise_differ", [])
        entry["elementwise_differ"] = sorted(set(entry["elementwise_differ"]) | {
            f for f, digest in res.get("elementwise", {}).items() if reference.get("elementwise", {}).get(f) != digest})
        if len(entry["coretypes"]) > 1:  # the same kernel under another name: checked, counted once
            same = sum(_compare(reference["batches"][k]["scores"], b["scores"])["scores_differ"]
                       for k, b in res["batches"].items())
            same_dec = sum(b["decision"] != reference["decisions"][k]["decision"] for k, b in res["decisions"].items())
            entry.setdefault("aliases", {})[name] = {"scores_differ": same, "decisions_differ": same_dec}
            say(f"  {name:<12} -> kernel {arch:<12} (the same kernel again) scores differing: {same}")
            continue
        _tally(entry, res, reference, name)
        say(f"  {name:<12} -> kernel {arch:<12} scores differing: {entry['scores_differ']}/{entry['scores']} "
            f"(units {entry['units_differ']}); plain float32: {entry['plain_float32']['scores_differ']} "
            f"(units {entry['plain_float32']['units_differ']}, largest gap {entry['plain_float32']['max_unit_gap']}); "
            f"decisions differing: {entry['decisions_differ']}/{entry['decisions']} (shares {entry['shares_differ']}, "
            f"lower bounds {entry['lower_bounds_differ']}); plain float32 lower bounds: "
            f"{entry['plain_float32']['decisions_differ']}")
    import pickle
    import tempfile

    fp_modes: dict[str, Any] = {}
    tmp = tempfile.TemporaryDirectory(prefix="fathom-kernels-")
    built = Path(tmp.name) / "batches.pickle"
    built.write_bytes(pickle.dumps(_batches(quick)))  # built here, in the normal FP mode
    for mode in FP_MODES:
        say(f"kernels: FP mode {mode} (the default kernel)")
        res = _run_child(None, quick, mode, built)
        if "error" in res:
            skipped[f"fp:{mode}"] = res["error"]
            continue
        entry = {"proven": res["fp_mode"]["proven"], "mxcsr": res["fp_mode"]["mxcsr"], **_empty(),
                 "elementwise_differ": sorted(f for f, digest in res.get("elementwise", {}).items()
                                              if reference.get("elementwise", {}).get(f) != digest)}
        _tally(entry, res, reference, mode)
        fp_modes[mode] = entry
        say(f"  {mode:<8} decisions differing: {entry['decisions_differ']}/{entry['decisions']} "
            f"(shares {entry['shares_differ']}, lower bounds {entry['lower_bounds_differ']}); "
            f"plain float32 lower bounds: {entry['plain_float32']['decisions_differ']}")
        say(f"  {mode:<8} scores differing: {entry['scores_differ']}/{entry['scores']} (units {entry['units_differ']}); "
            f"plain float32: {entry['plain_float32']['scores_differ']} (units {entry['plain_float32']['units_differ']}, "
            f"largest gap {entry['plain_float32']['max_unit_gap']}); elementwise differing: {entry['elementwise_differ']}")
    tmp.cleanup()
    return {
        "reference": {"architecture": reference["architecture"], "coretype": reference["coretype"],
                      "seconds": reference["seconds"],
                      "batch_seconds": {k: v["seconds"] for k, v in reference["batches"].items()}},
        "kernels": kernels,
        "differing_scores": {arch: e["scores_differ"] for arch, e in kernels.items()},
        # aggregate.decide on mirror-tied batches: merged ids, shares and merged bytes (0 is the target)
        "differing_decisions": {arch: e["decisions_differ"] for arch, e in kernels.items()},
        "differing_decisions_fp_modes": {mode: e["decisions_differ"] for mode, e in fp_modes.items()},
        "decisions_per_child": len(reference.get("decisions", {})),
        "decision_seconds": {k: v["seconds"] for k, v in reference.get("decisions", {}).items()},
        # numpy's float64 exp / log / log1p / tanh are not BLAS: the same bits under every kernel
        "elementwise_differing": {arch: e["elementwise_differ"] for arch, e in kernels.items()},
        # DAZ / FTZ (the default kernel, one child each): the same scores as the reference child
        "fp_modes": fp_modes,
        "differing_fp_modes": {mode: e["scores_differ"] for mode, e in fp_modes.items()},
        "elementwise_differing_fp_modes": {mode: e["elementwise_differ"] for mode, e in fp_modes.items()},
        "skipped": skipped,
        "rows": 2_000 if quick else ROWS,
        "resolution": RESOLUTION,
        "method": "one child process per OPENBLAS_CORETYPE (set only in the child), named by the kernel threadpoolctl "
                  "reports; every child builds the same batches from fixed seeds (checked by a hash) and scores them "
                  "with models.score_many as the node does (1 BLAS thread, 2 workers); counts are scores whose float64 "
                  "bits (scores_differ) or score units at 1e-4 (units_differ) differ from the reference child's. "
                  "plain_float32 is the control: float32 logits from one GEMM, the metric in float64. fp_modes: one child "
                  "per FP mode (daz, ftz, daz+ftz: MXCSR set before numpy loads, proven in the main thread and "
                  "on every BLAS thread, benchmarks/fpmode.py), compared with the same reference child. "
                  "decisions: every child also decides mirror-tied batches (aggregate.decide, exact ties by "
                  "construction, odd reward) and counts decisions (merged ids, shares, merged bytes) that differ "
                  "from the reference child's; plain_float32.decisions_differ is the control: the updates' lower "
                  "bounds on float32 BLAS goodness (significance.row_goodness), bit for bit.",
        "load_before": before,
        "load_after": load(),
    }


def record(out: dict[str, Any], quick: bool, path: Path | None = None) -> None:
    """Write this section into benchmarks/results.json as ``scoring.kernel_agreement`` (the
    rest kept), with when it ran, and the targets table recomputed."""
    import datetime as dt

    import run as run_module
    from common import say, write_json

    path = path or run_module.RESULTS
    results = json.loads(path.read_text()) if path.exists() else {}
    results.setdefault("scoring", {})["kernel_agreement"] = out
    results.setdefault("sections", {})["kernel_agreement"] = {
        "ran": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": "python benchmarks/kernels.py" + (" --quick" if quick else "") + " --record", "quick": quick}
    results["targets"] = run_module.targets(results)
    write_json(path, results)
    say(f"  wrote scoring.kernel_agreement into {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 rows instead of 10,000")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--fp-mode", choices=FP_MODES, help=argparse.SUPPRESS)
    parser.add_argument("--batches", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="write this section's JSON here")
    parser.add_argument("--record", action="store_true",
                        help="write it into benchmarks/results.json as scoring.kernel_agreement (targets recomputed)")
    args = parser.parse_args()
    if args.child:
        if args.fp_mode:
            import fpmode

            fpmode.enter(args.fp_mode)  # before numpy loads: OpenBLAS's threads inherit the MXCSR
        print(json.dumps(child(args.quick, args.fp_mode, args.batches)))
        return 0
    out = run(args.quick)
    if args.record:
        record(out, args.quick)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    else:
        print(json.dumps({k: v for k, v in out.items() if k != "kernels"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Models as data: numpy forward passes, metrics and the oracle's batched scoring.

A model is a manifest (plain JSON) plus an ordered dict of named float32 arrays. Nothing
here executes code that came with an artefact; the manifest only selects one of three
fixed architectures.

Manifest
--------
Two spellings are accepted and mean the same thing. `make_manifest` writes the first,
which is the one `fathom.ml.artefacts` serialises::

    {"architecture": "logistic" | "softmax" | "mlp",
     "dtype": "float32",
     "metric": "accuracy" | "log_loss" | "mse",
     "layers": [[d, h], [h, k]],      # one [in, out] pair per dense layer
     "activation": "relu"}            # hidden layers, mlp only ("relu" | "tanh")

    {"architecture": ..., "metric": ..., "d": d, "k": k, "h": h}   # h: mlp only

- ``logistic``: binary classifier, one layer ``[d, 1]``, sigmoid output; labels 0/1
  (``k`` is 2).
- ``softmax``: multi-class classifier, one layer ``[d, k]`` with k >= 2.
- ``mlp``: dense hidden layers with ReLU (or tanh), then a softmax output (k >= 2
  outputs), a sigmoid output (1 output, binary labels) or, only with metric ``mse`` and
  one output, a linear output for regression (float targets). The short spelling gives
  one hidden layer of width ``h`` and a softmax output.

Parameters are ``W0, b0, W1, b1, ...``: ``W{i}`` has shape ``(in_i, out_i)`` and
``b{i}`` shape ``(out_i,)``, all float32 (`param_shapes`). An update is an additive
float32 delta with exactly those names and shapes (`apply_update`).

Metrics (`METRICS`, `higher_is_better`)
---------------------------------------
- ``accuracy``: fraction of rows whose predicted class (argmax; for one sigmoid output,
  class 1 iff the logit is >= 0) equals the label. Higher is better.
- ``log_loss``: mean negative log-likelihood of the label, computed from the logits
  (log-sum-exp, or softplus for a sigmoid output), so it is finite for finite logits.
- ``mse``: for a classifier, the mean over rows and classes of ``(p_c - [y == c])**2``
  (the Brier score divided by the number of classes; for a binary model ``(p - y)**2``);
  for a regression mlp, the mean of ``(prediction - y)**2``. Lower is better.
- ``mae``, ``auc``, ``f1``, ``balanced_accuracy``, ``r2`` (as ``metric=`` arguments):
  `fathom.ml.metrics`, with their direction, resolution, quantisation and significance
  test; scored from each candidate's whole outputs, not by the batched pass below.

Batched scoring and its determinism contract
--------------------------------------------
`score_many` scores many candidate updates, ``head + delta_i``, in one vectorised pass
over the validation set; `score` is the same code with a batch of one.

**What the score is.** Every row's logits are defined by the *fixed-order path*
(`_Group.exact_logits`): each dense layer computes ``z_j = (((0 + x_0 w_0j) + x_1 w_1j) +
...) + b_j`` left to right in float64, one IEEE operation at a time (in the first
layer every product of two float32 values is exact), with ReLU / tanh in float64 between
layers; in the layers after the first, every product and every sum below 2^-1000 in
magnitude is set to zero of its sign (`_flush64`; the first layer's values are 0 or at
least 2^-350 and need none). Its inputs are read with every float32 *subnormal* (|v| <
2^-126, v != 0) as zero of its sign: the head, the update, their float32 sum (`apply_update`),
the features and regression targets (`_flush_subnormals`). So no operation of the score
reads a subnormal and none whose result underflows can give another value on a CPU that
reads subnormal inputs as 0 (DAZ) or writes subnormal results as 0 (FTZ). From
them, each row gives:

- accuracy: 1 if the predicted class is the label. The predicted class is the lowest
  unit among those whose logit equals the maximum (exact float64 comparison); a sigmoid
  output predicts class 1 iff its logit is >= 0;
- log loss and mse: the value of `_row_values` (float64; fixed elementwise operations,
  left-to-right loops over the units), capped at ``ROW_CAP`` = 2^24 metric units and
  rounded to a floating grid of ``ROW_BITS[metric]`` = b significant bits (`_grid`): a
  value in [2^e, 2^(e+1)) to the nearest multiple of 2^max(e+1-b, -20) (halves up), so a
  whole number of ``ROW_GRID`` = 2^-20. b is 4 for log loss and 3 for mse: each row is
  within a relative 2^-b (plus 2^-21) of its value, the rounding unbiased in the mean,
  and coarse enough for the float32 bound to settle most rows (below).

The per-row results are summed as exact integers (counts or grid units) and the score is
that sum divided by the number of rows, rounded once to float64. A candidate is invalid
(NaN) iff some row has a logit that is not finite or beyond float32's range
(|z| > 3.4028235e38).

**How it is computed fast.** The fixed-order path is slow, so it runs only where it
could change the result:

1. For every row chunk (``chunk_rows`` rows) and group of ``group`` candidates, the first
   layer of all candidates is ONE GEMM ``X_chunk[c, d] @ [W_1 | ... | W_G]`` through BLAS
   (float32 for every metric; a one-layer model's computed as its transpose, the same dot
   products), computed in p input blocks (`_k_blocks`: blocks of about
   256 inputs, at most 8; d = 784: 4 of 196) whose float32 results are summed in a fixed
   order, then the bias; further layers one batched matmul. Beside the logits, a proven
   bound E per row and candidate: a sum in which every term goes through at most h
   roundings (any order or tree, with or without FMA) is within ``gamma_h`` of the sum of
   the terms' absolute values (gamma_h = h u / (1 - h u), `_gamma`), and in blocks a term
   goes through at most h = (its block's length) + p roundings (d = 784: 200, not 785);
   with Cauchy-Schwarz, ``|x||w| <= ||x|| ||w||``, and the fixed-order path's own error
   added, ``E = 1.01 (gamma_h(u) + gamma_{d+1}(2^-53)) (||x|| max_j ||w_j|| + max_j |b_j|)``,
   the norms rounded up (`_norms_up`: underflow included), plus (d + 1) 2^-126 for the GEMM's
   own underflow (with DAZ / FTZ too: a flushed node of a sum's tree loses less than 2^-126,
   and at most as many nodes flush as the tree has leaves, `_TINY`), the 1.01 covering the
   float64 roundings of E itself. Hidden layers propagate it (ReLU and tanh are 1-Lipschitz; tanh's rounding is
   added).
2. A row's result is taken from this pass only if no logit within E of the computed one
   could change it (`_decide`): the argmax leads every other unit by more than 2E (an
   exact tie never qualifies; a unit whose weights and bias are bit-identical to a lower
   unit's is skipped, since the lower one wins that tie on every row); a sigmoid logit is
   further than E from 0; a row value's interval holds no rounding point of the grid
   (its ends have the same grid units, `_grid_pair`; the rounding is monotone). The
   interval is the value moved by its absolute bound (Lipschitz constant x E,
   `_lipschitz`), narrowed by its relative bound (the value times e^(+-R), `_relative`:
   R = 2E for softmax log loss, 4E for its Brier score), widened by the rounding of
   `_row_values` twice over; and every logit is inside float32's range by more than E
   (for a one-layer model proven from the norms when ``||x|| max_j ||w_j|| + max_j |b_j| +
   3E`` is below float32's largest value, `_Group.span`; else read from the logits).
   For a softmax output the same tests run on contiguous (unit, candidate, row) planes
   (`_decide_planes`; a one-layer model's GEMM runs transposed, ``W^T X^T``, and writes them
   directly), never settling a row that `_decide` would not; log loss and mse are
   computed there in float32 when the logits are proven within 40 - log k of 0 (float32
   exponentials, each the exact exponential of its logit moved by at most about 2^-18, and
   sums of positive terms within a relative gamma_{4k+4}(2^-24)), which the interval adds
   (twice) to E and to its relative width.
3. The rows left uncertain are computed again in float64 through BLAS with the float64
   bound (one-layer models: the uncertain pairs of many row chunks at once, one GEMM per
   candidate on all its uncertain rows, `_Group.pairs64`, the candidates cut among the
   workers: once a worker is left without a chunk, the pairs gathered so far, cut in one part
   per worker, while the last chunks run (the chunks' results are taken as they finish), the
   rest at the end; an mlp: one candidate at a time after the
   chunks);
   what is still uncertain (exact ties, values within ~1e-12 of a rounding point) goes
   to the fixed-order path.

So every row's result equals the fixed-order path's, whatever the BLAS, its kernel
(``OPENBLAS_CORETYPE``), its number of threads, the chunking, the grouping and the
number of workers, and the FP unit's DAZ / FTZ mode (`benchmarks/kernels.py`:
``kernel_agreement.fp_modes``): **scores are bit-identical on any machine with IEEE float64** and a
conventional BLAS (every output element a dot product summed in some order, with or
without FMA, in the precision asked for: OpenBLAS, MKL, BLIS; not Strassen-like
schemes or reduced-precision "fast" modes). The
only operations not covered by a bound are numpy's float64 exp / log / tanh on the
fixed-order path and in the value itself, which are within a few ulps on every platform
but not bit-specified: a row could differ between two libms only if its value lies
within ~1e-15 of a rounding point of the grid (about one row in 10^9). They are not BLAS:
``OPENBLAS_CORETYPE`` does not change them (`benchmarks/kernels.py` digests them in every
kernel's child process: ``kernel_agreement.elementwise_differing``), nor do DAZ / FTZ where
their results are normal (``elementwise_differing_fp_modes``); a float64 exp that underflows
(FTZ writes 0) is added to a row's sum of exponentials, at least 1, or squared below the
grid, so no value depends on it.

Costs: every metric keeps float32's speed. At 784 features the proven float32 bound is
about 1.2e-5 of ``||x|| ||w||`` (4 input blocks; 4.7e-5 in one block): about 0.1 % of the
(row, candidate) pairs of a random model near a tie need accuracy's float64 pass, about
0.3 % of log loss's and 0.6 % of mse's lie within the bound of a rounding point of their
grid (a finer grid would leave many more uncertain). Around the GEMM: intermediate arrays
of a chunk are per-thread scratch buffers (`_scratch`), reused from chunk to chunk; the
rows are cut into equal chunks, as many as a multiple of the workers (`_row_chunks`), so
that no worker idles at the end; a group's norms and duplicate units (`_Group.prepare`)
are computed by one worker while another runs the group's first GEMM, leaving only the
merges and the stacking of the weights serial (about 0.8 ms for 32 candidates at d=784);
each chunk's rows' sums of squares serve both the bound and the features' finiteness
check, and its features are checked for subnormal values on its worker, in cache, just
before its GEMM (one chunk holding one: the batch starts again on flushed features; about
2 ms of CPU per batch of 32 at 10k rows x 784 with the updates' own checks, 3 % of its CPU,
paired against the scorer before at load 3.6). The worst case, every row an exact or engineered tie, runs
every row on the fixed-order path: ~3 us per row and candidate for softmax d=784, k=10
(a batch of 32 such candidates on 10k rows: ~1 s instead of ~0.1 s), ~30 us for an mlp
d=784, h=64 (~10 s instead of ~3 s), in blocks of 4,096 pairs; bit-identical output
columns cost nothing extra (the tie rule settles them).
"""

from __future__ import annotations

import math
import os
import threading
import weakref
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from fathom.errors import FathomError
from fathom.ml import metrics as _metrics

__all__ = [
    "ARCHITECTURES",
    "ACTIVATIONS",
    "METRICS",
    "METRIC_TABLE",
    "DEFAULT_CHUNK_ROWS",
    "MAX_PARAMETERS",
    "ModelError",
    "ModelSpec",
    "model_spec",
    "make_manifest",
    "param_shapes",
    "init_params",
    "init_model",
    "check_params",
    "check_update",
    "apply_update",
    "logits",
    "forward",
    "predict",
    "accuracy",
    "log_loss",
    "mse",
    "metric_value",
    "higher_is_better",
    "default_group",
    "ROW_GRID",
    "ROW_BITS",
    "ROW_CAP",
    "score",
    "score_many",
    "row_units",
    "screen",
    "score_screened",
]

ARCHITECTURES = ("logistic", "softmax", "mlp")
ACTIVATIONS = ("relu", "tanh")
METRICS = ("accuracy", "log_loss", "mse")

#: Per metric, the one place its direction and unit come from: `fathom bounty open`
#: registers them from the model's manifest, and `fathom bounty show` prints scores in it.
METRIC_TABLE: dict[str, dict[str, Any]] = {
    "accuracy": {"higher_is_better": True, "unit": "fraction of rows right"},
    "log_loss": {"higher_is_better": False, "unit": "nats per row"},
    "mse": {"higher_is_better": False, "unit": "squared error per row"},
}

#: Largest chunk of the validation set's rows in `score_many` (the rows are cut into equal
#: chunks, as many as a multiple of the workers: `_row_chunks`): bounds memory to about
#: ``chunk_rows * group * width`` floats (it changes no bit of a score). 1,024
#: rows give the thread pool enough evenly sized tasks (10k rows: 10, not 3) at no loss of
#: GEMM efficiency (softmax d=784, 32 candidates: 108 -> 126 GFLOP/s on 2 cores); 512 or
#: fewer lose more to per-chunk overhead than they gain in cache.
DEFAULT_CHUNK_ROWS = 1024
#: `default_group` aims at this many GEMM columns per group, with at most _MAX_GROUP slots.
_GROUP_COLUMNS = 512
_MAX_GROUP = 32
#: A manifest may not describe more parameters than this (~200 MB of float32).
MAX_PARAMETERS = 50_000_000

_F32 = np.dtype(np.float32)


#: Subnormal float32 inputs (|x| < 2^-126, not 0) are read as zero of their sign: the
#: parameters, updates, features and regression targets (`_flush_subnormals`), and every
#: merged ``head + delta``. A CPU with DAZ (denormals are zero) reads them as 0 in every
#: SSE / AVX operation, BLAS threads and numpy's own loops alike, and one with FTZ writes
#: a subnormal sum as 0; a subnormal feature 2^-128 x times a weight near 2^126 is a logit
#: of order 1, far beyond the bound's absolute term, so without this an oracle on such a
#: machine scored other bits (`test_attack_subnormal_inputs_and_underflow_score_the_same_bits_on_a_cpu_that_flushes_subnormals`).
_F32_ABS_BITS = np.uint32(0x7FFFFFFF)
_F32_SIGN_BIT = np.uint32(0x80000000)
_F32_LEAST_NORMAL_BITS = np.uint32(0x00800000)
_ONE_BITS = np.uint32(1)
_F32_SUBNORMAL_TOP = np.uint32(0x007FFFFF)  # |bits| - 1 below this: 0 < |bits| < the least normal's
#: elements per step of the check (a 512 KB buffer, in cache): 10k x 784 in about 1.7 ms
_FLUSH_STEP = 1 << 17


def _has_subnormals(a: np.ndarray) -> bool:
    """Whether a float32 array holds a subnormal value: one pass over its bits, in cache-sized
    steps, integer operations only (a float comparison would read a subnormal as 0 under DAZ)."""
    flat = np.ascontiguousarray(a).reshape(-1).view(np.uint32)
    step = max(1, min(flat.size, _FLUSH_STEP))
    buf = np.empty(step, np.uint32)
    for i in range(0, flat.size, step):
        b = np.bitwise_and(flat[i : i + step], _F32_ABS_BITS, out=buf[: min(step, flat.size - i)])
        b -= _ONE_BITS  # 0 wraps to 2^32 - 1: only 0 < |bits| < the least normal's fall below
        if b.min() < _F32_SUBNORMAL_TOP:
            return True
    return False


def _flush_subnormals(a: np.ndarray) -> np.ndarray:
    """``a`` (float32) with every subnormal value replaced by zero of the same sign: ``a``
    itself when it has none (the common case, `_has_subnormals`), else a copy. Integer
    operations on the bits only, so the result is the same whatever the FP unit's DAZ / FTZ
    mode."""
    if not _has_subnormals(a):
        return a
    out = np.array(a, dtype=np.float32, order="C", copy=True)
    bits = out.reshape(-1).view(np.uint32)
    mag = bits & _F32_ABS_BITS
    bits[(mag != 0) & (mag < _F32_LEAST_NORMAL_BITS)] &= _F32_SIGN_BIT
    return out


#: id -> weak reference of each array `canonical_features` made (and still alive)
_CANONICAL: dict[int, weakref.ref] = {}


def canonical_features(X: Any) -> np.ndarray:
    """The features as the scorer reads them (F4): float32, C-contiguous, every subnormal value
    read as zero of its sign, as a read-only copy that the scorer recognises, so that scoring
    it again skips the per-chunk subnormal check (about 3% of a scoring step). For a
    validation set scored batch after batch: the oracle node makes it once per bounty. An
    array made writeable again is checked as any other."""
    A = _flush_subnormals(np.array(X, dtype=np.float32, order="C", copy=True))
    A.flags.writeable = False
    key = id(A)

    def forget(ref: weakref.ref, key: int = key) -> None:
        if _CANONICAL.get(key) is ref:
            del _CANONICAL[key]

    _CANONICAL[key] = weakref.ref(A, forget)
    return A


def _is_canonical(X: np.ndarray) -> bool:
    ref = _CANONICAL.get(id(X))
    return ref is not None and ref() is X and not X.flags.writeable


class _SubnormalFeatures(Exception):
    """A row chunk of features `_prepare(defer=True)` left unread holds a subnormal value:
    `_totals` starts again on the flushed features."""


class ModelError(FathomError, ValueError):
    """A manifest, parameter set, update or dataset does not fit the model."""


# ---------------------------------------------------------------------------------------
# Manifest
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelSpec:
    """A validated manifest: everything the numerics need, nothing else."""

    architecture: str
    layers: tuple[tuple[int, int], ...]
    metric: str
    activation: str | None = None

    @property
    def d(self) -> int:
        """Input dimension."""
        return self.layers[0][0]

    @property
    def outputs(self) -> int:
        """Units of the output layer (1 for a sigmoid or a regression output)."""
        return self.layers[-1][1]

    @property
    def h(self) -> int | None:
        """Width of the first hidden layer (mlp), else None."""
        return self.layers[0][1] if len(self.layers) > 1 else None

    @property
    def regression(self) -> bool:
        return self.architecture == "mlp" and self.outputs == 1 and self.metric == "mse"

    @property
    def k(self) -> int | None:
        """Number of classes (2 for a single sigmoid output); None for regression."""
        if self.regression:
            return None
        return 2 if self.outputs == 1 else self.outputs

    @property
    def output(self) -> str:
        """'sigmoid', 'softmax' or 'linear'."""
        if self.regression:
            return "linear"
        return "sigmoid" if self.outputs == 1 else "softmax"

    def manifest(self) -> dict[str, Any]:
        """The canonical (``layers``) spelling of this spec."""
        out: dict[str, Any] = {
            "architecture": self.architecture,
            "dtype": "float32",
            "metric": self.metric,
            "layers": [[a, b] for a, b in self.layers],
        }
        if self.activation is not None:
            out["activation"] = self.activation
        return out


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 1:
        raise ModelError(f"manifest {what} must be a positive integer, got {value!r}")
    return int(value)


def model_spec(manifest: Mapping[str, Any] | ModelSpec) -> ModelSpec:
    """Validate a manifest (either spelling) and return its `ModelSpec`."""
    if isinstance(manifest, ModelSpec):
        return manifest
    if not isinstance(manifest, Mapping):
        raise ModelError(f"a manifest is a mapping, got {type(manifest).__name__}")
    arch = manifest.get("architecture")
    if arch not in ARCHITECTURES:
        raise ModelError(f"manifest 'architecture' must be one of {', '.join(ARCHITECTURES)}; got {arch!r}")
    metric = manifest.get("metric")
    if metric not in METRICS:
        raise ModelError(f"manifest 'metric' must be one of {', '.join(METRICS)}; got {metric!r}")
    dtype = manifest.get("dtype", "float32")
    if dtype != "float32":
        raise ModelError(f"manifest 'dtype' must be 'float32', got {dtype!r}")
    activation = manifest.get("activation")

    if "layers" in manifest:
        raw = manifest["layers"]
        if not isinstance(raw, (list, tuple)) or not raw:
            raise ModelError("manifest 'layers' must be a non-empty list of [in, out] pairs")
        layers = []
        for i, layer in enumerate(raw):
            if not isinstance(layer, (list, tuple)) or len(layer) != 2:
                raise ModelError(f"manifest layers[{i}] must be [in, out], got {layer!r}")
            layers.append((_count(layer[0], f"layers[{i}][0]"), _count(layer[1], f"layers[{i}][1]")))
            if i and layers[i][0] != layers[i - 1][1]:
                raise ModelError(f"manifest layers[{i}] takes {layers[i][0]} inputs but layers[{i - 1}] outputs {layers[i - 1][1]}")
        # The short spelling may sit beside the long one, but must agree with it.
        out = layers[-1][1]
        classes = None if (arch == "mlp" and out == 1 and metric == "mse") else (2 if out == 1 else out)
        short = {"d": layers[0][0], "h": layers[0][1] if len(layers) > 1 else None, "k": classes}
        for key, want in short.items():
            if key in manifest and manifest[key] != want:
                raise ModelError(f"manifest '{key}' = {manifest[key]!r} disagrees with its layers {[list(x) for x in layers]}")
    else:
        d = _count(manifest.get("d"), "'d'")
        if arch == "logistic":
            k = manifest.get("k", 2)
            if k != 2:
                raise ModelError(f"a logistic model is binary: 'k' must be 2, got {k!r}")
            layers = [(d, 1)]
        else:
            k = _count(manifest.get("k"), "'k'")
            if k < 2:
                raise ModelError(f"a {arch} model needs k >= 2 classes, got {k}")
            if arch == "softmax":
                layers = [(d, k)]
            else:
                h = _count(manifest.get("h"), "'h' (hidden width)")
                layers = [(d, h), (h, k)]
                activation = "relu" if activation is None else activation
        if arch != "mlp" and manifest.get("h") is not None:
            raise ModelError(f"a {arch} model has no hidden layer; drop 'h'")

    if arch in ("logistic", "softmax"):
        if len(layers) != 1:
            raise ModelError(f"a {arch} model has exactly one layer, got {len(layers)}")
        if activation is not None:
            raise ModelError(f"a {arch} model takes no 'activation'")
        if arch == "logistic" and layers[0][1] != 1:
            raise ModelError(f"a logistic model has one output, got layers {[list(x) for x in layers]}")
        if arch == "softmax" and layers[0][1] < 2:
            raise ModelError(f"a softmax model has at least 2 outputs, got layers {[list(x) for x in layers]}")
    else:
        if len(layers) < 2:
            raise ModelError(f"an mlp has at least two layers, got {len(layers)}")
        if activation not in ACTIVATIONS:
            raise ModelError(f"an mlp's 'activation' must be one of {', '.join(ACTIVATIONS)}; got {activation!r}")
    total = sum(a * b + b for a, b in layers)
    if total > MAX_PARAMETERS:
        raise ModelError(f"the manifest describes {total} parameters, more than the limit of {MAX_PARAMETERS}")
    return ModelSpec(arch, tuple(layers), metric, activation)


def make_manifest(arch: str, d: int, k: int, h: int | None = None, metric: str = "accuracy", activation: str = "relu") -> dict[str, Any]:
    """The canonical manifest of a logistic (k=2), softmax or one-hidden-layer mlp model."""
    short: dict[str, Any] = {"architecture": arch, "metric": metric, "d": d, "k": k}
    if h is not None:
        short["h"] = h
    if arch == "mlp":
        short["activation"] = activation
    return model_spec(short).manifest()


def param_shapes(manifest: Mapping[str, Any] | ModelSpec) -> dict[str, tuple[int, ...]]:
    """Names and shapes of the parameters, in canonical order (W0, b0, W1, b1, ...)."""
    spec = model_spec(manifest)
    shapes: dict[str, tuple[int, ...]] = {}
    for i, (a, b) in enumerate(spec.layers):
        shapes[f"W{i}"] = (a, b)
        shapes[f"b{i}"] = (b,)
    return shapes


def init_model(manifest: Mapping[str, Any] | ModelSpec, seed: int = 0) -> dict[str, np.ndarray]:
    """Initial float32 parameters: He-normal weights before ReLU, Glorot-normal
    otherwise, small (std 0.01) weights for one-layer models, zero biases."""
    spec = model_spec(manifest)
    rng = np.random.default_rng(seed)
    params: dict[str, np.ndarray] = {}
    last = len(spec.layers) - 1
    for i, (a, b) in enumerate(spec.layers):
        if last == 0:
            std = 0.01
        elif i < last and spec.activation == "relu":
            std = math.sqrt(2.0 / a)
        else:
            std = math.sqrt(2.0 / (a + b))
        params[f"W{i}"] = (rng.standard_normal((a, b)) * std).astype(np.float32)
        params[f"b{i}"] = np.zeros(b, dtype=np.float32)
    return params


def init_params(arch: str, d: int, k: int, h: int | None = None, seed: int = 0) -> dict[str, np.ndarray]:
    """Initial parameters of a logistic (k=2), softmax or one-hidden-layer ReLU mlp."""
    return init_model(model_spec({"architecture": arch, "metric": "accuracy", "d": d, "k": k, "h": h}), seed)


# ---------------------------------------------------------------------------------------
# Parameters and updates
# ---------------------------------------------------------------------------------------


def _check_arrays(shapes: Mapping[str, tuple[int, ...]], arrays: Mapping[str, Any], what: str, finite: bool = True) -> dict[str, np.ndarray]:
    if not isinstance(arrays, Mapping):
        raise ModelError(f"{what} must be a mapping of names to arrays, got {type(arrays).__name__}")
    missing = [name for name in shapes if name not in arrays]
    extra = sorted(str(name) for name in arrays if name not in shapes)
    if missing:
        raise ModelError(f"{what} is missing array {missing[0]!r} (expected float32 of shape {shapes[missing[0]]})")
    if extra:
        raise ModelError(f"{what} has unexpected array {extra[0]!r} (expected only {', '.join(shapes)})")
    out: dict[str, np.ndarray] = {}
    for name, shape in shapes.items():
        array = arrays[name]
        if not isinstance(array, np.ndarray):
            raise ModelError(f"{what} array {name!r} is a {type(array).__name__}, not a numpy array")
        if array.dtype != _F32:
            raise ModelError(f"{what} array {name!r} has dtype {array.dtype}, expected float32")
        if array.shape != tuple(shape):
            raise ModelError(f"{what} array {name!r} has shape {array.shape}, expected {tuple(shape)}")
        if finite and not _finite_array(array):
            raise ModelError(f"{what} array {name!r} has NaN or infinite values")
        out[name] = _flush_subnormals(array)
    return out


def check_params(manifest: Mapping[str, Any] | ModelSpec, params: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Raise ModelError unless ``params`` are exactly the manifest's finite float32 arrays;
    return them in canonical order (not copied, but for an array with subnormal values,
    returned as a copy with those read as zero of their sign: `_flush_subnormals`)."""
    return _check_arrays(param_shapes(manifest), params, "parameters")


def check_update(manifest: Mapping[str, Any] | ModelSpec, delta: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Raise ModelError unless ``delta`` is a valid update for the manifest."""
    return _check_arrays(param_shapes(manifest), delta, "update")


def apply_update(params: Mapping[str, np.ndarray], delta: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """``params + delta`` array by array, in float32 (IEEE addition: deterministic), every
    subnormal value of either and of the sum read as zero of its sign (`_flush_subnormals`:
    then neither DAZ nor FTZ can change a bit of it).

    ``delta`` must have exactly the names, shapes and dtype (float32) of ``params`` and
    finite values; a sum that overflows is refused too. Raises ModelError otherwise.
    """
    shapes = {name: np.shape(array) for name, array in params.items()}
    return _add_update(_check_arrays(shapes, params, "parameters"), delta)


def _add_update(base: Mapping[str, np.ndarray], delta: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """`apply_update` on parameters already checked (`_check_arrays`)."""
    shapes = {name: array.shape for name, array in base.items()}
    # The delta's values are checked through the sums: ``base`` is finite, so a sum is
    # finite only if the delta's value is (finite + NaN or inf is not finite), one pass
    # per array instead of two on a batch's serial path. Only a sum that is not finite
    # looks at the delta itself, so that the error is the same as checking it first.
    upd = _check_arrays(shapes, delta, "update", finite=False)
    merged: dict[str, np.ndarray] = {}
    with np.errstate(over="ignore", invalid="ignore"):
        for name in shapes:
            total = np.add(base[name], upd[name], dtype=np.float32)
            if not _finite_array(total):
                _check_arrays(shapes, delta, "update")  # a NaN or infinite value of the delta: its own error
                raise ModelError(f"applying the update overflows: array {name!r} of the result is not finite")
            merged[name] = _flush_subnormals(total)  # a subnormal sum is zero (what FTZ writes)
    return merged


# ---------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------


_NOT_FINITE_FEATURES = "features contain NaN or infinite values (or values beyond float32)"


def _features(spec: ModelSpec, X: Any, check_finite: bool = True) -> np.ndarray:
    """The features as float32, C-contiguous, their subnormal values read as zero (F4). With
    ``check_finite`` False (`_prepare(defer=True)`) neither is looked at here: `_totals`, with
    ``check_rows``, checks each row chunk for both just before its first GEMM (in cache, on
    the workers) and starts again on the flushed features if one holds a subnormal."""
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != spec.d:
        raise ModelError(f"features must have shape (n, {spec.d}), got {X.shape}")
    if X.dtype.kind not in "fiu":
        raise ModelError(f"features must be numbers, got dtype {X.dtype}")
    X = np.ascontiguousarray(X, dtype=np.float32)
    if check_finite:
        X = _flush_subnormals(X)  # about 1.7 ms for 10k x 784
        if not _finite_array(X):
            raise ModelError(_NOT_FINITE_FEATURES)
    return X


@contextmanager
def _features_first(X: np.ndarray) -> Iterator[None]:
    """For features whose finiteness `_prepare(defer=True)` left to the row chunks: an
    error raised in the block yields to the features' own, as if they had been checked
    first."""
    try:
        yield
    except Exception:
        if not _finite_array(X):
            raise ModelError(_NOT_FINITE_FEATURES) from None
        raise


def _finite_array(A: np.ndarray) -> bool:
    """Whether every value of a float32 array is finite, in one pass: the sum of squares
    is NaN or inf if any value is, so a finite sum proves them all finite; only when it is
    not (or large finite values overflow it) the exact test runs (max and min propagate NaN)."""
    if not A.size:
        return True
    flat = A.reshape(-1)
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.dot(flat, flat)):
            return True
    return bool(np.isfinite(A.max()) and np.isfinite(A.min()))


def _targets(spec: ModelSpec, y: Any, n: int) -> np.ndarray:
    y = np.asarray(y)
    if y.shape != (n,):
        raise ModelError(f"targets must have shape ({n},) to match the features, got {y.shape}")
    if spec.regression:
        if y.dtype.kind not in "fiu":
            raise ModelError(f"regression targets must be numbers, got dtype {y.dtype}")
        y = _flush_subnormals(np.ascontiguousarray(y, dtype=np.float32))
        if not np.isfinite(y).all():
            raise ModelError("regression targets contain NaN or infinite values")
        return y
    if y.dtype.kind not in "iu":
        raise ModelError(f"class labels must be integers, got dtype {y.dtype}")
    if n and (y.min() < 0 or y.max() >= spec.k):
        raise ModelError(f"class labels must lie in [0, {spec.k - 1}], got [{y.min()}, {y.max()}]")
    return np.ascontiguousarray(y, dtype=np.int64)


def _metric(spec: ModelSpec, metric: str | None) -> str:
    metric = spec.metric if metric is None else metric
    if metric in _metrics.EXTRA_METRICS:
        return _extra_metric(spec, metric)
    if metric not in METRICS:
        raise ModelError(f"metric must be one of {', '.join(METRICS)}; got {metric!r}")
    if spec.regression and metric != "mse":
        raise ModelError(f"a regression model is scored by mse, not {metric!r}")
    return metric


# ---------------------------------------------------------------------------------------
# Single-model forward pass
# ---------------------------------------------------------------------------------------


def _activate(spec: ModelSpec, A: np.ndarray) -> np.ndarray:
    if spec.activation == "tanh":
        return np.tanh(A, out=A)
    return np.maximum(A, 0, out=A)


def logits(manifest: Mapping[str, Any] | ModelSpec, params: Mapping[str, np.ndarray], X: Any) -> np.ndarray:
    """Pre-activation outputs of the last layer, float32 of shape (n, outputs)."""
    spec = model_spec(manifest)
    p = check_params(spec, params)
    A = _features(spec, X)
    last = len(spec.layers) - 1
    for i in range(last + 1):
        A = A @ p[f"W{i}"]
        A += p[f"b{i}"]
        if i < last:
            A = _activate(spec, A)
    return A


def forward(manifest: Mapping[str, Any] | ModelSpec, params: Mapping[str, np.ndarray], X: Any) -> np.ndarray:
    """Class probabilities, float32 (n, k) (a binary model gives [1 - p, p]); for a
    regression model, the predictions (n,)."""
    spec = model_spec(manifest)
    Z = logits(spec, params, X)
    with np.errstate(over="ignore"):
        if spec.output == "linear":
            return Z[:, 0].copy()
        if spec.output == "sigmoid":
            p = 1.0 / (1.0 + np.exp(-Z[:, 0]))
            return np.stack([1.0 - p, p], axis=1).astype(np.float32)
        Z = Z - Z.max(axis=1, keepdims=True)
        E = np.exp(Z)
        return (E / E.sum(axis=1, keepdims=True)).astype(np.float32)


def predict(manifest: Mapping[str, Any] | ModelSpec, params: Mapping[str, np.ndarray], X: Any) -> np.ndarray:
    """Predicted labels (int64; argmax, or logit >= 0 for a sigmoid output), or
    regression predictions (float32)."""
    spec = model_spec(manifest)
    Z = logits(spec, params, X)
    if spec.output == "linear":
        return Z[:, 0].copy()
    if spec.output == "sigmoid":
        return (Z[:, 0] >= 0).astype(np.int64)
    return Z.argmax(axis=1).astype(np.int64)


# ---------------------------------------------------------------------------------------
# Metrics (reference versions on predictions; the scorer computes them from logits)
# ---------------------------------------------------------------------------------------


def higher_is_better(metric: str) -> bool:
    """True for accuracy; False for log_loss and mse (losses). (The extra metrics:
    `fathom.ml.metrics.METRIC_TABLE`.)"""
    if metric in _metrics.EXTRA_METRICS:
        return _metrics.METRIC_TABLE[metric].higher_is_better
    if metric not in METRICS:
        raise ModelError(f"metric must be one of {', '.join(METRICS)}; got {metric!r}")
    return METRIC_TABLE[metric]["higher_is_better"]


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of equal labels. ``y_pred`` may be labels (n,) or probabilities (n, k)."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_pred.ndim == 2:
        y_pred = y_pred.argmax(axis=1)
    if y_true.shape != y_pred.shape or y_true.ndim != 1 or not len(y_true):
        raise ModelError(f"accuracy needs two non-empty label vectors of one length, got {y_true.shape} and {y_pred.shape}")
    return float(np.mean(y_true == y_pred))


def _proba(y_true: np.ndarray, proba: Any) -> np.ndarray:
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim == 1:  # P(class 1) of a binary model
        proba = np.stack([1.0 - proba, proba], axis=1)
    if proba.ndim != 2 or proba.shape[0] != len(y_true) or not len(y_true):
        raise ModelError(f"probabilities must have shape ({len(y_true)}, k), got {proba.shape}")
    if y_true.min() < 0 or y_true.max() >= proba.shape[1]:
        raise ModelError(f"labels must lie in [0, {proba.shape[1] - 1}]")
    return proba


def log_loss(y_true: Any, proba: Any, eps: float = 1e-15) -> float:
    """Mean ``-log p[y]`` (probabilities clipped to ``[eps, 1]``), in float64."""
    y_true = np.asarray(y_true).astype(np.int64)
    proba = _proba(y_true, proba)
    picked = np.clip(proba[np.arange(len(y_true)), y_true], eps, 1.0)
    return float(-np.mean(np.log(picked)))


def mse(y_true: Any, pred: Any) -> float:
    """Regression: mean ``(pred - y)**2``. Classification (``pred`` are probabilities,
    (n, k) or P(class 1) for a binary model, and ``y_true`` integer labels): mean over
    rows and classes of ``(p_c - [y == c])**2``."""
    y_true = np.asarray(y_true)
    pred = np.asarray(pred, dtype=np.float64)
    if y_true.dtype.kind == "f":
        if pred.shape != y_true.shape:
            raise ModelError(f"predictions have shape {pred.shape}, targets {y_true.shape}")
        return float(np.mean((pred - y_true) ** 2))
    y_true = y_true.astype(np.int64)
    proba = _proba(y_true, pred)
    onehot = np.zeros_like(proba)
    onehot[np.arange(len(y_true)), y_true] = 1.0
    return float(np.mean((proba - onehot) ** 2))


def metric_value(metric: str, y_true: Any, predictions: Any) -> float:
    """Dispatch to `accuracy`, `log_loss` or `mse` by name (or `fathom.ml.metrics.value`)."""
    if metric in _metrics.EXTRA_METRICS:
        return _metrics.value(metric, y_true, predictions)
    higher_is_better(metric)  # validates the name
    return {"accuracy": accuracy, "log_loss": log_loss, "mse": mse}[metric](y_true, predictions)


# ---------------------------------------------------------------------------------------
# Batched scoring
# ---------------------------------------------------------------------------------------


def default_group(manifest: Mapping[str, Any] | ModelSpec) -> int:
    """Candidate slots per GEMM: about 512 first-layer columns, at most 32 slots.

    Depends on the manifest only, so every oracle pads batches the same way."""
    spec = model_spec(manifest)
    return max(1, min(_MAX_GROUP, _GROUP_COLUMNS // spec.layers[0][1]))


#: Unit roundoff of float32 and float64 (round to nearest).
_U32 = 2.0**-24
_U64 = 2.0**-53
#: Per-row log loss and mse are rounded to a floating grid before they are summed (exact
#: integers): ROW_BITS significant bits (a value in [2^e, 2^(e+1)) to a multiple of
#: 2^(e + 1 - ROW_BITS)), never finer than ROW_GRID, so every value is a whole number of ROW_GRID.
ROW_GRID = 2.0**-20
#: Significant bits of a row's value, per metric (relative spacing 2^-b to 2^(1-b)): as
#: many as keep the rows the float32 bound leaves uncertain to about 2 % (mse's relative
#: bound is twice log loss's, `_relative`).
ROW_BITS = {"log_loss": 4, "mse": 3}
#: ... after capping each row's contribution at this many metric units.
ROW_CAP = 2.0**24
_ROW_GRID_EXP = -20
_F32_MAX = float(np.finfo(np.float32).max)
#: Pairs (row, candidate) recomputed together on the fixed-order path (memory bound).
_EXACT_BLOCK = 4096


def _quiet() -> Any:
    """No floating-point warnings: overflow and NaN are detected, not reported."""
    return np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore")


def _gamma(n: int, u: float) -> float:
    """gamma_n = n u / (1 - n u): a sum of n terms computed with at most n roundings of unit
    roundoff u each (any order, any tree, with or without FMA) is within gamma_n of the sum
    of the terms' absolute values (Higham, Lemma 3.1 and (3.4)); inf once n u >= 1/2."""
    nu = n * u
    return nu / (1.0 - nu) if nu < 0.5 else math.inf


def _dot_coef(a: int, u: float) -> float:
    """c such that a computed ``x . w + b`` of length ``a`` (any summation order, with or
    without FMA, bias added last: at most a + 1 roundings per term) is within
    ``c (|x| |w| + |b|)`` of the exact value: gamma_{a+1}."""
    return _gamma(a + 1, u)


#: What underflow can lose beyond the relative bounds, per rounding: gradual underflow loses
#: at most half the least subnormal (2^-150 in float32), counted here as the least normal
#: number, which covers a result flushed to zero as well. A float32 square of a feature near
#: 1e-25 is 0, so without it a row's computed norm (and with zero biases its bound E) was 0
#: while weights near 1e24 made logits of order 1 whose rounding depends on the kernel
#: (review of session 13; `test_attack_underflowing_squares_hide_the_kernels_rounding_from_the_bound`).
#: With DAZ and / or FTZ (a CPU that reads subnormal inputs or writes subnormal results as
#: 0) it still holds: inputs are never subnormal (`_flush_subnormals`), and in a sum's tree
#: (products or squares as leaves, and the bias) a node whose computed value is subnormal
#: and is read or written as 0 loses less than the least normal number; such a node that is
#: an addition has two normal operands (a zero operand leaves the other's value), so by
#: induction a tree of n leaves has at most n such nodes: n times the least normal number,
#: which the terms below count (d + 1 per logit, a per norm of a squares). float64: the
#: fixed-order path sets every value below 2^-1000 in the layers after the first to zero
#: of its sign (`_flush64`), so 2^-1000 is what one of its roundings can lose (the float64
#: GEMM's underflow, 2^-1022, is less).
_TINY = {np.dtype(np.float32): 2.0**-126, np.dtype(np.float64): 2.0**-1000}
#: The fixed-order path's flush threshold in float64 (layers after the first; `_flush64`).
_FLUSH64 = 2.0**-1000


def _flush64(a: np.ndarray) -> None:
    """Set every value of a float64 array below 2^-1000 in magnitude to zero of its sign, in
    place. The fixed-order path does it after every product and every sum of the layers after
    the first: their values then are 0 or at least 2^-1000, so no operation reads a subnormal
    (DAZ is moot) and a result that underflows is below 2^-1000 however the CPU rounds or
    flushes it (FTZ is moot: IEEE and FTZ differ only below 2^-1022). The first layer needs
    none: its products of float32 values are exact multiples of 2^-298, so all its sums are
    multiples of 2^-350 and never underflow. Under DAZ ``abs`` reads a subnormal as 0 (< the
    threshold, so it is flushed too) and the product by 0 keeps its sign."""
    np.multiply(a, 0.0, out=a, where=np.abs(a) < _FLUSH64)


def _norms_up(squares: Any, a: int, u: float, tiny: float) -> Any:
    """Upper bounds of the exact 2-norms of vectors of length ``a`` whose computed sums of
    squares (any order, unit roundoff ``u``, least normal ``tiny``) are ``squares``: each of
    the a squares may lose ``tiny`` to underflow (additions of subnormals are exact), then
    the sum's relative bound (`_norm_coef`)."""
    return np.sqrt((squares + a * tiny) * (1 + _norm_coef(a, u)))


def _norm_coef(a: int, u: float) -> float:
    """c such that a computed sum of ``a`` squares (any order), times 1 + c, is at least the
    exact sum: the computed one is >= (1 - gamma_a) of it, and (1 - gamma_a)(1 + c) = 1 for
    c = a u / (1 - 2 a u)."""
    return a * u / (1.0 - 2 * a * u) if 2 * a * u < 1 else math.inf


#: The first layer's float32 GEMM runs in blocks of about this many inputs (at most
#: _MAX_K_BLOCKS), summed in float32 in a fixed order: a term then goes through at most
#: (its block's length + the number of blocks) roundings, not d + 1, so the proven bound
#: shrinks from gamma_{d+1} to gamma_{ceil(d/p)+p} (d = 784: 4 blocks, gamma_200 instead of
#: gamma_785) for about 5 % more GEMM time.
_K_BLOCK = 256
_MAX_K_BLOCKS = 8


def _k_blocks(d: int, dtype: Any) -> list[tuple[int, int]]:
    """The first layer's input blocks (float32 only: a float64 pass's bound is already tiny)."""
    p = 1 if np.dtype(dtype) != _F32 else max(1, min(_MAX_K_BLOCKS, -(-d // _K_BLOCK)))
    cuts = [d * i // p for i in range(p + 1)]
    return [(cuts[i], cuts[i + 1]) for i in range(p)]


#: The fast pass's GEMM: numpy's matmul (BLAS). A name of its own so that a test can put a
#: kernel that rounds as badly as any summation order may in its place.
_gemm = np.matmul

_LOCAL = threading.local()

#: Rows of one candidate per float64 GEMM of the second pass (`_Group.pairs64`): 1.6 MB at d = 784.
_PAIR_ROWS = 256


#: Scratch arrays larger than this are not kept (a call with huge row chunks).
_SCRATCH_MAX_BYTES = 1 << 26


def _scratch(name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """A per-thread scratch array of this shape (its contents are garbage), reused across
    calls: a fresh array of a few MB costs page faults on every chunk. The buffer only grows;
    each thread keeps one per (name, dtype), up to _SCRATCH_MAX_BYTES. Nothing that holds
    one may outlive the task."""
    dtype = np.dtype(dtype)
    size = math.prod(shape)
    if size * dtype.itemsize > _SCRATCH_MAX_BYTES:
        return np.empty(shape, dtype)
    cache = getattr(_LOCAL, "arrays", None)
    if cache is None:
        cache = _LOCAL.arrays = {}
    flat = cache.get((name, dtype))
    if flat is None or flat.size < size:
        flat = cache[(name, dtype)] = np.empty(max(size, 1), dtype)
    return flat[:size].reshape(shape)


class _LayerStats:
    """Per slot: the largest column 2-norm, the Frobenius norm, the largest |bias| and the
    bias 2-norm of one layer (float64, from the float32 weights)."""

    def __init__(self, Ws: np.ndarray, bs: np.ndarray):
        self.W64 = W64 = Ws.astype(np.float64)  # (slots, in, out): a one-layer model's second pass reuses it
        col = np.sqrt(np.einsum("sio,sio->so", W64, W64))  # (slots, out)
        self.b64 = b64 = bs.astype(np.float64)
        self.colmax = col.max(axis=1)
        self.frob = np.sqrt(np.square(col).sum(axis=1))
        self.bmax = np.abs(b64).max(axis=1)
        self.bnorm = np.sqrt(np.square(b64).sum(axis=1))


class _Group:
    """The stacked weights of up to ``size`` candidates (zeros in unused slots).

    One-layer models put output unit j of slot g in GEMM column ``j * size + g``, so the
    GEMM's result, reshaped to (row, unit, slot), needs no copy; an mlp's first layer is
    slot-major (``g * width + u``), ready for the per-slot matmuls of the next layers.
    ``dtype`` is the precision of the fast pass (float32, or float64 for log loss and mse).
    """

    def __init__(self, spec: ModelSpec, sets: Sequence[Mapping[str, np.ndarray]], size: int, dtype: Any = np.float32):
        d, w = spec.layers[0]
        self.size = size
        self.used = len(sets)
        self.sets = list(sets)
        self.dtype = np.dtype(dtype)
        self.u = _U32 if self.dtype == _F32 else _U64
        self.blocks = _k_blocks(d, self.dtype)
        # roundings a first-layer term goes through: its block's sum, then the blocks'
        # fixed-order sum and the bias
        self.depth0 = max(k1 - k0 for k0, k1 in self.blocks) + len(self.blocks)
        # every layer's weights and biases stacked by slot (contiguous copies), zeros in unused slots
        stacked = []
        for i, (a, b) in enumerate(spec.layers):
            Ws = np.zeros((size, a, b), dtype=np.float32)
            bs = np.zeros((size, b), dtype=np.float32)
            for slot, params in enumerate(sets):
                Ws[slot], bs[slot] = params[f"W{i}"], params[f"b{i}"]
            stacked.append((Ws, bs))
        self.rest: list[tuple[np.ndarray, np.ndarray]] = [
            (Ws.astype(self.dtype), bs[:, None, :].astype(self.dtype)) for Ws, bs in stacked[1:]]
        Ws, bs = stacked[0]
        self.b0 = np.empty(w * size, dtype=self.dtype)
        if not self.rest:  # transposed: (unit * size + slot, input), the GEMM computes W0T @ X.T
            self.W0T = np.empty((w * size, d), dtype=self.dtype)
            self.W0T.reshape(w, size, d)[...] = Ws.transpose(2, 0, 1)
            self.b0.reshape(w, size)[...] = bs.T
        else:
            self.W0 = np.empty((d, w * size), dtype=self.dtype)
            self.W0.reshape(d, size, w)[...] = Ws.transpose(1, 0, 2)
            self.b0[...] = bs.reshape(-1)
        self._stacked = stacked
        self._stats: list[_LayerStats] | None = None
        self._dup: np.ndarray | None = None
        self._ready = threading.Lock()
        self._canon: list[tuple[np.ndarray, np.ndarray]] | None = None
        self._w64: tuple[np.ndarray, np.ndarray] | None = None
        self._slot64: dict[int, _Group] = {}

    def prepare(self) -> None:
        """What the decisions need beside the weights, computed once (any thread may call
        it; the others wait): every layer's norms (`_LayerStats`), the duplicate output
        units, and a one-layer model's used slots in float64 (its second pass). `_totals`
        has one worker prepare a group while another runs the group's first GEMM, so this
        is off the batch's serial path."""
        with self._ready:
            if self._dup is not None:
                return
            stats = [_LayerStats(Ws, bs) for Ws, bs in self._stacked]
            if len(stats) == 1:  # (slot, in, out) and (slot, out) float64, the used slots only
                self._w64 = (stats[0].W64[: self.used], stats[0].b64[: self.used])
            for st in stats:
                del st.W64, st.b64
            # Output units whose weights and bias are bit-identical to a lower unit's: their
            # logits are equal on every row in exact arithmetic and on the fixed-order path,
            # so the lower unit wins every tie; the fast argmax skips them. (Each output
            # column with its bias as one byte string; the first of equal ones within a slot
            # is kept. A set of byte strings per slot: hashing is linear, where sorting the
            # columns as void keys with np.unique took a few ms of the batch's serial part.)
            Wl, bl = self._stacked[-1]
            m = Wl.shape[2]
            dup = np.zeros((m, self.size), dtype=bool)  # padding slots (past `used`) are never decided
            if m > 1:
                cols = np.ascontiguousarray(np.concatenate([Wl, bl[:, None, :]], axis=1).transpose(0, 2, 1))
                for slot in range(self.used):
                    seen: set[bytes] = set()
                    for j in range(m):
                        key = cols[slot, j].tobytes()
                        if key in seen:
                            dup[j, slot] = True
                        else:
                            seen.add(key)
            self._stats = stats
            self._dup = dup

    @property
    def stats(self) -> list["_LayerStats"]:
        self.prepare()
        assert self._stats is not None
        return self._stats

    @property
    def dup(self) -> np.ndarray:
        """(unit, slot): True for an output unit equal to a lower unit of its slot."""
        self.prepare()
        assert self._dup is not None
        return self._dup

    def outputs(self, spec: ModelSpec, Xc: np.ndarray, squares: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Logits of every slot on a row chunk, (row, output unit, slot) in this group's
        precision, and a proven bound (row, slot), float64, on their distance to the
        fixed-order float64 logits (`exact_logits`) of every unit. ``squares``: the rows'
        sums of squares (``np.vecdot(Xc, Xc)``) if the caller has them. Call it under
        `_quiet` (non-finite outputs are caught later)."""
        return self._outputs(spec, Xc, squares)

    def _outputs(self, spec: ModelSpec, Xc: np.ndarray, squares: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        c, d = Xc.shape
        w = spec.layers[0][1]
        X = Xc if self.dtype == Xc.dtype else Xc.astype(self.dtype)
        # row norms in float32 (any order): covered by the factor (`_norm_coef`)
        if squares is None:
            squares = np.vecdot(Xc, Xc)
        xn = _norms_up(squares.astype(np.float64), d, _U32, _TINY[_F32])
        k = _gamma(self.depth0, self.u) + _dot_coef(d, _U64)  # this pass and the fixed-order one
        # and what underflow can lose in each of the d + 1 roundings of either pass
        under = (d + 1) * (_TINY[np.dtype(self.dtype)] + _TINY[np.dtype(np.float64)])
        if not self.rest:
            # the GEMM transposed, (width * size, d) @ (d, c), in input blocks summed in a fixed
            # order: its result is already contiguous (unit, slot, row) planes, so the per-unit
            # work that follows runs on long contiguous arrays with no transposing copy, and the
            # bias is one constant per row of it
            A = _scratch("gemm", (self.W0T.shape[0], c), self.dtype)
            (k0, k1), *more = self.blocks
            _gemm(self.W0T[:, k0:k1], X[:, k0:k1].T, out=A)
            if more:
                T = _scratch("gemm-block", A.shape, self.dtype)
                for k0, k1 in more:
                    _gemm(self.W0T[:, k0:k1], X[:, k0:k1].T, out=T)
                    A += T
            A += self.b0[:, None]
            # E = 1.01 k (||x|| colmax + bmax), the factors folded into the slots' constants
            # (the 1.01 covers these few float64 roundings as well); (slot, row) as the planes
            st = self.stats[0]
            K = 1.01 * k
            E = _scratch("bound", (self.size, c), np.float64)
            np.multiply.outer(st.colmax * K, xn, out=E)
            E += (st.bmax * K)[:, None] + 1.01 * under
            # (row, unit, slot) and (row, slot) views of the (unit, slot, row) planes
            return A.reshape(w, self.size, c).transpose(2, 0, 1), E.T
        # the GEMM, (c, d) @ (d, width * size), in input blocks summed in a fixed order
        A = _scratch("gemm", (c, self.W0.shape[1]), self.dtype)
        (k0, k1), *more = self.blocks
        _gemm(X[:, k0:k1], self.W0[k0:k1], out=A)
        if more:
            T = _scratch("gemm-block", A.shape, self.dtype)
            for k0, k1 in more:
                _gemm(X[:, k0:k1], self.W0[k0:k1], out=T)
                A += T
        st = self.stats[0]
        A += self.b0
        _activate(spec, A)
        tanh_err = 8 * (self.u + _U64) if spec.activation == "tanh" else 0.0
        eps = k * (np.multiply.outer(xn, st.frob) + st.bnorm) + math.sqrt(w) * (tanh_err + under)  # 2-norm over hidden units
        H = np.ascontiguousarray(A.reshape(c, self.size, w).transpose(1, 0, 2))
        for i, (W, b) in enumerate(self.rest):
            a = W.shape[1]
            hn = _norms_up(np.einsum("gcw,gcw->cg", H, H).astype(np.float64), a, self.u, _TINY[np.dtype(self.dtype)]) + eps  # >= the exact path's norm
            under = (a + 1) * (_TINY[np.dtype(self.dtype)] + _TINY[np.dtype(np.float64)])
            st = self.stats[i + 1]
            k = _dot_coef(a, self.u) + _dot_coef(a, _U64)
            H = np.matmul(H, W)  # one GEMM per slot, all of the same shape
            H += b
            if i < len(self.rest) - 1:
                _activate(spec, H)
                eps = eps * st.frob + k * (hn * st.frob + st.bnorm) + math.sqrt(a) * (tanh_err + under)
            else:
                E = eps * st.colmax + k * (hn * st.colmax + st.bmax) + under
        return np.ascontiguousarray(H.transpose(1, 2, 0)), E * 1.01

    def span(self, spec: ModelSpec, squares: np.ndarray) -> float | None:
        """A one-layer model's bound on |z| of every exact logit of rows whose sums of squares
        are ``squares`` (any order, float32): ``|x . w_j + b_j| <= ||x|| max_j ||w_j|| +
        max_j |b_j|`` (Cauchy-Schwarz), the norm rounded up as in `outputs` and the float64
        roundings of the norms and of this sum covered by 2^-40; None for an mlp (or no rows)."""
        if self.rest or not len(squares):
            return None
        st = self.stats[0]
        with _quiet():
            xn = float(_norms_up(float(squares.max()), spec.layers[0][0], _U32, _TINY[_F32]))
        return (xn * float(st.colmax.max()) + float(st.bmax.max())) * (1 + 2.0**-40)

    def slot64(self, spec: ModelSpec, slot: int) -> "_Group":
        """Candidate ``slot`` alone, in float64 (the second pass for uncertain rows)."""
        if slot not in self._slot64:
            self._slot64[slot] = _Group(spec, [self.sets[slot]], 1, np.float64)
        return self._slot64[slot]

    def pairs64(self, spec: ModelSpec, X: np.ndarray, rows: np.ndarray, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The second pass of a one-layer model for (row, slot) pairs sorted by slot: float64
        logits (pairs, units, 1) through BLAS, one GEMM per slot on its rows, and their
        bound (pairs, 1) as `outputs` gives it for a float64 group of that slot alone."""
        d, w = spec.layers[0]
        self.prepare()
        assert self._w64 is not None
        W, b = self._w64
        n = len(rows)
        Z = np.empty((n, w), dtype=np.float64)
        squares = np.empty(n, dtype=np.float32)
        # each slot's rows (at most _PAIR_ROWS at a time) gathered and converted into a buffer
        # that stays in cache: a float64 copy of all the pairs' rows (13 MB for 2,000 pairs at
        # d = 784) cost more than the GEMMs
        cuts = np.flatnonzero(np.diff(slots)) + 1
        X64 = _scratch("rows64", (min(n, _PAIR_ROWS), d), np.float64)
        for first, end in zip(np.concatenate(([0], cuts)), np.concatenate((cuts, [n]))):
            for lo in range(int(first), int(end), _PAIR_ROWS):
                hi = min(lo + _PAIR_ROWS, int(end))
                Xs = X[rows[lo:hi]]
                np.vecdot(Xs, Xs, out=squares[lo:hi])
                np.copyto(X64[: hi - lo], Xs)
                np.matmul(X64[: hi - lo], W[int(slots[lo])], out=Z[lo:hi])
        Z += b[slots]
        xn = _norms_up(squares.astype(np.float64), d, _U32, _TINY[_F32])
        st = self.stats[0]
        k = 2 * _dot_coef(d, _U64)  # this pass and the fixed-order one, both float64
        E = (k * (xn * st.colmax[slots] + st.bmax[slots]) + 2 * (d + 1) * _TINY[np.dtype(np.float64)]) * 1.01
        return Z[:, :, None], E[:, None]

    def exact_logits(self, spec: ModelSpec, X: np.ndarray, rows: np.ndarray, slots: np.ndarray) -> np.ndarray:
        """The fixed-order logits of each (row, slot) pair, float64 (pairs, units), no BLAS.

        Every dense layer computes ``z_j = (((0 + x_0 w_0j) + x_1 w_1j) + ...) + b_j`` left
        to right in float64, one IEEE operation at a time (the products of float32 values
        are exact in float64); ReLU / tanh (numpy, float64) between layers; in the layers
        after the first, every product and every sum below 2^-1000 in magnitude is set to
        zero of its sign (`_flush64`). Elementwise IEEE operations round the same on every
        CPU, so these bits do not depend on the BLAS, nor on DAZ / FTZ."""
        if self._canon is None:
            self._canon = []
            for i, (a, b) in enumerate(spec.layers):
                WT = np.zeros((a, self.size, b), dtype=np.float64)
                B = np.zeros((self.size, b), dtype=np.float64)
                for slot, params in enumerate(self.sets):
                    WT[:, slot, :] = params[f"W{i}"]
                    B[slot] = params[f"b{i}"]
                self._canon.append((WT, B))
        A = np.ascontiguousarray(X[rows].T, dtype=np.float64)  # (inputs, pairs)
        last = len(self._canon) - 1
        with _quiet():
            for i, (WT, B) in enumerate(self._canon):
                acc = np.zeros((len(rows), WT.shape[2]), dtype=np.float64)
                tmp = np.empty_like(acc)
                for j in range(WT.shape[0]):
                    np.take(WT[j], slots, axis=0, out=tmp)
                    tmp *= A[j][:, None]
                    if i:  # after the first layer, values below 2^-1000 are 0 (`_flush64`)
                        _flush64(tmp)
                    acc += tmp
                    if i:
                        _flush64(acc)
                acc += B[slots]
                if i:
                    _flush64(acc)
                if i < last:
                    _activate(spec, acc)
                A = np.ascontiguousarray(acc.T)
        return A.T


def _top2(Z: np.ndarray, dup: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per (row, slot) of a (row, unit, slot) array: the first unit of the maximum (a unit
    wins only if strictly greater than all before it), the maximum, the largest value of
    the other units, and the largest |value|; units marked in ``dup`` ((unit, slot), or
    (unit, row, slot)) are skipped (they equal a lower unit). NaN propagates into the maxima.

    The units are first copied to contiguous (row, slot) planes: numpy is several times
    faster on one long contiguous plane than on 32-wide strided rows.
    """
    c, m, G = Z.shape
    planes = np.ascontiguousarray(Z.transpose(1, 0, 2)).reshape(m, c * G)
    track = not dup.any()
    amax = np.abs(planes[0]) if track else np.abs(planes).max(axis=0)  # every unit, duplicates too
    if not track:
        planes = planes.copy()  # never write into Z (one row: the transpose above is a view)
        # dup is (unit, slot), or (unit, row, slot) for pairs of different candidates
        np.copyto(planes.reshape(m, c, G), -np.inf, where=dup if dup.ndim == 3 else dup[:, None, :])
    kind = np.min_scalar_type(m - 1)
    mx = planes[0].copy()
    second = np.full(c * G, -np.inf, dtype=Z.dtype)
    arg = np.zeros(c * G, dtype=kind)
    gt = np.empty(c * G, dtype=bool)
    step = np.empty(c * G, dtype=kind)
    low = np.empty(c * G, dtype=Z.dtype)
    for j in range(1, m):
        p = planes[j]
        np.greater(p, mx, out=gt)
        # arg < j before this step, so max(arg, j * gt) sets exactly the entries where gt
        np.multiply(gt, j, out=step, dtype=kind)
        np.maximum(arg, step, out=arg)
        np.minimum(mx, p, out=low)
        np.maximum(second, low, out=second)
        np.maximum(mx, p, out=mx)  # propagates NaN
        if track:
            np.maximum(amax, np.abs(p), out=amax)
    shape = (c, G)
    return arg.reshape(shape), mx.reshape(shape), second.reshape(shape), amax.reshape(shape)


def _row_values(spec: ModelSpec, Z: np.ndarray, yc: np.ndarray, metric: str) -> np.ndarray:
    """Per (row, slot) of a (row, unit, slot) array: the row's log loss or mse, float64.

    Fixed elementwise operations and left-to-right loops over the output units; the same
    code serves the fast pass and the fixed-order path. A float32 ``Z`` (the fast pass)
    gives the bits its float64 copy would: every operation's result is float64 (float32
    values convert exactly), and no float64 copy of ``Z`` is made."""
    c, m, G = Z.shape
    if m == 1:
        z = Z[:, 0, :].astype(np.float64)
        if spec.output == "linear":
            v = z - yc.astype(np.float64)[:, None]
            v *= v
        elif metric == "log_loss":  # softplus(-z) if y == 1 else softplus(z)
            t = np.where((yc == 1)[:, None], -z, z)
            v = np.maximum(t, 0)
            v += np.log1p(np.exp(-np.abs(t)))
        else:
            v = 1 / (1 + np.exp(-z))
            v -= yc.astype(np.float64)[:, None]
            v *= v
        return v
    rows = np.arange(c)
    mx = Z[:, 0, :].astype(np.float64)
    for j in range(1, m):
        np.maximum(mx, Z[:, j, :], out=mx)
    E = Z - mx[:, None, :]  # float64 (mx is)
    np.exp(E, out=E)
    s = E[:, 0, :].copy()
    for j in range(1, m):  # left to right over the classes: a fixed order
        s += E[:, j, :]
    if metric == "log_loss":
        v = mx - Z[rows, yc]  # log-sum-exp minus the label's logit
        v += np.log(s)
        return v
    E /= s[:, None, :]
    E[rows, yc] -= 1
    E *= E
    v = E[:, 0, :].copy()
    for j in range(1, m):
        v += E[:, j, :]
    v /= m
    return v


def _lipschitz(spec: ModelSpec, metric: str, v: np.ndarray, E: np.ndarray) -> np.ndarray:
    """A bound on how far a row's value moves when every logit moves by at most E:
    log-sum-exp minus a logit is 2-Lipschitz in the max norm, softplus 1, the Brier
    score / m at most 4 / m <= 2, the sigmoid's square at most 1/2, and a squared
    residual r moves by at most 2 |r| E + E^2."""
    if spec.output == "linear":
        return (2 * np.sqrt(np.abs(v)) + E) * E
    if spec.output == "sigmoid":
        return E
    return 2 * E


def _decide(spec: ModelSpec, Z: np.ndarray, E: np.ndarray, yc: np.ndarray, metric: str, dup: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The fast pass's per-row results and which of them are proven equal to the
    fixed-order path's: (value, certain), both (row, slot). Accuracy values are 0/1;
    log loss and mse values are whole multiples of ROW_GRID, in grid units (int64).

    A row is certain when its decision cannot flip within the bound E of its logits:
    the argmax's lead over every other unit exceeds 2E (exact ties are never certain),
    a sigmoid logit is further than E from 0, a value is further than its bound from a
    rounding point of the grid; and every logit is within float32's range by more than E
    (a logit beyond it makes the candidate invalid)."""
    c, m, G = Z.shape
    if metric == "accuracy":
        if m == 1:
            z = Z[:, 0, :].astype(np.float64)
            az = np.abs(z)
            certain = (az > E) & (az + E < _F32_MAX)
            return ((z >= 0) == (yc == 1)[:, None]).astype(np.int64), certain
        arg, mx, second, amax = _top2(Z, dup)
        lead = mx.astype(np.float64) - second.astype(np.float64)  # exact for float32 inputs
        certain = (lead > 2 * E) & (amax.astype(np.float64) + E < _F32_MAX)
        return (arg == yc.astype(arg.dtype)[:, None]).astype(np.int64), certain
    v = _row_values(spec, Z, yc, metric)
    with _quiet():
        big = max(float(np.max(Z)), -float(np.min(Z)))  # NaN if any logit is: then per row
    amax = big if big + float(np.max(E)) < _F32_MAX else np.abs(Z.astype(np.float64)).max(axis=1)
    # The fixed-order value lies in [lo, hi]: _row_values' own rounding (a, on this pass's
    # value and on the fixed-order one) around the exact function, which moves by at most
    # the Lipschitz bound L (absolute) and by at most a factor e^(+-R) (relative).
    a = _U64 * (16 * m + 64 + 16 * np.abs(v))
    L = _lipschitz(spec, metric, v, E)
    lo, hi = v - L - 2 * a, v + L + 2 * a
    R = _relative(spec, metric, E)
    if R is not None:
        R = R * (1 + 2.0**-20) + 2.0**-50  # covers the rounding of exp and of the products below
        lo = np.maximum(lo, np.maximum(v - a, 0) * np.exp(-R) - a)
        hi = np.minimum(hi, (v + a) * np.exp(R) + a)
    # the grid's rounding is monotone: equal units at both ends settle every value between
    units, same = _grid_pair(np.maximum(lo, 0), hi, ROW_BITS[metric])
    certain = same & np.isfinite(v) & (amax + E < _F32_MAX)
    return units, certain


#: `_decide_planes` computes log loss's and mse's exponentials without shifting them by the
#: rows' maxima when a one-layer model's logits are proven within this of 0 (`_Group.span`,
#: plus 3E): e^(2 * 170) times any count of units stays far inside float64's normal range
#: (about e^(+-708)), so neither S, Q nor S^2 can overflow or lose a term to underflow.
_UNSHIFTED_SPAN = 170.0

#: ... and in float32 (one vectorised exp over all the planes, then float32 sums of positive
#: terms) when they are proven within this of 0, log m included: every e_j, e_j^2, their sums
#: and S^2 then lie within e^(+-80), normal float32s (whose range is about e^(-87) to e^(88)).
_VALUES_SPAN32 = 40.0
#: The relative error assumed of numpy's float32 exp on normal results: 2^-18, 64 float32
#: units in the last place (numpy's SIMD exp is within about 4, an IEEE libm's expf within
#: 1). `_exp32_sound` checks it on this process's numpy once before the float32 path is used.
_EXP32_REL = 2.0**-18
#: e_j (1 + delta) with |delta| <= _EXP32_REL is exp(z_j + xi) with |xi| <= -log(1 - _EXP32_REL),
#: which this bounds: float32 exponentials are the exact ones of logits moved by at most this.
_EXP32_SHIFT = _EXP32_REL / (1 - _EXP32_REL)
_EXP32_OK: list[bool] = []


class _Rel32(dict):
    """m -> rho / (1 - rho), rho = gamma_{4m+4}(2^-24): a bound on the relative error of a
    float32 value of `_decide_planes` (m units) against the same function of its float32
    exponentials, computed exactly (the docstring counts the roundings)."""

    def __missing__(self, m: int) -> float:
        rho = _gamma(4 * m + 4, _U32)
        self[m] = value = rho / (1 - rho) if rho < 0.5 else math.inf
        return value


_VALUES_REL32 = _Rel32()


def _exp32_sound() -> bool:
    """Whether numpy's float32 exp is within _EXP32_REL / 4 of the float64 one on 65,536
    points across [-_VALUES_SPAN32 - 1, _VALUES_SPAN32 + 1] (float64's exp is within a
    few 2^-53 of the exact value); checked once per process (about 1 ms). If not, log loss
    and mse keep float64 exponentials."""
    if not _EXP32_OK:
        x = np.linspace(-_VALUES_SPAN32 - 1, _VALUES_SPAN32 + 1, 1 << 16, dtype=np.float32)
        with _quiet():
            ref = np.exp(x.astype(np.float64))
            err = np.abs(np.exp(x).astype(np.float64) - ref) / ref
        _EXP32_OK.append(bool(np.all(err <= _EXP32_REL / 4)))
    return _EXP32_OK[0]

#: For a value on the floating grid's unclamped part, [2^(b-21), ROW_CAP), rounding to b
#: significant bits (halves up) is adding half of the last kept bit to the float64's bit
#: pattern and clearing the bits below it (a carry moves to the next binade exactly as the
#: grid does); the bit patterns of non-negative floats are ordered as their values.
_MANTISSA_BITS = 52


def _decide_planes(spec: ModelSpec, Z: np.ndarray, E: np.ndarray, yc: np.ndarray, metric: str,
                   dup: np.ndarray, span: float | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """`_decide` for the fast pass of a softmax output (units >= 2, float32), on contiguous
    (unit, slot, row) planes (or (unit, row, slot) ones), with the same results wherever it
    says "certain" and never "certain" where `_decide` would not be; None where it does not
    apply (some logit within E of float32's range or not finite, a relative bound above
    1/2): then `_decide` decides.

    Accuracy: a row is certain when every unit but the maximum lies below the float32
    threshold ``fl32(fl64(max - 2E))``: rounding is monotone, so a float32 below it lies
    below ``max - 2E`` exactly, i.e. the maximum leads by more than 2E, as in `_decide`.
    Log loss and mse: the row's value is computed in float64 as `_row_values` computes it
    (its own rounding within the same `a`), and its interval ``v -+ (min(L, (v + a)
    (e^R - 1)) + 3a)``, which contains `_decide`'s (e^R - 1 <= R (1 + R) for R <= 1; the
    roundings of these few products are inside R's own 2^-20 and 2^-50 terms, those of
    ``v -+ hw`` inside the third a), is settled when both ends have the same grid units
    (`_grid_pair`).

    ``span``, if given, bounds |z| of every exact logit of these rows (`_Group.span`): then
    every computed logit is within span + E of 0, and ``span + 3 max E`` below float32's
    largest value proves them all inside its range by more than E without a pass over the
    logits' minimum (a NaN logit still shows in the rows' maxima). When moreover ``span +
    3 max E <= _UNSHIFTED_SPAN`` (170), log loss and mse take ``e_j = exp(z_j)`` unshifted
    (no maxima, no subtraction per unit): every e_j, S, S^2 and Q lies within e^(+-340)
    times the number of units, far inside float64's normal range, so each is the shifted
    one times the same exact factor e^(max) up to the same relative roundings, p_j and the
    Brier score are unchanged, and log loss is ``log S - z_y``, whose only new rounding is
    log's, relative to ``|log S| <= span + E + log m``: ``a`` gains ``4 (span + E + log m +
    1)`` ulps for it (a NaN logit, impossible once span holds, would make its row's value
    NaN, never settled).

    When ``span + 3 max E + log m <= _VALUES_SPAN32`` (40), log loss and mse are computed in
    float32. The exponentials: one vectorised float32 exp over all the planes; every e^(z_j)
    is a normal float32 (within e^(+-40)), computed within a relative eta = _EXP32_REL (2^-18,
    64 float32 ulps; checked once per process on this numpy, `_exp32_sound`, else the float64
    path runs), i.e. exactly ``e_j = exp(z_j + xi_j)`` with ``|xi_j| <= eta / (1 - eta)``
    (_EXP32_SHIFT). The values, from sums of positive terms only (no cancellation): the
    label's e_y is taken out and ``N = sum_{j != y} e_j``; log loss is ``log1p(N / e_y)`` (the
    ratio in float32, float64's log1p of it), mse ``(sum_{j != y} e_j^2 + N^2) / (N + e_y)^2 / m``
    in float32. Every e_j^2, N^2, S^2 and sum lies within e^(+-80) (normal float32s), so each
    operation is one relative rounding of 2^-24, and the value is the same function of the
    e_j exactly (that is, of the logits z + xi) times ``1 + theta``, ``|theta| <= gamma_{4m+3}``
    (mse: N and the sum of squares m - 1 and m roundings, N^2 and S^2 2m - 1 and 2m + 1, the
    numerator 2m, the quotient and the division by m 2 more; log loss: N / e_y, m, and
    log1p keeps a relative error of its argument relative, inside a); a quotient below
    float32's normal range is off by at most 2^-149 absolutely, inside a. So the exact value
    lies in the interval of `_decide` with E + _EXP32_SHIFT in place of E, widened by
    ``rho / (1 - rho) (v + a)``, rho = gamma_{4m+4} (`_VALUES_REL32`). The interval takes both
    twice over (E + 2 _EXP32_SHIFT, about 8e-6 more against E of about 1e-4 at d = 784, and 2
    rho / (1 - rho), about 5e-6 relative at m = 10), so that the value's own distance from
    the float64 one (at most the same amounts) leaves it holding `_decide`'s, computed from z."""
    c, m, G = Z.shape
    if m == 1 or Z.dtype != _F32 or spec.output != "softmax":
        return None
    # the planes: (unit, slot, row), as `_Group.outputs` lays them out (E then (slot, row)),
    # else (unit, row, slot); every (row, slot) array below is in the planes' layout, and the
    # results are returned as (row, slot) views
    slot_major = Z.transpose(1, 2, 0).flags.c_contiguous
    if slot_major:
        P = Z.transpose(1, 2, 0)
        E = np.ascontiguousarray(E.T)
        shape = (G, c)
        # where each (slot, row)'s label logit lies in the flat planes
        flat = (yc * (G * c) + np.arange(c))[None, :] + (np.arange(G) * c)[:, None]
    else:
        P = Z.transpose(1, 0, 2)
        if not P.flags.c_contiguous:
            P = np.ascontiguousarray(P)
        shape = (c, G)
        flat = (yc * (c * G) + np.arange(c) * G)[:, None] + np.arange(G)[None, :]

    def at_label(planes: np.ndarray) -> np.ndarray:
        """The label unit's entry of each (row, slot) of (unit, ...) planes shaped as P."""
        return np.take(planes.reshape(-1), flat)

    def out(values: np.ndarray, certain: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (values.T, certain.T) if slot_major else (values, certain)

    with _quiet():
        Emax = float(E.max())
    # log loss and mse of logits proven small (`span`): the exponentials need no shift by the
    # rows' maxima, so neither the maxima nor a subtraction per unit
    unshifted = metric != "accuracy" and span is not None and span + 3 * Emax <= _UNSHIFTED_SPAN
    if not unshifted:
        mx = _scratch("max", shape, np.float32)
        with _quiet():
            np.max(P, axis=0, out=mx)  # NaN propagates (then the comparison below fails)
            top = float(mx.max())
            if not (span is not None and top == top and span + 3 * Emax < _F32_MAX):
                big = max(top, -float(P.min()))
                if not big + Emax < _F32_MAX:
                    return None
    if metric == "accuracy":
        if dup.any():  # units equal to a lower one never win: out of the race (on a copy)
            P = P.copy()
            np.copyto(P, -np.inf, where=dup[:, :, None] if slot_major else dup[:, None, :])
            np.max(P, axis=0, out=mx)
        # max - 2E in float64, then to float32: both roundings are monotone and every
        # float32 is a float64, so z < thr (float32, exact) implies z < max - 2E exactly
        thr = np.subtract(mx, 2 * E).astype(np.float32)
        ge = _scratch("ahead", (m, *shape), np.bool_)
        np.greater_equal(P, thr, out=ge)
        count = ge.sum(axis=0, dtype=np.uint8 if m < 256 else np.int64)
        return out((at_label(P) == mx).astype(np.int64), count == 1)
    # logits proven within _VALUES_SPAN32 of 0 (log m included): the values in float32,
    # from float32 exponentials of all the units in one call, each the exact exp of its
    # logit moved by at most _EXP32_SHIFT, computed with no cancellation (the docstring)
    single = unshifted and span + 3 * Emax + math.log(m) <= _VALUES_SPAN32 and _exp32_sound()
    f64 = np.float64
    if single:
        X32 = _scratch("exp32", (m, *shape), np.float32)
        np.exp(P, out=X32)
        ey = at_label(X32)  # the label's e_y, float32
        X32.reshape(-1)[flat] = 0  # the other units only, from here on
        N = np.add.reduce(X32, axis=0, out=_scratch("others", shape, np.float32))  # sum_{j != y} e_j
        v = _scratch("value", shape, f64)
        if metric == "log_loss":  # log(S / e_y) = log1p(N / e_y): float64's log1p of a float32 ratio
            N /= ey
            np.copyto(v, N)
            np.log1p(v, out=v)
        else:  # m Brier = sum_{j != y} p_j^2 + (1 - p_y)^2 = (sum_{j != y} e_j^2 + N^2) / S^2
            X32 *= X32
            num = np.add.reduce(X32, axis=0, out=_scratch("squares32", shape, np.float32))
            S32 = np.add(N, ey, out=ey)  # S = N + e_y
            N *= N
            num += N
            S32 *= S32
            num /= S32
            num /= np.float32(m)
            np.copyto(v, num)
    else:
        # unit by unit, so that the float64 work stays in the core's own cache: S = sum_j e_j,
        # e_j = exp(z_j - max), or exp(z_j) unshifted (and Q = sum_j e_j^2 for mse); float32 to
        # float64 is exact (the subtraction converts on the way). Every (row, slot) array below
        # is this thread's scratch: a fresh one costs page faults on every chunk.
        S = _scratch("sum", shape, f64)
        t = _scratch("exp", shape, f64)
        Q = _scratch("squares", shape, f64) if metric == "mse" else None
        if unshifted:
            mx64 = None
            np.copyto(S, P[0])  # float64 exp (np.exp of the float32 plane into S would run float32's)
        else:
            mx64 = _scratch("max64", shape, f64)
            np.copyto(mx64, mx)
            np.subtract(P[0], mx64, out=S)  # 0 + e_0 is e_0
        np.exp(S, out=S)
        if Q is not None:
            np.multiply(S, S, out=Q)
        for j in range(1, m):
            np.copyto(t, P[j])  # (a copy, then a float64 subtraction: faster than one mixed one)
            if mx64 is not None:
                t -= mx64
            np.exp(t, out=t)
            S += t
            if Q is not None:
                t *= t
                Q += t
        zy = at_label(P)  # the label's logit, float32 (row, slot)
        if Q is None:  # log loss
            v = np.log(S, out=S)
            if mx64 is not None:
                v += mx64
            v -= zy
        else:  # m Brier = sum_j (p_j - [j == y])^2 = Q / S^2 - 2 e_y / S + 1: terms of at most
            # 2, so its rounding is a few ulps absolute, well inside a
            ey = t
            if mx64 is not None:
                np.subtract(zy, mx64, out=ey)
            else:
                np.copyto(ey, zy)
            np.exp(ey, out=ey)
            v = Q
            v /= S
            v /= S
            ey /= S
            ey *= 2
            v -= ey
            v += 1
            v /= m
    # the interval's half-width: L = 2E, R = 2E (log loss) or 4E (Brier / m), as in `_decide`;
    # float32 values: E + widen in place of E (the logits moved by _EXP32_SHIFT by the float32
    # exponentials), plus slack (v + a) for the float32 arithmetic's relative error, each twice
    # over so that the interval still holds `_decide`'s, computed from z in float64
    widen = 2 * _EXP32_SHIFT if single else 0.0
    slack = 2 * _VALUES_REL32[m] if single else 0.0
    rf = 2.0 if metric == "log_loss" else 4.0
    Rmax = rf * (Emax + widen) * (1 + 2.0**-20) + 2.0**-50 + slack
    if Rmax > 0.5:
        return None
    a = _scratch("rounding", shape, f64)
    np.multiply(v, 16 * _U64, out=a)
    # unshifted, log S is near the logits' scale: its rounding (and log's error) is relative
    # to |log S| <= span + E + log m, not to log m
    a += _U64 * (16 * m + 64 + (4 * (span + Emax + math.log(m) + 1) if unshifted else 0))
    hw = _scratch("half-width", shape, f64)
    tmp = _scratch("exp", shape, f64)  # t (and ey) are used up
    k = rf * (1 + 2.0**-20) * (1 + Rmax)
    np.multiply(E, k, out=hw)
    hw += k * widen + 2.0**-50 * (1 + Rmax)
    np.add(v, a, out=tmp)
    hw *= tmp
    np.multiply(E, 2, out=tmp)
    if widen:
        tmp += 2 * widen
    np.minimum(hw, tmp, out=hw)
    if slack:
        np.add(v, a, out=tmp)
        tmp *= slack
        hw += tmp
    np.multiply(a, 3, out=tmp)
    hw += tmp
    lo = np.subtract(v, hw, out=tmp)
    return out(*_grid_pair(lo, np.add(v, hw, out=hw), ROW_BITS[metric]))


def _grid_pair(lo: np.ndarray, hi: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """`_grid` of the low ends (int64) of intervals [lo, hi] (float64), and whether both ends
    have the same units (then, the rounding being monotone, so does every value between).
    Where both ends lie in the grid's unclamped part [2^(bits-21), ROW_CAP), by the bit rule
    (`_MANTISSA_BITS`): a few integer operations instead of `_grid`'s dozen; elsewhere (the
    part below, where the spacing is ROW_GRID, the cap, or an end that is not finite) by
    `_grid` itself."""
    lo, hi = np.ascontiguousarray(lo, dtype=np.float64), np.ascontiguousarray(hi, dtype=np.float64)
    half = np.int64(1 << (_MANTISSA_BITS - bits))
    mask = ~np.int64((1 << (_MANTISSA_BITS + 1 - bits)) - 1)
    rlo = lo.view(np.int64) + half
    rlo &= mask
    rhi = hi.view(np.int64) + half
    rhi &= mask
    same = rlo == rhi
    inside = lo >= 2.0 ** (bits - 1 + _ROW_GRID_EXP)
    inside &= hi < ROW_CAP
    same &= inside
    with _quiet():
        units = rlo.view(np.float64)
        units *= 1 / ROW_GRID  # exact: a multiple of ROW_GRID below ROW_CAP, times a power of two
        units = units.astype(np.int64)  # garbage where not `inside`: replaced below
    edge = np.flatnonzero(~inside.reshape(-1))
    if len(edge):
        a, b = lo.reshape(-1)[edge], hi.reshape(-1)[edge]
        ends = _grid(np.maximum(a, 0), bits)
        units.reshape(-1)[edge] = ends
        same.reshape(-1)[edge] = (ends == _grid(b, bits)) & np.isfinite(a) & np.isfinite(b)
    return units, same


def _grid(v: np.ndarray, bits: int) -> np.ndarray:
    """Values capped at ROW_CAP and rounded to the floating grid (halves up), in units of
    ROW_GRID (int64; 0 where not finite): a value in [2^e, 2^(e+1)) to the nearest multiple
    of 2^max(e + 1 - bits, -20) (`bits`: the metric's ROW_BITS). The rounding is monotone (a larger value never gets
    fewer units), so two values with the same units bound every value between them."""
    with _quiet():
        t = np.minimum(v, ROW_CAP)
        finite = np.isfinite(t) & (t >= 0)
        t = np.where(finite, t, 0.0)
        _, ex = np.frexp(t)  # t = m 2^ex, m in [1/2, 1): e = ex - 1 (0 -> ex 0, below the grid)
        step = np.maximum(ex - bits, _ROW_GRID_EXP)  # the spacing's exponent
        q = np.ldexp(t, -step)  # exact: a power-of-two scaling; q < 2^bits
        fl = np.floor(q)
        k = fl + (q - fl >= 0.5)  # q - fl is exact: halves up, with no rounding of q + 1/2
        units = np.ldexp(k, step - _ROW_GRID_EXP)  # a whole number of ROW_GRID, at most 2^44
    return np.where(finite, units, 0).astype(np.int64)


def _relative(spec: ModelSpec, metric: str, E: np.ndarray) -> np.ndarray | None:
    """A bound R on how far a row's value moves *relatively* (the exact value lies within
    v e^(+-R)) when every logit moves by at most E, or None (a regression residual has none).
    Softmax: every probability moves by a factor within e^(+-2E); log loss is
    log1p(S), S = sum_{j != y} exp(z_j - z_y) moved by e^(+-2E), and log1p(lS) lies
    between log1p(S) / l and l log1p(S) (concave, 0 at 0): R = 2E; the Brier score / m is
    a sum of squares of probabilities (and of 1 - p_y = sum_{j != y} p_j): R = 4E. Sigmoid:
    softplus is log1p(exp(t)), R = E; its squared error is sigma(-+z)^2, R = 2E."""
    if spec.output == "linear":
        return None
    if spec.output == "sigmoid":
        return E if metric == "log_loss" else 2 * E
    return 2 * E if metric == "log_loss" else 4 * E


def _exact_results(spec: ModelSpec, group: _Group, X: np.ndarray, y: np.ndarray, rows: np.ndarray, slots: np.ndarray,
                   metric: str) -> tuple[np.ndarray, np.ndarray]:
    """The fixed-order path for (row, slot) pairs: (value, valid) per pair, as `_decide`'s
    values; a pair is invalid when a logit is not finite or beyond float32's range."""
    values = np.zeros(len(rows), dtype=np.int64)
    valid = np.ones(len(rows), dtype=bool)
    for p0 in range(0, len(rows), _EXACT_BLOCK):
        r, s = rows[p0 : p0 + _EXACT_BLOCK], slots[p0 : p0 + _EXACT_BLOCK]
        Z = group.exact_logits(spec, X, r, s)  # (pairs, units)
        with _quiet():
            ok = (np.abs(Z) <= _F32_MAX).all(axis=1)  # False for NaN too
        valid[p0 : p0 + len(r)] = ok
        Z = np.where(ok[:, None], Z, 0.0)
        yr = y[r]
        if metric == "accuracy":
            if Z.shape[1] == 1:
                got = (Z[:, 0] >= 0) == (yr == 1)
            else:
                got = np.argmax(Z, axis=1) == yr  # the first maximum: the lowest unit wins ties
            values[p0 : p0 + len(r)] = got
        else:
            with _quiet():
                values[p0 : p0 + len(r)] = _grid(_row_values(spec, Z[:, :, None], yr, metric)[:, 0], ROW_BITS[metric])
    return values, valid


def _sum_units(values: np.ndarray) -> list[int]:
    """Exact column sums of a non-negative-or-small int64 (row, slot) array, as Python ints
    (split in two halves so that no int64 sum can overflow; unsplit while the rows are
    too few to overflow: a value is below 2^45, `_grid`)."""
    if values.shape[0] < 1 << 17:
        return [int(t) for t in values.sum(axis=0)]
    hi = (values >> 24).sum(axis=0)
    lo = (values & ((1 << 24) - 1)).sum(axis=0)
    return [(int(a) << 24) + int(b) for a, b in zip(hi, lo)]


def _row_chunks(n: int, chunk_rows: int, workers: int) -> list[tuple[int, int]]:
    """The row chunks of `_totals`, (start, stop): ``n`` rows in equal chunks (+-1 row) of at
    most ``chunk_rows``, their number rounded up to a multiple of ``workers`` (at most n)."""
    if n <= 0:
        return []
    count = -(-n // chunk_rows)
    if workers > 1 and count > 1:
        count = min(n, -(-count // workers) * workers)
    return [(n * i // count, n * (i + 1) // count) for i in range(count)]


_POOLS: dict[tuple[int, int], Any] = {}
_POOLS_LOCK = threading.Lock()


def _pool(workers: int) -> Any:
    """The process's thread pool of ``workers`` threads, made once: fresh threads on every
    call cost several ms (thread start, OpenBLAS's per-thread buffers). Keyed by pid too,
    so a forked child never waits on its parent's threads."""
    key = (os.getpid(), workers)
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            from concurrent.futures import ThreadPoolExecutor

            pool = _POOLS[key] = ThreadPoolExecutor(workers, thread_name_prefix="fathom-score")
        return pool


def _totals(spec: ModelSpec, sets: Sequence[Mapping[str, np.ndarray]], X: np.ndarray, y: np.ndarray, metric: str, chunk_rows: int, group: int | None, workers: int = 1, check_rows: bool = False, rows_out: np.ndarray | None = None, progress: Any = None) -> tuple[list[Fraction], np.ndarray]:
    """`_totals_once`; with ``check_rows`` (features not yet read: `_prepare(defer=True)`), once
    more on the flushed features if a row chunk holds a subnormal value (F4: they are read as
    zero), so that honest features cost no serial pass over them."""
    try:
        return _totals_once(spec, sets, X, y, metric, chunk_rows, group, workers, check_rows, rows_out, progress)
    except _SubnormalFeatures:
        return _totals_once(spec, sets, _flush_subnormals(X), y, metric, chunk_rows, group, workers, check_rows,
                            rows_out, progress)


def _totals_once(spec: ModelSpec, sets: Sequence[Mapping[str, np.ndarray]], X: np.ndarray, y: np.ndarray, metric: str, chunk_rows: int, group: int | None, workers: int = 1, check_rows: bool = False, rows_out: np.ndarray | None = None, progress: Any = None) -> tuple[list[Fraction], np.ndarray]:
    """Exact sums of the per-row metric of every parameter set over all rows of X
    (Fractions: accuracy counts, or whole multiples of ROW_GRID), and which sets are
    valid (every fixed-order logit finite and within float32's range). With
    ``check_rows``, each row chunk's features are checked for NaN or infinite values just
    before its first GEMM, which then reads them from cache.

    Three passes (the module docstring): the fast GEMM over every row with a proven error
    bound; for accuracy, the rows it leaves uncertain again in float64, one candidate at
    a time; the rows still uncertain on the fixed-order path (`_Group.exact_logits`).
    With ``rows_out`` (int64, rows x sets), every row's settled value is written there
    too (the same values the sums add up): what a paired test needs. With ``check_rows``,
    a row chunk holding a subnormal feature raises `_SubnormalFeatures` (after the jobs
    already started end); without it, ``X`` must have none (`_features`)."""
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, (int, np.integer)) or chunk_rows < 1:
        raise ModelError(f"chunk_rows must be a positive integer, got {chunk_rows!r}")
    size = default_group(spec) if group is None else group
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ModelError(f"group must be a positive integer, got {group!r}")
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ModelError(f"workers must be a positive integer, got {workers!r}")
    B = len(sets)
    units = [0] * B
    ok = np.ones(B, dtype=bool)
    # float32 for every metric: accuracy's decisions, and log loss's and mse's values on
    # their floating grid (ROW_BITS), are settled by the float32 bound on most rows
    dtype = np.float32
    groups = [(start, min(B, start + size), _Group(spec, sets[start : start + size], size, dtype)) for start in range(0, B, size)]
    # One task per (row chunk, group). The sums are exact integers, so neither the order
    # in which tasks finish nor the number of workers can change them.
    # The rows are cut into equal chunks of at most chunk_rows, as many as a multiple of
    # the workers, so that no worker idles while another scores a longer last chunk (10k
    # rows on 2 workers: 10 of 1,000, not 9 of 1,024 and one of 784).
    tasks = [(r0, r1, g) for r0, r1 in _row_chunks(X.shape[0], chunk_rows, workers) for g in range(len(groups))]
    canonical = _is_canonical(X)  # flushed once already (`canonical_features`)

    def work(task: tuple[int, int, int]) -> tuple[list[int], np.ndarray, np.ndarray, np.ndarray] | str | None:
        r0, r1, g = task
        Xc = X[r0:r1]
        if check_rows and g == 0 and not canonical and _has_subnormals(Xc):  # (in cache for the GEMM that follows)
            return "subnormal"
        # the rows' squared norms (float32, any order; the bound's ||x||) double as the
        # features' check: a NaN or infinite value makes its row's sum, and so their total,
        # not finite; only when the total is not finite (or finite values overflow it)
        # does `_finite_array` look again, exactly
        with np.errstate(over="ignore", invalid="ignore"):
            squares = np.vecdot(Xc, Xc)
            suspect = check_rows and g == 0 and not np.isfinite(squares.sum())
        if suspect and not _finite_array(Xc):
            return None
        start, _stop, grp = groups[g]
        yc = y[r0:r1]
        with _quiet():
            Z, E = grp.outputs(spec, Xc, squares)  # Z may be this thread's scratch: used up here
            fast = _decide_planes(spec, Z, E, yc, metric, grp.dup, grp.span(spec, squares))
            values, certain = fast if fast is not None else _decide(spec, Z, E, yc, metric, grp.dup)
            del Z
            certain[:, grp.used :] = True  # padding slots: neither counted nor recomputed
            # the uncertain pairs (few) by slot, then row, found on the contiguous array (a
            # search of a transposed view took about 45 us per chunk): (slot, row) as a
            # one-layer group lays them out, else (row, slot) and then sorted by slot
            if certain.T.flags.c_contiguous:
                ss, rr = np.divmod(np.flatnonzero(~certain.T), certain.shape[0])
            else:
                rr, ss = np.divmod(np.flatnonzero(~certain), grp.size)
                order = np.argsort(ss, kind="stable")
                rr, ss = rr[order], ss[order]
        counted = values  # the decision's own array: uncertain entries zeroed in place
        counted[rr, ss] = 0
        if rows_out is not None:  # disjoint slices per task: no lock needed
            rows_out[r0 : r0 + Xc.shape[0], start : start + grp.used] = counted[:, : grp.used]
        return _sum_units(counted), rr + r0, ss

    def second(g: int, rows: np.ndarray, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A one-layer group's second pass on its uncertain (row, slot) pairs of every chunk,
        sorted by slot: float64 through BLAS, one GEMM per candidate on all its uncertain
        rows (about 30-70 rows, where a chunk's share was 3-7: the per-call cost of BLAS
        and of `_decide` is paid once per batch, not once per chunk). Returns the settled
        values and which pairs are settled, and the slots with a logit certainly beyond
        float32's range."""
        start, _stop, grp = groups[g]
        with _quiet():
            Z2, E2 = grp.pairs64(spec, X, rows, slots)
            beyond = np.abs(Z2).max(axis=1)[:, 0] - E2[:, 0] > _F32_MAX
            v2, c2 = _decide(spec, Z2, E2, y[rows], metric, grp.dup[:, slots][:, :, None])
        return v2[:, 0], c2[:, 0], np.unique(slots[beyond])

    def parts(rows: np.ndarray, slots: np.ndarray, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """The pairs sorted by slot, cut at slot boundaries into at most ``count`` parts of
        about equal size (one per worker)."""
        order = np.argsort(slots, kind="stable")
        rows, slots = rows[order], slots[order]
        if count <= 1 or len(rows) < 2:
            return [(rows, slots)]
        bounds = np.flatnonzero(np.diff(slots)) + 1  # where a slot begins
        if not len(bounds):
            return [(rows, slots)]
        # per cut, the slot boundary nearest to an equal share
        cuts = sorted({int(bounds[np.abs(bounds - len(rows) * i / count).argmin()]) for i in range(1, count)})
        edges = [0, *cuts, len(rows)]
        return [(rows[a:b], slots[a:b]) for a, b in zip(edges, edges[1:]) if b > a]

    pool = _pool(int(workers)) if workers > 1 else None
    from concurrent.futures import as_completed
    pending: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in groups]
    dead = [np.zeros(grp.size, dtype=bool) for _, _, grp in groups]
    jobs: list[tuple[int, np.ndarray, np.ndarray, Any]] = []  # (group, rows, slots, future or result)

    def launch(count: int) -> None:
        """Second-pass jobs (`second`) for the uncertain pairs gathered so far of the one-layer
        groups, cut into ``count`` parts by candidate; those pairs leave `pending`."""
        for g, pieces in enumerate(pending):
            if not pieces or groups[g][2].rest:
                continue
            rows, slots = np.concatenate([p[0] for p in pieces]), np.concatenate([p[1] for p in pieces])
            pending[g] = []
            if len(rows):
                for r, s in parts(rows, slots, count):
                    jobs.append((g, r, s, pool.submit(second, g, r, s) if pool is not None else second(g, r, s)))

    failed = subnormal = False
    if pool is not None and len(tasks) > 1:
        # each group's norms and duplicate units first, queued ahead of the tasks: one worker
        # prepares them while another runs the group's first GEMM, which needs them only after
        prepared = [pool.submit(grp.prepare) for _, _, grp in groups]
        futures = {pool.submit(work, task): task for task in tasks}  # numpy and BLAS release the GIL
        # once all but `workers` - 1 chunks are done, a worker is free while the last run: it
        # starts the second pass on the pairs gathered so far, cut into `workers` parts so that
        # a worker finishing its last chunk takes a part too; the rest follow at the end.
        # Results are taken as they finish (the sums are exact integers, in any order): taken
        # in order, a chunk finishing late held back the second pass while a worker idled.
        early = len(tasks) - int(workers) + 1
        results: Iterable[Any] = ((futures[f], f.result()) for f in as_completed(futures))
    else:
        early = 0
        results = zip(tasks, map(work, tasks))
    for done, ((_, _, g), result) in enumerate(results, start=1):
        if progress is not None:  # (tasks done, tasks): a display only, never part of the result
            progress(done, len(tasks))
        if result is None:
            failed = True
            continue
        if isinstance(result, str):
            subnormal = True
            continue
        sums, rr, ss = result
        start, stop, _grp = groups[g]
        for i in range(stop - start):
            units[start + i] += sums[i]
        pending[g].append((rr, ss))
        if done == early and not failed and not subnormal:
            launch(int(workers))
    if pool is not None and len(tasks) > 1:
        for future in prepared:
            future.result()
    if failed or subnormal:
        for *_, job in jobs:  # let the jobs already started end before refusing (or starting again)
            if pool is not None:
                job.result()
        if failed:
            raise ModelError(_NOT_FINITE_FEATURES)
        raise _SubnormalFeatures()
    launch(int(workers))
    uncertain: list[list[tuple[np.ndarray, np.ndarray]]] = [list(pieces) for pieces in pending]  # mlp groups' pairs
    for g, r, s, job in jobs:
        v2, settled, beyond = job.result() if pool is not None else job
        start, _stop, grp = groups[g]
        dead[g][beyond] = True
        per_slot = np.zeros(grp.size, dtype=np.int64)
        np.add.at(per_slot, s[settled], v2[settled])  # exact integers
        for slot in np.flatnonzero(per_slot):
            units[start + slot] += int(per_slot[slot])
        if rows_out is not None:
            rows_out[r[settled], start + s[settled]] = v2[settled]
        uncertain[g].append((r[~settled], s[~settled]))
    for g, (start, _stop, grp) in enumerate(groups):
        for slot in np.flatnonzero(dead[g][: grp.used]):
            ok[start + slot] = False
        rows = np.concatenate([p[0] for p in uncertain[g]]) if uncertain[g] else np.zeros(0, np.int64)
        slots = np.concatenate([p[1] for p in uncertain[g]]) if uncertain[g] else np.zeros(0, np.int64)
        live = ~dead[g][slots]
        rows, slots = rows[live], slots[live]
        if len(rows) and grp.rest and grp.dtype == _F32:  # an mlp's second pass: float64, one candidate at a time
            left_r, left_s = [], []
            for slot in np.unique(slots):
                r = rows[slots == slot]
                one = grp.slot64(spec, int(slot))
                with _quiet():
                    Z, E = one.outputs(spec, X[r])
                    if (np.abs(Z).max(axis=1)[:, 0] - E[:, 0] > _F32_MAX).any():
                        ok[start + slot] = False  # a logit certainly beyond float32's range
                        continue
                    values, certain = _decide(spec, Z, E, y[r], metric, one.dup)
                units[start + slot] += int(values[certain[:, 0], 0].sum())
                if rows_out is not None:
                    rows_out[r[certain[:, 0]], start + slot] = values[certain[:, 0], 0]
                left_r.append(r[~certain[:, 0]])
                left_s.append(np.full(int((~certain[:, 0]).sum()), slot, dtype=np.int64))
            rows = np.concatenate(left_r) if left_r else np.zeros(0, np.int64)
            slots = np.concatenate(left_s) if left_s else np.zeros(0, np.int64)
        if len(rows):
            values, valid = _exact_results(spec, grp, X, y, rows, slots, metric)
            for slot in np.unique(slots):
                sel = slots == slot
                ok[start + slot] &= bool(valid[sel].all())
                units[start + slot] += int(values[sel].sum())
                if rows_out is not None:
                    rows_out[rows[sel], start + slot] = values[sel]
    scale = Fraction(1) if metric == "accuracy" else Fraction(ROW_GRID)
    return [u * scale for u in units], ok


def _prepare(manifest: Mapping[str, Any] | ModelSpec, X: Any, y: Any, metric: str | None, defer: bool = False) -> tuple[ModelSpec, np.ndarray, np.ndarray, str]:
    """Checked model, features, targets and metric. With ``defer``, the features' values
    are not read here (one pass less over X): the caller runs its work inside
    `_features_first` and has `_scores` check each row chunk."""
    spec = model_spec(manifest)
    metric = _metric(spec, metric)
    X = _features(spec, X, check_finite=not defer)
    with _features_first(X) if defer else nullcontext():
        if X.shape[0] == 0:
            raise ModelError("cannot score on an empty validation set")
        y = _targets(spec, y, X.shape[0])
    return spec, X, y, metric


def _merge_all(spec: ModelSpec, head: Mapping[str, np.ndarray], deltas: Iterable[Mapping[str, Any]], invalid: str) -> list[dict[str, np.ndarray] | None]:
    if invalid not in ("raise", "nan"):
        raise ModelError(f"invalid must be 'raise' or 'nan', got {invalid!r}")
    head = check_params(spec, head)
    merged: list[dict[str, np.ndarray] | None] = []
    for i, delta in enumerate(deltas):
        try:
            merged.append(_add_update(head, delta))
        except ModelError as exc:
            if invalid == "raise":
                raise ModelError(f"candidate {i}: {exc}") from None
            merged.append(None)
    return merged


def _scores(spec: ModelSpec, merged: list[dict[str, np.ndarray] | None], X: np.ndarray, y: np.ndarray, metric: str, chunk_rows: int, group: int | None, workers: int = 1, check_rows: bool = False) -> np.ndarray:
    out = np.full(len(merged), np.nan, dtype=np.float64)
    index = [i for i, params in enumerate(merged) if params is not None]
    if index:
        totals, ok = _totals(spec, [merged[i] for i in index], X, y, metric, chunk_rows, group, workers, check_rows)
        n = X.shape[0]
        out[index] = [float(t / n) if good else np.nan for t, good in zip(totals, ok)]  # exact, then rounded once
    elif check_rows and not _finite_array(X):
        raise ModelError(_NOT_FINITE_FEATURES)
    return out


def score_many(
    manifest: Mapping[str, Any] | ModelSpec,
    head_params: Mapping[str, np.ndarray],
    deltas: Sequence[Mapping[str, Any]],
    X: Any,
    y: Any,
    metric: str | None = None,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    group: int | None = None,
    invalid: str = "raise",
    workers: int = 1,
) -> np.ndarray:
    """Scores (float64, one per delta, in order) of ``head + delta_i`` on ``(X, y)``.

    One vectorised pass: per row chunk, one GEMM per group of candidates (see the module
    docstring for the determinism contract). ``metric`` defaults to the manifest's.
    A candidate whose outputs are not finite scores NaN. An update that does not fit
    (names, shapes, dtype, non-finite values, overflow) raises ModelError naming its
    index, or scores NaN with ``invalid="nan"``.
    """
    spec, X, y, metric = _prepare(manifest, X, y, metric, defer=True)
    if metric in _metrics.EXTRA_METRICS:
        return _scores_from_outputs(spec, _merge_all(spec, head_params, deltas, invalid), X, y, metric)
    with _features_first(X):
        merged = _merge_all(spec, head_params, deltas, invalid)
        return _scores(spec, merged, X, y, metric, chunk_rows, group, workers, check_rows=True)


def row_units(
    manifest: Mapping[str, Any] | ModelSpec,
    head_params: Mapping[str, np.ndarray],
    deltas: Sequence[Mapping[str, Any]],
    X: Any,
    y: Any,
    metric: str | None = None,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    group: int | None = None,
    workers: int = 1,
    progress: Any = None,
) -> tuple[np.ndarray, np.ndarray, Fraction]:
    """Every row's settled value for the head and for each ``head + delta_i``, in one pass:
    (units, valid, scale). ``units`` is int64 (rows, 1 + len(deltas)), column 0 the head;
    a row's value is ``units * scale`` (accuracy: 1 for a correct row, scale 1; log loss
    and mse: the row's loss in multiples of ROW_GRID). These are exactly the values whose
    sum `score_many` divides by the number of rows, so they are as independent of the BLAS
    kernel as the scores. ``valid[i]`` is False for a column that cannot be scored (a
    delta that does not fit, or non-finite outputs). For a paired test
    (`fathom.ml.significance`); metrics that are not means of per-row values raise.
    ``progress(done, total)``, if given, is called as the (row chunk, group) tasks finish."""
    return _units_of(manifest, X, y, metric,
                     lambda spec: [check_params(spec, head_params)] + _merge_all(spec, head_params, deltas, "nan"),
                     chunk_rows, group, workers, progress)


def set_units(
    manifest: Mapping[str, Any] | ModelSpec,
    sets: Sequence[Mapping[str, np.ndarray]],
    X: Any,
    y: Any,
    metric: str | None = None,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    group: int | None = None,
    workers: int = 1,
) -> tuple[np.ndarray, np.ndarray, Fraction]:
    """`row_units` of whole parameter sets rather than of ``head + delta_i`` (no head column):
    (units, valid, scale), ``units`` int64 (rows, len(sets)). The same scorer, so the same
    kernel-independent values; `fathom.ml.aggregate` scores its merge trials with it."""
    return _units_of(manifest, X, y, metric, lambda spec: [check_params(spec, p) for p in sets], chunk_rows, group,
                     workers)


def _units_of(manifest: Mapping[str, Any] | ModelSpec, X: Any, y: Any, metric: str | None,
              make_sets: Callable[[ModelSpec], list[Any]], chunk_rows: int, group: int | None, workers: int,
              progress: Any = None) -> tuple[np.ndarray, np.ndarray, Fraction]:
    """(units, valid, scale) of the parameter sets `make_sets(spec)` returns, built once the
    features are read (None: a set that cannot be scored, its column zero and not valid)."""
    spec, X, y, metric = _prepare(manifest, X, y, metric, defer=True)
    if metric in _metrics.EXTRA_METRICS:
        raise ModelError(f"metric {metric!r} is not a mean of per-row values: it has no per-row units")
    with _features_first(X):
        sets = make_sets(spec)
        index = [i for i, params in enumerate(sets) if params is not None]
        units = np.zeros((X.shape[0], len(sets)), dtype=np.int64)
        cols = np.zeros((X.shape[0], len(index)), dtype=np.int64)
        _, ok = _totals(spec, [sets[i] for i in index], X, y, metric, chunk_rows, group, workers, True, rows_out=cols,
                        progress=progress)
    units[:, index] = cols
    valid = np.zeros(len(sets), dtype=bool)
    valid[index] = ok
    return units, valid, Fraction(1) if metric == "accuracy" else Fraction(ROW_GRID)


def bounded_logits(manifest: Mapping[str, Any] | ModelSpec, sets: Sequence[Mapping[str, np.ndarray]], X: Any,
                   chunk_rows: int = DEFAULT_CHUNK_ROWS) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Last-layer logits of each parameter set, float32 (rows, outputs), from the scorer's fast
    GEMM (last bits kernel dependent), and per row a proven bound (float64, rows) on their
    distance to the fixed-order logits (`fixed_logits`) of every output unit (`_Group.outputs`)."""
    spec = model_spec(manifest)
    X = _features(spec, X)
    group = _Group(spec, [check_params(spec, p) for p in sets], len(sets), np.float32)
    n, m = X.shape[0], spec.layers[-1][1]
    Z = np.empty((n, m, len(sets)), dtype=np.float32)
    E = np.empty((n, len(sets)), dtype=np.float64)
    with _quiet():
        for r0 in range(0, n, chunk_rows):
            r1 = min(n, r0 + chunk_rows)
            Zc, Ec = group.outputs(spec, X[r0:r1])
            Z[r0:r1], E[r0:r1] = Zc[:, :, : len(sets)], Ec[:, : len(sets)]  # copies: the scratch is reused
    return [Z[:, :, j] for j in range(len(sets))], [E[:, j] for j in range(len(sets))]


def fixed_logits(manifest: Mapping[str, Any] | ModelSpec, params: Mapping[str, np.ndarray], X: Any) -> np.ndarray:
    """The fixed-order float64 logits (rows, outputs) of one model (`_Group.exact_logits`: no
    BLAS, the same bits on every CPU and FP mode); slow, for the few decisions near a limit."""
    spec = model_spec(manifest)
    X = _features(spec, X)
    group = _Group(spec, [check_params(spec, params)], 1, np.float32)
    out = np.empty((X.shape[0], spec.layers[-1][1]), dtype=np.float64)
    for r0 in range(0, X.shape[0], _EXACT_BLOCK):
        rows = np.arange(r0, min(X.shape[0], r0 + _EXACT_BLOCK))
        out[rows] = group.exact_logits(spec, X, rows, np.zeros(len(rows), dtype=np.int64))
    return out


def score(
    manifest: Mapping[str, Any] | ModelSpec,
    params: Mapping[str, np.ndarray],
    X: Any,
    y: Any,
    metric: str | None = None,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    group: int | None = None,
    workers: int = 1,
) -> float:
    """The score of one model: `score_many`'s code with a batch of one (same bits)."""
    spec, X, y, metric = _prepare(manifest, X, y, metric, defer=True)
    if metric in _metrics.EXTRA_METRICS:
        return float(_scores_from_outputs(spec, [check_params(spec, params)], X, y, metric)[0])
    with _features_first(X):
        return float(_scores(spec, [check_params(spec, params)], X, y, metric, chunk_rows, group, workers, check_rows=True)[0])


def _sample_rows(n: int, sample_rows: int) -> np.ndarray:
    if isinstance(sample_rows, bool) or not isinstance(sample_rows, (int, np.integer)) or sample_rows < 1:
        raise ModelError(f"sample_rows must be a positive integer, got {sample_rows!r}")
    s = min(int(sample_rows), n)
    return (np.arange(s, dtype=np.int64) * n) // s  # evenly spread: deterministic, class-order proof


def screen(
    manifest: Mapping[str, Any] | ModelSpec,
    head_params: Mapping[str, np.ndarray],
    deltas: Sequence[Mapping[str, Any]],
    X: Any,
    y: Any,
    metric: str | None,
    head_score: float,
    *,
    margin: float = 0.0,
    sample_rows: int = 1024,
    mode: str = "bound",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    group: int | None = None,
    workers: int = 1,
) -> np.ndarray:
    """Early rejection: which candidates could still beat ``head_score`` (bool per delta).

    Scores every candidate on a deterministic sample of rows (``sample_rows`` rows spread
    evenly over the set), then:

    - ``mode="bound"`` (sound): the best full score the candidate could still reach is
      computed assuming every unseen row is perfect (accuracy 1, loss 0). A candidate is
      rejected only if even that cannot beat ``head_score`` by more than ``-margin``, so
      no candidate whose full score beats ``head_score - margin`` (higher-is-better; ``+``
      for losses) is ever rejected. Weak, but it throws out broken or spam updates after
      a fraction of the work.
    - ``mode="estimate"`` (statistical): the sample score itself is compared with
      ``head_score`` give or take ``margin``. Rejects much more, but a candidate can be
      wrongly rejected when its sample score is off by more than ``margin``; choose the
      margin from the sample's standard error (for accuracy, ~sqrt(p(1-p)/sample_rows)).

    Candidates that are invalid or not finite on the sample are kept (the full score
    decides). ``margin`` should cover the score quantisation and the oracle tolerance.

    Not for reports in Fathom's protocol: oracles must publish every submission's score
    (slashing needs the losers' scores). It serves where only the winners matter, e.g. a
    contributor's pre-check of many candidate updates or picking the best of a batch.
    """
    spec, X, y, metric = _prepare(manifest, X, y, metric)
    if mode not in ("bound", "estimate"):
        raise ModelError(f"mode must be 'bound' or 'estimate', got {mode!r}")
    margin = float(margin)
    if not math.isfinite(margin) or margin < 0:
        raise ModelError(f"margin must be a finite number >= 0, got {margin!r}")
    head_score = float(head_score)
    merged = _merge_all(spec, head_params, deltas, "nan")
    rows = _sample_rows(X.shape[0], sample_rows)
    keep = np.ones(len(merged), dtype=bool)
    index = [i for i, params in enumerate(merged) if params is not None]
    if not index:
        return keep
    sums, ok = _totals(spec, [merged[i] for i in index], X[rows], y[rows], metric, chunk_rows, group, workers)
    n, s = X.shape[0], len(rows)
    higher = higher_is_better(metric)
    if mode == "estimate":
        best = np.array([float(t / s) for t in sums])
    elif higher:  # every unseen row right
        best = np.array([float((t + (n - s)) / n) for t in sums])
    else:  # every unseen row with zero loss
        best = np.array([float(t / n) for t in sums])
    could = best > head_score - margin if higher else best < head_score + margin
    keep[index] = could | ~ok
    return keep


def score_screened(
    manifest: Mapping[str, Any] | ModelSpec,
    head_params: Mapping[str, np.ndarray],
    deltas: Sequence[Mapping[str, Any]],
    X: Any,
    y: Any,
    metric: str | None,
    head_score: float,
    *,
    margin: float = 0.0,
    sample_rows: int = 1024,
    mode: str = "bound",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    group: int | None = None,
    invalid: str = "raise",
    workers: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """`screen`, then full `score_many` of the survivors only.

    Returns ``(scores, kept)``: ``scores[i]`` is NaN where candidate i was rejected, and
    otherwise exactly (bit for bit) what `score_many` gives it in the whole batch.
    """
    spec, X, y, metric = _prepare(manifest, X, y, metric)
    merged = _merge_all(spec, head_params, deltas, invalid)
    kept = screen(spec, head_params, deltas, X, y, metric, head_score, margin=margin, sample_rows=sample_rows, mode=mode, chunk_rows=chunk_rows, group=group, workers=workers)
    survivors = [params if keep else None for params, keep in zip(merged, kept)]
    return _scores(spec, survivors, X, y, metric, chunk_rows, group, workers), kept


# ---------------------------------------------------------------------------------------
# The extra metrics (fathom.ml.metrics): AUC, F1, balanced accuracy, MAE, R²
# ---------------------------------------------------------------------------------------


def _extra_metric(spec: ModelSpec, metric: str) -> str:
    task = _metrics.METRIC_TABLE[metric].task
    if task == "regression" and not spec.regression:
        raise ModelError(f"{metric} scores a regression model (an mlp with one linear output and metric mse), not a {spec.output} classifier")
    if task == "classification" and spec.regression:
        raise ModelError(f"a regression model is not scored by {metric!r}")
    return metric


def _scores_from_outputs(spec: ModelSpec, sets: list[dict[str, np.ndarray] | None], X: np.ndarray, y: np.ndarray, metric: str) -> np.ndarray:
    """The extra metrics are not sums over rows: each candidate's whole outputs are computed
    (`logits`, `forward`, `predict`: fixed float32 operations), then `fathom.ml.metrics.value`
    in float64. NaN for an invalid candidate or non-finite outputs."""
    out = np.full(len(sets), np.nan, dtype=np.float64)
    for i, params in enumerate(sets):
        if params is None:
            continue
        with np.errstate(over="ignore", invalid="ignore"):
            Z = logits(spec, params, X)
        if not np.isfinite(Z).all():
            continue
        if spec.output == "linear":
            out[i] = _metrics.value(metric, y, Z[:, 0])
        else:
            out[i] = _metrics.value(metric, y, forward(spec, params, X), predict(spec, params, X))
    return out

"""Metrics users ask for, beside accuracy, log loss and mse: AUC, F1, balanced accuracy,
MAE and R², each with its direction, resolution, quantisation and significance test.

`METRIC_TABLE` says, per metric:

=================  ==============  ========  ==========  ===================  ==========================
metric             task            better    resolution  quantised range      significance test
=================  ==============  ========  ==========  ===================  ==========================
accuracy           classification  higher    1e-4        [0, 1]               paired (mean of rows)
log_loss           classification  lower     1e-4        [0, 429496.7]        paired (mean of rows)
mse                both            lower     1e-4        [0, 429496.7]        paired (mean of rows)
mae                regression      lower     1e-4        [0, 429496.7]        paired (mean of rows)
auc                classification  higher    1e-4        [0, 1]               bootstrap
f1                 classification  higher    1e-4        [0, 1]               bootstrap
balanced_accuracy  classification  higher    1e-4        [0, 1]               bootstrap
r2                 regression      higher    1e-4        [0, 1] (< 0 -> 0)    bootstrap
=================  ==============  ========  ==========  ===================  ==========================

- **Quantisation** is the protocol's (`fathom.protocol.settlement.quantise`):
  ``floor(value / resolution + 1/2)`` score units, saturating to ``[0, 2^32 - 2]``.
  `clip_for_quantisation` first brings a value into its range: an R² below 0 (worse than
  predicting the mean) is 0 units.
- **Definitions** (`value`): AUC is the one-vs-rest macro average over the classes of
  the Mann-Whitney statistic, ties counted half (binary: the AUC of class 1); F1 is the
  F1 of class 1 for a binary model and the macro average over classes otherwise;
  balanced accuracy the mean recall over the classes present in the labels; MAE the mean
  absolute error; R² ``1 - SS_res / SS_tot`` (1 if both are 0, 0 if only SS_tot is).
  Predicted classes are the model's (`fathom.ml.models.predict`: logit >= 0, or argmax
  with the first on ties). They agree with scikit-learn's functions (the tests compare).
- **Significance.** Accuracy, log loss, mse and MAE are means of per-row values, so the
  paired per-row test of the payouts issue applies to them as it stands. AUC, F1,
  balanced accuracy and R² are not: each gets a deterministic **paired bootstrap**
  (`paired_bootstrap`): ``rounds`` resamples of the rows, drawn by numpy's PCG64 from a
  seed that is ``sha256("fathom/bootstrap/v1" ‖ bounty id ‖ batch)``, so every oracle
  draws the same rows; the p-value that the candidate is no better than the head is
  ``(1 + #{resamples where it is not better}) / (1 + rounds)``. Given the same model
  outputs it is bit-identical on every machine: the resamples come from PCG64 (the same
  stream everywhere), the classification metrics are ratios of integer counts or of
  rank sums (half-integers, exact in float64), and the regression sums are `math.fsum`
  (exactly rounded, whatever the order), as the paired per-row test does. Outputs that
  differ in the last float32 bits (another BLAS) can move it only through near-ties.
  None of the five is display-only.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from fathom.errors import FathomError

__all__ = ["MetricInfo", "METRIC_TABLE", "EXTRA_METRICS", "MetricError", "value", "clip_for_quantisation", "Bootstrap",
           "paired_bootstrap", "bootstrap_seed"]

#: The largest score, in metric units at the default resolution: settlement.MAX_SCORE = 2**32 - 3
#: (2**32 - 2 is UNAVAILABLE and 2**32 - 1 INVALID on chain, rule R7a; ml does not import protocol).
_UNITS_MAX = (2**32 - 3) * 1e-4


class MetricError(FathomError, ValueError):
    """A metric that does not exist, or does not fit the task or the data."""


@dataclass(frozen=True)
class MetricInfo:
    name: str
    task: str  # "classification", "regression" or "both"
    higher_is_better: bool
    resolution_wad: int  # one score unit, in WAD (10**14 = 0.0001)
    low: float  # the quantised range
    high: float
    significance: str  # "paired" (mean of per-row values) or "bootstrap"


METRIC_TABLE: dict[str, MetricInfo] = {m.name: m for m in (
    MetricInfo("accuracy", "classification", True, 10**14, 0.0, 1.0, "paired"),
    MetricInfo("log_loss", "classification", False, 10**14, 0.0, _UNITS_MAX, "paired"),
    MetricInfo("mse", "both", False, 10**14, 0.0, _UNITS_MAX, "paired"),
    MetricInfo("mae", "regression", False, 10**14, 0.0, _UNITS_MAX, "paired"),
    MetricInfo("auc", "classification", True, 10**14, 0.0, 1.0, "bootstrap"),
    MetricInfo("f1", "classification", True, 10**14, 0.0, 1.0, "bootstrap"),
    MetricInfo("balanced_accuracy", "classification", True, 10**14, 0.0, 1.0, "bootstrap"),
    MetricInfo("r2", "regression", True, 10**14, 0.0, 1.0, "bootstrap"),
)}
#: the metrics this module computes (the scorer in fathom.ml.models computes the first three)
EXTRA_METRICS = ("mae", "auc", "f1", "balanced_accuracy", "r2")


def info(metric: str) -> MetricInfo:
    if metric not in METRIC_TABLE:
        raise MetricError(f"metric must be one of {', '.join(METRIC_TABLE)}; got {metric!r}")
    return METRIC_TABLE[metric]


def clip_for_quantisation(metric: str, v: float) -> float:
    """The value brought into the metric's quantised range (NaN stays NaN: invalid)."""
    m = info(metric)
    return v if math.isnan(v) else min(max(v, m.low), m.high)


def _auc_binary(positive: np.ndarray, score: np.ndarray) -> float:
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    order = np.argsort(score, kind="stable")
    s = score[order]
    ranks = np.empty(len(s), dtype=np.float64)
    # average ranks over ties
    boundaries = np.flatnonzero(np.diff(s)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [len(s)]))
    for a, b in zip(starts, ends):
        ranks[a:b] = (a + b + 1) / 2.0
    r = np.empty_like(ranks)
    r[order] = ranks
    return float((r[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def value(metric: str, y: Any, outputs: Any, labels: Any = None) -> float:
    """The metric of a model's outputs on ``y``: probabilities ``(n, k)`` (and predicted
    ``labels``, default argmax) for a classifier, predictions ``(n,)`` for regression."""
    m = info(metric)
    y = np.asarray(y)
    out = np.asarray(outputs)
    if not len(y) or len(out) != len(y):
        raise MetricError(f"{metric} needs as many outputs as targets, got {len(out)} and {len(y)}")
    if m.task == "regression" or (m.task == "both" and out.ndim == 1):
        pred = out.astype(np.float64).reshape(-1)
        t = y.astype(np.float64)
        n = len(t)
        if metric == "mae":
            return math.fsum(np.abs(pred - t).tolist()) / n
        if metric == "mse":
            return math.fsum(((pred - t) ** 2).tolist()) / n
        ss_res = math.fsum(((t - pred) ** 2).tolist())
        ss_tot = math.fsum(((t - math.fsum(t.tolist()) / n) ** 2).tolist())
        if ss_tot == 0:
            return 1.0 if ss_res == 0 else 0.0
        return 1.0 - ss_res / ss_tot
    if out.ndim != 2:
        raise MetricError(f"{metric} needs class probabilities (n, k), got shape {out.shape}")
    y = y.astype(np.int64)
    k = out.shape[1]
    pred = out.argmax(axis=1) if labels is None else np.asarray(labels, dtype=np.int64)
    if metric == "auc":
        if k == 2:
            return _auc_binary(y == 1, out[:, 1].astype(np.float64))
        per = [_auc_binary(y == c, out[:, c].astype(np.float64)) for c in range(k) if 0 < np.sum(y == c) < len(y)]
        return float(np.mean(per)) if per else math.nan
    if metric == "balanced_accuracy":
        present = np.unique(y)
        return float(np.mean([np.mean(pred[y == c] == c) for c in present]))
    if metric == "f1":
        def f1_of(c: int) -> float:
            tp = int(np.sum((pred == c) & (y == c)))
            fp = int(np.sum((pred == c) & (y != c)))
            fn = int(np.sum((pred != c) & (y == c)))
            return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)
        return f1_of(1) if k == 2 else float(np.mean([f1_of(c) for c in range(k)]))
    if metric == "accuracy":
        return float(np.mean(pred == y))
    if metric == "log_loss":
        return float(-np.mean(np.log(np.clip(out[np.arange(len(y)), y].astype(np.float64), 1e-15, 1.0))))
    onehot = np.zeros_like(out, dtype=np.float64)
    onehot[np.arange(len(y)), y] = 1.0
    return float(np.mean((out - onehot) ** 2))  # mse of a classifier


@dataclass(frozen=True)
class Bootstrap:
    head: float  # the metric of each model on all rows
    candidate: float
    p_value: float  # that the candidate is no better than the head
    rounds: int


def bootstrap_seed(bounty_id: int, batch: int) -> int:
    """The resampling seed every oracle derives for one batch of one bounty."""
    digest = hashlib.sha256(b"fathom/bootstrap/v1" + int(bounty_id).to_bytes(32, "big") + int(batch).to_bytes(32, "big")).digest()
    return int.from_bytes(digest, "big")


def paired_bootstrap(metric: str, y: Any, head: tuple[Any, Any], candidate: tuple[Any, Any], *, bounty_id: int, batch: int,
                     rounds: int = 1000) -> Bootstrap:
    """One-sided paired bootstrap: is ``candidate`` better than ``head`` on ``metric``?
    Each of ``head`` and ``candidate`` is ``(outputs, labels)`` (labels may be None)."""
    m = info(metric)
    if rounds < 1:
        raise MetricError(f"rounds must be at least 1, got {rounds}")
    y = np.asarray(y)
    ho, hl = (np.asarray(head[0]), None if head[1] is None else np.asarray(head[1]))
    co, cl = (np.asarray(candidate[0]), None if candidate[1] is None else np.asarray(candidate[1]))
    rng = np.random.Generator(np.random.PCG64(bootstrap_seed(bounty_id, batch)))
    n = len(y)
    worse = 0
    for _ in range(rounds):
        idx = rng.integers(0, n, size=n)
        a = value(metric, y[idx], ho[idx], None if hl is None else hl[idx])
        b = value(metric, y[idx], co[idx], None if cl is None else cl[idx])
        better = (b > a) if m.higher_is_better else (b < a)
        worse += 0 if better else 1  # NaN (a resample with one class only) counts against
    return Bootstrap(value(metric, y, ho, hl), value(metric, y, co, cl), (1 + worse) / (1 + rounds), rounds)

"""Pay only for improvement larger than the measurement's noise (issue: "noise is paid").

A score on a finite validation set is a measurement with an error. Every oracle compares
a candidate with the head on the *same* rows, so the comparison is paired: per row,

    d_i = g_candidate(i) - g_head(i)

where `g` is the row's *goodness* (1 or 0 for a correct or wrong prediction under
accuracy, minus the row's log loss, minus its squared error). For these metrics the
metric is the mean of `g`, so `mean(d)` is exactly the candidate's improvement over the
head and its standard error is `sd(d) / sqrt(n)` (sd with n - 1). With `z` the one-sided
normal quantile of the bounty's confidence (`Z_FOR`):

    lcb = mean(d) - z * se        ucb = mean(d) + z * se

The oracle then reports not the candidate's raw score but the head's score moved by the
part of the difference that lies beyond the noise (a soft threshold):

    lcb       when lcb > 0   significantly better: only what is certain counts
    ucb       when ucb < 0   significantly worse: only what is certain counts
    0         otherwise      indistinguishable from the head: the head's own score

quantised towards the head (`report_units`). The contracts need no new rule: a
submission is accepted when its median report beats the head (so when the median lower
bound is above zero) and slashed when it lies below the head by more than the slash
margin (so only when even its upper bound is that much worse). A version's recorded
score is the conservative `head + lcb`, so the reward, which follows the recorded
progress, pays only for demonstrated improvement.

What this publishes. A candidate that is not significantly different from the head is
published as exactly the head's score: a prober learns one bit ("not significant"), not
a score to climb on. That is the Ladder mechanism's rule (Blum and Hardt, 2015: report a
new score only when it beats the best so far by a margin tied to the noise) with the
margin chosen per comparison from the paired standard error; Thresholdout answers from a
training set while the holdout and it agree, which does not apply to a committee that
sees only the holdout. Published values are further rounded to the bounty's resolution.

Determinism. Every honest oracle must report the same integer, and name the same batch
decision (`fathom.ml.aggregate`, which tests on the same statistic): the per-row values are
the scorer's exact units (`models.row_units`: integers, the same on every BLAS kernel and
FP mode; `paired_units`), their sums exact integers and the mean and variance exact
fractions rounded once, `math.sqrt` is correctly rounded by IEEE 754, and `z` comes from a
fixed table rather than a library's inverse CDF (whose last bits could depend on the
platform's libm). `paired` and `row_goodness` are the float versions (fsum of float64
goodness from float32 BLAS outputs), kept as references for tests and controls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Mapping, Sequence

import numpy as np

from fathom.errors import FathomError

#: one-sided standard normal quantiles for the confidences a bounty may choose, in basis
#: points. The range is capped: below 90% noise is paid too often, above 99.9% a requester
#: could set a bar that honest progress on a small validation set cannot pass.
Z_FOR: dict[int, float] = {
    9_000: 1.2815515655446004,
    9_500: 1.6448536269514722,
    9_750: 1.959963984540054,
    9_900: 2.3263478740408408,
    9_950: 2.5758293035489004,
    9_990: 3.090232306167813,
}
DEFAULT_CONFIDENCE_BPS = 9_900
WAD = 10**18


class SignificanceError(FathomError, ValueError):
    """A confidence outside the allowed table, or rows that do not pair up."""


def z_for(confidence_bps: int) -> float:
    try:
        return Z_FOR[int(confidence_bps)]
    except (KeyError, TypeError, ValueError):
        allowed = ", ".join(f"{c / 100:g}%" for c in sorted(Z_FOR))
        raise SignificanceError(f"confidence {confidence_bps} bps is not one of {allowed}") from None


@dataclass(frozen=True)
class PairedDifference:
    """The paired comparison of one candidate with the head, in the metric's goodness."""

    n: int
    mean: float  # mean(d): the candidate's improvement of the metric (goodness)
    se: float  # standard error of the mean
    lcb: float
    ucb: float

    @property
    def shrunk(self) -> float:
        """The part of the difference beyond the noise (0 when not significant)."""
        if self.lcb > 0:
            return self.lcb
        if self.ucb < 0:
            return self.ucb
        return 0.0

    @property
    def verdict(self) -> str:
        return "better" if self.lcb > 0 else "worse" if self.ucb < 0 else "not significant"


def _pair(head: Any, candidate: Any, dtype: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """The two per-row vectors, flat, of one length n >= 2 (else SignificanceError)."""
    h = np.asarray(head, dtype=dtype).ravel()
    c = np.asarray(candidate, dtype=dtype).ravel()
    if h.shape != c.shape:
        raise SignificanceError(f"the head has {h.size} rows and the candidate {c.size}: they must pair up")
    if h.size < 2:
        raise SignificanceError("a paired test needs at least 2 validation rows")
    return h, c, int(h.size)


def paired(head_goodness: Any, candidate_goodness: Any, confidence_bps: int = DEFAULT_CONFIDENCE_BPS) -> PairedDifference:
    """Mean, standard error and the one-sided bounds of candidate - head, row by row."""
    z = z_for(confidence_bps)
    h, c, n = _pair(head_goodness, candidate_goodness, np.float64)
    d = c - h
    if not np.isfinite(d).all():
        raise SignificanceError("a per-row goodness is not finite")
    mean = math.fsum(d.tolist()) / n
    var = math.fsum(((d - mean) ** 2).tolist()) / (n - 1)
    se = math.sqrt(var / n)
    return PairedDifference(n=n, mean=mean, se=se, lcb=mean - z * se, ucb=mean + z * se)


def paired_units(head_units: Any, candidate_units: Any, scale: Fraction, higher_is_better: bool,
                 confidence_bps: int = DEFAULT_CONFIDENCE_BPS) -> PairedDifference:
    """`paired` on the scorer's exact per-row values (`fathom.ml.models.row_units`): the
    sums are exact integers and the mean and variance exact fractions, rounded to floats
    once, so every honest oracle gets the same bits. The difference is oriented so that
    positive is better (for a loss metric, `head - candidate`)."""
    z = z_for(confidence_bps)
    h, c, n = _pair(head_units, candidate_units, np.int64)
    d = (c - h) if higher_is_better else (h - c)
    top = int(np.abs(d).max())
    if top < 2**20 and n < 2**22:  # every square below 2^40, their sum below 2^62: exact in int64
        s1, s2 = int(d.sum()), int(np.dot(d, d))
    else:
        values = d.tolist()  # Python ints: a loss's squared difference can exceed int64
        s1 = sum(values)
        s2 = sum(v * v for v in values)
    mean = Fraction(s1, n) * scale
    var = Fraction(s2 * n - s1 * s1, n * (n - 1)) * scale * scale
    m, se = float(mean), math.sqrt(float(var / n))
    return PairedDifference(n=n, mean=m, se=se, lcb=m - z * se, ucb=m + z * se)


def report_units(head_units: int, diff: PairedDifference, resolution_wad: int, higher_is_better: bool,
                 max_units: int = 2**32 - 3) -> int:
    """The score (in the bounty's units) an oracle reports for the candidate: the head's
    recorded score moved by `diff.shrunk`, rounded towards the head, clipped to [0, max]
    (`max_units`: settlement.MAX_SCORE; 2**32 - 2 is UNAVAILABLE on chain, R7a).
    `resolution_wad` is one score unit in WAD, as on chain; the arithmetic is exact."""
    if resolution_wad <= 0:
        raise SignificanceError("the resolution must be positive")
    steps = Fraction(diff.shrunk) * WAD / resolution_wad
    steps_int = math.floor(steps) if steps >= 0 else math.ceil(steps)  # towards the head
    # goodness up means the score up for higher-is-better metrics, down for losses
    units = head_units + steps_int if higher_is_better else head_units - steps_int
    return min(max(units, 0), max_units)


def batch_reports(manifest: Mapping[str, Any], head_params: Mapping[str, np.ndarray], deltas: Sequence[Mapping[str, Any]],
                  X: Any, y: Any, head_score: int, resolution_wad: int, higher_is_better: bool,
                  confidence_bps: int = DEFAULT_CONFIDENCE_BPS, workers: int = 1,
                  progress: Any = None, scored: Any = None) -> list[tuple[int | None, PairedDifference | None]]:
    """What an oracle reports for each candidate of a batch, in one scoring pass: (score
    units, the paired comparison), or (None, None) for a candidate that cannot be scored
    (the oracle reports it INVALID). `head_score` is the head's score as the chain records
    it: every report moves it by the candidate's significant difference only. `progress`:
    `models.row_units`' hook (a display, e.g. the oracle's bar). `scored`: that pass's
    result when the caller already has it (the node hands the same units to
    `aggregate.decide`, so the batch is scored once)."""
    from fathom.ml import models

    if scored is None:
        scored = models.row_units(manifest, head_params, deltas, X, y, workers=workers, progress=progress)
    units, valid, scale = scored
    out: list[tuple[int | None, PairedDifference | None]] = []
    for i in range(len(deltas)):
        if not valid[i + 1]:
            out.append((None, None))
            continue
        diff = paired_units(units[:, 0], units[:, i + 1], scale, higher_is_better, confidence_bps)
        out.append((report_units(head_score, diff, resolution_wad, higher_is_better), diff))
    return out


def confidence_of(brief: Mapping[str, Any]) -> int:
    """The confidence (basis points) a bounty's brief names, else the default; a value
    outside the table is refused (`z_for`)."""
    value = brief.get("confidence_bps", DEFAULT_CONFIDENCE_BPS)
    if isinstance(value, bool) or not isinstance(value, int):
        raise SignificanceError(f"the brief's confidence_bps must be an integer, not {value!r}")
    z_for(value)
    return value


def smallest_detectable(n: int, discordant_sd: float, confidence_bps: int = DEFAULT_CONFIDENCE_BPS) -> float:
    """The power statement: the smallest true improvement whose expected lower bound is
    above zero, for `n` rows and a per-row difference with standard deviation
    `discordant_sd` (for accuracy, sqrt(q) when a fraction q of the rows change)."""
    return z_for(confidence_bps) * discordant_sd / math.sqrt(n)


def row_goodness(manifest: Mapping[str, Any], params: Mapping[str, np.ndarray], X: Any, y: Any,
                 metric: str | None = None) -> np.ndarray:
    """Per-row goodness of a model on (X, y), float64: the rows' mean is the metric
    (accuracy) or minus the metric (log_loss, mse), as `models.metric_value` computes it.
    From float32 BLAS outputs, so its last bits depend on the kernel: a reference for tests
    and benchmarks' controls only; reports and batch decisions use the scorer's exact
    per-row units (`models.row_units`, `paired_units`)."""
    from fathom.ml import models

    spec = models.model_spec(manifest)
    metric = metric or spec.metric
    yv = np.asarray(y)
    if metric == "accuracy":
        return (models.predict(spec, params, X) == yv).astype(np.float64)
    out = np.asarray(models.forward(spec, params, X), dtype=np.float64)
    if metric == "mse" and spec.regression:
        return -((out - yv.astype(np.float64)) ** 2)
    labels = yv.astype(np.int64)
    if metric == "log_loss":
        return np.log(np.clip(out[np.arange(labels.size), labels], 1e-15, 1.0))
    if metric == "mse":
        onehot = np.zeros_like(out)
        onehot[np.arange(labels.size), labels] = 1.0
        return -((out - onehot) ** 2).mean(axis=1)
    raise SignificanceError(f"metric {metric!r} is not a mean of per-row values: it has no paired test")

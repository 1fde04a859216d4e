"""One batch's decision off-chain: which updates merge into the next version, and who is paid
what for it (issue 17; SPECIFICATION.md, "Aggregation and contribution shares", G1-G7).

Pure and deterministic: the same batch gives the same bytes and the same integers on every
honest oracle, whatever order the updates arrive in and however many threads score them.

    decide(manifest, head, head_version, submissions, X, y, reward)

1. **Stale bases (G1).** `stale_rule`: an update whose `base_version` is the head is scored
   as it is; one based on an older version (at most `MAX_LAG` versions behind) is *rebased*:
   its delta is applied to the current head and scored there like any other, so it is paid
   only for what it still adds to the head; one further behind, or based on a version that
   does not exist yet, is rejected (refunded, never scored).
2. **Candidates (G2).** Each update is scored alone against the head with the paired test
   on the scorer's exact per-row units (`models.row_units`, `significance.paired_units`):
   the same integers whose sums are the published scores, so no test, merge or share
   depends on the BLAS kernel or the FP mode; it is a candidate when its lower bound is
   above zero. One whose outputs the scorer cannot score (not finite) is `invalid`.
3. **Near-duplicates (G3).** Updates are compared in submission-id order by the cosine
   similarity of their flattened float64 deltas and of the changes they make to the
   validation logits (centred per row; from float32 logits only where their proven bound
   keeps the cosine clear of the threshold, else from the fixed-order logits, so the
   verdict is the same on every kernel: `_Signatures`); one whose cosine with an *earlier*
   candidate is at least `DUPLICATE_COSINE` is a duplicate: not merged, paid nothing, its
   stake refunded. The earlier one keeps its place.
4. **Merge by measured gain (G4).** Candidates, in order of their own lower bound (highest
   first, ties by submission id), are added one at a time to the merged set when the merged
   model's mean improvement over the head does not fall and its lower bound stays at least
   the best single candidate's;
   the merged delta is the average of the set's deltas weighted by their own lower bounds,
   summed in submission-id order in float64 and rounded once to float32; then the longer
   steps `SCALES` along that direction are tried and the best kept when its mean grows.
   The first step is the best single candidate, so the merge is never worse than it, by
   either measure.
5. **Shares (G5).** The reward is split among the candidates' contributors by the
   Shapley value of a per-row game (a contributor's value on a row is the best of its
   candidates there): a coalition's value on a validation row is its best member's improvement
   of that row over the head, capped by the merged model's improvement there (so only what
   the new version has is paid for, and a candidate left out of the merge is paid only
   for improvements the merge also brings); the Shapley value of this "airport" game has a closed form
   (Littlechild and Owen, 1973), exact, in O(n m log m) for m merged updates. Shares are
   whole units of the reward (largest remainders, ties by submission id) summing exactly to
   it.
6. **Verdicts (G6).** Nobody is slashed for what it does to the merged model: only an
   update whose own upper bound is below the head (`worse`) is slash-eligible, as today.
7. **Determinism (G7).** Submissions are sorted by id first; deltas are summed in that
   order in float64 and rounded once to float32; every test, merge and share is computed
   from the scorer's exact per-row units (integers: sums exact, the statistics exact
   fractions rounded once; the Shapley values from whole units); shares are exact
   rationals. G3's logit cosine is taken on float32 GEMM logits only where their proven
   error bound keeps it clear of the threshold, else on the fixed-order logits
   (`_Signatures`). Each model's rows are scored independently, so `workers` changes no bit.
"""

from __future__ import annotations

import math
from fractions import Fraction
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from fathom.errors import FathomError
from fathom.ml import models, significance
from fathom.ml.significance import PairedDifference

#: G3: a later update at least this similar to an earlier candidate is its near-duplicate,
#: by either of two cosines: of the flattened float64 deltas (a copy, a rescaled copy) and
#: of the changes of the validation logits, centred per row (a copy disguised by weights
#: that change no prediction, e.g. on a feature that is always 0, or by a per-row shift of
#: every logit). Measured on the demo's digits, five honest updates trained from one head
#: on disjoint shards reach 0.945 (deltas) and 0.973 (logits); a copy plus Gaussian noise
#: of 10% of its norm measures 0.995 / 0.997, of 20% 0.980 / 0.993. 0.99 sits between the
#: two, so honest pairs stay apart and copies with noise up to a fifth of their norm are
#: caught (tests/python/test_aggregate.py).
DUPLICATE_COSINE = 0.99
#: G1: how many versions behind the head an update may be and still be rebased.
MAX_LAG = 2

#: G4: longer steps along the merged direction, tried once the set is chosen. An average
#: of k updates is a step about as long as one of them (their differences cancel), so when
#: contributors take short steps (a small learning rate) the average under-uses them;
#: measured on benchmarks/aggregate.py's make_classification task, 2-4x recovers it.
SCALES = (1.0, 2.0, 3.0, 4.0)

CURRENT, REBASE, REJECT = "current", "rebase", "reject"


class AggregationError(FathomError, ValueError):
    """A batch that cannot be decided: ids not unique, a negative reward, a bad version."""


@dataclass(frozen=True)
class Submission:
    """One update of the batch, decrypted and checked (F4): `id` is its submission id."""

    id: int
    delta: Mapping[str, np.ndarray]
    base_version: int
    contributor: str = ""


@dataclass(frozen=True)
class Outcome:
    """What the batch decided for one submission."""

    id: int
    verdict: str  # merged | candidate | duplicate | not significant | worse | stale | invalid
    own: PairedDifference | None  # the update alone against the head (None when stale or invalid)
    share: int = 0  # units of the reward
    duplicate_of: int | None = None
    base: str = CURRENT  # G1: current | rebase | reject
    cosine_max: float = 0.0  # highest cosine with an earlier candidate


@dataclass(frozen=True)
class Decision:
    merged_ids: tuple[int, ...]  # in submission-id order
    weights: tuple[float, ...]  # of the merged deltas, same order, summing to 1
    delta: dict[str, np.ndarray] | None  # the merged float32 delta (None: nothing accepted)
    params: dict[str, np.ndarray] | None  # head + delta
    gain: PairedDifference | None  # the merged model against the head
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    reward: int = 0

    @property
    def shares(self) -> dict[int, int]:
        return {i: o.share for i, o in self.outcomes.items()}


# ------------------------------------------------------------------------------ G1


def stale_rule(base_version: int, head_version: int, max_lag: int = MAX_LAG) -> str:
    """G1: `current` when the update was trained on the head, `rebase` when on one of the
    `max_lag` versions before it, `reject` otherwise (too old, or a version not yet made)."""
    if isinstance(base_version, bool) or not isinstance(base_version, (int, np.integer)) or base_version < 0:
        raise AggregationError(f"base version must be a non-negative integer, got {base_version!r}")
    lag = int(head_version) - int(base_version)
    if lag == 0:
        return CURRENT
    if 0 < lag <= max_lag:
        return REBASE
    return REJECT


# ------------------------------------------------------------------------------ pieces


def flatten(delta: Mapping[str, np.ndarray]) -> np.ndarray:
    """The delta as one float64 vector, arrays in name order."""
    return np.concatenate([np.asarray(delta[k], dtype=np.float64).ravel() for k in sorted(delta)])


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity with exactly rounded sums (0 when either vector is zero)."""
    na = math.sqrt(math.fsum((a * a).tolist()))
    nb = math.sqrt(math.fsum((b * b).tolist()))
    if na == 0.0 or nb == 0.0:
        return 0.0
    return math.fsum((a * b).tolist()) / (na * nb)


#: a BLAS dot product of n float64 terms errs by at most n * 2^-53 relative to |a| |b|
#: (1e-11 for 10^5 terms); cosines farther than this from the threshold are decided by it
_SCREEN = 1e-6


def _cosines(v: np.ndarray, earlier: np.ndarray, threshold: float) -> list[float]:
    """Cosines of `v` with each earlier vector. Screened with BLAS (fast, last bits machine
    dependent); any within `_SCREEN` of the threshold is recomputed exactly (`cosine`), so
    the duplicate verdict is the same on every machine. Values far below the threshold are
    rounded to 6 decimals (they are reported, never compared)."""
    if not len(earlier):
        return []
    M = earlier
    nv = math.sqrt(float(v @ v))
    fast = (M @ v) / np.maximum(np.sqrt(np.einsum("ij,ij->i", M, M)) * nv, np.finfo(np.float64).tiny)
    out = []
    for j, f in enumerate(fast.tolist()):
        out.append(cosine(v, earlier[j]) if f >= threshold - _SCREEN else round(f, 6))
    return out


#: float32's least normal number: `combine` sets sums below it to zero before rounding
_F32_LEAST_NORMAL = 2.0**-126


def combine(deltas: Sequence[Mapping[str, np.ndarray]], weights: Sequence[float],
            total: float | None = None) -> dict[str, np.ndarray]:
    """sum_i w_i delta_i / total (by default sum_i w_i), accumulated in float64 in the given
    order, one rounding to float32 at the end; a sum below float32's least normal number
    (2^-126) in magnitude is zero of its sign, set in float64 before that rounding, so that
    the rounding never lands among float32's subnormals, where a CPU with FTZ would write 0
    (or 2^-126 rounded otherwise). The deltas are read as `models.check_update` gives them
    (their subnormals already zero)."""
    total = math.fsum(weights) if total is None else total
    if not total > 0:
        raise AggregationError("merge weights must sum to a positive number")
    out: dict[str, np.ndarray] = {}
    for name in sorted(deltas[0]):
        acc = np.zeros(np.shape(deltas[0][name]), dtype=np.float64)
        for d, w in zip(deltas, weights):
            acc += np.asarray(d[name], dtype=np.float64) * (w / total)
        np.multiply(acc, 0.0, out=acc, where=np.abs(acc) < _F32_LEAST_NORMAL)
        out[name] = acc.astype(np.float32)
    return out


def airport_shapley(gains: np.ndarray) -> np.ndarray:
    """Exact Shapley values of the game v(S) = sum over rows of max(0, max_{j in S} g[j, row])
    (`gains`: m players x n rows, float64). Per row it is the airport game: sort the positive
    improvements ascending a_1 <= ... <= a_m'; the segment a_l - a_(l-1) is shared equally
    by the m' - l + 1 players whose improvement reaches it. Exact sums (fsum) per player."""
    g = np.maximum(np.asarray(gains, dtype=np.float64), 0.0)
    m, n = g.shape
    if m == 0:
        return np.zeros(0)
    order = np.argsort(g, axis=0, kind="stable")  # per row, players by ascending gain
    a = np.take_along_axis(g, order, axis=0)
    seg = np.diff(np.vstack([np.zeros((1, n)), a]), axis=0)  # segment of rank l
    per = seg / (m - np.arange(m))[:, None]  # shared by players of rank >= l
    cum = np.cumsum(per, axis=0)  # what the player of rank r receives on that row
    phi = np.zeros((m, n))
    np.put_along_axis(phi, order, cum, axis=0)
    return np.array([math.fsum(row.tolist()) for row in phi])


def integer_shares(total: int, values: Sequence[float], ids: Sequence[int]) -> list[int]:
    """`total` split in proportion to `values` (non-negative floats) in whole units, in exact
    rational arithmetic (each float is a dyadic rational): floors, then one unit each to the
    largest remainders, ties by the lower id. Sums to `total` (0 each when every value is 0)."""
    if total < 0:
        raise AggregationError(f"the reward must be non-negative, got {total}")
    vals = [Fraction(float(v)) for v in values]
    if any(v < 0 for v in vals):
        raise AggregationError("contribution values must be non-negative")
    s = sum(vals, Fraction(0))
    if not vals or s == 0:
        return [0] * len(vals)
    exact = [total * v / s for v in vals]
    base = [math.floor(e) for e in exact]
    left = total - sum(base)
    rank = sorted(range(len(vals)), key=lambda i: (-(exact[i] - base[i]), ids[i]))
    for i in rank[:left]:
        base[i] += 1
    return base


def _split(reward: int, gains: np.ndarray, ids: Sequence[int], contributors: Sequence[str]) -> list[int]:
    """G5: the reward by the Shapley value of the per-row game whose players are the
    contributors (a contributor's row value is the best of its candidates there, so
    splitting one's update over several submissions adds no player); each contributor's
    amount then goes to its candidates in proportion to their capped gains (to its first
    if those are all 0). Amounts per candidate, in the order given; all 0 when no player
    has any value."""
    keys = [c if c else f"#{i}" for c, i in zip(contributors, ids)]
    players: dict[str, list[int]] = {}
    for n, k in sorted(enumerate(keys), key=lambda t: ids[t[0]]):
        players.setdefault(k, []).append(n)
    members = list(players.values())  # in order of each player's first submission id
    phi = airport_shapley(np.vstack([gains[m].max(axis=0) for m in members]))
    per_player = integer_shares(reward, phi.tolist(), [ids[m[0]] for m in members])
    out = [0] * len(ids)
    for m, amount in zip(members, per_player):
        own = [math.fsum(np.maximum(gains[n], 0.0).tolist()) for n in m]
        parts = integer_shares(amount, own, [ids[n] for n in m]) if math.fsum(own) > 0 else [amount] + [0] * (len(m) - 1)
        for n, part in zip(m, parts):
            out[n] = part
    return out


def _centred(spec: models.ModelSpec, Z: np.ndarray) -> np.ndarray:
    """G3's view of logits (or of their change), float64 (rows, outputs): for a softmax output
    each row minus its mean (which a per-row shift of every logit does not change), the
    mean summed over the units in a fixed order (elementwise IEEE operations only)."""
    Z = np.asarray(Z, dtype=np.float64)
    if spec.output != "softmax":
        return Z
    total = np.zeros(Z.shape[0])
    for j in range(Z.shape[1]):
        total += Z[:, j]
    return Z - (total / Z.shape[1])[:, None]


class _Signatures:
    """G3's second cosine, the same on every kernel: what each candidate does to the
    validation logits, `_centred(logits(head + delta) - logits(head))`, from the scorer's
    float32 GEMM with a proven bound on its distance (`models.bounded_logits`) to the
    fixed-order one; a cosine the bound leaves within reach of the threshold is decided on
    the fixed-order logits (`models.fixed_logits`) instead, exactly (`cosine`)."""

    def __init__(self, spec: models.ModelSpec, manifest: Mapping[str, Any], head: Mapping[str, np.ndarray],
                 models_: Mapping[int, Mapping[str, np.ndarray]], X: Any):
        self.spec, self.manifest, self.head, self.models, self.X = spec, manifest, head, dict(models_), X
        keys = list(self.models)
        Zs, Es = models.bounded_logits(manifest, [head] + [self.models[i] for i in keys], X)
        self.fast: dict[int, np.ndarray] = {}
        self.alpha: dict[int, float] = {}
        Zh, Eh = Zs[0].astype(np.float64), Es[0]
        m = Zh.shape[1]
        for i, Z, E in zip(keys, Zs[1:], Es[1:]):
            Z = Z.astype(np.float64)
            with np.errstate(all="ignore"):
                o = _centred(spec, Z - Zh).ravel()
                # per row: both logits' bounds, and 2^-40 of their size for the float64
                # subtraction and centring on either path; over the row's m units (2-norm)
                b = E + Eh + 2.0**-40 * (np.abs(Z).max(axis=1) + np.abs(Zh).max(axis=1) + E + Eh)
                alpha = math.sqrt(m) * math.sqrt(math.fsum((b * b).tolist())) * (1 + 1e-6)
            self.fast[i] = o
            self.alpha[i] = alpha if np.isfinite(o).all() and math.isfinite(alpha) else math.inf
        self._exact: dict[int, np.ndarray] = {}
        self._margin: dict[int, float] = {}
        self._head_exact: np.ndarray | None = None

    def exact(self, i: int) -> np.ndarray:
        if i not in self._exact:
            if self._head_exact is None:
                self._head_exact = models.fixed_logits(self.manifest, self.head, self.X)
            Z = models.fixed_logits(self.manifest, self.models[i], self.X)
            self._exact[i] = _centred(self.spec, Z - self._head_exact).ravel()
        return self._exact[i]

    def margin(self, i: int) -> float:
        """How far the fast cosine of candidate i's signature may lie from the fixed-order
        one, its share: 2 alpha / ||o|| (unit vectors move by at most that)."""
        if i not in self._margin:
            a = self.alpha[i]
            norm = math.sqrt(float(self.fast[i] @ self.fast[i])) * (1 - 1e-6) if math.isfinite(a) else 0.0
            self._margin[i] = 2 * a / norm if norm > 2 * a else math.inf
        return self._margin[i]

    def cosines(self, i: int, earlier: Sequence[int], threshold: float) -> list[float]:
        """Cosines of candidate i's signature with each earlier candidate's: the fast one where
        it lies beyond the bound from the threshold (and 2e-6 more: `_cosines`' screen and
        its rounding of values far below), else the fixed-order one."""
        if not earlier:
            return []
        fast = _cosines(self.fast[i], np.vstack([self.fast[j] for j in earlier]), threshold)
        mi = self.margin(i)
        out = []
        for j, f in zip(earlier, fast):
            if abs(f - threshold) <= mi + self.margin(j) + 2e-6 or not math.isfinite(f):
                f = cosine(self.exact(i), self.exact(j))
            out.append(f)
        return out


def _goodness(spec: models.ModelSpec, units: np.ndarray) -> np.ndarray:
    """Per-row goodness in the scorer's exact units (`models.row_units`), int64: the units
    themselves when higher is better (accuracy: 1 for a correct row), their negation for a
    loss (log loss, mse: multiples of ROW_GRID). The same integers on every kernel."""
    units = np.asarray(units, dtype=np.int64)
    return units if models.higher_is_better(spec.metric) else -units


def _units(manifest: Mapping[str, Any], sets: Sequence[Mapping[str, np.ndarray]], X: Any, y: Any,
           workers: int) -> tuple[list[np.ndarray | None], Fraction]:
    """Per-row goodness (`_goodness`) of each parameter set, None for one the scorer finds
    invalid (non-finite outputs); and the units' scale."""
    spec = models.model_spec(manifest)
    # as many slots per GEMM as there are sets (the units are exact, so the grouping changes
    # no bit; the default pads a group to 32 slots)
    group = max(1, min(len(sets), models.default_group(spec)))
    units, valid, scale = models.set_units(manifest, sets, X, y, workers=workers, group=group)
    return [_goodness(spec, units[:, j]) if valid[j] else None for j in range(len(sets))], scale


# ------------------------------------------------------------------------------ the decision


def decide(manifest: Mapping[str, Any], head: Mapping[str, np.ndarray], head_version: int,
           submissions: Sequence[Submission], X: Any, y: Any, reward: int,
           confidence_bps: int = significance.DEFAULT_CONFIDENCE_BPS, *, workers: int = 1,
           duplicate_cosine: float = DUPLICATE_COSINE, max_lag: int = MAX_LAG,
           scales: Sequence[float] = SCALES,
           scored: tuple[np.ndarray, np.ndarray, Fraction] | None = None) -> Decision:
    """The batch's decision (G1-G6): the merged model and each submission's outcome and share.

    Every test, merge and share rests on the scorer's exact per-row units (`models.row_units`,
    G2), never on float BLAS outputs, so the decision is the same on every kernel. `scored`:
    what `models.row_units(manifest, head, [s.delta for s in submissions], X, y)` returned, in
    the order `submissions` are given (the oracle node has them from its reports: not
    scored twice); by default computed here."""
    subs = sorted(submissions, key=lambda s: int(s.id))
    ids = [int(s.id) for s in subs]
    if len(set(ids)) != len(ids):
        raise AggregationError("submission ids must be unique")
    if isinstance(reward, bool) or not isinstance(reward, (int, np.integer)) or reward < 0:
        raise AggregationError(f"the reward must be a non-negative integer, got {reward!r}")
    reward = int(reward)
    spec = models.model_spec(manifest)
    head = models.check_params(spec, head)

    outcomes: dict[int, Outcome] = {}
    live: list[Submission] = []
    for s in subs:
        rule = stale_rule(s.base_version, head_version, max_lag)
        if rule == REJECT:
            outcomes[s.id] = Outcome(s.id, "stale", None, base=REJECT)
        else:
            live.append(s)
    bases = {s.id: stale_rule(s.base_version, head_version, max_lag) for s in live}
    deltas = [models.check_update(spec, s.delta) for s in live]

    # G2: every live update alone against the head, on the scorer's exact per-row units
    if scored is None:
        units, valid, scale = models.row_units(manifest, head, deltas, X, y, workers=workers)
        cols = list(range(1, 1 + len(live)))
    else:
        units, valid, scale = scored
        column = {int(s.id): 1 + pos for pos, s in enumerate(submissions)}
        if np.shape(units) != (len(np.asarray(y)), 1 + len(submissions)) or len(valid) != 1 + len(submissions):
            raise AggregationError("the scored units must have one column for the head and one per submission")
        cols = [column[int(s.id)] for s in live]
    if not valid[0]:
        raise AggregationError("the head cannot be scored on these rows")
    head_good = _goodness(spec, units[:, 0])
    own_good = [_goodness(spec, units[:, c]) if valid[c] else None for c in cols]
    own = [None if g is None else significance.paired_units(head_good, g, scale, True, confidence_bps)
           for g in own_good]

    # G3: near-duplicates of earlier candidates (submission-id order), on the logits of the
    # head and of the significant updates (one pass for them, `_Signatures`)
    sig = [i for i, diff in enumerate(own) if diff is not None and diff.lcb > 0]
    sigs = _Signatures(spec, manifest, head, {i: models.apply_update(head, deltas[i]) for i in sig}, X)
    n_params = sum(int(np.prod(np.shape(a))) for a in head.values())
    flat = np.empty((len(sig), n_params))  # candidates' deltas, one row each
    cand: list[int] = []  # indices into live
    for i, s in enumerate(live):
        diff = own[i]
        if diff is None:  # outputs the scorer cannot score (not finite): never a candidate
            outcomes[s.id] = Outcome(s.id, "invalid", None, base=bases[s.id])
            continue
        if diff.lcb <= 0:
            verdict = "worse" if diff.ucb < 0 else "not significant"
            outcomes[s.id] = Outcome(s.id, verdict, diff, base=bases[s.id])
            continue
        v = flatten(deltas[i])
        c = len(cand)
        sims = [max(a, b) for a, b in zip(_cosines(v, flat[:c], duplicate_cosine),
                                          sigs.cosines(i, cand, duplicate_cosine))]
        best = max(sims, default=0.0)
        if best >= duplicate_cosine:
            first = cand[sims.index(best)]
            outcomes[s.id] = Outcome(s.id, "duplicate", diff, duplicate_of=live[first].id, base=bases[s.id],
                                     cosine_max=best)
            continue
        flat[len(cand)] = v
        cand.append(i)
        outcomes[s.id] = Outcome(s.id, "candidate", diff, base=bases[s.id], cosine_max=best)

    if not cand:
        return Decision((), (), None, None, None, outcomes, reward)

    # G4: greedy merge by own lower bound, ties by submission id. Sequential in meaning
    # (each candidate is tried on the set chosen before it), batched in computation: the
    # trials of every remaining candidate on the current set are scored in one pass, the
    # first that passes is taken, and only the ones after it are tried again.
    order = sorted(cand, key=lambda i: (-own[i].lcb, live[i].id))
    chosen = [order[0]]
    best_gain = floor = own[order[0]]
    best_good = own_good[order[0]]
    rest = order[1:]
    while rest:
        trials = [sorted(chosen + [i], key=lambda j: live[j].id) for i in rest]
        merged = [models.apply_update(head, combine([deltas[j] for j in t], [own[j].lcb for j in t])) for t in trials]
        taken = None
        for pos, g in enumerate(_units(manifest, merged, X, y, workers)[0]):
            if g is None:  # a merge the scorer cannot score is not taken
                continue
            diff = significance.paired_units(head_good, g, scale, True, confidence_bps)
            if diff.mean >= best_gain.mean and diff.lcb >= floor.lcb:
                chosen, best_gain, best_good, taken = trials[pos], diff, g, pos
                break
        if taken is None:
            break
        rest = rest[taken + 1:]
    chosen = sorted(chosen, key=lambda j: live[j].id)
    w = [own[j].lcb for j in chosen]
    total_w = math.fsum(w)
    delta = combine([deltas[j] for j in chosen], w)
    params = models.apply_update(head, delta)
    longer = [combine([deltas[j] for j in chosen], [x * sc for x in w], total=total_w)
              for sc in scales if sc != 1.0] if len(chosen) >= 2 else []
    if longer:  # longer steps along the merged direction, kept when they measure better
        tried = [models.apply_update(head, dl) for dl in longer]
        for dl, p, g in zip(longer, tried, _units(manifest, tried, X, y, workers)[0]):
            if g is None:
                continue
            diff = significance.paired_units(head_good, g, scale, True, confidence_bps)
            if diff.mean > best_gain.mean and diff.lcb >= floor.lcb:
                delta, params, best_gain, best_good = dl, p, diff, g

    # G5: shares by the Shapley value of the per-row game whose value on a row is the best
    # candidate's improvement there, capped by the merged model's own improvement there; in
    # whole units (exact in float64: a row's units are below 2^45)
    merged_gain = np.maximum(best_good - head_good, 0)
    gains = np.vstack([np.minimum(own_good[j] - head_good, merged_gain) for j in cand]).astype(np.float64)
    cand_ids = [live[j].id for j in cand]
    amounts = _split(reward, gains, cand_ids, [live[j].contributor for j in cand])
    if sum(amounts) != reward:  # no row of the version is one a candidate improves alone:
        lcbs = [own[j].lcb if j in chosen else 0.0 for j in cand]  # the members, by their own bounds
        amounts = integer_shares(reward, lcbs, cand_ids)
    merged_ids = [live[j].id for j in chosen]
    for sid, amount in zip(cand_ids, amounts):
        o = outcomes[sid]
        verdict = "merged" if sid in merged_ids else "candidate"
        outcomes[sid] = Outcome(sid, verdict, o.own, share=amount, base=o.base, cosine_max=o.cosine_max)
    return Decision(tuple(merged_ids), tuple(x / total_w for x in w), delta, params, best_gain, outcomes, reward)


#: `check_merged`: how far (relative to the largest weight) a named merged model may lie from
#: parent + a non-negative combination of its batch's merged deltas. The float32 rounding of
#: an honest merge is below 1e-6 of it; a planted weight is far above.
MERGE_TOLERANCE = 1e-5


def check_merged(head: Mapping[str, np.ndarray], named: Mapping[str, np.ndarray],
                 deltas: Sequence[Mapping[str, np.ndarray]]) -> bool:
    """Whether `named` is `head` + sum_j c_j delta_j with every c_j >= 0, as every merge of G4
    is (weights by own lower bound, times a step of SCALES), checked without the validation
    set: the coefficients are fitted by least squares and clipped at 0, and the combination
    must reproduce `named` within MERGE_TOLERANCE (a planted weight outside the updates'
    span does not)."""
    target = flatten(named) - flatten(head)
    D = np.vstack([flatten(d) for d in deltas])
    coef = np.linalg.lstsq(D.T, target, rcond=None)[0]
    coef = np.maximum(coef, 0.0)
    rebuilt = models.apply_update(dict(head), combine(deltas, [float(c) for c in coef], total=1.0)) \
        if coef.any() else {k: np.asarray(v) for k, v in head.items()}
    scale = 1.0 + max(float(np.max(np.abs(np.asarray(v, dtype=np.float64)))) for v in named.values())
    gap = max(float(np.max(np.abs(np.asarray(named[k], dtype=np.float64) - np.asarray(rebuilt[k], dtype=np.float64))))
              for k in named)
    return gap <= MERGE_TOLERANCE * scale


def one_winner(manifest: Mapping[str, Any], head: Mapping[str, np.ndarray], head_version: int,
               submissions: Sequence[Submission], X: Any, y: Any, reward: int,
               confidence_bps: int = significance.DEFAULT_CONFIDENCE_BPS) -> Decision:
    """The old rule (R5) for comparison: the single candidate with the highest lower bound
    (lowest id on ties) is the version and takes the whole reward."""
    d = decide(manifest, head, head_version, submissions, X, y, reward, confidence_bps,
               duplicate_cosine=2.0)  # no duplicate filter under the old rule
    cands = [o for o in d.outcomes.values() if o.verdict in ("candidate", "merged")]
    if not cands:
        return d
    win = min(cands, key=lambda o: (-o.own.lcb, o.id))
    s = next(s for s in submissions if s.id == win.id)
    delta = models.check_update(models.model_spec(manifest), s.delta)
    outcomes = {i: (Outcome(i, "merged", o.own, share=reward, base=o.base) if i == win.id
                    else Outcome(i, "candidate" if o.verdict == "merged" else o.verdict, o.own, base=o.base))
                for i, o in d.outcomes.items()}
    return Decision((win.id,), (1.0,), delta, models.apply_update(head, delta), win.own, outcomes, reward)

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
   (`significance.paired`); it is a candidate when its lower bound is above zero.
3. **Near-duplicates (G3).** Updates are compared in submission-id order by the cosine
   similarity of their flattened float64 deltas and of the changes they make to the
   validation outputs; one whose cosine with an *earlier*
   candidate is at least `DUPLICATE_COSINE` is a duplicate: not merged, paid nothing, its
   stake refunded. The earlier one keeps its place.
4. **Merge by measured gain (G4).** Candidates, in order of their own lower bound (highest
   first, ties by submission id), are added one at a time to the merged set when the merged
   model's lower bound over the head grows strictly and its mean improvement does not fall;
   the merged delta is the average of the set's deltas weighted by their own lower bounds,
   summed in submission-id order in float64 and rounded once to float32. The first step is
   the best single candidate, so the merge is never worse than it, by either measure.
5. **Shares (G5).** The reward is split among the candidates by the Shapley value of a
   per-row game: a coalition's value on a validation row is its best member's improvement
   of that row over the head, capped by the merged model's improvement there (so only what
   the new version has is paid for, and a candidate left out of the merge is paid only
   for improvements the merge also brings); the Shapley value of this "airport" game has a closed form
   (Littlechild and Owen, 1973), exact, in O(n m log m) for m merged updates. Shares are
   whole units of the reward (largest remainders, ties by submission id) summing exactly to
   it.
6. **Verdicts (G6).** Nobody is slashed for what it does to the merged model: only an
   update whose own upper bound is below the head (`worse`) is slash-eligible, as today.
7. **Determinism (G7).** Submissions are sorted by id first; deltas are summed in that
   order in float64 and rounded once to float32; every statistic is `math.fsum`; shares
   are exact rationals. Each model's rows are scored independently, so `workers` changes
   no bit.
"""

from __future__ import annotations

import math
from fractions import Fraction
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from fathom.errors import FathomError
from fathom.ml import models, significance
from fathom.ml.significance import PairedDifference

#: G3: a later update at least this similar to an earlier candidate is its near-duplicate,
#: by either of two cosines: of the flattened float64 deltas (a copy, a rescaled copy) and
#: of the changes of the validation outputs (a copy disguised by weights that change no
#: output, e.g. on a feature that is always 0). Measured on the demo's digits, five honest
#: updates trained from one head on disjoint shards reach 0.945 (deltas) and 0.980
#: (outputs); a copy plus Gaussian noise of 10% of its norm measures 0.995 / 0.997, of 20%
#: 0.980 / 0.990. 0.99 sits between the two, so honest pairs stay apart and copies with
#: noise up to a fifth of their norm are caught (tests/python/test_aggregate.py).
DUPLICATE_COSINE = 0.99
#: G1: how many versions behind the head an update may be and still be rebased.
MAX_LAG = 2

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
    verdict: str  # merged | candidate | duplicate | not significant | worse | stale
    own: PairedDifference | None  # the update alone against the head (None when stale)
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


def combine(deltas: Sequence[Mapping[str, np.ndarray]], weights: Sequence[float]) -> dict[str, np.ndarray]:
    """sum_i w_i delta_i / sum_i w_i, accumulated in float64 in the given order, one rounding
    to float32 at the end."""
    total = math.fsum(weights)
    if not total > 0:
        raise AggregationError("merge weights must sum to a positive number")
    out: dict[str, np.ndarray] = {}
    for name in sorted(deltas[0]):
        acc = np.zeros(np.shape(deltas[0][name]), dtype=np.float64)
        for d, w in zip(deltas, weights):
            acc += np.asarray(d[name], dtype=np.float64) * (w / total)
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


def _goodness_all(manifest: Mapping[str, Any], models_: Sequence[Mapping[str, np.ndarray]], X: Any, y: Any,
                  workers: int) -> list[np.ndarray]:
    """Per-row goodness of each model: independent computations, so the bits do not depend
    on how many threads run them."""
    def one(p: Mapping[str, np.ndarray]) -> np.ndarray:
        return significance.row_goodness(manifest, p, X, y)

    if workers <= 1 or len(models_) <= 1:
        return [one(p) for p in models_]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, models_))


# ------------------------------------------------------------------------------ the decision


def decide(manifest: Mapping[str, Any], head: Mapping[str, np.ndarray], head_version: int,
           submissions: Sequence[Submission], X: Any, y: Any, reward: int,
           confidence_bps: int = significance.DEFAULT_CONFIDENCE_BPS, *, workers: int = 1,
           duplicate_cosine: float = DUPLICATE_COSINE, max_lag: int = MAX_LAG) -> Decision:
    """The batch's decision (G1-G6): the merged model and each submission's outcome and share."""
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

    # G2: every live update alone against the head, one model each
    alone = [models.apply_update(head, d) for d in deltas]
    goods = _goodness_all(manifest, [head] + alone, X, y, workers)
    head_good, own_good = goods[0], goods[1:]
    own = [significance.paired(head_good, g, confidence_bps) for g in own_good]
    head_out = np.asarray(models.forward(spec, head, X), dtype=np.float64).ravel()

    # G3: near-duplicates of earlier candidates (submission-id order)
    flat: list[np.ndarray] = []  # candidates' deltas
    moved: list[np.ndarray] = []  # candidates' output changes on the validation rows
    cand: list[int] = []  # indices into live
    for i, s in enumerate(live):
        diff = own[i]
        if diff.lcb <= 0:
            verdict = "worse" if diff.ucb < 0 else "not significant"
            outcomes[s.id] = Outcome(s.id, verdict, diff, base=bases[s.id])
            continue
        v = flatten(deltas[i])
        o = np.asarray(models.forward(spec, alone[i], X), dtype=np.float64).ravel() - head_out
        sims = [max(cosine(v, flat[j]), cosine(o, moved[j])) for j in range(len(flat))]
        best = max(sims, default=0.0)
        if best >= duplicate_cosine:
            first = cand[int(np.argmax(sims))]
            outcomes[s.id] = Outcome(s.id, "duplicate", diff, duplicate_of=live[first].id, base=bases[s.id],
                                     cosine_max=best)
            continue
        flat.append(v)
        moved.append(o)
        cand.append(i)
        outcomes[s.id] = Outcome(s.id, "candidate", diff, base=bases[s.id], cosine_max=best)

    if not cand:
        return Decision((), (), None, None, None, outcomes, reward)

    # G4: greedy merge by own lower bound, ties by submission id
    order = sorted(cand, key=lambda i: (-own[i].lcb, live[i].id))
    chosen = [order[0]]
    best_gain = own[order[0]]
    for i in order[1:]:
        trial = sorted(chosen + [i], key=lambda j: live[j].id)
        merged = combine([deltas[j] for j in trial], [own[j].lcb for j in trial])
        g = _goodness_all(manifest, [models.apply_update(head, merged)], X, y, 1)[0]
        diff = significance.paired(head_good, g, confidence_bps)
        if diff.lcb > best_gain.lcb and diff.mean >= best_gain.mean:
            chosen, best_gain = trial, diff
    chosen = sorted(chosen, key=lambda j: live[j].id)
    w = [own[j].lcb for j in chosen]
    total_w = math.fsum(w)
    delta = combine([deltas[j] for j in chosen], w)
    params = models.apply_update(head, delta)

    # G5: shares by the Shapley value of the per-row game whose value on a row is the best
    # candidate's improvement there, capped by the merged model's own improvement there
    merged_gain = np.maximum(_goodness_all(manifest, [params], X, y, 1)[0] - head_good, 0.0)
    gains = np.vstack([np.minimum(own_good[j] - head_good, merged_gain) for j in cand])
    phi = airport_shapley(gains)
    cand_ids = [live[j].id for j in cand]
    amounts = integer_shares(reward, phi.tolist(), cand_ids)
    merged_ids = [live[j].id for j in chosen]
    for sid, amount in zip(cand_ids, amounts):
        o = outcomes[sid]
        verdict = "merged" if sid in merged_ids else "candidate"
        outcomes[sid] = Outcome(sid, verdict, o.own, share=amount, base=o.base, cosine_max=o.cosine_max)
    return Decision(tuple(merged_ids), tuple(x / total_w for x in w), delta, params, best_gain, outcomes, reward)


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

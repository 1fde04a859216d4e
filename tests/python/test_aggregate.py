"""A batch's decision off-chain (fathom.ml.aggregate, SPECIFICATION.md G1-G7): every useful
update merged, each paid for what it adds, copies paid nothing, the same bytes everywhere.

The fixture is the demo's: scikit-learn's digits split as `fathom demo` splits them, the
seed model trained on the public rows, and five honest first-round updates trained with
fathom.ml.training on the contributors' shards (c0..c4, as the demo trains them).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from fathom.cli.demo import _shards, shuffled_digits
from fathom.ml import aggregate as A
from fathom.ml import models, significance, training
from fathom.ml.aggregate import AggregationError, Submission, decide

REWARD = 10**18  # one ETH in wei
PLANS = {"c0": dict(lr=0.5, epochs=8), "c1": dict(lr=0.5, epochs=8), "c2": dict(lr=0.5, epochs=6),
         "c3": dict(lr=0.3, epochs=6), "c4": dict(lr=0.3, epochs=4)}


@pytest.fixture(scope="module")
def demo():
    data = _shards(*shuffled_digits(), np.random.default_rng(0))
    manifest = models.make_manifest("softmax", 64, 10)
    head = training.train(manifest, models.init_model(manifest, seed=1), *data["public"], lr=0.5, epochs=3,
                          batch_size=32, seed=1)
    subs = []
    for i, (name, plan) in enumerate(PLANS.items()):
        trained = training.train(manifest, head, *data[name], batch_size=32, seed=0, **plan)
        subs.append(Submission(10 + i, training.make_update(head, trained), 0, name))
    return {"manifest": manifest, "head": head, "subs": subs, "val": data["validation"], "data": data}


def _decide(demo, subs, **kw):
    return decide(demo["manifest"], demo["head"], kw.pop("head_version", 0), subs, *demo["val"], REWARD, **kw)


def _measured(m, head, params, X, y, confidence_bps=significance.DEFAULT_CONFIDENCE_BPS):
    """G2's statistic of `params` against `head`: the paired test on the scorer's exact
    per-row units (`models.set_units`), oriented so that positive is better."""
    units, valid, scale = models.set_units(m, [head, params], X, y)
    assert valid.all()
    higher = models.higher_is_better(models.model_spec(m).metric)
    return significance.paired_units(units[:, 0], units[:, 1], scale, higher, confidence_bps)


def _scaled_noise(delta, frac, seed):
    rng = np.random.default_rng(seed)
    norm = training.update_norm(delta)
    noise = {k: rng.normal(size=v.shape) for k, v in delta.items()}
    nn = math.sqrt(sum(float((v ** 2).sum()) for v in noise.values()))
    return {k: (delta[k] + noise[k] * frac * norm / nn).astype(np.float32) for k in delta}


@pytest.fixture(scope="module")
def base(demo):
    return _decide(demo, demo["subs"])


# ------------------------------------------------------------------------------ G4 merge


def test_the_merged_model_is_at_least_as_good_as_the_best_single_candidate(demo, base):
    m, head, (X, y) = demo["manifest"], demo["head"], demo["val"]
    best = max((o for o in base.outcomes.values()), key=lambda o: o.own.lcb)
    assert len(base.merged_ids) >= 2  # more than one update counts
    assert base.gain.lcb >= best.own.lcb and base.gain.mean >= best.own.mean
    best_delta = next(s.delta for s in demo["subs"] if s.id == best.id)
    assert models.score(m, base.params, X, y) >= models.score(m, models.apply_update(head, best_delta), X, y)
    # the bits of the version are head + the merged delta, and the gain is measured on them
    assert _measured(m, head, base.params, X, y) == base.gain


def test_a_longer_step_is_kept_only_when_it_measures_better(demo, base):
    plain = _decide(demo, demo["subs"], scales=(1.0,))
    assert base.gain.mean >= plain.gain.mean and base.gain.lcb >= max(o.own.lcb for o in base.outcomes.values())
    doubled = A.combine([s.delta for s in demo["subs"] if s.id in plain.merged_ids],
                        [plain.outcomes[i].own.lcb for i in plain.merged_ids])
    assert base.merged_ids == plain.merged_ids
    if base.gain.mean > plain.gain.mean:  # a longer step was taken: it is a multiple of the average
        ratio = base.delta["W0"].astype(np.float64).sum() / doubled["W0"].astype(np.float64).sum()
        assert round(ratio) in A.SCALES[1:]
    else:
        assert all(np.array_equal(base.delta[k], doubled[k]) for k in base.delta)


def test_a_plain_average_is_not_the_merge(demo, base):
    """Issue 17's observation: the equal-weight average of all five is worse than the best
    alone in log-loss; the merge by measured gain never is (it falls back to the best)."""
    m, head, (X, y) = demo["manifest"], demo["head"], demo["val"]
    avg = A.combine([s.delta for s in demo["subs"]], [1.0] * len(demo["subs"]))
    avg_gain = _measured(m, head, models.apply_update(head, avg), X, y)
    assert base.gain.lcb >= avg_gain.lcb


def test_on_a_second_data_set_the_merge_beats_or_equals_the_best(demo):
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=6_000, n_features=20, n_informative=10, n_classes=4, random_state=3)
    X = X.astype(np.float32)
    m = models.make_manifest("softmax", 20, 4)
    head = training.train(m, models.init_model(m, seed=0), X[:100], y[:100], lr=0.1, epochs=1, batch_size=32, seed=0)
    val = (X[100:1100], y[100:1100])
    subs = [Submission(i, training.make_update(head, training.train(m, head, X[1100 + 600 * i:1700 + 600 * i],
                                                                   y[1100 + 600 * i:1700 + 600 * i], lr=0.1,
                                                                   epochs=3, batch_size=32, seed=i)), 0)
            for i in range(6)]
    d = decide(m, head, 0, subs, *val, REWARD)
    best = max((o for o in d.outcomes.values() if o.own.lcb > 0), key=lambda o: o.own.lcb)
    assert d.gain.lcb >= best.own.lcb and d.gain.mean >= best.own.mean
    assert sum(d.shares.values()) == REWARD


def test_a_log_loss_bounty_is_decided_on_per_row_log_likelihoods(demo, base):
    m = dict(demo["manifest"], metric="log_loss")
    d = decide(m, demo["head"], 0, demo["subs"], *demo["val"], REWARD)
    best = max((o.own for o in d.outcomes.values() if o.own.lcb > 0), key=lambda x: x.lcb)
    assert d.gain.lcb >= best.lcb and d.gain.mean >= best.mean and sum(d.shares.values()) == REWARD
    # the gain is in minus the log loss, on the rows' units that the scores sum (G2): the
    # version's published log loss is lower than the head's by exactly it (up to the scores'
    # own rounding to float64)
    before, after = models.score(m, demo["head"], *demo["val"]), models.score(m, d.params, *demo["val"])
    assert d.gain == _measured(m, demo["head"], d.params, *demo["val"])
    assert d.gain.mean > 0 and abs((before - after) - d.gain.mean) <= 4 * 2.0**-52 * before


@pytest.mark.parametrize("metric", ["accuracy", "log_loss", "mse"])
def test_g2_tests_and_shares_rest_on_the_scorers_exact_units_and_reuse_them(demo, metric):
    """Every update's own test is `paired_units` on `models.row_units` (the published score's
    own per-row values, the same on every kernel); handed the units the oracle's reports
    already computed (`scored`, in the order given), `decide` names the same decision."""
    m = dict(demo["manifest"], metric=metric)
    head, (X, y), subs = demo["head"], demo["val"], demo["subs"]
    d = decide(m, head, 0, subs, X, y, REWARD)
    units, valid, scale = models.row_units(m, head, [s.delta for s in subs], X, y)
    higher = models.higher_is_better(metric)
    for col, s in enumerate(subs, start=1):
        assert d.outcomes[s.id].own == significance.paired_units(units[:, 0], units[:, col], scale, higher)
    order = [3, 0, 4, 1, 2]
    again = decide(m, head, 0, [subs[i] for i in order], X, y, REWARD,
                   scored=models.row_units(m, head, [subs[i].delta for i in order], X, y))
    assert again.shares == d.shares and again.merged_ids == d.merged_ids and again.gain == d.gain
    assert all(again.delta[k].tobytes() == d.delta[k].tobytes() for k in d.delta)
    with pytest.raises(AggregationError):  # units of another batch
        decide(m, head, 0, subs, X, y, REWARD, scored=(units[:, :3], valid[:3], scale))


# ------------------------------------------------------------------------------ G5 shares


def test_shares_sum_to_the_reward_for_any_reward(demo):
    for reward in (0, 1, 7, 9_999, REWARD, 3 * REWARD + 1):
        d = decide(demo["manifest"], demo["head"], 0, demo["subs"], *demo["val"], reward)
        assert sum(d.shares.values()) == reward
        assert all(isinstance(v, int) and v >= 0 for v in d.shares.values())


def test_every_significant_honest_update_that_is_not_a_copy_is_paid_and_none_is_slashable(base):
    for o in base.outcomes.values():
        assert o.own.lcb > 0
        assert o.verdict in ("merged", "candidate", "duplicate")  # never "worse": never slashed
        if o.verdict != "duplicate":
            assert o.share > 0


def test_shares_still_sum_to_the_reward_when_no_candidate_alone_improves_the_versions_rows(demo, monkeypatch):
    monkeypatch.setattr(A, "airport_shapley", lambda g: np.zeros(len(g)))
    d = _decide(demo, demo["subs"])
    assert sum(d.shares.values()) == REWARD
    assert {i for i, v in d.shares.items() if v} == set(d.merged_ids)  # the members, by their own bounds


def test_airport_shapley_is_the_exact_shapley_value():
    """The closed form against the definition (all orders) on random small games,
    with ties, negative rows and a player that adds nothing."""
    rng = np.random.default_rng(1)
    for _ in range(20):
        m, n = int(rng.integers(1, 5)), int(rng.integers(1, 8))
        g = rng.integers(-2, 4, size=(m, n)).astype(float)

        def v(S):
            return float(np.maximum(g[list(S)].max(axis=0), 0).sum()) if S else 0.0

        brute = np.zeros(m)
        perms = list(itertools.permutations(range(m)))
        for p in perms:
            for k, j in enumerate(p):
                brute[j] += v(p[:k + 1]) - v(p[:k])
        brute /= len(perms)
        assert A.airport_shapley(g) == pytest.approx(brute, abs=1e-12)
        assert math.fsum(A.airport_shapley(g)) == pytest.approx(v(range(m)))


def test_two_updates_bringing_the_same_improvement_share_it_where_leave_one_out_pays_neither():
    g = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    phi = A.airport_shapley(g)
    assert phi.tolist() == [1.0, 1.0, 0.0]  # equal halves of the two rows; the third adds nothing
    assert A.integer_shares(REWARD, phi.tolist(), [1, 2, 3]) == [REWARD // 2, REWARD // 2, 0]


def test_integer_shares_go_to_the_largest_remainders_then_the_lower_id():
    assert A.integer_shares(10, [1.0, 1.0, 1.0], [5, 3, 9]) == [3, 4, 3]
    assert A.integer_shares(10, [0.0, 0.0], [1, 2]) == [0, 0]
    with pytest.raises(AggregationError):
        A.integer_shares(-1, [1.0], [1])


# ------------------------------------------------------------------------------ G3 copies


def test_k_copies_of_an_update_earn_nothing_and_the_original_keeps_its_share(demo, base):
    subs = demo["subs"]
    c0 = subs[0]
    copies = [Submission(100 + k, c0.delta, 0, "copier") for k in range(3)]
    rescaled = Submission(200, {k: (2 * v).astype(np.float32) for k, v in c0.delta.items()}, 0, "copier")
    d = _decide(demo, subs + copies + [rescaled])
    for s in copies + [rescaled]:
        assert d.outcomes[s.id].verdict == "duplicate" and d.outcomes[s.id].duplicate_of == c0.id
        assert d.outcomes[s.id].share == 0
    assert d.shares == {**base.shares, **{s.id: 0 for s in copies + [rescaled]}}
    assert d.delta.keys() == base.delta.keys() and all(np.array_equal(d.delta[k], base.delta[k]) for k in d.delta)


def test_splitting_into_small_perturbations_pays_no_more_than_submitting_once(demo, base):
    subs = demo["subs"]
    c0 = subs[0]
    mine = [Submission(300 + k, _scaled_noise(c0.delta, frac, seed=k), 0, "c0")
            for k, frac in enumerate((0.02, 0.05, 0.1, 0.2))]
    d = _decide(demo, subs + mine)
    assert all(d.outcomes[s.id].verdict == "duplicate" for s in mine)
    assert d.outcomes[c0.id].share + sum(d.outcomes[s.id].share for s in mine) <= base.outcomes[c0.id].share


def test_splitting_an_update_into_disjoint_parts_under_one_name_pays_no_more(demo, base):
    """The attack that a duplicate filter cannot see: send the update's first five classes
    and its last five as two submissions (cosine 0: no duplicate). The contributor is one
    player of the game, whatever it sends, so its rows count once."""
    subs = demo["subs"]
    c0 = subs[0]
    a = {k: v.copy() for k, v in c0.delta.items()}
    b = {k: v.copy() for k, v in c0.delta.items()}
    a["W0"][:, 5:] = 0
    a["b0"][5:] = 0
    b["W0"][:, :5] = 0
    b["b0"][:5] = 0
    parts = [Submission(c0.id, a, 0, "c0"), Submission(700, b, 0, "c0")]
    d = _decide(demo, parts + subs[1:])
    assert all(d.outcomes[s.id].verdict in ("merged", "candidate") for s in parts)  # not caught as copies
    assert d.outcomes[c0.id].share + d.outcomes[700].share <= base.outcomes[c0.id].share
    assert sum(d.shares.values()) == REWARD


def test_a_copy_disguised_by_weights_on_a_dead_feature_earns_nothing(demo, base):
    """The attack on a weight-only cosine: copy c1's update and add large weights on a pixel
    that is 0 in every digit; the weights differ (cosine << 0.99), the outputs do not."""
    subs = demo["subs"]
    X = demo["val"][0]
    dead = int(np.flatnonzero((demo["data"]["public"][0] == 0).all(axis=0) & (X == 0).all(axis=0))[0])
    fake = {k: v.copy() for k, v in subs[1].delta.items()}
    fake["W0"][dead] += 50.0
    assert A.cosine(A.flatten(fake), A.flatten(subs[1].delta)) < 0.5
    d = _decide(demo, subs + [Submission(400, fake, 0, "copier")])
    assert d.outcomes[400].verdict == "duplicate" and d.outcomes[400].share == 0
    assert d.outcomes[subs[1].id].share == base.outcomes[subs[1].id].share


def test_a_copy_disguised_by_a_per_row_shift_of_every_logit_earns_nothing(demo, base):
    """Add one vector to every class's weights: every logit of a row moves by the same
    amount, the probabilities and predictions do not, and the weights look different."""
    subs = demo["subs"]
    u = np.random.default_rng(9).normal(size=(64, 1)).astype(np.float32) * 5
    fake = {k: v.copy() for k, v in subs[3].delta.items()}
    fake["W0"] += u
    assert A.cosine(A.flatten(fake), A.flatten(subs[3].delta)) < 0.5
    d = _decide(demo, subs + [Submission(401, fake, 0, "copier")])
    assert d.outcomes[401].verdict == "duplicate" and d.outcomes[401].duplicate_of == subs[3].id
    assert d.outcomes[401].share == 0 and d.outcomes[subs[3].id].share == base.outcomes[subs[3].id].share


def test_honest_updates_are_not_taken_for_duplicates(demo, base):
    """The calibration of G3: independent honest updates stay below the threshold."""
    assert all(o.verdict != "duplicate" for o in base.outcomes.values())
    assert max(o.cosine_max for o in base.outcomes.values()) < A.DUPLICATE_COSINE


# ------------------------------------------------------------------------------ G2, G6


def test_noise_and_nothing_earn_nothing_and_a_harmful_update_is_the_only_slashable_one(demo, base):
    head = demo["head"]
    zero = {k: np.zeros_like(v) for k, v in head.items()}
    rng = np.random.default_rng(4)
    noise = {k: (rng.normal(size=v.shape) * 1e-3).astype(np.float32) for k, v in head.items()}
    harmful = {k: (-25 * v).astype(np.float32) for k, v in demo["subs"][2].delta.items()}  # the demo's c5
    extra = [Submission(500, zero, 0), Submission(501, noise, 0), Submission(502, harmful, 0)]
    d = _decide(demo, demo["subs"] + extra)
    assert d.outcomes[500].verdict == "not significant" and d.outcomes[500].share == 0
    assert d.outcomes[501].share == 0 and d.outcomes[501].verdict != "worse"
    assert d.outcomes[502].verdict == "worse" and d.outcomes[502].share == 0
    assert {i: d.shares[i] for i in base.shares} == base.shares


def test_a_batch_with_no_candidate_accepts_nothing(demo):
    zero = {k: np.zeros_like(v) for k, v in demo["head"].items()}
    d = _decide(demo, [Submission(1, zero, 0)])
    assert d.merged_ids == () and d.params is None and d.shares == {1: 0}


def test_ids_must_be_unique(demo):
    s = demo["subs"][0]
    with pytest.raises(AggregationError, match="unique"):
        _decide(demo, [s, s])


# ------------------------------------------------------------------------------ G1 stale bases


def test_the_stale_rule():
    assert A.stale_rule(5, 5) == A.CURRENT
    assert A.stale_rule(4, 5) == A.REBASE and A.stale_rule(3, 5) == A.REBASE
    assert A.stale_rule(2, 5) == A.REJECT  # more than MAX_LAG behind
    assert A.stale_rule(6, 5) == A.REJECT  # a version that does not exist yet
    with pytest.raises(AggregationError):
        A.stale_rule(-1, 5)


def test_a_stale_update_is_rebased_onto_the_head_and_paid_only_for_what_it_still_adds(demo, base):
    """Version 1 is the merge of batch 0. c2's update, trained on version 0, arrives in
    batch 1: it is applied to version 1 and judged against it, and most of what it brought
    to version 0 is already in version 1."""
    m, (X, y) = demo["manifest"], demo["val"]
    v1 = base.params
    late = Submission(600, demo["subs"][2].delta, 0, "c2")
    d = decide(m, v1, 1, [late], X, y, REWARD)
    o = d.outcomes[600]
    assert o.base == A.REBASE
    expected = _measured(m, v1, models.apply_update(v1, late.delta), X, y)
    assert o.own == expected  # scored on the current head, not on its base
    assert o.own.mean < base.outcomes[demo["subs"][2].id].own.mean  # it adds less to v1 than to v0


def test_an_update_too_far_behind_is_rejected_unscored_and_unpaid(demo):
    s = demo["subs"][0]
    d = decide(demo["manifest"], demo["head"], 3, [Submission(s.id, s.delta, 0)], *demo["val"], REWARD)
    o = d.outcomes[s.id]
    assert o.verdict == "stale" and o.base == A.REJECT and o.own is None and o.share == 0
    assert d.merged_ids == ()


# ------------------------------------------------------------------------------ determinism


def test_the_same_bytes_and_shares_for_any_input_order_and_thread_count(demo, base):
    subs = demo["subs"] + [Submission(100, demo["subs"][0].delta, 0)]
    ref = _decide(demo, subs)
    for perm in ([5, 4, 3, 2, 1, 0], [2, 0, 5, 1, 4, 3]):
        for workers in (1, 2):
            d = _decide(demo, [subs[i] for i in perm], workers=workers)
            assert d.merged_ids == ref.merged_ids and d.weights == ref.weights and d.shares == ref.shares
            assert all(d.delta[k].tobytes() == ref.delta[k].tobytes() for k in ref.delta)
            assert all(d.params[k].tobytes() == ref.params[k].tobytes() for k in ref.params)
            assert d.gain == ref.gain


def test_the_same_bytes_under_one_or_two_blas_threads(demo):
    """The batch's logits are one GEMM: its bits must not depend on BLAS's thread count."""
    from threadpoolctl import threadpool_limits

    subs = demo["subs"]
    out = []
    for threads in (1, 2):
        with threadpool_limits(threads, "blas"):
            out.append(_decide(demo, subs))
    a, b = out
    assert a.merged_ids == b.merged_ids and a.shares == b.shares and a.gain == b.gain
    assert all(a.delta[k].tobytes() == b.delta[k].tobytes() for k in a.delta)


def test_an_mlp_batch_is_decided_the_same_on_any_number_of_workers_and_beats_its_best(demo):
    """A model with a hidden layer is scored one model at a time, `workers` side by side."""
    m = models.make_manifest("mlp", 64, 10, h=16)
    data, (X, y) = demo["data"], demo["val"]
    head = training.train(m, models.init_model(m, seed=2), *data["public"], lr=0.3, epochs=3, batch_size=32, seed=1)
    subs = [Submission(i, training.make_update(head, training.train(m, head, *data[f"c{i}"], lr=0.3, epochs=6,
                                                                   batch_size=32, seed=i)), 0) for i in range(4)]
    subs.append(Submission(9, subs[0].delta, 0))  # a copy
    one = decide(m, head, 0, subs, X, y, REWARD, workers=1)
    two = decide(m, head, 0, subs[::-1], X, y, REWARD, workers=2)
    assert one.merged_ids == two.merged_ids and one.shares == two.shares and one.gain == two.gain
    assert all(one.delta[k].tobytes() == two.delta[k].tobytes() for k in one.delta)
    assert one.outcomes[9].verdict == "duplicate" and one.outcomes[9].share == 0
    best = max((o.own for o in one.outcomes.values() if o.own.lcb > 0), key=lambda d: d.lcb)
    assert one.gain.lcb >= best.lcb and one.gain.mean >= best.mean and sum(one.shares.values()) == REWARD


def test_the_one_winner_rule_pays_one(demo):
    d = A.one_winner(demo["manifest"], demo["head"], 0, demo["subs"], *demo["val"], REWARD)
    assert len(d.merged_ids) == 1 and sum(d.shares.values()) == REWARD
    assert d.shares[d.merged_ids[0]] == REWARD


def test_an_update_whose_outputs_the_scorer_cannot_score_is_invalid_never_a_candidate(demo, base):
    """Weights that push the logits beyond float32's range on every row: the scorer marks
    the column invalid (the node reports it INVALID); the batch decides around it."""
    m, head, (X, y) = demo["manifest"], demo["head"], demo["val"]
    huge = {k: np.zeros_like(v) for k, v in head.items()}
    huge["W0"][:, 0] = 3e38  # a row's logit 0 sums 64 of them times its features
    subs = demo["subs"] + [Submission(500, huge, 0, "x")]
    d = decide(m, head, 0, subs, X, y, REWARD)
    o = d.outcomes[500]
    assert o.verdict == "invalid" and o.own is None and o.share == 0 and 500 not in d.merged_ids
    assert d.shares == {**base.shares, 500: 0} and d.merged_ids == base.merged_ids


def test_the_logit_cosine_bound_holds_against_the_fixed_order_cosine_and_spares_honest_pairs(demo, monkeypatch):
    """G3's second cosine on float32 logits lies within the proven margins of the fixed-order
    one for every pair (so a verdict taken on it is the exact one), and the demo's honest
    pairs, far from 0.99, never take the slow path."""
    m, head, (X, y) = demo["manifest"], demo["head"], demo["val"]
    spec = models.model_spec(m)
    sets = {i: models.apply_update(head, s.delta) for i, s in enumerate(demo["subs"])}
    sigs = A._Signatures(spec, m, head, sets, X)
    for i, j in itertools.combinations(sets, 2):
        fast = A.cosine(sigs.fast[i], sigs.fast[j])
        exact = A.cosine(sigs.exact(i), sigs.exact(j))
        assert abs(fast - exact) <= sigs.margin(i) + sigs.margin(j), (i, j, fast, exact)
        assert 0 < sigs.margin(i) < 0.01
    slow = []
    real = models.fixed_logits
    monkeypatch.setattr(models, "fixed_logits", lambda *a, **k: slow.append(1) or real(*a, **k))
    assert _decide(demo, demo["subs"]).shares and not slow

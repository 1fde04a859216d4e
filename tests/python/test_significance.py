"""The acceptance rule pays only for improvement beyond the noise (fathom.ml.significance).

The noise fixtures replay the attack of the payouts issue: updates of pure random noise,
trained on no data, submitted to a converged model, batch after batch. Under the old rule
(report the raw quantised score, accept whatever beats the head) they are accepted and
paid; under the paired lower bound they are not, and the adaptive attacker who combines
the noise updates whose published scores looked best learns nothing to combine.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from fathom.ml import models, significance, training
from fathom.ml.significance import SignificanceError, paired, report_units, row_goodness

RESOLUTION = 1e-4
RESOLUTION_WAD = 10**14
D, K = 20, 3


def _data(n: int, rng: np.random.Generator, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = rng.integers(0, K, size=n)
    X = (centres[y] + rng.normal(scale=2.0, size=(n, D))).astype(np.float32)
    return X, y.astype(np.int64)


@pytest.fixture(scope="module")
def task():
    rng = np.random.default_rng(7)
    centres = rng.normal(scale=0.6, size=(K, D))
    train = _data(3_000, rng, centres)
    val = _data(400, rng, centres)  # the demo's validation size
    held = _data(4_000, rng, centres)
    manifest = models.make_manifest("softmax", D, K)
    init = models.init_model(manifest, seed=0)
    head = training.train(manifest, init, *train, lr=0.1, epochs=30, batch_size=64, seed=0)
    return {"manifest": manifest, "init": init, "head": head, "train": train, "val": val, "held": held, "rng": rng}


def _units(manifest, params, val) -> int:
    return round(models.score(manifest, params, *val) / RESOLUTION)


def _noise_update(head, rng, norm):
    raw = {k: rng.normal(size=v.shape) for k, v in head.items()}
    scale = norm / math.sqrt(sum(float((a ** 2).sum()) for a in raw.values()))
    return {k: (a * scale).astype(np.float32) for k, a in raw.items()}


def _play(task, rule, batches=40, per_batch=4, adaptive=False):
    """Batches of noise updates against the converged head; returns (accepted, submitted,
    share of the reward paid, final held-out accuracy). Reward: a linear curve from the
    initial model's score to a target of 1.0 (so 1% of the reward is 1% of that range)."""
    manifest, val, rng = task["manifest"], task["val"], np.random.default_rng(11)
    baseline = _units(manifest, task["init"], val)
    target = round(1.0 / RESOLUTION)
    head = dict(task["head"])
    head_units = _units(manifest, head, val)
    start_units = head_units
    head_good = row_goodness(manifest, head, *val)
    accepted = submitted = 0
    published: list[tuple[int, dict]] = []
    for b in range(batches):
        updates = [_noise_update(head, rng, norm=0.1) for _ in range(per_batch)]
        if adaptive and len(published) >= 8:
            # combine the noise updates whose published scores looked best so far
            best = [u for _, u in sorted(published, key=lambda t: -t[0])[:8]]
            updates[0] = {k: sum(u[k] for u in best).astype(np.float32) for k in head}
        reports = []
        for u in updates:
            cand = models.apply_update(head, u)
            if rule == "raw":
                reports.append(_units(manifest, cand, val))
            else:
                diff = paired(head_good, row_goodness(manifest, cand, *val))
                reports.append(report_units(head_units, diff, RESOLUTION_WAD, higher_is_better=True))
        submitted += len(updates)
        published += list(zip(reports, updates))
        best_i = max(range(len(reports)), key=lambda i: (reports[i], -i))
        if reports[best_i] > head_units:  # R5: the best that beats the head
            accepted += 1
            head = models.apply_update(head, updates[best_i])
            head_units = reports[best_i]
            head_good = row_goodness(manifest, head, *val)
    paid = (min(head_units, target) - start_units) / (target - baseline)
    held = models.score(manifest, head, *task["held"])
    return accepted, submitted, paid, held


def test_row_goodness_averages_to_the_metric(task):
    manifest, head, (X, y) = task["manifest"], task["head"], task["val"]
    assert np.mean(row_goodness(manifest, head, X, y)) == pytest.approx(models.score(manifest, head, X, y), abs=1e-12)
    for metric in ("log_loss", "mse"):
        m = dict(manifest, metric=metric)
        # the score rounds each row to the metric's floating grid (models.ROW_BITS)
        assert -np.mean(row_goodness(m, head, X, y)) == pytest.approx(models.score(m, head, X, y),
                                                                     rel=2.0 ** -models.ROW_BITS[metric], abs=2.0**-21)


def test_paired_bounds_are_the_textbook_ones_and_independent_of_row_order():
    rng = np.random.default_rng(3)
    h = rng.integers(0, 2, 500).astype(float)
    c = np.where(rng.random(500) < 0.1, 1 - h, h)
    d = c - h
    diff = paired(h, c, 9_500)
    se = d.std(ddof=1) / math.sqrt(d.size)
    assert diff.mean == pytest.approx(d.mean()) and diff.se == pytest.approx(se)
    assert diff.lcb == pytest.approx(d.mean() - 1.6448536269514722 * se)
    perm = rng.permutation(500)
    assert paired(h[perm], c[perm], 9_500) == diff  # bit for bit: fsum is exactly rounded


def test_noise_is_paid_under_the_raw_rule_and_not_under_the_lower_bound(task):
    """The attack: 40 batches of pure-noise updates to a converged model."""
    raw_acc, n, raw_paid, raw_held = _play(task, "raw")
    acc, n2, paid, held = _play(task, "bound")
    assert raw_acc >= 3 and raw_paid > 0.01  # the attack works on the old rule
    assert n == n2 == 160
    assert acc / n <= 0.01 and paid <= 0.01  # >= 99% rejected, <= 1% of the reward paid
    assert held >= models.score(task["manifest"], task["head"], *task["held"]) - 1e-9  # the model was not harmed


def test_adaptive_combination_of_the_best_published_noise_earns_nothing_more(task):
    """The reusable-holdout attack: combine the noise updates whose published scores
    looked best. Under the bound every noise update publishes the head's own score, so
    there is nothing to select on, and the combination is not accepted either."""
    acc, n, paid, _ = _play(task, "bound", adaptive=True)
    plain_acc, _, plain_paid, _ = _play(task, "bound")
    assert acc <= plain_acc and paid <= max(plain_paid, 0.0) + 1e-12
    assert acc / n <= 0.01 and paid <= 0.01


def test_genuine_progress_from_a_far_head_is_accepted(task):
    manifest, init, val = task["manifest"], task["init"], task["val"]
    trained = training.train(manifest, init, *task["train"], lr=0.1, epochs=1, batch_size=64, seed=1)
    diff = paired(row_goodness(manifest, init, *val), row_goodness(manifest, trained, *val))
    head_units = _units(manifest, init, val)
    reported = report_units(head_units, diff, RESOLUTION_WAD, higher_is_better=True)
    assert diff.verdict == "better" and reported > head_units
    # ...and the recorded score is conservative: at most the raw score
    assert reported <= _units(manifest, trained, val)


def test_a_significantly_worse_update_reports_below_the_head_and_a_loss_metric_moves_the_other_way(task):
    manifest, head, val = task["manifest"], task["head"], task["val"]
    bad = models.apply_update(head, {k: -3 * v for k, v in head.items()})
    diff = paired(row_goodness(manifest, head, *val), row_goodness(manifest, bad, *val))
    assert diff.verdict == "worse"
    assert report_units(5_000, diff, RESOLUTION_WAD, higher_is_better=True) < 5_000
    assert report_units(5_000, diff, RESOLUTION_WAD, higher_is_better=False) > 5_000  # a loss goes up


def test_the_confidence_is_capped_to_the_table():
    with pytest.raises(SignificanceError, match="is not one of"):
        paired([0, 1], [1, 1], 5_000)  # 50%: noise would be paid half the time
    with pytest.raises(SignificanceError):
        significance.z_for(9_999)  # 99.99%: a bar honest progress could not pass
    assert significance.z_for(9_900) == pytest.approx(2.3263478740408408)


def test_the_power_of_the_demo_validation_set():
    """400 rows, updates that change 10% of the predictions: at 99% confidence the smallest
    improvement the set detects is about 3.7 points of accuracy (README states it)."""
    assert significance.smallest_detectable(400, math.sqrt(0.10)) == pytest.approx(0.0368, abs=5e-4)


def test_row_units_are_the_values_the_scores_add_up(task):
    """row_units gives, per row, exactly what score_many sums: its column means are the
    scores bit for bit, whatever the chunking and the thread count."""
    manifest, head, val, rng = task["manifest"], task["head"], task["val"], np.random.default_rng(5)
    deltas = [_noise_update(head, rng, 0.1) for _ in range(5)]
    for metric in ("accuracy", "log_loss", "mse"):
        m = dict(manifest, metric=metric)
        units, valid, scale = models.row_units(m, head, deltas, *val)
        assert valid.all() and units.shape == (400, 6)
        scores = models.score_many(m, head, deltas, *val)
        for i in range(5):
            assert float(int(units[:, i + 1].sum()) * scale / 400) == scores[i]
        again, _, _ = models.row_units(m, head, deltas, *val, chunk_rows=37, workers=2)
        assert (again == units).all()


def test_the_exact_paired_test_agrees_with_the_float_one_and_flips_for_a_loss(task):
    manifest, head, val = task["manifest"], task["head"], task["val"]
    trained = training.train(manifest, head, *task["train"], lr=0.05, epochs=1, batch_size=64, seed=3)
    delta = {k: trained[k] - head[k] for k in head}
    units, _, scale = models.row_units(manifest, head, [delta], *val)
    exact = significance.paired_units(units[:, 0], units[:, 1], scale, True)
    floats = paired(row_goodness(manifest, head, *val), row_goodness(manifest, trained, *val))
    assert exact.mean == pytest.approx(floats.mean, abs=1e-15) and exact.se == pytest.approx(floats.se, rel=1e-12)
    # a loss: lower is better, so a candidate whose per-row losses are smaller is "better"
    flipped = significance.paired_units(units[:, 1], units[:, 0], scale, False)
    assert flipped.mean == pytest.approx(exact.mean)


def test_batch_reports_keep_noise_at_the_head_and_move_genuine_progress(task):
    """What an oracle reports for a batch: a noise update the head's own score, a genuine
    update from a far head above it, an update that does not fit nothing (INVALID)."""
    manifest, init, val = task["manifest"], task["init"], task["val"]
    trained = training.train(manifest, init, *task["train"], lr=0.1, epochs=1, batch_size=64, seed=1)
    genuine = {k: trained[k] - init[k] for k in init}
    noise = {k: v * np.float32(1e-4) for k, v in _noise_update(init, np.random.default_rng(2), 0.1).items()}
    broken = {"W0": np.zeros((2, 2), np.float32), "b0": np.zeros(2, np.float32)}
    head_score = 3_500
    (g, gd), (n, nd), (b, bd) = significance.batch_reports(manifest, init, [genuine, noise, broken], *val, head_score,
                                                           RESOLUTION_WAD, True)
    assert gd.verdict == "better" and g > head_score
    assert nd.verdict == "not significant" and n == head_score
    assert b is None and bd is None


def test_the_brief_names_the_confidence_within_the_table():
    assert significance.confidence_of({}) == significance.DEFAULT_CONFIDENCE_BPS
    assert significance.confidence_of({"confidence_bps": 9_500}) == 9_500
    for bad in (5_000, 9_999, "9900", True):
        with pytest.raises(SignificanceError):
            significance.confidence_of({"confidence_bps": bad})


def test_paired_units_sums_exactly_on_the_int64_path_and_on_pythons_integers():
    """`paired_units` sums in int64 while every square and their sum fit (|d| < 2^20), else
    in Python integers (a loss's rows reach 2^44 units): both give the exact statistic."""
    from fractions import Fraction

    rng = np.random.default_rng(5)
    for top in (2**20 - 1, 2**20, 2**44):
        h = rng.integers(0, top, 5_000, dtype=np.int64)
        c = rng.integers(0, top, 5_000, dtype=np.int64)
        c[0], h[0] = top - 1, 0  # the largest difference this range allows
        scale = Fraction(1, 2**20)
        got = significance.paired_units(h, c, scale, True)
        d = [int(a) - int(b) for a, b in zip(c, h)]
        n = len(d)
        mean = Fraction(sum(d), n) * scale
        var = Fraction(sum(v * v for v in d) * n - sum(d) ** 2, n * (n - 1)) * scale * scale
        assert got.mean == float(mean) and got.se == math.sqrt(float(var / n)), top

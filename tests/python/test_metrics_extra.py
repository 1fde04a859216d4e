"""AUC, F1, balanced accuracy, MAE and R² (fathom/ml/metrics.py): the same values as
scikit-learn, their direction and quantisation, the scorer's `metric=` path, and the
deterministic paired bootstrap that stands in for the paired per-row test."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as sk

from fathom.ml import metrics, models
from fathom.protocol.settlement import quantise


def binary_case(seed=0, n=300):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p1 = np.clip(0.5 + (y - 0.5) * 0.4 + rng.normal(0, 0.25, n), 0.001, 0.999).astype(np.float32)
    p1[:10] = 0.5  # ties
    return y, np.stack([1 - p1, p1], axis=1)


def test_values_agree_with_scikit_learn():
    y, proba = binary_case()
    labels = proba.argmax(axis=1)
    assert metrics.value("auc", y, proba) == pytest.approx(sk.roc_auc_score(y, proba[:, 1]), abs=1e-12)
    assert metrics.value("f1", y, proba) == pytest.approx(sk.f1_score(y, labels), abs=1e-12)
    assert metrics.value("balanced_accuracy", y, proba) == pytest.approx(sk.balanced_accuracy_score(y, labels), abs=1e-12)
    rng = np.random.default_rng(1)
    y3 = rng.integers(0, 3, 200)
    p3 = rng.dirichlet([1, 1, 1], 200).astype(np.float32)
    assert metrics.value("auc", y3, p3) == pytest.approx(sk.roc_auc_score(y3, p3, multi_class="ovr", average="macro"), abs=1e-9)
    assert metrics.value("f1", y3, p3) == pytest.approx(sk.f1_score(y3, p3.argmax(1), average="macro"), abs=1e-12)
    t, pred = rng.normal(size=100), rng.normal(size=100)
    assert metrics.value("mae", t, pred) == pytest.approx(sk.mean_absolute_error(t, pred), abs=1e-12)
    assert metrics.value("r2", t, pred) == pytest.approx(sk.r2_score(t, pred), abs=1e-12)


def test_each_metric_has_direction_resolution_quantisation_and_a_significance_test():
    for name in ("accuracy", "log_loss", "mse", "mae", "auc", "f1", "balanced_accuracy", "r2"):
        m = metrics.METRIC_TABLE[name]
        assert m.resolution_wad == 10**14 and m.significance in ("paired", "bootstrap")
        assert models.higher_is_better(name) is m.higher_is_better
    assert [n for n, m in metrics.METRIC_TABLE.items() if m.significance == "bootstrap"] == ["auc", "f1", "balanced_accuracy", "r2"]
    assert not models.higher_is_better("mae") and models.higher_is_better("r2")
    # an R² below 0 is 0 units, AUC 0.87654 is 8765 units
    assert quantise(metrics.clip_for_quantisation("r2", -3.2), metrics.METRIC_TABLE["r2"].resolution_wad) == 0
    assert quantise(metrics.clip_for_quantisation("auc", 0.87654), 10**14) == 8765


def test_the_scorer_computes_the_extra_metrics_from_the_models_outputs():
    y, _ = binary_case()
    rng = np.random.default_rng(2)
    X = (rng.normal(size=(300, 4)) + y[:, None]).astype(np.float32)
    manifest = models.make_manifest("logistic", 4, 2)
    params = models.init_model(manifest, seed=1)
    params["W0"] += np.float32(0.5)
    proba, labels = models.forward(manifest, params, X), models.predict(manifest, params, X)
    for name in ("auc", "f1", "balanced_accuracy"):
        assert models.score(manifest, params, X, y, name) == metrics.value(name, y, proba, labels)
    scores = models.score_many(manifest, params, [{k: np.zeros_like(v) for k, v in params.items()}, {"W0": params["W0"]}], X, y,
                               "auc", invalid="nan")
    assert scores[0] == models.score(manifest, params, X, y, "auc") and np.isnan(scores[1])
    with pytest.raises(models.ModelError, match="r2 scores a regression model"):
        models.score(manifest, params, X, y, "r2")
    reg = {"architecture": "mlp", "dtype": "float32", "metric": "mse", "layers": [[4, 3], [3, 1]], "activation": "relu"}
    rp = models.init_model(reg, seed=0)
    t = rng.normal(size=300).astype(np.float32)
    pred = models.forward(reg, rp, X)
    assert models.score(reg, rp, X, t, "mae") == metrics.value("mae", t, pred)
    assert models.score(reg, rp, X, t, "r2") == metrics.value("r2", t, pred)
    with pytest.raises(models.ModelError, match="not scored by 'auc'"):
        models.score(reg, rp, X, t, "auc")


def test_the_paired_bootstrap_is_the_same_on_every_oracle_and_sees_a_real_improvement():
    y, good = binary_case(seed=3)
    rng = np.random.default_rng(4)
    noisy = np.clip(good[:, 1] + rng.normal(0, 0.4, len(y)), 0, 1).astype(np.float32)
    bad = np.stack([1 - noisy, noisy], axis=1)
    one = metrics.paired_bootstrap("auc", y, (bad, None), (good, None), bounty_id=7, batch=2, rounds=300)
    again = metrics.paired_bootstrap("auc", y, (bad, None), (good, None), bounty_id=7, batch=2, rounds=300)
    assert one == again  # every oracle: the same resamples, the same p-value
    assert one.candidate > one.head and one.p_value < 0.01
    same = metrics.paired_bootstrap("f1", y, (good, None), (good, None), bounty_id=7, batch=2, rounds=50)
    assert same.p_value == 1.0  # no better than itself
    worse = metrics.paired_bootstrap("auc", y, (good, None), (bad, None), bounty_id=7, batch=2, rounds=100)
    assert worse.p_value > 0.95
    assert metrics.bootstrap_seed(7, 2) != metrics.bootstrap_seed(7, 3) != metrics.bootstrap_seed(8, 2)


def test_an_unknown_metric_is_refused():
    with pytest.raises(metrics.MetricError, match="metric must be one of"):
        metrics.value("precision", [0, 1], [[0.5, 0.5], [0.5, 0.5]])

"""fathom.ml.training: gradients, SGD on the digits, updates and clipping."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from fathom.ml import models as M
from fathom.ml.training import TrainingError, clip_update, loss_and_grads, make_update, train, update_norm

MANIFESTS = {
    "logistic": {"architecture": "logistic", "metric": "log_loss", "d": 5},
    "softmax": {"architecture": "softmax", "metric": "log_loss", "d": 5, "k": 3},
    "mlp-relu": {"architecture": "mlp", "metric": "log_loss", "d": 5, "k": 3, "h": 4},
    "mlp-tanh-deep": {"architecture": "mlp", "metric": "log_loss", "layers": [[5, 4], [4, 3], [3, 3]], "activation": "tanh"},
    "mlp-sigmoid": {"architecture": "mlp", "metric": "accuracy", "layers": [[5, 4], [4, 1]], "activation": "relu"},
    "mlp-regression": {"architecture": "mlp", "metric": "mse", "layers": [[5, 4], [4, 1]], "activation": "relu"},
}


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    order = np.random.default_rng(0).permutation(len(X))
    X, y = X[order], y[order].astype(np.int64)
    return X[:1300], y[:1300], X[1300:], y[1300:]


def tiny_problem(name):
    rng = np.random.default_rng(42)
    man = MANIFESTS[name]
    spec = M.model_spec(man)
    X = rng.standard_normal((7, 5))
    if spec.regression:
        y = rng.standard_normal(7)
    else:
        y = rng.integers(0, spec.k, 7)
    params = {n: a.astype(np.float64) for n, a in M.init_model(man, seed=1).items()}
    params = {n: a + rng.standard_normal(a.shape) * 0.3 for n, a in params.items()}  # biases off zero too
    return man, params, X, y


@pytest.mark.parametrize("name", sorted(MANIFESTS))
@pytest.mark.parametrize("l2", [0.0, 0.1])
def test_gradients_match_finite_differences(name, l2):
    man, params, X, y = tiny_problem(name)
    loss, grads = loss_and_grads(man, params, X, y, l2=l2)
    assert list(grads) == list(M.param_shapes(man))
    eps = 1e-6
    for pname, value in params.items():
        numeric = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            plus = {n: a.copy() for n, a in params.items()}
            minus = {n: a.copy() for n, a in params.items()}
            plus[pname][index] += eps
            minus[pname][index] -= eps
            numeric[index] = (loss_and_grads(man, plus, X, y, l2=l2)[0] - loss_and_grads(man, minus, X, y, l2=l2)[0]) / (2 * eps)
        assert grads[pname].shape == value.shape
        assert np.allclose(grads[pname], numeric, rtol=1e-5, atol=1e-7), pname


def test_the_loss_is_the_mean_cross_entropy():
    man = {"architecture": "softmax", "metric": "log_loss", "d": 2, "k": 3}
    params = {"W0": np.zeros((2, 3)), "b0": np.log(np.array([0.2, 0.3, 0.5]))}
    loss, _ = loss_and_grads(man, params, np.zeros((2, 2)), np.array([0, 2]))
    assert loss == pytest.approx(-(np.log(0.2) + np.log(0.5)) / 2)


@pytest.mark.parametrize("arch, k, h, lr", [("logistic", 2, None, 0.5), ("softmax", 10, None, 0.5), ("mlp", 10, 32, 0.2)])
def test_training_on_the_digits_improves_held_out_accuracy_and_log_loss(digits, arch, k, h, lr):
    Xtr, ytr, Xva, yva = digits
    if arch == "logistic":
        ytr, yva = ytr % 2, yva % 2
    man = M.make_manifest(arch, 64, k, h)
    start = M.init_params(arch, 64, k, h, seed=1)
    seen = []
    trained = train(man, start, Xtr, ytr, lr=lr, epochs=12, batch_size=32, seed=3, progress=lambda e, n, loss: seen.append((e, n, loss)))
    before = {m: M.score(man, start, Xva, yva, m) for m in M.METRICS}
    after = {m: M.score(man, trained, Xva, yva, m) for m in M.METRICS}
    assert after["accuracy"] >= (0.85 if arch == "logistic" else 0.93) and after["accuracy"] > before["accuracy"] + 0.3
    assert after["log_loss"] < 0.5 * before["log_loss"]
    assert after["mse"] < 0.5 * before["mse"]
    assert [e for e, _, _ in seen] == list(range(1, 13)) and all(n == 12 for _, n, _ in seen)
    assert seen[-1][2] < seen[0][2]
    assert all(a.dtype == np.float32 for a in trained.values())


def test_a_regression_mlp_learns(digits):
    Xtr, ytr, Xva, yva = digits
    man = {"architecture": "mlp", "metric": "mse", "layers": [[64, 16], [16, 1]], "activation": "relu"}
    target_tr, target_va = (ytr / 9.0).astype(np.float32), (yva / 9.0).astype(np.float32)
    start = M.init_model(man, seed=0)
    trained = train(man, start, Xtr, target_tr, lr=0.05, epochs=20, batch_size=32, seed=0)
    assert M.score(man, trained, Xva, target_va) < 0.3 * M.score(man, start, Xva, target_va)


def test_training_is_seeded_and_leaves_its_input_alone(digits):
    Xtr, ytr, _, _ = digits
    man = M.make_manifest("mlp", 64, 10, 8)
    start = M.init_params("mlp", 64, 10, 8, seed=0)
    snapshot = {n: a.copy() for n, a in start.items()}
    a = train(man, start, Xtr[:300], ytr[:300], lr=0.1, epochs=2, batch_size=16, seed=5)
    b = train(man, start, Xtr[:300], ytr[:300], lr=0.1, epochs=2, batch_size=16, seed=5)
    c = train(man, start, Xtr[:300], ytr[:300], lr=0.1, epochs=2, batch_size=16, seed=6)
    assert all(np.array_equal(start[n], snapshot[n]) for n in start)
    assert all(np.array_equal(a[n], b[n]) for n in a)
    assert not np.array_equal(a["W0"], c["W0"])
    same = train(man, start, Xtr, ytr, lr=0.1, epochs=0, batch_size=16, seed=5)
    assert all(np.array_equal(same[n], start[n]) for n in start)
    full_batch = train(man, start, Xtr[:50], ytr[:50], lr=0.1, epochs=1, batch_size=10_000, seed=5)
    _, grads = loss_and_grads(man, start, Xtr[:50], ytr[:50])
    assert all(np.allclose(full_batch[n], start[n] - np.float32(0.1) * grads[n], atol=1e-7) for n in start)


def test_bad_hyper_parameters_and_divergence_are_reported(digits):
    Xtr, ytr, _, _ = digits
    man = M.make_manifest("softmax", 64, 10)
    start = M.init_params("softmax", 64, 10)
    for kwargs, match in [({"lr": 0}, "lr"), ({"epochs": -1}, "epochs"), ({"batch_size": 0}, "batch_size"), ({"lr": float("nan")}, "lr")]:
        args = {"lr": 0.1, "epochs": 1, "batch_size": 8, "seed": 0} | kwargs
        with pytest.raises(TrainingError, match=match):
            train(man, start, Xtr, ytr, **args)
    regression = {"architecture": "mlp", "metric": "mse", "layers": [[64, 8], [8, 1]], "activation": "relu"}
    with pytest.raises(TrainingError, match="diverged"):  # squared error: nothing bounds the steps
        train(regression, M.init_model(regression), Xtr, ytr.astype(np.float32), lr=10.0, epochs=3, batch_size=8, seed=0)
    with pytest.raises(M.ModelError, match="labels"):
        train(man, start, Xtr, ytr + 1, lr=0.1, epochs=1, batch_size=8, seed=0)


def test_make_update_is_the_difference_that_apply_update_adds_back(digits):
    Xtr, ytr, _, _ = digits
    man = M.make_manifest("softmax", 64, 10)
    head = M.init_params("softmax", 64, 10, seed=0)
    trained = train(man, head, Xtr[:200], ytr[:200], lr=0.3, epochs=2, batch_size=16, seed=0)
    delta = make_update(head, trained)
    assert all(d.dtype == np.float32 for d in delta.values())
    merged = M.apply_update(head, delta)
    assert all(np.allclose(merged[n], trained[n], rtol=0, atol=1e-6) for n in head)
    with pytest.raises(M.ModelError, match="shape"):
        make_update(head, dict(trained, W0=trained["W0"].T))


def test_clipping_bounds_the_global_norm_and_leaves_small_updates_alone():
    rng = np.random.default_rng(0)
    delta = {"W0": rng.standard_normal((30, 10)).astype(np.float32), "b0": rng.standard_normal(10).astype(np.float32)}
    norm = update_norm(delta)
    assert norm == pytest.approx(np.sqrt(sum(float(np.sum(a.astype(np.float64) ** 2)) for a in delta.values())))
    for bound in (norm / 2, norm / 7.3, 1e-3, 0.1234567):
        clipped = clip_update(delta, bound)
        assert update_norm(clipped) <= bound
        assert update_norm(clipped) == pytest.approx(bound, rel=1e-6)
        ratio = clipped["W0"].astype(np.float64) / delta["W0"]
        assert np.allclose(ratio, ratio.flat[0], rtol=1e-6)  # one factor for every array: the direction is kept
        assert np.allclose(clipped["b0"] / delta["b0"], ratio.flat[0], rtol=1e-6)
    same = clip_update(delta, norm * 1.01)
    assert all(np.array_equal(same[n], delta[n]) and same[n] is not delta[n] for n in delta)
    # Many random bounds: float32 rounding never leaves the norm above the bound.
    for bound in np.random.default_rng(1).uniform(0.01, norm, 200):
        assert update_norm(clip_update(delta, bound)) <= bound
    for bad in (0, -1, float("inf"), float("nan")):
        with pytest.raises(TrainingError, match="max_norm"):
            clip_update(delta, bad)


@pytest.mark.parametrize("lr, epochs, batch_size, match", [
    (1e30, 1, 8, "learning rate"), (0.0, 1, 8, "learning rate"), (-1.0, 1, 8, "learning rate"),
    (float("nan"), 1, 8, "learning rate"), (float("inf"), 1, 8, "learning rate"), ("x", 1, 8, "learning rate"),
    (0.1, 0, 8, "epochs"), (0.1, 1.5, 8, "epochs"), (0.1, True, 8, "epochs"), (0.1, 1, 0, "batch_size")])
def test_a_contributions_absurd_hyperparameters_are_refused(lr, epochs, batch_size, match):
    from fathom.ml.training import MAX_LR, check_hyperparameters

    with pytest.raises(TrainingError, match=match):
        check_hyperparameters(lr, epochs, batch_size)
    assert check_hyperparameters(MAX_LR, 1, 1) == (MAX_LR, 1, 1)
    assert check_hyperparameters("0.1", 3, 64) == (0.1, 3, 64)

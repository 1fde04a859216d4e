"""fathom.ml.models: manifests, updates, forward passes, metrics and the batched scorer."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from fathom.ml import models as M
from fathom.errors import FathomError
from fathom.ml.training import train

ARCHS = [("logistic", 2, None), ("softmax", 10, None), ("mlp", 10, 16)]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    order = np.random.default_rng(0).permutation(len(X))
    return X[order], y[order].astype(np.int64)


def labels_for(arch, y):
    return y % 2 if arch == "logistic" else y


def random_deltas(params, count, scale, seed):
    rng = np.random.default_rng(seed)
    return [{name: (rng.standard_normal(a.shape) * scale).astype(np.float32) for name, a in params.items()} for _ in range(count)]


def naive_score(manifest, params, X, y, metric):
    """An independent float64 reference, row by row in vectorised numpy."""
    spec = M.model_spec(manifest)
    A = X.astype(np.float64)
    last = len(spec.layers) - 1
    for i in range(last + 1):
        A = A @ params[f"W{i}"].astype(np.float64) + params[f"b{i}"].astype(np.float64)
        if i < last:
            A = np.maximum(A, 0) if spec.activation == "relu" else np.tanh(A)
    if spec.output == "linear":
        return float(np.mean((A[:, 0] - y) ** 2))
    if spec.output == "sigmoid":
        p1 = 1 / (1 + np.exp(-A[:, 0]))
        P = np.stack([1 - p1, p1], axis=1)
        pred = (A[:, 0] >= 0).astype(int)
    else:
        E = np.exp(A - A.max(axis=1, keepdims=True))
        P = E / E.sum(axis=1, keepdims=True)
        pred = A.argmax(axis=1)
    if metric == "accuracy":
        return float(np.mean(pred == y))
    if metric == "log_loss":
        return float(-np.mean(np.log(P[np.arange(len(y)), y])))
    onehot = np.eye(P.shape[1])[y]
    return float(np.mean((P - onehot) ** 2))


# ---------------------------------------------------------------------------------------
# Manifests and parameters
# ---------------------------------------------------------------------------------------


def test_both_manifest_spellings_describe_the_same_model():
    long = M.make_manifest("mlp", 64, 10, 32, metric="log_loss")
    assert long == {"architecture": "mlp", "dtype": "float32", "metric": "log_loss", "layers": [[64, 32], [32, 10]], "activation": "relu"}
    short = {"architecture": "mlp", "metric": "log_loss", "d": 64, "k": 10, "h": 32}
    assert M.param_shapes(long) == M.param_shapes(short) == {"W0": (64, 32), "b0": (32,), "W1": (32, 10), "b1": (10,)}
    assert list(M.param_shapes(M.make_manifest("logistic", 5, 2))) == ["W0", "b0"]
    assert M.param_shapes({"architecture": "logistic", "metric": "accuracy", "d": 5})["W0"] == (5, 1)
    assert M.model_spec(M.make_manifest("logistic", 5, 2)).k == 2
    assert M.model_spec(M.make_manifest("softmax", 5, 7)).k == 7


@pytest.mark.parametrize(
    "manifest, match",
    [
        ({"architecture": "cnn", "metric": "accuracy", "d": 3, "k": 2}, "architecture"),
        ({"architecture": "softmax", "metric": "f1", "d": 3, "k": 2}, "metric"),
        ({"architecture": "logistic", "metric": "accuracy", "d": 3, "k": 3}, "binary"),
        ({"architecture": "softmax", "metric": "accuracy", "d": 3, "k": 1}, "k >= 2"),
        ({"architecture": "mlp", "metric": "accuracy", "d": 3, "k": 4}, "hidden"),
        ({"architecture": "softmax", "metric": "accuracy", "d": 0, "k": 4}, "'d'"),
        ({"architecture": "softmax", "metric": "accuracy", "d": True, "k": 4}, "'d'"),
        ({"architecture": "softmax", "metric": "accuracy", "d": 3, "k": 4, "dtype": "float64"}, "dtype"),
        ({"architecture": "mlp", "metric": "accuracy", "layers": [[3, 4], [5, 2]], "activation": "relu"}, "outputs 4"),
        ({"architecture": "mlp", "metric": "accuracy", "layers": [[3, 4], [4, 2]], "activation": "gelu"}, "activation"),
        ({"architecture": "softmax", "metric": "accuracy", "layers": [[3, 1]]}, "at least 2"),
        ({"architecture": "softmax", "metric": "accuracy", "layers": [[3, 4]], "k": 5}, "disagrees"),
        ({"architecture": "softmax", "metric": "accuracy", "d": 10**5, "k": 10**4}, "limit"),
    ],
)
def test_bad_manifests_are_refused_with_a_reason(manifest, match):
    with pytest.raises(M.ModelError, match=match):
        M.model_spec(manifest)


def test_init_params_are_float32_of_the_manifest_shapes_and_seeded():
    for arch, k, h in ARCHS:
        p = M.init_params(arch, 8, k, h, seed=3)
        assert {n: a.shape for n, a in p.items()} == M.param_shapes(M.make_manifest(arch, 8, k, h))
        assert all(a.dtype == np.float32 for a in p.values())
        again = M.init_params(arch, 8, k, h, seed=3)
        other = M.init_params(arch, 8, k, h, seed=4)
        assert all(np.array_equal(p[n], again[n]) for n in p)
        assert not np.array_equal(p["W0"], other["W0"])


def test_apply_update_adds_in_float32_and_refuses_anything_that_does_not_fit():
    p = M.init_params("mlp", 4, 3, 5, seed=0)
    delta = {n: np.full(a.shape, 0.5, np.float32) for n, a in p.items()}
    merged = M.apply_update(p, delta)
    assert list(merged) == list(p)
    assert all(np.array_equal(merged[n], p[n] + np.float32(0.5)) and merged[n].dtype == np.float32 for n in p)

    wrong = dict(delta, W1=np.zeros((3, 5), np.float32))
    with pytest.raises(M.ModelError, match=r"'W1' has shape \(3, 5\), expected \(5, 3\)"):
        M.apply_update(p, wrong)
    with pytest.raises(M.ModelError, match="missing array 'b1'"):
        M.apply_update(p, {n: a for n, a in delta.items() if n != "b1"})
    with pytest.raises(M.ModelError, match="unexpected array 'W9'"):
        M.apply_update(p, dict(delta, W9=np.zeros(1, np.float32)))
    with pytest.raises(M.ModelError, match="dtype float64"):
        M.apply_update(p, dict(delta, b0=delta["b0"].astype(np.float64)))
    with pytest.raises(M.ModelError, match="NaN"):
        M.apply_update(p, dict(delta, b0=np.full(5, np.nan, np.float32)))
    big = {n: np.full(a.shape, 3e38, np.float32) for n, a in p.items()}
    with pytest.raises(M.ModelError, match="overflows"):
        M.apply_update(big, big)
    # the delta's values are checked through the sums: a NaN in a later array is still
    # named as a NaN of the update, not as the overflow of an earlier one
    with pytest.raises(M.ModelError, match="update array 'b1' has NaN or infinite values"):
        M.apply_update(big, dict(big, b1=np.full(3, np.inf, np.float32)))
    with pytest.raises(M.ModelError, match="update array 'W0' has NaN"):
        M.apply_update(p, dict(delta, W0=np.where(np.eye(4, 5, dtype=bool), np.nan, delta["W0"]).astype(np.float32)))
    with pytest.raises(ValueError):  # a ModelError is a ValueError and a FathomError
        M.apply_update(p, wrong)
    assert issubclass(M.ModelError, FathomError)


def test_check_update_against_a_manifest():
    man = M.make_manifest("softmax", 4, 3)
    M.check_update(man, {"W0": np.zeros((4, 3), np.float32), "b0": np.zeros(3, np.float32)})
    with pytest.raises(M.ModelError, match="'W0' has shape"):
        M.check_update(man, {"W0": np.zeros((3, 4), np.float32), "b0": np.zeros(3, np.float32)})


# ---------------------------------------------------------------------------------------
# Forward pass and metrics
# ---------------------------------------------------------------------------------------


def test_forward_gives_probabilities_and_predict_their_argmax(digits):
    X, y = digits
    for arch, k, h in ARCHS:
        man = M.make_manifest(arch, 64, k, h)
        p = M.init_params(arch, 64, k, h, seed=1)
        p = M.apply_update(p, random_deltas(p, 1, 0.3, 5)[0])
        P = M.forward(man, p, X[:100])
        assert P.shape == (100, k) and P.dtype == np.float32
        assert np.allclose(P.sum(axis=1), 1, atol=1e-5) and (P >= 0).all()
        assert np.array_equal(M.predict(man, p, X[:100]), P.argmax(axis=1))
    with pytest.raises(M.ModelError, match=r"shape \(n, 64\)"):
        M.forward(man, p, X[:, :10])


def test_metric_helpers_on_known_values():
    y = np.array([0, 1, 1, 0])
    P = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.5, 0.5]])
    assert M.accuracy(y, P) == 0.75 and M.accuracy(y, np.array([0, 1, 0, 0])) == 0.75
    assert M.log_loss(y, P) == pytest.approx(-np.mean(np.log([0.9, 0.8, 0.4, 0.5])))
    assert M.mse(y, P) == pytest.approx(np.mean([0.01, 0.04, 0.36, 0.25]))
    assert M.mse(y, P[:, 1]) == M.mse(y, P)  # binary: P(class 1) alone is the same
    assert M.mse(np.array([1.0, 2.0]), np.array([1.5, 2.0])) == pytest.approx(0.125)
    assert M.higher_is_better("accuracy") and not M.higher_is_better("log_loss") and not M.higher_is_better("mse")
    with pytest.raises(M.ModelError):
        M.higher_is_better("precision")  # (auc is a metric now: fathom/ml/metrics.py)


# ---------------------------------------------------------------------------------------
# Batched scoring
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("arch, k, h", ARCHS)
@pytest.mark.parametrize("metric", M.METRICS)
def test_score_many_equals_scoring_one_at_a_time_bit_for_bit(digits, arch, k, h, metric):
    X, y = digits[0][:700], digits[1][:700]
    y = labels_for(arch, y)
    man = M.make_manifest(arch, 64, k, h, metric=metric)
    head = M.init_params(arch, 64, k, h, seed=2)
    deltas = random_deltas(head, 37, 0.05, seed=7)  # more than one group of candidates
    batch = M.score_many(man, head, deltas, X, y)
    assert batch.dtype == np.float64 and batch.shape == (37,)
    one_by_one = np.array([M.score_many(man, head, [d], X, y)[0] for d in deltas])
    assert np.array_equal(batch, one_by_one)
    merged = [M.score(man, M.apply_update(head, d), X, y) for d in deltas[:5]]
    assert np.array_equal(batch[:5], merged)
    # Neither the order nor the company of a candidate changes its score.
    order = np.random.default_rng(1).permutation(37)
    assert np.array_equal(M.score_many(man, head, [deltas[i] for i in order], X, y), batch[order])
    # The same holds with another chunking, as long as it is the same on both sides.
    small = M.score_many(man, head, deltas[:9], X, y, chunk_rows=100)
    assert np.array_equal(small, [M.score_many(man, head, [d], X, y, chunk_rows=100)[0] for d in deltas[:9]])
    assert np.allclose(small, batch[:9], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("arch, k, h", ARCHS)
@pytest.mark.parametrize("metric", M.METRICS)
def test_score_many_matches_a_naive_float64_reference(digits, arch, k, h, metric):
    X, y = digits
    y = labels_for(arch, y)
    man = M.make_manifest(arch, 64, k, h, metric=metric)
    head = M.init_params(arch, 64, k, h, seed=2)
    deltas = random_deltas(head, 6, 0.2, seed=8)
    got = M.score_many(man, head, deltas, X, y)
    want = [naive_score(man, M.apply_update(head, d), X, y, metric) for d in deltas]
    if metric == "accuracy":  # only a row within rounding of a tie could flip
        assert np.abs(got - want).max() <= 1 / len(y)
    else:  # each row rounded to the metric's floating grid: within 2^-bits of it, or 2^-21
        assert np.allclose(got, want, rtol=2.0 ** -M.ROW_BITS[metric], atol=2.0**-21)


def test_scores_with_tanh_and_sigmoid_mlps_and_regression_match_the_reference(digits):
    X, y = digits
    cases = [
        ({"architecture": "mlp", "metric": "log_loss", "layers": [[64, 12], [12, 7], [7, 10]], "activation": "tanh"}, y),
        ({"architecture": "mlp", "metric": "log_loss", "layers": [[64, 12], [12, 1]], "activation": "relu"}, y % 2),
        ({"architecture": "mlp", "metric": "mse", "layers": [[64, 12], [12, 1]], "activation": "relu"}, (y / 9.0).astype(np.float32)),
    ]
    for man, target in cases:
        head = M.init_model(man, seed=4)
        deltas = random_deltas(head, 5, 0.1, seed=9)
        got = M.score_many(man, head, deltas, X, target)
        assert np.array_equal(got, [M.score(man, M.apply_update(head, d), X, target) for d in deltas])
        assert np.allclose(got, [naive_score(man, M.apply_update(head, d), X, target, man["metric"]) for d in deltas],
                           rtol=2.0 ** -M.ROW_BITS[man["metric"]], atol=2.0**-21)  # the floating grid's rounding


def test_repeated_scoring_is_bit_identical_in_the_performance_shape():
    # The shape of the benchmark (784 features, 10 classes), with fewer rows.
    rng = np.random.default_rng(11)
    X = rng.random((1500, 784), dtype=np.float32)
    y = rng.integers(0, 10, 1500)
    man = M.make_manifest("softmax", 784, 10, metric="log_loss")
    head = M.init_params("softmax", 784, 10, seed=0)
    deltas = random_deltas(head, 33, 0.02, seed=12)
    first = M.score_many(man, head, deltas, X, y)
    for _ in range(2):
        assert np.array_equal(M.score_many(man, head, deltas, X, y), first)
    assert np.array_equal(first[[0, 31, 32]], [M.score_many(man, head, [deltas[i]], X, y)[0] for i in (0, 31, 32)])


@pytest.mark.parametrize("workers", [2, 3])
def test_scoring_on_several_threads_gives_the_same_bits_as_one(workers):
    # Row chunks and groups scored side by side, each GEMM on one BLAS thread (as the
    # oracle does): the sums are still added in row-chunk order, so the bits agree.
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(5)
    X = rng.random((2300, 784), dtype=np.float32)
    y = rng.integers(0, 10, 2300)
    for metric in ("log_loss", "accuracy"):
        man = M.make_manifest("softmax", 784, 10, metric=metric)
        head = M.init_params("softmax", 784, 10, seed=0)
        deltas = random_deltas(head, 40, 0.02, seed=13)  # two groups of candidates
        with threadpool_limits(limits=1, user_api="blas"):
            one = M.score_many(man, head, deltas, X, y, chunk_rows=500)
            many = M.score_many(man, head, deltas, X, y, chunk_rows=500, workers=workers)
            single = M.score(man, M.apply_update(head, deltas[3]), X, y, chunk_rows=500, workers=workers)
            alone = M.score_many(man, head, [deltas[3]], X, y, chunk_rows=500)[0]
        assert np.array_equal(one, many)
        assert single == alone == one[3]
    with pytest.raises(M.ModelError, match="workers"):
        M.score_many(man, head, deltas, X, y, workers=0)


def test_a_candidate_with_non_finite_outputs_scores_nan_and_leaves_the_others_alone(digits):
    X, y = digits
    man = M.make_manifest("softmax", 64, 10, metric="log_loss")
    head = M.init_params("softmax", 64, 10, seed=0)
    deltas = random_deltas(head, 3, 0.1, seed=1)
    huge = {"W0": np.full((64, 10), 3e37, np.float32), "b0": np.zeros(10, np.float32)}  # finite, but X @ W overflows
    for metric in M.METRICS:
        got = M.score_many(man, head, [deltas[0], huge, deltas[1]], X, y, metric)
        assert np.isnan(got[1]) and not np.isnan(got[[0, 2]]).any()
        assert np.array_equal(got[[0, 2]], M.score_many(man, head, [deltas[0], deltas[1]], X, y, metric))


def test_accuracy_gives_an_exact_tie_to_the_first_class_alone_or_in_a_batch(digits):
    X, y = digits
    man = M.make_manifest("softmax", 64, 10, metric="accuracy")
    zero = {"W0": np.zeros((64, 10), np.float32), "b0": np.zeros(10, np.float32)}
    tie = {"W0": np.zeros((64, 10), np.float32), "b0": np.array([0, 3, 1, 3, 2, 3, 0, 0, 0, 0], np.float32)}
    tie["W0"][:, 4] = 0.0625  # unit 4 = ink / 16 + 2, exact in float32: beats, ties or loses to 3
    logits = X.astype(np.float64) @ tie["W0"] + tie["b0"]  # exact too
    first = logits.argmax(axis=1)
    last = 9 - logits[:, ::-1].argmax(axis=1)
    assert (first == 4).any() and (first == 1).any() and (first != last).any()
    want = float(np.mean(first == y))
    assert want != float(np.mean(last == y))
    others = random_deltas(zero, 3, 0.1, seed=3)
    got = M.score_many(man, zero, [others[0], tie, others[1], others[2]], X, y)
    assert got[1] == want
    assert np.array_equal(got, [M.score_many(man, zero, [d], X, y)[0] for d in [others[0], tie, others[1], others[2]]])


@pytest.mark.parametrize("metric", M.METRICS)
def test_a_nan_or_minus_inf_logit_makes_the_candidate_score_nan_alone_or_in_a_batch(digits, metric):
    X, y = digits
    # softmax: unit 2 at -inf on every row (the row maximum stays finite, and so would log loss)
    man = M.make_manifest("softmax", 64, 10, metric=metric)
    zero = {"W0": np.zeros((64, 10), np.float32), "b0": np.zeros(10, np.float32)}
    minus_inf = {"W0": np.zeros((64, 10), np.float32), "b0": np.zeros(10, np.float32)}
    minus_inf["W0"][:, 2] = -3e38
    # mlp: hidden unit 0 overflows to +inf, and inf * 0 gives NaN logits
    mlp = M.make_manifest("mlp", 64, 10, 16, metric=metric)
    mzero = {k: np.zeros_like(v) for k, v in M.init_params("mlp", 64, 10, 16).items()}
    nan = {k: v.copy() for k, v in mzero.items()}
    nan["W0"][:, 0] = 3e38
    nan["W1"][0, 1:] = 1.0
    with np.errstate(over="ignore", invalid="ignore"):
        L, H = M.logits(man, minus_inf, X), M.logits(mlp, nan, X)
    assert np.isneginf(L[:, 2]).all() and np.isfinite(L.max(axis=1)).all() and np.isnan(H).any()
    for man_, base, bad in ((man, zero, minus_inf), (mlp, mzero, nan)):
        good = random_deltas(base, 3, 0.1, seed=4)
        batch = [good[0], bad, good[1], good[2]]
        got = M.score_many(man_, base, batch, X, y)
        assert np.isnan(got[1]) and not np.isnan(got[[0, 2, 3]]).any()
        alone = [M.score_many(man_, base, [d], X, y)[0] for d in batch]
        assert np.array_equal(got, alone, equal_nan=True)
        assert np.array_equal(got[[0, 2, 3]], M.score_many(man_, base, [good[0], good[1], good[2]], X, y))


def test_an_update_that_does_not_fit_raises_with_its_index_or_scores_nan(digits):
    X, y = digits
    man = M.make_manifest("softmax", 64, 10)
    head = M.init_params("softmax", 64, 10, seed=0)
    good = random_deltas(head, 2, 0.1, seed=1)
    bad = {"W0": np.zeros((10, 64), np.float32), "b0": np.zeros(10, np.float32)}
    with pytest.raises(M.ModelError, match=r"candidate 1: update array 'W0' has shape \(10, 64\)"):
        M.score_many(man, head, [good[0], bad, good[1]], X, y)
    got = M.score_many(man, head, [good[0], bad, good[1]], X, y, invalid="nan")
    assert np.isnan(got[1]) and np.array_equal(got[[0, 2]], M.score_many(man, head, good, X, y))
    assert M.score_many(man, head, [], X, y).shape == (0,)


def test_bad_validation_data_is_refused(digits):
    X, y = digits
    man = M.make_manifest("softmax", 64, 10)
    head = M.init_params("softmax", 64, 10, seed=0)
    with pytest.raises(M.ModelError, match=r"labels must lie in \[0, 9\]"):
        M.score(man, head, X, y + 1)
    with pytest.raises(M.ModelError, match="NaN"):
        M.score(man, head, np.where(X > 0.5, np.nan, X), y)
    with pytest.raises(M.ModelError, match="shape"):
        M.score(man, head, X, y[:-1])
    with pytest.raises(M.ModelError, match="regression"):
        M.score({"architecture": "mlp", "metric": "mse", "layers": [[64, 4], [4, 1]], "activation": "relu"}, M.init_model({"architecture": "mlp", "metric": "mse", "layers": [[64, 4], [4, 1]], "activation": "relu"}), X, y, "accuracy")


# ---------------------------------------------------------------------------------------
# Early rejection
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def screening_case(digits):
    """A trained head, candidates that improve it a little, and broken ones."""
    X, y = digits
    Xtr, ytr, Xva, yva = X[:1000], y[:1000], X[1000:], y[1000:]
    man = M.make_manifest("softmax", 64, 10)
    head = train(man, M.init_params("softmax", 64, 10, seed=0), Xtr, ytr, lr=0.5, epochs=8, batch_size=64, seed=0)
    deltas = []
    for seed in range(12):  # more training from the head: mostly better, some not
        more = train(man, head, Xtr, ytr, lr=0.05 * (1 + seed % 4), epochs=1, batch_size=32 + 16 * (seed % 3), seed=seed)
        deltas.append({n: more[n] - head[n] for n in head})
    deltas += random_deltas(head, 8, 1.0, seed=99)  # garbage
    deltas += random_deltas(head, 6, 0.004, seed=98)  # tiny nudges: within noise of the head
    return man, head, deltas, Xva, yva


@pytest.mark.parametrize("metric", M.METRICS)
def test_bound_screening_never_rejects_a_candidate_that_would_be_accepted(screening_case, metric):
    man, head, deltas, X, y = screening_case
    head_score = M.score(man, head, X, y, metric)
    full = M.score_many(man, head, deltas, X, y, metric)
    better = full > head_score if M.higher_is_better(metric) else full < head_score
    assert better.any() and (~better).sum() >= 8  # the case is not trivial
    for rows in (50, 200, 500):
        kept = M.screen(man, head, deltas, X, y, metric, head_score, sample_rows=rows)
        assert kept[better].all()
    kept = M.screen(man, head, deltas, X, y, metric, head_score, sample_rows=200)
    assert not kept[12:20].any()  # the garbage is thrown out after 200 of ~800 rows
    scores, kept2 = M.score_screened(man, head, deltas, X, y, metric, head_score, sample_rows=200)
    assert np.array_equal(kept2, kept)
    assert np.array_equal(scores[kept], full[kept]) and np.isnan(scores[~kept]).all()


def test_estimate_screening_with_a_margin_keeps_the_winners_in_a_constructed_case(screening_case):
    man, head, deltas, X, y = screening_case
    head_score = M.score(man, head, X, y, "log_loss")
    full = M.score_many(man, head, deltas, X, y, "log_loss")
    kept = M.screen(man, head, deltas, X, y, "log_loss", head_score, mode="estimate", margin=0.05, sample_rows=300)
    assert kept[full < head_score].all()
    assert not kept[12:20].any()
    # Without a margin the estimate is allowed to be wrong; it is never more lenient.
    strict = M.screen(man, head, deltas, X, y, "log_loss", head_score, mode="estimate", margin=0.0, sample_rows=300)
    assert not (strict & ~kept).any()
    with pytest.raises(M.ModelError, match="mode"):
        M.screen(man, head, deltas, X, y, "log_loss", head_score, mode="guess")

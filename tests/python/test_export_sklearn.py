"""Models in: an initial model fitted in scikit-learn (fathom/ml/interop.py) gives the
same predictions in Fathom; a Pipeline's StandardScaler becomes the feature schema."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fathom.ml import models
from fathom.ml.interop import from_sklearn
from fathom.ml.models import ModelError
from fathom.ml.schema import schema_of


@pytest.fixture(autouse=True)
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of a few MLP iterations
        yield


def test_logistic_regression_binary_and_multiclass_predict_the_same():
    X, y = load_breast_cancer(return_X_y=True)
    Xs = StandardScaler().fit_transform(X)
    est = LogisticRegression(max_iter=500).fit(Xs, y)
    manifest, params = from_sklearn(est)
    assert manifest["architecture"] == "logistic"
    np.testing.assert_array_equal(models.predict(manifest, params, Xs), est.predict(Xs))
    np.testing.assert_allclose(models.forward(manifest, params, Xs), est.predict_proba(Xs), atol=1e-5)
    Xi, yi = load_iris(return_X_y=True)
    est = LogisticRegression(max_iter=500).fit(Xi, yi)
    manifest, params = from_sklearn(est)
    assert manifest["architecture"] == "softmax" and manifest["layers"] == [[4, 3]]
    np.testing.assert_allclose(models.forward(manifest, params, Xi), est.predict_proba(Xi), atol=1e-5)


def test_mlps_and_linear_regression_predict_the_same():
    Xi, yi = load_iris(return_X_y=True)
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=50, random_state=0).fit(Xi, yi)
    manifest, params = from_sklearn(clf)
    np.testing.assert_allclose(models.forward(manifest, params, Xi), clf.predict_proba(Xi), atol=1e-5)
    Xd, yd = load_diabetes(return_X_y=True)
    reg = MLPRegressor(hidden_layer_sizes=(6,), activation="tanh", max_iter=50, random_state=0).fit(Xd, yd)
    manifest, params = from_sklearn(reg)
    assert manifest["metric"] == "mse" and models.model_spec(manifest).regression
    np.testing.assert_allclose(models.forward(manifest, params, Xd), reg.predict(Xd), rtol=1e-4, atol=1e-3)
    lin = LinearRegression().fit(Xd, yd)
    manifest, params = from_sklearn(lin)
    assert manifest["layers"] == [[10, 20], [20, 1]]  # x = relu(x) - relu(-x), exactly
    np.testing.assert_allclose(models.forward(manifest, params, Xd), lin.predict(Xd), rtol=1e-5, atol=1e-3)


def test_a_pipelines_scaler_becomes_the_schema_so_the_model_takes_raw_values():
    data = load_breast_cancer()
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(data.data, data.target)
    names = [str(n) for n in data.feature_names]
    manifest, params = from_sklearn(pipe, names=names, descriptions={"mean radius": "mean radius of the nuclei"}, label="diagnosis")
    schema = schema_of(manifest)
    assert schema.names == names and schema.features[0].description == "mean radius of the nuclei"
    assert schema.label.classes == ("0", "1")
    X = schema.transform({n: data.data[:, i] for i, n in enumerate(names)})
    np.testing.assert_array_equal(models.predict(manifest, params, X), pipe.predict(data.data))
    with pytest.raises(ModelError, match="give the features' names"):
        from_sklearn(pipe)
    with pytest.raises(ModelError, match="not fitted"):
        from_sklearn(LogisticRegression())

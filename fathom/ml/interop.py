"""Models in: an initial model fitted in scikit-learn, in the user's own session.

`from_sklearn(estimator)` gives the manifest and float32 parameters of the same model in
Fathom's architectures (nothing is pickled, nothing of scikit-learn runs later):

- ``LogisticRegression``: two classes -> ``logistic`` ``[d, 1]`` (``W0 = coef_.T``);
  more -> ``softmax`` ``[d, k]`` (the multinomial logits; with ``multi_class="ovr"`` the
  predicted classes are the same, the probabilities are not);
- ``MLPClassifier`` / ``MLPRegressor`` with ReLU or tanh: ``mlp`` with the same layers
  (a binary classifier keeps its one sigmoid output; a regressor gets metric ``mse``);
- ``LinearRegression`` (one target): Fathom has no one-layer regression, so it becomes
  an exact two-layer ``mlp``: ``x = relu(x) - relu(-x)`` (``W0 = [I, -I]``), then
  ``W1 = [coef; -coef]``; the same predictions up to float32 rounding.
- a ``Pipeline`` of a ``StandardScaler`` and one of those: the scaler's ``mean_`` and
  ``scale_`` become the centre and scale of the feature schema (numeric features named
  by ``names``, described by ``descriptions``), so the model takes raw values.

Classes are taken in ``estimator.classes_`` order (label i is ``classes_[i]``).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from fathom.ml.models import ModelError, check_params, model_spec
from fathom.ml.schema import Feature, FeatureSchema, Label

__all__ = ["from_sklearn"]


def _f32(a: Any) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a, dtype=np.float64).astype(np.float32))


def _core(est: Any, metric: str | None) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    kind = type(est).__name__
    if not hasattr(est, "coef_") and not hasattr(est, "coefs_"):
        raise ModelError(f"{kind} is not fitted (or not one of LogisticRegression, MLPClassifier, MLPRegressor, LinearRegression)")
    if kind == "LogisticRegression":
        coef, icpt = np.atleast_2d(est.coef_), np.atleast_1d(est.intercept_)
        if coef.shape[0] == 1:
            manifest = {"architecture": "logistic", "dtype": "float32", "metric": metric or "accuracy", "layers": [[coef.shape[1], 1]]}
        else:
            manifest = {"architecture": "softmax", "dtype": "float32", "metric": metric or "accuracy", "layers": [[coef.shape[1], coef.shape[0]]]}
        return manifest, {"W0": _f32(coef.T), "b0": _f32(icpt)}
    if kind in ("MLPClassifier", "MLPRegressor"):
        if est.activation not in ("relu", "tanh"):
            raise ModelError(f"{kind} with activation {est.activation!r}: Fathom's mlp has relu or tanh")
        regression = kind == "MLPRegressor"
        want = ("identity",) if regression else (("logistic",) if est.coefs_[-1].shape[1] == 1 else ("softmax",))
        if getattr(est, "out_activation_", want[0]) not in want:
            raise ModelError(f"{kind} with output {est.out_activation_!r} (multi-label or poisson) has no Fathom architecture")
        if regression and est.coefs_[-1].shape[1] != 1:
            raise ModelError("an MLPRegressor with several targets has no Fathom architecture (one linear output)")
        layers = [[int(W.shape[0]), int(W.shape[1])] for W in est.coefs_]
        manifest = {"architecture": "mlp", "dtype": "float32", "metric": "mse" if regression else (metric or "accuracy"),
                    "layers": layers, "activation": est.activation}
        params = {}
        for i, (W, b) in enumerate(zip(est.coefs_, est.intercepts_)):
            params[f"W{i}"], params[f"b{i}"] = _f32(W), _f32(b)
        return manifest, params
    if kind == "LinearRegression":
        coef = np.asarray(est.coef_, dtype=np.float64)
        if coef.ndim != 1:
            raise ModelError("a LinearRegression with several targets has no Fathom architecture (one linear output)")
        d = coef.shape[0]
        eye = np.eye(d)
        manifest = {"architecture": "mlp", "dtype": "float32", "metric": "mse", "layers": [[d, 2 * d], [2 * d, 1]], "activation": "relu"}
        return manifest, {"W0": _f32(np.hstack([eye, -eye])), "b0": np.zeros(2 * d, dtype=np.float32),
                          "W1": _f32(np.concatenate([coef, -coef]).reshape(-1, 1)), "b1": _f32([float(est.intercept_)])}
    raise ModelError(f"{kind}: from_sklearn takes LogisticRegression, MLPClassifier, MLPRegressor or LinearRegression")


def from_sklearn(estimator: Any, *, names: Sequence[str] | None = None, descriptions: Mapping[str, str] | None = None,
                 units: Mapping[str, str] | None = None, label: str = "label", metric: str | None = None
                 ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The manifest (with a feature schema when ``names`` are given) and parameters of a
    fitted scikit-learn model; see the module docstring for what maps to what."""
    steps = list(getattr(estimator, "steps", []))
    scaler = None
    if steps:
        if len(steps) != 2 or type(steps[0][1]).__name__ != "StandardScaler":
            raise ModelError("a Pipeline is taken only as StandardScaler followed by the model")
        scaler, estimator = steps[0][1], steps[1][1]
    manifest, params = _core(estimator, metric)
    d = manifest["layers"][0][0]
    if names is not None:
        if len(names) != d:
            raise ModelError(f"{len(names)} feature names for a model of {d} inputs")
        centre = np.zeros(d) if scaler is None or getattr(scaler, "mean_", None) is None else np.asarray(scaler.mean_)
        scale = np.ones(d) if scaler is None or getattr(scaler, "scale_", None) is None else np.asarray(scaler.scale_)
        classes = getattr(estimator, "classes_", None)
        schema = FeatureSchema(
            tuple(Feature(n, (descriptions or {}).get(n, ""), "numeric", (units or {}).get(n, ""), float(c), float(s))
                  for n, c, s in zip(names, centre, scale)),
            Label(label, "", tuple(str(c) for c in classes) if classes is not None else ()))
        manifest["features"] = schema.to_json()
    elif scaler is not None:
        raise ModelError("a StandardScaler's constants go into the feature schema: give the features' names")
    spec = model_spec(manifest)
    check_params(spec, params)
    return manifest, params

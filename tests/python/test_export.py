"""Models out (fathom/ml/onnx.py): one ONNX graph holding the schema's preprocessing and
the model, run with onnxruntime against Fathom's own forward pass; safetensors weights."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest

from fathom.ml import models, training
from fathom.ml.onnx import ExportError, from_safetensors, to_onnx, to_safetensors
from fathom.ml.schema import Feature, FeatureSchema

from tables_helpers import breast_cancer, bounty_schema


def run_onnx(blob: bytes, features: np.ndarray) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {"features": features})))


@pytest.fixture(scope="module")
def cancer_model():
    names, X, y = breast_cancer()
    schema = bounty_schema(X[:400])
    manifest = models.make_manifest("logistic", schema.width, 2, metric="log_loss")
    manifest["features"] = schema.to_json()
    train = schema.transform({n: X[:400, i] for i, n in enumerate(names)})
    params = training.train(manifest, models.init_model(manifest, seed=0), train, y[:400], lr=0.1, epochs=5, batch_size=32, seed=0)
    return names, X, y, schema, manifest, params


def test_the_exported_graph_reproduces_fathoms_predictions_on_the_validation_set(cancer_model):
    names, X, y, schema, manifest, params = cancer_model
    raw = {n: X[400:, i] for i, n in enumerate(names)}
    raw[names[3]] = raw[names[3]].copy()
    raw[names[3]][5] = np.nan  # a missing value: imputed by the graph as by the schema
    out = run_onnx(to_onnx(manifest, params), schema.raw(raw))
    want = models.forward(manifest, params, schema.transform(raw))
    assert out["probabilities"].shape == want.shape == (len(X) - 400, 2)
    np.testing.assert_allclose(out["probabilities"], want, rtol=1e-5, atol=1e-6)  # float32 rounding
    np.testing.assert_array_equal(out["label"], models.predict(manifest, params, schema.transform(raw)))
    assert models.accuracy(y[400:], out["label"]) > 0.9  # and it is a real model


@pytest.mark.parametrize("layers,activation,metric", [([[5, 7], [7, 3]], "relu", "accuracy"), ([[5, 4], [4, 1]], "tanh", "mse"),
                                                      ([[5, 3]], None, "log_loss")])
def test_every_architecture_with_categorical_inputs_matches_in_onnxruntime(layers, activation, metric):
    schema = FeatureSchema((Feature("age", "", "numeric", "years", 40, 12), Feature("colour", "", "categorical", categories=("red", "green", "blue")),
                            Feature("weight", "", "numeric", "kg", 70, 9, missing="centre")))
    arch = "softmax" if len(layers) == 1 else "mlp"
    manifest = {"architecture": arch, "dtype": "float32", "metric": metric, "layers": layers, "features": schema.to_json()}
    if activation:
        manifest["activation"] = activation
    rng = np.random.default_rng(1)
    params = {k: rng.normal(0, 0.5, v).astype(np.float32) for k, v in models.param_shapes(manifest).items()}
    raw = {"age": rng.normal(40, 12, 200), "colour": rng.choice(["red", "green", "blue", None], 200).tolist(), "weight": rng.normal(70, 9, 200)}
    raw["weight"][3] = np.nan
    out = run_onnx(to_onnx(manifest, params), schema.raw(raw))
    X = schema.transform(raw)
    if metric == "mse":
        np.testing.assert_allclose(out["prediction"], models.forward(manifest, params, X), rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_allclose(out["probabilities"], models.forward(manifest, params, X), rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(out["label"], models.predict(manifest, params, X))


def test_without_a_schema_the_graph_takes_the_model_inputs_and_carries_the_manifest():
    manifest = models.make_manifest("softmax", 4, 3)
    params = models.init_model(manifest, seed=3)
    X = np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32)
    blob = to_onnx(manifest, params)
    np.testing.assert_allclose(run_onnx(blob, X)["probabilities"], models.forward(manifest, params, X), rtol=1e-5, atol=1e-6)
    meta = ort.InferenceSession(blob, providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map
    assert json.loads(meta["fathom_manifest"]) == manifest


def test_safetensors_round_trip_the_weights_and_the_manifest(cancer_model):
    *_, manifest, params = cancer_model
    blob = to_safetensors(manifest, params)
    back_manifest, back = from_safetensors(blob)
    assert back_manifest == manifest and set(back) == set(params)
    for k in params:
        np.testing.assert_array_equal(back[k], params[k])
    from safetensors.numpy import load

    assert set(load(blob)) == {"W0", "b0"}  # any safetensors reader loads it, no Fathom needed


def test_a_file_that_is_not_a_fathom_safetensors_is_refused():
    from safetensors.numpy import save

    with pytest.raises(ExportError, match="not a Fathom safetensors file"):
        from_safetensors(save({"W0": np.zeros((2, 2), dtype=np.float32)}))
    with pytest.raises(ExportError, match="not a Fathom safetensors file"):
        from_safetensors(b"\xff" * 16)


def test_a_model_comes_back_in_from_its_onnx_or_safetensors_file(cancer_model, tmp_path):
    """`fathom bounty open --model model.onnx|model.safetensors` reads the same manifest and
    weights back (e.g. an initial model fitted in scikit-learn and exported)."""
    from fathom.cli.export import load_model
    from fathom.ml.onnx import from_onnx

    *_, manifest, params = cancer_model
    (tmp_path / "m.onnx").write_bytes(to_onnx(manifest, params))
    (tmp_path / "m.safetensors").write_bytes(to_safetensors(manifest, params))
    for name in ("m.onnx", "m.safetensors"):
        back_manifest, back, _ = load_model(tmp_path / name)
        assert back_manifest == manifest
        for k in params:
            np.testing.assert_array_equal(back[k], params[k])
    import onnx
    from onnx import TensorProto, helper

    foreign = helper.make_model(helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])]))
    with pytest.raises(ExportError, match="not an ONNX model exported by Fathom"):
        from_onnx(foreign.SerializeToString())
    assert onnx.checker.check_model(foreign) is None

"""Models out of Fathom: one ONNX graph (preprocessing + model), or safetensors weights.

`to_onnx` turns a manifest and its float32 parameters into an ONNX model (opset 17,
built with the ``onnx`` package, imported here lazily: nothing else in Fathom needs it)
that any ONNX runtime runs without Fathom:

- input ``features``: float32 ``(n, F)``. With a feature schema (`fathom.ml.schema`),
  F is the number of schema features, in schema order, raw: numbers in the feature's
  unit (NaN where missing), and a categorical feature as the *index* of its category
  (NaN, or an index that is not a category, is all zeros): `FeatureSchema.raw` builds
  it from a table's values. Without one, F is the model's
  input width and the values are the model's inputs.
- preprocessing, per feature, as `FeatureSchema.transform` does in float32: a missing
  number becomes the centre when the schema says ``"centre"`` (with ``"refuse"`` a NaN
  flows through to NaN outputs: the graph cannot raise), then ``(x - centre) / scale``;
  one-hot inputs by comparing the index with 0..K-1;
- the dense layers (MatMul + Add, ReLU or Tanh between them);
- outputs: ``probabilities`` float32 ``(n, k)`` and ``label`` int64 ``(n,)`` for a
  classifier (a sigmoid model gives ``[1 - p, p]`` and label ``logit >= 0``), or
  ``prediction`` float32 ``(n,)`` for a regression model.

The manifest (with its schema) rides along in the model's metadata (``fathom_manifest``).
`tests/python/test_export.py` runs the graph with onnxruntime and compares it with
`fathom.ml.models.forward` on a validation set.

`to_safetensors` writes the parameters ``W0, b0, ...`` as a safetensors file, the format
that loads without running code, with the manifest in its string metadata.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

import numpy as np

from fathom.errors import FathomError
from fathom.ml.models import ModelSpec, check_params, model_spec
from fathom.ml.schema import schema_of

__all__ = ["OPSET", "ExportError", "to_onnx", "from_onnx", "to_safetensors", "from_safetensors"]

OPSET = 17
_IR_VERSION = 8  # the IR of opset 17: runtimes from onnxruntime 1.11 on load it


class ExportError(FathomError):
    """The export format's library is missing, or the model cannot be written in it."""


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ExportError("ONNX export needs the onnx package: run `make setup` (requirements.txt pins it)") from None
    return onnx


def to_onnx(manifest: Mapping[str, Any], params: Mapping[str, np.ndarray], *, name: str = "fathom") -> bytes:
    """The serialised ONNX model of the preprocessing (if the manifest has a schema) and the model."""
    onnx = _onnx()
    from onnx import TensorProto, helper, numpy_helper

    spec: ModelSpec = model_spec(manifest)
    p = check_params(spec, params)
    schema = schema_of(manifest)
    nodes: list[Any] = []
    inits: list[Any] = []

    def const(label: str, value: Any, dtype: Any = np.float32) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), label))
        return label

    def node(op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [output], **attrs))
        return output

    width_in = len(schema.features) if schema is not None else spec.d
    x = "features"
    if schema is not None:
        parts = []
        for j, f in enumerate(schema.features):
            col = node("Slice", [x, const(f"start{j}", [j], np.int64), const(f"end{j}", [j + 1], np.int64), const(f"axis{j}", [1], np.int64)],
                       f"col{j}")
            if f.type == "numeric":
                if f.missing == "centre":
                    col = node("Where", [node("IsNaN", [col], f"nan{j}"), const(f"fill{j}", f.centre), col], f"filled{j}")
                shifted = node("Sub", [col, const(f"centre{j}", f.centre)], f"shifted{j}")
                parts.append(node("Div", [shifted, const(f"scale{j}", f.scale)], f"scaled{j}"))
            else:
                codes = const(f"codes{j}", np.arange(len(f.categories), dtype=np.float32).reshape(1, -1))
                parts.append(node("Cast", [node("Equal", [col, codes], f"hit{j}")], f"onehot{j}", to=TensorProto.FLOAT))
        x = node("Concat", parts, "inputs", axis=1) if len(parts) > 1 else node("Identity", parts, "inputs")

    last = len(spec.layers) - 1
    for i in range(last + 1):
        x = node("Add", [node("MatMul", [x, const(f"W{i}", p[f"W{i}"])], f"matmul{i}"), const(f"b{i}", p[f"b{i}"])], f"dense{i}")
        if i < last:
            x = node("Relu" if spec.activation == "relu" else "Tanh", [x], f"hidden{i}")

    n = "n"
    if spec.output == "linear":
        node("Squeeze", [x, const("squeeze_axes", [1], np.int64)], "prediction")
        outputs = [helper.make_tensor_value_info("prediction", TensorProto.FLOAT, [n])]
    else:
        if spec.output == "sigmoid":
            prob1 = node("Sigmoid", [x], "p1")
            node("Concat", [node("Sub", [const("one", [[1.0]]), prob1], "p0"), prob1], "probabilities", axis=1)
            positive = node("GreaterOrEqual", [x, const("zero", [[0.0]])], "positive")
            node("Squeeze", [node("Cast", [positive], "label2d", to=TensorProto.INT64), const("squeeze_axes", [1], np.int64)], "label")
        else:
            node("Softmax", [x], "probabilities", axis=1)
            node("ArgMax", [x], "label", axis=1, keepdims=0, select_last_index=0)
        outputs = [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [n, spec.k]),
                   helper.make_tensor_value_info("label", TensorProto.INT64, [n])]

    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("features", TensorProto.FLOAT, [n, width_in])], outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="fathom", ir_version=_IR_VERSION)
    helper.set_model_props(model, {"fathom_manifest": json.dumps(dict(manifest), sort_keys=True, separators=(",", ":"))})
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as exc:  # onnx raises its own ValidationError / InferenceError
        raise ExportError(f"the ONNX graph does not check: {exc}") from None
    return model.SerializeToString()


def to_safetensors(manifest: Mapping[str, Any], params: Mapping[str, np.ndarray]) -> bytes:
    """The parameters as safetensors bytes, with the manifest (and schema) as metadata."""
    try:
        from safetensors.numpy import save
    except ImportError:
        raise ExportError("safetensors export needs the safetensors package: run `make setup`") from None
    p = check_params(model_spec(manifest), params)
    return save({k: np.ascontiguousarray(v) for k, v in p.items()},
                metadata={"fathom_manifest": json.dumps(dict(manifest), sort_keys=True, separators=(",", ":")), "format": "fathom"})


def from_safetensors(data: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The manifest and parameters of a file `to_safetensors` wrote (no code runs)."""
    try:
        from safetensors import safe_open  # noqa: F401 - the package must be there
        from safetensors.numpy import load
    except ImportError:
        raise ExportError("reading safetensors needs the safetensors package: run `make setup`") from None
    import struct

    try:
        (size,) = struct.unpack_from("<Q", data, 0)
        header = json.loads(data[8 : 8 + size])
        manifest = json.loads(header["__metadata__"]["fathom_manifest"])
        params = {k: v for k, v in load(bytes(data)).items()}
    except Exception as exc:  # malformed file: safetensors raises its own errors
        raise ExportError(f"not a Fathom safetensors file: {exc}") from None
    check_params(model_spec(manifest), params)
    return manifest, params


def from_onnx(data: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The manifest and parameters of a graph `to_onnx` wrote: the manifest from its
    metadata, ``W{i}``/``b{i}`` from its initializers (nothing in the graph runs)."""
    onnx = _onnx()
    from onnx import numpy_helper

    try:
        model = onnx.load_model_from_string(data)
        manifest = json.loads({p.key: p.value for p in model.metadata_props}["fathom_manifest"])
        spec = model_spec(manifest)
        wanted = {f"{w}{i}" for i in range(len(spec.layers)) for w in ("W", "b")}
        params = {t.name: numpy_helper.to_array(t).astype(np.float32) for t in model.graph.initializer if t.name in wanted}
    except Exception as exc:  # protobuf DecodeError, KeyError, JSON errors: not one of ours
        raise ExportError(f"not an ONNX model exported by Fathom (no fathom_manifest, or unreadable): {exc}") from None
    check_params(spec, params)
    return manifest, params

"""Rule F1: models, updates and validation sets as data (fathom.ml.artefacts)."""

from __future__ import annotations

import io
import json
import pickle
import struct
import tracemalloc

import numpy as np
import pytest

from fathom.ml import artefacts
from fathom.crypto import envelope as crypto
from fathom.ml.artefacts import (
    ArtefactError,
    ArtefactFormatError,
    ArtefactSchemaError,
    ArtefactTooLarge,
    ArtefactUnsafe,
    Limits,
)
from fathom.errors import FathomError

KIND = {"model": 1, "update": 2, "validation": 3}
PACK = {"model": artefacts.pack_model, "update": artefacts.pack_update, "validation": artefacts.pack_validation}
UNPACK = {"model": artefacts.unpack_model, "update": artefacts.unpack_update, "validation": artefacts.unpack_validation}


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=array.dtype.hasobject)
    return buffer.getvalue()


def raw_container(kind: str, manifest, blobs: dict[str, bytes], *, order=None, manifest_bytes=None) -> bytes:
    """A container built from the documented layout, without any validation."""
    manifest_bytes = manifest_bytes if manifest_bytes is not None else json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    names = order or sorted(blobs)
    version = artefacts.container_version(manifest) if isinstance(manifest, dict) else 1
    out = struct.pack(">4sBBHII", b"FTHA", version, KIND[kind], 0, len(manifest_bytes), len(names))
    offset = 0
    for name in names:
        out += struct.pack(">H", len(name)) + name.encode() + struct.pack(">QQ", offset, len(blobs[name]))
        offset += len(blobs[name])
    return out + manifest_bytes + b"".join(blobs[n] for n in names)


def mlp():
    rng = np.random.default_rng(1)
    manifest = {"architecture": "mlp", "dtype": "float32", "metric": "accuracy", "layers": [[4, 8], [8, 3]], "activation": "relu", "metadata": {"name": "digits", "lr": 0.1}}
    arrays = {
        "W0": rng.standard_normal((4, 8)).astype(np.float32),
        "b0": rng.standard_normal(8).astype(np.float32),
        "W1": rng.standard_normal((8, 3)).astype(np.float32),
        "b1": rng.standard_normal(3).astype(np.float32),
    }
    return manifest, arrays


def logistic():
    return {"architecture": "logistic", "dtype": "float32", "metric": "log_loss", "layers": [[5, 1]]}, {
        "W0": np.arange(5, dtype=np.float32).reshape(5, 1),
        "b0": np.zeros(1, np.float32),
    }


def softmax():
    return {"architecture": "softmax", "dtype": "float32", "metric": "accuracy", "layers": [[3, 4]]}, {
        "W0": np.ones((3, 4), np.float32),
        "b0": np.zeros(4, np.float32),
    }


def validation(n=10, d=4, k=3):
    rng = np.random.default_rng(2)
    return {"task": "classification", "n_classes": k}, {"X": rng.standard_normal((n, d)).astype(np.float32), "y": (np.arange(n) % k).astype(np.int64)}


# --- round trips and determinism -------------------------------------------------------


@pytest.mark.parametrize("build", [mlp, logistic, softmax], ids=["mlp", "logistic", "softmax"])
def test_a_model_round_trips_exactly(build):
    manifest, arrays = build()
    data = artefacts.pack_model(manifest, arrays)
    model = artefacts.unpack_model(data)
    assert model.manifest == json.loads(json.dumps(manifest))
    assert set(model.arrays) == set(arrays)
    for name, array in arrays.items():
        assert model.arrays[name].dtype == np.float32 and np.array_equal(model.arrays[name], array)
    assert model.pack() == data


def test_an_update_and_a_validation_set_round_trip():
    manifest, arrays = mlp()
    update = artefacts.unpack_update(artefacts.pack_update({**manifest, "metadata": {"dp": {"epsilon": 1.5}}}, arrays))
    assert update.metadata == {"dp": {"epsilon": 1.5}} and np.array_equal(update.arrays["W1"], arrays["W1"])
    v_manifest, v_arrays = validation()
    vset = artefacts.unpack_validation(artefacts.pack_validation(v_manifest, v_arrays))
    assert (vset.task, vset.n_classes) == ("classification", 3)
    assert np.array_equal(vset.X, v_arrays["X"]) and vset.y.dtype == np.int64 and np.array_equal(vset.y, v_arrays["y"])
    regression = artefacts.unpack_validation(artefacts.pack_validation({"task": "regression"}, {"X": v_arrays["X"], "y": np.linspace(0, 1, 10, dtype=np.float32)}))
    assert regression.y.dtype == np.float32


def test_identical_content_packs_to_identical_bytes_whatever_the_order_of_keys():
    manifest, arrays = mlp()
    shuffled_manifest = dict(reversed(list(manifest.items())))
    shuffled_arrays = {name: arrays[name].copy() for name in reversed(list(arrays))}
    assert artefacts.pack_model(manifest, arrays) == artefacts.pack_model(shuffled_manifest, shuffled_arrays)
    fortran = {**arrays, "W0": np.asfortranarray(arrays["W0"])}  # same values, other memory layout
    assert artefacts.pack_model(manifest, fortran) == artefacts.pack_model(manifest, arrays)


def test_different_content_packs_to_different_bytes():
    manifest, arrays = mlp()
    base = artefacts.pack_model(manifest, arrays)
    nudged = {**arrays, "b1": arrays["b1"] + np.float32(1e-6)}
    assert artefacts.pack_model(manifest, nudged) != base
    assert artefacts.pack_model({**manifest, "metadata": {"name": "other"}}, arrays) != base


def test_the_npy_blobs_are_the_ones_numpy_writes():
    manifest, arrays = logistic()
    data = artefacts.pack_model(manifest, arrays)
    assert npy(arrays["W0"]) in data and npy(arrays["b0"]) in data


def test_the_same_merged_model_seals_to_the_same_ciphertext_on_two_machines():
    manifest, arrays = mlp()
    update_arrays = {n: np.full_like(a, 0.25) for n, a in arrays.items()}
    key, author = bytes(32 * [7]), "0x" + "ab" * 20

    def oracle():  # each oracle unpacks, merges, packs and seals on its own
        model = artefacts.unpack_model(artefacts.pack_model(manifest, {n: a.copy() for n, a in arrays.items()}))
        update = artefacts.unpack_update(artefacts.pack_update(manifest, update_arrays))
        return crypto.seal_with_key(artefacts.apply_update(model, update).pack(), key, 3, "model", author)

    first, second = oracle(), oracle()
    assert first == second
    merged = artefacts.unpack_model(crypto.open_envelope(first, key=key).plaintext)
    assert np.array_equal(merged.arrays["W0"], arrays["W0"] + np.float32(0.25))


# --- schema errors ---------------------------------------------------------------------


def _drop(d, key):
    d = dict(d)
    del d[key]
    return d


SCHEMA_CASES = [
    ("missing architecture", lambda m, a: (_drop(m, "architecture"), a), r"missing key 'architecture'"),
    ("unknown architecture", lambda m, a: ({**m, "architecture": "cnn"}, a), r"'architecture' must be one of .*got 'cnn'"),
    ("dtype float64 in manifest", lambda m, a: ({**m, "dtype": "float64"}, a), r"'dtype' must be one of 'float32'; got 'float64'"),
    ("unknown metric", lambda m, a: ({**m, "metric": "f1"}, a), r"'metric' must be one of .*got 'f1'"),
    ("unknown key", lambda m, a: ({**m, "code": "import os"}, a), r"unknown key 'code'"),
    ("metadata not an object", lambda m, a: ({**m, "metadata": [1]}, a), r"'metadata' must be a JSON object"),
    ("layers not pairs", lambda m, a: ({**m, "layers": [[4, 8, 1], [8, 3]]}, a), r"layers\[0\] must be \[in, out\]"),
    ("layer not positive", lambda m, a: ({**m, "layers": [[4, 0], [0, 3]]}, a), r"layers\[0\] must be \[in, out\] with positive integers"),
    ("layers do not chain", lambda m, a: ({**m, "layers": [[4, 8], [7, 3]]}, a), r"layers\[1\] takes 7 inputs but layers\[0\] outputs 8"),
    ("mlp without activation", lambda m, a: (_drop(m, "activation"), a), r"'activation' must be one of 'relu', 'tanh'; got None"),
    ("mlp regression with 3 outputs", lambda m, a: ({**m, "metric": "mse"}, a), r"metric 'mse' has one output, got 3"),
    ("missing array", lambda m, a: (m, _drop(a, "b1")), r"missing array 'b1' \(expected float32 of shape \(3,\)\)"),
    ("unexpected array", lambda m, a: (m, {**a, "extra": np.zeros(2, np.float32)}), r"unexpected array 'extra'"),
    ("wrong shape", lambda m, a: (m, {**a, "W0": np.zeros((4, 7), np.float32)}), r"array 'W0' has shape \(4, 7\), expected \(4, 8\)"),
    ("int64 parameters", lambda m, a: (m, {**a, "b0": np.zeros(8, np.int64)}), r"array 'b0' has dtype int64, expected float32"),
    ("float64 parameters", lambda m, a: (m, {**a, "W1": np.zeros((8, 3))}), r"array 'W1' has dtype '<f8' \(float64\)"),
    ("NaN", lambda m, a: (m, {**a, "b0": np.where(np.arange(8) == 3, np.nan, a["b0"]).astype(np.float32)}), r"array 'b0' has 1 NaN or infinite"),
    ("inf", lambda m, a: (m, {**a, "W1": np.full((8, 3), np.inf, np.float32)}), r"array 'W1' has 24 NaN or infinite"),
]


@pytest.mark.parametrize("mutate, message", [c[1:] for c in SCHEMA_CASES], ids=[c[0] for c in SCHEMA_CASES])
@pytest.mark.parametrize("kind", ["model", "update"])
def test_a_bad_model_or_update_is_refused_when_packed_and_when_unpacked_with_a_message_naming_the_problem(kind, mutate, message):
    manifest, arrays = mutate(*mlp())
    with pytest.raises(ArtefactError, match=message):
        PACK[kind](manifest, arrays)
    data = raw_container(kind, manifest, {name: npy(np.ascontiguousarray(a)) for name, a in arrays.items()})
    with pytest.raises(ArtefactError, match=message):
        UNPACK[kind](data)


@pytest.mark.parametrize(
    "build, change, message",
    [
        (logistic, {"layers": [[5, 2]]}, r"logistic model has one output"),
        (logistic, {"metric": "mse"}, r"classifier: metric must be accuracy or log_loss, got 'mse'"),
        (softmax, {"layers": [[3, 1]]}, r"softmax model has at least 2 outputs"),
        (softmax, {"layers": [[3, 4], [4, 2]]}, r"softmax model has exactly one layer"),
        (softmax, {"activation": "relu"}, r"takes no 'activation'"),
    ],
)
def test_architecture_rules_are_enforced(build, change, message):
    manifest, arrays = build()
    with pytest.raises(ArtefactSchemaError, match=message):
        artefacts.pack_model({**manifest, **change}, arrays)


VALIDATION_CASES = [
    ("labels as floats", lambda m, a: (m, {**a, "y": a["y"].astype(np.float32)}), r"array 'y' has dtype float32, expected int64 for classification"),
    ("label out of range", lambda m, a: (m, {**a, "y": np.where(np.arange(10) == 0, 3, a["y"])}), r"labels in \[0, 3\], expected \[0, 2\]"),
    ("negative label", lambda m, a: (m, {**a, "y": np.where(np.arange(10) == 0, -1, a["y"])}), r"labels in \[-1, 2\]"),
    ("y length", lambda m, a: (m, {**a, "y": a["y"][:9]}), r"'y' has shape \(9,\), expected \(10,\) to match X"),
    ("X one-dimensional", lambda m, a: (m, {**a, "X": a["X"][:, 0].copy()}), r"'X' has shape \(10,\), expected \(n, d\)"),
    ("X float64", lambda m, a: (m, {**a, "X": a["X"].astype(np.float32).astype(np.float64)}), r"array 'X' has dtype '<f8'"),
    ("X has NaN", lambda m, a: (m, {**a, "X": np.where(np.eye(10, 4) == 1, np.nan, a["X"]).astype(np.float32)}), r"array 'X' has 4 NaN"),
    ("missing n_classes", lambda m, a: (_drop(m, "n_classes"), a), r"needs 'n_classes', an integer >= 2; got None"),
    ("unknown task", lambda m, a: ({**m, "task": "ranking"}, a), r"'task' must be one of .*got 'ranking'"),
    ("missing y", lambda m, a: (m, _drop(a, "y")), r"missing array 'y'"),
    ("regression with classes", lambda m, a: ({"task": "regression", "n_classes": 3}, {**a, "y": a["y"].astype(np.float32)}), r"regression validation set takes no 'n_classes'"),
]


@pytest.mark.parametrize("mutate, message", [c[1:] for c in VALIDATION_CASES], ids=[c[0] for c in VALIDATION_CASES])
def test_a_bad_validation_set_is_refused_with_a_message_naming_the_problem(mutate, message):
    manifest, arrays = mutate(*validation())
    with pytest.raises(ArtefactError, match=message):
        artefacts.pack_validation(manifest, arrays)
    with pytest.raises(ArtefactError, match=message):
        artefacts.unpack_validation(raw_container("validation", manifest, {n: npy(a) for n, a in arrays.items()}))


def test_errors_are_fathom_errors_and_value_errors():
    for cls in (ArtefactError, ArtefactFormatError, ArtefactSchemaError, ArtefactTooLarge, ArtefactUnsafe):
        assert issubclass(cls, FathomError) and issubclass(cls, ValueError)


# --- never unpickle --------------------------------------------------------------------

EXECUTED: list[str] = []


def _payload():
    EXECUTED.append("pwned")
    return 0


class Exploit:
    def __reduce__(self):
        return (_payload, ())


def test_a_pickle_is_refused_and_never_run():
    EXECUTED.clear()
    for unpack in UNPACK.values():
        with pytest.raises(ArtefactFormatError, match="not a Fathom artefact"):
            unpack(pickle.dumps(Exploit()))
    assert EXECUTED == []


def test_an_object_array_inside_a_container_is_refused_before_loading():
    EXECUTED.clear()
    manifest, arrays = logistic()
    evil = np.empty(1, dtype=object)
    evil[0] = Exploit()
    blobs = {"W0": npy(arrays["W0"]), "b0": npy(evil)}
    with pytest.raises(ArtefactUnsafe, match=r"array 'b0' has an object dtype"):
        artefacts.unpack_model(raw_container("model", manifest, blobs))
    assert EXECUTED == []
    with pytest.raises(ArtefactUnsafe, match="'b0'"):
        artefacts.pack_model(manifest, {**arrays, "b0": evil})
    assert EXECUTED == []


def test_an_npz_or_other_format_is_refused():
    manifest, arrays = logistic()
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    with pytest.raises(ArtefactFormatError, match="not a Fathom artefact"):
        artefacts.unpack_model(buffer.getvalue())


# --- size limits, checked before reading -----------------------------------------------


def _huge_npy_header(shape) -> bytes:
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': %r, }" % (shape,)
    header += " " * (-(10 + len(header) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()


def test_an_array_header_claiming_terabytes_is_refused_without_allocating(monkeypatch):
    manifest = {"architecture": "logistic", "dtype": "float32", "metric": "accuracy", "layers": [[1_000_000, 1]]}
    blobs = {"W0": _huge_npy_header((1_000_000, 1_000_000)), "b0": npy(np.zeros(1, np.float32))}
    data = raw_container("model", manifest, blobs)
    monkeypatch.setattr(np, "load", lambda *a, **k: pytest.fail("np.load reached"))
    tracemalloc.start()
    try:
        with pytest.raises(ArtefactTooLarge, match=r"array 'W0' of shape \(1000000, 1000000\) needs 4000000000000 bytes"):
            artefacts.unpack_model(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


@pytest.mark.parametrize(
    "patch, message",
    [
        (lambda d: d[:8] + struct.pack(">I", 0x7FFFFFFF) + d[12:], r"manifest claims 2147483647 bytes"),
        (lambda d: d[:12] + struct.pack(">I", 0x7FFFFFFF) + d[16:], r"claims 2147483647 arrays"),
        # first table entry: 2-byte name length, "W0", offset, then the length to patch
        (lambda d: d[:28] + struct.pack(">Q", 1 << 60) + d[36:], r"array 'W0' claims 1152921504606846976 bytes"),
    ],
    ids=["manifest length", "array count", "array length"],
)
def test_a_container_claiming_huge_parts_is_refused_before_reading_them(patch, message):
    data = artefacts.pack_model(*logistic())
    with pytest.raises(ArtefactTooLarge, match=message):
        artefacts.unpack_model(patch(data))


def test_the_total_size_limit_is_checked_first():
    data = artefacts.pack_model(*mlp())
    with pytest.raises(ArtefactTooLarge, match=f"model is {len(data)} bytes"):
        artefacts.unpack_model(data, Limits(max_total_bytes=len(data) - 1))
    assert artefacts.unpack_model(data, Limits(max_total_bytes=len(data)))
    with pytest.raises(ArtefactTooLarge, match="would be"):
        artefacts.pack_model(*mlp(), limits=Limits(max_total_bytes=len(data) - 1))


def test_row_dimension_and_array_limits_are_enforced():
    v_manifest, v_arrays = validation(n=50)
    data = artefacts.pack_validation(v_manifest, v_arrays)
    with pytest.raises(ArtefactTooLarge, match="50 rows, more than the limit of 49"):
        artefacts.unpack_validation(data, Limits(max_rows=49))
    with pytest.raises(ArtefactTooLarge, match=r"array 'X' axis 0 has length 50"):
        artefacts.unpack_validation(data, Limits(max_dim=49))
    with pytest.raises(ArtefactTooLarge, match=r"array 'X' of shape \(50, 4\) needs 800 bytes"):
        artefacts.unpack_validation(data, Limits(max_array_bytes=799))
    cube = raw_container("validation", v_manifest, {"X": npy(np.zeros((2, 2, 2), np.float32)), "y": npy(np.zeros(2, np.int64))})
    with pytest.raises(ArtefactTooLarge, match="array 'X' has 3 dimensions"):
        artefacts.unpack_validation(cube)


def test_limits_must_be_positive():
    with pytest.raises(ValueError, match="max_rows"):
        Limits(max_rows=0)


# --- malformed containers --------------------------------------------------------------


def test_every_truncation_is_refused():
    data = artefacts.pack_model(*mlp())
    for length in list(range(0, 40)) + list(range(40, len(data), 7)) + [len(data) - 1]:
        with pytest.raises(ArtefactFormatError):
            artefacts.unpack_model(data[:length])
    with pytest.raises(ArtefactFormatError, match="unexpected bytes after its last array"):
        artefacts.unpack_model(data + b"\x00")


def test_a_container_of_another_kind_or_version_is_refused():
    data = artefacts.pack_model(*mlp())
    with pytest.raises(ArtefactFormatError, match="expected an update, got a model"):
        artefacts.unpack_update(data)
    with pytest.raises(ArtefactFormatError, match="container version 9"):
        artefacts.unpack_model(data[:4] + b"\x09" + data[5:])


def test_non_canonical_encodings_are_refused():
    manifest, arrays = logistic()
    blobs = {n: npy(a) for n, a in arrays.items()}
    spaced = json.dumps(manifest, sort_keys=True).encode()
    with pytest.raises(ArtefactFormatError, match="canonical JSON"):
        artefacts.unpack_model(raw_container("model", manifest, blobs, manifest_bytes=spaced))
    with pytest.raises(ArtefactFormatError, match="sorted by name"):
        artefacts.unpack_model(raw_container("model", manifest, blobs, order=["b0", "W0"]))
    duplicate = b'{"architecture":"logistic","architecture":"softmax"}'
    with pytest.raises(ArtefactFormatError, match="duplicate key"):
        artefacts.unpack_model(raw_container("model", manifest, blobs, manifest_bytes=duplicate))
    fortran = {**blobs, "W0": blobs["W0"].replace(b"'fortran_order': False", b"'fortran_order': True ")}
    with pytest.raises(ArtefactFormatError, match="Fortran order"):
        artefacts.unpack_model(raw_container("model", manifest, fortran))
    version2 = {**blobs, "W0": b"\x93NUMPY\x02\x00" + blobs["W0"][8:]}
    with pytest.raises(ArtefactFormatError, match="version 1.0 .npy"):
        artefacts.unpack_model(raw_container("model", manifest, version2))


def test_an_array_blob_whose_length_disagrees_with_its_header_is_refused():
    manifest, arrays = logistic()
    blobs = {n: npy(a) for n, a in arrays.items()}
    blobs["W0"] = blobs["W0"][:-4]
    with pytest.raises(ArtefactFormatError, match=r"array 'W0' of shape \(5, 1\) needs 20 data bytes, but its blob holds 16"):
        artefacts.unpack_model(raw_container("model", manifest, blobs))


# --- merging and fitting ---------------------------------------------------------------


def test_an_update_merges_as_an_exact_float32_sum():
    manifest, arrays = mlp()
    model = artefacts.unpack_model(artefacts.pack_model(manifest, arrays))
    delta = {n: (np.arange(a.size, dtype=np.float32).reshape(a.shape) / 7) for n, a in arrays.items()}
    merged = artefacts.apply_update(model, artefacts.unpack_update(artefacts.pack_update(manifest, delta)))
    for name in arrays:
        assert merged.arrays[name].dtype == np.float32
        assert np.array_equal(merged.arrays[name], arrays[name] + delta[name])
    assert merged.manifest == model.manifest


def test_an_update_of_another_shape_does_not_merge():
    model = artefacts.unpack_model(artefacts.pack_model(*mlp()))
    other_manifest = {**mlp()[0], "layers": [[4, 5], [5, 3]]}
    other_arrays = {"W0": np.zeros((4, 5), np.float32), "b0": np.zeros(5, np.float32), "W1": np.zeros((5, 3), np.float32), "b1": np.zeros(3, np.float32)}
    update = artefacts.unpack_update(artefacts.pack_update(other_manifest, other_arrays))
    with pytest.raises(ArtefactSchemaError, match=r"update layers are \[\[4, 5\], \[5, 3\]\] but the model's are \[\[4, 8\], \[8, 3\]\]"):
        artefacts.apply_update(model, update)


def test_a_merge_that_overflows_is_refused():
    manifest, arrays = logistic()
    big = {n: np.full_like(a, 3e38) for n, a in arrays.items()}
    model = artefacts.unpack_model(artefacts.pack_model(manifest, big))
    with pytest.raises(ArtefactSchemaError, match="overflows"):
        artefacts.apply_update(model, artefacts.unpack_update(artefacts.pack_update(manifest, big)))


def test_a_validation_set_must_fit_the_model():
    model = artefacts.unpack_model(artefacts.pack_model(*mlp()))
    artefacts.check_validation_fits(model, artefacts.unpack_validation(artefacts.pack_validation(*validation())))
    with pytest.raises(ArtefactSchemaError, match="5 features but the model takes 4"):
        artefacts.check_validation_fits(model, artefacts.unpack_validation(artefacts.pack_validation(*validation(d=5))))
    with pytest.raises(ArtefactSchemaError, match="4 classes but the model outputs 3"):
        artefacts.check_validation_fits(model, artefacts.unpack_validation(artefacts.pack_validation(*validation(k=4))))
    binary = artefacts.unpack_model(artefacts.pack_model(*logistic()))
    artefacts.check_validation_fits(binary, artefacts.unpack_validation(artefacts.pack_validation(*validation(d=5, k=2))))

"""Models, updates and validation sets as data, never code.

Every artefact is a JSON manifest plus named arrays, each array a ``.npy`` blob read
with ``np.load(..., allow_pickle=False)`` after its header has been checked. Nothing
is unpickled, imported or executed, and every size is checked before anything is
allocated. The same content always packs to the same bytes, so the same model always
gets the same ciphertext (see `fathom.crypto.envelope.seal_with_key`) and the same CID.

Container (version 1 to 4: the version names the manifest's optional parts), integers
big-endian::

    offset  size  field
    0       4     magic b"FTHA"
    4       1     version = 4 if the manifest has "encryption", else 3 if an update's
                  manifest has "privacy", else 2 if the manifest has "features", else 1
                  (`container_version`)
    5       1     kind: 1 model, 2 update, 3 validation set
    6       2     reserved = 0
    8       4     M = manifest length (uint32)
    12      4     N = number of arrays (uint32)
    16      ...   N table entries, sorted by name, names unique:
                    uint16 name length, name (ASCII, [A-Za-z][A-Za-z0-9_]*, <= 64),
                    uint64 offset (from the start of the data section), uint64 length
    ...     M     manifest: canonical JSON (sorted keys, no spaces, ASCII, no NaN)
    ...           data section: the N .npy blobs, in table order, back to back;
                  it ends exactly at the end of the container

Each ``.npy`` blob is format 1.0 with a canonical header written by this module:
``{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`` padded with spaces and a
newline to a multiple of 64 bytes, then the C-order little-endian data. Only ``<f4``
(float32) and ``<i8`` (int64) arrays exist, and ``|u1`` (bytes) for the one array of an
encrypted container. Reading insists on the canonical form of
everything (manifest, table order, npy headers), so ``pack(unpack(b)) == b``.

Schemas
-------
Model and update manifest::

    {"architecture": "logistic" | "softmax" | "mlp",
     "dtype": "float32",
     "metric": "accuracy" | "log_loss" | "mse",
     "layers": [[d_in, d_out], ...],          # one [in, out] pair per dense layer
     "activation": "relu" | "tanh",           # hidden layers; mlp only, required there
     "features": {...},                        # optional: the feature schema (version >= 2)
     "metadata": {...},                        # optional, free JSON
     "privacy": {...},                         # updates only, optional: the DP statement (version 3)
     "encryption": {"scheme": "paillier", "format": 1}}   # optional (version 4), below

with arrays ``W{i}`` float32 of shape ``(in_i, out_i)`` and ``b{i}`` float32 of shape
``(out_i,)`` for every layer i, and no others; every value finite. ``features``, when
present, is a `fathom.ml.schema.FeatureSchema` document whose width is ``layers[0][0]``.

- logistic: one layer ``[d, 1]`` (sigmoid), metric accuracy or log_loss.
- softmax: one layer ``[d, k]`` with k >= 2, metric accuracy or log_loss.
- mlp: two or more layers, each ``in`` equal to the previous ``out``; with metric mse
  the output is one linear unit, otherwise 1 unit (sigmoid, binary) or k >= 2 (softmax).

An update is an additive float32 delta with exactly the model's manifest schema and
array shapes (its metadata may differ): ``merged = model + update`` array by array. An
update that was noised for differential privacy states it under ``"privacy"``, a JSON
object whose fields `fathom.ml.privacy.statement` defines and checks (the oracle refuses
a malformed or contradicted statement); the container only requires an object there.

An **encrypted** model or update (the encrypted-weights mode, `fathom.ml.encrypted`)
carries ``"encryption": {"scheme": "paillier", "format": 1}`` and, in place of its
``W``/``b`` arrays, exactly one array ``paillier``: uint8, 1-D, the serialised Paillier
ciphertexts (`fathom.ml.encrypted.pack`, format 1, magic ``FTHMPAIL``) of the weights
the rest of the manifest describes (a model: the weights at 2**-24; an update: the delta
at 2**-44). This module checks the framing; `fathom.ml.encrypted.from_container` parses
and checks the ciphertexts against the bounty's public key.

Validation set manifest::

    {"task": "classification" | "regression",
     "n_classes": k,                           # classification only, k >= 2
     "metadata": {...}}                        # optional

with arrays ``X`` float32 ``(n, d)`` and ``y`` of shape ``(n,)``: int64 labels in
``[0, k)`` for classification, float32 targets for regression; every value finite.
"""

from __future__ import annotations

import io
import json
import math
import re
import struct
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from fathom.errors import FathomError, RejectionError

__all__ = [
    "ACTIVATIONS",
    "ARCHITECTURES",
    "ArtefactError",
    "ArtefactFormatError",
    "ArtefactSchemaError",
    "ArtefactTooLarge",
    "ArtefactUnsafe",
    "CONTAINER_VERSION",
    "Limits",
    "MAGIC",
    "METRICS",
    "Model",
    "REASONS",
    "Update",
    "ValidationSet",
    "apply_update",
    "check_update_fits",
    "check_validation_fits",
    "pack_model",
    "pack_update",
    "pack_validation",
    "unpack_model",
    "unpack_update",
    "unpack_validation",
]

# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------


#: Why an artefact was refused, as `ArtefactError.reason` (a stable code; the message has the detail):
#: format (framing, magic, npy header, canonical form), truncated, kind (a container of
#: another kind), manifest (JSON or schema of the manifest), shape (array names, shapes),
#: dtype, non_finite (NaN/inf, or a merge that overflows), labels (out of range),
#: too_large (a `Limits` bound), pickle (pickled objects), mismatch (does not fit the model).
REASONS = ("format", "truncated", "kind", "manifest", "shape", "dtype", "non_finite", "labels", "too_large", "pickle", "mismatch")


class ArtefactError(RejectionError):
    """Base of every reason an artefact is refused. The oracle settles these as *invalid*.

    `reason` is one of `REASONS`: the class's default unless the raise names a finer one.
    """

    REASONS = REASONS
    reason = "format"


class ArtefactFormatError(ArtefactError):
    """The bytes are not a well-formed container (magic, version, table, npy header, JSON)."""


class ArtefactUnsafe(ArtefactFormatError):
    """The artefact holds pickled Python objects (an object dtype, or is a pickle). Never loaded."""

    reason = "pickle"


class ArtefactTooLarge(ArtefactError):
    """The artefact or one of its parts exceeds a `Limits` bound (checked before reading it)."""

    reason = "too_large"


class ArtefactSchemaError(ArtefactError):
    """The manifest or the arrays do not match the schema (keys, values, shapes, dtypes, NaN)."""

    reason = "manifest"


# ---------------------------------------------------------------------------------------
# Constants and limits
# ---------------------------------------------------------------------------------------

MAGIC = b"FTHA"
#: The newest container version. 1: the manifest has neither optional part; 2 adds the
#: feature schema ("features", `fathom.ml.schema`) to model and update manifests; 3 adds
#: an update's differential-privacy statement ("privacy", `fathom.ml.privacy.statement`).
#: 4 adds "encryption": the weights (or the delta) as Paillier ciphertexts in one uint8
#: array ``paillier`` (the encrypted-weights mode).
#: A container's version is a function of its manifest (`container_version`): the same
#: content always packs to the same bytes, and a version 1 artefact keeps its old CID.
CONTAINER_VERSION = 4
#: The only encryption a version 4 container names (`fathom.ml.encrypted`, format 1).
ENCRYPTION = {"scheme": "paillier", "format": 1}
ENCRYPTED_ARRAY = "paillier"
_KIND_MODEL, _KIND_UPDATE, _KIND_VALIDATION = 1, 2, 3


def container_version(manifest: Mapping[str, Any]) -> int:
    """The version a manifest's container carries: 4 with Paillier-encrypted weights, 3 with
    a privacy statement, 2 with a feature schema, 1 with none of them."""
    if "encryption" in manifest:
        return 4
    return 3 if "privacy" in manifest else 2 if "features" in manifest else 1
_KIND_NAMES = {_KIND_MODEL: "model", _KIND_UPDATE: "update", _KIND_VALIDATION: "validation set"}
_HEAD = struct.Struct(">4sBBHII")
_ENTRY_NAME_LEN = struct.Struct(">H")
_ENTRY_SPAN = struct.Struct(">QQ")
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_NPY_MAGIC = b"\x93NUMPY\x01\x00"
_NPY_ALIGN = 64

ARCHITECTURES = ("logistic", "softmax", "mlp")
METRICS = ("accuracy", "log_loss", "mse")
ACTIVATIONS = ("relu", "tanh")
TASKS = ("classification", "regression")
_CLASSIFICATION_METRICS = ("accuracy", "log_loss")
_FLOAT32 = np.dtype("<f4")
_INT64 = np.dtype("<i8")
_BYTES = np.dtype("|u1")
_DTYPE_NAMES = {_FLOAT32: "float32", _INT64: "int64", _BYTES: "uint8"}

_PARAM_KEYS_REQUIRED = frozenset({"architecture", "dtype", "metric", "layers"})
_PARAM_KEYS_OPTIONAL = frozenset({"activation", "metadata", "features", "encryption"})
_VALIDATION_KEYS_REQUIRED = frozenset({"task"})
_VALIDATION_KEYS_OPTIONAL = frozenset({"n_classes", "metadata"})


@dataclass(frozen=True)
class Limits:
    """Bounds checked before any part of an artefact is read or allocated."""

    max_total_bytes: int = 256 << 20  # the whole container
    max_array_bytes: int = 256 << 20  # one array's data
    max_manifest_bytes: int = 1 << 20
    max_npy_header_bytes: int = 4096
    max_arrays: int = 128
    max_layers: int = 32
    max_ndim: int = 2  # every array of the schemas is 1-D or 2-D
    max_dim: int = 1 << 24  # length of any one axis (features, units, classes)
    max_rows: int = 10_000_000  # rows of a validation set

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"Limits.{name} must be a positive integer, got {value!r}")


DEFAULT_LIMITS = Limits()

# ---------------------------------------------------------------------------------------
# Artefact types
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Params:
    manifest: dict[str, Any]
    arrays: dict[str, np.ndarray] = field(repr=False)

    @property
    def architecture(self) -> str:
        return self.manifest["architecture"]

    @property
    def metric(self) -> str:
        return self.manifest["metric"]

    @property
    def layers(self) -> tuple[tuple[int, int], ...]:
        return tuple((int(a), int(b)) for a, b in self.manifest["layers"])

    @property
    def activation(self) -> str | None:
        return self.manifest.get("activation")

    @property
    def metadata(self) -> dict[str, Any]:
        return self.manifest.get("metadata", {})

    @property
    def input_dim(self) -> int:
        return self.layers[0][0]

    @property
    def output_dim(self) -> int:
        return self.layers[-1][1]

    @property
    def encrypted(self) -> bool:
        """Whether the weights are Paillier ciphertexts (container version 4): nothing here
        can read them; `fathom.ml.encrypted.from_container` parses them."""
        return "encryption" in self.manifest


@dataclass(frozen=True)
class Model(_Params):
    """A model: manifest plus float32 weights ``W{i}``, biases ``b{i}``."""

    def pack(self) -> bytes:
        return pack_model(self.manifest, self.arrays)


@dataclass(frozen=True)
class Update(_Params):
    """An additive float32 delta on a model's parameters (same schema as the model)."""

    def pack(self) -> bytes:
        return pack_update(self.manifest, self.arrays)


@dataclass(frozen=True)
class ValidationSet:
    """Features ``X`` (float32, n x d) and targets ``y`` (int64 labels or float32 values)."""

    manifest: dict[str, Any]
    X: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)

    @property
    def task(self) -> str:
        return self.manifest["task"]

    @property
    def n_classes(self) -> int | None:
        return self.manifest.get("n_classes")

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        return {"X": self.X, "y": self.y}

    def pack(self) -> bytes:
        return pack_validation(self.manifest, self.arrays)


# ---------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------


def pack_model(manifest: Mapping[str, Any], arrays: Mapping[str, np.ndarray], limits: Limits = DEFAULT_LIMITS) -> bytes:
    """Validate a model and serialise it to its canonical bytes."""
    return _pack(_KIND_MODEL, manifest, arrays, limits)


def unpack_model(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Model:
    """Parse and validate a model container (sizes first, then schema, then values)."""
    manifest, arrays = _unpack(_KIND_MODEL, data, limits)
    return Model(manifest, arrays)


def pack_update(manifest: Mapping[str, Any], arrays: Mapping[str, np.ndarray], limits: Limits = DEFAULT_LIMITS) -> bytes:
    """Validate an update (float32 delta) and serialise it to its canonical bytes."""
    return _pack(_KIND_UPDATE, manifest, arrays, limits)


def unpack_update(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Update:
    """Parse and validate an update container."""
    manifest, arrays = _unpack(_KIND_UPDATE, data, limits)
    return Update(manifest, arrays)


def pack_validation(manifest: Mapping[str, Any], arrays: Mapping[str, np.ndarray], limits: Limits = DEFAULT_LIMITS) -> bytes:
    """Validate a validation set (arrays ``X`` and ``y``) and serialise it."""
    return _pack(_KIND_VALIDATION, manifest, arrays, limits)


def unpack_validation(data: bytes, limits: Limits = DEFAULT_LIMITS) -> ValidationSet:
    """Parse and validate a validation-set container."""
    manifest, arrays = _unpack(_KIND_VALIDATION, data, limits)
    return ValidationSet(manifest, arrays["X"], arrays["y"])


def check_update_fits(model: Model, update: Update) -> None:
    """Raise ArtefactSchemaError unless the update has the model's architecture and shapes."""
    for key in ("architecture", "dtype", "metric", "activation"):
        if model.manifest.get(key) != update.manifest.get(key):
            raise ArtefactSchemaError(f"update {key} is {update.manifest.get(key)!r} but the model's is {model.manifest.get(key)!r}", reason="mismatch")
    if model.layers != update.layers:
        raise ArtefactSchemaError(f"update layers are {list(map(list, update.layers))} but the model's are {list(map(list, model.layers))}",
                                  reason="mismatch")


def apply_update(model: Model, update: Update) -> Model:
    """The merged model ``model + update`` (float32, array by array; deterministic), every
    subnormal value of either and of the sum read as zero of its sign, as the scorer reads
    them (`fathom.ml.models.apply_update`; F4): the merged bytes are then the same on a CPU
    with DAZ or FTZ.

    The manifest is the model's. Raises ArtefactSchemaError if the sum overflows to inf.
    """
    from fathom.ml.models import _flush_subnormals

    check_update_fits(model, update)
    merged = {}
    for name in sorted(model.arrays):
        with np.errstate(over="ignore", invalid="ignore"):
            total = np.add(_flush_subnormals(model.arrays[name]), _flush_subnormals(update.arrays[name]), dtype=np.float32)
        if not np.isfinite(total).all():
            raise ArtefactSchemaError(f"merging overflows: array {name!r} of the merged model is not finite", reason="non_finite")
        merged[name] = _flush_subnormals(total)
    return Model(json.loads(_canonical_json(model.manifest, "manifest")), merged)


def check_validation_fits(model: Model | Update, validation: ValidationSet) -> None:
    """Raise ArtefactSchemaError unless the validation set can score this model."""
    d_in, d_out = model.input_dim, model.output_dim
    if validation.X.shape[1] != d_in:
        raise ArtefactSchemaError(f"validation X has {validation.X.shape[1]} features but the model takes {d_in}", reason="mismatch")
    if model.metric == "mse":
        if validation.task != "regression":
            raise ArtefactSchemaError(f"metric 'mse' needs a regression validation set, got {validation.task!r}", reason="mismatch")
        return
    if validation.task != "classification":
        raise ArtefactSchemaError(f"metric {model.metric!r} needs a classification validation set, got {validation.task!r}", reason="mismatch")
    classes = 2 if d_out == 1 else d_out
    if validation.n_classes != classes:
        raise ArtefactSchemaError(f"validation set has {validation.n_classes} classes but the model outputs {classes}", reason="mismatch")


# ---------------------------------------------------------------------------------------
# Packing
# ---------------------------------------------------------------------------------------


def _canonical_json(document: Any, what: str) -> bytes:
    try:
        return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii")
    except (TypeError, ValueError, RecursionError) as exc:
        raise ArtefactSchemaError(f"{what} is not plain JSON (no NaN/inf, no numpy scalars): {exc}") from None


def _npy_header(dtype: np.dtype, shape: tuple[int, ...]) -> bytes:
    text = "{'descr': %r, 'fortran_order': False, 'shape': %r, }" % (dtype.str, tuple(shape))
    unpadded = len(_NPY_MAGIC) + 2 + len(text) + 1
    text += " " * (-unpadded % _NPY_ALIGN) + "\n"
    return _NPY_MAGIC + struct.pack("<H", len(text)) + text.encode("latin1")


def _pack(kind: int, manifest: Mapping[str, Any], arrays: Mapping[str, np.ndarray], limits: Limits) -> bytes:
    if not isinstance(manifest, Mapping):
        raise ArtefactSchemaError(f"manifest must be a JSON object, got {type(manifest).__name__}")
    if not isinstance(arrays, Mapping):
        raise ArtefactSchemaError(f"arrays must be a mapping of name to numpy array, got {type(arrays).__name__}", reason="shape")
    manifest_bytes = _canonical_json(dict(manifest), "manifest")
    if len(manifest_bytes) > limits.max_manifest_bytes:
        raise ArtefactTooLarge(f"manifest is {len(manifest_bytes)} bytes, more than the limit of {limits.max_manifest_bytes}")
    normalised = json.loads(manifest_bytes)
    if len(arrays) > limits.max_arrays:
        raise ArtefactTooLarge(f"{len(arrays)} arrays, more than the limit of {limits.max_arrays}")
    prepared: dict[str, np.ndarray] = {}
    for name, array in arrays.items():
        if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
            raise ArtefactSchemaError(f"array name {name!r} must match [A-Za-z][A-Za-z0-9_]* (at most 64 characters)", reason="shape")
        if not isinstance(array, np.ndarray):
            raise ArtefactSchemaError(f"array {name!r} must be a numpy array, got {type(array).__name__}", reason="dtype")
        if array.dtype.hasobject:
            raise ArtefactUnsafe(f"array {name!r} has an object dtype; artefacts hold numbers only, never pickled objects")
        _check_array_geometry(name, array.dtype, array.shape, limits)
        prepared[name] = np.ascontiguousarray(array)
    _check_schema(kind, normalised, {n: (a.dtype, a.shape) for n, a in prepared.items()}, limits)
    for name, array in prepared.items():
        _check_values(kind, normalised, name, array)

    blobs = [(name.encode("ascii"), _npy_header(prepared[name].dtype, prepared[name].shape) + prepared[name].tobytes(order="C")) for name in sorted(prepared)]
    version = container_version(normalised)
    parts = [_HEAD.pack(MAGIC, version, kind, 0, len(manifest_bytes), len(blobs))]
    offset = 0
    for name, blob in blobs:
        parts.append(_ENTRY_NAME_LEN.pack(len(name)) + name + _ENTRY_SPAN.pack(offset, len(blob)))
        offset += len(blob)
    parts.append(manifest_bytes)
    parts.extend(blob for _, blob in blobs)
    data = b"".join(parts)
    if len(data) > limits.max_total_bytes:
        raise ArtefactTooLarge(f"{_KIND_NAMES[kind]} would be {len(data)} bytes, more than the limit of {limits.max_total_bytes}")
    return data


# ---------------------------------------------------------------------------------------
# Unpacking
# ---------------------------------------------------------------------------------------


def _check_array_geometry(name: str, dtype: np.dtype, shape: tuple[int, ...], limits: Limits) -> int:
    """Dtype allowed, dimensions within limits; returns the data size in bytes."""
    if dtype not in _DTYPE_NAMES:
        raise ArtefactSchemaError(f"array {name!r} has dtype {dtype.str!r} ({dtype}); artefacts hold only '<f4' (float32) and '<i8' "
                                  "(int64) arrays, and '|u1' (bytes) for an encrypted container's ciphertexts",
                                  reason="dtype")
    if len(shape) > limits.max_ndim:
        raise ArtefactTooLarge(f"array {name!r} has {len(shape)} dimensions, more than the limit of {limits.max_ndim}")
    for axis, size in enumerate(shape):
        if size > limits.max_dim:
            raise ArtefactTooLarge(f"array {name!r} axis {axis} has length {size}, more than the limit of {limits.max_dim}")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > limits.max_array_bytes:
        raise ArtefactTooLarge(f"array {name!r} of shape {tuple(shape)} needs {nbytes} bytes, more than the limit of {limits.max_array_bytes}")
    return nbytes


def _read_npy_header(name: str, blob: memoryview, limits: Limits) -> tuple[np.dtype, tuple[int, ...], int]:
    """Parse and check one .npy header without touching its data."""
    if bytes(blob[: len(_NPY_MAGIC)]) != _NPY_MAGIC:
        raise ArtefactFormatError(f"array {name!r} is not a version 1.0 .npy blob")
    if len(blob) < len(_NPY_MAGIC) + 2:
        raise ArtefactFormatError(f"array {name!r}: .npy blob ends inside its header", reason="truncated")
    (header_len,) = struct.unpack_from("<H", blob, len(_NPY_MAGIC))
    if header_len > limits.max_npy_header_bytes:
        raise ArtefactTooLarge(f"array {name!r}: .npy header is {header_len} bytes, more than the limit of {limits.max_npy_header_bytes}")
    start = len(_NPY_MAGIC) + 2
    if len(blob) < start + header_len:
        raise ArtefactFormatError(f"array {name!r}: .npy blob ends inside its header", reason="truncated")
    try:
        # numpy's parser uses ast.literal_eval (data only) and checks the keys.
        stream = io.BytesIO(bytes(blob[: start + header_len]))
        np.lib.format.read_magic(stream)
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(stream, max_header_size=limits.max_npy_header_bytes)
    except Exception as exc:
        raise ArtefactFormatError(f"array {name!r}: malformed .npy header ({exc})") from None
    if dtype.hasobject:
        raise ArtefactUnsafe(f"array {name!r} has an object dtype (pickled Python objects); refused without loading")
    if fortran_order:
        raise ArtefactFormatError(f"array {name!r} is in Fortran order; artefacts are C order")
    _check_array_geometry(name, dtype, shape, limits)
    if bytes(blob[: start + header_len]) != _npy_header(dtype, shape):
        raise ArtefactFormatError(f"array {name!r}: .npy header is not in canonical form")
    return dtype, tuple(shape), start + header_len


def _unpack(kind: int, data: bytes, limits: Limits) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    what = _KIND_NAMES[kind]
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ArtefactFormatError(f"a {what} is bytes, not {type(data).__name__}")
    view = memoryview(data).cast("B")
    size = len(view)
    if size > limits.max_total_bytes:
        raise ArtefactTooLarge(f"{what} is {size} bytes, more than the limit of {limits.max_total_bytes}")
    if bytes(view[:4]) != MAGIC[: min(size, 4)]:
        if size >= 2 and view[0] == 0x80 and 2 <= view[1] <= 5:  # pickle protocol 2-5 opcode
            raise ArtefactUnsafe(f"not a Fathom artefact: starts with {bytes(view[:4])!r}, a Python pickle (never loaded)")
        raise ArtefactFormatError(f"not a Fathom artefact: starts with {bytes(view[:4])!r}, expected {MAGIC!r} (pickles and other formats are refused)")
    if size < _HEAD.size:
        raise ArtefactFormatError(f"{what} is truncated: {size} bytes, shorter than its {_HEAD.size}-byte prefix", reason="truncated")
    _, version, found_kind, reserved, manifest_len, count = _HEAD.unpack_from(view, 0)
    if not 1 <= version <= CONTAINER_VERSION:
        raise ArtefactFormatError(f"container version {version} is not supported (this code reads versions 1 to {CONTAINER_VERSION})")
    if found_kind != kind:
        found = _KIND_NAMES.get(found_kind, f"container of unknown kind {found_kind}")
        raise ArtefactFormatError(f"expected {_article(what)}, got {_article(found)}", reason="kind")
    if reserved != 0:
        raise ArtefactFormatError(f"reserved container field must be 0, got {reserved}")
    if manifest_len > limits.max_manifest_bytes:
        raise ArtefactTooLarge(f"manifest claims {manifest_len} bytes, more than the limit of {limits.max_manifest_bytes}")
    if count > limits.max_arrays:
        raise ArtefactTooLarge(f"{what} claims {count} arrays, more than the limit of {limits.max_arrays}")

    # The array table: names sorted and unique, spans back to back.
    position = _HEAD.size
    entries: list[tuple[str, int, int]] = []
    expected_offset = 0
    for index in range(count):
        if size < position + _ENTRY_NAME_LEN.size:
            raise ArtefactFormatError(f"{what} is truncated inside its array table (entry {index})", reason="truncated")
        (name_len,) = _ENTRY_NAME_LEN.unpack_from(view, position)
        position += _ENTRY_NAME_LEN.size
        if not 1 <= name_len <= 64:
            raise ArtefactFormatError(f"array table entry {index}: name length {name_len} is not in 1..64")
        if size < position + name_len + _ENTRY_SPAN.size:
            raise ArtefactFormatError(f"{what} is truncated inside its array table (entry {index})", reason="truncated")
        raw_name = bytes(view[position : position + name_len])
        position += name_len
        name = raw_name.decode("ascii", errors="replace")
        if not _NAME_RE.fullmatch(name):
            raise ArtefactFormatError(f"array table entry {index}: bad array name {raw_name!r}")
        if entries and name <= entries[-1][0]:
            raise ArtefactFormatError(f"array table must be sorted by name without duplicates: {name!r} follows {entries[-1][0]!r}")
        offset, length = _ENTRY_SPAN.unpack_from(view, position)
        position += _ENTRY_SPAN.size
        if length > limits.max_array_bytes + limits.max_npy_header_bytes + len(_NPY_MAGIC) + 2:
            raise ArtefactTooLarge(f"array {name!r} claims {length} bytes, more than the limit of {limits.max_array_bytes}")
        if offset != expected_offset:
            raise ArtefactFormatError(f"array {name!r} starts at {offset}, expected {expected_offset} (arrays are back to back)")
        expected_offset += length
        entries.append((name, offset, length))

    manifest_start = position
    data_start = manifest_start + manifest_len
    end = data_start + expected_offset
    if end > limits.max_total_bytes:
        raise ArtefactTooLarge(f"{what} claims {end} bytes, more than the limit of {limits.max_total_bytes}")
    if size < end:
        raise ArtefactFormatError(f"{what} is truncated: {size} bytes, its table says {end}", reason="truncated")
    if size > end:
        raise ArtefactFormatError(f"{what} has {size - end} unexpected bytes after its last array")

    manifest = _parse_manifest(bytes(view[manifest_start:data_start]))
    if isinstance(manifest, dict) and container_version(manifest) != version:
        raise ArtefactFormatError(f"a version {version} container does not match its manifest, which makes it version "
                                  f"{container_version(manifest)} (1: no optional part; 2: a feature schema; 3: a privacy "
                                  "statement; 4: encrypted weights)")
    headers: dict[str, tuple[np.dtype, tuple[int, ...], int]] = {}
    for name, offset, length in entries:
        blob = view[data_start + offset : data_start + offset + length]
        dtype, shape, header_len = _read_npy_header(name, blob, limits)
        needed = math.prod(shape) * dtype.itemsize
        if header_len + needed != length:
            raise ArtefactFormatError(f"array {name!r} of shape {shape} needs {needed} data bytes, but its blob holds {length - header_len}")
        headers[name] = (dtype, shape, header_len)

    # Schema on names, dtypes and shapes first: nothing has been loaded yet.
    _check_schema(kind, manifest, {n: (d, s) for n, (d, s, _) in headers.items()}, limits)

    arrays: dict[str, np.ndarray] = {}
    for name, offset, length in entries:
        blob = bytes(view[data_start + offset : data_start + offset + length])
        try:
            array = np.load(io.BytesIO(blob), allow_pickle=False)
        except Exception as exc:  # defensive: the header was already checked
            raise ArtefactFormatError(f"array {name!r} cannot be read: {exc}") from None
        dtype, shape, _ = headers[name]
        if array.dtype != dtype or array.shape != shape:
            raise ArtefactFormatError(f"array {name!r} read as {array.dtype}{array.shape}, header said {dtype}{shape}")
        _check_values(kind, manifest, name, array)
        arrays[name] = array
    return manifest, arrays


def _article(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """The object, unless a key repeats. Linear in the pairs: naming the repeated key by
    `keys.count` per key was quadratic (a 1 MiB manifest of repeated keys took 475 s)."""
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key!r}")
            seen.add(key)
    return out


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _parse_manifest(raw: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(raw.decode("ascii"), object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ArtefactFormatError(f"manifest is not valid JSON: {exc}", reason="manifest") from None
    if not isinstance(manifest, dict):
        raise ArtefactSchemaError(f"manifest must be a JSON object, got {type(manifest).__name__}", reason="manifest")
    if _canonical_json(manifest, "manifest") != raw:
        raise ArtefactFormatError("manifest is not in canonical JSON form (sorted keys, no spaces, ASCII)", reason="manifest")
    return manifest


# ---------------------------------------------------------------------------------------
# Schemas
# ---------------------------------------------------------------------------------------


def _check_keys(manifest: dict[str, Any], required: frozenset[str], optional: frozenset[str], what: str) -> None:
    missing = sorted(required - set(manifest))
    if missing:
        raise ArtefactSchemaError(f"{what} manifest is missing key {missing[0]!r}")
    unknown = sorted(set(manifest) - required - optional)
    if unknown:
        raise ArtefactSchemaError(f"{what} manifest has unknown key {unknown[0]!r} (free-form data goes under 'metadata')")
    if "metadata" in manifest and not isinstance(manifest["metadata"], dict):
        raise ArtefactSchemaError(f"{what} manifest 'metadata' must be a JSON object, got {type(manifest['metadata']).__name__}")


def _choice(manifest: dict[str, Any], key: str, allowed: tuple[str, ...], what: str) -> str:
    value = manifest[key]
    if value not in allowed:
        raise ArtefactSchemaError(f"{what} manifest {key!r} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    return value


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _check_schema(kind: int, manifest: dict[str, Any], geometry: dict[str, tuple[np.dtype, tuple[int, ...]]], limits: Limits) -> None:
    if kind == _KIND_VALIDATION:
        _check_validation_schema(manifest, geometry, limits)
    else:
        _check_param_schema(_KIND_NAMES[kind], manifest, geometry, limits)


def _check_param_schema(what: str, manifest: dict[str, Any], geometry: dict[str, tuple[np.dtype, tuple[int, ...]]], limits: Limits) -> None:
    _check_keys(manifest, _PARAM_KEYS_REQUIRED, _PARAM_KEYS_OPTIONAL | ({"privacy"} if what == "update" else set()), what)
    if "privacy" in manifest and not isinstance(manifest["privacy"], dict):
        raise ArtefactSchemaError(f"update manifest 'privacy' must be a JSON object, got {type(manifest['privacy']).__name__}")
    architecture = _choice(manifest, "architecture", ARCHITECTURES, what)
    _choice(manifest, "dtype", ("float32",), what)
    metric = _choice(manifest, "metric", METRICS, what)
    layers = manifest["layers"]
    if not isinstance(layers, list) or not layers:
        raise ArtefactSchemaError(f"{what} manifest 'layers' must be a non-empty list of [in, out] pairs")
    if len(layers) > limits.max_layers:
        raise ArtefactTooLarge(f"{what} has {len(layers)} layers, more than the limit of {limits.max_layers}")
    for index, layer in enumerate(layers):
        if not (isinstance(layer, list) and len(layer) == 2 and all(_is_count(v) for v in layer)):
            raise ArtefactSchemaError(f"{what} manifest layers[{index}] must be [in, out] with positive integers, got {layer!r}")
        if max(layer) > limits.max_dim:
            raise ArtefactTooLarge(f"{what} manifest layers[{index}] = {layer} exceeds the dimension limit of {limits.max_dim}")
        if index and layer[0] != layers[index - 1][1]:
            raise ArtefactSchemaError(f"{what} manifest layers[{index}] takes {layer[0]} inputs but layers[{index - 1}] outputs {layers[index - 1][1]}")

    if "features" in manifest:
        _check_features(manifest["features"], layers[0][0], what)
    activation = manifest.get("activation")
    out = layers[-1][1]
    if architecture in ("logistic", "softmax"):
        if len(layers) != 1:
            raise ArtefactSchemaError(f"a {architecture} {what} has exactly one layer, got {len(layers)}")
        if "activation" in manifest:
            raise ArtefactSchemaError(f"a {architecture} {what} takes no 'activation' (only mlp has hidden layers)")
        if metric not in _CLASSIFICATION_METRICS:
            raise ArtefactSchemaError(f"a {architecture} {what} is a classifier: metric must be accuracy or log_loss, got {metric!r}")
        if architecture == "logistic" and out != 1:
            raise ArtefactSchemaError(f"a logistic {what} has one output, got layers[0] = {layers[0]}")
        if architecture == "softmax" and out < 2:
            raise ArtefactSchemaError(f"a softmax {what} has at least 2 outputs, got layers[0] = {layers[0]}")
    else:
        if len(layers) < 2:
            raise ArtefactSchemaError(f"an mlp {what} has at least two layers, got {len(layers)}")
        if activation not in ACTIVATIONS:
            raise ArtefactSchemaError(f"an mlp {what} manifest 'activation' must be one of {', '.join(map(repr, ACTIVATIONS))}; got {activation!r}")
        if metric == "mse" and out != 1:
            raise ArtefactSchemaError(f"an mlp {what} with metric 'mse' has one output, got {out}")

    if "encryption" in manifest:
        _check_encrypted_schema(what, manifest, geometry)
        return
    expected: dict[str, tuple[int, ...]] = {}
    for index, (d_in, d_out) in enumerate(layers):
        expected[f"W{index}"] = (d_in, d_out)
        expected[f"b{index}"] = (d_out,)
    for name in sorted(expected):
        if name not in geometry:
            raise ArtefactSchemaError(f"{what} is missing array {name!r} (expected float32 of shape {expected[name]})", reason="shape")
    for name in sorted(geometry):
        if name not in expected:
            raise ArtefactSchemaError(f"{what} has unexpected array {name!r} (expected only {', '.join(sorted(expected))})", reason="shape")
        dtype, shape = geometry[name]
        if dtype != _FLOAT32:
            raise ArtefactSchemaError(f"{what} array {name!r} has dtype {_DTYPE_NAMES.get(dtype, dtype)}, expected float32", reason="dtype")
        if tuple(shape) != expected[name]:
            raise ArtefactSchemaError(f"{what} array {name!r} has shape {tuple(shape)}, expected {expected[name]} from the manifest's layers", reason="shape")


def _check_encrypted_schema(what: str, manifest: dict[str, Any], geometry: dict[str, tuple[np.dtype, tuple[int, ...]]]) -> None:
    """Version 4: the weights are Paillier ciphertexts, in one 1-D uint8 array `paillier`."""
    if manifest["encryption"] != ENCRYPTION:
        raise ArtefactSchemaError(f"{what} manifest 'encryption' must be {json.dumps(ENCRYPTION, sort_keys=True)}, "
                                  f"got {manifest['encryption']!r}")
    if manifest["architecture"] not in ("logistic", "softmax"):
        raise ArtefactSchemaError(f"an encrypted {what} is a linear model (logistic or softmax), not {manifest['architecture']!r}")
    if set(geometry) != {ENCRYPTED_ARRAY}:
        raise ArtefactSchemaError(f"an encrypted {what} holds exactly one array, {ENCRYPTED_ARRAY!r} (the ciphertexts); "
                                  f"got {', '.join(sorted(geometry)) or 'none'}", reason="shape")
    dtype, shape = geometry[ENCRYPTED_ARRAY]
    if dtype != _BYTES or len(shape) != 1:
        raise ArtefactSchemaError(f"{what} array {ENCRYPTED_ARRAY!r} must be 1-D uint8, got {_DTYPE_NAMES.get(dtype, dtype)} "
                                  f"of shape {tuple(shape)}", reason="dtype")


def _check_features(document: Any, inputs: int, what: str) -> None:
    from fathom.ml.schema import FeatureSchema, SchemaError

    try:
        width = FeatureSchema.from_json(document).width
    except SchemaError as exc:
        raise ArtefactSchemaError(f"{what} manifest 'features': {exc}") from None
    if width != inputs:
        raise ArtefactSchemaError(f"{what} manifest 'features' describe {width} model inputs but layers[0] takes {inputs}")


def _check_validation_schema(manifest: dict[str, Any], geometry: dict[str, tuple[np.dtype, tuple[int, ...]]], limits: Limits) -> None:
    what = "validation set"
    _check_keys(manifest, _VALIDATION_KEYS_REQUIRED, _VALIDATION_KEYS_OPTIONAL, what)
    task = _choice(manifest, "task", TASKS, what)
    if task == "classification":
        n_classes = manifest.get("n_classes")
        if not _is_count(n_classes) or n_classes < 2:
            raise ArtefactSchemaError(f"a classification validation set needs 'n_classes', an integer >= 2; got {n_classes!r}")
        if n_classes > limits.max_dim:
            raise ArtefactTooLarge(f"validation set 'n_classes' = {n_classes} exceeds the dimension limit of {limits.max_dim}")
    elif "n_classes" in manifest:
        raise ArtefactSchemaError("a regression validation set takes no 'n_classes'")
    for name in ("X", "y"):
        if name not in geometry:
            raise ArtefactSchemaError(f"validation set is missing array {name!r}", reason="shape")
    extra = sorted(set(geometry) - {"X", "y"})
    if extra:
        raise ArtefactSchemaError(f"validation set has unexpected array {extra[0]!r} (expected only 'X' and 'y')", reason="shape")
    x_dtype, x_shape = geometry["X"]
    y_dtype, y_shape = geometry["y"]
    if x_dtype != _FLOAT32:
        raise ArtefactSchemaError(f"validation set array 'X' has dtype {_DTYPE_NAMES.get(x_dtype, x_dtype)}, expected float32", reason="dtype")
    if len(x_shape) != 2 or min(x_shape) < 1:
        raise ArtefactSchemaError(f"validation set array 'X' has shape {tuple(x_shape)}, expected (n, d) with n, d >= 1", reason="shape")
    if x_shape[0] > limits.max_rows:
        raise ArtefactTooLarge(f"validation set has {x_shape[0]} rows, more than the limit of {limits.max_rows}")
    want_y = _INT64 if task == "classification" else _FLOAT32
    if y_dtype != want_y:
        raise ArtefactSchemaError(f"validation set array 'y' has dtype {_DTYPE_NAMES.get(y_dtype, y_dtype)}, expected {_DTYPE_NAMES[want_y]} for {task}",
                                  reason="dtype")
    if tuple(y_shape) != (x_shape[0],):
        raise ArtefactSchemaError(f"validation set array 'y' has shape {tuple(y_shape)}, expected ({x_shape[0]},) to match X", reason="shape")


def _check_values(kind: int, manifest: dict[str, Any], name: str, array: np.ndarray) -> None:
    what = _KIND_NAMES[kind]
    if array.dtype == _FLOAT32 and not np.isfinite(array).all():
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ArtefactSchemaError(f"{what} array {name!r} has {bad} NaN or infinite value(s)", reason="non_finite")
    if kind == _KIND_VALIDATION and name == "y" and manifest.get("task") == "classification":
        n_classes = manifest["n_classes"]
        if array.size and (array.min() < 0 or array.max() >= n_classes):
            raise ArtefactSchemaError(f"validation set array 'y' has labels in [{array.min()}, {array.max()}], expected [0, {n_classes - 1}]",
                                      reason="labels")

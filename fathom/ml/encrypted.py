"""The encrypted-weights mode: training a linear model its contributors cannot read.

Who holds what
--------------
- The **committee** (the bounty's oracles) holds the Paillier secret key. It encrypts the
  model's weights (`encrypt_model`), decrypts each submitted update (`decrypt`), scores
  it on the hidden validation set like any other update, and merges.
- A **contributor** receives the public key and the ciphertexts of the weights only
  (`EncryptedWeights`, serialised by `pack`). With its own plaintext data it computes an
  encrypted update (`encrypted_update`, or one gradient: `encrypted_gradient`), adds its
  DP noise under encryption if asked (`add_noise`), and submits the ciphertexts. It never
  holds a weight in the clear, so it can neither use the model nor score it locally.

The algebra
-----------
Paillier adds ciphertexts and multiplies them by plain integers, nothing more, so the
update must be an affine function of the weights. With the bias as a last input column
(``Xb = [X | 1]``, n rows) and ``w`` one model row of ``d + 1`` weights, the mean-loss
gradient is

    linear regression    g(w) = (1/n) Xb^T Xb w        - (1/n) Xb^T y
    logistic (approx.)   g(w) = (1/(4n)) Xb^T Xb w + (1/n) Xb^T (1/2 - y)

where the logistic line replaces ``sigmoid(z)`` by its degree-1 Taylor polynomial at 0,
``1/2 + z/4`` (`sigmoid_error` bounds what that costs; the benchmark measures it in
accuracy). So ``g(w) = H w + c`` with ``H`` and ``c`` computed by the contributor in
plaintext from its own data. ``steps`` steps of gradient descent with rate ``lr`` are one
affine map too: ``w_k = M^k w - lr (sum_{i<k} M^i) c`` with ``M = I - lr H``, so the
contributor sends ``E(delta) = E(B w + e)``, ``B = M^k - I``, ``e = -lr sum_{i<k} M^i c``,
at the cost of ONE encrypted matrix-vector product whatever ``steps`` is: ``(d+1)**2``
scalar multiplications, independent of n.

More classes: one-vs-rest, one binary model (one row of weights) per class, trained on the
labels ``y == class``; the committee predicts the class whose row has the largest logit.

Fixed point
-----------
Weights travel at `fathom.ml.quantize.WEIGHTS` (2**-24), the contributor's ``B`` at
`COEFFICIENTS` (2**-20); an update decrypts to integers at scale ``2**-(24 + 20)`` and
`decrypt` decodes it. All codes are deterministic (no random rounding), so every oracle
that decrypts the same ciphertexts gets the same bits. The error of the whole pipeline
against the exact float computation is bounded by `quantisation_bound`.

Circuit privacy: the last operation of a contributor's computation adds a freshly
encrypted term (``E(e)``), which re-randomises every output ciphertext, so the
committee learns the update's value and nothing about how it was computed beyond it.

Serialised form (`pack` / `unpack`), version `FORMAT_VERSION`, integers big-endian::

    offset  size  field
    0       8     magic b"FTHMPAIL"
    8       1     version = 1
    9       4     H = header length (uint32)
    13      H     header: canonical JSON (sorted keys, no spaces)
    13+H    R*C*L ciphertexts, row-major, each L = ceil(2 * bits(n) / 8) bytes

    header = {"kind": "model" | "update", "task": "linear" | "logistic",
              "inputs": d, "rows": R, "frac_bits": F, "public_key": {"scheme": "paillier", "n": "<hex>"}}

with ``C = d + 1`` (the bias last). Sizes are bounded by `MAX_WEIGHTS` (see README, "The
encrypted-weights mode": the committee's decryption budget).
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from fathom.crypto import paillier
from fathom.ml import artefacts, models
from fathom.errors import FathomError
from fathom.ml.privacy.mechanisms import os_generator
from fathom.ml.quantize import COEFFICIENTS, WEIGHTS, FixedPoint

__all__ = [
    "EncryptedWeights",
    "EncryptedModeError",
    "FORMAT_VERSION",
    "MAX_WEIGHTS",
    "TASKS",
    "DECRYPT_SECONDS",
    "add_noise",
    "affine_update",
    "canonical",
    "check_budget",
    "committee_seconds",
    "decrypt_head",
    "from_container",
    "to_container",
    "decrypt",
    "decrypt_update",
    "encrypt_head",
    "encrypt_model",
    "encrypt_container",
    "encrypted_gradient",
    "encrypted_update",
    "open_update",
    "plain_manifest",
    "from_params",
    "pack",
    "plain_update",
    "quantisation_bound",
    "sigmoid_error",
    "task_of",
    "to_params",
    "unpack",
]

TASKS = ("linear", "logistic")
FORMAT_VERSION = 1
MAGIC = b"FTHMPAIL"
_HEAD = struct.Struct(">8sBI")
#: The most ciphertexts one model or update may carry (rows * (d + 1)). Decrypting one
#: 2048-bit ciphertext costs ~2.5 ms on one core (benchmarks/paillier.py), so a committee
#: member opening 32 updates of 1,024 weights spends ~84 s, inside the default scoring
#: timeout of 600 s; 7,840 weights (MNIST one-vs-rest) would take ~11 min and are refused.
MAX_WEIGHTS = 1024
_MAX_HEADER = 4096
#: What a committee member budgets per 2048-bit ciphertext it decrypts or encrypts: 10 ms,
#: four times the 2.5 ms measured on one idle core (benchmarks/paillier.py; 7 ms at a
#: load of 6.5), so the bound below holds on a busy machine.
DECRYPT_SECONDS = 0.010
#: The scoring window, as a share of the scoring timeout: a member fetches until half of it
#: (the report deadline, SPECIFICATION F8) and commits before three quarters (the commit close,
#: R11), so parsing, scoring and the commitment's inclusion have one quarter.
BUDGET_SHARE = 4
#: What a batch's Paillier work leaves of the scoring window for parsing and scoring in the
#: clear and the commitment's inclusion before the commit close: five 12-second blocks (review
#: 11, F4: at the 600 s floor the budget was the whole 150 s window, with no room to commit).
COMMIT_MARGIN_SECONDS = 60
#: Steps of one update (each a (d+1)^2 matrix product in the clear; the encrypted cost is the same for any number).
MAX_STEPS = 10_000


class EncryptedModeError(FathomError, ValueError):
    """A malformed encrypted model or update, or an input the mode cannot take."""


@dataclass(frozen=True)
class EncryptedWeights:
    """Ciphertexts of ``rows`` model rows of ``inputs + 1`` weights (bias last)."""

    public_key: paillier.PublicKey
    kind: str            # "model" (from the committee) or "update" (from a contributor)
    task: str            # "linear" or "logistic"
    inputs: int          # d
    frac_bits: int       # the plaintexts are codes at scale 2**frac_bits
    ciphertexts: tuple[tuple[int, ...], ...]

    @property
    def rows(self) -> int:
        return len(self.ciphertexts)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows, self.inputs + 1)


# --- the committee's side -----------------------------------------------------------

def to_params(rows: np.ndarray) -> dict[str, np.ndarray]:
    """Model rows (R, d + 1) -> Fathom's ``W0`` (d, R) and ``b0`` (R,), float32."""
    rows = np.asarray(rows, dtype=np.float64)
    return {"W0": np.ascontiguousarray(rows[:, :-1].T, dtype=np.float32), "b0": rows[:, -1].astype(np.float32)}


def from_params(params: Mapping[str, np.ndarray]) -> np.ndarray:
    """Fathom's ``W0`` (d, R), ``b0`` (R,) -> model rows (R, d + 1), float64."""
    W, b = np.asarray(params["W0"], dtype=np.float64), np.asarray(params["b0"], dtype=np.float64)
    if W.ndim != 2 or b.shape != (W.shape[1],):
        raise EncryptedModeError("a linear model is W0 (d, R) and b0 (R,)")
    return np.concatenate([W.T, b[:, None]], axis=1)


def encrypt_model(key: paillier.PublicKey, rows: np.ndarray, task: str, codec: FixedPoint = WEIGHTS) -> EncryptedWeights:
    """The committee encrypts model rows (R, d + 1) for contributors."""
    rows = np.asarray(rows, dtype=np.float64)
    _check_task(task)
    if rows.ndim != 2 or rows.shape[1] < 2:
        raise EncryptedModeError("model rows are a (R, d + 1) array")
    _check_size(rows.shape[0], rows.shape[1] - 1)
    cts = [tuple(key.encrypt_many(codec.encode(row))) for row in rows]
    return EncryptedWeights(key, "model", task, rows.shape[1] - 1, codec.frac_bits, tuple(cts))


def task_of(manifest: Mapping[str, object]) -> str:
    """The task of a Fathom model in this mode: ``logistic`` (one sigmoid output) and
    ``softmax`` (k outputs, trained one-vs-rest; scored by its largest logit, so its
    accuracy is one-vs-rest's, not its log loss) are linear; an mlp is not."""
    spec = models.model_spec(manifest)
    if spec.architecture in ("logistic", "softmax"):
        return "logistic"
    raise EncryptedModeError(f"the encrypted-weights mode trains linear models; a {spec.architecture!r} model is not one")


def encrypt_head(key: paillier.PublicKey, manifest: Mapping[str, object], params: Mapping[str, np.ndarray],
                 seed: bytes | None = None) -> EncryptedWeights:
    """The committee encrypts a Fathom model (``W0``, ``b0``) for contributors; with
    ``seed`` the ciphertexts are the same for every member (`PublicKey.encrypt_many`)."""
    task = task_of(manifest)
    rows = from_params(models.check_params(manifest, params))
    _check_size(rows.shape[0], rows.shape[1] - 1)
    flat = key.encrypt_many(WEIGHTS.encode(rows), seed=seed)
    width = rows.shape[1]
    cts = tuple(tuple(flat[i * width:(i + 1) * width]) for i in range(rows.shape[0]))
    return EncryptedWeights(key, "model", task, width - 1, WEIGHTS.frac_bits, cts)


def decrypt_update(secret: paillier.SecretKey, data: bytes, manifest: Mapping[str, object]) -> dict[str, np.ndarray]:
    """The committee's step before scoring: a packed encrypted update -> the float32
    delta (``W0``, ``b0``) that `fathom.ml.models.score_many` takes. Refused
    (EncryptedModeError) if it is not an update under the committee's key, or does not
    fit the head, or decrypts out of range."""
    return _decrypt_update(secret, unpack(data, expected_key=secret.public), manifest)


def _decrypt_update(secret: paillier.SecretKey, update: EncryptedWeights, manifest: Mapping[str, object]) -> dict[str, np.ndarray]:
    spec = models.model_spec(manifest)
    if update.kind != "update" or update.task != task_of(manifest):
        raise EncryptedModeError(f"expected a logistic update, got a {update.task} {update.kind}")
    if update.shape != (spec.outputs, spec.d + 1):
        raise EncryptedModeError(f"the update has shape {update.shape}, the head takes {(spec.outputs, spec.d + 1)}")
    try:
        rows = decrypt(secret, update)
    except paillier.PaillierError as exc:
        raise EncryptedModeError(f"the update does not decrypt: {exc}") from exc
    if not np.all(np.abs(rows) <= WEIGHTS.bound):
        raise EncryptedModeError(f"the update leaves the weights' range of +-2**{WEIGHTS.int_bits}")
    return models.check_update(manifest, to_params(rows))


def decrypt(secret: paillier.SecretKey, weights: EncryptedWeights) -> np.ndarray:
    """The committee's view: the (R, d + 1) float64 values (weights or update)."""
    if secret.public != weights.public_key:
        raise EncryptedModeError("this secret key does not belong to the weights' public key")
    codec = FixedPoint(frac_bits=0, int_bits=0)
    return np.stack([codec.decode(secret.decrypt_many(row), weights.frac_bits) for row in weights.ciphertexts])


def canonical(params: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The weights as the mode carries them: each value rounded to the `WEIGHTS` grid
    (2**-24, round-half-even), as float32. Exact and idempotent: a value of at least 1/2
    on the grid is a float32, and one below it has at most 23 significant bits; so what a
    member decrypts from an encrypted head is bit for bit the model it encrypted."""
    rows = from_params(params)
    codes = WEIGHTS.encode(rows)
    return to_params(FixedPoint(0, 0).decode(codes, WEIGHTS.frac_bits).reshape(rows.shape))


def committee_seconds(rows: int, inputs: int, batch_size: int) -> float:
    """A member's budgeted Paillier work for one batch: decrypting `batch_size` updates and
    encrypting the merged head, each ``rows * (inputs + 1)`` ciphertexts, at `DECRYPT_SECONDS`."""
    return (batch_size + 1) * rows * (inputs + 1) * DECRYPT_SECONDS


def budget_seconds(scoring_timeout: int, margin: float = COMMIT_MARGIN_SECONDS) -> float:
    """The Paillier work a batch may take: the scoring window (a quarter of the scoring timeout,
    from the report deadline to the commit close) less `margin`, the time left to commit
    (`COMMIT_MARGIN_SECONDS` when a bounty is opened)."""
    return scoring_timeout / BUDGET_SHARE - margin


def check_budget(manifest: Mapping[str, object], batch_size: int, scoring_timeout: int,
                 margin: float = COMMIT_MARGIN_SECONDS) -> tuple[int, int]:
    """The mode's size bound, checked before a bounty is opened (and by each member before it
    joins, with `margin` 0): a linear model (logistic or softmax, one-vs-rest), at most
    `MAX_WEIGHTS` ciphertexts per model or update, and a batch's Paillier work
    (`committee_seconds`) within `budget_seconds(scoring_timeout, margin)`. Returns (rows, inputs)."""
    task_of(manifest)
    spec = models.model_spec(manifest)
    rows, inputs = spec.outputs, spec.d
    _check_size(rows, inputs)
    seconds = committee_seconds(rows, inputs, batch_size)
    if seconds > budget_seconds(scoring_timeout, margin):
        needed = int(np.ceil((seconds + margin) * BUDGET_SHARE))
        raise EncryptedModeError(
            f"a batch of {batch_size} encrypted updates of {rows * (inputs + 1)} weights costs each committee member "
            f"up to {seconds:.0f} s of Paillier work, more than the {budget_seconds(scoring_timeout, margin):.0f} s a "
            f"{scoring_timeout} s scoring timeout leaves for it (a quarter, less {margin:.0f} s to commit): "
            f"use --timeout {needed} or more, or a smaller batch or model")
    return rows, inputs


def to_container(weights: EncryptedWeights, manifest: Mapping[str, object]) -> tuple[dict[str, object], dict[str, np.ndarray]]:
    """A container version 4 (`fathom.ml.artefacts`) of encrypted weights: the plaintext
    manifest (what the ciphertexts encode) with ``"encryption"``, and one uint8 array."""
    spec = models.model_spec(manifest)
    if weights.shape != (spec.outputs, spec.d + 1):
        raise EncryptedModeError(f"weights of shape {weights.shape} do not fit a model of {(spec.outputs, spec.d + 1)}")
    out = {k: v for k, v in manifest.items() if k != "encryption"} | {"encryption": dict(artefacts.ENCRYPTION)}
    return out, {artefacts.ENCRYPTED_ARRAY: np.frombuffer(pack(weights), dtype=np.uint8).copy()}


def from_container(params: artefacts.Model | artefacts.Update, expected_key: paillier.PublicKey) -> EncryptedWeights:
    """The ciphertexts of a container version 4, checked: under ``expected_key`` (the
    bounty's), of the kind the container is, and of the shape its manifest states."""
    if not params.encrypted:
        raise EncryptedModeError("this bounty takes encrypted weights only: the artefact holds plaintext weights")
    weights = unpack(params.arrays[artefacts.ENCRYPTED_ARRAY].tobytes(), expected_key=expected_key)
    kind = "update" if isinstance(params, artefacts.Update) else "model"
    if weights.kind != kind:
        raise EncryptedModeError(f"the container is a {kind} but its ciphertexts are a {weights.kind}")
    spec = models.model_spec(plain_manifest(params.manifest))
    if weights.task != task_of(spec.manifest()) or weights.shape != (spec.outputs, spec.d + 1):
        raise EncryptedModeError(f"the ciphertexts are a {weights.task} {weights.shape}, the manifest states "
                                 f"{(spec.outputs, spec.d + 1)}")
    if kind == "model" and weights.frac_bits != WEIGHTS.frac_bits:
        raise EncryptedModeError(f"an encrypted model is at 2**-{WEIGHTS.frac_bits}, not 2**-{weights.frac_bits}")
    return weights


def plain_manifest(manifest: Mapping[str, object]) -> dict[str, object]:
    """The manifest of what an encrypted container encodes (without ``"encryption"``)."""
    return {k: v for k, v in manifest.items() if k != "encryption"}


def decrypt_head(secret: paillier.SecretKey, model: artefacts.Model) -> artefacts.Model:
    """The committee's view of an encrypted model: the plaintext `Model` it encodes."""
    weights = from_container(model, secret.public)
    try:
        rows = decrypt(secret, weights)
    except paillier.PaillierError as exc:
        raise EncryptedModeError(f"the model does not decrypt: {exc}") from exc
    manifest = plain_manifest(model.manifest)
    return artefacts.Model(manifest, models.check_params(manifest, to_params(rows)))


def encrypt_container(secret: paillier.SecretKey, model: artefacts.Model) -> artefacts.Model:
    """The committee's encrypted head of a plaintext model (its `canonical` weights), the
    same bytes for every member: the randomness comes from a seed only key holders can
    derive, bound to the model's bytes (`SecretKey.seed_for`), never reused for others."""
    manifest = plain_manifest(model.manifest)
    params = canonical(model.arrays)
    content = artefacts.pack_model(manifest, params)
    weights = encrypt_head(secret.public, manifest, params, seed=secret.seed_for(hashlib.sha256(content).digest()))
    return artefacts.Model(*to_container(weights, manifest))


def open_update(secret: paillier.SecretKey, update: artefacts.Update) -> artefacts.Update:
    """The committee's view of an encrypted update: the float32 delta it decrypts to, with
    its manifest (less ``"encryption"``), which the oracle then checks against the head."""
    weights = from_container(update, secret.public)
    manifest = plain_manifest(update.manifest)
    return artefacts.Update(manifest, _decrypt_update(secret, weights, manifest))


# --- the contributor's side (public key, ciphertexts, its own data) -----------------

def affine_update(X: np.ndarray, y: np.ndarray, task: str, lr: float | None = None, steps: int = 1,
                  row: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The plaintext ``(B, e)`` with ``update(w) = B w + e`` for one model row.

    ``lr=None`` gives the gradient itself (``B = H``, ``e = c``); otherwise ``steps``
    steps of gradient descent with rate ``lr``. ``row`` is the class of a one-vs-rest
    model (labels ``y == row``); None for one row (regression, binary 0/1 labels).
    """
    _check_task(task)
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).ravel()
    if X.ndim != 2 or X.shape[0] == 0 or y.shape != (X.shape[0],) or not np.all(np.isfinite(X)) or not np.all(np.isfinite(y)):
        raise EncryptedModeError("the data are a finite (n, d) array X and n finite targets y")
    if row is not None:
        y = (y == row).astype(np.float64)
    elif task == "logistic" and not np.all((y == 0) | (y == 1)):
        raise EncryptedModeError("binary logistic regression takes labels 0 and 1 (more classes: one-vs-rest)")
    n = X.shape[0]
    Xb = np.concatenate([X, np.ones((n, 1))], axis=1)
    slope, offset = (1.0, 0.0) if task == "linear" else (0.25, 0.5)
    H = slope * (Xb.T @ Xb) / n
    c = Xb.T @ (offset - y) / n
    if lr is None:
        return H, c
    if not (isinstance(steps, int) and 1 <= steps <= MAX_STEPS) or not (np.isfinite(lr) and lr > 0):
        raise EncryptedModeError(f"steps is an integer from 1 to {MAX_STEPS} and lr a positive number")
    top = float(np.linalg.eigvalsh(H)[-1])  # H is symmetric positive semi-definite
    if lr * top >= 2.0:
        # the approximated loss is quadratic: past 2 / lambda_max the steps diverge (the true
        # sigmoid's gradient saturates, this one does not), so the update would be garbage
        raise EncryptedModeError(f"lr {lr:g} diverges on these data: keep it below {2.0 / top:.4g} (2 / the largest "
                                 "eigenvalue of the loss's curvature)")
    M = np.eye(Xb.shape[1]) - lr * H
    power, total = np.eye(Xb.shape[1]), np.zeros_like(H)
    for _ in range(steps):
        total += power
        power = power @ M
    return power - np.eye(Xb.shape[1]), -lr * (total @ c)


def plain_update(rows: np.ndarray, X: np.ndarray, y: np.ndarray, task: str, lr: float | None = None, steps: int = 1) -> np.ndarray:
    """The same update in the clear, in float64, for the committee's checks and the tests."""
    rows = np.asarray(rows, dtype=np.float64)
    out = []
    for r in range(rows.shape[0]):
        B, e = affine_update(X, y, task, lr, steps, row=_class_of(rows.shape[0], r))
        out.append(B @ rows[r] + e)
    return np.stack(out)


def encrypted_update(weights: EncryptedWeights, X: np.ndarray, y: np.ndarray, lr: float | None = None,
                     steps: int = 1, codec: FixedPoint = COEFFICIENTS) -> EncryptedWeights:
    """``E(B w + e)`` for every model row: ``steps`` steps of rate ``lr`` (or, with
    ``lr=None``, the gradient), computed on the ciphertexts with the contributor's data."""
    if weights.kind != "model":
        raise EncryptedModeError("an encrypted update is computed from an encrypted model")
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != weights.inputs:
        raise EncryptedModeError(f"the model takes {weights.inputs} features, the data have {X.shape[1:] or 'no'} columns")
    key = weights.public_key
    out_bits = weights.frac_bits + codec.frac_bits
    rows = []
    for r, cts in enumerate(weights.ciphertexts):
        B, e = affine_update(X, y, weights.task, lr, steps, row=_class_of(weights.rows, r))
        Bq = codec.encode_matrix(B)
        eq = FixedPoint(out_bits, codec.int_bits).encode(e)
        _check_no_overflow(key, Bq, weights.frac_bits + WEIGHTS.int_bits)
        inverses = [paillier.negate(key, c) for c in cts]
        rows.append(tuple(paillier.add_plain(key, paillier.dot(key, cts, inverses, Bq[i]), eq[i])
                          for i in range(len(cts))))
    return EncryptedWeights(key, "update", weights.task, weights.inputs, out_bits, tuple(rows))


def encrypted_gradient(weights: EncryptedWeights, X: np.ndarray, y: np.ndarray) -> EncryptedWeights:
    """``E(g(w))``: one gradient of the mean loss at the encrypted weights."""
    return encrypted_update(weights, X, y, lr=None)


def add_noise(update: EncryptedWeights, std: float) -> EncryptedWeights:
    """Gaussian noise of standard deviation ``std`` added to every coordinate under
    encryption. The noise comes from the OS's randomness (`fathom.ml.privacy.mechanisms.
    os_generator`): nothing the caller passes can reproduce it.

    What it does NOT give on its own: a DP guarantee needs the update's sensitivity, which
    here depends on the norm of weights the contributor cannot see; the statement an
    update carries is left to the committee's bound on the model (README).
    """
    if update.kind != "update":
        raise EncryptedModeError("noise is added to an update, not to the model")
    if not (np.isfinite(std) and std > 0):
        raise EncryptedModeError("the noise's standard deviation is a positive number")
    rng = os_generator()
    codec = FixedPoint(update.frac_bits, COEFFICIENTS.int_bits)
    key = update.public_key
    rows = []
    for cts in update.ciphertexts:
        noise = codec.encode(rng.normal(0.0, std, size=len(cts)))
        rows.append(tuple(paillier.add_plain(key, c, z) for c, z in zip(cts, noise)))
    return EncryptedWeights(key, "update", update.task, update.inputs, update.frac_bits, tuple(rows))


# --- error bounds -------------------------------------------------------------------

def sigmoid_error(z_max: float) -> float:
    """``max |sigmoid(z) - (1/2 + z/4)|`` over ``|z| <= z_max``: the line is tangent at 0
    and sigmoid is concave for z > 0 (odd symmetry below), so the gap grows with |z| and
    is largest at the ends."""
    z = abs(float(z_max))
    return z / 4.0 - (1.0 / (1.0 + np.exp(-z)) - 0.5)


def quantisation_bound(B: np.ndarray, w: np.ndarray, weights: FixedPoint = WEIGHTS, coefficients: FixedPoint = COEFFICIENTS) -> np.ndarray:
    """Per coordinate, how far the decrypted ``B w + e`` may be from its float64 value:
    rounding w (half a weight step), B (half a coefficient step) and e (half an output
    step), each propagated through the product."""
    B, w = np.abs(np.asarray(B, dtype=np.float64)), np.abs(np.asarray(w, dtype=np.float64))
    hw, hb = weights.resolution / 2, coefficients.resolution / 2
    step = weights.resolution * coefficients.resolution  # one unit of the output's code
    rounding = B @ np.full_like(w, hw) + hb * (w.sum() + w.size * hw) + step / 2
    return rounding + 8 * np.finfo(float).eps * (B @ w + 1)  # float64 decoding and reference


# --- the serialised form ------------------------------------------------------------

def pack(weights: EncryptedWeights) -> bytes:
    _check_size(weights.rows, weights.inputs)
    key = weights.public_key
    header = json.dumps({"kind": weights.kind, "task": weights.task, "inputs": weights.inputs, "rows": weights.rows,
                         "frac_bits": weights.frac_bits, "public_key": key.to_json()},
                        sort_keys=True, separators=(",", ":")).encode()
    width = key.ciphertext_bytes
    body = b"".join(key.check(c).to_bytes(width, "big") for row in weights.ciphertexts for c in row)
    return _HEAD.pack(MAGIC, FORMAT_VERSION, len(header)) + header + body


def unpack(data: bytes, expected_key: paillier.PublicKey | None = None) -> EncryptedWeights:
    """Parse and check a packed model or update; with ``expected_key``, refuse any other key."""
    if len(data) < _HEAD.size:
        raise EncryptedModeError("too short for an encrypted model or update")
    magic, version, hlen = _HEAD.unpack_from(data, 0)
    if magic != MAGIC:
        raise EncryptedModeError("not an encrypted model or update (bad magic)")
    if version != FORMAT_VERSION:
        raise EncryptedModeError(f"encrypted-weights format version {version} is not supported (this code reads {FORMAT_VERSION})")
    if hlen > _MAX_HEADER or _HEAD.size + hlen > len(data):
        raise EncryptedModeError("the header length is out of bounds")
    raw = data[_HEAD.size:_HEAD.size + hlen]
    try:
        header = json.loads(raw)
    except ValueError as exc:
        raise EncryptedModeError("the header is not JSON") from exc
    if not isinstance(header, dict) or set(header) != {"kind", "task", "inputs", "rows", "frac_bits", "public_key"}:
        raise EncryptedModeError("the header has the wrong keys")
    if json.dumps(header, sort_keys=True, separators=(",", ":")).encode() != raw:
        raise EncryptedModeError("the header is not canonical JSON")
    kind, task, d, rows, bits = (header[k] for k in ("kind", "task", "inputs", "rows", "frac_bits"))
    if kind not in ("model", "update") or task not in TASKS:
        raise EncryptedModeError("unknown kind or task")
    if not all(type(v) is int for v in (d, rows, bits)) or d < 1 or rows < 1 or not 0 <= bits <= 60:
        raise EncryptedModeError("inputs, rows and frac_bits must be non-negative integers")
    _check_size(rows, d)
    try:
        key = paillier.PublicKey.from_json(header["public_key"])
    except paillier.PaillierError as exc:
        raise EncryptedModeError(str(exc)) from exc
    if expected_key is not None and key != expected_key:
        raise EncryptedModeError("encrypted under another public key than the bounty's")
    width = key.ciphertext_bytes
    body = memoryview(data)[_HEAD.size + hlen:]
    if len(body) != rows * (d + 1) * width:
        raise EncryptedModeError(f"expected {rows * (d + 1)} ciphertexts of {width} bytes")
    cts = []
    for r in range(rows):
        row = []
        for i in range(d + 1):
            at = (r * (d + 1) + i) * width
            try:
                row.append(key.check(int.from_bytes(body[at:at + width], "big")))
            except paillier.PaillierError as exc:
                raise EncryptedModeError(f"ciphertext {r},{i}: {exc}") from exc
        cts.append(tuple(row))
    return EncryptedWeights(key, kind, task, d, bits, tuple(cts))


# --- helpers ------------------------------------------------------------------------

def _check_task(task: str) -> None:
    if task not in TASKS:
        raise EncryptedModeError(f"the encrypted-weights mode trains {' or '.join(TASKS)} models, not {task!r}")


def _check_size(rows: int, inputs: int) -> None:
    if rows * (inputs + 1) > MAX_WEIGHTS:
        raise EncryptedModeError(f"{rows} x {inputs + 1} weights exceed the mode's bound of {MAX_WEIGHTS} ciphertexts "
                                 "(the committee's decryption budget)")


def _class_of(rows: int, r: int) -> int | None:
    """One row: binary (or regression) labels as they are; R rows: one-vs-rest, class r."""
    return None if rows == 1 else r


def _check_no_overflow(key: paillier.PublicKey, Bq: Sequence[Sequence[int]], weight_bits: int) -> None:
    """sum_j |B_ij| |w_j| must stay inside the signed plaintext range whatever the weights
    within the codec's range: a decrypted overflow would otherwise wrap silently."""
    widest = max(sum(abs(v) for v in row) for row in Bq)
    if widest.bit_length() + weight_bits + 2 >= key.max_int.bit_length():
        raise EncryptedModeError("the update would overflow the key's plaintext range: use a larger key")

"""Contributor-side training: mini-batch SGD with hand-written numpy gradients.

The contributor fetches the head model, trains it on its own data, and submits the
difference as an additive float32 update::

    trained = train(manifest, head, X, y, lr=0.1, epochs=10, batch_size=64, seed=1)
    delta = make_update(head, trained)
    delta = clip_update(delta, max_norm)   # optional; needed for fathom.ml.privacy

The training objective is the output layer's natural loss, whatever the bounty's metric:
cross-entropy for a softmax output, binary cross-entropy for a sigmoid output, squared
error for a regression mlp, plus an optional L2 penalty ``l2/2 * sum(W**2)`` on the
weight matrices (not the biases). Gradients are computed in the parameters' dtype
(float32 for training; `loss_and_grads` also takes float64 copies, for gradient checks).
Training is deterministic for a given seed on a given machine.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import numpy as np

from fathom.errors import FathomError
from fathom.ml.models import ModelError, ModelSpec, _features, _targets, check_params, model_spec, param_shapes

__all__ = ["MAX_LR", "TrainingError", "check_hyperparameters", "loss_and_grads", "per_example_grads", "train", "make_update", "update_norm", "clip_update"]

Progress = Callable[[int, int, float], Any]


class TrainingError(FathomError, ValueError):
    """Bad hyper-parameters, or training diverged."""


def _params_in(spec: ModelSpec, params: Mapping[str, np.ndarray]) -> tuple[dict[str, np.ndarray], np.dtype]:
    """The parameters in canonical order with one float dtype (float32 or float64)."""
    shapes = param_shapes(spec)
    missing = [name for name in shapes if name not in params]
    extra = sorted(str(name) for name in params if name not in shapes)
    if missing or extra:
        raise ModelError(f"parameters must be exactly {', '.join(shapes)}; missing {missing}, unexpected {extra}")
    dtypes = {np.asarray(params[name]).dtype for name in shapes}
    if len(dtypes) != 1 or next(iter(dtypes)) not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ModelError(f"parameters must all be float32 (or all float64), got {sorted(map(str, dtypes))}")
    out = {}
    for name, shape in shapes.items():
        array = np.asarray(params[name])
        if array.shape != shape:
            raise ModelError(f"parameter {name!r} has shape {array.shape}, expected {shape}")
        out[name] = array
    return out, next(iter(dtypes))


def _forward(spec: ModelSpec, p: Mapping[str, np.ndarray], X: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Inputs of every layer (X, h1, ...) and the hidden pre-activations."""
    inputs, pre = [X], []
    A = X
    last = len(spec.layers) - 1
    for i in range(last + 1):
        Z = A @ p[f"W{i}"] + p[f"b{i}"]
        if i == last:
            return inputs + [Z], pre
        pre.append(Z)
        A = np.tanh(Z) if spec.activation == "tanh" else np.maximum(Z, 0)
        inputs.append(A)
    raise AssertionError("unreachable")


def _output_loss(spec: ModelSpec, Z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean loss of the output logits Z (n, m) and its gradient with respect to Z."""
    n = Z.shape[0]
    if spec.output == "linear":
        r = Z[:, 0] - y.astype(Z.dtype)
        return float(np.mean(r.astype(np.float64) ** 2)), (2 * r / n)[:, None].astype(Z.dtype)
    if spec.output == "sigmoid":
        z = Z[:, 0]
        t = np.where(y == 1, -z, z)  # loss = softplus(t)
        loss = np.maximum(t, 0) + np.log1p(np.exp(-np.abs(t)))
        with np.errstate(over="ignore"):
            p = 1 / (1 + np.exp(-z))
        return float(np.mean(loss, dtype=np.float64)), ((p - y.astype(Z.dtype)) / n)[:, None].astype(Z.dtype)
    mx = Z.max(axis=1, keepdims=True)
    E = np.exp(Z - mx)
    s = E.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    loss = (mx[:, 0] - Z[rows, y]) + np.log(s[:, 0])
    G = E / s
    G[rows, y] -= 1
    return float(np.mean(loss, dtype=np.float64)), (G / n).astype(Z.dtype)


def _loss_and_grads(spec: ModelSpec, p: Mapping[str, np.ndarray], X: np.ndarray, y: np.ndarray, l2: float) -> tuple[float, dict[str, np.ndarray]]:
    inputs, pre = _forward(spec, p, X)
    loss, dZ = _output_loss(spec, inputs[-1], y)
    grads: dict[str, np.ndarray] = {}
    for i in range(len(spec.layers) - 1, -1, -1):
        W = p[f"W{i}"]
        grads[f"W{i}"] = inputs[i].T @ dZ
        grads[f"b{i}"] = dZ.sum(axis=0)
        if l2:
            grads[f"W{i}"] += W.dtype.type(l2) * W
            loss += 0.5 * l2 * float(np.sum(W.astype(np.float64) ** 2))
        if i:
            dA = dZ @ W.T
            if spec.activation == "tanh":
                dZ = dA * (1 - inputs[i] ** 2)
            else:
                dZ = dA * (pre[i - 1] > 0)
    return loss, {name: grads[name] for name in param_shapes(spec)}


def per_example_grads(manifest: Mapping[str, Any] | ModelSpec, params: Mapping[str, np.ndarray], X: Any, y: Any) -> dict[str, np.ndarray]:
    """The gradient of each row's own loss (no L2 term), for every parameter: arrays of
    shape ``(n, *param.shape)`` in the parameters' dtype. Their mean over the rows is
    `loss_and_grads`'s gradient (with l2 = 0). DP-SGD clips each of them
    (`fathom.ml.privacy.dpsgd`)."""
    spec = model_spec(manifest)
    p, dtype = _params_in(spec, params)
    X = _features(spec, X).astype(dtype, copy=False)
    y = _targets(spec, y, X.shape[0])
    n = X.shape[0]
    if not n:
        raise TrainingError("cannot compute gradients on zero rows")
    inputs, pre = _forward(spec, p, X)
    _, dZ = _output_loss(spec, inputs[-1], y)
    dZ = dZ * dtype.type(n)  # each row's own loss, not its share of the mean
    grads: dict[str, np.ndarray] = {}
    for i in range(len(spec.layers) - 1, -1, -1):
        grads[f"W{i}"] = np.einsum("ni,nj->nij", inputs[i], dZ)
        grads[f"b{i}"] = dZ.copy()
        if i:
            dA = dZ @ p[f"W{i}"].T
            dZ = dA * (1 - inputs[i] ** 2) if spec.activation == "tanh" else dA * (pre[i - 1] > 0)
    return {name: grads[name] for name in param_shapes(spec)}


def loss_and_grads(manifest: Mapping[str, Any] | ModelSpec, params: Mapping[str, np.ndarray], X: Any, y: Any, l2: float = 0.0) -> tuple[float, dict[str, np.ndarray]]:
    """The training loss (mean over rows, plus the L2 term) and its gradient for every
    parameter, computed in the parameters' dtype (float32, or float64 for checks)."""
    spec = model_spec(manifest)
    p, dtype = _params_in(spec, params)
    X = _features(spec, X).astype(dtype, copy=False)
    y = _targets(spec, y, X.shape[0])
    if not X.shape[0]:
        raise TrainingError("cannot compute a loss on zero rows")
    return _loss_and_grads(spec, p, X, y, _l2(l2))


def _l2(l2: Any) -> float:
    l2 = float(l2)
    if not math.isfinite(l2) or l2 < 0:
        raise TrainingError(f"l2 must be a finite number >= 0, got {l2!r}")
    return l2


def _positive_int(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise TrainingError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


#: The largest learning rate a contribution takes: these models train with 0.01 to 1, and
#: far above that SGD only diverges or sends an update of noise (issue 18: --lr 1e30 was accepted).
MAX_LR = 10.0


def check_hyperparameters(lr: Any, epochs: Any, batch_size: Any) -> tuple[float, int, int]:
    """A contribution's hyper-parameters, checked before anything is trained or sent:
    0 < lr <= MAX_LR (finite), epochs >= 1 (0 would submit a zero update and pay the
    stake for it), batch_size >= 1. TrainingError otherwise."""
    try:
        lr = float(lr)
    except (TypeError, ValueError):
        raise TrainingError(f"the learning rate must be a number, got {lr!r}") from None
    if not math.isfinite(lr) or not 0 < lr <= MAX_LR:
        raise TrainingError(f"the learning rate must be a finite number in (0, {MAX_LR:g}], got {lr!r}")
    return lr, _positive_int(epochs, "epochs"), _positive_int(batch_size, "batch_size")


def train(
    manifest: Mapping[str, Any] | ModelSpec,
    params: Mapping[str, np.ndarray],
    X: Any,
    y: Any,
    lr: float,
    epochs: int,
    batch_size: int,
    seed: int,
    progress: Progress | None = None,
    *,
    l2: float = 0.0,
) -> dict[str, np.ndarray]:
    """Mini-batch SGD from ``params``; returns new float32 parameters (inputs untouched).

    Each epoch visits the rows in a fresh random order (``numpy.random.default_rng(seed)``)
    in batches of ``batch_size`` (the last one smaller; ``batch_size >= len(X)`` is full
    gradient descent) and takes one step ``param -= lr * grad`` per batch. After each
    epoch ``progress(epoch, epochs, mean_training_loss)`` is called (epoch counts from 1;
    the loss is the mean of that epoch's batch losses, weighted by batch size).
    Raises TrainingError if the loss or the parameters stop being finite (lower lr).
    """
    spec = model_spec(manifest)
    current = {name: array.astype(np.float32, copy=True) for name, array in check_params(spec, params).items()}
    lr = float(lr)
    if not math.isfinite(lr) or lr <= 0:
        raise TrainingError(f"lr must be a finite number > 0, got {lr!r}")
    epochs = _positive_int(epochs, "epochs", minimum=0)
    batch_size = _positive_int(batch_size, "batch_size")
    l2 = _l2(l2)
    X = _features(spec, X)
    y = _targets(spec, y, X.shape[0])
    n = X.shape[0]
    if not n:
        raise TrainingError("cannot train on zero rows")
    rng = np.random.default_rng(seed)
    step = np.float32(lr)
    for epoch in range(1, epochs + 1):
        order = rng.permutation(n)
        total = 0.0
        for start in range(0, n, batch_size):
            rows = order[start : start + batch_size]
            with np.errstate(over="ignore", invalid="ignore"):  # divergence is checked just below
                loss, grads = _loss_and_grads(spec, current, X[rows], y[rows], l2)
            if not math.isfinite(loss):
                raise TrainingError(f"training diverged in epoch {epoch} (loss {loss}); lower the learning rate")
            total += loss * len(rows)
            with np.errstate(over="ignore", invalid="ignore"):
                for name, g in grads.items():
                    current[name] -= step * g
        if not all(np.isfinite(a).all() for a in current.values()):
            raise TrainingError(f"training diverged in epoch {epoch} (parameters overflowed); lower the learning rate")
        if progress is not None:
            progress(epoch, epochs, total / n)
    return current


def make_update(head: Mapping[str, np.ndarray], trained: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The additive float32 update ``trained - head``, array by array (same names and
    shapes required). Applying it (`fathom.ml.models.apply_update`) gives back ``trained``
    up to float32 rounding."""
    if set(head) != set(trained):
        raise ModelError(f"head and trained parameters differ in names: {sorted(set(head) ^ set(trained))}")
    delta = {}
    for name, base in head.items():
        base, new = np.asarray(base), np.asarray(trained[name])
        if base.shape != new.shape:
            raise ModelError(f"parameter {name!r} has shape {new.shape} after training but {base.shape} in the head")
        delta[name] = np.subtract(new, base, dtype=np.float32)
        if not np.isfinite(delta[name]).all():
            raise ModelError(f"the update of {name!r} is not finite")
    return delta


def update_norm(delta: Mapping[str, np.ndarray]) -> float:
    """Global L2 norm of an update over all its arrays, computed in float64."""
    total = 0.0
    for array in delta.values():
        a = np.asarray(array, dtype=np.float64).ravel()
        total += float(a @ a)
    return math.sqrt(total)


def clip_update(delta: Mapping[str, np.ndarray], max_norm: float) -> dict[str, np.ndarray]:
    """Scale the update so that its global L2 norm is at most ``max_norm``.

    An update already within the bound is returned unchanged (the same values, as new
    float32 arrays). Otherwise every array is multiplied by the same factor, nudged down
    if float32 rounding would leave the norm a hair above ``max_norm``: the bound holds
    exactly, which the privacy guarantee of `fathom.ml.privacy` relies on.
    """
    max_norm = float(max_norm)
    if not math.isfinite(max_norm) or max_norm <= 0:
        raise TrainingError(f"max_norm must be a finite number > 0, got {max_norm!r}")
    arrays = {name: np.asarray(a) for name, a in delta.items()}
    for name, a in arrays.items():
        if a.dtype.kind != "f" or not np.isfinite(a).all():
            raise ModelError(f"update array {name!r} must be finite floats")
    norm = update_norm(arrays)
    if norm <= max_norm:
        return {name: a.astype(np.float32, copy=True) for name, a in arrays.items()}
    factor = max_norm / norm
    while True:
        clipped = {name: (a.astype(np.float64) * factor).astype(np.float32) for name, a in arrays.items()}
        if update_norm(clipped) <= max_norm:
            return clipped
        factor *= 1 - 2.0**-20

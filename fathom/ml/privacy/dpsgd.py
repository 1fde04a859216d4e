"""Record-level differential privacy: DP-SGD (Abadi et al. 2016) on a contributor's data.

Where `fathom.ml.privacy.mechanisms` noises the whole update once (the unit is the owner's
whole data set), DP-SGD protects each **record** of it. For ``steps`` steps::

    batch  = every row independently with probability q = batch_size / n   (Poisson sampling)
    g_i    = the gradient of row i's loss, clipped to L2 norm C (over all parameters)
    params -= lr * (sum_i g_i + N(0, (z C)^2 I)) / (q n)      # the expected batch size

with ``steps = epochs * ceil(n / batch_size)`` (each epoch about one pass over the data). The
sampling and the noise both come from the operating system's randomness (`os_generator`):
privacy amplification by subsampling needs the batches to stay secret too, and no seed
sets either. The released update ``params - head`` is post-processing of the noisy
gradients, so it is (epsilon, delta)-DP for adding or removing one record, where epsilon
is the PRV accountant's for ``steps`` compositions of the Poisson-subsampled Gaussian
mechanism (``Release("dp-sgd", z, sampling_rate=q, steps=steps)``). An L2 penalty on the
weights depends on no record and is added after the noise.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import numpy as np

from fathom.ml import models
from fathom.ml.privacy.accountant import PrivacyError, Release, positive
from fathom.ml.privacy.mechanisms import os_generator
from fathom.ml.privacy.statement import PrivacyStatement
from fathom.ml.training import TrainingError, check_hyperparameters, per_example_grads

__all__ = ["schedule", "train_dp_sgd"]


def schedule(n: int, batch_size: int, epochs: int) -> tuple[float, int]:
    """DP-SGD's (sampling rate, number of steps) for n rows: q = min(1, batch_size / n),
    steps = epochs * ceil(n / batch_size)."""
    if n < 1:
        raise TrainingError("cannot train on zero rows")
    return min(1.0, batch_size / n), epochs * math.ceil(n / batch_size)


def train_dp_sgd(
    manifest: Mapping[str, Any],
    params: Mapping[str, np.ndarray],
    X: Any,
    y: Any,
    *,
    lr: float,
    epochs: int,
    batch_size: int,
    clip_norm: float,
    noise_multiplier: float,
    delta: float,
    l2: float = 0.0,
    progress: Callable[[int, int, float], Any] | None = None,
) -> tuple[dict[str, np.ndarray], PrivacyStatement]:
    """Train with DP-SGD (see the module docstring); returns the float32 parameters and
    the statement (unit: one record) of the whole run."""
    lr, epochs, batch_size = check_hyperparameters(lr, epochs, batch_size)
    clip_norm = positive(clip_norm, "clip_norm")
    spec = models.model_spec(manifest)
    X = np.asarray(X)
    y = np.asarray(y)
    q, steps = schedule(len(X), batch_size, epochs)
    statement = PrivacyStatement.of(Release("dp-sgd", noise_multiplier, "add_remove", q, steps), clip_norm, delta)
    if not 0 <= float(l2) < math.inf:
        raise PrivacyError(f"l2 must be a finite number >= 0, got {l2!r}")
    current = {name: np.asarray(a, np.float32).copy() for name, a in models.check_params(spec, params).items()}
    rng = os_generator()
    std = noise_multiplier * clip_norm
    expected = q * len(X)
    per_epoch = max(1, steps // epochs)
    for step in range(1, steps + 1):
        rows = np.flatnonzero(rng.random(len(X)) < q)
        total = {name: np.zeros(a.shape, np.float64) for name, a in current.items()}
        if rows.size:
            grads = per_example_grads(spec, current, X[rows], y[rows])
            norms = np.sqrt(sum(np.sum(g.reshape(rows.size, -1).astype(np.float64) ** 2, axis=1) for g in grads.values()))
            factor = np.minimum(1.0, clip_norm / np.maximum(norms, 1e-30))
            for name, g in grads.items():
                total[name] = np.tensordot(factor, g.astype(np.float64), axes=(0, 0))
        for name, a in current.items():
            noisy = (total[name] + rng.normal(0.0, std, size=a.shape)) / expected
            if l2:
                noisy = noisy + l2 * a * (name.startswith("W"))
            current[name] = (a - lr * noisy).astype(np.float32)
        if not all(np.isfinite(a).all() for a in current.values()):
            raise TrainingError(f"DP-SGD diverged at step {step}; lower the learning rate")
        if progress is not None and step % per_epoch == 0:
            progress(min(step // per_epoch, epochs), epochs, float("nan"))
    return current, statement

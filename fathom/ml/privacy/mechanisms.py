"""The Gaussian mechanism on a clipped update, and the statement a contributor makes.

See `fathom.ml.privacy.accountant` for the privacy unit, what is and is not protected,
and how (epsilon, delta) is computed.
"""

from __future__ import annotations

import secrets
from typing import Mapping

import numpy as np

from fathom.ml.privacy.accountant import PrivacyError, Release, positive
from fathom.ml.privacy.statement import PrivacyStatement
from fathom.ml.training import clip_update, update_norm

__all__ = ["add_gaussian_noise", "os_generator", "privatize"]


def os_generator() -> np.random.Generator:
    """A numpy Generator seeded with 256 fresh bits from the operating system (`secrets`).

    The noise of a release must never be reproducible: a seed that anyone could guess
    (the training seed, a bounty id, a small integer) lets whoever opens the update
    regenerate the noise and subtract it. So no argument of this module sets it.
    """
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(secrets.randbits(256))))


def add_gaussian_noise(delta: Mapping[str, np.ndarray], clip_norm: float, noise_multiplier: float) -> dict[str, np.ndarray]:
    """The Gaussian mechanism on a clipped update: every coordinate gets independent
    N(0, (noise_multiplier * clip_norm)**2) noise; returns new float32 arrays.

    ``delta`` must already be clipped to ``clip_norm`` (`fathom.ml.training.clip_update`);
    an update with a larger global L2 norm is refused, since the stated privacy would not
    hold. The noise comes from the operating system's randomness (`os_generator`), fresh
    for every call; nothing the caller passes can make it reproducible.
    """
    clip_norm = positive(clip_norm, "clip_norm")
    noise_multiplier = positive(noise_multiplier, "noise_multiplier")
    norm = update_norm(delta)
    if not norm <= clip_norm:
        raise PrivacyError(f"the update's L2 norm {norm:.6g} exceeds clip_norm {clip_norm:.6g}: clip it first (clip_update)")
    rng = os_generator()
    std = noise_multiplier * clip_norm
    noisy = {}
    for name, array in delta.items():
        array = np.asarray(array)
        noisy[name] = (array.astype(np.float64) + rng.normal(0.0, std, size=array.shape)).astype(np.float32)
    return noisy


def privatize(
    update: Mapping[str, np.ndarray],
    clip_norm: float,
    noise_multiplier: float,
    delta: float,
    *,
    adjacency: str = "add_remove",
) -> tuple[dict[str, np.ndarray], PrivacyStatement]:
    """Clip the update to ``clip_norm``, add Gaussian noise, and state the (epsilon, delta)
    of this one release (the ledger composes it with the data set's earlier ones)."""
    release = Release("gaussian", positive(noise_multiplier, "noise_multiplier"), adjacency)
    clipped = clip_update(update, clip_norm)
    noisy = add_gaussian_noise(clipped, clip_norm, noise_multiplier)
    return noisy, PrivacyStatement.of(release, clip_norm, delta)

"""The Gaussian mechanism on a clipped update, and the statement a contributor makes.

See `fathom.ml.privacy.accountant` for the privacy unit, what is and is not protected,
and how (epsilon, delta) is computed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping

import numpy as np

from fathom.ml.privacy.accountant import PrivacyError, positive, epsilon_for
from fathom.ml.training import clip_update, update_norm

__all__ = ["PrivacyReport", "add_gaussian_noise", "privatize"]


def add_gaussian_noise(delta: Mapping[str, np.ndarray], clip_norm: float, noise_multiplier: float, rng: np.random.Generator | int | None = None) -> dict[str, np.ndarray]:
    """The Gaussian mechanism on a clipped update: every coordinate gets independent
    N(0, (noise_multiplier * clip_norm)**2) noise; returns new float32 arrays.

    ``delta`` must already be clipped to ``clip_norm`` (`fathom.ml.training.clip_update`);
    an update with a larger global L2 norm is refused, since the stated privacy would not
    hold. ``rng``: a numpy Generator, a seed, or None for fresh OS entropy (use None for
    real releases: a known seed means no privacy).
    """
    clip_norm = positive(clip_norm, "clip_norm")
    noise_multiplier = positive(noise_multiplier, "noise_multiplier")
    norm = update_norm(delta)
    if not norm <= clip_norm:
        raise PrivacyError(f"the update's L2 norm {norm:.6g} exceeds clip_norm {clip_norm:.6g}: clip it first (clip_update)")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    std = noise_multiplier * clip_norm
    noisy = {}
    for name, array in delta.items():
        array = np.asarray(array)
        noisy[name] = (array.astype(np.float64) + rng.normal(0.0, std, size=array.shape)).astype(np.float32)
    return noisy


@dataclass(frozen=True)
class PrivacyReport:
    """What a contributor states about a noisy update."""

    epsilon: float
    delta: float
    clip_norm: float
    noise_multiplier: float
    noise_std: float
    releases: int
    method: str
    adjacency: str
    unit: str = "one contribution (the whole training set) of one data owner"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return (
            f"(epsilon={self.epsilon:.4g}, delta={self.delta:.3g})-DP per {self.unit}, "
            f"{self.adjacency} adjacency, {self.releases} release(s), clip norm {self.clip_norm:g}, "
            f"noise std {self.noise_std:g} ({self.method} accountant)"
        )


def privatize(
    update: Mapping[str, np.ndarray],
    clip_norm: float,
    noise_multiplier: float,
    delta: float,
    rng: np.random.Generator | int | None = None,
    *,
    releases: int = 1,
    method: str = "analytic",
    adjacency: str = "add_remove",
) -> tuple[dict[str, np.ndarray], PrivacyReport]:
    """Clip the update to ``clip_norm``, add Gaussian noise, and account for it.

    ``releases`` counts every release made from this owner's data so far, this one
    included; the report's epsilon covers all of them together.
    """
    clipped = clip_update(update, clip_norm)
    noisy = add_gaussian_noise(clipped, clip_norm, noise_multiplier, rng)
    epsilon = epsilon_for(noise_multiplier, delta, releases, method=method, adjacency=adjacency)
    report = PrivacyReport(
        epsilon=epsilon,
        delta=float(delta),
        clip_norm=float(clip_norm),
        noise_multiplier=float(noise_multiplier),
        noise_std=float(noise_multiplier) * float(clip_norm),
        releases=int(releases),
        method=method,
        adjacency=adjacency,
    )
    return noisy, report

"""Differential privacy for a contributor's update: the mechanisms and the accountant."""

from fathom.ml.privacy.accountant import (
    ADJACENCIES,
    PrivacyError,
    delta_for,
    epsilon_for,
    gaussian_rdp,
    noise_multiplier_for,
)
from fathom.ml.privacy.mechanisms import PrivacyReport, add_gaussian_noise, os_generator, privatize

__all__ = [
    "PrivacyError",
    "PrivacyReport",
    "ADJACENCIES",
    "add_gaussian_noise",
    "os_generator",
    "gaussian_rdp",
    "delta_for",
    "epsilon_for",
    "noise_multiplier_for",
    "privatize",
]

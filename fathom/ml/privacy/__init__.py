"""Differential privacy for a contributor's update: the mechanisms, the accountant, the
statement an update carries, and the data owner's ledger."""

from fathom.ml.privacy.accountant import (
    ACCOUNTANT,
    ACCOUNTANT_NAME,
    ADJACENCIES,
    EPS_ERROR,
    PrivacyError,
    Release,
    compose,
    eps_error,
    epsilon_for,
)
from fathom.ml.privacy.mechanisms import add_gaussian_noise, os_generator, privatize
from fathom.ml.privacy.statement import PrivacyStatement, StatementError, check_statement

__all__ = [
    "ACCOUNTANT",
    "ACCOUNTANT_NAME",
    "ADJACENCIES",
    "EPS_ERROR",
    "PrivacyError",
    "PrivacyStatement",
    "Release",
    "StatementError",
    "add_gaussian_noise",
    "check_statement",
    "compose",
    "eps_error",
    "epsilon_for",
    "os_generator",
    "privatize",
]

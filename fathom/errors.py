"""Fathom's exception hierarchy.

Every error a user can cause is a `FathomError`; each class also subclasses the builtin
that fits, so callers may catch either (`except ValueError` still works). The CLI prints
`FathomError`s as one plain line, never a traceback.
"""

from __future__ import annotations


class FathomError(Exception):
    """Base of every error Fathom raises on purpose."""


class ConfigError(FathomError, ValueError):
    """A setting (flag or FATHOM_* variable) is missing or malformed."""


class DeploymentNotFound(FathomError, FileNotFoundError):
    """No deployments/<network>.json: deploy first (make demo, or scripts/deploy.py)."""

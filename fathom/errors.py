"""Fathom's exception hierarchy.

Every error a user can cause is a `FathomError`; each class also subclasses the builtin
that fits, so callers may catch either (`except ValueError` still works). The CLI prints
`FathomError`s as one plain line, never a traceback.
"""

from __future__ import annotations


class FathomError(Exception):
    """Base of every error Fathom raises on purpose."""


class RejectionError(FathomError, ValueError):
    """Why untrusted input was refused, as a stable code: `reason` is one of the class's
    `REASONS` (its default unless the raise names a finer one, `raise X(msg, reason=...)`)."""

    REASONS: tuple[str, ...] = ()
    reason = ""

    def __init__(self, *args: object, reason: str | None = None) -> None:
        super().__init__(*args)
        if reason is not None:
            if reason not in self.REASONS:
                raise ValueError(f"unknown {type(self).__name__} rejection reason {reason!r}")
            self.reason = reason  # an instance attribute: kept when the error is pickled


class Transient(FathomError):
    """The failure is not the input's and should pass: a node that does not answer, a
    connection that broke. Daemons back off and try again."""


class Unavailable(FathomError):
    """Content that could not be obtained in time: a CID no provider served before the
    deadline, or bytes that do not hash to it. It says nothing about the content itself, so
    an oracle never scores it INVALID (rule F6)."""


class ConfigError(FathomError, ValueError):
    """A setting (flag or FATHOM_* variable) is missing or malformed."""


class DeploymentNotFound(FathomError, FileNotFoundError):
    """No deployments/<network>.json: deploy first (make demo, or scripts/deploy.py)."""

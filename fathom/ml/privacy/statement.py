"""The privacy statement a DP update carries, and what an oracle can check of it.

A contributor that adds noise states it inside the update container's manifest, under
``"privacy"`` (`fathom.ml.artefacts`, container version 3). The container is sealed in the
authenticated envelope with its author, so the statement cannot be changed or moved to
another update without breaking the envelope. Its fields::

    {"mechanism": "gaussian",            # one noisy update (unit: the contribution), or "dp-sgd" (unit: a record)
     "unit": "contribution" | "record",
     "epsilon": 1.23, "delta": 1e-05,    # this release alone, at that delta
     "accountant": "prv",
     "clip_norm": 1.0, "noise_multiplier": 1.1, "adjacency": "add_remove",
     "sampling_rate": 1.0, "steps": 1}   # dp-sgd: Poisson rate and number of steps

What an oracle checks (`check_statement`), each failure a `StatementError` (the update
scores INVALID and its stake is slashed, like any malformed artefact):

- the statement is well formed, and its unit and accountant are the ones its mechanism has;
- its epsilon is not below what the accountant computes for its mechanism, noise,
  sampling and steps, and delta, less the accountant's accuracy (an update may
  overstate its epsilon, never understate it);
- the bounty's largest epsilon, if its brief sets one (``max_epsilon``): an update above
  it, or one with no statement at all, is invalid;
- for "gaussian", that the stated noise is there: the update's L2 norm must lie in
  ``[sigma (sqrt(d) - 9) - C, C + sigma (sqrt(d) + 8)]`` with ``sigma = z C`` and d
  coordinates, which an honest update leaves with probability below 1e-13 (Gaussian
  concentration of the noise's norm). An update sent without its noise, or not clipped,
  falls outside when d is large enough for the bounds to be informative.

What it cannot check: that the data were what the owner says, that this is the owner's
only release (the ledger is on the owner's machine), or DP-SGD's per-step noise (the
update is the sum of many steps scaled by the learning rate).
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass
from typing import Any, Mapping

import numpy as np

from fathom.errors import RejectionError
from fathom.ml.privacy.accountant import ACCOUNTANT, PrivacyError, Release, check_delta, compose, eps_error, positive

__all__ = ["PrivacyStatement", "StatementError", "check_statement", "max_epsilon_of"]

#: How many standard deviations of the noise's norm the oracle's norm check allows.
NORM_SLACK = 8.0


class StatementError(RejectionError):
    """An update's privacy statement is malformed, overstated, above the bounty's largest
    epsilon, or contradicted by the update itself."""

    REASONS = ("statement", "over_epsilon", "noise")
    reason = "statement"


@dataclass(frozen=True)
class PrivacyStatement:
    """What a contributor states about one noisy update."""

    mechanism: str
    unit: str
    epsilon: float
    delta: float
    accountant: str
    clip_norm: float
    noise_multiplier: float
    adjacency: str = "add_remove"
    sampling_rate: float = 1.0
    steps: int = 1

    @classmethod
    def of(cls, release: Release, clip_norm: float, delta: float) -> "PrivacyStatement":
        delta = check_delta(delta)
        return cls(release.mechanism, release.unit, _epsilon(release, delta), delta, ACCOUNTANT, positive(clip_norm, "clip_norm"),
                   float(release.noise_multiplier), release.adjacency, float(release.sampling_rate), int(release.steps))

    @property
    def release(self) -> Release:
        return Release(self.mechanism, self.noise_multiplier, self.adjacency, self.sampling_rate, self.steps)

    @property
    def noise_std(self) -> float:
        return self.noise_multiplier * self.clip_norm

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Any) -> "PrivacyStatement":
        """Parse a statement read from an artefact; StatementError unless it is exactly well formed."""
        if not isinstance(d, dict):
            raise StatementError(f"the privacy statement must be a JSON object, got {type(d).__name__}")
        fields = set(cls.__dataclass_fields__)
        if set(d) != fields:
            raise StatementError(f"the privacy statement must have exactly the keys {', '.join(sorted(fields))}; got {', '.join(sorted(d))}")
        try:
            for key in ("epsilon", "delta", "clip_norm", "noise_multiplier", "sampling_rate"):
                if isinstance(d[key], bool) or not isinstance(d[key], (int, float)):
                    raise PrivacyError(f"{key} must be a number")
            release = Release(d["mechanism"], d["noise_multiplier"], d["adjacency"], d["sampling_rate"], d["steps"])
            if release.mechanism == "none":
                raise PrivacyError("an update without noise carries no privacy statement")
            statement = cls(**d)
            check_delta(statement.delta)
            positive(statement.clip_norm, "clip_norm")
            if not (math.isfinite(statement.epsilon) and statement.epsilon >= 0):
                raise PrivacyError(f"epsilon must be a finite number >= 0, got {statement.epsilon!r}")
        except PrivacyError as exc:
            raise StatementError(f"the privacy statement is malformed: {exc}") from None
        if statement.unit != release.unit or statement.accountant != ACCOUNTANT:
            raise StatementError(f"a {release.mechanism} statement has unit {release.unit!r} and accountant {ACCOUNTANT!r}; "
                                 f"got {statement.unit!r} and {statement.accountant!r}")
        return statement

    def __str__(self) -> str:
        per = "per data owner's contribution" if self.unit == "contribution" else "per record"
        how = (f"noise std {self.noise_std:g}" if self.mechanism == "gaussian"
               else f"{self.steps} DP-SGD steps at sampling rate {self.sampling_rate:g}")
        return (f"({self.epsilon:.3f}, {self.delta:g})-DP {per}: {self.mechanism} mechanism, clip norm {self.clip_norm:g}, "
                f"noise multiplier {self.noise_multiplier:g} ({how}), {self.adjacency} adjacency, {ACCOUNTANT.upper()} accountant")


@functools.lru_cache(maxsize=256)
def _epsilon(release: Release, delta: float) -> float:
    return compose([release], delta)


def check_statement(statement: Any, arrays: Mapping[str, np.ndarray] | None = None, max_epsilon: float | None = None) -> PrivacyStatement | None:
    """What an oracle checks of an update's statement (see the module docstring).

    ``statement``: the manifest's ``"privacy"`` value, or None if it has none; ``arrays``:
    the update's arrays (for the norm check); ``max_epsilon``: the bounty's largest epsilon.
    Returns the parsed statement (None if there is none and none is required).
    """
    if statement is None:
        if max_epsilon is not None:
            raise StatementError(f"the bounty takes only updates that are at most {max_epsilon:g}-DP, and this one states no privacy",
                                 reason="over_epsilon")
        return None
    s = PrivacyStatement.from_dict(statement)
    computed = _epsilon(s.release, s.delta)
    if s.epsilon < computed - eps_error(computed):  # the accountant's own accuracy: room for another version of it
        raise StatementError(f"the update states epsilon {s.epsilon:.4g}, but its mechanism gives {computed:.4g} at delta {s.delta:g}")
    if max_epsilon is not None and s.epsilon > max_epsilon:
        raise StatementError(f"the update states epsilon {s.epsilon:.4g}, above the bounty's largest epsilon {max_epsilon:g}",
                             reason="over_epsilon")
    if arrays is not None and s.mechanism == "gaussian":
        d = sum(int(np.size(a)) for a in arrays.values())
        norm = math.sqrt(sum(float(np.asarray(a, np.float64).ravel() @ np.asarray(a, np.float64).ravel()) for a in arrays.values()))
        sigma, C = s.noise_std, s.clip_norm
        low = sigma * (math.sqrt(d) - 1 - NORM_SLACK) - C
        high = C + sigma * (math.sqrt(d) + NORM_SLACK)
        if not low <= norm <= high:
            raise StatementError(f"the update's L2 norm {norm:.4g} is outside [{max(low, 0):.4g}, {high:.4g}], where an update clipped "
                                 f"to {C:g} with noise std {sigma:g} on {d} coordinates lies: the stated noise is not there", reason="noise")
    return s


def max_epsilon_of(brief: Mapping[str, Any]) -> float | None:
    """The bounty's largest epsilon from its brief (``"max_epsilon"``, an off-chain term the
    requester seals in the keyring), or None. A malformed value is the requester's error;
    it is refused rather than ignored, so that no update is judged by a term nobody can read."""
    value = brief.get("max_epsilon")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise PrivacyError(f"the bounty's brief has max_epsilon {value!r}, not a finite number > 0")
    return float(value)

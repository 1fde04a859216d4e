"""A data owner's privacy ledger: every release of each local data set, composed.

One JSON file on the owner's machine (the caller gives its path; the contributor keeps it
at ``<FATHOM_DATA_DIR>/privacy-ledger.json``), never sent anywhere::

    {"version": 1,
     "datasets": {"<fingerprint>": {"budget": {"epsilon": 10.0, "delta": 1e-05},
                                    "releases": [{"mechanism": "gaussian", "noise_multiplier": 1.1,
                                                  "adjacency": "add_remove", "sampling_rate": 1.0, "steps": 1,
                                                  "bounty": 3, "cid": "bafy...", "at": 1765000000}, ...]}}}

A data set is known by its `fingerprint`: the SHA-256 of its arrays' dtypes, shapes and
bytes. The same data set used in any bounty, by any account, lands under the same key, and
its releases compose (`fathom.ml.privacy.accountant.compose`, the PRV accountant): the
ledger's epsilon is that of all of them together, at the budget's delta. A release is
recorded *before* the update leaves the machine (if the submission then fails, the
ledger over-counts, never under-counts). `record` checks the budget again under a file
lock, so two contributions of the same data running side by side cannot both pass.

What it cannot see: a data set edited by even one row has another fingerprint; releases
of overlapping data under two fingerprints are the owner's to count.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from fathom.ml.privacy.accountant import PrivacyError, Release, check_delta, compose, positive, unit_of

__all__ = ["DEFAULT_BUDGET_EPSILON", "LEDGER_VERSION", "BudgetExceeded", "Ledger", "Spending", "fingerprint", "releases_table", "summary"]

LEDGER_VERSION = 1
#: The default budget of one data set: a common ceiling for DP in federated learning.
DEFAULT_BUDGET_EPSILON = 10.0


class BudgetExceeded(PrivacyError):
    """The release would take the data set's epsilon over the owner's budget."""


def fingerprint(X: Any, y: Any) -> str:
    """The SHA-256 (hex) of a data set's arrays: dtype, shape and bytes of X, then y."""
    h = hashlib.sha256(b"fathom/privacy-ledger/v1")
    for array in (X, y):
        a = np.ascontiguousarray(np.asarray(array))
        h.update(f"{a.dtype.str}{a.shape}".encode("ascii"))
        h.update(a.tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class Spending:
    """A data set's privacy spent at the budget's delta, before and after a release."""

    fingerprint: str
    releases: int
    spent: float
    budget: float
    delta: float
    unit: str

    @property
    def remaining(self) -> float:
        return max(self.budget - self.spent, 0.0) if math.isfinite(self.spent) else 0.0

    def __str__(self) -> str:
        spent = "infinite (a release without noise)" if math.isinf(self.spent) else f"{self.spent:.3f}"
        return (f"data set {self.fingerprint[:16]}: {self.releases} release(s), epsilon spent {spent} of {self.budget:g} "
                f"at delta {self.delta:g} (per {self.unit}), {self.remaining:.3f} remaining")


class Ledger:
    """The privacy ledger in one JSON file (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    # ------------------------------------------------------------ reading

    def _read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return {"version": LEDGER_VERSION, "datasets": {}}
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise PrivacyError(f"the privacy ledger {self.path} is not valid JSON ({exc}); it was not changed") from None
        if not isinstance(data, dict) or data.get("version") != LEDGER_VERSION or not isinstance(data.get("datasets"), dict):
            raise PrivacyError(f"the privacy ledger {self.path} is not a version {LEDGER_VERSION} ledger; it was not changed")
        return data

    def datasets(self) -> dict[str, dict[str, Any]]:
        return self._read()["datasets"]

    def releases(self, fp: str) -> list[Release]:
        entry = self.datasets().get(fp, {})
        return [Release.from_dict(r) for r in entry.get("releases", [])]

    def spending(self, fp: str, budget: float | None = None, delta: float | None = None,
                 adding: Release | None = None) -> Spending:
        """What the data set has spent (with ``adding`` counted too, if given), at ``delta``
        (default: its recorded budget's), against ``budget`` (default: the recorded one)."""
        entry = self.datasets().get(fp, {})
        recorded = entry.get("budget", {})
        budget = positive(budget if budget is not None else recorded.get("epsilon", DEFAULT_BUDGET_EPSILON), "budget epsilon")
        delta = check_delta(delta if delta is not None else recorded.get("delta", 1e-5))
        releases = [Release.from_dict(r) for r in entry.get("releases", [])] + ([adding] if adding is not None else [])
        return Spending(fp, len(releases), compose(releases, delta), budget, delta, unit_of(releases))

    def check(self, fp: str, release: Release, budget: float | None, delta: float | None) -> Spending:
        """The spending with ``release`` added; BudgetExceeded if it goes over ``budget``."""
        after = self.spending(fp, budget, delta, adding=release)
        budget, delta = after.budget, after.delta
        if after.spent > after.budget:
            before = self.spending(fp, budget, delta)
            why = ("this data set was already released without noise: no (epsilon, delta) guarantee can hold for it any more"
                   if math.isinf(before.spent) else
                   "this release would be sent without noise" if release.mechanism == "none" else
                   f"this release would take epsilon from {before.spent:.3f} to {after.spent:.3f}")
            raise BudgetExceeded(f"privacy budget exceeded for data set {fp[:16]}: {why}, over your budget of {budget:g} "
                                 f"at delta {delta:g} (`fathom privacy --data` shows the ledger; add noise, or raise --budget-epsilon)")
        return after

    # ------------------------------------------------------------ writing

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def record(self, fp: str, release: Release, budget: float | None, delta: float | None, *, enforce: bool = True,
               **context: Any) -> Spending:
        """Add a release (after checking the budget again, under the lock, if ``enforce``);
        ``context`` (bounty id, ...) is stored with it. ``budget`` and ``delta`` become the
        data set's recorded budget; None keeps the recorded one (a release without noise
        sets no budget). Returns the new spending."""
        with self._locked():
            after = self.check(fp, release, budget, delta) if enforce else self.spending(fp, budget, delta, adding=release)
            data = self._read()
            entry = data["datasets"].setdefault(fp, {"budget": {}, "releases": []})
            if budget is not None and delta is not None:
                entry["budget"] = {"epsilon": float(budget), "delta": float(delta)}
            entry["releases"].append(release.as_dict() | {k: v for k, v in context.items() if v is not None} | {"at": int(time.time())})
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
            os.replace(tmp, self.path)  # atomic: a crash leaves the old ledger or the new one
        return after


def summary(ledger: Ledger, fp: str | None = None) -> list[Spending]:
    """Every data set's spending (or one data set's), each at its recorded budget."""
    fps = [fp] if fp is not None else sorted(ledger.datasets())
    return [ledger.spending(f) for f in fps]


def releases_table(ledger: Ledger, fp: str) -> list[Mapping[str, Any]]:
    return list(ledger.datasets().get(fp, {}).get("releases", []))

"""The accountant: the (epsilon, delta) of Gaussian releases of one data owner's data.

The contributor may release its update through the Gaussian mechanism::

    clipped = clip_update(trained - head, C)          # global L2 norm <= C
    noisy   = clipped + N(0, (z * C)**2 I)             # z: the noise multiplier

and report the resulting (epsilon, delta) with `epsilon_for` (or do all three with
`fathom.ml.privacy.privatize`). Every release of an owner's data set is written to its
privacy ledger (`fathom.ml.privacy.ledger`), which composes them all with `compose`.

The privacy unit
----------------
The unit is **one contribution of one data owner**: the whole dataset the owner trained
on, for one submitted update. The guarantee bounds how much any observer of the released
update (the oracles and the requester, who decrypt it; anyone once the bounty reveals
its keys) can tell apart

- ``adjacency="add_remove"`` (the default, sensitivity ``C``): the owner's actual data
  from *no data at all* (the zero update). This is the user-level convention of
  DP-FedAvg (McMahan et al., 2018).
- ``adjacency="replace"`` (sensitivity ``2C``): the owner's data from *any other
  dataset* the owner might have had, which includes changing, adding or removing any
  single record. Quote this one to speak about the individuals in the owner's data.

Everything computed from the noisy update (its scores, the merged models, rewards,
slashing) is post-processing and is covered by the same (epsilon, delta).

What it does NOT protect
------------------------
- That the owner took part: the submitting address, its stake, the timing and the size
  of the artefact are public on chain and in IPFS.
- Anything released without noise, or with another clip norm than the one stated:
  hyper-parameters or a choice of them made by looking at the data, the number of
  training rows if the owner publishes it, an earlier noise-free submission.
- Repeated releases beyond those counted: every update computed from (overlapping) data
  of the same owner, in this bounty or another, is one more release. The contributor's
  ledger counts the releases of one data set by its fingerprint; a data set edited by
  one row has another fingerprint, and its releases are the owner's to count.
- Population-level inferences: what the model learns about the distribution is the
  point of training and is not hidden.
- The implementation gap: noise is drawn in float64 from numpy's PCG64, seeded for every
  release with 256 fresh bits of the operating system's randomness (`secrets`; no
  argument sets it, so no value in the artefact or on the command line regenerates
  it), and the sum is rounded to float32. Floating-point sampling does not
  realise the ideal real-valued mechanism exactly, and attacks on such gaps exist
  (Mironov 2012; Jin et al. 2022). The stated epsilon is that of the ideal mechanism.
- The data owner's own machine and the training code it runs.

The accountant
--------------
Composition is not written here: it is the PRV accountant of Gopi, Lee & Wutschitz
(2021, "Numerical composition of differential privacy"), `prv_accountant.PRVAccountant`
(Microsoft, pinned in requirements.txt). It composes the privacy loss random variables of
every release numerically, heterogeneous releases included, to a stated accuracy, and
returns bounds on epsilon; Fathom always quotes the **upper** bound (at most
``eps_error``, the larger of 0.01 and 1% of a quick RDP bound, above the truth), so the
stated epsilon is never below the true one. Where its discretisation gives up (it
raises on some densely sampled, lightly noised DP-SGD runs), the quick RDP bound of the
same library is quoted instead: looser, still an upper bound. A composition whose RDP bound is above
``EPS_CAP`` (50) is quoted at that bound: it protects nothing, and the PRV grid would grow
without limit. A DP-SGD release has at most ``MAX_STEPS`` steps, which bounds the work
(an oracle recomputes it: about 2 s at worst on this machine).

- A "gaussian" release (one noisy update, the unit above) is
  `prv_accountant.GaussianMechanism(noise_multiplier=z, l2_sensitivity=s)`, with s = 1
  (add_remove) or 2 (replace).
- A "dp-sgd" release (record-level, `fathom.ml.privacy.dpsgd`) is ``steps``
  compositions of `PoissonSubsampledGaussianMechanism(sampling_rate, z)`: each record
  is in a step's batch with probability ``sampling_rate``, each per-example gradient is
  clipped to C and the sum gets N(0, (z C)^2) noise. Its unit is one record.
- A "none" release (an update sent without noise) has epsilon = infinity.

When a ledger mixes the two units, the total is stated for one record (a whole-data-set
release is counted with the record-level sensitivity 2C, as `replace`).
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, Mapping, Sequence

from fathom.errors import FathomError

__all__ = [
    "ACCOUNTANT",
    "ADJACENCIES",
    "EPS_ERROR",
    "MECHANISMS",
    "PrivacyError",
    "Release",
    "compose",
    "eps_error",
    "epsilon_for",
    "positive",
    "unit_of",
]

ADJACENCIES = {"add_remove": 1.0, "replace": 2.0}
MECHANISMS = ("gaussian", "dp-sgd", "none")
UNITS = {"gaussian": "contribution", "dp-sgd": "record", "none": "contribution"}
#: The accountant's name as the statement and the CLI give it.
ACCOUNTANT = "prv"
ACCOUNTANT_NAME = "PRV accountant (Gopi, Lee & Wutschitz 2021; prv-accountant), upper bound"
#: The accuracy asked of the accountant: the quoted epsilon is at most this much (or 1% of
#: the quick RDP bound, if larger) above the truth. The work grows as its inverse.
EPS_ERROR = 0.01
#: Below this noise multiplier one release already costs epsilon > 40: refused, not accounted.
MIN_NOISE_MULTIPLIER = 0.1
#: The most DP-SGD steps one release may have (60 epochs of batches of 256 over 60,000 rows
#: is 14,063): the accountant's work grows with the steps, and an oracle computes it too.
MAX_STEPS = 20_000
#: Above this epsilon (by the quick RDP bound) a composition protects nothing: the RDP bound
#: is quoted as it is, since the PRV accountant's grid would grow without limit.
EPS_CAP = 50.0


class PrivacyError(FathomError, ValueError):
    """A privacy parameter is out of range, or an update is not clipped to the stated norm."""


def positive(value: Any, name: str) -> float:
    """``value`` as a finite float > 0, else PrivacyError."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise PrivacyError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise PrivacyError(f"{name} must be a finite number > 0, got {value!r}")
    return value


def check_delta(delta: Any) -> float:
    delta = positive(delta, "delta")
    if delta >= 1:
        raise PrivacyError(f"delta must be < 1, got {delta!r}")
    return delta


@dataclass(frozen=True)
class Release:
    """One release of a data set: what the accountant needs, nothing about the data."""

    mechanism: str = "gaussian"
    noise_multiplier: float = 0.0
    adjacency: str = "add_remove"
    sampling_rate: float = 1.0
    steps: int = 1

    def __post_init__(self) -> None:
        if self.mechanism not in MECHANISMS:
            raise PrivacyError(f"mechanism must be one of {', '.join(MECHANISMS)}; got {self.mechanism!r}")
        if self.adjacency not in ADJACENCIES:
            raise PrivacyError(f"adjacency must be one of {', '.join(ADJACENCIES)}; got {self.adjacency!r}")
        if self.mechanism == "none":
            return
        z = positive(self.noise_multiplier, "noise_multiplier")
        if z < MIN_NOISE_MULTIPLIER:
            raise PrivacyError(f"noise_multiplier {z:g} is below {MIN_NOISE_MULTIPLIER}: one release would cost epsilon > 40, "
                               "which protects nothing; add more noise or release without the DP claim")
        rate = positive(self.sampling_rate, "sampling_rate")
        if rate > 1:
            raise PrivacyError(f"sampling_rate must be in (0, 1], got {rate!r}")
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or not 1 <= self.steps <= MAX_STEPS:
            raise PrivacyError(f"steps must be an integer in [1, {MAX_STEPS}], got {self.steps!r}")
        if self.mechanism == "gaussian" and (rate != 1 or self.steps != 1):
            raise PrivacyError("a gaussian release is one step on the whole data set (sampling_rate 1, steps 1)")

    @property
    def unit(self) -> str:
        return UNITS[self.mechanism]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Release":
        known = {k: d[k] for k in ("mechanism", "noise_multiplier", "adjacency", "sampling_rate", "steps") if k in d}
        return cls(**known)


def unit_of(releases: Sequence[Release]) -> str:
    """The privacy unit of the composition: "record" as soon as one release is record-level."""
    return "record" if any(r.unit == "record" for r in releases) else "contribution"


def _prv(release: Release, unit: str) -> Any:
    from prv_accountant import GaussianMechanism, PoissonSubsampledGaussianMechanism

    if release.mechanism == "dp-sgd":
        return PoissonSubsampledGaussianMechanism(sampling_probability=release.sampling_rate,
                                                  noise_multiplier=release.noise_multiplier)
    sensitivity = 2.0 if unit == "record" else ADJACENCIES[release.adjacency]
    return GaussianMechanism(noise_multiplier=release.noise_multiplier, l2_sensitivity=sensitivity)


def compose(releases: Sequence[Release], delta: float) -> float:
    """The epsilon at ``delta`` of all ``releases`` together (adaptive composition), by the
    PRV accountant; the upper bound of its answer. 0 for no release; inf if one of them
    carried no noise."""
    delta = check_delta(delta)
    releases = list(releases)
    if not releases:
        return 0.0
    if any(r.mechanism == "none" for r in releases):
        return math.inf
    unit = unit_of(releases)
    groups: Counter[tuple[str, float, str, float]] = Counter()
    for r in releases:  # identical releases are one PRV composed with itself; a DP-SGD run is `steps` of them
        adjacency = r.adjacency if unit == "contribution" else "replace"  # record level: sensitivity 2C
        groups[(r.mechanism, float(r.noise_multiplier), adjacency, float(r.sampling_rate))] += r.steps
    keys = sorted(groups)
    prvs = [_prv(Release(mechanism, z, adjacency, rate, 1), unit) for mechanism, z, adjacency, rate in keys]
    counts = [groups[k] for k in keys]
    from prv_accountant import PRVAccountant
    from prv_accountant.other_accountants import RDP

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its deprecation chatter is not the user's business
        _, _, rdp_bound = RDP(prvs=prvs).compute_epsilon(delta=delta, num_self_compositions=counts)
        if rdp_bound > EPS_CAP:
            return float(rdp_bound)  # an upper bound too, and far beyond any budget
        try:
            accountant = PRVAccountant(prvs=prvs, max_self_compositions=counts, eps_error=eps_error(rdp_bound),
                                       delta_error=delta / 1000)
            _, _, upper = accountant.compute_epsilon(delta=delta, num_self_compositions=counts)
        except (RuntimeError, ValueError, FloatingPointError, MemoryError):
            # Its discretisation gives up on some heavy-tailed losses (a few noisy, densely
            # sampled steps): the RDP bound of the same library is still a valid upper bound.
            return float(rdp_bound)
    return max(min(float(upper), float(rdp_bound)), 0.0)  # both are upper bounds


def eps_error(rdp_bound: float) -> float:
    """The accountant's accuracy for a composition whose quick RDP bound is ``rdp_bound``."""
    return max(EPS_ERROR, 0.01 * rdp_bound)


def epsilon_for(noise_multiplier: float, delta: float, releases: int = 1, *, adjacency: str = "add_remove") -> float:
    """The epsilon at ``delta`` of ``releases`` Gaussian releases of one data owner's
    contribution with noise multiplier ``noise_multiplier`` (noise std / clip norm)."""
    if isinstance(releases, bool) or not isinstance(releases, int) or releases < 1:
        raise PrivacyError(f"releases must be an integer >= 1, got {releases!r}")
    return compose([Release("gaussian", noise_multiplier, adjacency)] * releases, delta)

"""The accountant: the (epsilon, delta) of Gaussian releases of one data owner's data.

The contributor may release its update through the Gaussian mechanism::

    clipped = clip_update(trained - head, C)          # global L2 norm <= C
    noisy   = clipped + N(0, (z * C)**2 I)             # z: the noise multiplier

and report the resulting (epsilon, delta) with `epsilon_for` (or do all three with
`privatize`).

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
  of the same owner, in this bounty or another, is one more release. Pass their number
  as ``releases`` (they compose, see below); the contributor must keep that count.
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
One release of the Gaussian mechanism with L2 sensitivity ``s`` and noise standard
deviation ``sigma`` is exactly mu-Gaussian-DP with ``mu = s / sigma`` (Dong, Roth & Su
2019), i.e. (epsilon, delta)-DP for every epsilon >= 0 with, by the **analytic Gaussian
mechanism** of Balle & Wang (2018, Theorem 8)::

    delta(epsilon) = Phi(mu/2 - epsilon/mu) - exp(epsilon) * Phi(-mu/2 - epsilon/mu)

``method="analytic"`` (default) inverts this numerically (bisection in log space). It is
tight: no smaller epsilon holds for that delta. ``r`` releases of the same owner with
noise multipliers ``z_i`` compose (adaptively) to ``mu = s' * sqrt(sum_i 1/z_i**2)``
with ``s' = 1`` (add_remove) or 2 (replace) (Dong, Roth & Su, Corollary 3.3) — again
exact, so ``releases`` copies of ``z`` are one release of ``z / sqrt(releases)``.

``method="rdp"`` uses Renyi DP instead (Mironov 2017): the Gaussian mechanism has RDP
``eps_RDP(alpha) = alpha * mu**2 / 2`` at every order alpha > 1 (``gaussian_rdp``),
RDP composes by addition over releases, and it converts to (epsilon, delta) with
(Balle et al. 2020, Thm. 21; Canonne, Kamath & Steinke 2020, Prop. 12)::

    epsilon = min over alpha > 1 of
              eps_RDP(alpha) + log(1 - 1/alpha) - (log(delta) + log(alpha)) / (alpha - 1)

minimised over real alpha. It is an upper bound, never below the analytic value, and is
offered because it is the usual currency of other accountants.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from fathom.errors import FathomError

__all__ = [
    "PrivacyError",
    "ADJACENCIES",
    "gaussian_rdp",
    "delta_for",
    "epsilon_for",
    "noise_multiplier_for",
]

ADJACENCIES = {"add_remove": 1.0, "replace": 2.0}
_METHODS = ("analytic", "rdp")
_SQRT2 = math.sqrt(2.0)


class PrivacyError(FathomError, ValueError):
    """A privacy parameter is out of range, or an update is not clipped to the stated norm."""


def positive(value: Any, name: str) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise PrivacyError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise PrivacyError(f"{name} must be a finite number > 0, got {value!r}")
    return value


# ---------------------------------------------------------------------------------------
# Accounting
# ---------------------------------------------------------------------------------------


def _mu(noise_multiplier: float | Sequence[float], releases: int, adjacency: str) -> float:
    """The GDP parameter of all releases together."""
    if adjacency not in ADJACENCIES:
        raise PrivacyError(f"adjacency must be one of {', '.join(ADJACENCIES)}; got {adjacency!r}")
    if isinstance(releases, bool) or not isinstance(releases, (int, np.integer)) or releases < 1:
        raise PrivacyError(f"releases must be an integer >= 1, got {releases!r}")
    if isinstance(noise_multiplier, (Sequence, np.ndarray)):
        if releases != 1:
            raise PrivacyError("give either one noise multiplier and a number of releases, or one multiplier per release")
        zs = [positive(z, "noise_multiplier") for z in noise_multiplier]
        if not zs:
            raise PrivacyError("no releases given")
    else:
        zs = [positive(noise_multiplier, "noise_multiplier")] * int(releases)
    return ADJACENCIES[adjacency] * math.sqrt(math.fsum(1.0 / (z * z) for z in zs))


def gaussian_rdp(alpha: float, noise_multiplier: float, releases: int = 1, adjacency: str = "add_remove") -> float:
    """Renyi DP of order ``alpha`` of ``releases`` Gaussian releases:
    ``releases * alpha * s**2 / (2 * noise_multiplier**2)`` (s = 1, or 2 for replace)."""
    alpha = float(alpha)
    if not alpha > 1:
        raise PrivacyError(f"the Renyi order alpha must be > 1, got {alpha!r}")
    mu = _mu(noise_multiplier, releases, adjacency)
    return alpha * mu * mu / 2.0


def _log_ndtr(x: float) -> float:
    """log Phi(x), accurate in both tails."""
    if x > -30.0:
        return math.log(0.5 * math.erfc(-x / _SQRT2))
    # Asymptotic expansion of the lower tail: Phi(x) ~ phi(x)/|x| * (1 - 1/x^2 + 3/x^4 - ...)
    x2 = x * x
    series = 1.0 - 1.0 / x2 + 3.0 / x2**2 - 15.0 / x2**3 + 105.0 / x2**4
    return -x2 / 2.0 - math.log(-x) - 0.5 * math.log(2.0 * math.pi) + math.log(series)


def _log_delta(mu: float, epsilon: float) -> float:
    """log of the analytic Gaussian delta(epsilon) for mu-GDP (-inf when it is 0)."""
    a = mu / 2.0 - epsilon / mu
    b = -mu / 2.0 - epsilon / mu
    la, lb = _log_ndtr(a), _log_ndtr(b)
    ratio = epsilon + lb - la  # log(exp(eps) Phi(b) / Phi(a)), < 0 in exact arithmetic
    if ratio >= 0.0:
        return -math.inf
    return la + math.log(-math.expm1(ratio))


def _check_delta(delta: Any) -> float:
    delta = positive(delta, "delta")
    if delta >= 1:
        raise PrivacyError(f"delta must be < 1, got {delta!r}")
    return delta


def delta_for(noise_multiplier: float | Sequence[float], epsilon: float, releases: int = 1, *, adjacency: str = "add_remove") -> float:
    """The smallest delta for which the releases are (epsilon, delta)-DP (analytic, exact)."""
    epsilon = float(epsilon)
    if not math.isfinite(epsilon) or epsilon < 0:
        raise PrivacyError(f"epsilon must be a finite number >= 0, got {epsilon!r}")
    return math.exp(_log_delta(_mu(noise_multiplier, releases, adjacency), epsilon))


def _epsilon_analytic(mu: float, delta: float) -> float:
    target = math.log(delta)
    if _log_delta(mu, 0.0) <= target:
        return 0.0
    lo, hi = 0.0, 1.0
    while _log_delta(mu, hi) > target:
        lo, hi = hi, hi * 2.0
        if hi > 1e12:
            raise PrivacyError("epsilon is astronomically large: the noise multiplier is far too small")
    for _ in range(200):  # bisection to float64 resolution
        mid = (lo + hi) / 2.0
        if mid in (lo, hi):
            break
        if _log_delta(mu, mid) > target:
            lo = mid
        else:
            hi = mid
    return hi  # the side that satisfies delta(epsilon) <= delta


def _rdp_epsilon_at(log_alpha_minus_1: np.ndarray, mu: float, log_delta: float) -> np.ndarray:
    am1 = np.exp(log_alpha_minus_1)
    alpha = 1.0 + am1
    return alpha * mu * mu / 2.0 + np.log1p(-1.0 / alpha) - (log_delta + np.log(alpha)) / am1


def _epsilon_rdp(mu: float, delta: float) -> float:
    log_delta = math.log(delta)
    grid = np.linspace(math.log(1e-6), math.log(1e8), 4001)  # log(alpha - 1)
    values = _rdp_epsilon_at(grid, mu, log_delta)
    i = int(np.argmin(values))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    inv_phi = (math.sqrt(5.0) - 1.0) / 2.0
    for _ in range(100):  # golden-section search between the grid neighbours
        x1 = hi - inv_phi * (hi - lo)
        x2 = lo + inv_phi * (hi - lo)
        f1, f2 = _rdp_epsilon_at(np.array([x1, x2]), mu, log_delta)
        if f1 <= f2:
            hi = x2
        else:
            lo = x1
    best = min(float(values[i]), float(_rdp_epsilon_at(np.array([(lo + hi) / 2.0]), mu, log_delta)[0]))
    return max(best, 0.0)


def epsilon_for(
    noise_multiplier: float | Sequence[float],
    delta: float,
    releases: int = 1,
    *,
    method: str = "analytic",
    adjacency: str = "add_remove",
) -> float:
    """The epsilon of ``releases`` Gaussian releases of one data owner's contribution, at
    the given ``delta``.

    ``noise_multiplier`` is noise std / clip norm (or one per release, with releases=1).
    ``method``: "analytic" (exact; Balle & Wang 2018 with exact GDP composition) or "rdp"
    (Renyi DP composition and conversion; an upper bound). See the module docstring.
    """
    if method not in _METHODS:
        raise PrivacyError(f"method must be one of {', '.join(_METHODS)}; got {method!r}")
    delta = _check_delta(delta)
    mu = _mu(noise_multiplier, releases, adjacency)
    return _epsilon_analytic(mu, delta) if method == "analytic" else _epsilon_rdp(mu, delta)


def noise_multiplier_for(epsilon: float, delta: float, releases: int = 1, *, method: str = "analytic", adjacency: str = "add_remove") -> float:
    """The smallest noise multiplier (to ~1e-9 relative) whose ``releases`` releases are
    (epsilon, delta)-DP."""
    epsilon = positive(epsilon, "epsilon")
    delta = _check_delta(delta)
    lo, hi = 1e-3, 1e6
    if epsilon_for(hi, delta, releases, method=method, adjacency=adjacency) > epsilon:
        raise PrivacyError(f"epsilon {epsilon} is out of reach at delta {delta}")
    if epsilon_for(lo, delta, releases, method=method, adjacency=adjacency) <= epsilon:
        return lo
    for _ in range(100):
        mid = math.sqrt(lo * hi)
        if epsilon_for(mid, delta, releases, method=method, adjacency=adjacency) <= epsilon:
            hi = mid
        else:
            lo = mid
        if hi / lo < 1 + 1e-9:
            break
    return hi

"""Reference model of Fathom's on-chain math, in plain integers.

This module mirrors, operation for operation, what the contracts compute:

* `contracts/libraries/RewardMath.sol`: goodness keys, progress, the reward curve
  (validation, packing, interpolation), the reward owed, the median;
* `BountyMarket.settleBatch` (`_medians`, `_decide`, `_outcome`, `_accept`,
  `_vote`, `_shares`, `_mergedFor`, `_payOracles`, `_slashBond`, `_void`) and `_setBaseline`: how a batch of
  submissions and the committee's reports become accepted / rejected / slashed
  submissions (or a batch voided for want of a majority, or retried once for it when a
  report is partial: R7b's second round), a new model version, a reward, returned and burned
  stakes, deviant oracles, their burned bond shares and the oracle fee shares
  (SPECIFICATION.md rules C1, C3, S2, R4, R5, R6, R7, R7a, R7b).

Everything is integer arithmetic with the contracts' rounding (every division rounds
down), so a client can predict a settlement to the wei before sending it, and an
oracle node can check what its report will do. The one float entry point is
`quantise`, which turns a metric into the `uint32` score units reported on chain.

The module has no chain dependencies (no brownie, no web3): addresses are plain strings
and CIDs are `(digest, codec)` tuples, as in the contracts' ABI.

Units (SPECIFICATION.md, "Units"):

* a *score* is a `uint32` in score units (the metric divided by the bounty's
  resolution); `INVALID = 2**32 - 1` means "invalid artefact", `UNAVAILABLE = 2**32 - 2`
  "I could not fetch it" (rule R7a: no key; a report holding one is *partial*), so a valid
  score is at most `MAX_SCORE = 2**32 - 3`;
* a *key* (goodness) is `score + 1` when higher is better, `2**32 - 1 - score` when
  lower is better, and `0` for an invalid score: larger is always better;
* fixed point: `WAD = 10**18` means 1.0.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field, replace
from enum import Enum
from fractions import Fraction
from typing import Iterable, Sequence

from fathom.errors import FathomError

__all__ = [
    "WAD",
    "BPS",
    "INVALID",
    "UNAVAILABLE",
    "MAX_SCORE",
    "MAX_KEY",
    "MAX_BREAKPOINTS",
    "MAX_COMMITTEE",
    "MAX_BATCH_SIZE",
    "ZERO_CID",
    "Cid",
    "ProtocolError",
    "InvalidCurve",
    "key",
    "score_of",
    "progress",
    "check_curve",
    "pack",
    "point",
    "curve_at",
    "reward_for",
    "reward_between",
    "lower_median",
    "median",
    "agreeing",
    "quorum",
    "is_deviant",
    "middle_keys",
    "deviates",
    "target_reached",
    "baseline_score",
    "baseline_agreed",
    "quantise",
    "dequantise",
    "to_wad",
    "encode_scores",
    "decode_scores",
    "encode_report",
    "decode_report",
    "one_winner_report",
    "SHARE_TOTAL",
    "MAX_LAG",
    "member_bond",
    "bond_slash",
    "bond_left",
    "offence_slash",
    "Curve",
    "Outcome",
    "BountyTerms",
    "Submission",
    "SubmissionDecision",
    "BatchDecision",
    "decide_batch",
    "own_best",
    "agreed_vote",
    "capped_shares",
    "report_shares",
]

#: Fixed point one (1.0).
WAD = 10**18
#: Basis points in one (slash fractions).
BPS = 10_000
#: A reported score of all ones means "invalid artefact" (`type(uint32).max`).
INVALID = 2**32 - 1
#: A reported score of 2**32 - 2 means "I could not fetch this artefact by the report deadline"
#: (rule R7a, RewardMath.UNAVAILABLE): it is no key, and a report holding one is partial.
UNAVAILABLE = INVALID - 1
#: The largest score a valid measurement may have (RewardMath.MAX_SCORE).
MAX_SCORE = INVALID - 2
#: The largest goodness key (that of the best valid score in either direction: 0 when lower is
#: better). UNAVAILABLE's would-be key (2**32 - 1 or 1) is never used (`decide_batch`).
MAX_KEY = INVALID
#: A curve has 2 to MAX_BREAKPOINTS breakpoints.
MAX_BREAKPOINTS = 8
#: A committee has at most this many members (BountyMarketStorage.MAX_COMMITTEE).
MAX_COMMITTEE = 16
#: A batch holds at most this many submissions (BountyMarketStorage.MAX_BATCH_SIZE).
MAX_BATCH_SIZE = 256
#: The least committee, and the least a member may leave it at before close (MIN_COMMITTEE).
MIN_COMMITTEE = 3
#: committee size x batch size at most this (MAX_COMMITTEE_BY_BATCH): the worst settlement
#: stays within EIP-7825's 2^24 gas per transaction.
MAX_COMMITTEE_BY_BATCH = 2048
#: The scoring timeout's floor and ceiling, and the longest deadline after creation (seconds).
MIN_SCORING_TIMEOUT = 600
MAX_SCORING_TIMEOUT = 7 * 86_400
MAX_DURATION = 365 * 86_400
#: A member's bond is at least the registry's minimum stake over this (BOND_FLOOR_DIVISOR).
BOND_FLOOR_DIVISOR = 16

UINT32_MAX = 2**32 - 1
UINT64_MAX = 2**64 - 1
UINT256_MAX = 2**256 - 1

#: What a report's shares sum to (basis points): a version pays the agreed vector exactly,
#: floor(reward * share / SHARE_TOTAL) each, and refuses a vector that sums to more (R5).
SHARE_TOTAL = 10_000
#: Rule G1 (BountyMarketStorage.MAX_LAG, fathom.ml.aggregate.MAX_LAG): an update based more
#: than this many versions behind the head is stale, refunded, never merged nor slashed.
MAX_LAG = 2
#: A CID as the contracts store it: (sha2-256 digest, codec).
Cid = tuple[bytes, int]
#: "No CID" (a report that names no merged model).
ZERO_CID: Cid = (b"\0" * 32, 0)


class ProtocolError(FathomError, ValueError):
    """An input the contracts could not accept (out of its type's range, wrong length...)."""


class InvalidCurve(ProtocolError):
    """A reward curve the market rejects; `index` is the argument of the contract's
    `InvalidCurve(index)` error (the number of breakpoints when that is wrong)."""

    def __init__(self, index: int, reason: str):
        self.index = index
        self.reason = reason
        super().__init__(f"invalid reward curve at breakpoint {index}: {reason}")


def _check_uint(name: str, value: int, bits: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError(f"{name} must be an integer, not {type(value).__name__}")
    if not 0 <= value <= 2**bits - 1:
        raise ProtocolError(f"{name} must fit in uint{bits} (0..{2**bits - 1}), got {value}")
    return value


# --------------------------------------------------------------------------- RewardMath


def key(score: int, higher_is_better: bool) -> int:
    """Goodness of `score`: larger is better, 0 is invalid (`RewardMath.key`)."""
    _check_uint("score", score, 32)
    if score == INVALID:
        return 0
    return score + 1 if higher_is_better else INVALID - score


def score_of(k: int, higher_is_better: bool) -> int:
    """The score whose goodness is `k` (`RewardMath.scoreOf`), for 1 <= k <= MAX_KEY.

    The contract never calls it with 0 (an invalid median is reported as INVALID
    instead); here 0 and keys no score has raise `ProtocolError`."""
    _check_uint("key", k, 64)
    if not 1 <= k <= MAX_KEY:
        raise ProtocolError(f"key must be in 1..{MAX_KEY} (0 means invalid and has no score), got {k}")
    return k - 1 if higher_is_better else INVALID - k


def progress(k: int, baseline_key: int, target_key: int) -> int:
    """p = (k - baseline) / (target - baseline) in WAD, clipped to [0, WAD], rounded
    down (`RewardMath.progress`). A target at or below the baseline gives WAD for any k
    above the baseline."""
    for name, v in (("key", k), ("baseline key", baseline_key), ("target key", target_key)):
        _check_uint(name, v, 64)
    if k <= baseline_key:
        return 0
    if k >= target_key:
        return WAD
    return (k - baseline_key) * WAD // (target_key - baseline_key)


def check_curve(xs: Sequence[int], ys: Sequence[int]) -> None:
    """Raise `InvalidCurve` with the index the contract reverts with, or return.

    Checked in the contract's order: the number of breakpoints (2..8, as many ys as
    xs; index = len(xs)), the first point (0, 0) (index 0), the last point (WAD, WAD)
    (index len - 1), then each breakpoint i >= 1: x strictly increasing and y
    non-decreasing (index i). Values must be uint64 (`ProtocolError` otherwise: the
    ABI could not even encode them)."""
    n = len(xs)
    for name, vs in (("x", xs), ("y", ys)):
        for i, v in enumerate(vs):
            _check_uint(f"curve {name}[{i}]", v, 64)
    if n < 2 or n > MAX_BREAKPOINTS:
        raise InvalidCurve(n, f"a curve has 2 to {MAX_BREAKPOINTS} breakpoints, got {n}")
    if len(ys) != n:
        raise InvalidCurve(n, f"{n} x values but {len(ys)} y values")
    if xs[0] != 0 or ys[0] != 0:
        raise InvalidCurve(0, f"the first breakpoint must be (0, 0), got ({xs[0]}, {ys[0]})")
    if xs[-1] != WAD or ys[-1] != WAD:
        raise InvalidCurve(n - 1, f"the last breakpoint must be (WAD, WAD) = ({WAD}, {WAD}), got ({xs[-1]}, {ys[-1]})")
    for i in range(1, n):
        if xs[i] <= xs[i - 1]:
            raise InvalidCurve(i, f"x must increase strictly: x[{i}] = {xs[i]} <= x[{i - 1}] = {xs[i - 1]}")
        if ys[i] < ys[i - 1]:
            raise InvalidCurve(i, f"y must not decrease: y[{i}] = {ys[i]} < y[{i - 1}] = {ys[i - 1]}")


def pack(xs: Sequence[int], ys: Sequence[int]) -> tuple[tuple[int, int, int, int], int]:
    """Check a curve and pack it as the market stores it (`RewardMath.pack`): four
    words, point i = (x, y) as two uint64 in word i // 2 at bit 128 * (i % 2), y above
    x. Returns (packed, number of breakpoints)."""
    check_curve(xs, ys)
    words = [0, 0, 0, 0]
    for i, (x, y) in enumerate(zip(xs, ys)):
        words[i // 2] |= (x | (y << 64)) << (128 * (i % 2))
    return (words[0], words[1], words[2], words[3]), len(xs)


def point(packed: Sequence[int], i: int) -> tuple[int, int]:
    """Breakpoint i of a packed curve (`RewardMath.point`)."""
    if not 0 <= i < 2 * len(packed):
        raise ProtocolError(f"breakpoint index must be in 0..{2 * len(packed) - 1}, got {i}")
    word = packed[i // 2] >> (128 * (i % 2))
    return word & UINT64_MAX, (word >> 64) & UINT64_MAX


def curve_at(packed: Sequence[int], n: int, p: int) -> int:
    """c(p) in WAD by linear interpolation between breakpoints, rounded down
    (`RewardMath.curveAt`): y0 + (y1 - y0) * (p - x0) // (x1 - x0) on the first
    segment with p <= x1; WAD for p >= WAD."""
    _check_uint("p", p, 256)
    if p >= WAD:
        return WAD
    for i in range(1, n):
        x1, y1 = point(packed, i)
        if p <= x1:
            x0, y0 = point(packed, i - 1)
            return y0 + (y1 - y0) * (p - x0) // (x1 - x0)
    return WAD  # unreachable for a packed curve (its last x is WAD)


def reward_for(escrow: int, paid_so_far: int, curve_value: int) -> int:
    """floor(escrow * c / WAD) - paid_so_far, or 0 if that is not positive
    (`RewardMath.rewardFor`). Never more than `escrow - paid_so_far` for c <= WAD."""
    _check_uint("escrow", escrow, 256)
    _check_uint("paid so far", paid_so_far, 256)
    _check_uint("curve value", curve_value, 256)
    if escrow * curve_value > UINT256_MAX:
        raise ProtocolError("escrow * curve value overflows uint256 (the contract would revert)")
    due = escrow * curve_value // WAD
    return due - paid_so_far if due > paid_so_far else 0


def reward_between(escrow: int, paid_so_far: int, c_old: int, c_new: int) -> int:
    """R6: floor(escrow * (c_new - c_old) / WAD), at most escrow - paid_so_far, 0 if the
    curve does not rise (`RewardMath.rewardBetween`). R is the escrow now (after top-ups):
    a top-up funds the progress still to come, never progress already paid for."""
    for name, v in (("escrow", escrow), ("paid so far", paid_so_far), ("c_old", c_old), ("c_new", c_new)):
        _check_uint(name, v, 256)
    if c_new <= c_old or escrow <= paid_so_far:
        return 0
    if escrow * (c_new - c_old) > UINT256_MAX:
        raise ProtocolError("escrow * curve step overflows uint256 (the contract would revert)")
    return min(escrow * (c_new - c_old) // WAD, escrow - paid_so_far)


def lower_median(keys: Iterable[int]) -> int:
    """Element (m - 1) // 2 of the keys sorted ascending (`RewardMath.lowerMedian`).

    Invalid reports (key 0) sort first, so the median is invalid only when at least
    half of the reports (rounded up: 2 of 3, 2 of 4) say invalid. With an honest
    majority it lies within the range of the honest values."""
    ks = sorted(keys)
    if not ks:
        raise ProtocolError("the median of no reports is undefined")
    return ks[(len(ks) - 1) // 2]


def median(keys: Iterable[int]) -> int:
    """The median of the keys (`RewardMath.median`, `_medians`): the middle key of an odd
    count; for an even count the midpoint of the two middle keys, rounded down, or 0
    (invalid) when the lower of them is invalid (half or more of the reports say invalid).

    Unlike the lower median it has no bias towards the low half of an even count. With
    fewer than half of the keys dishonest it lies within the range of the honest ones."""
    ks = sorted(keys)
    if not ks:
        raise ProtocolError("the median of no reports is undefined")
    m = len(ks)
    if m % 2:
        return ks[m // 2]
    lo, hi = ks[m // 2 - 1], ks[m // 2]
    return 0 if lo == 0 else (lo + hi) // 2


def middle_keys(keys: Iterable[int]) -> tuple[int, int]:
    """The two middle keys `lo <= hi` of the keys sorted ascending (both the middle key of an odd
    count): the interval an even count's deviance is judged against (rule R7, `deviant`)."""
    ks = sorted(keys)
    if not ks:
        raise ProtocolError("the median of no reports is undefined")
    return ks[(len(ks) - 1) // 2], ks[len(ks) // 2]


def deviates(k: int, keys: Sequence[int], tolerance: int) -> bool:
    """Is the report with key `k`, one of `keys` (the reports on one median), deviant (rule R7)?
    Off both middle keys `lo <= hi` (`is_deviant`: further than `tolerance`, or of the other
    validity) and outside [lo, hi]; for an odd count (lo == hi == the median) the same as
    `is_deviant(k, median(keys), tolerance)`. Agreement (R4's quorum, `agreeing`) stays with the
    median itself. Why the interval (review of R7b, F1): against the midpoint of an even count,
    two honest keys `tolerance - 2` apart and two dishonest ones placed beyond the higher made
    the lower honest key deviant; now an honest report is never deviant when the honest reports
    are at least half of the keys and within the tolerance of one another (then lo <= the
    highest honest key and hi >= the lowest, so each honest key is within the tolerance of lo
    or hi, or lies between them)."""
    lo, hi = middle_keys(keys)
    return is_deviant(k, lo, tolerance) and is_deviant(k, hi, tolerance) and (k < lo or k > hi)


def agreeing(keys: Iterable[int], med: int, tolerance: int) -> int:
    """How many keys agree with the median `med` (`RewardMath.within`): not deviant from it."""
    return sum(1 for k in keys if not is_deviant(k, med, tolerance))


def quorum(committee_size: int) -> int:
    """Reports a decision needs, and reports that must agree with each of its medians: more
    than half of the committee, `committee_size // 2 + 1` (rule R4; 1 for a single oracle)."""
    if not 1 <= committee_size <= MAX_COMMITTEE:
        raise ProtocolError(f"a committee has 1 to {MAX_COMMITTEE} members, got {committee_size}")
    return committee_size // 2 + 1


#: The last 1/REVEAL_SHARE of a batch's scoring timeout is its reveal phase (rule R11;
#: BountyMarketStorage.REVEAL_SHARE).
REVEAL_SHARE = 4


def reveal_at(timeout_at: int, scoring_timeout: int) -> int:
    """When a batch's reveal phase opens at the latest (R11; `getCommits`' revealAt)."""
    return timeout_at - scoring_timeout // REVEAL_SHARE


def reveal_open(committed: int, duty: int, reported: int, now: int, reveal_at_: int) -> bool:
    """Rule R11, as `_revealOpen`: reports (reveals) are accepted, and commitments refused,
    once a report is public, every member on duty committed (`duty`: opted in before the
    batch became reportable, i.e. not sitting it out), or the reveal phase began."""
    return reported != 0 or committed == duty or now >= reveal_at_


# ------------------------------------------------------------------ market helpers


def is_deviant(k: int, median: int, tolerance: int) -> bool:
    """Does a report's key `k` deviate from the median (rule R7)? Invalid where the
    median is valid or the reverse, or further than `tolerance` score units from it."""
    return (k == 0) != (median == 0) or abs(k - median) > tolerance


def target_reached(head_score: int, target: int, higher_is_better: bool) -> bool:
    """The head reached the target: the bounty ends (`_targetReached`)."""
    return key(head_score, higher_is_better) >= key(target, higher_is_better)


def baseline_score(scores: Sequence[int], higher_is_better: bool) -> int:
    """The baseline (version 0's score) from the committee's baseline reports (rule S2:
    the score of the median of their keys). Baseline reports cannot be invalid."""
    if any(s > MAX_SCORE for s in scores):
        raise ProtocolError("a baseline report cannot be INVALID or UNAVAILABLE (the market reverts InvalidScore)")
    return score_of(median(key(s, higher_is_better) for s in scores), higher_is_better)


def baseline_agreed(scores: Sequence[int], higher_is_better: bool, tolerance: int, committee_size: int) -> bool:
    """Whether the market sets `baseline_score(scores)` (rule S2): more than half of the
    committee reported within `tolerance` of the median (else it waits for more reports)."""
    keys = [key(s, higher_is_better) for s in scores]
    return len(keys) >= quorum(committee_size) and agreeing(keys, median(keys), tolerance) >= quorum(committee_size)


def member_bond(min_stake: int, pays_in_eth: bool, fee_budget: int) -> int:
    """What each member locks when it opts in (rule C1, `_setBond`): the registry's minimum
    stake / 16, or the fee budget (`oracleFeePerBatch * maxBatches`) of an ETH bounty if larger."""
    bond = min_stake // BOND_FLOOR_DIVISOR
    return max(bond, fee_budget) if pays_in_eth else bond


def bond_slash(bond: int, registry_slash_bps: int) -> int:
    """What one offence takes from a bond (rule C3): bond * registry slashBps // 10000."""
    if not 0 <= registry_slash_bps <= BPS:
        raise ProtocolError(f"registry slash bps must be in 0..{BPS}, got {registry_slash_bps}")
    return bond * registry_slash_bps // BPS


def bond_left(bond: int, per_offence: int, offences: int) -> int:
    """What is left of a bond after `offences` slashes (`_bondLeft`)."""
    return max(0, bond - offences * per_offence)


def offence_slash(bond: int, per_offence: int, offences: int) -> int:
    """What the next offence takes (`_slashBond`): per_offence, or the rest of the bond."""
    return min(per_offence, bond_left(bond, per_offence, offences))


def to_wad(value: float | int | str | Fraction) -> int:
    """A real number in WAD fixed point, rounded to the nearest unit (ties up), e.g.
    for curve breakpoints: `to_wad(0.8) == 8 * 10**17`.

    A float counts as the decimal it prints as (`0.8`, not its binary value
    0.8000000000000000444...), since that is what a user typed; strings such as
    `"0.8"` or `"4/5"` are exact."""
    if isinstance(value, bool):
        raise ProtocolError("a WAD value must be a number, not a bool")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ProtocolError(f"cannot express {value} in WAD")
        value = repr(value)
    try:
        exact = Fraction(value)
    except (ValueError, TypeError, ZeroDivisionError):
        raise ProtocolError(f"not a number: {value!r}") from None
    return math.floor(exact * WAD + Fraction(1, 2))


def quantise(score: float, resolution_wad: int) -> int:
    """A metric value in the uint32 score units reported on chain.

    `resolution_wad` is one score unit in metric units, in WAD (`10**14` = 0.0001, so
    an accuracy of 0.9 is 9000 units). Rules:

    * the exact value of the float is used (no decimal-string detour), divided by the
      resolution, and rounded to the nearest integer, **ties upward** (toward +inf):
      `floor(score * WAD / resolution_wad + 1/2)`. So 0.89995 (a float slightly
      below that decimal) gives 8999 or 9000 as its exact binary value dictates, the
      same on every machine;
    * the result saturates to [0, MAX_SCORE]: a negative metric becomes 0, an
      infinite or too large one MAX_SCORE = 2**32 - 3. INVALID (2**32 - 1) and UNAVAILABLE
      (2**32 - 2) are never returned: a valid score can never be mistaken for an invalid
      artefact or for one the oracle could not fetch;
    * NaN raises `ProtocolError`: a metric that is not a number is no score; the
      oracle reports INVALID (or investigates) instead.
    """
    _check_uint("resolution", resolution_wad, 64)
    if resolution_wad == 0:
        raise ProtocolError("resolution must be positive")
    if isinstance(score, bool) or not isinstance(score, numbers.Real):
        raise ProtocolError(f"score must be a real number, not {type(score).__name__}")
    if not isinstance(score, (int, Fraction)):
        score = float(score)  # numpy floats too: the exact binary value is kept
        if math.isnan(score):
            raise ProtocolError("score is NaN: report INVALID for an artefact that cannot be scored")
        if math.isinf(score):
            return MAX_SCORE if score > 0 else 0
    units = math.floor(Fraction(score) * WAD / resolution_wad + Fraction(1, 2))
    return min(max(units, 0), MAX_SCORE)


def dequantise(units: int, resolution_wad: int) -> float:
    """The metric value of a score (for display); INVALID and UNAVAILABLE have none."""
    _check_uint("score", units, 32)
    if units > MAX_SCORE:
        raise ProtocolError(f"{'INVALID' if units == INVALID else 'UNAVAILABLE'} is not a measurement")
    if resolution_wad <= 0:
        raise ProtocolError("resolution must be positive")
    return float(Fraction(units * resolution_wad, WAD))


def encode_report(scores: Sequence[int], merged_score: int, shares: Sequence[int]) -> bytes:
    """A report's `scores` bytes (rule R1), 6n + 4 for a batch of n: a big-endian uint32 score
    per submission, the merged model's uint32 score, then a uint16 share per submission."""
    if len(shares) != len(scores):
        raise ProtocolError(f"{len(shares)} shares for {len(scores)} submissions")
    return (b"".join(_check_uint("score", s, 32).to_bytes(4, "big") for s in scores)
            + _check_uint("merged score", merged_score, 32).to_bytes(4, "big")
            + b"".join(_check_uint("share", x, 16).to_bytes(2, "big") for x in shares))


def one_winner_report(scores: Sequence[int], higher_is_better: bool = True) -> tuple[int, list[int]]:
    """The merged score and shares of a report that merges only its own best submission (a
    member that aggregates nothing): all of SHARE_TOTAL to `own_best`, whose score is the
    merged model's; INVALID and no shares when every score is invalid. A partial report
    (some score UNAVAILABLE) votes over what it fetched (R7a): its best among the others."""
    shares = [0] * len(scores)
    scores = [INVALID if s == UNAVAILABLE else s for s in scores]
    if all(s == INVALID for s in scores):
        return INVALID, shares
    best = own_best(scores, higher_is_better)
    shares[best] = SHARE_TOTAL
    return scores[best], shares


def encode_scores(scores: Sequence[int], merged_score: int | None = None, shares: Sequence[int] | None = None,
                  higher_is_better: bool = True) -> bytes:
    """`encode_report`; without a merged score and shares, those of `one_winner_report`."""
    if merged_score is None or shares is None:
        merged_score, shares = one_winner_report(scores, higher_is_better)
    return encode_report(scores, merged_score, shares)


def decode_report(data: bytes) -> tuple[list[int], int, list[int]]:
    """The inverse of `encode_report`: (scores, merged score, shares)."""
    if len(data) < 4 or (len(data) - 4) % 6:
        raise ProtocolError(f"a report holds 6 bytes per submission plus 4, got {len(data)} bytes")
    n = (len(data) - 4) // 6
    scores = [int.from_bytes(data[i : i + 4], "big") for i in range(0, 4 * n, 4)]
    shares = [int.from_bytes(data[i : i + 2], "big") for i in range(4 * n + 4, 6 * n + 4, 2)]
    return scores, int.from_bytes(data[4 * n : 4 * n + 4], "big"), shares


def decode_scores(data: bytes) -> list[int]:
    """A report's scores, one per submission (`decode_report`'s first part)."""
    return decode_report(data)[0]


# --------------------------------------------------------------------------- curve


@dataclass(frozen=True)
class Curve:
    """A validated reward curve c: [0, WAD] -> [0, WAD] (rule B4).

    `Curve(xs, ys)` raises `InvalidCurve` exactly when `createBounty` would revert
    with `InvalidCurve(index)`."""

    xs: tuple[int, ...]
    ys: tuple[int, ...]
    packed: tuple[int, int, int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "xs", tuple(self.xs))
        object.__setattr__(self, "ys", tuple(self.ys))
        packed, _ = pack(self.xs, self.ys)
        object.__setattr__(self, "packed", packed)

    @classmethod
    def linear(cls) -> "Curve":
        """c(p) = p: every point of progress pays alike."""
        return cls((0, WAD), (0, WAD))

    @classmethod
    def from_points(cls, points: Sequence[tuple[float, float]]) -> "Curve":
        """From real breakpoints, e.g. `[(0, 0), (0.5, 0.8), (1, 1)]` (concave: pays
        early gains more), each coordinate rounded to the nearest WAD unit."""
        return cls(tuple(to_wad(x) for x, _ in points), tuple(to_wad(y) for _, y in points))

    def __len__(self) -> int:
        return len(self.xs)

    def at(self, p: int) -> int:
        """c(p) for p in WAD, rounded down like the contract."""
        return curve_at(self.packed, len(self.xs), p)


# ----------------------------------------------------------------- batch decision


class Outcome(str, Enum):
    """What settlement did with a submission (rule R5)."""

    ACCEPTED = "accepted"  # merged into the new version (UpdateMerged): stake back plus its part of the reward
    REJECTED = "rejected"  # a bit of BatchSettled.rejected (no share, stale, or no version): stake back
    SLASHED = "slashed"  # StakeSlashed: slashBps of the stake burned, the rest back
    VOIDED = "voided"  # BatchVoided: no majority agreed with a median; every stake back
    #: BatchRetried (R7b): no majority with a partial report, in the batch's first round: the
    #: partial reports are cleared for a second round; nothing is decided, the stake stays staked
    RETRIED = "retried"


@dataclass(frozen=True)
class BountyTerms:
    """The parts of a bounty's state that decide a batch (names as in `getBounty`).

    Scores are in score units; amounts in the bounty's token; `reward` is the escrow R
    (after top-ups), `paid` the rewards paid so far."""

    higher_is_better: bool
    target: int
    baseline_score: int
    head_score: int
    reward: int
    paid: int
    curve: Curve
    slash_margin: int
    tolerance: int
    slash_bps: int
    oracle_fee_per_batch: int
    version_count: int = 0

    def __post_init__(self) -> None:
        for name, bits in (
            ("target", 32), ("baseline_score", 32), ("head_score", 32), ("reward", 128), ("paid", 128),
            ("slash_margin", 32), ("tolerance", 32), ("slash_bps", 16), ("oracle_fee_per_batch", 96),
            ("version_count", 32),
        ):
            _check_uint(name, getattr(self, name), bits)
        for name in ("target", "baseline_score", "head_score"):
            if getattr(self, name) == INVALID:
                raise ProtocolError(f"{name} cannot be INVALID ({INVALID})")
        if self.slash_bps > BPS:
            raise ProtocolError(f"slash_bps must be at most {BPS}, got {self.slash_bps}")
        if self.paid > self.reward:
            raise ProtocolError(f"paid ({self.paid}) cannot exceed the reward escrow ({self.reward})")

    @property
    def head_key(self) -> int:
        return key(self.head_score, self.higher_is_better)

    @property
    def baseline_key(self) -> int:
        return key(self.baseline_score, self.higher_is_better)

    @property
    def target_key(self) -> int:
        return key(self.target, self.higher_is_better)

    @property
    def target_reached(self) -> bool:
        """The head reached the target (the bounty has ended)."""
        return self.head_key >= self.target_key

    def reward_at(self, score: int) -> int:
        """What accepting a version with `score` would pay now (rule R6): R * (c(p) - c(p_head))."""
        k = key(score, self.higher_is_better)
        c_new = self.curve.at(progress(k, self.baseline_key, self.target_key))
        c_old = self.curve.at(progress(self.head_key, self.baseline_key, self.target_key))
        return reward_between(self.reward, self.paid, c_old, c_new)

    def after(self, decision: "BatchDecision") -> "BountyTerms":
        """The terms the next batch is decided under (new head, paid, version count)."""
        return replace(
            self, head_score=decision.head_score_after, paid=decision.paid_after, version_count=decision.version_count_after
        )


@dataclass(frozen=True)
class Submission:
    """One submission of the batch, as its `SubmissionRecord` (stake = what arrived)."""

    contributor: str
    stake: int


@dataclass(frozen=True)
class SubmissionDecision:
    """The fate of one submission (the event settlement emits for it)."""

    index: int  # position in the batch
    submission_id: int
    contributor: str
    outcome: Outcome
    median_key: int  # median of the reported keys (0: invalid)
    score: int  # the median as a score (INVALID when invalid): the event's `score`
    stake: int
    reward: int  # only for a merged one: floor(version reward * share / SHARE_TOTAL)
    burned: int  # only when slashed
    returned: int  # stake - burned
    share: int = 0  # its share in the agreed vote, of SHARE_TOTAL (0 unless merged)
    stale: bool = False  # based more than MAX_LAG versions behind the head (G1)

    @property
    def payout(self) -> int:
        """What becomes claimable by the contributor in the bounty's token."""
        return self.returned + self.reward


@dataclass(frozen=True)
class BatchDecision:
    """Everything `settleBatch` decides, as the model predicts it.

    Per-report tuples follow the order of the reports given (on chain: committee order
    of the reporters)."""

    decisions: tuple[SubmissionDecision, ...]
    medians: tuple[int, ...]  # median key per submission (0: invalid)
    median_scores: tuple[int, ...]  # as scores (INVALID when invalid)
    deviant: tuple[bool, ...]  # per report (rule R7)
    accepted_index: int | None  # the merged update with the largest share (the version's author), if any
    new_version: int | None  # its version number
    reward: int  # R * (c(p_new) - c(p_old)) for the merged model: what the merged updates split
    merged: Cid | None  # merged-model CID named in VersionAccepted (None if not computed)
    head_score_after: int
    paid_after: int
    version_count_after: int
    target_reached_after: bool
    burned: int  # total stake burned (pendingBurn of the bounty's token)
    fee_share: int  # BatchSettled.feeShare: oracleFeePerBatch // non-deviant reports (partial and uncommitted included)
    oracle_fees: tuple[int, ...]  # per report: fee_share, or 0 for a deviant, partial (R7a) or uncommitted (R7b) one
    fees_paid: int  # fee_share * non-deviant reports: spent, paid or burned (added to feesPaid)
    fee_unpaid: int  # oracleFeePerBatch - fees_paid (refunded to the requester at close); 0 for a retry (undecided)
    oracle_slashed: tuple[int, ...] | None  # ETH taken from each reporter's bond (None: bonds not given)
    oracle_burned: int | None  # all of it, burned (pendingBurn(ETH)): nobody is paid from a slash
    voided: bool = False  # no majority of the committee agreed with some median: BatchVoided
    merged_indices: tuple[int, ...] = ()  # positions merged into the new version (UpdateMerged)
    merged_median: int = 0  # the median key of the merged model's reported scores
    partial: tuple[bool, ...] = ()  # per report: some score UNAVAILABLE (R7a): its fee share burned, never deviant for its vote
    voted: bool = True  # False: no vote has a quorum and some submission is UNAVAILABLE to a quorum (R7a): no version
    #: R7b: no majority with some partial report in a batch not yet retried: BatchRetried, a second
    #: round; nothing is paid, charged, returned or burned, and the batch is still the next to decide
    retry: bool = False
    #: with `retry`, BatchRetried.cleared: the committee bits (bit i = member index i) of the partial
    #: reports cleared, whose members report again; the full reports stand
    cleared: int = 0
    #: R7a/R7b: fee_share per non-deviant report that is partial or uncommitted, burned
    #: (pendingBurn of the bounty's token): neither paid nor refunded, part of fees_paid
    fee_burned: int = 0

    @property
    def accepted(self) -> SubmissionDecision | None:
        return None if self.accepted_index is None else self.decisions[self.accepted_index]

    @property
    def deviant_indices(self) -> tuple[int, ...]:
        return tuple(r for r, d in enumerate(self.deviant) if d)

    def contributor_credits(self) -> dict[str, int]:
        """Claimable in the bounty's token per contributor (stakes back + reward)."""
        out: dict[str, int] = {}
        for d in self.decisions:
            if d.payout:
                out[d.contributor] = out.get(d.contributor, 0) + d.payout
        return out


def own_best(scores: Sequence[int], higher_is_better: bool) -> int:
    """The submission a report ranks best (`_ownBest`): highest key, lowest index on
    ties; 0 when every score is invalid."""
    best, best_key = 0, 0
    for i, s in enumerate(scores):
        k = key(s, higher_is_better)
        if k > best_key:
            best, best_key = i, k
    return best


def agreed_vote(merged: Sequence[Cid], shares: Sequence[Sequence[int]], quorum_size: int) -> int | None:
    """The first report whose vote, its merged CID and its share vector together (`_vote`),
    at least `quorum_size` reports name; None when no vote has a quorum (R4: no decision).
    Honest members compute identical shares (G7), so they vote alike."""
    votes = [(bytes(c[0]), int(c[1]), tuple(x)) for c, x in zip(merged, shares)]
    for r, v in enumerate(votes):
        if votes.count(v) >= quorum_size:
            return r
    return None


def capped_shares(shares: Sequence[int], beats_head: Sequence[bool]) -> bool:
    """Whether an agreed share vector is within R5's caps: a share only on a submission that
    beats the head (and is not stale), and a sum of at most SHARE_TOTAL."""
    return sum(shares) <= SHARE_TOTAL and all(b for x, b in zip(shares, beats_head) if x)


def report_shares(shares: Sequence[int], scores: Sequence[int], head_score: int, higher_is_better: bool) -> list[int]:
    """A member's share vector within R5's caps, as its report names it: a share only on a
    submission its own score says beats the head (a candidate whose significant gain is
    below one score unit reports the head's score), the kept shares renormalised to
    SHARE_TOTAL (floors, then one unit to each of the largest remainders, ties by the lower
    index). Pure integers: honest members, whose scores and shares agree bit for bit (F4,
    G7), name the same vector."""
    if len(shares) != len(scores):
        raise ProtocolError(f"{len(shares)} shares for {len(scores)} submissions")
    head = key(head_score, higher_is_better)
    kept = [int(x) if x > 0 and key(s, higher_is_better) > head else 0 for x, s in zip(shares, scores)]
    total = sum(kept)
    if total == 0:
        return kept
    out = [SHARE_TOTAL * x // total for x in kept]
    left = SHARE_TOTAL - sum(out)
    rank = sorted((i for i, x in enumerate(kept) if x), key=lambda i: (-(SHARE_TOTAL * kept[i] % total), i))
    for i in rank[:left]:
        out[i] += 1
    return out


def decide_batch(
    terms: BountyTerms,
    submissions: Sequence[Submission],
    reports: Sequence[Sequence[int]],
    *,
    first_id: int = 0,
    merged: Sequence[Cid] | None = None,
    committee_size: int | None = None,
    bonds_left: Sequence[int] | None = None,
    per_offence: int | None = None,
    merged_scores: Sequence[int] | None = None,
    shares: Sequence[Sequence[int]] | None = None,
    base_versions: Sequence[int] | None = None,
    retried: bool = False,
    uncommitted: Sequence[bool] | None = None,
    members: Sequence[int] | None = None,
) -> BatchDecision:
    """Decide a batch exactly as `BountyMarket.settleBatch` does (rules R5-R7, G1).

    `reports[r][i]` is reporter r's score for submission i (INVALID for an invalid
    artefact), `merged_scores[r]` its score for its merged model and `shares[r][i]` its
    share for submission i (both default to `one_winner_report`); reporters in committee
    order, as settlement takes them. `first_id` is the id of the batch's first submission.
    `merged` (one CID per report; default: every report names ZERO_CID) gives the merged
    model's CID. `base_versions` (default: every submission on the head) gives each
    submission's base version. `committee_size` (default: the number of reports) sets the
    quorum. `bonds_left` and `per_offence` predict the ETH slashed from deviant reporters.
    `retried` says the batch was retried already (R7b: this is its second round);
    `uncommitted[r]` that report r was made in a second round without a commitment (default:
    none); `members[r]` is report r's member index in the committee (default r), for the
    cleared mask of a retry.

    The rule: per submission, the median of the reported keys. A score of UNAVAILABLE (rule
    R7a) is no key: each median is over the other reports; one that a quorum of the
    committee reports UNAVAILABLE is invalid (its contributor failed to keep it available,
    F8) and nobody is deviant on it; a report with any UNAVAILABLE is *partial*: its fee
    share is burned, and it votes over what it fetched (a merged score UNAVAILABLE names no vote). If,
    for any median, fewer than a quorum (more than half of the committee) of the reports
    agree with it (`agreeing`), the batch is voided. The (merged CID, share vector) vote: the
    first one a quorum of the reports names (`agreed_vote`) is agreed; a full report naming
    another is deviant only when a quorum of full reports named it (a partial report never
    is); the merged model's score is one more median, over the reports naming the agreed vote
    only, with the same deviance and agreement rules. No vote with a quorum: the batch is
    voided, or, when some submission is UNAVAILABLE to a quorum, decided without a version (so
    that submission is slashed). R7b: where the batch would be voided for want of a majority
    and some report is partial, a batch not yet `retried` is retried instead (`retry`, with
    `cleared` the partial reporters' member bits): nothing is decided, paid or charged; once
    retried it voids. When a submission's median already lacks a quorum, settlement never reads
    the merged scores: a report partial only by its merged score is then not seen (a batch with
    no other partial report voids; it is not cleared). A submission based more than MAX_LAG
    versions behind the head is stale: refunded, never merged nor slashed. The agreed
    vector is paid exactly, within the caps (`capped_shares`): when some share is positive,
    the vector is capped and the merged model's median beats the head, the merged model
    becomes the next version: its reward R * (c(p_new) - c(p_old)) is split among the
    submissions with a share, each paid floor(reward * share / SHARE_TOTAL) plus its stake
    (the rest stays in escrow). Every other submission is rejected (stake back), or
    slashed when its median is invalid or its key plus `slash_margin` is below the head's
    key (never when stale). A reporter is deviant if its validity differs from a median's,
    its key lies more than `tolerance` from it, or its vote is not the agreed one (as
    above); `oracle_fee_per_batch` is divided equally over the others (R9); the shares of the
    partial ones and of the `uncommitted` ones (R7b: a second-round report made after the
    standing ones were public) are burned (`fee_burned`), neither paid nor refunded, so that
    making a member partial moves no fee to anybody."""
    n, m = len(submissions), len(reports)
    if not 1 <= n <= MAX_BATCH_SIZE:
        raise ProtocolError(f"a batch holds 1 to {MAX_BATCH_SIZE} submissions, got {n}")
    if not 1 <= m <= MAX_COMMITTEE:
        raise ProtocolError(f"a batch is settled with 1 to {MAX_COMMITTEE} reports, got {m}")
    for r, rep in enumerate(reports):
        if len(rep) != n:
            raise ProtocolError(f"report {r} has {len(rep)} scores for {n} submissions")
        for s in rep:
            _check_uint(f"report {r} score", s, 32)
    for s in submissions:
        _check_uint("stake", s.stake, 96)
    if merged is not None and len(merged) != m:
        raise ProtocolError(f"{len(merged)} merged CIDs for {m} reports")
    if (merged_scores is None) != (shares is None):
        raise ProtocolError("give both merged_scores and shares, or neither")
    higher = terms.higher_is_better
    if merged_scores is None or shares is None:
        implied = [one_winner_report(rep, higher) for rep in reports]
        merged_scores = [x[0] for x in implied]
        shares = [x[1] for x in implied]
    if len(merged_scores) != m or len(shares) != m or any(len(x) != n for x in shares):
        raise ProtocolError("one merged score and n shares per report")
    for x in shares:
        for v in x:
            _check_uint("share", v, 16)
    if base_versions is None:
        base_versions = [terms.version_count] * n
    if len(base_versions) != n:
        raise ProtocolError(f"{len(base_versions)} base versions for {n} submissions")
    if (bonds_left is None) != (per_offence is None):
        raise ProtocolError("give both bonds_left and per_offence, or neither")
    uncommitted = [False] * m if uncommitted is None else [bool(u) for u in uncommitted]
    if len(uncommitted) != m:
        raise ProtocolError(f"{len(uncommitted)} uncommitted flags for {m} reports")
    if any(uncommitted) and not retried:
        raise ProtocolError("a report without a commitment (uncommitted) counts only in a retried batch (R7b)")
    members = list(range(m)) if members is None else [int(x) for x in members]
    if len(members) != m or len(set(members)) != m or not all(0 <= x < MAX_COMMITTEE for x in members) \
            or members != sorted(members):
        raise ProtocolError(f"members: {m} distinct committee indices in committee order, got {members}")
    if bonds_left is not None and len(bonds_left) != m:
        raise ProtocolError(f"{len(bonds_left)} bonds for {m} reports")
    size = m if committee_size is None else committee_size
    q = quorum(size)
    if m < q:
        raise ProtocolError(f"{m} reports are not a quorum of a committee of {size} (needs {q})")

    head_key = terms.head_key

    # _medians: the submissions' medians; deviants. R7a: UNAVAILABLE is no key: each median,
    # deviance and agreement count is over the other reports, and a slot a quorum of the
    # committee says UNAVAILABLE is invalid with nobody deviant on it (lost)
    medians: list[int] = []
    deviant = [False] * m
    partial = [False] * m
    no_majority = False
    lost = False
    for i in range(n):
        scores_i = [reports[r][i] for r in range(m)]
        given = [(r, key(x, higher)) for r, x in enumerate(scores_i) if x != UNAVAILABLE]
        for r, x in enumerate(scores_i):
            partial[r] = partial[r] or x == UNAVAILABLE
        if m - len(given) >= q:
            medians.append(0)  # unavailable to a quorum: invalid (the contributor's duty, F8)
            lost = True
            continue
        keys = [k for _r, k in given]
        med = median(keys)
        medians.append(med)
        for r, k in given:
            if deviates(k, keys, terms.tolerance):
                deviant[r] = True
        if agreeing(keys, med, terms.tolerance) < q:
            no_majority = True
    # _vote: the merged CID and the share vector are one vote; a partial report votes over what
    # it fetched, one whose merged score is UNAVAILABLE names none (and is partial); the merged
    # model's median is over the reports naming the agreed vote
    cids = merged if merged is not None else [ZERO_CID] * m
    # R7b: the partial reports settlement sees when a median already failed (`_vote` does not run,
    # so a report partial only by its merged score is not seen: no retry for it, nor cleared)
    seen = list(partial) if no_majority else None
    for r in range(m):
        partial[r] = partial[r] or merged_scores[r] == UNAVAILABLE
    voters = [r for r in range(m) if merged_scores[r] != UNAVAILABLE]

    def vote(r: int) -> tuple[bytes, int, tuple[int, ...]]:
        return bytes(cids[r][0]), int(cids[r][1]), tuple(int(x) for x in shares[r])

    agreed = None
    merged_median = 0
    if not no_majority:
        pick = agreed_vote([cids[r] for r in voters], [shares[r] for r in voters], q)
        agreed = None if pick is None else voters[pick]
        if agreed is None:
            no_majority = not lost  # R7a: with a submission unavailable to a quorum, decided, no version
        else:
            same = [r for r in voters if vote(r) == vote(agreed)]
            if sum(not partial[r] for r in same) >= q:
                for r in range(m):
                    if not partial[r] and r not in same:
                        deviant[r] = True
            keys = [key(merged_scores[r], higher) for r in same]
            merged_median = median(keys)
            for r, k in zip(same, keys):
                if deviates(k, keys, terms.tolerance):
                    deviant[r] = True
            if agreeing(keys, merged_median, terms.tolerance) < q:
                no_majority = True
    seen = partial if seen is None else seen
    if no_majority and any(seen) and not retried:
        # R7b: a second round instead of the first void for want of agreement with a partial report
        cleared = sum(1 << members[r] for r in range(m) if seen[r])
        return _retried(terms, submissions, medians, first_id, m, higher, cleared)
    if no_majority:
        return _voided(terms, submissions, medians, first_id, m, higher)
    voted = agreed is not None

    # _shares: stale bases (G1), the agreed vector within the caps
    stale = [base + MAX_LAG < terms.version_count for base in base_versions]
    share_of = [int(x) for x in shares[agreed]] if agreed is not None else [0] * n
    best = max(range(n), key=lambda i: (share_of[i], -i))
    cid = cids[agreed] if agreed is not None else ZERO_CID
    accepted = (sum(share_of) != 0 and merged_median > head_key
                and capped_shares(share_of, [not stale[i] and medians[i] > head_key for i in range(n)]))
    if not accepted:
        share_of = [0] * n
    version_reward = terms.reward_at(score_of(merged_median, higher)) if accepted else 0

    # _decide
    decisions: list[SubmissionDecision] = []
    burned_total = 0
    paid_now = 0
    for i, (sub, med) in enumerate(zip(submissions, medians)):
        score = INVALID if med == 0 else score_of(med, higher)
        part = 0
        if share_of[i]:
            part = version_reward * share_of[i] // SHARE_TOTAL
            paid_now += part
            outcome, burned = Outcome.ACCEPTED, 0
        elif not stale[i] and (med == 0 or med + terms.slash_margin < head_key):
            outcome, burned = Outcome.SLASHED, sub.stake * terms.slash_bps // BPS
        else:
            outcome, burned = Outcome.REJECTED, 0
        burned_total += burned
        decisions.append(
            SubmissionDecision(
                index=i,
                submission_id=first_id + i,
                contributor=sub.contributor,
                outcome=outcome,
                median_key=med,
                score=score,
                stake=sub.stake,
                reward=part,
                burned=burned,
                returned=sub.stake - burned,
                share=share_of[i],
                stale=stale[i],
            )
        )
    accepted_index = best if accepted else None
    head_score = score_of(merged_median, higher) if accepted else terms.head_score

    # _payOracles: the fee is divided over the non-deviant reports; a partial one's share (R7a)
    # and one without a commitment's (R7b) is burned
    good = m - sum(deviant)
    share = terms.oracle_fee_per_batch // good if good else 0
    unpaid = [d or p or u for d, p, u in zip(deviant, partial, uncommitted)]
    oracle_fees = tuple(0 if x else share for x in unpaid)

    # _slashBond: one offence per deviant reporter, burned
    oracle_slashed: tuple[int, ...] | None = None
    oracle_burned = None
    if bonds_left is not None and per_offence is not None:
        oracle_slashed = tuple(min(per_offence, left) if d else 0 for left, d in zip(bonds_left, deviant))
        oracle_burned = sum(oracle_slashed)

    new_version = terms.version_count + 1 if accepted else None
    return BatchDecision(
        decisions=tuple(decisions),
        medians=tuple(medians),
        median_scores=tuple(d.score for d in decisions),
        deviant=tuple(deviant),
        accepted_index=accepted_index,
        new_version=new_version,
        reward=version_reward,
        merged=cid if accepted and merged is not None else None,
        head_score_after=head_score,
        paid_after=terms.paid + paid_now,
        version_count_after=new_version if new_version is not None else terms.version_count,
        target_reached_after=key(head_score, higher) >= terms.target_key,
        burned=burned_total,
        fee_share=share,
        oracle_fees=oracle_fees,
        fees_paid=share * good,
        fee_unpaid=terms.oracle_fee_per_batch - share * good,
        fee_burned=share * (sum(unpaid) - sum(deviant)),
        oracle_slashed=oracle_slashed,
        oracle_burned=oracle_burned,
        merged_indices=tuple(i for i in range(n) if share_of[i]),
        merged_median=merged_median,
        partial=tuple(partial),
        voted=voted,
    )


def _retried(terms: BountyTerms, submissions: Sequence[Submission], medians: list[int], first_id: int, m: int,
             higher: bool, cleared: int) -> BatchDecision:
    """A first round with no majority and a partial report (R7b, `BatchRetried`): the partial
    reports are cleared for a second round; no stake moves, no fee, no slash, no version."""
    return _undecided(terms, submissions, medians, first_id, m, higher, Outcome.RETRIED, retry=True, cleared=cleared)


def _voided(
    terms: BountyTerms, submissions: Sequence[Submission], medians: list[int], first_id: int, m: int, higher: bool
) -> BatchDecision:
    """A batch on whose medians no majority agrees (`_settle` -> `_void`): every stake back."""
    return _undecided(terms, submissions, medians, first_id, m, higher, Outcome.VOIDED, voided=True)


def _undecided(terms: BountyTerms, submissions: Sequence[Submission], medians: list[int], first_id: int, m: int,
               higher: bool, outcome: Outcome, **flags: bool | int) -> BatchDecision:
    """A batch neither decided nor paid: retried (nothing moves; the fee is still to be
    earned) or voided (every stake back, the fee unpaid)."""
    voided = outcome is Outcome.VOIDED
    decisions = tuple(
        SubmissionDecision(
            index=i, submission_id=first_id + i, contributor=sub.contributor, outcome=outcome,
            median_key=med, score=INVALID if med == 0 else score_of(med, higher), stake=sub.stake, reward=0,
            burned=0, returned=sub.stake if voided else 0,
        )
        for i, (sub, med) in enumerate(zip(submissions, medians))
    )
    return BatchDecision(
        decisions=decisions, medians=tuple(medians), median_scores=tuple(d.score for d in decisions),
        deviant=(False,) * m, accepted_index=None, new_version=None, reward=0, merged=None,
        head_score_after=terms.head_score, paid_after=terms.paid, version_count_after=terms.version_count,
        target_reached_after=terms.target_reached, burned=0, fee_share=0, oracle_fees=(0,) * m, fees_paid=0,
        fee_unpaid=terms.oracle_fee_per_batch if voided else 0, oracle_slashed=None, oracle_burned=None, **flags,
    )

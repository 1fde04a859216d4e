"""fathom.protocol.settlement without a chain: units, curves (B4), medians (S2), quantisation, and
the batch decision (R5-R7) on hand-built cases whose answers follow from the rules.

tests/unitary/RewardMath/test_reference_model.py checks the same model against the
contracts on random inputs."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from fathom.protocol import settlement as P
from fathom.errors import FathomError
from fathom.protocol.settlement import INVALID, MAX_SCORE, WAD, BountyTerms, Curve, Outcome, Submission, decide_batch

A, B, C, D = "0xa", "0xb", "0xc", "0xd"


def terms(**overrides) -> BountyTerms:
    """Higher is better, baseline = head = 5000, target 9000, linear curve, R = 1e18."""
    t = dict(
        higher_is_better=True,
        target=9_000,
        baseline_score=5_000,
        head_score=5_000,
        reward=10**18,
        paid=0,
        curve=Curve.linear(),
        slash_margin=100,
        tolerance=5,
        slash_bps=5_000,
        oracle_fee_per_batch=3 * 10**15,
    )
    t.update(overrides)
    return BountyTerms(**t)


def subs(*who: str, stake: int = 10**16) -> list[Submission]:
    return [Submission(w, stake) for w in who]


def same(scores: list[int], oracles: int = 3) -> list[list[int]]:
    return [list(scores) for _ in range(oracles)]


# ------------------------------------------------------------------- units


@pytest.mark.parametrize("higher", [True, False])
def test_keys_order_scores_in_the_metrics_direction_and_invalid_is_worst(higher):
    """Units: larger key is better; INVALID has key 0, below every valid score."""
    worse, better = (10, 11) if higher else (11, 10)
    assert P.key(better, higher) == P.key(worse, higher) + 1
    assert P.key(INVALID, higher) == 0
    # R7a: MAX_SCORE is 2**32 - 3, so the valid keys leave out UNAVAILABLE's would-be key
    # (2**32 - 1 when higher is better, 1 when lower), which the market tells apart
    assert min(P.key(0, higher), P.key(MAX_SCORE, higher)) == (1 if higher else 2)
    assert max(P.key(0, higher), P.key(MAX_SCORE, higher)) == (P.MAX_KEY - 1 if higher else P.MAX_KEY)
    assert MAX_SCORE == P.UNAVAILABLE - 1 == INVALID - 2
    for s in (0, 1, 12_345, MAX_SCORE):
        assert P.score_of(P.key(s, higher), higher) == s


def test_score_of_refuses_keys_that_no_score_has():
    """Units: key 0 means invalid and has no score; keys above 2^32 - 1 do not occur."""
    with pytest.raises(P.ProtocolError, match="0 means invalid"):
        P.score_of(0, True)
    with pytest.raises(P.ProtocolError, match="1..4294967295"):
        P.score_of(2**32, False)
    with pytest.raises(P.ProtocolError, match="uint32"):
        P.key(2**32, True)
    with pytest.raises(P.ProtocolError, match="integer"):
        P.key(1.5, True)


def test_progress_clips_to_zero_and_one_and_rounds_down():
    """R6: p is clipped to [0, WAD] and rounded down."""
    assert P.progress(5, 10, 20) == 0  # worse than the baseline
    assert P.progress(10, 10, 20) == 0
    assert P.progress(25, 10, 20) == WAD  # beyond the target
    assert P.progress(15, 10, 20) == WAD // 2
    assert P.progress(11, 10, 13) == WAD // 3  # 333...333, not ...334
    assert P.progress(12, 10, 13) == 2 * WAD // 3 == 666666666666666666
    assert P.progress(11, 10, 5) == WAD  # a target at or below the baseline pays in full


# ------------------------------------------------------------------- curves


@pytest.mark.parametrize(
    ("xs", "ys", "index", "message"),
    [
        ([0], [0], 1, "2 to 8 breakpoints, got 1"),
        ([], [], 0, "2 to 8 breakpoints, got 0"),
        (list(range(0, 8 * 10**17 + 1, 10**17)) + [WAD], [0] * 9 + [WAD], 10, "2 to 8 breakpoints, got 10"),
        ([0, WAD], [0, 5, WAD], 2, "2 x values but 3 y values"),
        ([1, WAD], [0, WAD], 0, r"first breakpoint must be \(0, 0\), got \(1, 0\)"),
        ([0, WAD], [7, WAD], 0, r"first breakpoint must be \(0, 0\)"),
        ([0, WAD - 1], [0, WAD], 1, r"last breakpoint must be \(WAD, WAD\)"),
        ([0, 5, WAD], [0, 3, WAD - 1], 2, r"last breakpoint must be \(WAD, WAD\)"),
        ([0, 5, 5, WAD], [0, 1, 2, WAD], 2, r"x must increase strictly: x\[2\] = 5 <= x\[1\] = 5"),
        ([0, 7, 5, WAD], [0, 1, 2, WAD], 2, r"x must increase strictly"),
        ([0, 5, 7, WAD], [0, 3, 2, WAD], 2, r"y must not decrease: y\[2\] = 2 < y\[1\] = 3"),
        ([0, 5, 7, WAD], [0, WAD + 1, WAD + 1, WAD], 3, r"y must not decrease"),
    ],
)
def test_invalid_curves_name_the_breakpoint_and_the_reason(xs, ys, index, message):
    """B4: InvalidCurve(index) as the contract reverts, with a reason a user can act on."""
    with pytest.raises(P.InvalidCurve, match=message) as err:
        Curve(xs, ys)
    assert err.value.index == index
    assert f"breakpoint {index}" in str(err.value)
    assert isinstance(err.value, ValueError) and isinstance(err.value, FathomError)


def test_curve_values_must_be_uint64():
    """B4: the ABI takes uint64 breakpoints; others are refused before any index check."""
    with pytest.raises(P.ProtocolError, match=r"curve x\[1\] must fit in uint64") as err:
        P.pack([0, 2**64, WAD], [0, 1, WAD])
    assert not isinstance(err.value, P.InvalidCurve)
    with pytest.raises(P.ProtocolError, match=r"curve y\[0\]"):
        P.pack([0, WAD], [-1, WAD])


def test_flat_and_step_segments_are_valid():
    """B4: y may stay flat; x only needs to increase."""
    c = Curve([0, 1, WAD], [0, WAD, WAD])  # everything at the first unit of progress
    assert (c.at(0), c.at(1), c.at(WAD // 2)) == (0, WAD, WAD)
    flat = Curve([0, WAD // 2, WAD], [0, 0, WAD])
    assert flat.at(WAD // 2) == 0 and flat.at(3 * WAD // 4) == WAD // 2


def test_pack_layout_and_point_round_trip():
    """B4: two points per word, (x, y) as uint64s, y above x, point i at bit 128 * (i % 2)."""
    xs, ys = [0, 10, 20, 30, WAD], [0, 11, 21, 31, WAD]
    packed, n = P.pack(xs, ys)
    assert n == 5
    assert packed[0] == (0 | 0 << 64) | (10 | 11 << 64) << 128
    assert packed[2] == WAD | WAD << 64 and packed[3] == 0
    assert [P.point(packed, i) for i in range(5)] == list(zip(xs, ys))
    assert P.point(packed, 7) == (0, 0)
    with pytest.raises(P.ProtocolError):
        P.point(packed, 8)


def test_curve_at_interpolates_and_rounds_down():
    """R6: c(p) is linear between breakpoints, rounded down; 1 from p = WAD on."""
    c = Curve([0, 3, WAD], [0, 1, WAD])
    assert [c.at(p) for p in (0, 1, 2, 3)] == [0, 0, 0, 1]  # 1/3 and 2/3 round down to 0
    assert c.at(WAD) == c.at(WAD + 1) == c.at(2**200) == WAD
    concave = Curve.from_points([(0, 0), (0.5, 0.8), (1, 1)])
    assert concave.ys == (0, 8 * 10**17, WAD)
    assert concave.at(WAD // 4) == 4 * 10**17
    assert concave.at(3 * WAD // 4) == 9 * 10**17
    assert Curve.linear().at(123_456_789) == 123_456_789
    assert P.to_wad("1/3") == WAD // 3 and P.to_wad(0.1) == 10**17 and P.to_wad(1) == WAD
    with pytest.raises(P.ProtocolError, match="not a number"):
        P.to_wad("a third")


@settings(max_examples=200, deadline=None)
@given(
    inner=st.lists(st.tuples(st.integers(1, WAD - 1), st.integers(0, WAD)), max_size=6, unique_by=lambda t: t[0]),
    ps=st.lists(st.integers(0, WAD), min_size=2, max_size=20),
    escrow=st.integers(0, 2**128 - 1),
)
def test_rewards_along_any_path_never_exceed_the_escrow(inner, ps, escrow):
    """R6: each accepted version gets floor(R c(p)) - paid; the total never exceeds R,
    and equals floor(R c(best p)) so far: the curve bounds the payout by construction."""
    inner.sort()
    xs = [0] + [x for x, _ in inner] + [WAD]
    ys = [0] + sorted(y for _, y in inner) + [WAD]
    c = Curve(xs, ys)
    paid = 0
    for i, p in enumerate(ps):
        r = P.reward_for(escrow, paid, c.at(p))
        assert r >= 0
        paid += r
        assert paid <= escrow
        assert paid == max(escrow * c.at(q) // WAD for q in ps[: i + 1])
    assert P.reward_for(escrow, paid, WAD) == escrow - paid


def test_reward_for_is_zero_when_already_paid_and_rounds_down():
    """R6: floor(R * c) - paid, never negative."""
    assert P.reward_for(10, 0, WAD // 3) == 3  # 3.33 -> 3
    assert P.reward_for(10, 3, WAD // 3) == 0
    assert P.reward_for(10, 9, WAD // 2) == 0
    with pytest.raises(P.ProtocolError, match="overflows"):
        P.reward_for(2**255, 0, WAD)


# ------------------------------------------------------------------- medians


@pytest.mark.parametrize(
    ("keys", "median"),
    [
        ([7], 7),
        ([3, 1, 2], 2),
        ([4, 1, 3, 2], 2),  # lower of the two middle values
        ([0, 5, 6], 5),  # one invalid report cannot make the median invalid
        ([0, 0, 6], 0),  # two of three can
        ([0, 0, 5, 6], 0),  # and two of four
        ([0, 5, 6, 7], 5),
        ([9, 9, 1, 9], 9),
    ],
)
def test_lower_median_with_invalid_reports(keys, median):
    """S2, R5: element (m - 1) // 2 of the sorted keys; invalid (0) sorts first."""
    original = list(keys)
    assert P.lower_median(keys) == median
    assert keys == original  # the model does not sort the caller's list


def test_lower_median_of_nothing_is_an_error():
    """S2: a median needs reports."""
    with pytest.raises(P.ProtocolError, match="no reports"):
        P.lower_median([])


@pytest.mark.parametrize(
    ("keys", "med"),
    [
        ([7], 7),
        ([3, 1, 2], 2),
        ([4, 1, 3, 2], 2),  # (2 + 3) // 2: the midpoint, rounded down
        ([1, 1, 9, 9], 5),  # no bias to the low half (the lower median said 1)
        ([0, 5, 6], 5),  # one invalid report of three cannot make it invalid
        ([0, 0, 6], 0),  # two of three can
        ([0, 0, 5, 6], 0),  # half of four say invalid: invalid
        ([0, 5, 6, 7], 5),  # (5 + 6) // 2
        ([9, 9, 1, 9], 9),
    ],
)
def test_r5_median_takes_the_midpoint_of_an_even_count(keys, med):
    """R5, S2: the middle key, or the midpoint of the two middle ones (invalid if the lower is)."""
    original = list(keys)
    assert P.median(keys) == med
    assert keys == original


def test_r4_a_decision_needs_a_quorum_agreeing_with_it():
    """R4: more than half of the committee; the reports within tolerance of a median count."""
    assert [P.quorum(n) for n in (1, 3, 4, 5, 6, 16)] == [1, 2, 3, 3, 4, 9]
    assert P.agreeing([0, 100, 104, 107], 103, 3) == 2  # 100 and 104 within 3; 107 not; invalid never
    assert P.baseline_agreed([5_000, 5_000, 0, 0, 5_002], True, 2, 5)
    assert not P.baseline_agreed([5_000, 0, 0, 5_000], True, 2, 5)  # the midpoint suits nobody
    assert not P.baseline_agreed([5_000, 5_000], True, 2, 5)  # 2 of 5 are not a quorum


def test_baseline_is_the_median_in_goodness():
    """S2: the median of the keys, whatever the direction."""
    assert P.baseline_score([40, 10, 30, 20], higher_is_better=True) == 25
    assert P.baseline_score([40, 10, 30, 20], higher_is_better=False) == 25
    assert P.baseline_score([5_000, 5_010, 9_999], True) == 5_010  # an outlier cannot move it
    with pytest.raises(P.ProtocolError, match="cannot be INVALID"):
        P.baseline_score([5_000, INVALID, 5_000], True)


# ------------------------------------------------------------------- quantise


@pytest.mark.parametrize(
    ("score", "resolution", "units"),
    [
        (0.9, 10**14, 9_000),
        (0.29, 10**16, 29),  # 0.29 * 100 == 28.999999999999996 in floats: nearest, not floor
        (0.5, WAD, 1),  # ties go up...
        (2.5, WAD, 3),  # ...always (not to even, as round() would)
        (1.4999999999999998, WAD, 1),
        (0.0, 10**14, 0),
        (1, 10**14, 10_000),
        (Fraction(1, 3), 10**14, 3_333),
        (123.456, 10**15, 123_456),
    ],
)
def test_quantise_rounds_to_the_nearest_unit_ties_up(score, resolution, units):
    """Units: score units = metric / resolution, rounded to nearest, ties toward +inf."""
    assert P.quantise(score, resolution) == units


@pytest.mark.parametrize(
    ("score", "units"),
    [(-0.25, 0), (-math.inf, 0), (math.inf, MAX_SCORE), (1e30, MAX_SCORE), ((INVALID - 0.5) * 1e-4, MAX_SCORE), ((MAX_SCORE - 0.6) * 1e-4, MAX_SCORE - 1)],
)
def test_quantise_saturates_and_never_produces_invalid(score, units):
    """Units: a valid measurement is never INVALID (2^32 - 1); it saturates at 2^32 - 2."""
    assert P.quantise(score, 10**14) == units


def test_quantise_refuses_nan_and_bad_resolutions():
    """Units: NaN is no score (report INVALID instead); the resolution is a positive uint64 WAD."""
    with pytest.raises(P.ProtocolError, match="NaN"):
        P.quantise(math.nan, 10**14)
    with pytest.raises(P.ProtocolError, match="positive"):
        P.quantise(0.5, 0)
    with pytest.raises(P.ProtocolError, match="uint64"):
        P.quantise(0.5, 2**64)
    with pytest.raises(P.ProtocolError, match="real number"):
        P.quantise("0.5", 10**14)


def test_quantise_takes_numpy_floats_by_their_exact_value():
    """Units: an oracle's numpy metric quantises like the same value as a Python float."""
    v = np.float32(0.1)  # 0.100000001490116...
    assert P.quantise(v, 10**10) == P.quantise(float(v), 10**10) == 10_000_000  # rounds 10000000.149
    assert P.quantise(np.float64(0.29), 10**16) == 29


@settings(max_examples=300, deadline=None)
@given(
    a=st.floats(allow_nan=False, min_value=-10.0, max_value=1e6),
    b=st.floats(allow_nan=False, min_value=-10.0, max_value=1e6),
    resolution=st.sampled_from([1, 10**12, 10**14, 10**16, WAD, 10**19]),
)
def test_quantise_is_monotone_and_within_half_a_unit(a, b, resolution):
    """Units: quantisation keeps the order of metrics and errs by at most half a unit."""
    qa, qb = P.quantise(a, resolution), P.quantise(b, resolution)
    assert qa != INVALID and 0 <= qa <= MAX_SCORE
    if a <= b:
        assert qa <= qb
    exact = Fraction(a) * WAD / resolution
    if 0 <= exact <= MAX_SCORE:
        assert abs(qa - exact) <= Fraction(1, 2)
        assert P.dequantise(qa, resolution) == pytest.approx(float(qa * Fraction(resolution, WAD)))


def test_dequantise_is_the_metric_value_of_a_score():
    """Units: score units times the resolution."""
    assert P.dequantise(9_000, 10**14) == 0.9
    with pytest.raises(P.ProtocolError, match="not a measurement"):
        P.dequantise(INVALID, 10**14)


def test_report_encodes_scores_merged_score_then_shares_big_endian():
    """R1: a uint32 per submission, the merged model's uint32, then a uint16 share each."""
    data = P.encode_report([1, 0x01020304, INVALID], 0x0a0b0c0d, [0x0102, 0, 7])
    assert data == b"\0\0\0\x01\x01\x02\x03\x04\xff\xff\xff\xff\x0a\x0b\x0c\x0d\x01\x02\0\0\0\x07"
    assert P.decode_report(data) == ([1, 0x01020304, INVALID], 0x0a0b0c0d, [0x0102, 0, 7])
    assert P.decode_scores(data) == [1, 0x01020304, INVALID]
    # a member that merges only its own best: all of it to that one, its score is the merged one
    assert P.decode_report(P.encode_scores([5, 9, INVALID])) == ([5, 9, INVALID], 9, [0, P.SHARE_TOTAL, 0])
    assert P.decode_report(P.encode_scores([5, 9], higher_is_better=False))[1:] == (5, [P.SHARE_TOTAL, 0])
    assert P.decode_report(P.encode_scores([INVALID])) == ([INVALID], INVALID, [0])
    with pytest.raises(P.ProtocolError, match="6 bytes per submission plus 4"):
        P.decode_scores(b"\0" * 5)
    with pytest.raises(P.ProtocolError, match="uint32"):
        P.encode_scores([2**32])
    with pytest.raises(P.ProtocolError, match="uint16"):
        P.encode_report([1], 1, [2**16])


# ------------------------------------------------------------------- batches


def test_r5_only_the_best_improvement_is_accepted_and_others_are_judged_against_the_old_head():
    """R5: one version per batch, the best median; every other submission vs the old head."""
    d = decide_batch(terms(), subs(A, B, C, D), same([7_000, 7_500, 4_000, INVALID]))
    assert [x.outcome for x in d.decisions] == [Outcome.REJECTED, Outcome.ACCEPTED, Outcome.SLASHED, Outcome.SLASHED]
    assert d.accepted_index == 1 and d.accepted.contributor == B and d.new_version == 1
    assert d.median_scores == (7_000, 7_500, 4_000, INVALID)
    assert d.decisions[0].returned == 10**16 and d.decisions[0].burned == 0  # improved, but not the best
    assert d.decisions[3].score == INVALID and d.decisions[3].median_key == 0
    assert d.head_score_after == 7_500 and d.version_count_after == 1


def test_r5_ties_go_to_the_lowest_id():
    """R5: equal best medians: the first submission wins."""
    d = decide_batch(terms(), subs(A, B, C), same([6_000, 7_000, 7_000]), first_id=8)
    assert d.accepted_index == 1 and d.accepted.submission_id == 9


@pytest.mark.parametrize("higher", [True, False])
def test_r5_the_slash_margin_is_exclusive(higher):
    """R5: slashed only when worse than the head by *more* than slashMargin (either direction)."""
    head, margin = 5_000, 100
    sign = 1 if higher else -1
    t = terms(higher_is_better=higher, target=head + sign * 4_000, slash_margin=margin)
    at_margin, beyond = head - sign * margin, head - sign * (margin + 1)
    d = decide_batch(t, subs(A, B, C), same([head, at_margin, beyond]))
    assert [x.outcome for x in d.decisions] == [Outcome.REJECTED, Outcome.REJECTED, Outcome.SLASHED]
    assert d.accepted_index is None and d.head_score_after == head and d.reward == 0


def test_r5_an_equal_score_does_not_beat_the_head():
    """R5: accepted only when strictly better than the head."""
    d = decide_batch(terms(), subs(A), same([5_000]))
    assert d.accepted_index is None and d.decisions[0].outcome is Outcome.REJECTED


def test_r5_a_slash_burns_the_fraction_rounded_down():
    """R5: slashBps of the stake is burned (rounded down), the rest returned."""
    d = decide_batch(terms(slash_bps=3_333), subs(A, B, stake=1_000), same([INVALID, 10]))
    assert [(x.burned, x.returned) for x in d.decisions] == [(333, 667), (333, 667)]
    assert d.burned == 666
    none = decide_batch(terms(slash_bps=0), subs(A), same([INVALID]))
    assert none.decisions[0].outcome is Outcome.SLASHED and none.burned == 0


def test_r5_an_invalid_median_needs_half_the_reports():
    """R5, R7: one invalid report of three is outvoted (and deviant); two make it invalid."""
    one = decide_batch(terms(), subs(A), [[INVALID], [6_000], [6_000]])
    assert one.decisions[0].outcome is Outcome.ACCEPTED and one.deviant == (True, False, False)
    two = decide_batch(terms(), subs(A), [[INVALID], [INVALID], [6_000]])
    assert two.decisions[0].outcome is Outcome.SLASHED and two.deviant == (False, False, True)


def test_r6_reward_follows_the_curve_from_the_baseline_and_subtracts_what_was_paid():
    """R6: floor(R * c(p)) - paid, p from the baseline (not the head), clipped at the target."""
    d = decide_batch(terms(), subs(A), same([7_000]))
    assert d.reward == 10**18 // 2 and d.accepted.payout == 10**16 + 10**18 // 2
    t2 = terms().after(d)
    assert (t2.head_score, t2.paid, t2.version_count) == (7_000, 10**18 // 2, 1)
    assert t2.baseline_score == 5_000
    d2 = decide_batch(t2, subs(B), same([8_000]))  # p = 3/4 of the way from 5000 to 9000
    assert d2.reward == 3 * 10**18 // 4 - 10**18 // 2 and d2.new_version == 2
    beyond = decide_batch(terms().after(d2), subs(C), same([12_000]))
    assert beyond.reward == 10**18 // 4 and beyond.paid_after == 10**18  # clipped: never more than R
    assert beyond.target_reached_after and terms().after(beyond).target_reached


def test_r6_lower_is_better_progress():
    """R6: with lower-is-better, the distance is measured in keys (baseline 0.5 -> target 0.1)."""
    t = terms(higher_is_better=False, baseline_score=5_000, head_score=5_000, target=1_000, reward=1_000)
    d = decide_batch(t, subs(A, B), same([4_000, 2_000]))
    assert d.accepted_index == 1 and d.reward == 750  # (5000 - 2000) / (5000 - 1000)
    assert d.head_score_after == 2_000


def test_r6_a_concave_curve_pays_early_gains_more():
    """R6: c(0.25) on a concave curve exceeds 0.25."""
    t = terms(curve=Curve.from_points([(0, 0), (0.5, 0.8), (1, 1)]), reward=1_000)
    assert decide_batch(t, subs(A), same([6_000])).reward == 400
    assert t.reward_at(6_000) == 400 and t.reward_at(4_000) == 0


def test_r7_deviance_is_measured_against_the_median_with_the_tolerance_inclusive():
    """R7: a reporter more than `tolerance` from the median on any submission is deviant."""
    reports = [[6_000, 5_000], [6_005, 5_000], [5_995, 4_994], [6_000, 5_000]]
    d = decide_batch(terms(tolerance=5), subs(A, B), reports)
    assert d.medians == (P.key(6_000, True), P.key(5_000, True))
    assert d.deviant == (False, False, True, False) and d.deviant_indices == (2,)


def test_r7_the_wrong_validity_is_deviant_even_within_tolerance():
    """R7: saying invalid where the median is valid (or the reverse) is deviant, even when
    the keys are closer than the tolerance (tiny scores)."""
    t = terms(head_score=2, baseline_score=2, tolerance=30)
    d = decide_batch(t, subs(A, B), [[INVALID, 5], [3, INVALID], [3, INVALID]])
    assert d.medians == (4, 0)
    assert d.deviant == (True, False, False)  # 0 vs 4, and 6 vs invalid
    assert P.is_deviant(0, 4, 30) and P.is_deviant(6, 0, 30) and not P.is_deviant(0, 0, 0)


def test_r7_fee_is_shared_by_the_reporters_within_tolerance_dust_stays_unpaid():
    """R7: non-deviant reporters share oracleFeePerBatch equally, rounded down."""
    reports = [[6_000], [6_000], [6_000], [9_000]]
    d = decide_batch(terms(oracle_fee_per_batch=10), subs(A), reports)
    assert d.fee_share == 3 and d.oracle_fees == (3, 3, 3, 0)
    assert (d.fees_paid, d.fee_unpaid) == (9, 1)


def test_r4_when_no_majority_agrees_with_a_median_the_batch_is_voided():
    """R4: fewer than a quorum of reports within tolerance of some median: no decision,
    every stake back, no fee, nobody slashed for deviance."""
    reports = [[100, 500], [500, 100], [900, 900]]  # 1 of 3 agrees with each median (500)
    d = decide_batch(terms(oracle_fee_per_batch=10, tolerance=0, head_score=50, baseline_score=50), subs(A, B), reports)
    assert d.voided and not any(d.deviant) and d.fee_share == 0 and d.oracle_fees == (0, 0, 0) and d.fee_unpaid == 10
    assert all(x.outcome is Outcome.VOIDED and x.returned == x.stake for x in d.decisions)
    # two dishonest of a committee of five, two honest, one late: no decision either
    split = decide_batch(terms(), subs(A), [[3_000], [3_000], [6_000], [6_000]], committee_size=5)
    assert split.voided and split.accepted is None
    with pytest.raises(P.ProtocolError, match="not a quorum"):
        decide_batch(terms(), subs(A), [[6_000], [6_000]], committee_size=5)


U = P.UNAVAILABLE


def test_r7a_attack_F8_timing_the_member_that_could_not_fetch_is_judged_on_nothing_it_reported_unavailable():
    """R7a, the F8 timing attack (issue 14, finding 6) as the market decides it: committee of
    5, H3 could not fetch update 0 (reports UNAVAILABLE), D committed late, X is silent. The
    median is over the three that fetched it; H3 is not deviant, counts in the fee's divisor
    and its share is burned (R9); D earns the same fee as the honest members."""
    reports = [[6_000, 6_000], [6_000, 6_000], [U, 6_000], [6_000, 6_000]]  # H1, H2, H3, D
    d = decide_batch(terms(oracle_fee_per_batch=30), subs(A, B), reports, committee_size=5)
    assert not d.voided and d.medians == (P.key(6_000, True),) * 2
    assert d.deviant == (False,) * 4 and d.partial == (False, False, True, False)
    assert d.oracle_fees == (7, 7, 0, 7) and (d.fees_paid, d.fee_burned, d.fee_unpaid) == (28, 7, 2)
    # INVALID for what it could not fetch (F8 case 3 before R7a) made H3 deviant
    old = decide_batch(terms(), subs(A, B), [[6_000, 6_000], [6_000, 6_000], [INVALID, 6_000], [6_000, 6_000]],
                       committee_size=5)
    assert old.deviant == (False, False, True, False)


def test_r7a_an_update_unavailable_to_a_quorum_is_invalid_and_nobody_is_deviant_on_it():
    """R7a: a quorum (3 of 5) says UNAVAILABLE for update 0: it is invalid and its contributor
    slashed; H1 and D, who scored it, are not deviant. The three partial reports vote over what
    they fetched (update 1, their own best): a quorum names it, so the version is made without
    update 0, and H1 and D, full reports naming another vote, are not deviant (no quorum of
    full reports named the agreed one). When no vote has a quorum (here: the partial reports
    name none, their merged score UNAVAILABLE), the batch is decided without a version, never
    voided, so the unavailable update still pays its slash."""
    reports = [[6_000, 6_000], [U, 6_000], [U, 6_000], [6_000, 6_000], [U, 6_000]]
    d = decide_batch(terms(), subs(A, B), reports, committee_size=5)
    assert not d.voided and d.voted and d.new_version == 1 and d.merged_indices == (1,)
    assert d.medians[0] == 0 and d.decisions[0].outcome is Outcome.SLASHED
    assert d.decisions[1].outcome is Outcome.ACCEPTED
    assert d.deviant == (False,) * 5 and d.oracle_fees[1] == d.oracle_fees[2] == d.oracle_fees[4] == 0
    assert d.oracle_fees[0] == d.oracle_fees[3] > 0
    own = [P.one_winner_report(r) for r in reports]
    none = decide_batch(terms(), subs(A, B), reports, committee_size=5,
                        merged_scores=[U if U in r else x for r, (x, _) in zip(reports, own)],
                        shares=[[0, 0] if U in r else sh for r, (_, sh) in zip(reports, own)])
    assert not none.voided and not none.voted and none.new_version is None
    assert none.decisions[0].outcome is Outcome.SLASHED and none.decisions[1].outcome is Outcome.REJECTED
    assert none.deviant == (False,) * 5


def test_r7a_a_minority_claiming_unavailable_voids_at_most_it_never_slashes_a_fetched_update():
    """R7a: two UNAVAILABLE of three reports (committee 5) are no quorum of the committee, and
    one available report is no quorum either: no decision. R7b: in the first round the two
    partial reports are cleared for a second (nothing slashed, nothing returned yet); with the
    same reports again the batch is voided (stakes back)."""
    d = decide_batch(terms(), subs(A), [[6_000], [U], [U]], committee_size=5)
    assert d.retry and d.cleared == 0b110 and d.burned == 0 and d.decisions[0].outcome is Outcome.RETRIED
    d = decide_batch(terms(), subs(A), [[6_000], [U], [U]], committee_size=5, retried=True)
    assert d.voided and d.decisions[0].returned == d.decisions[0].stake


def test_r7a_no_scorer_reports_unavailable_for_a_measured_score():
    """R7a: the ml layer's clip (it does not import protocol) is settlement.MAX_SCORE, so a
    saturated measurement is never read as UNAVAILABLE (nor INVALID) on chain."""
    import inspect

    from fathom.ml import metrics, significance

    assert inspect.signature(significance.report_units).parameters["max_units"].default == MAX_SCORE
    assert P.quantise(float("inf"), 10**14) == MAX_SCORE
    assert P.quantise(metrics.METRIC_TABLE["mse"].high, 10**14) == MAX_SCORE
    assert P.one_winner_report([6_000, U]) == (6_000, [P.SHARE_TOTAL, 0]), "a partial report votes over what it fetched"
    assert P.one_winner_report([U, U]) == (INVALID, [0, 0]), "having fetched nothing, it merges nothing"
    with pytest.raises(P.ProtocolError, match="UNAVAILABLE is not a measurement"):
        P.dequantise(U, 10**14)


def test_r7a_a_lazy_member_reporting_unavailable_everywhere_earns_no_fee_and_is_never_deviant():
    """R7a: partial reports (here UNAVAILABLE everywhere) earn no fee (their shares are burned)
    and are not deviant; the full reports decide and vote, and a version is made."""
    reports = [[6_000], [6_000], [6_000], [U], [U]]
    d = decide_batch(terms(oracle_fee_per_batch=30), subs(A), reports, committee_size=5)
    assert d.new_version == 1 and d.deviant == (False,) * 5 and d.oracle_fees == (6, 6, 6, 0, 0)
    assert (d.fees_paid, d.fee_burned) == (30, 12)


def test_c3_a_deviant_loses_one_offence_of_its_bond_and_it_is_burned():
    """C1, C3, R7: each deviant loses per_offence (or the rest of its bond), all of it burned."""
    reports = [[6_000] * 3, [6_000] * 3, [6_000] * 3, [9_000] * 3, [INVALID] * 3]
    d = decide_batch(terms(), subs(A, B, A), reports, bonds_left=[500, 500, 500, 500, 40], per_offence=50)
    assert d.oracle_slashed == (0, 0, 0, 50, 40) and d.oracle_burned == 90
    assert P.member_bond(10**18, True, 10**15) == 10**18 // 16
    assert P.member_bond(10**18, True, 10**17) == 10**17  # an ETH bounty's fee budget above the floor
    assert P.member_bond(10**18, False, 10**30) == 10**18 // 16  # a token's fees are not ETH
    assert P.bond_slash(625, 1_000) == 62
    assert [P.offence_slash(625, 62, k) for k in (0, 9, 10, 11)] == [62, 62, 5, 0]


def test_contributor_credits_add_up_per_contributor():
    """R5, R6: stakes back, rewards, minus burns, summed per contributor."""
    d = decide_batch(terms(reward=1_000), subs(A, B, A, stake=100), same([7_000, 5_000, INVALID]))
    assert d.contributor_credits() == {A: 100 + 500 + 50, B: 100}


def test_merged_cid_is_the_one_a_quorum_names():
    """R5: the merged-model CID is the one more than half of the committee names, together
    with the same share vector (one vote); a report naming another vote is deviant."""
    x, y = (b"\x01" * 32, 0x55), (b"\x02" * 32, 0x55)
    reports = [[7_000, 6_000], [7_000, 6_000], [7_001, 6_000], [7_000, 6_000]]
    d = decide_batch(terms(), subs(A, B), reports, merged=[y, x, x, x])
    assert d.accepted_index == 0 and d.merged == x and d.deviant == (True, False, False, False)
    assert decide_batch(terms(), subs(A, B), reports, merged=[P.ZERO_CID] * 4).merged == P.ZERO_CID
    assert decide_batch(terms(), subs(A, B), reports).merged is None  # not asked for
    assert P.own_best([INVALID, INVALID], True) == 0 and P.own_best([3, 1], False) == 1


def test_minority_cannot_choose_the_merged_cid():
    """R5 attack: two members of five name their own merged model (a backdoor with the same
    score); three name the honest one, which is recorded, and the two are deviant. When no
    vote has a quorum (three of five), no decision: the batch is voided (R4)."""
    honest, evil = (b"\x01" * 32, 0x55), (b"\x0e" * 32, 0x55)
    reports = [[7_000, 6_000]] * 5
    d = decide_batch(terms(), subs(A, B), reports, merged=[evil, honest, evil, honest, honest])
    assert d.merged == honest and d.new_version == 1 and d.deviant == (True, False, True, False, False)
    split = decide_batch(terms(), subs(A, B), reports, merged=[evil, honest, evil, honest, P.ZERO_CID])
    assert split.voided and split.new_version is None and split.merged is None and split.reward == 0
    assert [x.outcome for x in split.decisions] == [Outcome.VOIDED, Outcome.VOIDED]


def test_attack_a_minority_steers_the_share_split_while_an_honest_member_is_late():
    """The review's F1, on the model: a member copies the honest scores and merged CID and
    gives all of the shares to its ally. With one honest member late (2 reports of 3) no vote
    has a quorum: voided, the ally paid nothing; with all three reporting the honest vector is
    paid exactly (ally 20%) and the steering member is deviant."""
    honest, steer = [8_000, 2_000], [0, 65_535]
    reports = [[6_000, 5_500]] * 2
    late = decide_batch(terms(), subs(A, B), reports, merged_scores=[6_200] * 2, shares=[honest, steer],
                        committee_size=3)
    assert late.voided and late.reward == 0
    full = decide_batch(terms(), subs(A, B), [[6_000, 5_500]] * 3, merged_scores=[6_200] * 3,
                        shares=[honest, steer, honest])
    assert full.deviant == (False, True, False)
    assert [x.reward for x in full.decisions] == [full.reward * 8 // 10, full.reward * 2 // 10]
    half = decide_batch(terms(), subs(A, B), [[6_000, 5_500]] * 4, merged_scores=[6_200] * 4,
                        shares=[honest, honest, steer, steer])
    assert half.voided


def test_r5_an_agreed_vector_over_the_caps_makes_no_version():
    """R5 caps: a sum above SHARE_TOTAL, or a share on a submission that does not beat the head
    (or is stale), makes no version even when a quorum agrees on it."""
    for shares, scores in (([9_000, 1_001], [6_000, 5_500]), ([10_001, 0], [6_000, 5_500]),
                           ([8_000, 2_000], [6_000, 5_000])):
        d = decide_batch(terms(), subs(A, B), [scores] * 3, merged_scores=[6_200] * 3, shares=[shares] * 3)
        assert not d.voided and d.new_version is None and d.reward == 0
    assert not P.capped_shares([1, 0], [False, True]) and P.capped_shares([0, 10_000], [False, True])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(submissions=[], reports=[[]]), "1 to 256 submissions"),
        (dict(submissions=subs(A), reports=[]), "1 to 16 reports"),
        (dict(submissions=subs(A), reports=[[1]] * 17), "1 to 16 reports"),
        (dict(submissions=subs(A, B), reports=[[1, 2], [1]]), "report 1 has 1 scores for 2 submissions"),
        (dict(submissions=subs(A), reports=[[2**32]]), "uint32"),
        (dict(submissions=subs(A), reports=[[1]], merged=[]), "0 merged CIDs for 1 reports"),
        (dict(submissions=subs(A), reports=[[1]], bonds_left=[1]), "both bonds_left and per_offence"),
        (dict(submissions=subs(A), reports=[[1]], bonds_left=[1, 2], per_offence=1), "2 bonds for 1 reports"),
    ],
)
def test_decide_batch_refuses_what_the_market_could_not_settle(kwargs, message):
    """R1, R4: one score per submission per report, batches and committees within limits."""
    with pytest.raises(P.ProtocolError, match=message):
        decide_batch(terms(), **kwargs)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (dict(head_score=INVALID), "head_score cannot be INVALID"),
        (dict(target=INVALID), "target cannot be INVALID"),
        (dict(slash_bps=10_001), "slash_bps must be at most 10000"),
        (dict(paid=2, reward=1), "cannot exceed the reward escrow"),
        (dict(tolerance=-1), "tolerance must fit in uint32"),
    ],
)
def test_bounty_terms_refuse_states_the_market_cannot_be_in(overrides, message):
    """B4, R6: terms hold what getBounty can return."""
    with pytest.raises(P.ProtocolError, match=message):
        terms(**overrides)


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32), higher=st.booleans(), m=st.integers(1, 16), n=st.integers(1, 12))
def test_decisions_keep_the_rules_invariants_on_random_batches(seed, higher, m, n):
    """R5-R7 invariants: every merged update beats the head, the merged updates' rewards
    stay within the escrow, nothing is paid and the head stays when nothing is merged (under
    R5 a median above the head is merged only with a positive share and a merged model
    that a quorum names), no slash beyond the stake, a median lies within the reported keys,
    a batch is decided only when a quorum agrees with every median, and the fees paid never
    exceed the fee."""
    rng = random.Random(seed)
    head = rng.randint(100, 10_000)
    t = terms(higher_is_better=higher, head_score=head, baseline_score=head, target=head + (500 if higher else -50),
              slash_bps=rng.randint(0, 10_000), tolerance=rng.randint(0, 10), slash_margin=rng.randint(0, 50),
              oracle_fee_per_batch=rng.randint(0, 10**6), reward=rng.randint(0, 10**20))
    reports = [[INVALID if rng.random() < 0.1 else max(0, head + rng.randint(-80, 80)) for _ in range(n)] for _ in range(m)]
    stakes = [rng.randint(1, 10**18) for _ in range(n)]
    d = decide_batch(t, [Submission(f"0x{i}", s) for i, s in enumerate(stakes)], reports)
    accepted = [x for x in d.decisions if x.outcome is Outcome.ACCEPTED]
    for i, x in enumerate(d.decisions):
        ks = [P.key(r[i], higher) for r in reports]
        assert min(ks) <= x.median_key <= max(ks)
        assert x.burned + x.returned == x.stake and 0 <= x.burned <= x.stake
        if x.outcome is not Outcome.ACCEPTED:
            assert x.reward == 0
    # R5: a quorum agrees with every submission's median; then a quorum names one vote (by
    # default each report's own best, `one_winner_report`), and the merged model's score is one
    # more median over the reports naming it (R7a)
    q = P.quorum(m)
    columns = [[r[i] for r in reports] for i in range(n)]
    agreed = all(P.agreeing([P.key(v, higher) for v in col], P.median([P.key(v, higher) for v in col]), t.tolerance)
                 >= q for col in columns)
    own = [P.one_winner_report(r, higher) for r in reports]
    votes = [tuple(sh) for _x, sh in own]
    first = next((r for r in range(m) if votes.count(votes[r]) >= q), None)
    if agreed and first is not None:
        col = [P.key(own[r][0], higher) for r in range(m) if votes[r] == votes[first]]
        agreed = P.agreeing(col, P.median(col), t.tolerance) >= q
    agreed = agreed and first is not None
    assert d.voided == (not agreed)
    if d.voided:
        assert all(x.outcome is Outcome.VOIDED and x.returned == x.stake for x in d.decisions) and d.head_score_after == head
    elif accepted:
        assert all(x.median_key > t.head_key for x in accepted)  # R5: only an update that beats the head merges
        assert {x.index for x in accepted} == set(d.merged_indices)
        assert sum(x.reward for x in accepted) <= t.reward and d.paid_after <= t.reward
    else:
        assert d.head_score_after == head and sum(x.reward for x in d.decisions) == 0
    assert d.fees_paid + d.fee_unpaid == t.oracle_fee_per_batch and d.fees_paid <= t.oracle_fee_per_batch


def test_r5_several_merged_updates_split_the_reward_by_the_agreed_shares_and_the_dust_stays():
    """R5: every update that beats the head with a share in the agreed vector is merged;
    each is paid floor(reward * share / SHARE_TOTAL) plus its stake; `paid` grows by what
    was paid. The third report's vector differs: it is deviant, not averaged in."""
    reports = [[7_000, 6_500, 5_000]] * 3
    d = decide_batch(terms(reward=1_000), subs(A, B, C, stake=100), reports, merged_scores=[7_200] * 3,
                     shares=[[3_333, 6_667, 0], [3_333, 6_667, 0], [9_000, 1_000, 0]])
    assert d.new_version == 1 and d.head_score_after == 7_200 and d.merged_indices == (0, 1)
    parts = [x.reward for x in d.decisions]
    assert d.reward == 550 and parts == [550 * 3_333 // 10_000, 550 * 6_667 // 10_000, 0]
    assert d.paid_after == sum(parts) == d.reward - 1 and d.accepted_index == 1
    assert d.deviant == (False, False, True)
    assert [x.outcome for x in d.decisions] == [Outcome.ACCEPTED, Outcome.ACCEPTED, Outcome.REJECTED]


def test_r5_a_significant_update_without_a_share_is_refunded_never_slashed():
    """A copy (G3: no share) beats the head as well as its original: stake back, nothing paid."""
    d = decide_batch(terms(reward=1_000), subs(A, B, stake=100), [[7_000, 7_000]] * 3, merged_scores=[7_000] * 3,
                     shares=[[10_000, 0]] * 3)
    assert [x.outcome for x in d.decisions] == [Outcome.ACCEPTED, Outcome.REJECTED]
    assert d.decisions[1].returned == 100 and d.decisions[1].reward == 0 and d.decisions[0].reward == d.reward


def test_g1_a_stale_update_is_refunded_never_merged_nor_slashed():
    t = terms(reward=1_000, version_count=3)
    d = decide_batch(t, subs(A, B, C, stake=100), [[7_000, INVALID, 7_000]] * 3, merged_scores=[7_000] * 3,
                     shares=[[10_000, 0, 0], [10_000, 0, 0], [10_000, 0, 0]], base_versions=[0, 0, 1])
    assert [x.stale for x in d.decisions] == [True, True, False]
    assert [x.outcome for x in d.decisions] == [Outcome.REJECTED, Outcome.REJECTED, Outcome.REJECTED]
    assert d.new_version is None  # the only share was the stale one's



def test_attack_A2_a_never_published_update_made_stale_kills_the_version_for_free():
    """Review 12, finding A': X (the attacker's, base 0) is stale at settlement (3 versions)
    and its CID was never published; honest Y scores 8,500 over the head 8,000. When every
    member fetched X and reported it UNAVAILABLE, every report was partial: no vote, no
    version, no fee, X refunded (gas only). The node no longer fetches a stale update: every
    honest member reports it INVALID (its median INVALID, refunded as stale, G1), so the reports
    are full, they vote, Y makes the version and every member is paid."""
    t = terms(head_score=8_000, version_count=3, oracle_fee_per_batch=30)
    cid = (b"\x11" * 32, 0x70)
    honest = decide_batch(t, subs(A, B), [[INVALID, 8_500]] * 3, committee_size=3, merged=[cid] * 3,
                          merged_scores=[8_500] * 3, shares=[[0, 10_000]] * 3, base_versions=[0, 2])
    assert honest.voted and honest.new_version == 4 and honest.deviant == (False,) * 3
    assert honest.decisions[0].stale and honest.decisions[0].returned == honest.decisions[0].stake, "X refunded"
    assert honest.decisions[1].outcome is Outcome.ACCEPTED and honest.oracle_fees == (10, 10, 10)
    # what the reports were when the node fetched X (the attack): no vote, no version, no fee
    fetched = decide_batch(t, subs(A, B), [[U, 8_500]] * 3, committee_size=3, merged=[P.ZERO_CID] * 3,
                           merged_scores=[U] * 3, shares=[[0, 0]] * 3, base_versions=[0, 2])
    assert not fetched.voted and fetched.new_version is None and fetched.oracle_fees == (0, 0, 0)

def _withheld(reports, merged_scores, shares, cids, size=3, retried=False, uncommitted=None, members=None, **kw):
    """Review 12's finding A on the model: update 0 an honest contributor's, updates 1 and 2 the
    attacker's; head 5,000; a fee of 30. `retried`: the batch is in its second round (R7b)."""
    subs_ = [Submission(A, 10**16), Submission(B, 10**16), Submission(B, 10**16)]
    return decide_batch(terms(oracle_fee_per_batch=30, **kw), subs_, reports, committee_size=size,
                        merged=cids, merged_scores=merged_scores, shares=shares, retried=retried,
                        uncommitted=uncommitted, members=members)


def _withheld4(reports, merged_scores, shares, cids, **kw):
    """Review 15's committee-4 variant: update 0 an honest contributor's, update 1 (good) the
    attacker's; head 5,000; a fee of 30."""
    subs_ = [Submission(A, 10**16), Submission(B, 10**16)]
    return decide_batch(terms(oracle_fee_per_batch=30), subs_, reports, committee_size=4, merged=cids,
                        merged_scores=merged_scores, shares=shares, **kw)


CID1, CID2, CID3, CID4 = ((bytes([k]) * 32, 0x70) for k in (1, 2, 3, 4))


def test_attack_A_model_two_updates_each_withheld_from_one_member_kill_the_version_for_free():
    """Review 12, finding A (R7a), inverted. The attacker withholds its junk update 1 from H1
    and update 2 from H2 (each available to q = 2: no slash, no void). Before, the two partial
    reports did not vote: 1 < q full reports, no vote, no version, for gas. Now each votes over
    what it fetched: all three name update 0 alone at 6,000, so the version is made and update
    0 paid; H1 and H2 earn no fee (their shares burned), nobody is deviant, the junk is rejected at the head."""
    reports = [[6_000, U, 5_000], [6_000, 5_000, U], [6_000, 5_000, 5_000]]
    d = _withheld(reports, [6_000] * 3, [[10_000, 0, 0]] * 3, [CID1] * 3)
    assert not d.voided and d.voted and d.new_version == 1 and d.merged_indices == (0,)
    assert d.decisions[0].reward > 0 and [x.returned for x in d.decisions] == [10**16] * 3
    assert d.oracle_fees == (0, 0, 10) and d.deviant == (False,) * 3 and d.fee_burned == 20
    # the same with the node's defaults for the partial reports (`one_winner_report`)
    assert decide_batch(terms(), [Submission(A, 1)] * 3, reports, committee_size=3).new_version == 1


def test_attack_withheld_good_updates_split_the_vote_gets_a_second_round_not_a_void():
    """R7a (a), R7b: the attacker's updates 1 and 2 are good (5,500) and withheld from H1 and H2:
    three votes, none with a quorum, nothing unavailable to a quorum. Under R7a alone the batch
    was voided (every stake back, the good updates unpaid, for gas). Now the partial reports are
    cleared (BatchRetried with H1 and H2's bits) and nothing moves: no stake back, no fee, no
    reward, no version. In the second round H1 and H2 fetch the updates from H3, which pinned
    them, and report in full without a commitment: the version is made and both withheld
    updates are paid; H1 and H2, who reported after H3's report was public, earn no fee."""
    reports = [[6_000, U, 5_500], [6_000, 5_500, U], [6_000, 5_500, 5_500]]
    shares = [[7_000, 0, 3_000], [7_000, 3_000, 0], [5_000, 2_500, 2_500]]
    d = _withheld(reports, [6_200, 6_200, 6_300], shares, [CID2, CID3, CID4])
    assert d.retry and not d.voided and d.cleared == 0b011
    assert d.new_version is None and d.reward == 0 and d.oracle_fees == (0, 0, 0) and not any(d.deviant)
    assert d.fees_paid == 0 and d.burned == 0 and d.paid_after == 0 and d.version_count_after == 0
    assert all(x.outcome is Outcome.RETRIED and x.returned == 0 and x.reward == 0 for x in d.decisions)
    assert d.contributor_credits() == {}, "nothing is paid back yet: the batch is still to decide"
    second = _withheld([[6_000, 5_500, 5_500]] * 3, [6_300] * 3, [shares[2]] * 3, [CID4] * 3, retried=True,
                       uncommitted=[True, True, False])
    assert not second.retry and not second.voided and second.new_version == 1
    assert second.decisions[1].reward > 0 and second.decisions[2].reward > 0 and second.merged_indices == (0, 1, 2)
    assert second.oracle_fees == (0, 0, 10) and not any(second.deviant) and second.fee_burned == 20


def test_attack_one_good_update_withheld_from_half_an_even_committee_gets_a_second_round():
    """R7b, committee 4 (quorum 3): the good update 1 is withheld from H3 and H4. Update 1's
    median has two agreeing reports (no quorum), the votes split 2 against 2: a retry clearing
    H3 and H4 (members 2 and 3). Their second-round reports, fetched from H1 and H2, make the
    version with update 1 paid; only H1 and H2, who committed, earn their shares (fee / 4)."""
    full, partial = [6_000, 5_500], [6_000, U]
    first = _withheld4([full, full, partial, partial], [6_200, 6_200, 6_000, 6_000],
                       [[7_000, 3_000]] * 2 + [[10_000, 0]] * 2, [CID2] * 2 + [CID1] * 2)
    assert first.retry and first.cleared == 0b1100 and first.new_version is None
    assert first.decisions[1].outcome is Outcome.RETRIED and first.oracle_fees == (0,) * 4
    second = _withheld4([full] * 4, [6_200] * 4, [[7_000, 3_000]] * 4, [CID2] * 4, retried=True,
                        uncommitted=[False, False, True, True])
    assert second.new_version == 1 and second.decisions[1].outcome is Outcome.ACCEPTED
    assert second.decisions[1].reward > 0 and second.oracle_fees == (7, 7, 0, 0)
    # the cleared mask is in committee order: members 0, 2, 3 reported, the last two partial
    gap = _withheld4([full, partial, partial], [6_200, 6_000, 6_000], [[7_000, 3_000]] + [[10_000, 0]] * 2,
                     [CID2] + [CID1] * 2, members=[0, 2, 3])
    assert gap.retry and gap.cleared == 0b1100


def test_attack_a_retried_batch_that_splits_again_is_voided_not_retried_forever():
    """R7b: at most one retry per batch. A retried batch whose reports split again (the
    withheld updates still out of the partial members' reach) is voided as R5's split is."""
    reports = [[6_000, U, 5_500], [6_000, 5_500, U], [6_000, 5_500, 5_500]]
    shares = [[7_000, 0, 3_000], [7_000, 3_000, 0], [5_000, 2_500, 2_500]]
    d = _withheld(reports, [6_200, 6_200, 6_300], shares, [CID2, CID3, CID4], retried=True,
                  uncommitted=[True, True, False])
    assert d.voided and not d.retry and d.cleared == 0 and d.new_version is None and d.oracle_fees == (0, 0, 0)
    assert [x.returned for x in d.decisions] == [10**16] * 3


def test_r7b_a_split_of_full_reports_voids_at_once_and_a_decided_batch_is_never_retried():
    """R7b retries only for want of agreement with a partial report: full reports that split
    void at once (R5), and a batch with a majority is decided in its first round."""
    split = _withheld([[6_000, 5_000, 5_000]] * 3, [6_000, 6_100, 6_200], [[10_000, 0, 0]] * 3, [CID1, CID2, CID3])
    assert split.voided and not split.retry
    partial_ok = _withheld([[6_000, U, 5_000], [6_000, 5_000, 5_000], [6_000, 5_000, 5_000]], [6_000] * 3,
                           [[10_000, 0, 0]] * 3, [CID1] * 3)
    assert not partial_ok.retry and partial_ok.new_version == 1 and partial_ok.oracle_fees == (0, 10, 10)


def test_r7b_a_report_partial_only_by_its_merged_score_is_seen_only_when_the_medians_agreed():
    """R7b as settleBatch reads it (retry_deviations.md 1): a merged score UNAVAILABLE (which an
    honest node never sends beside available scores) is read only by the vote. When a median
    already lacks a quorum the vote is not reached: with no other partial report the batch
    voids, and such a report is not cleared; when the medians agree and the vote splits, it is."""
    cid = [CID1, CID2, CID3]
    medians_split = _withheld([[6_000, 5_000, 5_000], [6_000, 5_000, 7_000], [6_000, 5_000, 9_000]],
                              [6_000, 6_000, U], [[10_000, 0, 0]] * 3, cid)
    assert medians_split.voided and not medians_split.retry
    with_other = _withheld([[6_000, 5_000, 5_000], [6_000, U, 7_000], [6_000, 5_000, 9_000]],
                           [6_000, 6_000, U], [[10_000, 0, 0]] * 3, cid)
    assert with_other.retry and with_other.cleared == 0b010
    vote_split = _withheld([[6_000, 5_000, 5_000]] * 3, [6_000, 6_100, U], [[10_000, 0, 0]] * 3, cid)
    assert vote_split.retry and vote_split.cleared == 0b100


def test_attack_a_copy_of_a_public_report_in_the_second_round_earns_no_fee():
    """R7b: a second-round report is made after the standing full reports are public, so it
    could be a copy. It counts toward the quorum and the vote as any report, and is judged for
    deviance, but earns no fee (uncommitted: its share is burned); a deviant one is slashed as
    usual and has no share."""
    reports = [[6_000, 5_500, 5_500], [6_000, 5_500, 5_500], [6_000, 5_500, 5_500], [9_000, 5_500, 5_500]]
    d = decide_batch(terms(oracle_fee_per_batch=30), subs(A, B, B), reports, committee_size=4, retried=True,
                     uncommitted=[False, True, False, True], bonds_left=[100] * 4, per_offence=10)
    assert d.oracle_fees == (10, 0, 10, 0) and d.deviant == (False, False, False, True) and d.fee_burned == 10
    assert d.oracle_slashed == (0, 0, 0, 10)
    with pytest.raises(P.ProtocolError, match="uncommitted"):
        decide_batch(terms(), subs(A), [[6_000]] * 3, uncommitted=[True])


def test_attack_a_coalition_joining_a_partial_vote_slashes_no_honest_full_report():
    """R7a (a), committee 5: a good update 1 unavailable to H1; dishonest D1, D2 name H1's
    subset vote {0}: it has a quorum (one partial), the version is made without update 1 (its
    stake back, as the split's void gave it), and the honest full reports naming {0, 1} are not
    deviant: a vote is deviant only against one a quorum of full reports named."""
    sub, full, dis = [6_000, U, 5_000], [6_000, 5_500, 5_000], [6_000, 5_500, 5_000]
    d = _withheld([sub, full, full, dis, dis], [6_000, 6_200, 6_200, 6_000, 6_000],
                  [[10_000, 0, 0], [7_000, 3_000, 0], [7_000, 3_000, 0], [10_000, 0, 0], [10_000, 0, 0]],
                  [CID1, CID2, CID2, CID1, CID1], size=5)
    assert d.new_version == 1 and d.merged_indices == (0,) and d.head_score_after == 6_000
    assert d.deviant == (False,) * 5 and d.oracle_fees[0] == 0 and d.oracle_fees[1] > 0


def test_attack_a_lazy_member_voting_with_a_dishonest_partner_cannot_decide_the_vote():
    """R7a (b): a lazy member (UNAVAILABLE everywhere) and a dishonest full partner name a junk
    vote (update 2 at 9,000); three honest full reports name theirs: the honest vote decides,
    the partner is deviant, the lazy member earns nothing and is not deviant. With an honest
    member late, the two can only void (as two full reports could), after one retry (R7b: the
    lazy report is partial, so the split first clears it; the same reports again void)."""
    h, lazy, dis = [6_000, 5_000, 5_000], [U, U, U], [6_000, 5_000, 5_000]
    d = _withheld([h, h, h, lazy, dis], [6_000, 6_000, 6_000, 9_000, 9_000],
                  [[10_000, 0, 0]] * 3 + [[0, 0, 10_000]] * 2, [CID1] * 3 + [CID4] * 2, size=5)
    assert d.new_version == 1 and d.head_score_after == 6_000
    assert d.deviant == (False, False, False, False, True) and d.oracle_fees[3] == d.oracle_fees[4] == 0
    late = [[h, h, lazy, dis], [6_000, 6_000, 9_000, 9_000], [[10_000, 0, 0]] * 2 + [[0, 0, 10_000]] * 2,
            [CID1] * 2 + [CID4] * 2]
    first = _withheld(*late, size=5, members=[0, 1, 3, 4])
    assert first.retry and first.cleared == 1 << 3 and first.new_version is None
    second = _withheld(*late, size=5, retried=True, uncommitted=[False, False, True, False])
    assert second.voided and second.new_version is None


def test_attack_claiming_unavailable_escapes_neither_merged_deviance_nor_buys_a_vote():
    """R7a (c): D claims update 2 UNAVAILABLE. Naming the agreed vote with a merged score of
    9,000, it is judged on it (deviant); naming a junk vote, it is not deviant for the vote but
    earns no fee and decides nothing."""
    h, d_ = [6_000, 5_000, 5_000], [6_000, 5_000, U]
    judged = _withheld([h, h, d_], [6_000, 6_000, 9_000], [[10_000, 0, 0]] * 3, [CID1] * 3)
    assert judged.head_score_after == 6_000 and judged.deviant == (False, False, True)
    junk = _withheld([h, h, d_], [6_000, 6_000, 9_000], [[10_000, 0, 0]] * 2 + [[0, 10_000, 0]], [CID1] * 2 + [CID4])
    assert junk.merged_indices == (0,) and junk.deviant == (False,) * 3 and junk.oracle_fees == (10, 10, 0)


def test_r7a_a_split_vote_with_an_update_unavailable_to_a_quorum_slashes_it_and_is_decided():
    """R7a: update 2 unavailable to H1-H3 (u = 3 >= q), good update 1 to H1 too; the votes split
    three ways: decided without a version (never voided), update 2 slashed, nobody deviant."""
    r1, r23, r45 = [6_000, U, U], [6_000, 5_500, U], [6_000, 5_500, 5_500]
    d = _withheld([r1, r23, r23, r45, r45], [6_000, 6_200, 6_200, 6_300, 6_300],
                  [[10_000, 0, 0], [7_000, 3_000, 0], [7_000, 3_000, 0], [5_000, 2_500, 2_500], [5_000, 2_500, 2_500]],
                  [CID1, CID2, CID2, CID4, CID4], size=5)
    assert not d.voided and not d.voted and d.new_version is None and not any(d.deviant)
    assert d.decisions[2].outcome is Outcome.SLASHED and d.decisions[1].outcome is Outcome.REJECTED
    assert d.oracle_fees[3] > 0 and d.oracle_fees[0] == 0


def test_r5_a_member_names_shares_only_where_its_own_score_beats_the_head():
    """R5's caps as the node applies them (`report_shares`): a candidate whose significant gain
    is below one score unit reports the head's score, so its share is dropped and the rest
    renormalised to SHARE_TOTAL (largest remainders, ties by the lower index); a vector
    already within the caps is unchanged. Without this, honest members would name a vector
    the contract refuses (no version)."""
    head = 5_000
    assert P.report_shares([5_000, 3_000, 2_000], [5_100, 5_000, 5_050], head, True) == [7_143, 0, 2_857]
    assert P.report_shares([5_000, 5_000], [5_100, 5_100], head, True) == [5_000, 5_000]
    assert P.report_shares([3_333, 3_333, 3_334], [5_001, 5_001, 5_001], head, True) == [3_333, 3_333, 3_334]
    assert P.report_shares([1, 1, 1], [5_001, 5_001, 5_001], head, True) == [3_334, 3_333, 3_333]
    assert P.report_shares([10_000, 0], [INVALID, 5_100], head, True) == [0, 0]
    assert P.report_shares([6_000, 4_000], [4_900, 5_000], head, False) == [10_000, 0]  # lower is better
    d = decide_batch(terms(), subs(A, B, C), [[5_100, 5_000, 5_050]] * 3, merged_scores=[5_200] * 3,
                     shares=[P.report_shares([5_000, 3_000, 2_000], [5_100, 5_000, 5_050], head, True)] * 3)
    assert d.new_version == 1 and sum(x.reward for x in d.decisions) == d.reward  # 10,000 of 10,000 paid


def test_attack_a_withholder_and_its_members_cannot_capture_the_fee():
    """Review 15, F2 inverted (R7, R9): the withholder serves its updates in full to two
    colluding members only. Cleared into a second round (R7b), the three honest members report
    in full without a commitment: the fee is still divided by five; the colluders get fee / 5
    each (fee / 2 before), the three uncommitted shares are burned, and the requester gets no
    more back (`fee_unpaid` is the rounding dust only)."""
    full = [6_000, 5_500, 5_400]
    d = _withheld([full] * 5, [6_300] * 5, [[5_000, 3_000, 2_000]] * 5, [CID4] * 5, size=5, retried=True,
                  uncommitted=[True, True, True, False, False])
    assert d.new_version == 1 and not any(d.deviant)
    assert d.oracle_fees == (0, 0, 0, 6, 6) and (d.fees_paid, d.fee_burned, d.fee_unpaid) == (30, 18, 0)
    # R7a alone: junk update 2 withheld from the three honest members, no retry
    p = [6_000, 5_500, U]
    r7a = _withheld([p, p, p, full, full], [6_300] * 5, [[7_000, 3_000, 0]] * 5, [CID2] * 5, size=5)
    assert not r7a.retry and r7a.new_version == 1 and not any(r7a.deviant)
    assert r7a.oracle_fees == (0, 0, 0, 6, 6) and (r7a.fees_paid, r7a.fee_burned, r7a.fee_unpaid) == (30, 18, 0)


def test_r9_a_members_fee_never_grows_when_others_are_made_partial():
    """R9: whatever subset of the other (non-deviant) reports is partial or uncommitted, a full
    committed report's fee is the same, and share * reports is spent: paid plus burned."""
    import itertools

    full = [6_000, 5_500]
    for bits in itertools.product([False, True], repeat=4):
        reports = [full] + [[6_000, U] if b else full for b in bits]
        d = decide_batch(terms(oracle_fee_per_batch=31), subs(A, B), reports, committee_size=5)
        assert d.oracle_fees[0] == 31 // 5 and d.fee_burned == sum(bits) * (31 // 5)
        assert sum(d.oracle_fees) + d.fee_burned == d.fees_paid == 31 - d.fee_unpaid


# ------------------------------------------------------------------- R7: an even count's interval (review of R7b, F1)


def test_r7_attack_cleared_members_frame_an_honest_member_after_seeing_every_reveal():
    """Review of R7b, F1, on the model. Committee 5, member 2 offline; in the second round H0 and
    H1 stand (6,000 and 6,003, committed) and the cleared pair reports 6,013 without a commitment,
    having seen both. Four keys: the midpoint 6,008 is 8 from H0's, but H0 lies within the
    tolerance of the lower middle key 6,003, so it is not deviant (R7); a quorum agrees with the
    midpoint, so the decision stands, and H0 is paid as a non-deviant committed report."""
    frame = [6_013, 5_500, 5_000]
    d = _withheld([[6_000, 5_500, 5_000], [6_003, 5_500, 5_000], frame, frame], [6_200] * 4, [[7_000, 3_000, 0]] * 4,
                  [CID2] * 4, size=5, retried=True, uncommitted=[False, False, True, True], members=[0, 1, 3, 4])
    assert not d.voided and d.new_version == 1 and d.medians[0] == P.key(6_008, True)
    assert not any(d.deviant) and d.oracle_fees == (7, 7, 0, 0) and d.fee_burned == 14
    keys = [P.key(x, True) for x in (6_000, 6_003, 6_013, 6_013)]
    assert P.is_deviant(keys[0], P.median(keys), 5), "against the midpoint alone (the rule before) H0 was deviant"
    assert not P.deviates(keys[0], keys, 5) and P.middle_keys(keys) == (keys[1], keys[2])


def test_r7_attack_cleared_members_frame_an_honest_member_on_the_merged_score():
    """F1 on the merged score: H2 partial in both rounds (its own vote), H0 and H1 score the merged
    model 6,200 and 6,203, the cleared pair names the honest vote at 6,213. The merged median over
    the four reports naming it is 6,208; H0 is within the tolerance of 6,203: nobody deviant."""
    full, frame = [6_000, 5_500, 5_000], [6_000, 5_500, 5_000]
    d = _withheld([full, full, [6_000, U, 5_000], frame, frame], [6_200, 6_203, 6_000, 6_213, 6_213],
                  [[7_000, 3_000, 0]] * 2 + [[10_000, 0, 0]] + [[7_000, 3_000, 0]] * 2, [CID2, CID2, CID1, CID2, CID2],
                  size=5, retried=True, uncommitted=[False, False, True, True, True])
    assert not d.voided and d.new_version == 1 and d.head_score_after == 6_208
    assert not any(d.deviant)


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_r7_half_the_reports_honest_within_tolerance_are_never_deviant(data):
    """R7's property: an honest report is never deviant when the honest reports are at least half
    of the keys on a median and lie within the tolerance of one another (same validity), wherever
    the others are; through decide_batch too (a batch of one update, each report merging it)."""
    tol = data.draw(st.integers(0, 20), label="tolerance")
    h = data.draw(st.integers(1, 8), label="honest")
    d_ = data.draw(st.integers(0, h), label="others")
    invalid = data.draw(st.booleans(), label="honest say invalid")
    base = data.draw(st.integers(1, 10_000))
    honest = [0 if invalid else base + data.draw(st.integers(0, tol)) for _ in range(h)]
    others = [data.draw(st.one_of(st.just(0), st.integers(max(1, base - 3 * tol - 3), base + 4 * tol + 3),
                                  st.integers(1, 20_000))) for _ in range(d_)]
    order = data.draw(st.permutations(range(h + d_)))
    keys = [(honest + others)[i] for i in order]
    for k in honest:
        assert not P.deviates(k, keys, tol), (k, sorted(keys), tol)
    if len(keys) % 2:
        assert all(P.deviates(k, keys, tol) == P.is_deviant(k, P.median(keys), tol) for k in keys), "odd: as before"
    d = decide_batch(terms(tolerance=tol, head_score=1, baseline_score=1), subs(A),
                     [[INVALID if k == 0 else P.score_of(k, True)] for k in keys])
    assert not any(d.deviant[r] for r, i in enumerate(order) if i < h), (keys, d.deviant)


def test_r7_fewer_than_half_honest_can_be_deviant_the_boundary():
    """The other side of the boundary: one honest key of three, the others together beyond the
    tolerance, is deviant (it is not half of the keys), as with the median alone."""
    keys = [P.key(x, True) for x in (6_000, 6_010, 6_010)]
    assert P.deviates(keys[0], keys, 5) and P.middle_keys(keys) == (keys[1], keys[1])

"""Rules B4, S2, R5-R7: fathom/protocol/settlement.py against the contracts, on random inputs.

The first tests compare each RewardMath function with the reference model through
RewardMathHarness. The last ones open real bounties on the deployed market, settle
random batches and check that the model predicts every event and every balance.
"""

from __future__ import annotations

import brownie
import pytest
from brownie import chain
from hypothesis import HealthCheck, event, example, settings, strategies as st

# hypothesis' own given (brownie swaps `hypothesis.given` for a wrapper that warns, and
# brownie.test.given reverts the chain and runs gc.collect() before every example):
# the RewardMath tests only make calls, and the settlement test snapshots and reverts
# the chain itself around each example.
from hypothesis.core import given

from fathom.protocol import settlement as P
from tests.helpers import reverts_with
from tests.market_helpers import ETH, Round, cid, rejected, settled_scores

WAD = P.WAD
UINT64 = 2**64 - 1
FIXTURES_OK = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]


@pytest.fixture(scope="module")
def harness(RewardMathHarness, deployer):
    return RewardMathHarness.deploy({"from": deployer})


# ----------------------------------------------------------------- strategies

scores = st.one_of(st.integers(0, P.INVALID), st.sampled_from([0, 1, P.MAX_SCORE, P.INVALID]))
keys64 = st.one_of(st.integers(0, UINT64), st.integers(0, 50), st.sampled_from([P.INVALID, UINT64]))


@st.composite
def valid_curves(draw, min_points: int = 2, max_points: int = 8):
    """x strictly increasing 0..WAD, y non-decreasing 0..WAD; often with flat segments,
    near-vertical ones and breakpoints next to each other."""
    n = draw(st.integers(min_points, max_points))
    coord = st.one_of(st.integers(1, WAD - 1), st.integers(1, 10), st.integers(WAD - 10, WAD - 1))
    xs = sorted(draw(st.lists(coord, min_size=n - 2, max_size=n - 2, unique=True)))
    ys = sorted(draw(st.lists(st.one_of(st.integers(0, WAD), st.sampled_from([0, 1, WAD - 1, WAD])), min_size=n - 2, max_size=n - 2)))
    return [0, *xs, WAD], [0, *ys, WAD]


@st.composite
def any_curves(draw):
    """Mostly invalid curves: a valid one with one defect, or arbitrary lists."""
    xs, ys = draw(valid_curves())
    kind = draw(st.integers(0, 5))
    interesting = st.one_of(st.sampled_from([0, 1, WAD - 1, WAD, WAD + 1, UINT64]), st.integers(0, UINT64))
    if kind == 0:  # arbitrary lists, lengths may differ
        xs = draw(st.lists(interesting, max_size=10))
        ys = draw(st.lists(interesting, max_size=10))
    elif kind == 1:  # one coordinate replaced
        i = draw(st.integers(0, len(xs) - 1))
        (xs if draw(st.booleans()) else ys)[i] = draw(interesting)
    elif kind == 2:  # a repeated x (invalid) or y (fine)
        i = draw(st.integers(1, len(xs) - 1))
        coords = xs if draw(st.booleans()) else ys
        coords[i] = coords[i - 1]
    elif kind == 3:  # one y too many or too few
        ys = ys[:-1] if draw(st.booleans()) else ys + [WAD]
    elif kind == 4:  # two points swapped
        i = draw(st.integers(1, len(xs) - 1))
        xs[i - 1], xs[i] = xs[i], xs[i - 1]
        ys[i - 1], ys[i] = ys[i], ys[i - 1]
    return xs, ys


def plain(value):
    """A brownie return value as plain ints and tuples (brownie's own types compare oddly)."""
    if isinstance(value, (list, tuple)):
        return tuple(plain(v) for v in value)
    return int(value)


def events(tx, name):
    return list(tx.events[name]) if name in tx.events else []


def progress_points(xs):
    return st.lists(
        st.one_of(st.integers(0, WAD), st.sampled_from(xs), st.sampled_from([x + 1 for x in xs]), st.integers(WAD, 2**70)),
        min_size=1,
        max_size=12,
    )


# ------------------------------------------------------------ RewardMath unit


@given(score=scores, higher=st.booleans())
def test_key_matches_and_orders_goodness(harness, score, higher):
    """Units: key() as the contract computes it; invalid is 0; larger is better."""
    k = P.key(score, higher)
    assert harness.key(score, higher) == k
    assert (k == 0) == (score == P.INVALID)
    if k:
        assert P.score_of(k, higher) == harness.scoreOf(k, higher) == score
        if score < P.MAX_SCORE:  # one unit better or worse in the metric's direction
            assert P.key(score + 1, higher) == (k + 1 if higher else k - 1)


@given(k=st.integers(1, P.MAX_KEY), higher=st.booleans())
def test_score_of_inverts_key(harness, k, higher):
    """Units: scoreOf(k) is the score whose key is k."""
    s = P.score_of(k, higher)
    assert harness.scoreOf(k, higher) == s
    assert P.key(s, higher) == harness.key(s, higher) == k


@given(k=keys64, baseline=keys64, target=keys64)
def test_progress_matches_clips_and_rounds_down(harness, k, baseline, target):
    """R6: p = (key - baselineKey) / (targetKey - baselineKey), clipped to [0, 1], rounded down."""
    p = P.progress(k, baseline, target)
    assert harness.progress(k, baseline, target) == p
    assert 0 <= p <= WAD
    if baseline < k < target:
        assert p * (target - baseline) <= (k - baseline) * WAD < (p + 1) * (target - baseline)


@given(curve=valid_curves(), data=st.data())
def test_curve_at_matches_on_valid_curves(harness, curve, data):
    """B4, R6: the packed curve, its points and c(p) with round-down interpolation."""
    xs, ys = curve
    ps = data.draw(progress_points(xs))
    packed, n = P.pack(xs, ys)
    assert plain(harness.pack(xs, ys)) == (packed, n)
    i = data.draw(st.integers(0, n - 1))
    assert plain(harness.point(packed, i)) == P.point(packed, i) == (xs[i], ys[i])
    values = [P.curve_at(packed, n, p) for p in ps]
    assert list(plain(harness.curveAtMany(xs, ys, ps))) == values
    assert harness.curveAt(packed, n, ps[0]) == values[0]
    for p, c in zip(ps, values):
        assert 0 <= c <= WAD
        if p in xs:
            assert c == ys[xs.index(p)]  # breakpoints are exact
    ordered = sorted(zip(ps, values))
    assert all(a[1] <= b[1] for a, b in zip(ordered, ordered[1:]))  # non-decreasing


@settings(max_examples=200)
@given(curve=any_curves())
@example(curve=([0, 5, 5, WAD], [0, 1, 2, WAD]))  # a repeated x
@example(curve=([0, 5, 7, WAD], [0, 3, 2, WAD]))  # a falling y
@example(curve=([0, 5, 7, WAD], [0, 3, 3, WAD]))  # a flat y is fine
@example(curve=([0, 1, 2, 3, 4, 5, 6, 7, WAD], [0] * 8 + [WAD]))  # nine points
@example(curve=([0, WAD], [0, 5, WAD]))  # more ys than xs
def test_pack_rejects_invalid_curves_with_the_same_index(harness, curve):
    """B4: the model's InvalidCurve index is the contract's InvalidCurve(index)."""
    xs, ys = curve
    try:
        expected = P.pack(xs, ys)
    except P.InvalidCurve as err:
        with reverts_with("InvalidCurve", err.index):
            harness.pack(xs, ys)
    else:
        assert plain(harness.pack(xs, ys)) == expected


@given(escrow=st.integers(0, 2**128 - 1), paid=st.integers(0, 2**128 - 1), c=st.one_of(st.integers(0, WAD), st.sampled_from([0, 1, WAD])))
def test_reward_for_matches_and_never_exceeds_the_escrow(harness, escrow, paid, c):
    """R6: floor(R * c) - paid, never negative, never above R - paid."""
    r = P.reward_for(escrow, paid, c)
    assert harness.rewardFor(escrow, paid, c) == r
    assert 0 <= r and paid + r <= max(paid, escrow)


@given(keys=st.lists(st.one_of(st.integers(0, UINT64), st.integers(0, 5)), min_size=1, max_size=16))
def test_lower_median_matches(harness, keys):
    """S2, R5: element (m - 1) / 2 of the sorted keys, one of the reported keys."""
    med = P.lower_median(keys)
    assert harness.lowerMedian(keys) == med
    assert med in keys
    assert sum(k < med for k in keys) <= (len(keys) - 1) // 2 and sum(k > med for k in keys) <= len(keys) // 2


@given(keys=st.lists(st.one_of(st.integers(0, UINT64), st.integers(0, 5)), min_size=1, max_size=16))
def test_r5_median_matches(harness, keys):
    """R5, S2: the middle key, or the midpoint of the two middle keys (0 if the lower is 0),
    within the range of the keys: the contract agrees with the model."""
    med = P.median(keys)
    assert harness.median(keys) == med
    assert min(keys) <= med <= max(keys)


def test_lower_median_of_nothing_reverts_like_the_model_raises(harness):
    """S2: no reports, no median."""
    with pytest.raises(P.ProtocolError):
        P.lower_median([])
    with brownie.reverts():
        harness.lowerMedian([])


# -------------------------------------------------------------- settlement


@st.composite
def scenarios(draw):
    """A bounty and two batches, drawn up front (so that hypothesis discards an example
    it cannot finish before any transaction): the bounty's parameters and baseline
    reports, then per batch who submits, a plan of the committee's reports relative
    to the head the batch will be judged against, and the merged CID each oracle names."""
    higher = draw(st.booleans())
    size = draw(st.sampled_from([3, 4]))
    centre = draw(st.integers(1_000, 8_000))
    baseline_reports = [centre + draw(st.integers(-20, 20)) for _ in range(size)]
    base = P.baseline_score(baseline_reports, higher)
    distance = draw(st.integers(1, 2_000 if higher else min(2_000, base)))
    xs, ys = draw(valid_curves(max_points=5))
    margin, tolerance, n = draw(st.integers(0, 300)), draw(st.integers(0, 30)), draw(st.integers(1, 4))
    overrides = {
        "higherIsBetter": higher,
        "target": base + distance if higher else base - distance,
        "slashMargin": margin,
        "tolerance": tolerance,
        "slashBps": draw(st.sampled_from([0, 1, 2_500, 5_000, 9_999, 10_000])),
        "stake": draw(st.integers(1, 10**16)),
        "oracleFeePerBatch": draw(st.sampled_from([0, 1, 7, 3 * 10**15, 10**16 + 1])),
        "reward": draw(st.integers(0, 10**18)),
        "batchSize": n,
        "curveX": xs,
        "curveY": ys,
    }
    batches = [
        (
            draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)),  # contributors
            draw(report_plans(size, n, margin, tolerance)),
            draw(st.lists(st.integers(0, 2), min_size=size, max_size=size)),  # merged CIDs
        )
        for _ in range(2)
    ]
    return size, baseline_reports, overrides, batches


@st.composite
def report_plans(draw, size: int, n: int, margin: int, tolerance: int):
    """Per submission a true offset from the head in goodness (None: invalid), and per
    oracle how it reports it: mostly the truth or within the tolerance, sometimes at
    the tolerance's edge, an outlier, or the wrong validity. Offsets sit often at the
    slash margin's edge and tie between submissions."""
    edges = [-(margin + 1), -margin, -1, 0, 1, 2, 250]
    truth = []
    for _ in range(n):
        kind = draw(st.integers(0, 9))
        if kind == 0:
            truth.append(None)
        else:
            truth.append(draw(st.sampled_from(edges)) if kind < 5 else draw(st.integers(-500, 2_500)))
    noises = [-(tolerance + 1), -tolerance, 0, tolerance, tolerance + 1]
    cells = []
    for _ in range(size):
        row = []
        for t in truth:
            kind = draw(st.integers(0, 19))
            if t is None:
                row.append(("invalid",) if kind else ("score", draw(st.integers(0, 10_000))))
            elif kind == 0:
                row.append(("invalid",))
            elif kind == 1:
                row.append(("score", draw(st.integers(0, 20_000))))  # outlier
            elif kind < 8:
                row.append(("noise", 0))  # exact agreement
            else:
                noise = draw(st.sampled_from(noises)) if kind < 12 else draw(st.integers(-(tolerance + 3), tolerance + 3))
                row.append(("noise", noise))
        cells.append(row)
    return truth, cells


def realise(plan, head: int, higher: bool) -> list[list[int]]:
    """The committee's score vectors for a plan, around the current head."""
    truth, cells = plan
    sign = 1 if higher else -1
    clamp = lambda v: max(0, min(P.MAX_SCORE, v))  # noqa: E731
    centre = [None if t is None else clamp(head + sign * t) for t in truth]
    reports = []
    for row in cells:
        out = []
        for c, cell in zip(centre, row):
            if cell[0] == "invalid":
                out.append(P.INVALID)
            elif cell[0] == "score":
                out.append(cell[1])
            else:
                out.append(clamp(c + cell[1]))
        reports.append(out)
    return reports


def _same(truth, size, **off):
    """A plan where every oracle reports the truth, except `off[(oracle, submission)]`."""
    agree = [("invalid",) if t is None else ("noise", 0) for t in truth]
    cells = [[off.get(f"o{r}s{i}", agree[i]) for i in range(len(truth))] for r in range(size)]
    return truth, cells


_BASE = {"slashMargin": 100, "tolerance": 5, "slashBps": 5_000, "stake": 10**16, "oracleFeePerBatch": 3 * 10**15,
         "reward": 10**18, "batchSize": 4, "curveX": [0, WAD], "curveY": [0, WAD]}
#: Ties between the best submissions (the lowest id wins), the slash margin's edge on
#: both sides, an invalid artefact, one deviant oracle, then a second batch from the new head.
TIES_AND_EDGES = (
    3, [5_000, 5_000, 5_000], dict(_BASE, higherIsBetter=True, target=9_000),
    [
        ([0, 1, 2, 0], _same([250, 250, -101, None], 3, o2s2=("noise", 6)), [1, 1, 2]),
        ([1, 2, 0, 1], _same([-100, 1, 2, 2], 3), [0, 2, 2]),
    ],
)
#: Lower is better, four oracles, each deviant somewhere: nobody earns the fee, and
#: their slashed ETH is shared by the contributors (dust burned); a concave curve.
ALL_DEVIANT = (
    4, [3_000, 3_010, 2_990, 3_000], dict(_BASE, higherIsBetter=False, target=1_000, oracleFeePerBatch=7, batchSize=3,
                                          curveX=[0, WAD // 2, WAD], curveY=[0, 8 * 10**17, WAD]),
    [
        ([0, 1, 2], _same([40, 30, 0], 4, o0s0=("noise", 6), o1s1=("invalid",), o2s2=("score", 9_999), o3s0=("noise", -6)), [0, 0, 0, 0]),
        ([2, 2, 2], _same([None, 500, 499], 4, o0s0=("score", 1)), [1, 2, 1, 0]),
    ],
)
#: Oracles within the tolerance whose own best candidates differ (a three-way tie of medians
#: at 103) name different (merged CID, shares) votes: none has a quorum, so the first batch is
#: voided (R4, R5: one vote), as the model says; the second batch agrees.
NOBODY_RANKED_IT_BEST = (
    3, [100, 100, 100], dict(_BASE, higherIsBetter=True, target=9_000, batchSize=3),
    [
        ([0, 1, 2], ([3, 3, 3], [[("noise", 0), ("noise", 1), ("noise", -2)], [("noise", -1), ("noise", 0), ("noise", 0)],
                                 [("noise", 0), ("noise", -1), ("noise", 1)]]), [1, 2, 1]),
        ([0, 1, 2], _same([1, 2, 3], 3), [1, 1, 1]),
    ],
)
#: Scores so small that an invalid report lies within the tolerance of a valid median
#: (and the reverse): deviant all the same, for saying the wrong validity (R7).
WRONG_VALIDITY_WITHIN_TOLERANCE = (
    3, [2, 2, 2], dict(_BASE, higherIsBetter=True, target=9_000, tolerance=30, batchSize=2),
    [
        ([0, 1], _same([1, None], 3, o0s0=("invalid",), o1s1=("score", 5)), [0, 0, 0]),
        ([1, 0], _same([0, 0], 3), [0, 0, 0]),
    ],
)


def _claimables(market, accounts):
    return {a.address: market.claimable(a, ETH) for a in accounts}


@settings(max_examples=20, suppress_health_check=FIXTURES_OK)
@given(scenario=scenarios())
@example(scenario=TIES_AND_EDGES)
@example(scenario=ALL_DEVIANT)
@example(scenario=NOBODY_RANKED_IT_BEST)
@example(scenario=WRONG_VALIDITY_WITHIN_TOLERANCE)
def test_settlement_matches_the_batch_model(market, oracle_registry, requester, staked_oracles, contributors, rando, scenario):
    """S2, R5, R6, R7: two batches settled on the market; the model predicts the baseline,
    every outcome event, the new versions, rewards, burns, oracle slashes and fees."""
    # fn_isolation resets only between tests: each example starts from the same chain
    chain.snapshot()
    try:
        _run_settlement_example(market, oracle_registry, requester, staked_oracles, contributors, rando, scenario)
    finally:
        chain.revert()


def _run_settlement_example(market, oracle_registry, requester, staked_oracles, contributors, rando, scenario):
    size, baseline_reports, overrides, batches = scenario
    committee = staked_oracles[:size]
    higher = overrides["higherIsBetter"]
    rnd = Round.open(market, requester, committee, baseline=None, **overrides)
    for o in committee:
        market.joinCommittee(rnd.bounty_id, {"from": o})
    for o, s in zip(committee, baseline_reports):
        tx = market.reportBaseline(rnd.bounty_id, s, {"from": o})
    base = P.baseline_score(baseline_reports, higher)
    if not P.baseline_agreed(baseline_reports, higher, overrides["tolerance"], size):
        assert "BaselineSet" not in tx.events and market.state(rnd.bounty_id) == 1  # S2: no majority agrees
        return
    assert tx.events["BaselineSet"]["score"] == base

    b = market.getBounty(rnd.bounty_id)
    terms = P.BountyTerms(
        higher_is_better=higher,
        target=overrides["target"],
        baseline_score=base,
        head_score=base,
        reward=b["reward"],
        paid=0,
        curve=P.Curve(overrides["curveX"], overrides["curveY"]),
        slash_margin=overrides["slashMargin"],
        tolerance=overrides["tolerance"],
        slash_bps=overrides["slashBps"],
        oracle_fee_per_batch=overrides["oracleFeePerBatch"],
    )
    bond, per_offence = market.memberBond(rnd.bounty_id)
    assert per_offence == bond * oracle_registry.slashBps() // 10_000
    offences = [0] * size
    n = overrides["batchSize"]
    merged_choices = [P.ZERO_CID, cid(500), cid(501)]
    fees_paid = 0
    for batch, (who, plan, named) in enumerate(batches):
        if terms.target_reached:
            assert market.state(rnd.bounty_id) == 3  # Settling: no more submissions
            break
        for j, c in enumerate(who):
            rnd.submit(contributors[c], 100 * batch + j)
        reports = realise(plan, terms.head_score, higher)
        merged = [merged_choices[i] for i in named]
        for o, row, m in zip(committee, reports, merged):
            rnd.report(o, batch, row, m)

        subs = [P.Submission(r[0], r[1]) for r in rnd.records[batch]]
        stakes = [oracle_registry.oracleInfo(o)[0] for o in committee]
        model = P.decide_batch(
            terms, subs, reports, first_id=batch * n, merged=merged, committee_size=size,
            bonds_left=[P.bond_left(bond, per_offence, k) for k in offences], per_offence=per_offence,
        )
        people = list({a.address: a for a in [*contributors, *committee]}.values())
        before, burn_before = _claimables(market, people), market.pendingBurn(ETH)
        tx = rnd.settle(batch, rando)
        event("outcomes: " + "".join(sorted(d.outcome.value[0] for d in model.decisions)))
        event(f"deviant reporters: {sum(model.deviant)}")

        if model.voided:  # R4: no majority agreed with some median: every stake back, nothing else
            event("voided: no majority")
            assert tx.events["BatchVoided"]["reports"] == size
            for name in ("VersionAccepted", "BatchSettled", "StakeSlashed", "OracleSlashed"):
                assert name not in tx.events
        # events: the accepted and each slashed submission its own, the rejected ones as bits of
        # BatchSettled, with every median; all as the model decides
        accepted = [d for d in model.decisions if d.outcome is P.Outcome.ACCEPTED]
        if model.new_version is not None:
            ev = tx.events["VersionAccepted"]
            d = model.accepted  # the merged update with the largest share
            assert len(tx.events["VersionAccepted"]) == 1
            assert (ev["version"], ev["parent"], ev["author"], ev["submissionId"]) == (
                model.new_version, terms.version_count, d.contributor, d.submission_id
            )
            assert (ev["score"], ev["reward"]) == (model.head_score_after, model.reward)
            assert (bytes(ev["merged"][0]), ev["merged"][1]) == model.merged
        else:
            assert "VersionAccepted" not in tx.events and not accepted
        merged = [(e["submissionId"], e["contributor"], e["score"], e["share"], e["reward"]) for e in events(tx, "UpdateMerged")]
        assert merged == [(d.submission_id, d.contributor, d.score, d.share, d.reward) for d in accepted]
        rejections = [(e["submissionId"], e["contributor"], e["score"]) for e in rejected(tx, rnd)]
        assert rejections == [(d.submission_id, d.contributor, d.score) for d in model.decisions if d.outcome is P.Outcome.REJECTED]
        slashed = [(e["submissionId"], e["contributor"], e["score"], e["burned"], e["returned"]) for e in events(tx, "StakeSlashed")]
        assert slashed == [
            (d.submission_id, d.contributor, d.score, d.burned, d.returned) for d in model.decisions if d.outcome is P.Outcome.SLASHED
        ]
        oracle_slashes = [(e["oracle"], e["amount"]) for e in events(tx, "OracleSlashed")]
        assert oracle_slashes == [(committee[r].address, model.oracle_slashed[r]) for r in model.deviant_indices]
        if not model.voided:
            assert (tx.events["BatchSettled"]["reports"], tx.events["BatchSettled"]["feeShare"]) == (size, model.fee_share)
            assert settled_scores(tx) == list(model.median_scores)

        # balances: contributors get stakes, rewards and slashed oracle ETH; oracles the fee
        after = _claimables(market, people)
        expected = dict(before)
        for c, amount in model.contributor_credits().items():
            expected[c] += amount
        for o, fee in zip(committee, model.oracle_fees):
            expected[o.address] += fee
        assert after == expected  # C3: nobody is credited a slashed oracle's ETH
        slashed_eth = model.oracle_slashed or (0,) * size
        assert market.pendingBurn(ETH) - burn_before == model.burned + (model.oracle_burned or 0)
        assert [oracle_registry.oracleInfo(o)[0] for o in committee] == [s - a for s, a in zip(stakes, slashed_eth)]
        offences = [k + (a != 0) for k, a in zip(offences, slashed_eth)]

        terms = terms.after(model)
        fees_paid += model.fees_paid
        view = market.getBounty(rnd.bounty_id)
        assert (view["headScore"], view["paid"], view["versionCount"], view["feesPaid"]) == (
            terms.head_score, terms.paid, terms.version_count, fees_paid
        )
        assert (market.state(rnd.bounty_id) == 3) == terms.target_reached

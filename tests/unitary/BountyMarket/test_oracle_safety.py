"""Issue 14 on chain: honest oracles cannot be drained by voids, framed into slashes that pay
someone, outvoted by a minority, or held forever (rules B4, C1-C3, R4, R5, R7, R10, S2)."""

from brownie import chain

from tests.helpers import reverts_with, to_staking
from tests.market_helpers import ETH, Round, encode_scores

STAKE = 10**16
MIN_STAKE = 10**18
BOND = MIN_STAKE // 16  # the default ETH bounty's fee budget (0.03 ETH) is below the floor
PER_OFFENCE = BOND * 1_000 // 10_000  # the registry's slashBps of the bond
NO_CID = (b"\0" * 32, 0)


def extra_oracles(keyed_account, oracle_registry, n):
    """n more staked oracles (the node has 10 accounts; committees of 5 or 6 need more)."""
    out = []
    for i in range(n):
        account, _ = keyed_account(100 + i)
        to_staking(oracle_registry)
        oracle_registry.stake({"from": account, "value": 2 * MIN_STAKE})
        out.append(account)
    return out


def stake_of(oracle_registry, oracle):
    return oracle_registry.oracleInfo(oracle)[0]


def test_void_drain_voiding_every_batch_pays_nobody_and_costs_a_silent_member_at_most_its_bond(
    market, requester, staked_oracles, oracle_registry, contributors, rando
):
    terms = dict(reward=0, oracleFeePerBatch=0, revealBond=0, batchSize=1, maxBatches=20)
    # the attack's one-second timeout is refused: an honest committee could never report in time
    with reverts_with("InvalidParameter", "scoringTimeout"):
        Round.open(market, requester, staked_oracles[:3], scoringTimeout=1, **terms)
    committee = staked_oracles[:3]
    rnd = Round.open(market, requester, committee, scoringTimeout=600, **terms)
    assert tuple(market.memberBond(rnd.bounty_id)) == (BOND, PER_OFFENCE)
    assert all(oracle_registry.lockedOf(o) == BOND for o in committee)
    before = [stake_of(oracle_registry, o) for o in committee]
    burn_before = market.pendingBurn(ETH)
    attacker = contributors[0]
    voids = 12  # more offences than the bond can pay for (10)
    for batch in range(voids):
        rnd.submit(attacker, batch)
        chain.sleep(601)
        rnd.reveal_queued(batch)  # R11: the committed reports are revealed first
        tx = market.voidBatch(rnd.bounty_id, batch, rnd.records[batch], {"from": attacker})
        assert len(tx.events["OracleSlashed"]) == 3
    # each silent member lost exactly its bond for this bounty, never more, and none of it
    # reached the attacker: its stakes came back, not a wei more; the slashes wait to be burned
    for o, s in zip(committee, before):
        assert stake_of(oracle_registry, o) == s - BOND
        assert oracle_registry.lockedOf(o) == 0
    assert market.claimable(attacker, ETH) == voids * STAKE
    assert market.claimable(requester, ETH) == 0
    assert market.pendingBurn(ETH) == burn_before + 3 * BOND


def test_void_drain_the_timeout_and_the_deadline_have_a_floor_and_a_ceiling(market, requester, staked_oracles):
    committee = staked_oracles[:3]
    for bad in (599, 7 * 86_400 + 1):
        with reverts_with("InvalidParameter", "scoringTimeout"):
            Round.open(market, requester, committee, scoringTimeout=bad)
    with reverts_with("InvalidParameter", "deadline"):
        Round.open(market, requester, committee, deadline=chain.time() + 366 * 86_400)
    for ok in (600, 7 * 86_400):
        Round.open(market, requester, committee, scoringTimeout=ok, deadline=chain.time() + 360 * 86_400)


def test_c2_a_member_leaves_before_close_only_with_no_batch_pending_and_three_members_left(
    market, requester, staked_oracles, oracle_registry, contributors, rando
):
    rnd = Round.open(market, requester, staked_oracles[:4])
    leaver = staked_oracles[3]
    for i in range(4):
        rnd.submit(contributors[0], i)
    with reverts_with("CommitteeBusy", rnd.bounty_id, 0):  # batch 0 is full and undecided
        market.leaveCommittee(rnd.bounty_id, {"from": leaver})
    rnd.score_batch(0, [5_000] * 4, rando)
    locked = oracle_registry.lockedOf(leaver)
    tx = market.leaveCommittee(rnd.bounty_id, {"from": leaver})
    assert tx.events["CommitteeLeft"]["oracle"] == leaver
    assert oracle_registry.lockedOf(leaver) == locked - BOND
    assert market.getCommittee(rnd.bounty_id)["optedInMask"] == 0b0111
    with reverts_with("NotCommitteeMember", rnd.bounty_id, leaver.address):
        market.joinCommittee(rnd.bounty_id, {"from": leaver})
    with reverts_with("CommitteeTooSmall", rnd.bounty_id, 3, 3):
        market.leaveCommittee(rnd.bounty_id, {"from": staked_oracles[2]})
    # the three left decide alone, at once
    rnd.committee = staked_oracles[:3]
    for i in range(4, 8):
        rnd.submit(contributors[0], i)
    tx = rnd.score_batch(1, [5_000] * 4, rando)
    assert tx.events["BatchSettled"]["reports"] == 3


def test_framing_a_deviant_members_slash_is_burned_and_never_reaches_the_batch(
    market, requester, staked_oracles, oracle_registry, contributors, rando
):
    rnd = Round.open(market, requester, staked_oracles[:3])
    a, b = contributors[:2]
    for i, who in enumerate([a, b, a, b]):
        rnd.submit(who, i)
    honest = [5_000, 4_990, 4_980, 4_970]
    rnd.report(staked_oracles[0], 0, honest)
    rnd.report(staked_oracles[1], 0, honest)
    framed = staked_oracles[2]  # e.g. sent a key it could not open: it reports everything invalid
    before = stake_of(oracle_registry, framed)
    burn_before = market.pendingBurn(ETH)
    tx = rnd.final_report(framed, 0, [2**32 - 1] * 4)
    assert [e["oracle"] for e in tx.events["OracleSlashed"]] == [framed]
    assert tx.events["OracleSlashed"][0]["amount"] == PER_OFFENCE
    assert stake_of(oracle_registry, framed) == before - PER_OFFENCE  # its bond's share, not 10% of its stake
    assert market.pendingBurn(ETH) == burn_before + PER_OFFENCE
    assert market.claimable(a, ETH) == 2 * STAKE and market.claimable(b, ETH) == 2 * STAKE


def _committee_of_five(staked_oracles, keyed_account, oracle_registry):
    return list(staked_oracles) + extra_oracles(keyed_account, oracle_registry, 1)


def test_a_minority_decides_two_dishonest_of_five_cannot_move_a_decision_and_three_can(
    market, requester, staked_oracles, keyed_account, oracle_registry, contributors, rando
):
    """Committee 5, quorum 3: SPECIFICATION.md says 2 dishonest members (n - quorum) are
    tolerated. Batch 0: 2 dishonest and 2 honest report, the fifth is late; batch 1: all
    report; batch 2: a third member turns dishonest."""
    committee = _committee_of_five(staked_oracles, keyed_account, oracle_registry)
    rnd = Round.open(market, requester, committee)
    liars, honest = committee[:2], committee[2:]
    genuine = [6_000, 5_000, 5_000, 5_000]  # the head is 5,000: the first is a real improvement
    framed = [3_000, 5_000, 5_000, 5_000]  # the liars want it slashed
    for i in range(4):
        rnd.submit(contributors[i % 2], i)
    for o in liars:
        rnd.report(o, 0, framed)
    for o in honest[:2]:
        rnd.report(o, 0, genuine)
    chain.sleep(3601)
    with reverts_with("BatchNotVoidable", rnd.bounty_id, 0):  # a quorum reported
        rnd.reveal_queued(0)  # R11: the committed reports are revealed first
        market.voidBatch(rnd.bounty_id, 0, rnd.records[0], {"from": rando})
    tx = rnd.settle(0, rando)
    # 2 of the 4 agree with any median: no decision; nobody who reported is slashed, the
    # stakes come back, and only the late member loses an offence for its silence
    assert tx.events["BatchVoided"]["reports"] == 4
    assert "VersionAccepted" not in tx.events and "StakeSlashed" not in tx.events
    assert [e["oracle"] for e in tx.events["OracleSlashed"]] == [honest[2]]
    assert market.claimable(contributors[0], ETH) == 2 * STAKE

    for i in range(4, 8):
        rnd.submit(contributors[i % 2], i)
    for o in liars:
        rnd.report(o, 1, framed)
    for o in honest[:2]:
        rnd.report(o, 1, genuine)
    tx = rnd.final_report(honest[2], 1, genuine)
    assert tx.events["VersionAccepted"]["score"] == 6_000  # the honest decision stands
    assert sorted(e["oracle"] for e in tx.events["OracleSlashed"]) == sorted(o.address for o in liars)

    # one more dishonest member (3 of 5) can move the decision: the boundary is exact
    for i in range(8, 12):
        rnd.submit(contributors[i % 2], i)
    better = [7_000, 6_000, 6_000, 6_000]
    framed = [4_000, 6_000, 6_000, 6_000]
    for o in committee[:3]:
        rnd.report(o, 2, framed)
    rnd.report(committee[3], 2, better)
    tx = rnd.final_report(committee[4], 2, better)
    assert "VersionAccepted" not in tx.events
    assert tx.events["StakeSlashed"][0]["submissionId"] == 8


def test_a_minority_decides_three_reports_of_a_committee_of_six_are_not_a_quorum(
    market, requester, staked_oracles, keyed_account, oracle_registry, contributors, rando
):
    committee = list(staked_oracles) + extra_oracles(keyed_account, oracle_registry, 2)
    rnd = Round.open(market, requester, committee)
    for i in range(4):
        rnd.submit(contributors[0], i)
    for o in committee[:3]:
        rnd.report(o, 0, [9_000, 5_000, 5_000, 5_000])
    chain.sleep(3601)
    with reverts_with("BatchNotReady", rnd.bounty_id, 0, 3, market.getBatch(rnd.bounty_id, 0)["timeoutAt"]):
        rnd.settle(0, rando)
    rnd.reveal_queued(0)  # R11: the committed reports are revealed first
    tx = market.voidBatch(rnd.bounty_id, 0, rnd.records[0], {"from": rando})
    assert tx.events["BatchVoided"]["reports"] == 3


def test_r5_an_even_count_takes_the_midpoint_of_the_two_middle_reports(market, requester, staked_oracles, contributors, rando):
    rnd = Round.open(market, requester, staked_oracles[:4])
    for i in range(4):
        rnd.submit(contributors[0], i)
    scores = [[5_200, 4_990, 4_990, 4_990], [5_200, 4_990, 4_990, 4_990], [5_210, 4_990, 4_990, 4_990], [5_210, 4_990, 4_990, 4_990]]
    for o, s in zip(staked_oracles[:3], scores):
        rnd.report(o, 0, s)
    tx = rnd.final_report(staked_oracles[3], 0, scores[3])
    assert tx.events["VersionAccepted"]["score"] == 5_205  # the lower median said 5,200
    assert "OracleSlashed" not in tx.events  # every report is within the tolerance (5) of it


def test_s2_a_minority_cannot_set_the_baseline(market, requester, staked_oracles, keyed_account, oracle_registry):
    committee = _committee_of_five(staked_oracles, keyed_account, oracle_registry)
    rnd = Round.open(market, requester, committee, baseline=None)
    for o in committee:
        market.joinCommittee(rnd.bounty_id, {"from": o})
    for o in committee[:2]:
        market.reportBaseline(rnd.bounty_id, 0, {"from": o})  # a baseline of 0 pays any update
    market.reportBaseline(rnd.bounty_id, 5_000, {"from": committee[2]})
    chain.sleep(3601)
    with reverts_with("NoMajority", rnd.bounty_id, 2**256 - 1, 2, 3):
        market.settleBaseline(rnd.bounty_id, {"from": committee[0]})
    market.reportBaseline(rnd.bounty_id, 5_001, {"from": committee[3]})
    with reverts_with("NoMajority", rnd.bounty_id, 2**256 - 1, 0, 3):  # the midpoint 2,500 suits nobody
        market.settleBaseline(rnd.bounty_id, {"from": committee[0]})
    tx = market.reportBaseline(rnd.bounty_id, 5_000, {"from": committee[4]})
    assert tx.events["BaselineSet"]["score"] == 5_000  # the honest three agree on it

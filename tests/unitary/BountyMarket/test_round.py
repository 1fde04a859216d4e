"""Rules B1, S1-S2, U1-U2, R4-R8, P1: a bounty round from creation to claims."""

from brownie import chain

from tests.helpers import reverts_with
from tests.market_helpers import INVALID, Round, escrow_total, params, rejected

STAKE = 10**16


def test_b1_an_eth_bounty_escrows_reward_fees_and_bond(market, requester, staked_oracles):
    before = market.balance()
    rnd = Round.open(market, requester, staked_oracles[:3], baseline=None)
    _, p = params(staked_oracles[:3])
    assert market.balance() - before == escrow_total(p)
    b = market.getBounty(rnd.bounty_id)
    assert b["reward"] == p["reward"] and b["requester"] == requester
    assert market.state(rnd.bounty_id) == 1  # AwaitingBaseline


def test_s2_the_median_baseline_opens_the_bounty(market, requester, staked_oracles):
    rnd = Round.open(market, requester, staked_oracles[:3], baseline=None)
    for o in staked_oracles[:3]:
        market.joinCommittee(rnd.bounty_id, {"from": o})
    for o, score in zip(staked_oracles[:3], [5_000, 5_004, 9_999]):
        tx = market.reportBaseline(rnd.bounty_id, score, {"from": o})
    assert tx.events["BaselineSet"]["score"] == 5_004  # one outlier cannot move it; 2 of 3 agree
    assert market.state(rnd.bounty_id) == 2  # Open


def test_u1_no_submission_before_the_baseline(market, requester, staked_oracles, contributor):
    rnd = Round.open(market, requester, staked_oracles[:3], baseline=None)
    with reverts_with("BountyNotInState", rnd.bounty_id, 1, 2):
        rnd.submit(contributor, 1)


def test_r5_best_improvement_is_accepted_rejected_returned_worse_slashed(market, requester, staked_oracles, contributors, rando):
    rnd = Round.open(market, requester, staked_oracles[:3])
    a, b, c = contributors
    rnd.submit(a, 1)  # improves to 7000
    rnd.submit(b, 2)  # improves less: 6000 -> rejected (only the best is accepted)
    rnd.submit(c, 3)  # much worse: slashed
    rnd.submit(a, 4)  # invalid: slashed
    tx = rnd.score_batch(0, [7_000, 6_000, 4_000, INVALID], rando)
    ev = tx.events["VersionAccepted"]
    assert ev["version"] == 1 and ev["author"] == a and ev["score"] == 7_000 and ev["parent"] == 0
    # linear curve: p = (7000 - 5000) / (9000 - 5000) = 0.5 of the 1 ETH reward
    assert ev["reward"] == 10**18 // 2
    assert [(e["contributor"], e["score"]) for e in rejected(tx, rnd)] == [(b, 6_000)]
    slashed = tx.events["StakeSlashed"]
    assert [e["contributor"] for e in slashed] == [c, a]
    assert all(e["burned"] == STAKE // 2 and e["returned"] == STAKE // 2 for e in slashed)
    assert slashed[1]["score"] == INVALID
    assert market.claimable(a, "0x" + "00" * 20) == STAKE + 10**18 // 2 + STAKE // 2
    assert market.claimable(b, "0x" + "00" * 20) == STAKE
    assert market.pendingBurn("0x" + "00" * 20) == STAKE  # two half stakes
    view = market.getBounty(rnd.bounty_id)
    assert view["headScore"] == 7_000 and view["versionCount"] == 1 and view["paid"] == 10**18 // 2


def test_p1_claims_pay_out_once(market, requester, staked_oracles, contributors, rando):
    rnd = Round.open(market, requester, staked_oracles[:3])
    a = contributors[0]
    for i in range(4):
        rnd.submit(a, i)
    rnd.score_batch(0, [6_000, 5_000, 5_000, 5_000], rando)
    owed = market.claimable(a, "0x" + "00" * 20)
    before = a.balance()
    tx = market.claim("0x" + "00" * 20, {"from": a})
    assert a.balance() - before == owed - tx.gas_used * tx.gas_price
    with reverts_with("NothingToClaim"):
        market.claim("0x" + "00" * 20, {"from": a})


def test_r4_a_partial_batch_waits_for_the_deadline(market, requester, staked_oracles, contributors, rando):
    rnd = Round.open(market, requester, staked_oracles[:3])
    rnd.submit(contributors[0], 1)
    with reverts_with("BatchNotReportable", rnd.bounty_id, 0):
        rnd.report(staked_oracles[0], 0, [6_000])
    chain.sleep(market.getBounty(rnd.bounty_id)["deadline"] - chain.time() + 1)  # R11: its timeout runs from here
    chain.mine()
    rnd.score_batch(0, [6_000], rando)
    assert market.getBounty(rnd.bounty_id)["versionCount"] == 1

"""Issue 15.3 on chain: a top-up funds progress still to come (rule R6)."""

from tests.market_helpers import ETH, Round, WAD

STAKE = 10**16


def test_topup_windfall_a_top_up_funds_progress_still_to_come_not_the_next_accepted_update(
    market, requester, staked_oracles, contributors, rando
):
    rnd = Round.open(market, requester, staked_oracles[:3], reward=WAD, batchSize=1, target=9_000)  # baseline 5,000
    a, b = contributors[:2]
    rnd.submit(a, 1)
    tx = rnd.score_batch(0, [7_000], rando)  # half way: half of the curve
    assert tx.events["VersionAccepted"]["reward"] == WAD // 2
    market.topUp(rnd.bounty_id, 99 * WAD, {"from": rando, "value": 99 * WAD})
    rnd.submit(b, 2, base=1)
    tx = rnd.score_batch(1, [7_001], rando)  # one score unit better
    # R * (c(p_new) - c(p_old)): 100 ETH * 1/4000 of the curve, not R * c(p_new) - paid (49.5 ETH)
    assert tx.events["VersionAccepted"]["reward"] == 100 * WAD // 4_000
    # the rest of the curve is still funded at the new R: reaching the target pays the remaining half
    rnd.submit(a, 3, base=2)
    tx = rnd.score_batch(2, [9_000], rando)
    assert tx.events["VersionAccepted"]["reward"] == 100 * WAD * 1_999 // 4_000
    assert market.getBounty(rnd.bounty_id)["paid"] <= market.getBounty(rnd.bounty_id)["reward"]
    assert market.claimable(b, ETH) == STAKE + 100 * WAD // 4_000

"""Rules B2-B5, E1-E4, A1-A2: funding, cancel, close, reveal, bond forfeit, pause."""

from brownie import chain

from tests.helpers import reverts_with
from tests.market_helpers import ETH, SALT, VALIDATION_CID, VALIDATION_KEY, Round, escrow_total, params

STAKE = 10**16


def test_e1_e2_a_cancel_waits_for_pending_batches_then_close_refunds_the_unearned(market, requester, staked_oracles, contributors, rando):
    rnd = Round.open(market, requester, staked_oracles[:3])
    rnd.submit(contributors[0], 1)
    market.cancel(rnd.bounty_id, {"from": requester})
    assert market.state(rnd.bounty_id) == 3  # Settling
    with reverts_with("BatchesPending", rnd.bounty_id, 0, 1):
        market.close(rnd.bounty_id, {"from": rando})
    rnd.score_batch(0, [7_000], rando)  # the partial batch closed with the cancel
    tx = market.close(rnd.bounty_id, {"from": rando})
    ev = tx.events["BountyClosed"]
    assert ev["rewardRefund"] == 10**18 - 10**18 // 2  # half was earned and stays claimable
    assert ev["feeRefund"] == 3 * 10**15 * 9  # one batch of ten paid
    assert market.claimable(requester, ETH) == ev["rewardRefund"] + ev["feeRefund"]
    assert market.claimable(contributors[0], ETH) == STAKE + 10**18 // 2


def test_e1_only_the_requester_cancels(market, requester, staked_oracles, rando):
    rnd = Round.open(market, requester, staked_oracles[:3])
    with reverts_with("NotRequester", rnd.bounty_id, rando.address):
        market.cancel(rnd.bounty_id, {"from": rando})


def test_e3_reveal_checks_the_commitment_and_returns_the_bond(market, requester, staked_oracles, rando):
    rnd = Round.open(market, requester, staked_oracles[:3])
    market.cancel(rnd.bounty_id, {"from": requester})
    with reverts_with("CommitmentMismatch", rnd.bounty_id):
        market.reveal(rnd.bounty_id, VALIDATION_CID, b"\x99" * 32, SALT, b"\x33" * 32, {"from": requester})
    tx = market.reveal(rnd.bounty_id, VALIDATION_CID, VALIDATION_KEY, SALT, b"\x33" * 32, {"from": requester})
    assert tx.events["ValidationRevealed"]["validationKey"] == "0x" + VALIDATION_KEY.hex()
    assert market.state(rnd.bounty_id) == 5  # Revealed
    _, p = params(staked_oracles[:3])
    assert market.claimable(requester, ETH) == escrow_total(p)  # nothing earned: all back, bond included


def test_e4_an_unrevealed_bond_goes_to_accepted_authors(market, requester, staked_oracles, contributors, rando):
    rnd = Round.open(market, requester, staked_oracles[:3])
    for i in range(4):
        rnd.submit(contributors[0], i)
    rnd.score_batch(0, [6_000, 5_000, 5_000, 5_000], rando)
    market.cancel(rnd.bounty_id, {"from": requester})
    market.close(rnd.bounty_id, {"from": rando})
    with reverts_with("RevealWindowOpen"):
        market.forfeitBond(rnd.bounty_id, {"from": rando})
    chain.sleep(86400 + 1)
    market.forfeitBond(rnd.bounty_id, {"from": rando})
    before = market.claimable(contributors[0], ETH)
    market.claimBondShare(rnd.bounty_id, 1, {"from": rando})
    assert market.claimable(contributors[0], ETH) - before == 10**16
    with reverts_with("NoBondShare", rnd.bounty_id, 1):
        market.claimBondShare(rnd.bounty_id, 1, {"from": rando})


def test_b2_an_erc20_bounty_credits_what_arrived(market, requester, staked_oracles, FeeOnTransferToken, deployer):
    fee_token = FeeOnTransferToken.deploy({"from": deployer})
    fee_token.mint(requester, 10**21, {"from": deployer})
    tup, p = params(staked_oracles[:3], fee_token.address)
    total = escrow_total(p)
    fee_token.approve(market, total, {"from": requester})
    tx = market.createBounty(tup, {"from": requester})
    arrived = total - total // 100
    assert fee_token.balanceOf(market) == arrived
    assert tx.events["BountyOpened"]["reward"] == arrived - (total - p["reward"])


def test_b3_a_committee_must_be_eligible_and_exclude_the_requester(market, requester, staked_oracles, rando):
    tup, p = params([staked_oracles[0], staked_oracles[1], requester])
    with reverts_with("CommitteeMemberInvalid", requester.address):
        market.createBounty(tup, {"from": requester, "value": escrow_total(p)})
    tup, p = params([staked_oracles[0], staked_oracles[1], rando])
    with reverts_with("CommitteeMemberInvalid", rando.address):
        market.createBounty(tup, {"from": requester, "value": escrow_total(p)})
    tup, p = params(staked_oracles[:2])
    with reverts_with("InvalidParameter", "committee"):
        market.createBounty(tup, {"from": requester, "value": escrow_total(p)})


def test_b4_a_single_trusted_oracle_decides_alone(market, requester, staked_oracles, contributors, rando):
    rnd = Round.open(market, requester, staked_oracles[:1], trustSingleOracle=True)
    rnd.submit(contributors[0], 1)
    chain.sleep(market.getBounty(rnd.bounty_id)["deadline"] - chain.time() + 1)  # R11: its timeout runs from here
    tx = rnd.score_batch(0, [8_000], rando)
    assert tx.events["VersionAccepted"]["score"] == 8_000


def test_b4_reward_curve_must_run_from_zero_to_one(market, requester, staked_oracles):
    tup, p = params(staked_oracles[:3], curveX=[0, 5 * 10**17], curveY=[0, 10**18])
    with reverts_with("InvalidCurve", 1):
        market.createBounty(tup, {"from": requester, "value": escrow_total(p)})
    tup, p = params(staked_oracles[:3], curveX=[0, 5 * 10**17, 10**18], curveY=[0, 6 * 10**17, 5 * 10**17])
    with reverts_with("InvalidCurve", 2):
        market.createBounty(tup, {"from": requester, "value": escrow_total(p)})


def test_b5_anyone_tops_up_an_open_bounty(market, requester, staked_oracles, rando):
    rnd = Round.open(market, requester, staked_oracles[:3])
    tx = market.topUp(rnd.bounty_id, 5 * 10**17, {"from": rando, "value": 5 * 10**17})
    assert tx.events["BountyFunded"]["reward"] == 15 * 10**17


def test_a2_the_guardian_pauses_new_work_but_never_claims(market, requester, staked_oracles, contributors, deployer, rando):
    rnd = Round.open(market, requester, staked_oracles[:3])
    for i in range(4):
        rnd.submit(contributors[0], i)
    with reverts_with("NotGuardian", rando.address):
        market.pause({"from": rando})
    market.pause({"from": deployer})
    with reverts_with("EnforcedPause"):
        rnd.submit(contributors[0], 9)
    rnd.score_batch(0, [5_000] * 4, rando)  # settlement goes on
    market.claim(ETH, {"from": contributors[0]})  # and claims
    market.unpause({"from": deployer})
    rnd.submit(contributors[0], 10)


def test_a1_ownership_moves_in_two_steps(market, deployer, rando):
    market.transferOwnership(rando, {"from": deployer})
    assert market.owner() == deployer
    market.acceptOwnership({"from": rando})
    assert market.owner() == rando
    market.setGuardian(rando, {"from": rando})
    assert market.guardian() == rando

"""Rules U6 and P3: one-off submissions, paid through a Merkle root per group of 32."""

import brownie
from brownie import chain

from fathom.protocol.payouts import ONE_OFF, GroupTree, leaf, position
from tests.helpers import reverts_with
from tests.market_helpers import ETH, Round, cid, params

STAKE = 10**16


def tree_of(owed: dict[int, tuple]) -> GroupTree:
    """{index in the group: (account, amount, token)} -> the group's tree."""
    return GroupTree.of({i: leaf(str(a), amount, str(t)) for i, (a, amount, t) in owed.items()})


def second_is_one_off(market, requester, staked_oracles, contributors):
    """An ETH round whose batch of 4 holds b's ordinary submissions and a's one-off one, second."""
    rnd = Round.open(market, requester, staked_oracles[:3])
    a, b = contributors[:2]
    rnd.submit(b, 1)
    rnd.submit(a, 2, once=True)
    rnd.submit(b, 3)
    rnd.submit(b, 4)
    return rnd, a, b


def fee(tx) -> int:
    return tx.gas_used * tx.gas_price


def stored_root(market, rnd, batch, group=0) -> bytes:
    root, _ = market.payoutRoot(rnd.bounty_id, batch, group)
    return bytes(root)


def test_u6_a_one_off_stake_is_flagged_in_its_record_and_not_credited_to_a_balance(market, requester, staked_oracles, contributors, rando):
    rnd = Round.open(market, requester, staked_oracles[:3])
    a, b = contributors[:2]
    tx = rnd.submit(a, 1, once=True)
    assert tx.events["SubmissionReceived"]["stake"] == STAKE | ONE_OFF
    for i in range(2, 5):
        rnd.submit(b, i)
    rnd.score_batch(0, [4_990] * 4, rando)  # every one rejected: stakes back
    assert market.claimable(a, ETH) == 0
    assert market.claimable(b, ETH) == 3 * STAKE
    tree = tree_of({0: (a, STAKE, ETH)})
    assert stored_root(market, rnd, 0) == tree.root
    assert market.payoutRoot(rnd.bounty_id, 0, 1)[0] == "0x" + "00" * 32  # no group 1 in a batch of 4


def test_p3_a_one_off_payout_is_claimed_once_by_its_contributor(market, requester, staked_oracles, contributors, rando):
    rnd, a, b = second_is_one_off(market, requester, staked_oracles, contributors)
    rnd.score_batch(0, [4_990] * 4, rando)
    tree = tree_of({1: (a, STAKE, ETH)})
    proof = tree.proof(1)
    where = position(0, 1)
    # someone else, a wrong amount or a wrong position cannot use the proof
    with reverts_with("InvalidPayoutProof", rnd.bounty_id, where):
        market.claimPayout(ETH, rnd.bounty_id, where, STAKE, proof, {"from": b})
    with reverts_with("InvalidPayoutProof", rnd.bounty_id, where):
        market.claimPayout(ETH, rnd.bounty_id, where, STAKE + 1, proof, {"from": a})
    with reverts_with("InvalidPayoutProof", rnd.bounty_id, position(0, 2)):
        market.claimPayout(ETH, rnd.bounty_id, position(0, 2), STAKE, proof, {"from": a})
    before = a.balance()
    tx = market.claimPayout(ETH, rnd.bounty_id, where, STAKE, proof, {"from": a})
    assert a.balance() == before + STAKE - fee(tx)
    ev = tx.events["PayoutClaimed"]
    assert (ev["account"], ev["bountyId"], ev["position"], ev["amount"]) == (a, rnd.bounty_id, where, STAKE)
    assert market.payoutRoot(rnd.bounty_id, 0, 0)[1] == 1 << 1
    with reverts_with("PayoutAlreadyClaimed", rnd.bounty_id, where):
        market.claimPayout(ETH, rnd.bounty_id, where, STAKE, proof, {"from": a})


def test_p3_a_slashed_one_off_payout_is_what_is_left_of_its_token_stake(market, requester, staked_oracles, contributors, token, rando):
    rnd = Round.open(market, requester, staked_oracles[:3], token=token)
    a, b = contributors[:2]
    rnd.submit(a, 1, token=token, once=True)
    for i in range(2, 5):
        rnd.submit(b, i, token=token, once=True)
    tx = rnd.score_batch(0, [4_000, 4_990, 4_990, 4_990], rando)  # a is 1,000 below the head: slashed
    slashed = tx.events["StakeSlashed"][0]
    assert slashed["contributor"] == a
    rest = STAKE - STAKE * 5_000 // 10_000
    assert slashed["returned"] == rest
    tree = tree_of({0: (a, rest, token), 1: (b, STAKE, token), 2: (b, STAKE, token), 3: (b, STAKE, token)})
    assert stored_root(market, rnd, 0) == tree.root
    before = token.balanceOf(a)
    market.claimPayout(token, rnd.bounty_id, position(0, 0), rest, tree.proof(0), {"from": a})
    assert token.balanceOf(a) == before + rest
    # b's three payouts are three leaves, each claimed on its own
    for i in (1, 2, 3):
        market.claimPayout(token, rnd.bounty_id, position(0, i), STAKE, tree.proof(i), {"from": b})
    assert market.payoutRoot(rnd.bounty_id, 0, 0)[1] == 0b1111
    assert market.claimable(b, token) == 0


def test_p3_the_accepted_one_off_author_is_paid_stake_and_reward_through_the_root(market, requester, staked_oracles, contributors, rando):
    rnd, a, b = second_is_one_off(market, requester, staked_oracles, contributors)
    tx = rnd.score_batch(0, [4_990, 6_000, 4_990, 4_990], rando)
    accepted = tx.events["VersionAccepted"]
    assert accepted["author"] == a and accepted["reward"] > 0
    owed = STAKE + accepted["reward"]
    assert market.claimable(a, ETH) == 0
    tree = tree_of({1: (a, owed, ETH)})
    assert stored_root(market, rnd, 0) == tree.root
    before = a.balance()
    tx = market.claimPayout(ETH, rnd.bounty_id, position(0, 1), owed, tree.proof(1), {"from": a})
    assert a.balance() == before + owed - fee(tx)


def test_p3_groups_of_32_each_have_their_own_root(market, requester, staked_oracles, contributors, rando):
    rnd = Round.open(market, requester, staked_oracles[:3], batchSize=40, maxBatches=2)
    a, b = contributors[:2]
    for i in range(40):
        rnd.submit(a if i in (3, 35) else b, i, once=i in (3, 35))
    rnd.score_batch(0, [4_990] * 40, rando)
    assert stored_root(market, rnd, 0, 0) == tree_of({3: (a, STAKE, ETH)}).root
    second = tree_of({35 - 32: (a, STAKE, ETH)})
    assert stored_root(market, rnd, 0, 1) == second.root
    before = a.balance()
    tx = market.claimPayout(ETH, rnd.bounty_id, position(0, 35), STAKE, second.proof(3), {"from": a})
    assert a.balance() == before + STAKE - fee(tx)
    assert market.payoutRoot(rnd.bounty_id, 0, 1)[1] == 1 << 3
    assert market.payoutRoot(rnd.bounty_id, 0, 0)[1] == 0
    with reverts_with("InvalidParameter", "group"):
        market.payoutRoot(rnd.bounty_id, 0, 8)


def test_u6_a_void_batch_returns_a_one_off_stake_to_the_claimable_balance(market, requester, staked_oracles, contributors, rando):
    rnd = Round.open(market, requester, staked_oracles[:3])
    a, b = contributors[:2]
    rnd.submit(a, 1, once=True)
    for i in range(2, 5):
        rnd.submit(b, i)
    rnd.report(staked_oracles[0], 0, [6_000] * 4)
    chain.sleep(3601)
    rnd.reveal_queued(0)  # R11: the committed reports are revealed first
    market.voidBatch(rnd.bounty_id, 0, rnd.records[0], {"from": rando})
    assert market.claimable(b, ETH) == 3 * STAKE  # the silent members' slashes are burned, not shared
    assert market.claimable(a, ETH) == STAKE  # the ONE_OFF bit is not paid out
    assert stored_root(market, rnd, 0) == b"\0" * 32


def test_u6_a_stake_must_leave_bit_95_free(market, requester, staked_oracles):
    tup, _ = params(staked_oracles[:3], stake=ONE_OFF)
    with reverts_with("InvalidParameter", "stake"):
        market.createBounty(tup, {"from": requester, "value": 10**18})


def test_p3_payout_claims_are_never_paused(market, requester, staked_oracles, contributors, deployer, rando):
    rnd = Round.open(market, requester, staked_oracles[:3])
    a = contributors[0]
    for i in range(4):
        rnd.submit(a, i, once=True)
    rnd.score_batch(0, [4_990] * 4, rando)
    market.pause({"from": deployer})
    with brownie.reverts():
        rnd.submit(a, 9, once=True)
    tree = tree_of({i: (a, STAKE, ETH) for i in range(4)})
    market.claimPayout(ETH, rnd.bounty_id, position(0, 2), STAKE, tree.proof(2), {"from": a})
    assert market.payoutRoot(rnd.bounty_id, 0, 0)[1] == 1 << 2

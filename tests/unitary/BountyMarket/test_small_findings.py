"""Issue 15's smaller findings (rules A1, P3, and the getters' promise that nothing reverts
for what exists)."""

from fathom.protocol.payouts import GroupTree, leaf, position
from tests.helpers import reverts_with
from tests.market_helpers import ETH, Round

STAKE = 10**16


def test_a1_renouncing_ownership_is_refused_so_the_guardian_can_always_be_set(market, deployer, rando):
    with reverts_with("OwnershipCannotBeRenounced"):
        market.renounceOwnership({"from": deployer})
    assert market.owner() == deployer
    market.setGuardian(rando, {"from": deployer})  # the owner still can do its one job
    assert market.guardian() == rando


def test_p3_a_blocklisted_one_off_contributor_claims_its_payout_to_another_address(market, requester, staked_oracles, contributors, rando):
    rnd = Round.open(market, requester, staked_oracles[:3])
    a, b = contributors[:2]
    rnd.submit(a, 1, once=True)
    for i in range(2, 5):
        rnd.submit(b, i)
    rnd.score_batch(0, [4_990] * 4, rando)
    proof = GroupTree.of({0: leaf(str(a), STAKE, ETH)}).proof(0)
    where = position(0, 0)
    with reverts_with("InvalidParameter", "to"):
        market.claimPayoutTo(ETH, "0x" + "00" * 20, rnd.bounty_id, where, STAKE, proof, {"from": a})
    # only the leaf's owner can send it elsewhere
    with reverts_with("InvalidPayoutProof", rnd.bounty_id, where):
        market.claimPayoutTo(ETH, b, rnd.bounty_id, where, STAKE, proof, {"from": b})
    before_a, before_r = a.balance(), rando.balance()
    tx = market.claimPayoutTo(ETH, rando, rnd.bounty_id, where, STAKE, proof, {"from": a})
    assert rando.balance() == before_r + STAKE
    assert a.balance() == before_a - tx.gas_used * tx.gas_price
    ev = tx.events["PayoutClaimed"]
    assert (ev["account"], ev["position"], ev["amount"]) == (a, where, STAKE)
    with reverts_with("PayoutAlreadyClaimed", rnd.bounty_id, where):
        market.claimPayout(ETH, rnd.bounty_id, where, STAKE, proof, {"from": a})


def test_getbatch_does_not_overflow_for_a_huge_index_of_an_existing_bounty(market, requester, staked_oracles, contributor):
    rnd = Round.open(market, requester, staked_oracles[:3])
    rnd.submit(contributor, 1)
    for batch in (2**32, 2**255, 2**256 - 1):
        got = market.getBatch(rnd.bounty_id, batch)
        assert got["submissions"] == 0 and not got["decided"] and got["timeoutAt"] == 0
        assert got["recordsHash"] == "0x" + "00" * 32


def test_the_extension_called_directly_refuses_what_pays_so_no_eth_is_stranded_there(market, requester, staked_oracles):
    from brownie import Contract, interface

    from tests.market_helpers import escrow_total, params

    ext = Contract.from_abi("Ext", market.extension(), interface.IBountyMarket.abi)
    tup, p = params(staked_oracles[:3])
    with reverts_with("UnexpectedEth", requester.address):
        ext.createBounty(tup, {"from": requester, "value": escrow_total(p)})
    with reverts_with("UnexpectedEth", requester.address):
        ext.topUp(1, 1, {"from": requester, "value": 1})

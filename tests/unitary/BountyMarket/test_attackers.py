"""Attacker contracts and hostile participants against the market (SECURITY.md): reentrancy
into claims and refunds, receivers that revert, spam, copied CIDs, insider copies, misplaced
reports, a requester reaching for earned rewards, and a forfeited bond. After each money-moving
step the market's ETH balance equals what its views say it owes (`eth_owed`)."""

import pytest
from brownie import chain

from tests.helpers import reverts_with, to_staking
from tests.market_helpers import (
    ETH, INVALID, SALT, VALIDATION_CID, VALIDATION_KEY, ZERO_CID, ActorRound, Round, arm, attempts, cid, encode_scores,
    err, eth_owed, pack_records, rejected, send,
)

STAKE = 10**16
REWARD = 10**18
FEE = 3 * 10**15
BOND = 10**16
CLOSED, REVEALED = 4, 5  # BountyState


@pytest.fixture
def actor(AttackerActor, deployer):
    """Makes a fresh attacker contract, owned by the deployer."""
    return lambda: AttackerActor.deploy({"from": deployer})


@pytest.fixture
def holders(accounts):
    """Every address that may hold a balance in these tests (attacker contracts are added)."""
    return list(accounts)


# ------------------------------------------------------------------ reentrancy


def test_p1_a_contributor_reentering_claim_is_paid_once(
    market, requester, staked_oracles, token, actor, holders, rando, deployer
):
    attacker = actor()
    holders.append(attacker)
    rnd = ActorRound.open(market, requester, staked_oracles[:3])
    for i in range(4):
        rnd.submit(attacker, i)
    rnd.score_batch(0, [6_000, 5_000, 5_000, INVALID], rando)
    owed = STAKE + REWARD // 4 + 2 * STAKE + STAKE // 2  # accepted, two rejected, one slashed
    assert market.claimable(attacker, ETH) == owed
    # a balance in another token too: a rejected ERC-20 stake
    trnd = Round.open(market, requester, staked_oracles[:3], token=token, batchSize=1)
    token.mint(attacker, STAKE, {"from": deployer})
    send(token.approve, attacker, market, STAKE)
    send(market.submitUpdate, attacker, trnd.bounty_id, 0, cid(50))
    trnd.records[0] = [(attacker.address, STAKE, 0, cid(50))]
    trnd.score_batch(0, [5_000], rando)
    assert market.claimable(attacker, token) == STAKE and token.balanceOf(attacker) == 0

    arm(attacker, market.claim, ETH)
    arm(attacker, market.claimTo, ETH, rando)  # to another account
    arm(attacker, market.submitUpdateFromBalance, rnd.bounty_id, 0, cid(60))  # spend it again
    arm(attacker, market.claim, token)  # another token: its own balance, once
    market_before, rando_before = market.balance(), rando.balance()
    send(market.claim, attacker, ETH)

    assert attacker.receipts() == 1 and attacker.received() == owed == attacker.balance()
    assert market_before - market.balance() == owed and rando.balance() == rando_before
    nothing = err("NothingToClaim(address,address)", attacker.address, ETH)
    assert attempts(attacker) == [
        (False, nothing),
        (False, nothing),
        (False, err("InsufficientClaimable(address,address,uint256,uint256)", attacker.address, ETH, 0, STAKE)),
        (True, b""),
    ]
    assert token.balanceOf(attacker) == STAKE and market.claimable(attacker, token) == 0
    assert market.claimable(attacker, ETH) == 0 and market.getBounty(rnd.bounty_id)["submissionCount"] == 4
    assert market.balance() == eth_owed(market, holders)
    for t in (ETH, token):
        with reverts_with("NothingToClaim", attacker.address, t):
            send(market.claim, attacker, t)


def test_e2_e3_a_requester_reentering_on_its_refund_and_bond_return_is_paid_once(
    market, requester, staked_oracles, contributors, actor, holders, rando
):
    """Refunds and the bond are credited, then pulled: a requester contract re-entering from
    the payment finds them spent. It also cannot take back the reward its contributor earned."""
    attacker = actor()
    holders.append(attacker)
    a = contributors[0]
    rnd = ActorRound.open(market, attacker, staked_oracles[:3])
    bid = rnd.bounty_id
    for i in range(4):
        rnd.submit(a, i)
    rnd.score_batch(0, [7_000, 5_000, 5_000, 5_000], rando)
    assert market.balance() == eth_owed(market, holders)
    send(market.cancel, attacker, bid)
    tx = market.close(bid, {"from": rando})
    refund = REWARD - REWARD // 2 + 9 * FEE  # the unearned half and nine unused batch fees
    assert tx.events["BountyClosed"]["rewardRefund"] + tx.events["BountyClosed"]["feeRefund"] == refund
    assert market.claimable(attacker, ETH) == refund
    assert market.claimable(a, ETH) == 4 * STAKE + REWARD // 2  # earned, and stays so
    assert market.balance() == eth_owed(market, holders)

    closes_at = market.getBounty(bid)["closedAt"] + 86400
    arm(attacker, market.claim, ETH)
    arm(attacker, market.close, bid)
    arm(attacker, market.cancel, bid)
    arm(attacker, market.forfeitBond, bid)
    before = market.balance()
    send(market.claim, attacker, ETH)
    assert attacker.balance() == refund == before - market.balance()
    assert attempts(attacker) == [
        (False, err("NothingToClaim(address,address)", attacker.address, ETH)),
        (False, err("BountyNotInState(uint256,uint8,uint8)", bid, CLOSED, 3)),
        (False, err("BountyNotInState(uint256,uint8,uint8)", bid, CLOSED, 2)),
        (False, err("RevealWindowOpen(uint256,uint256)", bid, closes_at)),
    ]
    assert market.balance() == eth_owed(market, holders)

    send(market.reveal, attacker, bid, VALIDATION_CID, VALIDATION_KEY, SALT, b"\x33" * 32)
    assert market.claimable(attacker, ETH) == BOND
    arm(attacker, market.claim, ETH)
    arm(attacker, market.reveal, bid, VALIDATION_CID, VALIDATION_KEY, SALT, b"\x33" * 32)
    arm(attacker, market.forfeitBond, bid)
    send(market.claim, attacker, ETH)
    assert attacker.balance() == refund + BOND and attacker.receipts() == 2
    assert attempts(attacker)[4:] == [
        (False, err("NothingToClaim(address,address)", attacker.address, ETH)),
        (False, err("BountyNotInState(uint256,uint8,uint8)", bid, REVEALED, CLOSED)),
        (False, err("BountyNotInState(uint256,uint8,uint8)", bid, REVEALED, CLOSED)),
    ]
    assert market.claimable(a, ETH) == 4 * STAKE + REWARD // 2
    assert market.balance() == eth_owed(market, holders)
    market.claim(ETH, {"from": a})
    assert market.balance() == eth_owed(market, holders)


# ----------------------------------------------------------- reverting receivers


def test_p1_a_receiver_that_reverts_blocks_only_itself_and_its_money_stays_claimable(
    market, requester, staked_oracles, contributors, oracle_registry, actor, holders, rando
):
    rc, ro = actor(), actor()  # a contributor and a committee member that refuse ETH
    holders += [rc, ro]
    to_staking(oracle_registry)
    send(oracle_registry.stake, ro, value=2 * 10**18)
    for x in (rc, ro):
        x.refuse(True, {"from": x.owner()})
    c = contributors[1]
    o0, o1 = staked_oracles[:2]
    rnd = ActorRound.open(market, requester, [ro, o0, o1])
    for i, who in enumerate([rc, c, rc, c]):
        rnd.submit(who, i)
    for o in (ro, o0):
        rnd.report(o, 0, [7_000, 6_000, 5_000, INVALID])
    tx = rnd.final_report(o1, 0, [7_000, 6_000, 5_000, INVALID])  # settlement goes through
    assert tx.events["VersionAccepted"]["author"] == rc
    assert market.balance() == eth_owed(market, holders)
    # the refusing member stays silent on batch 1: the batch is voided and it is slashed
    for i, who in enumerate([rc, c, rc, c]):
        rnd.submit(who, 4 + i)
    rnd.report(o0, 1, [5_000] * 4)  # one report of three is not a quorum (two are)
    chain.sleep(3601)
    per_offence = market.memberBond(rnd.bounty_id)[1]  # C3: one offence of its bond, burned
    rnd.reveal_queued(1)  # R11: the committed reports are revealed first
    tx = market.voidBatch(rnd.bounty_id, 1, rnd.records[1], {"from": rando})
    assert [(e["oracle"], e["amount"]) for e in tx.events["OracleSlashed"]] == [(ro.address, per_offence), (o1.address, per_offence)]
    market.cancel(rnd.bounty_id, {"from": requester})
    market.close(rnd.bounty_id, {"from": rando})
    assert market.balance() == eth_owed(market, holders)

    owed_rc = STAKE + REWARD // 2 + STAKE + 2 * STAKE  # nothing from the slashes: burned
    owed_ro = FEE // 3
    with reverts_with("EthTransferFailed", rc.address, owed_rc):
        send(market.claim, rc, ETH)
    with reverts_with("EthTransferFailed", ro.address, owed_ro):
        send(market.claim, ro, ETH)
    owed = {c: STAKE + STAKE // 2 + 2 * STAKE, o0: FEE // 3, o1: FEE // 3,
            requester: REWARD // 2 + 9 * FEE}
    for who, amount in owed.items():  # everyone else is paid
        tx = market.claim(ETH, {"from": who})
        assert tx.events["Claimed"]["amount"] == amount
    assert market.claimable(rc, ETH) == owed_rc and market.claimable(ro, ETH) == owed_ro
    assert market.balance() == eth_owed(market, holders) == owed_rc + owed_ro + BOND + market.pendingBurn(ETH)
    # its money is still there: to another address, or to itself once it accepts ETH
    before = rando.balance()
    send(market.claimTo, rc, ETH, rando)
    assert rando.balance() - before == owed_rc
    ro.refuse(False, {"from": ro.owner()})
    send(market.claim, ro, ETH)
    assert ro.balance() == owed_ro
    assert market.balance() == eth_owed(market, holders) == BOND + market.pendingBurn(ETH)


# ------------------------------------------------------------------------ spam


def test_u2_u3_spam_from_one_account_pays_full_stakes_is_slashed_and_does_not_slow_later_batches(
    market, requester, staked_oracles, contributors, holders, rando
):
    honest, spammer = contributors[0], contributors[2]
    rnd = Round.open(market, requester, staked_oracles[:3], maxBatches=10)
    for dust in (0, 1, STAKE - 1):
        with reverts_with("WrongPayment", STAKE, dust):
            rnd.submit(spammer, 9_999, value=dust)
    spam_batches = 6
    submit_gas = []
    before = market.balance()
    for i in range(4 * spam_batches):  # one account fills six batches
        tx = rnd.submit(spammer, 1_000 + i)
        assert tx.events["SubmissionReceived"]["stake"] == STAKE
        submit_gas.append(tx.gas_used)
    assert market.balance() - before == 4 * spam_batches * STAKE
    rnd.submit(honest, 1)
    for i in range(3):
        rnd.submit(spammer, 2_000 + i)
    assert market.getBounty(rnd.bounty_id)["submissionCount"] == 4 * spam_batches + 4
    # the k-th submission of batch 1 and of the last spam batch cost the same, up to the
    # calldata cost of the CIDs' zero bytes
    last = 4 * (spam_batches - 1)
    assert all(abs(x - y) <= 100 for x, y in zip(submit_gas[last:last + 4], submit_gas[4:8])), submit_gas

    settle_gas = []
    for b in range(spam_batches):
        chain.sleep(60)  # each settlement in a later second: its time stamp always changes a word
        tx = rnd.score_batch(b, [INVALID] * 4, rando)
        assert len(tx.events["StakeSlashed"]) == 4 and "VersionAccepted" not in tx.events
        settle_gas.append(tx.gas_used)
        assert market.balance() == eth_owed(market, holders)
    tx = rnd.score_batch(spam_batches, [6_000, INVALID, INVALID, INVALID], rando)
    assert tx.events["VersionAccepted"]["author"] == honest and tx.events["VersionAccepted"]["reward"] == REWARD // 4
    # settling the sixth spam batch costs what settling the second did; the first pays once
    # for creating the spammer's balance and the pending burn (two fresh storage slots)
    assert abs(settle_gas[-1] - settle_gas[1]) <= 200, settle_gas
    assert 0 < settle_gas[0] - settle_gas[1] <= 2 * 20_000, settle_gas
    spam = 4 * spam_batches + 3
    assert market.claimable(spammer, ETH) == spam * (STAKE // 2)
    assert market.pendingBurn(ETH) == spam * (STAKE // 2)
    assert market.claimable(honest, ETH) == STAKE + REWARD // 4
    assert market.balance() == eth_owed(market, holders)


# ------------------------------------------------------------------- copies


def test_f4_a_copied_cid_is_slashed_and_the_original_is_paid_in_full_even_when_the_copy_comes_first(
    market, requester, staked_oracles, contributors, holders, rando
):
    """The market takes a CID twice (it cannot read envelopes); the oracles score the copy
    INVALID (its authenticated author is not its submitter, F2/F4)."""
    original, copier, other = contributors
    rnd = Round.open(market, requester, staked_oracles[:3], batchSize=3)
    rnd.submit(copier, 1)  # front-runs the original with its CID
    rnd.submit(original, 1)
    rnd.submit(other, 3)
    assert rnd.records[0][0][3] == rnd.records[0][1][3] == cid(1)
    tx = rnd.score_batch(0, [INVALID, 7_000, 5_000], rando)
    acc = tx.events["VersionAccepted"]
    assert (acc["author"], acc["submissionId"], acc["reward"]) == (original, 1, REWARD // 2)
    assert [(e["contributor"], e["burned"]) for e in tx.events["StakeSlashed"]] == [(copier, STAKE // 2)]
    assert market.claimable(original, ETH) == STAKE + REWARD // 2
    assert market.claimable(copier, ETH) == STAKE // 2
    # the same CID in a later batch, after the original was accepted: slashed, nothing earned
    rnd.submit(rando, 1)
    rnd.submit(other, 4)
    rnd.submit(other, 5)
    tx = rnd.score_batch(1, [INVALID, 7_000, 7_000], rando)
    assert "VersionAccepted" not in tx.events
    assert [(e["contributor"], e["burned"]) for e in tx.events["StakeSlashed"]] == [(rando, STAKE // 2)]
    assert market.claimable(rando, ETH) == STAKE // 2
    assert market.claimable(original, ETH) == STAKE + REWARD // 2
    view = market.getBounty(rnd.bounty_id)
    assert view["paid"] == REWARD // 2 and view["versionCount"] == 1
    assert market.balance() == eth_owed(market, holders)


def test_an_insider_copy_submitted_after_the_original_earns_nothing(
    market, requester, staked_oracles, contributors, holders, rando
):
    """SECURITY.md, "What insiders can do": the requester, and a committee member through another
    address (rando), re-encrypt an accepted update under their own names (new CIDs) and submit it
    in a later batch. Scored against the new head, which already holds the update, the copies do
    not improve it: one ties the head (rejected), one makes it worse (slashed). No reward moves."""
    original, other = contributors[0], contributors[2]
    rnd = Round.open(market, requester, staked_oracles[:3], batchSize=2)
    rnd.submit(original, 1)
    rnd.submit(other, 2)
    rnd.score_batch(0, [7_000, 5_000], rando)
    earned = market.claimable(original, ETH)
    assert earned == STAKE + REWARD // 2
    rnd.submit(requester, 101)
    rnd.submit(rando, 102)
    tx = rnd.score_batch(1, [7_000, 6_850], rando)  # head 7000; slash margin 100
    assert "VersionAccepted" not in tx.events
    assert [e["contributor"] for e in rejected(tx, rnd)] == [requester]
    assert tx.events["StakeSlashed"]["contributor"] == rando
    view = market.getBounty(rnd.bounty_id)
    assert (view["versionCount"], view["headScore"], view["paid"]) == (1, 7_000, REWARD // 2)
    assert market.claimable(requester, ETH) == STAKE and market.claimable(rando, ETH) == STAKE // 2
    assert market.claimable(original, ETH) == earned
    market.cancel(rnd.bounty_id, {"from": requester})
    market.close(rnd.bounty_id, {"from": rando})
    # the requester gets its stake and the unearned remainder, nothing of the copied gain
    assert market.claimable(requester, ETH) == STAKE + REWARD - REWARD // 2 + 8 * FEE
    assert market.balance() == eth_owed(market, holders)


def test_an_insider_copy_in_the_same_batch_loses_the_tie_to_the_original(market, requester, staked_oracles, contributors, rando):
    original = contributors[0]
    rnd = Round.open(market, requester, staked_oracles[:3], batchSize=2)
    rnd.submit(original, 1)
    rnd.submit(requester, 101)  # the same update, re-encrypted: the same score, a later id
    tx = rnd.score_batch(0, [7_000, 7_000], rando)
    assert (tx.events["VersionAccepted"]["author"], tx.events["VersionAccepted"]["reward"]) == (original, REWARD // 2)
    assert [e["contributor"] for e in rejected(tx, rnd)] == [requester]
    assert market.claimable(requester, ETH) == STAKE


# ----------------------------------------------------------------- reports


def test_r1_r2_an_oracle_contract_reports_only_on_its_committee_once_and_only_the_batch_being_scored(
    market, requester, staked_oracles, contributors, oracle_registry, actor, rando
):
    attacker = actor()
    to_staking(oracle_registry)
    send(oracle_registry.stake, attacker, value=2 * 10**18)
    o0, o1, o2, o3 = staked_oracles
    rnd = ActorRound.open(market, requester, [attacker, o0, o1], batchSize=2)
    bid = rnd.bounty_id
    other = ActorRound.open(market, requester, [o0, o1, o2])
    for i in range(4):
        other.submit(contributors[i % 3], i)
    with reverts_with("NotCommitteeMember", other.bounty_id, attacker.address):  # not its committee
        send(market.report, attacker, other.bounty_id, 0, encode_scores([5_000] * 4), ZERO_CID, b"\0" * 32)
    rnd.submit(contributors[0], 1)
    with reverts_with("BatchNotReportable", bid, 0):  # not full, bounty open
        rnd.report(attacker, 0, [5_000])
    rnd.submit(contributors[1], 2)
    rnd.submit(contributors[1], 3)
    rnd.submit(contributors[1], 4)
    with reverts_with("BatchNotReportable", bid, 1):  # batch 0 is not decided
        rnd.report(attacker, 1, [5_000] * 2)
    for o in (attacker, o0, o1):
        rnd.commit(o, 0, [6_000, 5_000])  # R11: commit, then reveal
    rnd.reveal(attacker, 0)
    with reverts_with("AlreadyReported", bid, 0, attacker.address):
        send(market.report, attacker, bid, 0, encode_scores([6_000, 5_000]), ZERO_CID, rnd.salt(attacker, 0))
    with reverts_with("AlreadyReported", bid, 0, attacker.address):
        send(market.reportAndSettle, attacker, bid, 0, encode_scores([9_000, 9_000]), ZERO_CID, rnd.salt(attacker, 0),
             pack_records(rnd.records[0]), rnd.batch_reports(0, without=attacker))
    rnd.reveal(o0, 0)
    rnd.final_report(o1, 0, [6_000, 5_000])
    with reverts_with("BatchNotReportable", bid, 0):  # already decided
        rnd.report(attacker, 0, [9_000, 5_000])
    # batch 1: the attacker alone reports; voided at the timeout; too late to report after
    rnd.report(attacker, 1, [5_000, 5_000])
    chain.sleep(3601)
    rnd.reveal_queued(1)  # R11: the committed reports are revealed first
    market.voidBatch(bid, 1, rnd.records[1], {"from": rando})
    with reverts_with("BatchNotReportable", bid, 1):
        rnd.report(o0, 1, [5_000, 5_000])
    # a committee member that has not opted in cannot report
    late = ActorRound.open(market, requester, [o0, o1, o2, o3], baseline=None)
    for o in (o0, o1, o2):
        market.joinCommittee(late.bounty_id, {"from": o})
        market.reportBaseline(late.bounty_id, 5_000, {"from": o})
    chain.sleep(3601)
    market.settleBaseline(late.bounty_id, {"from": rando})  # o3 never opted in
    for i in range(4):
        late.submit(contributors[0], 10 + i)
    with reverts_with("NotOptedIn", late.bounty_id, o3.address):
        late.report(o3, 0, [5_000] * 4)


# ----------------------------------------------------------- requester endings


def test_e1_e2_a_cancel_takes_effect_only_once_every_batch_is_settled_or_void(
    market, requester, staked_oracles, contributors, holders, rando
):
    a, b, c = contributors
    rnd = Round.open(market, requester, staked_oracles[:3], batchSize=2)
    bid = rnd.bounty_id
    for i, who in enumerate([a, b, b, c, c]):  # two full batches and a partial one
        rnd.submit(who, i)
    market.cancel(bid, {"from": requester})
    with reverts_with("BountyNotInState", bid, 3, 2):  # no submission after the cancel
        rnd.submit(a, 9)
    with reverts_with("BatchesPending", bid, 0, 3):
        market.close(bid, {"from": rando})
    rnd.score_batch(0, [7_000, 5_000], rando)  # a earns half the reward
    with reverts_with("BatchesPending", bid, 1, 3):
        market.close(bid, {"from": requester})
    rnd.report(staked_oracles[0], 1, [8_000, 8_000])  # below the quorum (2 of 3)
    chain.sleep(3601)
    rnd.reveal_queued(1)  # R11: the committed reports are revealed first
    market.voidBatch(bid, 1, rnd.records[1], {"from": rando})
    with reverts_with("BatchesPending", bid, 2, 3):
        market.close(bid, {"from": requester})
    assert market.balance() == eth_owed(market, holders)
    rnd.score_batch(2, [5_000], rando)
    tx = market.close(bid, {"from": rando})
    assert (tx.events["BountyClosed"]["rewardRefund"], tx.events["BountyClosed"]["feeRefund"]) == (REWARD // 2, 8 * FEE)
    assert market.claimable(requester, ETH) == REWARD // 2 + 8 * FEE
    assert market.claimable(a, ETH) == STAKE + REWARD // 2  # earned before the cancel took effect
    assert market.balance() == eth_owed(market, holders)


def test_e4_a_forfeited_bond_splits_among_authors_once_and_a_late_reveal_returns_nothing(
    market, requester, staked_oracles, contributors, holders, rando
):
    a, b = contributors[:2]
    bond = BOND + 1  # odd: one wei of dust is burned
    rnd = Round.open(market, requester, staked_oracles[:3], batchSize=1, revealBond=bond)
    bid = rnd.bounty_id
    rnd.submit(a, 1)
    rnd.score_batch(0, [6_000], rando)
    rnd.submit(b, 2)
    rnd.score_batch(1, [7_000], rando)
    market.cancel(bid, {"from": requester})
    market.close(bid, {"from": rando})
    refund = market.claimable(requester, ETH)
    chain.sleep(86400 + 1)
    burn_before = market.pendingBurn(ETH)
    tx = market.forfeitBond(bid, {"from": rando})
    assert (tx.events["BondForfeited"]["share"], tx.events["BondForfeited"]["burned"]) == (bond // 2, 1)
    assert market.pendingBurn(ETH) - burn_before == 1
    with reverts_with("BondAlreadySettled", bid):
        market.forfeitBond(bid, {"from": rando})
    assert market.balance() == eth_owed(market, holders, forfeited=(bid,))
    # a late reveal still publishes the set, but the bond is gone
    market.reveal(bid, VALIDATION_CID, VALIDATION_KEY, SALT, b"\x33" * 32, {"from": requester})
    assert market.state(bid) == REVEALED and market.claimable(requester, ETH) == refund
    for who, version in ((a, 1), (b, 2)):
        before = market.claimable(who, ETH)
        market.claimBondShare(bid, version, {"from": rando})
        assert market.claimable(who, ETH) - before == bond // 2
        with reverts_with("NoBondShare", bid, version):
            market.claimBondShare(bid, version, {"from": who})
    assert market.balance() == eth_owed(market, holders, forfeited=(bid,))

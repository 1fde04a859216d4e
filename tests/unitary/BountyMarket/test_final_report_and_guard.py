"""Rules R1, R4, R8 through the finalising report (reportAndSettle); U2, B5 and A2 against a
reentrant token and a fee-on-transfer stake; U4 across a full batch."""

from brownie import chain
from eth_utils import keccak

from tests.helpers import reverts_with
from tests.market_helpers import ETH, INVALID, RAW, Round, cid, encode_scores, pack_records, rejected

STAKE = 10**16


def _submit_four(rnd, contributors):
    for i, who in enumerate([contributors[0], contributors[1], contributors[2], contributors[0]]):
        rnd.submit(who, i)


def test_r4_the_last_members_report_settles_the_batch(market, requester, staked_oracles, contributors):
    rnd = Round.open(market, requester, staked_oracles[:3])
    a, b, c = contributors
    _submit_four(rnd, contributors)
    scores = [7_000, 6_000, 4_000, INVALID]
    merged = (keccak(b"merged"), RAW)
    for o in staked_oracles[:2]:
        rnd.report(o, 0, scores, merged)
    tx = rnd.final_report(staked_oracles[2], 0, scores, merged)
    assert tx.events["ReportPosted"]["oracle"] == staked_oracles[2]
    ev = tx.events["VersionAccepted"]
    assert ev["author"] == a and ev["score"] == 7_000 and ev["merged"][0] == "0x" + merged[0].hex()
    (rej,) = rejected(tx, rnd)
    assert rej["contributor"] == b and rej["score"] == 6_000
    assert [e["contributor"] for e in tx.events["StakeSlashed"]] == [c, a]
    assert tx.events["BatchSettled"]["reports"] == 3
    assert market.claimable(a, ETH) == STAKE + 10**18 // 2 + STAKE // 2
    assert market.claimable(b, ETH) == STAKE
    assert market.claimable(staked_oracles[2], ETH) == 10**15  # a third of the batch fee
    view = market.getBounty(rnd.bounty_id)
    assert view["nextBatch"] == 1 and view["versionCount"] == 1 and view["headScore"] == 7_000
    with reverts_with("BatchNotReportable", rnd.bounty_id, 0):
        rnd.settle(0, requester)  # decided once


def test_r4_a_final_report_needs_every_opted_in_member_or_the_timeout(market, requester, staked_oracles, contributors):
    rnd = Round.open(market, requester, staked_oracles[:4])
    _submit_four(rnd, contributors)
    for o in staked_oracles[:2]:
        rnd.report(o, 0, [5_000] * 4)
    with reverts_with("BatchNotReady"):
        rnd.final_report(staked_oracles[2], 0, [5_000] * 4)  # the fourth member has not reported
    chain.sleep(3601)
    tx = rnd.final_report(staked_oracles[2], 0, [5_000] * 4)  # a quorum after the timeout
    assert tx.events["BatchSettled"]["reports"] == 3


def test_r1_the_final_report_is_checked_as_a_report(market, requester, staked_oracles, contributors, rando):
    rnd = Round.open(market, requester, staked_oracles[:3])
    _submit_four(rnd, contributors)
    zero = (b"\0" * 32, 0)
    with reverts_with("NotCommitteeMember", rnd.bounty_id, rando.address):
        market.reportAndSettle(rnd.bounty_id, 0, encode_scores([5_000] * 4), zero, b"\0" * 32, pack_records(rnd.records[0]), [],
                               {"from": rando})
    for o in staked_oracles[:3]:
        rnd.commit(o, 0, [5_000] * 4)  # R11: commit, then reveal
    for o in staked_oracles[:2]:
        rnd.reveal(o, 0)
    last = staked_oracles[2]
    with reverts_with("AlreadyReported", rnd.bounty_id, 0, staked_oracles[0].address):
        market.reportAndSettle(rnd.bounty_id, 0, encode_scores([5_000] * 4), zero, rnd.salt(staked_oracles[0], 0),
                               pack_records(rnd.records[0]), rnd.batch_reports(0), {"from": staked_oracles[0]})
    with reverts_with("WrongScoreCount", 28, 22):
        market.reportAndSettle(rnd.bounty_id, 0, encode_scores([5_000] * 3), zero, rnd.salt(last, 0),
                               pack_records(rnd.records[0]), rnd.batch_reports(0), {"from": last})
    with reverts_with("WrongScoreCount", 3, 1):  # the other reports must all be given
        market.reportAndSettle(rnd.bounty_id, 0, encode_scores([5_000] * 4), zero, rnd.salt(last, 0),
                               pack_records(rnd.records[0]), [], {"from": last})
    rnd.final_report(last, 0, [5_000] * 4)


def test_r8_a_final_report_checks_the_records_and_the_other_reports(market, requester, staked_oracles, contributors, rando):
    rnd = Round.open(market, requester, staked_oracles[:3])
    _submit_four(rnd, contributors)
    last = staked_oracles[2]
    zero = (b"\0" * 32, 0)
    own = encode_scores([5_000] * 4)
    for o in staked_oracles[:3]:
        rnd.commit(o, 0, [5_000] * 4)  # R11: commit, then reveal
    for o in staked_oracles[:2]:
        rnd.reveal(o, 0)
    salt = rnd.salt(last, 0)
    forged = list(rnd.records[0])
    forged[1] = (rando.address,) + tuple(forged[1][1:])
    with reverts_with("RecordsMismatch", rnd.bounty_id, 0):
        market.reportAndSettle(rnd.bounty_id, 0, own, zero, salt, pack_records(forged), rnd.batch_reports(0), {"from": last})
    with reverts_with("RecordsMismatch", rnd.bounty_id, 0):  # packed records: 69 bytes each
        market.reportAndSettle(rnd.bounty_id, 0, own, zero, salt, pack_records(rnd.records[0])[:-1], rnd.batch_reports(0),
                               {"from": last})
    inflated = list(rnd.records[0])
    inflated[0] = (inflated[0][0], 2 * STAKE) + tuple(inflated[0][2:])
    with reverts_with("RecordsMismatch", rnd.bounty_id, 0):
        market.reportAndSettle(rnd.bounty_id, 0, own, zero, salt, pack_records(inflated), rnd.batch_reports(0), {"from": last})
    others = rnd.batch_reports(0)
    others[1] = (encode_scores([9_000] * 4), others[1][1])
    with reverts_with("ReportMismatch", rnd.bounty_id, 0, 1):
        market.reportAndSettle(rnd.bounty_id, 0, own, zero, salt, pack_records(rnd.records[0]), others, {"from": last})
    rnd.final_report(last, 0, [5_000] * 4)


def test_r4_settle_batch_and_the_final_report_decide_alike(market, requester, staked_oracles, contributors, rando):
    scores = {0: [6_000, 5_100, 4_000, INVALID], 1: [6_004, 5_097, 4_000, INVALID], 2: [9_999, 5_095, 4_000, 4_000]}
    outcomes = []
    for final in (False, True):
        rnd = Round.open(market, requester, staked_oracles[:3])
        _submit_four(rnd, contributors)
        for i, o in enumerate(staked_oracles[:2]):
            rnd.report(o, 0, scores[i])
        if final:
            tx = rnd.final_report(staked_oracles[2], 0, scores[2])
        else:
            rnd.report(staked_oracles[2], 0, scores[2])
            tx = rnd.settle(0, rando)
        outcomes.append((
            [(e["submissionId"] % 4, e["score"]) for e in rejected(tx, rnd)],
            [(e["submissionId"] % 4, e["score"], e["burned"]) for e in tx.events["StakeSlashed"]],
            [(e["submissionId"] % 4, e["score"], e["reward"]) for e in tx.events["VersionAccepted"]],
            [e["oracle"] for e in tx.events["OracleSlashed"]] if "OracleSlashed" in tx.events else [],
        ))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][3] == [staked_oracles[2].address]  # the outlier, either way


def test_u4_a_full_batch_keeps_its_hash_until_it_is_decided(market, requester, staked_oracles, contributors):
    rnd = Round.open(market, requester, staked_oracles[:3])
    _submit_four(rnd, contributors)
    rnd.submit(contributors[1], 9)  # opens batch 1
    full = market.getBatch(rnd.bounty_id, 0)
    assert full["recordsHash"] != "0x" + "00" * 32 and full["filledAt"] > 0 and full["submissions"] == 4
    assert market.getBatch(rnd.bounty_id, 1)["submissions"] == 1
    rnd.score_batch(0, [5_000] * 4)
    assert market.getBatch(rnd.bounty_id, 0)["recordsHash"] == "0x" + "00" * 32
    assert market.getBatch(rnd.bounty_id, 0)["decided"]


def test_u4_r3_batches_that_fill_while_another_is_pending_settle_in_order(market, requester, staked_oracles, contributors):
    rnd = Round.open(market, requester, staked_oracles[:3], batchSize=2)
    for i in range(6):  # three full batches; 1 and 2 fill while 0 is pending
        rnd.submit(contributors[i % 3], i)
    hashes = [str(market.getBatch(rnd.bounty_id, k)["recordsHash"]) for k in range(3)]
    assert len(set(hashes)) == 3 and "0x" + "00" * 32 not in hashes
    assert all(market.getBatch(rnd.bounty_id, k)["filledAt"] > 0 for k in range(3))
    for k in range(3):
        tx = rnd.score_batch(k, [6_000 + 100 * k, 5_000])
        assert tx.events["VersionAccepted"]["version"] == k + 1
        assert market.getBatch(rnd.bounty_id, k)["recordsHash"] == "0x" + "00" * 32
        if k < 2:
            assert market.getBatch(rnd.bounty_id, k + 1)["recordsHash"] == hashes[k + 1]
    # on the head (version 3): a base more than MAX_LAG behind is refused at submission (R5)
    rnd.submit(contributors[0], 6, base=3)
    rnd.submit(contributors[1], 7, base=3)  # fills as the next batch to decide
    assert market.getBatch(rnd.bounty_id, 3)["filledAt"] > 0
    rnd.score_batch(3, [6_500, 5_000])
    assert market.getBounty(rnd.bounty_id)["nextBatch"] == 4


def _erc20_bounty(market, requester, staked_oracles, token):
    token.mint(requester, 10**21, {"from": requester})
    return Round.open(market, requester, staked_oracles[:3], token=token)


def test_u2_a_reentrant_token_cannot_land_a_transfer_inside_a_stake(market, requester, staked_oracles, contributors,
                                                                   ReentrantToken, deployer):
    token = ReentrantToken.deploy({"from": deployer})
    rnd = _erc20_bounty(market, requester, staked_oracles, token)
    a = contributors[0]
    token.mint(a, 10**20, {"from": deployer})
    token.mint(token, 10**20, {"from": deployer})
    token.approve(market, 2**256 - 1, {"from": a})
    selector = "0x" + keccak(text="ReentrancyGuardReentrantCall()")[:4].hex()
    for payload in (
        market.submitUpdate.encode_input(rnd.bounty_id, 0, cid(7)),  # a nested submission
        market.topUp.encode_input(rnd.bounty_id, 10**18),  # a nested top-up
        market.submitUpdateFromBalance.encode_input(rnd.bounty_id, 0, cid(8)),
    ):
        token.arm(market, payload, {"from": deployer})
        before = token.balanceOf(market)
        tx = market.submitUpdate(rnd.bounty_id, 0, cid(1), {"from": a})
        assert not token.lastOk() and bytes(token.lastReturn()) == bytes.fromhex(selector[2:])
        assert tx.events["SubmissionReceived"]["stake"] == STAKE == token.balanceOf(market) - before


def test_b5_a_reentrant_token_cannot_nest_inside_a_top_up(market, requester, staked_oracles, ReentrantToken, deployer):
    token = ReentrantToken.deploy({"from": deployer})
    rnd = _erc20_bounty(market, requester, staked_oracles, token)
    token.approve(market, 2**256 - 1, {"from": requester})
    token.arm(market, market.topUp.encode_input(rnd.bounty_id, 10**18), {"from": deployer})
    tx = market.topUp(rnd.bounty_id, 10**18, {"from": requester})
    assert not token.lastOk()
    assert tx.events["BountyFunded"]["amount"] == 10**18


def test_u2_a_fee_on_transfer_stake_credits_what_arrived(market, requester, staked_oracles, contributors,
                                                        FeeOnTransferToken, deployer):
    token = FeeOnTransferToken.deploy({"from": deployer})
    rnd = _erc20_bounty(market, requester, staked_oracles, token)
    a = contributors[0]
    token.mint(a, 10**20, {"from": deployer})
    token.approve(market, 2**256 - 1, {"from": a})
    before = token.balanceOf(market)
    tx = market.submitUpdate(rnd.bounty_id, 0, cid(1), {"from": a})
    arrived = token.balanceOf(market) - before
    assert arrived == STAKE - STAKE // 100
    assert tx.events["SubmissionReceived"]["stake"] == arrived
    for i in range(2, 5):
        market.submitUpdate(rnd.bounty_id, 0, cid(i), {"from": a})
    rnd.records[0] = [(a.address, arrived, 0, cid(i)) for i in range(1, 5)]
    rnd.score_batch(0, [5_000] * 4)
    assert market.claimable(a, token) == 4 * arrived  # what arrived comes back, no more


def test_a2_pause_is_reported_and_announced(market, deployer, rando):
    tx = market.pause({"from": deployer})
    assert market.paused() and tx.events["Paused"]["account"] == deployer
    with reverts_with("EnforcedPause"):
        market.pause({"from": deployer})
    tx = market.unpause({"from": deployer})
    assert not market.paused() and tx.events["Unpaused"]["account"] == deployer
    with reverts_with("ExpectedPause"):
        market.unpause({"from": deployer})


def test_c1_p1_a_members_fee_balance_stays_reserved_across_claims(market, requester, staked_oracles, contributors):
    rnd = Round.open(market, requester, staked_oracles[:3])
    oracle = staked_oracles[0]
    assert market.claimable(oracle, ETH) == 0  # opt-in reserved the slot; nothing is owed yet
    with reverts_with("NothingToClaim"):
        market.claim(ETH, {"from": oracle})
    for batch in range(2):
        for i in range(4):
            rnd.submit(contributors[i % 3], 4 * batch + i)
        rnd.score_batch(batch, [5_000] * 4)
        assert market.claimable(oracle, ETH) == 10**15
        before = oracle.balance()
        tx = market.claim(ETH, {"from": oracle})
        assert oracle.balance() - before == 10**15 - tx.gas_used * tx.gas_price
        assert market.claimable(oracle, ETH) == 0

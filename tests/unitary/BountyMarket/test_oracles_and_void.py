"""Rules C1, R1-R3, R6-R10: committee membership, reports, oracle slashing, voided batches."""

from brownie import chain

from tests.helpers import reverts_with
from tests.market_helpers import ETH, Round, encode_scores

STAKE = 10**16
FEE = 3 * 10**15


def test_r1_only_opted_in_committee_members_report_once(market, requester, staked_oracles, contributors, rando):
    rnd = Round.open(market, requester, staked_oracles[:3])
    for i in range(4):
        rnd.submit(contributors[0], i)
    with reverts_with("NotCommitteeMember", rnd.bounty_id, rando.address):
        market.report(rnd.bounty_id, 0, b"\0" * 16, (b"\0" * 32, 0), b"\0" * 32, {"from": rando})
    with reverts_with("NotCommitteeMember", rnd.bounty_id, rando.address):
        market.commitReport(rnd.bounty_id, 0, b"\1" * 32, {"from": rando})
    for o in staked_oracles[:3]:
        rnd.commit(o, 0, [5_000] * 4)  # R11: every member committed, the reveal phase is open
    rnd.reveal(staked_oracles[0], 0)
    with reverts_with("AlreadyReported", rnd.bounty_id, 0, staked_oracles[0].address):
        market.report(rnd.bounty_id, 0, encode_scores([5_000] * 4), (b"\0" * 32, 0), rnd.salt(staked_oracles[0], 0),
                      {"from": staked_oracles[0]})
    with reverts_with("WrongScoreCount", 28, 22):
        market.report(rnd.bounty_id, 0, encode_scores([5_000] * 3), (b"\0" * 32, 0), rnd.salt(staked_oracles[1], 0),
                      {"from": staked_oracles[1]})


def test_c1_a_member_that_did_not_opt_in_cannot_report(market, requester, staked_oracles):
    rnd = Round.open(market, requester, staked_oracles[:3], baseline=None)
    with reverts_with("NotOptedIn", rnd.bounty_id, staked_oracles[0].address):
        market.reportBaseline(rnd.bounty_id, 5_000, {"from": staked_oracles[0]})


def test_r7_an_outlier_oracle_loses_one_offence_of_its_bond_and_it_is_burned(
    market, requester, staked_oracles, contributors, oracle_registry, rando
):
    rnd = Round.open(market, requester, staked_oracles[:3])
    a, b = contributors[:2]
    for i, who in enumerate([a, b, a, b]):
        rnd.submit(who, i)
    honest = [5_000, 4_990, 4_980, 4_970]  # none beats the baseline head (5000)
    rnd.report(staked_oracles[0], 0, honest)
    rnd.report(staked_oracles[1], 0, [s - 1 for s in honest])
    rnd.report(staked_oracles[2], 0, [9_999, 9_999, 9_999, 9_999])  # tries to push a version through
    stake_before = oracle_registry.oracleInfo(staked_oracles[2])[0]
    burn_before = market.pendingBurn(ETH)
    tx = rnd.settle(0, rando)
    assert "VersionAccepted" not in tx.events  # the median stays within the honest reports
    slashed = tx.events["OracleSlashed"]
    assert len(slashed) == 1 and slashed[0]["oracle"] == staked_oracles[2]
    amount = market.memberBond(rnd.bounty_id)[1]  # C3: one offence, a tenth of its bond
    assert slashed[0]["amount"] == amount == 10**18 // 16 // 10
    assert oracle_registry.oracleInfo(staked_oracles[2])[0] == stake_before - amount
    # burned: the contributors get their stakes back and nothing more
    assert market.claimable(a, ETH) == 2 * STAKE
    assert market.pendingBurn(ETH) == burn_before + amount
    # the two honest oracles share the fee
    assert market.claimable(staked_oracles[0], ETH) == FEE // 2
    assert market.claimable(staked_oracles[2], ETH) == 0


def test_r9_after_the_timeout_a_quorum_settles_without_the_silent_member(market, requester, staked_oracles, contributors, rando):
    rnd = Round.open(market, requester, staked_oracles[:4])
    for i in range(4):
        rnd.submit(contributors[0], i)
    for o in staked_oracles[:3]:
        rnd.report(o, 0, [6_000, 5_000, 5_000, 5_000])
    with reverts_with("BatchNotReady"):
        rnd.settle(0, rando)
    chain.sleep(3601)
    tx = rnd.settle(0, rando)
    assert tx.events["BatchSettled"]["reports"] == 3
    assert market.getBounty(rnd.bounty_id)["versionCount"] == 1


def test_r10_a_batch_without_quorum_is_voided_stakes_return_and_silent_members_are_slashed(
    market, requester, staked_oracles, contributors, oracle_registry, rando
):
    rnd = Round.open(market, requester, staked_oracles[:3])
    for i in range(4):
        rnd.submit(contributors[i % 2], i)
    rnd.report(staked_oracles[0], 0, [6_000] * 4)  # 1 of 3: below the quorum (2)
    with reverts_with("BatchNotVoidable", rnd.bounty_id, 0):
        rnd.reveal_queued(0)  # R11: the committed reports are revealed first
        market.voidBatch(rnd.bounty_id, 0, rnd.records[0], {"from": rando})
    chain.sleep(3601)
    silent_stake = oracle_registry.oracleInfo(staked_oracles[2])[0]
    burn_before = market.pendingBurn(ETH)
    rnd.reveal_queued(0)  # R11: the committed reports are revealed first
    tx = market.voidBatch(rnd.bounty_id, 0, rnd.records[0], {"from": rando})
    assert tx.events["BatchVoided"]["reports"] == 1
    assert [e["oracle"] for e in tx.events["OracleSlashed"]] == staked_oracles[1:3]
    per_offence = market.memberBond(rnd.bounty_id)[1]
    assert oracle_registry.oracleInfo(staked_oracles[2])[0] == silent_stake - per_offence
    assert market.claimable(contributors[0], ETH) == 2 * STAKE  # nobody gains from a void
    assert market.pendingBurn(ETH) == burn_before + 2 * per_offence
    assert market.getBounty(rnd.bounty_id)["nextBatch"] == 1


def test_r8_settlement_checks_records_and_reports_against_the_chain(market, requester, staked_oracles, contributors, rando):
    rnd = Round.open(market, requester, staked_oracles[:3])
    for i in range(4):
        rnd.submit(contributors[0], i)
    for o in staked_oracles[:3]:
        rnd.report(o, 0, [5_000] * 4)
    forged = list(rnd.records[0])
    forged[0] = (rando.address,) + tuple(forged[0][1:])
    with reverts_with("RecordsMismatch", rnd.bounty_id, 0):
        market.settleBatch(rnd.bounty_id, 0, forged, rnd.batch_reports(0), {"from": rando})
    reports = rnd.batch_reports(0)
    reports[1] = (b"\x00\x00\x23\x28" * 4, reports[1][1])
    with reverts_with("ReportMismatch", rnd.bounty_id, 0, 1):
        market.settleBatch(rnd.bounty_id, 0, rnd.records[0], reports, {"from": rando})
    rnd.settle(0, rando)
    with reverts_with("BatchNotReportable", rnd.bounty_id, 0):
        rnd.settle(0, rando)  # never settled twice


def test_r12_an_abstainer_is_not_charged_when_a_committer_withholds_its_reveal(
    market, requester, staked_oracles, contributors, oracle_registry, rando
):
    """The R11 review's F3 on ganache: B cannot fetch an update, A and D commit (a quorum), so
    B abstains (a zero commitment, R12); D withholds its reveal and the batch is voided. Only D,
    which committed and did not reveal, is charged; a member that committed cannot abstain."""
    rnd = Round.open(market, requester, staked_oracles[:3])
    for i in range(4):
        rnd.submit(contributors[i % 2], i)
    a, b, d = staked_oracles[:3]
    with reverts_with("AbstentionBeforeQuorum", rnd.bounty_id, 0, 0, 2):
        market.commitReport(rnd.bounty_id, 0, b"\0" * 32, {"from": b})
    rnd.commit(a, 0, [6_000] * 4)
    rnd.commit(d, 0, [1] * 4)
    with reverts_with("CommittedAlready", rnd.bounty_id, 0, d):
        market.commitReport(rnd.bounty_id, 0, b"\0" * 32, {"from": d})
    tx = market.commitReport(rnd.bounty_id, 0, b"\0" * 32, {"from": b})
    assert tx.events["ReportCommitted"]["commitment"] == "0x" + "00" * 32
    assert market.getCommits(rnd.bounty_id, 0)[2] == 1 << 1  # B sits the batch out
    rnd.reveal_queued(0, skip=d)  # open at once: every member on duty committed
    chain.sleep(3601)
    stakes = [oracle_registry.oracleInfo(o)[0] for o in (a, b, d)]
    tx = market.voidBatch(rnd.bounty_id, 0, rnd.records[0], {"from": rando})
    assert [e["oracle"] for e in tx.events["OracleSlashed"]] == [d]
    per_offence = market.memberBond(rnd.bounty_id)[1]
    assert [oracle_registry.oracleInfo(o)[0] for o in (a, b, d)] == [stakes[0], stakes[1], stakes[2] - per_offence]

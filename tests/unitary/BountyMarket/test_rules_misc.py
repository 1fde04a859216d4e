"""Rules B6, C2, S1, U2-U5, R2-R3, R6, P2."""

from brownie import chain, web3
from eth_utils import keccak

from tests.helpers import reverts_with
from tests.market_helpers import ETH, INVALID, RAW, WAD, Round, cid

STAKE = 10**16


def test_b6_the_requester_publishes_a_new_keyring(market, requester, staked_oracles, rando):
    rnd = Round.open(market, requester, staked_oracles[:3])
    tx = market.setKeyring(rnd.bounty_id, cid(77), {"from": requester})
    assert tx.events["KeyringSet"]["keyring"][0] == "0x" + cid(77)[0].hex()
    with reverts_with("NotRequester", rnd.bounty_id, rando.address):
        market.setKeyring(rnd.bounty_id, cid(78), {"from": rando})


def test_s1_a_baseline_report_cannot_be_invalid(market, requester, staked_oracles):
    rnd = Round.open(market, requester, staked_oracles[:3], baseline=None)
    market.joinCommittee(rnd.bounty_id, {"from": staked_oracles[0]})
    with reverts_with("InvalidScore", INVALID):
        market.reportBaseline(rnd.bounty_id, INVALID, {"from": staked_oracles[0]})


def test_u2_an_eth_stake_must_be_exact_and_the_base_version_must_exist(market, requester, staked_oracles, contributor):
    rnd = Round.open(market, requester, staked_oracles[:3])
    with reverts_with("WrongPayment", STAKE, STAKE - 1):
        rnd.submit(contributor, 1, value=STAKE - 1)
    with reverts_with("BaseVersionUnknown", rnd.bounty_id, 1, 0):
        rnd.submit(contributor, 1, base=1)


def test_u3_no_submission_beyond_the_funded_batches(market, requester, staked_oracles, contributor):
    rnd = Round.open(market, requester, staked_oracles[:3], maxBatches=1, batchSize=2)
    rnd.submit(contributor, 1)
    rnd.submit(contributor, 2)
    with reverts_with("BatchLimitReached", rnd.bounty_id, 1):
        rnd.submit(contributor, 3)


def test_u4_the_records_hash_commits_to_each_submission(market, requester, staked_oracles, contributor):
    from eth_abi.packed import encode_packed
    from eth_utils import keccak

    def link(h: bytes, n: int) -> bytes:  # one link, keeping the top 224 bits
        full = keccak(encode_packed(["bytes32", "address", "uint96", "uint32", "bytes32", "uint8"],
                                    [h, contributor.address, STAKE, 0, cid(n)[0], cid(n)[1]]))
        return full[:28] + b"\0" * 4

    rnd = Round.open(market, requester, staked_oracles[:3])
    rnd.submit(contributor, 5)
    h = link((2**32).to_bytes(32, "big"), 5)  # each batch's hash starts at 2^32
    assert market.getBatch(rnd.bounty_id, 0)["recordsHash"] == "0x" + h.hex()
    rnd.submit(contributor, 6)
    assert market.getBatch(rnd.bounty_id, 0)["recordsHash"] == "0x" + link(h, 6).hex()


def test_u5_a_stake_can_come_from_the_claimable_balance(market, requester, staked_oracles, contributors, rando):
    rnd = Round.open(market, requester, staked_oracles[:3])
    a = contributors[0]
    for i in range(4):
        rnd.submit(a, i)
    rnd.score_batch(0, [5_000] * 4, rando)
    assert market.claimable(a, ETH) == 4 * STAKE
    tx = market.submitUpdateFromBalance(rnd.bounty_id, 0, cid(9), {"from": a})
    assert tx.events["SubmissionReceived"]["stake"] == STAKE
    assert market.claimable(a, ETH) == 3 * STAKE


def test_r2_batches_are_scored_in_order(market, requester, staked_oracles, contributor, rando):
    rnd = Round.open(market, requester, staked_oracles[:3], batchSize=1)
    rnd.submit(contributor, 1)
    rnd.submit(contributor, 2)
    with reverts_with("BatchNotReportable", rnd.bounty_id, 1):
        rnd.report(staked_oracles[0], 1, [6_000])
    rnd.score_batch(0, [6_000], rando)
    rnd.score_batch(1, [7_000], rando)
    assert market.getBounty(rnd.bounty_id)["versionCount"] == 2


def test_r3_the_timeout_runs_from_when_the_previous_batch_was_decided(market, requester, staked_oracles, contributor, rando):
    rnd = Round.open(market, requester, staked_oracles[:4], batchSize=1)
    rnd.submit(contributor, 1)
    for o in staked_oracles[:4]:
        rnd.commit(o, 0, [6_000], (keccak(b"merged-0"), RAW))  # R11: batch 0's commitments, in its commit phase
    rnd.submit(contributor, 2)
    chain.sleep(7200)  # batch 1 filled long ago, but batch 0 is still pending
    for o in staked_oracles[:3]:
        rnd.reveal(o, 0)  # every member committed: the reveal phase is open
    rnd.final_report(staked_oracles[3], 0, [6_000], (keccak(b"merged-0"), RAW))  # reveals and settles batch 0
    for o in staked_oracles[:3]:
        rnd.report(o, 1, [5_000])
    with reverts_with("BatchNotReady"):
        rnd.settle(1, rando)  # its timeout restarted when batch 0 was decided


def test_r6_a_concave_curve_pays_early_progress_more(market, requester, staked_oracles, contributors, rando):
    # c(0.5) = 0.8: reaching half the way pays 80% of the escrow
    rnd = Round.open(market, requester, staked_oracles[:3], curveX=[0, WAD // 2, WAD], curveY=[0, 8 * WAD // 10, WAD], batchSize=1)
    rnd.submit(contributors[0], 1)
    tx = rnd.score_batch(0, [7_000], rando)
    assert tx.events["VersionAccepted"]["reward"] == 8 * 10**17
    rnd.submit(contributors[1], 2)
    tx = rnd.score_batch(1, [9_000], rando)  # target reached: the rest
    assert tx.events["VersionAccepted"]["reward"] == 2 * 10**17
    assert market.state(rnd.bounty_id) == 3  # Settling: the target ends the bounty


def test_p2_burned_stakes_leave_through_burn(market, requester, staked_oracles, contributor, rando):
    rnd = Round.open(market, requester, staked_oracles[:3], batchSize=1)
    rnd.submit(contributor, 1)
    rnd.score_batch(0, [INVALID], rando)
    assert market.pendingBurn(ETH) == STAKE // 2
    dead = "0x000000000000000000000000000000000000dEaD"
    dead_before = web3.eth.get_balance(dead)
    before = market.balance()
    market.burn(ETH, {"from": rando})
    assert before - market.balance() == STAKE // 2 and market.pendingBurn(ETH) == 0
    assert web3.eth.get_balance(dead) - dead_before == STAKE // 2


def test_c2_members_leave_a_closed_bounty_once(market, requester, staked_oracles, oracle_registry, rando):
    rnd = Round.open(market, requester, staked_oracles[:3])
    with reverts_with("CommitteeTooSmall", rnd.bounty_id, 3, 3):  # before its end, only above 3 members
        market.leaveCommittee(rnd.bounty_id, {"from": staked_oracles[0]})
    market.cancel(rnd.bounty_id, {"from": requester})
    # ended with nothing reportable (review 11, Z and S): the leave just releases, the committee unchanged
    market.leaveCommittee(rnd.bounty_id, {"from": staked_oracles[1]})
    assert oracle_registry.oracleInfo(staked_oracles[1])[2] == 0
    assert market.getBounty(rnd.bounty_id)["drawBlock"] == 0 and len(market.getCommittee(rnd.bounty_id)[0]) == 3
    market.close(rnd.bounty_id, {"from": rando})
    market.leaveCommittee(rnd.bounty_id, {"from": staked_oracles[0]})
    assert oracle_registry.oracleInfo(staked_oracles[0])[2] == 0
    with reverts_with("NotOptedIn", rnd.bounty_id, staked_oracles[0].address):
        market.leaveCommittee(rnd.bounty_id, {"from": staked_oracles[0]})

"""Rule R5 (issue 17): a batch's version may merge several updates, each paid its share of
the version's reward; every decision (scores, the merged model's score, and the merged CID
with the share vector as one vote) is the committee's, and stale updates follow G1 and U1 on
chain. Attacks first."""

from fathom.protocol import settlement as P
from fathom.protocol.payouts import ONE_OFF, GroupTree, leaf
from tests.helpers import reverts_with
from tests.market_helpers import ETH, INVALID, Round, cid

STAKE = 10**16
REWARD = 10**18
HONEST, EVIL = cid(900), cid(901)


def report(scores, merged, shares):
    return P.encode_report(scores, merged, shares)


def everyone(rnd, batch, blob, merged=HONEST, sender=None):
    """Every member reports `blob` and names `merged`; the last one's report settles."""
    for o in rnd.committee[:-1]:
        rnd.report(o, batch, blob, merged)
    return rnd.final_report(rnd.committee[-1], batch, blob, merged)


def merged_events(tx):
    return {e["submissionId"]: (e["contributor"], e["score"], e["share"], e["reward"]) for e in tx.events["UpdateMerged"]}


def test_r5_several_updates_merge_into_one_version_and_split_its_reward_by_share(market, requester, staked_oracles,
                                                                                contributors):
    rnd = Round.open(market, requester, staked_oracles[:3])
    a, b, c = contributors[:3]
    for i, who in enumerate((a, b, c, a)):
        rnd.submit(who, i)
    before = {w: market.claimable(w, ETH) for w in (a, b, c)}
    # 0 and 1 beat the head (shares 3:1); 2 is within the noise; 3 is harmful
    tx = everyone(rnd, 0, report([5_400, 5_200, 5_000, 4_000], 5_600, [7_500, 2_500, 0, 0]))
    v = tx.events["VersionAccepted"]
    reward = REWARD * 600 // 4_000  # linear curve from 5,000 to 9,000: the merged model's progress
    assert (v["version"], v["score"], v["reward"], v["author"], v["submissionId"]) == (1, 5_600, reward, a, 0)
    assert (bytes(v["merged"][0]), v["merged"][1]) == HONEST
    assert merged_events(tx) == {0: (a, 5_400, 7_500, reward * 3 // 4), 1: (b, 5_200, 2_500, reward // 4)}
    assert [e["submissionId"] for e in tx.events["StakeSlashed"]] == [3]
    assert tx.events["BatchSettled"]["rejected"] == 0b0100
    view = market.getBounty(rnd.bounty_id)
    assert (view["headScore"], view["versionCount"], view["paid"]) == (5_600, 1, reward)
    assert market.claimable(b, ETH) - before[b] == STAKE + reward // 4
    assert market.claimable(c, ETH) - before[c] == STAKE  # refunded


def test_r5_shares_sum_to_the_reward_and_the_rounding_dust_stays_in_escrow(market, requester, staked_oracles,
                                                                           contributors):
    """The agreed vector is paid exactly: floor(reward * share / 10,000) each."""
    rnd = Round.open(market, requester, staked_oracles[:3], batchSize=3)
    for i in range(3):
        rnd.submit(contributors[i], i)
    tx = everyone(rnd, 0, report([5_100] * 3, 5_301, [3_333, 3_333, 3_334]))
    reward = tx.events["VersionAccepted"]["reward"]
    parts = [r for *_, r in merged_events(tx).values()]
    assert parts == [reward * 3_333 // 10_000] * 2 + [reward * 3_334 // 10_000]
    assert sum(parts) <= reward < sum(parts) + 3
    assert market.getBounty(rnd.bounty_id)["paid"] == sum(parts)  # the dust is not paid: it stays in escrow


def test_r5_a_minority_cannot_choose_the_merged_cid(market, requester, staked_oracles, contributors):
    """One member of four names its own merged model (a backdoor with the same score): the
    three honest ones are a quorum, their CID is the version's, and the fourth is deviant. Two
    of four (half) cannot choose it either: no vote has a quorum, and the batch is voided."""
    blob = report([5_400, 5_300], 5_500, [6_000, 4_000])
    for evil, expected in ((1, HONEST), (2, None)):
        rnd = Round.open(market, requester, staked_oracles[:4], batchSize=2)
        rnd.submit(contributors[0], 10 * evil)
        rnd.submit(contributors[1], 10 * evil + 1)
        names = [EVIL] * evil + [HONEST] * (4 - evil)
        for o, named in zip(rnd.committee[:3], names):
            rnd.report(o, 0, blob, named)
        tx = rnd.final_report(rnd.committee[3], 0, blob, names[3])
        if expected is None:
            assert "BatchVoided" in tx.events and "VersionAccepted" not in tx.events and "StakeSlashed" not in tx.events
            continue
        v = tx.events["VersionAccepted"]
        assert (bytes(v["merged"][0]), v["merged"][1]) == HONEST
        assert len(tx.events["UpdateMerged"]) == 2
        assert [e["oracle"] for e in tx.events["OracleSlashed"]] == [rnd.committee[0]]


def test_r5_a_committee_split_on_the_merged_cid_accepts_nothing_and_slashes_nobody(market, requester, staked_oracles,
                                                                                   contributors):
    """With no vote named by a quorum (2 of 3 here), no minority's model is taken: the batch is
    voided (R4), every update comes back, and nobody is paid a fee or slashed."""
    rnd = Round.open(market, requester, staked_oracles[:3], batchSize=2)
    rnd.submit(contributors[0], 0)
    rnd.submit(contributors[1], 1)
    blob = report([5_400, 5_300], 5_500, [6_000, 4_000])
    for o, named in zip(rnd.committee[:2], (EVIL, HONEST)):
        rnd.report(o, 0, blob, named)
    tx = rnd.final_report(rnd.committee[2], 0, blob, cid(902))
    assert "VersionAccepted" not in tx.events and "UpdateMerged" not in tx.events and "StakeSlashed" not in tx.events
    assert tx.events["BatchVoided"]["reports"] == 3 and "OracleSlashed" not in tx.events
    assert market.getBounty(rnd.bounty_id)["versionCount"] == 0


def test_r5_a_minority_cannot_inflate_a_share_or_the_merged_score(market, requester, staked_oracles, contributors):
    """One member of three gives all of the reward to its accomplice (submission 1) and
    reports the merged model far higher: the medians are the honest ones."""
    rnd = Round.open(market, requester, staked_oracles[:3], tolerance=10, batchSize=2)
    rnd.submit(contributors[0], 0)
    rnd.submit(contributors[1], 1)
    honest = report([5_400, 5_200], 5_500, [8_000, 2_000])
    rnd.report(rnd.committee[0], 0, honest, HONEST)
    rnd.report(rnd.committee[1], 0, report([5_400, 5_200], 8_999, [0, 10_000]), HONEST)
    tx = rnd.final_report(rnd.committee[2], 0, honest, HONEST)
    assert tx.events["VersionAccepted"]["score"] == 5_500
    assert {i: s for i, (_, _, s, _) in merged_events(tx).items()} == {0: 8_000, 1: 2_000}
    assert [e["oracle"] for e in tx.events["OracleSlashed"]] == [rnd.committee[1]]  # deviant on the merged score


def test_r5_a_copy_given_no_share_is_refunded_and_earns_nothing(market, requester, staked_oracles, contributors):
    """A copy (or near-copy) of an earlier update scores as well as it but gets no share (G3):
    its stake comes back, it is paid nothing and never slashed; the original keeps its share."""
    rnd = Round.open(market, requester, staked_oracles[:3], batchSize=2)
    original, copier = contributors[:2]
    rnd.submit(original, 0)
    rnd.submit(copier, 0)  # the same update
    before = market.claimable(copier, ETH)
    tx = everyone(rnd, 0, report([5_400, 5_400], 5_400, [10_000, 0]))
    assert list(merged_events(tx)) == [0]
    assert merged_events(tx)[0][3] == tx.events["VersionAccepted"]["reward"]
    assert tx.events["BatchSettled"]["rejected"] == 0b10 and "StakeSlashed" not in tx.events
    assert market.claimable(copier, ETH) - before == STAKE


def test_r5_a_merged_one_off_update_is_paid_its_part_through_the_root(market, requester, staked_oracles, contributors):
    rnd = Round.open(market, requester, staked_oracles[:3], batchSize=2)
    a, b = contributors[:2]
    rnd.submit(a, 0, once=True)
    rnd.submit(b, 1)
    tx = everyone(rnd, 0, report([5_400, 5_200], 5_500, [7_500, 2_500]))
    part = merged_events(tx)[0][3]
    root, _ = market.payoutRoot(rnd.bounty_id, 0, 0)
    assert bytes(root) == GroupTree.of({0: leaf(str(a), STAKE + part, ETH)}).root
    assert STAKE + part < ONE_OFF and market.claimable(a, ETH) == 0


def test_g1_a_stale_update_is_refunded_never_merged_nor_slashed(market, requester, staked_oracles, contributors):
    """Updates taken two versions behind become stale (three behind) while an earlier batch
    makes a version: a share on one of them puts the agreed vector over the caps (no version,
    refunded), INVALID is not slashed; one based on version 1 (two behind) is rebased and
    merged; and one based three behind is refused at submission (U1)."""
    rnd = Round.open(market, requester, staked_oracles[:3], batchSize=1)
    for k in range(2):
        rnd.submit(contributors[0], k, base=k)
        everyone(rnd, k, report([5_100 + 100 * k], 5_100 + 100 * k, [10_000]))
    stale = contributors[1]
    before = market.claimable(stale, ETH)
    rnd.submit(contributors[0], 2, base=2)
    rnd.submit(stale, 3, base=0)  # two behind version 2: taken
    rnd.submit(stale, 4, base=0)
    everyone(rnd, 2, report([5_300], 5_300, [10_000]))  # version 3: batches 3 and 4 are now stale
    tx = everyone(rnd, 3, report([5_900], 5_900, [10_000]))
    assert "VersionAccepted" not in tx.events and "UpdateMerged" not in tx.events
    assert tx.events["BatchSettled"]["rejected"] == 1
    tx = everyone(rnd, 4, report([INVALID], INVALID, [0]))
    assert "StakeSlashed" not in tx.events and tx.events["BatchSettled"]["rejected"] == 1
    assert market.claimable(stale, ETH) - before == 2 * STAKE
    rnd.submit(stale, 5, base=1)  # two behind: rebased, scored on the head, merged
    tx = everyone(rnd, 5, report([5_900], 5_900, [10_000]))
    assert list(merged_events(tx)) == [5] and tx.events["VersionAccepted"]["version"] == 4
    with reverts_with("BaseVersionStale", rnd.bounty_id, 1, 4):
        rnd.submit(stale, 6, base=1)

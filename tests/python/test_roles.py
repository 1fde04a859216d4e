"""Rules F4, F5 and F7, every role in process, on anvil: a whole round, and invalid artefacts settled as invalid.

The requester opens a bounty (fathom.roles.requester), contributors train and submit
(fathom.roles.contributor), and three `OracleNode`s tick in turn until each batch is decided.
Every outcome on chain is checked against the rule (`fathom.protocol.settlement.decide_batch`,
the Python model of `settleBatch`), computed from the reports the oracles posted.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from fathom.roles.contributor import claim_payouts, payouts_owed
from fathom.ml import models
from fathom.protocol import settlement as protocol
from fathom.ml.artefacts import pack_update
from fathom.roles.reader import BountyReader
from fathom.chain.client import ETH
from fathom.crypto.envelope import seal_for
from fathom.errors import FathomError
from fathom.chain.market import INVALID, WAD, Market, report_scores
from fathom.protocol import payouts as payouts_mod
from fathom.roles.requester import audit, export_model, lineage, payouts, reveal
from fathom.storage.store import CODEC_RAW, cid_from_chain, cid_to_chain
from fathom.roles.oracle import reports as oracle_reports

from roles_helpers import (  # world, fresh_chain: the module's chain fixtures
    fresh_chain,  # noqa: F401
    world,  # noqa: F401
    DATA,
    SLASH_BPS,
    STAKE,
    World,
    advance_time,
    named,
    open_round,
    random_digest,
    skips,
    terms_of,
)

CONCAVE = {"curveX": [0, WAD // 2, WAD], "curveY": [0, 8 * WAD // 10, WAD]}


def gas_of_last_tx(world: World, sender: str) -> int:
    (tx,) = world.w3.eth.get_block("latest", full_transactions=True)["transactions"]
    assert tx["from"] == sender
    receipt = world.w3.eth.get_transaction_receipt(tx["hash"])
    return receipt["gasUsed"] * receipt["effectiveGasPrice"]


def check_batch_follows_the_rule(rnd, batch: int, terms: protocol.BountyTerms) -> protocol.BatchDecision:
    """The events of a settled batch are exactly what decide_batch predicts from its reports."""
    events = rnd.events()
    members, _, _ = rnd.viewer.committee(rnd.bounty_id)
    subs = sorted(named(events, "SubmissionReceived", batch=batch), key=lambda e: e["submissionId"])
    posted = {e["oracle"]: e for e in named(events, "ReportPosted", batch=batch)}
    reporters = [m for m in members if m in posted]
    full = [protocol.decode_report(bytes(posted[m]["scores"])) for m in reporters]
    decision = protocol.decide_batch(
        terms,
        [protocol.Submission(s["contributor"], s["stake"]) for s in subs],
        [r[0] for r in full],
        first_id=subs[0]["submissionId"],
        merged=[tuple(posted[m]["merged"]) for m in reporters],
        merged_scores=[r[1] for r in full],
        shares=[r[2] for r in full],
        base_versions=[s["baseVersion"] for s in subs],
    )
    if decision.new_version is not None:
        (ev,) = named(events, "VersionAccepted", version=decision.new_version)
        top = decision.accepted
        assert (ev["author"], ev["submissionId"], ev["score"]) == (top.contributor, top.submission_id, decision.head_score_after)
        # R6: floor(R * (c(p_new) - c(p_head))) for the merged model, p measured from the *baseline*
        assert ev["reward"] == terms.reward_at(decision.head_score_after) == decision.reward
        assert ev["parent"] == terms.version_count
        assert tuple(ev["merged"]) == decision.merged
    for d in decision.decisions:
        sid = d.submission_id
        if d.outcome is protocol.Outcome.ACCEPTED:
            (ev,) = named(events, "UpdateMerged", submissionId=sid)
            assert (ev["contributor"], ev["score"], ev["share"], ev["reward"]) == (d.contributor, d.score, d.share, d.reward)
            assert not named(events, "SubmissionRejected", submissionId=sid) + named(events, "StakeSlashed", submissionId=sid)
        elif d.outcome is protocol.Outcome.REJECTED:
            (ev,) = named(events, "SubmissionRejected", submissionId=sid)
            assert (ev["contributor"], ev["score"]) == (d.contributor, d.score)
            assert not named(events, "UpdateMerged", submissionId=sid) + named(events, "StakeSlashed", submissionId=sid)
        else:
            (ev,) = named(events, "StakeSlashed", submissionId=sid)
            assert (ev["contributor"], ev["score"], ev["burned"], ev["returned"]) == (
                d.contributor, d.score, d.burned, d.returned)
            assert not named(events, "UpdateMerged", submissionId=sid) + named(events, "SubmissionRejected", submissionId=sid)
    (settled,) = named(events, "BatchSettled", batch=batch)
    assert (settled["reports"], settled["feeShare"]) == (len(reporters), decision.fee_share)
    assert not named(events, "OracleSlashed", batch=batch), "an honest oracle was slashed"
    return decision


def test_a_full_round_in_process_pays_by_the_rule_and_balances_the_books(world: World, tmp_path):
    rnd = open_round(world, tmp_path, ["c0", "c1", "c2", "harm"], **CONCAVE)
    bid = rnd.bounty_id
    requester = world.market_for(rnd.requester)
    params = requester.opened_params(bid)
    baseline = rnd.view()["baselineScore"]
    assert len(named(rnd.events(), "BaselineReported")) == 3

    # batch 0: three honest updates and a harmful one (its delta reversed and blown up)
    terms0 = terms_of(rnd.view(), params)
    for i, name in enumerate(("c0", "c1", "c2")):  # small steps: room is left for batch 1
        assert rnd.contribute(name, i, lr=0.05, epochs=1).submission_id == i
    rnd.contribute("harm", 3, scale=-25.0)
    rnd.drive(lambda: rnd.view()["nextBatch"] == 1)
    d0 = check_batch_follows_the_rule(rnd, 0, terms0)
    outcomes = [d.outcome for d in d0.decisions]
    # no honest update is reported below the head (F12: a small one is reported at exactly
    # the head's score, "not significant"), at least one significantly above it; R5: every
    # significant one is merged into the one version and paid its share, the rest refunded
    assert all(d.score >= baseline for d in d0.decisions[:3])
    assert any(d.score > baseline for d in d0.decisions[:3])
    assert [o is protocol.Outcome.ACCEPTED for o in outcomes[:3]] == [d.score > baseline for d in d0.decisions[:3]]
    assert all(o is protocol.Outcome.REJECTED for o, d in zip(outcomes[:3], d0.decisions) if d.score == baseline)
    assert d0.new_version == 1 and d0.head_score_after >= max(d.score for d in d0.decisions[:3])
    assert sum(d.reward for d in d0.decisions) <= d0.reward < sum(d.reward for d in d0.decisions) + 3
    assert d0.accepted_index == max(range(3), key=lambda i: (d0.decisions[i].share, -i))
    assert outcomes[3] is protocol.Outcome.SLASHED
    assert d0.decisions[3].burned == STAKE * SLASH_BPS // 10_000
    assert d0.decisions[3].score + params["slashMargin"] < baseline
    # every honest oracle computed the same scores and pinned the same merged model
    reports = named(rnd.events(), "ReportPosted", batch=0)
    assert len({(r["scores"], tuple(r["merged"])) for r in reports}) == 1
    assert d0.merged is not None and rnd.store.has(cid_from_chain(*d0.merged))

    # batch 1 (partial): two more updates on version 1, then the requester cancels
    terms1 = terms_of(rnd.view(), params)
    assert terms1.version_count == 1 and terms1.head_score == d0.head_score_after
    c3 = rnd.contribute("c0", 3, seed=1, epochs=8)
    c4 = rnd.contribute("c1", 4, seed=1, epochs=8)
    assert (c3.base_version, c4.base_version) == (1, 1)
    requester.cancel(bid)
    rnd.drive(lambda: rnd.viewer.state(bid) == "Closed")
    d1 = check_batch_follows_the_rule(rnd, 1, terms1)
    # version 1 merged batch 0's significant updates: these two add nothing significant to it
    # (F12 reports them at the head's score), so they are refunded and nothing is paid
    assert [d.outcome for d in d1.decisions] == [protocol.Outcome.REJECTED] * 2
    assert d1.new_version is None and all(d.score <= d0.head_score_after for d in d1.decisions)
    reveal(requester, rnd.secrets)
    assert rnd.viewer.state(bid) == "Revealed"

    # the lineage and the payouts are what the events say
    events = rnd.events()
    accepted = named(events, "VersionAccepted")
    versions = lineage(rnd.viewer, bid)
    assert versions[0]["version"] == 0 and versions[0]["score"] == baseline
    assert [(v["version"], v["parent"], v["score"], v["author"], v["submission"], v["reward"]) for v in versions[1:]] == [
        (e["version"], e["parent"], e["score"], e["author"], e["submissionId"], e["reward"]) for e in accepted]
    assert [v["parent"] for v in versions[1:]] == [0]
    assert all(b["score"] > a["score"] for a, b in zip(versions, versions[1:]))
    decided = list(d0.decisions) + list(d1.decisions)
    reward_of = {e["submissionId"]: e["reward"] for e in accepted}  # each version's, split by share
    assert reward_of[d0.accepted.submission_id] == terms0.reward_at(d0.head_score_after) == d0.reward > 0
    book = payouts(rnd.viewer, bid)
    for who, row in book.items():
        mine = [d for d in decided if d.contributor == who]
        assert row == {
            "submitted": len(mine),
            "accepted": sum(d.outcome is protocol.Outcome.ACCEPTED for d in mine),
            "rejected": sum(d.outcome is protocol.Outcome.REJECTED for d in mine),
            "slashed": sum(d.outcome is protocol.Outcome.SLASHED for d in mine),
            "reward": sum(d.reward for d in mine),
            "burned": sum(d.burned for d in mine),
        }, who
    assert sum(r["reward"] for r in book.values()) == rnd.view()["paid"] <= params["reward"]

    # everyone claims: each gets exactly what it is owed, and the market keeps only the burn
    fees = d0.fee_share + d1.fee_share
    owed = {p.address: 0 for p in [rnd.requester, *rnd.oracles, *rnd.contributors.values()]}
    for d in decided:
        owed[d.contributor] += d.returned + d.reward
    for o in rnd.oracles:
        owed[o.address] += fees
    closed = named(events, "BountyClosed")[0]
    owed[rnd.requester.address] += closed["rewardRefund"] + closed["feeRefund"] + params["revealBond"]
    assert closed["rewardRefund"] == params["reward"] - rnd.view()["paid"]
    assert closed["feeRefund"] == params["oracleFeePerBatch"] * params["maxBatches"] - 3 * fees
    market_address = world.addresses["BountyMarket"]
    for p in [rnd.requester, *rnd.oracles, *rnd.contributors.values()]:
        before = world.balance(p.address)
        assert world.market_for(p).claim(ETH) == owed[p.address], p.name
        assert world.balance(p.address) - before + gas_of_last_tx(world, p.address) == owed[p.address], p.name
        assert world.market_for(p).claim(ETH) == 0, f"{p.name} could claim twice"
    pending = rnd.viewer.market.functions.pendingBurn(ETH).call()
    assert pending == sum(d.burned for d in decided) > 0
    assert world.balance(market_address) == pending

    # anyone re-scores everything after the reveal and finds the chain right
    report = audit(rnd.viewer, rnd.store, bid)
    assert report["differences"] == []
    assert len(report["versions"]) == len(versions) and report["reports"] == 6
    # updates stay sealed for the committee (F2) until a member discloses their keys: each
    # member's node does so on chain once the bounty is revealed, and the audit opens every
    # update from those KeysDisclosed events alone
    assert report["sealed"] > 0 and not named(rnd.events(), "KeysDisclosed")
    for node in rnd.nodes:
        node.tick()
    disclosures = named(rnd.events(), "KeysDisclosed")
    assert sorted((e["oracle"], e["batch"]) for e in disclosures) == sorted(
        (o.address, k) for o in rnd.oracles for k in (0, 1))
    assert all(len(e["keys"]) == 32 * len(Market.records_of(rnd.events(), bid, e["batch"])) and all(
        any(e["keys"][i:i + 32]) for i in range(0, len(e["keys"]), 32)) for e in disclosures)  # every update opens
    report = audit(rnd.viewer, rnd.store, bid)
    assert report["differences"] == [] and report["sealed"] == 0
    for node in rnd.nodes:  # once per member and batch
        node.tick()
    assert len(named(rnd.events(), "KeysDisclosed")) == len(disclosures)
    # the requester exports the head: the audit's own rebuild of it (parent + update, F5), and
    # it scores at least what the chain records (F12 records the conservative lower bound)
    info = export_model(rnd.viewer, rnd.store, bid, tmp_path / "final", model_key=rnd.secrets.model_key)
    assert info["version"] == versions[-1]["version"]
    manifest = json.loads((tmp_path / "final" / "manifest.json").read_text())
    arrays = {n: np.load(tmp_path / "final" / f"{n}.npy", allow_pickle=False) for n in ("W0", "b0")}
    vX, vy = DATA["validation"]
    assert protocol.quantise(models.score(manifest, arrays, vX, vy), params["resolution"]) >= versions[-1]["score"]
    assert report["versions"][-1]["rescored"] == versions[-1]["score"]  # the audit recomputes the recorded score


def test_invalid_artefacts_are_settled_as_invalid_and_slashed_and_nothing_else_moves(world: World, tmp_path):
    names = ["honest", "copier", "garbage", "shape", "sealed_wrong"]
    rnd = open_round(world, tmp_path, names, batchSize=len(names))
    bid = rnd.bounty_id
    params = rnd.viewer.opened_params(bid)
    terms = terms_of(rnd.view(), params)
    committee = [o.address for o in rnd.oracles]

    honest = rnd.contribute("honest", 0)
    # (a) a copied CID: the author inside the ciphertext is `honest`, not the copier
    rnd.market_of("copier").submit(bid, 0, cid_to_chain(honest.cid))
    # (b) a CID nobody stored: test_a_cid_nobody_stored_is_unavailable_to_every_member_and_slashed
    # (c) garbage bytes, stored and submitted
    rnd.market_of("garbage").submit(bid, 0, cid_to_chain(rnd.store.add(np.random.default_rng(5).bytes(999))))
    # (d) a well-sealed update of the wrong shape (d=9 instead of 8)
    shape = rnd.contributors["shape"]
    recipients = BountyReader(rnd.market_of("shape"), rnd.store, bid, shape.key).recipients()
    wrong = models.make_manifest("softmax", 9, 3)
    blob = pack_update(wrong, {"W0": np.full((9, 3), 0.01, np.float32), "b0": np.zeros(3, np.float32)})
    chain_id, market_address = BountyReader(rnd.viewer, rnd.store, bid).domain
    cid = rnd.store.add(seal_for(blob, recipients, bid, "update", shape.address, chain_id=chain_id, market=market_address))
    rnd.market_of("shape").submit(bid, 0, cid_to_chain(cid))
    # (e) a good update sealed for the requester only: the committee cannot open it
    sw = rnd.contributors["sealed_wrong"]
    right = models.make_manifest("softmax", 8, 3)
    blob = pack_update(right, {"W0": np.full((8, 3), 0.01, np.float32), "b0": np.zeros(3, np.float32)})
    only_requester = {rnd.requester.address: rnd.viewer.public_key(rnd.requester.address)}
    cid = rnd.store.add(seal_for(blob, only_requester, bid, "update", sw.address, chain_id=chain_id, market=market_address))
    rnd.market_of("sealed_wrong").submit(bid, 0, cid_to_chain(cid))

    rnd.drive(lambda: rnd.view()["nextBatch"] == 1)
    reporting = committee
    events = rnd.events()
    # every reporting oracle scored every bad artefact INVALID, and the honest one alike
    reports = named(events, "ReportPosted", batch=0)
    assert sorted(r["oracle"] for r in reports) == sorted(reporting)
    for r in reports:
        scores = report_scores(r["scores"])
        assert scores[1:] == [INVALID] * 4, r["oracle"]
        assert scores[0] != INVALID and scores[0] > terms.head_score
    d = check_batch_follows_the_rule(rnd, 0, terms)
    assert d.accepted_index == 0
    (acc,) = named(events, "VersionAccepted")
    assert acc["author"] == rnd.contributors["honest"].address and acc["submissionId"] == 0
    burned = STAKE * SLASH_BPS // 10_000
    for i, name in enumerate(names[1:], start=1):
        (ev,) = named(events, "StakeSlashed", submissionId=i)
        assert (ev["contributor"], ev["score"], ev["burned"], ev["returned"]) == (
            rnd.contributors[name].address, INVALID, burned, STAKE - burned), name
    # nothing else moves: the honest author is paid by the rule, every reporting oracle earns
    # its share, nobody but the bad submitters loses anything,
    # the requester is owed nothing yet
    viewer = rnd.viewer
    assert viewer.claimable(rnd.contributors["honest"].address) == STAKE + acc["reward"] == STAKE + d.reward > STAKE
    for name in names[1:]:
        assert viewer.claimable(rnd.contributors[name].address) == STAKE - burned, name
    for o in rnd.oracles:
        assert viewer.claimable(o.address) == params["oracleFeePerBatch"] // 3
        assert viewer.registry.functions.oracleInfo(o.address).call()[0] == 2 * WAD
    assert viewer.claimable(rnd.requester.address) == 0
    assert not named(events, "OracleSlashed") and not named(events, "BatchVoided")
    assert viewer.market.functions.pendingBurn(ETH).call() == 4 * burned
    assert rnd.view()["versionCount"] == 1 and rnd.view()["headScore"] == acc["score"]

    # each oracle says why it skipped each artefact
    expected = {1: "AuthorMismatch", 2: "BadMagic", 3: "ModelError", 4: "NotARecipient"}
    for node in rnd.nodes:
        reasons = skips(node, bid)
        assert set(reasons) == set(expected), node.address
        for sid, kind in expected.items():
            assert reasons[sid].startswith(kind + ":"), (sid, reasons[sid])
        assert "shape" in reasons[3]


def test_a_cid_nobody_stored_is_unavailable_to_every_member_and_slashed(world: World, tmp_path):
    """F8, R7a: a submitted CID nobody stored is unavailable, not invalid: no member commits
    before the batch's report deadline (its timeout less half the scoring timeout; the next
    quarter is for the commitments, before the reveal phase, R11), each fetching it again every
    tick. At the deadline every member reports it UNAVAILABLE: a quorum says so, so it is
    invalid and its contributor, whose duty availability is, is slashed; no member is deviant
    on it. Every report is partial (no fee), and votes over what it fetched (R7a): each member
    merges the honest update alone, so all name one vote and the version is made, the honest
    update paid (before, partial reports did not vote: no version, the honest update rejected)."""
    rnd = open_round(world, tmp_path, ["honest", "missing"], batchSize=2)
    bid = rnd.bounty_id
    rnd.contribute("honest", 0)
    rnd.market_of("missing").submit(bid, 0, (random_digest(), CODEC_RAW))
    for _ in range(3):
        for node in rnd.nodes:
            node.tick()
    assert not named(rnd.events(), "ReportCommitted", batch=0) and not named(rnd.events(), "ReportPosted", batch=0)
    assert all(1 not in skips(node, bid) for node in rnd.nodes)
    timeout = rnd.view()["scoringTimeout"]
    advance_time(rnd.world.w3, timeout - timeout // oracle_reports.REPORT_RESERVE + 1)
    rnd.drive(lambda: rnd.view()["nextBatch"] == 1)
    events = rnd.events()
    reports = named(events, "ReportPosted", batch=0)
    assert len(reports) == 3
    for r in reports:
        scores = report_scores(r["scores"])
        assert scores[1] == protocol.UNAVAILABLE and scores[0] not in (INVALID, protocol.UNAVAILABLE), r["oracle"]
    burned = STAKE * SLASH_BPS // 10_000
    (ev,) = named(events, "StakeSlashed", submissionId=1)
    assert (ev["contributor"], ev["score"], ev["burned"]) == (rnd.contributors["missing"].address, INVALID, burned)
    assert len(named(events, "VersionAccepted")) == 1 and not named(events, "BatchVoided")
    assert not [e for e in named(events, "OracleSlashed") if e["amount"]]
    viewer = rnd.viewer
    assert viewer.claimable(rnd.contributors["honest"].address) > STAKE, "merged: its stake back and its reward"
    for o in rnd.oracles:
        assert viewer.claimable(o.address) == 0, "partial reports earn no fee"
        assert viewer.registry.functions.oracleInfo(o.address).call()[0] == 2 * WAD
    for node in rnd.nodes:
        assert "reported UNAVAILABLE" in skips(node, bid)[1]
    # the audit after the reveal lists the UNAVAILABLE slots, and finds no difference in them
    requester = world.market_for(rnd.requester)
    requester.cancel(bid)
    rnd.drive(lambda: rnd.viewer.state(bid) == "Closed")
    reveal(requester, rnd.secrets)
    report = audit(rnd.viewer, rnd.store, bid)
    assert report["differences"] == []
    assert sorted((u["submission"], u["oracle"]) for u in report["unavailable"]) == sorted(
        (1, o.address) for o in rnd.oracles)


def test_the_protocol_model_prices_a_later_version_from_the_baseline_like_the_contract():
    """Regression (fathom/protocol/settlement.py, decide_batch): the reward of an accepted update is
    floor(R * (c(p) - c(p_head))) with p = (score - baseline) / (target - baseline) (R6,
    `BountyMarket._accept`, `BountyTerms.reward_at`). decide_batch once measured p from the
    *head*: equal for version 1, but from version 2 on it under-predicted every reward (the
    full round above saw 0.0595 ETH predicted for 0.3195 ETH paid on chain)."""
    linear = protocol.Curve.linear()
    # version 1 took the head from 5000 to 6000 of a 5000 -> 9000 run: a quarter of R was paid
    terms = protocol.BountyTerms(higher_is_better=True, target=9_000, baseline_score=5_000, head_score=6_000,
                                 reward=WAD, paid=WAD // 4, curve=linear, slash_margin=0, tolerance=0, slash_bps=0,
                                 oracle_fee_per_batch=0, version_count=1)
    d = protocol.decide_batch(terms, [protocol.Submission("0x" + "11" * 20, STAKE)], [[7_000]] * 3)
    assert d.accepted_index == 0
    due = WAD * (7_000 - 5_000) // (9_000 - 5_000) - WAD // 4  # half of R is due in all, a quarter is paid
    assert terms.reward_at(7_000) == due
    assert d.reward == due, f"decide_batch pays {d.reward}, the contract pays {due}"
    assert d.paid_after == WAD // 2


def test_a_version_whose_merged_model_nobody_named_is_rebuilt_from_its_parent_and_update(world: World, tmp_path):
    """Rule F5's gap: members that pinned no merged model name the zero CID; when a quorum
    does, VersionAccepted carries it (R5). The committee (and, after the reveal, anyone)
    rebuilds a version of one merged update as parent + update; a contributor, who cannot
    open updates, gets a plain error instead of a wrong model."""
    from fathom.ml.artefacts import apply_update
    from fathom.roles.reader import BountyReader
    from fathom.chain.market import report_commitment
    from fathom.roles.requester import reveal

    rnd = open_round(world, tmp_path, ["c0", "c1", "c2"], batchSize=3)
    bid = rnd.bounty_id
    for i, name in enumerate(["c0", "c1", "c2"]):
        rnd.contribute(name, i, seed=i)
    base = rnd.view()["headScore"]
    # every member merges submission 0 alone and names no merged model
    blob = protocol.encode_report([base + 3, base + 2, base + 1], base + 3, [protocol.SHARE_TOTAL, 0, 0])
    records = Market.records_of(rnd.events(), bid, 0)
    reports = []
    for oracle in rnd.oracles:
        commitment = report_commitment(bid, 0, oracle.address, b"\x5a" * 32, blob, protocol.ZERO_CID)
        world.market_for(oracle).commit_report(bid, 0, commitment)  # R11: commit, then reveal
        reports.append((blob, protocol.ZERO_CID))
    for oracle in rnd.oracles:
        world.market_for(oracle).report(bid, 0, blob, protocol.ZERO_CID, b"\x5a" * 32)
    world.market_for(rnd.oracles[0]).settle(bid, 0, records, reports)
    (accepted,) = named(rnd.events(), "VersionAccepted")
    assert accepted["submissionId"] == 0 and not any(accepted["merged"][0])

    oracle = BountyReader(world.viewer(), rnd.store, bid, rnd.oracles[1].key)
    parent = oracle.model(0)
    update = oracle.open_update(cid_from_chain(*records[0][3]), records[0][0])
    expected = apply_update(parent, update)
    rebuilt = oracle.model(1)
    for name, arr in expected.arrays.items():
        assert np.array_equal(rebuilt.arrays[name], arr)

    contributor = BountyReader(world.viewer(), rnd.store, bid, rnd.contributors["c1"].key)
    with pytest.raises(FathomError, match="no published merged model"):
        contributor.model(1)

    requester = world.market_for(rnd.requester)
    requester.cancel(bid)
    requester.close(bid)
    reveal(requester, rnd.secrets)
    from fathom.roles.requester import revealed_keys

    vkey, mkey = revealed_keys(world.viewer(), bid)
    # the reveal alone does not open updates (F2: no audit key the requester could derive);
    # a member's disclosure of the update's key does, checked against its key commitment
    anyone = BountyReader(world.viewer(), rnd.store, bid, model_key=mkey, validation_key=vkey)
    with pytest.raises(FathomError, match="no published merged model"):
        anyone.model(1)
    disclosed = oracle.disclose({cid_from_chain(*records[0][3]): records[0][0]})
    assert list(disclosed) == [cid_from_chain(*records[0][3])]
    # a member that discloses wrong keys on chain opens nothing for anyone (each key is checked
    # against its envelope's key commitment, never trusted) ...
    world.market_for(rnd.oracles[2]).disclose_keys(bid, 0, b"\x01" * 32 * len(records))
    assert BountyReader(world.viewer(), rnd.store, bid).disclosed_on_chain() == {}
    # ... and an honest member's node, once the bounty is revealed, discloses every update's key
    rnd.nodes[1].tick()
    on_chain = BountyReader(world.viewer(), rnd.store, bid).disclosed_on_chain()
    assert len(on_chain) == len(records) and on_chain[cid_from_chain(*records[0][3])] == disclosed[
        cid_from_chain(*records[0][3])]
    from_chain = BountyReader(world.viewer(), rnd.store, bid, model_key=mkey, validation_key=vkey, update_keys=on_chain)
    for name, arr in expected.arrays.items():
        assert np.array_equal(from_chain.model(1).arrays[name], arr)
    wrong = BountyReader(world.viewer(), rnd.store, bid, model_key=mkey, update_keys={k: bytes(32) for k in disclosed})
    with pytest.raises(FathomError):
        wrong.model(1)
    anyone = BountyReader(world.viewer(), rnd.store, bid, model_key=mkey, validation_key=vkey, update_keys=disclosed)
    for name, arr in expected.arrays.items():
        assert np.array_equal(anyone.model(1).arrays[name], arr)


def test_u6_p3_a_one_off_contributor_submits_once_and_claims_its_payout_with_a_proof(world: World, tmp_path):
    rnd = open_round(world, tmp_path, ["once", "c1", "c2", "c3"])
    bid = rnd.bounty_id
    c = rnd.contribute("once", 0, stake_from="once")
    assert c.staked_from == "once"
    for i, name in enumerate(("c1", "c2", "c3"), start=1):
        rnd.contribute(name, i, lr=0.05, epochs=1)
    rnd.drive(lambda: rnd.view()["nextBatch"] == 1)
    events = rnd.events()
    (received,) = named(events, "SubmissionReceived", submissionId=c.submission_id)
    assert received["stake"] == STAKE | payouts_mod.ONE_OFF
    # what the batch owes it, from the outcome events alone
    accepted = named(events, "UpdateMerged", submissionId=c.submission_id)
    slashed = named(events, "StakeSlashed", submissionId=c.submission_id)
    assert accepted, "the one-off update is merged"
    expected = (STAKE + accepted[0]["reward"] if accepted else slashed[0]["returned"] if slashed else STAKE)
    me = rnd.market_of("once")
    once = rnd.contributors["once"]
    assert me.claimable(once.address, ETH) == 0  # not credited to a balance (U6)
    owed = payouts_owed(me, once.address)
    assert [(p["bountyId"], p["submissionId"], p["amount"]) for p in owed] == [(bid, c.submission_id, expected)]
    assert payouts_owed(rnd.viewer, rnd.contributors["c1"].address) == []  # c1 staked by transfer: a balance
    before = world.balance(once.address)
    assert [p["amount"] for p in claim_payouts(me, ETH)] == [expected]
    assert world.balance(once.address) - before + gas_of_last_tx(world, once.address) == expected
    assert payouts_owed(me, once.address) == [] and claim_payouts(me, ETH) == []  # once only

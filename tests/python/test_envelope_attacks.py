"""Attacks on the update envelope, played through real oracle nodes (F2).

- framing by key wrapping (issue 14 item 5): a contributor wraps a wrong key for one chosen
  member, or leaves it out, so that it reports INVALID while the others score the update
  and it is slashed as deviant. Now every wrap is deterministic and re-encrypted by every
  opener, and the recipients must be exactly the committee: the update opens for every
  member or for none, and nobody is deviant;
- the requester reads no update before settlement (issue 15 item 2): with everything it
  holds (its key, the validation key, the salt, the model key) it opens nothing;
- front-running (issue 17 item 3): the ciphertext is published only once the submission is
  mined, so a copier that sees what is public before inclusion (the CID in the pending
  transaction) has nothing to open and cannot land a copy first.

The replay of an envelope to another chain or market is tested in `test_crypto.py`
(`test_an_envelope_replayed_to_another_chain_or_market_is_refused`) and here through the
oracles (`test_an_update_sealed_for_another_deployment_is_invalid_for_every_member`).
"""

from __future__ import annotations

import numpy as np
import pytest

from fathom.chain.market import INVALID, report_scores
from fathom.crypto import envelope as crypto
from fathom.crypto.envelope import NotARecipient, WrongKey
from fathom.errors import FathomError
from fathom.ml.artefacts import pack_update
from fathom.roles.contributor import contribute
from fathom.roles.reader import BountyReader
from fathom.storage.store import StoreError, cid_to_chain
from roles_helpers import (  # world, fresh_chain: the module's chain fixtures
    DATA,
    ORACLE_STAKE,
    World,
    fresh_chain,  # noqa: F401
    named,
    open_round,
    skips,
    world,  # noqa: F401
)


def _good_update(rnd) -> bytes:
    X, y = DATA["shard0"]
    head = BountyReader(rnd.viewer, rnd.store, rnd.bounty_id, rnd.oracles[0].key).model(0)
    W = np.zeros((8, 3), np.float32)
    for _ in range(30):  # a few steps of plain softmax regression: a genuine improvement
        logits = X @ (head.arrays["W0"] + W) + head.arrays["b0"]
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        p[np.arange(len(y)), y] -= 1
        W -= 0.5 * (X.T @ p / len(y)).astype(np.float32)
    return pack_update(head.manifest, {"W0": W, "b0": np.zeros(3, np.float32)})


def _framed(rnd, author: str, victim: int, *, leave_out: bool = False) -> bytes:
    """An update whose key is wrapped correctly for every member but `victim` (given a wrong
    key, or left out), bound to this deployment: exactly what an author can write."""
    reader = BountyReader(rnd.viewer, rnd.store, rnd.bounty_id)
    key = crypto.new_key()
    entries = []
    for i, o in enumerate(rnd.oracles):
        pub = rnd.viewer.public_key(o.address)
        if i == victim and leave_out:
            continue
        wrapped = crypto.wrap_key(crypto.new_key() if i == victim else key, pub)
        entries.append(crypto.Recipient(o.address, wrapped, crypto.normalize_public_key(pub)))
    entries.sort(key=lambda r: r.address.lower())
    return crypto._seal(_good_update(rnd), key, entries, rnd.bounty_id, "update", author, crypto.DEFAULT_MAX_ENVELOPE_BYTES,
                        reader.domain)


@pytest.mark.parametrize("leave_out", [False, True], ids=["wrong key for one member", "one member left out"])
def test_framing_by_key_wrapping_slashes_no_member(world: World, tmp_path, leave_out):
    """Issue 14 item 5. On the old code member 2 could not open the update (EnvelopeTampered
    or NotARecipient) and reported INVALID, members 0 and 1 scored it, and member 2 was
    slashed as deviant. Now members 0 and 1 refuse it too (BadWrap), so the three reports
    agree: INVALID, the framer's stake is slashed, and no member is."""
    rnd = open_round(world, tmp_path, ["framer"], batchSize=1)
    bid = rnd.bounty_id
    framer = rnd.contributors["framer"]
    blob = _framed(rnd, framer.address, victim=2, leave_out=leave_out)
    # the members that can open it find the bad wrap themselves (the victim cannot open it)
    for o in rnd.oracles[:2]:
        with pytest.raises(crypto.BadWrap):
            BountyReader(rnd.viewer, rnd.store, bid, o.key).open_update("unused", framer.address, blob=blob)
    cid = rnd.store.add(blob)
    rnd.market_of("framer").submit(bid, 0, cid_to_chain(cid))
    rnd.drive(lambda: rnd.view()["nextBatch"] == 1)
    events = rnd.events()
    reports = named(events, "ReportPosted", batch=0)
    assert len(reports) == 3
    assert all(report_scores(r["scores"]) == [INVALID] for r in reports)
    assert not named(events, "OracleSlashed")
    for o in rnd.oracles:
        assert rnd.viewer.registry.functions.oracleInfo(o.address).call()[0] == ORACLE_STAKE
    (slashed,) = named(events, "StakeSlashed", submissionId=0)
    assert slashed["contributor"] == framer.address and slashed["score"] == INVALID
    reasons = [skips(node, bid).get(0, "") for node in rnd.nodes]
    assert all(reasons), reasons  # every member recorded why it refused the update


def test_an_update_sealed_for_another_deployment_is_invalid_for_every_member(world: World, tmp_path):
    """Issue 15 item 6: an update sealed for another chain or market (a replay) opens for
    every member, but none scores it: its authenticated header names another deployment."""
    rnd = open_round(world, tmp_path, ["replayer"], batchSize=1)
    bid = rnd.bounty_id
    who = rnd.contributors["replayer"]
    reader = BountyReader(rnd.viewer, rnd.store, bid)
    blob = crypto.seal_for(_good_update(rnd), reader.recipients(), bid, "update", who.address,
                           chain_id=reader.domain[0] + 1, market=reader.domain[1])
    rnd.market_of("replayer").submit(bid, 0, cid_to_chain(rnd.store.add(blob)))
    rnd.drive(lambda: rnd.view()["nextBatch"] == 1)
    reports = named(rnd.events(), "ReportPosted", batch=0)
    assert len(reports) == 3 and all(report_scores(r["scores"]) == [INVALID] for r in reports)
    assert all("EnvelopeMismatch" in skips(node, bid).get(0, "") for node in rnd.nodes)
    assert not named(rnd.events(), "OracleSlashed")


def test_the_requester_cannot_open_a_submitted_update_before_settlement(world: World, tmp_path):
    """Issue 15 item 2: the requester holds its account key, the validation key, the salt
    and the model key (and, on the old code, the audit key derived from the validation
    key, which every update was sealed for). With none of them does an update open."""
    rnd = open_round(world, tmp_path, ["c0"], batchSize=2)
    bid = rnd.bounty_id
    made = rnd.contribute("c0", 0)
    assert rnd.view()["nextBatch"] == 0  # not settled: the batch is not even full
    blob = rnd.store.cat(made.cid, 1 << 26)
    header = crypto.read_header(blob)
    assert set(header.recipient_addresses) == {o.address for o in rnd.oracles}
    secrets = rnd.secrets
    with pytest.raises(NotARecipient):
        crypto.open_envelope(blob, rnd.requester.key)
    # the old audit key: keccak("fathom/v1/audit" || validation key) mod (n - 1) + 1
    from eth_utils import keccak

    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    old_audit = (int.from_bytes(keccak(b"fathom/v1/audit" + secrets.validation_key), "big") % (n - 1) + 1).to_bytes(32, "big")
    with pytest.raises(NotARecipient):
        crypto.open_envelope(blob, old_audit)
    for key in (secrets.validation_key, secrets.model_key, secrets.salt):
        with pytest.raises(WrongKey):
            crypto.open_envelope(blob, key=key)
    requester_reader = BountyReader(rnd.viewer, rnd.store, bid, rnd.requester.key, model_key=secrets.model_key,
                                    validation_key=secrets.validation_key)
    with pytest.raises(FathomError):
        requester_reader.open_update(made.cid, rnd.contributors["c0"].address)
    # a committee member does open it
    member = BountyReader(rnd.viewer, rnd.store, bid, rnd.oracles[0].key)
    assert member.open_update(made.cid, rnd.contributors["c0"].address).arrays["W0"].shape == (8, 3)


def test_a_front_run_copy_cannot_land_first(world: World, tmp_path):
    """Issue 17 item 3. A copier (a committee member with a contributor account) watches the
    pending submission: all it sees before inclusion is the CID. On the old order the
    ciphertext was pinned before the transaction was sent, so the copier could fetch it,
    open it, re-seal it under its own name and land first. Now the CID fetches nothing
    until the submission is mined, and the copy comes second (its own batch)."""
    rnd = open_round(world, tmp_path, ["victim", "copier"], batchSize=2)
    bid = rnd.bounty_id
    copier = rnd.contributors["copier"]
    member = rnd.oracles[0]
    seen: dict[str, object] = {}
    victim_market = rnd.market_of("victim")
    submit = victim_market.submit

    def front_run(bounty_id, base, update, **kwargs):
        # the pending transaction is public: its CID is all the copier learns
        from fathom.storage.store import cid_from_chain

        cid = cid_from_chain(*update)
        try:
            blob = rnd.store.cat(cid, 1 << 26)
        except StoreError as exc:
            seen["fetch"] = exc
        else:  # the old order: open it as a member, re-seal it as the copier's, submit first
            reader = BountyReader(rnd.viewer, rnd.store, bid, member.key)
            opened = crypto.open_envelope(blob, member.key)
            copy = crypto.seal_for(opened.plaintext, reader.recipients(), bid, "update", copier.address,
                                   chain_id=reader.domain[0], market=reader.domain[1])
            seen["copy"] = rnd.market_of("copier").submit(bid, 0, cid_to_chain(rnd.store.add(copy)))
        return submit(bounty_id, base, update, **kwargs)

    victim_market.submit = front_run
    made = contribute(victim_market, rnd.store, rnd.contributors["victim"].key, bid, *DATA["shard0"], lr=0.5, epochs=3,
                      batch_size=32)
    assert "copy" not in seen and isinstance(seen["fetch"], StoreError), seen
    assert made.submission_id == 0
    assert rnd.store.cat(made.cid, 1 << 26)  # published once mined
    subs = named(rnd.events(), "SubmissionReceived")
    assert [s["contributor"] for s in subs] == [rnd.contributors["victim"].address]


def test_contribute_publishes_the_ciphertext_only_after_the_submission_is_mined(world: World, tmp_path):
    """The order itself: at the moment `submit` is called the store does not hold the CID;
    right after, it does, and the submitted CID is the one the store computes."""
    rnd = open_round(world, tmp_path, ["c0"], batchSize=2)
    market = rnd.market_of("c0")
    submit = market.submit
    held_at_submit: list[bool] = []

    def watched(bounty_id, base, update, **kwargs):
        from fathom.storage.store import cid_from_chain

        held_at_submit.append(rnd.store.has(cid_from_chain(*update)))
        return submit(bounty_id, base, update, **kwargs)

    market.submit = watched
    made = contribute(market, rnd.store, rnd.contributors["c0"].key, rnd.bounty_id, *DATA["shard0"], lr=0.5, epochs=3,
                      batch_size=32)
    assert held_at_submit == [False]
    assert rnd.store.has(made.cid)
    (sub,) = named(rnd.events(), "SubmissionReceived")
    assert tuple(sub["update"]) == cid_to_chain(made.cid)

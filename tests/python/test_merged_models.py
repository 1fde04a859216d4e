"""Issue 14 item 9, "unchecked merged models": a version's merged-model CID is used only
once it equals parent + the accepted update, recomputed (rule F5).

The attack: the chain names, for an accepted version, a merged model that is not parent +
update (a backdoor with the same score), e.g. a dishonest member's CID winning when the
honest reports split. Before, oracles, export and the audit built on it unchecked, and a
backdoored model passed the audit. Now whoever can open the update rebuilds the version and
uses that, and the audit lists the named CID as a difference.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from fathom.crypto.envelope import seal_with_key
from fathom.ml.artefacts import apply_update, pack_model
from fathom.roles.reader import BountyReader
from fathom.roles.requester import audit, reveal

from roles_helpers import (  # world, fresh_chain: the module's chain fixtures
    World,
    fresh_chain,  # noqa: F401
    named,
    open_round,
    world,  # noqa: F401
)


def _backdoored(rnd, version_model, author: str) -> str:
    """A model that differs from the honest version in one weight (a trigger feature), sealed
    and pinned as the oracles pin merged models."""
    arrays = {k: v.copy() for k, v in version_model.arrays.items()}
    arrays["W0"][0, 0] += np.float32(50.0)
    blob = seal_with_key(pack_model(version_model.manifest, arrays), rnd.secrets.model_key, rnd.bounty_id, "model", author)
    return rnd.store.add(blob)


def test_a_merged_model_that_is_not_parent_plus_update_is_not_used_and_the_audit_reports_it(world: World, tmp_path,
                                                                                         monkeypatch):
    rnd = open_round(world, tmp_path, ["honest"], batchSize=1)
    rnd.contribute("honest", 0)
    rnd.drive(lambda: rnd.view()["nextBatch"] == 1)
    (accepted,) = named(rnd.events(), "VersionAccepted")
    member = BountyReader(rnd.viewer, rnd.store, rnd.bounty_id, rnd.oracles[0].key)
    honest = member.model(1)
    bad_cid = _backdoored(rnd, honest, accepted["author"])

    real_versions = BountyReader.versions

    def forged(self):  # the chain names the backdoored CID for version 1
        out = real_versions(self)
        out[1] = dataclasses.replace(out[1], cid=bad_cid)
        return out

    monkeypatch.setattr(BountyReader, "versions", forged)

    # a contributor cannot open updates: it sees the named model (the residual risk
    # SECURITY.md states); a member rebuilds and uses parent + update
    outsider = BountyReader(rnd.viewer, rnd.store, rnd.bounty_id, rnd.contributors["honest"].key,
                            model_key=rnd.secrets.model_key)
    assert outsider.model(1).arrays["W0"][0, 0] != honest.arrays["W0"][0, 0]
    fresh_member = BountyReader(rnd.viewer, rnd.store, rnd.bounty_id, rnd.oracles[1].key)
    checked = fresh_member.model(1)
    assert checked.pack() == honest.pack()
    assert fresh_member.mismatched == {1: bad_cid}

    # after the reveal, an audit that can open the updates (here as a member; anyone with
    # the keys a member disclosed, F2) reports the named CID
    reveal_after_close(rnd)
    report = audit(rnd.viewer, rnd.store, rnd.bounty_id, private_key=rnd.oracles[2].key)
    assert any("not parent + update" in d["what"] for d in report["differences"])
    monkeypatch.setattr(BountyReader, "versions", real_versions)
    clean = audit(rnd.viewer, rnd.store, rnd.bounty_id, private_key=rnd.oracles[2].key)
    assert not any("not parent + update" in d["what"] for d in clean["differences"])


def reveal_after_close(rnd) -> None:
    requester = rnd.world.market_for(rnd.requester)
    requester.cancel(rnd.bounty_id)
    rnd.drive(lambda: rnd.viewer.state(rnd.bounty_id) == "Settling")
    requester.close(rnd.bounty_id)
    reveal(requester, rnd.secrets)


def test_a_keyring_that_switches_the_confidence_or_the_largest_epsilon_mid_bounty_changes_nothing(world: World, tmp_path,
                                                                                                  monkeypatch):
    """The attack: the requester publishes a new keyring whose brief lowers the acceptance
    rule's confidence (or changes max_epsilon) while batches are scored, so that members
    that read the brief at different times report differently and the minority is slashed
    as deviant. Terms are read from the brief the bounty was opened with (F11, F12)."""
    import json

    from fathom.crypto.envelope import build_keyring
    from fathom.ml import significance
    from fathom.storage.store import cid_to_chain

    rnd = open_round(world, tmp_path, ["c0"], batchSize=1, confidence_bps=9_900)
    bid = rnd.bounty_id
    reader = BountyReader(rnd.viewer, rnd.store, bid, rnd.oracles[0].key)
    members = [o.address for o in rnd.oracles]
    keys = {m: rnd.viewer.public_key(m) for m in members}
    c0 = rnd.contributors["c0"]
    switched = dict(reader.brief, confidence_bps=9_000, max_epsilon=0.5)
    ring = build_keyring(rnd.secrets.model_key, {**keys, c0.address: rnd.viewer.public_key(c0.address)}, bid,
                         rnd.requester.address, note=json.dumps(switched, sort_keys=True).encode())
    rnd.world.market_for(rnd.requester).set_keyring(bid, cid_to_chain(rnd.store.add(ring)))

    fresh = BountyReader(rnd.viewer, rnd.store, bid, rnd.oracles[1].key)
    assert fresh.brief["confidence_bps"] == 9_000 and fresh.brief["max_epsilon"] == 0.5  # what the requester says now
    assert fresh.opening_brief["confidence_bps"] == 9_900 and "max_epsilon" not in fresh.opening_brief

    used: list[int] = []
    real = significance.batch_reports

    def spy(*args, **kwargs):
        used.append(args[8] if len(args) > 8 else kwargs["confidence_bps"])
        return real(*args, **kwargs)

    monkeypatch.setattr(significance, "batch_reports", spy)
    rnd.contribute("c0", 0)  # no DP statement: max_epsilon 0.5 would make it INVALID if it applied
    rnd.drive(lambda: rnd.view()["nextBatch"] == 1, nodes=[rnd.node(0), rnd.node(1), rnd.node(2)])
    assert used and set(used) == {9_900}
    (outcome,) = [e for e in rnd.events() if e.name in ("UpdateMerged", "SubmissionRejected", "StakeSlashed")]
    assert outcome.name != "StakeSlashed"  # not scored INVALID under the switched max_epsilon


def test_a_bounty_whose_opening_brief_names_a_term_no_member_can_apply_is_never_joined(world: World, tmp_path,
                                                                                       monkeypatch):
    """A requester with its own client opens a bounty whose brief names a confidence outside
    the table. Had members joined, every report would fail, the batches would be voided and
    every member slashed for silence; instead each member quarantines it before bonding."""
    rnd = open_round(world, tmp_path, ["c0"], baseline=False)
    real = BountyReader.opening_brief.func
    monkeypatch.setattr(BountyReader, "opening_brief", property(lambda self: {**real(self), "confidence_bps": 1_234}))
    node = rnd.node(0)
    node.tick()
    assert "confidence" in node.quarantined()[rnd.bounty_id]
    _, opted, _ = rnd.viewer.committee(rnd.bounty_id)
    assert opted == 0  # nobody bonded anything for it


def test_a_version_of_several_updates_is_checked_against_them_and_a_planted_weight_is_dropped(world: World, tmp_path,
                                                                                             monkeypatch):
    """R5, F5: a version that merged several updates names the members' merged model. A member
    checks that it is parent + a non-negative combination of the paid updates; the honest one
    is, and is used as named. The attack: the chain names a model with a planted weight (a
    dishonest quorum's): it is not used, the member uses parent + the largest-share update
    (exact, significant on its own), and the named CID is listed as mismatched."""
    rnd = open_round(world, tmp_path, ["c0", "c1"], batchSize=2)
    rnd.contribute("c0", 0, lr=0.05, epochs=1)
    rnd.contribute("c1", 1, lr=0.05, epochs=1)
    rnd.drive(lambda: rnd.view()["nextBatch"] == 1)
    events = rnd.events()
    (accepted,) = named(events, "VersionAccepted")
    assert len(named(events, "UpdateMerged")) == 2, "both honest updates are significant and merged"
    member = BountyReader(rnd.viewer, rnd.store, rnd.bounty_id, rnd.oracles[0].key)
    honest = member.model(1)
    assert member.mismatched == {} and len(member.versions()[1].merged) == 2
    parent = member.model(0)
    assert not np.array_equal(honest.arrays["W0"], parent.arrays["W0"])

    bad_cid = _backdoored(rnd, honest, accepted["author"])
    real_versions = BountyReader.versions

    def forged(self):
        out = real_versions(self)
        out[1] = dataclasses.replace(out[1], cid=bad_cid)
        return out

    monkeypatch.setattr(BountyReader, "versions", forged)
    fresh = BountyReader(rnd.viewer, rnd.store, rnd.bounty_id, rnd.oracles[1].key)
    checked = fresh.model(1)
    assert fresh.mismatched == {1: bad_cid}
    top = fresh.versions()[1]
    alone = apply_update(parent, fresh.open_update(top.update, top.author))
    assert checked.pack() == alone.pack() != honest.pack()
    assert abs(float(checked.arrays["W0"][0, 0]) - float(honest.arrays["W0"][0, 0])) < 1.0  # the planted +50 is gone

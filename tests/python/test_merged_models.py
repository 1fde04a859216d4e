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
from fathom.ml.artefacts import pack_model
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

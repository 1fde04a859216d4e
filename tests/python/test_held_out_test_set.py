"""Rule F14: a held-out final test set, committed to at opening, scored only after the reveal.

The requester seals the test set for itself alone, pins it, and commits to it in the
opening brief (`keccak256(abi.encode(cid, key, salt))`, as the validation commitment);
the reveal publishes its key in a new keyring; anyone then checks the commitment and
scores the head on it, beside the validation score. On anvil, like the other role tests.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fathom.chain.client import ChainError
from fathom.crypto.envelope import NotARecipient, new_key, open_envelope
from fathom.errors import FathomError
from fathom.ml import models
from fathom.roles.requester import audit, check_bounty, held_out_report, metric_terms, publish_test_key, reveal

from roles_helpers import (  # world, fresh_chain: the module's chain fixtures
    fresh_chain,  # noqa: F401
    world,  # noqa: F401
    DATA,
    K,
    MANIFEST,
    World,
    open_round,
    seed_model,
)

TEST_SET = ({"task": "classification", "n_classes": K}, {"X": DATA["shard5"][0], "y": DATA["shard5"][1]})


def _keyrings(rnd) -> int:
    return sum(1 for e in rnd.events() if e.name == "KeyringSet")


def _end(rnd) -> None:
    requester = rnd.world.market_for(rnd.requester)
    requester.cancel(rnd.bounty_id)
    requester.close(rnd.bounty_id)


def test_a_held_out_test_set_is_scored_only_after_the_reveal_beside_the_validation_score(world: World, tmp_path):
    rnd = open_round(world, tmp_path, ["c0"], test_set=TEST_SET)
    bid = rnd.bounty_id
    # before the end: a member reads the commitment, not the set; a stranger reads nothing
    member = held_out_report(rnd.viewer, rnd.store, bid, rnd.oracles[0].key)
    assert member["status"] == "not revealed" and member["rows"] == len(TEST_SET[1]["y"])
    assert held_out_report(rnd.viewer, rnd.store, bid)["status"] == "sealed"
    _end(rnd)
    reveal(world.market_for(rnd.requester), rnd.secrets, rnd.store, rnd.requester.key)
    got = held_out_report(rnd.viewer, rnd.store, bid)  # anyone, after the reveal
    want = models.score(MANIFEST, seed_model(), TEST_SET[1]["X"], TEST_SET[1]["y"])
    assert got["status"] == "scored" and got["score"] == want and got["version"] == 0
    assert got["validation"] == rnd.view()["headScore"]  # shown beside the validation score
    report = audit(rnd.viewer, rnd.store, bid)
    assert report["test_set"]["status"] == "scored" and not report["differences"]


def test_a_requester_that_swaps_the_test_set_after_opening_is_detected(world: World, tmp_path):
    rnd = open_round(world, tmp_path, ["c0"], test_set=TEST_SET)
    bid = rnd.bounty_id
    _end(rnd)
    # the requester publishes the key and salt of another set (its own better-looking one),
    # in a brief that also names that other set: the opening brief's commitment decides
    swapped = dataclasses.replace(rnd.secrets, test_key=new_key(), test_salt=bytes(32))
    reveal(world.market_for(rnd.requester), swapped, rnd.store, rnd.requester.key)
    got = held_out_report(rnd.viewer, rnd.store, bid)
    assert got["status"] == "mismatch" and "score" not in got
    report = audit(rnd.viewer, rnd.store, bid)
    assert [d["what"] for d in report["differences"]] == ["the held-out test set"]
    # publishing the right key later does not hide the swap attempt from the record, but the
    # committed set is then scored (the latest published key is the one checked)
    publish_test_key(world.market_for(rnd.requester), rnd.store, rnd.requester.key, rnd.secrets)
    assert held_out_report(rnd.viewer, rnd.store, bid)["status"] == "scored"


def test_the_held_out_test_set_is_never_readable_before_close(world: World, tmp_path):
    rnd = open_round(world, tmp_path, ["c0"], test_set=TEST_SET)
    bid = rnd.bounty_id
    blob = rnd.store.cat(rnd.secrets.test_cid, 1 << 24)
    # sealed for the requester alone: no member, no admitted contributor opens it
    for party in [*rnd.oracles, rnd.contributors["c0"]]:
        with pytest.raises(NotARecipient):
            open_envelope(blob, private_key=party.key)
    # the brief, which the committee reads, carries the commitment, never the key
    member_brief = str(held_out_report(rnd.viewer, rnd.store, bid, rnd.oracles[1].key))
    assert rnd.secrets.test_key.hex() not in member_brief and rnd.secrets.test_salt.hex() not in member_brief
    # the tools publish the key only after the on-chain reveal, which waits for the end
    before = _keyrings(rnd)
    with pytest.raises(FathomError, match="not revealed"):
        publish_test_key(world.market_for(rnd.requester), rnd.store, rnd.requester.key, rnd.secrets)
    with pytest.raises(ChainError):
        reveal(world.market_for(rnd.requester), rnd.secrets, rnd.store, rnd.requester.key)
    assert _keyrings(rnd) == before
    assert held_out_report(rnd.viewer, rnd.store, bid, rnd.oracles[0].key)["status"] == "not revealed"


def test_a_bounty_without_a_test_set_says_so_and_reveal_needs_no_store(world: World, tmp_path):
    rnd = open_round(world, tmp_path, ["c0"])
    _end(rnd)
    reveal(world.market_for(rnd.requester), rnd.secrets)
    assert held_out_report(rnd.viewer, rnd.store, rnd.bounty_id)["status"] == "none"


def test_bounty_open_refuses_a_test_set_that_does_not_fit_the_model():
    vX, vy = DATA["validation"]
    validation = ({"task": "classification", "n_classes": K}, {"X": vX, "y": vy})
    wide = ({"task": "classification", "n_classes": K}, {"X": np.zeros((10, 5), np.float32), "y": np.zeros(10, np.int64)})
    with pytest.raises(FathomError, match="test set does not fit"):
        check_bounty((MANIFEST, seed_model()), validation, metric_terms("accuracy"), wide)

"""Rule U1 / G1 (issue 17, review F3): an update based more than MAX_LAG versions behind the
head could only be refunded, so stale junk filled batch slots for free. The market refuses it
(`BaseVersionStale`, forge `test_attack_stale_junk_fills_batch_slots_for_free`); the
contributor's tools say so before sending anything."""

import pytest

from fathom.errors import FathomError
from fathom.protocol.settlement import MAX_LAG
from fathom.roles.contributor import submit_then_publish


class _Market:
    """The two calls `submit_then_publish` makes: the head, then the submission."""

    def __init__(self, head: int):
        self.head = head
        self.sent: list[tuple] = []

    def bounty(self, bounty_id: int) -> dict:
        return {"versionCount": self.head}

    def submit(self, bounty_id, base, update, stake_from="wallet"):
        self.sent.append((bounty_id, base, update))
        return len(self.sent) - 1


class _Store:
    def __init__(self):
        self.added: list[bytes] = []

    def add(self, blob: bytes) -> str:
        from fathom.storage.store import compute_cid

        self.added.append(blob)
        return compute_cid(blob)


def test_attack_stale_junk_fills_batch_slots_for_free_is_refused_before_sending():
    """Training outlasted three versions: the update (trained on version 0, the head now 3) is
    refused with the rule named, and nothing is submitted nor published."""
    market, store = _Market(head=MAX_LAG + 1), _Store()
    with pytest.raises(FathomError, match=r"version 3.*trained on version 0.*BaseVersionStale.*nothing was sent"):
        submit_then_publish(market, store, 7, 0, b"sealed update")
    assert market.sent == [] and store.added == []


def test_an_update_max_lag_versions_behind_is_still_sent_and_rebased():
    """G1: MAX_LAG versions behind is rebased by the oracles, so it is sent."""
    market, store = _Market(head=MAX_LAG + 1), _Store()
    submission, cid = submit_then_publish(market, store, 7, 1, b"sealed update")
    assert submission == 0 and market.sent[0][1] == 1 and store.added == [b"sealed update"]

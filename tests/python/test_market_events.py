"""fathom.chain.market.with_rejections: the per-submission rejections that BatchSettled reports as bits."""

from __future__ import annotations

import pytest

from fathom.errors import FathomError
from fathom.chain.market import INVALID, Event, encode_scores, with_rejections


def received(sid: int, batch: int, who: str, block: int) -> Event:
    return Event("SubmissionReceived", {"bountyId": 7, "submissionId": sid, "contributor": who, "batch": batch}, block, "0x01", 0)


def settled(batch: int, rejected: int, scores: list[int], block: int) -> Event:
    args = {"bountyId": 7, "batch": batch, "reports": 3, "feeShare": 0, "rejected": rejected, "scores": encode_scores(scores)}
    return Event("BatchSettled", args, block, "0x%02x" % block, 5)


def test_each_rejected_bit_becomes_a_record_with_its_contributor_and_median_before_its_batch_settled():
    # batch 1 of size 3 (ids 3-5) arrives in an order other than id order
    events = [received(4, 1, "0xB", 10), received(3, 1, "0xA", 10), received(5, 1, "0xC", 11),
              settled(1, 0b101, [6_000, 7_000, INVALID], 12)]
    out = with_rejections(events)
    rej = [e for e in out if e.name == "SubmissionRejected"]
    assert [(e["submissionId"], e["contributor"], e["score"], e["batch"]) for e in rej] == [(3, "0xA", 6_000, 1), (5, "0xC", INVALID, 1)]
    assert [e.name for e in out[-3:]] == ["SubmissionRejected", "SubmissionRejected", "BatchSettled"]
    assert all((e.block, e.tx) == (12, "0x0c") for e in rej)  # the settlement's block and transaction
    assert with_rejections(out) == out  # applying it twice adds nothing


def test_a_batch_without_rejections_adds_nothing():
    events = [received(0, 0, "0xA", 1), settled(0, 0, [7_000], 2)]
    assert with_rejections(events) == events


def test_rejections_of_a_batch_whose_submissions_are_not_all_in_view_use_the_batch_size_or_say_so():
    # the last, partial batch 2 of a bounty with batches of 4: ids 8-10; the view starts after 8
    events = [received(9, 2, "0xB", 29), received(10, 2, "0xC", 29), settled(2, 0b011, [7_000, 5_000, 6_000], 30)]
    out = with_rejections(events, lambda bounty: 4)
    rej = [(e["submissionId"], e["contributor"], e["score"]) for e in out if e.name == "SubmissionRejected"]
    assert rej == [(8, None, 7_000), (9, "0xB", 5_000)]
    with pytest.raises(FathomError, match="batch 2: 1 of its 3 submissions are not among the events"):
        with_rejections(events)

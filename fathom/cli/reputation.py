"""`fathom reputation ADDRESS`: what an address did, counted from events alone.

These are views, not scores: nothing is kept in contract storage (every counter written
on chain would cost every contributor gas) and nobody is locked out by a formula.
"""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address

from fathom.chain.market import Market, with_rejections

COUNTERS = (
    "submissions_accepted", "submissions_rejected", "submissions_slashed",
    "reports_posted", "reports_slashed",
    "bounties_opened", "bounties_closed", "bounties_revealed",
)


def reputation(market: Market, address: str, events: list[Any] | None = None) -> dict[str, int]:
    who = to_checksum_address(address)
    counts = dict.fromkeys(COUNTERS, 0)
    mine: set[int] = set()
    evs = market.events(outcomes=True) if events is None else with_rejections(events)
    for ev in evs:
        a = ev.args
        if ev.name == "BountyOpened" and a["requester"] == who:
            counts["bounties_opened"] += 1
            mine.add(int(a["bountyId"]))
        elif ev.name == "UpdateMerged" and a["contributor"] == who:
            counts["submissions_accepted"] += 1
        elif ev.name == "SubmissionRejected" and a["contributor"] == who:
            counts["submissions_rejected"] += 1
        elif ev.name == "StakeSlashed" and a["contributor"] == who:
            counts["submissions_slashed"] += 1
        elif ev.name == "ReportPosted" and a["oracle"] == who:
            counts["reports_posted"] += 1
        elif ev.name == "OracleSlashed" and a["oracle"] == who:
            counts["reports_slashed"] += 1
        elif ev.name == "BountyClosed" and int(a["bountyId"]) in mine:
            counts["bounties_closed"] += 1
        elif ev.name == "ValidationRevealed" and int(a["bountyId"]) in mine:
            counts["bounties_revealed"] += 1
    return counts

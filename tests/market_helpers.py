"""Building bounties and driving rounds in the brownie suites.

A `Round` keeps the records and reports the chain commits to (as an indexer would
from SubmissionReceived and ReportPosted events) so tests can settle batches, either
with `settleBatch` or, as oracles do, with the last member's `reportAndSettle`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from brownie import chain
from eth_abi import encode
from eth_utils import keccak

WAD = 10**18
RAW = 0x55
INVALID = 2**32 - 1
ETH = "0x0000000000000000000000000000000000000000"


def cid(n: int) -> tuple[bytes, int]:
    return (keccak(b"cid-%d" % n), RAW)


def commitment(validation_cid: tuple[bytes, int], key: bytes, salt: bytes) -> bytes:
    return keccak(encode(["(bytes32,uint8)", "bytes32", "bytes32"], [validation_cid, key, salt]))


VALIDATION_CID = cid(999)
VALIDATION_KEY = b"\x11" * 32
SALT = b"\x22" * 32

PARAM_ORDER = [
    "token", "reward", "stake", "oracleFeePerBatch", "maxBatches", "revealBond", "slashBps", "batchSize",
    "scoringTimeout", "deadline", "revealWindow", "higherIsBetter", "target", "slashMargin", "tolerance",
    "resolution", "metric", "trustSingleOracle", "committee", "curveX", "curveY", "initialModel", "keyring",
    "validationCommitment",
]


def params(committee: list[Any], token: Any = ETH, **overrides: Any) -> tuple:
    p = {
        "token": token,
        "reward": 10**18,
        "stake": 10**16,
        "oracleFeePerBatch": 3 * 10**15,
        "maxBatches": 10,
        "revealBond": 10**16,
        "slashBps": 5_000,
        "batchSize": 4,
        "scoringTimeout": 3600,
        "deadline": chain.time() + 7 * 86400,
        "revealWindow": 86400,
        "higherIsBetter": True,
        "target": 9_000,  # e.g. accuracy 0.9000 at resolution 1e-4
        "slashMargin": 100,
        "tolerance": 5,
        "resolution": 10**14,
        "metric": b"accuracy".ljust(32, b"\0"),
        "trustSingleOracle": False,
        "committee": committee,
        "curveX": [0, WAD],
        "curveY": [0, WAD],
        "initialModel": cid(1),
        "keyring": cid(2),
        "validationCommitment": commitment(VALIDATION_CID, VALIDATION_KEY, SALT),
    }
    p.update(overrides)
    return tuple(p[k] for k in PARAM_ORDER), p


def escrow_total(p: dict) -> int:
    return p["reward"] + p["oracleFeePerBatch"] * p["maxBatches"] + p["revealBond"]


def encode_scores(scores: list[int]) -> bytes:
    return b"".join(s.to_bytes(4, "big") for s in scores)


def pack_records(records: list[tuple]) -> bytes:
    """Records as reportAndSettle takes them: 69 bytes each, packed (contributor, uint96 stake,
    uint32 baseVersion, update digest, uint8 codec)."""
    from eth_abi.packed import encode_packed

    return b"".join(
        encode_packed(["address", "uint96", "uint32", "bytes32", "uint8"], [str(who), stake, base, update[0], update[1]])
        for who, stake, base, update in records
    )


@dataclass
class Round:
    market: Any
    bounty_id: int
    committee: list[Any]
    records: dict[int, list[tuple]] = field(default_factory=dict)
    reports: dict[int, dict[int, tuple]] = field(default_factory=dict)

    @classmethod
    def open(cls, market: Any, requester: Any, committee: list[Any], token: Any = None, baseline: int = 5_000, **overrides: Any) -> "Round":
        tok = token.address if token is not None else ETH
        tup, p = params(committee, tok, **overrides)
        total = escrow_total(p)
        if token is not None:
            token.approve(market, total, {"from": requester})
            tx = market.createBounty(tup, {"from": requester})
        else:
            tx = market.createBounty(tup, {"from": requester, "value": total})
        rnd = cls(market, tx.events["BountyOpened"]["bountyId"], list(committee))
        if baseline is not None:
            for o in committee:
                market.joinCommittee(rnd.bounty_id, {"from": o})
            for o in committee:
                market.reportBaseline(rnd.bounty_id, baseline, {"from": o})
        return rnd

    def submit(self, contributor: Any, n: int, base: int = 0, token: Any = None, value: int | None = None):
        b = self.market.getBounty(self.bounty_id)
        stake = b["stake"]
        if token is not None:
            token.approve(self.market, stake, {"from": contributor})
            tx = self.market.submitUpdate(self.bounty_id, base, cid(n), {"from": contributor})
        else:
            tx = self.market.submitUpdate(self.bounty_id, base, cid(n), {"from": contributor, "value": stake if value is None else value})
        ev = tx.events["SubmissionReceived"]
        self.records.setdefault(ev["batch"], []).append((contributor.address, ev["stake"], base, cid(n)))
        return tx

    def report(self, oracle: Any, batch: int, scores: list[int], merged: tuple[bytes, int] = (b"\0" * 32, 0)):
        tx = self.market.report(self.bounty_id, batch, encode_scores(scores), merged, {"from": oracle})
        self.reports.setdefault(batch, {})[self.committee.index(oracle)] = (encode_scores(scores), merged)
        return tx

    def batch_reports(self, batch: int, without: Any = None) -> list[tuple]:
        """The batch's posted reports in committee order (less `without`'s, if given)."""
        skip = self.committee.index(without) if without is not None else None
        return [self.reports[batch][i] for i in sorted(self.reports.get(batch, {})) if i != skip]

    def settle(self, batch: int, sender: Any):
        return self.market.settleBatch(self.bounty_id, batch, self.records[batch], self.batch_reports(batch), {"from": sender})

    def final_report(self, oracle: Any, batch: int, scores: list[int], merged: tuple[bytes, int] = (b"\0" * 32, 0)):
        """`oracle` reports and settles the batch in one transaction (reportAndSettle)."""
        tx = self.market.reportAndSettle(
            self.bounty_id, batch, encode_scores(scores), merged, pack_records(self.records[batch]),
            self.batch_reports(batch, without=oracle), {"from": oracle},
        )
        self.reports.setdefault(batch, {})[self.committee.index(oracle)] = (encode_scores(scores), merged)
        return tx

    def score_batch(self, batch: int, scores: list[int], sender: Any = None, merged: tuple[bytes, int] | None = None):
        """Every member reports `scores`; the last one's report settles the batch."""
        merged = merged or (keccak(b"merged-%d" % batch), RAW)
        for o in self.committee[:-1]:
            self.report(o, batch, scores, merged)
        return self.final_report(self.committee[-1], batch, scores, merged)

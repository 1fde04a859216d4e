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

from fathom.chain.market import decode_scores, report_commitment
from fathom.protocol import settlement as P

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


def encode_scores(scores: list[int] | bytes, higher: bool = True) -> bytes:
    """A report's bytes: `scores` as they are when already encoded (`encode_report`), else a
    report that merges its own best submission only (`one_winner_report`, in the bounty's
    direction `higher`)."""
    if isinstance(scores, (bytes, bytearray)):
        return bytes(scores)
    return P.encode_scores(scores, higher_is_better=higher)


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
    queued: dict[int, dict[int, tuple]] = field(default_factory=dict)  # committed, not revealed (R11)

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

    def record(self, ev: Any, contributor: str, base: int, update: tuple[bytes, int], stake: int | None = None) -> None:
        """Keeps the record of the submission that SubmissionReceived `ev` reports, under its
        batch (submissionId / batchSize: the event leaves it out), for settling the batch."""
        size = self.market.getBounty(self.bounty_id)["batchSize"]
        self.records.setdefault(ev["submissionId"] // size, []).append(
            (contributor, ev["stake"] if stake is None else stake, base, update))

    def submit(self, contributor: Any, n: int, base: int = 0, token: Any = None, value: int | None = None, once: bool = False):
        """`contributor` stakes by transfer: submitUpdate, or submitUpdateOnce if `once`."""
        b = self.market.getBounty(self.bounty_id)
        stake = b["stake"]
        fn = self.market.submitUpdateOnce if once else self.market.submitUpdate
        if token is not None:
            token.approve(self.market, stake, {"from": contributor})
            tx = fn(self.bounty_id, base, cid(n), {"from": contributor})
        else:
            tx = fn(self.bounty_id, base, cid(n), {"from": contributor, "value": stake if value is None else value})
        ev = tx.events["SubmissionReceived"]
        self.record(ev, contributor.address, base, cid(n))
        return tx

    def submit_from_balance(self, contributor: Any, n: int, base: int = 0):
        """`contributor` stakes from its claimable balance (submitUpdateFromBalance)."""
        tx = self.market.submitUpdateFromBalance(self.bounty_id, base, cid(n), {"from": contributor})
        ev = tx.events["SubmissionReceived"]
        self.record(ev, contributor.address, base, cid(n))
        return tx

    @property
    def higher(self) -> bool:
        """Whether the bounty's metric is better higher (how a one-winner report picks its best)."""
        return bool(self.market.getBounty(self.bounty_id)["higherIsBetter"])

    # R11: a report is the reveal of a commitment. `report` commits, and reveals the queued
    # reports of the batch (in the order they were made) as soon as the reveal phase opens:
    # when every opted-in member committed, or when `reveal_queued` moves time to revealAt.
    def _send(self, fn: Any, oracle: Any, *args: Any) -> Any:
        return fn(*args, {"from": oracle})

    def salt(self, oracle: Any, batch: int) -> bytes:
        return keccak(b"salt-%d-%d-" % (self.bounty_id, batch) + bytes.fromhex(str(getattr(oracle, "address", oracle))[2:]))

    def commit(self, oracle: Any, batch: int, scores: list[int], merged: tuple[bytes, int] = (b"\0" * 32, 0)):
        address = str(getattr(oracle, "address", oracle))
        c = report_commitment(self.bounty_id, batch, address, self.salt(oracle, batch), encode_scores(scores, self.higher), merged)
        tx = self._send(self.market.commitReport, oracle, self.bounty_id, batch, c)
        self.queued.setdefault(batch, {})[self.committee.index(oracle)] = (oracle, scores, merged)
        return tx

    def reveal_open(self, batch: int) -> bool:
        committed, reveal_at, sitting_out = self.market.getCommits(self.bounty_id, batch)
        reported = self.market.getBatch(self.bounty_id, batch)[2]
        duty = self.market.getCommittee(self.bounty_id)[1] & ~sitting_out
        return reported != 0 or committed == duty or chain.time() >= reveal_at

    def reveal(self, oracle: Any, batch: int):
        """`oracle` reveals the report it committed to."""
        _, scores, merged = self.queued[batch].pop(self.committee.index(oracle))
        tx = self._send(self.market.report, oracle, self.bounty_id, batch, encode_scores(scores, self.higher), merged,
                        self.salt(oracle, batch))
        self.reports.setdefault(batch, {})[self.committee.index(oracle)] = (encode_scores(scores, self.higher), merged)
        return tx

    def reveal_queued(self, batch: int, wait: bool = True, skip: Any = None):
        """Reveals every queued report of the batch but `skip`'s (moving time to its reveal
        phase if `wait`)."""
        tx = None
        if not [i for i in self.queued.get(batch, {}) if skip is None or i != self.committee.index(skip)]:
            return tx
        if not self.reveal_open(batch):
            if not wait:
                return tx
            reveal_at = self.market.getCommits(self.bounty_id, batch)[1]
            chain.sleep(max(0, reveal_at - chain.time()))
            chain.mine()
        for i in sorted(self.queued[batch]):
            if skip is None or i != self.committee.index(skip):
                tx = self.reveal(self.queued[batch][i][0], batch)
        return tx

    def report(self, oracle: Any, batch: int, scores: list[int], merged: tuple[bytes, int] = (b"\0" * 32, 0)):
        """`oracle` commits to its report; the queued reports are revealed once every opted-in
        member committed (returns the reveal's transaction then, else the commitment's)."""
        queued = self.queued.get(batch, {}).get(self.committee.index(oracle))
        if queued is None or queued[1:] != (scores, merged):  # committed to this report already: reveal it
            tx = self.commit(oracle, batch, scores, merged)
        else:
            tx = None
        if self.reveal_open(batch):
            return self.reveal_queued(batch, wait=False)
        return tx

    def batch_reports(self, batch: int, without: Any = None) -> list[tuple]:
        """The batch's posted reports in committee order (less `without`'s, if given)."""
        skip = self.committee.index(without) if without is not None else None
        return [self.reports[batch][i] for i in sorted(self.reports.get(batch, {})) if i != skip]

    def settle(self, batch: int, sender: Any):
        self.reveal_queued(batch)
        return self.market.settleBatch(self.bounty_id, batch, self.records[batch], self.batch_reports(batch), {"from": sender})

    def final_report(self, oracle: Any, batch: int, scores: list[int], merged: tuple[bytes, int] = (b"\0" * 32, 0)):
        """`oracle` commits to its report, the queued reports are revealed (the reveal phase is
        open once it commits, or after a wait), and it reveals and settles the batch in one
        transaction (reportAndSettle)."""
        if self.committee.index(oracle) not in self.queued.get(batch, {}):
            self.commit(oracle, batch, scores, merged)
        _, scores, merged = self.queued[batch][self.committee.index(oracle)]
        self.reveal_queued(batch, skip=oracle)
        tx = self.market.reportAndSettle(
            self.bounty_id, batch, encode_scores(scores, self.higher), merged, self.salt(oracle, batch), pack_records(self.records[batch]),
            self.batch_reports(batch, without=oracle), {"from": oracle},
        )
        self.queued[batch].pop(self.committee.index(oracle))
        self.reports.setdefault(batch, {})[self.committee.index(oracle)] = (encode_scores(scores, self.higher), merged)
        return tx

    def score_batch(self, batch: int, scores: list[int], sender: Any = None, merged: tuple[bytes, int] | None = None):
        """Every member reports `scores`; the last one's report settles the batch."""
        merged = merged or (keccak(b"merged-%d" % batch), RAW)
        for o in self.committee[:-1]:
            self.report(o, batch, scores, merged)
        return self.final_report(self.committee[-1], batch, scores, merged)


def settled_scores(tx: Any) -> list[int]:
    """The median score of each of the settled batch's submissions (BatchSettled.scores)."""
    raw = tx.events["BatchSettled"]["scores"]
    return decode_scores(bytes.fromhex(raw[2:]) if isinstance(raw, str) else bytes(raw))


def rejected(tx: Any, rnd: "Round") -> list[dict[str, Any]]:
    """The submissions `tx`'s settlement rejected (stake back in full), in id order, from
    its BatchSettled event: bit i of `rejected` is the batch's i-th submission, whose
    median is the i-th 4 bytes of `scores`."""
    if "BatchSettled" not in tx.events:
        return []
    ev = tx.events["BatchSettled"]
    scores = settled_scores(tx)
    batch = ev["batch"]
    first = batch * rnd.market.getBounty(rnd.bounty_id)["batchSize"]
    return [{"submissionId": first + i, "contributor": rnd.records[batch][i][0], "score": scores[i]}
            for i in range(len(scores)) if ev["rejected"] >> i & 1]


# --- attacker contracts and conservation (tests/unitary/*/test_attackers.py) ---


def send(fn: Any, who: Any, *args: Any, value: int = 0):
    """`who` calls `fn(*args)` with `value` wei: an account directly, an AttackerActor
    (contracts/test/AttackerActor.sol) through its owner's `exec`."""
    if hasattr(who, "exec"):
        from brownie import accounts

        return who.exec(fn._address, fn.encode_input(*args), {"from": accounts.at(who.owner()), "value": value})
    return fn(*args, {"from": who, "value": value})


def eth_owed(market: Any, holders: list[Any], forfeited: tuple[int, ...] = ()) -> int:
    """What the market owes in ETH, from its views: the holders' claimable balances, pending
    burns, and per ETH bounty the unspent reward and fee escrow (until closed), the stakes of
    undecided batches and the reveal bond (once `forfeited`, the unclaimed shares of it)."""
    total = sum(market.claimable(h, ETH) for h in holders) + market.pendingBurn(ETH)
    for i in range(1, market.bountyCount() + 1):
        b = market.getBounty(i)
        if b["token"] != ETH:
            continue
        if b["closedAt"] == 0:
            total += b["reward"] - b["paid"] + b["oracleFeePerBatch"] * b["maxBatches"] - b["feesPaid"]
        total += max(0, b["submissionCount"] - b["nextBatch"] * b["batchSize"]) * b["stake"]
        if i in forfeited:  # shares not yet claimed, even after a late reveal
            authors = sum(market.versionAuthor(i, v) != ETH for v in range(1, b["versionCount"] + 1))
            total += market.bondShare(i) * authors
        elif not b["revealed"]:
            total += b["revealBond"]
    return total


def owed_in_token(market: Any, token: Any, rounds: list["Round"], accounts: list[Any]) -> int:
    """What the market owes in the ERC-20 `token`, from its views and the rounds' records:
    pending burns, the claimable balances of `accounts`, and for each round's bounty its
    open escrow and unpaid fees until close, its reveal bond until the reveal, and the
    stakes of batches not yet decided. The market has no per-token total; `rounds` and
    `accounts` must cover every bounty and holder in `token`, and no bond may have been
    forfeited (bondSettled is not readable)."""
    addr = token.address
    total = market.pendingBurn(addr) + sum(market.claimable(a, addr) for a in {str(a) for a in accounts})
    for rnd in rounds:
        v = market.getBounty(rnd.bounty_id)
        if v["token"] != addr:
            continue
        if v["closedAt"] == 0:
            total += v["reward"] - v["paid"] + v["oracleFeePerBatch"] * v["maxBatches"] - v["feesPaid"]
        if not v["revealed"]:
            total += v["revealBond"]
        total += sum(rec[1] for batch, recs in rnd.records.items() if batch >= v["nextBatch"] for rec in recs)
    return total


ZERO_CID = (b"\0" * 32, 0)


def arm(actor: Any, fn: Any, *args: Any, value: int = 0) -> None:
    """Arm an AttackerActor to call `fn(*args)` (with `value` of its own wei) when ETH next arrives."""
    actor.arm(fn._address, value, fn.encode_input(*args), {"from": actor.owner()})


def attempts(actor: Any) -> list[tuple[bool, bytes]]:
    """What each armed call of an AttackerActor returned so far: (success, return or revert data)."""
    return [(ok, bytes(ret)) for ok, ret in (actor.attempt(i) for i in range(actor.attempts()))]


def err(signature: str, *args: Any) -> bytes:
    """The revert data of a custom error, e.g. err("NothingToClaim(address,address)", who, ETH)."""
    types = [t for t in signature[signature.index("(") + 1:-1].split(",") if t]
    return keccak(text=signature)[:4] + encode(types, list(args))


class ActorRound(Round):
    """A Round (ETH bounties) whose requester, contributors and members may be AttackerActors:
    every call goes through `send`."""

    @classmethod
    def open(cls, market: Any, requester: Any, committee: list[Any], token: Any = None, baseline: int = 5_000,
             **overrides: Any) -> "ActorRound":
        tup, p = params([m.address for m in committee], **overrides)
        tx = send(market.createBounty, requester, tup, value=escrow_total(p))
        rnd = cls(market, tx.events["BountyOpened"]["bountyId"], list(committee))
        if baseline is not None:
            for o in committee:
                send(market.joinCommittee, o, rnd.bounty_id)
            for o in committee:
                send(market.reportBaseline, o, rnd.bounty_id, baseline)
        return rnd

    def submit(self, contributor: Any, n: int, base: int = 0, token: Any = None, value: int | None = None):
        stake = self.market.getBounty(self.bounty_id)["stake"]
        tx = send(self.market.submitUpdate, contributor, self.bounty_id, base, cid(n), value=stake if value is None else value)
        ev = tx.events["SubmissionReceived"]
        self.record(ev, contributor.address, base, cid(n))
        return tx

    def _send(self, fn: Any, oracle: Any, *args: Any) -> Any:
        return send(fn, oracle, *args)

    def final_report(self, oracle: Any, batch: int, scores: list[int], merged: tuple[bytes, int] = ZERO_CID):
        if self.committee.index(oracle) not in self.queued.get(batch, {}):
            self.commit(oracle, batch, scores, merged)
        _, scores, merged = self.queued[batch][self.committee.index(oracle)]
        self.reveal_queued(batch, skip=oracle)
        tx = send(self.market.reportAndSettle, oracle, self.bounty_id, batch, encode_scores(scores, self.higher), merged,
                  self.salt(oracle, batch), pack_records(self.records[batch]), self.batch_reports(batch, without=oracle))
        self.queued[batch].pop(self.committee.index(oracle))
        self.reports.setdefault(batch, {})[self.committee.index(oracle)] = (encode_scores(scores, self.higher), merged)
        return tx

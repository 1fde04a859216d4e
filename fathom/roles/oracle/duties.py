"""The oracle node's duties, one per state of a bounty: join, baseline, report, finalise,
settle, void, close, and once revealed disclose the update keys (rules C1, S1, R1-R11, E2, F2).

A batch retried for want of a majority with a partial report (R7b, `BatchRetried`) gets a second
round: a member whose partial report was cleared scores it again (`Reports._report_for`, which
fetches again what it reported UNAVAILABLE) and reports once more, without a commitment when the
standing full reports opened the reveal phase (`report` with a zero salt; the contract takes it
only in a retried batch, and pays it no fee), else by an ordinary commit and reveal. A member
whose full report stands sends nothing more, and settles as in a first round."""

from __future__ import annotations

import logging
import os
from typing import Any, Callable, Mapping

from fathom.chain.client import ChainError
from fathom.protocol import settlement as protocol
from fathom.chain.market import Market, encode_report, report_commitment
from fathom.errors import FathomError
from fathom.roles.oracle.faults import fault_point
from fathom.storage.store import InvalidCid, cid_from_chain

log = logging.getLogger("fathom.roles.oracle")


class Unjoinable(FathomError):
    """The contract refuses this node's `joinCommittee` for the bounty (quarantined, F9)."""


def _reverts(exc: ChainError) -> bool:
    """A refusal by the contract (the chain edge says "would revert" / "reverted"), not a
    node that did not answer or a transaction that was not mined."""
    return "revert" in str(exc)


def report_bytes(report: Mapping[str, Any]) -> bytes:
    """A stored report (`Reports._report_for`) as the chain takes it (rule R1)."""
    return encode_report(report["scores"], report["merged_score"], report["shares"])


def quorum(view: Mapping[str, Any], committee_size: int) -> int:
    """Reports a decision needs (R4): more than half of the committee, opted in or not (1
    for a trusted single oracle); `fathom.protocol.settlement.quorum` is the contract's."""
    return 1 if view["trustSingleOracle"] else protocol.quorum(committee_size)


class Duties:
    """The duties half of `OracleNode` (a mixin: it uses the node's market, db and reports)."""

    def serve(self, bounty_id: int, state: str) -> None:
        members, opted, baseline_mask = self.market.committee(bounty_id)
        me = members.index(self.address)
        bit = 1 << me
        drawn = self._drawn(bounty_id)
        if not opted & bit:
            if state != "AwaitingBaseline" and state != "Open":
                return
            # drawn (C4): the requester hands the seat key over in a keyring some blocks later.
            # The node joins at once all the same: a seat not joined within the timeout may be
            # vacated by anyone (C6), so waiting for the keyring would let a requester that never
            # seats honest members have their seats drawn again for free
            # a named (trusted) committee checks before it bonds anything (F9). A drawn seat joins
            # first and checks after (`_seated` below): an unservable artefact the requester
            # publishes must not keep the node unjoined with free stake, which C6 reads as dead
            # and vacates, uncharged (review 10, D1: a free re-roll); joined, it sits out (N1)
            if not drawn:
                self._check_servable(bounty_id)  # raises (quarantine) before it bonds anything
            why = self.policy_refusal(bounty_id)
            if why is not None:  # never joins outside its policy (O5), whatever the registry holds
                raise Unjoinable(f"outside this node's acceptance policy: {why}")
            bond, _ = self.market.member_bond(bounty_id)
            free = self.market.free_stake(self.address)
            if free < bond and not self._top_up(bounty_id, bond, free):
                return  # waits for free stake, retried every tick (C6: its drawn seat waits too)
            try:
                self.market.join(bounty_id)
            except ChainError as exc:
                if not _reverts(exc):
                    raise  # the node did not answer: transient
                if "InsufficientFreeStake" in str(exc):  # bonds locked meanwhile: wait, never quarantine (R3-5)
                    self._short_of_stake(bounty_id, bond)
                    return
                # a join the contract refuses (this oracle's policy does not cover the bounty,
                # say) is refused again on every tick: it is that bounty's, never the node's
                raise Unjoinable(f"joinCommittee reverts: {exc}") from None
            self._say(f"bounty {bounty_id}: joined the committee")
            opted |= bit
        if drawn and state == "AwaitingBaseline":
            self._vacate_idle(bounty_id, members, opted)
        if drawn and not self._standing(bounty_id, bit, self._seated(bounty_id)):
            log.info("bounty %s: joined, waiting for the keyring that seats this node (sitting out, C7)", bounty_id)
            return
        if state == "AwaitingBaseline":
            if not baseline_mask & bit:
                score = self._baseline(bounty_id)
                self.market.report_baseline(bounty_id, score)
                self._say(f"bounty {bounty_id}: baseline reported ({score})")
            return
        view = self.market.bounty(bounty_id)
        k = view["nextBatch"]
        batch = self.market.batch(bounty_id, k)
        if batch["submissions"] == 0 or batch["decided"]:
            if state == "Settling" and batch["submissions"] == 0:
                self._try(lambda: self.market.close(bounty_id), f"bounty {bounty_id}: closed")
            return
        reportable = batch["filledAt"] != 0 or state == "Settling"
        if not reportable:
            return
        # R11: a member that opted in while this batch was reportable sits it out; whether
        # every member reported is asked of the members on duty
        duty = opted & ~self.market.commits(bounty_id, k)["sittingOut"]
        if not duty & bit:
            log.info("bounty %s: batch %s: sits it out (joined while it was reportable, R11; abstained, R12; "
                     "or a standing sit-out, C7)", bounty_id, k)
            self._finish_batch(bounty_id, k, batch, members, duty, view)
            return
        retried = None
        if not batch["reportedMask"] & bit:
            events = self._confirmed(bounty_id)
            records = Market.records_of(events, bounty_id, k)
            if len(records) < batch["submissions"]:
                return  # wait for the batch's submissions to be confirmed
            # R7b: a retried batch whose retry cleared this member's partial report: scored again
            retried = self._retried(bounty_id, k)
            again = retried is not None and bool(retried & bit)
            report = self._report_for(bounty_id, k, records, view, batch, members, again=again)
            if report is None:  # still fetching (rule F8): others' reports may still settle it
                self._finish_batch(bounty_id, k, batch, members, duty, view)
                return
            scores, merged, tx = report
            if tx is not None and self._awaited(bounty_id, k, tx):
                batch = self.market.batch(bounty_id, k)
        if not batch["reportedMask"] & bit:
            how = self._revealable(bounty_id, k, batch, bit, duty, scores, merged, retried=retried is not None)
            if how is None:
                self._finish_batch(bounty_id, k, batch, members, duty, view)
                return
            # R7b: a report without a commitment (the salt is not read: zero) in a retried batch
            salt = bytes(32) if how == "direct" else self._salt(bounty_id, k)
            if (batch["reportedMask"] | bit) == duty and self._final_report(bounty_id, k, batch, members, scores, merged, salt):
                return
            self.market.report(bounty_id, k, report_bytes(scores), merged, salt, on_sent=self._on_sent(bounty_id, k))
            fault_point("mined")
            self.db.execute("UPDATE reports SET sent = 1 WHERE bounty = ? AND batch = ?", (bounty_id, k))
            said = " in its second round, without a commitment (R7b)" if how == "direct" else ""
            self._say(f"bounty {bounty_id}: batch {k} reported{said} ({len(scores['scores'])} scores)")
            batch = self.market.batch(bounty_id, k)
        self._finish_batch(bounty_id, k, batch, members, duty, view)

    def _top_up(self, bounty_id: int, bond: int, free: int) -> bool:
        """Joining locks the bond (C1). With `--stake`, stake what is missing, but never past the
        node's overall cap `max_stake_wei` (decoy bounties could otherwise draw any amount out of
        it, R3-5); without it, or past the cap, the bounty waits until bonds elsewhere are
        released (a drawn seat short of free stake is never vacated, C6). True once staked."""
        missing = bond - free
        stake = self.market.stake_of(self.address)
        if not self.stake_wei or stake + missing > self.stake_cap():
            self._short_of_stake(bounty_id, bond)
            return False
        until = self.market.drawing_until()
        if until and not self.may_mine_to_staking():  # O7: stakes wait for a staking half
            self._say(f"bounty {bounty_id}: its bond waits for the registry's staking half (block {until})")
            return False
        # review 11, F: a stake under the bond floor (minStake / 16) does not restart the registry's
        # idle clock (C6), so a vacate could back-run it ahead of the join: at least the floor,
        # within the cap
        floor = self.market.draw_deposit()
        if missing < floor and stake + floor <= self.stake_cap():
            missing = floor
        self.market.stake_oracle(missing, notify=self._say)
        self._say(f"bounty {bounty_id}: staked {missing / 1e18:g} ETH more for its bond of {bond / 1e18:g} ETH")
        return True

    def _short_of_stake(self, bounty_id: int, bond: int) -> None:
        """Said once per bounty: the join waits for free stake (R3-5), retried every tick."""
        waiting = self.__dict__.setdefault("_short_of_stake_said", set())
        if bounty_id in waiting:
            return
        waiting.add(bounty_id)
        self._say(f"bounty {bounty_id}: its bond of {bond / 1e18:g} ETH waits for free stake (bonds held by other "
                  f"bounties; top-ups stop at {self.stake_cap() / 1e18:g} ETH in all): retried every tick")

    def _drawn(self, bounty_id: int) -> bool:
        """Whether the bounty's committee is drawn (C4); fixed at opening, so read once."""
        known = self.__dict__.setdefault("_drawn_bounties", {})
        if bounty_id not in known:
            known[bounty_id] = not self.market.bounty(bounty_id)["trustedCommittee"]
        return known[bounty_id]

    def _seated(self, bounty_id: int) -> bool:
        """A drawn seat (C4): whether the requester's keyring seats this node yet. The first
        time it does, the bounty is checked (`_check_servable`, which quarantines a bounty
        no member can serve, after the join: the quarantine then takes the standing sit-out,
        review 10 D1/N1) before this node scores anything; remembered once true."""
        seated = self.__dict__.setdefault("_seated_bounties", set())
        if bounty_id in seated:
            return True
        if not self.reader(bounty_id).seated():
            return False
        self._check_servable(bounty_id)
        seated.add(bounty_id)
        return True

    def _standing(self, bounty_id: int, bit: int, seated: bool) -> bool:
        """Rule C7 for a drawn seat this node joined: while no keyring seats it, it holds a
        standing sit-out, so that a requester that never seats it cannot have it charged for
        silence on the voids it engineers (review 2, finding E); once seated, it clears it and
        is on duty again. Taken at once on joining, not after a grace: before the baseline no
        batch is reportable, so the sit-out holds from the first batch, whereas a later one
        could come while a batch the requester filled is under way. Returns `seated`."""
        on_duty = self.__dict__.setdefault("_on_duty_bounties", set())
        if bounty_id in on_duty:
            return True  # seated, and its sit-out cleared: nothing more to do
        out = bool(self.market.standing_sit_out(bounty_id) & bit)
        if out == seated:
            try:
                self.market.sit_out(bounty_id, not seated)
            except ChainError as exc:
                if not _reverts(exc):
                    raise
                # NotOptedIn (it left): nothing to sit out
                log.info("bounty %s: sitOut(%s) refused (%s)", bounty_id, not seated, exc)
                return seated
            self._say(f"bounty {bounty_id}: " + ("no keyring seats this node yet: sitting out every batch until one "
                                                 "does (C7)" if not seated else "seated: on duty again (C7)"))
        if seated:
            on_duty.add(bounty_id)
        return seated

    def _vacate_idle(self, bounty_id: int, members: list[str], opted: int) -> None:
        """Rule C6: a drawn seat whose holder has not joined within the bounty's scoring timeout
        since the draw blocks the baseline; a member vacates it (in a registry staking half, O7)
        so that the seat is drawn again. A vacate the contract refuses (the staking half not yet
        passed, or a holder short of free stake, whose seat waits, R3-5) is left for a later tick."""
        idle = [m for i, m in enumerate(members) if int(m, 16) != 0 and not opted & (1 << i)]
        if not idle or self.market.drawing_until():
            return
        row = self.db.execute("SELECT MAX(block) FROM events WHERE bounty = ? AND name = 'CommitteeDrawn'",
                              (bounty_id,)).fetchone()
        if not row or row[0] is None:
            return
        w3 = self.market.w3
        timeout = int(self.market.bounty(bounty_id)["scoringTimeout"])
        if int(w3.eth.get_block("latest")["timestamp"]) < int(w3.eth.get_block(int(row[0]))["timestamp"]) + timeout:
            return
        for oracle in idle:
            try:
                self.market.vacate_seat(bounty_id, oracle)
                self._say(f"bounty {bounty_id}: vacated the idle drawn seat of {oracle} (C6)")
            except ChainError as exc:
                if not _reverts(exc):
                    raise
                log.info("bounty %s: vacateSeat(%s) refused (%s)", bounty_id, oracle, exc)

    def _salt(self, bounty_id: int, k: int) -> bytes:
        """The salt of this member's commitment to its report of batch k (R11): drawn once and
        kept with the report in the node's state, so that a restart reveals the same report."""
        row = self.db.execute("SELECT salt FROM reports WHERE bounty = ? AND batch = ?", (bounty_id, k)).fetchone()
        if row and row[0]:
            return bytes.fromhex(row[0])
        salt = os.urandom(32)
        self.db.execute("UPDATE reports SET salt = ? WHERE bounty = ? AND batch = ?", (salt.hex(), bounty_id, k))
        return salt

    def _retried(self, bounty_id: int, k: int) -> int | None:
        """R7b: the `cleared` mask of batch k's BatchRetried (committee bits of the partial reports
        the retry cleared), or None if the batch was not retried. The log up to the head is read:
        the retry changes what the chain takes from this member at once."""
        found = None
        for e in self._latest(bounty_id):
            if e.name == "BatchRetried" and int(e["batch"]) == k:
                found = int(e["cleared"])
        return found

    def _revealable(self, bounty_id: int, k: int, batch: dict[str, Any], bit: int, duty: int,
                    scores: dict[str, Any], merged: tuple, retried: bool = False) -> str | None:
        """R11: "reveal" once this member's commitment is on chain and the batch's reveal phase is
        open. While the commit phase is on, it commits first (the reveal waits for the phase:
        every member on duty committed, or revealAt); None while it waits. A member that did not
        commit before the reveal phase began stays silent: no report of it would count, except in
        a `retried` batch (R7b), which takes a report without a commitment once reports are
        public or the reveal phase began: "direct" (it earns no fee; a cleared partial report
        that did not report again would be charged as silent)."""
        commits = self.market.commits(bounty_id, k)

        def reveal_open(c: Mapping[str, Any]) -> bool:
            return protocol.reveal_open(c["committedMask"], duty, batch["reportedMask"], self.market.now(), c["revealAt"])

        commitment = report_commitment(bounty_id, k, self.address, self._salt(bounty_id, k), report_bytes(scores), merged)
        committed = bool(commits["committedMask"] & bit)
        if committed and self._last_commitment(bounty_id, k) not in (None, commitment):
            # a re-org changed the batch's submissions since it committed: the report it would
            # reveal now is not the one it committed to, and a reveal of it must fail
            if reveal_open(commits):
                self._say(f"bounty {bounty_id}: batch {k}: its commitment is to a report from before a re-org and "
                          f"commits are closed; no reveal of the new report can match it (R11)")
                return None
            self._say(f"bounty {bounty_id}: batch {k}: the report changed since it committed (re-org); committing again")
            committed = False
        if not committed:
            if reveal_open(commits) and retried:
                return "direct"
            if reveal_open(commits):
                self._say(f"bounty {bounty_id}: batch {k}: the reveal phase began before this member committed; "
                          f"it stays silent (R11)")
                return None
            self.market.commit_report(bounty_id, k, commitment, on_sent=self._on_sent(bounty_id, k))
            fault_point("committed")
            self._say(f"bounty {bounty_id}: batch {k} committed")
            commits = self.market.commits(bounty_id, k)
        if not reveal_open(commits):
            return None
        if self.confirmations and batch["reportedMask"] == 0 and self.market.now() < commits["revealAt"]:
            # open only because every member on duty committed: reveal once the other members'
            # commitments are confirmed, so that a re-org cannot let the last committer swap its
            # commitment for a copy of a reveal it has seen (R11; its own may be fresh: swapping
            # it copies nothing)
            confirmed = {e["oracle"] for e in self._confirmed(bounty_id)
                         if e.name == "ReportCommitted" and e["batch"] == k and e["oracle"] != self.address}
            if len(confirmed) < bin(commits["committedMask"] & ~bit).count("1"):
                log.info("bounty %s: batch %s: reveals wait for the commitments' confirmations", bounty_id, k)
                return None
        return "reveal"

    def _last_commitment(self, bounty_id: int, k: int) -> bytes | None:
        """This member's latest commitment to batch k on chain (its last ReportCommitted event up
        to the head), or None when no event of it is found."""
        found = None
        for e in self._latest(bounty_id):
            if e.name == "ReportCommitted" and e["batch"] == k and e["oracle"] == self.address:
                found = bytes(e["commitment"])
        return found

    def _on_sent(self, bounty_id: int, k: int) -> Callable[[bytes], None]:
        def sent(tx_hash: bytes) -> None:
            self.db.execute("UPDATE reports SET tx = ? WHERE bounty = ? AND batch = ?",
                            ("0x" + bytes(tx_hash).hex(), bounty_id, k))
            fault_point("sent")

        return sent

    def _awaited(self, bounty_id: int, k: int, tx: str) -> bool:
        """A report transaction sent before (then a restart, or a failed tick): wait for it if
        the node still has it pending (a second one would only revert and cost gas). False
        when the node no longer knows it: dropped, or re-orged out; the report is sent again."""
        status = self.market.tx_status(tx)
        if status == "unknown":
            self._say(f"bounty {bounty_id}: batch {k}: the report transaction {tx} is gone; sending the report again")
            return False
        if status == "pending":
            self._say(f"bounty {bounty_id}: batch {k}: waiting for the report transaction {tx} sent before")
            self.market.wait_for_receipt(tx)
        return True

    def _final_report(self, bounty_id: int, k: int, batch: dict[str, Any], members: list[str], scores: dict[str, Any],
                      merged: tuple, salt: bytes) -> bool:
        """The last member to report settles in the same transaction (reportAndSettle),
        passing the records and the others' reports from the events. False: report plainly."""
        events = self._latest(bounty_id)
        records = Market.records_of(events, bounty_id, k)
        reporters = [m for i, m in enumerate(members) if batch["reportedMask"] >> i & 1]
        others = Market.reports_of(events, bounty_id, k, reporters)
        if len(others) != len(reporters) or len(records) != batch["submissions"]:
            return False
        sent: list[bytes] = []
        on_sent = self._on_sent(bounty_id, k)
        try:
            self.market.report_and_settle(bounty_id, k, report_bytes(scores), merged, salt, records, others,
                                          on_sent=lambda tx: (sent.append(tx), on_sent(tx)))
        except ChainError as exc:
            if sent:  # it left (then was dropped, or reverted): the next tick looks the transaction up
                raise
            log.info("bounty %s batch %s: the finalising report fell back to a plain report (%s)", bounty_id, k, exc)
            return False
        fault_point("mined")
        self.db.execute("UPDATE reports SET sent = 1 WHERE bounty = ? AND batch = ?", (bounty_id, k))
        self._say(f"bounty {bounty_id}: batch {k} reported and settled ({len(scores['scores'])} scores)")
        return True

    def _finish_batch(self, bounty_id: int, k: int, batch: dict[str, Any], members: list[str], duty: int,
                      view: dict[str, Any]) -> None:
        reported = batch["reportedMask"]
        needed = quorum(view, len(members))
        count = bin(reported).count("1")
        timed_out = self.market.now() >= batch["timeoutAt"]
        events = self._latest(bounty_id)
        records = Market.records_of(events, bounty_id, k)
        if count >= needed and (reported == duty or timed_out):
            # R4: a quorum reported, and every member on duty (R11) or the timeout passed; the
            # contract decides, or voids the batch when no quorum agrees with every median
            reporters = [m for i, m in enumerate(members) if reported >> i & 1]
            reports = Market.reports_of(events, bounty_id, k, reporters)
            if len(reports) == count:
                self._try(lambda: self.market.settle(bounty_id, k, records, reports),
                          f"bounty {bounty_id}: batch {k} settled (decided; or, for want of agreement, retried "
                          f"once when a report was partial, R7b, else voided)")
        elif timed_out:
            self._try(lambda: self.market.void(bounty_id, k, records), f"bounty {bounty_id}: batch {k} voided")

    def disclose(self, bounty_id: int) -> None:
        """F2, once the bounty is revealed: for each decided batch, disclose on chain the content
        keys of its updates that this member opens (`discloseKeys`, 32 bytes per submission,
        zero for one it cannot open), so that anyone's audit opens them. Not at close already
        (which the contract allows): the audit needs the reveal anyway, and a requester that
        withholds its reveal does not get the keys of the updates it did not pay for. A batch
        it disclosed already (its KeysDisclosed event), or tried in this run, is left alone;
        one whose updates it opens none of is not sent."""
        events = self._latest(bounty_id)
        done = {int(e["batch"]) for e in events if e.name == "KeysDisclosed" and e["oracle"] == self.address}
        decided = {int(e["batch"]) for e in events if e.name in ("BatchSettled", "BatchVoided")}
        for k in sorted(decided - done):
            if (bounty_id, k) in self._disclosed:
                continue
            cids: list[str | None] = []
            updates: dict[str, str] = {}
            for contributor, _, _, update in Market.records_of(events, bounty_id, k):
                try:
                    cid = cid_from_chain(*update)
                except InvalidCid:
                    cid = None  # nothing to disclose: it opened for nobody
                cids.append(cid)
                if cid is not None:
                    updates[cid] = contributor
            keys = self.reader(bounty_id).disclose(updates)
            blob = b"".join(keys.get(cid, bytes(32)) if cid is not None else bytes(32) for cid in cids)
            if any(blob):
                self.market.disclose_keys(bounty_id, k, blob)
                self._say(f"bounty {bounty_id}: batch {k}: disclosed the keys of {len(keys)} updates (F2)")
            self._disclosed.add((bounty_id, k))

    def _try(self, action: Callable[[], Any], done: str) -> None:
        """Settle/void/close race with the other members: losing the race is fine."""
        try:
            action()
            self._say(done)
        except ChainError as exc:
            log.info("skipped (%s): %s", done, exc)

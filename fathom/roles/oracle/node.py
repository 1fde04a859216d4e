"""The oracle node's loop: follow the chain, serve each bounty, decide failures by type.

Each tick it
0. sends a bare recordSeed, before anything else, if its head is the parent of the seed block
   of a drawing half it knows a draw armed for (rule C4, review 11 T);
1. follows the market's events from its checkpoint up to `latest - confirmations`
   (re-org safe: the checkpoint keeps the block hash; a changed hash rewinds it),
   storing what it needs in SQLite (`state.py`), in the same transaction as the new
   checkpoint, and notes each submitted update to pin at once (F8);
2. triggers every committee draw that is due, whatever its terms (rule C4: anyone may; the
   seed is recorded only in its drawing half's seed block, so the node sends its draws once
   its head is the block before that one, and a half whose seed block recorded nothing
   lapses, uncharged, and is re-armed);
3. for every bounty whose committee names it (named by the requester, or drawn) and that is
   not quarantined: opts in (after checking it can serve it, F9, and that its acceptance
   policy takes the bounty, O5: it never joins outside it), reports the baseline, and for the next batch to decide
   (batches settle in order) posts one report (`reports.py`); then settles the batch once
   every opted-in member reported (or the timeout passed with a quorum), or voids it when
   the timeout passed without one (`duties.py`).

Restarts neither re-report nor skip: the chain's reported mask is the truth for "did I
report", and a computed report is stored before it is sent, so a crash between the
two re-sends the same scores. Updates that cannot be decrypted or parsed, or whose author
is not the submitter, score INVALID; one that cannot be fetched is never INVALID for that
reason alone (F8); every skip is logged with its reason. Transient failures (RPC, a store
that does not answer) are retried with backoff, and `max_failures` in a row stop the node;
any other failure quarantines that one bounty (F9). A stored report remembers the records
it scored (a re-org that reorders a batch makes it stale) and the hash of the transaction
that last sent it: while that transaction is pending the node waits for it instead of
sending a second one, and once the node has lost it (dropped from the mempool, or re-orged
out) the report is sent again.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from time import time as wall_time
from typing import Any, Callable

from fathom.chain.client import ETH, ChainError, InsufficientFunds
from fathom.chain.market import Event, Market
from fathom.crypto.envelope import account_address
from fathom.errors import FathomError
from fathom.protocol.policy import Policy, refusal, terms_of
from fathom.roles.oracle import state
from fathom.roles.oracle.duties import Duties
from fathom.roles.oracle.faults import check_fault_setting, transient
from fathom.roles.oracle.reports import FETCH_THREADS, Reports
from fathom.roles.reader import BountyReader
from fathom.storage.store import InvalidCid, Store, cid_from_chain

log = logging.getLogger("fathom.roles.oracle")

#: states in which a bounty has not ended (at the head: nothing to wind up at any depth)
LIVE = ("AwaitingBaseline", "Open")


class OracleStopped(FathomError):
    """Too many failures in a row: the node stops loudly instead of limping on."""


@dataclass
class OracleNode(Duties, Reports):
    market: Market
    store: Store
    private_key: bytes
    data_dir: Path
    confirmations: int = 3
    poll_seconds: float = 2.0
    max_failures: int = 8
    stake_wei: int = 0  # stake this much on start if not yet eligible (0: don't, nor ever top up)
    #: the most the node's registry stake may total after its top-ups for bonds (R3-5: decoy
    #: bounties must not draw an unbounded amount out of it); None: stake_wei + one policy max_bond
    max_stake_wei: int | None = None
    policy: Policy = field(default_factory=Policy)  # what it accepts to serve (O5), registered on start
    on_event: Callable[[str], None] | None = None
    #: progress(done, total) while a batch is scored (its row chunks): `fathom oracle run`
    #: draws a bar on a terminal; a display only, never part of a report
    progress: Callable[[int, int], None] | None = None
    address: str = field(init=False)
    db: sqlite3.Connection = field(init=False)

    def __post_init__(self) -> None:
        self.address = account_address(self.private_key)
        self.db = state.open_db(self.data_dir, self.address)
        check_fault_setting()
        self._readers: dict[int, BountyReader] = {}
        self._validation: dict[int, Any] = {}
        self._pool = ThreadPoolExecutor(FETCH_THREADS, thread_name_prefix="fathom-fetch")
        self._fetches: dict[tuple[int, int, str], dict[int, Future]] = {}
        self._pinning: dict[tuple[int, int], Future] = {}
        self._policy_registered = False
        self._disclosed: set[tuple[int, int]] = set()  # (bounty, batch) whose keys this run tried to disclose (F2)
        self._draws_done: set[tuple[int, int]] = set()  # (bounty, draw block) drawn or ended: never sent again (Z)
        self._left_bounties: set[int] = set()  # bounties whose bond this run released, or found released (D3)
        #: bounties over for this node for good (Revealed and wound up; or ended, quarantined or never
        #: joined, and left): read no more, so that a long-lived node's ticks do not grow with its history
        self._wound_up: set[int] = set()
        self._seeds_sent: set[int] = set()  # draw blocks whose half's recordSeed this run sent (T)
        # draw block -> the nonce fetched ahead for its recordSeed (T), and the sender's send count then (T-n)
        self._seed_nonces: dict[int, tuple[int, int]] = {}

    # ------------------------------------------------------------ state

    def _meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    @property
    def checkpoint(self) -> int:
        return int(self._meta("checkpoint", str(self.market.start_block - 1)))

    def _say(self, message: str) -> None:
        log.info(message)
        if self.on_event:
            self.on_event(message)

    # ------------------------------------------------------------ following the chain

    def sync(self) -> int:
        """Store confirmed events past the checkpoint; returns the new checkpoint."""
        w3 = self.market.w3
        head = w3.eth.block_number
        safe = head - self.confirmations
        cp = self.checkpoint
        cp_hash = self._meta("checkpoint_hash")
        if cp >= 0 and cp_hash and (cp > head or w3.eth.get_block(cp)["hash"].hex() != cp_hash):
            cp = self._rewind(cp, head)
        if safe <= cp:
            return cp
        events = self.market.events(from_block=cp + 1, to_block=safe)
        # every call to the node comes before the transaction: one that fails mid-way (an RPC
        # outage) must not leave it open, or the next tick's BEGIN fails for good
        safe_hash = w3.eth.get_block(safe)["hash"].hex()
        with self._transaction():
            for ev in events:
                self.db.execute(
                    "INSERT OR REPLACE INTO events VALUES (?, ?, ?, ?, ?)",
                    (ev.block, ev.index, ev.args.get("bountyId"), ev.name, json.dumps(state.jsonable(ev.args))),
                )
                if ev.name == "SubmissionReceived":
                    try:
                        cid = cid_from_chain(bytes(ev["update"][0]), ev["update"][1])
                    except InvalidCid:
                        continue  # nothing to pin: the submission scores INVALID
                    self.db.execute("INSERT OR IGNORE INTO pins (bounty, submission, cid) VALUES (?, ?, ?)",
                                    (ev["bountyId"], ev["submissionId"], cid))
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('checkpoint', ?)", (str(safe),))
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('checkpoint_hash', ?)", (safe_hash,))
            self.db.execute("INSERT OR REPLACE INTO checkpoints VALUES (?, ?)", (safe, safe_hash))
            self.db.execute("DELETE FROM checkpoints WHERE block < ?", (safe - 10_000,))
        return safe

    def _transaction(self) -> Any:
        return state.transaction(self.db)

    def _rewind(self, cp: int, head: int) -> int:
        """A re-org (or a shorter chain) under the checkpoint: walk back through the stored
        checkpoint hashes to the newest one the chain still has, and forget what came after."""
        w3 = self.market.w3
        rewind = self.market.start_block - 1
        rows = self.db.execute("SELECT block, hash FROM checkpoints WHERE block < ? ORDER BY block DESC", (cp,)).fetchall()
        for block, block_hash in rows:
            if block <= head and w3.eth.get_block(block)["hash"].hex() == block_hash:
                rewind = block
                break
        self._say(f"re-org below block {cp}: rewinding to {rewind}")
        with self._transaction():
            self.db.execute("DELETE FROM events WHERE block > ?", (rewind,))
            self.db.execute("DELETE FROM checkpoints WHERE block > ?", (rewind,))
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('checkpoint', ?)", (str(rewind),))
            match = self.db.execute("SELECT hash FROM checkpoints WHERE block = ?", (rewind,)).fetchone()
            if match:
                self.db.execute("INSERT OR REPLACE INTO meta VALUES ('checkpoint_hash', ?)", (match[0],))
            else:
                self.db.execute("DELETE FROM meta WHERE key = 'checkpoint_hash'")
        return rewind

    def my_bounties(self) -> list[int]:
        """Bounties whose committee names this node: at opening (trusted mode) or by the
        latest draw of their seats (drawn mode, rule C4)."""
        rows = self.db.execute(
            "SELECT bounty, name, args FROM events WHERE name IN ('BountyOpened', 'CommitteeDrawn', 'SeatVacated') "
            "ORDER BY block, idx"
        ).fetchall()
        committees: dict[int, list[str]] = {}
        for bounty, name, args in rows:
            data = json.loads(args)
            if name == "SeatVacated":  # C6: its seat is empty until the next draw
                committees[bounty] = [ETH if m == data["oracle"] else m for m in committees.get(bounty, [])]
                continue
            committees[bounty] = data["params"]["committee"] if name == "BountyOpened" else data["committee"]
        return [b for b, members in committees.items() if self.address in members]

    def _armed_draws(self) -> list[tuple[int, int]]:
        """(bounty, draw block) of every draw armed and not yet drawn, by the confirmed log."""
        rows = self.db.execute(
            "SELECT bounty, name, args FROM events WHERE name IN ('CommitteeDrawArmed', 'CommitteeDrawn', "
            "'CommitteeDrawDropped', 'BountyCancelled', 'BountyClosed') ORDER BY block, idx"
        ).fetchall()
        armed: dict[int, int] = {}
        for bounty, name, args in rows:
            if name == "CommitteeDrawArmed":
                armed[bounty] = int(json.loads(args)["drawBlock"])
            else:
                armed.pop(bounty, None)
        # review 11, Z: a draw this node saw succeed, or found its bounty ended, is never sent again
        return sorted(item for item in armed.items() if item not in self._draws_done)

    def _opened_at(self, bounty_id: int) -> int:
        row = self.db.execute(
            "SELECT block FROM events WHERE bounty = ? AND name = 'BountyOpened'", (bounty_id,)
        ).fetchone()
        if row is None:
            raise FathomError(f"bounty {bounty_id}: no BountyOpened event stored")
        return int(self.market.w3.eth.get_block(int(row[0]))["timestamp"])

    def policy_refusal(self, bounty_id: int) -> str | None:
        """Why this node's policy refuses the bounty (None if it accepts it), rule O5. The
        bond is among the terms: the node never stakes more for a bounty than its policy's
        max_bond (finding A), since a refused bounty is never joined."""
        view = self.market.bounty(bounty_id)
        members, _, _ = self.market.committee(bounty_id)
        bond, _ = self.market.member_bond(bounty_id)
        return refusal(self.policy, terms_of(view, len(members), self._opened_at(bounty_id), bond))

    def record_seed(self, head: int | None = None) -> None:
        """Review 11, T: send a bare `recordSeed` once the head is the parent of the seed block
        of a drawing half this node knows a draw armed for, before any per-draw work (one view
        and one estimate per due draw came first, so decoy or zombie draws pushed it past the
        seed block: nothing recorded, and the requester, who sees PREVRANDAO a block ahead,
        recorded itself only when it liked the draw). It takes its armed draws from the stored
        log (no RPC), a fixed gas limit (no estimate: an estimate at `pending` that the RPC
        reads as `latest` reverts SeedNotOpen), and a nonce fetched in an earlier tick, a few
        blocks before (fetched now if none; fetched again once if the send is refused, a
        transaction sent since having used it). It waits for no receipt. Once per half."""
        head = self.market.w3.eth.block_number if head is None else head
        for at in sorted({at for _, at in self._armed_draws()}):
            seed_block = self.market.seed_block(at)
            if seed_block - 4 <= head < seed_block - 1 and at not in self._seed_nonces:
                # ahead of the parent block, with how many sends had been made then
                self._seed_nonces[at] = (self.market.next_nonce(), self.market.sent_count())
            if head != seed_block - 1 or at in self._seeds_sent:
                continue
            self._seeds_sent.add(at)
            ahead = self._seed_nonces.pop(at, None)
            # review 12, T-n: a transaction sent since took that nonce (a commit, a reveal): the
            # recordSeed must not replace it, nor queue behind it, so fetch the nonce now
            nonce = ahead[0] if ahead is not None and ahead[1] == self.market.sent_count() else None
            for attempt in range(2):
                try:
                    self.market.record_seed(self.market.next_nonce() if nonce is None else nonce)
                    self._say(f"sent recordSeed for the drawing half of block {at}")
                    break
                except InsufficientFunds as exc:
                    log.error("recordSeed NOT SENT: %s; fund this oracle's account", exc)
                    break
                except ChainError as exc:  # a nonce used since: fetch it again
                    if attempt or nonce is None:
                        log.warning("recordSeed not sent (%s)", exc)
                        break
                    nonce = None

    def trigger_draws(self) -> None:
        """Draw every committee whose armed drawing half has reached its seed block (rule C4),
        whatever its terms: a draw only the requester would trigger lets it wait out, unseen,
        each outcome it dislikes (review F3; a lapsed first draw is charged anyway, C5). The
        seed is the PREVRANDAO of one block, the half's seed block (R3-2), and is recorded
        only by a call that lands in it: once its head is the block before it, the node sends
        a bare recordSeed first (`record_seed`, also the tick's first step: review 10 D4,
        review 11 T), then its draws back to back, each with a fixed gas limit (on a local
        chain, where blocks come only with transactions, it mines up to that block first). A
        draw sent later reads the recorded seed, or, if the seed block recorded nothing,
        re-arms the draw uncharged. A draw someone else already ran, one whose bounty ended
        (dropped, review 11 Z), or one the contract refuses, is left alone; the next tick reads
        the outcome."""
        head = self.market.w3.eth.block_number
        quarantined = self.quarantined()
        due: list[int] = []
        fixed_gas = False
        armed = dict(self._armed_draws())
        for bounty_id, at in armed.items():
            if bounty_id in quarantined:
                continue
            seed_block = self.market.seed_block(at)
            if at <= head < seed_block - 1 and self.market.is_local():
                self.market.mine_to(seed_block - 1)
                head = self.market.w3.eth.block_number
            if head < seed_block - 1:
                continue
            if head == seed_block - 1:
                if at not in self._seeds_sent:  # the tick's first step sent it, unless the head moved on
                    self.record_seed(head)  # since (mined to it just now): before any per-draw work (T)
                fixed_gas = True
            view = self.market.bounty(bounty_id)
            if view["drawBlock"] != at:
                continue  # drawn (or re-armed) by another node since
            if view["endedAt"] or view["closedAt"]:  # review 11, Z: not Open nor AwaitingBaseline
                self._draws_done.add((bounty_id, at))  # nothing to draw, ever: dropped for good
                continue
            due.append(bounty_id)
        if not due:
            return
        # one draw that reverts (its bounty cancelled in the seed block, D4) stops none of the others
        for bounty_id, outcome in self.market.draw_committees(due, fixed_gas=fixed_gas):
            if not isinstance(outcome, ChainError):
                self._draws_done.add((bounty_id, armed[bounty_id]))  # review 11, Z: never re-sent
                self._say(f"bounty {bounty_id}: drew its committee")
            elif isinstance(outcome, InsufficientFunds):
                # review 11, Z: loud, and never the node's stop: its reports, votes and leaves go on
                log.error("bounty %s: drawCommittee NOT SENT: %s; fund this oracle's account", bounty_id, outcome)
            elif "revert" in str(outcome):
                log.info("bounty %s: drawCommittee refused (%s)", bounty_id, outcome)
            else:
                raise outcome

    def may_mine_to_staking(self) -> bool:
        """Whether this node may mine empty blocks to reach the registry's staking half (O7):
        only on a local chain (where blocks come only with transactions), and only while no
        armed draw waits in the current drawing half, which the mining would make lapse."""
        if not self.market.is_local():
            return False
        head = self.market.w3.eth.block_number
        for bounty_id, _ in self._armed_draws():
            at = self.market.bounty(bounty_id)["drawBlock"]
            if at and at <= head + 1:
                return False
        return True

    def _ensure_policy(self) -> bool:
        """Register this node's acceptance policy unless the registry already holds it (O5).
        In a registry drawing half (O7) it waits: False, and the next tick tries again (a
        local chain, which mines only with transactions, is mined to the staking half)."""
        policy, is_set = self.market.policy_of(self.address)
        if is_set and Policy.from_tuple(policy) == self.policy:
            return True
        until = self.market.drawing_until()
        if until and not self.may_mine_to_staking():
            self._say(f"the oracle registry is drawing committees until block {until} (rule O7): "
                      "the acceptance policy waits for its staking half")
            return False
        self.market.set_policy(self.policy.as_tuple(), notify=self._say)
        self._say(f"registered the acceptance policy {self.policy}")
        return True

    def _confirmed(self, bounty_id: int) -> list[Event]:
        rows = self.db.execute(
            "SELECT block, idx, name, args FROM events WHERE bounty = ? ORDER BY block, idx", (bounty_id,)
        ).fetchall()
        return [Event(name, state.restore(json.loads(args)), block, "", idx) for block, idx, name, args in rows]

    def _latest(self, bounty_id: int) -> list[Event]:
        """The bounty's events up to the chain's head: the stored, confirmed ones, and the
        few past the checkpoint fetched now (other members' reports may be that fresh)."""
        return self._confirmed(bounty_id) + self.market.events(from_block=self.checkpoint + 1, bounty_id=bounty_id)

    # ------------------------------------------------------------ the loop

    def run(self, ticks: int | None = None, stop: Callable[[], bool] | None = None) -> None:
        """Tick until `ticks` ran or `stop()` says so; failures back off, then stop the node."""
        if self.stake_wei:
            self._ensure_stake()
        failures = 0
        n = 0
        while (ticks is None or n < ticks) and not (stop and stop()):
            n += 1
            try:
                self.tick()
                failures = 0
                time.sleep(self.poll_seconds)
            except Exception as exc:  # noqa: BLE001 - any failure counts; a run of them stops the node
                failures += 1
                if not transient(exc):
                    log.exception("unexpected error in a tick")
                if failures >= self.max_failures:
                    raise OracleStopped(f"{failures} failures in a row, the last: {exc}") from exc
                delay = min(60.0, max(self.poll_seconds, 0.5) * 2 ** failures)
                self._say(f"retrying in {delay:.0f}s after: {exc}")
                time.sleep(delay)

    def stake_cap(self) -> int:
        """The overall cap on this node's registry stake for its top-ups (`max_stake_wei`)."""
        return self.stake_wei + self.policy.max_bond if self.max_stake_wei is None else self.max_stake_wei

    def _ensure_stake(self) -> None:
        if not self.market.registry.functions.isEligible(self.address).call():
            self.market.stake_oracle(self.stake_wei, notify=self._say)
            self._say(f"staked {self.stake_wei / 1e18:g} ETH in the oracle registry")

    def tick(self) -> None:
        """Serve every bounty once. A transient failure (RPC, store down) fails the tick
        after the other bounties were served (the loop backs off); any other failure
        quarantines that one bounty, with its reason, for good (`fathom oracle status`).
        Each bounty's state is read once at the head and, only where it has ended there, once
        at the confirmation depth (states only move forward: a bounty live at the head is live
        deeper too, and has nothing to wind up); both go to `wind_up`."""
        self.record_seed()  # first, before sync and serve, which can take seconds (review 11, T)
        self.sync()
        self.trigger_draws()  # a policy or a stake that waits for a staking half may mine
        if not self._policy_registered:  # on the first tick that reaches the chain: retried like any
            self._policy_registered = self._ensure_policy()
        mine = self.my_bounties()
        self._pin_new(set(mine))
        quarantined = self.quarantined()
        failed: Exception | None = None
        head = self.market.w3.eth.block_number
        confirmed = max(head - self.confirmations, 0)
        for bounty_id in mine:
            if bounty_id in self._wound_up:
                continue
            # a quarantined bounty it joined still holds its bond: released once it ends (D3, S)
            held_off = bounty_id in quarantined
            try:
                status = self.market.state(bounty_id)
                if status == "Closed" and bounty_id in self._left_bounties:
                    continue  # left: nothing until the reveal (its F2 disclosure)
                settled = status if status in LIVE else self.market.state(bounty_id, confirmed)
                if self.wind_up(bounty_id, head, settled, status, quarantined=held_off) or held_off:
                    continue
                if status in ("Closed", "Revealed"):
                    continue  # wound up once that is confirmed
                self.serve(bounty_id, status)
            except Exception as exc:  # noqa: BLE001 - one bounty's failure is that bounty's, never the node's
                if transient(exc):
                    failed = failed or exc
                elif held_off:
                    # review 13, B3: raised, it failed every tick, and `max_failures` of them stopped
                    # the node, every other bounty's reports with it; retried next tick instead
                    log.warning("bounty %s (quarantined): winding up failed (%s: %s)", bounty_id,
                                type(exc).__name__, exc)
                else:
                    self._quarantine(bounty_id, exc)
        if failed is not None:
            raise failed

    def wind_up(self, bounty_id: int, head: int, settled: str, status: str, quarantined: bool = False) -> bool:
        """Review 10 D3, review 11 S: release the bond of every bounty this node joined, seated,
        sitting out (no keyring seats it, C7) or quarantined (F9), once it is over, judged on
        `settled`, its state `confirmations` blocks deep (a re-org must not land the leave in a
        state where a batch is reportable again); `status` is its state at the head (the tick
        reads both, once). Closed or Revealed: after its F2 disclosure (not for a quarantined
        bounty), leave. Settling with no batch left to decide: close it (anyone may; its
        requester, who alone gains from closing, may never do it: a reward-0 bounty's close only
        burns its deposit, C5) and leave, which then only releases (C2). Settling with a batch
        left and quarantined: decide it once its timeout passed (review 13, B1: every member
        quarantined, nobody voided it, and the bonds stayed locked for as long as the requester
        liked). True if the bounty is over for this node: nothing left to serve."""
        if settled in ("Closed", "Revealed"):
            if settled == "Revealed" and not quarantined:  # F2: the update keys, for anyone's audit
                self.disclose(bounty_id)
            self.leave(bounty_id)  # D3: its bond back, or its stake only ever falls
            if settled == "Revealed" or quarantined:
                self._wound_up.add(bounty_id)  # nothing more to send, ever
            return True
        if settled != "Settling":
            return False
        if bounty_id not in self._left_bounties:
            confirmed = max(head - self.confirmations, 0)
            view = self.market.bounty(bounty_id, confirmed)
            if self.market.batch(bounty_id, view["nextBatch"], confirmed)["submissions"]:
                if quarantined and self._joined(bounty_id):  # review 14: only to free its own bond
                    self._decide_due(bounty_id)
                return False  # a batch still to decide: served (or, quarantined, sat out) first
            if self._joined(bounty_id):
                if status == "Settling":
                    self._try(lambda: self.market.close(bounty_id), f"bounty {bounty_id}: closed")
                self.leave(bounty_id)
            else:
                self._wound_up.add(bounty_id)  # ended, never joined: it never will (serve joins a live one)
        return True

    def _decide_due(self, bounty_id: int) -> None:
        """Review 13, B1: settle or void the next batch of a quarantined bounty once its timeout
        passed (anyone may, C2 needs it decided before the leave). The node holds the standing
        sit-out there (C7), so a void charges it nothing; without this, a failure the attacker
        causes on every node (a crafted update, D1) left a batch that no member decides, and the
        bounty never reached "nothing to decide"."""
        view = self.market.bounty(bounty_id)
        k = view["nextBatch"]
        batch = self.market.batch(bounty_id, k)
        if not batch["submissions"] or batch["decided"] or self.market.now() < batch["timeoutAt"]:
            return
        members, opted, _ = self.market.committee(bounty_id)
        duty = opted & ~self.market.commits(bounty_id, k)["sittingOut"]
        self._finish_batch(bounty_id, k, batch, members, duty, view)

    def _joined(self, bounty_id: int) -> bool:
        members, opted, _ = self.market.committee(bounty_id)
        return self.address in members and bool(opted & (1 << members.index(self.address)))

    def leave(self, bounty_id: int) -> bool:
        """Review 10, D3: once a bounty it joined is Closed or Revealed (after its F2 disclosure),
        leave its committee, releasing the bond. Nothing else releases one: without this every
        bounty served locks another bond for good, the node's drawn seats elsewhere wait for
        free stake for ever (C6) and it can never unbond. Once: the chain's CommitteeLeft event
        is the record (a restart does not send it again). True if it left now."""
        left = self._left_bounties
        if bounty_id in left:
            return False
        members, opted, _ = self.market.committee(bounty_id)
        if self.address not in members or not opted & (1 << members.index(self.address)) or any(
                e.name == "CommitteeLeft" and e["oracle"] == self.address for e in self._latest(bounty_id)):
            left.add(bounty_id)
            return False
        try:
            self.market.leave_committee(bounty_id)
        except ChainError as exc:
            if "revert" not in str(exc):
                raise  # the node did not answer: transient
            log.info("bounty %s: leaveCommittee refused (%s)", bounty_id, exc)
            left.add(bounty_id)
            return False
        left.add(bounty_id)
        self._say(f"bounty {bounty_id}: left its committee, its bond released")
        return True

    # ------------------------------------------------------------ quarantine and pins

    def quarantined(self) -> dict[int, str]:
        return dict(self.db.execute("SELECT bounty, reason FROM quarantine").fetchall())

    def _quarantine(self, bounty_id: int, exc: BaseException) -> None:
        """Stop serving the bounty, for good, with its reason (F9). A bounty this node already
        joined is first sat out (C7, review 10 N1): a member left on duty and silent would be
        charged on every void, so a failure the attacker can cause (a crafted update that
        raises, an artefact published after the join, D1) would drain its bond. A transient
        failure of that sitOut raises (nothing recorded: the next tick quarantines again)."""
        reason = f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, (FathomError, ValueError)):  # not a refusal we raise on purpose: show where
            log.error("bounty %s: unexpected failure", bounty_id, exc_info=exc)
        if self._sit_out_joined(bounty_id):
            reason += " (joined: sitting out every batch, C7; leaves once the bounty is closed)"
        self.db.execute("INSERT OR REPLACE INTO quarantine VALUES (?, ?, ?)", (bounty_id, reason, wall_time()))
        self._readers.pop(bounty_id, None)
        self._validation.pop(bounty_id, None)
        self._say(f"bounty {bounty_id}: quarantined, not served any more ({reason})")

    def _sit_out_joined(self, bounty_id: int) -> bool:
        """Take the standing sit-out (C7) on a bounty this node joined; True if it holds one."""
        members, opted, _ = self.market.committee(bounty_id)
        if self.address not in members or not opted & (1 << members.index(self.address)):
            return False
        bit = 1 << members.index(self.address)
        if self.market.standing_sit_out(bounty_id) & bit:
            return True
        try:
            self.market.sit_out(bounty_id, True)
        except ChainError as exc:
            if "revert" not in str(exc):
                raise
            log.info("bounty %s: sitOut(true) refused (%s)", bounty_id, exc)
            return False
        return True

    def _pin_new(self, mine: set[int]) -> None:
        """Pin each submitted update of my bounties as soon as its event is confirmed (in the
        background): a member that has it serves it to the others (rule F8)."""
        for key, future in list(self._pinning.items()):
            if not future.done():
                continue
            del self._pinning[key]
            error = future.exception()
            if error is None:
                self.db.execute("UPDATE pins SET done = 1 WHERE bounty = ? AND submission = ?", key)
            else:  # the store down is no attempt; content nobody serves is (3 and the fetch alone tries)
                log.info("bounty %s: pinning submission %s failed (%s)", key[0], key[1], error)
                if not transient(error):
                    self.db.execute("UPDATE pins SET attempts = attempts + 1 WHERE bounty = ? AND submission = ?", key)
        rows = self.db.execute("SELECT bounty, submission, cid FROM pins WHERE done = 0 AND attempts < 3").fetchall()
        for bounty_id, submission, cid in rows:
            if bounty_id not in mine or (bounty_id, submission) in self._pinning:
                continue
            self._pinning[(bounty_id, submission)] = self._pool.submit(self.store.pin, cid)

    def close(self) -> None:
        """Stop the background fetches and pins (waiting for none of them)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def reader(self, bounty_id: int) -> BountyReader:
        if bounty_id not in self._readers:
            self._readers[bounty_id] = BountyReader(self.market, self.store, bounty_id, self.private_key)
        return self._readers[bounty_id]

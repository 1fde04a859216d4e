"""Attacks on the oracle node and on the requester's checks (issue 14 items 6, 7, 10; issue 15
items 4, 5), each written as the adversary would run it. SECURITY.md's threat table lists them.

- a contributor serves its update to one member only (F8): members pin what they see and
  serve it to each other, and "I could not fetch it" is never "invalid";
- a batch is fetched side by side under one deadline derived from its scoring timeout (a
  fake store whose `cat` blocks until released shows the fetches overlap);
- a requester opens a bounty its committee cannot serve: the node quarantines it, with its
  reason, and goes on serving the others, across restarts; `bounty open` refuses it first;
- a requester swaps the validation set with a new keyring: members keep scoring on the
  committed one, or refuse; never on the swapped one;
- the metric: a log-loss bounty registers "lower is better", so a harmful update does not
  win, and a baseline loss above the target does not end the bounty.
"""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

import fathom.roles.oracle.reports as oracle_module
import fathom.roles.requester as requester_module
from fathom.chain.market import INVALID, report_scores
from fathom.cli import main as cli_main
from fathom.crypto.envelope import build_keyring, seal_for
from fathom.errors import FathomError
from fathom.ml import models, significance
from fathom.ml.artefacts import pack_validation
from fathom.protocol import settlement as protocol
from fathom.roles.reader import BountyReader, ValidationSwapped
from fathom.roles.requester import check_bounty, default_terms, open_bounty
from fathom.storage.store import CidNotFound, EmbeddedStore, Store, cid_to_chain

from roles_helpers import (  # world, fresh_chain: the module's chain fixtures
    fresh_chain,  # noqa: F401
    world,  # noqa: F401
    DATA,
    STAKE,
    K,
    MANIFEST,
    Round,
    World,
    WrappedStore,
    advance_time,
    drive,
    make_node,
    named,
    open_round,
    seed_model,
    skips,
)


# ---------------------------------------------------------------- stores that behave like a network


class Peer(Store):
    """One member's IPFS node: what it holds locally, else what it can reach from `sources`
    (other nodes, the contributors' nodes), cached locally once fetched, as IPFS does."""

    def __init__(self, root, sources: list) -> None:
        self.local = EmbeddedStore(root)
        self.sources = sources
        self.deadlines: list[float | None] = []

    def holds(self, cid: str) -> bool:
        return self.local.has(cid)

    def add(self, data: bytes, *, pin: bool = True) -> str:
        return self.local.add(data, pin=pin)

    def cat(self, cid: str, max_size: int, *, deadline: float | None = None) -> bytes:
        self.deadlines.append(deadline)
        if self.local.has(cid):
            return self.local.cat(cid, max_size)
        for source in self.sources:
            if source is not self and source.holds(cid):
                data = source.cat(cid, max_size)
                self.local.add(data, pin=False)
                return data
        raise CidNotFound(f"{cid}: no reachable provider")

    def pin(self, cid: str) -> None:
        self.local.add(self.cat(cid, 1 << 26), pin=True)

    def unpin(self, cid: str) -> None:
        self.local.unpin(cid)

    def is_pinned(self, cid: str) -> bool:
        return self.local.is_pinned(cid)


class Shared:
    """The round's shared store seen as a provider."""

    def __init__(self, store: EmbeddedStore) -> None:
        self.store = store

    def holds(self, cid: str) -> bool:
        return self.store.has(cid)

    def cat(self, cid: str, max_size: int) -> bytes:
        return self.store.cat(cid, max_size)


def test_a_contributor_that_serves_its_update_to_one_member_only_gets_no_member_slashed(world: World, tmp_path):
    """The attack (issue 14 item 6): the contributor's node answers member 0 only, so on
    today's main members 1 and 2 score it INVALID (CidNotFound), the median is INVALID, and
    member 0, who scored it, is slashed as deviant. Now each member pins every update as
    soon as it sees its event, and fetches from every node that holds it: member 0 has it,
    so all do, and the three reports agree."""
    rnd = open_round(world, tmp_path, ["c0", "c1"], batchSize=2)
    bid = rnd.bounty_id
    shared = Shared(rnd.store)
    hidden = Peer(tmp_path / "withholder", [shared])  # c1's own node: reachable by member 0 only
    peers: list[Peer] = []
    for i in range(3):
        peers.append(Peer(tmp_path / f"peer{i}", [shared, *([hidden] if i == 0 else [])]))
    for p in peers:
        p.sources += [_Holder(q) for q in peers if q is not p]
    nodes = [make_node(world, peers[i], rnd.oracles[i], tmp_path / f"node{i}") for i in range(3)]

    rnd.contribute("c0", 0)
    c1 = rnd.contributors["c1"]
    from fathom.roles.contributor import contribute

    withheld = contribute(rnd.market_of("c1"), hidden, c1.key, bid, *DATA["shard1"], lr=0.5, epochs=3, batch_size=32)
    assert not rnd.store.has(withheld.cid) and hidden.holds(withheld.cid)

    rnd.drive(lambda: rnd.view()["nextBatch"] == 1, nodes=nodes)
    events = rnd.events()
    reports = named(events, "ReportPosted", batch=0)
    assert len(reports) == 3
    scores = [report_scores(r["scores"]) for r in reports]
    assert all(s[1] != INVALID for s in scores), scores
    assert max(s[1] for s in scores) - min(s[1] for s in scores) <= 2
    assert not named(events, "OracleSlashed") and not named(events, "StakeSlashed")
    for node, peer in zip(nodes, peers):
        assert 1 not in skips(node, bid)
        for _ in range(20):  # pins run in the background: a later tick records them
            if peer.is_pinned(withheld.cid) and oracle_db_pins(node, bid) == {0: 1, 1: 1}:
                break
            time.sleep(0.05)
            node.tick()
        assert peer.is_pinned(withheld.cid), "each member pins the update it saw submitted"
        assert oracle_db_pins(node, bid) == {0: 1, 1: 1}


def oracle_db_pins(node, bounty_id: int) -> dict[int, int]:
    return dict(node.db.execute("SELECT submission, done FROM pins WHERE bounty = ?", (bounty_id,)).fetchall())


def _one_member_cut_off(world: World, tmp_path, members: int) -> tuple:
    """A committee of `members` and batches of 1, whose contributor submits one update that it
    serves to every member but the last, which reaches none of the others (F8). Returns the
    round and the members' nodes (each with its own store)."""
    from fathom.roles.contributor import contribute

    rnd = open_round(world, tmp_path, ["c0"], batchSize=1, members=members)
    shared = Shared(rnd.store)
    hidden = Peer(tmp_path / "withholder", [shared])
    last = members - 1
    peers = [Peer(tmp_path / f"peer{i}", [shared, *([hidden] if i < last else [])]) for i in range(members)]
    nodes = [make_node(world, peers[i], rnd.oracles[i], tmp_path / f"node{i}") for i in range(members)]
    contribute(rnd.market_of("c0"), hidden, rnd.contributors["c0"].key, rnd.bounty_id, *DATA["shard0"], lr=0.5,
               epochs=3, batch_size=32)
    return rnd, nodes


def test_a_member_that_cannot_fetch_an_update_reports_it_unavailable_and_is_not_slashed(world: World, tmp_path):
    """The same attack against a member cut off from the others (committee of 4, quorum 3):
    the contributor serves members 0-2 only, and member 3 reaches none of them. On an older
    main member 3 scored the update INVALID at once, against a median that is a real score,
    and was slashed as deviant. Now it does not report before the report deadline, and at
    the deadline it commits to a report that says UNAVAILABLE for the update (R7a, F8 case 3):
    every member on duty then committed, so all reveal at once and the batch settles before
    its timeout; the median is the three scores, member 3 earns no fee and loses nothing."""
    rnd, nodes = _one_member_cut_off(world, tmp_path, members=4)
    bid = rnd.bounty_id
    for node in nodes:
        node.tick()
    commits = named(rnd.events(), "ReportCommitted", batch=0)  # R11: reports are revealed later
    assert sorted(r["oracle"] for r in commits) == sorted(o.address for o in rnd.oracles[:3])
    stake_before = rnd.viewer.registry.functions.oracleInfo(rnd.oracles[3].address).call()[0]
    timeout = rnd.view()["scoringTimeout"]
    advance_time(world.w3, timeout - timeout // oracle_module.REPORT_RESERVE + 1)  # past the report deadline
    nodes[3].tick()
    assert named(rnd.events(), "ReportCommitted", batch=0, oracle=rnd.oracles[3].address)
    assert "reported UNAVAILABLE" in skips(nodes[3], bid)[0]
    assert world.w3.eth.get_block("latest")["timestamp"] < rnd.viewer.commits(bid, 0)["revealAt"]
    timeout_at = rnd.viewer.batch(bid, 0)["timeoutAt"]
    rnd.drive(lambda: rnd.view()["nextBatch"] == 1, nodes=nodes)
    assert world.w3.eth.get_block("latest")["timestamp"] < timeout_at, "settled before the timeout"
    (own,) = named(rnd.events(), "ReportPosted", batch=0, oracle=rnd.oracles[3].address)
    assert report_scores(own["scores"]) == [protocol.UNAVAILABLE], "never INVALID for what it could not fetch"
    events = rnd.events()
    assert not named(events, "OracleSlashed") and not named(events, "BatchVoided")
    assert named(events, "VersionAccepted"), "the three full reports vote the version"
    assert rnd.viewer.registry.functions.oracleInfo(rnd.oracles[3].address).call()[0] == stake_before
    assert rnd.viewer.claimable(rnd.oracles[3].address) == 0, "a partial report earns no fee (R7a)"
    assert rnd.viewer.claimable(rnd.oracles[0].address) > 0


def test_attack_A_two_updates_each_withheld_from_one_member_kill_the_version_for_free(world: World, tmp_path):
    """Review 12, finding A, against the nodes (R7a): committee of 3, a batch of 3. The honest
    c0's update is served to every member; the attacker's two junk updates (trained with a
    negligible step: not significant, never merged) are each served to every member but one,
    update 1 not to member 0 and update 2 not to member 2, until their report deadlines.
    Before, members 0 and 2 sent partial reports that did not vote (no merge, UNAVAILABLE
    merged score): one full report of three, no vote, the batch decided without a version,
    c0 unpaid, for the attacker's gas. Now a partial report merges what it fetched: the junk
    gets no share, so all three members name the same merged model and shares, the version is
    made, c0 is paid, and nobody is slashed."""
    from fathom.roles.contributor import contribute

    rnd = open_round(world, tmp_path, ["c0", "bad"], batchSize=3)
    bid = rnd.bounty_id
    shared = Shared(rnd.store)
    hidden1 = Peer(tmp_path / "hidden1", [shared])  # update 1: not reachable by member 0
    hidden2 = Peer(tmp_path / "hidden2", [shared])  # update 2: not reachable by member 2
    reach = {0: [hidden2], 1: [hidden1, hidden2], 2: [hidden1]}
    peers = [Peer(tmp_path / f"peer{i}", [shared, *reach[i]]) for i in range(3)]
    nodes = [make_node(world, peers[i], rnd.oracles[i], tmp_path / f"node{i}") for i in range(3)]
    rnd.contribute("c0", 0)
    bad = rnd.contributors["bad"]
    for hidden, shard in ((hidden1, 1), (hidden2, 2)):
        contribute(rnd.market_of("bad"), hidden, bad.key, bid, *DATA[f"shard{shard}"], lr=1e-9, epochs=1,
                   batch_size=32)
    timeout = rnd.view()["scoringTimeout"]
    for node in nodes:
        node.tick()
    advance_time(world.w3, timeout - timeout // oracle_module.REPORT_RESERVE + 1)  # past the report deadline
    rnd.drive(lambda: rnd.view()["nextBatch"] == 1, nodes=nodes)
    events = rnd.events()
    posted = {r["oracle"]: r for r in named(events, "ReportPosted", batch=0)}
    assert len(posted) == 3
    partial = [protocol.decode_report(posted[rnd.oracles[i].address]["scores"]) for i in (0, 2)]
    assert partial[0][0][1] == protocol.UNAVAILABLE and partial[1][0][2] == protocol.UNAVAILABLE
    votes = {(bytes(r["scores"])[-6:], str(r["merged"])) for r in posted.values()}
    assert len(votes) == 1, "the partial reports name the full report's vote"
    assert all(x not in (INVALID, protocol.UNAVAILABLE) for _s, x, _sh in partial), "they score their merge"
    assert not named(events, "BatchVoided") and not named(events, "StakeSlashed")
    assert not [e for e in named(events, "OracleSlashed") if e["amount"]]
    assert len(named(events, "VersionAccepted")) == 1, "the version is made"
    assert rnd.viewer.claimable(rnd.contributors["c0"].address) > STAKE, "c0 is paid its reward"
    assert rnd.viewer.claimable(bad.address) == 2 * STAKE, "the junk: rejected, stakes back"
    assert rnd.viewer.claimable(rnd.oracles[1].address) > 0, "the full report is paid"
    assert rnd.viewer.claimable(rnd.oracles[0].address) == 0, "a partial report is not (R7a)"


class _Released:
    """Another member's node as a provider that serves what it holds only once `open` is set:
    the attacker's timing (the withheld update reaches the partial members from the others only
    after their first-round reports are public)."""

    def __init__(self, peer: Peer, gate: threading.Event) -> None:
        self.peer = peer
        self.gate = gate

    def holds(self, cid: str) -> bool:
        return self.gate.is_set() and self.peer.local.has(cid)

    def cat(self, cid: str, max_size: int) -> bytes:
        return self.peer.local.cat(cid, max_size)


def test_attack_a_good_update_withheld_from_half_of_a_committee_of_four_is_scored_in_a_second_round(
        world: World, tmp_path, monkeypatch, capsys):
    """Review 15's committee-4 variant of R7a (a), against the nodes (R7b): a batch of one good
    update, which its contributor serves to members 0 and 1 only, and which members 0 and 1
    serve to the others only once members 2 and 3 revealed their first reports (the attacker's
    best timing). Members 2 and 3 report it UNAVAILABLE at their report deadline: two reports
    agree with its median (no quorum of 3) and the votes split 2 against 2. Under R7a alone the
    batch was voided: the good update refunded unpaid, for gas. Now the contract retries it
    (BatchRetried, members 2 and 3 cleared), members 2 and 3 fetch the update from the members
    that pinned it, score it and report again without a commitment (the full reports stand; a
    restarted node sends the second-round report, never the cleared one), and the batch is
    decided: the version is made and the update paid; members 0 and 1 earn the fee, members 2
    and 3 (second-round reports) none, nobody is slashed."""
    from fathom.roles.contributor import contribute
    from fathom.roles.oracle.state import node_status

    rnd = open_round(world, tmp_path, ["good"], batchSize=1, members=4)
    bid = rnd.bounty_id
    shared = Shared(rnd.store)
    hidden = Peer(tmp_path / "hidden", [shared])  # the contributor's node: members 0 and 1 only
    peers = [Peer(tmp_path / f"peer{i}", [shared, *([hidden] if i < 2 else [])]) for i in range(4)]
    released = threading.Event()
    for p in peers:
        p.sources += [_Released(q, released) for q in peers if q is not p]
    said: list[list[str]] = [[] for _ in range(4)]
    nodes = [make_node(world, peers[i], rnd.oracles[i], tmp_path / f"node{i}", on_event=said[i].append)
             for i in range(4)]
    good = rnd.contributors["good"]
    update = contribute(rnd.market_of("good"), hidden, good.key, bid, *DATA["shard0"], lr=0.5, epochs=3,
                        batch_size=32)
    assert not rnd.store.has(update.cid)
    for node in nodes:
        node.tick()
    timeout = rnd.view()["scoringTimeout"]
    advance_time(world.w3, timeout - timeout // oracle_module.REPORT_RESERVE + 1)  # past the report deadline
    drive(nodes, lambda: len(named(rnd.events(), "ReportPosted", batch=0)) == 4)
    first = {r["oracle"]: report_scores(r["scores"]) for r in named(rnd.events(), "ReportPosted", batch=0)}
    assert [first[rnd.oracles[i].address] for i in (2, 3)] == [[protocol.UNAVAILABLE]] * 2, first
    assert protocol.UNAVAILABLE not in first[rnd.oracles[0].address] + first[rnd.oracles[1].address]
    released.set()  # the partial reports are public: members 0 and 1 now serve what they pinned
    drive(nodes, lambda: bool(named(rnd.events(), "BatchRetried", batch=0)))
    (retry,) = named(rnd.events(), "BatchRetried", batch=0)
    assert retry["cleared"] == 0b1100, "the partial reports of members 2 and 3 are cleared"
    assert not named(rnd.events(), "BatchVoided"), "not voided: a second round"
    nodes[3].close()
    nodes[3] = make_node(world, peers[3], rnd.oracles[3], tmp_path / "node3",  # a restart: no cleared report sent
                         on_event=said[3].append)
    nodes[2].tick()  # fetches the update from member 0 or 1, reports it in full (member 3 has not yet)
    assert rnd.view()["nextBatch"] == 0
    assert len(named(rnd.events(), "ReportPosted", batch=0, oracle=rnd.oracles[2].address)) == 2
    status = node_status(tmp_path / "node2", rnd.oracles[2].key)
    assert status["second_round"] == [{"bounty": bid, "batch": 0, "cleared": 0b1100}]
    monkeypatch.setenv("FATHOM_DATA_DIR", str(tmp_path / "node2"))
    monkeypatch.setenv("FATHOM_PRIVATE_KEY", rnd.oracles[2].key.hex())
    assert cli_main(["oracle", "status"]) == 0
    out = capsys.readouterr().out
    assert f"bounty {bid} batch 0: in its second round (R7b), the partial reports of members [2, 3] cleared" in out, out
    drive(nodes, lambda: rnd.view()["nextBatch"] == 1)
    events = rnd.events()
    assert not named(events, "BatchVoided") and not named(events, "StakeSlashed")
    assert not [e for e in named(events, "OracleSlashed") if e["amount"]]
    (accepted,) = named(events, "VersionAccepted")
    assert accepted["author"] == good.address
    assert rnd.viewer.claimable(good.address) > STAKE, "the withheld update is paid its reward"
    for i in (2, 3):
        mine = named(events, "ReportPosted", batch=0, oracle=rnd.oracles[i].address)
        assert len(mine) == 2 and protocol.UNAVAILABLE not in report_scores(mine[-1]["scores"])
        assert any("in its second round (R7b" in m for m in said[i]), said[i]
        assert rnd.viewer.claimable(rnd.oracles[i].address) == 0, "a second-round report earns no fee (R7b)"
    assert len(named(events, "ReportCommitted", batch=0)) == 4, "the second round reported without commitments"
    assert rnd.viewer.claimable(rnd.oracles[0].address) == rnd.viewer.claimable(rnd.oracles[1].address) > 0
    nodes[2].sync()  # its log now holds the settlement: the batch is no longer in a second round
    assert node_status(tmp_path / "node2", rnd.oracles[2].key)["second_round"] == []
    for node in nodes:
        node.close()


def test_attack_three_good_updates_each_withheld_from_one_member_of_three_get_a_committed_second_round(
        world: World, tmp_path):
    """R7b when no full report stands: committee 3, three good updates, each served by its
    contributor to two members only (update i not to member i) and by the members to each other
    only after the first reports are public. Every first-round report is partial (each misses
    one update, none is unavailable to a quorum), the three merges differ: a retry clearing all
    three. With nothing standing, the second round is an ordinary commit/reveal round: each node
    fetches what it missed from the others, commits, reveals; the version merges the updates and
    every member, having committed, earns the fee."""
    from fathom.roles.contributor import contribute

    rnd = open_round(world, tmp_path, ["good"], batchSize=3)
    bid = rnd.bounty_id
    shared = Shared(rnd.store)
    hidden = [Peer(tmp_path / f"hidden{i}", [shared]) for i in range(3)]  # update i: not for member i
    peers = [Peer(tmp_path / f"peer{i}", [shared, *(h for j, h in enumerate(hidden) if j != i)]) for i in range(3)]
    released = threading.Event()
    for p in peers:
        p.sources += [_Released(q, released) for q in peers if q is not p]
    nodes = [make_node(world, peers[i], rnd.oracles[i], tmp_path / f"node{i}") for i in range(3)]
    good = rnd.contributors["good"]
    for i in range(3):
        contribute(rnd.market_of("good"), hidden[i], good.key, bid, *DATA[f"shard{i}"], lr=0.5, epochs=3,
                   batch_size=32, seed=i)
    for node in nodes:
        node.tick()
    timeout = rnd.view()["scoringTimeout"]
    advance_time(world.w3, timeout - timeout // oracle_module.REPORT_RESERVE + 1)  # past the report deadline
    drive(nodes, lambda: len(named(rnd.events(), "ReportPosted", batch=0)) == 3)
    first = {r["oracle"]: report_scores(r["scores"]) for r in named(rnd.events(), "ReportPosted", batch=0)}
    for i in range(3):
        assert first[rnd.oracles[i].address][i] == protocol.UNAVAILABLE, first
    released.set()
    drive(nodes, lambda: bool(named(rnd.events(), "BatchRetried", batch=0)))
    (retry,) = named(rnd.events(), "BatchRetried", batch=0)
    assert retry["cleared"] == 0b111 and rnd.viewer.batch(bid, 0)["reportedMask"] == 0
    drive(nodes, lambda: rnd.view()["nextBatch"] == 1)
    events = rnd.events()
    assert len(named(events, "ReportCommitted", batch=0)) == 6, "the second round committed, then revealed"
    assert not named(events, "BatchVoided") and not [e for e in named(events, "OracleSlashed") if e["amount"]]
    assert len(named(events, "VersionAccepted")) == 1
    assert len(named(events, "UpdateMerged")) >= 2, "the withheld updates are merged and paid"
    assert rnd.viewer.claimable(good.address) > 3 * STAKE
    fees = [rnd.viewer.claimable(o.address) for o in rnd.oracles]
    assert fees[0] == fees[1] == fees[2] > 0, "second-round reports that were committed earn the fee"
    for node in nodes:
        node.close()


def test_attack_F8_timing_a_late_commitment_frames_the_node_that_could_not_fetch(world: World, tmp_path):
    """The F8 timing attack (issue 14, finding 6), against the node: committee of 5 (quorum 3),
    the update reaches members 0-3 but not member 4; member 3 is offline. Members 0 and 1 commit
    early; member 2 (dishonest) commits only after member 4's report deadline, before the
    reveal phase. At its deadline member 4 saw 2 < 3 commitments, so before R7a it reported
    INVALID, the median was the true score and it was slashed as deviant. Now it reports the
    update UNAVAILABLE: it is not judged on it, whatever the count of commitments it saw."""
    rnd, nodes = _one_member_cut_off(world, tmp_path, members=5)
    bid = rnd.bounty_id
    stake = lambda i: rnd.viewer.registry.functions.oracleInfo(rnd.oracles[i].address).call()[0]  # noqa: E731
    before = [stake(i) for i in range(5)]
    for i in (0, 1):
        nodes[i].tick()
    timeout = rnd.view()["scoringTimeout"]
    advance_time(world.w3, timeout - timeout // oracle_module.REPORT_RESERVE + 1)  # past the report deadline
    assert bin(rnd.viewer.commits(bid, 0)["committedMask"]).count("1") == 2, "fewer than a quorum committed"
    nodes[4].tick()
    nodes[2].tick()  # the late committer, before revealAt
    assert world.w3.eth.get_block("latest")["timestamp"] < rnd.viewer.commits(bid, 0)["revealAt"]
    assert bin(rnd.viewer.commits(bid, 0)["committedMask"]).count("1") == 4
    advance_time(world.w3, timeout // 4)  # the reveal phase (member 3 never commits)
    running = [nodes[i] for i in (0, 1, 2, 4)]
    drive(running, lambda: len(named(rnd.events(), "ReportPosted", batch=0)) == 4)
    advance_time(world.w3, timeout)
    drive(running, lambda: rnd.view()["nextBatch"] == 1)
    (own,) = named(rnd.events(), "ReportPosted", batch=0, oracle=rnd.oracles[4].address)
    assert report_scores(own["scores"]) == [protocol.UNAVAILABLE]
    events = rnd.events()
    assert not named(events, "BatchVoided") and named(events, "VersionAccepted")
    assert stake(4) == before[4], "the member that could not fetch is not slashed"
    assert not [e for e in named(events, "OracleSlashed") if e["amount"]], "nobody is"
    assert rnd.viewer.claimable(rnd.oracles[4].address) == 0
    assert rnd.viewer.claimable(rnd.oracles[2].address) == rnd.viewer.claimable(rnd.oracles[0].address) > 0


class _Holder:
    """Another member's node as a provider (what it holds, pinned or cached)."""

    def __init__(self, peer: Peer) -> None:
        self.peer = peer

    def holds(self, cid: str) -> bool:
        return self.peer.local.has(cid)

    def cat(self, cid: str, max_size: int) -> bytes:
        return self.peer.local.cat(cid, max_size)


class Gate(WrappedStore):
    """A store whose `cat` of the gated CIDs blocks until `release` is set; it counts the
    fetches in flight and records each one's deadline."""

    def __init__(self, inner: Store, gated: set[str]) -> None:
        super().__init__(inner)
        self.gated = gated
        self.release = threading.Event()
        self.lock = threading.Condition()
        self.in_flight = 0
        self.most = 0
        self.deadlines: dict[str, float | None] = {}

    def cat(self, cid: str, max_size: int, *, deadline: float | None = None) -> bytes:
        if cid in self.gated:
            with self.lock:
                self.deadlines[cid] = deadline
                self.in_flight += 1
                self.most = max(self.most, self.in_flight)
                self.lock.notify_all()
            self.release.wait()
            with self.lock:
                self.in_flight -= 1
        return self.inner.cat(cid, max_size)


def test_a_batch_is_fetched_side_by_side_under_one_deadline_derived_from_its_timeout(world: World, tmp_path,
                                                                                     monkeypatch):
    """The attack: updates were fetched one at a time with 30 s each, so about 20 missing
    CIDs outlasted a 600 s timeout and the batch was voided, its members slashed. Now every
    fetch of a batch is in flight at once (all four block in the gated store together), and
    each carries the same deadline: the batch's report deadline, inside its timeout."""
    names = ["c0", "c1", "c2", "c3"]
    rnd = open_round(world, tmp_path, names, batchSize=4)
    subs = [rnd.contribute(n, i, epochs=1) for i, n in enumerate(names)]
    gate = Gate(rnd.store, {s.cid for s in subs})
    node = make_node(world, gate, rnd.oracles[0], tmp_path / "gated")
    monkeypatch.setattr(oracle_module, "FETCH_WAIT", 0.0)
    try:
        node.tick()  # starts the fetches and returns: they run in the background
        with gate.lock:
            assert gate.lock.wait_for(lambda: gate.in_flight == 4, timeout=120), gate.in_flight
        assert gate.most == 4, "the batch's fetches did not overlap"
        assert not named(rnd.events(), "ReportPosted"), "reported before its updates arrived"
        deadlines = set(gate.deadlines.values())
        assert len(deadlines) == 1 and None not in deadlines, gate.deadlines
        timeout = rnd.view()["scoringTimeout"]
        left = deadlines.pop() - time.monotonic()
        assert 0 < left <= timeout - timeout // oracle_module.REPORT_RESERVE
    finally:
        gate.release.set()
    monkeypatch.setattr(oracle_module, "FETCH_WAIT", 5.0)
    me = rnd.oracles[0].address
    for _ in range(5):
        node.tick()
        if named(rnd.events(), "ReportCommitted", oracle=me):
            break
    assert named(rnd.events(), "ReportCommitted", oracle=me)
    # the other members run no node: the reveal phase opens at revealAt (R11), and it reveals
    advance_time(world.w3, rnd.viewer.commits(rnd.bounty_id, 0)["revealAt"] - rnd.viewer.now() + 1)
    node.tick()
    (posted,) = named(rnd.events(), "ReportPosted", oracle=me)
    assert INVALID not in report_scores(posted["scores"])
    node.close()


# ---------------------------------------------------------------- bounties a node cannot serve


def test_a_bounty_whose_validation_set_does_not_fit_its_model_is_quarantined_and_the_others_are_served(
        world: World, tmp_path, monkeypatch, capsys):
    """The attack (issue 14 item 10): any requester names staked oracles on a bounty whose
    validation set does not fit the model (10 features for an 8-feature model); on today's
    main every member raises in `_baseline` each tick, backs off and stops, and a restart
    raises again, so every other bounty they serve stops being scored. Now the node
    quarantines that one bounty with its reason (before joining it, so it bonds nothing),
    and `fathom oracle status` shows it; the other bounty is served, also after a restart."""
    rnd = open_round(world, tmp_path, ["c0"], batchSize=1, baseline=False)
    requester = world.new_party("hostile_requester")
    market = world.market_for(requester)
    terms = default_terms(market.now(), [o.address for o in rnd.oracles])
    X = np.zeros((50, 10), np.float32)
    y = np.zeros(50, np.int64)
    monkeypatch.setattr(requester_module, "check_bounty", lambda *a: None)  # the attacker skips the tools' check
    bad = open_bounty(market, rnd.store, requester.key, tmp_path / "hostile", (MANIFEST, seed_model()),
                      ({"task": "classification", "n_classes": K}, {"X": X, "y": y}), terms).bounty_id
    monkeypatch.undo()

    rnd.drive(lambda: rnd.viewer.state(rnd.bounty_id) == "Open")
    for node in rnd.nodes:
        reason = node.quarantined().get(bad)
        assert reason and "does not fit" in reason and "10 features" in reason, reason
    _, opted, _ = rnd.viewer.committee(bad)
    assert opted == 0, "a member joined (and bonded for) a bounty it cannot serve"

    restarted = rnd.node(0)
    restarted.tick()  # does not raise
    assert bad in restarted.quarantined()
    rnd.contribute("c0", 0)
    rnd.drive(lambda: rnd.view()["nextBatch"] == 1, nodes=[restarted, *rnd.nodes[1:]])
    assert named(rnd.events(), "VersionAccepted")

    monkeypatch.setenv("FATHOM_DATA_DIR", str(tmp_path / "oracle0"))
    monkeypatch.setenv("FATHOM_PRIVATE_KEY", rnd.oracles[0].key.hex())
    assert cli_main(["oracle", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    (entry,) = [q for q in status["quarantined"] if q["bounty"] == bad]
    assert "does not fit" in entry["reason"]
    assert cli_main(["oracle", "status"]) == 0
    assert f"bounty {bad} quarantined: Unservable" in capsys.readouterr().out


def test_a_bounty_whose_join_the_contract_refuses_is_quarantined_instead_of_stopping_the_node(world: World, tmp_path,
                                                                                               monkeypatch):
    """The same attack through the contract: a bounty whose `joinCommittee` reverts for this
    node (say its stake does not cover the bond) was retried as a transient failure on
    every tick, so after `max_failures` ticks the node stopped and every other bounty with
    it. A revert at the join quarantines that bounty; a node that does not answer is still
    transient (backoff)."""
    from fathom.chain.client import ChainError

    rnd = open_round(world, tmp_path, ["c0"], batchSize=1, baseline=False)
    other = world.new_party("other_requester")
    market = world.market_for(other)
    refused = open_bounty(market, rnd.store, other.key, tmp_path / "other", (MANIFEST, seed_model()),
                          ({"task": "classification", "n_classes": K},
                           {"X": DATA["validation"][0], "y": DATA["validation"][1]}),
                          default_terms(market.now(), [o.address for o in rnd.oracles])).bounty_id
    node = rnd.nodes[0]
    join = node.market.join

    def refusing(bounty_id):
        if bounty_id == refused:
            raise ChainError("joinCommittee would revert: InsufficientStake")
        return join(bounty_id)

    monkeypatch.setattr(node.market, "join", refusing)
    node.max_failures = 2
    node.run(ticks=3)  # would raise OracleStopped if the revert counted as a failure
    assert "Unjoinable" in node.quarantined()[refused]
    rnd.drive(lambda: rnd.viewer.state(rnd.bounty_id) == "Open")
    assert refused in node.quarantined() and rnd.bounty_id not in node.quarantined()


def test_bounty_open_refuses_a_validation_set_that_does_not_fit_before_escrowing_anything(world: World, tmp_path):
    """`open_bounty` checks features, classes and targets against the model before it pins
    or escrows anything: the market's bounty count and the store stay as they were."""
    requester = world.new_party("careless_requester")
    market = world.market_for(requester)
    store = EmbeddedStore(tmp_path / "store")
    terms = default_terms(market.now(), [requester.address] * 3)
    before = market.bounty_count()
    cases = {
        "10 features": ({"task": "classification", "n_classes": K},
                        {"X": np.zeros((20, 10), np.float32), "y": np.zeros(20, np.int64)}),
        "4 classes": ({"task": "classification", "n_classes": 4},
                      {"X": np.zeros((20, 8), np.float32), "y": np.zeros(20, np.int64)}),
        "regression": ({"task": "regression"}, {"X": np.zeros((20, 8), np.float32), "y": np.zeros(20, np.float32)}),
        "int64": ({"task": "classification", "n_classes": K},
                  {"X": np.zeros((20, 8), np.int64), "y": np.zeros(20, np.int64)}),
    }
    for what, validation in cases.items():
        with pytest.raises(FathomError):
            open_bounty(market, store, requester.key, tmp_path, (MANIFEST, seed_model()), validation, terms)
    assert market.bounty_count() == before
    assert not (tmp_path / "store").exists() or not any((tmp_path / "store").rglob("*"))


# ---------------------------------------------------------------- the validation set cannot be swapped


def test_a_keyring_that_swaps_the_validation_set_is_refused_and_members_score_on_the_committed_one(
        world: World, tmp_path):
    """The attack (issue 15 item 4): the requester publishes a new keyring whose brief
    points to another validation set (sealed for the committee, with a salt of its own).
    Long-running and restarted members keep scoring on the committed set; a member with no
    state refuses the bounty (ValidationSwapped) rather than score on the swapped one."""
    rnd = open_round(world, tmp_path, ["c0"], batchSize=1)
    bid = rnd.bounty_id
    reader = BountyReader(rnd.viewer, rnd.store, bid, rnd.oracles[0].key)
    committed, committed_cid, _ = reader.committed_validation()

    # the swap: all-one labels, so the head scores differently on it
    members = [o.address for o in rnd.oracles]
    keys = {m: rnd.viewer.public_key(m) for m in members}
    X, y = DATA["validation"]
    swapped_blob = seal_for(pack_validation({"task": "classification", "n_classes": K}, {"X": X, "y": np.ones_like(y)}),
                            keys, bid, "validation", rnd.requester.address)
    swapped_cid = rnd.store.add(swapped_blob)
    from fathom.crypto.envelope import open_envelope

    other_key = open_envelope(swapped_blob, private_key=rnd.oracles[0].key).key
    brief = dict(reader.brief)
    brief.update({"validation": swapped_cid,
                  "validation_salt": seal_for(b"\1" * 32, keys, bid, "validation", rnd.requester.address,
                                              key=other_key).hex()})
    c0 = rnd.contributors["c0"]
    ring = build_keyring(rnd.secrets.model_key, {**keys, c0.address: rnd.viewer.public_key(c0.address)}, bid,
                         rnd.requester.address,
                         note=json.dumps(brief, sort_keys=True).encode())
    rnd.world.market_for(rnd.requester).set_keyring(bid, cid_to_chain(rnd.store.add(ring)))

    fresh = BountyReader(rnd.viewer, rnd.store, bid, rnd.oracles[0].key)
    assert fresh.brief["validation"] == swapped_cid
    with pytest.raises(ValidationSwapped):
        fresh.committed_validation()

    long_running = rnd.nodes[0]
    restarted = rnd.node(1)
    stateless = make_node(world, rnd.store, rnd.oracles[2], tmp_path / "stateless")
    assert restarted._validation_set(bid).y.tolist() == committed.y.tolist()
    assert long_running._validation_set(bid).y.tolist() == committed.y.tolist()
    rnd.contribute("c0", 0)
    stateless.tick()
    assert "ValidationSwapped" in stateless.quarantined()[bid]
    rnd.drive(lambda: rnd.view()["nextBatch"] == 1, nodes=[long_running, restarted, rnd.nodes[2]])
    (accepted,) = named(rnd.events(), "VersionAccepted")
    head = BountyReader(rnd.viewer, rnd.store, bid, rnd.oracles[0].key).model(1)
    # the recorded score is what F12 gives on the committed set (the baseline moved by the
    # significant part of the paired difference), and nothing like what the swapped set gives
    parent = BountyReader(rnd.viewer, rnd.store, bid, rnd.oracles[0].key).model(0)
    delta = {k: head.arrays[k] - parent.arrays[k] for k in head.arrays}
    baseline, resolution = rnd.view()["baselineScore"], rnd.viewer.opened_params(bid)["resolution"]

    def reported(vX, vy):
        return significance.batch_reports(parent.manifest, parent.arrays, [delta], vX, vy, baseline, resolution, True)[0][0]

    on_committed = reported(committed.X, committed.y)
    assert abs(accepted["score"] - on_committed) <= 2 and on_committed > baseline
    assert abs(accepted["score"] - round(models.score(head.manifest, head.arrays, X, np.ones_like(y)) * 10_000)) > 100
    assert committed_cid != swapped_cid


# ---------------------------------------------------------------- the metric


LOG_LOSS = models.make_manifest("softmax", 8, K, metric="log_loss")


def test_check_bounty_refuses_terms_whose_metric_is_not_the_manifests():
    """`fathom bounty open` registered "accuracy, higher is better" whatever the manifest
    said; the terms now come from the manifest's metric (METRIC_TABLE) and are checked."""
    validation = ({"task": "classification", "n_classes": K}, {"X": DATA["validation"][0], "y": DATA["validation"][1]})
    with pytest.raises(FathomError, match="log_loss"):
        check_bounty((LOG_LOSS, seed_model()), validation, default_terms(0, ["0x" + "11" * 20] * 3))
    with pytest.raises(FathomError, match="lower"):
        check_bounty((LOG_LOSS, seed_model()), validation,
                     default_terms(0, ["0x" + "11" * 20] * 3, metric="log_loss", higherIsBetter=True))
    check_bounty((LOG_LOSS, seed_model()), validation, default_terms(0, ["0x" + "11" * 20] * 3, metric="log_loss"))
    assert default_terms(0, [], metric="log_loss")["higherIsBetter"] is False
    assert default_terms(0, [], metric="mse")["higherIsBetter"] is False


def test_in_a_log_loss_bounty_a_harmful_update_does_not_win_and_a_baseline_above_target_does_not_end_it(
        world: World, tmp_path, monkeypatch, capsys):
    """The attack (issue 15 item 5): in a log-loss bounty registered as "accuracy, higher
    is better", a harmful update (a large loss) won the whole reward and the honest one was
    slashed, and a baseline loss above the target ended the bounty at once. Registered from
    the manifest, lower is better: the baseline loss is above the target (0.05) and the
    bounty stays Open; the honest update is accepted and the harmful one slashed.
    `fathom bounty show` prints the metric, its direction and the scores in nats."""
    rnd = open_round(world, tmp_path, ["honest", "harmful"], manifest=LOG_LOSS, batchSize=2, target=500)
    bid = rnd.bounty_id
    view = rnd.view()
    assert view["higherIsBetter"] is False
    assert rnd.viewer.state(bid) == "Open" and view["baselineScore"] > view["target"]
    rnd.contribute("honest", 0)
    rnd.contribute("harmful", 1, scale=-20.0)
    rnd.drive(lambda: rnd.view()["nextBatch"] == 1)
    events = rnd.events()
    (accepted,) = named(events, "VersionAccepted")
    assert accepted["author"] == rnd.contributors["honest"].address
    assert accepted["score"] < view["baselineScore"]
    (slashed,) = named(events, "StakeSlashed")
    assert slashed["contributor"] == rnd.contributors["harmful"].address
    assert not named(events, "OracleSlashed")
    assert rnd.viewer.state(bid) == "Open"

    from types import SimpleNamespace

    from fathom.cli import bounty as bounty_cli

    monkeypatch.setattr(bounty_cli, "market_for", lambda args, settings, signer=True: rnd.viewer)
    monkeypatch.setattr(bounty_cli, "schema_summary", lambda args, settings: (None, ""))  # no feature schema here
    monkeypatch.setattr(bounty_cli, "_mode_of", lambda args, settings, market: {"mode": "sealed", "max_epsilon": None,
                                                                              "paillier_bits": None})  # nor a store
    monkeypatch.setattr(bounty_cli, "store_for", lambda settings: rnd.store)
    monkeypatch.setattr(bounty_cli, "_optional_key", lambda args, settings: None)  # anyone's view
    assert bounty_cli._cmd_bounty_show(SimpleNamespace(bounty=bid, json=False, privacy=False), None) == 0
    out = capsys.readouterr().out
    assert "metric log_loss (lower is better" in out and "target 0.05" in out
    assert f"baseline {view['baselineScore'] / 10_000:.6g}" in out


def test_bounty_open_refuses_a_missing_loss_target_a_wrong_metric_or_a_misfit_before_it_needs_a_chain(
        tmp_path, fathom_env, capsys):
    """`fathom bounty open` checks what needs no chain first, so a mistake prints one
    `fathom: error:` line and sends nothing (here no key and no node are even configured):
    a log-loss model without --target (a loss has no safe default target), a --metric that
    is not the manifest's, a validation set of 10 features for an 8-feature model."""

    def folder(name: str, manifest: dict | None, arrays: dict) -> str:
        path = tmp_path / name
        path.mkdir()
        if manifest is not None:
            (path / "manifest.json").write_text(json.dumps(manifest))
        for key, value in arrays.items():
            np.save(path / f"{key}.npy", value, allow_pickle=False)
        return str(path)

    loss_model = folder("loss", LOG_LOSS, seed_model())
    acc_model = folder("acc", MANIFEST, seed_model())
    val = folder("val", {"task": "classification", "n_classes": K}, {"X": DATA["validation"][0], "y": DATA["validation"][1]})
    wide = folder("wide", {"task": "classification", "n_classes": K},
                  {"X": np.zeros((20, 10), np.float32), "y": np.zeros(20, np.int64)})
    base = ["bounty", "open", "--committee", "0x" + "11" * 20]
    for argv, says in [
        ([*base, "--model", loss_model, "--validation", val], "needs --target"),
        ([*base, "--model", acc_model, "--validation", val, "--metric", "mse"], "is not the model's metric"),
        ([*base, "--model", acc_model, "--validation", wide], "10 features"),
    ]:
        assert cli_main(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith("fathom: error:") and says in err and err.count("\n") == 1, err


def test_attack_R3_5_decoys_locking_free_stake_do_not_quarantine_the_bounty_and_the_node_joins_once_freed(
        world: World, tmp_path, monkeypatch):
    """Review 3, R3-5: decoy bounties lock an honest node's free stake, so its join of the real
    bounty reverts InsufficientFreeStake. The node used to quarantine the bounty for good (and
    its drawn seat was then vacated and redrawn toward the coalition). Now it waits, retries
    every tick, and joins once its stake frees up; a top-up (with --stake) stops at the node's
    overall cap, so decoys cannot draw an unbounded stake out of it either."""
    from fathom.chain.client import ChainError

    rnd = open_round(world, tmp_path, ["c0"], batchSize=1, baseline=False)
    node = rnd.nodes[0]
    join = node.market.join
    locked = {"on": True}

    def short_of_stake(bounty_id):
        if locked["on"]:
            raise ChainError("joinCommittee would revert: InsufficientFreeStake(oracle, 0, 62500000000000000)")
        return join(bounty_id)

    monkeypatch.setattr(node.market, "join", short_of_stake)
    node.max_failures = 2
    node.run(ticks=3)
    bid = rnd.bounty_id
    assert bid not in node.quarantined(), "quarantined for want of free stake"
    members, opted, _ = rnd.viewer.committee(bid)
    assert not opted & (1 << members.index(node.address))
    locked["on"] = False  # the decoys' bonds are released
    node.tick()
    members, opted, _ = rnd.viewer.committee(bid)
    assert opted & (1 << members.index(node.address)), "joined once its stake freed up"


def test_attack_R3_5_top_ups_for_bonds_stop_at_the_nodes_overall_cap(world: World, tmp_path, monkeypatch):
    """With --stake, the node stakes what a bond lacks of free stake, but never past its overall
    cap (--max-stake; default --stake plus one --max-bond): past it the bounty waits, unquarantined."""
    rnd = open_round(world, tmp_path, ["c0"], batchSize=1, baseline=False)
    node = rnd.nodes[0]
    staked: list[int] = []
    monkeypatch.setattr(node.market, "free_stake", lambda oracle: 0)  # every bond of it locked by decoys
    monkeypatch.setattr(node.market, "stake_oracle", lambda amount, notify=None: staked.append(amount))
    stake = node.market.stake_of(node.address)
    node.stake_wei = stake
    node.max_stake_wei = stake  # no room for a top-up
    node.tick()
    assert staked == [] and rnd.bounty_id not in node.quarantined()
    assert node.stake_cap() == stake
    node.max_stake_wei = None  # the default: --stake plus one max_bond
    assert node.stake_cap() == stake + node.policy.max_bond
    bond, _ = node.market.member_bond(rnd.bounty_id)
    node.tick()
    assert staked == [bond], "topped up the missing bond within the cap"


def test_attack_F3_a_node_that_cannot_fetch_reports_it_unavailable_and_a_withheld_reveal_does_not_charge_it(
        world: World, tmp_path):
    """The R11 review's F3, against the node: committee of 3 (quorum 2), the contributor serves
    members 0 and 1 only, and member 2 reaches neither. Members 0 and 1 commit; at its report
    deadline member 2 commits to a report saying UNAVAILABLE for the update (R7a; it abstained
    under R12 before). Member 1 then withholds its reveal, so members 0 and 2 reveal: one
    available report is no quorum. At the timeout the batch gets a second round (R7b: no
    majority with a partial report), member 2's report cleared and member 1's unrevealed
    commitment standing (review of R7b, L1); member 2, still cut off, reports UNAVAILABLE again at the second round's
    report deadline, and the batch is voided at the restarted timeout. Member 2, which reported,
    is not charged; only member 1, which reported in neither round, pays."""
    rnd, nodes = _one_member_cut_off(world, tmp_path, members=3)
    bid = rnd.bounty_id
    for node in nodes:
        node.tick()
    commits = named(rnd.events(), "ReportCommitted", batch=0)
    assert sorted(r["oracle"] for r in commits) == sorted(o.address for o in rnd.oracles[:2])
    stake = lambda i: rnd.viewer.registry.functions.oracleInfo(rnd.oracles[i].address).call()[0]  # noqa: E731
    before = [stake(i) for i in range(3)]
    timeout = rnd.view()["scoringTimeout"]
    advance_time(world.w3, timeout - timeout // oracle_module.REPORT_RESERVE + 1)  # past the report deadline
    nodes[2].tick()
    (commitment,) = named(rnd.events(), "ReportCommitted", batch=0, oracle=rnd.oracles[2].address)
    assert any(bytes(commitment["commitment"])), "a commitment to a report, not an abstention"
    nodes[2].tick()  # a later tick sends nothing more before the reveal
    assert len(named(rnd.events(), "ReportCommitted", batch=0, oracle=rnd.oracles[2].address)) == 1
    assert "reported UNAVAILABLE" in skips(nodes[2], bid)[0]
    # member 1 withholds its reveal: its node runs no more. Every member on duty committed, so
    # members 0 and 2 reveal at once; one available report and a partial one: a second round at
    # the timeout (R7b), where member 2 reports UNAVAILABLE again; voided at the new timeout
    drive([nodes[0], nodes[2]], lambda: len(named(rnd.events(), "ReportPosted", batch=0)) == 2)
    advance_time(world.w3, timeout)
    drive([nodes[0], nodes[2]], lambda: bool(named(rnd.events(), "BatchRetried", batch=0)))
    assert [e["cleared"] for e in named(rnd.events(), "BatchRetried", batch=0)] == [1 << 2]
    advance_time(world.w3, timeout - timeout // oracle_module.REPORT_RESERVE + 1)  # the second round's deadline
    mine = lambda: named(rnd.events(), "ReportPosted", batch=0, oracle=rnd.oracles[2].address)  # noqa: E731
    drive([nodes[0], nodes[2]], lambda: len(mine()) == 2)
    assert report_scores(mine()[-1]["scores"]) == [protocol.UNAVAILABLE], "still cut off: partial again"
    advance_time(world.w3, timeout)
    drive([nodes[0], nodes[2]], lambda: rnd.view()["nextBatch"] == 1)
    events = rnd.events()
    assert named(events, "BatchVoided", batch=0)
    assert stake(2) == before[2], "the member that could not fetch is not charged"
    assert stake(0) == before[0], "the honest reporter is not charged"
    assert stake(1) < before[1], "the member that committed and withheld its reveal is charged"
    assert {e["oracle"] for e in named(events, "OracleSlashed") if e["amount"]} == {rnd.oracles[1].address}


def _use_cli_as(world: World, tmp_path, fathom_env, party) -> None:
    """Point `fathom` (cli_main) at this test chain, signing as `party`."""
    from fathom.chain.deployments import write_deployment

    deployments = tmp_path / "deployments"
    write_deployment(deployments, "clitest", {"network": "clitest", "chain_id": world.w3.eth.chain_id, "block": 0,
                                              "contracts": world.addresses})
    fathom_env.setenv("FATHOM_RPC_URL", world.chain.url)
    fathom_env.setenv("FATHOM_NETWORK", "clitest")
    fathom_env.setenv("FATHOM_DEPLOYMENTS", str(deployments))
    fathom_env.setenv("FATHOM_PRIVATE_KEY", party.key.hex())


def test_attack_D3_a_node_releases_its_bond_once_a_bounty_closes_so_its_stake_never_only_falls(
        world: World, tmp_path, fathom_env, capsys):
    """Review 10, D3: nothing in fathom called leaveCommittee, so every bounty an honest node
    served locked another bond for good: its drawn seats elsewhere then waited for free stake
    for ever (C6 never vacates them, R3-5), stalling the baseline and charging the honest
    requester, and the node could never unbond. Now the node leaves every committee it joined
    once the bounty is Closed (or Revealed, after its F2 disclosure), once, not again after a
    restart; `fathom oracle leave ID` does it by hand and refuses, one line and nothing sent,
    for an account that already left."""
    rnd = open_round(world, tmp_path, ["c0"], batchSize=1)
    bid = rnd.bounty_id
    bond, _ = rnd.viewer.member_bond(bid)
    stakes = [rnd.viewer.stake_of(o.address) for o in rnd.oracles]
    assert all(rnd.viewer.free_stake(o.address) == s - bond for o, s in zip(rnd.oracles, stakes)), "bonded"
    world.market_for(rnd.requester).cancel(bid)
    running = rnd.nodes[:2]  # the third node is stopped: its operator leaves by hand
    rnd.drive(lambda: rnd.viewer.state(bid) == "Closed", nodes=running)
    for node in running:
        node.tick()
    for o, s in zip(rnd.oracles[:2], stakes):
        assert rnd.viewer.free_stake(o.address) == s, "the bond was released on close"
    assert rnd.viewer.free_stake(rnd.oracles[2].address) == stakes[2] - bond
    left = named(rnd.events(), "CommitteeLeft")
    assert sorted(e["oracle"] for e in left) == sorted(n.address for n in running)
    restarted = rnd.node(0)
    restarted.tick()
    assert len(named(rnd.events(), "CommitteeLeft")) == 2, "a restart does not leave again"

    _use_cli_as(world, tmp_path, fathom_env, rnd.oracles[2])
    assert cli_main(["oracle", "leave", str(bid)]) == 0
    assert f"left the committee of bounty {bid}" in capsys.readouterr().out
    assert rnd.viewer.free_stake(rnd.oracles[2].address) == stakes[2]
    block = world.w3.eth.block_number
    assert cli_main(["oracle", "leave", str(bid)]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("fathom: error:") and "already left" in err[0], err
    assert world.w3.eth.block_number == block, "nothing sent"


def test_attack_N1_a_joined_node_that_quarantines_a_bounty_sits_out_instead_of_staying_silent_on_duty(
        world: World, tmp_path, monkeypatch, capsys):
    """Review 10, N1: a member that quarantined a bounty it had already joined (any failure
    after joining that is neither a rejection nor transient: say a contributor's crafted update
    raising in scoring) stayed opted in, on duty and silent, so every void charged it until
    its bond was gone. Now it takes the standing sit-out (C7) first, says so in the quarantine
    reason and in `fathom oracle status`, and leaves once the bounty ends."""
    rnd = open_round(world, tmp_path, ["c0"], batchSize=1)
    bid = rnd.bounty_id
    node = rnd.nodes[0]

    def crafted(*args, **kwargs):
        raise RuntimeError("an update crafted to raise in scoring")

    monkeypatch.setattr(node, "_report_for", crafted)
    rnd.contribute("c0", 0)
    node.tick()
    reason = node.quarantined().get(bid)
    assert reason and "crafted" in reason and "sitting out" in reason, reason
    members, _, _ = rnd.viewer.committee(bid)
    assert rnd.viewer.standing_sit_out(bid) == 1 << members.index(node.address), "off duty (C7), not silent on duty"
    node.tick()  # quarantined: nothing more is sent
    assert len(named(rnd.events(), "SitOutSet")) == 1
    monkeypatch.setenv("FATHOM_DATA_DIR", str(tmp_path / "oracle0"))
    monkeypatch.setenv("FATHOM_PRIVATE_KEY", rnd.oracles[0].key.hex())
    assert cli_main(["oracle", "status"]) == 0
    out = capsys.readouterr().out
    assert f"bounty {bid}: sitting out every batch, quarantined after joining (C7)" in out, out


def test_attack_D1_an_unservable_drawn_bounty_is_joined_then_sat_out_so_its_seats_cannot_be_vacated(
        world: World, tmp_path, monkeypatch):
    """Review 10, D1: for a drawn seat a keyring already seated, the node ran its servability
    check (F9) before joining; a requester publishing an artefact that fails it (here a
    validation set of 10 features for an 8-feature model) had every honest drawn node
    quarantine unjoined, holding free stake, so C6 read them as dead: each seat was vacated
    and redrawn, uncharged, until a coalition that runs no check held the committee. Now a
    drawn node joins (bonds) first and checks after; unservable, it quarantines with the
    standing sit-out (C7), so no void charges it and no seat of it is vacatable. A named
    committee still checks before it bonds (the F9 test above)."""
    from fathom.chain.client import ChainError

    X = np.zeros((50, 10), np.float32)
    monkeypatch.setitem(DATA, "validation", (X, np.zeros(50, np.int64)))
    monkeypatch.setattr(requester_module, "check_bounty", lambda *a: None)  # the attacker skips the tools' check
    rnd = open_round(world, tmp_path, ["c0"], drawn=True, baseline=False)  # drawn, and seated by the keyring
    monkeypatch.undo()
    bid = rnd.bounty_id
    for node in rnd.nodes:
        node.tick()
    members, opted, _ = rnd.viewer.committee(bid)
    assert opted == 0b111, "every drawn node joined (bonded) before checking"
    assert rnd.viewer.standing_sit_out(bid) == 0b111, "unservable: each sits out (C7), never on duty silent"
    for node in rnd.nodes:
        reason = node.quarantined().get(bid)
        assert reason and "does not fit" in reason and "sitting out" in reason, reason
    advance_time(world.w3, rnd.view()["scoringTimeout"])
    anyone = world.market_for(world.new_party("vacater"))
    anyone.wait_for_staking_half("the test")
    for m in members:
        with pytest.raises(ChainError, match="SeatNotVacatable"):
            anyone.vacate_seat(bid, m)  # joined: no free re-roll


# ---------------------------------------------------------------- review 11: draws, seeds, leaves

ZERO_ADDRESS = "0x" + "00" * 20


def _drawn_terms(market, **overrides):
    terms = default_terms(market.now(), [ZERO_ADDRESS] * 3)
    terms.update({"initialModel": (b"\x01" * 32, 0x55), "keyring": (b"\x02" * 32, 0x55),
                  "validationCommitment": b"\x03" * 32})
    terms.update(overrides)
    return terms


def _txs_from(w3, address: str, first: int, last: int) -> list:
    return [tx for n in range(first, last + 1) for tx in w3.eth.get_block(n, full_transactions=True).transactions
            if tx["from"] == address]


def test_attack_Z_a_node_sends_a_no_op_draw_of_an_ended_bounty_on_every_tick_for_ever(world: World, tmp_path,
                                                                                      monkeypatch, caplog):
    """Review 11, Z: a drawn bounty that ended with a draw armed (deadline = now + 30 s) was due on
    every tick for ever: drawCommittee of it succeeded as a no-op, and every node paid for one
    per tick (39,613 gas each), until a broke node stopped. Now the node drops the armed draw of
    a bounty that is not Open or AwaitingBaseline (and never re-sends a draw it saw succeed);
    the contract disarms it (CommitteeDrawDropped), which a restarted node reads; and a send the
    node cannot pay for is logged loudly without failing the tick."""
    import logging

    from web3.exceptions import Web3RPCError

    from fathom.storage.store import EmbeddedStore
    from roles_helpers import mine

    w3 = world.w3
    oracles = [world.new_party(f"zombie-oracle{i}") for i in range(3)]
    for o in oracles:
        world.market_for(o).stake_oracle(2 * 10**18)
    req = world.market_for(world.new_party("zombie-requester"))
    zombie = req.create_bounty(_drawn_terms(req, reward=0, oracleFeePerBatch=0, maxBatches=1, revealBond=0,
                                            deadline=req.now() + 30))
    at = req.bounty(zombie)["drawBlock"]
    advance_time(w3, 60)  # ended by its deadline before its drawing half
    mine(w3, req.seed_block(at) - 1 - w3.eth.block_number)
    node = make_node(world, EmbeddedStore(tmp_path / "store"), oracles[0], tmp_path / "n0")
    start = w3.eth.block_number + 1
    for _ in range(12):
        node.tick()
    draws = [tx for tx in _txs_from(w3, node.address, start, w3.eth.block_number) if tx["to"] == req.address]
    assert draws == [], "no drawCommittee of an ended bounty, on any tick"
    assert (zombie, at) not in node._armed_draws()
    # anyone's draw of it records the seed and disarms it, saying so: a restarted node forgets it
    req.draw_committee(zombie)
    assert req.bounty(zombie)["drawBlock"] == 0
    assert named(req.events(bounty_id=zombie), "CommitteeDrawDropped", drawBlock=at)
    restarted = make_node(world, EmbeddedStore(tmp_path / "store"), oracles[0], tmp_path / "n0")
    restarted.sync()
    assert restarted._armed_draws() == []
    # a node that cannot pay for a draw says so loudly and goes on with its tick
    live = req.create_bounty(_drawn_terms(req))
    at = req.bounty(live)["drawBlock"]
    mine(w3, req.seed_block(at) - 1 - w3.eth.block_number)
    restarted.sync()

    def broke(*_a, **_k):
        raise Web3RPCError('{"code": -32003, "message": "insufficient funds for gas * price + value"}')

    monkeypatch.setattr(restarted.market.w3.eth, "send_raw_transaction", broke)
    with caplog.at_level(logging.ERROR, logger="fathom.roles.oracle"):
        restarted.tick()  # raises nothing: its other duties run
    assert "NOT SENT" in caplog.text and "not enough ETH" in caplog.text


class _SlowRpc:
    """An RPC endpoint with a fixed latency per request (a hosted provider), logging methods."""

    def __new__(cls, url: str, latency: float):
        from web3 import HTTPProvider

        class Slow(HTTPProvider):
            def make_request(self, method, params):
                if method != "eth_chainId" or "eth_chainId" not in self.methods:  # connect() caches it
                    self.methods.append(method)
                    time.sleep(latency)
                return super().make_request(method, params)

        provider = Slow(url, request_kwargs={"timeout": 30}, cache_allowed_requests=True,
                        cacheable_requests={"eth_chainId"})
        provider.methods = []
        return provider


def _open_in_one_block(world: World, party, market, count: int, **overrides) -> list[int]:
    """`count` drawn bounties opened in one block (automine off): one drawing half."""
    from eth_account import Account

    from fathom.chain.market import PARAM_FIELDS

    w3 = world.w3
    terms = _drawn_terms(market, **{"reward": 0, "oracleFeePerBatch": 10**15, "maxBatches": 1, "revealBond": 0,
                                    **overrides})
    value = terms["oracleFeePerBatch"] * terms["maxBatches"] + market.draw_deposit()
    nonce = w3.eth.get_transaction_count(party.address)
    w3.provider.make_request("evm_setAutomine", [False])
    try:
        for i in range(count):
            tx = market.market.functions.createBounty(tuple(terms[f] for f in PARAM_FIELDS)).build_transaction({
                "from": party.address, "value": value, "gas": 1_500_000, "nonce": nonce + i,
                "maxPriorityFeePerGas": 10**9, "maxFeePerGas": 100 * 10**9})
            w3.eth.send_raw_transaction(Account.sign_transaction(tx, party.key).raw_transaction)
        w3.provider.make_request("evm_mine", [])
    finally:
        w3.provider.make_request("evm_setAutomine", [True])
    last = market.bounty_count()
    return list(range(last - count + 1, last + 1))


def _race(world: World, tmp_path, oracle, decoys: int, tag: str, zombies: int = 0) -> dict:
    """A synced node ticks at head == seed block - 1 through an RPC of 100 ms per request, while
    the chain mines the seed block 3 s later (automine off, a scaled-down slot: the node's few
    requests before recordSeed take about 0.5 s, main's 50 per 25 decoys 5 s; the slot was 1.5 s
    at 50 ms, too little margin for a busy CI machine)."""
    from web3 import Web3

    from fathom.chain.client import Sender
    from fathom.chain.market import Market
    from roles_helpers import mine

    w3 = world.w3
    party = world.new_party(f"req-{tag}")
    req = world.market_for(party)
    if zombies:  # Z's zombies: ended by their deadline, their draws armed
        _open_in_one_block(world, party, req, zombies, deadline=req.now() + 30)
        advance_time(w3, 60)
    ids = _open_in_one_block(world, party, req, decoys + 1)
    real = ids[-1]
    at = req.bounty(real)["drawBlock"]
    seed_block = req.seed_block(at)
    mine(w3, seed_block - 1 - w3.eth.block_number)
    burned = req.market.functions.pendingBurn(ZERO_ADDRESS).call()
    provider = _SlowRpc(world.chain.url, 0.1)
    slow = Web3(provider)
    errors: list[BaseException] = []
    started = threading.Event()

    def run() -> None:
        try:  # the node in this thread (its state file is its thread's), synced as a running node is
            node = make_node(world, EmbeddedStore(tmp_path / f"store-{tag}"), oracle, tmp_path / f"node-{tag}",
                             market=Market(slow, world.addresses, Sender.from_key(slow, oracle.key)))
            node.sync()
            provider.methods.clear()
            started.set()
            node.tick()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(exc)
            started.set()

    w3.provider.make_request("evm_setAutomine", [False])
    thread = threading.Thread(target=run)
    try:
        thread.start()
        started.wait(60)
        time.sleep(3)  # the slot: the seed block is built with what reached the mempool
        w3.provider.make_request("evm_mine", [])
        while thread.is_alive():  # later slots, until the node's tick is done
            thread.join(3)
            w3.provider.make_request("evm_mine", [])
    finally:
        w3.provider.make_request("evm_setAutomine", [True])
    assert not errors, errors
    methods = provider.methods
    in_seed = _txs_from(w3, oracle.address, seed_block, seed_block)
    return {
        "rpc_before_recordSeed": methods.index("eth_sendRawTransaction"),
        "first_in_seed_block_to_registry": bool(in_seed) and in_seed[0]["to"] == req.registry.address,
        "recorded": req.seed_recorded(at),
        "real_drawn": req.bounty(real)["drawBlock"] == 0 and all(int(m, 16) for m in req.committee(real)[0]),
        "charged": req.market.functions.pendingBurn(ZERO_ADDRESS).call() - burned,
    }


def test_attack_T_decoy_draws_push_the_nodes_recordSeed_past_the_seed_block_a_free_reroll(world: World, tmp_path):
    """Review 11, T: the node sent its bare recordSeed only after a view and a gas estimate per
    due draw, so 25 decoy (or zombie) draws through an RPC of 50 ms per request pushed it past
    the seed block: nothing recorded, every draw of the half lapsed uncharged, a free re-roll
    for a requester that records the seed itself only when it likes the draw. Now recordSeed is
    the tick's first send, from the stored log with a fixed gas limit: as many RPCs before it
    whatever the number of draws, and it lands in the seed block with 25 decoys or zombies."""
    from roles_helpers import revert, snapshot

    oracles = [world.new_party(f"t{i}") for i in range(3)]
    for o in oracles:
        world.market_for(o).stake_oracle(2 * 10**18)
    results = {}
    for tag, decoys, zombies in (("alone", 0, 0), ("crowded", 25, 0), ("zombies", 0, 25)):
        snap = snapshot(world.w3)
        results[tag] = _race(world, tmp_path, oracles[0], decoys=decoys, tag=tag, zombies=zombies)
        revert(world.w3, snap)
    for tag, r in results.items():
        assert r["first_in_seed_block_to_registry"] and r["recorded"], (tag, r)
        assert r["real_drawn"] and r["charged"] == 0, (tag, r)
        assert r["rpc_before_recordSeed"] == results["alone"]["rpc_before_recordSeed"], (tag, results)


def test_attack_S_a_drawn_node_never_seated_never_closes_and_its_stake_stays_locked(
        world: World, tmp_path, fathom_env, capsys):
    """Review 11, S: the node closed a bounty only inside `serve`, after the C7 keyring gate, and
    left only once it was Closed; a requester that never seats its drawn members and never
    closes (reward 0: a close only burns its deposit) kept every honest bond locked past the
    deadline, and `requestUnbond` reverted OracleStillServing for good. Now `fathom oracle
    leave ID` of such a Settling bounty closes it first and leaves, arming no draw, and every
    node that joined leaves it: all 3 bonds released, the stake unbondable."""
    rnd = open_round(world, tmp_path, [], drawn=True, seat=False, baseline=False, reward=0)
    bid = rnd.bounty_id
    for node in rnd.nodes:
        node.tick()  # join (bond), then the standing sit-out: no keyring seats them
    _, opted, _ = rnd.viewer.committee(bid)
    assert opted == 0b111 and rnd.viewer.standing_sit_out(bid) == 0b111
    advance_time(world.w3, 8 * 86_400)  # past the 7-day deadline
    _use_cli_as(world, tmp_path, fathom_env, rnd.oracles[2])
    assert cli_main(["oracle", "leave", str(bid)]) == 0  # its operator, by hand
    out = capsys.readouterr().out
    assert f"closed bounty {bid}" in out and f"left the committee of bounty {bid}" in out
    assert rnd.viewer.state(bid) == "Closed" and rnd.viewer.bounty(bid)["drawBlock"] == 0, "no draw armed"
    for node in rnd.nodes[:2]:
        node.tick()
    assert len(named(rnd.events(), "CommitteeLeft")) == 3, "every bond released"
    m = world.market_for(rnd.oracles[0])
    assert m.free_stake(rnd.oracles[0].address) == m.stake_of(rnd.oracles[0].address)
    m.wait_for_staking_half("the test")
    m.send(m.registry.functions.requestUnbond())  # no longer OracleStillServing


def test_attack_S_b_an_unservable_drawn_bounty_is_quarantined_and_never_closed_so_its_bond_stays(
        world: World, tmp_path, monkeypatch):
    """Review 11, S through D1's path: the drawn nodes join, find the artefact unservable and
    quarantine the bounty with the standing sit-out; the tick then left it alone unless it was
    Closed, which nobody made happen. Now a quarantined bounty the node joined is closed and
    left like any other once it is Settling with nothing to decide, at the node's
    confirmation depth (the review's minor 3: not on the latest head, which a re-org may undo)."""
    from roles_helpers import mine

    monkeypatch.setitem(DATA, "validation", (np.zeros((50, 10), np.float32), np.zeros(50, np.int64)))
    monkeypatch.setattr(requester_module, "check_bounty", lambda *a: None)
    rnd = open_round(world, tmp_path, [], drawn=True, baseline=False, reward=0)
    monkeypatch.undo()
    bid = rnd.bounty_id
    for node in rnd.nodes:
        node.tick()
    assert all(bid in node.quarantined() for node in rnd.nodes)
    _, opted, _ = rnd.viewer.committee(bid)
    assert opted == 0b111, "joined (bonded), then quarantined"
    advance_time(world.w3, 8 * 86_400)  # one block past the deadline
    nodes = [rnd.node(i, confirmations=2) for i in range(3)]  # restarted, acting 2 blocks deep (minor 3)
    for node in nodes:
        node.tick()
    assert rnd.viewer.state(bid) == "Settling" and not named(rnd.events(), "CommitteeLeft"), \
        "nothing done on a Settling state not yet confirmed"
    mine(world.w3, 2)
    for node in nodes:
        node.tick()
    assert rnd.viewer.state(bid) == "Closed", "a quarantined member closed it"
    assert len(named(rnd.events(), "CommitteeLeft")) == 3, "every bond released"
    for o in rnd.oracles:
        assert rnd.viewer.free_stake(o.address) == rnd.viewer.stake_of(o.address)


def test_attack_A2_a_never_published_update_made_stale_kills_the_version_for_free(world: World, tmp_path):
    """Review 12, finding A': while batch 2 is pending (versions 2), X is submitted into batch 3
    on base 0 (still accepted) and its CID is never published. Batch 2 makes version 3, so X is
    stale at batch 3's settlement (G1): refunded whatever its median, never merged. The node
    fetched it anyway, waited to its report deadline and reported it UNAVAILABLE: every report
    partial, no vote, no version, no fee, the stake back (gas only). Now the node does not
    fetch a stale update: every member reports it INVALID at once, the reports are full (each
    member paid), nobody is slashed, X is refunded, all before the report deadline."""
    from fathom.storage.store import compute_cid

    # from an untrained version 0, so that three small steps each beat their head
    rnd = open_round(world, tmp_path, ["c0", "c1", "c2", "x"], batchSize=1, target=10_000,
                     initial=models.init_model(MANIFEST, seed=1))
    bid = rnd.bounty_id
    for k, lr in ((0, 0.001), (1, 0.003)):  # steps each significantly better than their head
        rnd.contribute(f"c{k}", k, lr=lr, epochs=1)
        rnd.drive(lambda: rnd.view()["nextBatch"] == k + 1)
    assert rnd.view()["versionCount"] == 2, "two versions made"
    rnd.contribute("c2", 2, lr=0.02, epochs=1)  # batch 2, pending
    x = rnd.market_of("x")
    x.submit(bid, 0, cid_to_chain(compute_cid(b"X: never published")))  # batch 3, base 0: accepted
    deadline = rnd.viewer.batch(bid, 2)["timeoutAt"]  # batch 3's report deadline is later still
    rnd.drive(lambda: rnd.view()["nextBatch"] == 3)
    assert rnd.view()["versionCount"] == 3, "batch 2 made version 3: X (base 0) is stale"
    stakes = [rnd.viewer.registry.functions.oracleInfo(o.address).call()[0] for o in rnd.oracles]
    fees = [rnd.viewer.claimable(o.address) for o in rnd.oracles]
    rnd.drive(lambda: rnd.view()["nextBatch"] == 4)
    assert world.w3.eth.get_block("latest")["timestamp"] < deadline, "settled at once: nobody waited to fetch X"
    posted = named(rnd.events(), "ReportPosted", batch=3)
    assert len(posted) == 3 and all(report_scores(r["scores"]) == [INVALID] for r in posted), "full reports"
    assert all("stale" in skips(node, bid)[3] for node in rnd.nodes)
    events = rnd.events()
    assert not named(events, "OracleSlashed") and not named(events, "BatchVoided")
    assert all(rnd.viewer.claimable(o.address) > f for o, f in zip(rnd.oracles, fees)), "every member paid"
    assert [rnd.viewer.registry.functions.oracleInfo(o.address).call()[0] for o in rnd.oracles] == stakes
    assert named(events, "SubmissionRejected", submissionId=3) and not named(events, "StakeSlashed"), \
        "the stale X is refunded, never slashed"


def _every_member_quarantines_a_pending_batch(world: World, tmp_path) -> tuple[Round, int]:
    """A drawn, seated bounty with one submission in its last (partial) batch, which every
    member's node quarantines before reporting (the failure a crafted update causes on every
    node alike, D1, stood in for by `_quarantine`): each takes the standing sit-out (C7)."""
    rnd = open_round(world, tmp_path, ["c0"], drawn=True)
    bid = rnd.bounty_id
    rnd.contribute("c0", 0)
    for node in rnd.nodes:
        node.sync()
        node._quarantine(bid, FathomError("an update that raises on every node"))
    assert rnd.viewer.standing_sit_out(bid) == 0b111
    advance_time(world.w3, 8 * 86_400 + rnd.view()["scoringTimeout"])  # past the deadline and the batch's timeout
    return rnd, bid


def test_attack_B1_a_batch_every_member_quarantined_is_never_decided_and_every_bond_stays_locked(
        world: World, tmp_path):
    """Review 13, B1: a quarantined bounty was left once it was Settling with nothing to decide,
    but a quarantined node decided nothing: when every member quarantined it (a crafted update
    that fails on every node), nobody voided its last batch, it never reached "nothing to decide",
    and every member's bond stayed locked for as long as the requester (or the contributor) left
    it so; `requestUnbond` reverted OracleStillServing. Now a quarantined node settles or voids
    the next batch once its timeout passed (it sits out: the void charges it nothing), then
    closes the bounty and leaves it: every bond released, none charged."""
    rnd, bid = _every_member_quarantines_a_pending_batch(world, tmp_path)
    burned = rnd.viewer.market.functions.pendingBurn("0x" + "00" * 20).call()
    rnd.drive(lambda: len(named(rnd.events(), "CommitteeLeft")) == 3, rounds=3)
    assert named(rnd.events(), "BatchVoided"), "a quarantined member voided the batch nobody reported"
    assert rnd.viewer.state(bid) == "Closed"
    assert len(named(rnd.events(), "CommitteeLeft")) == 3, "every bond released"
    assert rnd.viewer.market.functions.pendingBurn("0x" + "00" * 20).call() == burned, "nobody charged"
    for o in rnd.oracles:
        assert rnd.viewer.free_stake(o.address) == rnd.viewer.stake_of(o.address)


def test_a_quarantined_bountys_wind_up_that_fails_never_stops_the_node(world: World, tmp_path, monkeypatch):
    """Review 13, B3 (hardening): the tick re-raised any failure of a quarantined bounty's wind-up that was
    not transient, so a deterministic one failed every tick and `max_failures` of them stopped
    the node, with every other bounty's reports. Now it is logged and retried next tick."""
    rnd, bid = _every_member_quarantines_a_pending_batch(world, tmp_path)
    node = rnd.nodes[0]

    def broken(*args: object, **kwargs: object) -> bool:
        raise ValueError("a wind-up that fails the same way every tick")

    import fathom.roles.oracle.node as node_module
    from types import SimpleNamespace

    monkeypatch.setattr(node, "wind_up", broken)
    monkeypatch.setattr(node_module, "time", SimpleNamespace(sleep=lambda seconds: None))
    node.run(ticks=node.max_failures + 1)  # no OracleStopped
    assert rnd.viewer.state(bid) == "Settling"

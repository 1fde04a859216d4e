"""Rule F6, the oracle node's promises: restarts, confirmations, re-orgs, retries (DESIGN.md, "Off-chain").

"A restarted oracle neither re-reports nor skips a batch": a node that dies between
computing a report and sending it re-sends the very same scores once; one that dies
after sending does not send again; a restarted node resumes from its checkpoint. It
acts on an event only `confirmations` blocks deep, rewinds when the block at its
checkpoint changed (a re-org), and retries RPC and store failures with backoff until
`max_failures` in a row stop it.
"""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest
import requests
from web3 import HTTPProvider, Web3

import fathom.roles.oracle.node as oracle_module
import fathom.roles.oracle.state as oracle_state
from fathom.chain.client import ETH, ChainError, Sender
from fathom.chain.market import INVALID, SEED_OFFSET, Market, report_scores
from fathom.roles.oracle import OracleStopped
from fathom.storage.store import StoreUnavailable

from roles_helpers import (  # world, fresh_chain: the module's chain fixtures
    fresh_chain,  # noqa: F401
    world,  # noqa: F401
    STAKE,
    FlakyStore,
    World,
    advance_time,
    fail_first,
    make_node,
    mine,
    named,
    open_round,
    oracle_db,
    revert,
    skips,
    snapshot,
    stored_report,
)


@pytest.fixture
def sleeps(monkeypatch):
    """The oracle's sleeps, recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr(oracle_module, "time", SimpleNamespace(sleep=slept.append))
    return slept


class FlakyRpc(HTTPProvider):
    """A JSON-RPC endpoint that refuses the first `failures` eth_blockNumber calls."""

    def __init__(self, url: str, failures: int):
        super().__init__(url)
        self.left = failures

    def make_request(self, method, params):
        if method == "eth_blockNumber" and self.left > 0:
            self.left -= 1
            raise requests.exceptions.ConnectionError("connection refused (simulated)")
        return super().make_request(method, params)


def reports_by(events, oracle: str, batch: int):
    return [e for e in events if e.name == "ReportPosted" and e["oracle"] == oracle and e["batch"] == batch]


def test_a_restarted_oracle_resends_a_computed_report_once_and_never_reports_twice(world: World, tmp_path, monkeypatch):
    rnd = open_round(world, tmp_path, ["c0", "c1"], batchSize=2)
    bid = rnd.bounty_id
    n0, n1, n2 = rnd.nodes
    me = rnd.oracles[0].address

    # batch 0: oracle 0 computes its report, then dies before the transaction leaves
    rnd.contribute("c0", 0)
    rnd.contribute("c1", 1)

    def crash(*_args, **_kwargs):
        raise ChainError("report: connection reset by peer (the process died here)")

    monkeypatch.setattr(n0.market, "commit_report", crash)  # R11: its first transaction is the commitment
    with pytest.raises(ChainError):
        n0.tick()
    scores, merged, sent = stored_report(n0, bid, 0)
    assert sent == 0 and len(scores) == 2 and INVALID not in scores
    assert not reports_by(rnd.events(), me, 0)
    n1.tick()
    n2.tick()
    assert rnd.view()["nextBatch"] == 0, "settled without the opted-in member before the timeout"

    # the restart: a fresh process on the same data folder
    checkpoint_before = n0.checkpoint
    assert checkpoint_before > world.deploy_block
    restarted = rnd.node(0)
    assert restarted.checkpoint == checkpoint_before
    fetched: list[tuple] = []
    real_events = restarted.market.events

    def spy(from_block=None, to_block="latest", bounty_id=None):
        if from_block is not None:
            fetched.append((from_block, to_block))
        return real_events(from_block, to_block, bounty_id)

    monkeypatch.setattr(restarted.market, "events", spy)
    restarted.tick()
    assert fetched and fetched[0][0] == checkpoint_before + 1, "the restarted node re-read the chain from the start"
    (posted,) = reports_by(rnd.events(), me, 0)
    assert report_scores(posted["scores"]) == scores
    assert (posted["merged"][0].hex(), posted["merged"][1]) == tuple(merged)
    assert stored_report(restarted, bid, 0)[2] == 1
    n1.tick()
    n2.tick()  # R11: the reveals follow the commitments; the last one settles
    assert rnd.view()["nextBatch"] == 1, "the batch settles once everyone reported"
    restarted.tick()
    restarted.tick()
    assert len(reports_by(rnd.events(), me, 0)) == 1

    # batch 1: the node dies right *after* its report was mined
    rnd.contribute("c0", 2, seed=1)
    rnd.contribute("c1", 3, seed=1)
    real_report = restarted.market.report

    def send_then_crash(*args, **kwargs):
        real_report(*args, **kwargs)
        raise ChainError("the process died after sending")

    monkeypatch.setattr(restarted.market, "report", send_then_crash)
    n1.tick()
    n2.tick()  # R11: the others commit, so the restarted node's commitment opens the reveal phase
    with pytest.raises(ChainError):
        restarted.tick()
    again = rnd.node(0)
    nodes = [again, n1, n2]
    rnd.drive(lambda: rnd.view()["nextBatch"] == 2, nodes=nodes)
    for _ in range(2):  # ticking on never reports twice
        for node in nodes:
            node.tick()
    events = rnd.events()
    for batch in (0, 1):  # no batch skipped, each reported exactly once by each member
        assert len(named(events, "BatchSettled", batch=batch)) == 1
        for o in rnd.oracles:
            assert len(reports_by(events, o.address, batch)) == 1, (o.name, batch)
    # the events table holds every market event up to the checkpoint, once
    cp = again.checkpoint
    (rows,) = oracle_db(again, "SELECT COUNT(*) FROM events")
    assert rows[0] == len(rnd.viewer.events(from_block=0, to_block=cp))


def test_the_node_waits_for_confirmations_before_acting_on_a_submission(world: World, tmp_path):
    rnd = open_round(world, tmp_path, ["c0", "c1"], batchSize=2)
    bid = rnd.bounty_id
    me = rnd.oracles[0].address
    node = rnd.node(0, confirmations=3)
    rnd.contribute("c0", 0)
    rnd.contribute("c1", 1)
    filled = world.w3.eth.block_number  # the batch's last submission is in this block
    assert rnd.viewer.batch(bid, 0)["filledAt"] != 0

    for extra in (0, 1, 2):
        node.tick()
        assert node.checkpoint == filled + extra - 3
        assert stored_report(node, bid, 0) is None, f"acted with {extra} confirmations"
        assert not reports_by(rnd.events(), me, 0)
        mine(world.w3)
    assert world.w3.eth.block_number == filled + 3
    for other in rnd.nodes[1:]:
        other.tick()  # the others (no confirmations) commit first; nobody may reveal yet
    assert not [e for e in rnd.events() if e.name == "ReportPosted"]
    node.tick()
    assert node.checkpoint >= filled
    # R11: with its confirmations it commits last, which opens the reveals; but it reveals only
    # once every commitment is as deep as its confirmations, so that a re-org cannot let the
    # last committer swap its commitment for a copy of a reveal it has seen
    assert [e for e in rnd.events() if e.name == "ReportCommitted" and e["oracle"] == me and e["batch"] == 0]
    others_last = max(e.block for e in rnd.events() if e.name == "ReportCommitted" and e["oracle"] != me)
    while world.w3.eth.block_number < others_last + 3:
        assert not reports_by(rnd.events(), me, 0), "revealed on the others' unconfirmed commitments"
        mine(world.w3)
        node.tick()
    assert len(reports_by(rnd.events(), me, 0)) == 1


def test_a_reorg_at_the_checkpoint_rewinds_and_refetches(world: World, tmp_path):
    rnd = open_round(world, tmp_path, ["c0"])
    bid = rnd.bounty_id
    requester = world.market_for(rnd.requester)
    said: list[str] = []
    node = make_node(world, rnd.store, rnd.oracles[0], tmp_path / "watcher", on_event=said.append)
    base = node.sync()
    assert base == world.w3.eth.block_number
    (below,) = oracle_db(node, "SELECT COUNT(*) FROM events")

    def top_up(amount: int) -> None:
        requester.send(requester.market.functions.topUp(bid, amount), value=amount)

    def funded() -> list[int]:
        rows = oracle_db(node, "SELECT args FROM events WHERE name = 'BountyFunded' ORDER BY block, idx")
        return [json.loads(a)["amount"] for (a,) in rows]

    fork = snapshot(world.w3)
    top_up(1_111)  # block base + 1
    mine(world.w3)  # base + 2
    assert node.sync() == base + 2
    assert funded() == [1_111]
    orphaned_hash = world.w3.eth.get_block(base + 2)["hash"].hex()

    revert(world.w3, fork)  # the other branch wins: different blocks at the same heights
    top_up(2_222)  # base + 1
    mine(world.w3, 2)  # base + 3
    assert world.w3.eth.get_block(base + 2)["hash"].hex() != orphaned_hash
    rewind = base  # the newest stored checkpoint the winning branch still has
    assert node.sync() == base + 3
    assert f"re-org below block {base + 2}: rewinding to {rewind}" in said
    assert funded() == [2_222], "an event of the orphaned branch survived the re-org"
    (after,) = oracle_db(node, "SELECT COUNT(*) FROM events")
    assert after[0] == below[0] + 1
    assert node._meta("checkpoint_hash") == world.w3.eth.get_block(base + 3)["hash"].hex()
    stored = oracle_db(node, "SELECT block, idx, name FROM events ORDER BY block, idx")
    chain = [(e.block, e.index, e.name) for e in rnd.viewer.events(from_block=0, to_block=base + 3)]
    assert stored == chain


def test_a_failure_inside_the_event_transaction_rolls_it_back_and_the_next_sync_stores_everything(
        world: World, tmp_path, monkeypatch):
    """An error while the events are being written (here: encoding one of them) must not leave
    the SQLite transaction open: the next sync would fail with "cannot start a transaction
    within a transaction" on every tick (seen once under an RPC outage, F6)."""
    rnd = open_round(world, tmp_path, ["c0"])
    node = make_node(world, rnd.store, rnd.oracles[0], tmp_path / "watcher")
    real = oracle_state.jsonable
    calls = {"n": 0}

    def fails_once(value):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("failed while writing the events (simulated)")
        return real(value)

    monkeypatch.setattr(oracle_state, "jsonable", fails_once)
    with pytest.raises(RuntimeError, match="simulated"):
        node.sync()
    assert oracle_db(node, "SELECT COUNT(*) FROM events") == [(0,)], "a half-written sync was kept"
    assert node.sync() == world.w3.eth.block_number
    stored = oracle_db(node, "SELECT block, idx, name FROM events ORDER BY block, idx")
    assert stored == [(e.block, e.index, e.name) for e in rnd.viewer.events(from_block=0)]


@pytest.mark.parametrize("outage", ["store", "rpc"])
def test_failures_are_retried_with_backoff_and_the_node_goes_on(world: World, tmp_path, sleeps, outage):
    rnd = open_round(world, tmp_path, [], baseline=False)
    bid = rnd.bounty_id
    me = rnd.oracles[0]
    said: list[str] = []
    store, market = rnd.store, None
    if outage == "store":
        store = FlakyStore(rnd.store, fail_first(3))
    else:
        w3 = Web3(FlakyRpc(world.chain.url, failures=3))
        market = Market(w3, world.addresses, Sender.from_key(w3, me.key))
    node = make_node(world, store, me, tmp_path / "flaky", market=market, poll_seconds=0.5, max_failures=4,
                     on_event=said.append)
    node.run(ticks=4)
    assert sleeps == [1.0, 2.0, 4.0, 0.5], "backoff doubles after each failure, then polls again"
    assert sum(m.startswith("retrying in") for m in said) == 3
    assert len(named(rnd.events(), "BaselineReported", oracle=me.address)) == 1
    # the node goes on: the others report and the bounty opens
    rnd.drive(lambda: rnd.viewer.state(bid) == "Open", nodes=[node, *rnd.nodes[1:]])


def test_max_failures_in_a_row_stop_the_node_loudly(world: World, tmp_path, sleeps):
    rnd = open_round(world, tmp_path, [], baseline=False)
    store = FlakyStore(rnd.store, lambda _cid: True)
    node = make_node(world, store, rnd.oracles[0], tmp_path / "down", poll_seconds=0.25, max_failures=4)
    with pytest.raises(OracleStopped, match="4 failures in a row.*the store is down") as info:
        node.run()
    assert isinstance(info.value.__cause__, StoreUnavailable)
    assert store.failures == 4
    assert sleeps == [1.0, 2.0, 4.0], "backoff starts at 2 x max(poll, 0.5 s) and doubles"
    # a failure run that recovers resets the count: 3 failures, 1 success, 3 failures, 1 success
    pattern = iter([True] * 3 + [False] * 50 + [True] * 3 + [False] * 50)
    flaky = FlakyStore(rnd.store, lambda _cid: next(pattern))
    sleeps.clear()
    node = make_node(world, flaky, rnd.oracles[0], tmp_path / "down", poll_seconds=0.25, max_failures=4)
    node.run(ticks=4)
    assert sleeps[:3] == [1.0, 2.0, 4.0] and sleeps[3] == 0.25


def test_a_store_outage_while_fetching_an_update_is_retried_not_scored_invalid(world: World, tmp_path, sleeps):
    """A transient store outage (the IPFS daemon restarting: StoreUnavailable /
    StoreTimeout) while fetching an update fails the tick and is retried with backoff; it
    is never scored INVALID (which would slash an honest contributor, or make this oracle
    deviate from the median). DESIGN: the oracle "survives ... IPFS outages" (rule F6)."""
    rnd = open_round(world, tmp_path, ["c0", "c1"], batchSize=2)
    bid = rnd.bounty_id
    me = rnd.oracles[0].address
    c0 = rnd.contribute("c0", 0)
    rnd.contribute("c1", 1)
    down = [True]

    def failing(cid: str) -> bool:
        if cid == c0.cid and down[0]:
            down[0] = False  # the daemon is back for the next call
            return True
        return False

    node = make_node(world, FlakyStore(rnd.store, failing), rnd.oracles[0], tmp_path / "oracle0", max_failures=4)
    node.run(ticks=3)  # the outage fails a tick; then it scores and commits (R11)
    for other in rnd.nodes[1:]:
        other.tick()
    node.tick()  # every member committed: it reveals
    (posted,) = reports_by(rnd.events(), me, 0)
    assert 0 not in skips(node, bid), f"an outage was recorded as a bad artefact: {skips(node, bid)}"
    assert report_scores(posted["scores"])[0] != INVALID, "an honest update was scored INVALID during a store outage"
    rnd.drive(lambda: rnd.view()["nextBatch"] == 1, nodes=[node, *rnd.nodes[1:]])
    assert not named(rnd.events(), "StakeSlashed") and not named(rnd.events(), "OracleSlashed")


def test_a_silent_member_does_not_block_a_batch_past_the_timeout(world: World, tmp_path):
    """One of three members reports; past the scoring timeout a quorum (more than half of the
    committee: two reports) is still missing, so the live member voids the batch (R10): stakes
    come back in full, and each member that stayed silent loses one offence of its bond for
    the bounty (C3), which is burned: the batch's contributors gain nothing from the void."""
    rnd = open_round(world, tmp_path, ["c0", "c1"], batchSize=2, scoringTimeout=600)
    bid = rnd.bounty_id
    rnd.contribute("c0", 0)
    rnd.contribute("c1", 1)
    live = rnd.nodes[2:]
    for node in live:
        node.tick()
    assert rnd.view()["nextBatch"] == 0
    advance_time(world.w3, 601)
    rnd.drive(lambda: rnd.view()["nextBatch"] == 1, nodes=live)
    events = rnd.events()
    assert len(named(events, "BatchVoided", batch=0)) == 1
    assert rnd.viewer.state(bid) == "Open" and rnd.view()["versionCount"] == 0
    slashed = named(events, "OracleSlashed", batch=0)
    assert sorted(e["oracle"] for e in slashed) == sorted(o.address for o in rnd.oracles[:2])
    _, per_offence = rnd.viewer.market.functions.memberBond(bid).call()
    assert all(e["amount"] == per_offence > 0 for e in slashed)
    for name in ("c0", "c1"):
        assert rnd.viewer.claimable(rnd.contributors[name].address) == STAKE


def test_attack_a_node_never_joins_a_bounty_outside_its_policy(world: World, tmp_path):
    """Rule O5: a requester names an oracle (trusted mode) on terms its node refuses (a
    scoring timeout below its policy's minimum). The node does not bond: it quarantines the
    bounty with the policy's reason; the registry holds the policy once the node runs, so
    joinCommittee would refuse it too, and a node whose policy accepts joins as before."""
    from fathom.protocol.policy import Policy

    rnd = open_round(world, tmp_path, ["c0"], baseline=False, scoringTimeout=900)
    bid = rnd.bounty_id
    strict = rnd.node(0, policy=Policy(min_scoring_timeout=1_800))
    strict.run(ticks=1)  # registers its policy, then serves (or not) each bounty
    me = rnd.oracles[0].address
    assert "outside this node's acceptance policy" in strict.quarantined()[bid]
    assert "900s is below the policy's 1800s" in strict.quarantined()[bid]
    assert rnd.viewer.committee(bid)[1] & 1 == 0, "the node bonded for a bounty outside its policy"
    assert rnd.viewer.free_stake(me) == rnd.viewer.registry.functions.oracleInfo(me).call()[0]
    policy, is_set = rnd.viewer.policy_of(me)
    assert is_set and Policy.from_tuple(policy) == Policy(min_scoring_timeout=1_800)
    with pytest.raises(ChainError, match="PolicyRefuses"):
        world.market_for(rnd.oracles[0]).join(bid)
    lenient = rnd.nodes[1]
    lenient.tick()
    assert rnd.viewer.committee(bid)[1] & 2, "a node whose policy accepts joins"


def test_a_node_triggers_a_due_draw_and_the_drawn_committee_names_it(world: World, tmp_path):
    """Rule C4: a drawn-mode bounty's seats are drawn by whoever calls drawCommittee in (or
    after) its drawing half's seed block; the node sends it to land in that block; every node does it on its next tick, even one whose policy refuses the
    bounty (attack F3), and then counts the bounty among its own if the draw seated it. The
    requester paid the draw deposit (C5) with createBounty."""
    from fathom.protocol.policy import Policy
    from fathom.roles.requester import default_terms
    from fathom.storage.store import EmbeddedStore

    oracles = [world.new_party(f"drawn{i}") for i in range(3)]
    for o in oracles:
        world.market_for(o).stake_oracle(2 * 10**18)
    requester = world.market_for(world.new_party("drawer"))
    zero = "0x" + "00" * 20
    terms = default_terms(requester.now(), [zero] * 3)
    terms.update({"initialModel": (b"\x01" * 32, 0x55), "keyring": (b"\x02" * 32, 0x55),
                  "validationCommitment": b"\x03" * 32})
    bid = requester.create_bounty(terms)
    view = requester.bounty(bid)
    assert not view["trustedCommittee"] and view["drawBlock"] > 0
    mine(world.w3, view["drawBlock"] - world.w3.eth.block_number)  # the drawing half's first block (C4, O7)
    node = make_node(world, EmbeddedStore(tmp_path / "store"), oracles[0], tmp_path / "n0")
    # a policy that refuses these terms: the node draws anyway (review F3, a draw only the
    # requester triggers is one it can let lapse whenever the outcome is bad)
    node.policy = Policy(min_scoring_timeout=7 * 24 * 3600)
    node.sync()
    assert node.policy_refusal(bid) is not None
    node.trigger_draws()  # on a local chain it mines to the block before the seed block, then draws
    seed_block = requester.seed_block(view["drawBlock"])
    assert seed_block - view["drawBlock"] == requester.registry.functions.seedOffset().call() == SEED_OFFSET
    assert world.w3.eth.get_block(seed_block)["transactions"], "the node's recordSeed landed in the seed block (R3-2, D4)"
    assert requester.seed_recorded(view["drawBlock"])
    members = requester.committee(bid)[0]
    assert sorted(members) == sorted(o.address for o in oracles), "3 of 3 oracles seated"
    assert requester.bounty(bid)["drawBlock"] == 0
    node.sync()
    assert bid in node.my_bounties()


def test_attack_R3_2_a_missed_seed_block_re_arms_the_draw_uncharged_and_the_node_draws_the_next_half(
        world: World, tmp_path):
    """Rule C4 (R3-2): only the seed block records a drawing half's seed. A node that comes
    after it, when nobody recorded there (a censored or stuffed seed block), re-arms the draw
    for a later half, uncharged (nothing burned, not cancelled), and draws that half in its
    seed block."""
    from fathom.roles.requester import default_terms
    from fathom.storage.store import EmbeddedStore

    oracles = [world.new_party(f"missed{i}") for i in range(3)]
    for o in oracles:
        world.market_for(o).stake_oracle(2 * 10**18)
    requester = world.market_for(world.new_party("missed-requester"))
    terms = default_terms(requester.now(), ["0x" + "00" * 20] * 3)
    terms.update({"initialModel": (b"\x01" * 32, 0x55), "keyring": (b"\x02" * 32, 0x55),
                  "validationCommitment": b"\x03" * 32})
    bid = requester.create_bounty(terms)
    at = requester.bounty(bid)["drawBlock"]
    burned = requester.market.functions.pendingBurn(ETH).call()
    mine(world.w3, requester.seed_block(at) + 1 - world.w3.eth.block_number)  # the seed block passed empty
    node = make_node(world, EmbeddedStore(tmp_path / "store"), oracles[0], tmp_path / "n0")
    node.sync()
    node.trigger_draws()
    view = requester.bounty(bid)
    assert not requester.seed_recorded(at), "nothing recorded after the seed block"
    assert view["drawBlock"] > at and not view["cancelled"], "re-armed, not cancelled"
    assert requester.market.functions.pendingBurn(ETH).call() == burned, "uncharged"
    mine(world.w3, view["drawBlock"] - world.w3.eth.block_number)
    node.sync()
    node.trigger_draws()
    assert requester.seed_recorded(view["drawBlock"]), "recorded in the next half's seed block"
    assert sorted(requester.committee(bid)[0]) == sorted(o.address for o in oracles), "drawn the next half"
    # R3-4: the registry's standard envelope, as the CLI's checks read it (minStake / 16 the bond floor)
    assert requester.envelope() == (3_600, 30 * 86_400, 10**15, 192, False, requester.draw_deposit())


def test_attack_D4_cancelling_the_first_drawn_bounty_in_the_seed_block_does_not_veto_the_seed(world: World, tmp_path):
    """Review 10, D4: the seed block's PREVRANDAO is public one block early. A requester holding
    the lowest-id armed draw of a half (a reward-0 decoy) cancels it in the seed block, ahead of
    the nodes. The node used to send only that decoy's draw there (waiting for its receipt
    before the next), which then reverted with the seed recording inside it: the seed block
    recorded nothing and every draw of the half lapsed uncharged, a re-roll. Now the node's
    first transaction aimed at the seed block is a bare recordSeed, and its draws follow back to
    back in the same block; the decoy's reverting draw stops none of the others."""
    import threading

    from eth_account import Account

    from fathom.roles.requester import default_terms
    from fathom.storage.store import EmbeddedStore

    w3 = world.w3
    oracles = [world.new_party(f"veto{i}") for i in range(3)]
    for o in oracles:
        world.market_for(o).stake_oracle(2 * 10**18)
    party = world.new_party("veto-requester")
    requester = world.market_for(party)
    terms = default_terms(requester.now(), ["0x" + "00" * 20] * 3)
    terms.update({"initialModel": (b"\x01" * 32, 0x55), "keyring": (b"\x02" * 32, 0x55),
                  "validationCommitment": b"\x03" * 32})
    decoy = requester.create_bounty(terms)
    real = requester.create_bounty(terms)
    at = requester.bounty(decoy)["drawBlock"]
    assert requester.bounty(real)["drawBlock"] == at, "both draws armed in one drawing half"
    seed_block = requester.seed_block(at)
    mine(w3, seed_block - 1 - w3.eth.block_number)

    def pending() -> int:
        return int(w3.provider.make_request("txpool_status", [])["result"]["pending"], 16)

    w3.provider.make_request("evm_setAutomine", [False])
    try:
        errors: list[BaseException] = []

        def draw() -> None:
            try:  # the node in this thread (its state file is its thread's)
                node = make_node(world, EmbeddedStore(tmp_path / "store"), oracles[0], tmp_path / "n0")
                node.sync()
                node.trigger_draws()
            except BaseException as exc:  # noqa: BLE001 - re-raised below, in the test's thread
                errors.append(exc)

        drawing = threading.Thread(target=draw)
        drawing.start()
        seen, still = 0, 0
        for _ in range(600):  # until the node's transactions for the seed block stop coming
            if still >= 10 or not drawing.is_alive():
                break
            time.sleep(0.1)
            now = pending()
            still = still + 1 if now == seen and now >= 1 else 0
            seen = now
        # the attacker's cancel of the decoy, unseen by the node's estimates (a private order flow)
        # and with a tip above the node's: first in the seed block
        cancel = requester.market.functions.cancel(decoy).build_transaction({
            "from": party.address, "gas": 500_000, "nonce": w3.eth.get_transaction_count(party.address),
            "maxPriorityFeePerGas": 50 * 10**9, "maxFeePerGas": 200 * 10**9})
        w3.eth.send_raw_transaction(Account.sign_transaction(cancel, party.key).raw_transaction)
        w3.provider.make_request("evm_mine", [])  # the seed block, with all of them
    finally:
        w3.provider.make_request("evm_setAutomine", [True])
    while drawing.is_alive():  # what the node sends after the seed block
        if pending():
            w3.provider.make_request("evm_mine", [])
        drawing.join(0.2)
    assert not errors, errors
    assert requester.bounty(decoy)["cancelled"], "the decoy was cancelled in the seed block"
    assert requester.seed_recorded(at), "the seed block recorded the seed (no veto)"
    view = requester.bounty(real)
    assert view["drawBlock"] == 0, "the real bounty was drawn, not re-armed"
    assert sorted(requester.committee(real)[0]) == sorted(o.address for o in oracles)
    block = w3.eth.get_block(seed_block, full_transactions=True)
    mine_ = [tx for tx in block.transactions if tx["from"] == oracles[0].address]
    assert mine_ and mine_[0]["to"] == requester.registry.address, "the node's first transaction: recordSeed"


def test_a_drawn_committee_is_seated_by_the_requester_and_decides_a_batch(world: World, tmp_path):
    """Rule C4 end to end: the requester opens with every seat empty (the validation set and
    keyring sealed for a seat key), a node triggers the draw once it is due, the requester
    hands the seat key to the drawn members in a new keyring, and the members join, set the
    baseline and decide a batch as a named committee would; the requester is not a member."""
    rnd = open_round(world, tmp_path, ["c0", "c1"], drawn=True, batchSize=2)
    bid = rnd.bounty_id
    view = rnd.view()
    assert view["trustedCommittee"] is False and view["drawBlock"] == 0
    members = rnd.viewer.committee(bid)[0]
    assert sorted(members) == sorted(o.address for o in rnd.oracles)
    assert rnd.requester.address not in members
    assert rnd.viewer.state(bid) == "Open" and view["baselineSet"]
    rnd.contribute("c0", 0)
    rnd.contribute("c1", 1)
    rnd.drive(lambda: rnd.view()["nextBatch"] == 1)
    assert named(rnd.events(), "BatchSettled", batch=0), "the drawn committee decided the batch"


def test_attack_a_requester_that_never_seats_its_drawn_members_cannot_have_them_vacated(world: World, tmp_path):
    """Rules C6, O7: a drawn node joins (bonds) at once, before the requester's keyring seats it,
    so a requester that never hands honest members their seat key cannot have their seats
    vacated and drawn again for free; and once the join timeout has passed, a member node
    vacates (in a registry staking half) the drawn seats whose holders never joined."""
    rnd = open_round(world, tmp_path, ["c0"], drawn=True, seat=False, baseline=None)
    bid = rnd.bounty_id
    running = rnd.nodes[:2]  # the third oracle's node never runs
    for node in running:
        node.tick()
    members, opted, _ = rnd.viewer.committee(bid)
    ours = {n.address for n in running}
    idle = [m for m in members if m not in ours]
    assert idle, "two running nodes cannot fill three seats"
    for i, m in enumerate(members):
        assert bool(opted & (1 << i)) == (m in ours), "a running node joins its drawn seat before it is seated"
    advance_time(world.w3, rnd.view()["scoringTimeout"])
    anyone = world.market_for(world.new_party("vacater"))
    anyone.wait_for_staking_half("the test")
    for m in members:
        if m in ours:
            with pytest.raises(ChainError, match="SeatNotVacatable"):
                anyone.vacate_seat(bid, m)  # joined: never vacated, seated or not
    member = next(n for n in running if n.address in members)
    member.tick()
    after = rnd.viewer.committee(bid)[0]
    for i, m in enumerate(members):
        assert (after[i] == m) == (m in ours), "the idle seats were vacated, the joined ones kept"
    assert not rnd.view()["cancelled"], "uncharged: the bounty goes on"


def test_attack_E_a_never_seated_drawn_node_sits_out_until_a_keyring_seats_it(world: World, tmp_path):
    """Rule C7 (review 2, finding E): a drawn node joins (bonds) its seat at once and waits for
    the keyring that seats it; a requester that never seats it could void batch after batch
    through its own deviant seat and have it charged for silence every time. So while no
    keyring seats it, the node holds a standing sit-out (off duty for every batch: no void
    charges it), which `fathom oracle status` lists; once the requester seats it, it clears it
    and serves (here: the baseline)."""
    from fathom.roles.oracle import node_status
    from fathom.roles.requester import seat_committee

    rnd = open_round(world, tmp_path, ["c0"], drawn=True, seat=False, baseline=None)
    bid = rnd.bounty_id
    for node in rnd.nodes:
        node.tick()
    members, opted, _ = rnd.viewer.committee(bid)
    assert opted == 0b111, "every node joined its drawn seat at once"
    assert rnd.viewer.standing_sit_out(bid) == 0b111, "unseated: each node sits out (C7)"
    outs = named(rnd.events(), "SitOutSet")
    assert sorted(e["oracle"] for e in outs) == sorted(members) and all(e["out"] for e in outs)
    for node in rnd.nodes:
        node.tick()  # stores the SitOutSet events; sends nothing more
    assert len(named(rnd.events(), "SitOutSet")) == 3
    status = node_status(tmp_path / "oracle0", rnd.oracles[0].key)
    assert status["sitting_out"] == [bid]
    assert seat_committee(world.market_for(rnd.requester), rnd.store, rnd.requester.key, rnd.secrets) is not None
    rnd.drive(lambda: rnd.viewer.state(bid) == "Open")
    assert rnd.viewer.standing_sit_out(bid) == 0, "seated: on duty again"
    for node in rnd.nodes:
        node.tick()
    assert node_status(tmp_path / "oracle0", rnd.oracles[0].key)["sitting_out"] == []


def test_attack_T_n_a_transaction_sent_after_the_seed_nonce_was_fetched_is_never_replaced_by_recordSeed():
    """Review 12, T-n: the node fetches its recordSeed's nonce a few blocks before the seed
    block's parent; a commitment or reveal it sent in between took that nonce, so the
    recordSeed would have replaced it (a higher tip evicts the node's own pending report) or
    been refused. Now a nonce fetched ahead is used only if the sender sent nothing since; else
    the nonce is fetched again at the parent block. (A stand-in market: what is checked is
    which nonce the node hands to recordSeed.)"""
    class StandIn:
        def __init__(self) -> None:
            self.nonce, self.sends, self.record_nonces = 7, 0, []

        def seed_block(self, at: int) -> int:
            return at + SEED_OFFSET

        def next_nonce(self) -> int:
            return self.nonce

        def sent_count(self) -> int:
            return self.sends

        def record_seed(self, nonce: int) -> str:
            self.record_nonces.append(nonce)
            return "0x"

    def node_with(market: StandIn) -> SimpleNamespace:
        node = SimpleNamespace(market=market, _seed_nonces={}, _seeds_sent=set(), _say=lambda m: None,
                               _armed_draws=lambda: [(1, 100)])
        node.record_seed = lambda head: oracle_module.OracleNode.record_seed(node, head)
        return node

    seed_block = 100 + SEED_OFFSET
    quiet, busy = StandIn(), StandIn()
    for market in (quiet, busy):
        node = node_with(market)
        node.record_seed(seed_block - 3)  # the nonce fetched ahead: 7
        if market is busy:
            market.nonce, market.sends = 8, 1  # the node's reveal took nonce 7 meanwhile
        node.record_seed(seed_block - 1)  # the seed block's parent: recordSeed goes out
    assert quiet.record_nonces == [7], "nothing sent since: the nonce fetched ahead is used"
    assert busy.record_nonces == [8], "a send took the nonce fetched ahead: a fresh one, never a replacement"


def test_a_tick_reads_an_open_bountys_state_once_and_an_ended_ones_once_at_each_depth(world: World, tmp_path, monkeypatch):
    """Session 13, item 1: `wind_up` read each bounty's state at the confirmation depth and the
    tick read it again at the head, every tick, for every bounty, though a bounty live at the
    head (states only move forward) is live deeper too. Now the tick reads the head once and,
    only where the bounty has ended there, the confirmed state once, and hands both to
    `wind_up`: an Open bounty costs one state call a tick, a Settling one two."""
    rnd = open_round(world, tmp_path, [])
    bid = rnd.bounty_id
    node = rnd.node(0, confirmations=1)
    node.tick()
    real = Market._view
    calls: list[tuple[str, object]] = []

    def counting(self, fn, what, block="latest"):
        if self is node.market and what.startswith(f"bounty {bid}"):
            calls.append((fn.fn_name, block))
        return real(self, fn, what, block)

    monkeypatch.setattr(Market, "_view", counting)
    node.tick()
    assert rnd.viewer.state(bid) == "Open"
    assert [c for c in calls if c[0] == "state"] == [("state", "latest")], calls
    advance_time(world.w3, 8 * 86_400)  # past the deadline: Settling, nothing to decide
    mine(world.w3, 2)
    calls.clear()
    node.tick()
    states = [c for c in calls if c[0] == "state"]
    assert len(states) == 2 and states[0] == ("state", "latest") and states[1][1] != "latest", calls
    assert rnd.viewer.state(bid) == "Closed", "closed on the confirmed Settling state, with the head's state passed in"


def test_the_seed_block_parent_sends_recordSeed_once_per_tick_and_trigger_draws_only_checks_it():
    """Session 13, item 2: the tick's first step sends the bare recordSeed when its head is the
    seed block's parent; `trigger_draws` called `record_seed` again (its armed draws from the
    database, one seed-block computation each) at that head. Now it checks `_seeds_sent` and
    calls it only if the head moved there since the first step (on a local chain, mined to it)."""
    parent = 100 + SEED_OFFSET - 1
    record_calls: list[int] = []

    class StandIn:
        w3 = SimpleNamespace(eth=SimpleNamespace(block_number=parent))

        def seed_block(self, at: int) -> int:
            return at + SEED_OFFSET

        def is_local(self) -> bool:
            return False

        def bounty(self, bounty_id: int) -> dict:
            return {"drawBlock": 100, "endedAt": 0, "closedAt": 0}

        def draw_committees(self, due, fixed_gas):
            return [(b, None) for b in due]

    node = SimpleNamespace(market=StandIn(), _seeds_sent=set(), _draws_done=set(), _say=lambda m: None,
                           quarantined=lambda: {}, _armed_draws=lambda: [(1, 100)])

    def record_seed(head=None):
        record_calls.append(head)
        node._seeds_sent.add(100)

    node.record_seed = record_seed
    record_seed()  # the tick's first step
    oracle_module.OracleNode.trigger_draws(node)
    assert record_calls == [None], "sent once, by the first step; trigger_draws only checked it"
    assert (1, 100) in node._draws_done
    node._seeds_sent.clear()  # the head reached the parent after the first step: sent from trigger_draws
    oracle_module.OracleNode.trigger_draws(node)
    assert record_calls == [None, parent]


def test_f4_at_min_scoring_timeout_the_nodes_deadlines_end_before_the_commit_close():
    """Review 11, F4 (rule B4): commits close at three quarters of the scoring timeout (R11), so
    at the 600 s floor an honest member has 450 s from the batch becoming reportable to commit.
    The node's deadlines fit inside it: its confirmations, then fetching until the report
    deadline (`reports.py`: half of the timeout, a quarter before the commit close), then the
    scoring window, where the encrypted mode's Paillier budget (`check_budget`, at four times
    the measured cost) leaves 60 s for parsing, scoring and the commitment's inclusion. Before,
    the budget was the whole 150 s window: a batch at the bound committed after the close."""
    from fathom.ml import encrypted, models
    from fathom.protocol.settlement import MIN_SCORING_TIMEOUT, reveal_at
    from fathom.roles.oracle.reports import REPORT_RESERVE

    timeout = MIN_SCORING_TIMEOUT
    assert timeout == 600
    reportable = 1_000_000
    timeout_at = reportable + timeout
    commit_close = reveal_at(timeout_at, timeout)
    assert commit_close - reportable == 450
    fetch_deadline = timeout_at - timeout // REPORT_RESERVE  # as the node computes it (F8)
    assert fetch_deadline == commit_close - timeout // encrypted.BUDGET_SHARE, "one quarter before the commit close"
    assert reportable + 3 * 12 < fetch_deadline, "its 3 confirmations (12 s blocks) leave time to fetch"
    budget = encrypted.budget_seconds(timeout)
    assert budget > 0 and fetch_deadline + budget + encrypted.COMMIT_MARGIN_SECONDS <= commit_close
    # the budget is what check_budget enforces: the largest batch within it passes, one more is refused
    manifest = models.make_manifest("logistic", 100, 2, metric="accuracy")  # 101 weights
    per_update = 101 * encrypted.DECRYPT_SECONDS
    fits = int(budget // per_update) - 1  # (batch + 1) updates' worth of work
    assert encrypted.committee_seconds(1, 100, fits) <= budget < encrypted.committee_seconds(1, 100, fits + 1)
    encrypted.check_budget(manifest, fits, timeout)
    with pytest.raises(encrypted.EncryptedModeError, match="less 60 s to commit"):
        encrypted.check_budget(manifest, fits + 1, timeout)


class _NamedButNeverJoined:
    """A stand-in market: a trusted-mode bounty naming this node and three of the requester's
    members. The node refused it before bonding (quarantined: outside its policy, Unjoinable or
    Unservable), so it never opted in. Settling; its next batch reported by the requester's
    members, never settled, past its timeout."""

    def __init__(self, me: str, joined: bool) -> None:
        self.sent: list[str] = []
        self.members = ["0x" + f"{i:02x}" * 20 for i in (1, 2, 3)] + [me]
        self.opted = 0b1111 if joined else 0b0111

    def bounty(self, bounty_id, block="latest"):
        return {"nextBatch": 0, "trustSingleOracle": False}

    def batch(self, bounty_id, k, block="latest"):
        return {"submissions": 4, "decided": False, "timeoutAt": 1_000, "reportedMask": 0b0111}

    def now(self):
        return 2_000

    def committee(self, bounty_id):
        return self.members, self.opted, 0

    def commits(self, bounty_id, k):
        return {"committedMask": 0b0111, "revealAt": 900, "sittingOut": 0b1000}

    def settle(self, *args):
        self.sent.append("settle")

    def void(self, *args):
        self.sent.append("void")

    def close(self, bounty_id):
        self.sent.append("close")


@pytest.mark.parametrize("joined", [False, True], ids=["named, refused before joining", "joined, then quarantined"])
def test_attack_B1_a_quarantined_node_that_never_joined_pays_nothing_to_decide_the_requesters_batches(monkeypatch, joined):
    """Review 14: review 13's B1 (a quarantined node decides the next batch once its timeout
    passed, so that its bond comes back) ran for every quarantined bounty, joined or not. A
    requester named honest nodes it knew would refuse (naming needs no consent), had its own
    members report and never settle, and each named node paid the settlement (up to ~9.5M gas)
    of every batch. Only a node holding a bond there decides: it needs the batch decided to leave."""
    me = "0x" + "ee" * 20
    monkeypatch.setattr(Market, "reports_of", staticmethod(lambda events, b, k, reporters: [(b"", ())] * len(reporters)))
    chain = _NamedButNeverJoined(me, joined)
    node = object.__new__(oracle_module.OracleNode)
    node.market, node.address, node.confirmations = chain, me, 3
    node._left_bounties, node._wound_up = set(), set()
    node._latest = lambda bounty_id: []
    node._say = lambda message: None
    over = oracle_module.OracleNode.wind_up(node, 7, head=100, settled="Settling", status="Settling", quarantined=True)
    assert over is False
    assert chain.sent == (["settle"] if joined else []), chain.sent

"""Shared set-up for the tests of Fathom's off-chain roles (requester, contributor, oracle, CLI).

A `World` is one anvil chain (started by `fathom.chain.client.LocalChain` on a free port) with
the contracts deployed; each test takes an `evm_snapshot` first and reverts to it
afterwards, so tests share the chain without seeing each other's bounties. Parties get
fresh keys funded from an unlocked anvil account and publish their public keys.

`open_round` opens a bounty on a small synthetic task (softmax, d=8, 3 classes, a few
hundred rows) with a committee of 3 in-process `OracleNode`s, and drives them until the
baseline is set. `drive` ticks the nodes until a condition holds.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from fathom.ml import models
from fathom.protocol import settlement as protocol
from fathom.ml import training
from fathom.chain.client import LocalChain, Sender, connect, deploy_all
from fathom.roles.contributor import Contribution, contribute
from fathom.crypto.envelope import generate_private_key, public_key_of
from fathom.cli.demo import Party  # the same named key holder as the demo's
from fathom.chain.market import WAD, Event, Market
from fathom.chain.client import ETH as ETH_ADDRESS  # a drawn committee's empty seats are the zero address
from fathom.roles.oracle import OracleNode
from fathom.roles.requester import BountySecrets, default_terms, open_bounty, seat_committee
from fathom.storage.store import EmbeddedStore, Store

D, K = 8, 3
MANIFEST = models.make_manifest("softmax", D, K, metric="accuracy")
STAKE = 10**16
SLASH_BPS = 5_000
ORACLE_FEE = 3 * 10**15
ORACLE_STAKE = 2 * WAD


# ---------------------------------------------------------------- the chain


def rpc(w3: Any, method: str, *params: Any) -> Any:
    response = w3.provider.make_request(method, list(params))
    if "error" in response:
        raise RuntimeError(f"{method} failed: {response['error']}")
    return response["result"]


def snapshot(w3: Any) -> str:
    return rpc(w3, "evm_snapshot")


def revert(w3: Any, snap: str) -> None:
    assert rpc(w3, "evm_revert", snap) is True


def mine(w3: Any, blocks: int = 1) -> None:
    for _ in range(blocks):
        rpc(w3, "evm_mine")


def advance_time(w3: Any, seconds: int) -> None:
    rpc(w3, "evm_increaseTime", seconds)
    mine(w3)


@dataclass
class World:
    chain: LocalChain
    w3: Any
    funder: Sender
    addresses: dict[str, str]
    deploy_block: int

    def market_for(self, party: Party | None = None) -> Market:
        sender = Sender.from_key(self.w3, party.key) if party is not None else None
        return Market(self.w3, self.addresses, sender)

    def viewer(self) -> Market:
        return Market(self.w3, self.addresses)

    def new_party(self, name: str, eth: int = 100) -> Party:
        party = Party(name, generate_private_key())
        funded = self.w3.eth.send_transaction({"from": self.funder.address, "to": party.address, "value": eth * WAD})
        # anvil answers eth_sendTransaction before it mines: the party's first send must see its funds
        self.w3.eth.wait_for_transaction_receipt(funded, timeout=60)
        self.market_for(party).ensure_key_published(public_key_of(party.key))
        return party

    def balance(self, address: str) -> int:
        return self.w3.eth.get_balance(address)


def start_world() -> World:
    """Start anvil and deploy; the caller must `stop_world` it (module fixtures do)."""
    chain = LocalChain("anvil", accounts=2)
    chain.__enter__()
    try:
        w3 = connect(chain.url)
        deployer = Sender.unlocked(w3, 1)
        contracts = deploy_all(deployer)
        addresses = {name: c.address for name, c in contracts.items()}
        return World(chain, w3, Sender.unlocked(w3, 0), addresses, w3.eth.block_number)
    except BaseException:
        chain.__exit__(None, None, None)
        raise


def stop_world(world: World) -> None:
    world.chain.__exit__(None, None, None)


# ---------------------------------------------------------------- fixtures (import them by name)


@pytest.fixture(scope="module")
def world():
    """One anvil with the contracts deployed, per test module."""
    w = start_world()
    yield w
    stop_world(w)


@pytest.fixture(autouse=True)
def fresh_chain(world: World):
    """Every test starts from the chain as the module's fixtures left it."""
    snap = snapshot(world.w3)
    yield
    revert(world.w3, snap)


# ---------------------------------------------------------------- data


def make_data(seed: int = 3, n: int = 1_300) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Three Gaussian blobs in 8 dimensions: a public seed set, a validation set, shards."""
    rng = np.random.default_rng(seed)
    means = rng.normal(0.0, 0.5, size=(K, D)).astype(np.float32)
    y = rng.integers(0, K, n).astype(np.int64)
    X = (means[y] + rng.normal(0.0, 1.0, size=(n, D))).astype(np.float32)
    out = {"public": (X[:40], y[:40]), "validation": (X[40:340], y[40:340])}
    start = 340
    for i, size in enumerate((240, 200, 160, 120, 120, 120)):
        out[f"shard{i}"] = (X[start:start + size], y[start:start + size])
        start += size
    return out


DATA = make_data()


def seed_model() -> dict[str, np.ndarray]:
    """Version 0: a little better than chance (so a harmful update is clearly worse)."""
    init = models.init_model(MANIFEST, seed=1)
    return training.train(MANIFEST, init, *DATA["public"], lr=0.3, epochs=1, batch_size=40, seed=1)


# ---------------------------------------------------------------- a bounty with its committee


@dataclass
class Round:
    world: World
    store: Store
    workdir: Path
    requester: Party
    oracles: list[Party]
    nodes: list[OracleNode]
    secrets: BountySecrets
    contributors: dict[str, Party] = field(default_factory=dict)

    @property
    def bounty_id(self) -> int:
        return self.secrets.bounty_id

    @property
    def viewer(self) -> Market:
        return self.world.viewer()

    def market_of(self, name: str) -> Market:
        return self.world.market_for(self.contributors[name])

    def node(self, index: int, **overrides: Any) -> OracleNode:
        """A fresh OracleNode for oracle `index` on its data folder (a restart)."""
        return make_node(self.world, self.store, self.oracles[index], self.workdir / f"oracle{index}", **overrides)

    def contribute(self, name: str, shard: int, seed: int = 0, **kwargs: Any) -> Contribution:
        p = self.contributors[name]
        kwargs.setdefault("lr", 0.5)
        kwargs.setdefault("epochs", 3)
        kwargs.setdefault("batch_size", 32)
        if kwargs.get("scale", 1.0) != 1.0:
            kwargs.setdefault("force", True)  # a deliberately harmful update: its local score is worse
        return contribute(self.market_of(name), self.store, p.key, self.bounty_id, *DATA[f"shard{shard}"], seed=seed,
                          **kwargs)

    def events(self) -> list[Event]:
        return self.viewer.events(bounty_id=self.bounty_id, outcomes=True)

    def view(self) -> dict[str, Any]:
        return self.viewer.bounty(self.bounty_id)

    def drive(self, condition: Callable[[], bool], rounds: int = 12, nodes: list[OracleNode] | None = None) -> None:
        drive(nodes or self.nodes, condition, rounds)


def make_node(world: World, store: Store, oracle: Party, data_dir: Path, market: Market | None = None,
              **overrides: Any) -> OracleNode:
    overrides.setdefault("confirmations", 0)
    overrides.setdefault("poll_seconds", 0.0)
    return OracleNode(market or world.market_for(oracle), store, oracle.key, data_dir, **overrides)


def drive(nodes: list[OracleNode], condition: Callable[[], bool], rounds: int = 12) -> None:
    """Tick every node in turn until `condition()` holds (at most `rounds` passes)."""
    for _ in range(rounds):
        if condition():
            return
        for node in nodes:
            node.tick()
    if not condition():
        raise AssertionError(f"the oracles did not get there in {rounds} passes")


def open_round(world: World, workdir: Path, contributors: list[str], store: Store | None = None,
               baseline: bool = True, manifest: dict[str, Any] | None = None, members: int = 3,
               **overrides: Any) -> Round:
    """Requester, 3 (`members`) staked oracles, admitted contributors; the bounty opened and (unless
    baseline=False) driven until its baseline is set. `manifest`: the seed model's, with
    another metric (its terms follow it)."""
    manifest = manifest or MANIFEST
    store = store or EmbeddedStore(workdir / "store")
    max_epsilon = overrides.pop("max_epsilon", None)  # an off-chain term of the brief, not of the contract
    confidence_bps = overrides.pop("confidence_bps", None)  # likewise (F12)
    initial = overrides.pop("initial", None)  # the initial model's parameters (default: seed_model())
    test_set = overrides.pop("test_set", None)  # a held-out test set (F14): (manifest, {"X", "y"})
    drawn = overrides.pop("drawn", False)  # rule C4: the committee drawn from the registry, then seated
    seat = overrides.pop("seat", True)  # drawn: the requester seats the members (False: it never does)
    requester = world.new_party("requester")
    oracles = [world.new_party(f"oracle{i}") for i in range(members)]
    for o in oracles:
        world.market_for(o).stake_oracle(ORACLE_STAKE)
    people = {name: world.new_party(name) for name in contributors}
    market = world.market_for(requester)
    named_committee = [ETH_ADDRESS] * members if drawn else [o.address for o in oracles]
    terms = default_terms(market.now(), named_committee, metric=manifest["metric"], **{
        "batchSize": 4, "maxBatches": 6, "stake": STAKE, "slashBps": SLASH_BPS, "oracleFeePerBatch": ORACLE_FEE,
        "target": 9_000, "slashMargin": 300, "tolerance": 2, **overrides})
    vX, vy = DATA["validation"]
    secrets = open_bounty(market, store, requester.key, workdir / "requester",
                          (manifest, seed_model() if initial is None else initial),
                          ({"task": "classification", "n_classes": K}, {"X": vX, "y": vy}), terms,
                          admitted=[p.address for p in people.values()], max_epsilon=max_epsilon,
                          confidence_bps=confidence_bps, test_set=test_set)
    nodes = [make_node(world, store, o, workdir / f"oracle{i}") for i, o in enumerate(oracles)]
    rnd = Round(world, store, workdir, requester, oracles, nodes, secrets, people)
    if drawn:  # the draw lands in its half's seed block (C4, O7); a node triggers it, then the requester seats the members
        mine(world.w3, market.seed_block(market.bounty(secrets.bounty_id)["drawBlock"]) - 1 - world.w3.eth.block_number)
        nodes[0].tick()
        if seat:
            assert seat_committee(market, store, requester.key, secrets) is not None, "the draw left a seat empty"
    if baseline:
        rnd.drive(lambda: rnd.viewer.state(rnd.bounty_id) == "Open")
    return rnd


# ---------------------------------------------------------------- reading an oracle's state


def terms_of(view: dict[str, Any], params: dict[str, Any]) -> protocol.BountyTerms:
    """The terms the next batch of a bounty is decided under (the model of settleBatch)."""
    return protocol.BountyTerms(
        higher_is_better=view["higherIsBetter"], target=view["target"], baseline_score=view["baselineScore"],
        head_score=view["headScore"], reward=view["reward"], paid=view["paid"],
        curve=protocol.Curve(params["curveX"], params["curveY"]), slash_margin=view["slashMargin"],
        tolerance=view["tolerance"], slash_bps=view["slashBps"], oracle_fee_per_batch=view["oracleFeePerBatch"],
        version_count=view["versionCount"],
    )


def oracle_db(node: OracleNode, sql: str, *args: Any) -> list[tuple]:
    return node.db.execute(sql, args).fetchall()


def stored_report(node: OracleNode, bounty_id: int, batch: int) -> tuple[list[int], list[Any], int] | None:
    """(the stored report's per-submission scores, its merged CID, sent) of batch `batch`."""
    rows = oracle_db(node, "SELECT scores, merged, sent FROM reports WHERE bounty = ? AND batch = ?", bounty_id, batch)
    if not rows:
        return None
    report, merged, sent = rows[0]
    return json.loads(report)["scores"], json.loads(merged), sent


def skips(node: OracleNode, bounty_id: int) -> dict[int, str]:
    return dict(oracle_db(node, "SELECT submission, reason FROM skips WHERE bounty = ?", bounty_id))


def named(events: list[Event], name: str, **match: Any) -> list[Event]:
    return [e for e in events if e.name == name and all(e.args.get(k) == v for k, v in match.items())]


class WrappedStore(Store):
    """A store that passes every call to `inner`; subclasses change what they test."""

    def __init__(self, inner: Store):
        self.inner = inner

    def add(self, data: bytes, *, pin: bool = True) -> str:
        return self.inner.add(data, pin=pin)

    def cat(self, cid: str, max_size: int, *, deadline: float | None = None) -> bytes:
        return self.inner.cat(cid, max_size, deadline=deadline)

    def pin(self, cid: str) -> None:
        self.inner.pin(cid)

    def unpin(self, cid: str) -> None:
        self.inner.unpin(cid)

    def is_pinned(self, cid: str) -> bool:
        return self.inner.is_pinned(cid)


class FlakyStore(WrappedStore):
    """A store whose `cat` fails with `error` while `failing(cid)` says so (counting calls)."""

    def __init__(self, inner: Store, failing: Callable[[str], bool], error: type[Exception] | None = None):
        from fathom.storage.store import StoreUnavailable

        super().__init__(inner)
        self.failing = failing
        self.error = error or StoreUnavailable
        self.calls = 0
        self.failures = 0

    def cat(self, cid: str, max_size: int, *, deadline: float | None = None) -> bytes:
        self.calls += 1
        if self.failing(cid):
            self.failures += 1
            raise self.error(f"the store is down (simulated failure {self.failures} on {cid})")
        return self.inner.cat(cid, max_size, deadline=deadline)


def fail_first(n: int) -> Callable[[str], bool]:
    """A `failing` predicate: the first n calls fail, the rest succeed."""
    count = [0]

    def failing(_cid: str) -> bool:
        count[0] += 1
        return count[0] <= n

    return failing


def random_digest() -> bytes:
    return os.urandom(32)

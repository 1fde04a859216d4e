"""The encrypted-weights mode wired end to end (SPECIFICATION F13): `bounty open
--encrypted-weights`, `fathom contribute` on the ciphertexts, three oracle nodes that
decrypt, score, settle and pay through the unchanged contracts, and the audit after the
reveal. Keys are 2048 bits (the mode refuses less); the model is small (d = 8, binary)."""

from __future__ import annotations

import gc  # noqa: F401 - used by the contributor's subprocess script
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from fathom.chain.deployments import write_deployment
from fathom.cli import main
from fathom.crypto import paillier
from fathom.crypto.envelope import seal_for
from fathom.errors import FathomError
from fathom.ml import artefacts, encrypted, models
from fathom.ml.artefacts import pack_update
from fathom.roles.contributor import contribute, contribute_encrypted, outcome, submit_then_publish
from fathom.roles.reader import BountyReader
from fathom.roles.requester import audit, bounty_mode, default_terms, open_bounty, reveal
from fathom.storage.store import EmbeddedStore

from roles_helpers import ORACLE_STAKE, STAKE, World, drive, make_node, named
from roles_helpers import fresh_chain, world  # noqa: F401 - the module's chain fixture, a snapshot per test

D = 8
MANIFEST = models.make_manifest("logistic", D, 2, metric="accuracy")
NETWORK = "encryptedtest"


def _data(seed: int = 5, n: int = 1_100) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, D)).astype(np.float32)
    truth = rng.normal(size=D)
    y = (X @ truth + rng.normal(scale=0.5, size=n) > 0).astype(np.int64)
    out = {"validation": (X[:300], y[:300])}
    for i in range(4):
        out[f"shard{i}"] = (X[300 + 200 * i:500 + 200 * i], y[300 + 200 * i:500 + 200 * i])
    return out


DATA = _data()


class EncryptedRound:
    def __init__(self, world: World, workdir: Path, contributors: list[str], **overrides: Any):
        self.world, self.workdir = world, workdir
        self.store = EmbeddedStore(workdir / "store")
        self.requester = world.new_party("requester")
        self.oracles = [world.new_party(f"oracle{i}") for i in range(3)]
        for o in self.oracles:
            world.market_for(o).stake_oracle(ORACLE_STAKE)
        self.people = {name: world.new_party(name) for name in contributors}
        market = world.market_for(self.requester)
        terms = default_terms(market.now(), [o.address for o in self.oracles], metric="accuracy", **{
            "batchSize": 3, "maxBatches": 4, "stake": STAKE, "slashMargin": 300, "tolerance": 2, **overrides})
        vX, vy = DATA["validation"]
        zero = {k: np.zeros_like(v) for k, v in models.init_model(MANIFEST, seed=1).items()}
        self.secrets = open_bounty(market, self.store, self.requester.key, workdir / "requester", (MANIFEST, zero),
                                   ({"task": "classification", "n_classes": 2}, {"X": vX, "y": vy}), terms,
                                   encrypted_weights=True)
        self.nodes = [make_node(world, self.store, o, workdir / f"oracle{i}") for i, o in enumerate(self.oracles)]
        self.drive(lambda: world.viewer().state(self.bounty_id) == "Open")

    @property
    def bounty_id(self) -> int:
        return self.secrets.bounty_id

    def drive(self, condition: Any, rounds: int = 12) -> None:
        drive(self.nodes, condition, rounds)

    def events(self) -> list[Any]:
        return self.world.viewer().events(bounty_id=self.bounty_id, outcomes=True)

    def member_reader(self, index: int = 0) -> BountyReader:
        return BountyReader(self.world.viewer(), self.store, self.bounty_id, self.oracles[index].key)


@pytest.fixture(scope="module")
def settled(world: World, tmp_path_factory):
    """One batch: an honest encrypted update, a harmful one (labels flipped), and one
    encrypted under the submitter's own Paillier key; then cancel, settle, close, reveal."""
    workdir = tmp_path_factory.mktemp("encrypted-round")
    rnd = EncryptedRound(world, workdir, ["honest", "flipped", "ownkey"])
    honest = contribute_encrypted(world.market_for(rnd.people["honest"]), rnd.store, rnd.people["honest"].key,
                                  rnd.bounty_id, *DATA["shard0"], lr=0.5, steps=5)
    X1, y1 = DATA["shard1"]
    flipped = contribute_encrypted(world.market_for(rnd.people["flipped"]), rnd.store, rnd.people["flipped"].key,
                                   rnd.bounty_id, X1, 1 - y1, lr=0.5, steps=5)
    # the attacker encrypts its update under a key of its own, so it could read what it sends
    me = rnd.people["ownkey"]
    own_public, _ = paillier.generate_keypair(paillier.DEFAULT_KEY_BITS)
    weights = encrypted.encrypt_model(own_public, np.zeros((1, D + 1)), "logistic")
    update = encrypted.encrypted_update(weights, *DATA["shard2"], lr=0.5, steps=5)
    reader = BountyReader(world.market_for(me), rnd.store, rnd.bounty_id, me.key)
    blob = pack_update(*encrypted.to_container(update, MANIFEST))
    chain_id, market_address = reader.domain
    sealed = seal_for(blob, reader.recipients(), rnd.bounty_id, "update", me.address, chain_id=chain_id,
                      market=market_address)
    ownkey_id, _ = submit_then_publish(world.market_for(me), rnd.store, rnd.bounty_id, 0, sealed)
    rnd.drive(lambda: world.viewer().bounty(rnd.bounty_id)["nextBatch"] == 1)
    rnd.outcomes = {name: outcome(world.viewer(), rnd.bounty_id, sid)  # type: ignore[attr-defined]
                    for name, sid in (("honest", honest.submission_id), ("flipped", flipped.submission_id),
                                      ("ownkey", ownkey_id))}
    rnd.updates = {"honest": honest, "flipped": flipped}  # type: ignore[attr-defined]
    requester = world.market_for(rnd.requester)
    requester.cancel(rnd.bounty_id)
    rnd.drive(lambda: world.viewer().state(rnd.bounty_id) == "Closed")
    reveal(requester, rnd.secrets)
    return rnd


def test_an_encrypted_update_is_decrypted_scored_accepted_and_paid_like_any_other(settled, world):
    """The oracles decrypt and score encrypted updates through the same contracts: the honest
    one is accepted and paid, the harmful one is slashed."""
    out = settled.outcomes
    assert out["honest"]["outcome"] == "accepted" and out["honest"]["reward"] > 0
    assert out["flipped"]["outcome"] == "slashed"
    (version,) = named(settled.events(), "VersionAccepted")
    assert version["author"] == settled.people["honest"].address
    assert world.viewer().claimable(settled.people["honest"].address) >= version["reward"] + STAKE


def test_an_update_under_a_key_of_the_submitters_own_is_invalid_attack(settled):
    assert settled.outcomes["ownkey"]["outcome"] == "slashed"
    assert settled.outcomes["ownkey"]["score"] == 2**32 - 1  # INVALID: not a ciphertext under the bounty's key


def test_the_decrypted_update_equals_the_plaintext_steps_within_the_stated_error(settled):
    """What a member decrypts is the contributor's 5 steps at lr 0.5 in the clear, on the
    head it never saw, within the fixed point's bound (plus float32's rounding of the delta)."""
    reader = settled.member_reader()
    c = settled.updates["honest"]
    head = reader.model(0)
    delta = reader.open_update(c.cid, settled.people["honest"].address)
    rows = encrypted.from_params(head.arrays)
    expected = encrypted.plain_update(rows, *DATA["shard0"], "logistic", 0.5, 5)
    B, _ = encrypted.affine_update(*DATA["shard0"], "logistic", 0.5, 5)
    got = encrypted.from_params(delta.arrays)
    bound = encrypted.quantisation_bound(B, rows[0]) + np.abs(expected[0]) * 2.0**-24
    assert np.all(np.abs(got[0] - expected[0]) <= bound)
    assert np.abs(got).max() > 0.01  # a real update, not zeros


def test_every_member_pins_the_same_encrypted_version_and_it_decrypts_to_parent_plus_update(settled):
    (version,) = named(settled.events(), "VersionAccepted")
    reader = settled.member_reader(1)
    v1 = reader.versions()[1]
    assert v1.cid is not None and not reader.mismatched
    blob = reader.fetch(v1.cid)
    assert artefacts.unpack_model(blob).encrypted and blob[4] == 4  # a container version 4, ciphertexts only
    merged = reader.model(1)
    parent = reader.model(0)
    delta = reader.open_update(v1.update, version["author"])
    expected = encrypted.canonical(artefacts.apply_update(parent, delta).arrays)
    assert all(np.array_equal(merged.arrays[k], expected[k]) for k in expected)
    assert 1 not in reader.mismatched


def test_a_contributor_cannot_read_the_model_of_an_encrypted_bounty(settled, world):
    c = settled.people["honest"]
    reader = BountyReader(world.market_for(c), settled.store, settled.bounty_id, c.key)
    assert settled.secrets.encrypted_weights
    with pytest.raises(FathomError, match="cannot be opened here"):
        reader.paillier_secret  # noqa: B018 - the secret key is sealed for exactly the committee
    manifest, weights = reader.encrypted_model(0)
    assert manifest == MANIFEST and weights.public_key == reader.paillier_public
    with pytest.raises(FathomError, match="encrypted-weights mode"):
        contribute(world.market_for(c), settled.store, c.key, settled.bounty_id, *DATA["shard3"])


def test_the_audit_after_the_reveal_decrypts_and_rescores_the_encrypted_mode(settled, world):
    """The reveal publishes the model key, which opens the Paillier secret key: anyone then
    re-scores every version, and every update whose content key a member disclosed."""
    viewer = world.viewer()
    plain = audit(viewer, settled.store, settled.bounty_id)
    assert plain["differences"] == [] and plain["sealed"] == 3
    assert plain["versions"][0]["rescored"] == plain["versions"][0]["chain"]  # the decrypted initial model
    subs = {BountyReader(viewer, settled.store, settled.bounty_id).versions()[1].update: settled.people["honest"].address}
    keys = settled.member_reader().disclose(subs)
    full = audit(viewer, settled.store, settled.bounty_id, update_keys=keys)
    assert full["differences"] == [] and full["sealed"] == 2
    assert all(v["rescored"] is not None for v in full["versions"])


def test_bounty_show_says_the_mode(settled, world, capsys, monkeypatch, tmp_path):
    _cli_env(monkeypatch, settled, world, tmp_path)
    assert main(["bounty", "show", str(settled.bounty_id)]) == 0
    out = capsys.readouterr().out
    assert "mode: encrypted weights (Paillier, 2048 bits)" in out and "largest epsilon: not required" in out
    assert bounty_mode(world.viewer(), settled.store, settled.bounty_id)["mode"] == "encrypted-weights"


# ---------------------------------------------------------------- the contributor's process, through the CLI

_CONTRIBUTOR = textwrap.dedent("""
    import gc, sys
    from phe import paillier as phe_paillier
    from fathom.crypto import paillier
    from fathom.roles.reader import BountyReader

    def refuse(*args, **kwargs):
        raise AssertionError("the contributor's process built or opened a Paillier secret key")

    paillier.SecretKey.__init__ = refuse
    paillier.SecretKey.from_json = classmethod(refuse)
    phe_paillier.PaillierPrivateKey.__init__ = refuse
    BountyReader.paillier_secret = property(refuse)
    from fathom.cli import main
    code = main(sys.argv[1:])
    held = [o for o in gc.get_objects() if isinstance(o, (paillier.SecretKey, phe_paillier.PaillierPrivateKey))]
    assert not held, held
    sys.exit(code)
""")


def _cli_env(monkeypatch: Any, rnd: EncryptedRound, world: World, tmp_path: Path) -> dict[str, str]:
    deployments = tmp_path / "deployments"
    write_deployment(deployments, NETWORK, {"network": NETWORK, "chain_id": world.w3.eth.chain_id, "block": 0,
                                            "contracts": world.addresses})
    env = {"FATHOM_RPC_URL": world.chain.url, "FATHOM_NETWORK": NETWORK, "FATHOM_DEPLOYMENTS": str(deployments),
           "FATHOM_STORE_DIR": str(rnd.store.root), "FATHOM_DATA_DIR": str(tmp_path / "data")}
    for name in list(os.environ):
        if name.startswith("FATHOM_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def test_a_contributor_never_decrypts_a_weight_attack(world, tmp_path, monkeypatch):
    """`fathom contribute` on an encrypted bounty, in a process where building or opening a
    Paillier secret key fails: it submits, holds no secret-key object at the end, and says
    it cannot score locally; the committee then decrypts and decides the update."""
    rnd = EncryptedRound(world, tmp_path / "round", ["cli"], batchSize=1)
    env = _cli_env(monkeypatch, rnd, world, tmp_path)
    folder = tmp_path / "shard"
    folder.mkdir()
    np.save(folder / "X.npy", DATA["shard3"][0])
    np.save(folder / "y.npy", DATA["shard3"][1])
    me = rnd.people["cli"]
    secret_json = json.dumps(rnd.member_reader().paillier_secret.to_json())
    assert str(json.loads(secret_json)["p"]) not in (folder / "X.npy").read_bytes().hex()
    proc = subprocess.run([sys.executable, "-c", _CONTRIBUTOR, "contribute", str(rnd.bounty_id), "--data", str(folder),
                           "--steps", "5", "--lr", "0.5", "--noise-std", "0.001"],
                          env=os.environ | env | {"FATHOM_PRIVATE_KEY": "0x" + me.key.hex()},
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert f"submitted #0 to bounty {rnd.bounty_id}" in proc.stdout
    assert "no local score: you never hold the weights" in proc.stdout
    (sub,) = named(rnd.events(), "SubmissionReceived")
    assert sub["contributor"] == me.address
    # the update is decided like any other: three members decrypt and score it
    rnd.drive(lambda: world.viewer().bounty(rnd.bounty_id)["nextBatch"] == 1)
    assert outcome(world.viewer(), rnd.bounty_id, 0)["outcome"] == "accepted"


# ---------------------------------------------------------------- the size bound, before anything is escrowed

def test_an_encrypted_bounty_over_the_size_bound_is_refused_before_anything_is_escrowed(world, tmp_path):
    requester = world.new_party("requester")
    market = world.market_for(requester)
    oracles = [world.new_party(f"o{i}") for i in range(3)]
    store = EmbeddedStore(tmp_path / "store")
    before = (market.bounty_count(), world.balance(requester.address))
    big = models.make_manifest("softmax", 200, 10, metric="accuracy")  # 10 x 201 = 2,010 ciphertexts > 1,024
    rng = np.random.default_rng(0)
    val = ({"task": "classification", "n_classes": 10},
           {"X": rng.normal(size=(50, 200)).astype(np.float32), "y": rng.integers(0, 10, 50).astype(np.int64)})
    for manifest, overrides, message in (
            (big, {}, "exceed the mode's bound of 1024"),
            # 500 weights fit, but a batch of 32 of them is 165 s of decryption: over the 90 s that 600 s
            # leaves for it (a quarter, less 60 s to commit: review 11, F4)
            (models.make_manifest("logistic", 499, 2, metric="accuracy"), {"batchSize": 32}, "--timeout 900 or more"),
            # a drawn committee (C4) is not known at opening: the Paillier secret has nobody to be sealed for
            (models.make_manifest("logistic", 4, 2, metric="accuracy"), {"committee": ["0x" + "00" * 20] * 3}, "needs a named committee")):
        d = models.model_spec(manifest).d
        data = val if d == 200 else ({"task": "classification", "n_classes": 2},
                                     {"X": rng.normal(size=(50, d)).astype(np.float32),
                                      "y": rng.integers(0, 2, 50).astype(np.int64)})
        committee = overrides.pop("committee", [o.address for o in oracles])
        terms = default_terms(market.now(), committee, **overrides)
        with pytest.raises(FathomError, match=message.replace("(", r"\(")):
            open_bounty(market, store, requester.key, tmp_path / "req", (manifest, models.init_model(manifest, seed=0)),
                        data, terms, encrypted_weights=True)
    assert (market.bounty_count(), world.balance(requester.address)) == before
    assert not (tmp_path / "store").exists() or not any((tmp_path / "store").rglob("*.*"))
    assert not (tmp_path / "req").exists()


def test_bounty_open_encrypted_weights_over_the_bound_is_one_line_and_sends_nothing(world, tmp_path, capsys,
                                                                                    monkeypatch):
    requester = world.new_party("requester")
    oracles = [world.new_party(f"o{i}") for i in range(3)]
    deployments = tmp_path / "deployments"
    write_deployment(deployments, NETWORK, {"network": NETWORK, "chain_id": world.w3.eth.chain_id, "block": 0,
                                            "contracts": world.addresses})
    for name, value in {"FATHOM_RPC_URL": world.chain.url, "FATHOM_NETWORK": NETWORK,
                        "FATHOM_DEPLOYMENTS": str(deployments), "FATHOM_STORE_DIR": str(tmp_path / "store"),
                        "FATHOM_DATA_DIR": str(tmp_path / "data"), "FATHOM_PRIVATE_KEY": "0x" + requester.key.hex()}.items():
        monkeypatch.setenv(name, value)
    model, val = tmp_path / "model", tmp_path / "val"
    for folder in (model, val):
        folder.mkdir()
    wide = models.make_manifest("logistic", 100, 2, metric="accuracy")  # 101 weights: fits the 1,024
    (model / "manifest.json").write_text(json.dumps(wide))
    for name, array in models.init_model(wide, seed=0).items():
        np.save(model / f"{name}.npy", array)
    rng = np.random.default_rng(1)
    np.save(val / "X.npy", rng.normal(size=(60, 100)).astype(np.float32))
    np.save(val / "y.npy", rng.integers(0, 2, 60).astype(np.int64))
    count = world.viewer().bounty_count()
    # (150 + 1) x 101 x 10 ms = 152 s: more than the 90 s the 600 s timeout leaves for it
    code = main(["bounty", "open", "--model", str(model), "--validation", str(val), "--encrypted-weights",
                 "--committee", ",".join(o.address for o in oracles), "--batch-size", "150", "--timeout", "600"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("fathom: error: --encrypted-weights: a batch of 150") and err.count("\n") == 1, err
    assert world.viewer().bounty_count() == count and not (tmp_path / "store").exists()


def test_an_encrypted_bounty_takes_no_max_epsilon_no_admission_and_no_mlp(world, tmp_path):
    requester = world.new_party("requester")
    market = world.market_for(requester)
    committee = [world.new_party(f"o{i}").address for i in range(3)]
    store = EmbeddedStore(tmp_path / "store")
    vX, vy = DATA["validation"]
    val = ({"task": "classification", "n_classes": 2}, {"X": vX, "y": vy})
    initial = (MANIFEST, models.init_model(MANIFEST, seed=0))
    terms = default_terms(market.now(), committee)
    count = market.bounty_count()
    with pytest.raises(FathomError, match="no epsilon can be stated"):
        open_bounty(market, store, requester.key, tmp_path, initial, val, terms, encrypted_weights=True, max_epsilon=4.0)
    with pytest.raises(FathomError, match="admits nobody"):
        open_bounty(market, store, requester.key, tmp_path, initial, val, terms, encrypted_weights=True,
                    admitted=[committee[0]])
    mlp = models.make_manifest("mlp", D, 2, h=4, activation="relu", metric="accuracy")
    with pytest.raises(FathomError, match="trains linear models"):
        open_bounty(market, store, requester.key, tmp_path, (mlp, models.init_model(mlp, seed=0)), val, terms,
                    encrypted_weights=True)
    assert market.bounty_count() == count


def test_attack_B4_an_encrypted_bounty_opened_before_the_commit_margin_is_still_joined_by_upgraded_members():
    """Review 14: B4's commit margin made `check_budget` a quarter of the timeout less 60 s, and
    a member ran the same check before joining, so a bounty opened earlier with 90-150 s of
    budgeted work at the 600 s floor (the 1,024-weight bound at a batch of 8: 92 s) was
    Unservable to every upgraded member and stranded until its requester cancelled. `bounty open`
    keeps the margin; a member checks with none (the estimate is four times the measured cost)."""
    manifest = models.make_manifest("logistic", 1023, 2, metric="accuracy")  # 1,024 weights: MAX_WEIGHTS
    batch, timeout = 8, 600
    seconds = encrypted.committee_seconds(1, 1023, batch)
    assert encrypted.budget_seconds(timeout) < seconds <= encrypted.budget_seconds(timeout, margin=0)
    with pytest.raises(encrypted.EncryptedModeError, match="less 60 s to commit"):
        encrypted.check_budget(manifest, batch, timeout)  # a new bounty: refused, with the --timeout that fits
    assert encrypted.check_budget(manifest, batch, timeout, margin=0) == (1, 1023)  # a member's pre-join check
    with pytest.raises(encrypted.EncryptedModeError):  # beyond the old bound, a member still refuses it
        encrypted.check_budget(manifest, batch * 2, timeout, margin=0)


def test_attack_B4_a_members_pre_join_check_takes_a_bounty_opened_before_the_commit_margin(monkeypatch):
    """Review 14, through the member's own check (`Reports._check_servable`, before it bonds):
    the 92 s bounty above is joined, one beyond the old bound is still Unservable."""
    from fathom.roles.oracle import reports

    manifest = models.make_manifest("logistic", 1023, 2, metric="accuracy")
    head = SimpleNamespace(manifest=manifest, metric="accuracy")
    monkeypatch.setattr(reports, "check_validation_fits", lambda model, val: None)
    monkeypatch.setattr(reports.significance, "confidence_of", lambda brief: 0.95)
    monkeypatch.setattr(reports, "max_epsilon_of", lambda brief: None)

    def member(batch: int) -> SimpleNamespace:
        params = {"metric": b"accuracy", "higherIsBetter": True, "batchSize": batch, "scoringTimeout": 600}
        reader = SimpleNamespace(model=lambda i: head, params=params, paillier_public=object(), opening_brief={})
        return SimpleNamespace(reader=lambda b: reader, _validation_set=lambda b: None)

    reports.Reports._check_servable(member(8), 1)  # joined: 92 s, within the quarter it was opened under
    with pytest.raises(reports.Unservable, match="beyond what a member can decrypt in time"):
        reports.Reports._check_servable(member(16), 1)

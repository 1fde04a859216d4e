"""The contributor's checks and its differential privacy, end to end on a local chain
(issue 16: noise that cannot be regenerated, the ledger, the statement, the bounty's
largest epsilon; issue 18: what is refused before anything is trained or sent)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fathom.crypto.envelope import seal_for
from fathom.errors import FathomError
from fathom.ml import privacy as P
from fathom.ml import models, training
from fathom.ml.artefacts import pack_update
from fathom.ml.privacy.ledger import BudgetExceeded, Ledger, fingerprint
from fathom.ml.training import TrainingError
from fathom.roles.contributor import PrivacySettings, outcome
from fathom.roles.requester import version_statements
from fathom.roles.reader import BountyReader
from fathom.storage.store import cid_to_chain
from fathom.chain.market import INVALID

from roles_helpers import (  # world, fresh_chain: the module's chain fixtures
    DATA,
    MANIFEST,
    World,
    fresh_chain,  # noqa: F401
    named,
    open_round,
    rpc,
    skips,
    world,  # noqa: F401
)


def submissions(rnd) -> int:
    return len(named(rnd.events(), "SubmissionReceived"))


def opened(rnd, c):
    """The update as a committee member (a recipient) opens it."""
    reader = BountyReader(rnd.viewer, rnd.store, rnd.bounty_id, rnd.oracles[0].key)
    return reader.open_update(c.cid, rnd.contributors[next(iter(rnd.contributors))].address)


def test_attack_regenerate_a_submitted_updates_noise_from_the_training_seed(world: World, tmp_path):
    """Issue 16.1 end to end: two DP submissions with the same training seed (0) on the
    same data. Whoever opens them (here a committee member) knows the head and can redo the
    noise-free training; the noise left over is neither any seed's draw nor shared by the
    two submissions, so neither the update nor the difference of the two is noise-free."""
    rnd = open_round(world, tmp_path, ["owner"])
    ledger = Ledger(tmp_path / "ledger.json")
    dp = PrivacySettings(clip_norm=1.0, noise_multiplier=1.0, budget_epsilon=8.0)
    a = rnd.contribute("owner", 0, seed=0, dp=dp, ledger=ledger, force=True)
    b = rnd.contribute("owner", 0, seed=0, dp=dp, ledger=ledger, force=True)
    ua, ub = opened(rnd, a), opened(rnd, b)
    # the statement travels inside the sealed update
    assert P.PrivacyStatement.from_dict(ua.manifest["privacy"]) == a.statement
    assert a.statement.epsilon == pytest.approx(P.epsilon_for(1.0, 1e-5), abs=1e-9)
    assert (a.statement.mechanism, a.statement.unit, a.statement.accountant) == ("gaussian", "contribution", "prv")
    # the attacker's reconstruction of the clean, clipped update (training is seeded and deterministic)
    head = BountyReader(rnd.viewer, rnd.store, rnd.bounty_id, rnd.oracles[0].key).model(0)
    X, y = DATA["shard0"]
    trained = training.train(MANIFEST, head.arrays, X, y, lr=0.5, epochs=3, batch_size=32, seed=0)
    clean = training.clip_update(training.make_update(head.arrays, trained), 1.0)
    names = sorted(clean)
    noise_a = np.concatenate([(ua.arrays[k].astype(np.float64) - clean[k]).ravel() for k in names])
    noise_b = np.concatenate([(ub.arrays[k].astype(np.float64) - clean[k]).ravel() for k in names])
    assert not np.allclose(noise_a, noise_b, atol=1e-3)  # the difference of the two is not noise-free
    assert np.std(noise_a - noise_b) > 0.5  # ~ sqrt(2) * sigma
    for seed in list(range(2_000)) + [rnd.bounty_id, a.submission_id, b.submission_id, 3, 32]:
        gen = np.random.default_rng(seed)
        guess = np.concatenate([gen.normal(0.0, 1.0, size=clean[k].shape).ravel() for k in names])
        assert np.max(np.abs(guess - noise_a)) > 1e-3 and np.max(np.abs(guess - noise_b)) > 1e-3, seed
    # both releases are in the ledger, composed
    spent = ledger.spending(fingerprint(X, y))
    assert spent.releases == 2 and spent.spent == pytest.approx(P.epsilon_for(1.0, 1e-5, 2), abs=1e-9)
    assert b.spending == spent


def test_the_ledger_refuses_a_release_over_budget_before_training(world: World, tmp_path):
    rnd = open_round(world, tmp_path, ["owner"])
    ledger = Ledger(tmp_path / "ledger.json")
    dp = PrivacySettings(clip_norm=1.0, noise_multiplier=1.0, budget_epsilon=5.0)  # one release: 4.38, two: 6.5
    rnd.contribute("owner", 1, dp=dp, ledger=ledger, force=True)
    trained = []
    with pytest.raises(BudgetExceeded, match=r"from 4\.4.* to 6\..*over your budget of 5"):
        rnd.contribute("owner", 1, dp=dp, ledger=ledger, force=True, progress=lambda *a: trained.append(a))
    assert trained == [] and submissions(rnd) == 1
    # the same data set under another account and another bounty is still the same data set
    assert ledger.spending(fingerprint(*DATA["shard1"])).releases == 1


def test_dp_sent_without_noise_after_dp_releases_is_refused_unless_forced(world: World, tmp_path):
    rnd = open_round(world, tmp_path, ["owner"])
    ledger = Ledger(tmp_path / "ledger.json")
    rnd.contribute("owner", 2, dp=PrivacySettings(1.0, 1.0), ledger=ledger, force=True)
    with pytest.raises(FathomError, match="ends every guarantee"):
        rnd.contribute("owner", 2, ledger=ledger)
    assert submissions(rnd) == 1


@pytest.mark.parametrize("kwargs, match", [({"epochs": 0}, "epochs must be an integer >= 1"), ({"lr": 1e30}, "learning rate"),
                                           ({"lr": 0.0}, "learning rate"), ({"lr": -0.1}, "learning rate"),
                                           ({"lr": float("nan")}, "learning rate"), ({"lr": float("inf")}, "learning rate"),
                                           ({"batch_size": 0}, "batch_size")])
def test_absurd_hyperparameters_are_refused_before_anything_is_sent(world: World, tmp_path, kwargs, match):
    rnd = open_round(world, tmp_path, ["owner"])
    balance = world.balance(rnd.contributors["owner"].address)
    with pytest.raises(TrainingError, match=match):
        rnd.contribute("owner", 0, **kwargs)
    assert submissions(rnd) == 0 and world.balance(rnd.contributors["owner"].address) == balance


def test_a_contributor_without_the_stake_and_gas_is_refused_before_training(world: World, tmp_path):
    rnd = open_round(world, tmp_path, ["poor"])
    me = rnd.contributors["poor"]
    rpc(world.w3, "anvil_setBalance", me.address, hex(10**16 // 2))  # half the stake
    trained = []
    with pytest.raises(FathomError, match="not enough ETH to submit: the stake .* nothing was trained or sent"):
        rnd.contribute("poor", 0, progress=lambda *a: trained.append(a))
    assert trained == [] and submissions(rnd) == 0


def test_an_update_that_makes_the_local_score_worse_is_refused_unless_forced(world: World, tmp_path):
    rnd = open_round(world, tmp_path, ["harm"])
    with pytest.raises(FathomError, match="makes your own local accuracy worse .* nothing was sent"):
        rnd.contribute("harm", 3, scale=-25.0, force=False)
    assert submissions(rnd) == 0
    c = rnd.contribute("harm", 3, scale=-25.0, force=True)
    assert c.worse and c.submission_id == 0 and submissions(rnd) == 1


def test_a_dry_run_trains_scores_with_and_without_the_noise_and_sends_nothing(world: World, tmp_path):
    rnd = open_round(world, tmp_path, ["owner"])
    me = rnd.contributors["owner"]
    ledger = Ledger(tmp_path / "ledger.json")
    balance = world.balance(me.address)
    c = rnd.contribute("owner", 0, dp=PrivacySettings(0.5, 0.3, budget_epsilon=30.0), ledger=ledger, dry_run=True)
    assert c.dry_run and c.submission_id is None and c.cid is None
    assert None not in (c.local_score_before, c.local_score_after, c.local_score_without_noise)
    assert c.local_score_without_noise > c.local_score_before  # training helped before the noise
    assert c.spending.releases == 1 and c.spending.spent == pytest.approx(c.statement.epsilon, abs=1e-9)
    assert submissions(rnd) == 0 and world.balance(me.address) == balance
    assert not (tmp_path / "ledger.json").exists()  # nothing left the machine: nothing to record


def test_attack_submit_above_the_bountys_largest_epsilon(world: World, tmp_path):
    """A requester requires (5, 1e-5)-DP. The client refuses to send anything above it;
    a contributor that bypasses its client and states epsilon 10.1 is scored INVALID by
    every oracle and slashed, while an honest DP update in the same batch is scored."""
    rnd = open_round(world, tmp_path, ["honest", "greedy"], batchSize=2, max_epsilon=5.0)
    ledger = Ledger(tmp_path / "ledger.json")
    with pytest.raises(FathomError, match="at most 5-DP.*no differential privacy"):
        rnd.contribute("greedy", 1)
    with pytest.raises(FathomError, match=r"at most 5-DP.*epsilon 10\.[01]"):
        rnd.contribute("greedy", 1, dp=PrivacySettings(1.0, 0.5, budget_epsilon=20.0), ledger=ledger, force=True)
    assert submissions(rnd) == 0
    honest = rnd.contribute("honest", 0, dp=PrivacySettings(1.0, 1.0), ledger=ledger, force=True)
    # the bypass: a properly noised update whose (true) statement is over the bounty's limit
    reader = BountyReader(rnd.viewer, rnd.store, rnd.bounty_id, rnd.contributors["greedy"].key)
    head = reader.model(0)
    X, y = DATA["shard1"]
    trained = training.train(MANIFEST, head.arrays, X, y, lr=0.5, epochs=3, batch_size=32, seed=0)
    noisy, statement = P.privatize(training.make_update(head.arrays, trained), 1.0, 0.5, 1e-5)
    assert statement.epsilon > 5.0
    me = rnd.contributors["greedy"]
    blob = pack_update(dict(MANIFEST) | {"privacy": statement.as_dict()}, noisy)
    cid = rnd.store.add(seal_for(blob, reader.recipients(), rnd.bounty_id, "update", me.address, chain_id=reader.domain[0],
                                 market=reader.domain[1]))
    greedy = rnd.market_of("greedy").submit(rnd.bounty_id, 0, cid_to_chain(cid))
    rnd.drive(lambda: outcome(rnd.viewer, rnd.bounty_id, greedy) is not None)
    result = outcome(rnd.viewer, rnd.bounty_id, greedy)
    assert result["outcome"] == "slashed" and result["score"] == INVALID
    assert outcome(rnd.viewer, rnd.bounty_id, honest.submission_id)["score"] != INVALID
    for node in rnd.nodes:
        assert "above the bounty's largest epsilon" in skips(node, rnd.bounty_id)[greedy]


def test_record_level_dp_sgd_is_stated_accounted_and_scored(world: World, tmp_path):
    """Issue 16.3: one flag chooses DP-SGD; the unit becomes a record, the statement says
    so, the ledger composes it per record, and the oracles accept the statement."""
    # an untrained head: the noisy DP-SGD update's gain is then far beyond the validation
    # set's noise (F12), so the test does not hang on the draw of the DP noise
    rnd = open_round(world, tmp_path, ["owner"], batchSize=1, initial=models.init_model(MANIFEST, seed=0))
    ledger = Ledger(tmp_path / "ledger.json")
    X, y = DATA["shard0"]  # 240 rows: batches of 32 -> q = 32/240, 8 steps per epoch
    dp = PrivacySettings(clip_norm=1.0, noise_multiplier=1.0, mechanism="dp-sgd")
    c = rnd.contribute("owner", 0, dp=dp, ledger=ledger, force=True, epochs=3)
    s = c.statement
    assert (s.mechanism, s.unit, s.sampling_rate, s.steps) == ("dp-sgd", "record", 32 / 240, 24)
    assert s.epsilon == pytest.approx(P.compose([P.Release("dp-sgd", 1.0, "add_remove", 32 / 240, 24)], 1e-5), abs=1e-9)
    assert P.PrivacyStatement.from_dict(opened(rnd, c).manifest["privacy"]) == s
    spent = ledger.spending(fingerprint(X, y))
    assert spent.unit == "record" and spent.spent == pytest.approx(s.epsilon, abs=1e-9)
    rnd.drive(lambda: outcome(rnd.viewer, rnd.bounty_id, c.submission_id) is not None)
    assert outcome(rnd.viewer, rnd.bounty_id, c.submission_id)["outcome"] == "accepted"
    assert skips(rnd.nodes[0], rnd.bounty_id) == {}
    # `bounty show --privacy`: the statement per version, for a member; sealed for anyone else, the
    # requester included (F2), unless a member disclosed the update's key
    assert version_statements(rnd.viewer, rnd.store, rnd.bounty_id, rnd.oracles[0].key) == {1: s.as_dict()}
    assert version_statements(rnd.viewer, rnd.store, rnd.bounty_id, rnd.requester.key) == {1: "sealed"}
    assert version_statements(rnd.viewer, rnd.store, rnd.bounty_id, rnd.contributors["owner"].key) == {1: "sealed"}
    disclosed = BountyReader(rnd.viewer, rnd.store, rnd.bounty_id, rnd.oracles[0].key).disclose({c.cid: rnd.contributors["owner"].address})
    assert version_statements(rnd.viewer, rnd.store, rnd.bounty_id, update_keys=disclosed) == {1: s.as_dict()}


# ---------------------------------------------------------------- the command line


@pytest.fixture
def cli(fathom_env, tmp_path, world: World):
    """FATHOM_* settings for this module's chain, a throwaway data dir, and a round."""
    from fathom.chain.deployments import write_deployment

    monkeypatch = fathom_env
    rnd = open_round(world, tmp_path / "round", ["cli"])
    write_deployment(tmp_path / "deployments", "privacytest", {"network": "privacytest", "chain_id": world.w3.eth.chain_id,
                                                              "block": 0, "contracts": world.addresses})
    for name, value in {"FATHOM_DATA_DIR": tmp_path / "data", "FATHOM_RPC_URL": world.chain.url, "FATHOM_NETWORK": "privacytest",
                        "FATHOM_DEPLOYMENTS": tmp_path / "deployments", "FATHOM_STORE_DIR": rnd.store.root,
                        "FATHOM_CONFIRMATIONS": 0, "FATHOM_PRIVATE_KEY": "0x" + rnd.contributors["cli"].key.hex()}.items():
        monkeypatch.setenv(name, str(value))
    folder = tmp_path / "mydata"
    folder.mkdir()
    np.save(folder / "X.npy", DATA["shard4"][0])
    np.save(folder / "y.npy", DATA["shard4"][1])
    return rnd, folder


def run(capsys, *argv: str) -> tuple[int, str, str]:
    from fathom.cli import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 1 and err.startswith("fathom: error: ") and err.count("\n") == 1, err
    for needle in needles:
        assert needle in err, err


def test_contribute_dry_run_then_dp_release_then_the_ledger_from_the_command_line(cli, capsys, tmp_path):
    rnd, folder = cli
    bid = str(rnd.bounty_id)
    code, out, err = run(capsys, "contribute", bid, "--data", str(folder), "--clip", "1", "--noise", "1.0", "--dry-run")
    assert code == 0, err
    assert "dry run" in out and "nothing was sent" in out
    assert "without the noise" in out and "PRV accountant" in out and "RDP" not in out
    assert "1 release(s)" in out and submissions(rnd) == 0
    code, out, err = run(capsys, "privacy", "--data", str(folder))
    assert code == 0 and "no releases recorded" in out
    code, out, err = run(capsys, "contribute", bid, "--data", str(folder), "--clip", "1", "--noise", "1.0", "--force")
    assert code == 0, err
    assert out.startswith("submitted #0") and "(4.4" in out and "PRV accountant" in out
    code, out, err = run(capsys, "privacy")
    assert code == 0, err
    assert "1 release(s), epsilon spent 4.4" in out and f"bounty {rnd.bounty_id} (version 0)" in out
    assert "of 10 at delta 1e-05" in out
    code, out, err = run(capsys, "privacy", "--json")
    (entry,) = json.loads(out)
    assert entry["releases"] == 1 and entry["unit"] == "contribution" and entry["budget"] == 10.0
    assert entry["history"][0]["mechanism"] == "gaussian" and entry["history"][0]["bounty"] == rnd.bounty_id
    # a second release over a small budget: refused before anything is sent, one line
    code, out, err = run(capsys, "contribute", bid, "--data", str(folder), "--clip", "1", "--noise", "1.0", "--force",
                         "--budget-epsilon", "5")
    one_line_error(code, err, "privacy budget exceeded", "over your budget of 5")
    assert submissions(rnd) == 1


def test_bounty_show_displays_the_mode_and_each_versions_statement_with_disclosed_keys(cli, capsys, tmp_path, world,
                                                                                      monkeypatch):
    """`bounty show`: the bounty's mode and largest epsilon for anyone who reads the brief;
    with --privacy, each version's statement (mechanism, unit, epsilon, delta, accountant),
    sealed for a contributor until a member's disclosed keys are given (--update-keys)."""
    _, folder = cli
    # an untrained head, as in the DP-SGD test above: the noisy update's gain is far beyond the noise
    rnd = open_round(world, tmp_path / "untrained", ["owner"], batchSize=1, initial=models.init_model(MANIFEST, seed=0))
    monkeypatch.setenv("FATHOM_STORE_DIR", str(rnd.store.root))
    monkeypatch.setenv("FATHOM_PRIVATE_KEY", "0x" + rnd.contributors["owner"].key.hex())
    np.save(folder / "X.npy", DATA["shard0"][0])
    np.save(folder / "y.npy", DATA["shard0"][1])
    bid = str(rnd.bounty_id)
    code, out, err = run(capsys, "contribute", bid, "--data", str(folder), "--dp-sgd", "--clip", "1", "--noise", "1",
                         "--force", "--lr", "0.5", "--epochs", "3", "--batch-size", "32")
    assert code == 0, err
    rnd.drive(lambda: outcome(rnd.viewer, rnd.bounty_id, 0) is not None)
    assert outcome(rnd.viewer, rnd.bounty_id, 0)["outcome"] == "accepted"
    code, out, err = run(capsys, "bounty", "show", bid, "--privacy")
    assert code == 0, err
    assert "mode: sealed models" in out and "largest epsilon: not required" in out
    assert "version 1 privacy: sealed" in out
    (sub,) = [e for e in rnd.events() if e.name == "SubmissionReceived"]
    cid = BountyReader(rnd.viewer, rnd.store, rnd.bounty_id).versions()[1].update
    keys = BountyReader(rnd.viewer, rnd.store, rnd.bounty_id, rnd.oracles[0].key).disclose({cid: sub["contributor"]})
    (tmp_path / "keys.json").write_text(json.dumps({c: k.hex() for c, k in keys.items()}))
    code, out, err = run(capsys, "bounty", "show", bid, "--privacy", "--update-keys", str(tmp_path / "keys.json"))
    assert code == 0, err
    line = next(x for x in out.splitlines() if "version 1 privacy:" in x)
    assert "-DP per record: dp-sgd mechanism" in line and "1e-05)" in line and "PRV accountant" in line, line


@pytest.mark.parametrize("argv, needles", [(["--epochs", "0"], ["epochs must be an integer >= 1"]),
                                           (["--lr", "1e30"], ["learning rate must be a finite number in (0, 10]"]),
                                           (["--noise", "1"], ["--noise needs --clip"]),
                                           (["--clip", "1"], ["--clip needs --noise"]),
                                           (["--dp-sgd", "--clip", "1"], ["--dp-sgd needs --clip"])])
def test_contribute_mistakes_are_one_line_and_send_nothing(cli, capsys, argv, needles):
    rnd, folder = cli
    code, _, err = run(capsys, "contribute", str(rnd.bounty_id), "--data", str(folder), *argv)
    one_line_error(code, err, *needles)
    assert submissions(rnd) == 0


def test_a_contributor_without_the_tokens_of_an_erc20_bounty_is_refused_before_training(world: World, tmp_path, monkeypatch):
    token = world.funder.deploy("MockERC20", "Test", "TST", 18)
    new_party = world.new_party

    def funded(name, eth=100):  # the requester needs tokens for the escrow; contributors start with none
        party = new_party(name, eth)
        if name == "requester":
            world.funder.transact(token.functions.mint(party.address, 10**30))
        return party

    monkeypatch.setattr(world, "new_party", funded)
    rnd = open_round(world, tmp_path, ["tokenless"], token=token.address)
    me = rnd.contributors["tokenless"]
    trained = []
    with pytest.raises(FathomError, match="not enough of the bounty's token .* your wallet holds 0; nothing was trained or sent"):
        rnd.contribute("tokenless", 0, progress=lambda *a: trained.append(a))
    assert trained == [] and submissions(rnd) == 0
    world.funder.transact(token.functions.mint(me.address, 10**16))  # the stake
    assert rnd.contribute("tokenless", 0).submission_id == 0

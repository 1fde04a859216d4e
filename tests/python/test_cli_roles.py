"""The `fathom` command line against a real chain: help, plain errors, and the role commands.

Settings come from FATHOM_* variables (set with monkeypatch); the deployment record
points at an anvil started for this module. User mistakes must print exactly one
`fathom: error: ...` line on stderr and exit 1, never a traceback.
"""

from __future__ import annotations

import argparse
import json
from decimal import Decimal

import numpy as np
import pytest
from eth_utils import to_checksum_address

from fathom.roles.contributor import payouts_owed
from fathom.chain.client import describe_revert, free_port
from fathom.cli import build_parser, main
from fathom.cli._common import eth
from fathom.cli.bounty import token_line
from fathom.crypto.envelope import generate_private_key
from fathom.chain.deployments import write_deployment
from fathom.roles.oracle import OracleNode
from fathom.roles.requester import reveal
from fathom.cli.reputation import COUNTERS
from fathom.storage.store import EmbeddedStore

from roles_helpers import DATA, SLASH_BPS, STAKE, World, mine, named, open_round, revert, snapshot
from roles_helpers import world  # noqa: F401 - the module's chain fixture

NETWORK = "rolestest"


@pytest.fixture(scope="module")
def done(world: World, tmp_path_factory):
    """One finished round: two honest updates and a harmful one in one batch, then the
    requester cancels, the committee settles and closes, the requester reveals."""
    workdir = tmp_path_factory.mktemp("cli-round")
    rnd = open_round(world, workdir, ["c0", "c1", "harm", "idle"], batchSize=3)
    rnd.contribute("c0", 0, lr=0.05, epochs=1)
    rnd.contribute("c1", 1, lr=0.05, epochs=1)
    rnd.contribute("harm", 3, scale=-25.0)
    rnd.drive(lambda: rnd.view()["nextBatch"] == 1)
    requester = world.market_for(rnd.requester)
    requester.cancel(rnd.bounty_id)
    rnd.drive(lambda: rnd.viewer.state(rnd.bounty_id) == "Closed")
    reveal(requester, rnd.secrets)
    deployments = workdir / "deployments"
    write_deployment(deployments, NETWORK, {"network": NETWORK, "chain_id": world.w3.eth.chain_id, "block": 0,
                                            "contracts": world.addresses})
    rnd.deployments = deployments  # type: ignore[attr-defined]
    return rnd


@pytest.fixture
def env(fathom_env):
    """A clean FATHOM_* environment (no key) on a throwaway data folder (conftest)."""
    return fathom_env


@pytest.fixture
def on_chain(env, world: World, done):
    env.setenv("FATHOM_RPC_URL", world.chain.url)
    env.setenv("FATHOM_NETWORK", NETWORK)
    env.setenv("FATHOM_DEPLOYMENTS", str(done.deployments))
    env.setenv("FATHOM_STORE_DIR", str(done.store.root))
    return env


@pytest.fixture
def fresh_chain(world: World, done):
    snap = snapshot(world.w3)
    yield
    revert(world.w3, snap)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 1, err
    assert err.startswith("fathom: error: "), err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err


# ---------------------------------------------------------------- help


def _commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out += _commands(sub, prefix + (name,))
    return out


COMMANDS = _commands(build_parser())


def test_the_parser_knows_every_role_command():
    for cmd in [("contribute",), ("claim",), ("oracle", "run"), ("oracle", "stake"), ("bounty", "open"),
                ("bounty", "lineage"), ("bounty", "reveal"), ("bounty", "export"), ("audit",), ("reputation",)]:
        assert cmd in COMMANDS


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "fathom")
def test_help_of_every_command_exits_0(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    out, err = capsys.readouterr()
    assert out.startswith("usage: fathom" + "".join(" " + c for c in command)) and err == ""


# ---------------------------------------------------------------- plain errors


def test_claim_without_a_key_says_which_variable_to_set(env, capsys):
    code, _, err = run(capsys, "claim")
    assert_one_line_error(code, err, "FATHOM_PRIVATE_KEY")


def test_contribute_with_a_missing_data_folder(env, capsys, tmp_path):
    env.setenv("FATHOM_PRIVATE_KEY", "0x" + generate_private_key().hex())
    code, _, err = run(capsys, "contribute", "1", "--data", str(tmp_path / "nowhere"))
    assert_one_line_error(code, err, "nowhere is not a folder")


def test_bounty_show_without_a_deployment_record(env, capsys, tmp_path):
    env.setenv("FATHOM_DEPLOYMENTS", str(tmp_path))
    env.setenv("FATHOM_NETWORK", "nowhere")
    code, _, err = run(capsys, "bounty", "show", "1")
    assert_one_line_error(code, err, "no deployment for network 'nowhere'")


def test_an_rpc_url_where_no_node_answers(on_chain, capsys):
    on_chain.setenv("FATHOM_RPC_URL", f"http://127.0.0.1:{free_port()}")
    for argv in (("bounty", "show", "1"), ("reputation", "0x" + "11" * 20), ("bounty", "lineage", "1")):
        code, _, err = run(capsys, *argv)
        assert_one_line_error(code, err, "no Ethereum node answers at http://127.0.0.1:")


def test_a_bounty_that_does_not_exist_is_a_plain_error(on_chain, capsys):
    code, _, err = run(capsys, "bounty", "show", "999")
    assert_one_line_error(code, err, "999")


@pytest.mark.parametrize("argv", [("reputation", "0x1234"), ("keys", "show", "not-an-address")], ids=" ".join)
def test_a_malformed_address_is_a_plain_error(on_chain, capsys, argv):
    code, _, err = run(capsys, *argv)
    assert_one_line_error(code, err, argv[-1])


def test_a_deployment_of_another_chain_is_refused(on_chain, capsys, tmp_path, done, world):
    write_deployment(tmp_path, NETWORK, {"network": NETWORK, "chain_id": 1, "block": 0, "contracts": world.addresses})
    on_chain.setenv("FATHOM_DEPLOYMENTS", str(tmp_path))
    code, _, err = run(capsys, "bounty", "show", str(done.bounty_id))
    assert_one_line_error(code, err, "is for chain 1")


# ---------------------------------------------------------------- the role commands after a round


def hand_count(events, who: str) -> dict[str, int]:
    """What `fathom reputation` should say, counted here from the raw log."""
    who = to_checksum_address(who)
    mine = {e["bountyId"] for e in events if e.name == "BountyOpened" and e["requester"] == who}
    return {
        "submissions_accepted": len([e for e in events if e.name == "UpdateMerged" and e["contributor"] == who]),
        "submissions_rejected": len([e for e in events if e.name == "SubmissionRejected" and e["contributor"] == who]),
        "submissions_slashed": len([e for e in events if e.name == "StakeSlashed" and e["contributor"] == who]),
        "reports_posted": len([e for e in events if e.name == "ReportPosted" and e["oracle"] == who]),
        "reports_slashed": len([e for e in events if e.name == "OracleSlashed" and e["oracle"] == who]),
        "bounties_opened": len(mine),
        "bounties_closed": len([e for e in events if e.name == "BountyClosed" and e["bountyId"] in mine]),
        "bounties_revealed": len([e for e in events if e.name == "ValidationRevealed" and e["bountyId"] in mine]),
    }


def test_reputation_json_counts_what_each_party_did(on_chain, capsys, done, world):
    events = done.viewer.events(outcomes=True)
    (accepted,) = named(events, "VersionAccepted")
    merged = {e["contributor"] for e in named(events, "UpdateMerged")}  # R5: each significant update
    assert accepted["author"] in merged
    c0, c1 = done.contributors["c0"].address, done.contributors["c1"].address
    zero = dict.fromkeys(COUNTERS, 0)
    expected = {
        done.requester.address: {**zero, "bounties_opened": 1, "bounties_closed": 1, "bounties_revealed": 1},
        **{c: {**zero, "submissions_accepted" if c in merged else "submissions_rejected": 1} for c in (c0, c1)},
        done.contributors["harm"].address: {**zero, "submissions_slashed": 1},
        done.contributors["idle"].address: zero,
        **{o.address: {**zero, "reports_posted": 1} for o in done.oracles},
    }
    for who, counts in expected.items():
        assert hand_count(events, who) == counts  # the scenario, as the events tell it
        for spelling in (who, who.lower()):
            code, out, err = run(capsys, "reputation", spelling, "--json")
            assert code == 0, err
            assert json.loads(out) == counts, who
    code, out, _ = run(capsys, "reputation", done.oracles[0].address)
    assert code == 0 and "reports_posted" in out and out.count("\n") == len(COUNTERS)


def test_bounty_lineage_prints_every_version_and_the_payouts(on_chain, capsys, done):
    bid = done.bounty_id
    events = done.viewer.events(bounty_id=bid)
    (accepted,) = named(events, "VersionAccepted")
    baseline = named(events, "BaselineSet")[0]["score"]
    code, out, err = run(capsys, "bounty", "lineage", str(bid))
    assert code == 0, err
    rows = [line.split() for line in out.splitlines()[1:3]]
    assert rows[0] == ["0", "-", str(baseline), "-", "0", "-"]
    assert rows[1] == ["1", "0", str(accepted["score"]), str(accepted["submissionId"]),
                       eth(accepted["reward"]), accepted["author"]]
    assert Decimal(rows[1][4]) * 10**18 == accepted["reward"]  # every digit, no rounding
    assert "payouts per contributor" in out
    assert f"{done.contributors['harm'].address}: 1 sent, 0 accepted, 0 rejected, 1 slashed" in out
    code, out, _ = run(capsys, "bounty", "lineage", str(bid), "--json")
    data = json.loads(out)
    assert [v["version"] for v in data["versions"]] == [0, 1]
    assert data["versions"][1]["reward"] == accepted["reward"]
    code, out, _ = run(capsys, "bounty", "show", str(bid), "--json")
    assert code == 0 and json.loads(out)["state"] == "Revealed" and json.loads(out)["versionCount"] == 1
    code, out, _ = run(capsys, "bounty", "show", str(bid))
    assert code == 0 and "committee: TRUSTED: named by the requester (3 oracles" in out  # C4: the mode is shown
    assert json.loads(run(capsys, "bounty", "show", str(bid), "--json")[1])["trustedCommittee"] is True
    assert "  token ETH (its balance cannot fall without a transfer: not booked)" in out.splitlines()
    assert json.loads(run(capsys, "bounty", "show", str(bid), "--json")[1])["balanceChecked"] is False


def _rebasing_token_round(world, tmp_path, monkeypatch):
    """A RebasingToken (balance-checked on this world's market, which lists no token) and a
    bounty opened in it, no baseline yet; the requester was minted the escrow."""
    token = world.funder.deploy("RebasingToken")
    new_party = world.new_party

    def funded(name, eth=100):  # the requester needs tokens for the escrow
        party = new_party(name, eth)
        if name == "requester":
            world.funder.transact(token.functions.mint(party.address, 10**30))
        return party

    monkeypatch.setattr(world, "new_party", funded)
    return token, open_round(world, tmp_path, [], baseline=False, token=token.address)


def test_p4_bounty_show_says_whether_the_token_is_balance_checked_or_listed_by_the_deployer(
        on_chain, capsys, world, tmp_path, monkeypatch, fresh_chain):
    """Rule P4 in `bounty show`: this world's market lists no token, so a bounty in an ERC-20 says
    the market checks its balance; a token the deployer listed as fixed-balance says so, and
    that the deployer vouches for it (the same line, from the market's balanceChecked)."""
    token, rnd = _rebasing_token_round(world, tmp_path, monkeypatch)
    code, out, err = run(capsys, "bounty", "show", str(rnd.bounty_id))
    assert code == 0, err
    line = f"  token {token.address}: balance-checked (rule P4)"
    assert [x for x in out.splitlines() if x.startswith(line)], out
    assert f"fathom claim --token {token.address} --write-down" in out
    assert json.loads(run(capsys, "bounty", "show", str(rnd.bounty_id), "--json")[1])["balanceChecked"] is True
    listed = token_line(token.address, False)
    assert listed.startswith(f"token {token.address}: listed as fixed-balance by the deployer (rule P4): not balance-checked")
    assert "vouches" in listed and "unprotected" in listed


def test_outcome_audit_and_export_after_the_reveal(on_chain, capsys, done, tmp_path):
    bid = done.bounty_id
    code, out, _ = run(capsys, "outcome", str(bid), "2")
    assert code == 0 and json.loads(out)["outcome"] == "slashed"
    code, out, err = run(capsys, "audit", str(bid))
    assert code == 0, err
    assert "no differences" in out and "still sealed for the committee" in out
    # with a member's disclosure (F2) every update is re-scored too
    from fathom.roles.reader import BountyReader
    from fathom.storage.store import cid_from_chain

    member = BountyReader(done.viewer, done.store, bid, done.oracles[0].key)
    subs = {cid_from_chain(*e["update"]): e["contributor"] for e in done.events() if e.name == "SubmissionReceived"}
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({cid: key.hex() for cid, key in member.disclose(subs).items()}))
    code, out, err = run(capsys, "audit", str(bid), "--update-keys", str(keys), "--json")
    assert code == 0, err
    assert json.loads(out)["differences"] == [] and json.loads(out)["sealed"] == 0
    keys.write_text("[1, 2]")
    code, out, err = run(capsys, "audit", str(bid), "--update-keys", str(keys))
    assert_one_line_error(code, err, "--update-keys")
    # the requester exports with one command (its key, and its secrets in its data folder)
    on_chain.setenv("FATHOM_PRIVATE_KEY", "0x" + done.requester.key.hex())
    on_chain.setenv("FATHOM_DATA_DIR", str(done.workdir / "requester"))
    code, out, err = run(capsys, "bounty", "export", str(bid), str(tmp_path / "model"))
    assert code == 0, err
    assert out.startswith("version 1 ")
    assert np.load(tmp_path / "model" / "W0.npy", allow_pickle=False).shape == (8, 3)


def test_claim_pays_once(on_chain, capsys, done, world, fresh_chain):
    harm = done.contributors["harm"]
    on_chain.setenv("FATHOM_PRIVATE_KEY", "0x" + harm.key.hex())
    owed = done.viewer.claimable(harm.address)
    assert owed > 0
    code, out, err = run(capsys, "claim")
    assert code == 0, err
    assert out.strip() == f"claimed {eth(owed)} (ETH) from your balance"
    assert Decimal(eth(owed)) * 10**18 == owed
    assert run(capsys, "claim")[1].strip() == "nothing to claim"


def data_folder(tmp_path, shard: str):
    """A contributor's data as `fathom contribute --data` reads it: X.npy and y.npy."""
    folder = tmp_path / "mydata"
    folder.mkdir()
    np.save(folder / "X.npy", DATA[shard][0])
    np.save(folder / "y.npy", DATA[shard][1])
    return folder


def test_contribute_from_the_command_line(on_chain, capsys, world, tmp_path, fresh_chain):
    """`fathom contribute` trains on a folder of .npy files and submits, for an admitted contributor."""
    rnd = open_round(world, tmp_path / "open", ["cli"])
    folder = data_folder(tmp_path, "shard4")
    me = rnd.contributors["cli"]
    on_chain.setenv("FATHOM_PRIVATE_KEY", "0x" + me.key.hex())
    on_chain.setenv("FATHOM_STORE_DIR", str(rnd.store.root))
    code, out, err = run(capsys, "contribute", str(rnd.bounty_id), "--data", str(folder), "--epochs", "2")
    assert code == 0, err
    assert out.startswith(f"submitted #0 to bounty {rnd.bounty_id} on version 0: bafk")
    (sub,) = named(rnd.events(), "SubmissionReceived")
    assert sub["contributor"] == me.address


def test_contribute_restakes_from_the_claimable_balance_when_it_covers_the_stake(on_chain, capsys, world, tmp_path,
                                                                                fresh_chain):
    """U5 from the command line: once a stake has come back, `fathom contribute` (auto)
    stakes from the claimable balance instead of the wallet; `--stake-from balance`
    without enough balance fails before anything is sent."""
    rnd = open_round(world, tmp_path / "open", ["cli", "empty"], batchSize=1)
    me = rnd.contributors["cli"]
    first = rnd.contribute("cli", 4, epochs=1)
    assert first.staked_from == "wallet"
    rnd.drive(lambda: rnd.view()["nextBatch"] == 1)
    market = rnd.viewer
    before = market.claimable(me.address)
    assert before >= STAKE  # the stake came back (with a reward if accepted)
    folder = data_folder(tmp_path, "shard5")
    on_chain.setenv("FATHOM_PRIVATE_KEY", "0x" + me.key.hex())
    on_chain.setenv("FATHOM_STORE_DIR", str(rnd.store.root))
    wallet = world.w3.eth.get_balance(me.address)
    code, out, err = run(capsys, "contribute", str(rnd.bounty_id), "--data", str(folder), "--epochs", "1")
    assert code == 0, err
    assert "stake taken from your claimable balance" in out
    assert market.claimable(me.address) == before - STAKE
    assert wallet - world.w3.eth.get_balance(me.address) < STAKE  # only gas left the wallet
    subs = named(rnd.events(), "SubmissionReceived")
    assert [s["contributor"] for s in subs] == [me.address, me.address]
    # an admitted contributor with nothing claimable asks for the balance: refused, nothing sent
    on_chain.setenv("FATHOM_PRIVATE_KEY", "0x" + rnd.contributors["empty"].key.hex())
    code, _, err = run(capsys, "contribute", str(rnd.bounty_id), "--data", str(folder), "--stake-from", "balance")
    assert_one_line_error(code, err, "claimable balance (0 wei", "below the stake")
    assert len(named(rnd.events(), "SubmissionReceived")) == 2


def test_a_one_off_contributor_submits_once_and_claims_its_payout_from_the_command_line(on_chain, capsys, world,
                                                                                       tmp_path, fresh_chain):
    """U6 and P3 from the command line: `fathom contribute --stake-from once`, then
    `fathom claim` finds the payout in the events, builds its proof and claims it, once."""
    rnd = open_round(world, tmp_path / "open", ["once"], batchSize=1)
    me = rnd.contributors["once"]
    folder = data_folder(tmp_path, "shard4")
    on_chain.setenv("FATHOM_PRIVATE_KEY", "0x" + me.key.hex())
    on_chain.setenv("FATHOM_STORE_DIR", str(rnd.store.root))
    code, out, err = run(capsys, "contribute", str(rnd.bounty_id), "--data", str(folder), "--epochs", "1",
                         "--stake-from", "once")
    assert code == 0, err
    assert "claimed once with a proof" in out
    rnd.drive(lambda: rnd.view()["nextBatch"] == 1)
    market = rnd.viewer
    assert market.claimable(me.address) == 0  # nothing was credited to a balance
    (owed,) = payouts_owed(market, me.address)
    assert owed["amount"] >= STAKE - STAKE * SLASH_BPS // 10_000
    code, out, err = run(capsys, "claim")
    assert code == 0, err
    assert out.strip() == (f"claimed {eth(owed['amount'])} (ETH): one-off payout of bounty {rnd.bounty_id} "
                           f"submission 0")
    assert run(capsys, "claim")[1].strip() == "nothing to claim"
    assert payouts_owed(market, me.address) == []


def test_an_oracle_stakes_and_runs_from_the_command_line(on_chain, capsys, world, fresh_chain, tmp_path):
    me = world.new_party("cli-oracle")
    on_chain.setenv("FATHOM_PRIVATE_KEY", "0x" + me.key.hex())
    on_chain.setenv("FATHOM_CONFIRMATIONS", "0")
    on_chain.setenv("FATHOM_DATA_DIR", str(tmp_path / "oracle"))
    # start inside a drawing half (O7): the stake waits for the staking half and says so on
    # stderr, while stdout holds only the result (scripts read it) whatever the phase
    viewer = world.viewer()
    while not viewer.drawing_until():
        mine(world.w3)
    until = viewer.drawing_until()
    code, out, err = run(capsys, "oracle", "stake", "2")
    assert code == 0, err
    assert out.strip() == f"staked 2 ETH for {me.address}"
    assert f"drawing committees until block {until} (rule O7): stake waits for its staking half" in err
    assert world.viewer().registry.functions.isEligible(me.address).call()
    code, out, err = run(capsys, "oracle", "run", "--ticks", "2", "--poll", "0")
    assert code == 0, err
    assert f"oracle {me.address} following {world.addresses['BountyMarket']} from block 0 (0 confirmations)" in out
    node = OracleNode(world.market_for(me), EmbeddedStore(tmp_path / "s"), me.key, tmp_path / "oracle")
    assert node.checkpoint == world.w3.eth.block_number  # it followed the chain to the head
    on_chain.setenv("FATHOM_CONFIRMATIONS", "three")
    code, _, err = run(capsys, "oracle", "run", "--ticks", "1")
    assert_one_line_error(code, err, "FATHOM_CONFIRMATIONS")


# ---------------------------------------------------------------- a newcomer's mistakes (issue 18)


def model_and_validation(tmp_path):
    """The smallest folders `bounty open` takes: a logistic model (short manifest) and a validation set."""
    model, val = tmp_path / "model", tmp_path / "val"
    model.mkdir()
    val.mkdir()
    (model / "manifest.json").write_text(json.dumps({"architecture": "logistic", "metric": "accuracy", "d": 8, "k": 2}))
    np.save(model / "W0.npy", np.zeros((8, 1), np.float32))
    np.save(model / "b0.npy", np.zeros(1, np.float32))
    np.save(val / "X.npy", np.zeros((4, 8), np.float32))
    np.save(val / "y.npy", np.array([0, 1, 0, 1], np.int64))
    return model, val


def nothing_sent(world, address: str):
    before = world.w3.eth.get_transaction_count(address)
    return lambda: world.w3.eth.get_transaction_count(address) == before


@pytest.mark.parametrize("mistake", [
    ("--committee", "0xabc,0x123"),
    ("--admit", "alice.eth"),
    ("--token", "ETH"),
    ("--reward", "-1"),
    ("--stake", "-0.01"),
    ("--target", "-5"),
    ("--days", "nan"),
], ids=lambda m: " ".join(m))
def test_bounty_open_with_a_bad_address_or_a_negative_amount_is_one_line_and_sends_nothing(
        on_chain, capsys, world, done, tmp_path, mistake):
    me = world.new_party("opener")
    on_chain.setenv("FATHOM_PRIVATE_KEY", "0x" + me.key.hex())
    model, val = model_and_validation(tmp_path)
    committee = ",".join(o.address for o in done.oracles)
    argv = {"--model": str(model), "--validation": str(val), "--committee": committee}
    argv[mistake[0]] = mistake[1]
    untouched = nothing_sent(world, me.address)
    code, _, err = run(capsys, "bounty", "open", *[x for kv in argv.items() for x in kv])
    assert_one_line_error(code, err, mistake[1].split(",")[0])
    assert untouched()


def test_a_reward_beyond_the_balance_is_refused_before_anything_is_sealed_or_pinned(on_chain, capsys, world, done,
                                                                                  tmp_path):
    me = world.new_party("poor-requester", eth=1)
    on_chain.setenv("FATHOM_PRIVATE_KEY", "0x" + me.key.hex())
    store = tmp_path / "store"
    on_chain.setenv("FATHOM_STORE_DIR", str(store))
    model, val = model_and_validation(tmp_path)
    untouched = nothing_sent(world, me.address)
    code, _, err = run(capsys, "bounty", "open", "--model", str(model), "--validation", str(val), "--committee",
                       ",".join(o.address for o in done.oracles), "--reward", "5")
    assert_one_line_error(code, err, "the escrow", "needs 5.03 ETH", me.address, "fund the account")
    assert untouched()
    assert not store.exists() or not any(store.rglob("*")), "something was pinned"


def test_an_oracle_stake_beyond_the_balance_or_negative_is_one_line(on_chain, capsys, world):
    me = world.new_party("poor-oracle", eth=1)
    on_chain.setenv("FATHOM_PRIVATE_KEY", "0x" + me.key.hex())
    untouched = nothing_sent(world, me.address)
    viewer = world.viewer()
    while not viewer.drawing_until():  # in a drawing half: refused at once, before any wait (O7)
        mine(world.w3)
    code, _, err = run(capsys, "oracle", "stake", "2")
    assert_one_line_error(code, err, "stake needs 2 ETH", "holds only", "fund the account")
    code, _, err = run(capsys, "oracle", "stake", "-2")
    assert_one_line_error(code, err, "-2 is negative")
    assert untouched()


def test_oracle_run_without_a_stake_says_so_at_once(on_chain, capsys, world, tmp_path):
    me = world.new_party("unstaked-oracle")
    on_chain.setenv("FATHOM_PRIVATE_KEY", "0x" + me.key.hex())
    code, out, err = run(capsys, "oracle", "run", "--ticks", "1")
    assert_one_line_error(code, err, me.address, "has no stake", "fathom oracle stake 1", "--stake 1")
    assert out == ""  # not the usual start line


@pytest.mark.parametrize("argv", [("bounty", "lineage", "99"), ("audit", "99"), ("report", "99"), ("bounty", "show", "99"),
                                  ("outcome", "99", "0")], ids=" ".join)
def test_an_unknown_bounty_is_one_line_everywhere(on_chain, capsys, argv, tmp_path):
    code, _, err = run(capsys, *argv, *(["--out", str(tmp_path)] if argv[0] == "report" else []))
    assert_one_line_error(code, err, "bounty 99 does not exist")


def test_an_unknown_submission_is_one_line(on_chain, capsys, done):
    code, _, err = run(capsys, "outcome", str(done.bounty_id), "77")
    assert_one_line_error(code, err, f"bounty {done.bounty_id} has no submission 77", "numbered 0 to 2")


@pytest.mark.parametrize("action", ["close", "cancel"])
def test_closing_a_closed_bounty_says_it_is_already_closed(on_chain, capsys, done, action):
    on_chain.setenv("FATHOM_PRIVATE_KEY", "0x" + done.requester.key.hex())
    code, _, err = run(capsys, "bounty", action, str(done.bounty_id))
    assert_one_line_error(code, err, f"bounty {done.bounty_id} is already closed (Revealed)")


def test_claim_json_gives_exact_wei(on_chain, capsys, done, fresh_chain):
    c0 = done.contributors["c0"]
    on_chain.setenv("FATHOM_PRIVATE_KEY", "0x" + c0.key.hex())
    owed = done.viewer.claimable(c0.address)
    code, out, err = run(capsys, "claim", "--json")
    assert code == 0, err
    assert json.loads(out) == {"account": c0.address, "token": "0x" + "00" * 20, "balance": owed, "one_off": [],
                               "total": owed, "written_down": False}


def test_p4_a_frozen_token_is_one_error_line_naming_the_shortfall_and_claim_write_down_pays_pro_rata(
        on_chain, capsys, world, tmp_path, monkeypatch, fresh_chain):
    """Rule P4 from the command line: the token halves the market's balance (a negative rebase);
    `fathom claim` fails in one line that names what the market holds and owes and how to write
    the token down; `fathom claim --write-down` does, and pays the requester half its refund."""
    token, rnd = _rebasing_token_round(world, tmp_path, monkeypatch)
    requester = world.market_for(rnd.requester)
    requester.cancel(rnd.bounty_id)
    requester.close(rnd.bounty_id)
    refund = rnd.viewer.claimable(rnd.requester.address, token.address)
    owed, written_down = rnd.viewer.books(token.address)
    assert refund > 0 and owed > refund and not written_down  # the reveal bond is still owed too
    on_chain.setenv("FATHOM_PRIVATE_KEY", "0x" + rnd.requester.key.hex())
    code, _, err = run(capsys, "claim", "--token", token.address, "--write-down")  # solvent: nothing to write down
    assert_one_line_error(code, err, "NoShortfall", f"holds {owed} of token {token.address} and owes {owed}")
    world.funder.transact(token.functions.rebase(1, 2))  # every balance halves, the requester's wallet too
    before = int(token.functions.balanceOf(rnd.requester.address).call())
    code, _, err = run(capsys, "claim", "--token", token.address)
    assert_one_line_error(code, err, "TokenShortfall", f"holds {owed // 2} but owes {owed}", "50.00%",
                          f"fathom claim --token {token.address} --write-down")
    assert int(token.functions.balanceOf(rnd.requester.address).call()) == before
    code, out, err = run(capsys, "claim", "--token", token.address, "--write-down")
    assert code == 0, err
    assert out.startswith("wrote ") and "pro rata" in out.splitlines()[-1]
    assert int(token.functions.balanceOf(rnd.requester.address).call()) - before == refund // 2
    assert rnd.viewer.books(token.address) == (owed - refund, True)


def test_oracle_run_help_shows_the_acceptance_policy_and_its_defaults(capsys):
    """Rule O5: `fathom oracle run --help` shows the policy the node registers and keeps to."""
    with pytest.raises(SystemExit):
        main(["oracle", "run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for needle in ("acceptance policy", "never joins one outside it", "--min-timeout SECONDS", "(default 600)",
                   "--max-days DAYS", "(default 365)", "--min-fee ETH", "(default 0)", "--max-committee-by-batch N",
                   "(default 2048)", "--eth-fees-only", "ETH bounties only", "--max-bond ETH", "(default 1,",
                   "have its drawn seat vacated", "--max-stake ETH", "(default: --stake plus one --max-bond)",
                   "standard envelope"):
        assert needle in text, needle


def test_attack_A_oracle_policy_refuses_a_zero_max_bond_with_nothing_sent(capsys):
    """Finding A: --max-bond bounds the bond a bounty may ask; 0 would accept nothing, a user
    mistake refused before anything is sent."""
    from fathom.cli.oracle import _policy_from
    from fathom.errors import FathomError
    import argparse

    args = argparse.Namespace(min_timeout=600, max_days=365, min_fee=0, max_committee_by_batch=2048,
                              eth_fees_only=False, max_bond=0)
    with pytest.raises(FathomError, match="--max-bond"):
        _policy_from(args)
    from decimal import Decimal
    assert _policy_from(argparse.Namespace(**{**vars(args), "max_bond": Decimal("0.5")})).max_bond == 5 * 10**17
    assert _policy_from(argparse.Namespace(**{**vars(args), "max_bond": None})).max_bond == 10**18


ENVELOPE = (3_600, 30 * 86_400, 10**15, 192, False, 10**18 // 16)  # OracleRegistry.envelope() at minStake 1 ETH


class _EnvelopeMarket:
    """Just what the envelope checks read of a Market (nothing is ever sent)."""

    def envelope(self):
        return ENVELOPE

    def draw_deposit(self):
        return 10**18 // 16

    def now(self):
        return 1_000_000


def test_attack_R3_4_a_policy_stricter_than_the_envelope_is_refused_with_nothing_sent():
    """Review 3, R3-4: `fathom oracle policy`/`run` refuse, before anything is sent, a policy
    the registry's setPolicy would refuse (stricter than the standard envelope on a field),
    naming the option; the defaults lie inside it."""
    from fathom.cli.oracle import _check_envelope
    from fathom.errors import FathomError
    from fathom.protocol.policy import Policy

    _check_envelope(_EnvelopeMarket(), Policy())  # the defaults: inside
    _check_envelope(_EnvelopeMarket(), Policy.from_tuple(ENVELOPE))  # the envelope itself
    for strict, option in ((Policy(min_scoring_timeout=3_601), "--min-timeout"),
                           (Policy(max_duration=29 * 86_400), "--max-days"),
                           (Policy(min_fee_per_batch=10**15 + 1), "--min-fee"),
                           (Policy(max_committee_by_batch=191), "--max-committee-by-batch"),
                           (Policy(max_bond=10**18 // 16 - 1), "--max-bond")):
        with pytest.raises(FathomError, match=option):
            _check_envelope(_EnvelopeMarket(), strict)


def test_R3_4_bounty_open_says_when_a_drawn_bounty_lies_outside_the_envelope(capsys):
    """`fathom bounty open`'s defaults lie inside the standard envelope (no note); a drawn
    bounty outside it (a 10-minute timeout here) is told that its first draw may fail, charged."""
    from fathom.cli.bounty import _say_if_outside_envelope

    args = build_parser().parse_args(["bounty", "open", "--model", "m", "--validation", "v"])
    market = _EnvelopeMarket()
    terms = {"token": "0x" + "00" * 20, "oracleFeePerBatch": int(args.oracle_fee * 10**18),
             "maxBatches": args.max_batches, "scoringTimeout": args.timeout,
             "deadline": market.now() + int(args.days * 86_400), "committee": [None] * args.committee_size,
             "batchSize": args.batch_size}
    _say_if_outside_envelope(market, terms)
    assert capsys.readouterr().out == "", "the CLI's defaults lie outside the envelope"
    _say_if_outside_envelope(market, {**terms, "scoringTimeout": 600})
    out = " ".join(capsys.readouterr().out.split())
    assert "outside the oracle registry's standard envelope" in out and "scoring timeout 600s" in out
    assert "charged" in out


def test_bounty_open_help_shows_defaults_and_the_targets_units(capsys):
    with pytest.raises(SystemExit):
        main(["bounty", "open", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for needle in ("(default: 0.01)", "(default: 1)", "(default: 0.0001)", "0.98 for accuracy", "in the metric's units",
                   "higher-is-better", "X.npy (float32", "int64"):
        assert needle in text, needle


def test_p4_write_down_of_a_token_the_deployer_listed_is_one_plain_line():
    """writeDown of a fixed-balance token (or ETH) reverts NotBalanceChecked(token): the CLI says
    in plain words that the market keeps no books of it (rule P4)."""
    from eth_abi import encode
    from eth_utils import keccak

    token = "0x" + "ab" * 20
    data = "0x" + keccak(text="NotBalanceChecked(address)")[:4].hex() + encode(["address"], [token]).hex()
    text = describe_revert(data)
    assert text.startswith(f"NotBalanceChecked: token {to_checksum_address(token)} is not balance-checked"), text
    assert "listed as fixed-balance by the market's deployer" in text and "nothing to write down" in text

"""The testnet path, rehearsed: `fathom deploy --rpc URL --network NAME` against a local
anvil that calls itself Sepolia (chain id 11155111), so it is treated as a live chain.
The deployer comes from FATHOM_PRIVATE_KEY (never the repo); without FATHOM_YES and
without a terminal it refuses to send anything.

`fathom deploy` is web3 and forge's bytecode, not `brownie run scripts/deploy.py`:
brownie imports a script under a module name made of its absolute path, so it cannot
deploy from a checkout under a folder with a dot in its name (test_newcomer_round.py
deploys from such a clone). It also keeps no record of its own (brownie's
build/deployments), so a chain restarted with the same chain id is simply deployed to
again, and a deployment record that points at addresses without code is refused in
one line instead of failing later.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils import keccak

from fathom.chain.client import LocalChain, connect

ROOT = Path(__file__).resolve().parent.parent.parent
NETWORK = "fathom-sepolia-rehearsal"
SEPOLIA = 11155111


def fathom(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fathom", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=300)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FATHOM_")}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


@pytest.fixture(scope="module")
def live_chain():
    with LocalChain("anvil", accounts=2, extra_args=["--chain-id", str(SEPOLIA)]) as chain:
        yield chain


@pytest.fixture()
def funded_key(live_chain):
    w3 = connect(live_chain.url)
    acct = Account.create()
    w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": acct.address, "value": 10 * 10**18})
    return "0x" + bytes(acct.key).hex(), acct.address


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr.startswith("fathom: error: ") and proc.stderr.count("\n") == 1, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


def test_a_live_deploy_without_confirmation_sends_nothing(live_chain, funded_key, tmp_path):
    key, address = funded_key
    env = clean_env(FATHOM_PRIVATE_KEY=key, FATHOM_DEPLOYMENTS=str(tmp_path))
    proc = fathom("deploy", "--rpc", live_chain.url, "--network", NETWORK, env=env)
    assert "About to deploy Fathom" in proc.stdout and f"chain id {SEPOLIA}" in proc.stdout and address in proc.stdout
    assert_one_line_error(proc, "refusing to deploy to a live network without confirmation")
    assert connect(live_chain.url).eth.get_transaction_count(address) == 0, "a transaction was sent"
    assert not (tmp_path / f"{NETWORK}.json").exists()


def test_a_live_deploy_with_a_key_from_the_environment_writes_the_record(live_chain, funded_key, tmp_path):
    key, address = funded_key
    env = clean_env(FATHOM_PRIVATE_KEY=key, FATHOM_YES="1", FATHOM_DEPLOYMENTS=str(tmp_path))
    proc = fathom("deploy", "--rpc", live_chain.url, "--network", NETWORK, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "FATHOM_YES=1: not asking" in proc.stdout and proc.stderr == "", proc.stderr  # no background tracebacks
    record = json.loads((tmp_path / f"{NETWORK}.json").read_text())
    assert record["chain_id"] == SEPOLIA and record["deployer"] == address
    w3 = connect(live_chain.url)
    for name in ("KeyRegistry", "OracleRegistry", "BountyMarketExtension", "BountyMarket"):
        assert len(w3.eth.get_code(record["contracts"][name])) > 0, f"{name} has no code"
    abi_dir = ROOT / "interfaces" / "_abi"
    assert record["abi_keccak256"] == {p.stem: "0x" + keccak(p.read_bytes()).hex() for p in sorted(abi_dir.glob("*.json"))}
    # the registry was wired to the market, by the deployer
    registry = w3.eth.contract(address=record["contracts"]["OracleRegistry"],
                               abi=json.loads((abi_dir / "OracleRegistry.json").read_text()))
    assert registry.functions.market().call() == record["contracts"]["BountyMarket"]
    # the market delegates to the extension the record names, deployed on its own for this registry
    market = w3.eth.contract(address=record["contracts"]["BountyMarket"],
                             abi=json.loads((abi_dir / "BountyMarket.json").read_text()))
    assert market.functions.extension().call() == record["contracts"]["BountyMarketExtension"]
    assert key[2:] not in (tmp_path / f"{NETWORK}.json").read_text()


def test_a_deployer_without_enough_eth_for_the_gas_sends_nothing(live_chain, tmp_path):
    poor = Account.create()
    env = clean_env(FATHOM_PRIVATE_KEY="0x" + bytes(poor.key).hex(), FATHOM_YES="1", FATHOM_DEPLOYMENTS=str(tmp_path))
    proc = fathom("deploy", "--rpc", live_chain.url, "--network", NETWORK, env=env)
    assert_one_line_error(proc, "less than the deployment's gas", "nothing was sent")
    assert not (tmp_path / f"{NETWORK}.json").exists()


def test_a_restarted_local_chain_is_refused_with_its_record_then_deployed_to_again(tmp_path):
    """The same chain id after a restart: the old record's addresses hold no code. Every
    command says so in one line; `fathom deploy` (no key: the node's unlocked account)
    simply deploys again, with nothing stale left behind to trip over."""
    env = clean_env(FATHOM_DEPLOYMENTS=str(tmp_path), FATHOM_NETWORK="local")
    with LocalChain("anvil", accounts=1) as first:
        assert fathom("deploy", "--rpc", first.url, env=env).returncode == 0
    old = json.loads((tmp_path / "local.json").read_text())
    with LocalChain("anvil", accounts=1) as second:
        env["FATHOM_RPC_URL"] = second.url
        connect(second.url).eth.send_transaction(  # move the nonce on: new addresses this time
            {"from": connect(second.url).eth.accounts[0], "to": Account.create().address, "value": 1})
        proc = fathom("bounty", "show", "1", env=env)
        assert_one_line_error(proc, "holds no code there", "was the chain restarted?", "fathom deploy")
        proc = fathom("deploy", env=env)
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr
        new = json.loads((tmp_path / "local.json").read_text())
        assert new["contracts"] != old["contracts"]
        proc = fathom("bounty", "lineage", "1", env=env)
        assert_one_line_error(proc, "bounty 1 does not exist", "no bounty has been opened")


def test_p4_the_deployer_lists_fixed_balance_tokens_from_the_environment(live_chain, funded_key, tmp_path):
    """FATHOM_FIXED_BALANCE_TOKENS (comma-separated) reaches the market's constructor: a listed
    token is not balance-checked, any other is; the summary names the list and the trust it
    carries. A malformed list is one line and sends nothing."""
    key, address = funded_key
    listed = [Account.create().address for _ in range(2)]
    env = clean_env(FATHOM_PRIVATE_KEY=key, FATHOM_YES="1", FATHOM_DEPLOYMENTS=str(tmp_path),
                    FATHOM_FIXED_BALANCE_TOKENS=f" {listed[0].lower()}, {listed[1]} ")
    proc = fathom("deploy", "--rpc", live_chain.url, "--network", NETWORK, env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"fixed-balance tokens: {listed[0]}, {listed[1]} (you vouch" in proc.stdout
    record = json.loads((tmp_path / f"{NETWORK}.json").read_text())
    w3 = connect(live_chain.url)
    market = w3.eth.contract(address=record["contracts"]["BountyMarket"],
                             abi=json.loads((ROOT / "interfaces" / "_abi" / "BountyMarket.json").read_text()))
    assert [market.functions.balanceChecked(t).call() for t in listed] == [False, False]
    assert market.functions.balanceChecked(Account.create().address).call() is True
    assert market.functions.balanceChecked("0x" + "00" * 20).call() is False  # ETH
    sent = w3.eth.get_transaction_count(address)
    for bad, needle in ((f"{listed[0]},{listed[0]}", "listed twice"), ("0x1234", "is not a token address"),
                        (",".join(Account.create().address for _ in range(5)), "at most 4")):
        env["FATHOM_FIXED_BALANCE_TOKENS"] = bad
        proc = fathom("deploy", "--rpc", live_chain.url, "--network", NETWORK, env=env)
        assert_one_line_error(proc, "FATHOM_FIXED_BALANCE_TOKENS", needle)
    assert w3.eth.get_transaction_count(address) == sent, "a transaction was sent"


def test_attack_a_market_running_a_forged_extension_is_refused_by_every_command(live_chain, funded_key, tmp_path):
    """Review of m15, F1 (medium): the market takes its extension's address from its deployer and
    runs that code by delegatecall on its own storage and funds. A forged extension that answers
    the constructor's check (by asking a genuine one) and adds a backdoor could take every escrow
    of a market whose own verified source is genuine. Every command checks, before it acts, that
    the record's extension is the one the market names, and that the code of the market, of that
    extension and of the registries is the code this fathom was built from (the code digests in
    interfaces/_code/runtime.json, immutables and metadata aside). Forged code is modelled by
    anvil_setCode: one byte of the genuine code changed."""
    key, _ = funded_key
    env = clean_env(FATHOM_PRIVATE_KEY=key, FATHOM_YES="1", FATHOM_DEPLOYMENTS=str(tmp_path),
                    FATHOM_NETWORK=NETWORK, FATHOM_RPC_URL=live_chain.url)
    assert fathom("deploy", "--rpc", live_chain.url, "--network", NETWORK, env=env).returncode == 0
    path = tmp_path / f"{NETWORK}.json"
    record = json.loads(path.read_text())
    # the genuine deployment passes the check (the command then fails for its own reason)
    assert_one_line_error(fathom("bounty", "lineage", "1", env=env), "bounty 1 does not exist")
    w3 = connect(live_chain.url)
    for name in ("BountyMarketExtension", "BountyMarket", "OracleRegistry"):
        address = record["contracts"][name]
        genuine = bytes(w3.eth.get_code(address))
        forged = bytearray(genuine)
        forged[40] ^= 0x01  # before every immutable: code, not an address or a parameter
        w3.provider.make_request("anvil_setCode", [address, "0x" + forged.hex()])
        assert_one_line_error(fathom("bounty", "lineage", "1", env=env), f"{name} at {address}",
                              "runs other code than this fathom's", "do not send it funds")
        w3.provider.make_request("anvil_setCode", [address, "0x" + genuine.hex()])
    assert_one_line_error(fathom("bounty", "lineage", "1", env=env), "bounty 1 does not exist")
    # a record naming another extension than the one the market runs
    other = dict(record, contracts=dict(record["contracts"], BountyMarketExtension=record["contracts"]["KeyRegistry"]))
    path.write_text(json.dumps(other))
    assert_one_line_error(fathom("bounty", "lineage", "1", env=env), "names the extension",
                          f"but the market runs the one at {record['contracts']['BountyMarketExtension']}")

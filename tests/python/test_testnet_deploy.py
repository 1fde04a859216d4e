"""The testnet path, rehearsed: `brownie run scripts/deploy.py --network <live>` against a
local anvil that calls itself Sepolia (chain id 11155111), added as a live network with
`brownie networks add`. The deployer comes from FATHOM_PRIVATE_KEY (never the repo);
without FATHOM_YES and without a terminal it refuses to send anything."""

from __future__ import annotations

import json
import os
import shutil
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


def _brownie(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    brownie = str(Path(sys.executable).parent / "brownie")
    proc = subprocess.run([brownie, *args], cwd=ROOT, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"brownie {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="module")
def live_chain():
    with LocalChain("anvil", accounts=2, extra_args=["--chain-id", str(SEPOLIA)]) as chain:
        yield chain


def _forget_rehearsal_deployments() -> None:
    """Brownie keeps what it deployed on a live network (build/deployments/<chain id>) and
    loads it on the next run; the rehearsal chain is thrown away, so its records must go."""
    deployments = ROOT / "build" / "deployments"
    shutil.rmtree(deployments / str(SEPOLIA), ignore_errors=True)
    index = deployments / "map.json"
    if index.exists():
        known = json.loads(index.read_text())
        if known.pop(str(SEPOLIA), None) is not None:
            index.write_text(json.dumps(known, indent=2))


@pytest.fixture(scope="module")
def live_network(live_chain, tmp_path_factory):
    _forget_rehearsal_deployments()
    env = {**os.environ, "PY_COLORS": "0"}
    listed = _brownie("networks", "list", env=env).stdout
    verb = "modify" if NETWORK in listed else "add"
    args = ["networks", verb]
    if verb == "add":
        args.append("Ethereum")
    args += [NETWORK, f"host={live_chain.url}", f"chainid={SEPOLIA}"]
    _brownie(*args, env=env)
    yield NETWORK
    _brownie("networks", "delete", NETWORK, env=env, check=False)
    _forget_rehearsal_deployments()


@pytest.fixture()
def funded_key(live_chain):
    w3 = connect(live_chain.url)
    acct = Account.create()
    w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": acct.address, "value": 10 * 10**18})
    return "0x" + bytes(acct.key).hex(), acct.address


def test_a_live_deploy_without_confirmation_sends_nothing(live_chain, live_network, funded_key, tmp_path):
    key, address = funded_key
    env = {**os.environ, "PY_COLORS": "0", "FATHOM_PRIVATE_KEY": key, "FATHOM_DEPLOYMENTS": str(tmp_path)}
    env.pop("FATHOM_YES", None)
    proc = _brownie("run", "scripts/deploy.py", "--network", live_network, env=env, check=False)
    out = proc.stdout + proc.stderr
    assert "About to deploy Fathom" in out and f"chain id {SEPOLIA}" in out and address in out
    assert "refusing to deploy to a live network without confirmation" in out
    assert connect(live_chain.url).eth.get_transaction_count(address) == 0, "a transaction was sent"
    assert not (tmp_path / f"{live_network}.json").exists()


def test_a_live_deploy_with_a_key_from_the_environment_writes_the_record(live_chain, live_network, funded_key, tmp_path):
    key, address = funded_key
    env = {**os.environ, "PY_COLORS": "0", "FATHOM_PRIVATE_KEY": key, "FATHOM_YES": "1",
           "FATHOM_DEPLOYMENTS": str(tmp_path)}
    proc = _brownie("run", "scripts/deploy.py", "--network", live_network, env=env)
    assert "FATHOM_YES=1: not asking" in proc.stdout
    record = json.loads((tmp_path / f"{live_network}.json").read_text())
    assert record["chain_id"] == SEPOLIA and record["deployer"] == address
    w3 = connect(live_chain.url)
    for name in ("KeyRegistry", "OracleRegistry", "BountyMarket"):
        assert len(w3.eth.get_code(record["contracts"][name])) > 0, f"{name} has no code"
    abi_dir = ROOT / "interfaces" / "_abi"
    assert record["abi_keccak256"] == {p.stem: "0x" + keccak(p.read_bytes()).hex() for p in sorted(abi_dir.glob("*.json"))}
    # the registry was wired to the market, by the deployer
    registry = w3.eth.contract(address=record["contracts"]["OracleRegistry"],
                               abi=json.loads((abi_dir / "OracleRegistry.json").read_text()))
    assert registry.functions.market().call() == record["contracts"]["BountyMarket"]
    assert key[2:] not in (tmp_path / f"{live_network}.json").read_text()

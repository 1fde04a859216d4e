"""Shared fixtures for the brownie suites: accounts named after roles, module-scoped
deployments, and an autouse fn_isolation so every test starts from the same chain."""

from __future__ import annotations

import pytest
from eth_keys import keys

from tests.helpers import to_staking

# The Python unit tests of the fathom package run under plain pytest (make test-python).
collect_ignore = ["python"]


@pytest.fixture(autouse=True)
def isolation(fn_isolation):
    pass


@pytest.fixture(scope="session")
def deployer(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def requester(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def contributor(accounts):
    return accounts[2]


@pytest.fixture(scope="session")
def rando(accounts):
    return accounts[9]


@pytest.fixture(scope="session")
def keyed_account(accounts):
    """An account whose private key the test knows (the node's accounts are unlocked
    but their keys are not exposed), funded with 10 ETH, with its public key."""

    def make(seed: int):
        private_key = (seed + 0x5EED).to_bytes(32, "big")
        account = accounts.add(private_key.hex())
        accounts[0].transfer(account, "10 ether")
        public_key = keys.PrivateKey(private_key).public_key.to_bytes()
        return account, public_key

    return make


@pytest.fixture(scope="module")
def key_registry(KeyRegistry, deployer):
    return KeyRegistry.deploy({"from": deployer})


@pytest.fixture(scope="session")
def oracles(accounts):
    return [accounts[3], accounts[4], accounts[5], accounts[6]]


@pytest.fixture(scope="session")
def contributors(accounts):
    return [accounts[2], accounts[7], accounts[8]]


@pytest.fixture(scope="module")
def deployment(deployer):
    from scripts.deploy import deploy_all

    return deploy_all(deployer)


@pytest.fixture(scope="module")
def oracle_registry(deployment):
    return deployment["OracleRegistry"]


@pytest.fixture(scope="module")
def market(deployment):
    """The market with the full IBountyMarket ABI (extension functions included)."""
    from brownie import Contract, interface

    return Contract.from_abi("BountyMarket", deployment["BountyMarket"].address, deployment["BountyMarket"].abi + [
        e for e in interface.IBountyMarket.abi if e.get("type") == "function" and e["name"] not in {f["name"] for f in deployment["BountyMarket"].abi if f.get("type") == "function"}
    ])


@pytest.fixture(scope="module")
def token(MockERC20, deployer, requester, contributors):
    t = MockERC20.deploy("Test Token", "TT", 18, {"from": deployer})
    for who in [requester, *contributors]:
        t.mint(who, 10**24, {"from": deployer})
    return t


@pytest.fixture(scope="module")
def staked_oracles(oracle_registry, oracles):
    for o in oracles:
        to_staking(oracle_registry)
        oracle_registry.stake({"from": o, "value": 2 * 10**18})
    return oracles

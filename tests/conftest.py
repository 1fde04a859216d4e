"""Shared fixtures for the brownie suites: accounts named after roles, module-scoped
deployments, and an autouse fn_isolation so every test starts from the same chain."""

from __future__ import annotations

import pytest
from eth_keys import keys

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

"""Deploy Fathom's contracts and record them in deployments/<network>.json.

    brownie run scripts/deploy.py                      # local ganache (development)
    brownie run scripts/deploy.py --network anvil

On a local chain the first unlocked account deploys. Live networks come with the
testnet issue (keystore or FATHOM_PRIVATE_KEY, summary and confirmation).
"""

from __future__ import annotations

import time
from typing import Any

from brownie import BountyMarket, KeyRegistry, OracleRegistry, accounts, chain, network

from fathom.config import Settings
from fathom.deployments import write_deployment


# Oracle registry parameters: the least an oracle bonds, how long it waits to leave,
# and the share of its stake each offence costs.
ORACLE_MIN_STAKE = 10**18  # 1 ETH
ORACLE_UNBONDING_DELAY = 7 * 24 * 3600
ORACLE_SLASH_BPS = 1_000  # 10%


def deploy_all(deployer: Any, guardian: Any = None) -> dict[str, Any]:
    """Deploy every contract from `deployer` (owner and, unless given, guardian); return them by name."""
    key_registry = KeyRegistry.deploy({"from": deployer})
    oracle_registry = OracleRegistry.deploy(ORACLE_MIN_STAKE, ORACLE_UNBONDING_DELAY, ORACLE_SLASH_BPS, {"from": deployer})
    market = BountyMarket.deploy(key_registry, oracle_registry, deployer, guardian or deployer, {"from": deployer})
    oracle_registry.setMarket(market, {"from": deployer})
    return {"KeyRegistry": key_registry, "OracleRegistry": oracle_registry, "BountyMarket": market}


def main() -> dict[str, Any]:
    started = time.monotonic()
    net = network.show_active()
    deployer = accounts[0]
    start_block = chain.height
    contracts = deploy_all(deployer)
    record = {
        "network": net,
        "chain_id": chain.id,
        "block": start_block + 1,
        "deployer": deployer.address,
        "contracts": {name: c.address for name, c in contracts.items()},
    }
    path = write_deployment(Settings.from_env().deployments_dir, net, record)
    print(f"\nDeployed to '{net}' (chain id {chain.id}) from {deployer.address} in {time.monotonic() - started:.1f}s:")
    for name, contract in contracts.items():
        print(f"  {name:<16} {contract.address}")
    print(f"Addresses written to {path}")
    return contracts

"""Deploy Fathom's contracts with brownie and record them in deployments/<network>.json.

`fathom deploy --rpc URL --network NAME` (fathom/cli/devnet.py) is the way to deploy:
it works wherever the checkout lives. This script is for a brownie keystore account
(FATHOM_ACCOUNT); `brownie run` imports it under a module name made of its absolute
path, so it fails when a folder above the checkout has a dot in its name. The brownie
test suite (tests/conftest.py) uses its `deploy_all`.

    brownie run scripts/deploy.py                        # local ganache (development)
    brownie run scripts/deploy.py --network anvil
    brownie run scripts/deploy.py --network sepolia      # or any `brownie networks add` network

The deployer:
- on a local development chain, the first unlocked account;
- on a live network, `FATHOM_PRIVATE_KEY` (hex) if set, else the brownie keystore
  account named by `FATHOM_ACCOUNT` (`brownie accounts new NAME` creates one; brownie
  asks for its password). Keys never come from the repository.

Before a live send it prints a summary (network, chain id, deployer, balance, gas price,
the owner and guardian) and asks to confirm; `FATHOM_YES=1` skips the question for
scripts. `FATHOM_GUARDIAN` sets a guardian other than the deployer.

The record holds the addresses, the deploy block, the chain id, and the keccak256 of each
exported ABI (interfaces/_abi), so a frontend can check it speaks the deployed interface.
Source verification: the contracts compile with solc 0.8.28, optimizer 200 runs, evm
shanghai (brownie-config.yaml); `brownie run ... ` with `publish_source=True` needs an
Etherscan key (ETHERSCAN_TOKEN), or submit the standard-JSON input from build/ by hand.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from brownie import BountyMarket, BountyMarketExtension, KeyRegistry, OracleRegistry, accounts, chain, network, web3

from fathom.config import Settings
from fathom.chain.deployments import DEPLOY_GAS, deployment_record, fixed_balance_line, fixed_balance_tokens, write_deployment
from fathom.errors import FathomError

# Oracle registry parameters: the least an oracle bonds, how long it waits to leave,
# and the share of its stake each offence costs (the same as fathom/chain.py's).
ORACLE_MIN_STAKE = 10**18  # 1 ETH
ORACLE_UNBONDING_DELAY = 7 * 24 * 3600
ORACLE_SLASH_BPS = 1_000  # 10%
# Rule O7: blocks per staking or drawing half of the registry (> SEED_OFFSET, 2: a drawing
# half's seed is the PREVRANDAO of its third block, rule C4). On a live network 256 (about 51
# minutes: stakes wait at most that long); on a local chain, where blocks come only with transactions, 8 keeps tests and the
# demo short (fathom/chain/client.py uses the same).
ORACLE_DRAW_PERIOD = 256
ORACLE_DRAW_PERIOD_LOCAL = 8


class DeployAborted(Exception):
    pass


def deploy_all(deployer: Any, guardian: Any = None, tx: dict | None = None,
               fixed_balance_tokens: Sequence[str] = ()) -> dict[str, Any]:
    """Deploy every contract from `deployer` (owner and, unless given, guardian); return them by name.
    `fixed_balance_tokens`: rule P4's list, vouched for by the deployer (none: every ERC-20 is
    balance-checked; main() reads it from FATHOM_FIXED_BALANCE_TOKENS)."""
    opts = {"from": deployer, **(tx or {})}
    key_registry = KeyRegistry.deploy(opts)
    period = ORACLE_DRAW_PERIOD_LOCAL if _is_local() else ORACLE_DRAW_PERIOD
    oracle_registry = OracleRegistry.deploy(ORACLE_MIN_STAKE, ORACLE_UNBONDING_DELAY, ORACLE_SLASH_BPS, period, opts)
    # the extension on its own, for this registry, before the market (whose constructor checks it)
    extension = BountyMarketExtension.deploy(oracle_registry, opts)
    market = BountyMarket.deploy(key_registry, oracle_registry, extension, deployer, guardian or deployer,
                                 list(fixed_balance_tokens), opts)
    oracle_registry.setMarket(market, opts)
    return {"KeyRegistry": key_registry, "OracleRegistry": oracle_registry, "BountyMarketExtension": extension,
            "BountyMarket": market}


def _deployer() -> Any:
    if _is_local():
        return accounts[0]
    key = os.environ.get("FATHOM_PRIVATE_KEY")
    if key:
        return accounts.add(key)
    name = os.environ.get("FATHOM_ACCOUNT")
    if name:
        return accounts.load(name)
    raise DeployAborted(
        "no deployer on a live network: set FATHOM_PRIVATE_KEY, or FATHOM_ACCOUNT to a brownie keystore "
        "account (`brownie accounts new NAME`)"
    )


def _is_local() -> bool:
    return network.show_active() in ("development", "anvil", "development-fork")


def _confirm(deployer: Any, guardian: str, fixed: Sequence[str] = ()) -> None:
    balance = web3.eth.get_balance(deployer.address)
    gas_price = web3.eth.gas_price
    print("\nAbout to deploy Fathom (KeyRegistry, OracleRegistry, BountyMarketExtension, BountyMarket):")
    print(f"  network   {network.show_active()} (chain id {chain.id})")
    print(f"  deployer  {deployer.address}, balance {balance / 1e18:.6f} ETH")
    print(f"  gas price {gas_price / 1e9:.3f} gwei; about {DEPLOY_GAS / 1e6:.1f}M gas, so about {DEPLOY_GAS * gas_price / 1e18:.4f} ETH")
    print(f"  owner     {deployer.address}; guardian {guardian}")
    print(f"  {fixed_balance_line(fixed)}")
    if os.environ.get("FATHOM_YES") == "1":
        print("  FATHOM_YES=1: not asking")
        return
    if not sys.stdin.isatty():
        raise DeployAborted("refusing to deploy to a live network without confirmation: run in a terminal or set FATHOM_YES=1")
    if input("Deploy? [y/N] ").strip().lower() not in ("y", "yes"):
        raise DeployAborted("deployment cancelled; nothing was sent")


def main() -> dict[str, Any]:
    started = time.monotonic()
    net = network.show_active()
    try:
        deployer = _deployer()
        guardian = os.environ.get("FATHOM_GUARDIAN") or deployer.address
        fixed = fixed_balance_tokens()  # rule P4: FATHOM_FIXED_BALANCE_TOKENS, vouched for by the deployer
        if not _is_local():
            _confirm(deployer, guardian, fixed)
    except (DeployAborted, FathomError) as exc:
        print(f"deploy: {exc}", file=sys.stderr)
        sys.exit(1)
    start_block = chain.height
    contracts = deploy_all(deployer, guardian, fixed_balance_tokens=fixed)
    record = deployment_record(net, chain.id, start_block + 1, deployer.address,
                               {name: c.address for name, c in contracts.items()})
    path = write_deployment(Settings.from_env().deployments_dir, net, record)
    print(f"\nDeployed to '{net}' (chain id {chain.id}) from {deployer.address} in {time.monotonic() - started:.1f}s:")
    for name, contract in contracts.items():
        print(f"  {name:<21} {contract.address}")
    print(f"Addresses written to {path}")
    if not _is_local():
        print("Verify the sources: brownie's build/contracts/*.json hold the standard-JSON input "
              "(solc 0.8.28, optimizer 200, shanghai); or redeploy with publish_source=True and ETHERSCAN_TOKEN set.")
    return contracts

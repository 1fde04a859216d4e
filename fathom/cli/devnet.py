"""`fathom deploy` and `fathom devnet`: the contracts on a chain, without brownie.

`fathom deploy --rpc URL --network NAME` deploys KeyRegistry, OracleRegistry,
BountyMarketExtension and BountyMarket to the node at URL from FATHOM_PRIVATE_KEY (or --key-file; on a local
chain with unlocked accounts and no key, its first account) and writes
`<FATHOM_DEPLOYMENTS>/<NAME>.json`. On a chain that is not local (chain id other than
1337 or 31337) it prints a summary and asks first; FATHOM_YES=1 answers for scripts.

`fathom devnet` is a whole local set-up in one command: an anvil (or ganache), the
contracts, fresh funded accounts (one key file each), optionally the bundled js-ipfs
node, and the `export` lines that point every role at them. It runs until interrupted
and stops what it started.

Both deploy with web3 and forge's bytecode, not `brownie run`: brownie imports a script
by a module name built from its absolute path, which fails wherever a folder above the
checkout has a dot in its name, prints tracebacks from its background threads while
compiling, and keeps its own record of live deployments (build/deployments) that goes
stale when a local chain restarts with the same chain id.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import Any

from fathom.config import Settings
from fathom.errors import FathomError
from fathom.cli._common import address_arg, count_arg, eth, with_key

#: Chain ids of local development chains (ganache 1337, anvil 31337): no confirmation asked.
LOCAL_CHAIN_IDS = (1337, 31337)


def deploy(w3: Any, network: str, settings: Settings, key: bytes | None, guardian: str | None = None,
           out: Any = print) -> tuple[dict[str, Any], Path]:
    """Deploy the contracts from `key` (or the node's first unlocked account on a local
    chain), write the deployment record, return it and its path. Nothing is sent on a
    live chain without a confirmation (a terminal's answer, or FATHOM_YES=1)."""
    from fathom.chain.client import Sender, deploy_all
    from fathom.chain.deployments import (DEPLOY_GAS, deployment_record, fixed_balance_line, fixed_balance_tokens,
                                          write_deployment)

    chain_id = w3.eth.chain_id
    local = chain_id in LOCAL_CHAIN_IDS
    if key is not None:
        sender = Sender.from_key(w3, key)
    elif local and w3.eth.accounts:
        sender = Sender.unlocked(w3, 0)
    else:
        raise FathomError("no deployer: set FATHOM_PRIVATE_KEY or pass --key-file (keys never come from the repository)")
    guardian = guardian or settings.guardian or sender.address
    fixed = fixed_balance_tokens()  # rule P4: FATHOM_FIXED_BALANCE_TOKENS, vouched for by the deployer
    gas_price = w3.eth.gas_price
    balance = w3.eth.get_balance(sender.address)
    if not local:
        out(f"About to deploy Fathom (KeyRegistry, OracleRegistry, BountyMarketExtension, BountyMarket):\n"
            f"  network   {network} (chain id {chain_id}) at {settings.rpc_url}\n"
            f"  deployer  {sender.address}, balance {eth(balance)} ETH\n"
            f"  gas price {gas_price / 1e9:.3f} gwei; about {DEPLOY_GAS / 1e6:.1f}M gas, "
            f"so about {eth(DEPLOY_GAS * gas_price)} ETH\n"
            f"  owner     {sender.address}; guardian {guardian}\n"
            f"  {fixed_balance_line(fixed)}")
    if balance < DEPLOY_GAS * gas_price:
        raise FathomError(f"the deployer {sender.address} holds {eth(balance)} ETH, less than the deployment's gas "
                          f"(about {eth(DEPLOY_GAS * gas_price)} ETH): nothing was sent")
    if not local:
        if settings.assume_yes:
            out("  FATHOM_YES=1: not asking")
        elif not sys.stdin.isatty():
            raise FathomError("refusing to deploy to a live network without confirmation: "
                              "run in a terminal or set FATHOM_YES=1; nothing was sent")
        elif input("Deploy? [y/N] ").strip().lower() not in ("y", "yes"):
            raise FathomError("deployment cancelled; nothing was sent")
    block = w3.eth.block_number + 1
    contracts = deploy_all(sender, guardian, fixed)
    record = deployment_record(network, chain_id, block, sender.address, {n: c.address for n, c in contracts.items()})
    return record, write_deployment(settings.deployments_dir, network, record)


def _key(args: argparse.Namespace, settings: Settings) -> bytes | None:
    from fathom.cli._common import account_key

    return account_key(args, settings) if (getattr(args, "key_file", None) or settings.private_key) else None


def _cmd_deploy(args: argparse.Namespace, settings: Settings) -> int:
    from fathom.chain.client import connect

    rpc = args.rpc or settings.rpc_url
    settings = _with(settings, rpc_url=rpc)
    record, path = deploy(connect(rpc), args.network or settings.network, settings, _key(args, settings), args.guardian)
    print(f"deployed to '{record['network']}' (chain id {record['chain_id']}) from {record['deployer']}:")
    for name, address in record["contracts"].items():
        print(f"  {name:<21} {address}")
    print(f"addresses written to {path}")
    if record["network"] != settings.network or args.rpc:
        print(f"point the CLI at it: export FATHOM_RPC_URL={rpc} FATHOM_NETWORK={record['network']}")
    return 0


def _with(settings: Settings, **changes: Any) -> Settings:
    from dataclasses import replace

    return replace(settings, **changes)


def _cmd_devnet(args: argparse.Namespace, settings: Settings) -> int:
    from fathom.chain.client import LocalChain, connect, free_port
    from fathom.crypto.envelope import account_address, generate_private_key
    from fathom.storage.jsipfs import start_ipfs_daemon

    folder = (args.dir or settings.data_dir / "devnet").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    port = args.port or free_port()
    # SIGTERM (a service manager, a test) stops the chain and the node like Ctrl-C does
    signal.signal(signal.SIGTERM, _interrupt)
    ipfs = None
    with LocalChain(args.chain, accounts=1, port=port) as chain:
        try:
            w3 = connect(chain.url)
            settings = _with(settings, rpc_url=chain.url, deployments_dir=settings.deployments_dir.resolve())
            record, path = deploy(w3, args.network, settings, None)
            (folder / "keys").mkdir(exist_ok=True)
            funder = w3.eth.accounts[0]
            accounts = []
            for i in range(args.accounts):
                key = generate_private_key()
                key_file = folder / "keys" / f"account{i}.key"
                key_file.write_text("0x" + key.hex() + "\n")
                key_file.chmod(0o600)
                key_file.with_suffix(".address").write_text(account_address(key) + "\n")
                funded = w3.eth.send_transaction({"from": funder, "to": account_address(key), "value": args.eth * 10**18})
                w3.eth.wait_for_transaction_receipt(funded, timeout=60)  # anvil answers before it mines
                accounts.append((account_address(key), key_file))
            env = {"FATHOM_RPC_URL": chain.url, "FATHOM_NETWORK": args.network,
                   "FATHOM_DEPLOYMENTS": str(settings.deployments_dir), "FATHOM_CONFIRMATIONS": "0"}
            if args.ipfs:
                ipfs = start_ipfs_daemon(folder / "ipfs")
                env["FATHOM_IPFS_API"] = ipfs.api
            else:
                env["FATHOM_STORE_DIR"] = str(folder / "store")
            lines = [f"export {k}={v}" for k, v in env.items()]
            (folder / "env.sh").write_text("\n".join(lines) + "\n")
            print(f"{args.chain} at {chain.url} (chain id {record['chain_id']}); contracts written to {path}:")
            for name, address in record["contracts"].items():
                print(f"  {name:<21} {address}")
            print(f"{args.accounts} accounts with {args.eth} ETH each, one per party (--key-file FILE, or "
                  "export FATHOM_PRIVATE_KEY=$(cat FILE); each key's address is beside it in accountN.address):")
            for address, key_file in accounts:
                print(f"  {address}  {key_file}")
            if ipfs is not None:
                print(f"js-ipfs node (offline, private) with its API at {ipfs.api}; repository {ipfs.repo}")
            print(f"\nin every shell of every party (also in {folder / 'env.sh'}: `source` it):")
            print("\n".join(lines))
            print("\nrunning; Ctrl-C stops the chain" + (" and the IPFS node" if ipfs else "")
                  + " (everything on it is lost)", flush=True)
            while True:
                if chain.process is not None and chain.process.poll() is not None:
                    raise FathomError(f"{args.chain} exited with {chain.process.returncode}")
                time.sleep(0.5)
        except KeyboardInterrupt:
            print("devnet stopped", flush=True)
        finally:
            if ipfs is not None:
                ipfs.stop()
    return 0


def _interrupt(*_: Any) -> None:
    raise KeyboardInterrupt


def register(sub: Any) -> None:
    p = with_key(sub.add_parser(
        "deploy", help="deploy the contracts to a node and write deployments/<network>.json",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Deploy KeyRegistry, OracleRegistry, BountyMarketExtension and BountyMarket with web3 (no brownie) from FATHOM_PRIVATE_KEY "
        "or --key-file, or on a local chain (chain id 1337 or 31337) without a key from its first unlocked account. "
        "Writes <FATHOM_DEPLOYMENTS>/<network>.json. On any other chain it prints a summary and asks first "
        "(FATHOM_YES=1 answers yes, for scripts; without a terminal it refuses)."))
    p.add_argument("--rpc", metavar="URL", help="the node's JSON-RPC URL (default: FATHOM_RPC_URL)")
    p.add_argument("--network", help="the name of the record, deployments/<network>.json (default: FATHOM_NETWORK)")
    p.add_argument("--guardian", type=address_arg, help="the guardian, who may pause (default: FATHOM_GUARDIAN, else the deployer)")
    p.set_defaults(func=_cmd_deploy)

    p = sub.add_parser(
        "devnet", help="a local chain with the contracts, funded accounts and (--ipfs) an IPFS node, until Ctrl-C",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Start a local chain, deploy the contracts, fund fresh accounts (a key file each), optionally "
        "start the bundled js-ipfs node, print the FATHOM_* lines to export in every party's shell, and run "
        "until interrupted. Without --ipfs the parties share the embedded store in DIR/store: every party on "
        "the machine must use that same FATHOM_STORE_DIR.")
    p.add_argument("--chain", choices=("anvil", "ganache"), default="anvil", help="which local chain")
    p.add_argument("--port", type=count_arg, default=8545, help="the chain's port (0: a free one; env.sh names it)")
    p.add_argument("--network", default="devnet", help="the deployment record's name (FATHOM_NETWORK)")
    p.add_argument("--accounts", type=count_arg, default=8, help="fresh funded accounts to make")
    p.add_argument("--eth", type=count_arg, default=100, help="ETH each account gets")
    p.add_argument("--dir", type=Path, help="folder for key files, the store and the IPFS repository "
                   "(default: FATHOM_DATA_DIR/devnet)")
    p.add_argument("--ipfs", action="store_true", help="also start the bundled js-ipfs node (offline, on a free port)")
    p.set_defaults(func=_cmd_devnet)

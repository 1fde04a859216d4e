"""deployments/<network>.json: where each network's contracts live."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fathom.errors import DeploymentNotFound, FathomError

#: The compiler settings the record names (brownie-config.yaml and foundry.toml agree).
COMPILER = {"solc": "0.8.28", "optimizer_runs": 200, "evm_version": "shanghai"}


def deployment_path(directory: Path, network: str) -> Path:
    return directory / f"{network}.json"


def write_deployment(directory: Path, network: str, record: dict[str, Any]) -> Path:
    """Write atomically, so a crash never leaves half a file behind."""
    directory.mkdir(parents=True, exist_ok=True)
    path = deployment_path(directory, network)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
    return path


def read_deployment(directory: Path, network: str) -> dict[str, Any]:
    path = deployment_path(directory, network)
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        raise DeploymentNotFound(
            f"no deployment for network '{network}' at {path}: deploy first (`fathom devnet` for a local "
            f"chain of your own, or `fathom deploy --rpc URL --network {network}`)"
        ) from None
    except json.JSONDecodeError as exc:
        raise FathomError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(record, dict) or not isinstance(record.get("contracts"), dict):
        raise FathomError(f"{path} has no 'contracts' mapping; redeploy to rewrite it")
    return record


def abi_hashes() -> dict[str, str]:
    """keccak256 of each exported ABI (interfaces/_abi), so a frontend can check it speaks the deployed interface."""
    from eth_utils import keccak

    from fathom.chain.client import ABI_DIR

    return {p.stem: "0x" + keccak(p.read_bytes()).hex() for p in sorted(ABI_DIR.glob("*.json"))}


def deployment_record(network: str, chain_id: int, block: int, deployer: str, addresses: dict[str, str]) -> dict[str, Any]:
    """What deployments/<network>.json holds: addresses, the deploy block, chain id, ABI hashes, compiler."""
    return {"network": network, "chain_id": chain_id, "block": block, "deployer": deployer, "contracts": addresses,
            "abi_keccak256": abi_hashes(), "compiler": dict(COMPILER)}

"""deployments/<network>.json: where each network's contracts live."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fathom.errors import DeploymentNotFound, FathomError

#: The compiler settings the record names (brownie-config.yaml and foundry.toml agree).
COMPILER = {"solc": "0.8.28", "optimizer_runs": 200, "evm_version": "shanghai"}


#: Gas a whole deployment needs at once: measured (anvil and ganache at shanghai, review of m15)
#: KeyRegistry 297,653, OracleRegistry 2,116,585, BountyMarketExtension 5,354,848, BountyMarket
#: 5,072,349 (5,075,929 with four fixed-balance tokens), setMarket 45,302: 12,890,317 in all; but
#: each transaction must hold 1.2 times its estimate when sent, and the most held at once is at the
#: market's creation (7.77M spent + 6.09M limit = 13.86M). The balance check and the summary use it.
DEPLOY_GAS = 14_000_000

#: Rule P4: the environment variable naming the deployer's fixed-balance tokens.
FIXED_BALANCE_ENV = "FATHOM_FIXED_BALANCE_TOKENS"
#: Rule P4: the market takes at most this many fixed-balance tokens.
MAX_FIXED_BALANCE_TOKENS = 4


def fixed_balance_tokens(env: Mapping[str, str] | None = None) -> list[str]:
    """Rule P4: the ERC-20s the deployer vouches change balance only by transfers (USDC, DAI,
    WETH...), from FATHOM_FIXED_BALANCE_TOKENS (comma-separated addresses; unset or empty: none,
    so every ERC-20 is balance-checked). The market keeps no books of a listed token: one that
    later falls without a transfer is unprotected. FathomError for a malformed, zero or repeated
    address or more than 4 (the constructor would refuse them too)."""
    from eth_utils import is_address, to_checksum_address

    raw = (os.environ if env is None else env).get(FIXED_BALANCE_ENV, "")
    tokens: list[str] = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        if not is_address(part) or int(part, 16) == 0:
            raise FathomError(f"{FIXED_BALANCE_ENV}: {part!r} is not a token address")
        token = to_checksum_address(part)
        if token in tokens:
            raise FathomError(f"{FIXED_BALANCE_ENV}: {token} is listed twice")
        tokens.append(token)
    if len(tokens) > MAX_FIXED_BALANCE_TOKENS:
        raise FathomError(f"{FIXED_BALANCE_ENV}: {len(tokens)} tokens, the market takes at most {MAX_FIXED_BALANCE_TOKENS}")
    return tokens


def fixed_balance_line(tokens: Sequence[str]) -> str:
    """The deployment summary's line for rule P4's list."""
    if not tokens:
        return "fixed-balance tokens: none (every ERC-20 is balance-checked, rule P4)"
    return (f"fixed-balance tokens: {', '.join(tokens)} (you vouch their balances change only by transfers: "
            "the market keeps no books of them and a later rebase is unprotected, rule P4)")


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


#: interfaces/_code/runtime.json (`make abi`): per deployed contract, the keccak256 of its runtime
#: code as compiled here, with its immutables zeroed and its metadata tail cut off (the CBOR
#: names the source paths, which differ between brownie's and forge's builds of the same code),
#: and where its immutables lie. Review of m15, F1: the market runs its extension's code on its
#: own storage and funds, so a tool checks the code of the market, of the extension the market
#: itself names, and of the registries before it trusts a record.
CODE_FILE = Path(__file__).resolve().parents[2] / "interfaces" / "_code" / "runtime.json"


def runtime_digest(code: bytes, immutables: Sequence[Sequence[int]]) -> str:
    """keccak256 of runtime `code` with each (start, length) range of `immutables` zeroed and the
    trailing CBOR metadata (its length in the last two bytes) removed."""
    from eth_utils import keccak

    body = bytearray(code)
    for start, length in immutables:
        body[start:start + length] = bytes(length)
    if len(body) >= 2:
        tail = int.from_bytes(body[-2:], "big") + 2
        if tail <= len(body):
            del body[-tail:]
    return "0x" + keccak(bytes(body)).hex()


def expected_code() -> dict[str, Any]:
    """runtime.json, as exported with the ABIs (FathomError if it is missing)."""
    try:
        return json.loads(CODE_FILE.read_text())
    except FileNotFoundError:
        raise FathomError(f"{CODE_FILE} is missing: run `make abi`") from None


def code_mismatches(get_code: Any, contracts: Mapping[str, str]) -> list[str]:
    """For each named contract that runtime.json knows, a line saying how the code at its address
    differs from the code this fathom was built from (none: all match). `get_code(address)` ->
    bytes (web3's eth.get_code)."""
    known = expected_code()
    problems = []
    for name, address in sorted(contracts.items()):
        want = known.get(name)
        if want is None:
            continue
        code = bytes(get_code(address))
        if len(code) != want["length"]:
            problems.append(f"{name} at {address} holds {len(code)} bytes of code, this fathom's holds {want['length']}")
        elif runtime_digest(code, want["immutables"]) != want["keccak256"]:
            problems.append(f"{name} at {address} runs other code than this fathom's (same length, other bytes)")
    return problems


def deployment_record(network: str, chain_id: int, block: int, deployer: str, addresses: dict[str, str]) -> dict[str, Any]:
    """What deployments/<network>.json holds: addresses, the deploy block, chain id, ABI hashes, compiler."""
    return {"network": network, "chain_id": chain_id, "block": block, "deployer": deployer, "contracts": addresses,
            "abi_keccak256": abi_hashes(), "compiler": dict(COMPILER)}

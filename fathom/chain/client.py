"""Talking to the contracts with web3.py: artefacts, local chains, transactions.

The ABIs come from `interfaces/_abi/` (committed, `make abi`), the bytecode from forge's
build output (`.forge/out`, built on first use). Transactions are sent either from an
account the node unlocks (local chains) or signed locally with a private key that
comes from the environment, never from the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from eth_abi import decode as abi_decode
from eth_account import Account
from eth_utils import keccak, to_checksum_address
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, TransactionNotFound, Web3RPCError

from fathom.config import PROJECT_ROOT
from fathom.errors import FathomError

ABI_DIR = PROJECT_ROOT / "interfaces" / "_abi"
FORGE_OUT = PROJECT_ROOT / ".forge" / "out"
ETH = "0x0000000000000000000000000000000000000000"

# The oracle registry's parameters for local deployments (scripts/deploy.py uses the same).
ORACLE_MIN_STAKE = 10**18  # 1 ETH
ORACLE_UNBONDING_DELAY = 7 * 24 * 3600
ORACLE_SLASH_BPS = 1_000  # 10%
ORACLE_DRAW_PERIOD = 8  # rule O7: blocks per staking or drawing half on a local chain (live: 256)


class ChainError(FathomError):
    """An RPC call or transaction failed; the message names the contract error if any."""


class InsufficientFunds(ChainError):
    """The node refused a transaction because the sender cannot pay for its gas: nothing was
    sent (review 11, Z: a node drained by one kind of transaction must go on with the others)."""


class TransactionDropped(ChainError):
    """The node no longer knows a transaction it accepted, and it was not mined (dropped
    from its mempool, or its block was re-orged out): nothing happened, send it again."""


# ---------------------------------------------------------------- artefacts


def _sources_changed() -> bool:
    """Whether a contract or interface source is newer than forge's last build (a checkout
    with edited contracts must not deploy stale bytecode)."""
    stamp = PROJECT_ROOT / ".forge" / "cache" / "solidity-files-cache.json"
    if not stamp.exists():
        return True
    built = stamp.stat().st_mtime
    return any(src.stat().st_mtime > built for folder in ("contracts", "interfaces")
               for src in (PROJECT_ROOT / folder).rglob("*.sol"))


@lru_cache(maxsize=None)
def _forge_artifact(name: str) -> dict[str, Any]:
    path = FORGE_OUT / f"{name}.sol" / f"{name}.json"
    if not path.exists() or _sources_changed():
        forge = shutil.which("forge") or str(PROJECT_ROOT / ".venv" / "bin" / "forge")
        try:
            subprocess.run([forge, "build", "--skip", "tests/forge/**", "--quiet"], cwd=PROJECT_ROOT, check=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            raise FathomError(f"cannot build the contracts with forge ({exc}); run `make setup` first") from None
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise FathomError(f"{path} is missing after `forge build`") from None


@lru_cache(maxsize=None)
def abi(name: str) -> list[dict[str, Any]]:
    """The ABI of a deployed contract (interfaces/_abi), or of a test contract (forge output)."""
    path = ABI_DIR / f"{name}.json"
    if path.exists():
        return json.loads(path.read_text())
    return _forge_artifact(name)["abi"]


@lru_cache(maxsize=None)
def bytecode(name: str) -> str:
    return _forge_artifact(name)["bytecode"]["object"]


@lru_cache(maxsize=None)
def _error_selectors() -> dict[str, str]:
    """4-byte selector -> "Name(types)" over every ABI we know, to name reverts."""
    out: dict[str, str] = {}
    for path in ABI_DIR.glob("*.json"):
        for entry in json.loads(path.read_text()):
            if entry.get("type") == "error":
                sig = f"{entry['name']}({','.join(_abi_type(i) for i in entry['inputs'])})"
                out["0x" + keccak(text=sig)[:4].hex()] = sig
    return out


def _abi_type(param: dict[str, Any]) -> str:
    if param.get("components") is not None:
        inner = ",".join(_abi_type(c) for c in param["components"])
        return f"({inner})" + param["type"][len("tuple"):]
    return param["type"]


#: The bounty states in the contracts' order (`state(id)`).
STATES = ("None", "AwaitingBaseline", "Open", "Settling", "Closed", "Revealed")

#: Plain words for the custom errors a user meets most often; `{name}` is the error's argument.
PLAIN_ERRORS: dict[str, Callable[[dict[str, Any]], str]] = {
    "BountyNotFound": lambda a: f"bounty {a['bountyId']} does not exist",
    "BountyNotInState": lambda a: (
        f"bounty {a['bountyId']} is already closed ({_state(a['state'])})" if _state(a["state"]) in ("Closed", "Revealed")
        else f"bounty {a['bountyId']} is {_state(a['state'])}, and this needs it {_state(a['expected'])}"),
    "NotRequester": lambda a: f"{a['caller']} is not the requester of bounty {a['bountyId']}",
    "StakeBelowMinimum": lambda a: f"an oracle stake must be at least {a['minimum'] / 1e18:g} ETH (got {a['stake'] / 1e18:g})",
    "BatchesPending": lambda a: f"bounty {a['bountyId']} still has batches to decide (next {a['nextBatch']} of {a['batches']})",
    "TokenShortfall": lambda a: (
        f"the market holds {a['held']} but owes {a['owed']} of token {_token(a)} (its balance fell without "
        f"a transfer, such as a negative rebase): its payouts are frozen (rule P4) until anyone writes it "
        f"down, after which everyone owed it is paid {a['held'] / a['owed']:.2%} of what they are owed "
        f"(`fathom claim --token {_token(a)} --write-down`), and it takes no deposit until the market holds "
        f"what it owes again"),
    "TokenWrittenDown": lambda a: (
        f"token {_token(a)} was written down already (rule P4): the market pays what it owes in it pro rata"),
    "NoShortfall": lambda a: f"the market holds {a['held']} of token {_token(a)} and owes {a['owed']}: nothing to write down",
    "NotBalanceChecked": lambda a: (
        f"token {_token(a)} is not balance-checked (ETH, or listed as fixed-balance by the market's deployer, "
        f"rule P4): the market keeps no books of it, so there is nothing to write down; claim without --write-down"),
}


def _token(args: dict[str, Any]) -> str:
    return to_checksum_address(args["token"])


def _state(index: int) -> str:
    return STATES[index] if 0 <= index < len(STATES) else f"state {index}"


def describe_revert(data: str | bytes | None) -> str:
    """A custom error's name from revert data (with plain words for the common ones), else the data itself."""
    if isinstance(data, bytes):
        data = "0x" + data.hex()
    if not data:
        return "reverted without a reason"
    sig = _error_selectors().get(data[:10])
    if not sig:
        return f"reverted with data {data[:74]}"
    name = sig.split("(")[0]
    plain = PLAIN_ERRORS.get(name)
    if plain is None:
        return name
    try:
        args = dict(zip(_error_arg_names()[sig], abi_decode(_error_arg_types(sig), bytes.fromhex(data[10:]))))
        return f"{name}: {plain(args)}"
    except Exception:  # noqa: BLE001 - malformed revert data: the name alone still helps
        return name


@lru_cache(maxsize=None)
def _error_arg_names() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path in ABI_DIR.glob("*.json"):
        for entry in json.loads(path.read_text()):
            if entry.get("type") == "error":
                out[f"{entry['name']}({','.join(_abi_type(i) for i in entry['inputs'])})"] = [i["name"] for i in entry["inputs"]]
    return out


def _error_arg_types(sig: str) -> list[str]:
    inner = sig[sig.index("(") + 1:-1]
    return inner.split(",") if inner else []


# ---------------------------------------------------------------- local chains


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalChain:
    """A throwaway anvil or ganache on a free port, stopped on exit.

    Both run at hardfork shanghai (what the contracts are compiled for); anvil with
    base fee 0. `accounts` unlocked accounts each hold `balance_eth`."""

    kind: str = "anvil"
    accounts: int = 20
    balance_eth: int = 10_000
    port: int = field(default_factory=free_port)
    extra_args: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        if self.kind == "anvil":
            return ["anvil", "--port", str(self.port), "--hardfork", "shanghai", "--base-fee", "0", "--gas-price", "0",
                    "--accounts", str(self.accounts), "--balance", str(self.balance_eth), "--gas-limit", "30000000",
                    # no block states written to ~/.foundry/anvil/tmp: a long benchmark wrote gigabytes
                    # there, left behind when the chain is stopped
                    "--max-persisted-states", "0", "--silent"]
        if self.kind == "ganache":
            return ["ganache-cli", "--server.port", str(self.port), "--chain.hardfork", "shanghai",
                    "--wallet.totalAccounts", str(self.accounts), "--wallet.defaultBalance", str(self.balance_eth),
                    "--miner.blockGasLimit", "30000000", "--wallet.mnemonic", "fathom local chain", "--logging.quiet"]
        raise FathomError(f"unknown local chain {self.kind!r}: use anvil or ganache")

    def __enter__(self) -> "LocalChain":
        cmd = self.command() + self.extra_args
        if not shutil.which(cmd[0]):
            raise FathomError(f"{cmd[0]} is not on PATH: run `make setup` and `source .venv/bin/activate`")
        self.process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + 60
        w3 = Web3(Web3.HTTPProvider(self.url, request_kwargs={"timeout": 5}))
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                raise FathomError(f"{cmd[0]} exited with {self.process.returncode}: {err.strip()[-500:]}")
            try:
                if w3.is_connected():
                    return self
            except Exception:  # noqa: BLE001 - not up yet
                pass
            time.sleep(0.2)
        self.__exit__(None, None, None)
        raise FathomError(f"{cmd[0]} did not answer on {self.url} within 60 s")

    def __exit__(self, *exc: object) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def connect(url: str, timeout: float = 30.0) -> Web3:
    # web3's validation middleware asks the node for its chain id before and after every
    # eth_call, eth_estimateGas and eth_sendTransaction: cache that one answer
    provider = Web3.HTTPProvider(url, request_kwargs={"timeout": timeout}, cache_allowed_requests=True,
                                 cacheable_requests={"eth_chainId"})
    w3 = Web3(provider)
    try:
        w3.eth.chain_id
    except Exception as exc:  # noqa: BLE001 - any transport error means the same to the user
        raise ChainError(f"no Ethereum node answers at {url} ({type(exc).__name__})") from None
    return w3


# ---------------------------------------------------------------- transactions


@dataclass
class Sender:
    """Who signs: an unlocked node account (local chains), or a private key held here.

    `drop_grace`: seconds a sent transaction may be unknown to the node (neither mined
    nor pending) before waiting for it gives up with TransactionDropped."""

    w3: Web3
    address: str
    private_key: bytes | None = None
    drop_grace: float = 5.0
    #: transactions this sender has handed to the node: a nonce fetched ahead is still this
    #: account's next one only if nothing was sent since (review 12, T-n)
    sent: int = field(default=0, compare=False)

    @classmethod
    def unlocked(cls, w3: Web3, index: int = 0) -> "Sender":
        return cls(w3, to_checksum_address(w3.eth.accounts[index]))

    @classmethod
    def from_key(cls, w3: Web3, private_key: str | bytes) -> "Sender":
        acct = Account.from_key(private_key)
        return cls(w3, acct.address, bytes(acct.key))

    def transact(self, fn: Any, value: int = 0, gas: int | None = None, wait: float = 120.0,
                 on_sent: Callable[[bytes], None] | None = None) -> Any:
        """Send a contract call; return its receipt. Reverts become ChainError naming the error.
        `on_sent(tx_hash)` runs once the node accepted the transaction, before its receipt."""
        tx: dict[str, Any] = {"from": self.address, "value": value}
        what = getattr(fn, "fn_name", "deploy")
        if value:
            self.require_balance(value, what)
        try:
            tx["gas"] = gas or int(fn.estimate_gas(tx) * 1.2) + 10_000
        except ContractCustomError as exc:
            raise ChainError(f"{fn.fn_name} would revert: {describe_revert(exc.data)}") from None
        except ContractLogicError as exc:
            raise ChainError(f"{fn.fn_name} would revert: {exc.message or describe_revert(exc.data)}") from None
        except ValueError as exc:  # the node refused to estimate: say why in one line
            if "insufficient funds" in str(exc).lower():
                raise ChainError(f"{what}: {self.address} has not enough ETH for the gas") from None
            raise
        return self._send(fn.build_transaction(tx) if self.private_key else tx, fn, wait, on_sent)

    def require_balance(self, value: int, what: str) -> None:
        """ChainError, before anything is sent, if this account holds less than `value` wei."""
        have = self.w3.eth.get_balance(self.address)
        if have < value:
            raise ChainError(f"{what} needs {value / 10**18:g} ETH, but {self.address} holds only "
                             f"{have / 10**18:g} ETH: fund the account first")

    def deploy(self, name: str, *args: Any, value: int = 0) -> Any:
        contract = self.w3.eth.contract(abi=abi(name), bytecode=bytecode(name))
        receipt = self.transact(contract.constructor(*args), value=value)
        return self.w3.eth.contract(address=receipt.contractAddress, abi=abi(name))

    def _submit(self, tx: dict[str, Any], fn: Any) -> Any:
        """Hand a built (or, unlocked, an unsigned) transaction to the node; its hash."""
        what = getattr(fn, "fn_name", "deploy")
        try:
            if self.private_key:
                tx.setdefault("nonce", self.w3.eth.get_transaction_count(self.address, "pending"))
                signed = Account.sign_transaction(tx, self.private_key)
                tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
            else:
                tx_hash = fn.transact(tx)
            self.sent += 1
            return tx_hash
        except ContractCustomError as exc:
            raise ChainError(f"{what} reverted: {describe_revert(exc.data)}") from None
        except (ValueError, Web3RPCError) as exc:
            if "insufficient funds" in str(exc).lower():
                raise InsufficientFunds(f"{what}: {self.address} has not enough ETH for the gas") from None
            raise

    def submit(self, fn: Any, gas: int, nonce: int | None = None) -> Any:
        """Hand a contract call to the node with a fixed gas limit (no estimate) and, if given,
        this nonce, without waiting for its receipt; its hash (review 11, T: the seed block's
        recordSeed, which an estimate could only delay or, at a `pending` that an RPC reads as
        `latest`, refuse)."""
        tx: dict[str, Any] = {"from": self.address, "value": 0, "gas": gas}
        if nonce is not None:
            tx["nonce"] = nonce
        try:
            return self._submit(fn.build_transaction(tx) if self.private_key else tx, fn)
        except (ValueError, Web3RPCError) as exc:  # a nonce used meanwhile, say: typed once, here
            raise ChainError(f"{fn.fn_name} refused by the node: {exc}") from None

    def transact_all(self, calls: list[tuple[Any, int]], wait: float = 120.0) -> list[Any]:
        """Send contract calls `(fn, gas)` back to back, with consecutive nonces and no wait for
        any receipt in between (so that they can all land in one block: the seed block of
        rule C4), then wait for each. Returns, in order, each call's receipt, or the ChainError
        it met (refused when sent, or reverted when mined): one failing call stops no other."""
        nonce = self.w3.eth.get_transaction_count(self.address, "pending")
        sent: list[Any] = []
        for fn, gas in calls:
            tx: dict[str, Any] = {"from": self.address, "value": 0, "gas": gas, "nonce": nonce}
            try:
                sent.append(self._submit(fn.build_transaction(tx) if self.private_key else tx, fn))
                nonce += 1
            except ChainError as exc:
                sent.append(exc)
        out: list[Any] = []
        for (fn, _), tx_hash in zip(calls, sent):
            if isinstance(tx_hash, ChainError):
                out.append(tx_hash)
                continue
            try:
                receipt = self.wait_for_receipt(tx_hash, wait, fn.fn_name)
            except ChainError as exc:
                out.append(exc)
                continue
            out.append(receipt if receipt.status == 1 else
                       ChainError(f"{fn.fn_name} reverted in transaction {Web3.to_hex(tx_hash)}"))
        return out

    def _send(self, tx: dict[str, Any], fn: Any, wait: float, on_sent: Callable[[bytes], None] | None = None) -> Any:
        what = getattr(fn, "fn_name", "deploy")
        tx_hash = self._submit(tx, fn)
        if on_sent is not None:
            on_sent(bytes(tx_hash))
        receipt = self.wait_for_receipt(tx_hash, wait, what)
        if receipt.status != 1:
            raise ChainError(f"{what} reverted in transaction {Web3.to_hex(tx_hash)}")
        return receipt

    def wait_for_receipt(self, tx_hash: bytes | str, wait: float = 120.0, what: str = "the transaction") -> Any:
        """The transaction's receipt once mined. ChainError if it is not mined within `wait`
        seconds; TransactionDropped as soon as the node has not known it for `drop_grace`
        seconds (a dropped transaction is never mined: waiting on would only waste time)."""
        deadline = time.monotonic() + wait
        missing_since: float | None = None
        next_check = 0.0
        while True:
            try:
                return self.w3.eth.get_transaction_receipt(tx_hash)
            except TransactionNotFound:
                pass
            now = time.monotonic()
            if now >= next_check:  # still pending, or gone? (about once a second)
                next_check = now + 1.0
                try:
                    self.w3.eth.get_transaction(tx_hash)
                    missing_since = None
                except TransactionNotFound:
                    missing_since = now if missing_since is None else missing_since
                    if now - missing_since >= self.drop_grace:
                        raise TransactionDropped(
                            f"{what}: transaction {Web3.to_hex(tx_hash)} was dropped (the node no longer knows it)"
                        ) from None
            if now >= deadline:
                raise ChainError(f"{what} was not mined within {wait:.0f} s")
            time.sleep(0.1)


def deploy_all(deployer: Sender, guardian: str | None = None, fixed_balance_tokens: Sequence[str] = ()) -> dict[str, Any]:
    """KeyRegistry, OracleRegistry, BountyMarketExtension and BountyMarket, wired together (as
    scripts/deploy.py). The extension is deployed on its own, for the registry, before the market,
    whose constructor takes its address and checks it (each creation fits EIP-3860 by itself).
    `fixed_balance_tokens`: rule P4's list, vouched for by the deployer (none: every ERC-20 is
    balance-checked)."""
    keys = deployer.deploy("KeyRegistry")
    registry = deployer.deploy("OracleRegistry", ORACLE_MIN_STAKE, ORACLE_UNBONDING_DELAY, ORACLE_SLASH_BPS, ORACLE_DRAW_PERIOD)
    extension = deployer.deploy("BountyMarketExtension", registry.address)
    market = deployer.deploy("BountyMarket", keys.address, registry.address, extension.address, deployer.address,
                             guardian or deployer.address, [to_checksum_address(t) for t in fixed_balance_tokens])
    deployer.transact(registry.functions.setMarket(market.address))
    return {"KeyRegistry": keys, "OracleRegistry": registry, "BountyMarketExtension": extension, "BountyMarket": market}


def contracts_at(w3: Web3, addresses: dict[str, str]) -> dict[str, Any]:
    """Contract handles for a deployment record's addresses."""
    return {name: w3.eth.contract(address=to_checksum_address(addr), abi=abi(name)) for name, addr in addresses.items()}



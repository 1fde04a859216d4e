"""Settings from FATHOM_* environment variables, read in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from fathom.errors import ConfigError

#: The repository root (where brownie-config.yaml and deployments/ live).
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """Where Fathom looks for things. Each field comes from the variable named beside it."""

    network: str = "development"  # FATHOM_NETWORK: brownie network id
    deployments_dir: Path = PROJECT_ROOT / "deployments"  # FATHOM_DEPLOYMENTS
    data_dir: Path = Path.home() / ".fathom"  # FATHOM_DATA_DIR: oracle state, embedded store
    store_dir: Path | None = None  # FATHOM_STORE_DIR: the embedded store (default <data dir>/store)
    ipfs_api: str | None = None  # FATHOM_IPFS_API: e.g. /ip4/127.0.0.1/tcp/5001; None = embedded store
    ipfs_timeout: float = 30.0  # FATHOM_IPFS_TIMEOUT: seconds for every IPFS call
    rpc_url: str = "http://127.0.0.1:8545"  # FATHOM_RPC_URL: the Ethereum node's JSON-RPC
    private_key: str | None = field(default=None, repr=False)  # FATHOM_PRIVATE_KEY: signs transactions; never logged
    confirmations: int = 3  # FATHOM_CONFIRMATIONS: blocks an oracle waits before trusting an event
    guardian: str | None = None  # FATHOM_GUARDIAN: `fathom deploy`'s guardian (default: the deployer)
    assume_yes: bool = False  # FATHOM_YES=1: `fathom deploy` to a live chain without asking

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        env = dict(os.environ if env is None else env)
        defaults = cls()
        timeout_raw = env.get("FATHOM_IPFS_TIMEOUT")
        try:
            timeout = float(timeout_raw) if timeout_raw else defaults.ipfs_timeout
        except ValueError:
            raise ConfigError(f"FATHOM_IPFS_TIMEOUT must be a number of seconds, not {timeout_raw!r}") from None
        if timeout <= 0:
            raise ConfigError(f"FATHOM_IPFS_TIMEOUT must be positive, not {timeout_raw!r}")
        conf_raw = env.get("FATHOM_CONFIRMATIONS")
        try:
            confirmations = int(conf_raw) if conf_raw else defaults.confirmations
        except ValueError:
            raise ConfigError(f"FATHOM_CONFIRMATIONS must be a whole number of blocks, not {conf_raw!r}") from None
        if confirmations < 0:
            raise ConfigError(f"FATHOM_CONFIRMATIONS must not be negative, not {conf_raw!r}")
        return cls(
            network=env.get("FATHOM_NETWORK") or defaults.network,
            deployments_dir=Path(env["FATHOM_DEPLOYMENTS"]) if env.get("FATHOM_DEPLOYMENTS") else defaults.deployments_dir,
            data_dir=Path(env["FATHOM_DATA_DIR"]) if env.get("FATHOM_DATA_DIR") else defaults.data_dir,
            store_dir=Path(env["FATHOM_STORE_DIR"]) if env.get("FATHOM_STORE_DIR") else None,
            ipfs_api=env.get("FATHOM_IPFS_API") or None,
            ipfs_timeout=timeout,
            rpc_url=env.get("FATHOM_RPC_URL") or defaults.rpc_url,
            private_key=env.get("FATHOM_PRIVATE_KEY") or None,
            confirmations=confirmations,
            guardian=env.get("FATHOM_GUARDIAN") or None,
            assume_yes=env.get("FATHOM_YES") == "1",
        )

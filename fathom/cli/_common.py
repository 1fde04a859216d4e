"""What every command group shares: the account, the market, the store, argument checks, progress."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from fathom.config import Settings
from fathom.errors import FathomError

ETH_ADDRESS = "0x0000000000000000000000000000000000000000"


def account_key(args: argparse.Namespace, settings: Settings) -> bytes:
    from fathom.crypto.envelope import load_private_key

    if getattr(args, "key_file", None):
        try:
            raw = Path(args.key_file).read_text().strip()
        except OSError as exc:
            raise FathomError(f"cannot read the key file {args.key_file}: {exc.strerror}") from None
        return load_private_key(raw)
    if settings.private_key:
        return load_private_key(settings.private_key)
    raise FathomError("this needs an account: set FATHOM_PRIVATE_KEY or pass --key-file")


def market_for(args: argparse.Namespace, settings: Settings, signer: bool = True) -> Any:
    from fathom.chain.market import Market

    key = account_key(args, settings) if signer else None
    return Market.from_settings(settings, "0x" + key.hex() if key else None)


def store_for(settings: Settings) -> Any:
    from fathom.storage.store import open_store

    return open_store(settings)


def address_arg(text: str) -> str:
    """A checksummed address, or a plain error naming what was given."""
    from eth_utils import is_address, to_checksum_address

    if not is_address(text):
        raise FathomError(f"{text!r} is not an Ethereum address (0x and 40 hex digits, checksummed if mixed-case)")
    return to_checksum_address(text)


def eth(wei: int) -> str:
    return f"{wei / 1e18:.6f}"


def load_arrays(folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """manifest.json (optional) plus NAME.npy files, loaded without pickle."""
    import numpy as np

    if not folder.is_dir():
        raise FathomError(f"{folder} is not a folder (expected manifest.json and .npy files)")
    manifest: dict[str, Any] = {}
    if (folder / "manifest.json").exists():
        try:
            manifest = json.loads((folder / "manifest.json").read_text())
        except json.JSONDecodeError as exc:
            raise FathomError(f"{folder}/manifest.json is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    arrays = {}
    for path in sorted(folder.glob("*.npy")):
        try:
            arrays[path.stem] = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise FathomError(f"{path} cannot be read as a plain array: {exc}") from None
    if not arrays:
        raise FathomError(f"{folder} holds no .npy arrays")
    return manifest, arrays


class Progress:
    """A one-line progress bar on stderr (silent when stderr is not a terminal)."""

    def __init__(self, label: str):
        self.label = label
        self.tty = sys.stderr.isatty()

    def __call__(self, done: int, total: int, *extra: Any) -> None:
        if not self.tty:
            return
        width = 30
        filled = int(width * done / max(total, 1))
        sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def with_key(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--key-file", help="file holding the account's private key (default: FATHOM_PRIVATE_KEY)")
    return p

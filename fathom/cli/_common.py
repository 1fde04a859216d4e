"""What every command group shares: the account, the market, the store, argument checks, progress."""

from __future__ import annotations

import argparse
import json
import math
import sys
from decimal import Decimal
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
    market = Market.from_settings(settings, "0x" + key.hex() if key else None)
    market.progress = Progress("reading events", unit="block")
    return market


def store_for(settings: Settings) -> Any:
    from fathom.storage.store import open_store

    store = open_store(settings)
    store.progress = Progress("uploading", unit="B")
    return store


def address_arg(text: str) -> str:
    """A checksummed address, or a plain error naming what was given (an argparse type:
    FathomError is not a ValueError, so argparse lets it through to `main`'s one line)."""
    from eth_utils import is_address, to_checksum_address

    if not is_address(text):
        raise FathomError(f"{text!r} is not an Ethereum address (0x and 40 hex digits, checksummed if mixed-case)")
    return to_checksum_address(text)


def address_list(text: str) -> list[str]:
    """Comma-separated addresses (argparse type), each checked by `address_arg`."""
    return [address_arg(a.strip()) for a in text.split(",") if a.strip()]


def _number(text: str, kind: type, what: str) -> Any:
    try:
        value = kind(text)
    except (ValueError, ArithmeticError):
        raise FathomError(f"{text!r} is not {what}") from None
    if not math.isfinite(value):  # nan, inf
        raise FathomError(f"{text!r} is not {what}")
    if value < 0:
        raise FathomError(f"{text} is negative: expected {what}")
    return value


def amount_arg(text: str) -> Decimal:
    """A non-negative amount of ETH (or token units), exact: `wei(amount)` never rounds it through a float."""
    return _number(text, Decimal, "a non-negative amount (e.g. 0.5)")


def count_arg(text: str) -> int:
    """A non-negative whole number (argparse type)."""
    return _number(text, int, "a non-negative whole number")


def number_arg(text: str) -> float:
    """A non-negative, finite number (argparse type)."""
    return _number(text, float, "a non-negative number")


def seconds_arg(text: str) -> float:
    """A non-negative number of seconds or days (argparse type)."""
    return _number(text, float, "a non-negative number")


def wei(amount: Decimal | float | int) -> int:
    """An amount in ETH (18 decimals) as wei; refuses amounts finer than one wei."""
    value = Decimal(str(amount)) * 10**18
    if value != value.to_integral_value():
        raise FathomError(f"{amount} has more than 18 decimals")
    return int(value)


def eth(wei_amount: int) -> str:
    """Wei as ETH, exactly: every digit, no rounding (1.5, 0.000000000000000001, 0)."""
    return format(Decimal(int(wei_amount)).scaleb(-18).normalize(), "f")


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
    """Progress of long work on stderr, drawn by tqdm (pinned in requirements.txt): a
    well-kept bar that knows terminal widths, rates and ETAs, and stays silent when
    stderr is not a terminal (logs and pipes get nothing). Call it as
    `progress(done, total, *extra)`, the hook fathom's long loops take; `extra[0]`, if
    a number, is shown beside the bar (training's mean loss)."""

    def __init__(self, label: str, unit: str = "it"):
        self.label = label
        self.unit = unit
        self.bar: Any = None

    def __call__(self, done: int, total: int, *extra: Any) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=total, desc=self.label, unit=self.unit, file=sys.stderr, disable=not sys.stderr.isatty(),
                            unit_scale=self.unit == "B", leave=True)
        self.bar.total = total
        self.bar.update(done - self.bar.n)
        if extra and isinstance(extra[0], (int, float)):
            self.bar.set_postfix_str(f"{extra[0]:.4g}", refresh=False)
        if done >= total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def with_key(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--key-file", help="file holding the account's private key (default: FATHOM_PRIVATE_KEY)")
    return p

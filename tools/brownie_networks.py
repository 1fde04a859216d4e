"""Point brownie's local networks at the chains Fathom is tested on.

brownie 1.22.2 starts `development` with anvil and launches ganache at istanbul. We
compile for shanghai (the newest hardfork ganache 7.9.2 knows), so:

- `development`: ganache 7 (`ganache-cli`), hardfork shanghai, brownie's usual mnemonic;
  what a plain `brownie test` runs against.
- `anvil`: anvil at hardfork shanghai with base fee 0, on port 8546 so both chains can run
  at once; `brownie test --network anvil`.

Settings may not go in brownie-config.yaml (`development: cmd_settings:` crashes brownie),
so they go in the user's ~/.brownie/network-config.yaml. The file is written only when
it differs, keeping every other network the user has.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import yaml

DEVELOPMENT = {
    "name": "Ganache 7 (shanghai, Fathom)",
    "id": "development",
    "cmd": "ganache-cli",
    "host": "http://127.0.0.1",
    "cmd_settings": {
        "port": 8545,
        "gas_limit": 30_000_000,
        "accounts": 10,
        "evm_version": "shanghai",
        "mnemonic": "brownie",
    },
}
ANVIL = {
    "name": "Anvil (shanghai, Fathom)",
    "id": "anvil",
    "cmd": "anvil",
    "host": "http://127.0.0.1",
    "cmd_settings": {
        "port": 8546,
        "gas_limit": 30_000_000,
        "accounts": 10,
        "evm_version": "shanghai",
        "base_fee": 0,
    },
}


def main() -> int:
    # Locate brownie's data files without importing it (an import costs ~2 s).
    spec = importlib.util.find_spec("brownie")
    if spec is None or spec.origin is None:
        print("setup: error: brownie is not installed in .venv; delete .venv and run 'make setup'", file=sys.stderr)
        return 1
    data_dir = Path(spec.origin).parent / "data"
    target = Path.home() / ".brownie" / "network-config.yaml"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(data_dir / "network-config.yaml", target)
    config = yaml.safe_load(target.read_text())
    dev = config.setdefault("development", [])
    changed = False
    for wanted in (DEVELOPMENT, ANVIL):
        for i, net in enumerate(dev):
            if net.get("id") == wanted["id"]:
                if net != wanted:
                    dev[i] = wanted
                    changed = True
                break
        else:
            dev.append(wanted)
            changed = True
    if changed:
        target.write_text(yaml.safe_dump(config, sort_keys=False))
        print(f"setup: brownie networks 'development' (ganache, shanghai) and 'anvil' set in {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`make abi`: export the ABI JSON that frontends and the fathom package use.

Writes interfaces/_abi/<Name>.json for every deployed contract (brownie skips folders
starting with "_", so this is not loaded as a second copy of the interfaces). The
market's ABI is the union of BountyMarket and IBountyMarket: the extension's views
are reached through the market's fallback, at the market's address. BountyMarketExtension's
own ABI is exported too: it is deployed on its own (first), and deployment records name it.

`--check` writes nothing and exits 1 when a committed file differs from what the
sources compile to (the test-abi stage runs it, so a stale ABI fails CI).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "interfaces" / "_abi"
FORGE_OUT = ROOT / ".forge" / "out"

# exported name -> the compiled contracts whose ABIs it merges (file stem, contract)
EXPORTS: dict[str, list[tuple[str, str]]] = {
    "KeyRegistry": [("KeyRegistry", "KeyRegistry")],
    "OracleRegistry": [("OracleRegistry", "OracleRegistry")],
    "BountyMarketExtension": [("BountyMarketExtension", "BountyMarketExtension")],
    "BountyMarket": [("BountyMarket", "BountyMarket"), ("IBountyMarket", "IBountyMarket")],
}


def _signature(entry: dict) -> str:
    def kinds(params: list[dict]) -> str:
        return ",".join(p["type"] if not p.get("components") else "(" + kinds(p["components"]) + ")" for p in params)

    return f"{entry['type']}:{entry.get('name', '')}({kinds(entry.get('inputs', []))})"


def _load(stem: str, contract: str) -> list[dict]:
    path = FORGE_OUT / f"{stem}.sol" / f"{contract}.json"
    if not path.exists():
        sys.exit(f"export_abi: {path} is missing after forge build")
    return json.loads(path.read_text())["abi"]


def build() -> dict[str, str]:
    subprocess.run(["forge", "build", "--skip", "tests/forge/**", "--quiet"], cwd=ROOT, check=True)
    files: dict[str, str] = {}
    for name, sources in EXPORTS.items():
        merged: dict[str, dict] = {}
        for stem, contract in sources:
            for entry in _load(stem, contract):
                merged.setdefault(_signature(entry), entry)
        abi = [merged[k] for k in sorted(merged)]
        files[f"{name}.json"] = json.dumps(abi, indent=2, sort_keys=True) + "\n"
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if interfaces/_abi is stale; write nothing")
    args = parser.parse_args()
    files = build()
    if args.check:
        stale = [n for n, text in files.items() if not (OUT / n).exists() or (OUT / n).read_text() != text]
        extra = sorted(p.name for p in OUT.glob("*.json") if p.name not in files)
        if stale or extra:
            print(f"interfaces/_abi is stale ({', '.join(stale + extra)}): run `make abi` and commit the result")
            return 1
        print(f"interfaces/_abi: {len(files)} ABIs up to date")
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (OUT / name).write_text(text)
    print(f"wrote {len(files)} ABIs to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`make abi`: export the ABI JSON that frontends and the fathom package use.

Writes interfaces/_abi/<Name>.json for every deployed contract (brownie skips folders
starting with "_", so this is not loaded as a second copy of the interfaces). The
market's ABI is the union of BountyMarket and IBountyMarket: the extension's views
are reached through the market's fallback, at the market's address. BountyMarketExtension's
own ABI is exported too: it is deployed on its own (first), and deployment records name it.

It also writes interfaces/_code/runtime.json: for each deployed contract, the keccak256 of its
runtime code with its immutables zeroed and its metadata cut off, and where its immutables lie,
so the tools can check that a deployment runs the code they were built from (the market runs
its extension's code on its own storage: fathom.chain.deployments.code_mismatches).

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
sys.path.insert(0, str(ROOT))
from fathom.chain.deployments import CODE_FILE, runtime_digest  # noqa: E402  (after the path)

CODE = CODE_FILE.relative_to(ROOT)  # interfaces/_code/runtime.json

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


def _artifact(stem: str, contract: str) -> dict:
    path = FORGE_OUT / f"{stem}.sol" / f"{contract}.json"
    if not path.exists():
        sys.exit(f"export_abi: {path} is missing after forge build")
    return json.loads(path.read_text())


def _load(stem: str, contract: str) -> list[dict]:
    return _artifact(stem, contract)["abi"]


def _code(name: str) -> dict:
    """code.json's entry: the deployed contract's runtime length, immutable ranges and digest."""
    runtime = _artifact(name, name)["deployedBytecode"]
    code = bytes.fromhex(runtime["object"].removeprefix("0x"))
    ranges = sorted([r["start"], r["length"]] for refs in (runtime.get("immutableReferences") or {}).values() for r in refs)
    return {"length": len(code), "immutables": ranges, "keccak256": runtime_digest(code, ranges)}


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
    # one line per contract (the immutables' ranges are long)
    lines = [f"  {json.dumps(name)}: {json.dumps(_code(name), sort_keys=True)}" for name in sorted(EXPORTS)]
    files[str(CODE)] = "{\n" + ",\n".join(lines) + "\n}\n"
    return files


def _path(name: str) -> Path:
    return ROOT / name if "/" in name else OUT / name


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if interfaces/_abi is stale; write nothing")
    args = parser.parse_args()
    files = build()
    if args.check:
        stale = [n for n, text in files.items() if not _path(n).exists() or _path(n).read_text() != text]
        extra = sorted(p.name for p in OUT.glob("*.json") if p.name not in files)
        if stale or extra:
            print(f"interfaces/_abi or {CODE} is stale ({', '.join(stale + extra)}): run `make abi` and commit the result")
            return 1
        print(f"interfaces/_abi: {len(files) - 1} ABIs and the code digests up to date")
        return 0
    for name, text in files.items():
        _path(name).parent.mkdir(parents=True, exist_ok=True)
        _path(name).write_text(text)
    print(f"wrote {len(files) - 1} ABIs to {OUT.relative_to(ROOT)} and the code digests to {CODE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

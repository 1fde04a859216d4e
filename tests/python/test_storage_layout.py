"""BountyMarketExtension runs by delegatecall on BountyMarket's storage and is deployed on its
own, so the market's constructor compares the extension's STORAGE_LAYOUT with its own. That
constant is a name, bumped by hand: these tests read the compiled layouts (forge inspect) and
fail when the layout changes while the name stays, and when the two contracts' layouts part."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: STORAGE_LAYOUT's name -> sha256 of the layout it names (slots, offsets, types; no AST ids).
#: A new layout takes a new name in contracts/BountyMarketStorage.sol and a new line here;
#: never a new hash under an old name (an extension built before would still be accepted).
PINNED = {
    "fathom.BountyMarketStorage.1": "61ca95bc4148360dea28895a74e4b0336d69f79ba54890e3c7bb783448ef79d0",
}


def _layout(contract: str) -> list:
    forge = shutil.which("forge") or str(ROOT / ".venv" / "bin" / "forge")
    out = subprocess.run([forge, "inspect", f"contracts/{contract}.sol:{contract}", "storageLayout", "--json"],
                         cwd=ROOT, check=True, capture_output=True, text=True).stdout
    data = json.loads(out)
    types = data["types"] or {}

    def canon(t: str | None):
        if t is None:
            return None
        d = types[t]
        return (d["label"], d["numberOfBytes"], d["encoding"], canon(d.get("key")), canon(d.get("value")),
                canon(d.get("base")),
                tuple((m["label"], m["slot"], m["offset"], canon(m["type"])) for m in d.get("members") or ()))

    return [(s["label"], s["slot"], s["offset"], canon(s["type"])) for s in data["storage"]]


def _name() -> str:
    src = (ROOT / "contracts" / "BountyMarketStorage.sol").read_text()
    found = re.findall(r'STORAGE_LAYOUT = keccak256\("([^"]+)"\)', src)
    assert len(found) == 1, "STORAGE_LAYOUT's name not found"
    return found[0]


def _digest(layout: list) -> str:
    return hashlib.sha256(json.dumps(layout).encode()).hexdigest()


def test_the_storage_layout_name_changes_with_the_layout():
    layout = _layout("BountyMarketExtension")
    assert layout and layout[0][0] == "_guard", "the extension's first variable"
    name = _name()
    assert name in PINNED, f"STORAGE_LAYOUT {name!r} has no pinned layout: add it to PINNED"
    assert _digest(layout) == PINNED[name], (
        f"BountyMarketStorage's layout changed but STORAGE_LAYOUT is still {name!r}: give it a new name "
        f"(an extension built for the old layout would be accepted) and pin {_digest(layout)} under it")
    assert len(set(PINNED.values())) == len(PINNED), "two names pin the same layout"


def test_the_market_lays_out_the_extensions_variables_in_the_same_slots():
    ext, market = _layout("BountyMarketExtension"), _layout("BountyMarket")
    assert market[:len(ext)] == ext, "BountyMarketStorage must stay the first base of both contracts"
    assert len(market) > len(ext), "the market's own variables (Ownable2Step's) follow"

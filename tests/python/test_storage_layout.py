"""BountyMarketExtension runs by delegatecall on BountyMarket's storage and is deployed on its
own, so the market's constructor compares the extension's STORAGE_LAYOUT with its own. That
constant is a name, bumped by hand: these tests read the compiled layouts (forge inspect) and the
packing constants both contracts compile in (the bit positions of the packed words: ST_*, SC_*,
FE_*, ...; review of m15, F2: a swap of two of them is no change of the declared variables), and
fail when either changes while the name stays, and when the two contracts' layouts part."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: STORAGE_LAYOUT's name -> sha256 of the layout it names (slots, offsets, types; no AST ids) and
#: of BountyMarketStorage's constants (type, name, value as written; the .1 pin was re-taken when
#: the constants joined it, with the layout unchanged).
#: A new layout takes a new name in contracts/BountyMarketStorage.sol and a new line here;
#: never a new hash under an old name (an extension built before would still be accepted).
PINNED = {
    "fathom.BountyMarketStorage.1": "1ba73ef6d4f6d8c04707dee40e68921a8e354372877b49c82a1044633760a2a6",
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


def _constants(src: str) -> list:
    """BountyMarketStorage's constants but STORAGE_LAYOUT: (type, name, value as written)."""
    found = re.findall(r"\b(\w+)\s+internal\s+constant\s+(\w+)\s*=\s*([^;]+);", src)
    return [(t, n, " ".join(v.split())) for t, n, v in found if n != "STORAGE_LAYOUT"]


def _source() -> str:
    return (ROOT / "contracts" / "BountyMarketStorage.sol").read_text()


def _digest(layout: list, constants: list) -> str:
    return hashlib.sha256(json.dumps([layout, constants]).encode()).hexdigest()


def test_the_storage_layout_name_changes_with_the_layout():
    layout = _layout("BountyMarketExtension")
    assert layout and layout[0][0] == "_guard", "the extension's first variable"
    name = _name()
    assert name in PINNED, f"STORAGE_LAYOUT {name!r} has no pinned layout: add it to PINNED"
    digest = _digest(layout, _constants(_source()))
    assert digest == PINNED[name], (
        f"BountyMarketStorage's layout or packing constants changed but STORAGE_LAYOUT is still {name!r}: give "
        f"it a new name (an extension built for the old layout would be accepted) and pin {digest} under it")
    assert len(set(PINNED.values())) == len(PINNED), "two names pin the same layout"


def test_the_market_lays_out_the_extensions_variables_in_the_same_slots():
    ext, market = _layout("BountyMarketExtension"), _layout("BountyMarket")
    assert market[:len(ext)] == ext, "BountyMarketStorage must stay the first base of both contracts"
    assert len(market) > len(ext), "the market's own variables (Ownable2Step's) follow"


def test_attack_packing_constants_swapped_under_the_old_layout_name_break_the_pin():
    """Review of m15, F2: SC_TARGET and SC_BASELINE swapped in a later build leave every declared
    variable where it was, so a pin of the declared layout alone accepted an extension of the
    earlier build, which writes the target where the new market reads the baseline."""
    src = _source()
    constants = _constants(src)
    names = [n for _, n, _ in constants]
    assert {"SC_TARGET", "SC_BASELINE", "ST_COMMITTED", "FE_PAID", "KEPT", "ONE_OFF"} <= set(names)
    swapped = (src.replace("SC_TARGET = 160", "SC_TARGET = @").replace("SC_BASELINE = 192", "SC_BASELINE = 160")
               .replace("SC_TARGET = @", "SC_TARGET = 192"))
    assert swapped != src, "the constants were found in the source"
    layout = _layout("BountyMarketExtension")
    assert _digest(layout, constants) == PINNED[_name()]
    assert _digest(layout, _constants(swapped)) != PINNED[_name()]

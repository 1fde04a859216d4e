"""The package's layering, read from the source (ast): imports flow one way.

    cli -> roles -> (protocol | ml) and (chain | storage | crypto) -> foundation
    foundation = fathom.errors, fathom.config, fathom.units

`protocol` and `ml` are siblings and import neither each other nor an edge (ml may use the
crypto edge, for the encrypted-weights mode); the edges do not import each other; a role
imports only `roles.reader`, never another role. Each third-party library with a failure
mode of its own is imported by one edge only. README.md ("Layout") draws the same tree.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "fathom"
FOUNDATION = {"errors", "config", "units"}
EDGES = {"chain", "storage", "crypto"}
# what each layer may import besides the foundation and its own subpackage
ALLOWED = {
    "chain": set(),
    "storage": set(),
    "crypto": set(),
    "protocol": set(),
    "ml": {"crypto"},
    "roles": {"protocol", "ml", "chain", "storage", "crypto"},
    "cli": {"roles", "protocol", "ml", "chain", "storage", "crypto"},
}
# third-party libraries that only one edge may import
OWNED = {"web3": "chain", "eth_abi": "chain", "eth_account": "chain", "ipfshttpclient": "storage",
         "coincurve": "crypto", "cryptography": "crypto", "phe": "crypto", "gmpy2": "crypto"}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _dotted(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) for every import in the file, lazy ones included."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = _dotted(path).split(".")
    if path.name != "__init__.py":
        here = here[:-1]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(here[: len(here) - node.level + 1] + ([base] if base else []))
            if base == "fathom" or (node.level and not node.module):
                out += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
            else:
                out.append((node.lineno, base))
    return out


def _layer(module: str) -> str | None:
    """The layer of a fathom module: its first component below `fathom` (None for fathom itself)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "fathom" else None


def violations() -> list[str]:
    found = []
    for path in _modules():
        me = _dotted(path)
        mine = _layer(me)
        for line, target in _imports(path):
            where = f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}"
            top = target.split(".")[0]
            if top in OWNED and mine != OWNED[top]:
                found.append(f"{where}: only fathom.{OWNED[top]} may import {top}")
            if top != "fathom":
                continue
            theirs = _layer(target)
            if mine in (None, "__main__") or theirs in (None, "__version__") or theirs == mine:
                if mine == "roles" and theirs == "roles":
                    a, b = me.split(".")[2:3], target.split(".")[2:3]
                    if a and b and a != b and b != ["reader"]:
                        found.append(f"{where}: a role imports only roles.reader, never another role")
                continue
            if mine in FOUNDATION:
                if theirs not in FOUNDATION:
                    found.append(f"{where}: the foundation imports nothing above it")
                continue
            if theirs in FOUNDATION:
                continue
            if theirs not in ALLOWED.get(mine, set()):
                found.append(f"{where}: fathom.{mine} may not import fathom.{theirs}")
    return found


def test_imports_flow_one_way() -> None:
    assert violations() == []


@pytest.mark.parametrize("source, expected", [
    ("from fathom.roles.reader import BountyReader\n", "fathom.chain may not import fathom.roles"),
    ("import web3\n", "only fathom.chain may import web3"),
])
def test_the_check_catches_an_upward_import(tmp_path, monkeypatch, source, expected) -> None:
    """The check itself fires: an edge that imports a role, a role that imports web3."""
    fake = tmp_path / "fathom"
    for sub in ("chain", "roles"):
        (fake / sub).mkdir(parents=True)
        (fake / sub / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("")
    (fake / "roles" / "reader.py").write_text("")
    target = fake / ("chain" if "roles" in source else "roles") / "bad.py"
    target.write_text(source)
    monkeypatch.setitem(globals(), "PACKAGE", fake)
    assert any(expected in v for v in violations())


def test_one_role_may_not_import_another(tmp_path, monkeypatch) -> None:
    fake = tmp_path / "fathom"
    (fake / "roles").mkdir(parents=True)
    for name in ("__init__", "reader", "requester"):
        (fake / "roles" / f"{name}.py").write_text("")
    (fake / "__init__.py").write_text("")
    (fake / "roles" / "contributor.py").write_text("from fathom.roles.requester import x\nfrom fathom.roles.reader import y\n")
    monkeypatch.setitem(globals(), "PACKAGE", fake)
    assert violations() == ["fathom/roles/contributor.py:1 imports fathom.roles.requester: "
                            "a role imports only roles.reader, never another role"]

"""`fathom privacy`: the data owner's privacy ledger (what each local data set has spent)."""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

from fathom.config import Settings
from fathom.errors import FathomError
from fathom.cli._common import load_arrays
from fathom.cli.contribute import ledger_for


def _cmd_privacy(args: argparse.Namespace, settings: Settings) -> int:
    from fathom.ml.privacy.ledger import fingerprint, releases_table, summary

    ledger = ledger_for(settings)
    fp = None
    if args.data is not None:
        _, arrays = load_arrays(args.data)
        if "X" not in arrays or "y" not in arrays:
            raise FathomError(f"{args.data} must hold X.npy (features) and y.npy (labels)")
        fp = fingerprint(arrays["X"], arrays["y"])
    rows = summary(ledger, fp)
    if args.json:
        print(json.dumps([{"fingerprint": s.fingerprint, "releases": s.releases, "epsilon": None if math.isinf(s.spent) else s.spent,
                           "noise_free_release": math.isinf(s.spent), "budget": s.budget, "remaining": s.remaining,
                           "delta": s.delta, "unit": s.unit, "history": releases_table(ledger, s.fingerprint)} for s in rows], indent=2))
        return 0
    print(f"privacy ledger: {ledger.path}")
    if not rows or (fp is not None and not rows[0].releases):
        print("no releases recorded" + (f" for data set {fp[:16]}" if fp else ""))
        return 0
    for s in rows:
        print(s)
        for r in releases_table(ledger, s.fingerprint):
            when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(r.get("at", 0)))
            how = "no noise" if r["mechanism"] == "none" else f"{r['mechanism']}, noise multiplier {r['noise_multiplier']:g}"
            print(f"  {when} UTC  bounty {r.get('bounty', '?')} (version {r.get('base_version', '?')}): {how}")
    return 0


def print_version_statements(args: argparse.Namespace, settings: Settings, market: Any) -> None:
    """`fathom bounty show ID --privacy`: each accepted version's privacy statement (F11)."""
    from fathom.cli._common import account_key, store_for
    from fathom.ml.privacy import PrivacyStatement
    from fathom.roles.requester import version_statements

    try:
        key = account_key(args, settings)
    except FathomError:
        key = None  # nothing opens an update without a member's key (F2): every version reads "sealed"
    update_keys = None
    if getattr(args, "update_keys", None):
        from fathom.cli.contribute import update_keys_file

        update_keys = update_keys_file(args.update_keys)
    statements = version_statements(market, store_for(settings), args.bounty, key, update_keys=update_keys)
    if not statements:
        print("  privacy: no accepted version yet")
    for version, s in statements.items():
        text = ("sealed (updates open for committee members, or with a member's disclosed keys: --update-keys)"
                if s == "sealed"
                else "no differential privacy stated" if s is None else str(PrivacyStatement.from_dict(s)))
        print(f"  version {version} privacy: {text}")


def register(sub: Any) -> None:
    p = sub.add_parser("privacy", help="show your privacy ledger: each local data set's releases and the epsilon "
                                       "they spent (composed by the PRV accountant) against your budget")
    p.add_argument("--data", type=Path, help="only this data set (a folder with X.npy and y.npy, as for contribute)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_privacy)

"""Helpers shared by the brownie suites."""

from __future__ import annotations

import re

import brownie


def reverts_with(error: str, *args: object):
    """`with reverts_with("BountyNotOpen", 3, 2):` — a custom error and its arguments,
    as brownie decodes them ("BountyNotOpen: 3, 2"); addresses compare case-insensitively."""
    if not args:
        return brownie.reverts(revert_pattern=re.escape(error) + r"(:.*)?")
    shown = ", ".join(str(a) for a in args)
    return brownie.reverts(revert_pattern="(?i)" + re.escape(f"{error}: {shown}"))

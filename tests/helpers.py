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


def to_staking(registry) -> None:
    """Rule O7: mine until the next transaction lands in a registry staking half (stake,
    requestUnbond, setPolicy and sync revert in a drawing half; scripts/deploy.py's local
    period is 8 blocks)."""
    period = registry.drawPeriod()
    # both the block gas is estimated at (the latest) and the one the transaction lands in
    while any((n // period) % 2 == 1 for n in (brownie.chain.height, brownie.chain.height + 1)):
        brownie.chain.mine()


def mine_past(block: int) -> None:
    """Mine until the next transaction lands after `block` (a draw's seed block, rule C4)."""
    while brownie.chain.height < block:
        brownie.chain.mine()

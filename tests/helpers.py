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


def to_staking(registry, txs: int = 1) -> None:
    """Rule O7: mine until the next `txs` transactions all land in a registry staking half
    (stake, requestUnbond, setPolicy and sync revert in a drawing half; scripts/deploy.py's
    local period is 8 blocks, so `txs` must stay below it)."""
    period = registry.drawPeriod()
    assert 0 < txs < period, "a staking half holds fewer blocks"
    # the block gas is estimated at (the latest) and the blocks the transactions land in
    while any((n // period) % 2 == 1 for n in range(brownie.chain.height, brownie.chain.height + txs + 1)):
        brownie.chain.mine()


SEED_OFFSET = 2  # IOracleRegistry.SEED_OFFSET: a drawing half's seed block is its first + 2 (rule C4)


def mine_to_seed(draw_block: int) -> None:
    """Mine until the next transaction lands in the seed block of the drawing half that
    `draw_block` opens (rule C4: a draw records or reads the PREVRANDAO of that one block, and
    a half whose seed block recorded nothing lapses uncharged). Ganache mines a block per
    transaction, so the test's next transaction is that block's."""
    assert brownie.chain.height < draw_block + SEED_OFFSET, "the seed block is already mined"
    while brownie.chain.height < draw_block + SEED_OFFSET - 1:
        brownie.chain.mine()


def mine_past(block: int) -> None:
    """Mine until the next transaction lands after `block` (a draw's seed block, rule C4)."""
    while brownie.chain.height < block:
        brownie.chain.mine()

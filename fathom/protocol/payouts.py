"""One-off payouts: the Merkle trees that settlement commits to (rules U6 and P3).

A contributor who submits with `submitUpdateOnce` is not credited a claimable balance
at settlement. What it is owed (its stake back, less any slash, plus any reward) becomes
a leaf of its group's tree instead: submissions `32 * g .. 32 * g + 31` of a batch form
group `g`, and the market stores the top 224 bits of each group's root
(`payoutRoot(bountyId, batch, g)`). The contributor claims once, with
`claimPayout(token, bountyId, position, amount, proof)`.

The tree is complete and of depth 5: position `i % 32` holds
`keccak256(abi.encodePacked(account, uint96 amount, token))`, or 32 zero bytes where
nothing is owed through the tree; each node is `keccak256(left ++ right)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from eth_utils import keccak, to_bytes, to_checksum_address

GROUP = 32  # submissions per tree
DEPTH = 5  # log2(GROUP): the proof's length
ONE_OFF = 1 << 95  # bit 95 of a record's stake field: the submission came through submitUpdateOnce
ROOT_MASK = (1 << 256) - (1 << 32)  # the market keeps the top 224 bits of a root
EMPTY = b"\0" * 32


def leaf(account: str, amount: int, token: str) -> bytes:
    """The leaf for `amount` of `token` (address(0) for ETH) owed to `account`."""
    if not 0 < amount < ONE_OFF:
        raise ValueError(f"a one-off payout is between 1 and 2^95 - 1, not {amount}")
    return keccak(to_bytes(hexstr=to_checksum_address(account)) + amount.to_bytes(12, "big")
                  + to_bytes(hexstr=to_checksum_address(token)))


def position(batch: int, index: int) -> int:
    """claimPayout's `position` of submission `index` (within its batch) of `batch`."""
    if not 0 <= index < 256 or batch < 0:
        raise ValueError(f"no submission {index} of batch {batch}")
    return batch << 8 | index


@dataclass(frozen=True)
class GroupTree:
    """One group's tree: `leaves[i]` is position i's leaf (EMPTY where none)."""

    leaves: tuple[bytes, ...]

    @classmethod
    def of(cls, owed: Mapping[int, bytes]) -> "GroupTree":
        """From {position in the group (0-31): leaf}."""
        leaves = [EMPTY] * GROUP
        for i, lf in owed.items():
            if not 0 <= i < GROUP:
                raise ValueError(f"position {i} is outside a group of {GROUP}")
            leaves[i] = lf
        return cls(tuple(leaves))

    def _levels(self) -> list[list[bytes]]:
        levels = [list(self.leaves)]
        while len(levels[-1]) > 1:
            prev = levels[-1]
            levels.append([keccak(prev[2 * j] + prev[2 * j + 1]) for j in range(len(prev) // 2)])
        return levels

    @property
    def root(self) -> bytes:
        """The root as the market stores it (top 224 bits; the low 4 bytes zero)."""
        full = int.from_bytes(self._levels()[-1][0], "big")
        return (full & ROOT_MASK).to_bytes(32, "big")

    def proof(self, i: int) -> list[bytes]:
        """The 5 siblings from position i up to the root, leaf level first."""
        if self.leaves[i] == EMPTY:
            raise ValueError(f"nothing is owed at position {i} of this group")
        out = []
        for level in self._levels()[:-1]:
            out.append(level[i ^ 1])
            i >>= 1
        return out


def verify(root: bytes, lf: bytes, i: int, proof: list[bytes]) -> bool:
    """What claimPayout checks: the proof leads from `lf` at position i to `root`."""
    node = lf
    for k, sibling in enumerate(proof):
        node = keccak(node + sibling) if not (i >> k) & 1 else keccak(sibling + node)
    return int.from_bytes(node, "big") & ROOT_MASK == int.from_bytes(root, "big")


def owed(records: list[tuple], first_id: int, accepted: list[dict], slashed: list[dict]) -> dict[int, int]:
    """{index in the batch: amount} that a settled batch owes its one-off submissions.

    `records` are the batch's SubmissionRecords in id order (contributor, stake field,
    baseVersion, update), the stake field with its ONE_OFF bit; `accepted` and `slashed`
    the args of the settlement's UpdateMerged and StakeSlashed events. Rule R5: a merged
    submission is owed its stake and its part of the reward, a slashed one what was
    returned (nothing when all of it was burned), any other its stake. A merged payout of
    2^95 or more is credited to the claimable balance instead, so it has no leaf.
    """
    out: dict[int, int] = {}
    won = {int(e["submissionId"]): int(e["reward"]) for e in accepted}
    cut = {int(e["submissionId"]): int(e["returned"]) for e in slashed}
    for i, (_, field, _, _) in enumerate(records):
        if not int(field) & ONE_OFF:
            continue
        stake, sid = int(field) & (ONE_OFF - 1), first_id + i
        amount = stake + won[sid] if sid in won else cut.get(sid, stake)
        if 0 < amount < ONE_OFF:
            out[i] = amount
    return out


def trees(records: list[tuple], amounts: Mapping[int, int], token: str) -> dict[int, GroupTree]:
    """{group: its tree} for the amounts `owed` returns (index in the batch -> amount)."""
    groups: dict[int, dict[int, bytes]] = {}
    for i, amount in amounts.items():
        groups.setdefault(i // GROUP, {})[i % GROUP] = leaf(str(records[i][0]), amount, token)
    return {g: GroupTree.of(members) for g, members in groups.items()}


def claims(records: list[tuple], amounts: Mapping[int, int], token: str) -> dict[int, tuple[int, list[bytes]]]:
    """{index in the batch: (amount, proof)}: claimPayout's amount and proof for each of the
    amounts `owed` returns."""
    groups = trees(records, amounts, token)
    return {i: (amount, groups[i // GROUP].proof(i % GROUP)) for i, amount in amounts.items()}

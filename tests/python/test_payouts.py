"""fathom.protocol.payouts: the one-off payout trees (rules U6, P3), checked without a chain (the
brownie tests check the same trees against the contract's stored roots)."""

import pytest

from fathom.protocol.payouts import EMPTY, GROUP, ONE_OFF, GroupTree, claims, leaf, owed, position, trees, verify

A = "0x" + "aa" * 20
B = "0x" + "bb" * 20
TOKEN = "0x" + "cc" * 20
STAKE = 10**16


def record(who: str, stake: int, once: bool) -> tuple:
    return (who, stake | (ONE_OFF if once else 0), 0, (b"\1" * 32, 0x55))


def test_every_proof_leads_to_the_root_and_a_changed_leaf_or_position_does_not():
    tree = GroupTree.of({0: leaf(A, 5, TOKEN), 7: leaf(B, 6, TOKEN), 31: leaf(A, 7, TOKEN)})
    assert tree.root[-4:] == b"\0\0\0\0"  # the market keeps the top 224 bits
    for i, amount, who in ((0, 5, A), (7, 6, B), (31, 7, A)):
        proof = tree.proof(i)
        assert len(proof) == 5
        assert verify(tree.root, leaf(who, amount, TOKEN), i, proof)
        assert not verify(tree.root, leaf(who, amount + 1, TOKEN), i, proof)
        assert not verify(tree.root, leaf(who, amount, A), i, proof)  # another token
        assert not verify(tree.root, leaf(who, amount, TOKEN), i ^ 1, proof)
    with pytest.raises(ValueError):
        tree.proof(3)  # nothing owed there


def test_a_leaf_holds_between_1_and_2_to_the_95_minus_1():
    assert leaf(A, ONE_OFF - 1, TOKEN) != leaf(A, ONE_OFF - 2, TOKEN)
    for bad in (0, ONE_OFF, -1):
        with pytest.raises(ValueError):
            leaf(A, bad, TOKEN)
    with pytest.raises(ValueError):
        GroupTree.of({GROUP: leaf(A, 1, TOKEN)})
    with pytest.raises(ValueError):
        position(0, 256)
    assert position(3, 5) == 3 << 8 | 5


def test_owed_follows_the_outcome_of_each_one_off_submission_only():
    recs = [record(A, STAKE, True), record(B, STAKE, False), record(A, STAKE, True), record(B, STAKE, True),
            record(A, STAKE, True)]
    first = 40
    accepted = [{"submissionId": 42, "reward": 123}]
    slashed = [{"submissionId": 43, "returned": STAKE // 2}, {"submissionId": 44, "returned": 0}]
    got = owed(recs, first, accepted, slashed)
    # 0 rejected: its stake; 1 staked by transfer: a balance, no leaf; 2 accepted; 3 slashed;
    # 4 slashed to nothing: no leaf
    assert got == {0: STAKE, 2: STAKE + 123, 3: STAKE // 2}
    # an accepted payout too large for a leaf goes to the balance
    assert 2 not in owed(recs, first, [{"submissionId": 42, "reward": ONE_OFF}], slashed)


def test_trees_put_each_submission_in_its_group_of_32():
    recs = [record(A if i % 2 else B, STAKE, True) for i in range(40)]
    amounts = owed(recs, 0, [], [])
    groups = trees(recs, amounts, TOKEN)
    assert sorted(groups) == [0, 1]
    assert groups[1].leaves[3] == leaf(recs[35][0], STAKE, TOKEN)
    assert groups[1].leaves[8:] == (EMPTY,) * 24  # past the batch's 40 submissions
    assert verify(groups[1].root, leaf(recs[35][0], STAKE, TOKEN), 3, groups[1].proof(3))
    # claimPayout's arguments for every payout: each proof leads to its group's root
    for i, (amount, proof) in claims(recs, amounts, TOKEN).items():
        assert amount == amounts[i]
        assert verify(groups[i // GROUP].root, leaf(recs[i][0], amount, TOKEN), i % GROUP, proof)

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;


import {DrawTestBase} from "./utils/DrawTestBase.sol";
import {SEED_OFFSET} from "../../interfaces/IOracleRegistry.sol";
import {IBountyMarketTypes} from "../../interfaces/IBountyMarket.sol";

/// @dev Review 10 (session 10's R12 abstention, C7 sit-out, R3-2/R3-4/R3-5 draw fixes): its proofs
///      of concept (/work/notes/s10_Review10.t.sol), inverted: each test asserts that its attack
///      now fails. Its S1, S1b and S2 are in Abstention.t.sol, beside the abstention they
///      attack; its D1, D3 and N1 are the node's (tests/python).

contract Review10DrawTest is DrawTestBase {
    function setUp() public {
        _deploy(100_000 ether);
    }

    function _drawAt(uint256 id, bytes32 r) internal returns (address[] memory m) {
        vm.roll(market.getBounty(id).drawBlock + SEED_OFFSET);
        vm.prevrandao(r);
        market.drawCommittee(id);
        (m,,) = market.getCommittee(id);
    }

    /// @dev D4: the attacker holds the lowest-id draw armed in the half (a reward-0 decoy) and,
    ///      disliking its real bounty's draw, cancels the decoy ahead of the nodes in the seed
    ///      block, so that their first draw (of the decoy) reverted with the seed's recording and
    ///      every draw of the half lapsed uncharged: a re-roll for one draw deposit. drawCommittee
    ///      now records the seed before anything that can revert, and an ended bounty's draw
    ///      returns: the seed stands and the real bounty is drawn with it.
    function test_attack_D4_cancelling_the_first_drawn_decoy_in_the_seed_block_rerolls_every_draw_of_the_half() public {
        for (uint256 i = 0; i < 16; ++i) _stake(_oracle(i), 2 ether);
        for (uint256 j = 0; j < 3; ++j) _stake(mine[j], 2 ether);
        _toStaking();
        IBountyMarketTypes.BountyParams memory d = _drawnParams(3);
        d.reward = 0;
        uint256 decoy = _open(d);
        IBountyMarketTypes.BountyParams memory p = _drawnParams(3);
        p.reward = 100 ether;
        uint256 id = _open(p);
        uint256 at = market.getBounty(id).drawBlock;
        assertEq(market.getBounty(decoy).drawBlock, at, "the decoy is armed in the same half");
        vm.roll(at + SEED_OFFSET);
        vm.prevrandao(keccak256("a seed the attacker dislikes"));
        uint256 snap = vm.snapshotState();
        market.drawCommittee(id);
        (address[] memory seen,,) = market.getCommittee(id);
        vm.revertToState(snap);
        vm.prank(requester);
        market.cancel(decoy); // ahead of the nodes in the seed block
        market.drawCommittee(decoy); // the nodes' first draw: returns, and records the seed
        assertTrue(registry.seedOf(at / registry.drawPeriod()) != 0, "the seed block's seed is recorded");
        vm.roll(block.number + 1);
        market.drawCommittee(id);
        (address[] memory m,,) = market.getCommittee(id);
        assertEq(market.getBounty(id).drawBlock, 0, "drawn, not re-armed");
        for (uint256 i = 0; i < 3; ++i) assertEq(m[i], seen[i], "the committee the seed gave, not a re-roll");
    }
}

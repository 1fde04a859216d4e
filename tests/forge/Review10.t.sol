// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;


import {Vm} from "./utils/Test.sol";
import {DrawTestBase} from "./utils/DrawTestBase.sol";
import {SEED_OFFSET} from "../../interfaces/IOracleRegistry.sol";
import {IBountyMarketTypes, IBountyMarketErrors, IBountyMarketEvents} from "../../interfaces/IBountyMarket.sol";

/// @dev Review 10 (session 10's R12 abstention, C7 sit-out, R3-2/R3-4/R3-5 draw fixes): its proofs
///      of concept (/work/notes/s10_Review10.t.sol), inverted: each test asserts that its attack
///      now fails. Its S1, S1b and S2 are in Abstention.t.sol, beside the abstention they
///      attack; its D1, D3 and N1 are the node's (tests/python). Review 11's Z (zombie armed
///      draws), T (a missed seed block) and F (D2's timer reset for nothing), the follow-ups of
///      D4 and D2, are here too (/work/notes/s11_Review11.t.sol, inverted).

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

    /// @dev D2: R3-5's decoys plus timing. Decoys lock every honest oracle's stake, so its drawn
    ///      seat waits (C6). The requester then ends a decoy so that the member's bond is
    ///      released in a staking half, and orders vacateSeat right behind the release: for one
    ///      block the member held free stake and had not joined, "dead or unwilling", and was
    ///      vacated, excluded and redrawn, uncharged (the review's coalition of 15.8% held all 3
    ///      seats after 15 raced vacates). A seat now counts as idle only a whole period after
    ///      its holder's free stake last grew: the member joins on its next tick. One that still
    ///      does not join a period later is vacated as before.
    function test_attack_D2_the_requester_backruns_the_release_of_a_decoy_bond_with_vacateSeat() public {
        for (uint256 i = 0; i < 16; ++i) _stake(_oracle(i), 2 ether);
        for (uint256 j = 0; j < 3; ++j) _stake(mine[j], 2 ether);
        vm.startPrank(address(market));
        for (uint256 i = 0; i < 16; ++i) registry.bond(_oracle(i), 2 ether); // the decoys' bonds
        vm.stopPrank();
        IBountyMarketTypes.BountyParams memory p = _drawnParams(3);
        p.deadline = uint64(block.timestamp + 30 days);
        uint256 id = _open(p);
        uint256 per = registry.drawPeriod();
        address[] memory m;
        address honest;
        address dead;
        for (uint256 round = 0; round < 40 && dead == address(0); ++round) {
            m = _drawAt(id, keccak256(abi.encode("race", round)));
            for (uint256 i = 0; i < m.length; ++i) {
                if (m[i] == address(0) || _isMine(m[i])) continue;
                if (honest == address(0)) honest = m[i];
                else if (dead == address(0)) dead = m[i];
            }
        }
        assertTrue(dead != address(0), "two honest seats drawn");
        vm.warp(block.timestamp + p.scoringTimeout);
        vm.roll((block.number / per + 3) * per); // a staking half after the join window
        vm.startPrank(address(market)); // the requester ends its decoys: both bonds released
        registry.release(honest, 2 ether);
        registry.release(dead, 2 ether);
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.SeatNotVacatable.selector, id, honest));
        vm.prank(requester);
        market.vacateSeat(id, honest); // ordered right behind the release: refused
        vm.roll(block.number + 1);
        vm.prank(honest);
        market.joinCommittee(id); // the node's next tick
        vm.roll(block.number + 2 * per); // a whole period later, the other never joined: idle
        if ((block.number / per) & 1 == 1) vm.roll((block.number / per + 1) * per); // vacates wait for a staking half
        vm.prank(requester);
        market.vacateSeat(id, dead);
        (address[] memory after_, uint256 opted,) = market.getCommittee(id);
        uint256 seat;
        for (uint256 i = 0; i < after_.length; ++i) if (after_[i] == honest) seat = i + 1;
        assertTrue(seat != 0 && opted & (1 << (seat - 1)) != 0, "the member freed by the release joined and holds its seat");
    }

    /// @dev Review 11, Z1: drawCommittee of an ended bounty recorded the seed and returned, but
    ///      left `drawBlock` armed and emitted nothing, so every later call succeeded as a no-op
    ///      and every node re-sent it on every tick for ever (39,613 gas each). Now it records the
    ///      seed, disarms the draw and says so (CommitteeDrawDropped): a second call reverts
    ///      DrawNotDue, which the nodes' sends meet before they pay for anything.
    function test_attack_Z1_an_ended_bounty_keeps_its_draw_armed_and_every_draw_of_it_succeeds_as_a_no_op() public {
        for (uint256 i = 0; i < 6; ++i) _stake(_oracle(i), 2 ether);
        _toStaking();
        IBountyMarketTypes.BountyParams memory p = _drawnParams(3);
        p.reward = 0;
        p.oracleFeePerBatch = 0;
        p.revealBond = 0;
        p.deadline = uint64(block.timestamp + 1);
        uint256 id = _open(p);
        uint256 at = market.getBounty(id).drawBlock;
        vm.warp(block.timestamp + 2); // ended by its deadline before its drawing half
        vm.roll(at + SEED_OFFSET);
        vm.recordLogs();
        market.drawCommittee(id);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bool dropped;
        for (uint256 l = 0; l < logs.length; ++l) {
            dropped = dropped || (logs[l].emitter == address(market) && logs[l].topics[0] == IBountyMarketEvents.CommitteeDrawDropped.selector
                && uint256(logs[l].topics[1]) == id && abi.decode(logs[l].data, (uint256)) == at);
        }
        assertTrue(dropped, "CommitteeDrawDropped(id, at): the nodes forget it");
        assertEq(market.getBounty(id).drawBlock, 0, "disarmed");
        assertTrue(registry.seedOf(at / registry.drawPeriod()) != 0, "the seed is still recorded first (D4)");
        for (uint256 k = 0; k < 3; ++k) {
            vm.roll(block.number + 7);
            vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.DrawNotDue.selector, id, 0));
            market.drawCommittee(id); // no no-op for anyone to pay for
            if (k == 1) market.close(id);
        }
    }

    /// @dev Review 11, Z2: a member leaving a drawn committee after the deadline (Settling,
    ///      nothing reportable) took C2's early path, which emptied its seat and armed a draw on
    ///      the ended bounty: a zombie for the price of one leaveCommittee. Now the leave of an
    ///      ended bounty with nothing reportable just releases the bond, as after close: no draw
    ///      armed, the seat kept.
    function test_attack_Z2_leaving_after_the_deadline_arms_a_draw_on_an_ended_bounty_for_ever() public {
        for (uint256 i = 0; i < 6; ++i) _stake(_oracle(i), 2 ether);
        _toStaking();
        IBountyMarketTypes.BountyParams memory p = _drawnParams(3);
        p.deadline = uint64(block.timestamp + 1 days);
        uint256 id = _open(p);
        address[] memory m = _drawAt(id, keccak256("z2"));
        address leaver = m[0];
        vm.prank(leaver);
        market.joinCommittee(id);
        assertTrue(registry.lockedOf(leaver) != 0, "bonded");
        vm.warp(block.timestamp + 2 days);
        uint256 dp = registry.drawPeriod();
        vm.roll((block.number / (2 * dp) + 1) * 2 * dp + dp); // a drawing half: not even SeatsFrozen
        assertEq(uint256(market.state(id)), uint256(IBountyMarketTypes.BountyState.Settling), "Settling");
        vm.prank(leaver);
        market.leaveCommittee(id);
        assertEq(market.getBounty(id).drawBlock, 0, "no draw armed on an ended bounty");
        assertEq(registry.lockedOf(leaver), 0, "its bond released");
        (address[] memory after_,,) = market.getCommittee(id);
        assertEq(after_[0], leaver, "its seat kept, as after close");
        vm.prank(leaver);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.NotOptedIn.selector, id, leaver));
        market.leaveCommittee(id); // once
    }

    /// @dev Review 11, F: D2's idle clock restarted on any stake(), 0 wei included, so a coalition
    ///      member drawn to an honest bounty that never joined and staked 0 wei twice a period was
    ///      never vacatable (the PoC: 40 periods, 320 vacates refused, for 312,720 gas). Now only
    ///      a stake of at least the bond floor (minStake / 16) restarts it: the 0-wei and 1-wei
    ///      stakes leave the seat vacatable; a real top-up of the floor still protects a member
    ///      about to join (D2).
    function test_attack_F_a_zero_value_stake_every_period_keeps_an_idle_drawn_seat_unvacatable() public {
        for (uint256 i = 0; i < 16; ++i) _stake(_oracle(i), 2 ether);
        for (uint256 j = 0; j < 3; ++j) _stake(mine[j], 2 ether);
        _toStaking();
        IBountyMarketTypes.BountyParams memory p = _drawnParams(3);
        p.deadline = uint64(block.timestamp + 30 days);
        uint256 id = _open(p);
        address[] memory m;
        address idle;
        for (uint256 round = 0; round < 60 && idle == address(0); ++round) {
            m = _drawAt(id, keccak256(abi.encode("dust", round)));
            for (uint256 i = 0; i < m.length; ++i) if (_isMine(m[i])) idle = m[i];
            if (idle == address(0)) { // redraw by vacating all (test setup only)
                vm.warp(block.timestamp + p.scoringTimeout);
                vm.roll((block.number / registry.drawPeriod() + 3) * registry.drawPeriod());
                _toStaking();
                for (uint256 i = 0; i < m.length; ++i) if (m[i] != address(0)) market.vacateSeat(id, m[i]);
            }
        }
        assertTrue(idle != address(0), "a coalition member drawn");
        uint256 per = registry.drawPeriod();
        vm.warp(block.timestamp + p.scoringTimeout);
        vm.roll((block.number / per + 2) * per); // a staking half after the window
        _toStaking();
        uint256 floor = registry.minStake() / 16;
        vm.deal(idle, floor + 1);
        uint256 snap = vm.snapshotState();
        vm.prank(idle);
        registry.stake{value: floor}(); // a real top-up: a whole period's grace (D2)
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.SeatNotVacatable.selector, id, idle));
        market.vacateSeat(id, idle);
        vm.revertToState(snap);
        vm.prank(idle);
        registry.stake{value: 0}();
        vm.roll(block.number + 1);
        vm.prank(idle);
        registry.stake{value: 1}();
        market.vacateSeat(id, idle); // dust restarts nothing: the idle seat goes
        (address[] memory after_,,) = market.getCommittee(id);
        for (uint256 i = 0; i < after_.length; ++i) assertTrue(after_[i] != idle, "vacated");
    }
}

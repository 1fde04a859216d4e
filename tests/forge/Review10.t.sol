// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test, console} from "./utils/Test.sol";
import {MarketModel} from "./utils/MarketModel.sol";
import {MarketSetup} from "./utils/MarketSetup.sol";
import {DrawTestBase} from "./utils/DrawTestBase.sol";
import {OracleRegistry} from "../../contracts/OracleRegistry.sol";
import {SEED_OFFSET} from "../../interfaces/IOracleRegistry.sol";
import {IBountyMarket, IBountyMarketTypes, IBountyMarketErrors} from "../../interfaces/IBountyMarket.sol";

/// @dev Review 10 (session 10's R12 abstention, C7 sit-out, R3-2/R3-4/R3-5 draw fixes): its proofs
///      of concept (/work/notes/s10_Review10.t.sol), inverted: each test asserts that its attack
///      now fails. The review's D1-D3 and N1 are the node's (tests/python).

/// ------------------------------------------------------------------------------------------
/// S1: a member that sits a batch out (R12 abstention, C7 standing sit-out, R11 late opt-in)
///     can still reveal, with a commitment it made during an EARLIER batch to this batch's
///     report (the batch number is in the digest, but the member chooses the digest; the slot
///     is never cleared between batches and `_checkReport` never reads ST_LATE).
/// ------------------------------------------------------------------------------------------
contract Review10SitOutTest is Test, IBountyMarketTypes {
    address internal constant ETH = address(0);
    IBountyMarket internal market;
    OracleRegistry internal registry;
    address internal requester = address(0xA11CE);
    address internal contributor = address(0xC0);
    address[] internal oracles;

    function setUp() public {
        MarketSetup.Deployment memory d = MarketSetup.deploy(address(this), address(this));
        market = d.market;
        registry = d.registry;
        oracles = MarketSetup.stakeOracles(registry, 5);
        vm.deal(contributor, 1_000 ether);
    }

    function _open(uint256 size) internal returns (uint256 id) {
        address[] memory c = new address[](size);
        for (uint256 i = 0; i < size; ++i) c[i] = oracles[i];
        BountyParams memory p = MarketSetup.params(ETH, c);
        p.batchSize = 2;
        p.maxBatches = 20;
        uint256 total = MarketSetup.escrow(p);
        vm.deal(requester, total);
        vm.prank(requester);
        id = market.createBounty{value: total}(p);
        for (uint256 i = 0; i < size; ++i) {
            vm.prank(c[i]);
            market.joinCommittee(id);
        }
        for (uint256 i = 0; i < size; ++i) {
            vm.prank(c[i]);
            market.reportBaseline(id, 5_000);
        }
    }

    function _fill(uint256 id, uint256 batch) internal returns (SubmissionRecord[] memory recs) {
        BountyView memory v = market.getBounty(id);
        uint256 size = v.batchSize;
        recs = new SubmissionRecord[](size);
        for (uint256 i = 0; i < size; ++i) {
            recs[i] = SubmissionRecord(contributor, v.stake, 0, MarketSetup.cid("update", batch * size + i));
            vm.prank(contributor);
            market.submitUpdate{value: v.stake}(id, 0, recs[i].update);
        }
    }

    function _report(uint256 n, uint32 score) internal pure returns (BatchReport memory) {
        uint32[] memory s = new uint32[](n);
        for (uint256 i = 0; i < n; ++i) s[i] = score;
        return BatchReport(MarketModel.encode(s, type(uint32).max, new uint16[](n)), Cid(bytes32(0), 0));
    }

    function _commit(uint256 id, uint256 batch, address o, BatchReport memory r) internal {
        vm.prank(o);
        market.commitReport(id, batch, MarketSetup.reportCommitment(id, batch, o, r));
    }

    function _reveal(uint256 id, uint256 batch, address o, BatchReport memory r) internal {
        vm.prank(o);
        market.report(id, batch, r.scores, r.merged, MarketSetup.reportSalt(id, batch, o));
    }

    function _toTimeout(uint256 id, uint256 batch) internal {
        (,,,,, uint256 timeoutAt) = market.getBatch(id, batch);
        if (block.timestamp < timeoutAt) vm.warp(timeoutAt);
    }

    function _stakeOf(address o) internal view returns (uint256 st) {
        (st,,) = registry.oracleInfo(o);
    }

    /// @dev Committee [A, B, X] (quorum 2). During batch 0, X "commits" to its batch-1 report
    ///      and never reveals batch 0, which A and B decide. In batch 1 X abstains (R12) once A and
    ///      B committed, then tried to reveal its forward commitment once A's and B's reveals were
    ///      public, to be paid for a batch it sat out (and to keep silent, uncharged, had they
    ///      disagreed). R11 now opens only a commitment made in this batch: the reveal is refused,
    ///      the batch settles at once on A and B (every member on duty reported), and X earns nothing.
    function test_attack_S1_a_member_sitting_out_reveals_a_report_committed_in_an_earlier_batch() public {
        uint256 id = _open(3);
        address x = oracles[2];
        _fill(id, 0);
        SubmissionRecord[] memory recs1 = _fill(id, 1); // batch 1 fills while batch 0 is pending
        _batch0(id, false);
        _commit(id, 1, oracles[0], _report(2, 6_000));
        _commit(id, 1, oracles[1], _report(2, 6_000));
        vm.prank(x);
        market.commitReport(id, 1, bytes32(0)); // R12: X sits batch 1 out
        _logCommits(id);
        _reveal(id, 1, oracles[0], _report(2, 6_000));
        _reveal(id, 1, oracles[1], _report(2, 6_000));
        BatchReport memory r = _report(2, 6_000);
        vm.prank(x);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.RevealMismatch.selector, id, 1, x));
        market.report(id, 1, r.scores, r.merged, MarketSetup.reportSalt(id, 1, x));
        uint256 feeX = market.claimable(x, ETH);
        BatchReport[] memory two = new BatchReport[](2);
        (two[0], two[1]) = (_report(2, 6_000), _report(2, 6_000));
        market.settleBatch(id, 1, recs1, two); // before the timeout: every member on duty reported
        assertEq(market.getBounty(id).nextBatch, 2, "batch 1 decided without X");
        assertEq(market.claimable(x, ETH), feeX, "X is not paid for a batch it sat out");
    }

    /// @dev S2: X pre-commits its batch-1 report during batch 0 and never commits in batch 1, so
    ///      B (which cannot fetch an update served selectively) sees one commitment, below the
    ///      quorum, cannot abstain and commits INVALID (F8 case 3). X then tried to reveal the
    ///      true scores with A, making B the deviant. X's reveal is now refused: A and B disagree,
    ///      no quorum agrees, the batch is voided, and the charge falls on X (on duty, silent),
    ///      never on B.
    function test_attack_S2_a_hidden_forward_commitment_frames_the_member_that_could_not_fetch() public {
        uint256 id = _open(3);
        (address a, address b, address x) = (oracles[0], oracles[1], oracles[2]);
        _fill(id, 0);
        SubmissionRecord[] memory recs1 = _fill(id, 1);
        _batch0(id, false);
        _commit(id, 1, a, _report(2, 6_000));
        BatchReport memory invalid = _report(2, type(uint32).max);
        _commit(id, 1, b, invalid);
        _toTimeout(id, 1);
        vm.warp(block.timestamp - 1); // the reveal phase (last quarter), before the timeout
        _reveal(id, 1, a, _report(2, 6_000));
        _reveal(id, 1, b, invalid);
        BatchReport memory r = _report(2, 6_000);
        vm.prank(x);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.RevealMismatch.selector, id, 1, x));
        market.report(id, 1, r.scores, r.merged, MarketSetup.reportSalt(id, 1, x));
        _toTimeout(id, 1);
        (uint256 stakeB, uint256 stakeX) = (_stakeOf(b), _stakeOf(x));
        BatchReport[] memory two = new BatchReport[](2);
        (two[0], two[1]) = (_report(2, 6_000), invalid);
        market.settleBatch(id, 1, recs1, two);
        assertEq(_stakeOf(b), stakeB, "the member that could not fetch is not charged");
        assertLt(_stakeOf(x), stakeX, "the member that hid its commitment is charged for silence");
    }

    /// @dev Batch 0 of S1: A and B commit and reveal; X's "commitment" is to its batch-1
    ///      report; A and B decide batch 0 at the timeout, X's silence costs it nothing.
    function _batch0(uint256 id, bool standing) internal {
        address x = oracles[2];
        SubmissionRecord[] memory recs0 = _recs(id, 0);
        _commit(id, 0, oracles[0], _report(2, 6_000));
        _commit(id, 0, oracles[1], _report(2, 6_000));
        vm.prank(x);
        market.commitReport(id, 0, MarketSetup.reportCommitment(id, 1, x, _report(2, 6_000)));
        if (standing) {
            vm.prank(x);
            market.sitOut(id, true); // from batch 1 on (batch 0 is under way)
        }
        _reveal(id, 0, oracles[0], _report(2, 6_000));
        _reveal(id, 0, oracles[1], _report(2, 6_000));
        _toTimeout(id, 0);
        uint256 stakeX0 = _stakeOf(x);
        BatchReport[] memory two = new BatchReport[](2);
        (two[0], two[1]) = (_report(2, 6_000), _report(2, 6_000));
        market.settleBatch(id, 0, recs0, two);
        assertEq(_stakeOf(x), stakeX0, "X's unrevealed batch-0 commitment cost nothing (batch decided)");
    }

    function _recs(uint256 id, uint256 batch) internal view returns (SubmissionRecord[] memory recs) {
        BountyView memory v = market.getBounty(id);
        recs = new SubmissionRecord[](v.batchSize);
        for (uint256 i = 0; i < recs.length; ++i) {
            recs[i] = SubmissionRecord(contributor, v.stake, 0, MarketSetup.cid("update", batch * v.batchSize + i));
        }
    }

    function _three() internal pure returns (BatchReport[] memory three) {
        three = new BatchReport[](3);
        (three[0], three[1], three[2]) = (_report(2, 6_000), _report(2, 6_000), _report(2, 6_000));
    }

    function _logCommits(uint256 id) internal view {
        (uint16 committed,, uint16 sittingOut) = market.getCommits(id, 1);
        console.log(string.concat("batch 1: committed mask ", vm.toString(uint256(committed)), ", sittingOut mask ", vm.toString(uint256(sittingOut))));
        assertEq(sittingOut, 4, "X sits batch 1 out");
    }

    /// @dev The same through C7: a member holding a standing sit-out reveals a forward
    ///      commitment; refused, so it is neither paid nor deviant.
    function test_attack_S1b_a_standing_sit_out_still_reports_and_is_paid() public {
        uint256 id = _open(3);
        address x = oracles[2];
        _fill(id, 0);
        _fill(id, 1);
        _batch0(id, true);
        _commit(id, 1, oracles[0], _report(2, 6_000));
        _commit(id, 1, oracles[1], _report(2, 6_000));
        _logCommits(id); // X holds a standing sit-out for batch 1 (C7)
        _reveal(id, 1, oracles[0], _report(2, 6_000));
        BatchReport memory r = _report(2, 6_000);
        vm.prank(x);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.RevealMismatch.selector, id, 1, x));
        market.report(id, 1, r.scores, r.merged, MarketSetup.reportSalt(id, 1, x));
    }
}

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

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test, Vm} from "./utils/Test.sol";
import {MarketModel} from "./utils/MarketModel.sol";
import {MarketSetup} from "./utils/MarketSetup.sol";
import {OracleRegistry} from "../../contracts/OracleRegistry.sol";
import {IBountyMarket, IBountyMarketTypes, IBountyMarketEvents, IBountyMarketErrors} from "../../interfaces/IBountyMarket.sol";

/// @dev Rule R11 against late opt-ins (the R11 review's F1 and F2): a member that opts in while
///      a batch is reportable sits that batch out. It can neither re-open the commit phase once
///      every member on duty committed (and so copy a reveal it sees pending), nor be charged
///      when the batch is voided.
contract R11LateJoinTest is Test, IBountyMarketTypes {
    address internal constant ETH = address(0);

    IBountyMarket internal market;
    OracleRegistry internal registry;
    address internal requester = address(0xA11CE);
    address internal keeper = address(0xC0FFEE);
    address internal alice = address(0xB001); // contributor
    address internal bob = address(0xB002); // contributor
    address[] internal oracles;

    function setUp() public {
        MarketSetup.Deployment memory d = MarketSetup.deploy(address(this), address(this));
        market = d.market;
        registry = d.registry;
        oracles = MarketSetup.stakeOracles(registry, 4);
    }

    // ------------------------------------------------------------------------- helpers

    /// @dev A bounty with committee oracles[0..2], batches of 2; only the first `joiners` members
    ///      opt in now (the rest stay seated, not opted in); the baseline is set at 5,000.
    function _open(uint256 joiners, uint32 timeout) internal returns (uint256 id, BountyParams memory p) {
        address[] memory c = new address[](3);
        for (uint256 i = 0; i < 3; ++i) c[i] = oracles[i];
        p = MarketSetup.params(ETH, c);
        p.batchSize = 2;
        p.scoringTimeout = timeout;
        uint256 total = MarketSetup.escrow(p);
        vm.deal(requester, total);
        vm.prank(requester);
        id = market.createBounty{value: total}(p);
        for (uint256 i = 0; i < joiners; ++i) {
            vm.prank(c[i]);
            market.joinCommittee(id);
        }
        for (uint256 i = 0; i < joiners; ++i) {
            vm.prank(c[i]);
            market.reportBaseline(id, 5_000);
        }
        if (joiners < 3) {
            vm.warp(block.timestamp + timeout);
            market.settleBaseline(id);
        }
    }

    function _fill(uint256 id) internal returns (SubmissionRecord[] memory recs) {
        BountyView memory v = market.getBounty(id);
        recs = new SubmissionRecord[](2);
        recs[0] = SubmissionRecord(alice, v.stake, 0, MarketSetup.cid("update", 0));
        recs[1] = SubmissionRecord(bob, v.stake, 0, MarketSetup.cid("update", 1));
        for (uint256 i = 0; i < 2; ++i) {
            vm.deal(recs[i].contributor, v.stake);
            vm.prank(recs[i].contributor);
            market.submitUpdate{value: v.stake}(id, 0, recs[i].update);
        }
    }

    /// @dev What an honest member computes: both updates beat the head (5,000), merged 6,200.
    function _honest() internal pure returns (BatchReport memory) {
        uint32[] memory s = new uint32[](2);
        (s[0], s[1]) = (6_000, 5_500);
        uint16[] memory sh = new uint16[](2);
        (sh[0], sh[1]) = (8_000, 2_000);
        return BatchReport(MarketModel.encode(s, 6_200, sh), MarketSetup.cid("merged", 0));
    }

    /// @dev A lazy member's placeholder commitment (it has not scored anything).
    function _junk() internal pure returns (BatchReport memory) {
        uint32[] memory s = new uint32[](2);
        uint16[] memory sh = new uint16[](2);
        return BatchReport(MarketModel.encode(s, 0, sh), MarketSetup.cid("nothing", 0));
    }

    function _commit(uint256 id, address o, BatchReport memory r) internal {
        vm.prank(o);
        market.commitReport(id, 0, MarketSetup.reportCommitment(id, 0, o, r));
    }

    function _reveal(uint256 id, address o, BatchReport memory r) internal {
        vm.prank(o);
        market.report(id, 0, r.scores, r.merged, MarketSetup.reportSalt(id, 0, o));
    }

    function _slashed(Vm.Log[] memory logs, address o) internal view returns (bool) {
        for (uint256 l = 0; l < logs.length; ++l) {
            if (logs[l].emitter != address(market) || logs[l].topics[0] != IBountyMarketEvents.OracleSlashed.selector) continue;
            if (address(uint160(uint256(logs[l].topics[3]))) == o && abi.decode(logs[l].data, (uint256)) != 0) return true;
        }
        return false;
    }

    function _voided(Vm.Log[] memory logs) internal view returns (bool) {
        for (uint256 l = 0; l < logs.length; ++l) {
            if (logs[l].emitter == address(market) && logs[l].topics[0] == IBountyMarketEvents.BatchVoided.selector) return true;
        }
        return false;
    }

    function _reportedMask(uint256 id) internal view returns (uint16 mask) {
        (,, mask,,,) = market.getBatch(id, 0);
    }

    // ------------------------------------------ F1: a late opt-in re-opens the commit phase

    /// @dev Committee [A, B, L], A and B opted in: batch 0 fills, A and B commit the honest
    ///      report (every member on duty committed: reveals open), then L opts in, as it would
    ///      to front-run A's pending reveal.
    function _committedThenLateJoin() internal returns (uint256 id, SubmissionRecord[] memory recs) {
        (id,) = _open(2, 3600);
        recs = _fill(id);
        _commit(id, oracles[0], _honest());
        _commit(id, oracles[1], _honest());
        vm.prank(oracles[2]);
        market.joinCommittee(id);
    }

    /// @dev Committee [A, B, L]; A and B opted in, L seated but not yet. A and B commit: every
    ///      member on duty committed, so the reveal phase is open and A broadcasts its reveal.
    ///      L front-runs it with joinCommittee and a commitment to A's report. The join no
    ///      longer re-opens commits: L sits the batch out (SitsOutBatch), A's reveal lands, and
    ///      L can report nothing, so it is paid nothing.
    function test_attack_a_late_opt_in_reopens_commits_to_copy_a_pending_reveal() public {
        (uint256 id, SubmissionRecord[] memory recs) = _committedThenLateJoin();
        (address a, address b, address lazy) = (oracles[0], oracles[1], oracles[2]);
        BatchReport memory honest = _honest();
        (uint16 committed,, uint16 out) = market.getCommits(id, 0);
        assertEq(committed, 3, "A and B committed");
        assertEq(out, 4, "L sits the batch out");
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.SitsOutBatch.selector, id, 0, lazy));
        vm.prank(lazy);
        market.commitReport(id, 0, MarketSetup.reportCommitment(id, 0, lazy, honest));
        _reveal(id, a, honest); // still open: the join changed nothing for this batch
        _reveal(id, b, honest);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.RevealMismatch.selector, id, 0, lazy));
        vm.prank(lazy);
        market.report(id, 0, honest.scores, honest.merged, MarketSetup.reportSalt(id, 0, lazy));
        BatchReport[] memory reps = new BatchReport[](2);
        (reps[0], reps[1]) = (honest, honest);
        uint256 feeL = market.claimable(lazy, ETH);
        uint256 feeA = market.claimable(a, ETH);
        vm.prank(keeper);
        market.settleBatch(id, 0, recs, reps); // every member on duty reported: no timeout wait
        assertEq(market.claimable(lazy, ETH), feeL, "the copier is paid nothing");
        assertGt(market.claimable(a, ETH), feeA, "the member that scored is paid");
        assertEq(market.getBounty(id).versionCount, 1, "decided");
        // from the next batch on, L is on duty
        _fill(id);
        (,, out) = market.getCommits(id, 1);
        assertEq(out, 0, "on duty for the next batch");
    }

    /// @dev The griefing form: a join between the last commitment and the first reveal no
    ///      longer makes pending reveals revert (and leak their reports while commits re-open).
    function test_attack_a_late_opt_in_makes_pending_reveals_revert_and_leak() public {
        (uint256 id,) = _committedThenLateJoin();
        _reveal(id, oracles[0], _honest()); // lands: reveals stay open
        assertEq(_reportedMask(id), 1, "A reported");
    }

    // ----------------------- F2: a member that could never commit is charged on the void

    /// @dev Committee [A, D, N]; A and D opted in. A and D commit, A reveals; N opts in (a
    ///      redrawn seat, a late node) and can neither commit nor report; D withholds its reveal.
    ///      The batch is voided at the timeout: D is charged, N (which sat it out) is not.
    function test_attack_a_member_that_opts_in_after_commits_close_is_charged_on_the_void() public {
        (uint256 id, BountyParams memory p) = _open(2, 3600);
        SubmissionRecord[] memory recs = _fill(id);
        (address a, address d, address late) = (oracles[0], oracles[1], oracles[2]);
        BatchReport memory honest = _honest();
        _commit(id, a, honest);
        _commit(id, d, _junk());
        _reveal(id, a, honest);
        vm.prank(late);
        market.joinCommittee(id);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.SitsOutBatch.selector, id, 0, late));
        vm.prank(late);
        market.commitReport(id, 0, MarketSetup.reportCommitment(id, 0, late, honest));
        vm.warp(block.timestamp + p.scoringTimeout + 1);
        vm.recordLogs();
        vm.prank(keeper);
        market.voidBatch(id, 0, recs);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertTrue(_voided(logs), "voided");
        assertFalse(_slashed(logs, late), "the member that sat the batch out is not charged");
        assertTrue(_slashed(logs, d), "D, on duty and silent, is charged");
        assertFalse(_slashed(logs, a), "A reported");
    }

    /// @dev The boundary: a member that opted in before the batch filled is on duty for it and
    ///      is charged for silence on a void (R10 unchanged).
    function test_a_member_that_opts_in_before_the_batch_fills_is_on_duty() public {
        (uint256 id, BountyParams memory p) = _open(2, 3600);
        vm.prank(oracles[2]);
        market.joinCommittee(id);
        SubmissionRecord[] memory recs = _fill(id);
        (,, uint16 out) = market.getCommits(id, 0);
        assertEq(out, 0, "nobody sits out");
        _commit(id, oracles[0], _honest());
        vm.warp(block.timestamp + p.scoringTimeout + 1);
        vm.recordLogs();
        vm.prank(keeper);
        market.voidBatch(id, 0, recs);
        assertTrue(_slashed(vm.getRecordedLogs(), oracles[2]), "silent on duty: charged");
    }
}

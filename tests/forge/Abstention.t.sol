// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm, console} from "./utils/Test.sol";
import {MarketModel} from "./utils/MarketModel.sol";
import {MarketSetup, CommitteeSuite} from "./utils/MarketSetup.sol";
import {SEED_OFFSET} from "../../interfaces/IOracleRegistry.sol";
import {IBountyMarketEvents, IBountyMarketErrors} from "../../interfaces/IBountyMarket.sol";

/// @dev Silence an honest member could not avoid, charged on a void someone else engineers
///      (issue 14, items 1 and 5). Rule R12: an abstention (a zero commitment) once a quorum
///      committed makes a member sit the batch out; rule C7: a member never seated takes a
///      standing sit-out. Proofs of concept: the R11 review's F3 (/work/notes/s9_R11Review.t.sol)
///      and the second draw review's E (/work/notes/s8/ReviewDraw2.t.sol), inverted: each attack
///      test asserts that the honest member pays nothing.
contract AbstentionTest is CommitteeSuite {
    address internal contributor = address(0xC0);

    function setUp() public override {
        super.setUp();
        vm.deal(contributor, 1_000 ether);
    }

    // ------------------------------------------------------------------------- helpers

    /// @dev A trusted bounty with committee oracles[0..size-1], batches of 2, all opted in; the
    ///      first `baseliners` report the baseline 5,000 (then settled at the timeout if fewer
    ///      than all).
    function _open(uint256 size, uint256 baseliners) internal returns (uint256 id) {
        (id,) = _openCommittee(size, 2, baseliners);
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

    /// @dev A report of a batch of `n` with every score `score` (no share, no merged model).
    function _report(uint256 n, uint32 score) internal pure returns (BatchReport memory) {
        uint32[] memory s = new uint32[](n);
        for (uint256 i = 0; i < n; ++i) s[i] = score;
        return BatchReport(MarketModel.encode(s, type(uint32).max, new uint16[](n)), Cid(bytes32(0), 0));
    }

    function _commit(uint256 id, uint256 batch, address o, BatchReport memory r) internal {
        vm.prank(o);
        market.commitReport(id, batch, MarketSetup.reportCommitment(id, batch, o, r));
    }

    function _abstain(uint256 id, uint256 batch, address o) internal {
        vm.prank(o);
        market.commitReport(id, batch, bytes32(0));
    }

    function _reveal(uint256 id, uint256 batch, address o, BatchReport memory r) internal {
        vm.prank(o);
        market.report(id, batch, r.scores, r.merged, MarketSetup.reportSalt(id, batch, o));
    }

    function _toReveals(uint256 id, uint256 batch) internal {
        (,, uint16 reported,,,) = market.getBatch(id, batch);
        (uint16 committed, uint256 revealAt, uint16 out) = market.getCommits(id, batch);
        (, uint256 opted,) = market.getCommittee(id);
        if (reported == 0 && committed != opted & ~uint256(out) && block.timestamp < revealAt) vm.warp(revealAt);
    }

    function _toTimeout(uint256 id, uint256 batch) internal {
        (,,,,, uint256 timeoutAt) = market.getBatch(id, batch);
        if (block.timestamp < timeoutAt) vm.warp(timeoutAt);
    }

    function _stakeOf(address o) internal view returns (uint256 st) {
        (st,,) = registry.oracleInfo(o);
    }

    function _offence(uint256 id) internal view returns (uint256 perOffence) {
        (, perOffence) = market.memberBond(id);
    }

    /// @dev The market emitted `sig` naming `oracle` (its last indexed topic) with `data`.
    function _assertLog(bytes32 sig, address oracle, bytes memory data) internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 l = 0; l < logs.length; ++l) {
            Vm.Log memory lg = logs[l];
            if (lg.emitter != address(market) || lg.topics[0] != sig) continue;
            if (address(uint160(uint256(lg.topics[lg.topics.length - 1]))) == oracle && keccak256(lg.data) == keccak256(data)) return;
        }
        revert("event not emitted");
    }

    function _decided(uint256 id, uint256 batch) internal view returns (bool) {
        return market.getBounty(id).nextBatch > batch;
    }

    // ------------------------------- F3: an abstainer framed by a committer that withholds

    /// @dev Committee [A, B, D] (oracles 0-2), quorum 2, all opted in and the baseline set:
    ///      batch 0 fills, A commits the honest report and D a junk one; B has not committed.
    function _aAndDCommitted() internal returns (uint256 id, SubmissionRecord[] memory recs) {
        id = _open(3, 3);
        recs = _fill(id, 0);
        _commit(id, 0, oracles[0], _report(2, 6_000));
        _commit(id, 0, oracles[2], _report(2, 1));
    }

    /// @dev Committee [A, B, D], quorum 2. An update is unavailable to B (its contributor, or D
    ///      acting as one, serves the blob selectively). A and D commit, so at its report
    ///      deadline B's node sees a quorum of commitments and abstains (F8 case 3). D then
    ///      withholds its reveal: A is alone, the batch is voided at its timeout. B, who sat the
    ///      batch out on chain (R12), pays nothing; D, who committed and did not reveal, pays its
    ///      offence; A, who reported, pays nothing.
    function test_attack_F3_an_abstainer_is_charged_when_a_committer_withholds_its_reveal() public {
        (uint256 id, SubmissionRecord[] memory recs) = _aAndDCommitted();
        (address a, address b, address d) = (oracles[0], oracles[1], oracles[2]);
        _abstain(id, 0, b);
        (,, uint16 out) = market.getCommits(id, 0);
        assertEq(out, 1 << 1, "B sits the batch out");
        // A and D are every member on duty and committed: the reveal phase is open at once
        _reveal(id, 0, a, _report(2, 6_000));
        _toTimeout(id, 0);
        uint256[3] memory before_ = [_stakeOf(a), _stakeOf(b), _stakeOf(d)];
        market.voidBatch(id, 0, recs);
        assertTrue(_decided(id, 0), "voided");
        assertEq(_stakeOf(b), before_[1], "the honest abstainer pays nothing");
        assertEq(_stakeOf(a), before_[0], "the honest reporter pays nothing");
        assertEq(before_[2] - _stakeOf(d), _offence(id), "the committer that withheld its reveal pays its offence");
    }

    /// @dev F3b: the same, but D reveals junk instead of withholding. A and D are a quorum by
    ///      count and disagree, so settlement voids the batch for want of agreement (R4). Before
    ///      R12 the abstainer B was the only member charged; now nobody is (the reporters are not
    ///      silent, B sat the batch out).
    function test_attack_F3b_an_abstainer_is_charged_when_a_committer_reveals_junk() public {
        (uint256 id, SubmissionRecord[] memory recs) = _aAndDCommitted();
        (address a, address b, address d) = (oracles[0], oracles[1], oracles[2]);
        _abstain(id, 0, b);
        _reveal(id, 0, a, _report(2, 6_000));
        _reveal(id, 0, d, _report(2, 1));
        uint256 stakeB = _stakeOf(b);
        BatchReport[] memory reports = new BatchReport[](2);
        (reports[0], reports[1]) = (_report(2, 6_000), _report(2, 1));
        // every member on duty reported: settled without waiting for the timeout
        market.settleBatch(id, 0, recs, reports);
        assertTrue(_decided(id, 0), "voided for want of agreement");
        assertEq(_stakeOf(b), stakeB, "the honest abstainer pays nothing");
    }

    // --------------------------------- E: a member never seated, charged on every void

    address internal eC;
    address internal eH;

    /// @dev One batch of E: C (the requester's seat) commits and reveals a deviant report, H the
    ///      honest one, so no quorum agrees and settlement voids the batch (R4).
    function _voidOneBatch(uint256 id, uint256 batch) internal {
        SubmissionRecord[] memory recs = _fill(id, batch);
        (BatchReport memory deviant, BatchReport memory honest) = (_report(2, 900_000), _report(2, 6_000));
        _commit(id, batch, eC, deviant);
        _commit(id, batch, eH, honest);
        _toReveals(id, batch);
        _reveal(id, batch, eC, deviant);
        _reveal(id, batch, eH, honest);
        _toTimeout(id, batch);
        (address[] memory m,,) = market.getCommittee(id);
        BatchReport[] memory reports = new BatchReport[](2);
        uint256 r = 0;
        for (uint256 i = 0; i < m.length; ++i) {
            if (m[i] == eC) reports[r++] = deviant;
            else if (m[i] == eH) reports[r++] = honest;
        }
        market.settleBatch(id, batch, recs, reports);
        assertTrue(_decided(id, batch), "voided for want of agreement");
    }

    /// @dev Finding E of the second draw review. In a drawn bounty the node joins its seat at
    ///      once (bonding) and waits for the keyring that wraps the committee key for it. A
    ///      requester holding one seat (C) seats the honest H but never the hostage: C and H set
    ///      the baseline, then C reports deviant scores on every batch, so no quorum agrees and
    ///      each batch is voided. The hostage's node, never seated, takes the standing sit-out
    ///      (C7) and is off duty for every batch: over 10 voids it pays nothing, nor does anyone
    ///      else (and no seat is redrawn: the committee keeps its size and quorum).
    /// @dev A drawn bounty of 3 seats, batches of 2, every drawn member joined (no baseline yet).
    function _drawnJoined() internal returns (uint256 id, address[] memory m, BountyParams memory p) {
        p = MarketSetup.params(ETH, new address[](3));
        p.batchSize = 2;
        p.maxBatches = 20;
        uint256 total = MarketSetup.escrow(p);
        vm.deal(requester, total);
        vm.prank(requester);
        id = market.createBounty{value: total}(p); // the escrow and the draw deposit (C5)
        vm.roll(market.getBounty(id).drawBlock + SEED_OFFSET); // the drawing half's seed block (C4)
        vm.prevrandao(keccak256("an honest PREVRANDAO"));
        market.drawCommittee(id);
        (m,,) = market.getCommittee(id);
        for (uint256 i = 0; i < 3; ++i) {
            vm.prank(m[i]);
            market.joinCommittee(id);
        }
    }

    function test_attack_E_a_never_seated_member_is_charged_on_engineered_voids() public {
        (uint256 id, address[] memory m, BountyParams memory p) = _drawnJoined();
        (eC, eH) = (m[0], m[2]);
        address hostage = m[1];
        // the hostage's node finds no key for it in the keyring: it sits out, at once
        vm.recordLogs();
        vm.prank(hostage);
        market.sitOut(id, true);
        _assertLog(IBountyMarketEvents.SitOutSet.selector, hostage, abi.encode(true, uint256(0)));
        assertEq(market.standingSitOut(id), 1 << 1, "standing sit-out recorded");
        vm.prank(eC);
        market.reportBaseline(id, 5_000);
        vm.prank(eH);
        market.reportBaseline(id, 5_000);
        vm.warp(block.timestamp + p.scoringTimeout);
        market.settleBaseline(id);
        uint256[3] memory before_ = [_stakeOf(hostage), _stakeOf(eC), _stakeOf(eH)];
        for (uint256 b = 0; b < 10; ++b) _voidOneBatch(id, b);
        assertEq(_stakeOf(hostage), before_[0], "the never-seated member pays no void");
        assertEq(_stakeOf(eC), before_[1], "the deviant coalition member pays nothing (no quorum agreed)");
        assertEq(_stakeOf(eH), before_[2], "the seated honest member pays nothing");
        assertEq(market.getBounty(id).feesPaid, 0, "no fee paid");
        (address[] memory after_,,) = market.getCommittee(id);
        assertEq(after_[1], hostage, "no redraw: the seat stays the hostage's");
    }

    // --------------------------------------------------- boundaries: who is still charged

    /// @dev The dead-member deterrent stays: a member on duty that neither commits nor abstains
    ///      is charged when the batch is voided (R10).
    function test_r10_a_silent_member_that_did_not_abstain_is_still_charged() public {
        (uint256 id, SubmissionRecord[] memory recs) = _aAndDCommitted();
        (address a, address b) = (oracles[0], oracles[1]);
        _toReveals(id, 0);
        _reveal(id, 0, a, _report(2, 6_000));
        _toTimeout(id, 0);
        uint256 stakeB = _stakeOf(b);
        market.voidBatch(id, 0, recs);
        assertEq(stakeB - _stakeOf(b), _offence(id), "silent without abstaining: charged");
    }

    /// @dev A member that committed cannot abstain afterwards (it would dodge the charge of the
    ///      commitment it does not reveal), and is charged when it does not reveal.
    function test_r12_a_member_that_committed_cannot_abstain_and_is_charged_if_it_does_not_reveal() public {
        (uint256 id, SubmissionRecord[] memory recs) = _aAndDCommitted();
        (address a, address b, address d) = (oracles[0], oracles[1], oracles[2]);
        vm.prank(d);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.CommittedAlready.selector, id, 0, d));
        market.commitReport(id, 0, bytes32(0));
        _abstain(id, 0, b);
        _reveal(id, 0, a, _report(2, 6_000));
        _toTimeout(id, 0);
        uint256 stakeD = _stakeOf(d);
        market.voidBatch(id, 0, recs);
        assertEq(stakeD - _stakeOf(d), _offence(id), "committed, not revealed: charged");
    }

    /// @dev An abstention is refused until a quorum committed: a void can then never follow
    ///      abstentions alone (each void after one charges a committer that did not reveal), and
    ///      the members cannot all sit a batch out to void it for free.
    function test_r12_an_abstention_before_a_quorum_committed_is_refused() public {
        uint256 id = _open(3, 3);
        _fill(id, 0);
        vm.prank(oracles[1]);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.AbstentionBeforeQuorum.selector, id, 0, 0, 2));
        market.commitReport(id, 0, bytes32(0));
        _commit(id, 0, oracles[0], _report(2, 6_000));
        vm.prank(oracles[1]);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.AbstentionBeforeQuorum.selector, id, 0, 1, 2));
        market.commitReport(id, 0, bytes32(0));
    }

    /// @dev An abstainer can neither commit nor reveal afterwards, nor abstain once the reveal
    ///      phase began; abstaining emits ReportCommitted with a zero commitment.
    function test_r12_an_abstainer_can_neither_commit_nor_reveal() public {
        uint256 id = _open(5, 5);
        _fill(id, 0);
        for (uint256 i = 0; i < 3; ++i) _commit(id, 0, oracles[i], _report(2, 6_000));
        vm.recordLogs();
        _abstain(id, 0, oracles[3]);
        _assertLog(IBountyMarketEvents.ReportCommitted.selector, oracles[3], abi.encode(bytes32(0)));
        vm.prank(oracles[3]);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.SitsOutBatch.selector, id, 0, oracles[3]));
        market.commitReport(id, 0, MarketSetup.reportCommitment(id, 0, oracles[3], _report(2, 6_000)));
        vm.prank(oracles[3]);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.SitsOutBatch.selector, id, 0, oracles[3]));
        market.commitReport(id, 0, bytes32(0));
        _toReveals(id, 0);
        BatchReport memory r = _report(2, 6_000);
        vm.prank(oracles[3]);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.RevealMismatch.selector, id, 0, oracles[3]));
        market.report(id, 0, r.scores, r.merged, MarketSetup.reportSalt(id, 0, oracles[3]));
        // the reveal phase is open: the last member can no longer abstain
        vm.prank(oracles[4]);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.CommitClosed.selector, id, 0));
        market.commitReport(id, 0, bytes32(0));
    }

    /// @dev Abstainers do not shrink the quorum (R4): with 2 of 5 abstaining and 3 committed,
    ///      the reveal phase opens at once (every member on duty committed), but 2 reveals are
    ///      still below the quorum of 3, so the batch can only be voided, and the one that did
    ///      not reveal is charged; with 3 reveals it is decided before the timeout.
    function test_r12_abstainers_do_not_shrink_the_quorum() public {
        uint256 id = _open(5, 5);
        SubmissionRecord[] memory recs = _fill(id, 0);
        for (uint256 i = 0; i < 3; ++i) _commit(id, 0, oracles[i], _report(2, 6_000));
        _abstain(id, 0, oracles[3]);
        _abstain(id, 0, oracles[4]);
        _reveal(id, 0, oracles[0], _report(2, 6_000)); // open at once: no warp needed
        _reveal(id, 0, oracles[1], _report(2, 6_000));
        BatchReport[] memory two = new BatchReport[](2);
        (two[0], two[1]) = (_report(2, 6_000), _report(2, 6_000));
        vm.expectRevert();
        market.settleBatch(id, 0, recs, two);
        uint256 snap = vm.snapshotState();
        _toTimeout(id, 0);
        uint256 s2 = _stakeOf(oracles[2]);
        uint256 s3 = _stakeOf(oracles[3]);
        market.voidBatch(id, 0, recs);
        assertEq(s2 - _stakeOf(oracles[2]), _offence(id), "the committer that did not reveal pays");
        assertEq(_stakeOf(oracles[3]), s3, "the abstainer does not");
        vm.revertToState(snap);
        _reveal(id, 0, oracles[2], _report(2, 6_000));
        BatchReport[] memory three = new BatchReport[](3);
        (three[0], three[1], three[2]) = (_report(2, 6_000), _report(2, 6_000), _report(2, 6_000));
        market.settleBatch(id, 0, recs, three);
        assertTrue(_decided(id, 0), "every member on duty reported: decided before the timeout");
    }

    // ------------------------------------------------------------- C7: the standing sit-out

    /// @dev A member that served (reported the baseline, committed to a batch) may take a standing
    ///      sit-out too (a later keyring may no longer seat it, B6), but it escapes nothing it
    ///      risks already: the batch under way keeps its duties, and a committed member that does
    ///      not reveal is still charged. A stranger cannot take one.
    function test_c7_a_member_that_served_escapes_no_duty_of_the_batch_under_way() public {
        (uint256 id, SubmissionRecord[] memory recs) = _aAndDCommitted(); // D reported the baseline too
        address d = oracles[2];
        vm.prank(d);
        market.sitOut(id, true);
        (,, uint16 out) = market.getCommits(id, 0);
        assertEq(out, 0, "on duty for the batch under way");
        _toReveals(id, 0);
        _reveal(id, 0, oracles[0], _report(2, 6_000));
        _toTimeout(id, 0);
        uint256 stakeD = _stakeOf(d);
        market.voidBatch(id, 0, recs);
        assertEq(stakeD - _stakeOf(d), _offence(id), "committed, not revealed: charged all the same");
        _fill(id, 1);
        (,, out) = market.getCommits(id, 1);
        assertEq(out, 1 << 2, "off duty from the next batch");
        vm.prank(oracles[3]);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.NotCommitteeMember.selector, id, oracles[3]));
        market.sitOut(id, true);
    }

    /// @dev Taken while a batch is under way, the sit-out starts with the next batch: the member
    ///      keeps its duty (and its charge) for the batch under way. Cleared, it is on duty again
    ///      from the batch after the one under way.
    function test_c7_a_standing_sit_out_starts_with_the_next_batch_and_can_be_cleared() public {
        uint256 id = _open(3, 2);
        address h = oracles[2];
        SubmissionRecord[] memory recs = _fill(id, 0);
        vm.recordLogs();
        vm.prank(h);
        market.sitOut(id, true);
        _assertLog(IBountyMarketEvents.SitOutSet.selector, h, abi.encode(true, uint256(1)));
        (,, uint16 out) = market.getCommits(id, 0);
        assertEq(out, 0, "on duty for the batch under way");
        _commit(id, 0, oracles[0], _report(2, 6_000));
        _toReveals(id, 0);
        _reveal(id, 0, oracles[0], _report(2, 6_000));
        _toTimeout(id, 0);
        uint256 sh = _stakeOf(h);
        market.voidBatch(id, 0, recs);
        assertEq(sh - _stakeOf(h), _offence(id), "charged for the batch under way");
        recs = _fill(id, 1);
        (,, out) = market.getCommits(id, 1);
        assertEq(out, 1 << 2, "off duty from the next batch");
        vm.prank(h);
        market.sitOut(id, false);
        (,, out) = market.getCommits(id, 1);
        assertEq(out, 1 << 2, "still off duty for the batch under way");
        _commit(id, 1, oracles[0], _report(2, 6_000));
        _toReveals(id, 1);
        _reveal(id, 1, oracles[0], _report(2, 6_000));
        _toTimeout(id, 1);
        sh = _stakeOf(h);
        market.voidBatch(id, 1, recs);
        assertEq(_stakeOf(h), sh, "not charged while sitting out");
        _fill(id, 2);
        (,, out) = market.getCommits(id, 2);
        assertEq(out, 0, "on duty again");
        assertEq(market.standingSitOut(id), 0, "cleared");
    }

    /// @dev C2 with C7: a member that leaves its drawn seat early takes its standing sit-out
    ///      with it, so the seat's next holder starts on duty (it inherits the seat's index).
    function test_c7_leaving_early_clears_the_standing_sit_out_of_the_seat() public {
        (uint256 id, address[] memory m,) = _drawnJoined();
        vm.prank(m[1]);
        market.sitOut(id, true);
        assertEq(market.standingSitOut(id), 1 << 1, "taken");
        (bool drawing, uint256 until) = registry.phase();
        if (drawing) vm.roll(until); // seats are emptied only in a staking half (O7)
        vm.prank(m[1]);
        market.leaveCommittee(id);
        assertEq(market.standingSitOut(id), 0, "the seat's sit-out left with its holder");
    }

    // ------------------------------------------------------- review 10: forward commitments

    // The review's proofs of concept S1, S1b and S2 (/work/notes/s10_Review10.t.sol), inverted:
    // a commitment made during batch k-1 to a batch-k report is never opened in batch k (R11).

    /// @dev Committee [A, B, X] (quorum 2). During batch 0, X "commits" to its batch-1 report
    ///      and never reveals batch 0, which A and B decide. In batch 1 X abstains (R12) once A and
    ///      B committed, then tried to reveal its forward commitment once A's and B's reveals were
    ///      public, to be paid for a batch it sat out (and to keep silent, uncharged, had they
    ///      disagreed). R11 now opens only a commitment made in this batch: the reveal is refused,
    ///      the batch settles at once on A and B (every member on duty reported), and X earns nothing.
    function test_attack_S1_a_member_sitting_out_reveals_a_report_committed_in_an_earlier_batch() public {
        uint256 id = _open(3, 3);
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
        uint256 id = _open(3, 3);
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
        uint256 id = _open(3, 3);
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

    // ------------------------------ R7a: "I could not fetch it" is never "invalid" (F8 timing)

    uint32 internal constant UNAVAILABLE = type(uint32).max - 1;

    /// @dev A report of a batch of two: `s0`, `s1`; a partial one (any UNAVAILABLE) names no
    ///      merged model (merged score UNAVAILABLE), a full one none either (merged INVALID).
    function _two(uint32 s0, uint32 s1) internal pure returns (BatchReport memory) {
        uint32[] memory s = new uint32[](2);
        (s[0], s[1]) = (s0, s1);
        bool partial_ = s0 == UNAVAILABLE || s1 == UNAVAILABLE;
        return BatchReport(MarketModel.encode(s, partial_ ? UNAVAILABLE : type(uint32).max, new uint16[](2)), Cid(bytes32(0), 0));
    }

    /// @dev Committee oracles[0..4] (quorum 3), baseline 5,000, batch 0 filled; `who[r]` commits
    ///      `reps[r]` in that order (the last in the very last block before revealAt), then each
    ///      reveals and the batch is settled at its timeout with their reports (committee order).
    function _settleFive(address[] memory who, BatchReport[] memory reps)
        internal
        returns (uint256 id, uint256[5] memory stakes, uint256[5] memory fees)
    {
        for (uint256 i = 0; i < 5; ++i) stakes[i] = _stakeOf(oracles[i]);
        (id,) = _settleFiveOnce(who, reps);
        assertTrue(_decided(id, 0), "decided or voided");
        for (uint256 i = 0; i < 5; ++i) {
            fees[i] = market.claimable(oracles[i], ETH);
            stakes[i] -= _stakeOf(oracles[i]); // what each lost
        }
    }

    /// @dev _settleFive's first settlement, which may give the batch a second round (R7b).
    function _settleFiveOnce(address[] memory who, BatchReport[] memory reps)
        internal
        returns (uint256 id, SubmissionRecord[] memory recs)
    {
        id = _open(5, 5);
        recs = _fill(id, 0);
        (, uint256 revealAt,) = market.getCommits(id, 0);
        for (uint256 r = 0; r < who.length; ++r) {
            if (r == who.length - 1) vm.warp(revealAt - 1);
            _commit(id, 0, who[r], reps[r]);
        }
        vm.warp(revealAt);
        for (uint256 r = 0; r < who.length; ++r) _reveal(id, 0, who[r], reps[r]);
        _toTimeout(id, 0);
        BatchReport[] memory ordered = new BatchReport[](who.length);
        uint256 k = 0;
        for (uint256 i = 0; i < 5; ++i) {
            for (uint256 r = 0; r < who.length; ++r) {
                if (who[r] == oracles[i]) ordered[k++] = reps[r];
            }
        }
        market.settleBatch(id, 0, recs, ordered);
    }

    /// @dev Every member reports: those in `mask` the `partial_` report, the others 6,000 twice.
    function _five(uint256 mask, BatchReport memory partial_) internal view returns (address[] memory who, BatchReport[] memory reps) {
        who = new address[](5);
        reps = new BatchReport[](5);
        for (uint256 i = 0; i < 5; ++i) {
            who[i] = oracles[i];
            reps[i] = mask & (1 << i) != 0 ? partial_ : _two(6_000, 6_000);
        }
    }

    /// @dev The F8 timing attack (issue 14, finding 6). Committee [H1, H2, H3, D, X], quorum 3;
    ///      update 0 reaches H1, H2 and D, not H3; X is offline. H1 and H2 commit early; D
    ///      commits only after H3's report deadline, in the last block before revealAt, so H3
    ///      saw 2 < 3 commitments and (F8 case 3 before R7a) reported INVALID for update 0: the
    ///      median was the true score and H3 was slashed as deviant while D earned its fee. Now H3
    ///      reports UNAVAILABLE for it: the median is over the three that fetched it, H3 is
    ///      deviant on nothing and pays nothing (it earns no fee: its report is partial).
    function test_attack_F8_timing_a_late_commitment_frames_the_member_that_could_not_fetch() public {
        (address h1, address h2, address h3, address d) = (oracles[0], oracles[1], oracles[2], oracles[3]);
        address[] memory who = new address[](4);
        (who[0], who[1], who[2], who[3]) = (h1, h2, h3, d);
        BatchReport[] memory reps = new BatchReport[](4);
        (reps[0], reps[1], reps[2], reps[3]) = (_two(6_000, 6_000), _two(6_000, 6_000), _two(UNAVAILABLE, 6_000), _two(6_000, 6_000));
        (, uint256[5] memory lost, uint256[5] memory fees) = _settleFive(who, reps);
        assertEq(lost[2], 0, "the member that could not fetch is not slashed");
        assertEq(fees[2], 0, "a partial report earns no fee");
        assertEq(lost[0] + lost[1] + lost[3], 0, "nobody else deviates");
        assertGt(fees[0], 0, "the full reports share the fee");
        assertEq(fees[0], fees[3], "D earns the same fee as the honest members, no more");
        assertEq(lost[4], 0, "a silent member is charged only on a void");
    }

    /// @dev Variant: D abstains (R12) instead of committing, to leave H3 alone with H1 and H2 (X
    ///      offline). Update 0 then has two available reports of three given: no quorum can agree
    ///      on it. H3's report is partial, so the batch first gets a second round (R7b); if H3
    ///      still cannot fetch update 0 it reports UNAVAILABLE again and the batch is voided (R4).
    ///      H3, which reported in both rounds, pays nothing; only the silent X is charged.
    function test_attack_F8_timing_an_abstention_cannot_frame_the_member_that_could_not_fetch() public {
        (address h1, address h2, address h3, address d) = (oracles[0], oracles[1], oracles[2], oracles[3]);
        uint256 id = _open(5, 5);
        SubmissionRecord[] memory recs = _fill(id, 0);
        _commit(id, 0, h1, _two(6_000, 6_000));
        _commit(id, 0, h2, _two(6_000, 6_000));
        _commit(id, 0, h3, _two(UNAVAILABLE, 6_000));
        _abstain(id, 0, d);
        _toReveals(id, 0);
        _reveal(id, 0, h1, _two(6_000, 6_000));
        _reveal(id, 0, h2, _two(6_000, 6_000));
        _reveal(id, 0, h3, _two(UNAVAILABLE, 6_000));
        _toTimeout(id, 0);
        uint256 stake3 = _stakeOf(h3);
        uint256 stakeX = _stakeOf(oracles[4]);
        BatchReport[] memory reports = new BatchReport[](3);
        (reports[0], reports[1], reports[2]) = (_two(6_000, 6_000), _two(6_000, 6_000), _two(UNAVAILABLE, 6_000));
        market.settleBatch(id, 0, recs, reports);
        assertTrue(!_decided(id, 0), "a second round first (R7b)");
        vm.prank(h3);
        market.report(id, 0, reports[2].scores, reports[2].merged, bytes32(0)); // still unavailable to it
        _toTimeout(id, 0);
        market.settleBatch(id, 0, recs, reports);
        assertTrue(_decided(id, 0), "voided for want of agreement");
        assertEq(_stakeOf(h3), stake3, "the member that could not fetch pays nothing");
        assertEq(stakeX - _stakeOf(oracles[4]), _offence(id), "the silent member pays its offence");
        assertEq(market.claimable(contributor, ETH), 2 * market.getBounty(id).stake, "a void returns every stake");
    }

    /// @dev Variant: two honest members (H2, H3) cannot fetch update 0; H1, D and X can. The
    ///      median is over the three available reports; H2 and H3 are deviant on nothing.
    function test_attack_F8_timing_several_honest_members_that_cannot_fetch_are_not_slashed() public {
        (address[] memory who, BatchReport[] memory reps) = _five(1 << 1 | 1 << 2, _two(UNAVAILABLE, 6_000));
        (, uint256[5] memory lost, uint256[5] memory fees) = _settleFive(who, reps);
        for (uint256 i = 0; i < 5; ++i) assertEq(lost[i], 0, "nobody is slashed");
        assertEq(fees[1] + fees[2], 0, "partial reports earn no fee");
        assertGt(fees[0], 0, "full reports do");
    }

    /// @dev Variant: update 0 is unavailable to a majority (H2, H3, X); only H1 and D fetched it.
    ///      Its contributor, whose duty availability is, is slashed as for an invalid artefact;
    ///      no member is deviant on it (H1 and D reported its true score). With two full reports
    ///      there is no vote (R7a): the batch is decided without a version, update 1 rejected by
    ///      its median.
    function test_attack_F8_an_update_unavailable_to_a_majority_slashes_its_contributor_not_a_member() public {
        (address[] memory who, BatchReport[] memory reps) = _five(1 << 1 | 1 << 2 | 1 << 4, _two(UNAVAILABLE, 6_000));
        (uint256 id, uint256[5] memory lost, uint256[5] memory fees) = _settleFive(who, reps);
        for (uint256 i = 0; i < 5; ++i) assertEq(lost[i], 0, "no member is slashed");
        uint256 stake = market.getBounty(id).stake;
        assertEq(market.claimable(contributor, ETH), stake + stake / 2, "update 0 slashed by half, update 1 back");
        assertGt(fees[0], 0, "a full report agreeing everywhere is paid");
        assertEq(fees[1], 0, "a partial report is not");
        assertEq(market.getBounty(id).versionCount, 0, "no version");
    }

    /// @dev A dishonest minority (D, X) claims update 0 unavailable while only H1 reported in time:
    ///      two UNAVAILABLE of three reports are no quorum of the committee, so the contributor of
    ///      an update the honest member fetched is not slashed. The reports are partial, so the
    ///      batch gets a second round (R7b); D and X claim it again, and the batch is voided
    ///      (stakes back).
    function test_attack_a_minority_claiming_unavailable_cannot_get_a_fetched_update_slashed() public {
        address[] memory who = new address[](3);
        (who[0], who[1], who[2]) = (oracles[0], oracles[3], oracles[4]);
        BatchReport[] memory reps = new BatchReport[](3);
        (reps[0], reps[1], reps[2]) = (_two(6_000, 6_000), _two(UNAVAILABLE, 6_000), _two(UNAVAILABLE, 6_000));
        (uint256 id, SubmissionRecord[] memory recs) = _settleFiveOnce(who, reps);
        assertTrue(!_decided(id, 0), "a second round first (R7b)");
        uint256 stake0 = _stakeOf(oracles[0]);
        for (uint256 r = 1; r < 3; ++r) {
            vm.prank(who[r]);
            market.report(id, 0, reps[r].scores, reps[r].merged, bytes32(0));
        }
        _toTimeout(id, 0);
        market.settleBatch(id, 0, recs, reps);
        assertTrue(_decided(id, 0), "voided");
        assertEq(market.claimable(contributor, ETH), 2 * market.getBounty(id).stake, "voided: every stake back");
        assertEq(_stakeOf(oracles[0]), stake0, "the honest reporter pays nothing");
    }

    /// @dev A lazy pair that never scores reports UNAVAILABLE everywhere to be counted as
    ///      reporting (no silence charge) and to earn fees: it earns none, and the three that
    ///      scored decide.
    function test_attack_a_lazy_member_reporting_unavailable_everywhere_earns_no_fee() public {
        (address[] memory who, BatchReport[] memory reps) = _five(1 << 3 | 1 << 4, _two(UNAVAILABLE, UNAVAILABLE));
        (, uint256[5] memory lost, uint256[5] memory fees) = _settleFive(who, reps);
        assertEq(fees[3] + fees[4], 0, "the lazy members earn nothing");
        assertEq(lost[3] + lost[4], 0, "and are not charged: they reported");
        assertGt(fees[0], 0, "the members that scored are paid");
        assertEq(lost[0] + lost[1] + lost[2], 0, "and not slashed");
    }

    /// @dev R7a: UNAVAILABLE is no score: a baseline report of it is refused (InvalidScore), as
    ///      INVALID is, and so is a target of it (a head could never be measured at it).
    function test_r7a_a_baseline_or_target_of_unavailable_is_refused() public {
        address[] memory c = new address[](3);
        for (uint256 i = 0; i < 3; ++i) c[i] = oracles[i];
        BountyParams memory p = MarketSetup.params(ETH, c);
        p.target = UNAVAILABLE;
        uint256 total = MarketSetup.escrow(p);
        vm.deal(requester, 2 * total);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.InvalidParameter.selector, "target"));
        market.createBounty{value: total}(p);
        p.target = UNAVAILABLE - 1; // MAX_SCORE is a target
        vm.prank(requester);
        uint256 id = market.createBounty{value: total}(p);
        vm.prank(oracles[0]);
        market.joinCommittee(id);
        vm.prank(oracles[0]);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.InvalidScore.selector, UNAVAILABLE));
        market.reportBaseline(id, UNAVAILABLE);
        vm.prank(oracles[0]);
        market.reportBaseline(id, UNAVAILABLE - 1); // MAX_SCORE is a score
    }
}

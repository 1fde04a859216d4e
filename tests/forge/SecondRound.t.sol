// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "./utils/Test.sol";
import {MarketSetup, CommitteeSuite} from "./utils/MarketSetup.sol";
import {IBountyMarketErrors} from "../../interfaces/IBountyMarket.sol";

/// @dev Rule R7b, a second round (SECURITY R15-2/3, /work/notes/retry_design.md). A batch whose
///      vote splits (or some median lacks a quorum) while some report is partial is not voided
///      at once: the partial reports are cleared, the full ones stand, the timeout restarts and
///      the partial members report again (fetching the updates from the members that pinned
///      them). At most one retry per batch; second-round reports earn no fee. Committee
///      oracles[0..size-1], a batch of 3: update 0 an honest contributor's (6,000), updates 1 and
///      2 the withholding contributor's; the head is 5,000.
contract SecondRoundTest is CommitteeSuite {
    event BatchRetried(uint256 indexed bountyId, uint256 indexed batch, uint16 cleared);
    event BatchVoided(uint256 indexed bountyId, uint256 indexed batch, uint256 reports);

    uint32 internal constant UNAV = type(uint32).max - 1;

    address internal honest = address(0xC0);
    address internal withholder = address(0xBAD);
    uint256 internal stake;
    uint256 internal timeout;

    function setUp() public override {
        super.setUp();
        vm.deal(honest, 1_000 ether);
        vm.deal(withholder, 1_000 ether);
    }

    // ------------------------------------------------------------------ helpers

    /// @dev A committee of `size`, baseline 5,000, and `batches` full batches of 3: in each,
    ///      update 0 by the honest contributor, 1 and 2 by the withholder. Returns the records
    ///      of batch 0 (batch b's updates are tagged 3b + i).
    function _open(uint256 size, uint256 batches) internal returns (uint256 id, SubmissionRecord[] memory recs) {
        BountyParams memory p;
        (id, p) = _openCommittee(size, 3, size);
        stake = p.stake;
        timeout = p.scoringTimeout;
        for (uint256 b = 0; b < batches; ++b) {
            SubmissionRecord[] memory r = _submit(id, b);
            if (b == 0) recs = r;
        }
    }

    function _submit(uint256 id, uint256 b) internal returns (SubmissionRecord[] memory recs) {
        recs = new SubmissionRecord[](3);
        for (uint256 i = 0; i < 3; ++i) {
            address who = i == 0 ? honest : withholder;
            recs[i] = SubmissionRecord(who, uint96(stake), uint32(market.getBounty(id).versionCount), MarketSetup.cid("update", 3 * b + i));
            vm.prank(who);
            market.submitUpdate{value: stake}(id, recs[i].baseVersion, recs[i].update);
        }
    }

    /// @dev The full honest report: updates 0 (6,000) and 1 (5,500) merged, 2 junk at the head.
    function _full() internal pure returns (BatchReport memory) {
        return _rep([uint32(6_000), 5_500, 5_000], 6_200, [uint16(7_000), 3_000, 0], 2);
    }

    /// @dev A member that could not fetch update 1: it merges update 0 alone.
    function _without1() internal pure returns (BatchReport memory) {
        return _rep([uint32(6_000), UNAV, 5_000], 6_000, [uint16(10_000), 0, 0], 1);
    }

    function _commit(uint256 id, uint256 batch, uint256 member, BatchReport memory r) internal {
        vm.prank(oracles[member]);
        market.commitReport(id, batch, MarketSetup.reportCommitment(id, batch, oracles[member], r));
    }

    function _reveal(uint256 id, uint256 batch, uint256 member, BatchReport memory r) internal {
        vm.prank(oracles[member]);
        market.report(id, batch, r.scores, r.merged, MarketSetup.reportSalt(id, batch, oracles[member]));
    }

    /// @dev A second-round report without a commitment (the salt is ignored).
    function _second(uint256 id, uint256 batch, uint256 member, BatchReport memory r) internal {
        vm.prank(oracles[member]);
        market.report(id, batch, r.scores, r.merged, bytes32(0));
    }

    /// @dev First round: the members in `committers` commit to reps[member]; then (at the reveal
    ///      phase) those in `revealers` reveal; then the timeout passes.
    function _round1(uint256 id, uint256 committers, uint256 revealers, BatchReport[] memory reps) internal {
        for (uint256 i = 0; i < reps.length; ++i) {
            if (committers & (1 << i) != 0) _commit(id, 0, i, reps[i]);
        }
        (, uint256 revealAt,) = market.getCommits(id, 0);
        if (block.timestamp < revealAt) vm.warp(revealAt);
        for (uint256 i = 0; i < reps.length; ++i) {
            if (revealers & (1 << i) != 0) _reveal(id, 0, i, reps[i]);
        }
        (,,,,, uint256 timeoutAt) = market.getBatch(id, 0);
        if (block.timestamp < timeoutAt) vm.warp(timeoutAt);
    }

    /// @dev The reports of the members in `mask`, in committee order.
    function _pick(BatchReport[] memory reps, uint256 mask) internal pure returns (BatchReport[] memory out) {
        uint256 m = 0;
        for (uint256 i = 0; i < reps.length; ++i) if (mask & (1 << i) != 0) ++m;
        out = new BatchReport[](m);
        uint256 k = 0;
        for (uint256 i = 0; i < reps.length; ++i) if (mask & (1 << i) != 0) out[k++] = reps[i];
    }

    function _settle(uint256 id, SubmissionRecord[] memory recs, BatchReport[] memory reps, uint256 mask) internal {
        market.settleBatch(id, 0, recs, _pick(reps, mask));
    }

    /// @dev The recorded logs hold the market's event `sig` for (id, batch 0) with data `arg`.
    function _logged(bytes32 sig, uint256 id, uint256 arg) internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 found = 0;
        for (uint256 l = 0; l < logs.length; ++l) {
            Vm.Log memory lg = logs[l];
            if (lg.emitter != address(market) || lg.topics[0] != sig) continue;
            assertEq(uint256(lg.topics[1]), id, "bounty");
            assertEq(uint256(lg.topics[2]), 0, "batch");
            assertEq(abi.decode(lg.data, (uint256)), arg, "event argument");
            ++found;
        }
        assertEq(found, 1, "the event, once");
    }

    function _fees() internal view returns (uint256[5] memory f) {
        for (uint256 i = 0; i < 5; ++i) f[i] = market.claimable(oracles[i], ETH);
    }

    /// @dev R9 after a withholding: members 3 and 4 (full) are paid fee/5 each, as without it;
    ///      members 0-2 (partial or uncommitted) are not, their three shares are burned (beside
    ///      `otherBurn`), and all five are spent, not refunded to the requester.
    function _assertTwoPaidThreeBurned(uint256 id, uint256 otherBurn) internal view {
        uint256 share = market.getBounty(id).oracleFeePerBatch / 5;
        uint256[5] memory f = _fees();
        assertEq(f[3], share, "a full member gets fee/5, not fee/2");
        assertEq(f[4], share, "the other too");
        assertEq(f[0] + f[1] + f[2], 0, "the partial or uncommitted reports are not paid");
        assertEq(market.pendingBurn(ETH), 3 * share + otherBurn, "their shares are burned");
        assertEq(market.getBounty(id).feesPaid, 5 * share, "and spent: not refunded to the requester");
    }

    function _stakes() internal view returns (uint256[5] memory s) {
        for (uint256 i = 0; i < 5; ++i) (s[i],,) = registry.oracleInfo(oracles[i]);
    }

    /// @dev After a retry: the batch is still the next, nothing was paid, the standing reports
    ///      and commitments are `standing`, and the timeout runs from now.
    function _assertRetried(uint256 id, uint256 standing) internal view {
        _assertRetried(id, standing, 0);
    }

    /// @dev As _assertRetried(id, standing), with `unrevealed` the members that committed in the
    ///      first round and did not reveal: their commitments stand too (R7b, review of R7b L1).
    function _assertRetried(uint256 id, uint256 standing, uint256 unrevealed) internal view {
        assertEq(market.getBounty(id).nextBatch, 0, "the batch is still the next to decide");
        assertEq(market.getBounty(id).versionCount, 0, "no version yet");
        (,, uint16 reported,,, uint256 timeoutAt) = market.getBatch(id, 0);
        assertEq(reported, standing, "the full reports stand, the partial ones are cleared");
        (uint16 committed,,) = market.getCommits(id, 0);
        assertEq(committed, standing | unrevealed, "committed: the standing reports and the unrevealed commitments");
        assertEq(timeoutAt, block.timestamp + timeout, "the timeout restarts");
        assertEq(market.claimable(honest, ETH) + market.claimable(withholder, ETH), 0, "no stake back yet");
        assertEq(market.pendingBurn(ETH), 0, "nobody charged");
    }

    // ------------------------------------------------------------------ (a)

    /// @dev (a) Committee 4 (quorum 3): the withholder serves its GOOD update 1 to members 0 and 1
    ///      only. They name {0, 1}, members 2 and 3 (partial) {0}: two votes of two, no median of
    ///      update 1 with a quorum. Before R7b: a void, every honest update unpaid. Now: a retry;
    ///      members 2 and 3 fetch update 1 from the members that pinned it and report again (full,
    ///      no commitment needed): the version is made and the updates paid; the standing full
    ///      reporters earn the fee, the second-round reporters do not.
    function test_attack_one_good_update_withheld_from_half_an_even_committee_gets_a_second_round() public {
        (uint256 id, SubmissionRecord[] memory recs) = _open(4, 1);
        BatchReport[] memory reps = new BatchReport[](4);
        (reps[0], reps[1], reps[2], reps[3]) = (_full(), _full(), _without1(), _without1());
        _round1(id, 15, 15, reps);
        uint256[5] memory before = _stakes();
        vm.recordLogs();
        _settle(id, recs, reps, 15);
        _logged(BatchRetried.selector, id, 12);
        _assertRetried(id, 3);
        assertEq(_fees()[0] + _fees()[2], 0, "a retry pays no fee");

        // second round: members 2 and 3 fetched update 1 from members 0 and 1
        _second(id, 0, 2, _full());
        _second(id, 0, 3, _full());
        (reps[2], reps[3]) = (_full(), _full());
        _settle(id, recs, reps, 15); // every member on duty reported: at once
        assertEq(market.getBounty(id).nextBatch, 1, "decided");
        assertEq(market.getBounty(id).versionCount, 1, "the version is made");
        assertEq(market.getBounty(id).headScore, 6_200, "at the merged score");
        assertGt(market.claimable(honest, ETH), stake, "the honest update is paid its reward");
        assertGt(market.claimable(withholder, ETH), 2 * stake, "the withheld good update too");
        uint256[5] memory f = _fees();
        assertGt(f[0], 0, "a standing full reporter is paid");
        assertEq(f[0], f[1], "alike");
        assertEq(f[2] + f[3], 0, "second-round reporters earn no fee");
        uint256[5] memory afterStakes = _stakes();
        for (uint256 i = 0; i < 4; ++i) assertEq(afterStakes[i], before[i], "nobody slashed");
    }

    // ------------------------------------------------------------------ (c)

    /// @dev (c) At most one retry: the partial members still cannot fetch update 1 in the second
    ///      round and report partial again; the vote splits again and settlement voids the batch
    ///      (every stake back, no fee, nobody charged: every member reported).
    function test_attack_a_retried_batch_that_splits_again_is_voided_not_retried_forever() public {
        (uint256 id, SubmissionRecord[] memory recs) = _open(4, 1);
        BatchReport[] memory reps = new BatchReport[](4);
        (reps[0], reps[1], reps[2], reps[3]) = (_full(), _full(), _without1(), _without1());
        _round1(id, 15, 15, reps);
        _settle(id, recs, reps, 15);
        _assertRetried(id, 3);
        _second(id, 0, 2, _without1());
        _second(id, 0, 3, _without1());
        vm.recordLogs();
        _settle(id, recs, reps, 15);
        _logged(BatchVoided.selector, id, 4);
        assertEq(market.getBounty(id).nextBatch, 1, "voided: decided, not pending");
        assertEq(market.claimable(honest, ETH), stake, "stakes back");
        assertEq(market.claimable(withholder, ETH), 2 * stake, "stakes back");
        uint256[5] memory f = _fees();
        assertEq(f[0] + f[1] + f[2] + f[3], 0, "a void pays no fee");
        assertEq(market.pendingBurn(ETH), 0, "nobody charged: every member reported");
    }

    /// @dev (c) Nothing is undecidable: after a retry in which the partial members do not report
    ///      again, only 2 of 4 reports stand (under the quorum). The batch cannot be settled, nor
    ///      voided before the restarted timeout; after it voidBatch voids it and charges the two
    ///      silent members (cleared and never reported again) as silent (R10).
    function test_attack_a_retry_whose_partial_members_stay_silent_is_voided_after_the_restarted_timeout() public {
        (uint256 id, SubmissionRecord[] memory recs) = _open(4, 1);
        BatchReport[] memory reps = new BatchReport[](4);
        (reps[0], reps[1], reps[2], reps[3]) = (_full(), _full(), _without1(), _without1());
        _round1(id, 15, 15, reps);
        _settle(id, recs, reps, 15);
        (,,,,, uint256 timeoutAt) = market.getBatch(id, 0);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.BatchNotReady.selector, id, 0, 2, timeoutAt));
        _settle(id, recs, reps, 3);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.BatchNotVoidable.selector, id, 0));
        market.voidBatch(id, 0, recs);
        vm.warp(timeoutAt);
        uint256[5] memory before = _stakes();
        market.voidBatch(id, 0, recs);
        assertEq(market.getBounty(id).nextBatch, 1, "voided");
        assertEq(market.claimable(honest, ETH), stake, "stakes back");
        uint256[5] memory afterStakes = _stakes();
        (, uint256 perOffence) = market.memberBond(id);
        assertEq(before[0] - afterStakes[0] + before[1] - afterStakes[1], 0, "the standing reporters are not charged");
        assertEq(before[2] - afterStakes[2], perOffence, "a cleared member that never reported again is silent");
        assertEq(before[3] - afterStakes[3], perOffence, "both");
    }

    // ------------------------------------------------------------------ (d)

    /// @dev (d) Second-round reporters earn no fee. Committee 4: members 0 and 1 full, member 2
    ///      partial, member 3 silent (it never committed). Retry (cleared: member 2). Member 2
    ///      reports again (full); member 3 copies member 0's public report. Both count toward the
    ///      decision and the fee's divisor; neither is paid: their shares are burned, the two
    ///      standing full reporters get fee/4 each. (A member that committed and did not reveal
    ///      cannot copy: its commitment stands, test_a_commitment_left_unrevealed_...)
    function test_attack_a_copy_of_a_public_report_in_the_second_round_earns_no_fee() public {
        (uint256 id, SubmissionRecord[] memory recs) = _open(4, 1);
        BatchReport[] memory reps = new BatchReport[](4);
        (reps[0], reps[1], reps[2], reps[3]) = (_full(), _full(), _without1(), _full());
        _round1(id, 7, 7, reps);
        vm.recordLogs();
        _settle(id, recs, reps, 7);
        _logged(BatchRetried.selector, id, 4);
        _assertRetried(id, 3);
        _second(id, 0, 2, _full());
        _second(id, 0, 3, reps[0]); // the copy
        reps[2] = _full();
        _settle(id, recs, reps, 15);
        assertEq(market.getBounty(id).versionCount, 1, "decided with a version");
        uint256 fee = market.getBounty(id).oracleFeePerBatch;
        uint256[5] memory f = _fees();
        assertEq(f[0], fee / 4, "a standing full reporter gets one report's share");
        assertEq(f[1], fee / 4, "both");
        assertEq(f[2], 0, "the second-round report of a cleared member is not paid");
        assertEq(f[3], 0, "nor the copier's");
        assertEq(market.pendingBurn(ETH), 2 * (fee / 4), "their shares are burned");
        assertEq(market.getBounty(id).feesPaid, 4 * (fee / 4), "feesPaid counts the paid and burned shares");
    }

    // ------------------------------------------------------------------ (e)

    /// @dev (e) Without a retry, a report needs a commitment (R11 stays): in a first round, and in
    ///      the batch after a retried one (`retried` names its batch).
    function test_attack_a_report_without_a_commitment_in_a_batch_not_retried_is_refused() public {
        (uint256 id, SubmissionRecord[] memory recs) = _open(3, 2);
        BatchReport[] memory reps = new BatchReport[](3);
        BatchReport memory other = _rep([uint32(6_000), 5_500, UNAV], 6_200, [uint16(7_000), 3_000, 0], 3);
        (reps[0], reps[1], reps[2]) = (_without1(), other, _full());
        _round1(id, 7, 7, reps);
        _settle(id, recs, reps, 7); // three votes: retried
        _assertRetried(id, 4);
        _second(id, 0, 0, _full());
        _second(id, 0, 1, _full());
        (reps[0], reps[1]) = (_full(), _full());
        _settle(id, recs, reps, 7);
        assertEq(market.getBounty(id).nextBatch, 1, "batch 0 decided");

        // batch 1: member 0 commits and reveals; member 1, without a commitment, cannot report
        BatchReport memory r1 = _rep([uint32(6_000), 5_000, 5_000], 6_000, [uint16(10_000), 0, 0], 1);
        _commit(id, 1, 0, r1);
        _commit(id, 1, 2, r1);
        (, uint256 revealAt,) = market.getCommits(id, 1);
        vm.warp(revealAt);
        _reveal(id, 1, 0, r1);
        vm.prank(oracles[1]);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.RevealMismatch.selector, id, 1, oracles[1]));
        market.report(id, 1, r1.scores, r1.merged, bytes32(0));
    }

    // ------------------------------------------------------------------ (f)

    /// @dev (f) reportAndSettle: the last member (full) reports and settles; its settlement finds
    ///      the split and retries. Its report is not stored by reportAndSettle, yet it must stand:
    ///      the retry stores it (reporter bit, digest), so the second round's settlement takes it
    ///      and pays it.
    function test_attack_a_retry_by_report_and_settle_keeps_the_senders_full_report_standing() public {
        (uint256 id, SubmissionRecord[] memory recs) = _open(4, 1);
        BatchReport[] memory reps = new BatchReport[](4);
        (reps[0], reps[1], reps[2], reps[3]) = (_full(), _full(), _without1(), _without1());
        for (uint256 i = 0; i < 4; ++i) _commit(id, 0, i, reps[i]);
        _reveal(id, 0, 0, reps[0]);
        _reveal(id, 0, 2, reps[2]);
        _reveal(id, 0, 3, reps[3]);
        bytes memory packed;
        for (uint256 i = 0; i < 3; ++i) {
            SubmissionRecord memory r = recs[i];
            packed = bytes.concat(packed, abi.encodePacked(r.contributor, r.stake, r.baseVersion, r.update.digest, r.update.codec));
        }
        vm.recordLogs();
        vm.prank(oracles[1]);
        market.reportAndSettle(id, 0, reps[1].scores, reps[1].merged, MarketSetup.reportSalt(id, 0, oracles[1]), packed, _pick(reps, 13));
        _logged(BatchRetried.selector, id, 12);
        _assertRetried(id, 3);
        uint256 low = ~uint256(0xffffffff);
        bytes32 digest = bytes32(uint256(keccak256(abi.encodePacked(uint256(0), reps[1].scores, reps[1].merged.digest, reps[1].merged.codec))) & low);
        assertEq(market.reportHash(id, 0, 1), digest, "the sender's report stands, stored");

        _second(id, 0, 2, _full());
        (reps[2]) = (_full());
        // member 3 reports again and settles in one call, without a commitment
        vm.prank(oracles[3]);
        market.reportAndSettle(id, 0, reps[0].scores, reps[0].merged, bytes32(0), packed, _pick(reps, 7));
        assertEq(market.getBounty(id).versionCount, 1, "the version is made");
        uint256[5] memory f = _fees();
        assertGt(f[1], 0, "the reportAndSettle sender's standing report is paid");
        assertEq(f[0], f[1], "as the other standing one");
        assertEq(f[2] + f[3], 0, "second-round reports are not");
    }

    /// @dev (f) The sender of reportAndSettle is itself partial: its report is cleared with the
    ///      others (not stored), and it may report again.
    function test_attack_a_partial_sender_of_report_and_settle_is_cleared_and_reports_again() public {
        (uint256 id, SubmissionRecord[] memory recs) = _open(4, 1);
        BatchReport[] memory reps = new BatchReport[](4);
        (reps[0], reps[1], reps[2], reps[3]) = (_full(), _full(), _without1(), _without1());
        for (uint256 i = 0; i < 4; ++i) _commit(id, 0, i, reps[i]);
        for (uint256 i = 0; i < 3; ++i) _reveal(id, 0, i, reps[i]);
        bytes memory packed;
        for (uint256 i = 0; i < 3; ++i) {
            SubmissionRecord memory r = recs[i];
            packed = bytes.concat(packed, abi.encodePacked(r.contributor, r.stake, r.baseVersion, r.update.digest, r.update.codec));
        }
        vm.recordLogs();
        vm.prank(oracles[3]);
        market.reportAndSettle(id, 0, reps[3].scores, reps[3].merged, MarketSetup.reportSalt(id, 0, oracles[3]), packed, _pick(reps, 7));
        _logged(BatchRetried.selector, id, 12);
        _assertRetried(id, 3);
        _second(id, 0, 3, _full());
        _second(id, 0, 2, _full());
        (reps[2], reps[3]) = (_full(), _full());
        _settle(id, recs, reps, 15);
        assertEq(market.getBounty(id).versionCount, 1, "the version is made");
    }

    // ------------------------------------------------------------------ (g)

    /// @dev (g) Every first-round report partial (each update unavailable to one member: three
    ///      votes, none lost): no report stands, so the second round is an ordinary commit/reveal
    ///      round: commits open again, reveals wait for them (or the new reveal phase), and the
    ///      committed reports are paid as in any first round.
    function test_attack_an_all_partial_first_round_gets_a_commit_reveal_second_round() public {
        (uint256 id, SubmissionRecord[] memory recs) = _open(3, 1);
        BatchReport[] memory reps = new BatchReport[](3);
        reps[0] = _without1();
        reps[1] = _rep([uint32(6_000), 5_500, UNAV], 6_200, [uint16(7_000), 3_000, 0], 2);
        reps[2] = _rep([UNAV, 5_500, 5_000], 5_500, [uint16(0), 10_000, 0], 5);
        _round1(id, 7, 7, reps);
        vm.recordLogs();
        _settle(id, recs, reps, 7);
        _logged(BatchRetried.selector, id, 7);
        _assertRetried(id, 0);
        BatchReport memory full = _full();
        vm.prank(oracles[0]);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.RevealNotOpen.selector, id, 0));
        market.report(id, 0, full.scores, full.merged, bytes32(0));
        for (uint256 i = 0; i < 3; ++i) _commit(id, 0, i, full);
        for (uint256 i = 0; i < 3; ++i) _reveal(id, 0, i, full);
        (reps[0], reps[1], reps[2]) = (full, full, full);
        _settle(id, recs, reps, 7);
        assertEq(market.getBounty(id).versionCount, 1, "the version is made");
        uint256[5] memory f = _fees();
        assertGt(f[0], 0, "committed second-round reports are paid");
        assertEq(f[0], f[2], "alike");
    }

    // ------------------------------------------------------------------ (h)

    /// @dev (h) A dishonest minority cannot use the retry to decide or to frame. Committee 3: D
    ///      (member 0) reports partial junk, honest H (member 1) is late (committed, did not
    ///      reveal), honest H2 (member 2) reports in full. Two reports, a split: a retry (cleared:
    ///      D; H's commitment stands). Then H reveals its commitment (a report without it is
    ///      refused) and D reports junk again, in full: H and H2 form the quorum, D is deviant,
    ///      H2's standing report is not; H is paid (its report was committed before any was public).
    function test_attack_a_dishonest_partial_member_cannot_use_the_retry_to_decide_or_frame() public {
        (uint256 id, SubmissionRecord[] memory recs) = _open(3, 1);
        BatchReport[] memory reps = new BatchReport[](3);
        BatchReport memory h = _rep([uint32(6_000), 5_000, 5_000], 6_000, [uint16(10_000), 0, 0], 1);
        reps[0] = _rep([uint32(9_000), UNAV, 9_000], 9_500, [uint16(0), 0, 10_000], 9);
        (reps[1], reps[2]) = (h, h);
        _round1(id, 7, 5, reps);
        vm.recordLogs();
        _settle(id, recs, reps, 5);
        _logged(BatchRetried.selector, id, 1);
        _assertRetried(id, 4, 2);
        uint256[5] memory before = _stakes();
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.RevealMismatch.selector, id, 0, oracles[1]));
        _second(id, 0, 1, h);
        _reveal(id, 0, 1, h);
        BatchReport memory junk = _rep([uint32(9_000), 9_000, 9_000], 9_500, [uint16(0), 0, 10_000], 9);
        _second(id, 0, 0, junk);
        reps[0] = junk;
        _settle(id, recs, reps, 7);
        assertEq(market.getBounty(id).headScore, 6_000, "the honest vote decides");
        uint256[5] memory afterStakes = _stakes();
        (, uint256 perOffence) = market.memberBond(id);
        assertEq(before[0] - afterStakes[0], perOffence, "D is deviant");
        assertEq(before[2] - afterStakes[2], 0, "the honest standing report is not made deviant");
        assertEq(before[1] - afterStakes[1], 0, "nor the late honest member");
        uint256[5] memory f = _fees();
        assertGt(f[2], 0, "the standing honest report is paid");
        assertEq(f[1], f[2], "and the late reveal of a first-round commitment");
        assertEq(f[0], 0, "D is not");
    }

    /// @dev (h) A member sitting the batch out (here: it abstained, R12) cannot report in the
    ///      second round: it has no commitment, and the exception is for members on duty.
    function test_attack_a_member_sitting_the_batch_out_cannot_report_in_the_second_round() public {
        (uint256 id, SubmissionRecord[] memory recs) = _open(4, 1);
        BatchReport[] memory reps = new BatchReport[](4);
        (reps[0], reps[1], reps[2]) = (_full(), _full(), _without1());
        _commit(id, 0, 0, reps[0]);
        _commit(id, 0, 1, reps[1]);
        _commit(id, 0, 2, reps[2]);
        vm.prank(oracles[3]);
        market.commitReport(id, 0, bytes32(0)); // abstains (a quorum committed)
        _reveal(id, 0, 0, reps[0]);
        _reveal(id, 0, 1, reps[1]);
        _reveal(id, 0, 2, reps[2]);
        // every member on duty reported: no wait
        _settle(id, recs, reps, 7);
        BatchReport memory full = _full();
        vm.prank(oracles[3]);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.RevealMismatch.selector, id, 0, oracles[3]));
        market.report(id, 0, full.scores, full.merged, bytes32(0));
    }
    // ------------------------------------------------------------------ (j) the fee burn

    /// @dev Review 15, F2 inverted (R7, R9). Committee 5. The withholder serves updates 1 and 2
    ///      to the colluding members 3 and 4 only: the honest members 0-2 are partial, the vote
    ///      splits, they are cleared (R7b) and report again, full, without a commitment. Before
    ///      the burn the fee went to the two colluders (fee/2 each, fee/5 without the
    ///      withholding) and nothing of it to the honest members. Now the fee is divided over all
    ///      five reports within tolerance: the colluders get fee/5 each, as if nothing was
    ///      withheld, and the three uncommitted shares are burned, not refunded to the requester.
    function test_attack_a_withholder_and_its_members_cannot_capture_the_fee() public {
        (uint256 id, SubmissionRecord[] memory recs) = _open(5, 1);
        BatchReport memory full = _rep([uint32(6_000), 5_500, 5_400], 6_300, [uint16(5_000), 3_000, 2_000], 10);
        BatchReport[] memory reps = new BatchReport[](5);
        reps[0] = _rep([uint32(6_000), UNAV, 5_400], 6_100, [uint16(7_000), 0, 3_000], 11);
        reps[1] = _rep([uint32(6_000), 5_500, UNAV], 6_200, [uint16(7_000), 3_000, 0], 12);
        reps[2] = _rep([uint32(6_000), UNAV, UNAV], 6_000, [uint16(10_000), 0, 0], 13);
        (reps[3], reps[4]) = (full, full);
        _round1(id, 31, 31, reps);
        vm.recordLogs();
        _settle(id, recs, reps, 31);
        _logged(BatchRetried.selector, id, 7); // the three honest members cleared
        _assertRetried(id, 24);
        for (uint256 i = 0; i < 3; ++i) {
            _second(id, 0, i, full);
            reps[i] = full;
        }
        _settle(id, recs, reps, 31);
        assertEq(market.getBounty(id).versionCount, 1, "decided: the honest version");
        _assertTwoPaidThreeBurned(id, 0);
    }

    /// @dev The same capture with R7a alone: the withholder's junk update 2 is withheld from the
    ///      honest members 0-2, who report it UNAVAILABLE and agree on the vote without it (no
    ///      retry); members 3 and 4 were served it and score it at the head. Before the burn the
    ///      two full reports took fee/2 each. Now every report gets or burns fee/5; the junk
    ///      update, unavailable to a quorum, is slashed by half (burned too).
    function test_attack_junk_withheld_from_the_honest_members_captures_no_fee_without_a_retry() public {
        (uint256 id, SubmissionRecord[] memory recs) = _open(5, 1);
        BatchReport[] memory reps = new BatchReport[](5);
        BatchReport memory p = _rep([uint32(6_000), 5_500, UNAV], 6_200, [uint16(7_000), 3_000, 0], 2);
        (reps[0], reps[1], reps[2], reps[3], reps[4]) = (p, p, p, _full(), _full());
        _round1(id, 31, 31, reps);
        _settle(id, recs, reps, 31);
        assertEq(market.getBounty(id).nextBatch, 1, "decided in the first round");
        assertEq(market.getBounty(id).versionCount, 1, "with the version");
        _assertTwoPaidThreeBurned(id, stake / 2); // with half the junk's stake
    }

    // ------------------------------------------------------------------ (k) framing (review of R7b, F1)

    /// @dev Review of R7b, F1 (rule R7: an even count's deviance against its two middle keys).
    ///      Committee 5, d = 2 = n - q. Honest members 0 and 1 report in time, full, within
    ///      tolerance of each other (update 0: 6,000 and 6,003; tolerance 5); honest member 2 is
    ///      offline. The dishonest members 3 and 4 reveal partial junk in round 1 to get the retry,
    ///      then report without a commitment after seeing both honest reports, update 0 at 6,013.
    ///      Four keys: the midpoint 6,008 is 8 from member 0's 6,000. Before: member 0 deviant and
    ///      slashed, the decision stood. Now member 0 lies within the tolerance of the lower middle
    ///      key (6,003): not deviant, not slashed, and paid as a non-deviant committed report (the
    ///      decision stands: a quorum agrees with the midpoint, as before).
    function test_attack_cleared_members_frame_an_honest_member_after_seeing_every_reveal() public {
        (uint256 id, SubmissionRecord[] memory recs) = _open(5, 1);
        BatchReport[] memory reps = new BatchReport[](5);
        reps[0] = _rep([uint32(6_000), 5_500, 5_000], 6_200, [uint16(7_000), 3_000, 0], 2); // honest
        reps[1] = _rep([uint32(6_003), 5_500, 5_000], 6_200, [uint16(7_000), 3_000, 0], 2); // honest
        reps[2] = _full(); // honest, offline: never commits
        reps[3] = _without1(); // dishonest, partial on purpose
        reps[4] = _without1();
        _round1(id, 27, 27, reps);
        vm.recordLogs();
        _settle(id, recs, reps, 27);
        _logged(BatchRetried.selector, id, 24); // the dishonest pair cleared
        _assertRetried(id, 3);

        BatchReport memory frame = _rep([uint32(6_013), 5_500, 5_000], 6_200, [uint16(7_000), 3_000, 0], 2);
        _second(id, 0, 3, frame);
        _second(id, 0, 4, frame);
        (reps[3], reps[4]) = (frame, frame);
        (,,,,, uint256 timeoutAt) = market.getBatch(id, 0);
        vm.warp(timeoutAt);
        uint256[5] memory before = _stakes();
        _settle(id, recs, reps, 27);
        assertEq(market.getBounty(id).nextBatch, 1, "decided");
        assertEq(market.getBounty(id).versionCount, 1, "with the honest vote");
        uint256[5] memory afterStakes = _stakes();
        for (uint256 i = 0; i < 5; ++i) assertEq(afterStakes[i], before[i], "nobody slashed: honest member 0 is not framed");
        uint256 fee = market.getBounty(id).oracleFeePerBatch;
        uint256[5] memory f = _fees();
        assertEq(f[0], fee / 4, "honest member 0 is paid as a non-deviant committed report");
        assertEq(f[1], fee / 4, "as member 1");
        assertEq(f[3] + f[4], 0, "the uncommitted pair is not");
    }

    /// @dev F1 on the merged score: nobody offline, honest member 2 cannot fetch update 1 in either
    ///      round (R7b's residual) and is partial both times. Honest members 0 and 1 score the
    ///      merged model 6,200 and 6,203; the pair, partial with junk in round 1 and cleared, names
    ///      the honest vote in round 2 with the merged model at 6,213. Four reports on the merged
    ///      median: midpoint 6,208. Before: member 0 deviant and slashed. Now: not deviant.
    function test_attack_cleared_members_frame_an_honest_member_on_the_merged_score() public {
        (uint256 id, SubmissionRecord[] memory recs) = _open(5, 1);
        BatchReport[] memory reps = new BatchReport[](5);
        reps[0] = _rep([uint32(6_000), 5_500, 5_000], 6_200, [uint16(7_000), 3_000, 0], 2);
        reps[1] = _rep([uint32(6_000), 5_500, 5_000], 6_203, [uint16(7_000), 3_000, 0], 2);
        reps[2] = _without1(); // honest, partial
        BatchReport memory junk = _rep([uint32(5_000), 5_000, UNAV], 5_000, [uint16(0), 0, 0], 7);
        (reps[3], reps[4]) = (junk, junk);
        _round1(id, 31, 31, reps);
        vm.recordLogs();
        _settle(id, recs, reps, 31);
        _logged(BatchRetried.selector, id, 28); // members 2, 3, 4 cleared
        _assertRetried(id, 3);
        _second(id, 0, 2, _without1()); // the honest node reports again, still partial
        BatchReport memory frame = _rep([uint32(6_000), 5_500, 5_000], 6_213, [uint16(7_000), 3_000, 0], 2);
        _second(id, 0, 3, frame);
        _second(id, 0, 4, frame);
        (reps[3], reps[4]) = (frame, frame);
        uint256[5] memory before = _stakes();
        _settle(id, recs, reps, 31); // every member reported: at once
        assertEq(market.getBounty(id).versionCount, 1, "decided with the honest vote");
        assertEq(market.getBounty(id).headScore, 6_208, "at the merged median, within the tolerance of an honest score");
        uint256[5] memory afterStakes = _stakes();
        for (uint256 i = 0; i < 5; ++i) assertEq(afterStakes[i], before[i], "nobody slashed: honest member 0 is not framed");
        assertGt(_fees()[0], 0, "honest member 0 is paid");
    }

    /// @dev The boundary of R7's interval rule: the honest reports are exactly half of the reports
    ///      on each median (committee 5, members 0 and 1 honest, member 2 offline, 3 and 4
    ///      dishonest, all committed in the first round), and as far apart as the tolerance allows
    ///      (6,000 and 6,005; merged 6,200 and 6,205). Wherever the dishonest pair puts update 0 and
    ///      the merged score (the same offset on both), no honest member is ever deviant; a
    ///      dishonest key further than the tolerance from both middle keys still is.
    function test_half_the_reports_honest_within_tolerance_are_never_framed() public {
        (uint256 id, SubmissionRecord[] memory recs) = _open(5, 1);
        int256[13] memory at = [int256(-15), -10, -6, -5, -1, 0, 3, 5, 6, 10, 11, 15, 20];
        BatchReport[] memory reps = new BatchReport[](5);
        reps[0] = _rep([uint32(6_000), 5_500, 5_000], 6_200, [uint16(7_000), 3_000, 0], 2);
        reps[1] = _rep([uint32(6_005), 5_500, 5_000], 6_205, [uint16(7_000), 3_000, 0], 2);
        uint256 snap = vm.snapshotState();
        uint256 decided = 0;
        for (uint256 x = 0; x < at.length; ++x) {
            for (uint256 y = x; y < at.length; ++y) {
                reps[3] = _offset(at[x]);
                reps[4] = _offset(at[y]);
                _round1(id, 27, 27, reps);
                uint256[5] memory before = _stakes();
                _settle(id, recs, reps, 27);
                uint256[5] memory afterStakes = _stakes();
                assertEq(afterStakes[0], before[0], "honest member 0 is never deviant");
                assertEq(afterStakes[1], before[1], "honest member 1 is never deviant");
                if (market.getBounty(id).versionCount == 1) ++decided;
                vm.revertToState(snap);
            }
        }
        assertGt(decided, 40, "most placements are decided (the rule is exercised, not voided)");
        // a key beyond the tolerance of both middle keys is deviant: 6,000, 6,000, 6,005, 6,030
        reps[3] = _offset(0);
        reps[4] = _offset(30);
        _round1(id, 27, 27, reps);
        uint256[5] memory b = _stakes();
        _settle(id, recs, reps, 27);
        uint256[5] memory a = _stakes();
        (, uint256 perOffence) = market.memberBond(id);
        assertEq(b[4] - a[4], perOffence, "the outlier is deviant");
        assertEq(b[0] + b[1] + b[3], a[0] + a[1] + a[3], "nobody else");
    }

    /// @dev A report naming the honest vote with update 0 and the merged score `d` from 6,000 and 6,200.
    function _offset(int256 d) internal pure returns (BatchReport memory) {
        return _rep([uint32(uint256(6_000 + d)), 5_500, 5_000], uint32(uint256(6_200 + d)), [uint16(7_000), 3_000, 0], 2);
    }

    // ------------------------------------------------------------------ (l) silence (review of R7b, L1)

    /// @dev Review of R7b, L1 (rules R7b, R12). Committee 3: members 0 and 1 reveal partial
    ///      reports with different votes, member 2 commits and withholds its reveal. The retry is
    ///      all-partial (nothing stands, a new commit phase). Before: it cleared every commitment,
    ///      so member 2 abstained once the others committed again and was never charged when the
    ///      batch then voided. Now its unrevealed commitment stands: it cannot abstain
    ///      (CommittedAlready; once the others committed, the reveals are open: CommitClosed), and
    ///      the void charges it one offence.
    function test_attack_a_member_that_committed_and_never_revealed_cannot_abstain_after_an_all_partial_retry() public {
        (uint256 id, SubmissionRecord[] memory recs, BatchReport[] memory reps) = _allPartialWithAnUnrevealedCommitment();
        _commit(id, 0, 0, _full());
        vm.prank(oracles[2]);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.CommittedAlready.selector, id, 0, oracles[2]));
        market.commitReport(id, 0, bytes32(0));
        BatchReport memory other = _rep([uint32(7_000), 5_500, 5_000], 6_200, [uint16(7_000), 3_000, 0], 2);
        _commit(id, 0, 1, other);
        vm.prank(oracles[2]);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.CommitClosed.selector, id, 0));
        market.commitReport(id, 0, bytes32(0));
        // members 0 and 1 disagree on update 0 (6,000 and 7,000): no majority, and no third round
        _reveal(id, 0, 0, _full());
        _reveal(id, 0, 1, other);
        (reps[0], reps[1]) = (_full(), other);
        uint256[5] memory before = _stakes();
        (,,,,, uint256 timeoutAt) = market.getBatch(id, 0);
        vm.warp(timeoutAt); // member 2 never reveals
        vm.recordLogs();
        _settle(id, recs, reps, 3);
        _logged(BatchVoided.selector, id, 2);
        (, uint256 perOffence) = market.memberBond(id);
        uint256[5] memory afterStakes = _stakes();
        assertEq(before[2] - afterStakes[2], perOffence, "the withheld reveal is charged as silent");
        assertEq(before[0] - afterStakes[0] + before[1] - afterStakes[1], 0, "the members that reported are not");
    }

    /// @dev The commitment left unrevealed in the first round stands through an all-partial retry:
    ///      its member cannot report without it (RevealMismatch), and may reveal it once the
    ///      reveals open (here: every member on duty committed, counting it); the report counts
    ///      and is paid as any committed one (it was committed before any report was public).
    function test_a_commitment_left_unrevealed_stands_through_the_retry_and_can_be_revealed() public {
        (uint256 id, SubmissionRecord[] memory recs, BatchReport[] memory reps) = _allPartialWithAnUnrevealedCommitment();
        _commit(id, 0, 0, _full());
        _commit(id, 0, 1, _full());
        BatchReport memory full = _full();
        vm.prank(oracles[2]);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.RevealMismatch.selector, id, 0, oracles[2]));
        market.report(id, 0, full.scores, full.merged, bytes32(0));
        for (uint256 i = 0; i < 3; ++i) _reveal(id, 0, i, full);
        (reps[0], reps[1]) = (full, full);
        _settle(id, recs, reps, 7);
        assertEq(market.getBounty(id).versionCount, 1, "decided with the version");
        uint256[5] memory f = _fees();
        assertGt(f[2], 0, "the late reveal of a first-round commitment is paid");
        assertEq(f[0], f[2], "as the others");
        assertEq(f[1], f[2], "alike");
    }

    /// @dev Committee 3: members 0 and 1 reveal partial reports naming different votes, member 2
    ///      commits to the full report and never reveals; settled at the timeout: an all-partial
    ///      retry (cleared: 0 and 1), in which member 2's commitment stands.
    function _allPartialWithAnUnrevealedCommitment()
        internal
        returns (uint256 id, SubmissionRecord[] memory recs, BatchReport[] memory reps)
    {
        (id, recs) = _open(3, 1);
        reps = new BatchReport[](3);
        reps[0] = _without1();
        reps[1] = _rep([uint32(6_000), 5_500, UNAV], 6_200, [uint16(7_000), 3_000, 0], 2);
        reps[2] = _full();
        _round1(id, 7, 3, reps); // member 2 commits, never reveals
        vm.recordLogs();
        _settle(id, recs, reps, 3);
        _logged(BatchRetried.selector, id, 3);
        _assertRetried(id, 0, 4); // all partial: nothing stands; member 2's commitment does
    }
}

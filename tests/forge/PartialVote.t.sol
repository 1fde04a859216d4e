// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MarketSetup, CommitteeSuite} from "./utils/MarketSetup.sol";

/// @dev Rule R7a's partial vote (review 12, finding A; issue 14). A partial report (some
///      update UNAVAILABLE) votes over what it fetched: it merges the updates it scored, gives
///      its UNAVAILABLE slots no share and scores that merge. Its vote counts toward the quorum
///      and is never deviant; the merged model's score is judged only among the reports naming
///      the agreed vote. Review 12's proof of concept (/work/notes/s11_Review12.t.sol,
///      `test_attack_A_...`) is inverted: each attack test asserts what the attacker no longer
///      gets. Committee oracles[0..size-1], a batch of 3: update 0 an honest contributor's,
///      updates 1 and 2 the attacker's; the head is 5,000.
contract PartialVoteTest is CommitteeSuite {
    uint32 internal constant UNAV = type(uint32).max - 1;
    uint32 internal constant INV = type(uint32).max;

    address internal honest = address(0xC0);
    address internal attacker = address(0xBAD);

    function setUp() public override {
        super.setUp();
        vm.deal(honest, 1_000 ether);
        vm.deal(attacker, 1_000 ether);
    }

    struct Run {
        uint256 id;
        uint256[5] fees; // claimable per member after settlement
        uint256[5] lost; // registry stake each member lost
        uint256 stake; // the bounty's stake per submission
    }

    function _open(uint256 size) internal returns (uint256 id) {
        (id,) = _openCommittee(size, 3, size);
    }

    /// @dev Committee of `size`; update 0 by the honest contributor, 1 and 2 by the attacker;
    ///      every member in `reporters` (a mask) commits and reveals its report (reps in
    ///      committee order, one per reporter); settled at the timeout.
    function _run(uint256 size, uint256 reporters, BatchReport[] memory reps) internal returns (Run memory run) {
        SubmissionRecord[] memory recs;
        (run, recs) = _start(size, reporters, reps);
        _settleAndMeasure(run, recs, reps);
        assertGt(market.getBounty(run.id).nextBatch, 0, "batch decided or voided");
    }

    /// @dev _run up to the settlement: the bounty, the submissions, the reports, the timeout.
    function _start(uint256 size, uint256 reporters, BatchReport[] memory reps)
        internal
        returns (Run memory run, SubmissionRecord[] memory recs)
    {
        run.id = _open(size);
        BountyView memory v = market.getBounty(run.id);
        run.stake = v.stake;
        recs = new SubmissionRecord[](3);
        for (uint256 i = 0; i < 3; ++i) {
            address who = i == 0 ? honest : attacker;
            recs[i] = SubmissionRecord(who, v.stake, 0, MarketSetup.cid("update", i));
            vm.prank(who);
            market.submitUpdate{value: v.stake}(run.id, 0, recs[i].update);
        }
        address[] memory who_ = new address[](reps.length);
        uint256 k = 0;
        for (uint256 i = 0; i < size; ++i) {
            if (reporters & (1 << i) != 0) who_[k++] = oracles[i];
        }
        for (uint256 r = 0; r < reps.length; ++r) {
            vm.prank(who_[r]);
            market.commitReport(run.id, 0, MarketSetup.reportCommitment(run.id, 0, who_[r], reps[r]));
        }
        (, uint256 revealAt,) = market.getCommits(run.id, 0);
        if (block.timestamp < revealAt) vm.warp(revealAt);
        for (uint256 r = 0; r < reps.length; ++r) {
            vm.prank(who_[r]);
            market.report(run.id, 0, reps[r].scores, reps[r].merged, MarketSetup.reportSalt(run.id, 0, who_[r]));
        }
        (,,,,, uint256 timeoutAt) = market.getBatch(run.id, 0);
        if (block.timestamp < timeoutAt) vm.warp(timeoutAt);
    }

    /// @dev settleBatch with `reps` (the reporters' reports in committee order); each member's
    ///      claimable and lost registry stake after it.
    function _settleAndMeasure(Run memory run, SubmissionRecord[] memory recs, BatchReport[] memory reps) internal {
        uint256[5] memory before;
        for (uint256 i = 0; i < 5; ++i) (before[i],,) = registry.oracleInfo(oracles[i]);
        market.settleBatch(run.id, 0, recs, reps);
        for (uint256 i = 0; i < 5; ++i) {
            run.fees[i] = market.claimable(oracles[i], ETH);
            (uint256 s,,) = registry.oracleInfo(oracles[i]);
            run.lost[i] = before[i] - s;
        }
    }

    /// @dev A report without a commitment, as a retried batch's second round takes it (R7b).
    function _second(uint256 id, uint256 member, BatchReport memory r) internal {
        vm.prank(oracles[member]);
        market.report(id, 0, r.scores, r.merged, bytes32(0));
    }

    function _three(BatchReport memory a, BatchReport memory b, BatchReport memory c)
        internal
        pure
        returns (BatchReport[] memory reps)
    {
        reps = new BatchReport[](3);
        (reps[0], reps[1], reps[2]) = (a, b, c);
    }

    function _five(BatchReport memory a, BatchReport memory b, BatchReport memory c, BatchReport memory d, BatchReport memory e)
        internal
        pure
        returns (BatchReport[] memory reps)
    {
        reps = new BatchReport[](5);
        (reps[0], reps[1], reps[2], reps[3], reps[4]) = (a, b, c, d, e);
    }

    function _sum(uint256[5] memory xs) internal pure returns (uint256 s) {
        for (uint256 i = 0; i < 5; ++i) s += xs[i];
    }

    // ------------------------------------------------------------- review 12, finding A

    /// @dev Control (review 12): every member fetched everything; the three full reports name
    ///      one vote (update 0 merged alone, merged score 6,000): a version, update 0 paid.
    function test_control_all_available_makes_a_version() public {
        BatchReport memory full = _rep([uint32(6_000), 5_000, 5_000], 6_000, [uint16(10_000), 0, 0], 1);
        Run memory run = _run(3, 7, _three(full, full, full));
        assertEq(market.getBounty(run.id).versionCount, 1, "a version");
        assertGt(market.claimable(honest, ETH), run.stake, "update 0 is paid its reward");
        assertGt(run.fees[0], 0, "every member is paid");
        assertEq(run.fees[0], run.fees[2], "alike");
    }

    /// @dev FINDING A (review 12), inverted. The attacker withholds its junk update 1 from H1 and
    ///      update 2 from H2 until their report deadlines (d = 0). Before, both reports were
    ///      partial and did not vote: 1 < q full reports, no vote, the batch decided without a
    ///      version for gas. Now each partial report votes over what it fetched: H1 merges
    ///      updates 0 and 2, H2 updates 0 and 1; the junk ones get no share, so all three name
    ///      the same vote (update 0 alone, the same merged bytes, 6,000): the version is made and
    ///      update 0 paid. H1 and H2 still earn no fee (partial), and nobody is slashed.
    function test_attack_A_two_updates_each_withheld_from_one_member_kill_the_version_for_free() public {
        BatchReport memory h1 = _rep([uint32(6_000), UNAV, 5_000], 6_000, [uint16(10_000), 0, 0], 1);
        BatchReport memory h2 = _rep([uint32(6_000), 5_000, UNAV], 6_000, [uint16(10_000), 0, 0], 1);
        BatchReport memory h3 = _rep([uint32(6_000), 5_000, 5_000], 6_000, [uint16(10_000), 0, 0], 1);
        Run memory run = _run(3, 7, _three(h1, h2, h3));
        assertEq(market.getBounty(run.id).versionCount, 1, "the version is made");
        assertEq(market.getBounty(run.id).headScore, 6_000, "at the merged model's score");
        assertGt(market.claimable(honest, ETH), run.stake, "the honest update 0 is paid its reward");
        assertEq(market.claimable(attacker, ETH), 2 * run.stake, "the junk updates: rejected at the head");
        assertEq(run.fees[0] + run.fees[1], 0, "partial reports earn no fee");
        assertGt(run.fees[2], 0, "the full report is paid");
        assertEq(_sum(run.lost), 0, "no member slashed");
    }

    // ------------------------------------------- thinking as the adversary about the new rule

    /// @dev (a) A withheld GOOD update. The attacker's updates 1 and 2 beat the head (5,500);
    ///      it withholds 1 from H1 and 2 from H2. H1 merges {0, 2}, H2 {0, 1}, H3 {0, 1, 2}:
    ///      three votes, none with a quorum, and no update is unavailable to a quorum. Before R7b
    ///      the batch was voided (every honest update unpaid, free for the attacker, repeatable).
    ///      Now it gets a second round (R7b): H1's and H2's partial reports are cleared, H3's
    ///      full one stands and the timeout restarts; H1 and H2 fetch the updates from the members
    ///      that pinned them and report again, without a commitment: the version is made and
    ///      every update paid. H3 earns the fee; the second-round reports do not; nobody slashed.
    function test_attack_withheld_good_updates_split_the_vote_gets_a_second_round_not_a_void() public {
        BatchReport memory h1 = _rep([uint32(6_000), UNAV, 5_500], 6_200, [uint16(7_000), 0, 3_000], 2);
        BatchReport memory h2 = _rep([uint32(6_000), 5_500, UNAV], 6_200, [uint16(7_000), 3_000, 0], 3);
        BatchReport memory h3 = _rep([uint32(6_000), 5_500, 5_500], 6_300, [uint16(5_000), 2_500, 2_500], 4);
        (Run memory run, SubmissionRecord[] memory recs) = _start(3, 7, _three(h1, h2, h3));
        _settleAndMeasure(run, recs, _three(h1, h2, h3));
        assertEq(market.getBounty(run.id).nextBatch, 0, "not voided: a second round");
        (,, uint16 reported,,,) = market.getBatch(run.id, 0);
        assertEq(reported, 4, "H3's full report stands, the partial ones are cleared");
        assertEq(market.claimable(honest, ETH) + market.claimable(attacker, ETH) + _sum(run.fees), 0, "a retry moves no money");
        _second(run.id, 0, h3);
        _second(run.id, 1, h3);
        _settleAndMeasure(run, recs, _three(h3, h3, h3));
        assertEq(market.getBounty(run.id).versionCount, 1, "the version is made");
        assertGt(market.claimable(honest, ETH), run.stake, "the honest update 0 is paid its reward");
        assertGt(market.claimable(attacker, ETH), 2 * run.stake, "the withheld good updates too");
        assertEq(run.fees[0] + run.fees[1], 0, "second-round reports earn no fee");
        assertGt(run.fees[2], 0, "the standing full report is paid");
        assertEq(_sum(run.lost), 0, "nobody slashed nor charged");
    }

    /// @dev Control of (a): served to everyone, the attacker's good updates are merged and paid.
    function test_control_good_updates_served_to_everyone_are_paid() public {
        BatchReport memory full = _rep([uint32(6_000), 5_500, 5_500], 6_300, [uint16(5_000), 2_500, 2_500], 4);
        Run memory run = _run(3, 7, _three(full, full, full));
        assertEq(market.getBounty(run.id).versionCount, 1, "a version");
        assertGt(market.claimable(attacker, ETH), 2 * run.stake, "the good updates earn their reward");
    }

    /// @dev (a), with a coalition: committee of 5 (quorum 3), a good update 1 unavailable to H1
    ///      (a partition), and dishonest D1, D2 naming H1's subset vote {0}. That vote has a
    ///      quorum (H1 partial, D1, D2), so the version is made without update 1, at H1's honest
    ///      merged score (it must agree with it). Before, the split voided the batch: update 1
    ///      gets its stake back either way. The honest full reports naming {0, 1} are NOT
    ///      deviant: a vote is deviant only against one q full reports agreed on.
    function test_attack_a_coalition_joining_a_partial_vote_slashes_no_honest_full_report() public {
        BatchReport memory sub = _rep([uint32(6_000), UNAV, 5_000], 6_000, [uint16(10_000), 0, 0], 1);
        BatchReport memory dis = _rep([uint32(6_000), 5_500, 5_000], 6_000, [uint16(10_000), 0, 0], 1);
        BatchReport memory full = _rep([uint32(6_000), 5_500, 5_000], 6_200, [uint16(7_000), 3_000, 0], 2);
        Run memory run = _run(5, 31, _five(sub, full, full, dis, dis));
        assertEq(market.getBounty(run.id).versionCount, 1, "a version without update 1");
        assertEq(market.getBounty(run.id).headScore, 6_000, "at the honest partial member's merged score");
        assertEq(market.claimable(attacker, ETH), 2 * run.stake, "update 1 (and 2) back in full");
        assertEq(_sum(run.lost), 0, "nobody slashed: the honest full reports are not deviant");
        assertGt(run.fees[1], 0, "the honest full reports are paid");
        assertEq(run.fees[0], 0, "the partial report is not");
    }

    /// @dev (b) A lazy member L reports UNAVAILABLE everywhere and names a junk vote (update 2
    ///      merged, 9,000) with a dishonest full partner D; the three honest full reports name
    ///      theirs. L's vote counts no more than a full one: the honest vote has the quorum, D is
    ///      deviant (slashed), L earns no fee and the merged score is the honest one.
    function test_attack_a_lazy_member_voting_with_a_dishonest_partner_cannot_decide_the_vote() public {
        BatchReport memory h = _rep([uint32(6_000), 5_000, 5_000], 6_000, [uint16(10_000), 0, 0], 1);
        BatchReport memory lazy = _rep([UNAV, UNAV, UNAV], 9_000, [uint16(0), 0, 10_000], 9);
        BatchReport memory d = _rep([uint32(6_000), 5_000, 5_000], 9_000, [uint16(0), 0, 10_000], 9);
        Run memory run = _run(5, 31, _five(h, h, h, lazy, d));
        assertEq(market.getBounty(run.id).headScore, 6_000, "the honest vote and merged score");
        assertEq(run.fees[3], 0, "the lazy member earns no fee");
        assertEq(run.lost[3], 0, "and is not deviant for its vote (partial)");
        (, uint256 perOffence) = market.memberBond(run.id);
        assertEq(run.lost[4], perOffence, "its full partner is deviant for its vote");
        assertEq(run.lost[0] + run.lost[1] + run.lost[2], 0, "no honest member slashed");
    }

    /// @dev (b), with one honest member late: H1, H2 name the honest vote, L and D the junk one:
    ///      no vote has the quorum, as if L's report were full. L's report is partial, so the
    ///      batch gets a second round (R7b) rather than a void: L is cleared, the late member H3
    ///      reports then (no commitment) and the honest vote has its quorum; the junk vote is
    ///      never decided, D is deviant, L (silent in the second round) earns nothing.
    function test_attack_a_lazy_member_and_a_partner_get_a_second_round_at_most_while_an_honest_member_is_late() public {
        BatchReport memory h = _rep([uint32(6_000), 5_000, 5_000], 6_000, [uint16(10_000), 0, 0], 1);
        BatchReport memory lazy = _rep([UNAV, UNAV, UNAV], 9_000, [uint16(0), 0, 10_000], 9);
        BatchReport memory d = _rep([uint32(6_000), 5_000, 5_000], 9_000, [uint16(0), 0, 10_000], 9);
        BatchReport[] memory reps = new BatchReport[](4);
        (reps[0], reps[1], reps[2], reps[3]) = (h, h, lazy, d);
        (Run memory run, SubmissionRecord[] memory recs) = _start(5, 1 | 2 | 8 | 16, reps);
        _settleAndMeasure(run, recs, reps);
        assertEq(market.getBounty(run.id).nextBatch, 0, "a second round, not a void");
        assertEq(_sum(run.lost) + _sum(run.fees), 0, "a retry charges and pays nobody");
        _second(run.id, 2, h);
        (,,,,, uint256 timeoutAt) = market.getBatch(run.id, 0);
        vm.warp(timeoutAt); // L stays silent
        (reps[0], reps[1], reps[2], reps[3]) = (h, h, h, d);
        _settleAndMeasure(run, recs, reps);
        assertEq(market.getBounty(run.id).headScore, 6_000, "the honest vote decides");
        (, uint256 perOffence) = market.memberBond(run.id);
        assertEq(run.lost[4], perOffence, "D is deviant for its junk vote");
        assertEq(run.lost[0] + run.lost[1] + run.lost[2] + run.lost[3], 0, "nobody else slashed");
        assertEq(run.fees[2] + run.fees[3] + run.fees[4], 0, "no fee to the second-round, silent or deviant reports");
        assertGt(run.fees[0], 0, "the standing honest reports are paid");
    }

    /// @dev (c) A dishonest member D claims update 2 UNAVAILABLE to escape deviance on the
    ///      merged score: it names the agreed vote with a merged score of 9,000. Naming the
    ///      agreed vote, its merged score is judged: D is deviant, the head is the honest 6,000.
    function test_attack_claiming_unavailable_does_not_escape_deviance_on_the_merged_score() public {
        BatchReport memory h = _rep([uint32(6_000), 5_000, 5_000], 6_000, [uint16(10_000), 0, 0], 1);
        BatchReport memory d = _rep([uint32(6_000), 5_000, UNAV], 9_000, [uint16(10_000), 0, 0], 1);
        Run memory run = _run(3, 7, _three(h, h, d));
        assertEq(market.getBounty(run.id).headScore, 6_000, "the honest merged score");
        (, uint256 perOffence) = market.memberBond(run.id);
        assertEq(run.lost[2], perOffence, "deviant on the merged score");
        assertEq(run.lost[0] + run.lost[1], 0, "the honest members are not");
    }

    /// @dev (c) D claims update 2 UNAVAILABLE and names a junk vote (update 1 merged at 9,000):
    ///      a partial report is never deviant for its vote, so D is not slashed, but it forgoes
    ///      its fee and its vote changes nothing: the honest quorum decides.
    function test_attack_claiming_unavailable_to_vote_junk_forgoes_the_fee_and_decides_nothing() public {
        BatchReport memory h = _rep([uint32(6_000), 5_000, 5_000], 6_000, [uint16(10_000), 0, 0], 1);
        BatchReport memory d = _rep([uint32(6_000), 5_000, UNAV], 9_000, [uint16(0), 10_000, 0], 9);
        Run memory run = _run(3, 7, _three(h, h, d));
        assertEq(market.getBounty(run.id).headScore, 6_000, "the honest vote decides");
        assertEq(market.claimable(attacker, ETH), 2 * run.stake, "update 1 is not merged");
        assertEq(run.fees[2], 0, "D earns no fee");
        assertGt(run.fees[0], 0, "the honest members are paid");
    }

    /// @dev R7a kept: an update unavailable to a quorum, with votes that split, is decided
    ///      without a version (never voided), so its contributor pays the slash. Committee 5:
    ///      update 2 unavailable to H1, H2, H3 (u = 3 >= q), update 1 (good) to H1 as well; H1
    ///      names {0}, H2 and H3 {0, 1}, H4 and H5 {0, 1, 2}.
    function test_r7a_a_split_vote_with_an_update_unavailable_to_a_quorum_slashes_it_and_is_decided() public {
        BatchReport memory h1 = _rep([uint32(6_000), UNAV, UNAV], 6_000, [uint16(10_000), 0, 0], 1);
        BatchReport memory h23 = _rep([uint32(6_000), 5_500, UNAV], 6_200, [uint16(7_000), 3_000, 0], 2);
        BatchReport memory h45 = _rep([uint32(6_000), 5_500, 5_500], 6_300, [uint16(5_000), 2_500, 2_500], 4);
        Run memory run = _run(5, 31, _five(h1, h23, h23, h45, h45));
        assertGt(market.getBounty(run.id).nextBatch, 0, "decided");
        assertEq(market.getBounty(run.id).versionCount, 0, "without a version");
        assertEq(market.claimable(attacker, ETH), 2 * run.stake - run.stake / 2, "update 2 slashed by half, update 1 back");
        assertEq(_sum(run.lost), 0, "no member slashed");
        assertGt(run.fees[3], 0, "the full reports are paid");
    }

    /// @dev R7a kept: an update unavailable to a quorum whose partial reports agree on the vote
    ///      without it: the version is made, and the unavailable update is slashed.
    function test_r7a_an_update_unavailable_to_a_quorum_is_slashed_and_the_partial_vote_makes_the_version() public {
        BatchReport memory p = _rep([uint32(6_000), UNAV, 5_000], 6_000, [uint16(10_000), 0, 0], 1);
        BatchReport memory full = _rep([uint32(6_000), 5_000, 5_000], 6_000, [uint16(10_000), 0, 0], 1);
        Run memory run = _run(3, 7, _three(p, p, full));
        assertEq(market.getBounty(run.id).versionCount, 1, "the version is made");
        assertEq(market.claimable(attacker, ETH), 2 * run.stake - run.stake / 2, "update 1 slashed by half");
        assertEq(_sum(run.lost), 0, "no member slashed");
    }
}

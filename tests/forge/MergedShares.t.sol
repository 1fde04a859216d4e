// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test, Vm, console} from "./utils/Test.sol";
import {MarketModel} from "./utils/MarketModel.sol";
import {MarketSetup} from "./utils/MarketSetup.sol";
import {OracleRegistry} from "../../contracts/OracleRegistry.sol";
import {IBountyMarket, IBountyMarketTypes, IBountyMarketEvents, IBountyMarketErrors} from "../../interfaces/IBountyMarket.sol";

/// @dev Rule R5 (issue 17): the merged CID and the share vector are one vote, and a version
///      pays exactly the vector a quorum agreed on (capped). Attacks first, ported from the
///      adversarial review's proofs of concept (SECURITY.md, "Merged versions").
contract MergedSharesTest is Test, IBountyMarketTypes {
    uint32 internal constant INVALID = type(uint32).max;
    address internal constant ETH = address(0);

    IBountyMarket internal market;
    OracleRegistry internal registry;
    address internal requester = address(0xA11CE);
    address internal keeper = address(0xC0FFEE);
    address internal honestC = address(0xB001);
    address internal allyC = address(0xB002);
    address[] internal oracles;

    function setUp() public {
        MarketSetup.Deployment memory d = MarketSetup.deploy(address(this), address(this));
        market = d.market;
        registry = d.registry;
        oracles = MarketSetup.stakeOracles(registry, 16);
    }

    function _committee(uint256 m) internal view returns (address[] memory c) {
        c = new address[](m);
        for (uint256 i = 0; i < m; ++i) c[i] = oracles[i];
    }

    function _open(BountyParams memory p) internal returns (uint256 id) {
        uint256 total = MarketSetup.escrow(p);
        vm.deal(requester, total);
        vm.prank(requester);
        id = market.createBounty{value: total}(p);
        for (uint256 i = 0; i < p.committee.length; ++i) {
            vm.prank(p.committee[i]);
            market.joinCommittee(id);
        }
        for (uint256 i = 0; i < p.committee.length; ++i) {
            vm.prank(p.committee[i]);
            market.reportBaseline(id, 5_000);
        }
    }

    function _submit(uint256 id, address who, uint32 base, uint256 tag) internal returns (SubmissionRecord memory r) {
        BountyView memory v = market.getBounty(id);
        r = SubmissionRecord(who, v.stake, base, MarketSetup.cid("update", tag));
        vm.deal(who, v.stake);
        vm.prank(who);
        market.submitUpdate{value: v.stake}(id, base, r.update);
    }

    function _rep(uint32[] memory scores, uint32 merged, uint16[] memory shares, Cid memory cid)
        internal
        pure
        returns (BatchReport memory)
    {
        return BatchReport(MarketModel.encode(scores, merged, shares), cid);
    }

    address[] internal _posters;
    BatchReport[] internal _posted;

    /// @dev A member commits to its report now (R11); `_reveal` opens every commitment later.
    function _post(uint256 id, uint256 batch, address o, BatchReport memory r) internal {
        vm.prank(o);
        market.commitReport(id, batch, MarketSetup.reportCommitment(id, batch, o, r));
        _posters.push(o);
        _posted.push(r);
    }

    /// @dev Reveals every committed report, in commit order, warping to the reveal phase when
    ///      some opted-in member did not commit (MarketSetup.commitAndReveal's rule).
    function _reveal(uint256 id, uint256 batch) internal {
        (uint16 committed, uint256 revealAt, uint16 out) = market.getCommits(id, batch);
        (, uint256 opted,) = market.getCommittee(id);
        if (committed != opted & ~uint256(out) && block.timestamp < revealAt) vm.warp(revealAt);
        for (uint256 i = 0; i < _posters.length; ++i) {
            vm.prank(_posters[i]);
            market.report(id, batch, _posted[i].scores, _posted[i].merged, MarketSetup.reportSalt(id, batch, _posters[i]));
        }
        delete _posters;
        delete _posted;
    }

    function _u32(uint32 a, uint32 b) internal pure returns (uint32[] memory x) {
        x = new uint32[](2);
        (x[0], x[1]) = (a, b);
    }

    function _u16(uint16 a, uint16 b) internal pure returns (uint16[] memory x) {
        x = new uint16[](2);
        (x[0], x[1]) = (a, b);
    }

    /// @dev A two-submission batch: an honest contributor (0) and the dishonest members' ally (1).
    function _pair(uint256 committee) internal returns (uint256 id, BountyParams memory p, SubmissionRecord[] memory recs) {
        p = MarketSetup.params(ETH, _committee(committee));
        p.batchSize = 2;
        id = _open(p);
        recs = new SubmissionRecord[](2);
        recs[0] = _submit(id, honestC, 0, 0);
        recs[1] = _submit(id, allyC, 0, 1);
    }

    /// @dev Honest: both beat the head (5,000), the merged model 6,200, shares 8,000 / 2,000.
    function _honest() internal pure returns (BatchReport memory) {
        return _rep(_u32(6_000, 5_500), 6_200, _u16(8_000, 2_000), MarketSetup.cid("merged", 0));
    }

    /// @dev The review's attack: the honest scores and merged CID (never deviant on either), all
    ///      of the shares to the ally.
    function _steering() internal pure returns (BatchReport memory) {
        return _rep(_u32(6_000, 5_500), 6_200, _u16(0, type(uint16).max), MarketSetup.cid("merged", 0));
    }

    function _slashedOracles(Vm.Log[] memory logs) internal view returns (uint256 mask) {
        for (uint256 l = 0; l < logs.length; ++l) {
            if (logs[l].emitter != address(market) || logs[l].topics[0] != IBountyMarketEvents.OracleSlashed.selector) continue;
            address o = address(uint160(uint256(logs[l].topics[3])));
            for (uint256 i = 0; i < oracles.length; ++i) if (oracles[i] == o) mask |= 1 << i;
        }
    }

    function _voided(Vm.Log[] memory logs) internal view returns (bool) {
        for (uint256 l = 0; l < logs.length; ++l) {
            if (logs[l].emitter == address(market) && logs[l].topics[0] == IBountyMarketEvents.BatchVoided.selector) return true;
        }
        return false;
    }

    // ---------------------------------------------------------------------------- F1: steering

    /// @dev Committee of 3, one honest member late: the steering member and the honest one name
    ///      different (CID, shares) votes, so neither has a quorum (2): the batch is voided, the
    ///      ally gets its stake back only, and the steering member earns no fee.
    function test_attack_a_minority_steers_the_share_split_while_an_honest_member_is_late() public {
        (uint256 id, BountyParams memory p, SubmissionRecord[] memory recs) = _pair(3);
        BatchReport memory honest = _honest();
        BatchReport memory evil = _steering();
        _post(id, 0, oracles[0], honest);
        _post(id, 0, oracles[1], evil);
        _reveal(id, 0);
        vm.warp(block.timestamp + p.scoringTimeout + 1);
        BatchReport[] memory reps = new BatchReport[](2);
        (reps[0], reps[1]) = (honest, evil);
        uint256 evilBefore = market.claimable(oracles[1], ETH);
        vm.recordLogs();
        vm.prank(keeper);
        market.settleBatch(id, 0, recs, reps);
        assertTrue(_voided(vm.getRecordedLogs()), "no vote has a quorum: voided");
        assertEq(market.getBounty(id).versionCount, 0, "no version");
        assertEq(market.getBounty(id).paid, 0, "nothing paid");
        assertEq(market.claimable(allyC, ETH), p.stake, "the ally gets its stake back only");
        assertEq(market.claimable(oracles[1], ETH), evilBefore, "the steering member earns no fee");
    }

    /// @dev The same with every member reporting: the two honest reports are the quorum, their
    ///      vector is paid exactly (ally 20%), and the steering member is deviant (F4).
    function test_attack_a_minority_steers_the_share_split_and_is_slashed_when_all_report() public {
        (uint256 id, BountyParams memory p, SubmissionRecord[] memory recs) = _pair(3);
        BatchReport[] memory reps = new BatchReport[](3);
        (reps[0], reps[1], reps[2]) = (_honest(), _steering(), _honest());
        for (uint256 i = 0; i < 3; ++i) _post(id, 0, oracles[i], reps[i]);
        _reveal(id, 0);
        vm.recordLogs();
        vm.prank(keeper);
        market.settleBatch(id, 0, recs, reps);
        assertEq(_slashedOracles(vm.getRecordedLogs()), 2, "the steering member is deviant");
        uint256 reward = market.getBounty(id).paid;
        assertGt(reward, 0, "a version");
        assertEq(market.claimable(allyC, ETH) - p.stake, reward / 5, "ally: exactly its agreed 2,000 of 10,000");
        assertEq(market.claimable(honestC, ETH) - p.stake, (reward * 4) / 5, "honest: 8,000 of 10,000");
    }

    /// @dev Committee of 4, all reporting, two steering (half, not a quorum of 3): no vote has
    ///      a quorum, the batch is voided; the ally gains nothing.
    function test_attack_half_of_a_committee_of_four_steers_the_share_split() public {
        (uint256 id, BountyParams memory p, SubmissionRecord[] memory recs) = _pair(4);
        BatchReport[] memory reps = new BatchReport[](4);
        (reps[0], reps[1], reps[2], reps[3]) = (_honest(), _honest(), _steering(), _steering());
        for (uint256 i = 0; i < 4; ++i) _post(id, 0, oracles[i], reps[i]);
        _reveal(id, 0);
        vm.recordLogs();
        vm.prank(keeper);
        market.settleBatch(id, 0, recs, reps);
        assertTrue(_voided(vm.getRecordedLogs()), "voided");
        assertEq(market.claimable(allyC, ETH), p.stake, "the ally gets its stake back only");
        assertEq(market.getBounty(id).paid, 0, "nothing paid");
    }

    /// @dev The boundary: 1 of 4 steering is outvoted (and deviant), 3 of 4 decide (a majority
    ///      is a trust assumption).
    function test_attack_steering_the_share_split_boundary_one_of_four_and_three_of_four() public {
        for (uint256 evil = 1; evil <= 3; evil += 2) {
            (uint256 id, BountyParams memory p, SubmissionRecord[] memory recs) = _pair(4);
            BatchReport[] memory reps = new BatchReport[](4);
            for (uint256 i = 0; i < 4; ++i) reps[i] = i < evil ? _steering() : _honest();
            for (uint256 i = 0; i < 4; ++i) _post(id, 0, oracles[i], reps[i]);
            _reveal(id, 0);
            uint256 before = market.claimable(allyC, ETH);
            vm.recordLogs();
            vm.prank(keeper);
            market.settleBatch(id, 0, recs, reps);
            Vm.Log[] memory logs = vm.getRecordedLogs();
            uint256 reward = market.getBounty(id).paid;
            if (evil == 1) {
                assertEq(_slashedOracles(logs), 1, "the lone steering member is deviant");
                assertEq(market.claimable(allyC, ETH) - before - p.stake, reward / 5, "honest vector paid");
            } else {
                // 65,535 is over the cap: the agreed vector is refused, no version
                assertEq(_slashedOracles(logs), 8, "the honest minority is deviant");
                assertEq(reward, 0, "a vector over the cap makes no version");
                assertEq(market.claimable(allyC, ETH) - before, p.stake, "stake back");
            }
        }
    }

    // ---------------------------------------------------------------------------- caps

    /// @dev A quorum-agreed vector must be capped: sum <= 10,000, and a share only on a
    ///      submission whose median beats the head. Otherwise no version (stakes back).
    function test_r5_an_agreed_vector_over_the_cap_or_on_a_loser_makes_no_version() public {
        uint16[2][3] memory vectors = [[uint16(9_000), uint16(1_001)], [uint16(10_001), uint16(0)], [uint16(8_000), uint16(2_000)]];
        uint32[2][3] memory scores = [[uint32(6_000), uint32(5_500)], [uint32(6_000), uint32(5_500)], [uint32(6_000), uint32(5_000)]];
        for (uint256 k = 0; k < 3; ++k) {
            (uint256 id, BountyParams memory p, SubmissionRecord[] memory recs) = _pair(3);
            BatchReport memory r =
                _rep(_u32(scores[k][0], scores[k][1]), 6_200, _u16(vectors[k][0], vectors[k][1]), MarketSetup.cid("merged", 0));
            BatchReport[] memory reps = new BatchReport[](3);
            for (uint256 i = 0; i < 3; ++i) {
                reps[i] = r;
                _post(id, 0, oracles[i], r);
            }
            _reveal(id, 0);
            uint256 before = market.claimable(honestC, ETH);
            vm.prank(keeper);
            market.settleBatch(id, 0, recs, reps);
            assertEq(market.getBounty(id).versionCount, 0, "no version");
            assertEq(market.claimable(honestC, ETH) - before, p.stake, "stake back");
            assertEq(market.getBounty(id).nextBatch, 1, "decided, not stuck");
        }
    }

    /// @dev The agreed vector is paid exactly: floor(reward * share / 10,000), a sum below
    ///      10,000 leaves the rest in escrow.
    function testFuzz_r5_the_agreed_vector_is_paid_exactly(uint16 s0, uint16 s1, uint16 s2, uint16 s3) public {
        BountyParams memory p = MarketSetup.params(ETH, _committee(3));
        p.batchSize = 4;
        p.reward = 1 ether + 7;
        uint256 id = _open(p);
        SubmissionRecord[] memory recs = new SubmissionRecord[](4);
        for (uint256 i = 0; i < 4; ++i) recs[i] = _submit(id, address(uint160(0xB000 + i)), 0, i);
        uint32[] memory sc = new uint32[](4);
        for (uint256 i = 0; i < 4; ++i) sc[i] = 6_000;
        uint16[] memory sh = new uint16[](4);
        (sh[0], sh[1], sh[2], sh[3]) = (s0 % 5_001, s1 % 5_001, s2 % 5_001, s3 % 5_001);
        uint256 sum = uint256(sh[0]) + sh[1] + sh[2] + sh[3];
        BatchReport[] memory reps = new BatchReport[](3);
        for (uint256 i = 0; i < 3; ++i) {
            reps[i] = _rep(sc, 9_000, sh, MarketSetup.cid("merged", 0));
            _post(id, 0, oracles[i], reps[i]);
        }
        _reveal(id, 0);
        vm.prank(keeper);
        market.settleBatch(id, 0, recs, reps);
        uint256 reward = sum == 0 || sum > 10_000 ? 0 : (p.reward * 4_000) / 4_000; // merged 9,000 = the target
        uint256 paid = 0;
        for (uint256 i = 0; i < 4; ++i) {
            uint256 part = market.claimable(address(uint160(0xB000 + i)), ETH) - p.stake;
            assertEq(part, (reward * sh[i]) / 10_000, "part = floor(reward * share / 10,000)");
            paid += part;
        }
        assertEq(paid, market.getBounty(id).paid, "paid == parts");
        assertLe(paid, p.reward, "parts <= R");
    }

    // ---------------------------------------------------------------------------- F4

    /// @dev A lone member naming another merged CID (same scores, same shares) is deviant when a
    ///      quorum agrees; with an honest member late it can only void the batch, earning nothing.
    function test_attack_a_lone_member_names_another_merged_cid_to_block_the_version() public {
        (uint256 id,, SubmissionRecord[] memory recs) = _pair(3);
        BatchReport memory other = _honest();
        other.merged = MarketSetup.cid("merged", 666);
        BatchReport[] memory reps = new BatchReport[](3);
        (reps[0], reps[1], reps[2]) = (_honest(), other, _honest());
        for (uint256 i = 0; i < 3; ++i) _post(id, 0, oracles[i], reps[i]);
        _reveal(id, 0);
        vm.recordLogs();
        vm.prank(keeper);
        market.settleBatch(id, 0, recs, reps);
        assertEq(_slashedOracles(vm.getRecordedLogs()), 2, "deviant");
        assertEq(market.getBounty(id).versionCount, 1, "the quorum's version stands");
    }

    // ---------------------------------------------------------------------------- F2

    /// @dev The review's even split (two one-winner reports each way, committee of 4): the
    ///      contract and the reference model decide alike (no vote has a quorum: void).
    function test_f2_an_even_split_of_one_winner_reports_is_decided_alike_by_contract_and_model() public {
        BountyParams memory p = MarketSetup.params(ETH, _committee(4));
        p.batchSize = 2;
        uint256 id = _open(p);
        SubmissionRecord[] memory recs = new SubmissionRecord[](2);
        recs[0] = _submit(id, honestC, 0, 0);
        recs[1] = _submit(id, allyC, 0, 1);
        Cid memory merged = MarketSetup.cid("merged", 0);
        BatchReport memory a = _rep(_u32(6_000, 6_000), 6_000, _u16(10_000, 0), merged);
        BatchReport memory b = _rep(_u32(6_000, 6_000), 6_000, _u16(0, 10_000), merged);
        BatchReport[] memory reps = new BatchReport[](4);
        (reps[0], reps[1], reps[2], reps[3]) = (a, a, b, b);
        bytes[] memory raw = new bytes[](4);
        bytes32[] memory cids = new bytes32[](4);
        for (uint256 i = 0; i < 4; ++i) {
            _post(id, 0, oracles[i], reps[i]);
            raw[i] = reps[i].scores;
            cids[i] = keccak256(abi.encode(reps[i].merged));
        }
        MarketModel.Outcome memory o = MarketModel.settle(_modelParams(3), _linear(), _linear(), _stakes(p.stake), new uint256[](2), raw, cids);
        assertTrue(o.noMajority, "model: no vote has a quorum");
        _reveal(id, 0);
        vm.recordLogs();
        vm.prank(keeper);
        market.settleBatch(id, 0, recs, reps);
        assertTrue(_voided(vm.getRecordedLogs()), "contract: voided");
        assertEq(market.getBounty(id).paid, 0, "no reward");
    }

    function _modelParams(uint256 quorum) internal pure returns (MarketModel.Params memory p) {
        p.higher = true;
        p.headScore = 5_000;
        p.baselineScore = 5_000;
        p.target = 9_000;
        p.quorum = quorum;
        p.reward = 1 ether;
    }

    /// @dev The linear curve's points, (0, 0) and (1, 1) in WAD.
    function _linear() internal pure returns (uint64[] memory xs) {
        xs = new uint64[](2);
        xs[1] = 1e18;
    }

    function _stakes(uint256 stake) internal pure returns (uint256[] memory s) {
        s = new uint256[](2);
        (s[0], s[1]) = (stake, stake);
    }

    // ---------------------------------------------------------------------------- F3

    /// @dev Junk based more than MAX_LAG versions behind the head was always refunded, never
    ///      slashed, so it filled batch slots for free: submitUpdate now refuses it.
    function test_attack_stale_junk_fills_batch_slots_for_free() public {
        BountyParams memory p = MarketSetup.params(ETH, _committee(3));
        p.batchSize = 1;
        p.slashBps = 10_000;
        uint256 id = _open(p);
        for (uint256 k = 0; k < 3; ++k) _oneVersion(id, k, uint32(5_500 + 500 * k));
        assertEq(market.getBounty(id).versionCount, 3, "3 versions");
        BountyView memory v = market.getBounty(id);
        address spammer = address(0xBAD);
        vm.deal(spammer, v.stake);
        vm.prank(spammer);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.BaseVersionStale.selector, id, 0, 3));
        market.submitUpdate{value: v.stake}(id, 0, MarketSetup.cid("update", 999));
        // two behind is still accepted (rebased, G1)
        _submit(id, spammer, 1, 998);
    }

    function _oneVersion(uint256 id, uint256 batch, uint32 score) internal {
        SubmissionRecord[] memory recs = new SubmissionRecord[](1);
        BountyView memory v = market.getBounty(id);
        recs[0] = _submit(id, address(uint160(0xC000 + batch)), v.versionCount, 100 + batch);
        uint32[] memory s = new uint32[](1);
        s[0] = score;
        BatchReport[] memory reps = new BatchReport[](3);
        for (uint256 i = 0; i < 3; ++i) {
            reps[i] = BatchReport(MarketModel.encode(s, true), MarketSetup.cid("merged", batch));
            _post(id, batch, oracles[i], reps[i]);
        }
        _reveal(id, batch);
        vm.prank(keeper);
        market.settleBatch(id, batch, recs, reps);
    }

    // ---------------------------------------------------------------------------- gas

    /// @dev Every update merged at both corners of B3 (committee x batch = 2,048): the honest
    ///      quorum names one vector (a share each), the deviants each another (hashed and
    ///      compared too), scores in committee order; settlement stays within 2^24 gas.
    function test_r5_gas_all_merged_committee16_batch128() public {
        _gasAtBound(16, 128);
    }

    function test_r5_gas_all_merged_committee8_batch256() public {
        _gasAtBound(8, 256);
    }

    function _gasAtBound(uint256 c, uint256 n) internal {
        BountyParams memory p = MarketSetup.params(ETH, _committee(c));
        p.batchSize = uint16(n);
        p.tolerance = 10; // the honest quorum's scores spread over 8 units (gas.py's worst case too)
        uint256 id = _open(p);
        SubmissionRecord[] memory recs = new SubmissionRecord[](n);
        for (uint256 i = 0; i < n; ++i) recs[i] = _submit(id, address(uint160(0xE0000 + i)), 0, i);
        BatchReport[] memory reps = new BatchReport[](c);
        uint256 deviants = c - (c / 2 + 1);
        for (uint256 r = 0; r < c; ++r) {
            uint32[] memory sc = new uint32[](n);
            uint16[] memory sh = new uint16[](n);
            for (uint256 i = 0; i < n; ++i) {
                sc[i] = uint32(r < deviants ? 7_000 + 15 - r : 6_000 + 15 - r);
                sh[i] = uint16(r < deviants ? 60_000 - r : 10_000 / n);
            }
            reps[r] = _rep(sc, uint32(7_000 + 15 - r), sh, MarketSetup.cid("merged", 0));
            _post(id, 0, oracles[r], reps[r]);
        }
        bytes memory cd = abi.encodeWithSelector(market.settleBatch.selector, id, uint256(0), recs, reps);
        uint256 nz = 0;
        for (uint256 i = 0; i < cd.length; ++i) if (cd[i] != 0) ++nz;
        uint256 intrinsic = 21_000 + 16 * nz + 4 * (cd.length - nz);
        _reveal(id, 0);
        vm.prank(keeper);
        uint256 g = gasleft();
        market.settleBatch(id, 0, recs, reps);
        g -= gasleft();
        assertEq(uint256(market.getBounty(id).versionCount), 1, "every update merged into one version");
        uint256 part = market.claimable(address(uint160(0xE0000)), ETH) - p.stake;
        assertGt(part, 0, "each paid its share");
        assertEq(market.claimable(address(uint160(0xE0000 + n - 1)), ETH) - p.stake, part, "the same share, the same part");
        assertEq(market.getBounty(id).paid, part * n, "paid == the parts");
        console.log(string.concat("settlement gas (execution + intrinsic) ", vm.toString(g + intrinsic)));
        assertLt(g + intrinsic, 16_777_216, "within 2^24");
    }
}

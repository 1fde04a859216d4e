// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test, Vm} from "./utils/Test.sol";
import {MarketModel} from "./utils/MarketModel.sol";
import {MarketSetup} from "./utils/MarketSetup.sol";
import {PayoutTree} from "./utils/PayoutTree.sol";
import {OracleRegistry} from "../../contracts/OracleRegistry.sol";
import {MockERC20} from "../../contracts/test/MockERC20.sol";
import {FeeOnTransferToken} from "../../contracts/test/FeeOnTransferToken.sol";
import {
    IBountyMarket,
    IBountyMarketTypes,
    IBountyMarketErrors,
    IBountyMarketEvents
} from "../../interfaces/IBountyMarket.sol";

/// @dev Market rules where fuzzing adds value: what a fee-on-transfer token credits (B2, U2),
///      settlement of random score matrices against the reference model (R5-R7), rewards along
///      the curve until the target (R6), voided batches (R10), the baseline after the timeout
///      (S2), the split of a forfeited bond (E4) and one-off payouts (U6, P3).
contract BountyMarketFuzzTest is Test, IBountyMarketTypes {
    uint32 internal constant INVALID = type(uint32).max;
    address internal constant ETH = address(0);

    IBountyMarket internal market;
    OracleRegistry internal registry;
    MockERC20 internal token;

    address internal requester = address(0xA11CE);
    address internal keeper = address(0xC0FFEE);
    address[] internal oracles;
    address[] internal contributors;

    function setUp() public {
        MarketSetup.Deployment memory d = MarketSetup.deploy(address(this), address(this));
        market = d.market;
        registry = d.registry;
        token = new MockERC20("Mock", "MCK", 18);
        oracles = MarketSetup.stakeOracles(registry, 5);
        for (uint256 i = 0; i < 4; ++i) {
            contributors.push(address(uint160(0xB000 + i)));
        }
    }

    // ------------------------------------------------------------------ helpers

    function _committee(uint256 m) internal view returns (address[] memory c) {
        c = new address[](m);
        for (uint256 i = 0; i < m; ++i) {
            c[i] = oracles[i];
        }
    }

    function _open(BountyParams memory p) internal returns (uint256 id) {
        uint256 total = MarketSetup.escrow(p);
        if (p.token == ETH) {
            vm.deal(requester, total);
            vm.prank(requester);
            return market.createBounty{value: total}(p);
        }
        MockERC20(p.token).mint(requester, total);
        vm.prank(requester);
        MockERC20(p.token).approve(address(market), total);
        vm.prank(requester);
        return market.createBounty(p);
    }

    function _openWithBaseline(BountyParams memory p, uint32 baseline) internal returns (uint256 id) {
        id = _open(p);
        for (uint256 i = 0; i < p.committee.length; ++i) {
            vm.prank(p.committee[i]);
            market.joinCommittee(id);
        }
        for (uint256 i = 0; i < p.committee.length; ++i) {
            vm.prank(p.committee[i]);
            market.reportBaseline(id, baseline);
        }
        assertEq(uint256(market.state(id)), uint256(BountyState.Open), "baseline not set");
    }

    function _submit(uint256 id, address who, uint256 n) internal returns (SubmissionRecord memory r) {
        BountyView memory v = market.getBounty(id);
        r = SubmissionRecord(who, v.stake, v.versionCount, MarketSetup.cid("update", n));
        if (v.token == ETH) {
            vm.deal(who, v.stake);
            vm.prank(who);
            market.submitUpdate{value: v.stake}(id, r.baseVersion, r.update);
        } else {
            MockERC20(v.token).mint(who, v.stake);
            vm.prank(who);
            MockERC20(v.token).approve(address(market), v.stake);
            vm.prank(who);
            market.submitUpdate(id, r.baseVersion, r.update);
        }
    }

    function _report(uint256 id, uint256 batch, uint32[] memory scores) internal view returns (BatchReport memory r) {
        r = BatchReport(MarketModel.encode(scores, market.getBounty(id).higherIsBetter), MarketSetup.cid("merged", batch));
    }

    /// @dev The first reports.length oracles commit to their reports, then reveal them (R11).
    function _send(uint256 id, uint256 batch, BatchReport[] memory reports) internal {
        address[] memory members = new address[](reports.length);
        for (uint256 o = 0; o < reports.length; ++o) {
            members[o] = oracles[o];
        }
        MarketSetup.commitAndReveal(market, id, batch, members, reports);
    }

    function _rand(uint256 seed, uint256 i) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, i)));
    }

    /// @dev An ETH bounty with a committee of 3 and the baseline set, batches of `batchSize`.
    function _openEth3(uint16 batchSize) internal returns (uint256 id) {
        BountyParams memory p = MarketSetup.params(ETH, _committee(3));
        p.batchSize = batchSize;
        id = _openWithBaseline(p, 5_000);
    }

    // --------------------------------------------------- F2: the audit's key disclosure on chain

    /// @dev A member discloses the content keys of a batch in an event (nothing stored) once the
    ///      bounty is closed; before, for a batch that never existed, from a non-member, or with
    ///      the wrong length it is refused.
    function test_f2_a_member_discloses_update_keys_on_chain_once_the_bounty_is_closed() public {
        uint256 id = _openEth3(2);
        SubmissionRecord[] memory records = new SubmissionRecord[](2);
        records[0] = _submit(id, contributors[0], 0);
        records[1] = _submit(id, contributors[1], 1);
        bytes memory keys = abi.encodePacked(keccak256("key 0"), bytes32(0));
        vm.prank(oracles[0]);
        vm.expectRevert(
            abi.encodeWithSelector(IBountyMarketErrors.BountyNotInState.selector, id, BountyState.Open, BountyState.Closed)
        );
        market.discloseKeys(id, 0, keys);
        uint32[] memory s = new uint32[](2);
        s[0] = 6_000;
        s[1] = 5_000;
        BatchReport[] memory reports = new BatchReport[](3);
        for (uint256 o = 0; o < 3; ++o) {
            reports[o] = _report(id, 0, s);
        }
        _send(id, 0, reports);
        market.settleBatch(id, 0, records, reports);
        vm.prank(oracles[0]);
        vm.expectRevert(
            abi.encodeWithSelector(IBountyMarketErrors.BountyNotInState.selector, id, BountyState.Open, BountyState.Closed)
        );
        market.discloseKeys(id, 0, keys); // decided, but the bounty still runs: a key would let anyone copy
        vm.prank(requester);
        market.cancel(id);
        market.close(id);
        vm.prank(oracles[0]);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.BatchNotDecided.selector, id, 1));
        market.discloseKeys(id, 1, "");
        vm.prank(address(0xBAD));
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.NotCommitteeMember.selector, id, address(0xBAD)));
        market.discloseKeys(id, 0, keys);
        vm.prank(oracles[0]);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.InvalidParameter.selector, "keys"));
        market.discloseKeys(id, 0, abi.encodePacked(keccak256("key 0")));
        vm.recordLogs();
        vm.prank(oracles[0]);
        market.discloseKeys(id, 0, keys);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1, "one event");
        assertEq(logs[0].emitter, address(market), "emitted by the market");
        assertEq(logs[0].topics[0], IBountyMarketEvents.KeysDisclosed.selector, "KeysDisclosed");
        assertEq(uint256(logs[0].topics[1]), id, "bounty");
        assertEq(uint256(logs[0].topics[2]), 0, "batch");
        assertEq(address(uint160(uint256(logs[0].topics[3]))), oracles[0], "member");
        assertEq(keccak256(abi.decode(logs[0].data, (bytes))), keccak256(keys), "the keys");
    }

    // ------------------------------------------------ R11: copied reports (commit, then reveal)

    /// @dev A batch of one submission on a 3-member ETH bounty, members 0 and 1 committed to an
    ///      honest report and revealed it once the commit phase ran out (member 2 did not commit).
    function _twoRevealed() internal returns (uint256 id, SubmissionRecord[] memory records, BatchReport[] memory reports) {
        id = _openEth3(1);
        records = new SubmissionRecord[](1);
        records[0] = _submit(id, contributors[0], 0);
        uint32[] memory s = new uint32[](1);
        s[0] = 6_000;
        reports = new BatchReport[](2);
        reports[0] = _report(id, 0, s);
        reports[1] = _report(id, 0, s);
        _send(id, 0, reports); // commits, warps to the reveal phase (member 2 silent), reveals
    }

    function test_a_member_that_copies_revealed_scores_without_committing_earns_nothing() public {
        (uint256 id, SubmissionRecord[] memory records, BatchReport[] memory reports) = _twoRevealed();
        address copier = oracles[2];
        // the scores are public now (ReportPosted); the copier cannot commit to them any more ...
        vm.prank(copier);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.CommitClosed.selector, id, 0));
        market.commitReport(id, 0, MarketSetup.reportCommitment(id, 0, copier, reports[0]));
        // ... nor post them without a commitment
        vm.prank(copier);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.RevealMismatch.selector, id, 0, copier));
        market.report(id, 0, reports[0].scores, reports[0].merged, MarketSetup.reportSalt(id, 0, copier));
        (,,,,, uint256 timeoutAt) = market.getBatch(id, 0);
        vm.warp(timeoutAt);
        market.settleBatch(id, 0, records, reports);
        uint256 fee = market.getBounty(id).oracleFeePerBatch;
        assertGt(fee, 0, "the bounty pays a fee");
        assertEq(market.claimable(copier, ETH), 0, "the copier earned a fee");
        assertEq(market.claimable(oracles[0], ETH), fee / 2, "the members that scored share the fee");
    }

    function test_a_member_that_copies_revealed_scores_after_committing_cannot_swap_its_report() public {
        uint256 id = _openEth3(1);
        SubmissionRecord[] memory records = new SubmissionRecord[](1);
        records[0] = _submit(id, contributors[0], 0);
        uint32[] memory s = new uint32[](1);
        s[0] = 6_000;
        BatchReport memory honest = _report(id, 0, s);
        uint32[] memory g = new uint32[](1);
        g[0] = 1; // committed without scoring
        BatchReport memory garbage = _report(id, 0, g);
        address copier = oracles[2];
        for (uint256 o = 0; o < 3; ++o) {
            vm.prank(oracles[o]);
            market.commitReport(id, 0, MarketSetup.reportCommitment(id, 0, oracles[o], o == 2 ? garbage : honest));
        }
        // every member committed: the reveal phase is open, and commitments are closed
        vm.prank(oracles[0]);
        market.report(id, 0, honest.scores, honest.merged, MarketSetup.reportSalt(id, 0, oracles[0]));
        vm.prank(copier);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.CommitClosed.selector, id, 0));
        market.commitReport(id, 0, MarketSetup.reportCommitment(id, 0, copier, honest));
        vm.prank(copier);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.RevealMismatch.selector, id, 0, copier));
        market.report(id, 0, honest.scores, honest.merged, MarketSetup.reportSalt(id, 0, copier));
    }

    function test_r11_a_reveal_waits_for_every_commitment_or_the_reveal_phase() public {
        uint256 id = _openEth3(1);
        _submit(id, contributors[0], 0);
        uint32[] memory s = new uint32[](1);
        s[0] = 6_000;
        BatchReport memory r = _report(id, 0, s);
        vm.prank(oracles[0]);
        market.commitReport(id, 0, MarketSetup.reportCommitment(id, 0, oracles[0], r));
        vm.prank(oracles[0]);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.RevealNotOpen.selector, id, 0));
        market.report(id, 0, r.scores, r.merged, MarketSetup.reportSalt(id, 0, oracles[0]));
        (uint16 committed, uint256 revealAt,) = market.getCommits(id, 0);
        (,,,,, uint256 timeoutAt) = market.getBatch(id, 0);
        assertEq(committed, 1, "member 0 committed");
        assertEq(revealAt, timeoutAt - market.getBounty(id).scoringTimeout / 4, "the last quarter is the reveal phase");
        vm.warp(revealAt);
        vm.prank(oracles[0]);
        market.report(id, 0, r.scores, r.merged, MarketSetup.reportSalt(id, 0, oracles[0]));
    }

    /// @dev R11: the market's commitment is the one fathom.chain.market.report_commitment computes
    ///      (tests/python/test_chain_commitment.py checks the same vector on the Python side).
    function test_r11_the_commitment_matches_the_nodes() public pure {
        uint32[] memory s = new uint32[](1);
        s[0] = 6_000;
        BatchReport memory r = BatchReport(MarketModel.encode(s, true), Cid(bytes32(uint256(0x22) * (type(uint256).max / 0xff)), 0x55));
        uint256 low = ~uint256(0xffffffff);
        uint256 digest = uint256(keccak256(abi.encodePacked(uint256(0), r.scores, r.merged.digest, r.merged.codec))) & low;
        bytes32 salt = bytes32(uint256(0x11) * (type(uint256).max / 0xff));
        bytes32 c = bytes32(uint256(keccak256(abi.encode(uint256(1), address(0xD000), salt, digest))) & low);
        assertEq(c, bytes32(0xac68b3143eff5dedab461fb181c4482c3cbd947af4320be7fa08d3af00000000), "commitment vector");
    }

    // ------------------------------------------------------- B2 / U2: fee-on-transfer

    function testFuzz_b2_fee_on_transfer_token_credits_what_arrived(
        uint96 reward,
        uint96 fee,
        uint32 maxBatches,
        uint96 bond,
        uint96 stake,
        uint96 topUp
    ) public {
        FeeOnTransferToken fot = new FeeOnTransferToken();
        BountyParams memory p = MarketSetup.params(address(fot), _committee(3));
        p.reward = bound(reward, 0, 1e24);
        p.oracleFeePerBatch = uint96(bound(fee, 0, 1e21));
        p.maxBatches = uint32(bound(maxBatches, 1, 20));
        p.revealBond = uint96(bound(bond, 0, 1e22));
        p.stake = uint96(bound(stake, 1, 1e21));
        uint256 total = MarketSetup.escrow(p);
        uint256 fixedPart = uint256(p.oracleFeePerBatch) * p.maxBatches + p.revealBond;
        uint256 arrived = total - total / 100; // the token burns 1% of every transfer
        fot.mint(requester, total);
        vm.prank(requester);
        fot.approve(address(market), total);
        vm.prank(requester);
        if (arrived < fixedPart) {
            vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.FundingShortfall.selector, arrived, fixedPart));
            market.createBounty(p);
            return;
        }
        uint256 id = market.createBounty(p);
        assertEq(market.getBounty(id).reward, arrived - fixedPart, "reward != what arrived minus fees and bond");
        assertEq(fot.balanceOf(address(market)), arrived, "market balance");

        // top-ups credit what arrived too (B5)
        uint256 amount = bound(topUp, 0, 1e24);
        fot.mint(keeper, amount);
        vm.prank(keeper);
        fot.approve(address(market), amount);
        vm.prank(keeper);
        market.topUp(id, amount);
        uint256 reward_ = arrived - fixedPart + (amount - amount / 100);
        assertEq(market.getBounty(id).reward, reward_, "top-up credited more than arrived");

        // ... and so do stakes (U2): the record carries what arrived
        for (uint256 i = 0; i < 3; ++i) {
            vm.prank(oracles[i]);
            market.joinCommittee(id);
        }
        for (uint256 i = 0; i < 3; ++i) {
            vm.prank(oracles[i]);
            market.reportBaseline(id, 5_000);
        }
        address c = contributors[0];
        fot.mint(c, p.stake);
        vm.prank(c);
        fot.approve(address(market), p.stake);
        vm.recordLogs();
        vm.prank(c);
        market.submitUpdate(id, 0, MarketSetup.cid("update", 1));
        uint256 stakeArrived = uint256(p.stake) - p.stake / 100;
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint96 recorded = 0;
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].topics[0] == IBountyMarketEvents.SubmissionReceived.selector) {
                (,, recorded) = abi.decode(logs[i].data, (uint32, Cid, uint96));
            }
        }
        assertEq(recorded, stakeArrived, "stake recorded != what arrived");
        // conservation: everything the market holds is owed to this bounty
        assertEq(fot.balanceOf(address(market)), reward_ + fixedPart + stakeArrived, "balance != escrow + stakes");
    }

    // -------------------------------------------- R5-R7: random score matrices

    struct Round {
        uint256 id;
        address tok;
        uint256 n;
        uint256 m;
        SubmissionRecord[] records;
        BatchReport[] reports;
        bytes[] scoreBytes;
        uint64[] xs;
        uint64[] ys;
    }

    /// @dev One batch of 1..6 submissions scored by 1 (trusted) or 3..5 oracles whose reports
    ///      mix honest noise, invalid marks and arbitrary values; every payout, burn, fee, oracle
    ///      slash, the head and the reward must be those of the reference model.
    function testFuzz_r5_r7_settlement_matches_the_rules(uint256 seed) public {
        Round memory r;
        bool trusted = seed % 7 == 0;
        r.m = trusted ? 1 : 3 + ((seed >> 8) % 3);
        r.n = 1 + ((seed >> 16) % 6);
        r.tok = (seed >> 24) % 2 == 0 ? ETH : address(token);
        BountyParams memory p = MarketSetup.params(r.tok, _committee(r.m));
        p.trustSingleOracle = trusted;
        p.higherIsBetter = (seed >> 32) % 2 == 0;
        p.target = p.higherIsBetter ? 6_000 : 4_000;
        p.batchSize = uint16(r.n);
        p.maxBatches = 2;
        p.slashMargin = uint32((seed >> 40) % 300);
        p.tolerance = uint32((seed >> 56) % 40);
        p.slashBps = uint16((seed >> 72) % 10_001);
        p.oracleFeePerBatch = uint96((seed >> 88) % 0.01 ether);
        p.stake = uint96(1e15 + ((seed >> 120) % 1 ether));
        p.reward = 1 ether + ((seed >> 160) % 10 ether);
        if ((seed >> 200) % 2 == 0) {
            // a concave curve: pays the early gains
            p.curveX = new uint64[](3);
            p.curveY = new uint64[](3);
            p.curveX[1] = 0.25e18;
            p.curveY[1] = 0.6e18;
            p.curveX[2] = 1e18;
            p.curveY[2] = 1e18;
        }
        r.xs = p.curveX;
        r.ys = p.curveY;
        r.id = _openWithBaseline(p, 5_000);

        r.records = new SubmissionRecord[](r.n);
        for (uint256 i = 0; i < r.n; ++i) {
            r.records[i] = _submit(r.id, contributors[_rand(seed, 100 + i) % contributors.length], i);
        }
        r.reports = new BatchReport[](r.m);
        r.scoreBytes = new bytes[](r.m);
        for (uint256 o = 0; o < r.m; ++o) {
            r.reports[o] = _report(r.id, 0, _scores(seed, o, r.n, p));
            r.scoreBytes[o] = r.reports[o].scores;
        }
        _send(r.id, 0, r.reports);
        MarketModel.Outcome memory out = _expected(r, p);
        _settleAndCheck(r, out);
    }

    /// @dev Rule R7's interval (review of R7b, F1): a committee of 4 (an even count) with spread
    ///      keys. Per submission two reports lie within the tolerance of each other and the other
    ///      two up to twice the tolerance beyond, on one side, so that a key off the midpoint may
    ///      lie within the tolerance of a middle key; every payout, burn, fee and oracle slash must
    ///      be the reference model's (deviant only off both middle keys).
    function testFuzz_r7_an_even_committee_with_spread_keys_settles_as_the_rules_say(uint256 seed) public {
        Round memory r;
        r.m = 4;
        r.n = 1 + (seed % 4);
        r.tok = ETH;
        BountyParams memory p = MarketSetup.params(ETH, _committee(4));
        p.higherIsBetter = (seed >> 8) % 2 == 0;
        p.target = p.higherIsBetter ? 9_000 : 1_000;
        p.batchSize = uint16(r.n);
        p.maxBatches = 2;
        p.tolerance = uint32(1 + (seed >> 16) % 40);
        r.xs = p.curveX;
        r.ys = p.curveY;
        r.id = _openWithBaseline(p, 5_000);
        r.records = new SubmissionRecord[](r.n);
        for (uint256 i = 0; i < r.n; ++i) r.records[i] = _submit(r.id, contributors[i % contributors.length], i);
        r.reports = new BatchReport[](4);
        r.scoreBytes = new bytes[](4);
        uint256 tol = p.tolerance;
        bool up = (seed >> 24) % 2 == 0;
        for (uint256 o = 0; o < 4; ++o) {
            uint32[] memory s = new uint32[](r.n);
            for (uint256 i = 0; i < r.n; ++i) {
                // truths 300 apart: every report merges the same best update (one vote)
                uint256 truth = 4_000 + 300 * i + _rand(seed, 10 + i) % 100;
                uint256 x = _rand(seed, 100 + 16 * i + o);
                uint256 d = o < 2 ? x % (tol + 1) : x % (2 * tol + 3);
                s[i] = uint32(up ? truth + d : truth - d);
            }
            r.reports[o] = _report(r.id, 0, s);
            r.scoreBytes[o] = r.reports[o].scores;
        }
        _send(r.id, 0, r.reports);
        _settleAndCheck(r, _expected(r, p));
    }

    /// @dev Oracle o's scores. Per submission a truth: invalid (1/8), on a boundary (3/8, or all
    ///      of a third of the batches: exactly the head, one unit better, exactly `margin` worse or
    ///      one unit beyond it; boundary values repeat across submissions, so medians tie), or
    ///      anywhere near the head. Then each oracle reports it exactly, with noise within the
    ///      tolerance, a bit off, invalid, or arbitrary.
    function _scores(uint256 seed, uint256 o, uint256 n, BountyParams memory p)
        internal
        pure
        returns (uint32[] memory s)
    {
        s = new uint32[](n);
        uint256 tolerance = p.tolerance;
        bool boundaryOnly = (seed >> 210) % 3 == 0; // a batch of boundary values: ties are likely
        for (uint256 i = 0; i < n; ++i) {
            uint256 t = _rand(seed, 1_000 + i);
            uint256 x = _rand(seed, 2_000 + 16 * i + o);
            bool invalidTruth = t % 8 == 0;
            int256 delta; // goodness relative to the head (5000)
            if (t % 8 <= 3 || boundaryOnly) {
                uint256 k = (t >> 8) % 4;
                delta = k == 0
                    ? int256(0)
                    : k == 1
                        ? int256(1)
                        : k == 2 ? -int256(uint256(p.slashMargin)) : -int256(uint256(p.slashMargin)) - 1;
            } else {
                delta = int256((t >> 8) % 1_600) - 800;
            }
            uint256 truth = uint256(p.higherIsBetter ? 5_000 + delta : 5_000 - delta);
            uint256 mode = x % 10;
            if (mode == 0) s[i] = INVALID;
            else if (mode == 1) s[i] = uint32(x >> 32);
            else if (invalidTruth) s[i] = INVALID;
            else if (mode == 2) s[i] = uint32(truth + tolerance + 1 + ((x >> 8) % 50)); // a bit off
            else if (mode <= 6 || boundaryOnly) s[i] = uint32(truth);
            else s[i] = uint32(truth + ((x >> 8) % (tolerance / 2 + 1)));
        }
    }

    function _expected(Round memory r, BountyParams memory p) internal view returns (MarketModel.Outcome memory) {
        MarketModel.Params memory mp = MarketModel.Params({
            higher: p.higherIsBetter,
            headScore: 5_000,
            baselineScore: 5_000,
            target: p.target,
            slashMargin: p.slashMargin,
            quorum: r.m / 2 + 1,
            tolerance: p.tolerance,
            slashBps: p.slashBps,
            reward: p.reward,
            paid: 0,
            feePerBatch: p.oracleFeePerBatch,
            versions: 0
        });
        uint256[] memory stakes = new uint256[](r.n);
        uint256[] memory bases = new uint256[](r.n);
        for (uint256 i = 0; i < r.n; ++i) {
            stakes[i] = r.records[i].stake;
            bases[i] = r.records[i].baseVersion;
        }
        bytes32[] memory cids = new bytes32[](r.m);
        for (uint256 o = 0; o < r.m; ++o) {
            cids[o] = keccak256(abi.encode(r.reports[o].merged));
        }
        return MarketModel.settle(mp, r.xs, r.ys, stakes, bases, r.scoreBytes, cids);
    }

    struct Expect {
        uint256[] tok; // expected change of claimable in the bounty's token, per account
        uint256[] eth; // expected change of claimable ETH from oracle slashes
        uint256[] before;
        uint256[] beforeEth;
        uint256[] stakesBefore;
        uint256 ethSlashed;
        uint256 burnTok;
        uint256 burnEth;
    }

    function _account(uint256 a) internal view returns (address) {
        return a < contributors.length ? contributors[a] : oracles[a - contributors.length];
    }

    function _snapshot(Round memory r, MarketModel.Outcome memory out) internal view returns (Expect memory e) {
        uint256 accounts = contributors.length + r.m;
        e.tok = new uint256[](accounts);
        e.eth = new uint256[](accounts);
        e.before = new uint256[](accounts);
        e.beforeEth = new uint256[](accounts);
        e.stakesBefore = new uint256[](r.m);
        (, uint256 perOffence) = market.memberBond(r.id);
        for (uint256 o = 0; o < r.m; ++o) {
            (e.stakesBefore[o],,) = registry.oracleInfo(oracles[o]);
            if (out.noMajority) continue; // voided: no fee, no deviance
            if (out.deviantMask & (1 << o) != 0) e.ethSlashed += perOffence; // burned (C3)
            else if (out.partialMask & (1 << o) == 0) e.tok[contributors.length + o] += out.feeShare; // R7a: else burned
        }
        for (uint256 i = 0; i < r.n; ++i) {
            uint256 a = _contributorIndex(r.records[i].contributor);
            if (out.noMajority) e.tok[a] += r.records[i].stake; // R4: voided, every stake back
            else e.tok[a] += out.returned[i] + out.parts[i];
        }
        for (uint256 a = 0; a < accounts; ++a) {
            e.before[a] = market.claimable(_account(a), r.tok);
            e.beforeEth[a] = market.claimable(_account(a), ETH);
        }
        e.burnTok = market.pendingBurn(r.tok);
        e.burnEth = market.pendingBurn(ETH);
    }

    function _settleAndCheck(Round memory r, MarketModel.Outcome memory out) internal {
        Expect memory e = _snapshot(r, out);
        vm.prank(keeper);
        market.settleBatch(r.id, 0, r.records, r.reports);
        for (uint256 a = 0; a < e.tok.length; ++a) {
            address who = _account(a);
            if (r.tok == ETH) {
                assertEq(market.claimable(who, ETH) - e.before[a], e.tok[a] + e.eth[a], "ETH claimable != rules");
            } else {
                assertEq(market.claimable(who, r.tok) - e.before[a], e.tok[a], "token claimable != rules");
                assertEq(market.claimable(who, ETH) - e.beforeEth[a], e.eth[a], "ETH share of oracle slashes != rules");
            }
        }
        uint256 stakesBurned = out.noMajority ? 0 : out.totalBurned + out.feeBurned; // and the partial reports' fee shares
        if (r.tok == ETH) {
            assertEq(market.pendingBurn(ETH) - e.burnEth, stakesBurned + e.ethSlashed, "burned != slashed stakes + bonds");
        } else {
            assertEq(market.pendingBurn(r.tok) - e.burnTok, stakesBurned, "burned != slashed stakes");
            assertEq(market.pendingBurn(ETH) - e.burnEth, e.ethSlashed, "slashed bonds not burned");
        }
        (, uint256 perOffence) = market.memberBond(r.id);
        for (uint256 o = 0; o < r.m; ++o) {
            (uint256 st,,) = registry.oracleInfo(oracles[o]);
            uint256 lost = !out.noMajority && out.deviantMask & (1 << o) != 0 ? perOffence : 0;
            assertEq(st, e.stakesBefore[o] - lost, "oracle stake != rules");
        }
        _checkBounty(r, out);
    }

    function _checkBounty(Round memory r, MarketModel.Outcome memory out) internal {
        BountyView memory v = market.getBounty(r.id);
        if (out.noMajority) {
            assertEq(v.headScore, 5_000, "a voided batch moves no head");
            assertEq(v.versionCount + v.paid + v.feesPaid, 0, "a voided batch pays nothing");
            assertEq(v.nextBatch, 1, "batch decided");
            return;
        }
        assertEq(v.headScore, out.newHead, "head");
        assertEq(v.versionCount, out.accepted ? 1 : 0, "at most one version per batch");
        assertEq(v.paid, out.paidNow, "reward: the parts paid, the dust in escrow");
        assertEq(v.feesPaid, out.feeShare * out.good, "fees paid");
        assertEq(v.nextBatch, 1, "batch decided");
        for (uint256 i = 0; i < r.n; ++i) {
            assertLe(out.burned[i], r.records[i].stake, "slash above stake");
        }
        // the same batch cannot be settled twice (R4, R8)
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.BatchNotReportable.selector, r.id, 0));
        market.settleBatch(r.id, 0, r.records, r.reports);
    }

    function _contributorIndex(address who) internal view returns (uint256) {
        for (uint256 i = 0; i < contributors.length; ++i) {
            if (contributors[i] == who) return i;
        }
        revert("not a contributor");
    }

    // ------------------------------------------------ R6: rewards along the curve

    /// @dev A batch of one per step, each better than the last, and a top-up of up to 100 ETH after
    ///      the third: each accepted version earns floor(R * (c(p) - c(p_head))) with R the escrow
    ///      of its day (R6), so the top-up funds only the progress still to come; the sum never
    ///      exceeds R; without a top-up it is R, less a wei of rounding per version, once the
    ///      target ends the bounty; the requester gets exactly R - paid back at close.
    function testFuzz_r6_rewards_follow_the_curve_to_the_target(uint256 seed, uint96 reward) public {
        BountyParams memory p = MarketSetup.params(ETH, _committee(3));
        p.reward = bound(reward, 0, 1_000 ether);
        p.batchSize = 1;
        p.maxBatches = 12;
        p.tolerance = 0;
        uint256 n = 2 + (seed % 3);
        p.curveX = new uint64[](n);
        p.curveY = new uint64[](n);
        p.curveX[n - 1] = 1e18;
        p.curveY[n - 1] = 1e18;
        for (uint256 i = 1; i + 1 < n; ++i) {
            p.curveX[i] = uint64(p.curveX[i - 1] + 1 + _rand(seed, i) % (1e18 - p.curveX[i - 1] - (n - i)));
            p.curveY[i] = uint64(p.curveY[i - 1] + _rand(seed, 50 + i) % (1e18 - p.curveY[i - 1] + 1));
        }
        _rewardsAlongTheCurve(seed, p, _openWithBaseline(p, 5_000)); // target 9000: 4000 units of progress
    }

    struct CurveRun {
        uint256 paid;
        uint256 escrow;
        uint256 cOld;
        uint256 extra;
        uint32 score;
    }

    function _rewardsAlongTheCurve(uint256 seed, BountyParams memory p, uint256 id) internal {
        CurveRun memory t;
        t.escrow = p.reward;
        t.extra = seed % 2 == 0 ? 0 : _rand(seed, 77) % 100 ether;
        t.score = 5_000;
        for (uint256 b = 0; b < 12 && market.state(id) == BountyState.Open; ++b) {
            if (b == 3 && t.extra != 0) {
                vm.deal(address(this), t.extra);
                market.topUp{value: t.extra}(id, t.extra);
                t.escrow += t.extra;
            }
            t.score += uint32(1 + _rand(seed, 100 + b) % 900);
            if (b == 11) t.score = 9_500; // reach the target at the latest here
            _settleOne(id, b, t.score);
            uint256 cNew = MarketModel.curveAt(p.curveX, p.curveY, MarketModel.progress(MarketModel.key(t.score, true), 5_001, 9_001));
            uint256 due = cNew > t.cOld ? (t.escrow * (cNew - t.cOld)) / 1e18 : 0;
            if (due > t.escrow - t.paid) due = t.escrow - t.paid;
            t.paid += due;
            t.cOld = cNew;
            assertEq(market.getBounty(id).paid, t.paid, "paid != the sum of R * (c(p_new) - c(p_old))");
            assertLe(t.paid, t.escrow, "paid above the escrow");
        }
        assertEq(uint256(market.state(id)), uint256(BountyState.Settling), "the target must end the bounty");
        if (t.extra == 0) assertLe(p.reward - t.paid, 12, "reaching the target pays the escrow, but for rounding");
        uint256 beforeClose = market.claimable(requester, ETH);
        market.close(id);
        assertEq(
            market.claimable(requester, ETH) - beforeClose,
            t.escrow - t.paid + uint256(p.oracleFeePerBatch) * p.maxBatches - market.getBounty(id).feesPaid,
            "refund at close"
        );
    }

    /// @dev Batch `b` of one submission, every member reporting `score`, settled.
    function _settleOne(uint256 id, uint256 b, uint32 score) internal {
        SubmissionRecord[] memory records = new SubmissionRecord[](1);
        records[0] = _submit(id, contributors[b % 4], b);
        BatchReport[] memory reports = new BatchReport[](3);
        uint32[] memory s = new uint32[](1);
        s[0] = score;
        for (uint256 o = 0; o < 3; ++o) {
            reports[o] = _report(id, b, s);
        }
        _send(id, b, reports);
        market.settleBatch(id, b, records, reports);
    }

    // ---------------------------------------------------------- R10: void

    /// @dev Fewer reports than the quorum (more than half the committee) by the timeout: nobody
    ///      can settle, anyone voids after the timeout (not before), every stake returns in full,
    ///      each silent opted-in member loses one offence of its bond (C3), which is burned: no
    ///      contributor gains from the void.
    function testFuzz_r10_void_returns_stakes_and_slashes_the_silent(uint256 seed) public {
        uint256 m = 3 + (seed % 3);
        uint256 n = 1 + ((seed >> 8) % 4);
        uint256 reporters = (seed >> 16) % (m / 2 + 1); // below the quorum
        BountyParams memory p = MarketSetup.params(address(token), _committee(m));
        p.batchSize = uint16(n);
        p.stake = uint96(1e15 + (seed >> 32) % 1e18);
        uint256 id = _openWithBaseline(p, 5_000);
        SubmissionRecord[] memory records = new SubmissionRecord[](n);
        for (uint256 i = 0; i < n; ++i) {
            records[i] = _submit(id, contributors[i % 4], i);
        }
        uint32[] memory s = new uint32[](n);
        BatchReport[] memory given = new BatchReport[](reporters);
        for (uint256 o = 0; o < reporters; ++o) {
            given[o] = _report(id, 0, s);
        }
        _send(id, 0, given);
        (,,,,, uint256 timeoutAt) = market.getBatch(id, 0);
        vm.warp(timeoutAt - 1);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.BatchNotVoidable.selector, id, 0));
        market.voidBatch(id, 0, records);
        vm.warp(timeoutAt);
        (uint256 bond, uint256 perOffence) = market.memberBond(id);
        assertEq(bond, MarketSetup.ORACLE_MIN_STAKE / 16, "a token bounty's bond is the floor");
        assertEq(perOffence, bond / 10, "one offence: the registry's 10% of the bond");
        uint256 slashed = (m - reporters) * perOffence;
        market.voidBatch(id, 0, records);
        for (uint256 i = 0; i < 4 && i < n; ++i) {
            uint256 own = (n - i + 3) / 4; // submissions of contributor i
            assertEq(market.claimable(contributors[i], address(token)), own * p.stake, "stake not returned in full");
            assertEq(market.claimable(contributors[i], ETH), 0, "a contributor gained from the void");
        }
        for (uint256 o = 0; o < m; ++o) {
            (uint256 st,,) = registry.oracleInfo(oracles[o]);
            assertEq(st, o < reporters ? 10 ether : 10 ether - perOffence, "only silent opted-in members are slashed");
        }
        assertEq(market.pendingBurn(ETH), slashed, "the silent members' slashes are burned");
        assertEq(market.pendingBurn(address(token)), 0, "a void burns no stake");
    }

    // ------------------------------------------------------ S2: late baseline

    /// @dev With k of 5 members' baseline reports: before the timeout nothing settles it; after
    ///      it, k >= 3 reports of which 3 agree within tolerance with their median fix that median
    ///      (S2); fewer reports, or fewer agreeing, are refused.
    function testFuzz_s2_baseline_after_the_timeout_needs_a_quorum(uint256 seed, uint32[5] memory raw) public {
        uint256 k = seed % 5; // with all five the baseline is set by the last report
        BountyParams memory p = MarketSetup.params(ETH, _committee(5));
        p.higherIsBetter = (seed >> 8) % 2 == 0;
        p.target = p.higherIsBetter ? INVALID - 2 : 0; // MAX_SCORE: 2^32 - 2 is UNAVAILABLE (R7a)
        uint256 id = _open(p);
        uint64[] memory keys = new uint64[](k);
        for (uint256 i = 0; i < 5; ++i) {
            vm.prank(oracles[i]);
            market.joinCommittee(id);
        }
        uint256 centre = bound(raw[0], 100, INVALID - 100);
        for (uint256 i = 0; i < k; ++i) {
            // near one value (a majority agrees) in half the runs, anywhere in the others
            uint32 score = (seed >> 16) % 2 == 0
                ? uint32(centre - 5 + raw[i] % 11)
                : uint32(bound(raw[i], 1, INVALID - 2));
            vm.prank(oracles[i]);
            market.reportBaseline(id, score);
            keys[i] = MarketModel.key(score, p.higherIsBetter);
        }
        vm.warp(block.timestamp + p.scoringTimeout - 1);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.BaselineNotReady.selector, id, k, 3));
        market.settleBaseline(id);
        vm.warp(block.timestamp + 1);
        if (k < 3) {
            vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.BaselineNotReady.selector, id, k, 3));
            market.settleBaseline(id);
            return;
        }
        uint64 med = MarketModel.median(keys);
        uint256 agree = 0;
        for (uint256 i = 0; i < k; ++i) {
            uint256 d = keys[i] > med ? keys[i] - med : med - keys[i];
            if (d <= p.tolerance) ++agree;
        }
        if (agree < 3) {
            vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.NoMajority.selector, id, type(uint256).max, agree, 3));
            market.settleBaseline(id);
            return;
        }
        market.settleBaseline(id);
        uint32 expected = MarketModel.scoreOf(med, p.higherIsBetter);
        assertEq(market.getBounty(id).baselineScore, expected, "baseline != median of the reports");
        assertEq(uint256(market.state(id)), uint256(BountyState.Open), "not open");
    }

    // --------------------------------------------------- E4: forfeited bond

    /// @dev v accepted versions, bond B, no reveal: each author may claim floor(B / v) once; the
    ///      rest (all of B without versions) is burned.
    function testFuzz_e4_forfeited_bond_is_split_among_accepted_authors(uint256 versions, uint96 bond) public {
        versions = bound(versions, 0, 5);
        BountyParams memory p = MarketSetup.params(ETH, _committee(3));
        p.revealBond = uint96(bound(bond, 0, 100 ether));
        p.batchSize = 1;
        uint256 id = _openWithBaseline(p, 5_000);
        for (uint256 b = 0; b < versions; ++b) {
            SubmissionRecord[] memory records = new SubmissionRecord[](1);
            records[0] = _submit(id, contributors[b % 4], b);
            uint32[] memory s = new uint32[](1);
            s[0] = uint32(5_100 + 100 * b); // each beats the head, none reaches 9000
            BatchReport[] memory reports = new BatchReport[](3);
            for (uint256 o = 0; o < 3; ++o) {
                reports[o] = _report(id, b, s);
            }
            _send(id, b, reports);
            market.settleBatch(id, b, records, reports);
        }
        vm.prank(requester);
        market.cancel(id);
        market.close(id);
        uint256 closedAt = block.timestamp;
        vm.expectRevert(
            abi.encodeWithSelector(IBountyMarketErrors.RevealWindowOpen.selector, id, closedAt + p.revealWindow)
        );
        market.forfeitBond(id);
        vm.warp(closedAt + p.revealWindow + 1);
        uint256[4] memory before;
        for (uint256 i = 0; i < 4; ++i) {
            before[i] = market.claimable(contributors[i], ETH);
        }
        market.forfeitBond(id);
        uint256 share = versions == 0 ? 0 : p.revealBond / versions;
        assertEq(market.bondShare(id), share, "share");
        assertEq(market.pendingBurn(ETH), p.revealBond - share * versions, "burned remainder");
        for (uint256 ver = 1; ver <= versions; ++ver) {
            if (share == 0) break;
            market.claimBondShare(id, ver);
            vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.NoBondShare.selector, id, ver));
            market.claimBondShare(id, ver);
        }
        for (uint256 i = 0; i < 4; ++i) {
            uint256 own = versions > i ? (versions - i + 3) / 4 : 0; // versions authored by contributor i
            assertEq(market.claimable(contributors[i], ETH) - before[i], own * share, "bond share");
        }
        // the requester cannot take the bond back by revealing late
        uint256 req = market.claimable(requester, ETH);
        vm.prank(requester);
        market.reveal(id, MarketSetup.cid("validation", 0), bytes32(uint256(0x11)), bytes32(uint256(0x22)), bytes32(0));
        assertEq(market.claimable(requester, ETH), req, "a late reveal returned a forfeited bond");
    }

    // ------------------------------------------------------ U6 / P3: one-off payouts

    uint256 internal constant ONE_OFF = 1 << 95;

    struct OneOffCase {
        uint256 id;
        uint256 n;
        address tok;
        uint256 stake;
        address[] who;
        bool[] once;
        uint32[] scores;
        uint256[] owed; // what each one-off submission is owed through the roots (0 for the others)
    }

    /// @dev Random batches (1 to 48 submissions: one or two groups of 32) mixing one-off and
    ///      ordinary submissions and every outcome, on either token. The payouts the rules owe
    ///      the one-off submissions are rebuilt here into their trees: the stored roots must
    ///      match, every payout is claimable exactly once and only by its contributor, and once
    ///      everyone has claimed, the contributors hold their stakes less the burns plus the
    ///      reward: nothing paid twice, nothing left behind.
    function testFuzz_u6_p3_one_off_payouts_are_claimed_once_and_balance_the_books(uint256 seed) public {
        OneOffCase memory c;
        c.n = 1 + seed % 48;
        c.tok = (seed >> 8) % 2 == 0 ? ETH : address(token);
        BountyParams memory p = MarketSetup.params(c.tok, _committee(3));
        p.batchSize = uint16(c.n);
        p.maxBatches = 1;
        p.slashBps = uint16((seed >> 16) % 10_001);
        p.stake = uint96(1e12 + (seed >> 32) % 1 ether);
        c.stake = p.stake;
        c.id = _openWithBaseline(p, 5_000);
        c.who = new address[](c.n);
        c.once = new bool[](c.n);
        c.scores = new uint32[](c.n);
        uint256 start = _contributorsHold(c.tok);
        for (uint256 i = 0; i < c.n; ++i) {
            uint256 r = _rand(seed, 1000 + i);
            c.who[i] = contributors[r % contributors.length];
            c.once[i] = (r >> 8) % 3 != 0;
            // invalid, far worse (slashed), a little worse (rejected) or better (may be accepted)
            uint256 kind = (r >> 16) % 8;
            c.scores[i] = kind == 0 ? INVALID : kind == 1 ? 4_000 : kind < 5 ? uint32(4_950 + (r >> 24) % 50)
                : uint32(5_001 + (r >> 24) % 500);
            _submitOneOff(c, i);
        }
        BatchReport[] memory reports = new BatchReport[](3);
        for (uint256 o = 0; o < 3; ++o) {
            reports[o] = _report(c.id, 0, c.scores);
        }
        _send(c.id, 0, reports);
        uint256 burnedBefore = market.pendingBurn(c.tok);
        market.settleBatch(c.id, 0, _oneOffRecords(c), reports);
        uint256 burned = market.pendingBurn(c.tok) - burnedBefore;
        uint256 reward = market.getBounty(c.id).paid;
        _expectOwed(c, p, reward);
        for (uint256 g = 0; g * 32 < c.n; ++g) {
            (bytes32 root, uint32 claimed) = market.payoutRoot(c.id, 0, g);
            assertEq(root, PayoutTree.root(_oneOffLeaves(c, g)), "stored root");
            assertEq(uint256(claimed), 0, "nothing claimed yet");
        }
        for (uint256 i = 0; i < c.n; ++i) {
            if (c.owed[i] != 0) _claimOnce(c, i);
        }
        // the ordinary submissions' payouts are claimable balances
        for (uint256 k = 0; k < contributors.length; ++k) {
            if (market.claimable(contributors[k], c.tok) != 0) {
                vm.prank(contributors[k]);
                market.claim(c.tok);
            }
        }
        assertEq(_contributorsHold(c.tok) - start, c.n * c.stake - burned + reward, "stakes - burns + reward, once");
    }

    /// @dev R5 with three equal reports: the best valid score above the head (5,000; ties: the
    ///      lowest index) is accepted; invalid or more than the margin below the head, slashed.
    function _expectOwed(OneOffCase memory c, BountyParams memory p, uint256 reward) internal pure {
        c.owed = new uint256[](c.n);
        uint256 best = type(uint256).max;
        for (uint256 i = 0; i < c.n; ++i) {
            if (c.scores[i] != INVALID && c.scores[i] > 5_000 && (best == type(uint256).max || c.scores[i] > c.scores[best])) {
                best = i;
            }
        }
        for (uint256 i = 0; i < c.n; ++i) {
            if (!c.once[i]) continue;
            if (i == best) c.owed[i] = c.stake + reward;
            else if (c.scores[i] == INVALID || uint256(c.scores[i]) + p.slashMargin < 5_000) {
                c.owed[i] = c.stake - c.stake * p.slashBps / 10_000;
            } else {
                c.owed[i] = c.stake;
            }
        }
    }

    function _oneOffLeaves(OneOffCase memory c, uint256 g) internal pure returns (bytes32[32] memory leaves) {
        for (uint256 j = 0; j < 32 && g * 32 + j < c.n; ++j) {
            uint256 i = g * 32 + j;
            if (c.owed[i] != 0) leaves[j] = PayoutTree.leaf(c.who[i], c.owed[i], c.tok);
        }
    }

    /// @dev Only i's contributor, with i's amount, claims i's payout, and only once.
    function _claimOnce(OneOffCase memory c, uint256 i) internal {
        bytes32[5] memory proof = PayoutTree.proof(_oneOffLeaves(c, i / 32), i % 32);
        address other = c.who[(i + 1) % c.n] == c.who[i] ? address(0xBAD) : c.who[(i + 1) % c.n];
        bytes memory invalid = abi.encodeWithSelector(IBountyMarketErrors.InvalidPayoutProof.selector, c.id, i);
        vm.expectRevert(invalid);
        vm.prank(other);
        market.claimPayout(c.tok, c.id, i, c.owed[i], proof);
        vm.expectRevert(invalid);
        vm.prank(c.who[i]);
        market.claimPayout(c.tok, c.id, i, c.owed[i] + 1, proof);
        uint256 before = _holds(c.tok, c.who[i]);
        vm.prank(c.who[i]);
        market.claimPayout(c.tok, c.id, i, c.owed[i], proof);
        assertEq(_holds(c.tok, c.who[i]), before + c.owed[i], "paid the leaf's amount");
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.PayoutAlreadyClaimed.selector, c.id, i));
        vm.prank(c.who[i]);
        market.claimPayout(c.tok, c.id, i, c.owed[i], proof);
    }

    /// @dev submitUpdate or submitUpdateOnce, the stake given to the contributor just before.
    function _submitOneOff(OneOffCase memory c, uint256 i) internal {
        Cid memory update = MarketSetup.cid("update", i);
        address who = c.who[i];
        if (c.tok == ETH) {
            vm.deal(who, who.balance + c.stake);
            vm.prank(who);
            if (c.once[i]) market.submitUpdateOnce{value: c.stake}(c.id, 0, update);
            else market.submitUpdate{value: c.stake}(c.id, 0, update);
        } else {
            token.mint(who, c.stake);
            vm.prank(who);
            token.approve(address(market), c.stake);
            vm.prank(who);
            if (c.once[i]) market.submitUpdateOnce(c.id, 0, update);
            else market.submitUpdate(c.id, 0, update);
        }
    }

    function _oneOffRecords(OneOffCase memory c) internal pure returns (SubmissionRecord[] memory r) {
        r = new SubmissionRecord[](c.n);
        for (uint256 i = 0; i < c.n; ++i) {
            r[i] = SubmissionRecord(c.who[i], uint96(c.stake | (c.once[i] ? ONE_OFF : 0)), 0, MarketSetup.cid("update", i));
        }
    }

    function _contributorsHold(address tok) internal view returns (uint256 sum) {
        for (uint256 k = 0; k < contributors.length; ++k) {
            sum += _holds(tok, contributors[k]);
        }
    }

    function _holds(address tok, address who) internal view returns (uint256) {
        return tok == ETH ? who.balance : token.balanceOf(who);
    }
}

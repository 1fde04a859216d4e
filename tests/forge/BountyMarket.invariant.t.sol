// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test, console} from "./utils/Test.sol";
import {MarketSetup} from "./utils/MarketSetup.sol";
import {MarketHandler} from "./handlers/MarketHandler.sol";
import {OracleRegistry} from "../../contracts/OracleRegistry.sol";
import {MockERC20} from "../../contracts/test/MockERC20.sol";
import {IBountyMarket} from "../../interfaces/IBountyMarket.sol";

/// @dev Deploys the contracts as scripts/deploy.py does, bootstraps an ETH and an ERC-20 round,
///      and points the invariant fuzzer at the handler's actions only.
abstract contract MarketInvariantBase is Test {
    IBountyMarket internal market;
    OracleRegistry internal registry;
    MockERC20 internal token;
    MarketHandler internal handler;

    address internal constant ETH = address(0);

    function setUp() public virtual {
        MarketSetup.Deployment memory d = MarketSetup.deploy(address(this), address(this));
        market = d.market;
        registry = d.registry;
        token = new MockERC20("Mock", "MCK", 18);
        handler = new MarketHandler(market, registry, token);
        handler.bootstrap();

        bytes4[] memory selectors = new bytes4[](32);
        selectors[0] = MarketHandler.createBounty.selector;
        selectors[1] = MarketHandler.topUp.selector;
        selectors[2] = MarketHandler.joinCommittee.selector;
        selectors[3] = MarketHandler.reportBaseline.selector;
        selectors[4] = MarketHandler.settleBaseline.selector;
        selectors[5] = MarketHandler.submitUpdate.selector;
        selectors[6] = MarketHandler.submitUpdate2.selector;
        selectors[7] = MarketHandler.submitUpdateFromBalance.selector;
        selectors[8] = MarketHandler.report.selector;
        selectors[9] = MarketHandler.report2.selector;
        selectors[10] = MarketHandler.report3.selector;
        selectors[11] = MarketHandler.settleBatch.selector;
        selectors[12] = MarketHandler.settleBatch2.selector;
        selectors[13] = MarketHandler.voidBatch.selector;
        selectors[14] = MarketHandler.cancel.selector;
        selectors[15] = MarketHandler.close.selector;
        selectors[16] = MarketHandler.reveal.selector;
        selectors[17] = MarketHandler.forfeitBond.selector;
        selectors[18] = MarketHandler.claimBondShare.selector;
        selectors[19] = MarketHandler.claim.selector;
        selectors[20] = MarketHandler.claim2.selector;
        selectors[21] = MarketHandler.burn.selector;
        selectors[22] = MarketHandler.warp.selector;
        selectors[23] = MarketHandler.leaveCommittee.selector;
        selectors[24] = MarketHandler.restake.selector;
        selectors[25] = MarketHandler.unbondOrWithdraw.selector;
        selectors[26] = MarketHandler.settleTampered.selector;
        // weights: a round needs several submissions and reports (the handler joins members
        // and reports baselines itself where an action needs them)
        selectors[27] = MarketHandler.submitUpdate3.selector;
        selectors[28] = MarketHandler.reportAll.selector;
        // one-off submissions and their payout claims (U6, P3)
        selectors[29] = MarketHandler.submitUpdateOnce.selector;
        selectors[30] = MarketHandler.claimPayout.selector;
        // commit-then-reveal (R11): commits, the commit phase running out, copy attempts
        selectors[31] = MarketHandler.commitReport.selector;
        targetContract(address(handler));
        targetSelector(FuzzSelector(address(handler), selectors));
    }
}

/// @dev The money and safety invariants of DESIGN.md "What the system promises", under random
///      rounds (runs x depth from foundry.toml: 256 x 64 by default).
contract BountyMarketInvariantTest is MarketInvariantBase {
    function _check(string memory failure) internal pure {
        assertEq(bytes(failure).length, 0, failure);
    }

    /// @dev Escrow conservation per token (ETH and the ERC-20), three ways: (1) the balance equals
    ///      what the market's views say it owes (open escrow + unpaid fees until close, unsettled
    ///      reveal bonds, stakes locked in undecided batches, unclaimed bond shares, claimable,
    ///      pending burn); (2) it equals everything that arrived minus everything claimed or
    ///      burned; (3) pending burns equal the model's burns minus what was sent to 0x..dEaD.
    function invariant_escrowConservation() public view {
        _check(handler.checkEscrow(ETH));
        _check(handler.checkEscrow(address(token)));
    }

    /// @dev Nobody withdraws more than they are owed, nothing is claimable twice: per account and
    ///      token, claimed + spent from balance <= credited by the model, claimable == credited -
    ///      claimed - spent, and every second claim (of a balance or a bond share) reverted.
    function invariant_noOverClaim() public view {
        _check(handler.checkClaims());
    }

    /// @dev Rewards of a bounty never exceed its reward escrow (creation + top-ups); paid equals
    ///      the sum of accepted rewards; fees paid never exceed the fee budget.
    function invariant_rewardsWithinEscrow() public view {
        _check(handler.checkRewards());
    }

    /// @dev A slash never exceeds the stake: every StakeSlashed burned exactly slashBps of the
    ///      submission's stake (<= the stake) and returned the rest; no oracle slash exceeded the
    ///      oracle's stake; the registry holds exactly the modelled oracle stakes.
    function invariant_slashNeverExceedsStake() public view {
        _check(handler.checkSlashes());
    }

    /// @dev Every stake comes back or is slashed by a rule; none stays locked forever: past every
    ///      deadline and timeout, with every pending batch reported and settled (or voided),
    ///      every bounty closed and revealed or its bond forfeited, no stake is locked, oracles
    ///      are released, the market holds exactly what is claimable (+ burns + bond shares),
    ///      and once everybody has claimed and the burns are sent it holds nothing. The drain's
    ///      state changes are discarded (forge does not commit invariant calls); it runs every
    ///      16th call of a run, so at depths 16, 32, 48 and 64.
    function invariant_everyStakeComesBackOrIsSlashed() public {
        if (handler.steps() % 16 != 0) return;
        _check(handler.drainAndCheck());
    }

    /// @dev The market decides exactly as the independent model of R5-R7 (outcomes, medians,
    ///      rewards, fees, slashes, baselines), refuses forged records, reports and reveals
    ///      (R8, E3), never reverts a call the rules allow (liveness), and keeps the registry's
    ///      bonds in step with the committees (C1-C2, O2).
    function invariant_settlementFollowsTheRules() public view {
        _check(handler.checkRules());
    }

    /// @dev Nobody gains from a void (R10, R4, C3): each void, by voidBatch or by a settlement
    ///      no majority agreed with, credits each contributor exactly its stakes back and burns
    ///      every wei it slashed; and all ETH ever slashed or burned is in pendingBurn or at the
    ///      burn address, owed to nobody.
    function invariant_nobodyGainsFromAVoid() public view {
        _check(handler.checkVoids());
    }

    /// @dev No batch becomes undecidable (R4, R10, B4): every settle or void the rules allow goes
    ///      through, within EIP-7825's 2^24 gas, and no pending batch waits more than 7 days for
    ///      its timeout.
    function invariant_noBatchBecomesUndecidable() public view {
        _check(handler.checkDecidable());
    }

    /// @dev No decision by half the committee or fewer (R4, S2): every settled batch counted
    ///      reports from more than half of the committee, and so did every baseline.
    function invariant_noDecisionByLessThanHalfTheCommittee() public view {
        _check(handler.checkQuorums());
    }

    /// @dev A copied report earns nothing (R11): once a report of a batch is public, a member
    ///      that had not committed can neither commit nor post a copy of it.
    function invariant_aCopiedReportEarnsNothing() public view {
        _check(handler.checkCopies());
    }

    /// @dev R12: an abstention is taken only once a quorum committed and only instead of a
    ///      commitment, and an abstainer is off duty at every settle or void of its batch (no
    ///      void charges it).
    function invariant_anAbstainerIsNeverChargedForSilence() public view {
        _check(handler.checkAbstentions());
    }

    /// @dev No getter reverts for what exists: every external view of BountyMarket (its
    ///      extension's through the fallback), OracleRegistry and KeyRegistry succeeds, by
    ///      low-level staticcall, and returns what its ABI says, for every bounty id created,
    ///      every batch holding a submission (and the next), every member and version index,
    ///      every actor (claimable), oracle and key holder, and both tokens; the getters
    ///      covered are listed at MarketHandler.checkGetters. The id after the last must revert.
    function invariant_noGetterRevertsForWhatExists() public view {
        _check(handler.checkGetters());
    }

    /// @dev R7a: a member is never deviant on a slot it reported UNAVAILABLE: an outlier whose
    ///      report is UNAVAILABLE everywhere (scores and merged score) is never slashed, whatever
    ///      the others report (it earns no fee either: the fee checks compare with the model). The
    ///      median campaign counts such reports settled (its summary's R7a figure, required > 0).
    function invariant_aMemberIsNeverDeviantOnWhatItReportedUnavailable() public view {
        assertEq(handler.unavailableDeviants(), 0, "a member slashed on what it could not fetch");
    }

    /// @dev R7b: a second round moves no money: each retry emitted one BatchRetried naming
    ///      exactly the partial reporters (as the model predicts), decided nothing (no
    ///      BatchSettled, BatchVoided, version or slash), left every contributor's claimable and
    ///      the ETH pending burn as they were, kept the batch the next to decide with the full
    ///      reports (only) standing and committed, and restarted its timeout.
    function invariant_aRetryMovesNoMoney() public view {
        _check(handler.checkRetries());
    }

    /// @dev Each run must do real work: an invariant that passes because every call reverted
    ///      would prove nothing. Per run, at least a quarter of the fuzzer's calls made a
    ///      successful call to the market or a registry (the least share in a run is about 60%;
    ///      the campaign-wide shares are checked by BountyMarketMedianInvariantTest).
    function afterInvariant() public view {
        if (handler.steps() >= 32) {
            assertGt(handler.marketSuccesses(), 0, "a long run without one successful market action");
            assertGe(handler.okSteps() * 4, handler.steps(), "under a quarter of a run's calls succeeded");
        }
    }
}

/// @dev The outlier invariant, in its own contract so that its campaign alone also writes the
///      handler's per-function summary: across all runs, how many times each action was called
///      and how many of those calls succeeded, to .forge/invariant-calls.txt (and .json). From
///      run 32 on it fails if one of the handler's actions (MarketHandler.F_*: every
///      money-moving call among them) never succeeded in the campaign, if under 70% of all
///      action calls succeeded, or if under 70% of the fuzzer's calls made at least one
///      successful call (measured: about 96% and 90%).
contract BountyMarketMedianInvariantTest is MarketInvariantBase {
    string internal constant JSON = ".forge/invariant-calls.json";
    string internal constant TXT = ".forge/invariant-calls.txt";

    function setUp() public override {
        super.setUp();
        vm.writeFile(JSON, "{\"runs\":0,\"c\":[],\"s\":[],\"x\":[0,0,0,0,0,0,0,100,0,0,0]}"); // a fresh summary for this `forge test`
        vm.writeFile(TXT, "");
    }

    /// @dev R5: with honest reports in a range and at most one arbitrary report (an outlier
    ///      oracle reporting all-invalid, all-zero, all-best or random scores), the median of every
    ///      submission, and so every accepted version's score, lies in the honest range.
    function invariant_oneOutlierCannotMoveTheMedian() public view {
        assertEq(handler.outlierViolations(), 0, "one outlier moved a median outside the honest range");
    }

    struct Totals {
        uint256 runs;
        uint256[] calls;
        uint256[] ok;
        uint256[] extra; // outlier batches, median checks, stake slashes, bounties, versions,
        // fuzzer calls, fuzzer calls with a success, the least share of those in a run (%),
        // reports UNAVAILABLE everywhere, second rounds (R7b), their reports without a commitment
    }

    function afterInvariant() public {
        Totals memory t = _accumulate();
        vm.writeFile(JSON, _json(t));
        string memory txt = _table(t);
        vm.writeFile(TXT, txt);
        if (t.runs % 64 == 0) console.log(txt);
        if (t.runs >= 32) {
            // the campaign as a whole drove every action (indices: MarketHandler.F_*)
            uint256 calls = 0;
            uint256 ok = 0;
            for (uint256 f = 0; f < t.calls.length; ++f) {
                assertGt(t.ok[f], 0, string.concat("no successful ", handler.functionName(f)));
                calls += t.calls[f];
                ok += t.ok[f];
            }
            assertGe(ok * 100, calls * 70, "under 70% of the handler's action calls succeeded");
            assertGe(t.extra[6] * 100, t.extra[5] * 70, "under 70% of the fuzzer's calls succeeded");
            assertGt(t.extra[0], 0, "no settled batch had an outlier report");
            assertGt(t.extra[2], 0, "no submission was slashed");
            assertGt(t.extra[8], 0, "no settled batch had a report UNAVAILABLE everywhere (R7a)");
            assertGt(t.extra[9], 0, "no batch was given a second round (R7b)");
        }
    }

    /// @dev Adds this run's counters to the totals so far (read back from the JSON file).
    function _accumulate() internal view returns (Totals memory t) {
        string memory old = vm.readFile(JSON);
        t.runs = vm.parseJsonUint(old, ".runs") + 1;
        uint256[] memory oldCalls = vm.parseJsonUintArray(old, ".c");
        uint256[] memory oldOk = vm.parseJsonUintArray(old, ".s");
        t.extra = vm.parseJsonUintArray(old, ".x");
        uint256 n = handler.functionCount();
        t.calls = new uint256[](n);
        t.ok = new uint256[](n);
        for (uint256 f = 0; f < n; ++f) {
            t.calls[f] = handler.calls(f) + (f < oldCalls.length ? oldCalls[f] : 0);
            t.ok[f] = handler.successes(f) + (f < oldOk.length ? oldOk[f] : 0);
        }
        t.extra[0] += handler.outlierBatches();
        t.extra[1] += handler.medianChecks();
        t.extra[2] += handler.slashEvents();
        t.extra[3] += handler.bountyCount();
        t.extra[4] += handler.settledVersions();
        t.extra[5] += handler.steps();
        t.extra[6] += handler.okSteps();
        t.extra[8] += handler.unavailableReports();
        t.extra[9] += handler.retries();
        t.extra[10] += handler.uncommittedReports();
        if (handler.steps() != 0 && (handler.okSteps() * 100) / handler.steps() < t.extra[7]) {
            t.extra[7] = (handler.okSteps() * 100) / handler.steps();
        }
    }

    function _list(uint256[] memory v) internal pure returns (string memory out) {
        for (uint256 i = 0; i < v.length; ++i) {
            out = string.concat(out, i == 0 ? "" : ",", vm.toString(v[i]));
        }
    }

    function _json(Totals memory t) internal pure returns (string memory) {
        return string.concat(
            "{\"runs\":",
            vm.toString(t.runs),
            ",\"c\":[",
            _list(t.calls),
            "],\"s\":[",
            _list(t.ok),
            "],\"x\":[",
            _list(t.extra),
            "]}"
        );
    }

    function _table(Totals memory t) internal view returns (string memory txt) {
        txt = string.concat(
            "# BountyMarket invariant campaign (invariant_oneOutlierCannotMoveTheMedian): handler calls and successful calls, summed over ",
            vm.toString(t.runs),
            " runs\n"
        );
        uint256 calls = 0;
        uint256 ok = 0;
        for (uint256 f = 0; f < t.calls.length; ++f) {
            txt = string.concat(txt, _row(handler.functionName(f), t.calls[f], t.ok[f]));
            calls += t.calls[f];
            ok += t.ok[f];
        }
        txt = string.concat(txt, _row("total (action calls)", calls, ok));
        txt = string.concat(txt, _row("fuzzer calls (ok: >= 1 successful call)", t.extra[5], t.extra[6]));
        txt = string.concat(
            txt,
            string.concat(
                "# bounties opened (2 per run at setUp): ",
                vm.toString(t.extra[3]),
                "; versions accepted: ",
                vm.toString(t.extra[4])
            ),
            string.concat("; submissions slashed (StakeSlashed checked): ", vm.toString(t.extra[2])),
            string.concat("; settled batches with an outlier report: ", vm.toString(t.extra[0])),
            string.concat("; medians checked against the honest range: ", vm.toString(t.extra[1])),
            string.concat("; reports UNAVAILABLE everywhere, settled (R7a): ", vm.toString(t.extra[8])),
            string.concat("; second rounds (R7b): ", vm.toString(t.extra[9])),
            string.concat("; second-round reports without a commitment (R7b): ", vm.toString(t.extra[10])),
            string.concat("; least share of successful fuzzer calls in a run: ", vm.toString(t.extra[7]), "%\n")
        );
    }

    function _row(string memory name, uint256 calls, uint256 ok) internal pure returns (string memory) {
        uint256 pct = calls == 0 ? 0 : (ok * 100) / calls;
        return
            string.concat(
                name, ": ", vm.toString(calls), " calls, ", vm.toString(ok), " ok (", vm.toString(pct), "%)\n"
            );
    }
}

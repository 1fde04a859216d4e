// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "../utils/Test.sol";
import {MarketModel} from "../utils/MarketModel.sol";
import {MarketSetup} from "../utils/MarketSetup.sol";
import {PayoutTree} from "../utils/PayoutTree.sol";
import {OracleRegistry} from "../../../contracts/OracleRegistry.sol";
import {MockERC20} from "../../../contracts/test/MockERC20.sol";
import {
    IBountyMarket,
    IBountyMarketActions,
    IBountyMarketExtension,
    IBountyMarketTypes,
    IBountyMarketErrors,
    IBountyMarketEvents
} from "../../../interfaces/IBountyMarket.sol";
import {IKeyRegistry} from "../../../interfaces/IKeyRegistry.sol";

/// @dev Drives random but realistic rounds of the market on an ETH and an ERC-20 token, with
///      a fixed cast (2 requesters, 4 contributors, 6 staked oracles, a keeper). Each entry
///      point performs its action where the state allows it (bounded inputs, existing ids and
///      actors); where no bounty is in a state that allows it, it first takes the steps that
///      lead there (open a bounty, join, report, fill a batch, end and close a bounty, warp to
///      a timeout), each counted as the action it is. It calls the market with try/catch and
///      keeps ghost books from an independent model of the rules (utils/MarketModel.sol). A
///      divergence is recorded, never reverted, and the invariants assert the records; the
///      handler itself never reverts (foundry.toml: fail_on_revert = true).
contract MarketHandler is IBountyMarketTypes {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint256 internal constant WAD = 1e18;
    uint256 internal constant BPS = 10_000;
    uint32 internal constant INVALID = type(uint32).max;
    address internal constant ETH = address(0);
    address internal constant DEAD = 0x000000000000000000000000000000000000dEaD;
    uint256 internal constant MAX_BOUNTIES = 16;
    uint256 internal constant KEY_HOLDERS = 2;

    IBountyMarket public immutable market;
    OracleRegistry public immutable registry;
    IKeyRegistry public immutable keyRegistry;
    MockERC20 public immutable token;

    address[] public requesters;
    address[] public contributors;
    address[] public oracles;
    address[] public actors; // everyone who can be credited
    address public immutable keeper;
    address public immutable sink; // a plain receiver for claimTo
    address[] public keyHolders; // published their public key at bootstrap
    mapping(address => bytes) internal _publishedKey;

    // ------------------------------------------------------------ model state

    struct Info {
        address token;
        address requester;
        bool trusted;
        bool higher;
        uint32 baselineTruth;
        uint64 createdAt;
        bytes32 salt;
        // model books
        uint256 rewardFunded;
        uint256 paid;
        uint256 feesPaid;
        uint32 head;
        uint32 baseline;
        bool baselineSet;
        uint32 versions;
        bool closed;
        bool revealed;
        bool forfeited;
        uint256 bondShare;
    }

    Info[] internal _infos; // bounty id = index + 1
    mapping(uint256 id => address[]) internal _committee;
    mapping(uint256 id => uint64[]) internal _xs;
    mapping(uint256 id => uint64[]) internal _ys;
    mapping(uint256 id => mapping(uint256 batch => SubmissionRecord[])) internal _records;
    mapping(uint256 id => mapping(uint256 sid => uint32)) internal _truth;
    mapping(uint256 id => mapping(uint256 batch => mapping(uint256 member => BatchReport))) internal _reports;
    mapping(uint256 id => mapping(uint256 batch => uint256)) internal _outlierPlusOne;
    /// @dev R11: each member's report as it committed to it (the reveal must be this report).
    mapping(uint256 id => mapping(uint256 batch => mapping(uint256 member => BatchReport))) internal _committed;
    mapping(uint256 id => mapping(uint256 member => uint32)) internal _baselineReports;
    mapping(uint256 id => mapping(uint256 version => address)) internal _authors; // unclaimed bond shares
    mapping(uint256 id => uint256) internal _releasedMask;

    // ------------------------------------------------------------------ ghosts

    mapping(address account => mapping(address token => uint256)) public credited;
    mapping(address account => mapping(address token => uint256)) public claimed;
    mapping(address account => mapping(address token => uint256)) public debited; // stakes taken from balance
    mapping(address token => uint256) public ghostIn; // everything that arrived at the market
    mapping(address token => uint256) public ghostOut; // everything that left (claims, burns)
    mapping(address token => uint256) public ghostBurned; // model: burned amounts
    mapping(address token => uint256) public ghostBurnSent;
    mapping(address oracle => uint256) public oracleStake; // model of the registry
    mapping(uint256 id => mapping(address oracle => uint256)) public offences; // C3: slashes per bounty
    mapping(address oracle => uint256) public oracleServing; // joined and not released

    uint256 public slashEvents; // StakeSlashed events seen
    uint256 public slashViolations; // a StakeSlashed burning more than slashBps of the stake
    uint256 public oracleSlashViolations;
    uint256 public noMajorityVoids; // settlements that voided a batch no majority agreed on (R4)
    uint256 public baselinesWithoutMajority; // baselines left unset for want of a majority (S2)
    uint256 public voidGains; // voids that credited anyone more than its stakes, or did not burn the slashes
    uint256 public undecidable; // a settle or void the rules allow that reverted, or took more than 2^24 gas
    uint256 public minorityDecisions; // BatchSettled with reports from half the committee or fewer
    uint256 public voidsChecked; // voids whose gains were measured (so the check is not vacuous)
    uint256 internal constant TX_GAS_CAP = 16_777_216; // EIP-7825
    uint256 public outlierBatches; // settled batches that had one arbitrary report
    uint256 public medianChecks;
    uint256 public outlierViolations; // a median outside the honest range
    uint256 public unavailableDeviants; // R7a: a report UNAVAILABLE everywhere, slashed as deviant
    uint256 public unavailableReports; // reports UNAVAILABLE everywhere that a settlement decided on
    uint256 public modelMismatches; // the market decided differently from the model
    uint256 public unexpectedReverts; // a call the rules allow reverted
    uint256 public doubleClaims; // a second claim of the same balance succeeded
    uint256 public tamperAccepted; // forged records, reports or reveals accepted
    uint256 public copyAttempts; // R11: a member without a commitment tried to post a revealed report
    uint256 public copiesAccepted; // ... and the market took it (or took a commitment made after it)
    uint256 public abstentions; // R12: abstentions taken (zero commitments once a quorum committed)
    uint256 public abstentionsMisaccepted; // ... taken before a quorum committed, or after the member committed
    uint256 public abstainersOnDuty; // ... whose member the market still counted on duty at a settle or void
    mapping(uint256 id => mapping(uint256 batch => uint256)) internal _abstained; // R12: who abstained
    /// @dev R7b: the batches given a second round, and who reported in it without a commitment.
    mapping(uint256 id => mapping(uint256 batch => bool)) internal _retried;
    mapping(uint256 id => mapping(uint256 batch => uint256)) internal _uncommitted;
    uint256 public retries; // R7b: second rounds the market gave (and the model predicted)
    uint256 public uncommittedReports; // R7b: second-round reports made without a commitment
    uint256 public retryMoves; // R7b: a retry that moved money, decided the batch or cleared the wrong reports
    uint256 public rulesBroken; // e.g. an oracle unbonding while it serves a bounty
    string public lastViolation;

    // Per-action counters: every attempt of an action counts as a call of that action (the
    // action the fuzzer picked, and the steps taken to make it possible), and a fuzzer call
    // that attempted nothing counts as one failed call of the action it picked.
    string[] internal _names;
    mapping(uint256 fn => uint256) public calls;
    mapping(uint256 fn => uint256) public successes;

    uint256 internal constant F_CREATE = 0;
    uint256 internal constant F_TOPUP = 1;
    uint256 internal constant F_JOIN = 2;
    uint256 internal constant F_BASELINE = 3;
    uint256 internal constant F_SETTLE_BASELINE = 4;
    uint256 internal constant F_SUBMIT = 5;
    uint256 internal constant F_SUBMIT_BALANCE = 6;
    uint256 internal constant F_REPORT = 7;
    uint256 internal constant F_SETTLE = 8;
    uint256 internal constant F_VOID = 9;
    uint256 internal constant F_CANCEL = 10;
    uint256 internal constant F_CLOSE = 11;
    uint256 internal constant F_REVEAL = 12;
    uint256 internal constant F_FORFEIT = 13;
    uint256 internal constant F_BOND_SHARE = 14;
    uint256 internal constant F_CLAIM = 15;
    uint256 internal constant F_BURN = 16;
    uint256 internal constant F_WARP = 17;
    uint256 internal constant F_LEAVE = 18;
    uint256 internal constant F_RESTAKE = 19;
    uint256 internal constant F_UNBOND = 20;
    uint256 internal constant F_TAMPER = 21;
    uint256 internal constant F_REPORT_SETTLE = 22;
    uint256 internal constant F_SUBMIT_ONCE = 23;
    uint256 internal constant F_CLAIM_PAYOUT = 24;
    uint256 internal constant F_COMMIT = 25;
    uint256 internal constant N_FUNCTIONS = 26;

    /// @dev Bit 95 of a record's stake field: a one-off submission (U6).
    uint256 internal constant ONE_OFF = 1 << 95;

    /// @dev One-off payouts (P3) the model says settlement owes, claimed or not.
    struct Payout {
        uint256 id;
        uint256 batch;
        uint256 index;
        address who;
        address tok;
        uint256 amount;
        bool claimed;
    }

    Payout[] internal _payoutList;
    /// @dev Per bounty and batch: what each submission is owed through the payout roots (0: nothing).
    mapping(uint256 id => mapping(uint256 batch => uint256[])) internal _payoutOwed;
    /// @dev Unclaimed one-off payouts per token (a liability of the market).
    mapping(address tok => uint256) public payoutsOwed;

    function reportAndSettleSuccesses() external view returns (uint256) {
        return successes[F_REPORT_SETTLE];
    }

    function payoutClaims() external view returns (uint256) {
        return successes[F_CLAIM_PAYOUT];
    }

    constructor(IBountyMarket market_, OracleRegistry registry_, MockERC20 token_) {
        market = market_;
        registry = registry_;
        keyRegistry = IKeyRegistry(market_.keyRegistry());
        token = token_;
        keeper = address(0xC0FFEE);
        sink = address(0x5111C);
        for (uint256 i = 0; i < 2; ++i) {
            requesters.push(address(uint160(0xA000 + i)));
        }
        for (uint256 i = 0; i < 4; ++i) {
            contributors.push(address(uint160(0xB000 + i)));
        }
        for (uint256 i = 0; i < 6; ++i) {
            oracles.push(address(uint160(0xD000 + i)));
        }
        for (uint256 i = 0; i < requesters.length; ++i) {
            actors.push(requesters[i]);
        }
        for (uint256 i = 0; i < contributors.length; ++i) {
            actors.push(contributors[i]);
        }
        for (uint256 i = 0; i < oracles.length; ++i) {
            actors.push(oracles[i]);
        }
        actors.push(keeper);
        _names = [
            "createBounty",
            "topUp",
            "joinCommittee",
            "reportBaseline",
            "settleBaseline",
            "submitUpdate",
            "submitUpdateFromBalance",
            "report",
            "settleBatch",
            "voidBatch",
            "cancel",
            "close",
            "reveal",
            "forfeitBond",
            "claimBondShare",
            "claim",
            "burn",
            "warp",
            "leaveCommittee",
            "restake",
            "unbondOrWithdraw",
            "settleTampered",
            "reportAndSettle",
            "submitUpdateOnce",
            "claimPayout",
            "commitReport"
        ];
    }

    /// @dev Stakes the oracles, publishes two public keys, and opens one ETH and one ERC-20
    ///      bounty with their baselines set, so that every run starts with rounds under way.
    ///      Called once from setUp.
    function bootstrap() external {
        for (uint256 i = 0; i < oracles.length; ++i) {
            _stakeOracle(oracles[i], 10 ether);
        }
        for (uint256 k = 1; k <= KEY_HOLDERS; ++k) {
            Vm.Wallet memory w = vm.createWallet(uint256(keccak256(abi.encode("key holder", k))));
            bytes memory key = abi.encodePacked(w.publicKeyX, w.publicKeyY);
            vm.prank(w.addr);
            keyRegistry.publishKey(key);
            keyHolders.push(w.addr);
            _publishedKey[w.addr] = key;
        }
        for (uint256 t = 0; t < 2; ++t) {
            uint256 seed = uint256(keccak256(abi.encode("bootstrap", t)));
            // three members; small batches and a few days to run, so rounds move fast
            seed = (seed & ~(uint256(0xff) << 136)) | (uint256(1) << 136); // target ahead of the baseline
            BountyParams memory p = _params(
                seed,
                5 ether + t,
                uint256(keccak256(abi.encode(seed))),
                _pickCommittee(seed ^ t, 3),
                t == 0 ? ETH : address(token)
            );
            p.batchSize = uint16(1 + t);
            p.maxBatches = 6;
            p.deadline = uint64(block.timestamp + 3 days);
            p.scoringTimeout = 6 hours;
            uint256 id = _createBounty(seed, p);
            _completeBaseline(id, seed);
        }
        for (uint256 f = 0; f < N_FUNCTIONS; ++f) {
            calls[f] = 0;
            successes[f] = 0;
        }
        steps = 0;
        okSteps = 0;
    }

    /// @dev Fuzzer calls into the handler (nested entry points count once), and how many of
    ///      them made at least one successful call to the market or a registry.
    uint256 public steps;
    uint256 public okSteps;
    bool private _inStep;
    uint256 private _stepCalls;
    uint256 private _stepOk;
    uint256 internal _dirty; // bit id: a market call of this step named bounty id
    uint256 internal _stepTime; // block.timestamp when this step began

    modifier step(uint256 fn) {
        if (_inStep) {
            _;
        } else {
            _inStep = true;
            ++steps;
            _stepCalls = 0;
            _stepOk = 0;
            _dirty = 0;
            _stepTime = block.timestamp;
            _;
            if (_stepCalls == 0) ++calls[fn]; // found nothing to do
            if (_stepOk != 0) ++okSteps;
            _inStep = false;
        }
    }

    // ========================================================== handler actions

    function createBounty(uint256 seed, uint256 rewardSeed, uint256 amountSeed) external step(F_CREATE) {
        _newBounty(seed, rewardSeed, amountSeed, 0);
    }

    function topUp(uint256 seed, uint256 amount) external step(F_TOPUP) {
        uint256 id = _findNotEnded(seed);
        if (id == 0) id = _newBountyFrom(seed, 0);
        if (id == 0) return;
        Info storage info = _infos[id - 1];
        amount = amount % 5 ether;
        address funder = contributors[(seed >> 8) % contributors.length];
        _fund(funder, info.token, amount);
        _call(F_TOPUP);
        _prankFor(id, funder);
        try market.topUp{value: info.token == ETH ? amount : 0}(id, amount) {
            _ok(F_TOPUP);
            info.rewardFunded += amount;
            ghostIn[info.token] += amount;
        } catch {
            _unexpected("topUp");
        }
    }

    function joinCommittee(uint256 seed, uint256 extraStake) external step(F_JOIN) {
        (uint256 id, uint256 member) = _findJoin(seed, false);
        if (id == 0) {
            id = _newBountyFrom(seed, 0);
            member = id == 0 ? 0 : (seed >> 8) % _committee[id].length;
        }
        if (id != 0) _join(id, member, extraStake);
    }

    function reportBaseline(uint256 seed, uint256 noiseSeed) external step(F_BASELINE) {
        uint256 n = _infos.length;
        for (uint256 k = 0; k < n; ++k) {
            uint256 id = 1 + ((seed % n + k) % n);
            if (_infos[id - 1].closed || market.state(id) != BountyState.AwaitingBaseline) continue;
            (, uint256 opted, uint256 reported) = market.getCommittee(id);
            uint256 size = _committee[id].length;
            for (uint256 j = 0; j < size; ++j) {
                uint256 member = ((seed >> 8) + j) % size;
                if (opted & (1 << member) == 0 || reported & (1 << member) != 0) continue;
                _reportBaselineAs(id, member, noiseSeed);
                return;
            }
        }
        // nobody has anything to report: a member joins first (of a new bounty if need be)
        (uint256 jid, uint256 jm) = _findJoin(seed, true);
        if (jid == 0) {
            jid = _newBountyFrom(seed, 0);
            jm = jid == 0 ? 0 : (seed >> 8) % _committee[jid].length;
        }
        if (jid != 0 && _join(jid, jm, 0)) _reportBaselineAs(jid, jm, noiseSeed);
    }

    /// @dev B3: a quorum (not all) of a committee of 4-5 reported, and the scoring timeout
    ///      passed since creation. Joins and reports up to the quorum first where needed.
    function settleBaseline(uint256 seed) external step(F_SETTLE_BASELINE) {
        uint256 n = _infos.length;
        uint256 id = 0;
        for (uint256 k = 0; k < n && id == 0; ++k) {
            uint256 c = 1 + ((seed % n + k) % n);
            if (
                _infos[c - 1].closed || market.state(c) != BountyState.AwaitingBaseline
                    || _committee[c].length <= _quorum(c)
            ) continue;
            if (_baselineReadyAt(c) < market.getBounty(c).deadline) id = c;
        }
        if (id == 0) id = _newBountyFrom(seed, 4);
        if (id == 0 || market.state(id) != BountyState.AwaitingBaseline) return;
        uint256 size = _committee[id].length;
        for (uint256 j = 0; j < size; ++j) {
            (, uint256 opted, uint256 reported) = market.getCommittee(id);
            if (_popcount(reported) >= _quorum(id)) break;
            uint256 member = ((seed >> 8) + j) % size;
            if (reported & (1 << member) != 0) continue;
            if (opted & (1 << member) == 0 && !_join(id, member, 0)) continue;
            _reportBaselineAs(id, member, seed);
        }
        if (market.state(id) != BountyState.AwaitingBaseline) return;
        (,, uint256 mask) = market.getCommittee(id);
        uint256 readyAt = _baselineReadyAt(id);
        if (block.timestamp < readyAt) vm.warp(readyAt);
        _call(F_SETTLE_BASELINE);
        _prankFor(id, keeper);
        (bool agreed,) = _baselineAgreed(id, mask);
        try market.settleBaseline(id) {
            _ok(F_SETTLE_BASELINE);
            if (!agreed) _mismatch("settleBaseline: set without a majority");
            _modelBaseline(id, mask);
        } catch {
            if (agreed) _unexpected("settleBaseline");
            else ++baselinesWithoutMajority; // S2: refused, as it must be
        }
    }

    function submitUpdate(uint256 seed, uint256 baseSeed) public step(F_SUBMIT) {
        uint256 id = _ensureOpen(seed);
        if (id != 0) _submit(id, seed, baseSeed);
    }

    function submitUpdate2(uint256 seed, uint256 baseSeed) external step(F_SUBMIT) {
        submitUpdate(seed, baseSeed);
    }

    function submitUpdate3(uint256 seed, uint256 baseSeed) external step(F_SUBMIT) {
        submitUpdate(seed, baseSeed);
    }

    /// @dev U6: a one-off contributor stakes by transfer; its payout is owed through the roots.
    function submitUpdateOnce(uint256 seed, uint256 baseSeed) external step(F_SUBMIT_ONCE) {
        uint256 id = _ensureOpen(seed);
        if (id != 0) _submitAs(id, seed, baseSeed, true);
    }

    /// @dev P3: a one-off payout not yet claimed, by its contributor (after a wrong claim by
    ///      someone else, which must revert); with none owed, a claim that must revert.
    function claimPayout(uint256 seed) external step(F_CLAIM_PAYOUT) {
        uint256 n = _payoutList.length;
        for (uint256 k = 0; k < n; ++k) {
            Payout storage p = _payoutList[(seed + k) % n];
            if (!p.claimed) {
                _claimPayout(p, seed);
                return;
            }
        }
        // nothing owed: a made-up payout must be refused
        _call(F_CLAIM_PAYOUT);
        bytes32[5] memory proof;
        vm.prank(contributors[seed % contributors.length]);
        try market.claimPayout(address(token), 1, seed % 256, 1 + seed % 1e18, proof) {
            ++doubleClaims;
            lastViolation = "claimPayout paid a payout nobody was owed";
        } catch {}
    }

    /// @dev A contributor stakes from its claimable balance; when nobody holds enough for an
    ///      open bounty, a plain submission instead (whose stake comes back as such a balance).
    function submitUpdateFromBalance(uint256 seed) external step(F_SUBMIT_BALANCE) {
        uint256 n = _infos.length;
        for (uint256 k = 0; k < n; ++k) {
            uint256 id = 1 + ((seed % n + k) % n);
            if (!_canSubmit(id)) continue;
            BountyView memory v = market.getBounty(id);
            for (uint256 j = 0; j < contributors.length; ++j) {
                address c = contributors[((seed >> 8) + j) % contributors.length];
                if (market.claimable(c, v.token) < v.stake) continue;
                Cid memory update = Cid(keccak256(abi.encode("from-balance", id, v.submissionCount, seed)), 0x55);
                _call(F_SUBMIT_BALANCE);
                _prankFor(id, c);
                try market.submitUpdateFromBalance(id, v.versionCount, update) returns (uint256 sid) {
                    _ok(F_SUBMIT_BALANCE);
                    _recordSubmission(id, sid, v, SubmissionRecord(c, v.stake, v.versionCount, update), seed);
                    debited[c][v.token] += v.stake;
                } catch {
                    _unexpected("submitUpdateFromBalance");
                }
                return;
            }
        }
        uint256 open = _ensureOpen(seed);
        if (open != 0) _submit(open, seed, 0);
    }

    function report(uint256 seed, uint256 noiseSeed) public step(F_REPORT) {
        uint256 id = _prepareReport(seed);
        if (id != 0) _tryReport(id, seed >> 8, noiseSeed, true);
    }

    function report2(uint256 seed, uint256 noiseSeed) external step(F_REPORT) {
        report(seed, noiseSeed);
    }

    function report3(uint256 seed, uint256 noiseSeed) external step(F_REPORT) {
        report(seed, noiseSeed);
    }

    /// @dev The oracle daemons of one bounty all report its next batch (now and then one of them
    ///      stays silent, and one may be the outlier).
    function reportAll(uint256 seed, uint256 noiseSeed) external step(F_REPORT) {
        uint256 id = _prepareReport(seed);
        if (id == 0) return;
        uint256 batch = market.getBounty(id).nextBatch;
        (,, uint16 reportedMask,,,) = market.getBatch(id, batch);
        uint256 opted = _onDuty(id, batch);
        uint256 silent = (seed >> 8) % 3 == 0 ? (seed >> 16) % _committee[id].length : type(uint256).max;
        for (uint256 j = 0; j < _committee[id].length; ++j) {
            if (opted & (1 << j) == 0 || reportedMask & (1 << j) != 0 || j == silent) continue;
            _tryReportAs(id, batch, j, uint256(keccak256(abi.encode(noiseSeed, j))), true);
        }
    }

    /// @dev R4-R9: the members that have not reported do (now and then one stays silent and the
    ///      batch settles with a quorum after the timeout), then the keeper settles, or the last
    ///      reporter reports and settles in one transaction (reportAndSettle).
    function settleBatch(uint256 seed, uint256 mode) public step(F_SETTLE) {
        uint256 id = _findReportable(seed, false);
        if (id == 0) id = _prepareReport(seed);
        if (id != 0) _finishBatch(id, seed, mode);
    }

    function settleBatch2(uint256 seed, uint256 mode) external step(F_SETTLE) {
        settleBatch(seed, mode);
    }

    /// @dev R10: a batch without a quorum by its timeout is voided; one member may report first.
    function voidBatch(uint256 seed, uint256 waitSeed) external step(F_VOID) {
        uint256 n = _infos.length;
        uint256 id = 0;
        for (uint256 k = 0; k < n && id == 0; ++k) {
            uint256 c = 1 + ((seed % n + k) % n);
            if (_voidable(c)) id = c;
        }
        if (id == 0) {
            id = _ensureOpen(seed);
            if (id == 0) return;
            _fillNext(id, seed);
            if (!_voidable(id)) return;
        }
        uint256 batch = market.getBounty(id).nextBatch;
        (,, uint16 reportedMask,,,) = market.getBatch(id, batch);
        (, uint256 opted,) = market.getCommittee(id);
        if (waitSeed % 2 == 0 && _popcount(reportedMask) + 1 < _quorum(id)) {
            for (uint256 j = 0; j < _committee[id].length; ++j) {
                uint256 member = ((seed >> 8) + j) % _committee[id].length;
                if (opted & (1 << member) == 0 || reportedMask & (1 << member) != 0) continue;
                _tryReportAs(id, batch, member, waitSeed, true);
                break;
            }
        }
        uint256 timeoutAt;
        (,, reportedMask,,, timeoutAt) = market.getBatch(id, batch);
        if (block.timestamp < timeoutAt) vm.warp(timeoutAt);
        _void(id, batch, reportedMask);
    }

    /// @dev E1: the requester ends a bounty that has not ended (a new one if none is running).
    function cancel(uint256 seed) external step(F_CANCEL) {
        uint256 id = _findNotEnded(seed);
        if (id == 0) id = _newBountyFrom(seed, 0);
        if (id != 0) _cancel(id);
    }

    /// @dev E2: an ended bounty whose batches are all decided is closed (its pending batches
    ///      are reported and settled first; if none has ended, one is ended by its deadline or
    ///      by its requester).
    function close(uint256 seed) external step(F_CLOSE) {
        _closeOne(seed);
    }

    function reveal(uint256 seed, uint256 badSeed) external step(F_REVEAL) {
        uint256 n = _infos.length;
        for (uint256 k = 0; k < n; ++k) {
            uint256 id = 1 + ((seed % n + k) % n);
            // the second requester is careless: it rarely reveals, so its bonds get forfeited
            if (_infos[id - 1].requester == requesters[1] && (badSeed >> 8) % 4 != 0) continue;
            BountyState s = market.state(id);
            if (s != BountyState.Closed && !(s == BountyState.Settling && _allDecided(id))) continue;
            _reveal(id, badSeed % 4 == 0);
            return;
        }
        uint256 closed = _closeOne(seed);
        if (closed != 0) _reveal(closed, badSeed % 4 == 0);
    }

    function forfeitBond(uint256 seed) external step(F_FORFEIT) {
        uint256 n = _infos.length;
        // first a bounty with accepted versions (their authors share the bond), then any
        for (uint256 pass = 0; pass < 2; ++pass) {
            for (uint256 k = 0; k < n; ++k) {
                uint256 id = 1 + ((seed % n + k) % n);
                Info storage info = _infos[id - 1];
                if (market.state(id) != BountyState.Closed || info.forfeited || (pass == 0 && info.versions == 0)) {
                    continue;
                }
                _forfeit(id);
                return;
            }
        }
        uint256 closed = _closeOne(seed);
        if (closed != 0) _forfeit(closed);
    }

    /// @dev E4: an author claims its share of a forfeited bond; if no share is owed, a bounty
    ///      with accepted versions is closed and its bond forfeited first.
    function claimBondShare(uint256 seed) external step(F_BOND_SHARE) {
        uint256 n = _infos.length;
        for (uint256 pass = 0; pass < 2; ++pass) {
            for (uint256 k = 0; k < n; ++k) {
                uint256 id = 1 + ((seed % n + k) % n);
                Info storage info = _infos[id - 1];
                if (pass == 1 && !info.forfeited && !info.revealed && info.versions != 0) {
                    // a share needs a bond of at least one wei per version
                    if (market.getBounty(id).revealBond < info.versions || !_closeBounty(id, seed)) continue;
                    _forfeit(id);
                }
                if (!info.forfeited || info.bondShare == 0) continue;
                for (uint256 j = 0; j < info.versions; ++j) {
                    uint256 version = 1 + (((seed >> 8) + j) % info.versions);
                    address author = _authors[id][version];
                    if (author == address(0)) continue;
                    _claimBondShare(id, version, author);
                    return;
                }
            }
        }
    }

    /// @dev P1: mostly someone with a balance; now and then anyone (then the claim must revert
    ///      if it has nothing, and counts as a failed call).
    function claim(uint256 seed) public step(F_CLAIM) {
        bool toSink = (seed >> 16) % 4 == 0;
        uint256 first = (seed >> 8) % 2;
        if ((seed >> 24) % 16 != 0) {
            for (uint256 t = 0; t < 2; ++t) {
                address tok = (first + t) % 2 == 0 ? ETH : address(token);
                for (uint256 j = 0; j < actors.length; ++j) {
                    address a = actors[(seed % actors.length + j) % actors.length];
                    if (market.claimable(a, tok) == 0) continue;
                    _claim(a, tok, toSink);
                    return;
                }
            }
        }
        _claim(actors[seed % actors.length], first == 0 ? ETH : address(token), toSink);
    }

    function claim2(uint256 seed) external step(F_CLAIM) {
        claim(seed);
    }

    /// @dev P2: a token with burns pending; with none pending, burn must revert.
    function burn(uint256 seed) external step(F_BURN) {
        address tok = seed % 2 == 0 ? ETH : address(token);
        if (market.pendingBurn(tok) == 0) {
            address other = tok == ETH ? address(token) : ETH;
            if (market.pendingBurn(other) != 0) tok = other;
        }
        uint256 amount = market.pendingBurn(tok);
        uint256 deadBefore = _balance(tok, DEAD);
        _call(F_BURN);
        vm.prank(keeper);
        try market.burn(tok) {
            _ok(F_BURN);
            if (amount == 0) _tamper("burn: nothing pending but burn succeeded");
            ghostBurnSent[tok] += amount;
            ghostOut[tok] += amount;
            if (_balance(tok, DEAD) != deadBefore + amount) _mismatch("burn: amount sent");
        } catch {
            if (amount != 0) _unexpected("burn");
        }
    }

    function warp(uint256 secs) external step(F_WARP) {
        _call(F_WARP);
        secs = 1 minutes + (secs % 2 days);
        vm.warp(block.timestamp + secs);
        _ok(F_WARP);
    }

    /// @dev C2: a member leaves a closed bounty (one is closed first if none is).
    function leaveCommittee(uint256 seed) external step(F_LEAVE) {
        uint256 n = _infos.length;
        for (uint256 k = 0; k < n; ++k) {
            uint256 id = 1 + ((seed % n + k) % n);
            BountyState s = market.state(id);
            if (s != BountyState.Closed && s != BountyState.Revealed) continue;
            if (_leaveOne(id, seed >> 8)) return;
        }
        uint256 closed = _closeOne(seed);
        if (closed != 0) _leaveOne(closed, seed >> 8);
    }

    function restake(uint256 seed, uint256 amount) external step(F_RESTAKE) {
        _restake(oracles[seed % oracles.length], 1 ether + (amount % 4 ether));
    }

    /// @dev O2-O3: an unbonding oracle withdraws after the delay (now and then the fuzzer waits
    ///      for it); else an idle oracle starts unbonding (at least four stay eligible); else a
    ///      serving oracle's request, which must revert (a failed call).
    function unbondOrWithdraw(uint256 seed) external step(F_UNBOND) {
        uint256 eligible = 0;
        for (uint256 i = 0; i < oracles.length; ++i) {
            if (registry.isEligible(oracles[i])) ++eligible;
        }
        for (uint256 i = 0; i < oracles.length; ++i) {
            address o = oracles[(seed % oracles.length + i) % oracles.length];
            (uint256 st, uint256 unbondingAt,) = registry.oracleInfo(o);
            if (st == 0 || unbondingAt == 0) continue;
            if (block.timestamp < unbondingAt) {
                if ((seed >> 8) % 4 != 0) continue;
                vm.warp(unbondingAt);
            }
            _withdraw(o);
            return;
        }
        for (uint256 i = 0; i < oracles.length; ++i) {
            address o = oracles[(seed % oracles.length + i) % oracles.length];
            (uint256 st, uint256 unbondingAt,) = registry.oracleInfo(o);
            if (st == 0 || unbondingAt != 0 || oracleServing[o] != 0 || eligible <= 4) continue;
            _requestUnbond(o);
            return;
        }
        for (uint256 i = 0; i < oracles.length; ++i) {
            address o = oracles[(seed % oracles.length + i) % oracles.length];
            (, uint256 unbondingAt,) = registry.oracleInfo(o);
            if (oracleServing[o] == 0 || unbondingAt != 0) continue;
            _requestUnbond(o);
            return;
        }
    }

    /// @dev R4/R8: records or reports that differ from what the chain committed to are refused.
    function settleTampered(uint256 seed, uint256 mode) external step(F_TAMPER) {
        uint256 n = _infos.length;
        uint256 id = 0;
        uint256 batch;
        for (uint256 k = 0; k < n && id == 0; ++k) {
            uint256 c = 1 + ((seed % n + k) % n);
            bool ready;
            (ready, batch) = _settleReady(c, false);
            if (ready) id = c;
        }
        if (id == 0) {
            // the committee of some batch reports it in full first
            id = _findReportable(seed, false);
            if (id == 0) id = _prepareReport(seed);
            if (id == 0) return;
            batch = market.getBounty(id).nextBatch;
            (,, uint16 reportedMask,,,) = market.getBatch(id, batch);
            (, uint256 opted,) = market.getCommittee(id);
            for (uint256 j = 0; j < _committee[id].length; ++j) {
                if (opted & (1 << j) != 0 && reportedMask & (1 << j) == 0) _tryReportAs(id, batch, j, seed, true);
            }
            bool ready;
            (ready,) = _settleReady(id, false);
            if (!ready) return;
        }
        (,, uint16 mask,,,) = market.getBatch(id, batch);
        (SubmissionRecord[] memory records, BatchReport[] memory reports,) = _settlementInputs(id, batch, mask);
        mode = mode % 5;
        uint256 at = (seed >> 8) % records.length;
        if (mode == 0) {
            records[at].stake += 1;
        } else if (mode == 1) {
            records[at].contributor = address(uint160(records[at].contributor) ^ 1);
        } else if (mode == 2) {
            records[at].update.digest = bytes32(uint256(records[at].update.digest) ^ 1);
        } else if (mode == 3) {
            reports[(seed >> 8) % reports.length].scores[0] =
                reports[(seed >> 8) % reports.length].scores[0] ^ bytes1(0x01);
        } else {
            reports[(seed >> 8) % reports.length].merged.codec ^= 0x01;
        }
        _call(F_TAMPER);
        _prankFor(id, keeper);
        try market.settleBatch(id, batch, records, reports) {
            _tamper("settleBatch accepted forged records or reports");
        } catch {
            _ok(F_TAMPER);
        }
    }

    // ============================================== actions and the steps leading to them

    function _newBountyFrom(uint256 seed, uint256 minSize) internal returns (uint256) {
        return _newBounty(
            seed,
            uint256(keccak256(abi.encode(seed, "reward"))),
            uint256(keccak256(abi.encode(seed, "amounts"))),
            minSize
        );
    }

    /// @dev Opens a bounty from the seeds (1 in 10 trusts a single oracle unless `minSize` > 1;
    ///      committees of 3, 4 or 5), restaking oracles first when too few are eligible.
    ///      Returns its id, or 0 once MAX_BOUNTIES are open.
    function _newBounty(uint256 seed, uint256 rewardSeed, uint256 amountSeed, uint256 minSize)
        internal
        returns (uint256)
    {
        if (_infos.length >= MAX_BOUNTIES) return 0;
        bool trusted = minSize <= 1 && seed % 10 == 0;
        uint256 r = (seed >> 8) % 6;
        uint256 size = trusted ? 1 : (r < 3 ? 3 : (r < 5 ? 4 : 5));
        if (size < minSize) size = minSize;
        uint256 eligible = 0;
        for (uint256 i = 0; i < oracles.length; ++i) {
            if (registry.isEligible(oracles[i])) ++eligible;
        }
        for (uint256 i = 0; i < oracles.length && eligible < size; ++i) {
            address o = oracles[(seed % oracles.length + i) % oracles.length];
            if (registry.isEligible(o)) continue;
            _restake(o, 1 ether + (amountSeed >> 200) % 4 ether);
            ++eligible;
        }
        address tok = (seed >> 24) % 2 == 0 ? ETH : address(token);
        BountyParams memory p = _params(seed, rewardSeed, amountSeed, _pickCommittee(seed, size), tok);
        p.trustSingleOracle = trusted;
        return _createBounty(seed, p);
    }

    function _createBounty(uint256 seed, BountyParams memory p) internal returns (uint256) {
        address requester = requesters[(seed >> 16) % requesters.length];
        address tok = p.token;
        uint256 total = MarketSetup.escrow(p);
        _fund(requester, tok, total);
        _call(F_CREATE);
        vm.prank(requester);
        try market.createBounty{value: tok == ETH ? total : 0}(p) returns (uint256 id) {
            _ok(F_CREATE);
            _dirty |= 1 << id;
            if (id != _infos.length + 1) _mismatch("createBounty: id");
            _infos.push();
            Info storage info = _infos[id - 1];
            info.token = tok;
            info.requester = requester;
            info.trusted = p.trustSingleOracle;
            info.higher = p.higherIsBetter;
            info.baselineTruth = uint32(4_000 + ((seed >> 112) % 2_000));
            info.createdAt = uint64(block.timestamp);
            info.salt = keccak256(abi.encode("salt", id));
            info.rewardFunded = p.reward;
            _committee[id] = p.committee;
            _xs[id] = p.curveX;
            _ys[id] = p.curveY;
            ghostIn[tok] += total;
            return id;
        } catch {
            _unexpected("createBounty");
            return 0;
        }
    }

    /// @dev A not-ended bounty with a member that has not joined (`awaiting`: in AwaitingBaseline).
    function _findJoin(uint256 seed, bool awaiting) internal view returns (uint256, uint256) {
        uint256 n = _infos.length;
        for (uint256 k = 0; k < n; ++k) {
            uint256 id = 1 + ((seed % n + k) % n);
            bool skip =
                awaiting ? (_infos[id - 1].closed || market.state(id) != BountyState.AwaitingBaseline) : !_notEnded(id);
            if (skip) continue;
            (, uint256 opted,) = market.getCommittee(id);
            uint256 size = _committee[id].length;
            for (uint256 j = 0; j < size; ++j) {
                uint256 member = ((seed >> 8) + j) % size;
                if (opted & (1 << member) == 0) return (id, member);
            }
        }
        return (0, 0);
    }

    function _join(uint256 id, uint256 member, uint256 extraStake) internal returns (bool) {
        address o = _committee[id][member];
        if (!registry.isEligible(o)) _restake(o, 1 ether + (extraStake % 4 ether));
        (uint256 bond,) = market.memberBond(id);
        uint256 free = oracleStake[o] - registry.lockedOf(o);
        if (free < bond) _stakeOracle(o, bond - free); // C1: the bond must be free stake
        _call(F_JOIN);
        _prankFor(id, o);
        try market.joinCommittee(id) {
            _ok(F_JOIN);
            ++oracleServing[o];
            return true;
        } catch {
            _unexpected("joinCommittee");
            return false;
        }
    }

    function _reportBaselineAs(uint256 id, uint256 member, uint256 noiseSeed) internal {
        Info storage info = _infos[id - 1];
        uint32 score = _noisy(info.baselineTruth, noiseSeed, member, _tolerance(id));
        _call(F_BASELINE);
        _prankFor(id, _committee[id][member]);
        try market.reportBaseline(id, score) {
            _ok(F_BASELINE);
            _baselineReports[id][member] = score;
            (,, uint256 reported) = market.getCommittee(id);
            if (_popcount(reported) == _committee[id].length) _modelBaseline(id, reported);
        } catch {
            _unexpected("reportBaseline");
        }
    }

    function _baselineReadyAt(uint256 id) internal view returns (uint256) {
        return uint256(_infos[id - 1].createdAt) + market.getBounty(id).scoringTimeout;
    }

    /// @dev Every member joins and reports the baseline (B3: the last report sets it).
    function _completeBaseline(uint256 id, uint256 seed) internal {
        uint256 size = _committee[id].length;
        for (uint256 j = 0; j < size; ++j) {
            (, uint256 opted,) = market.getCommittee(id);
            if (opted & (1 << j) == 0) _join(id, j, seed >> (8 * j));
        }
        for (uint256 j = 0; j < size && market.state(id) == BountyState.AwaitingBaseline; ++j) {
            (,, uint256 reported) = market.getCommittee(id);
            if (reported & (1 << j) == 0) _reportBaselineAs(id, j, seed);
        }
    }

    function _canSubmit(uint256 id) internal view returns (bool) {
        if (_infos[id - 1].closed || market.state(id) != BountyState.Open) return false;
        BountyView memory v = market.getBounty(id);
        return v.submissionCount / v.batchSize < v.maxBatches;
    }

    /// @dev An Open bounty that takes submissions: an existing one, else one awaiting its
    ///      baseline gets it, else a new one is opened and gets it. 0 if none can be had.
    function _ensureOpen(uint256 seed) internal returns (uint256 id) {
        id = _findOpen(seed);
        if (id != 0) return id;
        uint256 n = _infos.length;
        for (uint256 k = 0; k < n && id == 0; ++k) {
            uint256 c = 1 + ((seed % n + k) % n);
            if (!_infos[c - 1].closed && market.state(c) == BountyState.AwaitingBaseline) id = c;
        }
        if (id == 0) id = _newBountyFrom(seed, 0);
        if (id == 0) return 0;
        _completeBaseline(id, seed);
        return _canSubmit(id) ? id : 0;
    }

    function _submit(uint256 id, uint256 seed, uint256 baseSeed) internal {
        _submitAs(id, seed, baseSeed, false);
    }

    /// @dev submitUpdate, or submitUpdateOnce (`once`: the record's stake field carries ONE_OFF).
    function _submitAs(uint256 id, uint256 seed, uint256 baseSeed, bool once) internal {
        BountyView memory v = market.getBounty(id);
        address c = contributors[(seed >> 8) % contributors.length];
        _fund(c, v.token, v.stake);
        uint32 base = _baseFor(v.versionCount, baseSeed);
        Cid memory update =
            Cid(keccak256(abi.encode("update", id, v.submissionCount, seed)), seed % 2 == 0 ? 0x55 : 0x70);
        uint256 fn = once ? F_SUBMIT_ONCE : F_SUBMIT;
        _call(fn);
        _prankFor(id, c);
        uint256 value = v.token == ETH ? v.stake : 0;
        try (once ? market.submitUpdateOnce : market.submitUpdate){value: value}(id, base, update) returns (uint256 sid) {
            if (uint256(base) + MarketModel.MAX_LAG < v.versionCount) _mismatch("submitUpdate: took a stale base (U1)");
            _ok(fn);
            _recordSubmission(id, sid, v, SubmissionRecord(c, uint96(v.stake | (once ? ONE_OFF : 0)), base, update), seed);
            ghostIn[v.token] += v.stake;
        } catch (bytes memory err) {
            if (uint256(base) + MarketModel.MAX_LAG >= v.versionCount || bytes4(err) != IBountyMarketErrors.BaseVersionStale.selector) {
                _unexpected(once ? "submitUpdateOnce" : "submitUpdate");
            }
        }
    }

    /// @dev A base 0 to MAX_LAG + 1 versions behind the head: the last one is stale, and
    ///      submitUpdate refuses it (U1).
    function _baseFor(uint256 versions, uint256 baseSeed) internal pure returns (uint32) {
        uint256 lag = baseSeed % (MarketModel.MAX_LAG + 2);
        return uint32(lag > versions ? 0 : versions - lag);
    }

    /// @dev The next batch of `id` is reportable (U3: full, or the bounty ended), and with
    ///      `unreported`, some opted-in member has not reported it yet.
    function _hasReportable(uint256 id, bool unreported) internal view returns (bool) {
        if (_infos[id - 1].closed) return false;
        uint256 batch = market.getBounty(id).nextBatch;
        (,, uint16 reportedMask,,, uint256 timeoutAt) = market.getBatch(id, batch);
        if (timeoutAt == 0) return false;
        if (!unreported) return true;
        (, uint256 opted,) = market.getCommittee(id);
        // R11: once reveals are open, only the members that committed can still report; a
        // member that joined while the batch was reportable sits it out
        (uint16 committed, uint256 revealAt, uint16 out) = market.getCommits(id, batch);
        opted &= ~uint256(out);
        uint256 can = opted & ~uint256(reportedMask);
        // R7b: in a batch given a second round, a member without a commitment reports without one
        if ((reportedMask != 0 || committed == opted || block.timestamp >= revealAt) && !_retried[id][batch]) can &= committed;
        return can != 0;
    }

    /// @dev Settles the next batch of `id` with the reports it has (after its timeout unless every
    ///      opted-in member reported), or voids it when they are fewer than a quorum (R4, R10).
    function _settleOrVoid(uint256 id, uint256 batch) internal {
        (,, uint16 reportedMask,,, uint256 timeoutAt) = market.getBatch(id, batch);
        uint256 opted = _onDuty(id, batch);
        if (reportedMask != opted && block.timestamp < timeoutAt) vm.warp(timeoutAt);
        if (_popcount(reportedMask) < _quorum(id)) _void(id, batch, reportedMask);
        else _settle(id, batch);
    }

    function _findReportable(uint256 seed, bool unreported) internal view returns (uint256) {
        uint256 n = _infos.length;
        for (uint256 k = 0; k < n; ++k) {
            uint256 id = 1 + ((seed % n + k) % n);
            if (_hasReportable(id, unreported)) return id;
        }
        return 0;
    }

    function _voidable(uint256 id) internal view returns (bool) {
        if (_infos[id - 1].closed) return false;
        uint256 batch = market.getBounty(id).nextBatch;
        (,, uint16 reportedMask,,, uint256 timeoutAt) = market.getBatch(id, batch);
        return timeoutAt != 0 && _popcount(reportedMask) < _quorum(id);
    }

    /// @dev Submits to the open batch of `id` until its next batch is reportable.
    function _fillNext(uint256 id, uint256 seed) internal {
        for (uint256 i = 0; i < 4 && !_hasReportable(id, false) && _canSubmit(id); ++i) {
            _submit(id, uint256(keccak256(abi.encode(seed, i))), seed >> 32);
        }
    }

    /// @dev A bounty whose next batch some opted-in member can report: an existing one; else a
    ///      fully reported batch is settled and its successor used; else a batch is filled.
    function _prepareReport(uint256 seed) internal returns (uint256 id) {
        id = _findReportable(seed, true);
        if (id != 0) return id;
        id = _findReportable(seed, false);
        if (id != 0) {
            _settleOrVoid(id, market.getBounty(id).nextBatch);
            if (_hasReportable(id, true)) return id;
        }
        id = _ensureOpen(seed);
        if (id == 0) return 0;
        _fillNext(id, seed);
        return _hasReportable(id, true) ? id : 0;
    }

    /// @dev Settles the next batch of `id`: the missing members report (with `mode % 3 == 0` one
    ///      of them stays silent if a quorum remains, and the batch waits for its timeout), then
    ///      the keeper settles, or (`mode >> 2` even) the last reporter uses reportAndSettle.
    function _finishBatch(uint256 id, uint256 seed, uint256 mode) internal {
        uint256 batch = market.getBounty(id).nextBatch;
        (,, uint16 reportedMask,,, uint256 timeoutAt) = market.getBatch(id, batch);
        // R11: only members that committed can report (the others are silent)
        uint256 committed = _openReveals(id, batch, uint256(keccak256(abi.encode(seed, "commits"))), true);
        uint256 opted = _onDuty(id, batch); // after any abstention (R12), which takes its member off duty
        uint256 missing = opted & committed & ~uint256(reportedMask);
        // R7b: a second round with a report public takes the others' reports without a commitment
        if (_retried[id][batch] && reportedMask != 0) missing = opted & ~uint256(reportedMask);
        uint256 size = _committee[id].length;
        if (_popcount(missing | reportedMask) < _quorum(id)) {
            // too few committed for a quorum: the batch can only be voided at its timeout (R10)
            for (uint256 j = 0; j < size; ++j) {
                if (missing & (1 << j) != 0) _tryReportAs(id, batch, j, uint256(keccak256(abi.encode(seed, j))), true);
            }
            (,, reportedMask,,,) = market.getBatch(id, batch);
            if (block.timestamp < timeoutAt) vm.warp(timeoutAt);
            _void(id, batch, reportedMask);
            return;
        }
        if (mode % 3 == 0 && _popcount(missing | reportedMask) > _quorum(id) && missing != 0) {
            for (uint256 j = 0; j < size; ++j) {
                uint256 member = ((seed >> 8) + j) % size;
                if (missing & (1 << member) == 0) continue;
                missing &= ~(uint256(1) << member); // stays silent
                break;
            }
        }
        uint256 finaliser = type(uint256).max;
        if ((mode >> 2) % 2 == 0 && missing != 0) {
            for (uint256 j = 0; j < size; ++j) {
                uint256 member = ((seed >> 16) + j) % size;
                if (missing & committed & (1 << member) == 0) continue; // a member with a commitment (its salt)
                finaliser = member;
                missing &= ~(uint256(1) << member);
                break;
            }
        }
        for (uint256 j = 0; j < size; ++j) {
            if (missing & (1 << j) != 0) _tryReportAs(id, batch, j, uint256(keccak256(abi.encode(seed, j))), true);
        }
        (,, reportedMask,,,) = market.getBatch(id, batch);
        uint256 reported = reportedMask | (finaliser == type(uint256).max ? 0 : uint256(1) << finaliser);
        if (reported != opted && block.timestamp < timeoutAt) vm.warp(timeoutAt); // a member is silent
        if (finaliser != type(uint256).max) {
            _reportAndSettle(id, batch, finaliser, uint256(keccak256(abi.encode(seed, "final"))));
        } else {
            _settle(id, batch);
        }
    }

    function _cancel(uint256 id) internal {
        _call(F_CANCEL);
        _prankFor(id, _infos[id - 1].requester);
        try market.cancel(id) {
            _ok(F_CANCEL);
        } catch {
            _unexpected("cancel");
        }
    }

    /// @dev Closes some bounty: one that has ended, else one that is running, which ends by its
    ///      deadline if that is within two days (a warp) or else by its requester. Its pending
    ///      batches are reported and settled first. Returns its id, 0 if none could be closed.
    function _closeOne(uint256 seed) internal returns (uint256) {
        uint256 n = _infos.length;
        uint256 running = 0;
        for (uint256 k = 0; k < n; ++k) {
            uint256 id = 1 + ((seed % n + k) % n);
            if (_infos[id - 1].closed) continue;
            BountyState s = market.state(id);
            if (s == BountyState.Settling) return _closeBounty(id, seed) ? id : 0;
            if (running == 0 && (s == BountyState.Open || s == BountyState.AwaitingBaseline)) running = id;
        }
        if (running == 0) return 0;
        return _closeBounty(running, seed) ? running : 0;
    }

    function _closeBounty(uint256 id, uint256 seed) internal returns (bool) {
        BountyState s = market.state(id);
        if (s == BountyState.Closed) return true;
        if (s == BountyState.Revealed) return false;
        if (s == BountyState.Open || s == BountyState.AwaitingBaseline) {
            uint256 deadline = market.getBounty(id).deadline;
            if (deadline <= block.timestamp + 2 days) vm.warp(deadline);
            else _cancel(id);
        }
        for (uint256 guard = 0; guard < 16 && !_allDecided(id); ++guard) {
            uint256 batch = market.getBounty(id).nextBatch;
            (,, uint16 reportedMask,,,) = market.getBatch(id, batch);
            (, uint256 opted,) = market.getCommittee(id);
            for (uint256 j = 0; j < _committee[id].length; ++j) {
                if (opted & (1 << j) != 0 && reportedMask & (1 << j) == 0) {
                    _tryReportAs(id, batch, j, uint256(keccak256(abi.encode(seed, batch, j))), true);
                }
            }
            _settleOrVoid(id, batch);
            if (market.getBounty(id).nextBatch == batch) return false;
        }
        if (market.state(id) == BountyState.Settling) _close(id);
        return market.state(id) == BountyState.Closed;
    }

    function _restake(address o, uint256 amount) internal {
        _call(F_RESTAKE);
        _stakeOracle(o, amount);
        _ok(F_RESTAKE);
    }

    function _requestUnbond(address o) internal {
        _call(F_UNBOND);
        vm.prank(o);
        try registry.requestUnbond() {
            _ok(F_UNBOND);
            if (oracleServing[o] != 0) _broken("an oracle serving a bounty started unbonding");
        } catch {
            if (oracleServing[o] == 0) _unexpected("requestUnbond");
        }
    }

    function _withdraw(address o) internal {
        uint256 before = o.balance;
        _call(F_UNBOND);
        vm.prank(o);
        try registry.withdraw() {
            _ok(F_UNBOND);
            if (o.balance != before + oracleStake[o]) _mismatch("withdraw: amount");
            oracleStake[o] = 0;
        } catch {
            _unexpected("withdraw");
        }
    }

    // ============================================================ drain (end state)

    /// @dev Brings every bounty to its end: past every deadline, each pending batch is reported
    ///      by every opted-in member and settled, every bounty closed and revealed, every member
    ///      released. Then checks that no stake stays locked, that the market holds exactly what
    ///      is claimable (+ pending burns + unclaimed bond shares), and that once everybody has
    ///      claimed and burned, the market holds nothing. Returns "" or what went wrong. Only
    ///      called from an invariant (its state changes are discarded).
    function drainAndCheck() external returns (string memory) {
        uint256 n = _infos.length;
        uint256 last = block.timestamp;
        for (uint256 id = 1; id <= n; ++id) {
            uint256 d = market.getBounty(id).deadline;
            if (d > last) last = d;
        }
        vm.warp(last + 1);
        for (uint256 id = 1; id <= n; ++id) {
            for (uint256 guard = 0; guard < 64; ++guard) {
                BountyView memory v = market.getBounty(id);
                uint256 batches = (uint256(v.submissionCount) + v.batchSize - 1) / v.batchSize;
                if (v.nextBatch >= batches) break;
                uint256 batch = v.nextBatch;
                (, uint256 opted,) = market.getCommittee(id);
                for (uint256 j = 0; j < _committee[id].length; ++j) {
                    if (opted & (1 << j) != 0) _tryReportAs(id, batch, j, guard, false);
                }
                bool wasRetried = _retried[id][batch];
                (bool ready,) = _settleReady(id, true);
                if (ready) {
                    _settle(id, batch);
                } else {
                    (,, uint16 reportedMask,,, uint256 timeoutAt) = market.getBatch(id, batch);
                    if (block.timestamp < timeoutAt) vm.warp(timeoutAt);
                    _void(id, batch, reportedMask);
                }
                // R7b: a first settlement may give the batch its second round (once); the next
                // pass reports and decides it
                if (market.getBounty(id).nextBatch == batch && (wasRetried || !_retried[id][batch])) {
                    return "drain: a pending batch can be neither settled nor voided";
                }
            }
            // half of the requesters reveal, the others let their bond be forfeited
            if (market.state(id) == BountyState.Settling) _close(id);
            if (market.state(id) == BountyState.Closed && !_infos[id - 1].forfeited) {
                if (id % 2 == 0) _forfeit(id);
                else _reveal(id, false);
            }
            BountyState s = market.state(id);
            if (s != BountyState.Revealed && !(s == BountyState.Closed && _infos[id - 1].forfeited)) {
                return "drain: a bounty could not be closed and revealed or forfeited";
            }
            for (uint256 j = 0; j < _committee[id].length; ++j) {
                _leaveOne(id, j);
            }
        }
        if (lockedStakes(ETH) != 0 || lockedStakes(address(token)) != 0) return "drain: stakes still locked";
        for (uint256 i = 0; i < oracles.length; ++i) {
            (,, uint256 active) = registry.oracleInfo(oracles[i]);
            if (active != 0) return "drain: an oracle is still bonded to a finished bounty";
        }
        for (uint256 t = 0; t < 2; ++t) {
            address tok = t == 0 ? ETH : address(token);
            if (
                _balance(tok, address(market))
                    != totalClaimable(tok) + market.pendingBurn(tok) + unclaimedBondShares(tok) + payoutsOwed[tok]
            ) {
                return "drain: holdings != claimable + pending burn + bond shares + one-off payouts";
            }
        }
        // everyone takes what they are owed: nothing may remain
        _claimAllPayouts();
        for (uint256 id = 1; id <= n; ++id) {
            Info storage info = _infos[id - 1];
            for (uint256 ver = 1; ver <= info.versions && info.bondShare != 0; ++ver) {
                if (_authors[id][ver] != address(0)) _claimBondShare(id, ver, _authors[id][ver]);
            }
        }
        for (uint256 t = 0; t < 2; ++t) {
            address tok = t == 0 ? ETH : address(token);
            for (uint256 i = 0; i < actors.length; ++i) {
                if (market.claimable(actors[i], tok) != 0) _claim(actors[i], tok, false);
            }
            if (market.pendingBurn(tok) != 0) {
                vm.prank(keeper);
                market.burn(tok);
            }
            if (_balance(tok, address(market)) != 0) return "drain: the market keeps funds nobody can claim";
        }
        if (bytes(lastViolation).length != 0) return lastViolation;
        return "";
    }

    // =================================================================== views

    function bountyCount() external view returns (uint256) {
        return _infos.length;
    }

    function bountyInfo(uint256 id) external view returns (Info memory) {
        return _infos[id - 1];
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function functionCount() external pure returns (uint256) {
        return N_FUNCTIONS;
    }

    function functionName(uint256 fn) external view returns (string memory) {
        return _names[fn];
    }

    /// @dev Versions accepted across all bounties.
    function settledVersions() external view returns (uint256 v) {
        for (uint256 i = 0; i < _infos.length; ++i) {
            v += _infos[i].versions;
        }
    }

    /// @dev Successful calls that changed the market (not warps or registry top-ups).
    function marketSuccesses() external view returns (uint256 ok) {
        for (uint256 f = 0; f < N_FUNCTIONS; ++f) {
            if (f != F_WARP && f != F_RESTAKE) ok += successes[f];
        }
    }

    function totalCalls() public view returns (uint256 c, uint256 ok) {
        for (uint256 f = 0; f < N_FUNCTIONS; ++f) {
            c += calls[f];
            ok += successes[f];
        }
    }

    /// @dev Stakes of submissions in batches not yet decided (batches are decided in order).
    function lockedStakes(address tok) public view returns (uint256 locked) {
        for (uint256 id = 1; id <= _infos.length; ++id) {
            if (_infos[id - 1].token != tok) continue;
            BountyView memory v = market.getBounty(id);
            uint256 batches = (uint256(v.submissionCount) + v.batchSize - 1) / v.batchSize;
            for (uint256 b = v.nextBatch; b < batches; ++b) {
                SubmissionRecord[] storage recs = _records[id][b];
                for (uint256 i = 0; i < recs.length; ++i) {
                    locked += recs[i].stake & (ONE_OFF - 1);
                }
            }
        }
    }

    function unclaimedBondShares(address tok) public view returns (uint256 owed) {
        for (uint256 id = 1; id <= _infos.length; ++id) {
            if (_infos[id - 1].token != tok) continue;
            uint256 share = market.bondShare(id);
            if (share == 0) continue;
            uint256 versions = market.getBounty(id).versionCount;
            for (uint256 ver = 1; ver <= versions; ++ver) {
                if (market.versionAuthor(id, ver) != address(0)) owed += share;
            }
        }
    }

    function totalClaimable(address tok) public view returns (uint256 sum) {
        for (uint256 i = 0; i < actors.length; ++i) {
            sum += market.claimable(actors[i], tok);
        }
    }

    // ================================================================== checks
    // Each returns "" or what is wrong; one call per invariant keeps the checks cheap.

    /// @dev Conservation of `tok`: the balance equals what the views say is owed (open escrow
    ///      and unpaid fees until close, unsettled bonds, locked stakes, unclaimed bond shares,
    ///      claimable, pending burn), equals what arrived minus what left, and pending burns
    ///      equal the modelled burns minus what was sent.
    function checkEscrow(address tok) external view returns (string memory) {
        uint256 held = _balance(tok, address(market));
        uint256 owed = market.pendingBurn(tok) + totalClaimable(tok) + payoutsOwed[tok];
        for (uint256 id = 1; id <= _infos.length; ++id) {
            Info storage info = _infos[id - 1];
            if (info.token != tok) continue;
            BountyView memory v = market.getBounty(id);
            uint256 fees = uint256(v.oracleFeePerBatch) * v.maxBatches;
            if (v.paid > v.reward || v.feesPaid > fees) return "escrow: paid more than the reward or fee budget";
            if (v.closedAt == 0) owed += v.reward - v.paid + fees - v.feesPaid;
            if (!v.revealed && !info.forfeited) owed += v.revealBond;
            uint256 batches = (uint256(v.submissionCount) + v.batchSize - 1) / v.batchSize;
            for (uint256 b = v.nextBatch; b < batches; ++b) {
                SubmissionRecord[] storage recs = _records[id][b];
                for (uint256 i = 0; i < recs.length; ++i) {
                    owed += recs[i].stake & (ONE_OFF - 1);
                }
            }
            if (info.forfeited && info.bondShare != 0) {
                uint256 share = market.bondShare(id);
                for (uint256 ver = 1; ver <= v.versionCount; ++ver) {
                    if (market.versionAuthor(id, ver) != address(0)) owed += share;
                }
            }
        }
        if (held != owed) return "escrow: balance != open escrow + fees + bonds + locked stakes + claimable + burns";
        // rule P4: the market's own books of an ERC-20 are that same sum (ETH is not booked), and
        // it holds at least what they say (these tokens never rebase: no shortfall, no write-down)
        (uint256 booked, bool writtenDown) = market.books(tok);
        if (booked != (tok == ETH ? 0 : owed)) return "escrow: books(token) != what the market owes in it";
        if (writtenDown || (tok != ETH && held < booked)) return "escrow: a token that never rebased is short or written down";
        if (held != ghostIn[tok] - ghostOut[tok]) return "escrow: balance != paid in - claimed - burned";
        if (market.pendingBurn(tok) != ghostBurned[tok] - ghostBurnSent[tok]) {
            return "escrow: pendingBurn != burned - sent";
        }
        return "";
    }

    /// @dev Per account and token: claimed + spent from balance <= credited (model), and the
    ///      claimable balance is exactly the difference.
    function checkClaims() external view returns (string memory) {
        for (uint256 t = 0; t < 2; ++t) {
            address tok = t == 0 ? ETH : address(token);
            for (uint256 i = 0; i < actors.length; ++i) {
                address a = actors[i];
                uint256 out = claimed[a][tok] + debited[a][tok];
                if (out > credited[a][tok]) return "claims: an account took more than it was credited";
                if (market.claimable(a, tok) != credited[a][tok] - out) {
                    return "claims: claimable != credited - claimed";
                }
            }
        }
        if (doubleClaims != 0) return lastViolation;
        return "";
    }

    /// @dev Per bounty: rewards paid <= reward escrow (= creation + top-ups), paid equals the sum
    ///      of the rewards of accepted versions, fees paid <= the fee budget, head as modelled.
    function checkRewards() external view returns (string memory) {
        for (uint256 id = 1; id <= _infos.length; ++id) {
            Info storage info = _infos[id - 1];
            BountyView memory v = market.getBounty(id);
            if (v.paid > v.reward) return "rewards: paid more than the escrow";
            if (v.reward != info.rewardFunded) return "rewards: escrow != funded";
            if (v.paid != info.paid) return "rewards: paid != sum of accepted rewards";
            if (v.feesPaid > uint256(v.oracleFeePerBatch) * v.maxBatches) {
                return "rewards: fees paid exceed the budget";
            }
            if (info.baselineSet && v.headScore != info.head) return "rewards: head differs from the model";
        }
        return "";
    }

    /// @dev Slashes: every StakeSlashed burned exactly slashBps of its stake (<= the stake), no
    ///      oracle lost more than its stake, and the registry holds exactly the modelled stakes.
    function checkSlashes() external view returns (string memory) {
        if (slashViolations != 0 || oracleSlashViolations != 0) return lastViolation;
        uint256 sum = 0;
        for (uint256 i = 0; i < oracles.length; ++i) {
            (uint256 st,,) = registry.oracleInfo(oracles[i]);
            if (st != oracleStake[oracles[i]]) return "slashes: registry stake != model";
            sum += st;
        }
        if (address(registry).balance != sum) return "slashes: registry balance != stakes";
        return "";
    }

    /// @dev The market decided as the model, refused every forgery, reverted nothing the rules
    ///      allow, and the registry's bonds match the committees joined and not left.
    function checkRules() external view returns (string memory) {
        if (modelMismatches + unexpectedReverts + tamperAccepted + rulesBroken != 0) return lastViolation;
        for (uint256 i = 0; i < oracles.length; ++i) {
            (,, uint256 active) = registry.oracleInfo(oracles[i]);
            if (active != oracleServing[oracles[i]]) return "rules: registry bonds != committees joined and not left";
        }
        return "";
    }

    /// @dev No getter reverts for what exists. Each view is called with a low-level staticcall
    ///      (a revert is reported, never skipped) and its return data decoded as the ABI says:
    ///      BountyMarket: bountyCount, paused, guardian, owner, pendingOwner, keyRegistry,
    ///        oracleRegistry, extension; state(id) for every bounty id created; claimable(a, t)
    ///        for every actor, the claimTo sink and the market, for ETH and the ERC-20;
    ///        pendingBurn(t) and books(t) for both tokens.
    ///      BountyMarketExtension, through the market's fallback: getBounty(id), getCommittee(id),
    ///        getCurve(id), bondShare(id) for every id; getBatch(id, b) for every batch that
    ///        holds a submission (so every submission id) and the one after the last;
    ///        reportHash(id, b, m) for every member index m of the batch being scored and for
    ///        member 0 of the other batches; versionAuthor(id, v) for every version
    ///        v <= versionCount (0 = the initial model).
    ///      OracleRegistry: minStake, unbondingDelay, slashBps, market; isEligible(o) and
    ///        oracleInfo(o) for every oracle (and an account that never staked).
    ///      KeyRegistry: hasKey(a) and publicKeyOf(a) for every key holder (and an account
    ///        without a key).
    ///      Besides, the values agree with the model where it knows them (count, requester,
    ///      token, committee, curve, published keys), and state and getBounty of the id after
    ///      the last must revert (BountyNotFound), so the check does see reverts. A bounty's
    ///      getters are re-read after every step that named it or moved time, and every 16th.
    function checkGetters() external view returns (string memory) {
        address m = address(market);
        string[8] memory globals = [
            "bountyCount()",
            "paused()",
            "guardian()",
            "owner()",
            "pendingOwner()",
            "keyRegistry()",
            "oracleRegistry()",
            "extension()"
        ];
        for (uint256 i = 0; i < globals.length; ++i) {
            if (!_viewOk(m, abi.encodeWithSignature(globals[i]), 32)) {
                return string.concat("getter reverted: ", globals[i]);
            }
        }
        if (_word(m, abi.encodeCall(IBountyMarketExtension.bountyCount, ())) != _infos.length) {
            return "getter: bountyCount() != bounties created";
        }
        // A bounty's getters read its storage and the time: those of a bounty that no call of
        // the last step named return what they returned before, unless time moved. Every 16th
        // step re-reads all of them anyway.
        bool all = steps == 0 || steps % 16 == 0 || block.timestamp != _stepTime;
        for (uint256 id = 1; id <= _infos.length; ++id) {
            if (!all && _dirty & (1 << id) == 0) continue;
            string memory e = _checkBountyGetters(m, id);
            if (bytes(e).length != 0) return e;
        }
        uint256 next = _infos.length + 1;
        (bool ok,) = m.staticcall(abi.encodeCall(IBountyMarketExtension.state, (next)));
        if (ok) return "getter: state() of an unknown id did not revert";
        (ok,) = m.staticcall(abi.encodeCall(IBountyMarketExtension.getBounty, (next)));
        if (ok) return "getter: getBounty() of an unknown id did not revert";
        for (uint256 t = 0; t < 2; ++t) {
            address tok = t == 0 ? ETH : address(token);
            if (!_viewOk(m, abi.encodeCall(IBountyMarketExtension.pendingBurn, (tok)), 32)) {
                return "getter reverted: pendingBurn";
            }
            if (!_viewOk(m, abi.encodeCall(IBountyMarketActions.books, (tok)), 64)) return "getter reverted: books";
            for (uint256 i = 0; i <= actors.length + 1; ++i) {
                address a = i < actors.length ? actors[i] : (i == actors.length ? sink : m);
                if (!_viewOk(m, abi.encodeCall(IBountyMarketExtension.claimable, (a, tok)), 32)) {
                    return "getter reverted: claimable";
                }
            }
        }
        return _checkRegistryGetters();
    }

    function _checkBountyGetters(address m, uint256 id) internal view returns (string memory) {
        (bool ok, bytes memory ret) = m.staticcall(abi.encodeCall(IBountyMarketExtension.state, (id)));
        if (!ok || ret.length != 32 || uint256(bytes32(ret)) == 0 || uint256(bytes32(ret)) > 5) {
            return string.concat("getter reverted: state(", vm.toString(id), ")");
        }
        (ok, ret) = m.staticcall(abi.encodeCall(IBountyMarketExtension.getBounty, (id)));
        if (!ok) return string.concat("getter reverted: getBounty(", vm.toString(id), ")");
        BountyView memory v = abi.decode(ret, (BountyView));
        if (v.requester != _infos[id - 1].requester || v.token != _infos[id - 1].token) {
            return "getter: getBounty() requester or token differ";
        }
        (ok, ret) = m.staticcall(abi.encodeCall(IBountyMarketExtension.getCommittee, (id)));
        if (!ok) return string.concat("getter reverted: getCommittee(", vm.toString(id), ")");
        (address[] memory members,,) = abi.decode(ret, (address[], uint256, uint256));
        if (keccak256(abi.encode(members)) != keccak256(abi.encode(_committee[id]))) {
            return "getter: getCommittee() members differ";
        }
        (ok, ret) = m.staticcall(abi.encodeCall(IBountyMarketExtension.getCurve, (id)));
        if (!ok) return string.concat("getter reverted: getCurve(", vm.toString(id), ")");
        (uint64[] memory xs, uint64[] memory ys) = abi.decode(ret, (uint64[], uint64[]));
        if (keccak256(abi.encode(xs, ys)) != keccak256(abi.encode(_xs[id], _ys[id]))) {
            return "getter: getCurve() differs from the curve created";
        }
        if (!_viewOk(m, abi.encodeCall(IBountyMarketExtension.bondShare, (id)), 32)) {
            return string.concat("getter reverted: bondShare(", vm.toString(id), ")");
        }
        uint256 lastBatch = (uint256(v.submissionCount) + v.batchSize - 1) / v.batchSize; // one past the last
        if (v.nextBatch > lastBatch) lastBatch = v.nextBatch;
        for (uint256 b = 0; b <= lastBatch; ++b) {
            (ok, ret) = m.staticcall(abi.encodeCall(IBountyMarketExtension.getBatch, (id, b)));
            if (!ok || ret.length != 192) {
                return string.concat("getter reverted: getBatch(", vm.toString(id), ", ", vm.toString(b), ")");
            }
            abi.decode(ret, (bytes32, uint64, uint16, bool, uint256, uint256));
        }
        // reportHash: every member of the batch being scored (reported or not); member 0 of
        // every other batch (the hash is zero there)
        for (uint256 b = 0; b <= lastBatch; ++b) {
            for (uint256 j = 0; j < (b == v.nextBatch ? members.length : 1); ++j) {
                if (!_viewOk(m, abi.encodeCall(IBountyMarketExtension.reportHash, (id, b, j)), 32)) {
                    return string.concat("getter reverted: reportHash(", vm.toString(id), ", ", vm.toString(b), ")");
                }
            }
        }
        for (uint256 ver = 0; ver <= v.versionCount; ++ver) {
            if (!_viewOk(m, abi.encodeCall(IBountyMarketExtension.versionAuthor, (id, ver)), 32)) {
                return string.concat("getter reverted: versionAuthor(", vm.toString(id), ")");
            }
        }
        return "";
    }

    function _checkRegistryGetters() internal view returns (string memory) {
        address r = address(registry);
        string[4] memory globals = ["minStake()", "unbondingDelay()", "slashBps()", "market()"];
        for (uint256 i = 0; i < globals.length; ++i) {
            if (!_viewOk(r, abi.encodeWithSignature(globals[i]), 32)) {
                return string.concat("getter reverted: ", globals[i]);
            }
        }
        // every oracle, and one account that never staked
        for (uint256 i = 0; i <= oracles.length; ++i) {
            address a = i < oracles.length ? oracles[i] : keeper;
            if (!_viewOk(r, abi.encodeCall(OracleRegistry.isEligible, (a)), 32)) return "getter reverted: isEligible";
            if (!_viewOk(r, abi.encodeCall(OracleRegistry.oracleInfo, (a)), 96)) return "getter reverted: oracleInfo";
        }
        // every key holder, and one account without a key
        for (uint256 i = 0; i <= keyHolders.length; ++i) {
            address a = i < keyHolders.length ? keyHolders[i] : keeper;
            if (!_viewOk(address(keyRegistry), abi.encodeCall(IKeyRegistry.hasKey, (a)), 32)) {
                return "getter reverted: hasKey";
            }
            (bool ok, bytes memory ret) = address(keyRegistry).staticcall(abi.encodeCall(IKeyRegistry.publicKeyOf, (a)));
            if (!ok) return "getter reverted: publicKeyOf";
            if (keccak256(abi.decode(ret, (bytes))) != keccak256(_publishedKey[a])) {
                return "getter: publicKeyOf() differs from the key published";
            }
        }
        return "";
    }

    /// @dev The view succeeded and returned exactly `size` bytes (static return types).
    function _viewOk(address target, bytes memory data, uint256 size) internal view returns (bool) {
        (bool ok, bytes memory ret) = target.staticcall(data);
        return ok && ret.length == size;
    }

    function _word(address target, bytes memory data) internal view returns (uint256) {
        (bool ok, bytes memory ret) = target.staticcall(data);
        return ok && ret.length == 32 ? uint256(bytes32(ret)) : 0;
    }

    // ================================================================ internals

    /// @dev The next call is `who`'s and concerns bounty `id` (checkGetters re-reads it).
    function _prankFor(uint256 id, address who) internal {
        _dirty |= 1 << id;
        vm.prank(who);
    }

    function _call(uint256 fn) internal {
        ++calls[fn];
        ++_stepCalls;
    }

    function _ok(uint256 fn) internal {
        ++successes[fn];
        ++_stepOk;
    }

    function _mismatch(string memory what) internal {
        ++modelMismatches;
        lastViolation = what;
    }

    function _unexpected(string memory what) internal {
        ++unexpectedReverts;
        lastViolation = string.concat("unexpected revert: ", what);
    }

    function _tamper(string memory what) internal {
        ++tamperAccepted;
        lastViolation = what;
    }

    function _broken(string memory what) internal {
        ++rulesBroken;
        lastViolation = what;
    }

    function _balance(address tok, address who) internal view returns (uint256) {
        return tok == ETH ? who.balance : token.balanceOf(who);
    }

    function _fund(address who, address tok, uint256 amount) internal {
        if (tok == ETH) {
            vm.deal(who, who.balance + amount);
        } else {
            token.mint(who, amount);
            vm.prank(who);
            token.approve(address(market), amount);
        }
    }

    function _stakeOracle(address o, uint256 amount) internal {
        vm.deal(o, o.balance + amount);
        vm.prank(o);
        registry.stake{value: amount}();
        oracleStake[o] += amount;
    }

    function _popcount(uint256 x) internal pure returns (uint256 c) {
        while (x != 0) {
            x &= x - 1;
            ++c;
        }
    }

    /// @dev R4: more than half of the committee (1 of a trusted single oracle).
    function _quorum(uint256 id) internal view returns (uint256) {
        return _committee[id].length / 2 + 1;
    }

    /// @dev C3: what `oracle`'s next offence on bounty `id` takes (bondSlash, or the rest).
    function _offenceSlash(uint256 id, address oracle) internal view returns (uint256) {
        (uint256 bond, uint256 each) = market.memberBond(id);
        uint256 spent = offences[id][oracle] * each;
        uint256 left = spent >= bond ? 0 : bond - spent;
        return left < each ? left : each;
    }

    function _tolerance(uint256 id) internal view returns (uint256) {
        return market.getBounty(id).tolerance;
    }

    function _notEnded(uint256 id) internal view returns (bool) {
        if (_infos[id - 1].closed) return false;
        BountyState s = market.state(id);
        return s == BountyState.AwaitingBaseline || s == BountyState.Open;
    }

    function _findNotEnded(uint256 seed) internal view returns (uint256) {
        uint256 n = _infos.length;
        for (uint256 k = 0; k < n; ++k) {
            uint256 id = 1 + ((seed % n + k) % n);
            if (_notEnded(id)) return id;
        }
        return 0;
    }

    /// @dev An Open bounty that can take one more submission.
    function _findOpen(uint256 seed) internal view returns (uint256) {
        uint256 n = _infos.length;
        for (uint256 k = 0; k < n; ++k) {
            uint256 id = 1 + ((seed % n + k) % n);
            if (_canSubmit(id)) return id;
        }
        return 0;
    }

    function _allDecided(uint256 id) internal view returns (bool) {
        BountyView memory v = market.getBounty(id);
        return v.nextBatch >= (uint256(v.submissionCount) + v.batchSize - 1) / v.batchSize;
    }

    function _pickCommittee(uint256 seed, uint256 size) internal view returns (address[] memory committee) {
        address[] memory eligible = new address[](oracles.length);
        uint256 e = 0;
        for (uint256 i = 0; i < oracles.length; ++i) {
            address o = oracles[(seed % oracles.length + i) % oracles.length];
            if (registry.isEligible(o)) eligible[e++] = o;
        }
        if (e < size) return new address[](0);
        committee = new address[](size);
        for (uint256 i = 0; i < size; ++i) {
            committee[i] = eligible[i];
        }
    }

    function _params(uint256 seed, uint256 rewardSeed, uint256 amountSeed, address[] memory committee, address tok)
        internal
        view
        returns (BountyParams memory p)
    {
        p = MarketSetup.params(tok, committee);
        p.reward = rewardSeed % 20 ether;
        p.stake = uint96(1e15 + (amountSeed % 1 ether));
        p.oracleFeePerBatch = uint96((amountSeed >> 64) % 0.1 ether);
        p.maxBatches = uint32(1 + ((seed >> 32) % 8));
        p.revealBond = uint96((amountSeed >> 128) % 1 ether);
        p.slashBps = uint16((seed >> 40) % 10_001);
        p.batchSize = uint16(1 + ((seed >> 56) % 3));
        p.scoringTimeout = uint32(1 hours + ((seed >> 64) % 1 days));
        p.deadline = uint64(block.timestamp + 2 days + ((seed >> 80) % 8 days));
        p.revealWindow = uint32(1 hours + ((seed >> 96) % 3 days));
        p.higherIsBetter = (seed >> 104) % 2 == 0;
        uint32 base = uint32(4_000 + ((seed >> 112) % 2_000));
        uint32 gain = uint32(100 + ((seed >> 128) % 1_500));
        if ((seed >> 136) % 16 == 0) {
            // a target the baseline already meets: the bounty ends as soon as it opens
            p.target = p.higherIsBetter ? base - 200 : base + 200;
        } else {
            p.target = p.higherIsBetter ? base + gain : base - gain;
        }
        p.slashMargin = uint32((seed >> 144) % 200);
        p.tolerance = uint32((seed >> 160) % 20);
        (p.curveX, p.curveY) = _curve(seed >> 168);
        p.initialModel = MarketSetup.cid("model", _infos.length + 1);
        p.validationCommitment = MarketSetup.commitment(
            MarketSetup.cid("validation", _infos.length + 1),
            keccak256(abi.encode("vkey", _infos.length + 1)),
            keccak256(abi.encode("salt", _infos.length + 1))
        );
    }

    function _curve(uint256 seed) internal pure returns (uint64[] memory xs, uint64[] memory ys) {
        uint256 n = 2 + (seed % 4);
        xs = new uint64[](n);
        ys = new uint64[](n);
        xs[n - 1] = uint64(WAD);
        ys[n - 1] = uint64(WAD);
        for (uint256 i = 1; i + 1 < n; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            uint256 room = WAD - xs[i - 1] - (n - 1 - i);
            xs[i] = uint64(xs[i - 1] + 1 + (r % room));
            ys[i] = uint64(ys[i - 1] + ((r >> 128) % (WAD - ys[i - 1] + 1)));
        }
    }

    /// @dev An honest score: `truth` moved by at most tolerance + 1 units (now and then just
    ///      beyond the tolerance, so honest oracles too are sometimes slashed).
    function _noisy(uint32 truth, uint256 noiseSeed, uint256 salt, uint256 tolerance) internal pure returns (uint32) {
        if (truth == INVALID) return INVALID;
        uint256 r = uint256(keccak256(abi.encode(noiseSeed, salt)));
        uint256 span = tolerance / 2 + ((r >> 128) % 8 == 0 ? 2 : 0);
        uint256 delta = r % (2 * span + 1);
        int256 s = int256(uint256(truth)) + int256(delta) - int256(span);
        if (s < 0) s = 0;
        if (s >= int256(uint256(INVALID)) - 1) s = int256(uint256(INVALID)) - 2; // MAX_SCORE (R7a)
        return uint32(uint256(s));
    }

    /// @dev S2: the median of the baseline reports, and whether a quorum lies within tolerance of it.
    function _baselineAgreed(uint256 id, uint256 reported) internal view returns (bool ok, uint32 baseline) {
        Info storage info = _infos[id - 1];
        uint64[] memory keys = new uint64[](_popcount(reported));
        uint256 j = 0;
        for (uint256 m = 0; m < _committee[id].length; ++m) {
            if (reported & (1 << m) != 0) keys[j++] = MarketModel.key(_baselineReports[id][m], info.higher);
        }
        uint64 med = MarketModel.median(keys);
        uint256 tolerance = _tolerance(id);
        uint256 agree = 0;
        for (uint256 k = 0; k < keys.length; ++k) {
            if ((keys[k] > med ? keys[k] - med : med - keys[k]) <= tolerance) ++agree;
        }
        return (agree >= _quorum(id), MarketModel.scoreOf(med, info.higher));
    }

    function _modelBaseline(uint256 id, uint256 reported) internal {
        Info storage info = _infos[id - 1];
        (bool ok, uint32 baseline) = _baselineAgreed(id, reported);
        if (!ok) {
            ++baselinesWithoutMajority;
            if (market.getBounty(id).baselineSet) _mismatch("baseline: set without a majority");
            return;
        }
        info.baseline = baseline;
        info.head = baseline;
        info.baselineSet = true;
        BountyView memory v = market.getBounty(id);
        if (!v.baselineSet || v.baselineScore != baseline || v.headScore != baseline) {
            _mismatch("baseline: not the median");
        }
    }

    function _recordSubmission(uint256 id, uint256 sid, BountyView memory v, SubmissionRecord memory r, uint256 seed)
        internal
    {
        if (sid != v.submissionCount) _mismatch("submit: id");
        _records[id][sid / v.batchSize].push(r);
        // the update's true score: 1 in 10 invalid, else within 300 units of the head either way
        uint256 x = uint256(keccak256(abi.encode("truth", seed, sid)));
        if (x % 10 == 0) {
            _truth[id][sid] = INVALID;
        } else {
            Info storage info = _infos[id - 1];
            int256 g = int256((x >> 8) % 601) - 300; // goodness change
            int256 s = int256(uint256(info.head)) + (info.higher ? g : -g);
            if (s < 0) s = 0;
            _truth[id][sid] = uint32(uint256(s));
        }
    }

    /// @dev Reports the next batch of `id` as some opted-in member that has not yet reported.
    function _tryReport(uint256 id, uint256 memberSeed, uint256 noiseSeed, bool allowOutlier) internal returns (bool) {
        uint256 batch = market.getBounty(id).nextBatch;
        (,, uint16 reportedMask,,, uint256 timeoutAt) = market.getBatch(id, batch);
        if (timeoutAt == 0) return false;
        (, uint256 opted,) = market.getCommittee(id);
        uint256 size = _committee[id].length;
        for (uint256 j = 0; j < size; ++j) {
            uint256 member = (memberSeed + j) % size;
            if (opted & (1 << member) == 0 || reportedMask & (1 << member) != 0) continue;
            _tryReportAs(id, batch, member, noiseSeed, allowOutlier);
            return true;
        }
        return false;
    }

    function _tryReportAs(uint256 id, uint256 batch, uint256 member, uint256 noiseSeed, bool allowOutlier) internal {
        (,, uint16 reportedMask,,, uint256 timeoutAt) = market.getBatch(id, batch);
        if (timeoutAt == 0 || reportedMask & (1 << member) != 0) return;
        // R11: a report is the reveal of a commitment; the members commit first if the
        // commit phase is still on (one that did not commit cannot report)
        uint256 committed = _openReveals(id, batch, noiseSeed, allowOutlier);
        if (committed & (1 << member) == 0) return _tryReportUncommitted(id, batch, member, noiseSeed);
        BatchReport memory r = _committed[id][batch][member];
        _call(F_REPORT);
        _prankFor(id, _committee[id][member]);
        try market.report(id, batch, r.scores, r.merged, _salt(id, batch, member)) {
            _ok(F_REPORT);
            _reports[id][batch][member] = r;
        } catch {
            _unexpected("report");
        }
    }

    /// @dev R7b: in a batch given a second round, once reveals are open, a member on duty without
    ///      a commitment reports without one (an honest report: it fetched what it missed from the
    ///      members that pinned it); the market must take it. Elsewhere nothing is tried here (the
    ///      copy attempts of _tryCopy check the refusal).
    function _tryReportUncommitted(uint256 id, uint256 batch, uint256 member, uint256 noiseSeed) internal {
        if (!_retried[id][batch]) return;
        (,, uint16 reportedMask,, uint256 subs,) = market.getBatch(id, batch);
        (, uint256 revealAt, uint16 out) = market.getCommits(id, batch);
        if ((reportedMask == 0 && block.timestamp < revealAt) || out & (1 << member) != 0) return;
        BatchReport memory r = _buildReport(id, batch, member, subs, noiseSeed, false);
        _call(F_REPORT);
        _prankFor(id, _committee[id][member]);
        try market.report(id, batch, r.scores, r.merged, bytes32(0)) {
            _ok(F_REPORT);
            _reports[id][batch][member] = r;
            _uncommitted[id][batch] |= 1 << member;
            ++uncommittedReports;
        } catch {
            _unexpected("report (second round, no commitment)");
        }
    }

    function _salt(uint256 id, uint256 batch, uint256 member) internal view returns (bytes32) {
        return MarketSetup.reportSalt(id, batch, _committee[id][member]);
    }

    function _commitmentOf(uint256 id, uint256 batch, address member, BatchReport memory r) internal pure returns (bytes32) {
        return MarketSetup.reportCommitment(id, batch, member, r);
    }

    /// @dev Member `member` commits to its report of `batch` (the report is fixed from here on).
    function _commitAs(uint256 id, uint256 batch, uint256 member, uint256 noiseSeed, bool allowOutlier) internal {
        bool outlier = allowOutlier && !_infos[id - 1].trusted && _outlierPlusOne[id][batch] == 0 && noiseSeed % 4 == 0;
        BatchReport memory r = _buildCommitted(id, batch, member, noiseSeed, outlier);
        bytes32 commitment = _commitmentOf(id, batch, _committee[id][member], r);
        _call(F_COMMIT);
        _prankFor(id, _committee[id][member]);
        try market.commitReport(id, batch, commitment) {
            _ok(F_COMMIT);
            _committed[id][batch][member] = r;
            if (outlier) _outlierPlusOne[id][batch] = member + 1;
        } catch {
            _unexpected("commitReport");
        }
    }

    function _buildCommitted(uint256 id, uint256 batch, uint256 member, uint256 noiseSeed, bool outlier)
        internal
        view
        returns (BatchReport memory)
    {
        (,,,, uint256 subs,) = market.getBatch(id, batch);
        return _buildReport(id, batch, member, subs, noiseSeed, outlier);
    }

    /// @dev The reveal phase of `batch` (R11): if it has not begun, every opted-in member that
    ///      has not committed commits now. Returns the committed members.
    function _openReveals(uint256 id, uint256 batch, uint256 noiseSeed, bool allowOutlier) internal returns (uint256) {
        (uint16 committed, uint256 revealAt, uint16 out) = market.getCommits(id, batch);
        (, uint256 opted,) = market.getCommittee(id);
        opted &= ~uint256(out); // those on duty (R11)
        (,, uint16 reportedMask,,,) = market.getBatch(id, batch);
        if (committed == opted || block.timestamp >= revealAt || reportedMask != 0) return committed;
        uint256 n = _popcount(committed);
        for (uint256 j = 0; j < _committee[id].length; ++j) {
            if (opted & (1 << j) != 0 && committed & (1 << j) == 0) {
                uint256 s = uint256(keccak256(abi.encode(noiseSeed, j, "commit")));
                // R12: once a quorum committed, a member may abstain instead (1 in 4); before
                // that, or after committing, an abstention must be refused
                if (n >= _quorum(id) && (s >> 128) % 4 == 0 && !_infos[id - 1].trusted) {
                    _abstainAs(id, batch, j, true);
                    continue;
                }
                if (n < _quorum(id)) _abstainAs(id, batch, j, false);
                _commitAs(id, batch, j, s, allowOutlier);
                _abstainAs(id, batch, j, false);
                ++n;
            }
        }
        (committed,,) = market.getCommits(id, batch);
        return committed;
    }

    /// @dev R12: member `member` abstains from `batch` (a zero commitment). `allowed`: the rules
    ///      accept it (a quorum committed, the member has not); else it must be refused.
    function _abstainAs(uint256 id, uint256 batch, uint256 member, bool allowed) internal {
        _prankFor(id, _committee[id][member]);
        try market.commitReport(id, batch, bytes32(0)) {
            if (!allowed) {
                ++abstentionsMisaccepted;
                lastViolation = "R12: an abstention accepted before a quorum committed, or after the member committed";
                return;
            }
            ++abstentions;
            _abstained[id][batch] |= 1 << member;
        } catch {
            if (allowed) _unexpected("commitReport(0)");
        }
    }

    /// @dev The members on duty for `batch`, as the market says; an abstainer (R12) must not be
    ///      one of them, so that no void charges it.
    function _dutyChecked(uint256 id, uint256 batch) internal returns (uint256 duty) {
        duty = _onDuty(id, batch);
        if (duty & _abstained[id][batch] != 0) {
            ++abstainersOnDuty;
            lastViolation = "R12: an abstainer is on duty, so a void would charge it";
        }
    }

    /// @dev R12: no abstention was taken that the rules refuse, and no abstainer stayed on duty.
    function checkAbstentions() external view returns (string memory) {
        if (abstentionsMisaccepted != 0 || abstainersOnDuty != 0) return lastViolation;
        return "";
    }

    /// @dev R11 attacks: once a report of the batch is public, a member that has not committed
    ///      can neither commit (CommitClosed) nor post a copy of it (no commitment matches).
    function _tryCopy(uint256 id, uint256 batch, uint256 seed) internal {
        (,, uint16 reportedMask,,,) = market.getBatch(id, batch);
        // R7b: a second round takes reports without a commitment by design (they earn no fee)
        if (reportedMask == 0 || _retried[id][batch]) return;
        (uint256 source, uint256 copier) = _copyRoles(id, batch, reportedMask, seed);
        if (source == type(uint256).max || copier == type(uint256).max) return;
        BatchReport memory copy = _reports[id][batch][source];
        address who = _committee[id][copier];
        bytes32 salt = _salt(id, batch, copier);
        ++copyAttempts;
        vm.prank(who);
        try market.commitReport(id, batch, _commitmentOf(id, batch, who, copy)) {
            ++copiesAccepted;
            lastViolation = "R11: a commitment accepted after a report of the batch was public";
        } catch {}
        vm.prank(who);
        try market.report(id, batch, copy.scores, copy.merged, salt) {
            ++copiesAccepted;
            lastViolation = "R11: a copied report accepted without a commitment";
        } catch {}
    }

    /// @dev A member whose report is public, and an opted-in member that did not commit.
    function _copyRoles(uint256 id, uint256 batch, uint256 reportedMask, uint256 seed)
        internal
        view
        returns (uint256 source, uint256 copier)
    {
        (uint16 committed,, uint16 out) = market.getCommits(id, batch);
        (, uint256 opted,) = market.getCommittee(id);
        opted &= ~uint256(out); // those on duty (R11)
        source = type(uint256).max;
        copier = type(uint256).max;
        uint256 size = _committee[id].length;
        for (uint256 j = 0; j < size; ++j) {
            uint256 m = (seed + j) % size;
            if (reportedMask & (1 << m) != 0 && source == type(uint256).max) source = m;
            if (opted & (1 << m) != 0 && committed & (1 << m) == 0 && copier == type(uint256).max) copier = m;
        }
    }

    /// @dev R11: one member commits to its report of the next batch of some bounty, or (odd
    ///      `mode`) the commit phase runs out; then (`mode >> 1` odd) a member that did not commit
    ///      tries to copy a revealed report.
    function commitReport(uint256 seed, uint256 mode) external step(F_COMMIT) {
        uint256 id = _findReportable(seed, true);
        if (id == 0) return;
        uint256 batch = market.getBounty(id).nextBatch;
        _commitOne(id, batch, seed, mode % 2 == 1);
        if ((mode >> 1) % 2 == 1) {
            _tryReport(id, seed >> 24, seed >> 32, true);
            _tryCopy(id, batch, seed >> 40);
        }
    }

    /// @dev One member that has not committed commits, if the commit phase is on; with `expire`
    ///      the commit phase then runs out (only while a quorum and one more have committed).
    function _commitOne(uint256 id, uint256 batch, uint256 seed, bool expire) internal {
        (uint16 committed, uint256 revealAt, uint16 out) = market.getCommits(id, batch);
        (, uint256 opted,) = market.getCommittee(id);
        opted &= ~uint256(out); // those on duty (R11)
        (,, uint16 reportedMask,,,) = market.getBatch(id, batch);
        if (committed == opted || block.timestamp >= revealAt || reportedMask != 0) return;
        uint256 size = _committee[id].length;
        for (uint256 j = 0; j < size; ++j) {
            uint256 m = ((seed >> 8) + j) % size;
            if (opted & (1 << m) == 0 || committed & (1 << m) != 0) continue;
            _commitAs(id, batch, m, seed >> 16, true);
            break;
        }
        (committed,,) = market.getCommits(id, batch);
        if (expire && _popcount(committed) >= _quorum(id) + 1 && block.timestamp < revealAt) vm.warp(revealAt);
    }

    function _buildReport(uint256 id, uint256 batch, uint256 member, uint256 subs, uint256 noiseSeed, bool outlier)
        internal
        view
        returns (BatchReport memory r)
    {
        uint32[] memory scores = _scores(id, batch, member, subs, noiseSeed, outlier);
        r.scores = MarketModel.encode(scores, _infos[id - 1].higher);
        // an honest partial report (mode 5) names its own merge of what it fetched (R7a)
        r.merged = outlier && (noiseSeed >> 8) % 6 != 5
            ? Cid(keccak256(abi.encode("junk", noiseSeed)), 0x55)
            : Cid(keccak256(abi.encode("merged", id, batch, _ownBest(scores, _infos[id - 1].higher))), 0x70);
    }

    /// @dev Honest: each submission's truth with a little noise. Outlier: all invalid, all 0,
    ///      all the best valid score, random, all UNAVAILABLE (R7a: a member claiming it could
    ///      fetch nothing, to earn a fee or dodge a charge), or an honest partial report (one
    ///      submission UNAVAILABLE, the others the truth, voting over what it fetched).
    function _scores(uint256 id, uint256 batch, uint256 member, uint256 subs, uint256 noiseSeed, bool outlier)
        internal
        view
        returns (uint32[] memory scores)
    {
        uint256 first = batch * market.getBounty(id).batchSize;
        uint256 tol = _tolerance(id);
        uint256 mode = (noiseSeed >> 8) % 6;
        scores = new uint32[](subs);
        for (uint256 i = 0; i < subs; ++i) {
            if (!outlier) scores[i] = _noisy(_truth[id][first + i], noiseSeed, member * 1000 + i, tol);
            else if (mode == 0) scores[i] = INVALID;
            else if (mode == 1) scores[i] = 0;
            else if (mode == 2) scores[i] = INVALID - 2;
            else if (mode == 3) scores[i] = uint32(uint256(keccak256(abi.encode(noiseSeed, i))));
            else if (mode == 4 || i == (noiseSeed >> 16) % subs) scores[i] = INVALID - 1; // UNAVAILABLE
            else scores[i] = _noisy(_truth[id][first + i], noiseSeed, member * 1000 + i, tol);
        }
    }

    function _ownBest(uint32[] memory scores, bool higher) internal pure returns (uint256 best) {
        uint64 bestKey = 0;
        for (uint256 i = 0; i < scores.length; ++i) {
            if (scores[i] == INVALID - 1) continue; // UNAVAILABLE: not fetched, not merged (R7a)
            uint64 k = MarketModel.key(scores[i], higher);
            if (k > bestKey) {
                bestKey = k;
                best = i;
            }
        }
    }

    /// @dev The next batch of `id` may be settled now (every opted-in member reported, or a
    ///      quorum and the timeout passed); with `wait`, warps to the timeout when needed.
    function _settleReady(uint256 id, bool wait) internal returns (bool, uint256) {
        if (_infos[id - 1].closed) return (false, 0);
        uint256 batch = market.getBounty(id).nextBatch;
        (,, uint16 reportedMask,,, uint256 timeoutAt) = market.getBatch(id, batch);
        if (timeoutAt == 0 || reportedMask == 0) return (false, batch);
        if (reportedMask == _onDuty(id, batch)) return (true, batch);
        if (_popcount(reportedMask) < _quorum(id)) return (false, batch);
        if (block.timestamp >= timeoutAt) return (true, batch);
        if (!wait) return (false, batch);
        vm.warp(timeoutAt);
        return (true, batch);
    }

    /// @dev The batch's records, and the reports of the members in `reportedMask` in committee order.
    function _settlementInputs(uint256 id, uint256 batch, uint256 reportedMask)
        internal
        view
        returns (SubmissionRecord[] memory records, BatchReport[] memory reports, address[] memory reporters)
    {
        records = _records[id][batch];
        uint256 m = _popcount(reportedMask);
        reports = new BatchReport[](m);
        reporters = new address[](m);
        uint256 j = 0;
        for (uint256 member = 0; member < _committee[id].length; ++member) {
            if (reportedMask & (1 << member) == 0) continue;
            reports[j] = _reports[id][batch][member];
            reporters[j++] = _committee[id][member];
        }
    }

    struct SettleCtx {
        uint256 id;
        uint256 batch;
        address tok;
        SubmissionRecord[] records;
        BatchReport[] reports;
        address[] reporters;
        uint256[] slashAmounts; // per report: ETH the registry should take
        uint256[] silentAmounts; // per member, when no majority agrees and settlement voids
        uint256[] voidBefore; // _voidSnapshot, when it voids
        uint256 ethSlashed;
        MarketModel.Outcome o;
        uint256 firstId;
        uint256 committed; // the batch's committed mask before settlement (R7b keeps the unrevealed)
    }

    /// @dev The settlement of `batch` with the reports of the members in `reportedMask`, as the
    ///      model decides it.
    function _settleCtx(uint256 id, uint256 batch, uint256 reportedMask) internal view returns (SettleCtx memory c) {
        c.id = id;
        c.batch = batch;
        c.tok = _infos[id - 1].token;
        (c.records, c.reports, c.reporters) = _settlementInputs(id, batch, reportedMask);
        c.o = _model(id, c.records, c.reports, _retried[id][batch], _reportBits(reportedMask, _uncommitted[id][batch]));
        c.slashAmounts = new uint256[](c.reports.length);
        if (c.o.noMajority) {
            // R4: settlement voids the batch: the silent members on duty lose an offence (C3, R11)
            (c.silentAmounts, c.ethSlashed) = _silentSlashes(id, _onDuty(id, batch) & ~reportedMask);
            c.voidBefore = _voidSnapshot(id, c.records);
        } else {
            for (uint256 r = 0; r < c.reports.length; ++r) {
                if (c.o.deviantMask & (1 << r) != 0) {
                    c.slashAmounts[r] = _offenceSlash(id, c.reporters[r]);
                    c.ethSlashed += c.slashAmounts[r];
                }
            }
        }
        c.firstId = batch * market.getBounty(id).batchSize;
        (uint16 committed,,) = market.getCommits(id, batch);
        c.committed = committed;
    }

    function _settle(uint256 id, uint256 batch) internal {
        (,, uint16 reportedMask,,,) = market.getBatch(id, batch);
        SettleCtx memory c = _settleCtx(id, batch, reportedMask);
        _dutyChecked(id, batch);
        _call(F_SETTLE);
        vm.recordLogs(); // starts a fresh log buffer
        _prankFor(id, keeper);
        uint256 gasBefore = gasleft();
        try market.settleBatch(id, batch, c.records, c.reports) {
            _ok(F_SETTLE);
            if (gasBefore - gasleft() > TX_GAS_CAP) _undecidable("settleBatch: more than 2^24 gas");
        } catch {
            vm.getRecordedLogs();
            _unexpected("settleBatch");
            _undecidable("settleBatch: the rules allow it, it reverted");
            return;
        }
        Vm.Log[] memory logs = vm.getRecordedLogs();
        if (c.o.retry) return _applyRetry(c, logs, reportedMask);
        if (c.o.noMajority) return _applyNoMajority(c, logs);
        _applySettlement(c);
        _checkSettlementLogs(c, logs);
    }

    /// @dev Member `member` posts its report and settles the batch in one call: the records
    ///      packed as SubmissionReceived gives them, the other reports in committee order.
    function _reportAndSettle(uint256 id, uint256 batch, uint256 member, uint256 noiseSeed) internal {
        (,, uint16 reportedMask,,,) = market.getBatch(id, batch);
        _openReveals(id, batch, noiseSeed, true);
        BatchReport memory own = _committed[id][batch][member];
        _reports[id][batch][member] = own;
        own.merged.digest = _salt(id, batch, member); // the salt rides in a spare field (stack depth)
        Cid memory merged = _committed[id][batch][member].merged;
        SettleCtx memory c = _settleCtx(id, batch, reportedMask | (uint256(1) << member));
        address finaliser = _committee[id][member];
        BatchReport[] memory others = new BatchReport[](c.reports.length - 1);
        uint256 k = 0;
        for (uint256 r = 0; r < c.reports.length; ++r) {
            if (c.reporters[r] != finaliser) others[k++] = c.reports[r];
        }
        bytes memory packed;
        for (uint256 i = 0; i < c.records.length; ++i) {
            SubmissionRecord memory s = c.records[i];
            packed = bytes.concat(
                packed, abi.encodePacked(s.contributor, s.stake, s.baseVersion, s.update.digest, s.update.codec)
            );
        }
        _dutyChecked(id, batch);
        _call(F_REPORT_SETTLE);
        vm.recordLogs();
        _prankFor(id, finaliser);
        uint256 gasBefore = gasleft();
        try market.reportAndSettle(id, batch, own.scores, merged, own.merged.digest, packed, others) {
            _ok(F_REPORT_SETTLE);
            if (gasBefore - gasleft() > TX_GAS_CAP) _undecidable("reportAndSettle: more than 2^24 gas");
        } catch {
            vm.getRecordedLogs();
            _unexpected("reportAndSettle");
            _undecidable("reportAndSettle: the rules allow it, it reverted");
            return;
        }
        Vm.Log[] memory logs = vm.getRecordedLogs();
        if (c.o.retry) return _applyRetry(c, logs, reportedMask | (uint256(1) << member));
        if (c.o.noMajority) return _applyNoMajority(c, logs);
        _applySettlement(c);
        _checkSettlementLogs(c, logs);
    }

    /// @dev Member bits `x` (within `reportedMask`) as report bits: bit r = the r-th reporter.
    function _reportBits(uint256 reportedMask, uint256 x) internal pure returns (uint256 out) {
        uint256 r = 0;
        for (uint256 j = 0; j < 16; ++j) {
            if (reportedMask & (1 << j) == 0) continue;
            if (x & (1 << j) != 0) out |= 1 << r;
            ++r;
        }
    }

    function _model(
        uint256 id,
        SubmissionRecord[] memory records,
        BatchReport[] memory reports,
        bool retried,
        uint256 uncommitted
    ) internal view returns (MarketModel.Outcome memory) {
        uint256[] memory stakes = new uint256[](records.length);
        uint256[] memory bases = new uint256[](records.length);
        for (uint256 i = 0; i < records.length; ++i) {
            stakes[i] = records[i].stake & (ONE_OFF - 1);
            bases[i] = records[i].baseVersion;
        }
        bytes[] memory scores = new bytes[](reports.length);
        bytes32[] memory cids = new bytes32[](reports.length);
        for (uint256 r = 0; r < reports.length; ++r) {
            scores[r] = reports[r].scores;
            cids[r] = keccak256(abi.encode(reports[r].merged));
        }
        return MarketModel.settle(_modelParams(id), _xs[id], _ys[id], stakes, bases, scores, cids, retried, uncommitted);
    }

    function _modelParams(uint256 id) internal view returns (MarketModel.Params memory) {
        Info storage info = _infos[id - 1];
        BountyView memory v = market.getBounty(id);
        return MarketModel.Params({
            higher: info.higher,
            headScore: info.head,
            baselineScore: info.baseline,
            target: v.target,
            slashMargin: v.slashMargin,
            quorum: _quorum(id),
            tolerance: v.tolerance,
            slashBps: v.slashBps,
            reward: info.rewardFunded,
            paid: info.paid,
            feePerBatch: v.oracleFeePerBatch,
            versions: info.versions
        });
    }

    function _applySettlement(SettleCtx memory c) internal {
        Info storage info = _infos[c.id - 1];
        MarketModel.Outcome memory o = c.o;
        uint256 n = c.records.length;
        uint256[] storage owed = _payoutOwed[c.id][c.batch];
        for (uint256 i = 0; i < n; ++i) {
            uint256 payout = o.returned[i] + o.parts[i];
            owed.push(0);
            if (c.records[i].stake & ONE_OFF != 0 && payout != 0 && payout < ONE_OFF) {
                // U6: through the group's root, claimed with claimPayout
                owed[i] = payout;
                payoutsOwed[c.tok] += payout;
                _payoutList.push(Payout(c.id, c.batch, i, c.records[i].contributor, c.tok, payout, false));
            } else {
                credited[c.records[i].contributor][c.tok] += payout;
            }
        }
        _checkPayoutRoots(c.id, c.batch, c.tok);
        ghostBurned[c.tok] += o.totalBurned + o.feeBurned; // slashed stakes, burned fee shares (R7a, R7b)
        for (uint256 r = 0; r < c.reports.length; ++r) {
            if (o.deviantMask & (1 << r) == 0) {
                // R7a: no fee when partial, R7b: nor without a commitment (burned, in o.feeBurned)
                if ((o.partialMask | o.uncommitted) & (1 << r) == 0) credited[c.reporters[r]][c.tok] += o.feeShare;
            } else {
                oracleStake[c.reporters[r]] -= c.slashAmounts[r];
                if (c.slashAmounts[r] != 0) ++offences[c.id][c.reporters[r]];
            }
        }
        info.feesPaid += o.feeShare * o.good;
        _burnEth(c.ethSlashed);
        if (o.accepted) {
            info.paid += o.paidNow;
            info.head = o.newHead;
            ++info.versions;
            _authors[c.id][info.versions] = c.records[o.best].contributor;
        }
        BountyView memory v = market.getBounty(c.id);
        if (
            v.headScore != info.head || v.versionCount != info.versions || v.paid != info.paid
                || v.feesPaid != info.feesPaid
        ) {
            _mismatch("settleBatch: head, versions, paid or fees differ from the model");
        }
        if (v.nextBatch != c.batch + 1) _mismatch("settleBatch: batch not decided");
    }

    /// @dev Slashed oracle ETH arrives at the market and is burned (C3): nobody is paid from it.
    function _burnEth(uint256 ethSlashed) internal {
        ghostIn[ETH] += ethSlashed;
        ghostBurned[ETH] += ethSlashed;
    }

    /// @dev Before a void: each record's contributor's claimable of the bounty's token and of ETH,
    ///      then pendingBurn(ETH) (last).
    function _voidSnapshot(uint256 id, SubmissionRecord[] memory records) internal view returns (uint256[] memory b) {
        address tok = _infos[id - 1].token;
        uint256 n = records.length;
        b = new uint256[](2 * n + 1);
        for (uint256 i = 0; i < n; ++i) {
            b[i] = market.claimable(records[i].contributor, tok);
            b[n + i] = market.claimable(records[i].contributor, ETH);
        }
        b[2 * n] = market.pendingBurn(ETH);
    }

    /// @dev Nobody gains from a void: each contributor's claimable rose by exactly its stakes in
    ///      the batch (and its ETH by nothing else, in a token bounty), and the silent members'
    ///      slashed ETH all went to pendingBurn.
    function _checkVoidGains(uint256 id, SubmissionRecord[] memory records, uint256[] memory b, uint256 ethSlashed)
        internal
    {
        ++voidsChecked;
        address tok = _infos[id - 1].token;
        uint256 n = records.length;
        for (uint256 i = 0; i < n; ++i) {
            address who = records[i].contributor;
            uint256 own = 0;
            for (uint256 j = 0; j < n; ++j) {
                if (records[j].contributor == who) own += records[j].stake & (ONE_OFF - 1);
            }
            uint256 tokNow = market.claimable(who, tok);
            uint256 ethNow = market.claimable(who, ETH);
            if (tokNow != b[i] + own || (tok != ETH && ethNow != b[n + i])) {
                ++voidGains;
                lastViolation = "void: a contributor got more (or less) than its stakes back";
            }
        }
        if (market.pendingBurn(ETH) != b[2 * n] + ethSlashed) {
            ++voidGains;
            lastViolation = "void: the silent members' slashes were not all burned";
        }
    }

    /// @dev R11: no member posted a report it had not committed to before any report of the
    ///      batch was public (a copier earns nothing).
    function checkCopies() external view returns (string memory) {
        if (copiesAccepted != 0) return lastViolation;
        return "";
    }

    function _undecidable(string memory what) internal {
        ++undecidable;
        lastViolation = what;
    }

    /// @dev Nobody gains from a void (counted per void), and every wei slashed or burned in ETH
    ///      is in pendingBurn or at the burn address: none is owed to anyone.
    function checkVoids() external view returns (string memory) {
        if (voidGains != 0) return lastViolation;
        if (market.pendingBurn(ETH) + address(0xdEaD).balance != ghostBurned[ETH]) return "voids: burned ETH != what was slashed and burned";
        return "";
    }

    /// @dev No batch becomes undecidable: every settle or void the rules allow went through within
    ///      2^24 gas, and every bounty's scoring timeout lies within [10 minutes, 7 days], so a
    ///      pending batch can be settled or voided at most 7 days after it became reportable.
    function checkDecidable() external view returns (string memory) {
        if (undecidable != 0) return lastViolation;
        for (uint256 id = 1; id <= _infos.length; ++id) {
            uint256 t = market.getBounty(id).scoringTimeout;
            if (t < 10 minutes || t > 7 days) return "decidable: a scoring timeout out of bounds";
            (,,,,, uint256 timeoutAt) = market.getBatch(id, market.getBounty(id).nextBatch);
            if (timeoutAt > block.timestamp + 7 days) return "decidable: a batch waits more than 7 days";
        }
        return "";
    }

    /// @dev No decision by half the committee or fewer: every BatchSettled counted a quorum of
    ///      reports, and every baseline was set with reports from a quorum.
    function checkQuorums() external view returns (string memory) {
        if (minorityDecisions != 0) return lastViolation;
        for (uint256 id = 1; id <= _infos.length; ++id) {
            if (!market.getBounty(id).baselineSet) continue;
            (,, uint256 baselineMask) = market.getCommittee(id);
            if (_popcount(baselineMask) < _quorum(id)) return "quorum: a baseline set by half the committee or fewer";
        }
        return "";
    }

    /// @dev The members on duty for reportable `batch` (R11): opted in, not sitting it out
    ///      (a member that opted in while the batch was reportable).
    function _onDuty(uint256 id, uint256 batch) internal view returns (uint256) {
        (, uint256 opted,) = market.getCommittee(id);
        (,, uint16 out) = market.getCommits(id, batch);
        return opted & ~uint256(out);
    }

    /// @dev One offence for each member of `silent` (by committee index), and their sum.
    function _silentSlashes(uint256 id, uint256 silent) internal view returns (uint256[] memory amounts, uint256 sum) {
        amounts = new uint256[](_committee[id].length);
        for (uint256 j = 0; j < _committee[id].length; ++j) {
            if (silent & (1 << j) == 0) continue;
            amounts[j] = _offenceSlash(id, _committee[id][j]);
            sum += amounts[j];
        }
    }

    /// @dev The model of a void (voidBatch, or a settlement without a majority): every stake back
    ///      in full, the silent members' offences burned, the batch decided.
    function _applyVoid(uint256 id, uint256 batch, SubmissionRecord[] memory records, uint256[] memory amounts, uint256 sum)
        internal
    {
        address tok = _infos[id - 1].token;
        for (uint256 i = 0; i < records.length; ++i) {
            credited[records[i].contributor][tok] += records[i].stake & (ONE_OFF - 1); // in full
        }
        for (uint256 j = 0; j < _committee[id].length; ++j) {
            if (amounts[j] == 0) continue;
            oracleStake[_committee[id][j]] -= amounts[j];
            ++offences[id][_committee[id][j]];
        }
        _burnEth(sum);
        if (market.getBounty(id).nextBatch != batch + 1) _mismatch("void: batch not decided");
    }

    /// @dev R7b: the settlement found no majority with a partial report, in a first round: the
    ///      market gave the batch a second round. One BatchRetried naming exactly the partial
    ///      reporters, nothing decided (no BatchSettled, BatchVoided, version or slash), no money
    ///      moved (each contributor's claimable and the ETH pending burn as before), the batch
    ///      still the next, and the full reports (only) standing and committed (with the
    ///      commitments not revealed, L1), the timeout
    ///      restarted. `mask`: the reporters (the reportAndSettle sender's included).
    function _applyRetry(SettleCtx memory c, Vm.Log[] memory logs, uint256 mask) internal {
        ++retries;
        uint256 cleared = 0;
        uint256 r = 0;
        for (uint256 j = 0; j < _committee[c.id].length; ++j) {
            if (mask & (1 << j) == 0) continue;
            if (c.o.cleared & (1 << r) != 0) cleared |= 1 << j;
            ++r;
        }
        uint256 events = 0;
        for (uint256 l = 0; l < logs.length; ++l) {
            Vm.Log memory lg = logs[l];
            if (lg.emitter != address(market) || lg.topics.length < 2 || uint256(lg.topics[1]) != c.id) continue;
            bytes32 sig = lg.topics[0];
            if (sig == IBountyMarketEvents.BatchRetried.selector) {
                ++events;
                if (uint256(lg.topics[2]) != c.batch || abi.decode(lg.data, (uint256)) != cleared) {
                    _retryMoved("BatchRetried: wrong batch or cleared reporters");
                }
            }
            if (
                sig == IBountyMarketEvents.BatchSettled.selector || sig == IBountyMarketEvents.BatchVoided.selector
                    || sig == IBountyMarketEvents.VersionAccepted.selector || sig == IBountyMarketEvents.StakeSlashed.selector
                    || sig == IBountyMarketEvents.OracleSlashed.selector
            ) _retryMoved("retry: something was decided");
        }
        if (events != 1) _retryMoved("retry: not exactly one BatchRetried");
        uint256[] memory after_ = _voidSnapshot(c.id, c.records);
        for (uint256 k = 0; k < after_.length; ++k) {
            if (after_[k] != c.voidBefore[k]) _retryMoved("retry: money moved");
        }
        if (market.getBounty(c.id).nextBatch != c.batch) _retryMoved("retry: the batch was decided");
        (,, uint16 reportedMask,,, uint256 timeoutAt) = market.getBatch(c.id, c.batch);
        (uint16 committed,,) = market.getCommits(c.id, c.batch);
        uint256 standing = mask & ~cleared;
        // R7b (review of R7b, L1): a commitment is spent only by its reveal; the unrevealed stand
        uint256 kept = standing | (c.committed & ~mask);
        if (reportedMask != standing || committed != kept) _retryMoved("retry: the standing reports are not the full ones");
        if (timeoutAt != block.timestamp + market.getBounty(c.id).scoringTimeout) _retryMoved("retry: the timeout did not restart");
        _retried[c.id][c.batch] = true;
        for (uint256 j = 0; j < _committee[c.id].length; ++j) {
            if (cleared & (1 << j) == 0) continue;
            delete _reports[c.id][c.batch][j];
            // the only partial reports here are the outlier's (honest members fetch everything);
            // cleared, it reports honestly in the second round: the batch has no outlier any more
            if (_outlierPlusOne[c.id][c.batch] == j + 1) _outlierPlusOne[c.id][c.batch] = 0;
        }
    }

    function _retryMoved(string memory what) internal {
        ++retryMoves;
        lastViolation = what;
    }

    /// @dev R7b: no retry moved money, decided its batch, or kept the wrong reports standing.
    function checkRetries() external view returns (string memory) {
        if (retryMoves != 0) return lastViolation;
        return "";
    }

    /// @dev R4: no majority agreed with some median, so settlement voided the batch: one
    ///      BatchVoided, no outcome per submission, no fee, and only silent members slashed.
    function _applyNoMajority(SettleCtx memory c, Vm.Log[] memory logs) internal {
        ++noMajorityVoids;
        _checkVoidGains(c.id, c.records, c.voidBefore, c.ethSlashed);
        _applyVoid(c.id, c.batch, c.records, c.silentAmounts, c.ethSlashed);
        bool voided = false;
        for (uint256 l = 0; l < logs.length; ++l) {
            Vm.Log memory lg = logs[l];
            if (lg.emitter != address(market) || lg.topics.length < 2 || uint256(lg.topics[1]) != c.id) continue;
            bytes32 sig = lg.topics[0];
            if (sig == IBountyMarketEvents.BatchVoided.selector) voided = true;
            if (
                sig == IBountyMarketEvents.BatchSettled.selector || sig == IBountyMarketEvents.VersionAccepted.selector
                    || sig == IBountyMarketEvents.StakeSlashed.selector
            ) _mismatch("settleBatch: a decision without a majority");
        }
        if (!voided) _mismatch("settleBatch: no majority but not voided");
    }

    function _checkSettlementLogs(SettleCtx memory c, Vm.Log[] memory logs) internal {
        uint256 n = c.records.length;
        uint256[] memory seen = new uint256[](n);
        uint256 oracleSlashes = 0;
        BountyView memory v = market.getBounty(c.id);
        for (uint256 l = 0; l < logs.length; ++l) {
            Vm.Log memory lg = logs[l];
            if (lg.emitter != address(market) || lg.topics.length < 3 || uint256(lg.topics[1]) != c.id) continue;
            bytes32 sig = lg.topics[0];
            if (sig == IBountyMarketEvents.OracleSlashed.selector) {
                ++oracleSlashes;
                _checkOracleSlash(c, lg);
                continue;
            }
            if (sig == IBountyMarketEvents.BatchSettled.selector) {
                if (uint256(lg.topics[2]) == c.batch) _checkRejections(c, lg, seen);
                continue;
            }
            uint256 i;
            uint32 score;
            if (sig == IBountyMarketEvents.StakeSlashed.selector) {
                i = uint256(lg.topics[2]);
                uint256 burned;
                uint256 returned;
                (score, burned, returned) = abi.decode(lg.data, (uint32, uint256, uint256));
                if (!_inBatch(c, i)) continue;
                i -= c.firstId;
                ++slashEvents;
                uint256 stake = c.records[i].stake & (ONE_OFF - 1);
                if (burned > stake || burned != (stake * v.slashBps) / BPS || burned + returned != stake) {
                    ++slashViolations;
                    lastViolation = "StakeSlashed: burned more than slashBps of the stake";
                }
                if (c.o.kind[i] != MarketModel.SLASHED) _mismatch("settleBatch: slashed a submission the rules keep");
            } else if (sig == IBountyMarketEvents.VersionAccepted.selector) {
                uint256 sid;
                uint256 reward;
                (, sid,,,, reward) = abi.decode(lg.data, (uint256, uint256, uint32, Cid, Cid, uint256));
                if (!_inBatch(c, sid) || !c.o.accepted || sid - c.firstId != c.o.best || reward != c.o.reward) {
                    _mismatch("settleBatch: a version of the wrong author or reward");
                }
                continue;
            } else if (sig == IBountyMarketEvents.UpdateMerged.selector) {
                i = uint256(lg.topics[2]);
                uint256 share;
                uint256 part;
                (score, share, part) = abi.decode(lg.data, (uint32, uint256, uint256));
                if (!_inBatch(c, i)) continue;
                i -= c.firstId;
                if (c.o.kind[i] != MarketModel.ACCEPTED || share != c.o.shares[i] || part != c.o.parts[i]) {
                    _mismatch("settleBatch: merged the wrong submission, share or part");
                }
            } else {
                continue;
            }
            ++seen[i];
            if (MarketModel.key(score, _infos[c.id - 1].higher) != c.o.medians[i]) _mismatch("settleBatch: median");
            _checkHonestRange(c, i, score);
        }
        for (uint256 i = 0; i < n; ++i) {
            if (seen[i] != 1) _mismatch("settleBatch: a submission without exactly one outcome");
        }
        if (oracleSlashes != _popcount(c.o.deviantMask)) _mismatch("settleBatch: deviant oracles");
        for (uint256 r = 0; r < c.reports.length; ++r) {
            if (_allUnavailable(c.reports[r].scores)) ++unavailableReports;
        }
        if (_outlierPlusOne[c.id][c.batch] != 0) ++outlierBatches;
    }

    /// @dev BatchSettled: every submission's median in `scores`, and the rejected ones (stake
    ///      back in full) as bits of `rejected`, each one the rules reject.
    function _checkRejections(SettleCtx memory c, Vm.Log memory lg, uint256[] memory seen) internal {
        uint256 n = c.records.length;
        (uint256 reports,, uint256 rejected, bytes memory scores) = abi.decode(lg.data, (uint256, uint256, uint256, bytes));
        if (reports < _quorum(c.id)) {
            ++minorityDecisions;
            lastViolation = "quorum: a batch decided by half the committee or fewer";
        }
        if (scores.length != 4 * n || (n < 256 && rejected >> n != 0)) {
            _mismatch("settleBatch: BatchSettled scores or rejections outside the batch");
            return;
        }
        for (uint256 i = 0; i < n; ++i) {
            uint32 score = uint32(bytes4(bytes.concat(scores[4 * i], scores[4 * i + 1], scores[4 * i + 2], scores[4 * i + 3])));
            if (MarketModel.key(score, _infos[c.id - 1].higher) != c.o.medians[i]) _mismatch("settleBatch: median");
            if (rejected & (1 << i) == 0) continue;
            if (c.o.kind[i] != MarketModel.REJECTED) _mismatch("settleBatch: rejected a submission the rules decide otherwise");
            ++seen[i];
            _checkHonestRange(c, i, score);
        }
    }

    function _inBatch(SettleCtx memory c, uint256 sid) internal returns (bool) {
        if (sid >= c.firstId && sid - c.firstId < c.records.length) return true;
        _mismatch("settleBatch: an outcome for a submission outside the batch");
        return false;
    }

    function _checkOracleSlash(SettleCtx memory c, Vm.Log memory lg) internal {
        address o = address(uint160(uint256(lg.topics[3])));
        uint256 amount = abi.decode(lg.data, (uint256));
        for (uint256 r = 0; r < c.reporters.length; ++r) {
            if (c.reporters[r] != o) continue;
            if (_allUnavailable(c.reports[r].scores)) {
                ++unavailableDeviants;
                lastViolation = "R7a: a member slashed as deviant on what it could not fetch";
            }
            if (c.slashAmounts[r] != amount) _mismatch("settleBatch: oracle slash amount");
            if (amount > oracleStake[o] + c.slashAmounts[r]) {
                ++oracleSlashViolations;
                lastViolation = "OracleSlashed: more than the stake";
            }
            return;
        }
        _mismatch("settleBatch: slashed an oracle that did not report");
    }

    /// @dev Every submission's score of a report is UNAVAILABLE (R7a; it then votes for merging
    ///      nothing, its merged score INVALID, and is deviant on nothing).
    function _allUnavailable(bytes memory report) internal pure returns (bool) {
        uint256 n = (report.length - 4) / 6;
        for (uint256 i = 0; i < n; ++i) {
            if (MarketModel.scoreAt(report, i) != INVALID - 1) return false;
        }
        return true;
    }

    /// @dev R5: with at most one arbitrary report, the median of every submission lies within
    ///      the range of the honest reports (keys: invalid = 0).
    function _checkHonestRange(SettleCtx memory c, uint256 i, uint32 score) internal {
        uint256 outlier = _outlierPlusOne[c.id][c.batch];
        bool higher = _infos[c.id - 1].higher;
        uint64 lo = type(uint64).max;
        uint64 hi = 0;
        uint256 honest = 0;
        for (uint256 r = 0; r < c.reports.length; ++r) {
            if (outlier != 0 && c.reporters[r] == _committee[c.id][outlier - 1]) continue;
            uint64 k = MarketModel.key(MarketModel.scoreAt(c.reports[r].scores, i), higher);
            if (k < lo) lo = k;
            if (k > hi) hi = k;
            ++honest;
        }
        if (honest == 0 || honest + 1 < c.reports.length) return; // not the one-outlier case
        ++medianChecks;
        uint64 med = MarketModel.key(score, higher);
        if (med < lo || med > hi) {
            ++outlierViolations;
            lastViolation = "median outside the honest range";
        }
    }

    function _void(uint256 id, uint256 batch, uint256 reportedMask) internal {
        Info storage info = _infos[id - 1];
        SubmissionRecord[] memory records = _records[id][batch];
        (uint256[] memory amounts, uint256 ethSlashed) = _silentSlashes(id, _dutyChecked(id, batch) & ~reportedMask);
        uint256[] memory before = _voidSnapshot(id, records);
        _call(F_VOID);
        _prankFor(id, keeper);
        uint256 gasBefore = gasleft();
        try market.voidBatch(id, batch, records) {
            _ok(F_VOID);
            if (gasBefore - gasleft() > TX_GAS_CAP) _undecidable("voidBatch: more than 2^24 gas");
        } catch {
            _unexpected("voidBatch");
            _undecidable("voidBatch: the rules allow it, it reverted");
            return;
        }
        _checkVoidGains(id, records, before, ethSlashed);
        _applyVoid(id, batch, records, amounts, ethSlashed);
    }

    function _close(uint256 id) internal {
        _call(F_CLOSE);
        _prankFor(id, keeper);
        try market.close(id) {
            _ok(F_CLOSE);
            _modelClose(id);
        } catch {
            _unexpected("close");
        }
    }

    /// @dev E4: after the reveal window, the bond goes in equal shares to the accepted
    ///      versions' authors, the rest (all of it without versions) is burned.
    function _forfeit(uint256 id) internal {
        Info storage info = _infos[id - 1];
        BountyView memory v = market.getBounty(id);
        uint256 closesAt = uint256(v.closedAt) + v.revealWindow;
        if (block.timestamp <= closesAt) vm.warp(closesAt + 1);
        _call(F_FORFEIT);
        _prankFor(id, keeper);
        try market.forfeitBond(id) {
            _ok(F_FORFEIT);
            info.forfeited = true;
            uint256 share = info.versions == 0 ? 0 : v.revealBond / info.versions;
            info.bondShare = share;
            ghostBurned[info.token] += v.revealBond - share * info.versions;
            if (market.bondShare(id) != share) _mismatch("forfeitBond: share");
        } catch {
            _unexpected("forfeitBond");
        }
    }

    function _modelClose(uint256 id) internal {
        Info storage info = _infos[id - 1];
        BountyView memory v = market.getBounty(id);
        info.closed = true;
        credited[info.requester][info.token] += info.rewardFunded - info.paid + uint256(v.oracleFeePerBatch)
        * v.maxBatches - info.feesPaid;
    }

    function _reveal(uint256 id, bool tryForgery) internal {
        Info storage info = _infos[id - 1];
        bool wasSettling = market.state(id) == BountyState.Settling;
        Cid memory vcid = MarketSetup.cid("validation", id);
        bytes32 vkey = keccak256(abi.encode("vkey", id));
        if (tryForgery) {
            _prankFor(id, info.requester);
            try market.reveal(id, vcid, vkey, bytes32(uint256(info.salt) ^ 1), bytes32("model")) {
                _tamper("reveal accepted a wrong salt");
            } catch {}
        }
        _call(F_REVEAL);
        _prankFor(id, info.requester);
        try market.reveal(id, vcid, vkey, info.salt, bytes32("model")) {
            _ok(F_REVEAL);
            if (wasSettling) _modelClose(id);
            info.revealed = true;
            if (!info.forfeited) credited[info.requester][info.token] += market.getBounty(id).revealBond;
        } catch {
            _unexpected("reveal");
        }
    }

    function _leaveOne(uint256 id, uint256 seed) internal returns (bool) {
        (, uint256 opted,) = market.getCommittee(id);
        uint256 size = _committee[id].length;
        for (uint256 j = 0; j < size; ++j) {
            uint256 member = (seed % size + j) % size;
            if (opted & (1 << member) == 0 || _releasedMask[id] & (1 << member) != 0) continue;
            address o = _committee[id][member];
            _call(F_LEAVE);
            _prankFor(id, o);
            try market.leaveCommittee(id) {
                _ok(F_LEAVE);
                _releasedMask[id] |= 1 << member;
                --oracleServing[o];
            } catch {
                _unexpected("leaveCommittee");
            }
            // leaving twice is refused
            _prankFor(id, o);
            try market.leaveCommittee(id) {
                _tamper("leaveCommittee released the same bond twice");
            } catch {}
            return true;
        }
        return false;
    }

    function _claimBondShare(uint256 id, uint256 version, address author) internal {
        Info storage info = _infos[id - 1];
        _call(F_BOND_SHARE);
        _prankFor(id, keeper);
        try market.claimBondShare(id, version) {
            _ok(F_BOND_SHARE);
            credited[author][info.token] += info.bondShare;
            delete _authors[id][version];
        } catch {
            _unexpected("claimBondShare");
            return;
        }
        _prankFor(id, keeper);
        try market.claimBondShare(id, version) {
            ++doubleClaims;
            lastViolation = "a bond share was claimed twice";
        } catch {}
    }

    function _claim(address account, address tok, bool toSink) internal {
        uint256 amount = market.claimable(account, tok);
        address to = toSink ? sink : account;
        uint256 before = _balance(tok, to);
        _call(F_CLAIM);
        vm.prank(account);
        bool ok;
        if (toSink) {
            try market.claimTo(tok, to) {
                ok = true;
            } catch {}
        } else {
            try market.claim(tok) {
                ok = true;
            } catch {}
        }
        if (!ok) {
            if (amount != 0) _unexpected("claim");
            return;
        }
        _ok(F_CLAIM);
        if (amount == 0) {
            ++doubleClaims;
            lastViolation = "claim paid from an empty balance";
        }
        claimed[account][tok] += amount;
        ghostOut[tok] += amount;
        if (_balance(tok, to) != before + amount) _mismatch("claim: amount received");
        // the same balance cannot be claimed twice
        vm.prank(account);
        try market.claim(tok) {
            ++doubleClaims;
            lastViolation = "a balance was claimed twice";
        } catch {}
    }

    // ------------------------------------------------------ one-off payouts (U6, P3)

    function _payoutLeaves(uint256 id, uint256 batch, uint256 group, SubmissionRecord[] storage recs, address tok)
        internal
        view
        returns (bytes32[32] memory leaves)
    {
        uint256[] storage owed = _payoutOwed[id][batch];
        for (uint256 j = 0; j < 32 && group * 32 + j < owed.length; ++j) {
            uint256 amount = owed[group * 32 + j];
            if (amount != 0) leaves[j] = PayoutTree.leaf(recs[group * 32 + j].contributor, amount, tok);
        }
    }

    /// @dev The model's tree of each group must be the stored root (zero where nothing is owed).
    function _checkPayoutRoots(uint256 id, uint256 batch, address tok) internal {
        SubmissionRecord[] storage recs = _records[id][batch];
        for (uint256 g = 0; g * 32 < _payoutOwed[id][batch].length; ++g) {
            (bytes32 root,) = market.payoutRoot(id, batch, g);
            if (root != PayoutTree.root(_payoutLeaves(id, batch, g, recs, tok))) _mismatch("settleBatch: payout root");
        }
    }

    /// @dev Someone else's claim of `p` reverts; its owner's pays exactly the amount, once.
    function _claimPayout(Payout storage p, uint256 seed) internal {
        bytes32[5] memory proof =
            PayoutTree.proof(_payoutLeaves(p.id, p.batch, p.index / 32, _records[p.id][p.batch], p.tok), p.index % 32);
        uint256 position = p.batch << 8 | p.index;
        address other = actors[seed % actors.length];
        _call(F_CLAIM_PAYOUT);
        if (other != p.who) {
            vm.prank(other);
            try market.claimPayout(p.tok, p.id, position, p.amount, proof) {
                ++doubleClaims;
                lastViolation = "claimPayout paid someone else's payout";
            } catch {}
        }
        uint256 before = _balance(p.tok, p.who);
        vm.prank(p.who);
        try market.claimPayout(p.tok, p.id, position, p.amount, proof) {
            _ok(F_CLAIM_PAYOUT);
        } catch {
            _unexpected("claimPayout");
            return;
        }
        p.claimed = true;
        payoutsOwed[p.tok] -= p.amount;
        ghostOut[p.tok] += p.amount;
        if (_balance(p.tok, p.who) != before + p.amount) _mismatch("claimPayout: amount received");
        vm.prank(p.who);
        try market.claimPayout(p.tok, p.id, position, p.amount, proof) {
            ++doubleClaims;
            lastViolation = "a payout was claimed twice";
        } catch {}
    }

    /// @dev Every one-off payout still owed, claimed by its owner (the drain).
    function _claimAllPayouts() internal {
        for (uint256 k = 0; k < _payoutList.length; ++k) {
            if (!_payoutList[k].claimed) _claimPayout(_payoutList[k], k);
        }
    }
}

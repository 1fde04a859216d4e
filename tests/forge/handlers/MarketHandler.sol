// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "../utils/Test.sol";
import {MarketModel} from "../utils/MarketModel.sol";
import {MarketSetup} from "../utils/MarketSetup.sol";
import {OracleRegistry} from "../../../contracts/OracleRegistry.sol";
import {MockERC20} from "../../../contracts/test/MockERC20.sol";
import {IBountyMarket, IBountyMarketTypes, IBountyMarketEvents} from "../../../interfaces/IBountyMarket.sol";

/// @dev Drives random but realistic rounds of the market on an ETH and an ERC-20 token, with
///      a fixed cast (2 requesters, 4 contributors, 6 staked oracles, a keeper). Every entry
///      point picks an action that can succeed from the current state (bounded inputs), calls
///      the market with try/catch, and keeps ghost books from an independent model of the rules
///      (utils/MarketModel.sol). A divergence is recorded, never reverted (the invariant runner
///      does not fail on handler reverts), and the invariants assert the records.
contract MarketHandler is IBountyMarketTypes {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint256 internal constant WAD = 1e18;
    uint256 internal constant BPS = 10_000;
    uint32 internal constant INVALID = type(uint32).max;
    address internal constant ETH = address(0);
    address internal constant DEAD = 0x000000000000000000000000000000000000dEaD;
    uint256 internal constant MAX_BOUNTIES = 5;

    IBountyMarket public immutable market;
    OracleRegistry public immutable registry;
    MockERC20 public immutable token;

    address[] public requesters;
    address[] public contributors;
    address[] public oracles;
    address[] public actors; // everyone who can be credited
    address public immutable keeper;
    address public immutable sink; // a plain receiver for claimTo

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
    mapping(address oracle => uint256) public oracleServing; // joined and not released

    uint256 public slashEvents; // StakeSlashed events seen
    uint256 public slashViolations; // a StakeSlashed burning more than slashBps of the stake
    uint256 public oracleSlashViolations;
    uint256 public outlierBatches; // settled batches that had one arbitrary report
    uint256 public medianChecks;
    uint256 public outlierViolations; // a median outside the honest range
    uint256 public modelMismatches; // the market decided differently from the model
    uint256 public unexpectedReverts; // a call the rules allow reverted
    uint256 public doubleClaims; // a second claim of the same balance succeeded
    uint256 public tamperAccepted; // forged records, reports or reveals accepted
    uint256 public rulesBroken; // e.g. an oracle unbonding while it serves a bounty
    string public lastViolation;

    // per-function counters
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
    uint256 internal constant N_FUNCTIONS = 22;

    constructor(IBountyMarket market_, OracleRegistry registry_, MockERC20 token_) {
        market = market_;
        registry = registry_;
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
            "settleTampered"
        ];
    }

    /// @dev Stakes the oracles and opens one ETH and one ERC-20 bounty with their baselines set,
    ///      so that every run starts with rounds under way. Called once from setUp.
    function bootstrap() external {
        for (uint256 i = 0; i < oracles.length; ++i) {
            _stakeOracle(oracles[i], 10 ether);
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
            _createBounty(seed, p);
            uint256 id = _infos.length;
            for (uint256 k = 0; k < _committee[id].length; ++k) {
                joinCommittee(id - 1 + (k << 8), 0);
            }
            for (uint256 k = 0; k < _committee[id].length; ++k) {
                reportBaseline(id - 1, k);
            }
        }
        for (uint256 f = 0; f < N_FUNCTIONS; ++f) {
            calls[f] = 0;
            successes[f] = 0;
        }
        steps = 0;
    }

    /// @dev Fuzzer calls into the handler (nested entry points count once).
    uint256 public steps;
    bool private _inStep;

    modifier step() {
        if (_inStep) {
            _;
        } else {
            _inStep = true;
            ++steps;
            _;
            _inStep = false;
        }
    }

    // ========================================================== handler actions

    function createBounty(uint256 seed, uint256 rewardSeed, uint256 amountSeed) public step {
        _call(F_CREATE);
        if (_infos.length >= MAX_BOUNTIES) return;
        bool trusted = seed % 10 == 0;
        // committees of 3 (most), 4 or 5; 1 in 10 bounties trusts a single oracle
        address[] memory committee = _pickCommittee(seed, trusted ? 1 : 3 + ((seed >> 8) % 5) / 3);
        if (committee.length == 0) return;
        address tok = (seed >> 24) % 2 == 0 ? ETH : address(token);
        BountyParams memory p = _params(seed, rewardSeed, amountSeed, committee, tok);
        p.trustSingleOracle = trusted;
        _createBounty(seed, p);
    }

    function _createBounty(uint256 seed, BountyParams memory p) internal {
        address requester = requesters[(seed >> 16) % requesters.length];
        address tok = p.token;
        bool trusted = p.trustSingleOracle;
        address[] memory committee = p.committee;
        uint256 total = MarketSetup.escrow(p);
        _fund(requester, tok, total);
        vm.prank(requester);
        try market.createBounty{value: tok == ETH ? total : 0}(p) returns (uint256 id) {
            _ok(F_CREATE);
            if (id != _infos.length + 1) _mismatch("createBounty: id");
            _infos.push();
            Info storage info = _infos[id - 1];
            info.token = tok;
            info.requester = requester;
            info.trusted = trusted;
            info.higher = p.higherIsBetter;
            info.baselineTruth = uint32(4_000 + ((seed >> 112) % 2_000));
            info.createdAt = uint64(block.timestamp);
            info.salt = keccak256(abi.encode("salt", id));
            info.rewardFunded = p.reward;
            _committee[id] = committee;
            _xs[id] = p.curveX;
            _ys[id] = p.curveY;
            ghostIn[tok] += total;
        } catch {
            _unexpected("createBounty");
        }
    }

    function topUp(uint256 seed, uint256 amount) external step {
        _call(F_TOPUP);
        uint256 id = _findNotEnded(seed);
        if (id == 0) return;
        Info storage info = _infos[id - 1];
        amount = amount % 5 ether;
        address funder = contributors[(seed >> 8) % contributors.length];
        _fund(funder, info.token, amount);
        vm.prank(funder);
        try market.topUp{value: info.token == ETH ? amount : 0}(id, amount) {
            _ok(F_TOPUP);
            info.rewardFunded += amount;
            ghostIn[info.token] += amount;
        } catch {
            _unexpected("topUp");
        }
    }

    function joinCommittee(uint256 seed, uint256 extraStake) public step {
        _call(F_JOIN);
        uint256 n = _infos.length;
        for (uint256 k = 0; k < n; ++k) {
            uint256 id = 1 + ((seed % n + k) % n);
            if (!_notEnded(id)) continue;
            (, uint256 opted,) = market.getCommittee(id);
            address[] storage committee = _committee[id];
            for (uint256 j = 0; j < committee.length; ++j) {
                uint256 member = ((seed >> 8) + j) % committee.length;
                if (opted & (1 << member) != 0) continue;
                address o = committee[member];
                if (!registry.isEligible(o)) _stakeOracle(o, 1 ether + (extraStake % 4 ether));
                vm.prank(o);
                try market.joinCommittee(id) {
                    _ok(F_JOIN);
                    ++oracleServing[o];
                } catch {
                    _unexpected("joinCommittee");
                }
                return;
            }
        }
    }

    function joinCommittee2(uint256 seed, uint256 extraStake) external step {
        joinCommittee(seed, extraStake);
    }

    function reportBaseline2(uint256 seed, uint256 noiseSeed) external step {
        reportBaseline(seed, noiseSeed);
    }

    function reportBaseline(uint256 seed, uint256 noiseSeed) public step {
        _call(F_BASELINE);
        uint256 n = _infos.length;
        for (uint256 k = 0; k < n; ++k) {
            uint256 id = 1 + ((seed % n + k) % n);
            if (market.state(id) != BountyState.AwaitingBaseline) continue;
            (, uint256 opted, uint256 reported) = market.getCommittee(id);
            address[] storage committee = _committee[id];
            for (uint256 j = 0; j < committee.length; ++j) {
                uint256 member = ((seed >> 8) + j) % committee.length;
                if (opted & (1 << member) == 0 || reported & (1 << member) != 0) continue;
                Info storage info = _infos[id - 1];
                uint32 score = _noisy(info.baselineTruth, noiseSeed, member, _tolerance(id));
                vm.prank(committee[member]);
                try market.reportBaseline(id, score) {
                    _ok(F_BASELINE);
                    _baselineReports[id][member] = score;
                    reported |= 1 << member;
                    if (_popcount(reported) == committee.length) _modelBaseline(id, reported);
                } catch {
                    _unexpected("reportBaseline");
                }
                return;
            }
        }
    }

    function settleBaseline(uint256 seed) external step {
        _call(F_SETTLE_BASELINE);
        uint256 n = _infos.length;
        for (uint256 k = 0; k < n; ++k) {
            uint256 id = 1 + ((seed % n + k) % n);
            if (market.state(id) != BountyState.AwaitingBaseline) continue;
            (,, uint256 reported) = market.getCommittee(id);
            if (_popcount(reported) < _quorum(id)) continue;
            uint256 readyAt = uint256(_infos[id - 1].createdAt) + market.getBounty(id).scoringTimeout;
            if (block.timestamp < readyAt) {
                if (readyAt >= market.getBounty(id).deadline) continue; // would end the bounty instead
                vm.warp(readyAt);
            }
            vm.prank(keeper);
            try market.settleBaseline(id) {
                _ok(F_SETTLE_BASELINE);
                _modelBaseline(id, reported);
            } catch {
                _unexpected("settleBaseline");
            }
            return;
        }
    }

    function submitUpdate(uint256 seed, uint256 baseSeed) public step {
        _call(F_SUBMIT);
        uint256 id = _findOpen(seed);
        if (id == 0) return;
        BountyView memory v = market.getBounty(id);
        address c = contributors[(seed >> 8) % contributors.length];
        _fund(c, v.token, v.stake);
        uint32 base = uint32(baseSeed % (uint256(v.versionCount) + 1));
        Cid memory update =
            Cid(keccak256(abi.encode("update", id, v.submissionCount, seed)), seed % 2 == 0 ? 0x55 : 0x70);
        vm.prank(c);
        try market.submitUpdate{value: v.token == ETH ? v.stake : 0}(id, base, update) returns (uint256 sid) {
            _ok(F_SUBMIT);
            _recordSubmission(id, sid, v, SubmissionRecord(c, v.stake, base, update), seed);
            ghostIn[v.token] += v.stake;
        } catch {
            _unexpected("submitUpdate");
        }
    }

    function submitUpdate2(uint256 seed, uint256 baseSeed) external step {
        submitUpdate(seed, baseSeed);
    }

    function submitUpdate3(uint256 seed, uint256 baseSeed) external step {
        submitUpdate(seed, baseSeed);
    }

    function submitUpdateFromBalance(uint256 seed) external step {
        _call(F_SUBMIT_BALANCE);
        uint256 id = _findOpen(seed);
        if (id == 0) return;
        BountyView memory v = market.getBounty(id);
        for (uint256 j = 0; j < contributors.length; ++j) {
            address c = contributors[((seed >> 8) + j) % contributors.length];
            if (market.claimable(c, v.token) < v.stake) continue;
            Cid memory update = Cid(keccak256(abi.encode("from-balance", id, v.submissionCount, seed)), 0x55);
            vm.prank(c);
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

    function report(uint256 seed, uint256 noiseSeed) public step {
        _call(F_REPORT);
        uint256 n = _infos.length;
        for (uint256 k = 0; k < n; ++k) {
            uint256 id = 1 + ((seed % n + k) % n);
            if (_tryReport(id, seed >> 8, noiseSeed, true)) return;
        }
    }

    /// @dev The oracle daemons of one bounty all report its next batch (now and then one of them
    ///      stays silent, and one may be the outlier).
    function reportAll(uint256 seed, uint256 noiseSeed) external step {
        uint256 n = _infos.length;
        for (uint256 k = 0; k < n; ++k) {
            uint256 id = 1 + ((seed % n + k) % n);
            uint256 batch = market.getBounty(id).nextBatch;
            (,, uint16 reportedMask,,, uint256 timeoutAt) = market.getBatch(id, batch);
            (, uint256 opted,) = market.getCommittee(id);
            if (timeoutAt == 0 || reportedMask == opted) continue;
            uint256 silent = (seed >> 8) % 3 == 0 ? (seed >> 16) % _committee[id].length : type(uint256).max;
            for (uint256 j = 0; j < _committee[id].length; ++j) {
                if (opted & (1 << j) == 0 || reportedMask & (1 << j) != 0 || j == silent) continue;
                _call(F_REPORT);
                _tryReportAs(id, batch, j, uint256(keccak256(abi.encode(noiseSeed, j))), true);
            }
            return;
        }
        _call(F_REPORT);
    }

    function report2(uint256 seed, uint256 noiseSeed) external step {
        report(seed, noiseSeed);
    }

    function report3(uint256 seed, uint256 noiseSeed) external step {
        report(seed, noiseSeed);
    }

    function settleBatch(uint256 seed, uint256 waitSeed) public step {
        _call(F_SETTLE);
        uint256 n = _infos.length;
        for (uint256 k = 0; k < n; ++k) {
            uint256 id = 1 + ((seed % n + k) % n);
            (bool ready, uint256 batch) = _settleReady(id, waitSeed % 2 == 0);
            if (!ready) continue;
            _settle(id, batch);
            return;
        }
    }

    function settleBatch2(uint256 seed, uint256 waitSeed) external step {
        settleBatch(seed, waitSeed);
    }

    function voidBatch(uint256 seed, uint256 waitSeed) external step {
        _call(F_VOID);
        uint256 n = _infos.length;
        for (uint256 k = 0; k < n; ++k) {
            uint256 id = 1 + ((seed % n + k) % n);
            uint256 batch = market.getBounty(id).nextBatch;
            (,, uint16 reportedMask,,, uint256 timeoutAt) = market.getBatch(id, batch);
            if (timeoutAt == 0 || _popcount(reportedMask) >= _quorum(id)) continue;
            if (block.timestamp < timeoutAt) {
                if (waitSeed % 2 != 0) continue;
                vm.warp(timeoutAt);
            }
            _void(id, batch, reportedMask);
            return;
        }
    }

    function cancel(uint256 seed) external step {
        _call(F_CANCEL);
        if (seed % 3 != 0) return; // requesters rarely walk away
        uint256 id = _findNotEnded(seed >> 2);
        if (id == 0) return;
        vm.prank(_infos[id - 1].requester);
        try market.cancel(id) {
            _ok(F_CANCEL);
        } catch {
            _unexpected("cancel");
        }
    }

    function close(uint256 seed) external step {
        _call(F_CLOSE);
        uint256 n = _infos.length;
        for (uint256 k = 0; k < n; ++k) {
            uint256 id = 1 + ((seed % n + k) % n);
            if (market.state(id) != BountyState.Settling || !_allDecided(id)) continue;
            _close(id);
            return;
        }
    }

    function reveal(uint256 seed, uint256 badSeed) external step {
        _call(F_REVEAL);
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
    }

    function forfeitBond(uint256 seed) external step {
        _call(F_FORFEIT);
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
    }

    function claimBondShare(uint256 seed) external step {
        _call(F_BOND_SHARE);
        uint256 n = _infos.length;
        for (uint256 k = 0; k < n; ++k) {
            uint256 id = 1 + ((seed % n + k) % n);
            Info storage info = _infos[id - 1];
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

    function claim(uint256 seed) public step {
        _call(F_CLAIM);
        address tok = (seed >> 8) % 2 == 0 ? ETH : address(token);
        // mostly someone with a balance; now and then anyone (then the claim must revert)
        address account = actors[seed % actors.length];
        for (uint256 j = 0; j < actors.length && (seed >> 24) % 8 != 0; ++j) {
            address a = actors[(seed % actors.length + j) % actors.length];
            if (market.claimable(a, tok) != 0) {
                account = a;
                break;
            }
        }
        bool toSink = (seed >> 16) % 4 == 0;
        _claim(account, tok, toSink);
    }

    function claim2(uint256 seed) external step {
        claim(seed);
    }

    function burn(uint256 seed) external step {
        _call(F_BURN);
        address tok = seed % 2 == 0 ? ETH : address(token);
        uint256 amount = market.pendingBurn(tok);
        uint256 deadBefore = _balance(tok, DEAD);
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

    function warp(uint256 secs) external step {
        _call(F_WARP);
        secs = 1 minutes + (secs % 2 days);
        vm.warp(block.timestamp + secs);
        _ok(F_WARP);
    }

    function leaveCommittee(uint256 seed) external step {
        _call(F_LEAVE);
        uint256 n = _infos.length;
        for (uint256 k = 0; k < n; ++k) {
            uint256 id = 1 + ((seed % n + k) % n);
            BountyState s = market.state(id);
            if (s != BountyState.Closed && s != BountyState.Revealed) continue;
            if (_leaveOne(id, seed >> 8)) return;
        }
    }

    function restake(uint256 seed, uint256 amount) external step {
        _call(F_RESTAKE);
        address o = oracles[seed % oracles.length];
        _stakeOracle(o, 1 ether + (amount % 4 ether));
        _ok(F_RESTAKE);
    }

    /// @dev O2-O3: an oracle unbonds only while it serves no bounty, and withdraws after the delay.
    function unbondOrWithdraw(uint256 seed) external step {
        _call(F_UNBOND);
        address o = oracles[seed % oracles.length];
        (uint256 st, uint256 unbondingAt,) = registry.oracleInfo(o);
        if (st == 0) return;
        if (unbondingAt == 0) {
            vm.prank(o);
            try registry.requestUnbond() {
                _ok(F_UNBOND);
                if (oracleServing[o] != 0) _broken("an oracle serving a bounty started unbonding");
            } catch {
                if (oracleServing[o] == 0) _unexpected("requestUnbond");
            }
        } else if (block.timestamp >= unbondingAt) {
            uint256 before = o.balance;
            vm.prank(o);
            try registry.withdraw() {
                _ok(F_UNBOND);
                if (o.balance != before + oracleStake[o]) _mismatch("withdraw: amount");
                oracleStake[o] = 0;
            } catch {
                _unexpected("withdraw");
            }
        }
    }

    /// @dev R4/R8: records or reports that differ from what the chain committed to are refused.
    function settleTampered(uint256 seed, uint256 mode) external step {
        _call(F_TAMPER);
        uint256 n = _infos.length;
        for (uint256 k = 0; k < n; ++k) {
            uint256 id = 1 + ((seed % n + k) % n);
            (bool ready, uint256 batch) = _settleReady(id, false);
            if (!ready) continue;
            (SubmissionRecord[] memory records, BatchReport[] memory reports,) = _settlementInputs(id, batch);
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
            vm.prank(keeper);
            try market.settleBatch(id, batch, records, reports) {
                _tamper("settleBatch accepted forged records or reports");
            } catch {
                _ok(F_TAMPER);
            }
            return;
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
                (bool ready,) = _settleReady(id, true);
                if (ready) {
                    _settle(id, batch);
                } else {
                    (,, uint16 reportedMask,,, uint256 timeoutAt) = market.getBatch(id, batch);
                    if (block.timestamp < timeoutAt) vm.warp(timeoutAt);
                    _void(id, batch, reportedMask);
                }
                if (market.getBounty(id).nextBatch == batch) {
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
                    != totalClaimable(tok) + market.pendingBurn(tok) + unclaimedBondShares(tok)
            ) {
                return "drain: holdings != claimable + pending burn + bond shares";
            }
        }
        // everyone takes what they are owed: nothing may remain
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
                    locked += recs[i].stake;
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
        uint256 owed = market.pendingBurn(tok) + totalClaimable(tok);
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
                    owed += recs[i].stake;
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

    // ================================================================ internals

    function _call(uint256 fn) internal {
        ++calls[fn];
    }

    function _ok(uint256 fn) internal {
        ++successes[fn];
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

    function _quorum(uint256 id) internal view returns (uint256) {
        return _infos[id - 1].trusted ? 1 : 3;
    }

    function _tolerance(uint256 id) internal view returns (uint256) {
        return market.getBounty(id).tolerance;
    }

    function _notEnded(uint256 id) internal view returns (bool) {
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
            if (market.state(id) != BountyState.Open) continue;
            BountyView memory v = market.getBounty(id);
            if (v.submissionCount / v.batchSize < v.maxBatches) return id;
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
        p.maxBatches = uint32(1 + ((seed >> 32) % 4));
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
        if (s >= int256(uint256(INVALID))) s = int256(uint256(INVALID)) - 1;
        return uint32(uint256(s));
    }

    function _modelBaseline(uint256 id, uint256 reported) internal {
        Info storage info = _infos[id - 1];
        uint64[] memory keys = new uint64[](_popcount(reported));
        uint256 j = 0;
        for (uint256 m = 0; m < _committee[id].length; ++m) {
            if (reported & (1 << m) != 0) keys[j++] = MarketModel.key(_baselineReports[id][m], info.higher);
        }
        uint32 baseline = MarketModel.scoreOf(MarketModel.lowerMedian(keys), info.higher);
        info.baseline = baseline;
        info.head = baseline;
        info.baselineSet = true;
        BountyView memory v = market.getBounty(id);
        if (!v.baselineSet || v.baselineScore != baseline || v.headScore != baseline) {
            _mismatch("baseline: not the lower median");
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
        (,, uint16 reportedMask,, uint256 subs, uint256 timeoutAt) = market.getBatch(id, batch);
        if (timeoutAt == 0 || reportedMask & (1 << member) != 0) return;
        bool outlier = allowOutlier && !_infos[id - 1].trusted && _outlierPlusOne[id][batch] == 0 && noiseSeed % 4 == 0;
        BatchReport memory r = _buildReport(id, batch, member, subs, noiseSeed, outlier);
        vm.prank(_committee[id][member]);
        try market.report(id, batch, r.scores, r.merged) {
            _ok(F_REPORT);
            _reports[id][batch][member] = r;
            if (outlier) _outlierPlusOne[id][batch] = member + 1;
        } catch {
            _unexpected("report");
        }
    }

    function _buildReport(uint256 id, uint256 batch, uint256 member, uint256 subs, uint256 noiseSeed, bool outlier)
        internal
        view
        returns (BatchReport memory r)
    {
        uint32[] memory scores = _scores(id, batch, member, subs, noiseSeed, outlier);
        r.scores = MarketModel.encode(scores);
        r.merged = outlier
            ? Cid(keccak256(abi.encode("junk", noiseSeed)), 0x55)
            : Cid(keccak256(abi.encode("merged", id, batch, _ownBest(scores, _infos[id - 1].higher))), 0x70);
    }

    /// @dev Honest: each submission's truth with a little noise. Outlier: all invalid, all 0,
    ///      all the best valid score, or random.
    function _scores(uint256 id, uint256 batch, uint256 member, uint256 subs, uint256 noiseSeed, bool outlier)
        internal
        view
        returns (uint32[] memory scores)
    {
        uint256 first = batch * market.getBounty(id).batchSize;
        uint256 tol = _tolerance(id);
        uint256 mode = (noiseSeed >> 8) % 4;
        scores = new uint32[](subs);
        for (uint256 i = 0; i < subs; ++i) {
            if (!outlier) scores[i] = _noisy(_truth[id][first + i], noiseSeed, member * 1000 + i, tol);
            else if (mode == 0) scores[i] = INVALID;
            else if (mode == 1) scores[i] = 0;
            else if (mode == 2) scores[i] = INVALID - 1;
            else scores[i] = uint32(uint256(keccak256(abi.encode(noiseSeed, i))));
        }
    }

    function _ownBest(uint32[] memory scores, bool higher) internal pure returns (uint256 best) {
        uint64 bestKey = 0;
        for (uint256 i = 0; i < scores.length; ++i) {
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
        uint256 batch = market.getBounty(id).nextBatch;
        (,, uint16 reportedMask,,, uint256 timeoutAt) = market.getBatch(id, batch);
        if (timeoutAt == 0 || reportedMask == 0) return (false, batch);
        (, uint256 opted,) = market.getCommittee(id);
        if (reportedMask == opted) return (true, batch);
        if (_popcount(reportedMask) < _quorum(id)) return (false, batch);
        if (block.timestamp >= timeoutAt) return (true, batch);
        if (!wait) return (false, batch);
        vm.warp(timeoutAt);
        return (true, batch);
    }

    function _settlementInputs(uint256 id, uint256 batch)
        internal
        view
        returns (SubmissionRecord[] memory records, BatchReport[] memory reports, address[] memory reporters)
    {
        records = _records[id][batch];
        (,, uint16 reportedMask,,,) = market.getBatch(id, batch);
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
        uint256 ethSlashed;
        MarketModel.Outcome o;
        uint256 firstId;
    }

    function _settle(uint256 id, uint256 batch) internal {
        SettleCtx memory c;
        c.id = id;
        c.batch = batch;
        c.tok = _infos[id - 1].token;
        (c.records, c.reports, c.reporters) = _settlementInputs(id, batch);
        c.o = _model(id, c.records, c.reports);
        c.slashAmounts = new uint256[](c.reports.length);
        for (uint256 r = 0; r < c.reports.length; ++r) {
            if (c.o.deviantMask & (1 << r) != 0) {
                c.slashAmounts[r] = (oracleStake[c.reporters[r]] * MarketSetup.ORACLE_SLASH_BPS) / BPS;
                c.ethSlashed += c.slashAmounts[r];
            }
        }
        c.firstId = batch * market.getBounty(id).batchSize;
        vm.recordLogs(); // starts a fresh log buffer
        vm.prank(keeper);
        try market.settleBatch(id, batch, c.records, c.reports) {
            _ok(F_SETTLE);
        } catch {
            vm.getRecordedLogs();
            _unexpected("settleBatch");
            return;
        }
        Vm.Log[] memory logs = vm.getRecordedLogs();
        _applySettlement(c);
        _checkSettlementLogs(c, logs);
    }

    function _model(uint256 id, SubmissionRecord[] memory records, BatchReport[] memory reports)
        internal
        view
        returns (MarketModel.Outcome memory)
    {
        Info storage info = _infos[id - 1];
        BountyView memory v = market.getBounty(id);
        MarketModel.Params memory p = MarketModel.Params({
            higher: info.higher,
            headScore: info.head,
            baselineScore: info.baseline,
            target: v.target,
            slashMargin: v.slashMargin,
            tolerance: v.tolerance,
            slashBps: v.slashBps,
            reward: info.rewardFunded,
            paid: info.paid,
            feePerBatch: v.oracleFeePerBatch
        });
        uint256[] memory stakes = new uint256[](records.length);
        for (uint256 i = 0; i < records.length; ++i) {
            stakes[i] = records[i].stake;
        }
        bytes[] memory scores = new bytes[](reports.length);
        for (uint256 r = 0; r < reports.length; ++r) {
            scores[r] = reports[r].scores;
        }
        return MarketModel.settle(p, _xs[id], _ys[id], stakes, scores);
    }

    function _applySettlement(SettleCtx memory c) internal {
        Info storage info = _infos[c.id - 1];
        MarketModel.Outcome memory o = c.o;
        uint256 n = c.records.length;
        for (uint256 i = 0; i < n; ++i) {
            uint256 payout = o.returned[i];
            if (o.accepted && i == o.best) payout += o.reward;
            credited[c.records[i].contributor][c.tok] += payout;
        }
        ghostBurned[c.tok] += o.totalBurned;
        for (uint256 r = 0; r < c.reports.length; ++r) {
            if (o.deviantMask & (1 << r) == 0) {
                credited[c.reporters[r]][c.tok] += o.feeShare;
            } else {
                oracleStake[c.reporters[r]] -= c.slashAmounts[r];
            }
        }
        info.feesPaid += o.feeShare * o.good;
        _shareEth(c.records, c.ethSlashed);
        if (o.accepted) {
            info.paid += o.reward;
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

    /// @dev Slashed oracle ETH: equal shares for the batch's contributors, dust burned.
    function _shareEth(SubmissionRecord[] memory records, uint256 ethSlashed) internal {
        if (ethSlashed == 0) return;
        ghostIn[ETH] += ethSlashed;
        uint256 each = ethSlashed / records.length;
        for (uint256 i = 0; i < records.length; ++i) {
            credited[records[i].contributor][ETH] += each;
        }
        ghostBurned[ETH] += ethSlashed - each * records.length;
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
                uint256 stake = c.records[i].stake;
                if (burned > stake || burned != (stake * v.slashBps) / BPS || burned + returned != stake) {
                    ++slashViolations;
                    lastViolation = "StakeSlashed: burned more than slashBps of the stake";
                }
                if (c.o.kind[i] != MarketModel.SLASHED) _mismatch("settleBatch: slashed a submission the rules keep");
            } else if (sig == IBountyMarketEvents.SubmissionRejected.selector) {
                i = uint256(lg.topics[2]);
                if (!_inBatch(c, i)) continue;
                i -= c.firstId;
                score = abi.decode(lg.data, (uint32));
                if (c.o.kind[i] != MarketModel.REJECTED) {
                    _mismatch("settleBatch: rejected a submission the rules decide otherwise");
                }
            } else if (sig == IBountyMarketEvents.VersionAccepted.selector) {
                uint256 sid;
                uint256 reward;
                (, sid, score,,, reward) = abi.decode(lg.data, (uint256, uint256, uint32, Cid, Cid, uint256));
                if (!_inBatch(c, sid)) continue;
                i = sid - c.firstId;
                if (c.o.kind[i] != MarketModel.ACCEPTED || reward != c.o.reward) {
                    _mismatch("settleBatch: accepted the wrong submission or reward");
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
        if (_outlierPlusOne[c.id][c.batch] != 0) ++outlierBatches;
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
            if (c.slashAmounts[r] != amount) _mismatch("settleBatch: oracle slash amount");
            if (amount > oracleStake[o] + c.slashAmounts[r]) {
                ++oracleSlashViolations;
                lastViolation = "OracleSlashed: more than the stake";
            }
            return;
        }
        _mismatch("settleBatch: slashed an oracle that did not report");
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
        (, uint256 opted,) = market.getCommittee(id);
        uint256 silent = opted & ~reportedMask;
        uint256 ethSlashed = 0;
        uint256[] memory amounts = new uint256[](_committee[id].length);
        for (uint256 j = 0; j < _committee[id].length; ++j) {
            if (silent & (1 << j) == 0) continue;
            amounts[j] = (oracleStake[_committee[id][j]] * MarketSetup.ORACLE_SLASH_BPS) / BPS;
            ethSlashed += amounts[j];
        }
        vm.prank(keeper);
        try market.voidBatch(id, batch, records) {
            _ok(F_VOID);
        } catch {
            _unexpected("voidBatch");
            return;
        }
        for (uint256 i = 0; i < records.length; ++i) {
            credited[records[i].contributor][info.token] += records[i].stake; // in full
        }
        for (uint256 j = 0; j < _committee[id].length; ++j) {
            oracleStake[_committee[id][j]] -= amounts[j];
        }
        _shareEth(records, ethSlashed);
        if (market.getBounty(id).nextBatch != batch + 1) _mismatch("voidBatch: batch not decided");
    }

    function _close(uint256 id) internal {
        vm.prank(keeper);
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
        vm.prank(keeper);
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
            vm.prank(info.requester);
            try market.reveal(id, vcid, vkey, bytes32(uint256(info.salt) ^ 1), bytes32("model")) {
                _tamper("reveal accepted a wrong salt");
            } catch {}
        }
        vm.prank(info.requester);
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
            vm.prank(o);
            try market.leaveCommittee(id) {
                _ok(F_LEAVE);
                _releasedMask[id] |= 1 << member;
                --oracleServing[o];
            } catch {
                _unexpected("leaveCommittee");
            }
            // leaving twice is refused
            vm.prank(o);
            try market.leaveCommittee(id) {
                _tamper("leaveCommittee released the same bond twice");
            } catch {}
            return true;
        }
        return false;
    }

    function _claimBondShare(uint256 id, uint256 version, address author) internal {
        Info storage info = _infos[id - 1];
        vm.prank(keeper);
        try market.claimBondShare(id, version) {
            _ok(F_BOND_SHARE);
            credited[author][info.token] += info.bondShare;
            delete _authors[id][version];
        } catch {
            _unexpected("claimBondShare");
            return;
        }
        vm.prank(keeper);
        try market.claimBondShare(id, version) {
            ++doubleClaims;
            lastViolation = "a bond share was claimed twice";
        } catch {}
    }

    function _claim(address account, address tok, bool toSink) internal {
        uint256 amount = market.claimable(account, tok);
        address to = toSink ? sink : account;
        uint256 before = _balance(tok, to);
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
}

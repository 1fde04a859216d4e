// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {IBountyMarketActions} from "../interfaces/IBountyMarket.sol";
import {IOracleRegistry} from "../interfaces/IOracleRegistry.sol";
import {RewardMath} from "./libraries/RewardMath.sol";
import {BountyMarketStorage} from "./BountyMarketStorage.sol";
import {BountyMarketExtension} from "./BountyMarketExtension.sol";

/// @title BountyMarket
/// @notice Bounties, stakes, committee scoring, lineage, slashing and claims. The
///         numbered rules are in SPECIFICATION.md; NatSpec is in IBountyMarket.
/// @dev Storage holds only what settlement needs. Submissions are not stored one by
///      one: each batch keeps a rolling hash of its records, and settlement passes the
///      records (from SubmissionReceived events) as calldata checked against it. Each
///      oracle's report is stored as a hash of its scores (from ReportPosted).
contract BountyMarket is BountyMarketStorage, IBountyMarketActions, Ownable2Step, Pausable, ReentrancyGuard {
    using SafeERC20 for IERC20;

    // ---------------------------------------------------------------- storage

    /// @dev Working memory of settleBatch (keeps the stack shallow).
    struct Settlement {
        uint256 bountyId;
        uint256 batch;
        uint256 n;
        uint256 firstId;
        uint64 headKey;
        uint64 bestKey;
        uint256 bestIndex;
        uint256 deviantMask;
        uint256 ethSlashed;
        uint256 burned;
        Cid merged; // of the accepted submission
    }

    /// @inheritdoc IBountyMarketActions
    address public immutable keyRegistry;
    /// @inheritdoc IBountyMarketActions
    address public immutable oracleRegistry;
    /// @inheritdoc IBountyMarketActions
    address public immutable extension;

    // ------------------------------------------------------------ constructor

    constructor(address keyRegistry_, address oracleRegistry_, address owner_, address guardian_) Ownable(owner_) {
        if (oracleRegistry_ == address(0)) revert InvalidParameter("oracleRegistry");
        keyRegistry = keyRegistry_;
        oracleRegistry = oracleRegistry_;
        _guardian = guardian_;
        extension = address(new BountyMarketExtension());
        emit GuardianSet(guardian_);
    }

    /// @inheritdoc IBountyMarketActions
    function guardian() external view returns (address) {
        return _guardian;
    }

    /// @inheritdoc IBountyMarketActions
    function bountyCount() external view returns (uint256) {
        return _bountyCount;
    }

    /// @dev IBountyMarketExtension lives in BountyMarketExtension (same storage layout, via
    ///      BountyMarketStorage); unknown selectors run there by delegatecall. It is created
    ///      here and immutable: no admin can swap it.
    fallback() external {
        address target = extension;
        assembly ("memory-safe") {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), target, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }

    /// @dev Only the oracle registry sends ETH without a call: slashed oracle stakes.
    receive() external payable {
        if (msg.sender != oracleRegistry) revert UnexpectedEth(msg.sender);
    }

    // ------------------------------------------------------------- modifiers

    // ------------------------------------------------------------ requester

    /// @inheritdoc IBountyMarketActions
    function createBounty(BountyParams calldata p) external payable nonReentrant whenNotPaused returns (uint256 bountyId) {
        _validateParams(p);
        bountyId = ++_bountyCount;
        Bounty storage b = _bounties[bountyId];
        uint256 fees = uint256(p.oracleFeePerBatch) * p.maxBatches;
        uint256 fixedPart = fees + p.revealBond;
        uint256 received = _pullFunds(p.token, p.reward + fixedPart);
        if (received < fixedPart) revert FundingShortfall(received, fixedPart);
        uint256 reward = received - fixedPart; // what arrived for the reward: never over-credits

        b.token = p.token;
        b.deadline = p.deadline;
        b.stake = p.stake;
        b.batchSize = p.batchSize;
        b.maxBatches = p.maxBatches;
        b.target = p.target;
        b.higherIsBetter = p.higherIsBetter;
        b.trustSingleOracle = p.trustSingleOracle;
        b.committeeSize = uint8(p.committee.length);
        b.requester = msg.sender;
        b.createdAt = uint64(block.timestamp);
        b.scoringTimeout = p.scoringTimeout;
        b.reward = uint128(reward);
        b.oracleFeePerBatch = p.oracleFeePerBatch;
        b.revealBond = p.revealBond;
        b.slashBps = p.slashBps;
        b.slashMargin = p.slashMargin;
        b.tolerance = p.tolerance;
        b.revealWindow = p.revealWindow;
        b.validationCommitment = p.validationCommitment;
        (uint256[4] memory packed, uint8 n) = RewardMath.pack(p.curveX, p.curveY);
        _curves[bountyId] = packed;
        b.curveLength = n;

        IOracleRegistry registry = IOracleRegistry(oracleRegistry);
        for (uint256 i = 0; i < p.committee.length; ++i) {
            address member = p.committee[i];
            if (member == msg.sender || _memberIndex[bountyId][member] != 0 || !registry.isEligible(member)) {
                revert CommitteeMemberInvalid(member);
            }
            _memberIndex[bountyId][member] = i + 1;
        }
        _committees[bountyId] = p.committee;

        emit BountyOpened(bountyId, msg.sender, p.token, reward, msg.data[4:]);
    }

    /// @inheritdoc IBountyMarketActions
    function topUp(uint256 bountyId, uint256 amount) external payable nonReentrant {
        _requireNotEnded(bountyId);
        Bounty storage b = _bounties[bountyId];
        uint256 received = _pullFunds(b.token, amount);
        uint256 reward = b.reward + received;
        b.reward = uint128(reward);
        emit BountyFunded(bountyId, msg.sender, received, reward);
    }

    /// @inheritdoc IBountyMarketActions
    function cancel(uint256 bountyId) external onlyRequester(bountyId) {
        _requireNotEnded(bountyId);
        Bounty storage b = _bounties[bountyId];
        b.cancelled = true;
        b.endedAt = uint64(block.timestamp);
        emit BountyCancelled(bountyId);
    }

    /// @inheritdoc IBountyMarketActions
    function close(uint256 bountyId) public {
        _requireState(bountyId, BountyState.Settling);
        Bounty storage b = _bounties[bountyId];
        uint256 batches = _batchCount(b);
        if (b.nextBatch < batches) revert BatchesPending(bountyId, b.nextBatch, batches);
        b.closedAt = uint64(block.timestamp);
        // slither-disable-next-line incorrect-equality (endedAt == 0 means "not ended yet", not a balance)
        if (b.endedAt == 0) b.endedAt = uint64(_endTime(b));
        uint256 rewardRefund = uint256(b.reward) - b.paid;
        uint256 feeRefund = uint256(b.oracleFeePerBatch) * b.maxBatches - b.feesPaid;
        _claimable[b.requester][b.token] += rewardRefund + feeRefund;
        emit BountyClosed(bountyId, rewardRefund, feeRefund);
    }

    /// @inheritdoc IBountyMarketActions
    function reveal(uint256 bountyId, Cid calldata validationCid, bytes32 validationKey, bytes32 salt, bytes32 modelKey)
        external
        onlyRequester(bountyId)
    {
        BountyState s = state(bountyId);
        if (s == BountyState.Settling) close(bountyId);
        else if (s != BountyState.Closed) revert BountyNotInState(bountyId, s, BountyState.Closed);
        Bounty storage b = _bounties[bountyId];
        if (keccak256(abi.encode(validationCid, validationKey, salt)) != b.validationCommitment) {
            revert CommitmentMismatch(bountyId);
        }
        b.revealed = true;
        if (!b.bondSettled) {
            b.bondSettled = true;
            _claimable[b.requester][b.token] += b.revealBond;
        }
        emit ValidationRevealed(bountyId, validationCid, validationKey, salt, modelKey);
    }

    // -------------------------------------------------------------- oracles

    /// @inheritdoc IBountyMarketActions
    function joinCommittee(uint256 bountyId) external {
        _requireNotEnded(bountyId);
        uint256 bit = _memberBit(bountyId, msg.sender);
        Bounty storage b = _bounties[bountyId];
        if (b.optedInMask & bit != 0) revert AlreadyOptedIn(bountyId, msg.sender);
        b.optedInMask |= uint16(bit);
        IOracleRegistry(oracleRegistry).bond(msg.sender);
        emit CommitteeJoined(bountyId, msg.sender);
    }

    /// @inheritdoc IBountyMarketActions
    function leaveCommittee(uint256 bountyId) external {
        BountyState s = state(bountyId);
        if (s != BountyState.Closed && s != BountyState.Revealed) revert BountyNotInState(bountyId, s, BountyState.Closed);
        uint256 bit = _memberBit(bountyId, msg.sender);
        Bounty storage b = _bounties[bountyId];
        if (b.optedInMask & bit == 0 || b.releasedMask & bit != 0) revert NotOptedIn(bountyId, msg.sender);
        b.releasedMask |= uint16(bit);
        IOracleRegistry(oracleRegistry).release(msg.sender);
        emit CommitteeLeft(bountyId, msg.sender);
    }

    /// @inheritdoc IBountyMarketActions
    function reportBaseline(uint256 bountyId, uint32 score) external {
        _requireState(bountyId, BountyState.AwaitingBaseline);
        if (score == RewardMath.INVALID) revert InvalidScore(score);
        Bounty storage b = _bounties[bountyId];
        uint256 bit = _memberBit(bountyId, msg.sender);
        if (b.optedInMask & bit == 0) revert NotOptedIn(bountyId, msg.sender);
        if (b.baselineMask & bit != 0) revert AlreadyReported(bountyId, type(uint256).max, msg.sender);
        b.baselineMask |= uint16(bit);
        _baselineReports[bountyId][_memberIndex[bountyId][msg.sender] - 1] = score;
        emit BaselineReported(bountyId, msg.sender, score);
        if (_popcount(b.baselineMask) == b.committeeSize) _setBaseline(bountyId, b);
    }

    /// @inheritdoc IBountyMarketActions
    function settleBaseline(uint256 bountyId) external {
        _requireState(bountyId, BountyState.AwaitingBaseline);
        Bounty storage b = _bounties[bountyId];
        uint256 reports = _popcount(b.baselineMask);
        uint256 needed = _quorum(b);
        if (reports < needed || block.timestamp < uint256(b.createdAt) + b.scoringTimeout) {
            revert BaselineNotReady(bountyId, reports, needed);
        }
        _setBaseline(bountyId, b);
    }

    /// @inheritdoc IBountyMarketActions
    function report(uint256 bountyId, uint256 batch, bytes calldata scores, Cid calldata merged) external {
        Bounty storage b = _bounties[bountyId];
        Batch storage bt = _batches[bountyId][batch];
        if (!_reportable(b, bt, batch)) revert BatchNotReportable(bountyId, batch);
        uint256 member = _memberIndex[bountyId][msg.sender];
        if (member == 0) revert NotCommitteeMember(bountyId, msg.sender);
        uint256 bit = 1 << (member - 1);
        if (b.optedInMask & bit == 0) revert NotOptedIn(bountyId, msg.sender);
        if (bt.reportedMask & bit != 0) revert AlreadyReported(bountyId, batch, msg.sender);
        uint256 n = _batchSubmissions(b, batch);
        if (scores.length != 4 * n) revert WrongScoreCount(4 * n, scores.length);
        bt.reportedMask |= uint16(bit);
        _reportHashes[_reportKey(bountyId, batch, member - 1)] = _hashReport(scores, merged);
        emit ReportPosted(bountyId, batch, msg.sender, scores, merged);
    }

    /// @inheritdoc IBountyMarketActions
    // slither-disable-next-line reentrancy-no-eth (the only external call is to the immutable oracle registry, which calls nothing back; the function is nonReentrant and its slashed ETH can only be shared after it arrives)
    function settleBatch(uint256 bountyId, uint256 batch, SubmissionRecord[] calldata records, BatchReport[] calldata reports)
        external
        nonReentrant
    {
        Settlement memory st = _beginSettlement(bountyId, batch, records);
        uint256[] memory members = _checkReports(st, reports);
        Bounty storage b = _bounties[bountyId];
        st.headKey = RewardMath.key(b.headScore, b.higherIsBetter);
        uint64[] memory medians = _medians(b, st, reports);
        _decide(b, st, records, medians, reports);
        _finishBatch(b, _batches[bountyId][batch], batch);
        // slither-disable-next-line incorrect-equality (endedAt == 0 means "not ended yet", not a balance)
        if (b.endedAt == 0 && _targetReached(b)) b.endedAt = uint64(block.timestamp);
        // Effects are done; the only external calls left are to the oracle registry (immutable,
        // deployed with this market), and their ETH is shared after them.
        _payOracles(b, st, members);
        _shareOracleSlash(st, records);
    }

    /// @inheritdoc IBountyMarketActions
    // slither-disable-next-line reentrancy-no-eth (the only external call is to the immutable oracle registry, which calls nothing back; the function is nonReentrant and its slashed ETH can only be shared after it arrives)
    function voidBatch(uint256 bountyId, uint256 batch, SubmissionRecord[] calldata records) external nonReentrant {
        Settlement memory st = _beginSettlement(bountyId, batch, records);
        Bounty storage b = _bounties[bountyId];
        Batch storage bt = _batches[bountyId][batch];
        uint256 m = _popcount(bt.reportedMask);
        if (block.timestamp < _timeoutAt(b, bt) || m >= _quorum(b)) revert BatchNotVoidable(bountyId, batch);
        uint256 reported = bt.reportedMask;
        _finishBatch(b, bt, batch);
        address token = b.token;
        for (uint256 i = 0; i < st.n; ++i) {
            _claimable[records[i].contributor][token] += records[i].stake;
        }
        emit BatchVoided(bountyId, batch, m);

        // opted-in members that did not report lose part of their stake
        uint256 silent = b.optedInMask & ~reported;
        address[] storage committee = _committees[bountyId];
        for (uint256 i = 0; silent != 0; ++i) {
            if (silent & (1 << i) != 0) {
                silent &= ~(1 << i);
                uint256 amount = IOracleRegistry(oracleRegistry).slash(committee[i]);
                st.ethSlashed += amount;
                emit OracleSlashed(bountyId, batch, committee[i], amount);
            }
        }
        _shareOracleSlash(st, records);
    }

    // ---------------------------------------------------------- contributors

    /// @inheritdoc IBountyMarketActions
    function submitUpdate(uint256 bountyId, uint32 baseVersion, Cid calldata update)
        external
        payable
        nonReentrant
        whenNotPaused
        returns (uint256 submissionId)
    {
        Bounty storage b = _bounties[bountyId];
        _checkSubmission(bountyId, b, baseVersion, update);
        uint256 received = _pullFunds(b.token, b.stake);
        // slither-disable-next-line incorrect-equality (a token that delivered nothing; no balance is compared)
        if (received == 0) revert FundingShortfall(0, b.stake);
        return _record(bountyId, b, baseVersion, update, uint96(received));
    }

    /// @inheritdoc IBountyMarketActions
    function submitUpdateFromBalance(uint256 bountyId, uint32 baseVersion, Cid calldata update)
        external
        nonReentrant
        whenNotPaused
        returns (uint256 submissionId)
    {
        Bounty storage b = _bounties[bountyId];
        _checkSubmission(bountyId, b, baseVersion, update);
        uint96 stake = b.stake;
        uint256 available = _claimable[msg.sender][b.token];
        if (available < stake) revert InsufficientClaimable(msg.sender, b.token, available, stake);
        _claimable[msg.sender][b.token] = available - stake;
        return _record(bountyId, b, baseVersion, update, stake);
    }

    // ---------------------------------------------------------------- claims

    /// @inheritdoc IBountyMarketActions
    function claim(address token) external nonReentrant {
        _claim(token, msg.sender);
    }

    /// @inheritdoc IBountyMarketActions
    function claimTo(address token, address to) external nonReentrant {
        if (to == address(0)) revert InvalidParameter("to");
        _claim(token, to);
    }

    /// @inheritdoc IBountyMarketActions
    function burn(address token) external nonReentrant {
        uint256 amount = _pendingBurn[token];
        if (amount == 0) revert NothingToClaim(BURN_ADDRESS, token);
        _pendingBurn[token] = 0;
        emit Burned(token, amount);
        _pushFunds(token, BURN_ADDRESS, amount);
    }

    // ----------------------------------------------------------------- admin

    /// @inheritdoc IBountyMarketActions
    function setGuardian(address guardian_) external onlyOwner {
        _guardian = guardian_;
        emit GuardianSet(guardian_);
    }

    /// @inheritdoc IBountyMarketActions
    function pause() external {
        if (msg.sender != _guardian) revert NotGuardian(msg.sender);
        _pause();
    }

    /// @inheritdoc IBountyMarketActions
    function unpause() external {
        if (msg.sender != _guardian) revert NotGuardian(msg.sender);
        _unpause();
    }

    // -------------------------------------------------------------- internal

    function _checkSubmission(uint256 bountyId, Bounty storage b, uint32 baseVersion, Cid calldata update) private view {
        BountyState s = state(bountyId);
        if (s != BountyState.Open) revert BountyNotInState(bountyId, s, BountyState.Open);
        if (baseVersion > b.versionCount) revert BaseVersionUnknown(bountyId, baseVersion, b.versionCount);
        if (b.submissionCount / b.batchSize >= b.maxBatches) revert BatchLimitReached(bountyId, b.maxBatches);
        _checkCid(update);
    }

    /// @dev AwaitingBaseline or Open: the bounty has not ended.
    function _requireNotEnded(uint256 bountyId) private view {
        BountyState s = state(bountyId);
        if (s != BountyState.Open && s != BountyState.AwaitingBaseline) revert BountyNotInState(bountyId, s, BountyState.Open);
    }

    /// @dev Appends the submission to its batch's rolling hash (checked by _checkSubmission).
    function _record(uint256 bountyId, Bounty storage b, uint32 baseVersion, Cid calldata update, uint96 stake)
        private
        returns (uint256 submissionId)
    {
        submissionId = b.submissionCount;
        uint256 batchSize = b.batchSize;
        uint256 batch = submissionId / batchSize;
        b.submissionCount = uint32(submissionId + 1);
        Batch storage bt = _batches[bountyId][batch];
        bt.recordsHash = _chain(bt.recordsHash, msg.sender, stake, baseVersion, update.digest, update.codec);
        if ((submissionId + 1) % batchSize == 0) bt.filledAt = uint64(block.timestamp);
        emit SubmissionReceived(bountyId, submissionId, msg.sender, batch, baseVersion, update, stake);
    }

    function _setBaseline(uint256 bountyId, Bounty storage b) private {
        uint256 mask = b.baselineMask;
        uint64[] memory keys = new uint64[](_popcount(mask));
        uint256 j = 0;
        for (uint256 i = 0; i < MAX_COMMITTEE && j < keys.length; ++i) {
            if (mask & (1 << i) != 0) keys[j++] = RewardMath.key(_baselineReports[bountyId][i], b.higherIsBetter);
        }
        uint32 score = RewardMath.scoreOf(RewardMath.lowerMedian(keys), b.higherIsBetter);
        b.baselineScore = score;
        b.headScore = score;
        b.baselineSet = true;
        b.lastSettledAt = uint64(block.timestamp);
        if (_targetReached(b)) b.endedAt = uint64(block.timestamp);
        emit BaselineSet(bountyId, score, keys.length);
    }

    /// @dev The batch must be the next to decide, and `records` exactly what its hash commits to.
    function _beginSettlement(uint256 bountyId, uint256 batch, SubmissionRecord[] calldata records)
        private
        view
        returns (Settlement memory st)
    {
        Bounty storage b = _bounties[bountyId];
        Batch storage bt = _batches[bountyId][batch];
        if (!_reportable(b, bt, batch)) revert BatchNotReportable(bountyId, batch);
        st.bountyId = bountyId;
        st.batch = batch;
        st.n = _batchSubmissions(b, batch);
        st.firstId = batch * b.batchSize;
        if (records.length != st.n) revert RecordsMismatch(bountyId, batch);
        bytes32 h = bytes32(0);
        for (uint256 i = 0; i < records.length; ++i) {
            SubmissionRecord calldata r = records[i];
            h = _chain(h, r.contributor, r.stake, r.baseVersion, r.update.digest, r.update.codec);
        }
        if (h != bt.recordsHash) revert RecordsMismatch(bountyId, batch);
    }

    function _finishBatch(Bounty storage b, Batch storage bt, uint256 batch) private {
        bt.decided = true;
        bt.recordsHash = bytes32(0); // gas refund; the events keep the record
        b.nextBatch = uint32(batch + 1);
        b.lastSettledAt = uint64(block.timestamp);
    }

    /// @dev Every opted-in member reported, or the timeout passed with a quorum. Reports come
    ///      in committee order of the reporters, each matching its stored hash, which is then
    ///      freed (gas refund; the events keep the record). Returns the reporters' member indices.
    function _checkReports(Settlement memory st, BatchReport[] calldata reports) private returns (uint256[] memory members) {
        Bounty storage b = _bounties[st.bountyId];
        Batch storage bt = _batches[st.bountyId][st.batch];
        uint256 mask = bt.reportedMask;
        uint256 m = _popcount(mask);
        if (mask != b.optedInMask || m == 0) {
            uint256 timeoutAt = _timeoutAt(b, bt);
            if (block.timestamp < timeoutAt || m < _quorum(b)) revert BatchNotReady(st.bountyId, st.batch, m, timeoutAt);
        }
        if (reports.length != m) revert WrongScoreCount(m, reports.length);
        members = new uint256[](m);
        uint256 j = 0;
        for (uint256 i = 0; mask != 0; ++i) {
            if (mask & (1 << i) != 0) {
                mask &= ~(1 << i);
                bytes32 slotKey = _reportKey(st.bountyId, st.batch, i);
                if (_reportHashes[slotKey] != _hashReport(reports[j].scores, reports[j].merged)) {
                    revert ReportMismatch(st.bountyId, st.batch, j);
                }
                delete _reportHashes[slotKey];
                members[j++] = i;
            }
        }
    }

    /// @dev Lower median of the reported keys per submission; marks oracles whose report
    ///      lies further than the tolerance from it, and finds the best candidate.
    function _medians(Bounty storage b, Settlement memory st, BatchReport[] calldata reports)
        private
        view
        returns (uint64[] memory medians)
    {
        uint256 m = reports.length;
        bool higher = b.higherIsBetter;
        uint64 tolerance = b.tolerance;
        medians = new uint64[](st.n);
        uint64[] memory keys = new uint64[](m);
        uint64[] memory sorted = new uint64[](m);
        for (uint256 i = 0; i < st.n; ++i) {
            for (uint256 r = 0; r < m; ++r) {
                keys[r] = RewardMath.key(_scoreAt(reports[r].scores, i), higher);
                sorted[r] = keys[r];
            }
            uint64 med = RewardMath.lowerMedian(sorted);
            medians[i] = med;
            for (uint256 r = 0; r < m; ++r) {
                uint64 k = keys[r];
                bool deviant = (k == 0) != (med == 0) || (k > med ? k - med : med - k) > tolerance;
                if (deviant) st.deviantMask |= 1 << r;
            }
            if (med > st.headKey && med > st.bestKey) {
                st.bestKey = med;
                st.bestIndex = i;
            }
        }
    }

    /// @dev At most one version per batch: the best candidate that beats the head as it
    ///      stood when the batch became reportable. Every other submission is compared to
    ///      that same head: rejected, or slashed when invalid or worse by more than the margin.
    function _decide(
        Bounty storage b,
        Settlement memory st,
        SubmissionRecord[] calldata records,
        uint64[] memory medians,
        BatchReport[] calldata reports
    ) private {
        address token = b.token;
        if (st.bestKey != 0) st.merged = _mergedFor(reports, st.bestIndex, b.higherIsBetter);
        for (uint256 i = 0; i < st.n; ++i) {
            uint256 payout = _outcome(b, st, records[i], medians[i], i);
            if (payout != 0) _claimable[records[i].contributor][token] += payout;
        }
        if (st.burned != 0) _pendingBurn[token] += st.burned;
    }

    /// @dev Decide submission i of the batch; returns what its contributor gets back.
    function _outcome(
        Bounty storage b,
        Settlement memory st,
        SubmissionRecord calldata r,
        uint64 med,
        uint256 i
    ) private returns (uint256 payout) {
        payout = r.stake;
        if (st.bestKey != 0 && i == st.bestIndex) return payout + _accept(b, st, r, med, i);
        uint32 score = med == 0 ? RewardMath.INVALID : RewardMath.scoreOf(med, b.higherIsBetter);
        if (med == 0 || uint256(med) + b.slashMargin < st.headKey) {
            uint256 slashed = (uint256(r.stake) * b.slashBps) / BPS;
            st.burned += slashed;
            payout -= slashed;
            emit StakeSlashed(st.bountyId, st.firstId + i, r.contributor, score, slashed, payout);
        } else {
            emit SubmissionRejected(st.bountyId, st.firstId + i, r.contributor, score);
        }
    }

    function _accept(Bounty storage b, Settlement memory st, SubmissionRecord calldata r, uint64 med, uint256 i)
        private
        returns (uint256 reward)
    {
        uint256 version = uint256(b.versionCount) + 1;
        {
            bool higher = b.higherIsBetter;
            uint256 p = RewardMath.progress(med, RewardMath.key(b.baselineScore, higher), RewardMath.key(b.target, higher));
            reward = RewardMath.rewardFor(b.reward, b.paid, RewardMath.curveAt(_curves[st.bountyId], b.curveLength, p));
            b.headScore = RewardMath.scoreOf(med, higher);
        }
        b.paid += uint128(reward);
        b.versionCount = uint32(version);
        _versionAuthors[st.bountyId][version] = r.contributor;
        emit VersionAccepted(
            st.bountyId, version, r.contributor, version - 1, st.firstId + i, b.headScore, r.update, st.merged, reward
        );
    }

    /// @dev The merged-model CID most reports name among those whose own best candidate is
    ///      submission i (reports name the merged model of their own best; zero if none).
    function _mergedFor(BatchReport[] calldata reports, uint256 i, bool higher) private pure returns (Cid memory merged) {
        uint256 bestVotes = 0;
        for (uint256 r = 0; r < reports.length; ++r) {
            if (reports[r].merged.digest == bytes32(0) || _ownBest(reports[r].scores, higher) != i) continue;
            uint256 votes = 0;
            for (uint256 q = 0; q < reports.length; ++q) {
                if (reports[q].merged.digest == reports[r].merged.digest && reports[q].merged.codec == reports[r].merged.codec) {
                    ++votes;
                }
            }
            if (votes > bestVotes) {
                bestVotes = votes;
                merged = reports[r].merged;
            }
        }
    }

    function _ownBest(bytes calldata scores, bool higher) private pure returns (uint256 best) {
        uint64 bestKey = 0;
        uint256 n = scores.length / 4;
        for (uint256 i = 0; i < n; ++i) {
            uint64 k = RewardMath.key(_scoreAt(scores, i), higher);
            if (k > bestKey) {
                bestKey = k;
                best = i;
            }
        }
    }

    /// @dev Oracles within tolerance share the batch's fee; the others are slashed and their
    ///      ETH is shared by the batch's contributors.
    function _payOracles(Bounty storage b, Settlement memory st, uint256[] memory members) private {
        address[] storage committee = _committees[st.bountyId];
        uint256 good = members.length - _popcount(st.deviantMask);
        uint256 share = good == 0 ? 0 : uint256(b.oracleFeePerBatch) / good;
        address token = b.token;
        // slither-disable-next-line divide-before-multiply (share rounds down on purpose: the dust stays with the requester)
        b.feesPaid += uint96(share * good);
        emit BatchSettled(st.bountyId, st.batch, members.length, share);
        for (uint256 r = 0; r < members.length && share != 0; ++r) {
            if (st.deviantMask & (1 << r) == 0) _claimable[committee[members[r]]][token] += share;
        }
        for (uint256 r = 0; r < members.length; ++r) {
            if (st.deviantMask & (1 << r) != 0) {
                address oracle = committee[members[r]];
                uint256 amount = IOracleRegistry(oracleRegistry).slash(oracle);
                st.ethSlashed += amount;
                emit OracleSlashed(st.bountyId, st.batch, oracle, amount);
            }
        }
    }

    /// @dev Slashed oracle ETH goes to the batch's contributors in equal shares; dust is burned.
    function _shareOracleSlash(Settlement memory st, SubmissionRecord[] calldata records) private {
        if (st.ethSlashed == 0) return;
        uint256 each = st.ethSlashed / st.n;
        for (uint256 i = 0; i < st.n && each != 0; ++i) {
            _claimable[records[i].contributor][ETH] += each;
        }
        // slither-disable-next-line divide-before-multiply (equal shares round down; the dust is burned)
        uint256 dust = st.ethSlashed - each * st.n;
        if (dust != 0) _pendingBurn[ETH] += dust;
    }

    function _claim(address token, address to) private {
        uint256 amount = _claimable[msg.sender][token];
        if (amount == 0) revert NothingToClaim(msg.sender, token);
        _claimable[msg.sender][token] = 0; // effects before the transfer
        emit Claimed(msg.sender, token, to, amount);
        _pushFunds(token, to, amount);
    }

    /// @dev Takes `amount` from the sender and returns what actually arrived.
    function _pullFunds(address token, uint256 amount) private returns (uint256 received) {
        if (token == ETH) {
            if (msg.value != amount) revert WrongPayment(amount, msg.value);
            return amount;
        }
        if (msg.value != 0) revert WrongPayment(0, msg.value);
        if (amount == 0) return 0;
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
        received = IERC20(token).balanceOf(address(this)) - before;
    }

    function _pushFunds(address token, address to, uint256 amount) private {
        if (token == ETH) {
            // slither-disable-next-line arbitrary-send-eth (pays only the caller's own claimable, to the address the caller chose)
            (bool ok,) = to.call{value: amount}("");
            if (!ok) revert EthTransferFailed(to, amount);
        } else {
            IERC20(token).safeTransfer(to, amount);
        }
    }

    function _validateParams(BountyParams calldata p) private view {
        if (p.stake == 0) revert InvalidParameter("stake");
        if (p.batchSize == 0 || p.batchSize > MAX_BATCH_SIZE) revert InvalidParameter("batchSize");
        if (p.maxBatches == 0) revert InvalidParameter("maxBatches");
        if (p.slashBps > BPS) revert InvalidParameter("slashBps");
        if (p.scoringTimeout == 0) revert InvalidParameter("scoringTimeout");
        if (p.deadline <= block.timestamp) revert InvalidParameter("deadline");
        if (p.target == RewardMath.INVALID) revert InvalidParameter("target");
        if (p.reward > type(uint128).max) revert InvalidParameter("reward");
        uint256 size = p.committee.length;
        if (p.trustSingleOracle ? size != 1 : (size < QUORUM || size > MAX_COMMITTEE)) revert InvalidParameter("committee");
        _checkCid(p.initialModel);
        _checkCid(p.keyring);
    }

    function _memberBit(uint256 bountyId, address account) private view returns (uint256) {
        uint256 index = _memberIndex[bountyId][account];
        if (index == 0) revert NotCommitteeMember(bountyId, account);
        return 1 << (index - 1);
    }

    function _chain(bytes32 h, address contributor, uint96 stake, uint32 baseVersion, bytes32 digest, uint8 codec)
        private
        pure
        returns (bytes32)
    {
        return keccak256(abi.encodePacked(h, contributor, stake, baseVersion, digest, codec));
    }

    function _hashReport(bytes calldata scores, Cid calldata merged) private pure returns (bytes32) {
        return keccak256(abi.encodePacked(scores, merged.digest, merged.codec));
    }

    function _scoreAt(bytes calldata scores, uint256 i) private pure returns (uint32) {
        return uint32(bytes4(scores[4 * i:4 * i + 4]));
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IBountyMarketActions
    function state(uint256 bountyId) public view returns (BountyState) {
        return _state(bountyId);
    }

    /// @inheritdoc IBountyMarketActions
    function claimable(address account, address token) external view returns (uint256) {
        return _claimable[account][token];
    }

    /// @inheritdoc IBountyMarketActions
    function pendingBurn(address token) external view returns (uint256) {
        return _pendingBurn[token];
    }

}

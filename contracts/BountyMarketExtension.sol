// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IBountyMarketExtension} from "../interfaces/IBountyMarket.sol";
import {RewardMath} from "./libraries/RewardMath.sol";
import {BountyMarketStorage} from "./BountyMarketStorage.sol";

/// @title BountyMarketExtension
/// @notice The market's getters and its rarely used actions (keyring, initial model, cancel,
///         close, reveal, bond forfeiture, the guardian's pause). BountyMarket's fallback
///         delegatecalls this contract, so it reads and writes the market's storage and
///         emits from the market's address; this keeps BountyMarket under the EIP-170
///         size limit. Called directly, it sees an empty market of its own.
contract BountyMarketExtension is BountyMarketStorage, IBountyMarketExtension {
    /// @inheritdoc IBountyMarketExtension
    function setKeyring(uint256 bountyId, Cid calldata keyring) external onlyRequester(bountyId) {
        _checkCid(keyring);
        emit KeyringSet(bountyId, keyring);
    }

    /// @inheritdoc IBountyMarketExtension
    function setInitialModel(uint256 bountyId, Cid calldata model) external onlyRequester(bountyId) {
        _requireState(bountyId, BountyState.AwaitingBaseline);
        if (_bounties[bountyId].baselineMask != 0) revert BountyNotInState(bountyId, BountyState.Open, BountyState.AwaitingBaseline);
        _checkCid(model);
        emit InitialModelSet(bountyId, model);
    }

    /// @inheritdoc IBountyMarketExtension
    function cancel(uint256 bountyId) external onlyRequester(bountyId) {
        _requireNotEnded(bountyId);
        Bounty storage b = _bounties[bountyId];
        b.status |= F_CANCELLED | F_ENDED;
        b.scoring = _stamp(b.scoring, SC_ENDED_AT);
        emit BountyCancelled(bountyId);
    }

    /// @inheritdoc IBountyMarketExtension
    function close(uint256 bountyId) public {
        _requireState(bountyId, BountyState.Settling);
        Bounty storage b = _bounties[bountyId];
        uint256 batches = _batchCount(b);
        uint256 status = b.status;
        uint256 nextBatch = _u(status, ST_NEXT_BATCH, 32);
        if (nextBatch < batches) revert BatchesPending(bountyId, nextBatch, batches);
        b.closedAt = uint64(block.timestamp);
        uint256 scoring = b.scoring;
        // slither-disable-next-line incorrect-equality (endedAt == 0 means "not ended by cancel or target", not a balance)
        if (_u(scoring, SC_ENDED_AT, 64) == 0) b.scoring = _set(scoring, SC_ENDED_AT, 64, _endTime(b));
        uint256 fees = b.fees;
        uint256 rewardRefund = uint256(b.reward) - b.paid;
        uint256 feeRefund = _u(fees, FE_FEE, 96) * _u(status, ST_MAX_BATCHES, 32) - _u(fees, FE_PAID, 96);
        _claimable[b.requester][_tokenOf(b.terms)] += rewardRefund + feeRefund;
        emit BountyClosed(bountyId, rewardRefund, feeRefund);
    }

    /// @inheritdoc IBountyMarketExtension
    function reveal(uint256 bountyId, Cid calldata validationCid, bytes32 validationKey, bytes32 salt, bytes32 modelKey)
        external
        onlyRequester(bountyId)
    {
        BountyState s = _state(bountyId);
        if (s == BountyState.Settling) close(bountyId);
        else if (s != BountyState.Closed) revert BountyNotInState(bountyId, s, BountyState.Closed);
        Bounty storage b = _bounties[bountyId];
        if (keccak256(abi.encode(validationCid, validationKey, salt)) != b.validationCommitment) {
            revert CommitmentMismatch(bountyId);
        }
        b.revealed = true;
        if (!b.bondSettled) {
            b.bondSettled = true;
            _claimable[b.requester][_tokenOf(b.terms)] += b.revealBond;
        }
        emit ValidationRevealed(bountyId, validationCid, validationKey, salt, modelKey);
    }

    /// @inheritdoc IBountyMarketExtension
    function forfeitBond(uint256 bountyId) external {
        _requireState(bountyId, BountyState.Closed);
        Bounty storage b = _bounties[bountyId];
        uint256 closesAt = uint256(b.closedAt) + b.revealWindow;
        if (block.timestamp <= closesAt) revert RevealWindowOpen(bountyId, closesAt);
        if (b.bondSettled) revert BondAlreadySettled(bountyId);
        b.bondSettled = true;
        uint256 versions = _u(b.status, ST_VERSIONS, 32);
        // slither-disable-next-line incorrect-equality (a count, index, mask or flag from a packed word, not a time or a balance)
        uint256 share = versions == 0 ? 0 : b.revealBond / versions;
        // slither-disable-next-line divide-before-multiply (equal shares round down; the dust is burned)
        uint256 burned = b.revealBond - share * versions; // all of it when nobody was accepted
        _bondShares[bountyId] = share;
        _pendingBurn[_tokenOf(b.terms)] += burned;
        emit BondForfeited(bountyId, share, burned);
    }

    /// @inheritdoc IBountyMarketExtension
    function claimBondShare(uint256 bountyId, uint256 version) external {
        address author = _versionAuthors[bountyId][version];
        uint256 share = _bondShares[bountyId];
        // slither-disable-next-line incorrect-equality (a count, index, mask or flag from a packed word, not a time or a balance)
        if (author == address(0) || share == 0) revert NoBondShare(bountyId, version);
        delete _versionAuthors[bountyId][version]; // once per version
        _claimable[author][_tokenOf(_bounties[bountyId].terms)] += share;
    }

    /// @inheritdoc IBountyMarketExtension
    function getBounty(uint256 bountyId) external view returns (BountyView memory v) {
        _state(bountyId); // reverts for unknown ids
        Bounty storage b = _bounties[bountyId];
        uint256 terms = b.terms;
        uint256 status = b.status;
        uint256 scoring = b.scoring;
        uint256 fees = b.fees;
        v.requester = b.requester;
        v.token = _tokenOf(terms);
        v.reward = b.reward;
        v.paid = b.paid;
        v.stake = uint96(terms >> 160);
        v.oracleFeePerBatch = uint96(_u(fees, FE_FEE, 96));
        v.maxBatches = uint32(_u(status, ST_MAX_BATCHES, 32));
        v.revealBond = b.revealBond;
        v.slashBps = uint16(_u(fees, FE_SLASH_BPS, 16));
        v.batchSize = uint16(_u(status, ST_BATCH_SIZE, 16));
        v.scoringTimeout = b.scoringTimeout;
        v.deadline = uint64(_u(status, ST_DEADLINE, 64));
        v.revealWindow = b.revealWindow;
        v.higherIsBetter = status & F_HIGHER != 0;
        v.trustSingleOracle = status & F_SINGLE != 0;
        v.cancelled = status & F_CANCELLED != 0;
        v.baselineSet = status & F_BASELINE != 0;
        v.revealed = b.revealed;
        v.target = uint32(_u(scoring, SC_TARGET, 32));
        v.slashMargin = uint32(_u(fees, FE_SLASH_MARGIN, 32));
        v.tolerance = uint32(_u(scoring, SC_TOLERANCE, 32));
        v.baselineScore = uint32(_u(scoring, SC_BASELINE, 32));
        v.headScore = uint32(_u(scoring, SC_HEAD, 32));
        v.versionCount = uint32(_u(status, ST_VERSIONS, 32));
        v.submissionCount = uint32(b.intake & LOW32);
        v.nextBatch = uint32(_u(status, ST_NEXT_BATCH, 32));
        v.endedAt = _ended(status) ? uint64(_endTime(b)) : 0;
        v.closedAt = b.closedAt;
        v.feesPaid = _u(fees, FE_PAID, 96);
        v.validationCommitment = b.validationCommitment;
    }

    /// @inheritdoc IBountyMarketExtension
    function getCommittee(uint256 bountyId)
        external
        view
        returns (address[] memory members, uint256 optedInMask, uint256 baselineMask)
    {
        _state(bountyId);
        Bounty storage b = _bounties[bountyId];
        return (_committees[bountyId], _u(b.status, ST_OPTED_IN, 16), b.baselineMask);
    }

    /// @inheritdoc IBountyMarketExtension
    function getCurve(uint256 bountyId) external view returns (uint64[] memory xs, uint64[] memory ys) {
        _state(bountyId);
        uint256 n = _u(_bounties[bountyId].fees, FE_CURVE_LENGTH, 8);
        uint256[4] memory packed = _curves[bountyId];
        xs = new uint64[](n);
        ys = new uint64[](n);
        for (uint256 i = 0; i < n; ++i) {
            (uint256 x, uint256 y) = RewardMath.point(packed, i);
            xs[i] = uint64(x);
            ys[i] = uint64(y);
        }
    }

    /// @inheritdoc IBountyMarketExtension
    function getBatch(uint256 bountyId, uint256 batch)
        external
        view
        returns (bytes32 recordsHash, uint64 filledAt, uint16 reportedMask, bool decided, uint256 submissions, uint256 timeoutAt)
    {
        _state(bountyId);
        Bounty storage b = _bounties[bountyId];
        uint256 status = b.status;
        uint256 batchSize = _u(status, ST_BATCH_SIZE, 16);
        uint256 nextBatch = _u(status, ST_NEXT_BATCH, 32);
        submissions = _batchSubmissions(b.intake & LOW32, batchSize, batch);
        decided = batch < nextBatch;
        recordsHash = _recordsHash(bountyId, b, batch);
        // slither-disable-next-line incorrect-equality (a count, index, mask or flag from a packed word, not a time or a balance)
        if (!decided && submissions == batchSize) filledAt = uint64(_filledAt(_fullBatchHash(bountyId, b, status, batch)));
        // slither-disable-next-line incorrect-equality (a count, index, mask or flag from a packed word, not a time or a balance)
        if (batch == nextBatch) reportedMask = uint16(_u(status, ST_REPORTED, 16));
        uint256 n = _reportableSubmissions(b, status, batch);
        if (n != 0) timeoutAt = _timeoutAt(bountyId, b, batch, n);
    }

    /// @inheritdoc IBountyMarketExtension
    function reportHash(uint256 bountyId, uint256 batch, uint256 memberIndex) external view returns (bytes32) {
        Bounty storage b = _bounties[bountyId];
        uint256 status = b.status;
        if (batch != _u(status, ST_NEXT_BATCH, 32) || memberIndex >= MAX_COMMITTEE) return bytes32(0);
        if ((status >> ST_REPORTED) & (1 << memberIndex) == 0) return bytes32(0);
        return bytes32(_members[bountyId][_committees[bountyId][memberIndex]] & HASH_MASK);
    }

    /// @inheritdoc IBountyMarketExtension
    function versionAuthor(uint256 bountyId, uint256 version) external view returns (address) {
        return _versionAuthors[bountyId][version];
    }

    /// @inheritdoc IBountyMarketExtension
    function payoutRoot(uint256 bountyId, uint256 batch, uint256 group) external view returns (bytes32 root, uint32 claimed) {
        if (group > 7) revert InvalidParameter("group"); // a batch holds at most 256 submissions
        uint256 word = _payouts[bountyId][(batch << 3) | group];
        return (bytes32(word & HASH_MASK), uint32(word));
    }

    /// @inheritdoc IBountyMarketExtension
    function bondShare(uint256 bountyId) external view returns (uint256) {
        return _bondShares[bountyId];
    }

    // -------------------------------------------- the guardian (rule A2) and small getters

    /// @inheritdoc IBountyMarketExtension
    function pause() external {
        uint256 g = _guardianOnly();
        if (g & GUARD_PAUSED != 0) revert EnforcedPause();
        _guard = g | GUARD_PAUSED;
        emit Paused(msg.sender);
    }

    /// @inheritdoc IBountyMarketExtension
    function unpause() external {
        uint256 g = _guardianOnly();
        if (g & GUARD_PAUSED == 0) revert ExpectedPause();
        _guard = g & ~GUARD_PAUSED;
        emit Unpaused(msg.sender);
    }

    function _guardianOnly() private view returns (uint256 g) {
        g = _guard;
        if (msg.sender != address(uint160(g))) revert NotGuardian(msg.sender);
        if (g & GUARD_LOCKED != 0) revert ReentrancyGuardReentrantCall();
    }

    /// @inheritdoc IBountyMarketExtension
    function paused() external view returns (bool) {
        return _guard & GUARD_PAUSED != 0;
    }

    /// @inheritdoc IBountyMarketExtension
    function guardian() external view returns (address) {
        return address(uint160(_guard));
    }

    /// @inheritdoc IBountyMarketExtension
    function bountyCount() external view returns (uint256) {
        return _bountyCount;
    }

    /// @inheritdoc IBountyMarketExtension
    function state(uint256 bountyId) external view returns (BountyState) {
        return _state(bountyId);
    }

    /// @inheritdoc IBountyMarketExtension
    function claimable(address account, address token) external view returns (uint256) {
        return _claimable[account][token] & ~KEPT;
    }

    /// @inheritdoc IBountyMarketExtension
    function pendingBurn(address token) external view returns (uint256) {
        return _pendingBurn[token];
    }
}

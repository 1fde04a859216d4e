// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IBountyMarketExtension} from "../interfaces/IBountyMarket.sol";
import {RewardMath} from "./libraries/RewardMath.sol";
import {BountyMarketStorage} from "./BountyMarketStorage.sol";

/// @title BountyMarketExtension
/// @notice The market's larger getters and its rarely used requester/claim actions
///         (keyring, initial model, bond forfeiture). BountyMarket's fallback
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
    function forfeitBond(uint256 bountyId) external {
        _requireState(bountyId, BountyState.Closed);
        Bounty storage b = _bounties[bountyId];
        uint256 closesAt = uint256(b.closedAt) + b.revealWindow;
        if (block.timestamp <= closesAt) revert RevealWindowOpen(bountyId, closesAt);
        if (b.bondSettled) revert BondAlreadySettled(bountyId);
        b.bondSettled = true;
        uint256 versions = b.versionCount;
        uint256 share = versions == 0 ? 0 : b.revealBond / versions;
        // slither-disable-next-line divide-before-multiply (equal shares round down; the dust is burned)
        uint256 burned = b.revealBond - share * versions; // all of it when nobody was accepted
        _bondShares[bountyId] = share;
        _pendingBurn[b.token] += burned;
        emit BondForfeited(bountyId, share, burned);
    }

    /// @inheritdoc IBountyMarketExtension
    function claimBondShare(uint256 bountyId, uint256 version) external {
        address author = _versionAuthors[bountyId][version];
        uint256 share = _bondShares[bountyId];
        if (author == address(0) || share == 0) revert NoBondShare(bountyId, version);
        delete _versionAuthors[bountyId][version]; // once per version
        _claimable[author][_bounties[bountyId].token] += share;
    }

    /// @inheritdoc IBountyMarketExtension
    function getBounty(uint256 bountyId) external view returns (BountyView memory v) {
        _state(bountyId); // reverts for unknown ids
        Bounty storage b = _bounties[bountyId];
        v.requester = b.requester;
        v.token = b.token;
        v.reward = b.reward;
        v.paid = b.paid;
        v.stake = b.stake;
        v.oracleFeePerBatch = b.oracleFeePerBatch;
        v.maxBatches = b.maxBatches;
        v.revealBond = b.revealBond;
        v.slashBps = b.slashBps;
        v.batchSize = b.batchSize;
        v.scoringTimeout = b.scoringTimeout;
        v.deadline = b.deadline;
        v.revealWindow = b.revealWindow;
        v.higherIsBetter = b.higherIsBetter;
        v.trustSingleOracle = b.trustSingleOracle;
        v.cancelled = b.cancelled;
        v.baselineSet = b.baselineSet;
        v.revealed = b.revealed;
        v.target = b.target;
        v.slashMargin = b.slashMargin;
        v.tolerance = b.tolerance;
        v.baselineScore = b.baselineScore;
        v.headScore = b.headScore;
        v.versionCount = b.versionCount;
        v.submissionCount = b.submissionCount;
        v.nextBatch = b.nextBatch;
        v.endedAt = _ended(b) ? uint64(_endTime(b)) : 0;
        v.closedAt = b.closedAt;
        v.feesPaid = b.feesPaid;
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
        return (_committees[bountyId], b.optedInMask, b.baselineMask);
    }

    /// @inheritdoc IBountyMarketExtension
    function getCurve(uint256 bountyId) external view returns (uint64[] memory xs, uint64[] memory ys) {
        _state(bountyId);
        uint256 n = _bounties[bountyId].curveLength;
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
        Batch storage bt = _batches[bountyId][batch];
        bool reportable = _reportable(b, bt, batch);
        return (
            bt.recordsHash,
            bt.filledAt,
            bt.reportedMask,
            bt.decided,
            _batchSubmissions(b, batch),
            reportable ? _timeoutAt(b, bt) : 0
        );
    }

    /// @inheritdoc IBountyMarketExtension
    function reportHash(uint256 bountyId, uint256 batch, uint256 memberIndex) external view returns (bytes32) {
        return _reportHashes[_reportKey(bountyId, batch, memberIndex)];
    }

    /// @inheritdoc IBountyMarketExtension
    function versionAuthor(uint256 bountyId, uint256 version) external view returns (address) {
        return _versionAuthors[bountyId][version];
    }

    /// @inheritdoc IBountyMarketExtension
    function bondShare(uint256 bountyId) external view returns (uint256) {
        return _bondShares[bountyId];
    }
}

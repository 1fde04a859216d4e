// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IBountyMarketErrors} from "../interfaces/IBountyMarket.sol";
import {RewardMath} from "./libraries/RewardMath.sol";

/// @title BountyMarketStorage
/// @notice The market's state and the read-only helpers that derive from it, shared by
///         BountyMarket and BountyMarketExtension. It must stay the first base of both, so
///         that its variables take the same slots in each (the extension runs by delegatecall).
abstract contract BountyMarketStorage is IBountyMarketErrors {
    /// @dev Packed so that submitUpdate touches two slots of the bounty (hot + limits).
    struct Bounty {
        // slot 0 (written on every submit)
        address token;
        uint64 deadline;
        uint32 submissionCount;
        // slot 1 (read on every submit)
        uint96 stake;
        uint16 batchSize;
        uint32 maxBatches;
        uint32 headScore;
        uint32 target;
        bool higherIsBetter;
        bool cancelled;
        bool baselineSet;
        bool trustSingleOracle;
        uint8 committeeSize;
        // slot 2
        address requester;
        uint64 createdAt;
        uint32 scoringTimeout;
        // slot 3
        uint128 reward;
        uint128 paid;
        // slot 4
        uint96 oracleFeePerBatch;
        uint96 revealBond;
        uint16 slashBps;
        uint32 slashMargin;
        // slot 5 (settlement)
        uint32 nextBatch;
        uint32 versionCount;
        uint32 baselineScore;
        uint32 tolerance;
        uint64 lastSettledAt;
        uint64 endedAt;
        // slot 6
        uint64 closedAt;
        uint32 revealWindow;
        uint16 optedInMask;
        uint16 baselineMask;
        uint16 releasedMask;
        bool revealed;
        bool bondSettled;
        uint8 curveLength;
        uint96 feesPaid;
        // slot 7
        bytes32 validationCommitment;
    }

    struct Batch {
        bytes32 recordsHash;
        uint64 filledAt; // when the batch filled up (0 for a partial batch)
        uint16 reportedMask;
        bool decided; // settled or voided
    }

    uint256 internal constant BPS = 10_000;
    uint256 internal constant MAX_COMMITTEE = 16;
    uint256 internal constant MAX_BATCH_SIZE = 256;
    uint256 internal constant QUORUM = 3;
    address internal constant ETH = address(0);
    address internal constant BURN_ADDRESS = 0x000000000000000000000000000000000000dEaD;
    uint8 internal constant CODEC_RAW = 0x55;
    uint8 internal constant CODEC_DAG_PB = 0x70;

    /// @dev The guardian that may pause new bounties and submissions.
    address internal _guardian;
    /// @dev Bounties opened so far; ids run from 1.
    // slither-disable-next-line uninitialized-state (written by BountyMarket; the extension reads it through delegatecall)
    uint256 internal _bountyCount;

    mapping(uint256 bountyId => Bounty) internal _bounties;
    // slither-disable-next-line uninitialized-state (written by BountyMarket; the extension reads it through delegatecall)
    mapping(uint256 bountyId => address[]) internal _committees;
    mapping(uint256 bountyId => mapping(address oracle => uint256 indexPlusOne)) internal _memberIndex;
    // slither-disable-next-line uninitialized-state (written by BountyMarket; the extension reads it through delegatecall)
    mapping(uint256 bountyId => uint256[4]) internal _curves;
    mapping(uint256 bountyId => mapping(uint256 member => uint32)) internal _baselineReports;
    // slither-disable-next-line uninitialized-state (written by BountyMarket; the extension reads it through delegatecall)
    mapping(uint256 bountyId => mapping(uint256 batch => Batch)) internal _batches;
    // slither-disable-next-line uninitialized-state (written by BountyMarket; the extension reads it through delegatecall)
    mapping(bytes32 reportKey => bytes32) internal _reportHashes;
    mapping(address account => mapping(address token => uint256)) internal _claimable;
    mapping(address token => uint256) internal _pendingBurn;
    mapping(uint256 bountyId => mapping(uint256 version => address)) internal _versionAuthors;
    mapping(uint256 bountyId => uint256) internal _bondShares;


    /// @dev The lifecycle, derived (see IBountyMarketTypes.BountyState).
    function _state(uint256 bountyId) internal view returns (BountyState) {
        if (bountyId == 0 || bountyId > _bountyCount) revert BountyNotFound(bountyId);
        Bounty storage b = _bounties[bountyId];
        if (b.revealed) return BountyState.Revealed;
        if (b.closedAt != 0) return BountyState.Closed;
        if (_ended(b)) return BountyState.Settling;
        return b.baselineSet ? BountyState.Open : BountyState.AwaitingBaseline;
    }

    function _quorum(Bounty storage b) internal view returns (uint256) {
        return b.trustSingleOracle ? 1 : QUORUM;
    }

    function _targetReached(Bounty storage b) internal view returns (bool) {
        return b.baselineSet && RewardMath.key(b.headScore, b.higherIsBetter) >= RewardMath.key(b.target, b.higherIsBetter);
    }

    function _ended(Bounty storage b) internal view returns (bool) {
        return b.cancelled || block.timestamp >= b.deadline || _targetReached(b);
    }

    /// @dev When the bounty stopped taking submissions (for the last, partial batch).
    function _endTime(Bounty storage b) internal view returns (uint256) {
        if (b.endedAt != 0) return b.endedAt;
        return b.deadline; // ended by its deadline
    }

    function _batchCount(Bounty storage b) internal view returns (uint256) {
        return (uint256(b.submissionCount) + b.batchSize - 1) / b.batchSize;
    }

    function _batchSubmissions(Bounty storage b, uint256 batch) internal view returns (uint256) {
        uint256 first = batch * b.batchSize;
        uint256 count = b.submissionCount;
        if (count <= first) return 0;
        uint256 n = count - first;
        return n > b.batchSize ? b.batchSize : n;
    }

    /// @dev Batches are scored in order: the next undecided one, once full or once the bounty ended.
    function _reportable(Bounty storage b, Batch storage bt, uint256 batch) internal view returns (bool) {
        if (bt.decided || batch != b.nextBatch || _batchSubmissions(b, batch) == 0) return false;
        return bt.filledAt != 0 || _ended(b);
    }

    /// @dev A reportable batch may be settled with a partial quorum (or voided) from here.
    ///      Batches settle in order, so lastSettledAt is when its predecessor was decided.
    function _timeoutAt(Bounty storage b, Batch storage bt) internal view returns (uint256) {
        uint256 since = bt.filledAt != 0 ? bt.filledAt : _endTime(b);
        if (b.lastSettledAt > since) since = b.lastSettledAt;
        return since + b.scoringTimeout;
    }

    function _reportKey(uint256 bountyId, uint256 batch, uint256 member) internal pure returns (bytes32) {
        return keccak256(abi.encode(bountyId, batch, member));
    }

    function _popcount(uint256 x) internal pure returns (uint256 c) {
        while (x != 0) {
            x &= x - 1;
            ++c;
        }
    }


    modifier onlyRequester(uint256 bountyId) {
        _requireRequester(bountyId);
        _;
    }

    function _checkCid(Cid calldata cid) internal pure {
        if (cid.digest == bytes32(0) || (cid.codec != CODEC_RAW && cid.codec != CODEC_DAG_PB)) revert InvalidParameter("cid");
    }

    function _requireRequester(uint256 bountyId) internal view {
        if (bountyId == 0 || bountyId > _bountyCount) revert BountyNotFound(bountyId);
        if (_bounties[bountyId].requester != msg.sender) revert NotRequester(bountyId, msg.sender);
    }

    function _requireState(uint256 bountyId, BountyState expected) internal view {
        BountyState s = _state(bountyId);
        if (s != expected) revert BountyNotInState(bountyId, s, expected);
    }
}

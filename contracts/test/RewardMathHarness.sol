// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {RewardMath} from "../libraries/RewardMath.sol";

/// @notice Test-only: RewardMath's internal functions as external calls, so that the
///         tests can compare them with the reference model in fathom/protocol.py.
contract RewardMathHarness {
    function WAD() external pure returns (uint256) {
        return RewardMath.WAD;
    }

    function INVALID() external pure returns (uint32) {
        return RewardMath.INVALID;
    }

    function key(uint32 score, bool higherIsBetter) external pure returns (uint64) {
        return RewardMath.key(score, higherIsBetter);
    }

    function scoreOf(uint64 k, bool higherIsBetter) external pure returns (uint32) {
        return RewardMath.scoreOf(k, higherIsBetter);
    }

    function progress(uint64 k, uint64 baselineKey, uint64 targetKey) external pure returns (uint256) {
        return RewardMath.progress(k, baselineKey, targetKey);
    }

    function pack(uint64[] calldata xs, uint64[] calldata ys) external pure returns (uint256[4] memory packed, uint8 n) {
        return RewardMath.pack(xs, ys);
    }

    function point(uint256[4] memory packed, uint256 i) external pure returns (uint256 x, uint256 y) {
        return RewardMath.point(packed, i);
    }

    function curveAt(uint256[4] memory packed, uint256 n, uint256 p) external pure returns (uint256) {
        return RewardMath.curveAt(packed, n, p);
    }

    /// @notice pack then curveAt at every p: one call per curve.
    function curveAtMany(uint64[] calldata xs, uint64[] calldata ys, uint256[] calldata ps)
        external
        pure
        returns (uint256[] memory values)
    {
        (uint256[4] memory packed, uint8 n) = RewardMath.pack(xs, ys);
        values = new uint256[](ps.length);
        for (uint256 i = 0; i < ps.length; ++i) {
            values[i] = RewardMath.curveAt(packed, n, ps[i]);
        }
    }

    function rewardFor(uint256 escrow, uint256 paidSoFar, uint256 curveValue) external pure returns (uint256) {
        return RewardMath.rewardFor(escrow, paidSoFar, curveValue);
    }

    function rewardBetween(uint256 escrow, uint256 paidSoFar, uint256 cOld, uint256 cNew) external pure returns (uint256) {
        return RewardMath.rewardBetween(escrow, paidSoFar, cOld, cNew);
    }

    function median(uint64[] memory keys) external pure returns (uint64) {
        return RewardMath.median(keys);
    }

    function lowerMedian(uint64[] memory keys) external pure returns (uint64) {
        return RewardMath.lowerMedian(keys);
    }
}

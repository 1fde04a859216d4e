// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @dev One group's one-off payout tree (rule P3), built independently of the market: 32
///      positions, leaf keccak256(abi.encodePacked(contributor, uint96 amount, token)) or zero,
///      each node keccak256(left, right); the market stores the root's top 224 bits.
library PayoutTree {
    function leaf(address who, uint256 amount, address tok) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(who, uint96(amount), tok));
    }

    /// @dev The stored form of the root: top 224 bits, or zero for a group that owes nothing.
    function root(bytes32[32] memory leaves) internal pure returns (bytes32) {
        bool any;
        for (uint256 j = 0; j < 32; ++j) {
            any = any || leaves[j] != bytes32(0);
        }
        if (!any) return bytes32(0);
        bytes32[32] memory level = leaves;
        for (uint256 w = 16; w > 0; w >>= 1) {
            for (uint256 j = 0; j < w; ++j) {
                level[j] = keccak256(abi.encodePacked(level[2 * j], level[2 * j + 1]));
            }
        }
        return bytes32(uint256(level[0]) & ~uint256(type(uint32).max));
    }

    /// @dev The 5 siblings from position `pos` up, leaf level first (claimPayout's proof).
    function proof(bytes32[32] memory leaves, uint256 pos) internal pure returns (bytes32[5] memory out) {
        bytes32[32] memory level = leaves;
        for (uint256 d = 0; d < 5; ++d) {
            out[d] = level[pos ^ 1];
            for (uint256 j = 0; j < (16 >> d); ++j) {
                level[j] = keccak256(abi.encodePacked(level[2 * j], level[2 * j + 1]));
            }
            pos >>= 1;
        }
    }
}

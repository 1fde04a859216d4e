// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title RewardMath
/// @notice Fathom's fixed point, stated once: WAD = 1e18 means 1.0. Every division
///         rounds down, so a reward can never exceed what the curve allows and the sum
///         of rewards can never exceed the escrow. fathom/protocol.py is the reference
///         model the tests compare this library against.
///
///         Scores are integers in "score units" (the metric divided by the bounty's
///         resolution). `key()` maps a score to a goodness where larger is always better
///         and 0 means invalid, so the rest of the math is direction-free.
library RewardMath {
    uint256 internal constant WAD = 1e18;
    /// @dev A reported score of all ones means "invalid artefact".
    uint32 internal constant INVALID = type(uint32).max;
    /// @dev A reported score of 2^32 - 2 means "I could not fetch this artefact" (rule R7a):
    ///      it is no key, and a report holding one is partial.
    uint32 internal constant UNAVAILABLE = type(uint32).max - 1;
    /// @dev The largest score a valid measurement may have.
    uint32 internal constant MAX_SCORE = type(uint32).max - 2;
    uint256 internal constant MAX_BREAKPOINTS = 8;

    error InvalidCurve(uint256 index);

    /// @notice Goodness of `score`: larger is better, 0 is invalid.
    function key(uint32 score, bool higherIsBetter) internal pure returns (uint64) {
        if (score == INVALID) return 0;
        return higherIsBetter ? uint64(score) + 1 : uint64(INVALID) - score;
    }

    /// @notice The score whose goodness is `k` (k != 0).
    function scoreOf(uint64 k, bool higherIsBetter) internal pure returns (uint32) {
        return higherIsBetter ? uint32(k - 1) : uint32(uint64(INVALID) - k);
    }

    /// @notice Progress p = (k - baseline) / (target - baseline), clipped to [0, WAD], rounded down.
    function progress(uint64 k, uint64 baselineKey, uint64 targetKey) internal pure returns (uint256) {
        if (k <= baselineKey) return 0;
        if (k >= targetKey) return WAD;
        // here baselineKey < k < targetKey, so the denominator is positive
        return (uint256(k - baselineKey) * WAD) / uint256(targetKey - baselineKey);
    }

    /// @notice Unpack breakpoint i of a curve: 8 points, each (x, y) as two uint64 WADs,
    ///         two points per word: word[i / 2] holds point i at bits 128*(i % 2).
    function point(uint256[4] memory packed, uint256 i) internal pure returns (uint256 x, uint256 y) {
        uint256 word = packed[i / 2] >> (128 * (i % 2));
        return (uint64(word), uint64(word >> 64));
    }

    /// @notice Check a curve and pack it. Breakpoints: x strictly increasing from 0 to
    ///         WAD, y non-decreasing from 0 to WAD, 2 to 8 of them.
    function pack(uint64[] calldata xs, uint64[] calldata ys) internal pure returns (uint256[4] memory packed, uint8 n) {
        uint256 len = xs.length;
        if (len < 2 || len > MAX_BREAKPOINTS || ys.length != len) revert InvalidCurve(len);
        if (xs[0] != 0 || ys[0] != 0) revert InvalidCurve(0);
        if (xs[len - 1] != WAD || ys[len - 1] != WAD) revert InvalidCurve(len - 1);
        for (uint256 i = 0; i < len; ++i) {
            if (i > 0 && (xs[i] <= xs[i - 1] || ys[i] < ys[i - 1])) revert InvalidCurve(i);
            packed[i / 2] |= (uint256(xs[i]) | (uint256(ys[i]) << 64)) << (128 * (i % 2));
        }
        return (packed, uint8(len));
    }

    /// @notice c(p) by linear interpolation between breakpoints, rounded down.
    function curveAt(uint256[4] memory packed, uint256 n, uint256 p) internal pure returns (uint256) {
        if (p >= WAD) return WAD;
        for (uint256 i = 1; i < n; ++i) {
            (uint256 x1, uint256 y1) = point(packed, i);
            if (p <= x1) {
                (uint256 x0, uint256 y0) = point(packed, i - 1);
                return y0 + ((y1 - y0) * (p - x0)) / (x1 - x0);
            }
        }
        return WAD; // unreachable for a packed curve (last x == WAD)
    }

    /// @notice As curveAt, reading only the packed words it needs from storage (a linear
    ///         curve needs one).
    function curveAtStored(uint256[4] storage packed, uint256 n, uint256 p) internal view returns (uint256) {
        if (p >= WAD) return WAD;
        uint256 word = packed[0];
        uint256 x0 = uint64(word);
        uint256 y0 = uint64(word >> 64);
        for (uint256 i = 1; i < n; ++i) {
            if (i % 2 == 0) word = packed[i / 2];
            uint256 point_ = word >> (128 * (i % 2));
            (uint256 x1, uint256 y1) = (uint64(point_), uint64(point_ >> 64));
            if (p <= x1) return y0 + ((y1 - y0) * (p - x0)) / (x1 - x0);
            (x0, y0) = (x1, y1);
        }
        return WAD; // unreachable for a packed curve (last x == WAD)
    }

    /// @notice The reward owed for reaching progress p: floor(R * c(p)) - paidSoFar,
    ///         or 0 if that is not positive.
    function rewardFor(uint256 escrow, uint256 paidSoFar, uint256 curveValue) internal pure returns (uint256) {
        uint256 due = (escrow * curveValue) / WAD;
        return due > paidSoFar ? due - paidSoFar : 0;
    }

    /// @notice The median of `keys` (sorted in place, ascending): the middle key for an odd
    ///         count; for an even count the midpoint of the two middle keys, rounded down, or
    ///         0 (invalid) if the lower of them is invalid (half or more say invalid). With
    ///         fewer than half of the keys dishonest it lies within the range of the honest ones.
    function median(uint64[] memory keys) internal pure returns (uint64) {
        uint256 m = keys.length;
        lowerMedian(keys); // sorts
        uint64 mid = keys[m / 2];
        if (m % 2 == 1) return mid;
        uint64 lo = keys[m / 2 - 1];
        return lo == 0 ? 0 : uint64((uint256(lo) + mid) / 2);
    }

    /// @notice How many of `keys` lie within `tolerance` of `med` (and are valid exactly when
    ///         it is): the reports that agree with a decision.
    function within(uint64[] memory keys, uint64 med, uint256 tolerance) internal pure returns (uint256 n) {
        for (uint256 i = 0; i < keys.length; ++i) {
            uint256 k = keys[i];
            uint256 d = k > med ? k - med : med - k;
            if ((k == 0) == (med == 0) && d <= tolerance) ++n;
        }
    }

    /// @notice The reward for moving the curve from `cOld` to `cNew`: floor(escrow * (cNew -
    ///         cOld) / WAD), never more than escrow - paidSoFar (0 if cNew <= cOld). With a
    ///         non-decreasing escrow the rewards sum to at most the escrow: each is at most the
    ///         escrow of its day times its share of a curve that rises from 0 to WAD once.
    function rewardBetween(uint256 escrow, uint256 paidSoFar, uint256 cOld, uint256 cNew) internal pure returns (uint256) {
        if (cNew <= cOld || escrow <= paidSoFar) return 0;
        uint256 due = (escrow * (cNew - cOld)) / WAD;
        uint256 left = escrow - paidSoFar;
        return due < left ? due : left;
    }

    /// @notice Lower median of `keys` (sorted in place, ascending): element (m - 1) / 2.
    ///         With an honest majority it lies within the range of the honest values.
    function lowerMedian(uint64[] memory keys) internal pure returns (uint64) {
        uint256 m = keys.length;
        for (uint256 i = 1; i < m; ++i) {
            uint64 v = keys[i];
            uint256 j = i;
            while (j > 0 && keys[j - 1] > v) {
                keys[j] = keys[j - 1];
                --j;
            }
            keys[j] = v;
        }
        return keys[(m - 1) / 2];
    }
}

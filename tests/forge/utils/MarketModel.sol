// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @dev A reference model of a batch settlement, written from SPECIFICATION.md (R5-R7) and
///      independent of the market's code: the fuzz and invariant tests compare the market's
///      outcomes, payouts, burns and oracle fees with what this computes.
library MarketModel {
    uint256 internal constant WAD = 1e18;
    uint256 internal constant BPS = 10_000;
    uint32 internal constant INVALID = type(uint32).max;

    uint8 internal constant ACCEPTED = 1;
    uint8 internal constant REJECTED = 2;
    uint8 internal constant SLASHED = 3;

    struct Params {
        bool higher;
        uint32 headScore; // the head when the batch became reportable
        uint32 baselineScore;
        uint32 target;
        uint32 slashMargin;
        uint256 quorum; // more than half of the committee
        uint32 tolerance;
        uint16 slashBps;
        uint256 reward; // escrow R
        uint256 paid; // rewards paid so far
        uint256 feePerBatch;
    }

    struct Outcome {
        uint64[] medians; // per submission (goodness keys, 0 = invalid)
        uint8[] kind; // ACCEPTED / REJECTED / SLASHED
        uint256[] returned; // stake coming back (all of it unless slashed)
        uint256[] burned; // slashed part of the stake
        bool noMajority; // some median has fewer than a quorum of reports within tolerance: voided
        bool accepted;
        uint256 best; // index of the accepted submission
        uint256 reward; // paid to the accepted submission
        uint32 newHead;
        uint256 deviantMask; // bit r = report r is deviant
        uint256 good; // reports within tolerance everywhere
        uint256 feeShare; // per good reporter
        uint256 totalBurned;
    }

    /// @dev Goodness: larger is better, 0 is invalid (SPECIFICATION "Units").
    function key(uint32 score, bool higher) internal pure returns (uint64) {
        if (score == INVALID) return 0;
        return higher ? uint64(score) + 1 : uint64(INVALID) - score;
    }

    function scoreOf(uint64 k, bool higher) internal pure returns (uint32) {
        if (k == 0) return INVALID;
        return higher ? uint32(k - 1) : uint32(uint64(INVALID) - k);
    }

    function scoreAt(bytes memory scores, uint256 i) internal pure returns (uint32 s) {
        for (uint256 j = 0; j < 4; ++j) {
            s = (s << 8) | uint32(uint8(scores[4 * i + j]));
        }
    }

    function encode(uint32[] memory scores) internal pure returns (bytes memory out) {
        out = new bytes(4 * scores.length);
        for (uint256 i = 0; i < scores.length; ++i) {
            for (uint256 j = 0; j < 4; ++j) {
                out[4 * i + j] = bytes1(uint8(scores[i] >> (8 * (3 - j))));
            }
        }
    }

    /// @dev Element (m-1)/2 of the values sorted ascending; leaves `v` untouched.
    function lowerMedian(uint64[] memory v) internal pure returns (uint64) {
        uint256 m = v.length;
        uint256 q = (m - 1) / 2;
        // the median is the value with at most q smaller values and at least q+1 values <= it
        for (uint256 i = 0; i < m; ++i) {
            uint256 less = 0;
            uint256 lessOrEqual = 0;
            for (uint256 j = 0; j < m; ++j) {
                if (v[j] < v[i]) ++less;
                if (v[j] <= v[i]) ++lessOrEqual;
            }
            if (less <= q && lessOrEqual > q) return v[i];
        }
        revert("median");
    }

    /// @dev The middle value, or for an even count the midpoint of the two middle ones (0 if the
    ///      lower of them is 0); leaves `v` untouched.
    function median(uint64[] memory v) internal pure returns (uint64) {
        uint256 m = v.length;
        uint64[] memory s = new uint64[](m);
        for (uint256 i = 0; i < m; ++i) {
            uint256 j = i;
            while (j > 0 && s[j - 1] > v[i]) {
                s[j] = s[j - 1];
                --j;
            }
            s[j] = v[i];
        }
        if (m % 2 == 1) return s[m / 2];
        return s[m / 2 - 1] == 0 ? 0 : uint64((uint256(s[m / 2 - 1]) + s[m / 2]) / 2);
    }

    /// @dev Linear interpolation between breakpoints, rounded down; 1 at and beyond WAD.
    function curveAt(uint64[] memory xs, uint64[] memory ys, uint256 p) internal pure returns (uint256) {
        if (p >= WAD) return WAD;
        for (uint256 i = 1; i < xs.length; ++i) {
            if (p <= xs[i]) {
                uint256 x0 = xs[i - 1];
                uint256 y0 = ys[i - 1];
                return y0 + ((uint256(ys[i]) - y0) * (p - x0)) / (uint256(xs[i]) - x0);
            }
        }
        return WAD;
    }

    function progress(uint64 k, uint64 baselineKey, uint64 targetKey) internal pure returns (uint256) {
        if (k <= baselineKey) return 0;
        if (k >= targetKey) return WAD;
        return (uint256(k - baselineKey) * WAD) / (targetKey - baselineKey);
    }

    /// @dev The reports further than `tolerance` from `med` (or of the other validity), as a
    ///      mask, and how many agree with it.
    function _deviants(uint64[] memory ks, uint64 med, uint256 tolerance) private pure returns (uint256 mask, uint256 agree) {
        for (uint256 r = 0; r < ks.length; ++r) {
            bool invalidMismatch = (ks[r] == 0) != (med == 0);
            uint256 dist = ks[r] > med ? ks[r] - med : med - ks[r];
            if (invalidMismatch || dist > tolerance) mask |= 1 << r;
            else ++agree;
        }
    }

    /// @dev Medians, deviants, agreement and the best candidate; returns the best key.
    function _pass1(Params memory p, bytes[] memory reports, Outcome memory o, uint64 headKey)
        private
        pure
        returns (uint64 bestKey)
    {
        uint256 m = reports.length;
        for (uint256 i = 0; i < o.medians.length; ++i) {
            uint64[] memory ks = new uint64[](m);
            for (uint256 r = 0; r < m; ++r) {
                ks[r] = key(scoreAt(reports[r], i), p.higher);
            }
            uint64 med = median(ks);
            o.medians[i] = med;
            (uint256 deviants, uint256 agree) = _deviants(ks, med, p.tolerance);
            o.deviantMask |= deviants;
            if (agree < p.quorum) o.noMajority = true;
            if (med > headKey && med > bestKey) {
                // strictly better than the best so far: ties keep the lowest id
                bestKey = med;
                o.best = i;
                o.accepted = true;
            }
        }
    }

    /// @dev R6: R * (c(p_new) - c(p_old)), within what is left of the escrow.
    function _reward(Params memory p, uint64[] memory xs, uint64[] memory ys, uint64 bestKey, uint64 headKey)
        private
        pure
        returns (uint256)
    {
        uint64 bk = key(p.baselineScore, p.higher);
        uint64 tk = key(p.target, p.higher);
        uint256 cNew = curveAt(xs, ys, progress(bestKey, bk, tk));
        uint256 cOld = curveAt(xs, ys, progress(headKey, bk, tk));
        uint256 due = cNew > cOld ? (p.reward * (cNew - cOld)) / WAD : 0;
        return due < p.reward - p.paid ? due : p.reward - p.paid;
    }

    /// @dev R5-R7 for one batch: `stakes` per submission, `reports` the reporters' score bytes.
    function settle(
        Params memory p,
        uint64[] memory xs,
        uint64[] memory ys,
        uint256[] memory stakes,
        bytes[] memory reports
    ) internal pure returns (Outcome memory o) {
        uint256 n = stakes.length;
        uint256 m = reports.length;
        uint64 headKey = key(p.headScore, p.higher);
        o.medians = new uint64[](n);
        o.kind = new uint8[](n);
        o.returned = new uint256[](n);
        o.burned = new uint256[](n);
        uint64 bestKey = _pass1(p, reports, o, headKey);
        for (uint256 i = 0; i < n; ++i) {
            o.returned[i] = stakes[i];
            if (o.accepted && i == o.best) {
                o.kind[i] = ACCEPTED;
                continue;
            }
            uint64 med = o.medians[i];
            if (med == 0 || uint256(med) + p.slashMargin < headKey) {
                o.kind[i] = SLASHED;
                o.burned[i] = (stakes[i] * p.slashBps) / BPS;
                o.returned[i] = stakes[i] - o.burned[i];
                o.totalBurned += o.burned[i];
            } else {
                o.kind[i] = REJECTED;
            }
        }
        if (o.accepted) {
            o.reward = _reward(p, xs, ys, bestKey, headKey);
            o.newHead = scoreOf(bestKey, p.higher);
        } else {
            o.newHead = p.headScore;
        }
        uint256 deviants = 0;
        for (uint256 r = 0; r < m; ++r) {
            if (o.deviantMask & (1 << r) != 0) ++deviants;
        }
        o.good = m - deviants;
        o.feeShare = o.good == 0 ? 0 : p.feePerBatch / o.good;
    }
}

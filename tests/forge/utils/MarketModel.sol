// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @dev A reference model of a batch settlement, written from SPECIFICATION.md (R5-R7, G1) and
///      independent of the market's code: the fuzz and invariant tests compare the market's
///      outcomes, payouts, burns and oracle fees with what this computes. A report is
///      6n + 4 bytes: a uint32 score per submission, the merged model's uint32 score, a
///      uint16 share per submission (R1).
library MarketModel {
    uint256 internal constant WAD = 1e18;
    uint256 internal constant BPS = 10_000;
    uint32 internal constant INVALID = type(uint32).max;
    /// @dev "I could not fetch it" (rule R7a): no key; a report holding one is partial.
    uint32 internal constant UNAVAILABLE = type(uint32).max - 1;
    uint256 internal constant MAX_LAG = 2;

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
        uint256 versions; // the head's version number when the batch is settled (G1)
    }

    struct Outcome {
        uint64[] medians; // per submission (goodness keys, 0 = invalid)
        uint8[] kind; // ACCEPTED / REJECTED / SLASHED
        uint256[] returned; // stake coming back (all of it unless slashed)
        uint256[] burned; // slashed part of the stake
        bool noMajority; // some median has fewer than a quorum of reports within tolerance, or no
        // (merged CID, shares) vote has a quorum: voided
        bool accepted; // the batch made a version
        uint256 best; // the merged submission with the largest share (lowest index on ties)
        uint256 reward; // the version's reward, split by share
        uint256[] shares; // the agreed vote's share per submission (0 unless merged)
        uint256[] parts; // reward * share / BPS, per submission
        uint256 paidNow; // the sum of the parts
        uint64 mergedMedian;
        uint32 newHead;
        uint256 deviantMask; // bit r = report r is deviant
        uint256 partialMask; // bit r = report r says UNAVAILABLE somewhere (R7a): its fee share burned, never deviant for its vote
        bool noVote; // no vote has a quorum and some submission is UNAVAILABLE to a quorum (R7a): no version
        bool lost; // some submission is UNAVAILABLE to a quorum of the committee (R7a)
        uint256 good; // reports within tolerance everywhere, partial and uncommitted ones included: the fee's divisor
        uint256 feeShare; // per good report: paid to a full committed one, burned for a partial or uncommitted one
        uint256 feeBurned; // feeShare per good report that is partial (R7a) or uncommitted (R7b)
        uint256 totalBurned;
        bool retry; // rule R7b: no majority, some report partial, no second round yet: a second round, not a void
        uint256 cleared; // then the partial reports (bit r = report r) cleared for it
        uint256 uncommitted; // input: bit r = report r came without a commitment (a second round's, R7b): its fee share burned
        bool retried; // input: the batch had its second round already (R7b)
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

    /// @dev A report that merges its own best submission only (its largest key, the lowest
    ///      index on ties): all of the share to it, its score the merged model's. A partial
    ///      report votes over what it fetched (R7a): an UNAVAILABLE submission is never its best.
    function encode(uint32[] memory scores, bool higher) internal pure returns (bytes memory) {
        uint256 n = scores.length;
        uint16[] memory shares = new uint16[](n);
        uint32 merged = INVALID;
        uint256 best = 0;
        uint64 bestKey = 0;
        for (uint256 i = 0; i < n; ++i) {
            if (scores[i] == UNAVAILABLE) continue;
            uint64 k = key(scores[i], higher);
            if (k > bestKey) (bestKey, best) = (k, i);
        }
        if (bestKey != 0) (merged, shares[best]) = (scores[best], uint16(BPS));
        return encode(scores, merged, shares);
    }

    function encode(uint32[] memory scores, uint32 merged, uint16[] memory shares) internal pure returns (bytes memory out) {
        uint256 n = scores.length;
        out = new bytes(6 * n + 4);
        for (uint256 i = 0; i <= n; ++i) {
            uint32 s = i < n ? scores[i] : merged;
            for (uint256 j = 0; j < 4; ++j) {
                out[4 * i + j] = bytes1(uint8(s >> (8 * (3 - j))));
            }
        }
        for (uint256 i = 0; i < n; ++i) {
            out[4 * n + 4 + 2 * i] = bytes1(uint8(shares[i] >> 8));
            out[4 * n + 5 + 2 * i] = bytes1(uint8(shares[i]));
        }
    }

    function shareAt(bytes memory report, uint256 n, uint256 i) internal pure returns (uint64) {
        return (uint64(uint8(report[4 * n + 4 + 2 * i])) << 8) | uint64(uint8(report[4 * n + 5 + 2 * i]));
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

    /// @dev `v` sorted ascending, in a copy (insertion sort).
    function _sorted(uint64[] memory v) private pure returns (uint64[] memory s) {
        uint256 m = v.length;
        s = new uint64[](m);
        for (uint256 i = 0; i < m; ++i) {
            uint256 j = i;
            while (j > 0 && s[j - 1] > v[i]) {
                s[j] = s[j - 1];
                --j;
            }
            s[j] = v[i];
        }
    }

    /// @dev The middle value, or for an even count the midpoint of the two middle ones (0 if the
    ///      lower of them is 0); leaves `v` untouched.
    function median(uint64[] memory v) internal pure returns (uint64) {
        (uint64 lo, uint64 hi) = middle(v);
        if (v.length % 2 == 1) return lo;
        return lo == 0 ? 0 : uint64((uint256(lo) + hi) / 2);
    }

    /// @dev The two middle values lo <= hi of `v` (both the middle one for an odd count).
    function middle(uint64[] memory v) internal pure returns (uint64 lo, uint64 hi) {
        uint64[] memory s = _sorted(v);
        (lo, hi) = (s[(s.length - 1) / 2], s[s.length / 2]);
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

    /// @dev Further than `tolerance` from `m`, or invalid where `m` is not (or the reverse).
    function _off(uint64 k, uint64 m, uint256 tolerance) private pure returns (bool) {
        return (k == 0) != (m == 0) || (k > m ? k - m : m - k) > tolerance;
    }

    /// @dev Rule R7 over the keys `ks` of one median `med`: the deviant reports, as a mask (off
    ///      both middle keys lo <= hi and outside [lo, hi]: for an odd count, off the median),
    ///      and how many agree with `med` (not off it: R4's quorum).
    function _deviants(uint64[] memory ks, uint64 med, uint256 tolerance) private pure returns (uint256 mask, uint256 agree) {
        (uint64 lo, uint64 hi) = middle(ks);
        for (uint256 r = 0; r < ks.length; ++r) {
            uint64 k = ks[r];
            if (!_off(k, med, tolerance)) ++agree;
            if (_off(k, lo, tolerance) && _off(k, hi, tolerance) && (k < lo || k > hi)) mask |= 1 << r;
        }
    }

    /// @dev The submissions' medians, deviants and agreement, over the reports that are not
    ///      UNAVAILABLE for the slot (R7a); a slot a quorum says UNAVAILABLE is invalid, nobody
    ///      is deviant on it (o.lost). The merged model's median is the vote's (_vote).
    function _pass1(Params memory p, bytes[] memory reports, Outcome memory o) private pure {
        uint256 m = reports.length;
        uint256 n = o.medians.length;
        for (uint256 i = 0; i < n; ++i) {
            uint256 a = 0;
            for (uint256 r = 0; r < m; ++r) {
                if (scoreAt(reports[r], i) == UNAVAILABLE) o.partialMask |= 1 << r;
                else ++a;
            }
            uint64[] memory ks = new uint64[](a);
            uint256[] memory who = new uint256[](a);
            a = 0;
            for (uint256 r = 0; r < m; ++r) {
                uint32 s = scoreAt(reports[r], i);
                if (s == UNAVAILABLE) continue;
                (ks[a], who[a]) = (key(s, p.higher), r);
                ++a;
            }
            uint64 med = 0;
            if (m - a < p.quorum) {
                med = median(ks);
                (uint256 deviants, uint256 agree) = _deviants(ks, med, p.tolerance);
                for (uint256 j = 0; j < a; ++j) {
                    if (deviants & (1 << j) != 0) o.deviantMask |= 1 << who[j];
                }
                if (agree < p.quorum) o.noMajority = true;
            } else {
                o.lost = true;
            }
            o.medians[i] = med;
        }
    }

    /// @dev The shares of a report: its 2n bytes after the n + 1 scores.
    function sharesOf(bytes memory report, uint256 n) internal pure returns (bytes memory out) {
        out = new bytes(2 * n);
        for (uint256 j = 0; j < 2 * n; ++j) out[j] = report[4 * n + 4 + j];
    }

    /// @dev R4, R5, R7, R7a: the (merged CID, shares) vote a quorum of reports names (agreed,
    ///      the first such report; a partial report votes over what it fetched, one with an
    ///      UNAVAILABLE merged score names none), the full reports that name another one
    ///      (deviant, only when a quorum of full reports named the agreed vote), and the merged
    ///      model's median over the reports naming the agreed vote. No vote has a quorum: no
    ///      decision (noMajority), or, with some submission UNAVAILABLE to a quorum, decided
    ///      without a version (noVote).
    function _vote(Params memory p, bytes[] memory reports, bytes32[] memory cids, uint256 n, Outcome memory o)
        private
        pure
        returns (uint256 agreed)
    {
        uint256 m = reports.length;
        uint256 voters = 0;
        for (uint256 r = 0; r < m; ++r) {
            if (scoreAt(reports[r], n) == UNAVAILABLE) o.partialMask |= 1 << r;
            else voters |= 1 << r;
        }
        for (uint256 r = 0; r < m; ++r) {
            if (voters & (1 << r) == 0) continue;
            uint256 same = 0;
            uint256 named = 0;
            uint256 fullSame = 0;
            for (uint256 q = 0; q < m; ++q) {
                if (voters & (1 << q) == 0) continue;
                if (cids[q] == cids[r] && keccak256(sharesOf(reports[q], n)) == keccak256(sharesOf(reports[r], n))) {
                    same |= 1 << q;
                    ++named;
                    if (o.partialMask & (1 << q) == 0) ++fullSame;
                }
            }
            if (named < p.quorum) continue;
            if (fullSame >= p.quorum) {
                for (uint256 q = 0; q < m; ++q) {
                    if (o.partialMask & (1 << q) == 0 && same & (1 << q) == 0) o.deviantMask |= 1 << q;
                }
            }
            _merged(p, reports, n, same, named, o);
            return r;
        }
        if (o.lost) o.noVote = true; // R7a: decided without a version, the unavailable one slashed
        else o.noMajority = true;
    }

    /// @dev The merged model's median, deviants and agreement over the `named` reports in `same`.
    function _merged(Params memory p, bytes[] memory reports, uint256 n, uint256 same, uint256 named, Outcome memory o)
        private
        pure
    {
        uint64[] memory ks = new uint64[](named);
        uint256[] memory who = new uint256[](named);
        uint256 j = 0;
        for (uint256 q = 0; q < reports.length; ++q) {
            if (same & (1 << q) == 0) continue;
            (ks[j], who[j]) = (key(scoreAt(reports[q], n), p.higher), q);
            ++j;
        }
        o.mergedMedian = median(ks);
        (uint256 deviants, uint256 agree) = _deviants(ks, o.mergedMedian, p.tolerance);
        for (uint256 k = 0; k < named; ++k) {
            if (deviants & (1 << k) != 0) o.deviantMask |= 1 << who[k];
        }
        if (agree < p.quorum) o.noMajority = true;
    }

    /// @dev R5: the agreed report's shares, paid only within the caps (a share only on a
    ///      submission that beats the head and is not stale, their sum at most BPS). Returns
    ///      the sum of the shares (0: no version).
    function _shares(Params memory p, uint256[] memory bases, bytes memory agreed, Outcome memory o)
        private
        pure
        returns (uint256 sum)
    {
        uint256 n = o.medians.length;
        uint64 headKey = key(p.headScore, p.higher);
        bool capped = true;
        for (uint256 i = 0; i < n; ++i) {
            uint256 s = shareAt(agreed, n, i);
            if (s == 0) continue;
            if (bases[i] + MAX_LAG < p.versions || o.medians[i] <= headKey) capped = false;
            o.shares[i] = s;
            sum += s;
            if (s > o.shares[o.best]) o.best = i;
        }
        if (!capped || sum > BPS) sum = 0;
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

    /// @dev R5-R7 for one batch in its first round: `stakes` and `bases` (base versions) per
    ///      submission, `reports` the reporters' report bytes and `cids` keccak256 of the merged
    ///      CID each names.
    function settle(
        Params memory p,
        uint64[] memory xs,
        uint64[] memory ys,
        uint256[] memory stakes,
        uint256[] memory bases,
        bytes[] memory reports,
        bytes32[] memory cids
    ) internal pure returns (Outcome memory) {
        return settle(p, xs, ys, stakes, bases, reports, cids, false, 0);
    }

    /// @dev As settle, for a batch that had its second round already (`retried`) or not, with
    ///      `uncommitted` (bit r) the reports made without a commitment in a second round. Rule
    ///      R7b: no majority while some report is partial (an UNAVAILABLE submission score, or
    ///      an UNAVAILABLE merged score once every submission median had a quorum: the partial
    ///      mask as the vote sees it) and no second round yet: o.retry (o.noMajority stays set),
    ///      the partial reports cleared (o.cleared), nothing decided or paid. Otherwise as in a
    ///      first round, except that an uncommitted report's fee share is burned.
    function settle(
        Params memory p,
        uint64[] memory xs,
        uint64[] memory ys,
        uint256[] memory stakes,
        uint256[] memory bases,
        bytes[] memory reports,
        bytes32[] memory cids,
        bool retried,
        uint256 uncommitted
    ) internal pure returns (Outcome memory o) {
        o.retried = retried;
        o.uncommitted = uncommitted;
        uint256 n = stakes.length;
        o.medians = new uint64[](n);
        o.kind = new uint8[](n);
        o.returned = new uint256[](n);
        o.burned = new uint256[](n);
        o.shares = new uint256[](n);
        o.parts = new uint256[](n);
        _pass1(p, reports, o);
        uint256 agreed = o.noMajority ? 0 : _vote(p, reports, cids, n, o);
        if (o.noMajority && o.partialMask != 0 && !o.retried) {
            o.retry = true;
            o.cleared = o.partialMask;
            return o;
        }
        uint256 sum = o.noMajority || o.noVote ? 0 : _shares(p, bases, reports[agreed], o);
        uint64 headKey = key(p.headScore, p.higher);
        o.accepted = sum != 0 && o.mergedMedian > headKey;
        if (o.accepted) o.reward = _reward(p, xs, ys, o.mergedMedian, headKey);
        _outcomes(p, stakes, bases, headKey, o);
        o.newHead = o.accepted ? scoreOf(o.mergedMedian, p.higher) : p.headScore;
        uint256 unpaid = 0;
        for (uint256 r = 0; r < reports.length; ++r) {
            if (o.deviantMask & (1 << r) == 0) {
                ++o.good;
                // R7a: a partial report's share is burned; R7b: so is one without a commitment's
                if ((o.partialMask | o.uncommitted) & (1 << r) != 0) ++unpaid;
            }
        }
        o.feeShare = o.good == 0 ? 0 : p.feePerBatch / o.good;
        o.feeBurned = o.feeShare * unpaid;
    }

    /// @dev Each submission's outcome: merged (its part of the reward), or rejected, or slashed
    ///      (median invalid or below the head by more than the margin; never when stale, G1).
    function _outcomes(Params memory p, uint256[] memory stakes, uint256[] memory bases, uint64 headKey, Outcome memory o)
        private
        pure
    {
        for (uint256 i = 0; i < stakes.length; ++i) {
            o.returned[i] = stakes[i];
            if (o.accepted && o.shares[i] != 0) {
                o.kind[i] = ACCEPTED;
                o.parts[i] = (o.reward * o.shares[i]) / BPS;
                o.paidNow += o.parts[i];
                continue;
            }
            uint64 med = o.medians[i];
            if (bases[i] + MAX_LAG < p.versions) {
                o.kind[i] = REJECTED; // stale (G1): never slashed
            } else if (med == 0 || uint256(med) + p.slashMargin < headKey) {
                o.kind[i] = SLASHED;
                o.burned[i] = (stakes[i] * p.slashBps) / BPS;
                o.returned[i] = stakes[i] - o.burned[i];
                o.totalBurned += o.burned[i];
            } else {
                o.kind[i] = REJECTED;
            }
        }
    }
}

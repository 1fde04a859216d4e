// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {RewardMath} from "../../contracts/libraries/RewardMath.sol";
import {RewardMathHarness} from "../../contracts/test/RewardMathHarness.sol";

/// @dev RewardMath under fuzzing (DESIGN "The reward curve", SPECIFICATION B4, R5-R6): the
///      curve is monotone in [0, WAD] with c(0)=0 and c(1)=1, `pack` refuses every malformed
///      curve at the right index, the rewards paid along any progress sequence never exceed
///      the escrow, and the lower median stays in the honest range with an honest majority.
contract RewardMathTest is Test {
    uint256 internal constant WAD = 1e18;
    uint32 internal constant INVALID = type(uint32).max;

    RewardMathHarness internal h; // the library's functions, external (as the brownie tests use them)

    function setUp() public {
        h = new RewardMathHarness();
    }

    // ------------------------------------------------------------------ helpers

    function _rand(uint256 seed, uint256 i) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, i)));
    }

    /// @dev A valid curve of 2..8 breakpoints; `seed` picks the shape: random, all-flat-then-jump
    ///      (y = 0 until the end), jump-then-flat (y = WAD after the first point), tiny x gaps.
    function _curve(uint256 seed) internal pure returns (uint64[] memory xs, uint64[] memory ys) {
        uint256 n = 2 + (seed % 7);
        uint256 shape = (seed >> 8) % 4;
        xs = new uint64[](n);
        ys = new uint64[](n);
        xs[n - 1] = uint64(WAD);
        ys[n - 1] = uint64(WAD);
        for (uint256 i = 1; i + 1 < n; ++i) {
            uint256 room = WAD - xs[i - 1] - (n - 1 - i); // leaves one unit for each later point
            uint256 step = shape == 3 ? 1 + (_rand(seed, i) % 3) : 1 + (_rand(seed, i) % room);
            if (step > room) step = room;
            xs[i] = uint64(xs[i - 1] + step);
            if (shape == 1) ys[i] = 0;
            else if (shape == 2) ys[i] = uint64(WAD);
            else ys[i] = uint64(ys[i - 1] + (_rand(seed, 100 + i) % (WAD - ys[i - 1] + 1)));
        }
    }

    function _packed(uint256 seed)
        internal
        view
        returns (uint256[4] memory packed, uint256 n, uint64[] memory xs, uint64[] memory ys)
    {
        (xs, ys) = _curve(seed);
        uint8 len;
        (packed, len) = h.pack(xs, ys);
        n = len;
    }

    // -------------------------------------------------------------- curve shape

    function testFuzz_b4_curve_is_monotone_and_within_0_and_wad(uint256 seed, uint256 p1, uint256 p2) public view {
        (uint256[4] memory packed, uint256 n,,) = _packed(seed);
        p1 = bound(p1, 0, WAD + 1);
        p2 = bound(p2, 0, WAD + 1);
        if (p1 > p2) (p1, p2) = (p2, p1);
        uint256 c1 = h.curveAt(packed, n, p1);
        uint256 c2 = h.curveAt(packed, n, p2);
        assertLe(c1, c2, "curve decreases");
        assertLe(c2, WAD, "curve above WAD");
    }

    function testFuzz_b4_curve_passes_through_its_breakpoints(uint256 seed, uint256 p) public view {
        (uint256[4] memory packed, uint256 n, uint64[] memory xs, uint64[] memory ys) = _packed(seed);
        assertEq(h.curveAt(packed, n, 0), 0, "c(0) != 0");
        assertEq(h.curveAt(packed, n, WAD), WAD, "c(WAD) != WAD");
        assertEq(h.curveAt(packed, n, WAD + 1 + (p % WAD)), WAD, "c(p > WAD) != WAD");
        for (uint256 i = 0; i < n; ++i) {
            assertEq(h.curveAt(packed, n, xs[i]), ys[i], "c(x_i) != y_i");
        }
        // between two breakpoints the value lies between their ys and follows the chord (rounded down)
        uint256 seg = 1 + (p % (n - 1));
        uint256 x0 = xs[seg - 1];
        uint256 x1 = xs[seg];
        uint256 q = x0 + (p % (x1 - x0 + 1));
        uint256 c = h.curveAt(packed, n, q);
        assertGe(c, ys[seg - 1], "below the segment");
        assertLe(c, ys[seg], "above the segment");
        uint256 exact = uint256(ys[seg - 1]) * (x1 - x0) + (uint256(ys[seg]) - ys[seg - 1]) * (q - x0); // c * (x1 - x0)
        assertLe(c * (x1 - x0), exact, "rounds up");
        assertGt(c * (x1 - x0) + (x1 - x0), exact, "rounds down by more than one unit");
    }

    function testFuzz_linear_curve_is_the_identity(uint256 p) public view {
        uint64[] memory xs = new uint64[](2);
        uint64[] memory ys = new uint64[](2);
        xs[1] = uint64(WAD);
        ys[1] = uint64(WAD);
        (uint256[4] memory packed, uint8 n) = h.pack(xs, ys);
        p = bound(p, 0, WAD);
        assertEq(h.curveAt(packed, n, p), p, "linear curve: c(p) != p");
    }

    function testFuzz_b4_pack_keeps_every_breakpoint(uint256 seed) public view {
        (uint256[4] memory packed, uint256 n, uint64[] memory xs, uint64[] memory ys) = _packed(seed);
        assertEq(n, xs.length, "length");
        for (uint256 i = 0; i < n; ++i) {
            (uint256 x, uint256 y) = h.point(packed, i);
            assertEq(x, xs[i], "x lost");
            assertEq(y, ys[i], "y lost");
        }
        for (uint256 i = n; i < 8; ++i) {
            (uint256 x, uint256 y) = h.point(packed, i);
            assertEq(x + y, 0, "unused slot not empty");
        }
    }

    // ----------------------------------------------------------- invalid curves

    function _expectInvalid(uint64[] memory xs, uint64[] memory ys, uint256 index) internal {
        vm.expectRevert(abi.encodeWithSelector(RewardMath.InvalidCurve.selector, index));
        h.pack(xs, ys);
    }

    function testFuzz_b4_pack_rejects_a_wrong_length(uint256 seed, uint256 len) public {
        len = bound(len, 0, 14);
        if (len >= 2 && len <= 8) len += 7 + (seed % 3); // 9..17: too many breakpoints
        uint64[] memory xs = new uint64[](len);
        uint64[] memory ys = new uint64[](len);
        if (len > 0) {
            xs[len - 1] = uint64(WAD);
            ys[len - 1] = uint64(WAD);
        }
        for (uint256 i = 1; i + 1 < len; ++i) {
            xs[i] = uint64(i);
            ys[i] = uint64(i);
        }
        _expectInvalid(xs, ys, len);
    }

    function testFuzz_b4_pack_rejects_ys_of_another_length(uint256 seed, uint256 extra) public {
        (uint64[] memory xs,) = _curve(seed);
        uint256 m = bound(extra, 0, 9);
        vm.assume(m != xs.length);
        uint64[] memory ys = new uint64[](m);
        _expectInvalid(xs, ys, xs.length);
    }

    function testFuzz_b4_pack_rejects_a_curve_not_starting_at_origin(uint256 seed, uint64 v, bool onX) public {
        (uint64[] memory xs, uint64[] memory ys) = _curve(seed);
        v = uint64(bound(v, 1, type(uint64).max));
        if (onX) xs[0] = v;
        else ys[0] = v;
        _expectInvalid(xs, ys, 0);
    }

    function testFuzz_b4_pack_rejects_a_curve_not_ending_at_one(uint256 seed, uint64 v, bool onX) public {
        (uint64[] memory xs, uint64[] memory ys) = _curve(seed);
        vm.assume(v != WAD);
        uint256 last = xs.length - 1;
        if (onX) xs[last] = v;
        else ys[last] = v;
        _expectInvalid(xs, ys, last);
    }

    function testFuzz_b4_pack_rejects_x_not_strictly_increasing(uint256 seed, uint256 at, uint64 lower) public {
        (uint64[] memory xs, uint64[] memory ys) = _curve(seed); // odd seed: at least 3 points
        uint256 n = xs.length;
        vm.assume(n >= 3);
        uint256 i = bound(at, 1, n - 2); // an interior point (the ends are checked first)
        xs[i] = uint64(bound(lower, 0, xs[i - 1])); // x_i <= x_{i-1}
        _expectInvalid(xs, ys, i);
    }

    function testFuzz_b4_pack_rejects_an_x_beyond_one_before_the_end(uint256 seed, uint64 big) public {
        (uint64[] memory xs, uint64[] memory ys) = _curve(seed);
        uint256 n = xs.length;
        vm.assume(n >= 3);
        xs[n - 2] = uint64(bound(big, WAD, type(uint64).max)); // then x_{n-1} = WAD is not larger
        _expectInvalid(xs, ys, n - 1);
    }

    function testFuzz_b4_pack_rejects_a_decreasing_y(uint256 seed, uint256 at, uint64 bump) public {
        (uint64[] memory xs, uint64[] memory ys) = _curve(seed);
        uint256 n = xs.length;
        vm.assume(n >= 3);
        uint256 i = bound(at, 2, n - 1);
        ys[i - 1] = uint64(uint256(ys[i]) + 1 + (bump % WAD)); // y_{i-1} > y_i (may exceed WAD)
        _expectInvalid(xs, ys, i);
    }

    // ---------------------------------------------------------------- rewards

    /// @dev Pays `rewardFor` along `steps` progress values (sorted ascending when `sorted`),
    ///      returns the total paid.
    function _payAlong(uint256[4] memory packed, uint256 n, uint256 escrow, uint256[] memory ps)
        internal
        view
        returns (uint256 paid, uint256 maxDue)
    {
        for (uint256 i = 0; i < ps.length; ++i) {
            uint256 c = h.curveAt(packed, n, ps[i]);
            uint256 due = (escrow * c) / WAD;
            if (due > maxDue) maxDue = due;
            uint256 r = h.rewardFor(escrow, paid, c);
            paid += r;
            assertLe(paid, escrow, "paid more than the escrow");
        }
    }

    function testFuzz_r6_rewards_along_increasing_progress_never_exceed_escrow(
        uint256 seed,
        uint256 escrow,
        uint256[12] memory raw,
        uint256 steps
    ) public view {
        (uint256[4] memory packed, uint256 n,,) = _packed(seed);
        escrow = bound(escrow, 0, type(uint128).max);
        steps = bound(steps, 1, 12);
        uint256[] memory ps = new uint256[](steps);
        uint256 p = 0;
        for (uint256 i = 0; i < steps; ++i) {
            p = bound(raw[i], p, WAD); // non-decreasing progress
            ps[i] = p;
        }
        (uint256 paid, uint256 maxDue) = _payAlong(packed, n, escrow, ps);
        // telescoping: what was paid is exactly floor(R * c(p_last))
        assertEq(paid, (escrow * h.curveAt(packed, n, p)) / WAD, "paid != floor(R * c(p_last))");
        assertEq(paid, maxDue, "paid != the largest amount due");
        if (p == WAD) assertEq(paid, escrow, "full progress must pay the whole escrow");
    }

    function testFuzz_r6_rewards_in_any_order_pay_the_largest_due_only(
        uint256 seed,
        uint256 escrow,
        uint256[8] memory raw
    ) public view {
        (uint256[4] memory packed, uint256 n,,) = _packed(seed);
        escrow = bound(escrow, 0, type(uint128).max);
        uint256[] memory ps = new uint256[](8);
        for (uint256 i = 0; i < 8; ++i) {
            ps[i] = bound(raw[i], 0, WAD);
        }
        (uint256 paid, uint256 maxDue) = _payAlong(packed, n, escrow, ps);
        assertEq(paid, maxDue, "a lower progress after a higher one was paid");
    }

    function testFuzz_r6_topped_up_escrow_still_bounds_the_sum(
        uint256 seed,
        uint256[6] memory raw,
        uint256[6] memory tops
    ) public view {
        (uint256[4] memory packed, uint256 n,,) = _packed(seed);
        uint256 escrow = 0;
        uint256 paid = 0;
        uint256 p = 0;
        for (uint256 i = 0; i < 6; ++i) {
            escrow += bound(tops[i], 0, type(uint120).max); // top-ups only ever raise R
            p = bound(raw[i], p, WAD);
            paid += h.rewardFor(escrow, paid, h.curveAt(packed, n, p));
            assertLe(paid, escrow, "paid more than the escrow after a top-up");
        }
    }

    // ------------------------------------------------------------------ median

    function _sortedCopy(uint64[] memory a) internal pure returns (uint64[] memory s) {
        s = new uint64[](a.length);
        for (uint256 i = 0; i < a.length; ++i) {
            s[i] = a[i];
        }
        for (uint256 i = 0; i < s.length; ++i) {
            for (uint256 j = i + 1; j < s.length; ++j) {
                if (s[j] < s[i]) (s[i], s[j]) = (s[j], s[i]);
            }
        }
    }

    function testFuzz_median_is_the_lower_middle_of_the_sorted_values(uint64[16] memory raw, uint256 m) public view {
        m = bound(m, 1, 16);
        uint64[] memory v = new uint64[](m);
        for (uint256 i = 0; i < m; ++i) {
            v[i] = raw[i];
        }
        uint64[] memory s = _sortedCopy(v);
        assertEq(h.lowerMedian(v), s[(m - 1) / 2], "not the lower median");
    }

    function testFuzz_r5_one_arbitrary_report_cannot_leave_the_honest_range(
        uint64[16] memory honestRaw,
        uint64 arbitrary,
        uint256 m,
        uint256 pos
    ) public view {
        m = bound(m, 3, 16);
        pos = pos % m;
        uint64[] memory v = new uint64[](m);
        uint64 lo = type(uint64).max;
        uint64 hi = 0;
        for (uint256 i = 0; i < m; ++i) {
            if (i == pos) {
                v[i] = arbitrary;
                continue;
            }
            v[i] = honestRaw[i];
            if (v[i] < lo) lo = v[i];
            if (v[i] > hi) hi = v[i];
        }
        uint64 med = h.lowerMedian(v);
        assertGe(med, lo, "median below every honest report");
        assertLe(med, hi, "median above every honest report");
    }

    /// @dev With a strict honest majority (at most (m-1)/2 arbitrary values) the lower median
    ///      lies within [min, max] of the honest values, whatever the arbitrary ones are.
    function testFuzz_r5_honest_majority_bounds_the_median(
        uint64[16] memory raw,
        uint256 m,
        uint256 liarSeed,
        uint256 liars,
        uint256 mode
    ) public view {
        m = bound(m, 3, 16);
        liars = bound(liars, 0, (m - 1) / 2);
        uint64[] memory v = new uint64[](m);
        bool[] memory isLiar = new bool[](m);
        for (uint256 k = 0; k < liars; ++k) {
            uint256 at = _rand(liarSeed, k) % m;
            while (isLiar[at]) at = (at + 1) % m;
            isLiar[at] = true;
        }
        uint64 lo = type(uint64).max;
        uint64 hi = 0;
        for (uint256 i = 0; i < m; ++i) {
            if (isLiar[i]) {
                // all low, all high, or anything
                v[i] = mode % 3 == 0 ? 0 : mode % 3 == 1 ? type(uint64).max : uint64(_rand(mode, i));
            } else {
                v[i] = raw[i];
                if (v[i] < lo) lo = v[i];
                if (v[i] > hi) hi = v[i];
            }
        }
        uint64 med = h.lowerMedian(v);
        assertGe(med, lo, "median below the honest range");
        assertLe(med, hi, "median above the honest range");
    }

    /// @dev The bound is tight: one more liar than (m-1)/2, all below the honest values, drags
    ///      the lower median out of the honest range (so the test above is not vacuous).
    function testFuzz_r5_without_honest_majority_the_median_can_leave(uint256 m, uint64 base) public view {
        m = bound(m, 3, 16);
        base = uint64(bound(base, 1, type(uint64).max));
        uint256 liars = (m - 1) / 2 + 1;
        uint64[] memory v = new uint64[](m);
        for (uint256 i = 0; i < m; ++i) {
            v[i] = i < liars ? 0 : base;
        }
        assertEq(h.lowerMedian(v), 0, "a liar majority should decide the lower median");
    }

    // ------------------------------------------------------------- key, progress

    function testFuzz_key_orders_scores_in_the_metric_direction(uint32 a, uint32 b, bool higher) public view {
        vm.assume(a != INVALID && b != INVALID);
        uint64 ka = h.key(a, higher);
        uint64 kb = h.key(b, higher);
        assertGt(ka, 0, "valid score keyed as invalid");
        assertEq(h.key(INVALID, higher), 0, "invalid must key to 0");
        if (a == b) assertEq(ka, kb, "equal scores, different keys");
        else if ((a > b) == higher) assertGt(ka, kb, "better score, smaller key");
        else assertLt(ka, kb, "worse score, larger key");
        assertEq(h.scoreOf(ka, higher), a, "scoreOf(key(s)) != s");
    }

    function testFuzz_r6_progress_is_clipped_and_monotone(uint64 k1, uint64 k2, uint64 baseline, uint64 target)
        public
        view
    {
        if (k1 > k2) (k1, k2) = (k2, k1);
        uint256 p1 = h.progress(k1, baseline, target);
        uint256 p2 = h.progress(k2, baseline, target);
        assertLe(p1, p2, "progress decreases");
        assertLe(p2, WAD, "progress above WAD");
        if (k1 <= baseline) assertEq(p1, 0, "no gain, positive progress");
        if (k2 >= target && k2 > baseline) assertEq(p2, WAD, "target reached, progress below WAD");
        if (k1 > baseline && k1 < target) {
            assertEq(p1, (uint256(k1 - baseline) * WAD) / (target - baseline), "progress formula");
        }
    }
}

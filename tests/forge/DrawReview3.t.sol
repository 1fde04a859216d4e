// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {console} from "./utils/Test.sol";
import {DrawTestBase} from "./utils/DrawTestBase.sol";
import {MarketSetup} from "./utils/MarketSetup.sol";
import {IOracleRegistry, SEED_OFFSET} from "../../interfaces/IOracleRegistry.sol";
import {IBountyMarket, IBountyMarketTypes, IBountyMarketErrors} from "../../interfaces/IBountyMarket.sol";

/// @dev The requester's wrapper of the third draw review (R3-2): runs drawCommittee (which
///      records the drawing half's seed from this block's PREVRANDAO) and reverts, undoing the
///      recording too, unless the committee gives the coalition at least `want` seats. Sent
///      every block until some node records.
contract SeedPicker {
    function drawIfCaptured(IBountyMarket market, uint256 id, address[] calldata coalition, uint256 want) external {
        market.drawCommittee(id);
        (address[] memory m,,) = market.getCommittee(id);
        uint256 c;
        for (uint256 i = 0; i < m.length; ++i) {
            for (uint256 j = 0; j < coalition.length; ++j) if (m[i] == coalition[j]) ++c;
        }
        require(c >= want, "dislike: let the honest node's later block record another seed");
    }
}

/// @dev Regression tests of the third adversarial review of the committee draw (issue 15 item
///      2, /work/notes/s9_drawreview3.md): each proof of concept, adapted to today's code and
///      inverted, so that it asserts the attack fails.
contract DrawReview3Test is DrawTestBase {
    address[] internal coalition;

    function setUp() public {
        _deploy(100_000 ether);
        for (uint256 j = 0; j < 3; ++j) coalition.push(mine[j]);
    }

    function _same(address[] memory a, address[] memory b) internal pure returns (bool) {
        if (a.length != b.length) return false;
        for (uint256 i = 0; i < a.length; ++i) if (a[i] != b[i]) return false;
        return true;
    }

    // ------------------------------------------------------------ R3-2: the first recorder picked the seed

    /// @dev R3-2 (high). recordSeed used to store the PREVRANDAO of whichever block of the
    ///      drawing half first called it, so the requester's SeedPicker, sent in every block
    ///      before the first node's call, kept the seed only if it liked it (27% of the stake:
    ///      9 majorities of 60 fair, 16 picked with the node at +2, 24 at +5). The seed is now
    ///      the PREVRANDAO of one fixed block, the half's seed block: before it the picker's
    ///      draw reverts (DrawNotDue), in it the node's own call lands in the same block (same
    ///      PREVRANDAO, the same seed whatever the picker does), and after it the seed is the
    ///      one recorded there. Over the same 60 bounties the picker ends with the fair outcome.
    function test_attack_R3_2_first_recorder_picks_between_the_seeds_of_several_blocks() public {
        for (uint256 i = 0; i < 16; ++i) _stake(_oracle(i), 2 ether);
        for (uint256 j = 0; j < 3; ++j) _stake(mine[j], 4 ether); // 12 of 44 ETH: 27%
        SeedPicker picker = new SeedPicker();
        IBountyMarketTypes.BountyParams memory p = _drawnParams(3);
        uint256 fair;
        uint256 picked;
        for (uint256 round = 0; round < 60; ++round) {
            _toStaking();
            uint256 id = _open(p);
            uint256 at = market.getBounty(id).drawBlock;
            bytes32 seedRandao = keccak256(abi.encode("PREVRANDAO of the seed block", round));
            // the fair outcome: the node's drawCommittee lands in the seed block
            uint256 s = vm.snapshotState();
            vm.roll(at + SEED_OFFSET);
            vm.prevrandao(seedRandao);
            market.drawCommittee(id);
            (address[] memory honest,,) = market.getCommittee(id);
            if (_mineCount(honest) >= 2) ++fair;
            vm.revertToState(s);
            // the attack: the picker in every block of the half from its first, before the node
            for (uint256 b = 1; b < SEED_OFFSET; ++b) {
                vm.roll(at + b);
                vm.prevrandao(keccak256(abi.encode("PREVRANDAO of drawBlock +", b, round)));
                vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.DrawNotDue.selector, id, at));
                picker.drawIfCaptured(market, id, coalition, 2);
            }
            vm.roll(at + SEED_OFFSET);
            vm.prevrandao(seedRandao);
            try picker.drawIfCaptured(market, id, coalition, 2) {} catch {}
            if (market.getBounty(id).drawBlock != 0) market.drawCommittee(id); // the node, same block
            for (uint256 b = SEED_OFFSET + 1; b < 5; ++b) {
                vm.roll(at + b); // later blocks: another PREVRANDAO, the recorded seed
                vm.prevrandao(keccak256(abi.encode("PREVRANDAO of drawBlock +", b, round)));
                try picker.drawIfCaptured(market, id, coalition, 2) {} catch {}
            }
            (address[] memory fin,,) = market.getCommittee(id);
            assertTrue(_same(fin, honest), "the picker's committee is not the fair one");
            if (_mineCount(fin) >= 2) ++picked;
        }
        console.log(string.concat("R3-2: coalition majorities of 60: fair ", vm.toString(fair), ", with the picker: ", vm.toString(picked)));
        assertEq(picked, fair, "the picker raised the capture rate");
    }

    /// @dev R3-2's remaining choice: a proposer (or whoever fills the seed block with its own
    ///      transactions) can leave every recording out of the seed block. The half's draws then
    ///      lapse uncharged, first draw and replacement alike, and are re-armed for a later half:
    ///      no charge for an honest requester whose seed block was censored, and no free cancel
    ///      for a requester either (a cancel stays charged), nor any change to who is excluded.
    function test_attack_R3_2_censoring_the_seed_block_lapses_uncharged_and_cancels_stay_charged() public {
        for (uint256 i = 0; i < 8; ++i) _stake(_oracle(i), 2 ether);
        IBountyMarketTypes.BountyParams memory p = _drawnParams(3);
        uint256 id = _open(p);
        uint256 at = market.getBounty(id).drawBlock;
        uint256 per = registry.drawPeriod();
        uint256 burn0 = market.pendingBurn(address(0));
        vm.roll(at + SEED_OFFSET + 1); // the seed block passed with no recording in it
        vm.prevrandao(keccak256("a later block's PREVRANDAO"));
        assertEq(registry.recordSeed(), 0, "missed: nothing recorded after the seed block");
        market.drawCommittee(id);
        assertFalse(market.getBounty(id).cancelled, "a missed seed ends nothing");
        assertEq(market.pendingBurn(address(0)), burn0, "uncharged");
        uint256 next = market.getBounty(id).drawBlock;
        assertEq(next, at + 2 * per, "re-armed for the next drawing half");
        (address[] memory m,,) = market.getCommittee(id);
        assertEq(m[0], address(0), "nothing drawn");
        // the same after the whole half, when no one called in it
        uint256 id2 = _open(p);
        uint256 at2 = market.getBounty(id2).drawBlock;
        vm.roll(at2 + per + 3);
        market.drawCommittee(id2);
        assertFalse(market.getBounty(id2).cancelled, "a missed seed lapses uncharged after the half too");
        assertEq(market.pendingBurn(address(0)), burn0, "still uncharged");
        // the re-armed draw runs as any first draw would, from its own half's seed block
        m = _drawAt(id, keccak256("the next seed block"));
        assertEq(_countSet(m), 3, "drawn in full after the re-arm");
        for (uint256 i = 0; i < 3; ++i) assertTrue(m[i] != requester, "the requester is still skipped");
        // a requester that wanted out of a drawn bounty: a cancel is charged, missed seed or not
        uint256 id3 = _open(p);
        vm.roll(market.getBounty(id3).drawBlock + SEED_OFFSET + 1);
        market.drawCommittee(id3); // missed: re-armed
        uint256 burn1 = market.pendingBurn(address(0));
        vm.prank(requester);
        market.cancel(id3);
        assertEq(market.pendingBurn(address(0)) - burn1, p.reward / 20 + MarketSetup.drawDeposit(p), "the cancel is charged");
    }

    /// @dev A replacement whose seed block is missed keeps its exclusions: the vacated or
    ///      departed oracle is never drawn by the re-armed draw.
    function test_attack_R3_2_a_missed_replacement_keeps_its_exclusions() public {
        for (uint256 i = 0; i < 4; ++i) _stake(_oracle(i), 2 ether); // 4 oracles, 3 seats
        uint256 id = _open(_drawnParams(3));
        address[] memory m = _drawAt(id, keccak256("first"));
        vm.prank(m[0]);
        market.joinCommittee(id);
        _toStaking();
        vm.prank(m[0]);
        market.leaveCommittee(id); // its seat is drawn again, never from it
        uint256 at = market.getBounty(id).drawBlock;
        vm.roll(at + SEED_OFFSET + 1); // missed
        market.drawCommittee(id);
        assertGt(market.getBounty(id).drawBlock, at, "re-armed");
        address[] memory again = _drawAt(id, keccak256("second"));
        assertTrue(again[0] != address(0) && again[0] != m[0], "the leaver is still excluded");
    }

    // ------------------------------------------------------------ R3-3: consecutive proposers

    /// @dev What drawCommittee gives now if the seed block's PREVRANDAO is `r` (run and undone).
    function _drawnUnder(uint256 id, uint256 blockNumber, bytes32 r) internal returns (address[] memory m) {
        uint256 s = vm.snapshotState();
        vm.roll(blockNumber);
        vm.prevrandao(r);
        market.drawCommittee(id);
        (m,,) = market.getCommittee(id);
        vm.revertToState(s);
    }

    /// @dev R3-3 (medium, now at its new boundary). A validator that proposes the last staking
    ///      block (drawBlock - 1) and drawBlock knows PREVRANDAO(drawBlock + 1) while building a
    ///      staking block: it ground a stake top-up of w wei against that seed (447 wei gave a 15%
    ///      coalition all 3 seats) and recorded it in drawBlock + 1. The seed block is now
    ///      drawBlock + 2, whose PREVRANDAO also takes in the RANDAO reveal of drawBlock + 1's
    ///      proposer: the two-slot proposer's top-up, ground against the seed it knows, cannot
    ///      be recorded in drawBlock + 1, and the seed block's own PREVRANDAO (unknown to it)
    ///      does not give it the committee. Three consecutive slots are still needed and enough
    ///      (SECURITY.md, known weaknesses).
    function test_attack_R3_3_proposer_of_the_last_staking_block_and_the_next_grinds_a_stake_top_up() public {
        for (uint256 i = 0; i < 17; ++i) _stake(_oracle(i), 2 ether);
        for (uint256 j = 0; j < 3; ++j) _stake(mine[j], 2 ether); // 15%
        uint256 id = _open(_drawnParams(3));
        uint256 at = market.getBounty(id).drawBlock;
        bytes32 known = keccak256("PREVRANDAO(drawBlock + 1), known to the proposer of drawBlock - 1 and drawBlock");
        bytes32 seedRandao = keccak256("PREVRANDAO(drawBlock + 2): takes in drawBlock + 1's proposer's reveal");
        vm.roll(at - 1); // the last staking block, being built by the attacker
        (bool drawing,) = registry.phase();
        assertFalse(drawing, "a staking block");
        // the grind, against the seed the attacker knows, as if it were recorded (in the seed block)
        uint256 w;
        for (w = 1; w <= 20_000; ++w) {
            uint256 s = vm.snapshotState();
            vm.deal(mine[0], w);
            vm.prank(mine[0]);
            registry.stake{value: w}();
            address[] memory m = _drawnUnder(id, at + SEED_OFFSET, known);
            vm.revertToState(s);
            if (_mineCount(m) == 3) break;
        }
        assertLe(w, 20_000, "no top-up found");
        vm.deal(mine[0], w);
        vm.prank(mine[0]);
        registry.stake{value: w}(); // included in drawBlock - 1
        vm.roll(at + 1); // its own block: the seed it knows cannot be recorded here
        vm.prevrandao(known);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.DrawNotDue.selector, id, at));
        market.drawCommittee(id);
        vm.expectRevert(abi.encodeWithSelector(IOracleRegistry.SeedNotOpen.selector, at + SEED_OFFSET));
        registry.recordSeed();
        vm.roll(at + SEED_OFFSET); // the seed block: another proposer's reveal in its PREVRANDAO
        vm.prevrandao(seedRandao);
        market.drawCommittee(id);
        (address[] memory got,,) = market.getCommittee(id);
        assertLt(_mineCount(got), 3, "the ground top-up took every seat");
        console.log(string.concat("R3-3: top-up ground (wei) ", vm.toString(w), ", coalition seats in the seed block's draw: ", vm.toString(_mineCount(got))));
    }

    // ------------------------------------------------------------ R3-4: a refusing whale charged requesters

    /// @dev R3-4 (medium). A staker whose policy refused everything turned each of its samples
    ///      into a miss (never drawn, bonded or slashed): with half the stake it failed 22 of 40
    ///      honest first draws, each charged to the honest requester. setPolicy now refuses a
    ///      policy stricter than the standard envelope on any field, so a bounty inside it (the
    ///      market's defaults here) never misses on a policy: the whale's refuse-all policy
    ///      reverts, its strictest allowed one (the envelope itself) fails none of the 40 draws,
    ///      and nothing is burned. Outside the envelope (terms the requester chose), the whale
    ///      still refuses, and a failed first draw is still charged.
    function test_attack_R3_4_a_refusing_whale_makes_first_draws_fail_charged_for_free() public {
        for (uint256 i = 0; i < 16; ++i) _stake(_oracle(i), 2 ether);
        address whale = address(0xD0D0);
        _stake(whale, 32 ether); // 32 of 64 ETH
        vm.prank(whale);
        vm.expectRevert(abi.encodeWithSelector(IOracleRegistry.InvalidPolicy.selector, "minScoringTimeout"));
        registry.setPolicy(IOracleRegistry.Policy(7 days, 1, type(uint96).max, 1, false, 1)); // refuses all
        vm.prank(whale);
        registry.setPolicy(registry.envelope()); // the strictest it may register
        IBountyMarketTypes.BountyParams memory p = _drawnParams(3);
        p.reward = 10 ether;
        uint256 k = 40;
        uint256[] memory ids = new uint256[](k);
        for (uint256 i = 0; i < k; ++i) ids[i] = _open(p);
        vm.roll(market.getBounty(ids[0]).drawBlock + SEED_OFFSET);
        vm.prevrandao(keccak256("an unbiased PREVRANDAO"));
        uint256 burn0 = market.pendingBurn(address(0));
        uint256 failed;
        for (uint256 i = 0; i < k; ++i) {
            market.drawCommittee(ids[i]);
            if (market.getBounty(ids[i]).cancelled) ++failed;
        }
        assertEq(failed, 0, "an honest first draw inside the envelope failed");
        assertEq(market.pendingBurn(address(0)), burn0, "an honest requester charged");
        // outside the envelope (a 30-minute timeout the requester chose), the whale may refuse
        _toStaking();
        p.scoringTimeout = 30 minutes;
        IOracleRegistry.Policy memory strict = registry.envelope();
        vm.prank(whale);
        registry.setPolicy(strict); // an hour: refuses the 30-minute bounty
        IOracleRegistry.Terms memory t = IOracleRegistry.Terms(30 minutes, 7 days, p.oracleFeePerBatch, true, 12, 0.0625 ether);
        assertFalse(registry.accepts(whale, t), "outside the envelope a policy may refuse");
        t.scoringTimeout = 1 hours;
        assertTrue(registry.accepts(whale, t), "inside it every policy accepts");
    }

    /// @dev Rule O5 (R3-4): the envelope is taken as a policy, and a policy one step stricter on
    ///      any field is refused (InvalidPolicy naming the field); token fees may be refused.
    function test_attack_R3_4_set_policy_refuses_a_policy_stricter_than_the_envelope_on_any_field() public {
        _stake(_oracle(0), 2 ether);
        IOracleRegistry.Policy memory e = registry.envelope();
        assertEq(e.minScoringTimeout, 1 hours, "timeout");
        assertEq(e.maxDuration, 30 days, "duration");
        assertEq(e.minFeePerBatch, 0.001 ether, "fee");
        assertEq(e.maxCommitteeByBatch, 192, "committee x batch");
        assertEq(e.maxBond, registry.minStake() / 16, "the market's bond floor");
        vm.prank(_oracle(0));
        registry.setPolicy(e); // token fees refused: allowed
        string[5] memory fields = ["minScoringTimeout", "maxDuration", "minFeePerBatch", "maxCommitteeByBatch", "maxBond"];
        for (uint256 f = 0; f < 5; ++f) _refused(_stricter(f), fields[f]);
    }

    /// @dev The envelope made one step stricter on field `f` (in the order of `fields` above).
    function _stricter(uint256 f) internal view returns (IOracleRegistry.Policy memory q) {
        q = registry.envelope();
        if (f == 0) q.minScoringTimeout += 1;
        else if (f == 1) q.maxDuration -= 1;
        else if (f == 2) q.minFeePerBatch += 1;
        else if (f == 3) q.maxCommitteeByBatch -= 1;
        else q.maxBond -= 1;
    }

    function _refused(IOracleRegistry.Policy memory q, string memory field) internal {
        vm.prank(_oracle(0));
        vm.expectRevert(abi.encodeWithSelector(IOracleRegistry.InvalidPolicy.selector, field));
        registry.setPolicy(q);
    }

    // ------------------------------------------------------------ R3-5: honest free stake locked by decoys

    /// @dev As the node does: an honest oracle joins every drawn seat it can bond for.
    function _honestJoin(uint256 id) internal {
        (address[] memory m, uint256 opted,) = market.getCommittee(id);
        (uint256 bond,) = market.memberBond(id);
        for (uint256 i = 0; i < m.length; ++i) {
            if (m[i] == address(0) || _isMine(m[i]) || opted & (1 << i) != 0) continue;
            if (registry.canBond(m[i], bond)) {
                vm.prank(m[i]);
                market.joinCommittee(id);
            }
        }
    }

    function _honestFreeLeft(uint256 bond) internal view returns (uint256 n) {
        for (uint256 i = 0; i < 16; ++i) if (registry.canBond(_oracle(i), bond)) ++n;
    }

    /// @dev The review's decoys: drawn bounties at reward 0 whose bond is the honest maxBond
    ///      (1 ETH of refundable fee budget, 365 days), joined by every honest oracle that can,
    ///      until no honest oracle has free stake left. Returns the decoys.
    function _decoysLockHonestStake() internal returns (uint256[] memory all, uint256 n) {
        for (uint256 i = 0; i < 16; ++i) {
            _stake(_oracle(i), 2 ether);
            vm.prank(_oracle(i));
            registry.setPolicy(IOracleRegistry.Policy(600, 365 days, 0, 2048, true, 1 ether)); // the node's default maxBond
        }
        for (uint256 j = 0; j < 3; ++j) _stake(mine[j], 2 ether); // 6 of 38 ETH: 15.8%
        IBountyMarketTypes.BountyParams memory decoy = _drawnParams(3);
        decoy.reward = 0;
        decoy.oracleFeePerBatch = 0.1 ether;
        decoy.maxBatches = 10; // bond = fee budget = 1 ETH, refunded at close (no batch is ever filled)
        decoy.deadline = uint64(block.timestamp + 365 days);
        all = new uint256[](72);
        for (uint256 round = 0; round < 12 && _honestFreeLeft(0.0625 ether) != 0; ++round) {
            _toStaking();
            for (uint256 i = 0; i < 6; ++i) all[n++] = _open(decoy);
            vm.roll(market.getBounty(all[n - 1]).drawBlock + SEED_OFFSET);
            vm.prevrandao(keccak256(abi.encode("decoy round", round)));
            for (uint256 i = n - 6; i < n; ++i) {
                market.drawCommittee(all[i]);
                _honestJoin(all[i]);
            }
        }
        assertEq(_honestFreeLeft(0.0625 ether), 0, "some honest oracle can still bond");
    }

    /// @dev R3-5 (high). Decoy bounties lock the honest oracles' free stake; on the real 100 ETH
    ///      bounty each honest drawn member could not bond, so after the join window it was
    ///      vacated and excluded and its seat drawn again, for free, until the coalition (15.8%,
    ///      which never joins a decoy) held every seat (review: 48 decoys, 51.5 ETH refundable,
    ///      captured after 5 draws). vacateSeat now never vacates for want of free stake: the
    ///      honest seats wait (the vacate reverts, cycle after cycle) and the coalition never
    ///      holds the committee.
    function test_attack_R3_5_decoy_bounties_lock_honest_stake_and_the_real_committee_is_purged() public {
        _decoysLockHonestStake();
        _toStaking();
        IBountyMarketTypes.BountyParams memory p = _drawnParams(3);
        p.reward = 100 ether;
        uint256 id = _open(p);
        uint256 per = registry.drawPeriod();
        bool honestSeated;
        for (uint256 cycle = 0; cycle < 10; ++cycle) {
            uint256 at = market.getBounty(id).drawBlock;
            if (at != 0) {
                vm.roll(at + SEED_OFFSET);
                vm.prevrandao(keccak256(abi.encode("target cycle", cycle)));
                market.drawCommittee(id);
            }
            uint256 drawnBlock = (block.number / per | 1) * per; // a drawing-half block: the draw's, or one as late
            assertFalse(market.getBounty(id).cancelled, "first draw failed");
            _honestJoin(id); // none can bond
            (address[] memory m, uint256 opted,) = market.getCommittee(id);
            for (uint256 i = 0; i < 3; ++i) {
                if (_isMine(m[i]) && opted & (1 << i) == 0) {
                    vm.prank(m[i]);
                    market.joinCommittee(id);
                }
            }
            // the join window: the scoring timeout and a whole staking half since the draw
            vm.warp(block.timestamp + p.scoringTimeout);
            vm.roll((drawnBlock / per + 3) * per);
            (m, opted,) = market.getCommittee(id);
            for (uint256 i = 0; i < 3; ++i) {
                if (m[i] == address(0) || opted & (1 << i) != 0) continue;
                honestSeated = true; // an honest member short of free stake, drawn
                vm.prank(requester);
                vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.SeatNotVacatable.selector, id, m[i]));
                market.vacateSeat(id, m[i]); // refused: it lacks only free stake, which decoys locked
            }
        }
        (address[] memory fin,,) = market.getCommittee(id);
        assertTrue(honestSeated, "no honest oracle drawn: the test shows nothing");
        assertLt(_mineCount(fin), 3, "the coalition holds every seat");
        assertLt(_mineCount(fin), 2, "the coalition holds a majority");
    }

    /// @dev R3-5's other side: a drawn oracle that HAS the free stake for the bond and still does
    ///      not join (dead, or unwilling) is vacated once the join window has passed, uncharged;
    ///      one short of free stake waits, and is vacatable once its stake frees up and it still
    ///      does not join.
    function test_attack_R3_5_a_dead_oracle_with_free_stake_is_still_vacated() public {
        for (uint256 i = 0; i < 8; ++i) _stake(_oracle(i), 2 ether);
        IBountyMarketTypes.BountyParams memory p = _drawnParams(3);
        uint256 id = _open(p);
        address[] memory m = _drawAt(id, keccak256("dead"));
        uint256 drawnBlock = block.number;
        (uint256 bond,) = market.memberBond(id);
        vm.prank(m[0]);
        market.joinCommittee(id);
        _toStaking();
        vm.prank(address(market)); // m[2]'s whole stake locked by bonds elsewhere
        registry.bond(m[2], 2 ether);
        uint256 per = registry.drawPeriod();
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.SeatNotVacatable.selector, id, m[1]));
        market.vacateSeat(id, m[1]); // the window has not passed
        vm.warp(block.timestamp + p.scoringTimeout);
        vm.roll((drawnBlock / per + 3) * per);
        assertTrue(registry.canBond(m[1], bond), "m[1] has the free stake");
        uint256 burn0 = market.pendingBurn(address(0));
        market.vacateSeat(id, m[1]); // dead with free stake: vacated
        assertEq(market.pendingBurn(address(0)), burn0, "uncharged");
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.SeatNotVacatable.selector, id, m[2]));
        market.vacateSeat(id, m[2]); // short of free stake: waits
        vm.prank(address(market));
        registry.release(m[2], 2 ether); // its other bounty ends
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.SeatNotVacatable.selector, id, m[2]));
        market.vacateSeat(id, m[2]); // freed this very block: a whole period to join first (review 10, D2)
        vm.roll(block.number + 2 * per); // the same place in a staking half, a period on
        market.vacateSeat(id, m[2]); // free stake a whole period, still not joined: vacated
        (address[] memory now_,,) = market.getCommittee(id);
        assertEq(now_[1], address(0), "dead seat emptied");
        assertEq(now_[2], address(0), "seat emptied once it could bond and did not");
    }

    function _drawAt(uint256 id, bytes32 r) internal returns (address[] memory m) {
        vm.roll(market.getBounty(id).drawBlock + SEED_OFFSET);
        vm.prevrandao(r);
        market.drawCommittee(id);
        (m,,) = market.getCommittee(id);
    }

    function _countSet(address[] memory m) internal pure returns (uint256 c) {
        for (uint256 i = 0; i < m.length; ++i) if (m[i] != address(0)) ++c;
    }
}

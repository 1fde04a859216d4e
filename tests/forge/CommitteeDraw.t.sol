// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test, console} from "./utils/Test.sol";
import {MarketSetup} from "./utils/MarketSetup.sol";
import {OracleRegistry} from "../../contracts/OracleRegistry.sol";
import {IOracleRegistry} from "../../interfaces/IOracleRegistry.sol";
import {IBountyMarket, IBountyMarketTypes, IBountyMarketErrors} from "../../interfaces/IBountyMarket.sol";

/// @dev A wrapper that opens a drawn bounty and keeps it only if it likes the committee: the
///      grinding attack on the draw. The draw cannot run in the opening transaction.
contract DrawGrinder {
    function openAndDraw(IBountyMarket market, IBountyMarketTypes.BountyParams calldata p) external payable {
        uint256 id = market.createBounty{value: msg.value}(p);
        market.drawCommittee(id); // reverts DrawNotDue: the seed is a later block's hash
    }
}

/// @dev Rules O5 (acceptance policies), O6 (stake-weighted sortition), C4 (the drawn committee)
///      and C5 (a cancel before the baseline burns part of the reward).
contract CommitteeDrawTest is Test {
    IBountyMarket internal market;
    OracleRegistry internal registry;
    address internal requester = address(0xBEEF);
    address[] internal oracles;

    receive() external payable {}

    function setUp() public {
        MarketSetup.Deployment memory d = MarketSetup.deploy(address(this), address(this));
        market = d.market;
        registry = d.registry;
        vm.deal(requester, 1_000 ether);
    }

    function _oracle(uint256 i) internal pure returns (address) {
        return address(uint160(0x10000 + i));
    }

    function _stake(address o, uint256 amount) internal {
        vm.deal(o, amount);
        vm.prank(o);
        registry.stake{value: amount}();
    }

    function _stakeMany(uint256 n, uint256 each) internal {
        for (uint256 i = 0; i < n; ++i) {
            _stake(_oracle(i), each);
            oracles.push(_oracle(i));
        }
    }

    function _drawnParams(uint256 size) internal view returns (IBountyMarketTypes.BountyParams memory p) {
        p = MarketSetup.params(address(0), new address[](size));
        if (size * p.batchSize > 2048) p.batchSize = uint16(2048 / size);
    }

    function _open(IBountyMarketTypes.BountyParams memory p) internal returns (uint256 id) {
        vm.prank(requester);
        id = market.createBounty{value: MarketSetup.escrow(p)}(p);
    }

    /// @dev Mines to the armed block, gives it `h` as its hash, and draws.
    function _draw(uint256 id, bytes32 h) internal returns (address[] memory members) {
        uint256 at = market.getBounty(id).drawBlock;
        vm.roll(at + 1);
        vm.setBlockhash(at, h);
        market.drawCommittee(id);
        (members,,) = market.getCommittee(id);
    }

    function _policy(uint32 minTimeout) internal pure returns (IOracleRegistry.Policy memory) {
        return IOracleRegistry.Policy(minTimeout, 365 days, 0, 2048, true);
    }

    function _terms(uint256 timeout) internal pure returns (IOracleRegistry.Terms memory t) {
        t.scoringTimeout = timeout;
        t.duration = 7 days;
        t.feePerBatch = 0.003 ether;
        t.feeInEth = true;
        t.committeeByBatch = 12;
        t.bond = 1 ether / 16;
    }

    // ------------------------------------------------------------ O6: the sortition tree

    /// @dev Stakes 1, 2, 3, 4 ether: over 2,000 fixed seeds each is drawn in proportion to its
    ///      stake, within 4 standard deviations (deterministic: the seeds are fixed).
    function test_o6_draw_is_stake_weighted() public {
        for (uint256 i = 0; i < 4; ++i) _stake(_oracle(i), (i + 1) * 1 ether);
        uint256[4] memory hits;
        uint256 runs = 2_000;
        for (uint256 s = 0; s < runs; ++s) {
            address[] memory d = registry.draw(s, 1, _terms(3600), new address[](0));
            hits[uint160(d[0]) - 0x10000]++;
        }
        for (uint256 i = 0; i < 4; ++i) {
            uint256 expected = (runs * (i + 1)) / 10; // p = (i + 1) / 10
            uint256 sd = _sqrt((runs * (i + 1) * (9 - i)) / 100); // sqrt(n p (1 - p))
            assertLe(hits[i], expected + 4 * sd, "drawn more than its stake's share");
            assertGe(hits[i], expected - 4 * sd, "drawn less than its stake's share");
        }
    }

    /// @dev The Fenwick tree against plain prefix sums: after any sequence of stakes and
    ///      unbonds, a sample lands on the oracle whose stake interval holds it.
    function testFuzz_o6_tree_matches_plain_prefix_sums(uint256 seed, uint8 n, uint8 unbond) public {
        n = uint8(bound(n, 1, 40));
        uint256[] memory weight = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            weight[i] = 1 ether + (uint256(keccak256(abi.encode(seed, i))) % 5 ether);
            _stake(_oracle(i), weight[i]);
        }
        for (uint256 i = 0; i < n; i += uint256(unbond % 7) + 2) {
            vm.prank(_oracle(i));
            registry.requestUnbond();
            weight[i] = 0;
        }
        _stake(_oracle(0), 1 ether); // stakes again: its leaf is reused
        (uint256 total,) = registry.totalWeight();
        uint256 plain = 0;
        for (uint256 i = 0; i < n; ++i) {
            (uint256 st, uint256 unb,) = registry.oracleInfo(_oracle(i));
            weight[i] = unb == 0 ? st : 0;
            plain += weight[i];
        }
        assertEq(total, plain, "tree total");
        for (uint256 k = 0; k < 8; ++k) {
            uint256 s = uint256(keccak256(abi.encode(seed, "sample", k)));
            address[] memory d = registry.draw(s, 1, _terms(3600), new address[](0));
            uint256 r = uint256(keccak256(abi.encode(s, uint256(0)))) % total;
            uint256 i = 0;
            while (r >= weight[i]) r -= weight[i++];
            assertEq(d[0], _oracle(i), "sample != plain prefix-sum search");
        }
    }

    /// @dev A slashed oracle's leaf still weighs its old stake: the draw keeps a sample on it
    ///      with probability stake / weight, so it is drawn in proportion to what it holds now.
    function test_o6_slashed_oracle_drawn_by_its_remaining_stake() public {
        _stake(_oracle(0), 4 ether);
        _stake(_oracle(1), 4 ether);
        // the market (here: this test) bonds and slashes oracle 0 down to 1 ether
        vm.prank(address(market));
        registry.bond(_oracle(0), 3 ether);
        vm.prank(address(market));
        registry.slash(_oracle(0), 3 ether);
        uint256 zero = 0;
        for (uint256 s = 0; s < 1_000; ++s) {
            IOracleRegistry.Terms memory t = _terms(3600);
            t.bond = 0;
            address[] memory d = registry.draw(s, 1, t, new address[](0));
            if (d.length == 1 && d[0] == _oracle(0)) ++zero;
        }
        // p = 1 / (1 + 4) = 0.2: 200 of 1,000, sd 12.6
        assertGe(zero, 150, "slashed oracle under-drawn");
        assertLe(zero, 250, "slashed oracle drawn by its old stake");
    }

    // ------------------------------------------------------------ O5: policies

    function test_o5_policy_accepts_only_its_terms() public {
        _stake(_oracle(0), 1 ether);
        assertTrue(registry.accepts(_oracle(0), _terms(600)), "no policy accepts all");
        vm.prank(_oracle(0));
        registry.setPolicy(IOracleRegistry.Policy(1800, 30 days, 0.001 ether, 64, false));
        assertTrue(registry.accepts(_oracle(0), _terms(1800)), "inside the policy");
        assertFalse(registry.accepts(_oracle(0), _terms(600)), "timeout below its minimum");
        IOracleRegistry.Terms memory t = _terms(3600);
        t.duration = 31 days;
        assertFalse(registry.accepts(_oracle(0), t), "deadline too far");
        t = _terms(3600);
        t.feePerBatch = 0.0009 ether;
        assertFalse(registry.accepts(_oracle(0), t), "fee below its minimum");
        t = _terms(3600);
        t.committeeByBatch = 65;
        assertFalse(registry.accepts(_oracle(0), t), "committee x batch too large");
        t = _terms(3600);
        t.feeInEth = false;
        assertFalse(registry.accepts(_oracle(0), t), "token fees refused");
        vm.expectRevert(abi.encodeWithSelector(IOracleRegistry.InvalidPolicy.selector, "maxCommitteeByBatch"));
        vm.prank(_oracle(0));
        registry.setPolicy(IOracleRegistry.Policy(0, 1, 0, 0, false));
    }

    /// @dev joinCommittee refuses an oracle whose policy does not take the bounty (trusted mode:
    ///      it changed its policy after the bounty named it).
    function test_o5_join_refused_outside_policy() public {
        _stakeMany(3, 2 ether);
        uint256 id = _open(MarketSetup.params(address(0), oracles));
        vm.prank(_oracle(0));
        registry.setPolicy(_policy(2 hours)); // the bounty's timeout is 1 hour
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.PolicyRefuses.selector, id, _oracle(0)));
        vm.prank(_oracle(0));
        market.joinCommittee(id);
    }

    // ------------------------------------------------------------ C4: attacks on the draw

    /// @dev The requester controls 1 of 10 equal oracles and opens 40 drawn bounties of 3: it
    ///      never sits on its own bounty, its oracle sits on about 3/10 of them, and it never
    ///      holds a majority (it has one oracle).
    function test_attack_requester_names_its_own_committee_is_drawn_instead() public {
        _stakeMany(9, 2 ether);
        address mine = address(0xA11CE);
        _stake(mine, 2 ether);
        _stake(requester, 2 ether); // the requester is itself an oracle: never drawn for its bounty
        vm.deal(requester, 1_000 ether);
        uint256 sits = 0;
        for (uint256 k = 0; k < 40; ++k) {
            uint256 id = _open(_drawnParams(3));
            address[] memory members = _draw(id, keccak256(abi.encode("block", k)));
            assertFalse(market.getBounty(id).trustedCommittee, "drawn mode flagged");
            for (uint256 i = 0; i < 3; ++i) {
                assertTrue(members[i] != address(0), "every seat filled");
                assertTrue(members[i] != requester, "the requester sat on its own bounty");
                if (members[i] == mine) ++sits;
            }
        }
        // 40 x 3 seats among 10 equal oracles (11 with the excluded requester): about 12
        assertLe(sits, 24, "the requester's oracle drawn beyond its stake");
    }

    /// @dev Terms only the requester's oracles accept (a scoring timeout below every honest
    ///      policy's minimum): the draw may not fill the committee with them. The first draw
    ///      misses, so the bounty is cancelled and charged instead.
    function test_attack_terms_honest_oracles_refuse_do_not_draw_only_requester_oracles() public {
        _stakeMany(9, 2 ether);
        for (uint256 i = 0; i < 9; ++i) {
            vm.prank(_oracle(i));
            registry.setPolicy(_policy(30 minutes));
        }
        address mine = address(0xA11CE);
        _stake(mine, 2 ether);
        address mine2 = address(0xA11CF);
        _stake(mine2, 2 ether);
        uint256 captured = 0;
        uint256 runs = 40;
        for (uint256 k = 0; k < runs; ++k) {
            IBountyMarketTypes.BountyParams memory p = _drawnParams(3);
            p.scoringTimeout = 10 minutes; // no honest policy takes it
            uint256 id = _open(p);
            address[] memory members = _draw(id, keccak256(abi.encode("narrow", k)));
            IBountyMarketTypes.BountyView memory v = market.getBounty(id);
            if (!v.cancelled) ++captured;
            else assertEq(v.reward, 0.95 ether, "a failed draw is charged as a cancel");
            for (uint256 i = 0; i < 3 && !v.cancelled; ++i) {
                assertTrue(members[i] == mine || members[i] == mine2, "only accepting oracles are drawn");
            }
        }
        // 2/11 of the stake accepts: 3 hits before 4 misses has probability ~4%
        assertLe(captured, 4, "narrow terms filled the committee with the requester's oracles");
    }

    /// @dev Grinding by creating blocks: a wrapper that opens and draws in one transaction (to
    ///      revert until it likes the draw) cannot, and the committee depends only on the hash
    ///      of the armed later block, not on the opening block's randomness or time.
    function test_attack_grinding_the_opening_block_does_not_choose_the_draw() public {
        _stakeMany(10, 2 ether);
        DrawGrinder grinder = new DrawGrinder();
        IBountyMarketTypes.BountyParams memory p = _drawnParams(3);
        vm.deal(address(grinder), 0);
        vm.expectRevert();
        grinder.openAndDraw{value: MarketSetup.escrow(p)}(market, p);

        uint256 snap = vm.snapshotState();
        vm.prevrandao(bytes32(uint256(1)));
        uint256 id = _open(p);
        address[] memory first = _draw(id, keccak256("the later block"));
        vm.revertToState(snap);
        vm.prevrandao(bytes32(uint256(2))); // another opening block
        vm.warp(block.timestamp + 13);
        uint256 id2 = _open(p);
        assertEq(id2, id, "same bounty id");
        address[] memory second = _draw(id2, keccak256("the later block"));
        for (uint256 i = 0; i < 3; ++i) assertEq(first[i], second[i], "the opening block changed the draw");
        // and another later block's hash does change it, somewhere in a few tries
        bool differs = false;
        for (uint256 k = 0; k < 5 && !differs; ++k) {
            vm.revertToState(snap);
            uint256 id3 = _open(p);
            address[] memory third = _draw(id3, keccak256(abi.encode("another later block", k)));
            for (uint256 i = 0; i < 3; ++i) if (third[i] != first[i]) differs = true;
        }
        assertTrue(differs, "the draw ignores the later block");
    }

    function test_c4_draw_not_due_before_the_armed_block() public {
        _stakeMany(4, 2 ether);
        uint256 id = _open(_drawnParams(3));
        uint256 at = market.getBounty(id).drawBlock;
        assertEq(at, block.number + 5, "armed 5 blocks on");
        vm.roll(at);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.DrawNotDue.selector, id, at));
        market.drawCommittee(id);
    }

    /// @dev Nobody drew for 256 blocks: the hash is gone, the draw is re-armed for a later block.
    function test_c4_lapsed_draw_is_rearmed() public {
        _stakeMany(4, 2 ether);
        uint256 id = _open(_drawnParams(3));
        uint256 at = market.getBounty(id).drawBlock;
        vm.roll(at + 300);
        market.drawCommittee(id);
        assertEq(market.getBounty(id).drawBlock, at + 305, "re-armed");
        (address[] memory members,,) = market.getCommittee(id);
        assertEq(members[0], address(0), "nothing drawn from a lapsed block");
        members = _draw(id, keccak256("fresh"));
        assertTrue(members[2] != address(0), "drawn after the re-arm");
    }

    /// @dev A member that leaves before any batch is replaced by a new draw, and the committee
    ///      (and so the quorum) keeps its size.
    function test_c4_member_leaving_is_replaced() public {
        _stakeMany(6, 2 ether);
        uint256 id = _open(_drawnParams(3));
        address[] memory members = _draw(id, keccak256("x"));
        for (uint256 i = 0; i < 3; ++i) {
            vm.prank(members[i]);
            market.joinCommittee(id);
        }
        vm.prank(members[1]);
        market.leaveCommittee(id);
        (address[] memory now_, uint256 opted,) = market.getCommittee(id);
        assertEq(now_[1], address(0), "seat emptied");
        assertEq(opted, 5, "seats 0 and 2 still opted in");
        assertEq(_freeStake(members[1]), 2 ether, "the leaver's bond released");
        address[] memory after_ = _draw(id, keccak256("y"));
        assertTrue(after_[1] != address(0) && after_[1] != members[1], "replaced by a new member");
        assertTrue(after_[1] != members[0] && after_[1] != members[2], "not a sitting member");
        assertEq(after_[0], members[0], "others keep their seats");
        vm.prank(after_[1]);
        market.joinCommittee(id);
        (, opted,) = market.getCommittee(id);
        assertEq(opted, 7, "the new member opted in to seat 1");
    }

    /// @dev A member that left early is never seated again on that bounty: a draw that lands on
    ///      it leaves the seat empty and re-arms (found here by trying block hashes until the
    ///      registry's draw, computed the market's way, returns the leaver).
    function test_c4_a_member_that_left_is_not_drawn_back() public {
        _stakeMany(4, 2 ether);
        uint256 id = _open(_drawnParams(3));
        address[] memory members = _draw(id, keccak256("x"));
        vm.prank(members[0]);
        market.joinCommittee(id);
        vm.prank(members[0]);
        market.leaveCommittee(id);
        IBountyMarketTypes.BountyView memory v = market.getBounty(id);
        address[] memory exclude = new address[](4);
        exclude[1] = members[1];
        exclude[2] = members[2];
        exclude[3] = requester;
        IOracleRegistry.Terms memory t = IOracleRegistry.Terms(3600, v.deadline - (block.timestamp), 0.003 ether, true, 12, 1 ether / 16);
        bytes32 h;
        bool found = false;
        for (uint256 k = 0; k < 64 && !found; ++k) {
            h = keccak256(abi.encode("try", k));
            address[] memory d = registry.draw(uint256(keccak256(abi.encode(h, id))), 1, t, exclude);
            found = d.length == 1 && d[0] == members[0];
        }
        assertTrue(found, "no block hash draws the leaver");
        address[] memory after_ = _draw(id, h);
        assertEq(after_[0], address(0), "the leaver was seated again");
        assertEq(market.getBounty(id).drawBlock, block.number + 5, "the seat's draw is re-armed");
    }

    function _freeStake(address o) internal view returns (uint256) {
        (uint256 st,,) = registry.oracleInfo(o);
        return st - registry.lockedOf(o);
    }

    /// @dev A requester that dislikes its draw and cancels before the baseline pays 5% of its
    ///      reward, burned (not to the members, who may be its own oracles).
    function test_c5_cancel_before_baseline_costs_the_requester() public {
        _stakeMany(4, 2 ether);
        IBountyMarketTypes.BountyParams memory p = _drawnParams(3);
        uint256 id = _open(p);
        _draw(id, keccak256("z"));
        uint256 burnBefore = market.pendingBurn(address(0));
        vm.prank(requester);
        market.cancel(id);
        assertEq(market.pendingBurn(address(0)) - burnBefore, p.reward / 20, "5% burned");
        market.close(id);
        uint256 refund = market.claimable(requester, address(0));
        assertEq(refund, p.reward - p.reward / 20 + uint256(p.oracleFeePerBatch) * p.maxBatches, "refund less the charge");
        // trusted mode: no charge
        uint256 id2 = _open(MarketSetup.params(address(0), oracles.length >= 3 ? _three() : oracles));
        vm.prank(requester);
        market.cancel(id2);
        assertEq(market.pendingBurn(address(0)) - burnBefore, p.reward / 20, "trusted cancel not charged");
    }

    function _three() internal view returns (address[] memory t) {
        t = new address[](3);
        for (uint256 i = 0; i < 3; ++i) t[i] = oracles[i];
    }

    function test_c4_mixed_committee_refused() public {
        _stakeMany(3, 2 ether);
        IBountyMarketTypes.BountyParams memory p = _drawnParams(3);
        p.committee[2] = oracles[0];
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.CommitteeMemberInvalid.selector, oracles[0]));
        vm.prank(requester);
        market.createBounty{value: MarketSetup.escrow(p)}(p);
    }

    // ------------------------------------------------------------ gas

    /// @dev drawCommittee for committees of 3 and 16 with 100 registered oracles (3 and 10 with
    ///      10), and stake() into the tree (logged: `forge test --match-test gas --isolate -vv`).
    function test_gas_draw_and_stake() public {
        _gasFigures(100, 16, "N=101");
    }

    function test_gas_draw_small_registry() public {
        _gasFigures(10, 10, "N=11");
    }

    function _gasFigures(uint256 n, uint256 big, string memory label) internal {
        _stakeMany(n, 2 ether);
        uint256 g = gasleft();
        _stake(address(0xF00D), 2 ether);
        console.log(string.concat("stake() of a new oracle, ", label, ": ", vm.toString(g - gasleft())));
        g = gasleft();
        _stake(_oracle(7), 1 ether);
        console.log(string.concat("stake() top-up, ", label, ": ", vm.toString(g - gasleft())));
        _measure(3, string.concat(label, " committee 3"));
        _measure(big, string.concat(label, " committee ", vm.toString(big)));
    }

    function _measure(uint256 size, string memory what) internal {
        uint256 id = _open(_drawnParams(size));
        uint256 at = market.getBounty(id).drawBlock;
        vm.roll(at + 1);
        vm.setBlockhash(at, keccak256(bytes(what)));
        uint256 g = gasleft();
        market.drawCommittee(id);
        uint256 used = g - gasleft();
        (address[] memory members,,) = market.getCommittee(id);
        assertTrue(members[size - 1] != address(0), "filled");
        console.log(string.concat("drawCommittee ", what, ": ", vm.toString(used)));
    }

    function _sqrt(uint256 x) internal pure returns (uint256 y) {
        y = x;
        uint256 z = (x + 1) / 2;
        while (z < y) {
            y = z;
            z = (x / z + z) / 2;
        }
    }
}

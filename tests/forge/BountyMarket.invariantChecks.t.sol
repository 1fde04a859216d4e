// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MarketInvariantBase} from "./BountyMarket.invariant.t.sol";
import {IBountyMarketTypes} from "../../interfaces/IBountyMarket.sol";

/// @dev The invariants of BountyMarket.invariant.t.sol are live: after a fixed sequence of
///      handler actions every check passes, and each check fails once the property it guards
///      is broken by hand (storage written with cheatcodes, as a faulty market would leave it).
///      An invariant whose check could not fail would pass these campaigns for nothing.
contract InvariantChecksTest is MarketInvariantBase {
    address internal constant NOBODY = address(0xBEEF);

    /// @dev Rounds on both tokens: submissions (ordinary and one-off), reports, settlements (some
    ///      by reportAndSettle), voids, closes, reveals, forfeits, bond shares, claims (of
    ///      balances and one-off payouts) and burns.
    function _play() internal {
        for (uint256 i = 0; i < 96; ++i) {
            uint256 s = uint256(keccak256(abi.encode("play", i)));
            uint256 a = i % 12;
            if (a == 0 && i % 24 == 0) handler.submitUpdate(s, s >> 8);
            else if (a == 0) handler.submitUpdateOnce(s, s >> 8);
            else if (a == 1) handler.settleBatch(s, s >> 16);
            else if (a == 2) handler.reportAll(s, s >> 8);
            else if (a == 3) handler.settleBatch2(s, s >> 24);
            else if (a == 4) handler.createBounty(s, s >> 8, s >> 16);
            else if (a == 5) handler.voidBatch(s, s >> 8);
            else if (a == 6) handler.close(s);
            else if (a == 7) handler.forfeitBond(s);
            else if (a == 8) handler.claimBondShare(s);
            else if (a == 9 && i % 24 == 9) handler.claim(s);
            else if (a == 9) handler.claimPayout(s);
            else if (a == 10) handler.reveal(s, s >> 8);
            else handler.burn(s);
        }
        _assertAllPass();
        assertGt(handler.settledVersions(), 0, "the sequence accepted no version");
        assertGt(handler.reportAndSettleSuccesses(), 0, "the sequence never used reportAndSettle");
        assertGt(handler.payoutClaims(), 0, "the sequence claimed no one-off payout");
    }

    function _assertAllPass() internal view {
        assertEq(handler.checkEscrow(ETH), "", "escrow (ETH) before the fault");
        assertEq(handler.checkEscrow(address(token)), "", "escrow (token) before the fault");
        assertEq(handler.checkClaims(), "", "claims before the fault");
        assertEq(handler.checkRewards(), "", "rewards before the fault");
        assertEq(handler.checkSlashes(), "", "slashes before the fault");
        assertEq(handler.checkRules(), "", "rules before the fault");
        assertEq(handler.checkGetters(), "", "getters before the fault");
        assertEq(handler.outlierViolations(), 0, "median before the fault");
        assertEq(handler.checkVoids(), "", "voids before the fault");
        assertEq(handler.checkDecidable(), "", "decidability before the fault");
        assertEq(handler.checkQuorums(), "", "quorums before the fault");
    }

    function assertEq(string memory a, string memory b, string memory err) internal pure {
        assertEq(keccak256(bytes(a)), keccak256(bytes(b)), string.concat(err, ": ", a));
    }

    function _fails(string memory failure, string memory expected) internal pure {
        assertEq(failure, expected, "the check did not report the fault");
    }

    /// @dev The storage slot the view call since vm.record() read (its only slot of `target`).
    function _slotRead(address target) internal returns (bytes32) {
        (bytes32[] memory reads,) = vm.accesses(target);
        assertGt(reads.length, 0, "the view read no slot");
        for (uint256 i = 1; i < reads.length; ++i) {
            assertEq(reads[i], reads[0], "the view read more than one slot");
        }
        return reads[0];
    }

    /// @dev Slot index `field` of Bounty `id` (reward | paid is field 6): the mapping's slot is
    ///      found by matching that word, so a changed layout fails here rather than silently.
    function _bountyField(uint256 id, uint256 field) internal view returns (bytes32) {
        IBountyMarketTypes.BountyView memory v = market.getBounty(id);
        uint256 word = (uint256(v.paid) << 128) | v.reward;
        for (uint256 slot = 0; slot < 32; ++slot) {
            uint256 base = uint256(keccak256(abi.encode(id, slot)));
            if (uint256(vm.load(address(market), bytes32(base + 6))) == word) return bytes32(base + field);
        }
        revert("Bounty storage not found");
    }

    function test_escrowConservation_fails_on_ETH_the_books_do_not_owe() public {
        _play();
        vm.deal(address(market), address(market).balance + 1);
        _fails(
            handler.checkEscrow(ETH),
            "escrow: balance != open escrow + fees + bonds + locked stakes + claimable + burns"
        );
    }

    function test_escrowConservation_fails_on_tokens_gone_missing() public {
        _play();
        vm.prank(address(market));
        assertTrue(token.transfer(NOBODY, 1), "transfer");
        _fails(
            handler.checkEscrow(address(token)),
            "escrow: balance != open escrow + fees + bonds + locked stakes + claimable + burns"
        );
    }

    /// @dev Rule P4's books must be exact: one wei too many would refuse every payout of a solvent
    ///      token, one too few would let a loss that size go unseen.
    function test_escrowConservation_fails_on_books_that_do_not_match_what_is_owed() public {
        _play();
        vm.record();
        market.books(address(token));
        bytes32 slot = _slotRead(address(market));
        vm.store(address(market), slot, bytes32(uint256(vm.load(address(market), slot)) + 1));
        _fails(handler.checkEscrow(address(token)), "escrow: books(token) != what the market owes in it");
    }

    /// @dev The campaign's tokens never rebase: a write-down of one (the flag in its books word)
    ///      is a fault the check must see.
    function test_escrowConservation_fails_on_a_token_written_down_without_a_loss() public {
        _play();
        vm.record();
        (uint256 owed,) = market.books(address(token));
        assertGt(owed, 0, "the sequence left nothing owed in the token");
        bytes32 slot = _slotRead(address(market));
        vm.store(address(market), slot, bytes32(owed | (1 << 255)));
        _fails(handler.checkEscrow(address(token)), "escrow: a token that never rebased is short or written down");
    }

    function test_nobodyGainsFromAVoid_fails_on_burned_ETH_that_does_not_match_the_slashes() public {
        _play();
        assertGt(handler.voidsChecked(), 0, "the sequence voided no batch");
        vm.record();
        uint256 pending = market.pendingBurn(ETH);
        bytes32 slot = _slotRead(address(market));
        vm.store(address(market), slot, bytes32(pending + 1));
        _fails(handler.checkVoids(), "voids: burned ETH != what was slashed and burned");
    }

    function test_noBatchBecomesUndecidable_fails_on_a_timeout_out_of_bounds() public {
        _play();
        bytes32 slot = _bountyField(1, 7); // requester | createdAt | scoringTimeout (bits 224-255)
        uint256 word = uint256(vm.load(address(market), slot));
        vm.store(address(market), slot, bytes32((word & ((1 << 224) - 1)) | (uint256(8 days) << 224)));
        assertEq(market.getBounty(1).scoringTimeout, 8 days, "the store missed the timeout");
        _fails(handler.checkDecidable(), "decidable: a scoring timeout out of bounds");
    }

    function test_noDecisionByLessThanHalfTheCommittee_fails_on_a_baseline_of_one_report() public {
        _play();
        assertTrue(market.getBounty(1).baselineSet, "bounty 1 has no baseline");
        bytes32 slot = _bountyField(1, 8); // closedAt | revealWindow | revealBond | baselineMask (192-207) | ...
        uint256 word = uint256(vm.load(address(market), slot));
        vm.store(address(market), slot, bytes32((word & ~(uint256(0xffff) << 192)) | (uint256(1) << 192)));
        (,, uint256 mask) = market.getCommittee(1);
        assertEq(mask, 1, "the store missed the baseline mask");
        _fails(handler.checkQuorums(), "quorum: a baseline set by half the committee or fewer");
    }

    function test_noOverClaim_fails_on_a_balance_nobody_credited() public {
        _play();
        address contributor = handler.contributors(0);
        vm.record();
        uint256 owed = market.claimable(contributor, ETH);
        bytes32 slot = _slotRead(address(market));
        vm.store(address(market), slot, bytes32(uint256(vm.load(address(market), slot)) + 1));
        assertEq(market.claimable(contributor, ETH), owed + 1, "the store missed the balance");
        _fails(handler.checkClaims(), "claims: claimable != credited - claimed");
    }

    function test_rewardsWithinEscrow_fails_on_a_reward_beyond_the_escrow() public {
        _play();
        bytes32 slot = _bountyField(1, 6);
        uint256 reward = market.getBounty(1).reward;
        vm.store(address(market), slot, bytes32(((reward + 1) << 128) | reward));
        assertEq(market.getBounty(1).paid, reward + 1, "the store missed paid");
        _fails(handler.checkRewards(), "rewards: paid more than the escrow");
    }

    function test_slashNeverExceedsStake_fails_on_a_stake_taken_without_a_slash() public {
        _play();
        address oracle = handler.oracles(0);
        vm.record();
        (uint256 stake,,) = registry.oracleInfo(oracle);
        bytes32 slot = _slotRead(address(registry));
        vm.store(address(registry), slot, bytes32(uint256(vm.load(address(registry), slot)) - 1));
        (uint256 after_,,) = registry.oracleInfo(oracle);
        assertEq(after_, stake - 1, "the store missed the stake");
        _fails(handler.checkSlashes(), "slashes: registry stake != model");
    }

    function test_slashNeverExceedsStake_fails_on_registry_ETH_no_stake_accounts_for() public {
        _play();
        vm.deal(address(registry), address(registry).balance + 1);
        _fails(handler.checkSlashes(), "slashes: registry balance != stakes");
    }

    /// @dev activeBounties is bits 192-223 of the oracle's word (stake 128 | unbondingAt 64).
    function _addBond(address oracle) internal {
        vm.record();
        (,, uint256 active) = registry.oracleInfo(oracle);
        bytes32 slot = _slotRead(address(registry));
        vm.store(address(registry), slot, bytes32(uint256(vm.load(address(registry), slot)) + (1 << 192)));
        (,, uint256 after_) = registry.oracleInfo(oracle);
        assertEq(after_, active + 1, "the store missed activeBounties");
    }

    function test_settlementFollowsTheRules_fails_on_a_bond_no_committee_holds() public {
        _play();
        _addBond(handler.oracles(0));
        _fails(handler.checkRules(), "rules: registry bonds != committees joined and not left");
    }

    function test_everyStakeComesBackOrIsSlashed_fails_on_an_oracle_never_released() public {
        _play();
        _addBond(handler.oracles(0));
        _fails(handler.drainAndCheck(), "drain: an oracle is still bonded to a finished bounty");
    }

    function test_everyStakeComesBackOrIsSlashed_fails_on_funds_nobody_can_claim() public {
        _play();
        assertEq(handler.drainAndCheck(), "", "drain before the fault");
        vm.deal(address(market), address(market).balance + 1);
        _fails(handler.drainAndCheck(), "drain: holdings != claimable + pending burn + bond shares + one-off payouts");
    }

    function test_noGetterReverts_fails_on_a_reverting_getter() public {
        _play();
        // a curve length past the 8 stored breakpoints makes getCurve read out of bounds
        bytes32 slot = _bountyField(1, 4); // fees: curve length in bits 240-247
        uint256 fees = uint256(vm.load(address(market), slot));
        assertEq(fees >> 240, _curveLength(1), "not the fees word");
        vm.store(address(market), slot, bytes32((fees & ~(uint256(0xff) << 240)) | (uint256(9) << 240)));
        handler.warp(0); // time moves: the check re-reads every bounty
        _fails(handler.checkGetters(), "getter reverted: getCurve(1)");
    }

    function _curveLength(uint256 id) internal view returns (uint256) {
        (uint64[] memory xs,) = market.getCurve(id);
        return xs.length;
    }

    function test_noGetterReverts_fails_on_a_count_of_bounties_nobody_created() public {
        _play();
        vm.record();
        uint256 count = market.bountyCount();
        bytes32 slot = _slotRead(address(market));
        vm.store(address(market), slot, bytes32(count + 1));
        _fails(handler.checkGetters(), "getter: bountyCount() != bounties created");
    }
}

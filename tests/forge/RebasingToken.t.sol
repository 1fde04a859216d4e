// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {MarketSetup} from "./utils/MarketSetup.sol";
import {OracleRegistry} from "../../contracts/OracleRegistry.sol";
import {RebasingToken} from "../../contracts/test/RebasingToken.sol";
import {MarketModel} from "./utils/MarketModel.sol";
import {PayoutTree} from "./utils/PayoutTree.sol";
import {IBountyMarket, IBountyMarketTypes, IBountyMarketErrors} from "../../interfaces/IBountyMarket.sol";

/// @dev Issue 15.6: every bounty in one token shares one pool of it. A token whose balance falls
///      without a transfer (a negative rebase) must not let one bounty be paid from another's
///      escrow (rule P4).
contract RebasingTokenTest is Test, IBountyMarketTypes {
    IBountyMarket internal market;
    OracleRegistry internal registry;
    RebasingToken internal tok;
    address[] internal oracles;

    function setUp() public {
        MarketSetup.Deployment memory d = MarketSetup.deploy(address(this), address(this));
        market = d.market;
        registry = d.registry;
        tok = new RebasingToken();
        oracles = MarketSetup.stakeOracles(registry, 3);
    }

    function _params(uint256 reward) internal view returns (BountyParams memory p) {
        p = MarketSetup.params(address(tok), oracles);
        p.reward = uint128(reward);
    }

    function _open(address requester, BountyParams memory p) internal returns (uint256 id) {
        return MarketSetup.openWithToken(market, requester, p);
    }

    /// @dev The requester cancels before any baseline (a named committee: nothing burned), closes
    ///      and reveals: its whole escrow becomes claimable.
    function _windUp(address requester, uint256 id) internal {
        vm.startPrank(requester);
        market.cancel(id);
        market.close(id);
        market.reveal(id, MarketSetup.cid("validation", 0), bytes32(uint256(0x11)), bytes32(uint256(0x22)), bytes32(0));
        vm.stopPrank();
    }

    /// @dev The attack of issue 15.6: two bounties of equal escrow E in one token; the token
    ///      halves every balance; bounty A's requester claims its whole escrow. Before P4 it was
    ///      paid E, all the market held, out of bounty B's escrow, and B's requester could
    ///      recover nothing.
    function test_attack_negative_rebase_pays_bounty_a_from_bounty_b_escrow() public {
        address a = address(0xA1);
        address b = address(0xB1);
        uint256 idA = _open(a, _params(1 ether));
        _open(b, _params(1 ether));
        uint256 e = MarketSetup.escrow(_params(1 ether));
        _windUp(a, idA);
        assertEq(market.claimable(a, address(tok)), e, "A's whole escrow is claimable");
        tok.rebase(1, 2); // the market now holds E and owes 2E
        vm.prank(a);
        (bool paid,) = address(market).call(abi.encodeCall(market.claim, (address(tok))));
        assertLe(tok.balanceOf(a), e / 2, "bounty A's requester was paid more than its half, out of bounty B's escrow");
        assertGe(tok.balanceOf(address(market)), e / 2, "bounty B's escrow left the market");
        assertFalse(paid, "bounty A's requester was paid in full while the market held less than it owed");
        _expectShortfall(e, 2 * e);
        vm.prank(a);
        market.claim(address(tok));
        // the way out: A is paid its half, and B's half stays for B
        market.writeDown(address(tok));
        vm.prank(a);
        market.claim(address(tok));
        assertEq(tok.balanceOf(a), e / 2, "A bears half of its claim");
        assertEq(tok.balanceOf(address(market)), e / 2, "B's half of its escrow is still there");
    }

    function _expectShortfall(uint256 held, uint256 owed) internal {
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.TokenShortfall.selector, address(tok), held, owed));
    }

    function _claimAll(address[] memory who) internal returns (uint256[] memory got) {
        got = new uint256[](who.length);
        for (uint256 i = 0; i < who.length; ++i) {
            uint256 before = tok.balanceOf(who[i]);
            vm.prank(who[i]);
            market.claim(address(tok));
            got[i] = tok.balanceOf(who[i]) - before;
        }
    }

    /// @dev P4's way out: three bounties of random escrows, a random loss, the requesters claim in
    ///      a random order after writeDown. Each is paid its claim times what the market held over
    ///      what it owed at the write-down (rounded down: each claim leaves under a wei to those
    ///      after it): nobody escapes the loss by claiming first, and nothing is paid twice or
    ///      left behind beyond rounding dust.
    function testFuzz_p4_write_down_shares_the_loss_pro_rata_whatever_the_claim_order(
        uint64[3] memory rewards,
        uint8 cut,
        uint8 order
    ) public {
        uint256 d = 2 + cut % 9; // the token keeps 1/d of every balance
        address[] memory who = new address[](3);
        uint256[] memory owed = new uint256[](3);
        uint256 total = 0;
        for (uint256 i = 0; i < 3; ++i) {
            who[i] = address(uint160(0xA1 + i));
            BountyParams memory p = _params(rewards[i]);
            _windUp(who[i], _open(who[i], p));
            owed[i] = MarketSetup.escrow(p);
            total += owed[i];
        }
        (uint256 booked, bool down) = market.books(address(tok));
        assertEq(booked, total, "the books hold every escrow");
        assertFalse(down, "written down before any loss");
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.NoShortfall.selector, address(tok), total, total));
        market.writeDown(address(tok));
        tok.rebase(1, d);
        uint256 held = tok.balanceOf(address(market));
        _expectShortfall(held, total);
        vm.prank(who[0]);
        market.claim(address(tok));
        market.writeDown(address(tok));
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.TokenWrittenDown.selector, address(tok)));
        market.writeDown(address(tok));
        // claim in one of the six orders
        address[] memory ordered = new address[](3);
        uint256[] memory due = new uint256[](3);
        uint256 o = order % 6;
        uint256[3] memory idx = o == 0 ? [uint256(0), 1, 2] : o == 1 ? [uint256(0), 2, 1] : o == 2 ? [uint256(1), 0, 2]
            : o == 3 ? [uint256(1), 2, 0] : o == 4 ? [uint256(2), 0, 1] : [uint256(2), 1, 0];
        for (uint256 k = 0; k < 3; ++k) {
            ordered[k] = who[idx[k]];
            due[k] = owed[idx[k]];
        }
        uint256[] memory got = _claimAll(ordered);
        uint256 paid = 0;
        for (uint256 k = 0; k < 3; ++k) {
            uint256 fair = due[k] * held / total;
            assertGe(got[k], fair, "paid less than its pro-rata share");
            // each earlier claim rounds down and leaves under a wei for those after it
            assertLe(got[k], fair + k, "paid more than its pro-rata share: it escaped part of the loss");
            paid += got[k];
        }
        assertLe(paid, held, "paid more than the market held");
        assertLe(held - paid, 3, "more than rounding dust left behind");
        (booked,) = market.books(address(tok));
        assertEq(booked, 0, "every debt settled");
    }

    /// @dev Should the balance rise again after the write-down (a positive rebase), the ratio
    ///      rises for everyone still owed; once the market holds what it owes, payouts are whole.
    function test_p4_a_positive_rebase_after_the_write_down_raises_the_ratio() public {
        address[] memory who = new address[](3);
        for (uint256 i = 0; i < 3; ++i) {
            who[i] = address(uint160(0xA1 + i));
            _windUp(who[i], _open(who[i], _params(1 ether)));
        }
        uint256 e = MarketSetup.escrow(_params(1 ether));
        tok.rebase(1, 2); // holds 3E/2, owes 3E
        market.writeDown(address(tok));
        vm.prank(who[0]);
        market.claim(address(tok));
        assertEq(tok.balanceOf(who[0]), e / 2, "the first claim at the ratio 1/2");
        tok.rebase(3, 4); // the market's 2E of shares are now worth 3E/2; it owes 2E
        vm.prank(who[1]);
        market.claim(address(tok));
        assertEq(tok.balanceOf(who[1]), e * 3 / 4, "the second claim at the raised ratio 3/4");
        tok.rebase(2, 1); // its last E of shares is now worth 2E; it owes E
        (uint256 owed, bool down) = market.books(address(tok));
        assertEq(owed, e, "the books owe the last claim");
        assertTrue(down, "still written down");
        assertGe(tok.balanceOf(address(market)), owed, "the market holds what it owes again");
        vm.prank(who[2]);
        market.claim(address(tok));
        assertEq(tok.balanceOf(who[2]), e, "a solvent written-down token pays in full");
    }

    /// @dev `who` holds 10 tokens and lets the market take them.
    function _fund(address who) internal {
        tok.mint(who, 10 ether);
        vm.prank(who);
        tok.approve(address(market), type(uint256).max);
    }

    /// @dev Every way new money comes in reverts TokenShortfall(held, owed): a stake by transfer
    ///      (contributor `c`, both ways of submitting), a top-up and a new bounty (requester `a`).
    function _expectNoNewMoney(uint256 id, address c, address a, BountyParams memory p, uint256 held, uint256 owed)
        internal
    {
        _expectShortfall(held, owed);
        vm.prank(c);
        market.submitUpdate(id, 0, MarketSetup.cid("update", 0));
        _expectShortfall(held, owed);
        vm.prank(c);
        market.submitUpdateOnce(id, 0, MarketSetup.cid("update", 0));
        _expectShortfall(held, owed);
        vm.prank(a);
        market.topUp(id, 1 ether);
        _expectShortfall(held, owed);
        vm.prank(a);
        market.createBounty(p);
    }

    /// @dev While short, a token takes no new money (it would pay for the old loss): no bounty,
    ///      no top-up, no stake by transfer, either way of submitting. Written down and still
    ///      short, none either (TokenShortfall). A stake from a claimable balance moves no token:
    ///      it goes on.
    function test_p4_a_short_or_written_down_token_takes_no_new_money() public {
        address a = address(0xA1);
        BountyParams memory p = _params(1 ether);
        uint256 id = _open(a, p);
        MarketSetup.joinAndReportBaseline(market, id, oracles, 5_000);
        address r = address(0xA2); // a requester whose wound-up escrow is claimable
        _windUp(r, _open(r, p));
        uint256 e = MarketSetup.escrow(p);
        tok.rebase(1, 2);
        address c = address(0xC1);
        _fund(c);
        _fund(a);
        _expectNoNewMoney(id, c, a, p, e, 2 * e);
        vm.prank(r);
        market.submitUpdateFromBalance(id, 0, MarketSetup.cid("update", 1));
        assertEq(market.claimable(r, address(tok)), e - p.stake, "the stake came from the balance");
        (uint256 owed,) = market.books(address(tok));
        assertEq(owed, 2 * e, "a stake from a balance crosses no boundary: the books are unchanged");
        market.writeDown(address(tok));
        _expectNoNewMoney(id, c, a, p, e, 2 * e);
    }

    /// @dev Review 13, A1: the write-down flag is stored for good, and it used to refuse every
    ///      transfer in (TokenWrittenDown). A shortfall of one wei (stETH's rounding, a balance
    ///      that dips for a block) that anyone wrote down closed the token to new money on this
    ///      market for ever, even once it held what it owed again: open bounties in it took no
    ///      stake by transfer and no top-up, and nobody could open one in it. Now only a
    ///      shortfall refuses new money (TokenShortfall): whole again, the token takes it, booked,
    ///      and stays written down (a later loss is shared pro rata at once).
    function test_attack_a_one_wei_shortfall_written_down_closes_the_token_to_new_money_for_good() public {
        BountyParams memory p = _params(1 ether);
        address a = address(0xA1);
        uint256 id = _open(a, p);
        MarketSetup.joinAndReportBaseline(market, id, oracles, 5_000);
        (uint256 owed,) = market.books(address(tok));
        tok.rebase(owed - 1, owed); // one wei short: a rounding loss
        vm.prank(address(0x6e));
        market.writeDown(address(tok)); // anyone, for the price of gas
        tok.rebase(1, 1); // the balance comes back: the market holds what it owes
        assertEq(tok.balanceOf(address(market)), owed, "whole again");
        address c = address(0xC1);
        _fund(c);
        _fund(a);
        vm.prank(c);
        market.submitUpdate(id, 0, MarketSetup.cid("update", 0)); // a contributor's stake by transfer
        vm.prank(a);
        market.topUp(id, 1 ether);
        vm.prank(a);
        market.createBounty(p);
        (uint256 booked, bool down) = market.books(address(tok));
        assertEq(booked, tok.balanceOf(address(market)), "the new money is booked, and owed in full");
        assertTrue(down, "still written down");
        tok.rebase(1, 2); // a later loss: already written down, and no new money while short
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.TokenWrittenDown.selector, address(tok)));
        market.writeDown(address(tok));
        _expectShortfall(booked / 2, booked);
        vm.prank(a);
        market.topUp(id, 1 ether);
    }

    /// @dev Review 13, A2: a written-down payout books its debt before the transfer, and a token
    ///      that calls its recipient before it moves the balance let the recipient's hook claim
    ///      again while the market's balance still held the first payout: the second claim was
    ///      paid at `held / owed` with `held` too high (or in full), out of the others' share of
    ///      the loss. Now the books are marked PAYING until the transfer returns, and the hook's
    ///      claim reverts (so does the payout that called it): the coalition claims one at a time.
    function test_attack_a_recipient_called_before_the_balance_moves_claims_again_above_the_ratio() public {
        tok = new RecipientFirstRebasingToken();
        address a = address(0xA1); // the coalition: a and its hook contract
        RecipientHook hook = new RecipientHook(market, address(tok));
        address honest = address(0xC1);
        _windUp(a, _open(a, _params(1 ether)));
        _windUp(address(hook), _open(address(hook), _params(1 ether)));
        _windUp(honest, _open(honest, _params(1 ether)));
        uint256 e = market.claimable(honest, address(tok));
        tok.rebase(1, 2); // holds 3e/2, owes 3e
        market.writeDown(address(tok));
        vm.prank(a);
        (bool ok,) = address(market).call(abi.encodeCall(market.claimTo, (address(tok), address(hook))));
        if (!ok) { // refused: a claims for itself, then the hook for itself
            vm.prank(a);
            market.claimTo(address(tok), a);
        }
        if (market.claimable(address(hook), address(tok)) != 0) {
            vm.prank(address(hook));
            market.claim(address(tok));
        }
        uint256 coalition = tok.balanceOf(a) + tok.balanceOf(address(hook));
        assertLe(coalition, e, "the coalition took more than its half of its 2e");
        vm.prank(honest);
        market.claim(address(tok));
        assertGe(tok.balanceOf(honest), e / 2, "the honest requester bears more than its half");
    }

    address internal constant SINK = address(0x5111);
    bytes32[32] internal _leaves;

    /// @dev A batch of two one-off submissions (c, d) that every member scores at the head's 5,000:
    ///      rejected, each stake comes back as a one-off payout. The requester then cancels,
    ///      closes and never reveals: its bond is forfeited and, with no version, burned.
    function _oneOffPayoutsAndABurn(address a, address c, address d) internal returns (uint256 id, BountyParams memory p) {
        p = _params(1 ether);
        p.batchSize = 2;
        id = _open(a, p);
        MarketSetup.joinAndReportBaseline(market, id, oracles, 5_000);
        SubmissionRecord[] memory records = new SubmissionRecord[](2);
        records[0] = _submitOnce(id, c, 0);
        records[1] = _submitOnce(id, d, 1);
        uint32[] memory scores = new uint32[](2);
        scores[0] = 5_000;
        scores[1] = 5_000;
        BatchReport[] memory reports = new BatchReport[](3);
        for (uint256 o = 0; o < 3; ++o) {
            reports[o] = BatchReport(MarketModel.encode(scores, 0xffffffff, new uint16[](2)), MarketSetup.cid("merged", 0));
        }
        MarketSetup.commitAndReveal(market, id, 0, oracles, reports);
        market.settleBatch(id, 0, records, reports);
        vm.prank(a);
        market.cancel(id);
        market.close(id);
        vm.warp(block.timestamp + p.revealWindow + 1);
        market.forfeitBond(id);
        assertEq(market.pendingBurn(address(tok)), p.revealBond, "the bond waits to be burned");
        _leaves[0] = PayoutTree.leaf(c, p.stake, address(tok));
        _leaves[1] = PayoutTree.leaf(d, p.stake, address(tok));
    }

    /// @dev Every payout path: claimPayout by c, claimPayoutTo SINK by d, claimTo SINK by a, burn.
    function _payEveryPath(uint256 id, uint256 stake, address a, address c, address d) internal {
        vm.prank(c);
        market.claimPayout(address(tok), id, 0, stake, PayoutTree.proof(_leaves, 0));
        vm.prank(d);
        market.claimPayoutTo(address(tok), SINK, id, 1, stake, PayoutTree.proof(_leaves, 1));
        vm.prank(a);
        market.claimTo(address(tok), SINK);
        market.burn(address(tok));
    }

    /// @dev Every payout path is checked, not only claim: claimTo, a one-off payout (claimPayout
    ///      and claimPayoutTo) and a burn (here of a forfeited reveal bond) revert while short
    ///      and pay pro rata once the token is written down.
    function test_p4_every_payout_path_is_checked_and_paid_pro_rata() public {
        (address a, address c, address d) = (address(0xA1), address(0xC1), address(0xC2));
        (uint256 id, BountyParams memory p) = _oneOffPayoutsAndABurn(a, c, d);
        uint256 refund = market.claimable(a, address(tok));
        uint256 owed = MarketSetup.escrow(p) + 2 * p.stake;
        (uint256 booked,) = market.books(address(tok));
        assertEq(booked, owed, "the books owe the escrow and both stakes");
        tok.rebase(1, 4);
        _expectShortfall(owed / 4, owed);
        vm.prank(c);
        market.claimPayout(address(tok), id, 0, p.stake, PayoutTree.proof(_leaves, 0));
        _expectShortfall(owed / 4, owed);
        vm.prank(d);
        market.claimPayoutTo(address(tok), SINK, id, 1, p.stake, PayoutTree.proof(_leaves, 1));
        _expectShortfall(owed / 4, owed);
        vm.prank(a);
        market.claimTo(address(tok), SINK);
        _expectShortfall(owed / 4, owed);
        market.burn(address(tok));
        market.writeDown(address(tok));
        _payEveryPath(id, p.stake, a, c, d);
        assertEq(tok.balanceOf(c), p.stake / 4, "the one-off payout, pro rata");
        assertEq(tok.balanceOf(SINK), (p.stake + refund) / 4, "claimPayoutTo and claimTo, pro rata");
        assertEq(tok.balanceOf(address(0xdEaD)), p.revealBond / 4, "the burn, pro rata");
        (booked,) = market.books(address(tok));
        assertEq(booked, p.oracleFeePerBatch, "the books still owe only the committee's fees for the batch");
        assertEq(tok.balanceOf(address(market)), p.oracleFeePerBatch / 4, "and hold a quarter of them");
    }

    function _submitOnce(uint256 id, address who, uint256 tag) internal returns (SubmissionRecord memory r) {
        uint96 stake = market.getBounty(id).stake;
        tok.mint(who, stake);
        vm.prank(who);
        tok.approve(address(market), stake);
        r = SubmissionRecord(who, uint96(stake | (1 << 95)), 0, MarketSetup.cid("update", tag));
        vm.prank(who);
        market.submitUpdateOnce(id, 0, r.update);
    }
}

/// @dev Rule P4's list: a market deployed with `listed` as a fixed-balance token (vouched for by
///      the deployer) keeps no books of it and pays it without reading its balance, so a listed
///      token that does fall is NOT protected (the trust the deployer carries); an unlisted
///      token in the same market is balance-checked and freezes as before.
contract FixedBalanceListTest is Test, IBountyMarketTypes {
    IBountyMarket internal market;
    OracleRegistry internal registry;
    RebasingToken internal listed;
    RebasingToken internal checked;
    address[] internal oracles;

    function setUp() public {
        listed = new RebasingToken();
        checked = new RebasingToken();
        address[] memory list = new address[](1);
        list[0] = address(listed);
        MarketSetup.Deployment memory d = MarketSetup.deploy(address(this), address(this), list);
        market = d.market;
        registry = d.registry;
        oracles = MarketSetup.stakeOracles(registry, 3);
    }

    /// @dev A bounty in `token` whose whole escrow the requester `who` can claim (cancelled
    ///      before any baseline, closed and revealed).
    function _claimableEscrow(RebasingToken token, address who) internal returns (uint256 e) {
        BountyParams memory p = MarketSetup.params(address(token), oracles);
        p.reward = 1 ether;
        uint256 id = MarketSetup.openWithToken(market, who, p);
        vm.startPrank(who);
        market.cancel(id);
        market.close(id);
        market.reveal(id, MarketSetup.cid("validation", 0), bytes32(uint256(0x11)), bytes32(uint256(0x22)), bytes32(0));
        vm.stopPrank();
        e = MarketSetup.escrow(p);
        assertEq(market.claimable(who, address(token)), e, "the whole escrow is claimable");
    }

    function test_p4_a_listed_token_skips_the_books_and_pays_without_the_balance_read() public {
        assertFalse(market.balanceChecked(address(listed)), "a listed token is balance-checked");
        assertTrue(market.balanceChecked(address(checked)), "an unlisted token is not balance-checked");
        assertFalse(market.balanceChecked(address(0)), "ETH is balance-checked");
        address a = address(0xA1);
        address b = address(0xB1);
        uint256 e = _claimableEscrow(listed, a);
        _claimableEscrow(listed, b);
        (uint256 owed, bool down) = market.books(address(listed));
        assertEq(owed, 0, "a listed token was booked (createBounty, through the extension)");
        assertFalse(down, "a listed token is written down");
        // the simulated loss: unprotected, as before P4; A's claim is not frozen and reads no balance
        listed.rebase(1, 2);
        vm.expectCall(address(listed), abi.encodeCall(listed.balanceOf, (address(market))), 0);
        vm.prank(a);
        market.claim(address(listed));
        assertEq(listed.balanceOf(a), e, "a listed token's payout was frozen or cut after its loss");
        // (shares, not balanceOf: the expectCall above counts every balanceOf(market) to the end)
        assertEq(listed.sharesOf(address(market)), 0, "B's escrow paid A: the deployer's trust, not P4's");
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.NotBalanceChecked.selector, address(listed)));
        market.writeDown(address(listed));
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.NotBalanceChecked.selector, address(0)));
        market.writeDown(address(0));
    }

    function test_p4_a_listed_token_after_a_loss_still_takes_new_money_unbooked() public {
        _claimableEscrow(listed, address(0xA1));
        listed.rebase(1, 2);
        // new money still comes in (no freeze), measured by the transfer as before
        uint256 e = _claimableEscrow(listed, address(0xA2));
        (uint256 owed, bool down) = market.books(address(listed));
        assertEq(owed, 0, "a listed token was booked after its loss");
        assertFalse(down, "a listed token is written down");
        vm.prank(address(0xA2));
        market.claim(address(listed));
        assertEq(listed.balanceOf(address(0xA2)), e, "a listed token's payout was cut after its loss");
    }

    function test_p4_an_unlisted_token_in_the_same_market_still_freezes() public {
        address a = address(0xA1);
        uint256 e = _claimableEscrow(checked, a);
        _claimableEscrow(checked, address(0xB1));
        (uint256 owed,) = market.books(address(checked));
        assertEq(owed, 2 * e, "an unlisted token is booked");
        checked.rebase(1, 2);
        vm.expectRevert(
            abi.encodeWithSelector(IBountyMarketErrors.TokenShortfall.selector, address(checked), e, 2 * e)
        );
        vm.prank(a);
        market.claim(address(checked));
        market.writeDown(address(checked));
        vm.prank(a);
        market.claim(address(checked));
        assertEq(checked.balanceOf(a), e / 2, "the unlisted token's loss is shared pro rata");
    }

    function _deploy(address[] memory list) external {
        MarketSetup.deploy(address(this), address(this), list);
    }

    function _expectRefused(address[] memory list) internal {
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.InvalidParameter.selector, "fixedBalanceTokens"));
        this._deploy(list);
    }

    function test_p4_the_constructor_refuses_five_tokens_a_zero_address_or_a_duplicate() public {
        address[] memory list = new address[](5);
        for (uint256 i = 0; i < 5; ++i) {
            list[i] = address(uint160(0x7000 + i));
        }
        _expectRefused(list);
        address[] memory four = new address[](4);
        for (uint256 i = 0; i < 4; ++i) {
            four[i] = list[i];
        }
        this._deploy(four); // four is the most, and fine
        four[3] = address(0);
        _expectRefused(four);
        four[3] = four[1];
        _expectRefused(four);
    }

    function test_p4_four_listed_tokens_are_each_unchecked_and_nothing_else_is() public {
        address[] memory list = new address[](4);
        for (uint256 i = 0; i < 4; ++i) {
            list[i] = address(uint160(0x7000 + i));
        }
        IBountyMarket m = MarketSetup.deploy(address(this), address(this), list).market;
        for (uint256 i = 0; i < 4; ++i) {
            assertFalse(m.balanceChecked(list[i]), "a listed token is balance-checked");
        }
        assertTrue(m.balanceChecked(address(0x7004)), "an unlisted token is not balance-checked");
        assertFalse(m.balanceChecked(address(0)), "ETH is balance-checked");
    }
}

/// @dev A RebasingToken that tells a registered recipient of a transfer before it moves the
///      balance (ERC-777 calls its recipient after).
contract RecipientFirstRebasingToken is RebasingToken {
    mapping(address account => bool) public hooked;

    function register() external {
        hooked[msg.sender] = true;
    }

    function transfer(address to, uint256 amount) public override returns (bool) {
        if (hooked[to]) RecipientHook(to).tokensReceived(msg.sender, amount); // before the balance moves
        return super.transfer(to, amount);
    }
}

/// @dev A requester whose hook claims its own balance while a payout to it is in flight.
contract RecipientHook {
    IBountyMarket internal immutable market;
    address internal immutable token;

    constructor(IBountyMarket market_, address token_) {
        market = market_;
        token = token_;
        RecipientFirstRebasingToken(token_).register();
    }

    function tokensReceived(address, uint256) external {
        if (market.claimable(address(this), token) != 0) market.claim(token);
    }
}

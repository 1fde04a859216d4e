// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {MarketModel} from "./utils/MarketModel.sol";
import {MarketSetup} from "./utils/MarketSetup.sol";
import {OracleRegistry} from "../../contracts/OracleRegistry.sol";
import {MockERC20} from "../../contracts/test/MockERC20.sol";
import {IBountyMarket, IBountyMarketErrors, IBountyMarketTypes} from "../../interfaces/IBountyMarket.sol";

/// @dev Regressions for two accounting bugs the invariant suite found (SPECIFICATION B1, B5,
///      R10, E2): a fee budget whose fees paid overflowed 96 bits and locked a batch for good,
///      and a top-up that wrapped the 128-bit reward escrow and bricked close().
contract AccountingOverflowTest is Test, IBountyMarketTypes {
    IBountyMarket internal market;
    OracleRegistry internal registry;
    MockERC20 internal token;
    address internal requester = address(0xA11CE);
    address[] internal oracles;

    function setUp() public {
        MarketSetup.Deployment memory d = MarketSetup.deploy(address(this), address(this));
        market = d.market;
        registry = d.registry;
        token = new MockERC20("Big supply", "BIG", 18);
        oracles = MarketSetup.stakeOracles(registry, 3);
    }

    function _open(BountyParams memory p) internal returns (uint256 id) {
        id = MarketSetup.openWithToken(market, requester, p);
        MarketSetup.joinAndReportBaseline(market, id, oracles, 5_000);
    }

    /// @dev One submission in batch `batch`, scored `score` by all three members.
    function _round(uint256 id, uint256 batch, uint32 score)
        internal
        returns (SubmissionRecord[] memory records, BatchReport[] memory reports)
    {
        address c = address(uint160(0xB000 + batch));
        uint96 stake = market.getBounty(id).stake;
        token.mint(c, stake);
        vm.prank(c);
        token.approve(address(market), stake);
        records = new SubmissionRecord[](1);
        records[0] = SubmissionRecord(c, stake, 0, MarketSetup.cid("update", batch));
        vm.prank(c);
        market.submitUpdate(id, 0, records[0].update);
        uint32[] memory s = new uint32[](1);
        s[0] = score;
        reports = new BatchReport[](3);
        address[] memory members = new address[](3);
        for (uint256 i = 0; i < 3; ++i) {
            reports[i] = BatchReport(MarketModel.encode(s, market.getBounty(id).higherIsBetter), MarketSetup.cid("merged", batch));
            members[i] = oracles[i];
        }
        MarketSetup.commitAndReveal(market, id, batch, members, reports);
    }

    /// @dev Bug 1 (fixed): a fee budget of 1.5 * 2^96 used to be accepted, and the second
    ///      settlement overflowed feesPaid and reverted for good. createBounty now refuses any
    ///      budget that does not fit in 96 bits, and a budget of exactly 2^96 - 1 settles.
    function test_a_fee_budget_beyond_96_bits_is_refused_and_the_largest_one_settles() public {
        BountyParams memory p = MarketSetup.params(address(token), oracles);
        p.oracleFeePerBatch = uint96(3 << 94);
        p.maxBatches = 2;
        p.batchSize = 1;
        uint256 total = MarketSetup.escrow(p);
        token.mint(requester, total);
        vm.prank(requester);
        token.approve(address(market), total);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.InvalidParameter.selector, "oracleFeePerBatch"));
        market.createBounty(p);

        p.oracleFeePerBatch = uint96((uint256(type(uint96).max) / 6) * 3); // 3 members share it; 2 batches fit in 96 bits
        uint256 id = _open(p);
        (SubmissionRecord[] memory r0, BatchReport[] memory q0) = _round(id, 0, 5_000);
        market.settleBatch(id, 0, r0, q0);
        (SubmissionRecord[] memory r1, BatchReport[] memory q1) = _round(id, 1, 5_000);
        market.settleBatch(id, 1, r1, q1);
        assertEq(market.getBounty(id).feesPaid, uint256(p.oracleFeePerBatch) * 2, "fees paid");
    }

    /// @dev Bug 2 (fixed): a top-up that takes the escrow past 2^128 - 1 wraps it; here to 0 after a
    ///      version was paid, so close() underflows and the bounty can never close.
    function test_a_top_up_cannot_wrap_the_reward_escrow_or_brick_close() public {
        BountyParams memory p = MarketSetup.params(address(token), oracles);
        p.batchSize = 1;
        uint256 id = _open(p);
        (SubmissionRecord[] memory r0, BatchReport[] memory q0) = _round(id, 0, 7_000); // half-way to 9000
        market.settleBatch(id, 0, r0, q0);
        uint256 reward = market.getBounty(id).reward;
        uint256 paid = market.getBounty(id).paid;
        assertEq(paid, reward / 2, "half the escrow paid");

        // anyone tops up so that reward + amount == 2^128: stored as 0
        address griefer = address(0xBAD);
        uint256 amount = (uint256(1) << 128) - reward;
        token.mint(griefer, amount);
        vm.prank(griefer);
        token.approve(address(market), amount);
        vm.prank(griefer);
        (bool toppedUp,) = address(market).call(abi.encodeCall(market.topUp, (id, amount)));

        vm.prank(requester);
        market.cancel(id);
        (bool closed,) = address(market).call(abi.encodeCall(market.close, (id)));
        assertTrue(closed, "the bounty can never close: refund, fees and bonds are locked");
        if (toppedUp) assertEq(market.getBounty(id).reward, reward + amount, "topUp credited a wrapped escrow");
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "./Test.sol";
import {MarketSetup} from "./MarketSetup.sol";
import {OracleRegistry} from "../../../contracts/OracleRegistry.sol";
import {IBountyMarket, IBountyMarketTypes} from "../../../interfaces/IBountyMarket.sol";

/// @dev What the committee-draw tests share (rules O5-O7, C4-C6): a market and its registry,
///      a requester, oracles at fixed addresses, the attacker's coalition `mine`, and drawn
///      bounties opened with the market's default terms.
abstract contract DrawTestBase is Test {
    IBountyMarket internal market;
    OracleRegistry internal registry;
    address internal requester = address(0xBEEF);
    address[3] internal mine = [address(0xA1), address(0xA2), address(0xA3)];
    /// @dev If set, the scoring timeout of the drawn bounties a test opens: 30 minutes puts them
    ///      outside the standard envelope (O5, R3-4), where a policy of 1 hour may refuse them.
    uint32 internal drawnTimeout;

    receive() external payable {}

    function _deploy(uint256 requesterEth) internal {
        MarketSetup.Deployment memory d = MarketSetup.deploy(address(this), address(this));
        market = d.market;
        registry = d.registry;
        vm.deal(requester, requesterEth);
    }

    function _oracle(uint256 i) internal pure returns (address) {
        return address(uint160(0x10000 + i));
    }

    /// @dev Rule O7: stakes, unbonds and policies wait for a staking half.
    function _toStaking() internal {
        (bool drawing, uint256 until) = registry.phase();
        if (drawing) vm.roll(until);
    }

    function _stake(address o, uint256 amount) internal {
        _toStaking();
        vm.deal(o, o.balance + amount);
        vm.prank(o);
        registry.stake{value: amount}();
    }

    function _drawnParams(uint256 size) internal view returns (IBountyMarketTypes.BountyParams memory p) {
        p = MarketSetup.params(address(0), new address[](size));
        if (size * p.batchSize > 2048) p.batchSize = uint16(2048 / size);
        if (drawnTimeout != 0) p.scoringTimeout = drawnTimeout;
    }

    function _open(IBountyMarketTypes.BountyParams memory p) internal returns (uint256 id) {
        vm.prank(requester);
        id = market.createBounty{value: MarketSetup.escrow(p)}(p);
    }

    function _mineCount(address[] memory m) internal view returns (uint256 c) {
        for (uint256 i = 0; i < m.length; ++i) {
            for (uint256 j = 0; j < 3; ++j) if (m[i] == mine[j]) ++c;
        }
    }

    function _isMine(address a) internal view returns (bool) {
        return a == mine[0] || a == mine[1] || a == mine[2];
    }
}

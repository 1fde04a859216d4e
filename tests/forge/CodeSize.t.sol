// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {MarketSetup} from "./utils/MarketSetup.sol";

/// @dev EIP-170: a contract's runtime code is at most 24,576 bytes, or it cannot be deployed on
///      any public chain (the test EVM here does not enforce it). Every deployed contract is
///      checked as scripts/deploy.py deploys it.
contract CodeSizeTest is Test {
    uint256 internal constant EIP170 = 24_576;

    function test_every_deployed_contract_fits_eip170() public {
        MarketSetup.Deployment memory d = MarketSetup.deploy(address(this), address(this));
        address market = address(d.market);
        (bool ok, bytes memory ext) = market.staticcall(abi.encodeWithSignature("extension()"));
        assertTrue(ok, "extension()");
        address extension = abi.decode(ext, (address));
        _fits("BountyMarket", market);
        _fits("BountyMarketExtension", extension);
        _fits("OracleRegistry", address(d.registry));
        _fits("KeyRegistry", address(d.keyRegistry));
    }

    function _fits(string memory name, address a) internal {
        uint256 size = a.code.length;
        assertGt(size, 0, name);
        assertLe(size, EIP170, name);
    }
}

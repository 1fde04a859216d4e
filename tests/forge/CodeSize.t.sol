// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {MarketSetup} from "./utils/MarketSetup.sol";
import {BountyMarket} from "../../contracts/BountyMarket.sol";

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

    /// @dev EIP-3860: a creation transaction's data (initcode, here with the constructor's
    ///      arguments) is at most 49,152 bytes; ganache and anvil at shanghai refuse more.
    ///      BountyMarket's initcode embeds the extension's (the constructor creates it), so the
    ///      two contracts share this budget. Arguments at their largest: four addresses, the
    ///      array's offset and length, and four fixed-balance tokens (rule P4): 10 words.
    function test_the_markets_creation_fits_eip3860_with_four_fixed_balance_tokens() public {
        address[] memory fixed_ = new address[](4);
        for (uint256 i = 0; i < 4; ++i) fixed_[i] = address(uint160(0x7000 + i));
        bytes memory args = abi.encode(address(1), address(2), address(3), address(4), fixed_);
        assertEq(args.length, 320, "ten words of arguments");
        assertLe(type(BountyMarket).creationCode.length + args.length, 49_152, "BountyMarket's creation data");
    }

    function _fits(string memory name, address a) internal {
        uint256 size = a.code.length;
        assertGt(size, 0, name);
        assertLe(size, EIP170, name);
    }
}

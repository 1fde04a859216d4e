// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {MarketSetup} from "./utils/MarketSetup.sol";
import {BountyMarket} from "../../contracts/BountyMarket.sol";
import {BountyMarketExtension} from "../../contracts/BountyMarketExtension.sol";

/// @dev EIP-170: a contract's runtime code is at most 24,576 bytes, or it cannot be deployed on
///      any public chain (the test EVM here does not enforce it). Every deployed contract is
///      checked as scripts/deploy.py deploys it.
contract CodeSizeTest is Test {
    uint256 internal constant EIP170 = 24_576;
    uint256 internal constant EIP3860 = 49_152;

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
    ///      arguments) is at most 49,152 bytes; ganache at shanghai refuses more (checked).
    ///      BountyMarketExtension is deployed on its own, before the market, so each contract
    ///      has the whole budget (when the market's constructor created the extension, the
    ///      market's initcode embedded it: 49,143 of the 49,152). The market's arguments at
    ///      their largest: five addresses, the array's offset and length, and four
    ///      fixed-balance tokens (rule P4): 11 words. At this commit: the market 24,689 + 352,
    ///      the extension 24,850 + 32, about 24,100 and 24,250 under (assertLe, not the exact figure,
    ///      so this fails only when a contract outgrows the limit).
    function test_the_markets_creation_fits_eip3860_with_four_fixed_balance_tokens() public {
        address[] memory fixed_ = new address[](4);
        for (uint256 i = 0; i < 4; ++i) fixed_[i] = address(uint160(0x7000 + i));
        bytes memory args = abi.encode(address(1), address(2), address(3), address(4), address(5), fixed_);
        assertEq(args.length, 352, "eleven words of arguments");
        assertLe(type(BountyMarket).creationCode.length + args.length, EIP3860, "BountyMarket's creation data");
    }

    function test_the_extensions_creation_fits_eip3860() public {
        bytes memory args = abi.encode(address(1));
        assertLe(type(BountyMarketExtension).creationCode.length + args.length, EIP3860, "the extension's creation data");
    }

    /// @dev The market's initcode no longer holds the extension's: neither creation embeds the
    ///      other, so together they would exceed one creation's budget only if this failed.
    function test_the_markets_initcode_does_not_embed_the_extension() public {
        bytes memory ext = type(BountyMarketExtension).creationCode;
        assertLt(type(BountyMarket).creationCode.length, ext.length, "the market's initcode is smaller than the extension's");
    }

    function _fits(string memory name, address a) internal {
        uint256 size = a.code.length;
        assertGt(size, 0, name);
        assertLe(size, EIP170, name);
    }
}

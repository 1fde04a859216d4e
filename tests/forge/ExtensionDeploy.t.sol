// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {MarketSetup} from "./utils/MarketSetup.sol";
import {BountyMarket} from "../../contracts/BountyMarket.sol";
import {BountyMarketExtension} from "../../contracts/BountyMarketExtension.sol";
import {OracleRegistry} from "../../contracts/OracleRegistry.sol";
import {IBountyMarket, IBountyMarketErrors, IBountyMarketExtension} from "../../interfaces/IBountyMarket.sol";

/// @dev Answers extensionFor() as it is told: an extension built for another layout or interface.
contract FakeExtension {
    address internal immutable _registry;
    bytes32 internal immutable _layout;
    bytes4 internal immutable _id;

    constructor(address registry, bytes32 layout, bytes4 id) {
        _registry = registry;
        _layout = layout;
        _id = id;
    }

    function extensionFor() external view returns (address, bytes32, bytes4) {
        return (_registry, _layout, _id);
    }
}

/// @dev BountyMarketExtension is deployed on its own and its address passed to the market's
///      constructor, which refuses one that cannot serve this market's delegatecalls.
contract ExtensionDeployTest is Test {
    OracleRegistry internal registry;
    OracleRegistry internal other;
    address internal keys = address(0x4b);
    bytes32 internal constant LAYOUT = keccak256("fathom.BountyMarketStorage.1");

    function setUp() public {
        registry = new OracleRegistry(1 ether, 7 days, 1_000, MarketSetup.ORACLE_DRAW_PERIOD);
        other = new OracleRegistry(1 ether, 7 days, 1_000, MarketSetup.ORACLE_DRAW_PERIOD);
    }

    function _deploy(address extension) internal returns (BountyMarket) {
        return new BountyMarket(keys, address(registry), extension, address(this), address(this), new address[](0));
    }

    function _refused(address extension) internal {
        vm.expectRevert(abi.encodeWithSelector(IBountyMarketErrors.InvalidParameter.selector, "extension"));
        _deploy(extension);
    }

    function test_a_sound_extension_is_taken_and_serves_the_fallback() public {
        address ext = address(new BountyMarketExtension(address(registry)));
        BountyMarket market = _deploy(ext);
        assertEq(market.extension(), ext, "extension()");
        IBountyMarket m = IBountyMarket(address(market));
        assertEq(m.bountyCount(), 0, "an extension view through the fallback");
        // what the constructor compared, answered through the fallback as by the extension
        (address r, bytes32 layout, bytes4 id) = BountyMarketExtension(address(market)).extensionFor();
        assertEq(r, address(registry), "registry");
        assertEq(layout, LAYOUT, "layout");
        assertEq(id, type(IBountyMarketExtension).interfaceId, "interface");
    }

    function test_no_code_is_refused() public {
        _refused(address(0));
        _refused(address(0xE0A)); // an EOA: every delegatecall to it would succeed doing nothing
    }

    function test_a_contract_that_is_no_extension_is_refused() public {
        _refused(address(registry)); // no extensionFor(): the call reverts
        _refused(address(new SilentContract())); // the call succeeds, answering nothing
    }

    function test_an_extension_built_for_another_registry_is_refused() public {
        _refused(address(new BountyMarketExtension(address(other))));
    }

    function test_an_extension_of_another_layout_or_interface_is_refused() public {
        bytes4 id = type(IBountyMarketExtension).interfaceId;
        // the fake, told the truth, is taken: each refusal below is its one wrong answer
        _deploy(address(new FakeExtension(address(registry), LAYOUT, id)));
        _refused(address(new FakeExtension(address(registry), keccak256("fathom.BountyMarketStorage.0"), id)));
        _refused(address(new FakeExtension(address(registry), LAYOUT, bytes4(0x01020304))));
        _refused(address(new FakeExtension(address(other), LAYOUT, id)));
    }
}

/// @dev Has code and a fallback that returns nothing: the call succeeds with no answer.
contract SilentContract {
    fallback() external {}
}

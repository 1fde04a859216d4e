// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {KeyRegistry} from "../../contracts/KeyRegistry.sol";
import {IKeyRegistry} from "../../interfaces/IKeyRegistry.sol";

/// @dev SPECIFICATION.md K1-K2 under fuzzing: a key is accepted exactly from the
///      address it hashes to.
contract KeyRegistryTest is Test {
    KeyRegistry internal registry;

    function setUp() public {
        registry = new KeyRegistry();
    }

    function testFuzz_k1_key_is_accepted_only_from_its_address(bytes32 x, bytes32 y, address sender) public {
        bytes memory key = abi.encodePacked(x, y);
        address owner = address(uint160(uint256(keccak256(key))));
        vm.assume(sender != owner);
        vm.prank(sender);
        vm.expectRevert(abi.encodeWithSelector(IKeyRegistry.PublicKeyNotSenders.selector, sender, owner));
        registry.publishKey(key);
        assertFalse(registry.hasKey(sender), "refused key stored");

        vm.prank(owner);
        registry.publishKey(key);
        assertEq(registry.publicKeyOf(owner), key, "stored key differs");
        assertTrue(registry.hasKey(owner), "key not recorded");
    }

    function testFuzz_k2_wrong_length_is_refused(bytes memory key) public {
        vm.assume(key.length != 64);
        vm.expectRevert(abi.encodeWithSelector(IKeyRegistry.InvalidPublicKeyLength.selector, key.length));
        registry.publishKey(key);
    }

    function test_k2_key_of_a_real_account_matches_vm_addr() public {
        // secp256k1 generator point G: the public key of private key 1.
        bytes memory g = abi.encodePacked(
            bytes32(0x79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798),
            bytes32(0x483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8)
        );
        address owner = vm.addr(1);
        vm.prank(owner);
        registry.publishKey(g);
        assertEq(registry.publicKeyOf(owner), g, "generator key not stored for vm.addr(1)");
    }
}

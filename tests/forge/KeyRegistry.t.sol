// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test, Vm} from "./utils/Test.sol";
import {KeyRegistry} from "../../contracts/KeyRegistry.sol";
import {IKeyRegistry} from "../../interfaces/IKeyRegistry.sol";

/// @dev SPECIFICATION.md K1-K2 under fuzzing: a key is accepted exactly from the
///      address it hashes to, and only if it is a point of secp256k1.
contract KeyRegistryTest is Test {
    KeyRegistry internal registry;

    uint256 internal constant SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141;

    function setUp() public {
        registry = new KeyRegistry();
    }

    function testFuzz_k1_real_key_is_accepted_only_from_its_address(uint256 privateKey, address sender) public {
        privateKey = bound(privateKey, 1, SECP256K1_N - 1);
        Vm.Wallet memory w = vm.createWallet(privateKey);
        bytes memory key = abi.encodePacked(w.publicKeyX, w.publicKeyY);
        vm.assume(sender != w.addr);

        vm.prank(sender);
        vm.expectRevert(abi.encodeWithSelector(IKeyRegistry.PublicKeyNotSenders.selector, sender, w.addr));
        registry.publishKey(key);
        assertFalse(registry.hasKey(sender), "refused key stored");

        vm.prank(w.addr);
        registry.publishKey(key);
        assertEq(registry.publicKeyOf(w.addr), key, "stored key differs");
        assertTrue(registry.hasKey(w.addr), "key not recorded");
    }

    function testFuzz_k2_points_off_the_curve_are_refused(bytes32 x, bytes32 y) public {
        bytes memory key = abi.encodePacked(x, y);
        address owner = address(uint160(uint256(keccak256(key))));
        // a random pair is on the curve with negligible probability; (0,0) is the edge case
        vm.prank(owner);
        vm.expectRevert(IKeyRegistry.PublicKeyNotOnCurve.selector);
        registry.publishKey(key);
        assertFalse(registry.hasKey(owner), "off-curve key stored");
    }

    function test_k2_the_zero_point_is_refused() public {
        bytes memory key = new bytes(64);
        address owner = address(uint160(uint256(keccak256(key))));
        vm.prank(owner);
        vm.expectRevert(IKeyRegistry.PublicKeyNotOnCurve.selector);
        registry.publishKey(key);
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

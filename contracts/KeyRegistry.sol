// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IKeyRegistry} from "../interfaces/IKeyRegistry.sol";

/// @title KeyRegistry
/// @notice Where artefacts find their recipients: address => secp256k1 public key.
contract KeyRegistry is IKeyRegistry {
    /// @dev X and Y halves of each published key; X == 0 means none (no valid
    ///      secp256k1 point that hashes to an address has both halves zero).
    struct PublicKey {
        bytes32 x;
        bytes32 y;
    }

    mapping(address account => PublicKey) private _keys;

    /// @inheritdoc IKeyRegistry
    function publishKey(bytes calldata publicKey) external {
        if (publicKey.length != 64) revert InvalidPublicKeyLength(publicKey.length);
        address keyAddress = address(uint160(uint256(keccak256(publicKey))));
        if (keyAddress != msg.sender) revert PublicKeyNotSenders(msg.sender, keyAddress);
        _keys[msg.sender] = PublicKey(bytes32(publicKey[0:32]), bytes32(publicKey[32:64]));
        emit PublicKeyPublished(msg.sender, publicKey);
    }

    /// @inheritdoc IKeyRegistry
    function publicKeyOf(address account) external view returns (bytes memory) {
        PublicKey storage key = _keys[account];
        if (key.x == bytes32(0) && key.y == bytes32(0)) return "";
        return abi.encodePacked(key.x, key.y);
    }

    /// @inheritdoc IKeyRegistry
    function hasKey(address account) external view returns (bool) {
        PublicKey storage key = _keys[account];
        return key.x != bytes32(0) || key.y != bytes32(0);
    }
}

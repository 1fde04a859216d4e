// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IKeyRegistry} from "../interfaces/IKeyRegistry.sol";

/// @title KeyRegistry
/// @notice Where artefacts find their recipients: address => secp256k1 public key.
contract KeyRegistry is IKeyRegistry {
    /// @dev X and Y halves of each published key; both zero means none ((0, 0) is
    ///      not on the curve, and publishKey accepts only points on the curve).
    struct PublicKey {
        bytes32 x;
        bytes32 y;
    }

    /// @dev secp256k1: y^2 = x^3 + 7 over the field of this prime.
    uint256 private constant FIELD_P = 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f;

    mapping(address account => PublicKey) private _keys;

    /// @inheritdoc IKeyRegistry
    function publishKey(bytes calldata publicKey) external {
        if (publicKey.length != 64) revert InvalidPublicKeyLength(publicKey.length);
        uint256 x = uint256(bytes32(publicKey[0:32]));
        uint256 y = uint256(bytes32(publicKey[32:64]));
        if (x >= FIELD_P || y >= FIELD_P || mulmod(y, y, FIELD_P) != addmod(mulmod(mulmod(x, x, FIELD_P), x, FIELD_P), 7, FIELD_P)) {
            revert PublicKeyNotOnCurve();
        }
        address keyAddress = address(uint160(uint256(keccak256(publicKey))));
        if (keyAddress != msg.sender) revert PublicKeyNotSenders(msg.sender, keyAddress);
        _keys[msg.sender] = PublicKey(bytes32(x), bytes32(y));
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

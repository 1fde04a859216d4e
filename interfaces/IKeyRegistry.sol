// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Fathom key registry
/// @notice Any address may publish its uncompressed secp256k1 public key, so that
///         artefacts (updates, keyrings, validation sets) can be encrypted to it.
///         The registry accepts a key only from the address it hashes to, so a key
///         found here belongs to that address.
interface IKeyRegistry {
    /// @notice The key is not 64 bytes (uncompressed X || Y, without the 0x04 prefix).
    error InvalidPublicKeyLength(uint256 length);
    /// @notice The key is not a point of secp256k1 (so no one holds its private key).
    error PublicKeyNotOnCurve();
    /// @notice The key hashes to `keyAddress`, not to the sender.
    error PublicKeyNotSenders(address sender, address keyAddress);

    /// @notice `account` published (or replaced) its public key.
    /// @param account The address the key hashes to.
    /// @param publicKey The 64-byte uncompressed key, X || Y.
    event PublicKeyPublished(address indexed account, bytes publicKey);

    /// @notice Publish the sender's public key. Publishing again replaces it
    ///         (the same key: an address has one key).
    /// @param publicKey 64 bytes, X || Y; `address(uint160(uint256(keccak256(publicKey))))`
    ///        must equal `msg.sender`, and (X, Y) must lie on secp256k1.
    function publishKey(bytes calldata publicKey) external;

    /// @notice The public key `account` published, or empty bytes if it published none.
    function publicKeyOf(address account) external view returns (bytes memory);

    /// @notice Whether `account` has published its key.
    function hasKey(address account) external view returns (bool);
}

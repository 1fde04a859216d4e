// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice A hostile account for the adversarial tests. Its owner makes it act as a
///         requester, contributor or oracle through `exec`. When ETH arrives it either
///         refuses it (`refuse`) or, if armed, makes the armed calls once, recording what
///         each returned, and keeps the ETH.
contract AttackerActor {
    struct Call {
        address target;
        uint256 value;
        bytes data;
    }

    address public immutable owner;
    bool public refusing;
    /// @notice ETH transfers accepted by receive(), and the wei they brought.
    uint256 public receipts;
    uint256 public received;

    Call[] private _armed;
    bool[] private _oks;
    bytes[] private _returns;

    error NotOwner(address caller);
    error Refused(uint256 amount);

    constructor() {
        owner = msg.sender;
    }

    /// @notice Call `target` with `data` and the ETH sent; bubble up a revert as it came.
    function exec(address target, bytes calldata data) external payable returns (bytes memory ret) {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        bool ok;
        (ok, ret) = target.call{value: msg.value}(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
    }

    /// @notice Add a call to make (with `value` of this contract's ETH) when ETH next arrives.
    function arm(address target, uint256 value, bytes calldata data) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _armed.push(Call(target, value, data));
    }

    /// @notice Refuse (revert on) every ETH transfer while `on`.
    function refuse(bool on) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        refusing = on;
    }

    /// @notice How many armed calls were made so far, and what call `i` returned.
    function attempts() external view returns (uint256) {
        return _oks.length;
    }

    function attempt(uint256 i) external view returns (bool ok, bytes memory ret) {
        return (_oks[i], _returns[i]);
    }

    receive() external payable {
        if (refusing) revert Refused(msg.value);
        ++receipts;
        received += msg.value;
        uint256 n = _armed.length;
        if (n == 0) return;
        Call[] memory calls = _armed;
        delete _armed; // once
        for (uint256 i = 0; i < n; ++i) {
            (bool ok, bytes memory ret) = calls[i].target.call{value: calls[i].value}(calls[i].data);
            _oks.push(ok);
            _returns.push(ret);
        }
    }
}

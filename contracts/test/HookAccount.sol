// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {HookToken} from "./HookToken.sol";

/// @notice A requester or contributor that is a contract with ERC-777 style hooks. It acts
///         through `exec` (reverts bubble up). Once armed, its next tokensToSend (side 1) or
///         tokensReceived (side 2) calls `target` with `payload` and records the outcome
///         without reverting, so the outer transfer goes on.
contract HookAccount {
    address public target;
    bytes public payload;
    uint8 public side;
    uint256 public fired;
    bool public lastOk;
    bytes public lastReturn;

    function register(HookToken token) external {
        token.register();
    }

    function exec(address to, bytes calldata data) external payable returns (bytes memory ret) {
        bool ok;
        (ok, ret) = to.call{value: msg.value}(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
    }

    function arm(address target_, bytes calldata payload_, uint8 side_) external {
        target = target_;
        payload = payload_;
        side = side_;
    }

    function tokensToSend(address, address, address, uint256) external {
        _fire(1);
    }

    function tokensReceived(address, address, address, uint256) external {
        _fire(2);
    }

    function _fire(uint8 s) private {
        address t = target;
        if (t == address(0) || side != s) return;
        target = address(0); // once
        ++fired;
        (lastOk, lastReturn) = t.call(payload);
    }

    receive() external payable {}
}

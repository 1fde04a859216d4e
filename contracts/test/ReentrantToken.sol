// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice A hostile token: once armed, its next transferFrom first calls `target` with
///         `payload` (as an ERC-777 style hook would) and records what happened.
contract ReentrantToken is ERC20 {
    address public target;
    bytes public payload;
    bool public lastOk;
    bytes public lastReturn;

    constructor() ERC20("Reentrant Token", "RE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function arm(address target_, bytes calldata payload_) external {
        target = target_;
        payload = payload_;
    }

    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        address t = target;
        if (t != address(0)) {
            target = address(0); // once
            (lastOk, lastReturn) = t.call(payload);
        }
        return super.transferFrom(from, to, value);
    }
}

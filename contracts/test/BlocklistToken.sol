// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice A USDC-style blocklist: a blocked address can neither send nor receive, nor
///         move others' tokens with transferFrom (each reverts with Blocked(account)).
contract BlocklistToken is ERC20 {
    error Blocked(address account);

    mapping(address => bool) public blocked;

    constructor() ERC20("Blocklist Token", "BLK") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function setBlocked(address account, bool blocked_) external {
        blocked[account] = blocked_;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0)) {
            if (blocked[msg.sender]) revert Blocked(msg.sender);
            if (blocked[from]) revert Blocked(from);
            if (blocked[to]) revert Blocked(to);
        }
        super._update(from, to, value);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

interface ITokenHooks {
    function tokensToSend(address operator, address from, address to, uint256 amount) external;
    function tokensReceived(address operator, address from, address to, uint256 amount) external;
}

/// @notice An ERC-777 style token: an account that registered hooks is called with
///         tokensToSend before tokens leave it and with tokensReceived after they arrive,
///         on transfer and transferFrom alike. A hook may call anything, the market included.
contract HookToken is ERC20 {
    mapping(address => bool) public hooked;

    constructor() ERC20("Hook Token", "HOOK") {}

    function register() external {
        hooked[msg.sender] = true;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        bool moving = from != address(0) && to != address(0);
        if (moving && hooked[from]) ITokenHooks(from).tokensToSend(msg.sender, from, to, value);
        super._update(from, to, value);
        if (moving && hooked[to]) ITokenHooks(to).tokensReceived(msg.sender, from, to, value);
    }
}

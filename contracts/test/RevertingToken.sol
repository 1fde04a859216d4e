// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice A token whose transfers can be switched off (a paused token): while `reverting`,
///         every transfer and transferFrom reverts with TransfersReverting().
contract RevertingToken is ERC20 {
    error TransfersReverting();

    bool public reverting;

    constructor() ERC20("Reverting Token", "REV") {}

    function setReverting(bool reverting_) external {
        reverting = reverting_;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (reverting && from != address(0)) revert TransfersReverting();
        super._update(from, to, value);
    }
}

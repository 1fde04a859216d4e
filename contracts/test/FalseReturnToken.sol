// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice A token that reports failure by returning false instead of reverting.
///         `failing` (switched with setFailing): transfer and transferFrom return false and
///         move nothing, as old tokens did on a failed transfer. `alwaysFalse` (fixed at
///         deployment): they move the funds but still return false, a token whose return
///         value can never be trusted. SafeERC20 must refuse both.
contract FalseReturnToken {
    string public constant name = "False Return Token";
    string public constant symbol = "FRT";
    uint8 public constant decimals = 18;
    bool public immutable alwaysFalse;
    bool public failing;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor(bool alwaysFalse_) {
        alwaysFalse = alwaysFalse_;
    }

    function setFailing(bool failing_) external {
        failing = failing_;
    }

    function mint(address to, uint256 amount) external {
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transfer(address to, uint256 value) external returns (bool) {
        return _move(msg.sender, to, value);
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (failing || allowed < value) return false;
        if (allowed != type(uint256).max) allowance[from][msg.sender] = allowed - value;
        return _move(from, to, value);
    }

    function _move(address from, address to, uint256 value) private returns (bool) {
        if (failing || balanceOf[from] < value) return false;
        balanceOf[from] -= value;
        balanceOf[to] += value;
        emit Transfer(from, to, value);
        return !alwaysFalse;
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice An ERC-20 whose balances can fall without a transfer, as Ampleforth's negative
///         rebase or a slashed liquid-staking token's: each balance is the holder's shares
///         times one multiplier `num / den`, which `rebase` changes and no Transfer event shows.
///         With `num = 1` a transfer moves exactly `amount * den` shares, so every balance it
///         touches moves by exactly `amount` (the tests rely on it: no rounding dust).
contract RebasingToken {
    string public constant name = "Rebasing";
    string public constant symbol = "RBS";
    uint8 public constant decimals = 18;

    uint256 public num = 1;
    uint256 public den = 1;
    uint256 public totalShares;
    mapping(address account => uint256) public sharesOf;
    mapping(address owner => mapping(address spender => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    function totalSupply() external view returns (uint256) {
        return totalShares * num / den;
    }

    function balanceOf(address account) public view returns (uint256) {
        return sharesOf[account] * num / den;
    }

    /// @dev Every balance becomes `num / den` of what its shares were worth at 1:1.
    function rebase(uint256 num_, uint256 den_) external {
        num = num_;
        den = den_;
    }

    function mint(address to, uint256 amount) external {
        uint256 s = amount * den / num;
        sharesOf[to] += s;
        totalShares += s;
        emit Transfer(address(0), to, amount);
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    function transfer(address to, uint256 amount) public virtual returns (bool) {
        _move(msg.sender, to, amount);
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        require(allowed >= amount, "allowance");
        if (allowed != type(uint256).max) allowance[from][msg.sender] = allowed - amount;
        _move(from, to, amount);
        return true;
    }

    function _move(address from, address to, uint256 amount) private {
        uint256 s = amount * den / num;
        require(sharesOf[from] >= s, "balance");
        sharesOf[from] -= s;
        sharesOf[to] += s;
        emit Transfer(from, to, amount);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IOracleRegistry} from "../interfaces/IOracleRegistry.sol";

/// @title OracleRegistry
/// @notice ETH stakes of the oracles that score bounties. See IOracleRegistry.
contract OracleRegistry is IOracleRegistry {
    struct Oracle {
        uint128 stake;
        uint64 unbondingAt; // 0 while bonded
        uint32 activeBounties;
        uint128 locked; // the sum of the bonds of the bounties it serves
    }

    uint256 private constant BPS = 10_000;

    /// @inheritdoc IOracleRegistry
    uint256 public immutable minStake;
    /// @inheritdoc IOracleRegistry
    uint256 public immutable unbondingDelay;
    /// @inheritdoc IOracleRegistry
    uint256 public immutable slashBps;
    address private immutable _deployer;

    /// @inheritdoc IOracleRegistry
    address public market;

    mapping(address oracle => Oracle) private _oracles;

    constructor(uint256 minStake_, uint256 unbondingDelay_, uint256 slashBps_) {
        if (minStake_ == 0) revert InvalidRegistryParameter("minStake");
        if (slashBps_ == 0 || slashBps_ > BPS) revert InvalidRegistryParameter("slashBps");
        minStake = minStake_;
        unbondingDelay = unbondingDelay_;
        slashBps = slashBps_;
        _deployer = msg.sender;
    }

    modifier onlyMarket() {
        if (msg.sender != market) revert NotMarket(msg.sender);
        _;
    }

    /// @inheritdoc IOracleRegistry
    function setMarket(address market_) external {
        if (msg.sender != _deployer) revert NotMarket(msg.sender);
        if (market != address(0)) revert MarketAlreadySet(market);
        market = market_;
        emit MarketSet(market_);
    }

    /// @inheritdoc IOracleRegistry
    function stake() external payable {
        Oracle storage o = _oracles[msg.sender];
        uint256 total = o.stake + msg.value;
        if (total < minStake) revert StakeBelowMinimum(total, minStake);
        o.stake = uint128(total);
        o.unbondingAt = 0;
        emit OracleStaked(msg.sender, msg.value, total);
    }

    /// @inheritdoc IOracleRegistry
    function requestUnbond() external {
        Oracle storage o = _oracles[msg.sender];
        if (o.stake == 0 || o.unbondingAt != 0) revert OracleNotBonded(msg.sender);
        if (o.activeBounties != 0) revert OracleStillServing(msg.sender, o.activeBounties);
        uint256 availableAt = block.timestamp + unbondingDelay;
        o.unbondingAt = uint64(availableAt);
        emit OracleUnbonding(msg.sender, availableAt);
    }

    /// @inheritdoc IOracleRegistry
    function withdraw() external {
        Oracle storage o = _oracles[msg.sender];
        uint256 amount = o.stake;
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        if (o.unbondingAt == 0 || block.timestamp < o.unbondingAt) {
            revert UnbondingNotFinished(msg.sender, o.unbondingAt);
        }
        // effects before the transfer; a bonded oracle cannot reach here
        // (bond() requires unbondingAt == 0 and requestUnbond() requires no bounties)
        delete _oracles[msg.sender];
        emit OracleWithdrawn(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert EthTransferFailed(msg.sender, amount);
    }

    /// @inheritdoc IOracleRegistry
    function bond(address oracle, uint256 amount) external onlyMarket {
        if (!isEligible(oracle)) revert OracleNotBonded(oracle);
        Oracle storage o = _oracles[oracle];
        uint256 free = o.stake - o.locked; // locked <= stake: slashes take from both alike
        if (free < amount) revert InsufficientFreeStake(oracle, free, amount);
        uint32 active = o.activeBounties + 1;
        o.activeBounties = active;
        o.locked += uint128(amount);
        emit OracleBonded(oracle, active, amount);
    }

    /// @inheritdoc IOracleRegistry
    function release(address oracle, uint256 amount) external onlyMarket {
        Oracle storage o = _oracles[oracle];
        uint32 active = o.activeBounties - 1; // reverts on underflow: the market releases once per bond
        o.activeBounties = active;
        o.locked -= uint128(amount); // the market releases what is left of the bond it locked
        emit OracleReleased(oracle, active, amount);
    }

    /// @inheritdoc IOracleRegistry
    function slash(address oracle, uint256 amount) external onlyMarket returns (uint256 taken) {
        Oracle storage o = _oracles[oracle];
        taken = amount < o.locked ? amount : o.locked; // only what its bonds lock
        if (taken == 0) return 0;
        uint256 remaining = o.stake - taken;
        o.stake = uint128(remaining);
        o.locked -= uint128(taken);
        emit OracleStakeSlashed(oracle, taken, remaining);
        (bool ok,) = market.call{value: taken}("");
        if (!ok) revert EthTransferFailed(market, taken);
    }

    /// @inheritdoc IOracleRegistry
    function lockedOf(address oracle) external view returns (uint256) {
        return _oracles[oracle].locked;
    }

    /// @inheritdoc IOracleRegistry
    function isEligible(address oracle) public view returns (bool) {
        Oracle storage o = _oracles[oracle];
        return o.unbondingAt == 0 && o.stake >= minStake;
    }

    /// @inheritdoc IOracleRegistry
    function oracleInfo(address oracle)
        external
        view
        returns (uint256 stakeAmount, uint256 unbondingAt, uint256 activeBounties)
    {
        Oracle storage o = _oracles[oracle];
        return (o.stake, o.unbondingAt, o.activeBounties);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Fathom oracle registry
/// @notice Oracles bond ETH here to serve on bounty committees. A bonded stake stays
///         slashable while the oracle serves any bounty; leaving takes an unbonding
///         delay that starts only once the oracle serves none. The registry's one
///         market (set once, at deployment) bonds, releases and slashes oracles; a
///         slashed amount is sent to the market, which owes it to the contributors of
///         the batch the oracle misreported.
interface IOracleRegistry {
    /// @notice The registry's market was already set.
    error MarketAlreadySet(address market);
    /// @notice Only the market may call this.
    error NotMarket(address caller);
    /// @notice The stake after this deposit would be below the registry's minimum.
    error StakeBelowMinimum(uint256 stake, uint256 minimum);
    /// @notice The oracle is unbonding or gone, so it cannot take part.
    error OracleNotBonded(address oracle);
    /// @notice The oracle still serves `activeBounties` bounties and cannot unbond.
    error OracleStillServing(address oracle, uint256 activeBounties);
    /// @notice The unbonding delay has not passed: withdrawal opens at `availableAt`.
    error UnbondingNotFinished(address oracle, uint256 availableAt);
    /// @notice Nothing to withdraw.
    error NothingToWithdraw(address oracle);
    /// @notice A constructor argument is out of range.
    error InvalidRegistryParameter(string name);
    /// @notice An ETH transfer failed.
    error EthTransferFailed(address to, uint256 amount);

    /// @notice The market that may bond, release and slash was set.
    event MarketSet(address indexed market);
    /// @notice `oracle` deposited `amount`; its stake is now `stake`.
    event OracleStaked(address indexed oracle, uint256 amount, uint256 stake);
    /// @notice `oracle` began unbonding; it may withdraw from `availableAt`.
    event OracleUnbonding(address indexed oracle, uint256 availableAt);
    /// @notice `oracle` withdrew its whole stake.
    event OracleWithdrawn(address indexed oracle, uint256 amount);
    /// @notice The market bonded `oracle` to one more bounty.
    event OracleBonded(address indexed oracle, uint256 activeBounties);
    /// @notice The market released `oracle` from a bounty.
    event OracleReleased(address indexed oracle, uint256 activeBounties);
    /// @notice `amount` of `oracle`'s stake was slashed and sent to the market.
    event OracleStakeSlashed(address indexed oracle, uint256 amount, uint256 remaining);

    /// @notice Deposit ETH as (more) stake. The total must reach `minStake()`. An
    ///         unbonding oracle that stakes again is bonded again.
    function stake() external payable;

    /// @notice Start the unbonding delay. Only when the oracle serves no bounty.
    function requestUnbond() external;

    /// @notice After the delay, withdraw the whole stake to the sender.
    function withdraw() external;

    /// @notice Set the market, once (deployer only).
    function setMarket(address market) external;

    /// @notice Market only: bond `oracle` to one more bounty. Reverts if not eligible.
    function bond(address oracle) external;

    /// @notice Market only: release `oracle` from one bounty.
    function release(address oracle) external;

    /// @notice Market only: slash `slashBps()` of `oracle`'s stake and send it to the market.
    /// @return amount The wei slashed.
    function slash(address oracle) external returns (uint256 amount);

    /// @notice Bonded with at least the minimum stake: may join a committee.
    function isEligible(address oracle) external view returns (bool);

    /// @notice An oracle's stake, its unbonding time (0 while bonded) and the bounties it serves.
    function oracleInfo(address oracle)
        external
        view
        returns (uint256 stakeAmount, uint256 unbondingAt, uint256 activeBounties);

    /// @notice The least stake an oracle must hold, in wei.
    function minStake() external view returns (uint256);

    /// @notice Seconds between `requestUnbond` and `withdraw`.
    function unbondingDelay() external view returns (uint256);

    /// @notice Share of the current stake slashed per offence, in basis points.
    function slashBps() external view returns (uint256);

    /// @notice The market (zero until set).
    function market() external view returns (address);
}

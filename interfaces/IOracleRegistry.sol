// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @dev Rule C4: a drawing half's seed is the PREVRANDAO of its block SEED_OFFSET (counted from
///      0 at its first block), recorded there and in no other block (R3-2, R3-3).
uint256 constant SEED_OFFSET = 2;

/// @title Fathom oracle registry
/// @notice Oracles bond ETH here to serve on bounty committees. A bonded stake stays
///         slashable while the oracle serves any bounty; leaving takes an unbonding
///         delay that starts only once the oracle serves none. The registry's one
///         market (set once, at deployment) bonds, releases and slashes oracles. Each bond
///         locks a fixed amount of the oracle's stake for one bounty; a slash takes only from
///         what is locked (never the rest of the stake) and sends it to the market, which burns
///         it: nobody who could make a member disagree or fall silent profits from its slash.
///         Each oracle registers the terms it accepts (its policy); the market draws committees
///         from a stake-weighted sortition tree (a Fenwick tree over the oracles, O(log N) per
///         stake change and per sample) among the oracles whose policy accepts a bounty.
///         Rule O7: the registry alternates a staking half and a drawing half of `drawPeriod`
///         blocks each (a block is in a drawing half when (number / drawPeriod) is odd). In a
///         drawing half nothing a draw reads changes: `stake`, `requestUnbond`, `setPolicy` and
///         `sync` revert with RegistryDrawing, and a slash leaves the tree alone; a draw seeded
///         by its drawing half's seed block (recordSeed) and run within the half reads only
///         state fixed before its seed was known.
interface IOracleRegistry {
    /// @notice What an oracle accepts to serve (rule O5). A bounty is accepted when its scoring
    ///         timeout is at least `minScoringTimeout`, its deadline at most `maxDuration` seconds
    ///         after it opened, its committee size x batch size at most `maxCommitteeByBatch`,
    ///         and its oracle fee per batch at least `minFeePerBatch` wei if it pays in ETH; a
    ///         bounty that pays in an ERC-20 (which the registry cannot price) only if
    ///         `acceptTokenFees`; and its member bond (what joining locks of the stake) at most
    ///         `maxBond` wei, so that a requester cannot pick a bond the oracle could not post and
    ///         have its seat vacated (SECURITY.md, finding A). An oracle that never set a policy
    ///         accepts every bounty the market allows, whatever its bond.
    struct Policy {
        uint32 minScoringTimeout;
        uint64 maxDuration;
        uint96 minFeePerBatch;
        uint32 maxCommitteeByBatch;
        bool acceptTokenFees;
        uint96 maxBond;
    }

    /// @notice A bounty's terms as a policy sees them, and the bond a member locks for it.
    struct Terms {
        uint256 scoringTimeout; // seconds
        uint256 duration; // deadline - opening time, seconds
        uint256 feePerBatch; // oracle fee per batch, in the bounty's token
        bool feeInEth; // the bounty pays in ETH
        uint256 committeeByBatch; // committee size x batch size
        uint256 bond; // what each member locks: the policy's maxBond bounds it; free stake is checked when it joins
    }

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
    /// @notice The oracle's stake not yet locked by its bonds, `free`, is below the `needed` bond.
    error InsufficientFreeStake(address oracle, uint256 free, uint256 needed);
    /// @notice An ETH transfer failed.
    error EthTransferFailed(address to, uint256 amount);
    /// @notice A policy field is stricter than the standard envelope (`envelope()`, R3-4): every
    ///         policy accepts every bounty inside it.
    error InvalidPolicy(string name);
    /// @notice Rule O7: the registry is in a drawing half, in which no stake, unbond, policy or
    ///         sync changes what a draw reads; it may be sent again from block `stakingFrom`.
    error RegistryDrawing(uint256 stakingFrom);
    /// @notice Rule C4: a seed is recorded only in a drawing half's seed block (its first block +
    ///         SEED_OFFSET); the next such block is `from`.
    error SeedNotOpen(uint256 from);

    /// @notice The market that may bond, release and slash was set.
    event MarketSet(address indexed market);
    /// @notice `oracle` deposited `amount`; its stake is now `stake`.
    event OracleStaked(address indexed oracle, uint256 amount, uint256 stake);
    /// @notice `oracle` began unbonding; it may withdraw from `availableAt`.
    event OracleUnbonding(address indexed oracle, uint256 availableAt);
    /// @notice `oracle` withdrew its whole stake.
    event OracleWithdrawn(address indexed oracle, uint256 amount);
    /// @notice The market bonded `oracle` to one more bounty, locking `amount` of its stake.
    event OracleBonded(address indexed oracle, uint256 activeBounties, uint256 amount);
    /// @notice The market released `oracle` from a bounty, unlocking `amount`.
    event OracleReleased(address indexed oracle, uint256 activeBounties, uint256 amount);
    /// @notice `amount` of `oracle`'s stake was slashed and sent to the market.
    event OracleStakeSlashed(address indexed oracle, uint256 amount, uint256 remaining);
    /// @notice `oracle` registered (or changed) its acceptance policy.
    event PolicySet(address indexed oracle, Policy policy);
    /// @notice `oracle`'s sortition weight was set to what it holds now, `weight` (rule O7).
    event OracleSynced(address indexed oracle, uint256 weight);
    /// @notice The seed of drawing period `period` (block.number / drawPeriod) was recorded.
    event SeedRecorded(uint256 indexed period, uint256 seed);

    /// @notice Rule C4: SEED_OFFSET, the place of a drawing half's seed block in it (2: its third).
    function seedOffset() external pure returns (uint256);

    /// @notice Anyone (rule C4): the seed of this drawing half. Recorded only in the half's
    ///         seed block, drawingStart + SEED_OFFSET (from `block.prevrandao`, mixed with the
    ///         period; never 0), by the first call there; later in the half it returns the seed
    ///         recorded, or 0 if nobody recorded in the seed block (missed: the half's draws
    ///         lapse uncharged and are re-armed). Reverts SeedNotOpen in a staking half and in a
    ///         drawing half before its seed block. One block only, so no caller chooses among
    ///         several blocks' seeds (R3-2), and the PREVRANDAO it takes was known while stakes
    ///         were open only to one who proposed the last staking block and the two after it (R3-3).
    function recordSeed() external returns (uint256 seed);

    /// @notice Anyone (the market's drawCommittee): the seed of the drawing half that begins at
    ///         block `drawBlock`: within the half, recordSeed (which records it in the seed block
    ///         and reverts SeedNotOpen before it); after it, the seed recorded then, with `over`
    ///         true (the half is over). 0: missed (nobody recorded in the seed block).
    function seedFor(uint256 drawBlock) external returns (uint256 seed, bool over);

    /// @notice Rule C6: whether a drawn `oracle` that has not joined a bounty of `terms` may have
    ///         its seat vacated: at once if it cannot serve (not eligible, or its policy refuses
    ///         the terms); once `windowPassed` (the join timeout and a whole staking half since
    ///         the draw) only if it holds `terms.bond` of free stake and still did not join (dead
    ///         or unwilling). Never for want of free stake alone (R3-5: decoy bounties lock it).
    function vacatable(address oracle, Terms calldata terms, bool windowPassed) external view returns (bool);

    /// @notice Rule O5 (R3-4): the standard envelope, as the loosest policy `setPolicy` takes:
    ///         every policy accepts a bounty that this one accepts (scoring timeout >= 1 hour,
    ///         deadline <= 30 days after opening, committee x batch <= 192, fees in ETH of at
    ///         least 0.001 ETH per batch, member bond <= minStake / 16, the market's floor), so
    ///         such a bounty's draw never misses on a policy; `setPolicy` reverts
    ///         InvalidPolicy(field) for a policy stricter on any field. Token fees lie outside it.
    function envelope() external view returns (Policy memory);

    /// @notice The seed recorded for drawing period `period` (0: none yet).
    function seedOf(uint256 period) external view returns (uint256);

    /// @notice Register or replace the sender's acceptance policy (rule O5). It binds the
    ///         committees drawn and joined from then on, not those it already serves. Reverts
    ///         RegistryDrawing in a drawing half (rule O7).
    function setPolicy(Policy calldata policy) external;

    /// @notice `oracle`'s policy and whether it set one (if not, it accepts every bounty).
    function policyOf(address oracle) external view returns (Policy memory policy, bool set);

    /// @notice Whether `oracle`'s policy accepts a bounty with these terms, its bond included
    ///         (its free stake aside).
    function accepts(address oracle, Terms calldata terms) external view returns (bool);

    /// @notice Stake-weighted sortition (rule O6): up to `count` distinct oracles, each sample
    ///         drawn with probability proportional to its weight (its stake when it last staked
    ///         or was synced), from `seed`; a sample is kept only if the oracle's policy accepts
    ///         `terms`, it is not in `skip` (the requester and the seated members, at most 17)
    ///         and the market has not excluded it from bounty `bountyId` (those that left it or
    ///         were vacated, rule C6: one lookup per sample). It reads nothing else (rule O7):
    ///         eligibility and free stake are checked when a drawn oracle joins. A sample refused by policy is a
    ///         miss; after more than `count` misses, or 16 * count + 32 samples, the draw stops
    ///         and returns the oracles found so far (fewer than `count`): terms that most of the
    ///         stake refuses fail to draw instead of leaving the seats to the few who accept them.
    function draw(uint256 bountyId, uint256 seed, uint256 count, Terms calldata terms, address[] calldata skip)
        external
        view
        returns (address[] memory drawn);

    /// @notice The sum of the stakes in the sortition tree (eligible oracles) and their number
    ///         (every oracle that ever staked holds a leaf).
    function totalWeight() external view returns (uint256 total, uint256 leaves);

    /// @notice Deposit ETH as (more) stake. The total must reach `minStake()`. An
    ///         unbonding oracle that stakes again is bonded again. A stake of at least
    ///         minStake / 16 (the bond floor) restarts its idle clock (rule C6: `vacatable`);
    ///         a smaller one does not (review 11, F). Reverts RegistryDrawing in a drawing half
    ///         (rule O7).
    function stake() external payable;

    /// @notice Start the unbonding delay. Only when the oracle serves no bounty. Reverts
    ///         RegistryDrawing in a drawing half (rule O7).
    function requestUnbond() external;

    /// @notice Anyone: set `oracle`'s sortition weight to its stake now (0 if not eligible),
    ///         applying the slashes since it last staked (rule O7). Reverts RegistryDrawing in a
    ///         drawing half, OracleNotBonded for an address that never staked.
    function sync(address oracle) external;

    /// @notice Whether `oracle` could lock a bond of `amount` now: eligible, and that much of
    ///         its stake free (rule O7: what joinCommittee needs, and what vacateSeat reads).
    function canBond(address oracle, uint256 amount) external view returns (bool);

    /// @notice Rule O7: whether this block is in a drawing half, and the first block of the
    ///         next half (a staking half's first block when `drawing`).
    function phase() external view returns (bool drawing, uint256 until);

    /// @notice Blocks per half (rule O7): a staking half, then a drawing half, alternately.
    function drawPeriod() external view returns (uint256);

    /// @notice After the delay, withdraw the whole stake to the sender.
    function withdraw() external;

    /// @notice Set the market, once (deployer only).
    function setMarket(address market) external;

    /// @notice Market only: bond `oracle` to one more bounty, locking `amount` of its stake.
    ///         Reverts if not eligible or if less than `amount` of its stake is unlocked.
    function bond(address oracle, uint256 amount) external;

    /// @notice Market only (rule C6): `oracle` left bounty `bountyId` or was vacated from it;
    ///         no later draw of that bounty seats it.
    function exclude(uint256 bountyId, address oracle) external;

    /// @notice Market only: release `oracle` from one bounty, unlocking `amount` (what is
    ///         left of that bounty's bond).
    function release(address oracle, uint256 amount) external;

    /// @notice Market only: take `amount` from `oracle`'s locked stake (never more than is
    ///         locked) and send it to the market, which burns it.
    /// @return taken The wei slashed.
    function slash(address oracle, uint256 amount) external returns (uint256 taken);

    /// @notice The part of `oracle`'s stake its bonds lock.
    function lockedOf(address oracle) external view returns (uint256);

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

    /// @notice Share of a bounty's bond slashed per offence, in basis points (the market
    ///         reads it).
    function slashBps() external view returns (uint256);

    /// @notice The market (zero until set).
    function market() external view returns (address);
}

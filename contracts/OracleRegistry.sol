// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IOracleRegistry, SEED_OFFSET} from "../interfaces/IOracleRegistry.sol";

/// @title OracleRegistry
/// @notice ETH stakes of the oracles that score bounties, their acceptance policies and the
///         stake-weighted sortition tree committees are drawn from. See IOracleRegistry.
contract OracleRegistry is IOracleRegistry {
    struct Oracle {
        uint128 stake;
        uint64 unbondingAt; // 0 while bonded
        uint32 activeBounties;
        uint32 leaf; // its leaf in the sortition tree (1-based; 0 before it first staked)
        uint128 locked; // the sum of the bonds of the bounties it serves
        uint128 weight; // its leaf's weight: its stake when it last staked, 0 once unbonding
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
    uint256 public immutable drawPeriod;

    /// @inheritdoc IOracleRegistry
    address public market;

    mapping(address oracle => Oracle) private _oracles;
    mapping(address oracle => Policy) private _policies;

    /// @dev The sortition tree: a Fenwick (binary indexed) tree over the leaves 1.._leaves, node
    ///      i holding the sum of the weights of leaves (i - lowbit(i), i]. A stake change updates
    ///      at most log2(N) + 1 nodes, a sample reads log2(N) + 1 (rule O6). A slash does not
    ///      touch it (settlement stays as cheap as it was, and a slash in a drawing half cannot
    ///      move a draw whose seed is public, rule O7): a slashed leaf keeps its old weight until
    ///      the oracle stakes again or anyone calls sync(oracle) in a staking half. The extra
    ///      weight is at most what was slashed (burned), and the oracle must still bond to serve.
    mapping(uint256 node => uint256) private _tree;
    mapping(uint256 leaf => address) private _leafOwner;
    uint256 private _leaves;
    /// @dev A draw stops after 16 * count + 32 samples (bounded gas), or after more than `count`
    ///      misses (samples refused by policy, free stake or eligibility).
    uint256 private constant SAMPLES_PER_SEAT = 16;
    /// @dev Rule C4: each drawing period's seed, recorded only in its block period * p + SEED_OFFSET
    ///      (0: not yet, or missed: nobody recorded in that block, R3-2).
    mapping(uint256 period => uint256) private _seeds;
    /// @dev Rule C6: the oracles a bounty's draws skip for good (those that left it or were
    ///      vacated), one lookup per sample however many (a list scanned per sample was not
    ///      bounded, finding F).
    mapping(uint256 bountyId => mapping(address oracle => bool)) private _excluded;
    /// @dev Rule C6 (review 10, D2): the block at which each oracle's free stake last grew (a bond
    ///      released, a stake of at least minStake / 16 added: review 11, F). A seat counts as idle only a whole period after it, so a
    ///      vacate ordered right behind a release or a top-up cannot beat the oracle's join.
    mapping(address oracle => uint256) private _freedAt;
    uint256 private constant EXTRA_SAMPLES = 32;

    constructor(uint256 minStake_, uint256 unbondingDelay_, uint256 slashBps_, uint256 drawPeriod_) {
        if (minStake_ == 0) revert InvalidRegistryParameter("minStake");
        if (slashBps_ == 0 || slashBps_ > BPS) revert InvalidRegistryParameter("slashBps");
        // a drawing half holds its seed block, its SEED_OFFSET-th (recordSeed), and a block to
        // draw in after it; stakes wait at most P blocks (256: about 51 minutes on mainnet)
        if (drawPeriod_ <= SEED_OFFSET || drawPeriod_ > 256) revert InvalidRegistryParameter("drawPeriod");
        drawPeriod = drawPeriod_;
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

    /// @dev Rule O7: nothing a draw reads (the tree, the policies) changes in a drawing half.
    function _notDrawing() private view {
        (bool drawing, uint256 until) = phase();
        if (drawing) revert RegistryDrawing(until);
    }

    /// @inheritdoc IOracleRegistry
    function phase() public view returns (bool drawing, uint256 until) {
        uint256 p = drawPeriod;
        // slither-disable-next-line incorrect-equality (the parity of a block period, not a time compared)
        drawing = (block.number / p) & 1 == 1;
        until = (block.number / p + 1) * p;
    }

    /// @inheritdoc IOracleRegistry
    function seedOffset() external pure returns (uint256) {
        return SEED_OFFSET;
    }

    /// @inheritdoc IOracleRegistry
    function recordSeed() public returns (uint256 seed) {
        uint256 p = drawPeriod;
        uint256 period = block.number / p;
        uint256 offset = block.number % p;
        // rule C4 (R3-2, R3-3): only the one block period * p + SEED_OFFSET of a drawing half
        // records; its PREVRANDAO is the RANDAO mix after the blocks SEED_OFFSET - 1 and
        // SEED_OFFSET - 2 of the half, so only a proposer of the last staking block and both
        // of those knew it while stakes were open; and no caller chooses among several blocks'
        // seeds, since no other block records
        // slither-disable-next-line incorrect-equality (the parity of a block period, not a time compared)
        if (period & 1 == 0 || offset < SEED_OFFSET) revert SeedNotOpen((period | 1) * p + SEED_OFFSET);
        seed = _seeds[period];
        // after the seed block: the seed it recorded, or 0 if nobody did (missed: the half's
        // draws lapse uncharged, BountyMarket.drawCommittee)
        if (seed != 0 || offset != SEED_OFFSET) return seed;
        seed = uint256(keccak256(abi.encode(block.prevrandao, period))) | 1; // never 0: 0 is "missed"
        _seeds[period] = seed;
        emit SeedRecorded(period, seed);
    }

    /// @inheritdoc IOracleRegistry
    function seedFor(uint256 drawBlock) external returns (uint256 seed, bool over) {
        uint256 p = drawPeriod;
        // after the half: what its seed block recorded (0: missed); within it: recordSeed
        if (block.number >= drawBlock + p) return (_seeds[drawBlock / p], true);
        seed = recordSeed();
    }

    /// @inheritdoc IOracleRegistry
    function seedOf(uint256 period) external view returns (uint256) {
        return _seeds[period];
    }

    /// @inheritdoc IOracleRegistry
    function stake() external payable {
        _notDrawing();
        Oracle storage o = _oracles[msg.sender];
        uint256 total = o.stake + msg.value;
        if (total < minStake) revert StakeBelowMinimum(total, minStake);
        o.stake = uint128(total);
        o.unbondingAt = 0;
        // review 11, F: only a stake of at least the bond floor (minStake / 16) restarts the idle
        // clock; a 0-wei stake twice a period kept an idle drawn seat unvacatable for gas alone
        if (msg.value >= minStake / 16) _freedAt[msg.sender] = block.number;
        _setWeight(o, msg.sender, total);
        emit OracleStaked(msg.sender, msg.value, total);
    }

    /// @inheritdoc IOracleRegistry
    function requestUnbond() external {
        _notDrawing();
        Oracle storage o = _oracles[msg.sender];
        if (o.stake == 0 || o.unbondingAt != 0) revert OracleNotBonded(msg.sender);
        if (o.activeBounties != 0) revert OracleStillServing(msg.sender, o.activeBounties);
        uint256 availableAt = block.timestamp + unbondingDelay;
        o.unbondingAt = uint64(availableAt);
        _setWeight(o, msg.sender, 0); // an unbonding oracle is never drawn
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
        // (bond() requires unbondingAt == 0 and requestUnbond() requires no bounties); it keeps
        // its leaf (weight 0 since requestUnbond), reused if it stakes again
        o.stake = 0;
        o.unbondingAt = 0;
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
    function exclude(uint256 bountyId, address oracle) external onlyMarket {
        _excluded[bountyId][oracle] = true;
    }

    /// @inheritdoc IOracleRegistry
    function release(address oracle, uint256 amount) external onlyMarket {
        Oracle storage o = _oracles[oracle];
        uint32 active = o.activeBounties - 1; // reverts on underflow: the market releases once per bond
        o.activeBounties = active;
        o.locked -= uint128(amount); // the market releases what is left of the bond it locked
        _freedAt[oracle] = block.number;
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
    function sync(address oracle) external {
        _notDrawing();
        Oracle storage o = _oracles[oracle];
        if (o.leaf == 0) revert OracleNotBonded(oracle);
        uint256 w = isEligible(oracle) ? o.stake : 0;
        _setWeight(o, oracle, w);
        emit OracleSynced(oracle, w);
    }

    /// @inheritdoc IOracleRegistry
    function canBond(address oracle, uint256 amount) external view returns (bool) {
        Oracle storage o = _oracles[oracle];
        return isEligible(oracle) && o.stake - o.locked >= amount;
    }

    /// @inheritdoc IOracleRegistry
    function vacatable(address oracle, Terms calldata terms, bool windowPassed) external view returns (bool) {
        Oracle storage o = _oracles[oracle];
        // rule C6 (R3-5): never for want of free stake alone (locked <= stake: slashes take from both)
        // nor in the period after its free stake last grew (D2): a whole drawing half to join in
        return !isEligible(oracle) || !accepts(oracle, terms)
            || (windowPassed && o.stake - o.locked >= terms.bond && block.number >= _freedAt[oracle] + 2 * drawPeriod);
    }

    // ------------------------------------------------------------ policies (rule O5)

    /// @dev Rule O5 (R3-4): the standard envelope, the loosest terms every policy must accept.
    uint256 private constant ENVELOPE_TIMEOUT = 1 hours;
    uint256 private constant ENVELOPE_DURATION = 30 days;
    uint256 private constant ENVELOPE_FEE = 0.001 ether;
    uint256 private constant ENVELOPE_COMMITTEE_BY_BATCH = 3 * 64;

    /// @inheritdoc IOracleRegistry
    function envelope() public view returns (Policy memory e) {
        // the bond: the market's floor, minStake / 16 (its BOND_FLOOR_DIVISOR); token fees are
        // outside (the registry cannot price a token), so a policy may refuse them
        e = Policy(
            uint32(ENVELOPE_TIMEOUT),
            uint64(ENVELOPE_DURATION),
            uint96(ENVELOPE_FEE),
            uint32(ENVELOPE_COMMITTEE_BY_BATCH),
            false,
            uint96(minStake / 16)
        );
    }

    /// @inheritdoc IOracleRegistry
    function setPolicy(Policy calldata policy) external {
        _notDrawing();
        // rule O5 (R3-4): no policy refuses a bounty inside the standard envelope, so no staker
        // turns its stake into misses that fail (and charge) honest requesters' first draws
        Policy memory e = envelope();
        if (policy.minScoringTimeout > e.minScoringTimeout) revert InvalidPolicy("minScoringTimeout");
        if (policy.maxDuration < e.maxDuration) revert InvalidPolicy("maxDuration");
        if (policy.minFeePerBatch > e.minFeePerBatch) revert InvalidPolicy("minFeePerBatch");
        if (policy.maxCommitteeByBatch < e.maxCommitteeByBatch) revert InvalidPolicy("maxCommitteeByBatch");
        if (policy.maxBond < e.maxBond) revert InvalidPolicy("maxBond");
        _policies[msg.sender] = policy;
        emit PolicySet(msg.sender, policy);
    }

    /// @inheritdoc IOracleRegistry
    function policyOf(address oracle) external view returns (Policy memory policy, bool set) {
        policy = _policies[oracle];
        set = policy.maxCommitteeByBatch != 0; // setPolicy refuses 0
    }

    /// @inheritdoc IOracleRegistry
    function accepts(address oracle, Terms calldata terms) public view returns (bool) {
        Policy storage p = _policies[oracle];
        uint256 maxCxB = p.maxCommitteeByBatch;
        if (maxCxB == 0) return true; // no policy: every bounty the market allows
        return terms.scoringTimeout >= p.minScoringTimeout && terms.duration <= p.maxDuration
            && terms.committeeByBatch <= maxCxB && terms.bond <= p.maxBond
            && (terms.feeInEth ? terms.feePerBatch >= p.minFeePerBatch : p.acceptTokenFees);
    }

    // ------------------------------------------------------------ sortition (rule O6)

    /// @dev Sets `oracle`'s leaf weight, giving it a leaf first if it has none. Equivalent to
    ///      `weight[leaf] = w` over a plain array, with prefix sums kept in the Fenwick tree.
    function _setWeight(Oracle storage o, address oracle, uint256 w) private {
        uint256 old = o.weight;
        if (old == w && o.leaf != 0) return;
        o.weight = uint128(w);
        uint256 n = _leaves;
        uint256 i = o.leaf;
        if (i == 0) {
            // a new last leaf: its node sums itself and the nodes it covers, (i - lowbit(i), i - 1]
            i = n + 1;
            _leaves = i;
            o.leaf = uint32(i);
            _leafOwner[i] = oracle;
            uint256 sum = w;
            uint256 low = i - (i & (~i + 1));
            for (uint256 j = i - 1; j > low; j -= j & (~j + 1)) {
                sum += _tree[j];
            }
            _tree[i] = sum;
            return;
        }
        for (; i <= n; i += i & (~i + 1)) {
            _tree[i] = _tree[i] + w - old; // every node over the leaf includes `old`: no underflow
        }
    }

    /// @dev The leaf whose stake interval holds `r` (r < total): a descent of the tree.
    function _leafAt(uint256 r, uint256 n) private view returns (uint256 pos) {
        uint256 step = 1;
        while (step <= n) step <<= 1;
        for (step >>= 1; step != 0; step >>= 1) {
            uint256 next = pos + step;
            if (next <= n) {
                uint256 t = _tree[next];
                if (t <= r) {
                    pos = next;
                    r -= t;
                }
            }
        }
        return pos + 1;
    }

    /// @inheritdoc IOracleRegistry
    function totalWeight() public view returns (uint256 total, uint256 leaves) {
        leaves = _leaves;
        for (uint256 i = leaves; i != 0; i -= i & (~i + 1)) {
            total += _tree[i];
        }
    }

    /// @inheritdoc IOracleRegistry
    function draw(uint256 bountyId, uint256 seed, uint256 count, Terms calldata terms, address[] calldata skip)
        external
        view
        returns (address[] memory drawn)
    {
        drawn = new address[](count);
        (uint256 total, uint256 n) = totalWeight();
        uint256 found = 0;
        uint256 misses = 0;
        for (uint256 k = 0; found < count && k < SAMPLES_PER_SEAT * count + EXTRA_SAMPLES && total != 0; ++k) {
            address oracle = _leafOwner[_leafAt(uint256(keccak256(abi.encode(seed, k))) % total, n)];
            if (_excluded[bountyId][oracle] || _taken(oracle, skip, drawn, found)) continue; // a resample, not a miss
            // rule O7: only the weights and the policies, which no call changes in a drawing
            // half; eligibility and free stake are joinCommittee's (a drawn oracle that cannot
            // serve is vacated and its seat drawn again; one short of free stake waits, C6)
            if (!accepts(oracle, terms)) {
                if (++misses > count) break;
                continue;
            }
            drawn[found++] = oracle;
        }
        assembly ("memory-safe") {
            mstore(drawn, found) // Equivalent to: shrinking `drawn` to its first `found` entries.
        }
    }

    function _taken(address oracle, address[] calldata skip, address[] memory drawn, uint256 found)
        private
        pure
        returns (bool)
    {
        for (uint256 i = 0; i < skip.length; ++i) {
            if (skip[i] == oracle) return true;
        }
        for (uint256 i = 0; i < found; ++i) {
            if (drawn[i] == oracle) return true;
        }
        return false;
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

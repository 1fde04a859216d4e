// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IBountyMarketExtension} from "../interfaces/IBountyMarket.sol";
import {IOracleRegistry, SEED_OFFSET} from "../interfaces/IOracleRegistry.sol";
import {RewardMath} from "./libraries/RewardMath.sol";
import {BountyMarketStorage} from "./BountyMarketStorage.sol";

/// @title BountyMarketExtension
/// @notice The market's getters and its rarely used actions (keyring, initial model, cancel,
///         close, reveal, bond forfeiture, the guardian's pause). BountyMarket's fallback
///         delegatecalls this contract, so it reads and writes the market's storage and
///         emits from the market's address; this keeps BountyMarket under the EIP-170
///         size limit. Deployed first, on its own (so BountyMarket's initcode does not embed
///         it, EIP-3860); the market's constructor takes its address. Called directly, it sees
///         an empty market of its own.
// slither-disable-next-line locked-ether (its payable functions run only by delegatecall from the market, which holds the ETH and pays it out through claims; called directly they revert)
contract BountyMarketExtension is BountyMarketStorage, IBountyMarketExtension {
    /// @dev The market's oracle registry (the deployer passes it, and the market's constructor
    ///      checks it is its own; immutables live in code, so they read the same under delegatecall).
    address private immutable _registry;
    /// @dev This contract's own address: under delegatecall, address(this) is the market's.
    address private immutable _self;
    /// @dev The registry's drawPeriod (rule O7): blocks per staking or drawing half.
    uint256 private immutable _drawPeriod;

    constructor(address registry) {
        _registry = registry;
        _self = address(this);
        _drawPeriod = IOracleRegistry(registry).drawPeriod();
    }

    /// @notice What BountyMarket's constructor checks before it delegates to this contract: the
    ///         oracle registry it was built for (its immutable), the storage layout it was
    ///         compiled against and the interface it serves. Through the market's fallback it
    ///         answers the same (immutables and constants live in code).
    function extensionFor() external view returns (address registry, bytes32 layout, bytes4 interfaceId) {
        return (_registry, STORAGE_LAYOUT, type(IBountyMarketExtension).interfaceId);
    }

    /// @dev ETH sent to the extension itself would stay there: only the market may run what pays.
    function _onlyDelegated() private view {
        if (address(this) == _self) revert UnexpectedEth(msg.sender);
    }

    modifier nonReentrant() {
        uint256 g = _lock(false);
        _;
        _guard = g;
    }

    // ------------------------------------------------------------ creation (cold)

    /// @inheritdoc IBountyMarketExtension
    function createBounty(BountyParams calldata p) external payable returns (uint256 bountyId) {
        _onlyDelegated();
        uint256 g = _lock(true);
        _validateParams(p);
        bountyId = _bountyCount + 1;
        Bounty storage b = _bounties[bountyId];
        uint256 fees = uint256(p.oracleFeePerBatch) * p.maxBatches;
        uint256 fixedPart = fees + p.revealBond;
        // drawn mode: the requester's ETH draw deposit (rule C5) arrives beside the escrow
        uint256 received = _pullFunds(p.token, p.reward + fixedPart, p.committee[0] == address(0) ? _drawDeposit() : 0);
        _bountyCount = bountyId; // it exists once funded: a token hook in the pull finds no bounty
        if (received < fixedPart) revert FundingShortfall(received, fixedPart);
        uint256 reward = received - fixedPart; // what arrived for the reward (never more than asked)

        b.intake = RECORDS_SEED; // the words every batch reuses exist from the start
        b.ready = 1;
        b.terms = uint256(uint160(p.token)) | (uint256(p.stake) << 160);
        uint256 status = uint256(p.deadline) | (uint256(p.maxBatches) << ST_MAX_BATCHES)
            | (uint256(p.batchSize) << ST_BATCH_SIZE) | (p.committee.length << ST_COMMITTEE);
        if (p.higherIsBetter) status |= F_HIGHER;
        if (p.trustSingleOracle) status |= F_SINGLE;
        b.status = status;
        b.scoring = (uint256(p.target) << SC_TARGET) | (uint256(p.tolerance) << SC_TOLERANCE);
        (uint256[4] memory packed, uint8 n) = RewardMath.pack(p.curveX, p.curveY);
        _curves[bountyId] = packed;
        b.fees = uint256(p.oracleFeePerBatch) | (uint256(p.slashMargin) << FE_SLASH_MARGIN)
            | (uint256(p.slashBps) << FE_SLASH_BPS) | (uint256(n) << FE_CURVE_LENGTH);
        b.reward = uint128(reward);
        b.requester = msg.sender;
        b.createdAt = uint64(block.timestamp);
        b.scoringTimeout = p.scoringTimeout;
        b.revealWindow = p.revealWindow;
        b.revealBond = p.revealBond;
        b.validationCommitment = p.validationCommitment;
        _setBond(b, p.token, fees);

        _committees[bountyId] = p.committee;
        if (_seatNamed(bountyId, b, p.committee)) {
            // drawn mode (rule C4): every seat empty, drawn from a later drawing half's recorded seed
            b.status = status | F_DRAWN;
            _armDraw(bountyId, b);
        }

        emit BountyOpened(bountyId, msg.sender, p.token, reward, msg.data[4:]);
        _guard = g;
    }

    /// @dev Trusted mode (rule C4): the members the requester names, each eligible, whose policy
    ///      accepts the bounty (O5), once each, never the requester. Drawn mode (returns true):
    ///      every seat is the zero address (a list mixing both is refused).
    function _seatNamed(uint256 bountyId, Bounty storage b, address[] calldata committee) private returns (bool drawn) {
        IOracleRegistry registry = IOracleRegistry(_registry);
        IOracleRegistry.Terms memory t = _terms(b);
        drawn = committee[0] == address(0);
        for (uint256 i = 0; i < committee.length; ++i) {
            address member = committee[i];
            if (
                drawn
                    ? member != address(0)
                    : member == msg.sender || _members[bountyId][member] != 0 || !registry.isEligible(member)
                        || !registry.accepts(member, t)
            ) revert CommitteeMemberInvalid(member);
            if (!drawn) _members[bountyId][member] = i + 1;
        }
    }

    /// @dev Rule C1: each member locks B = max(minStake / 16, the fee budget if the bounty pays in
    ///      ETH) in the registry when it opts in; one offence (a deviant report, or silence on a
    ///      voided batch) takes B * registry.slashBps / 10000 of it, so a member loses at most B
    ///      to a bounty, whatever its whole stake.
    function _setBond(Bounty storage b, address token, uint256 fees) private {
        IOracleRegistry registry = IOracleRegistry(_registry);
        // slither-disable-next-line divide-before-multiply (both shares round down on purpose: the floor of the bond, then an offence's share of it)
        uint256 bond = registry.minStake() / BOND_FLOOR_DIVISOR;
        if (token == ETH && fees > bond) bond = fees; // fees < 2^96 (_validateParams)
        b.memberBond = uint96(bond);
        b.bondSlash = uint96((bond * registry.slashBps()) / BPS);
    }

    /// @inheritdoc IBountyMarketExtension
    function topUp(uint256 bountyId, uint256 amount) external payable nonReentrant {
        _onlyDelegated();
        _requireNotEnded(bountyId);
        Bounty storage b = _bounties[bountyId];
        // rule C5: a drawn bounty's reward is fixed when it opens, so every draw is re-rolled at
        // the reward it is charged on, and a captured committee cannot be funded later (D, R3-1)
        if (b.status & F_DRAWN != 0) revert DrawnRewardFixed(bountyId);
        uint256 received = _pullFunds(_tokenOf(b.terms), amount, 0);
        uint256 reward = b.reward + received;
        if (reward > type(uint128).max) revert InvalidParameter("amount");
        b.reward = uint128(reward);
        emit BountyFunded(bountyId, msg.sender, received, reward);
    }

    // -------------------------------------------- committee and baseline (once per bounty)

    /// @inheritdoc IBountyMarketExtension
    function joinCommittee(uint256 bountyId) external {
        _requireNotEnded(bountyId);
        uint256 bit = _memberBit(bountyId, msg.sender);
        Bounty storage b = _bounties[bountyId];
        uint256 status = b.status;
        if ((status >> ST_OPTED_IN) & bit != 0) revert AlreadyOptedIn(bountyId, msg.sender);
        // R11: joining while a batch is reportable, it sits that batch out (no commit, no charge)
        uint256 late = _reportableSubmissions(b, status, _u(status, ST_NEXT_BATCH, 32)) != 0 ? bit << ST_LATE : 0;
        b.status = status | (bit << ST_OPTED_IN) | late;
        // reserve the member's balance of the bounty's token: fee credits then rewrite it
        address token = _tokenOf(b.terms);
        if (_claimable[msg.sender][token] == 0) _claimable[msg.sender][token] = KEPT;
        IOracleRegistry registry = IOracleRegistry(_registry);
        if (!registry.accepts(msg.sender, _terms(b))) revert PolicyRefuses(bountyId, msg.sender);
        registry.bond(msg.sender, b.memberBond);
        emit CommitteeJoined(bountyId, msg.sender);
    }

    /// @dev The bounty's terms as the oracles' policies read them (rule O5).
    function _terms(Bounty storage b) private view returns (IOracleRegistry.Terms memory t) {
        uint256 status = b.status;
        t.scoringTimeout = b.scoringTimeout;
        t.duration = _u(status, ST_DEADLINE, 64) - b.createdAt;
        t.feePerBatch = _u(b.fees, FE_FEE, 96);
        t.feeInEth = _tokenOf(b.terms) == ETH;
        t.committeeByBatch = _u(status, ST_COMMITTEE, 8) * _u(status, ST_BATCH_SIZE, 16);
        t.bond = b.memberBond;
    }

    /// @dev Rules C4, O7: the empty seats will be drawn from a seed nobody knows yet, the
    ///      PREVRANDAO recorded (recordSeed) in the seed block of the registry drawing half that
    ///      begins at least DRAW_DELAY blocks on, so that nothing the draw reads can change once it is known. A pending draw whose
    ///      half has not ended keeps its seed (it fills every seat empty when it runs).
    function _armDraw(uint256 bountyId, Bounty storage b) private {
        uint256 p = _drawPeriod;
        uint256 at = b.drawBlock;
        if (at != 0 && block.number < at + p) return;
        // Equivalent to: the least at >= block.number + DRAW_DELAY with at % (2 * p) == p
        // slither-disable-next-line divide-before-multiply (rounds up to a period boundary on purpose: the first block of a drawing half)
        at = ((block.number + DRAW_DELAY + p - 1) / (2 * p)) * (2 * p) + p;
        b.drawBlock = uint32(at);
        emit CommitteeDrawArmed(bountyId, at);
    }

    /// @dev Rule O7: no seat is emptied in a registry drawing half, whose draws' seeds are
    ///      public (an emptied seat would join a draw whose outcome its emptier can compute).
    function _seatsFrozen(uint256 bountyId) private view {
        uint256 p = _drawPeriod;
        // slither-disable-next-line incorrect-equality (the parity of a block period, not a time compared)
        if ((block.number / p) & 1 == 1) revert SeatsFrozen(bountyId, (block.number / p + 1) * p);
    }

    /// @inheritdoc IBountyMarketExtension
    // slither-disable-next-line reentrancy-no-eth (the only external calls are to the immutable oracle registry, whose recordSeed and exclude write only its own storage and call nothing back)
    function vacateSeat(uint256 bountyId, address oracle) external {
        _requireNotEnded(bountyId);
        _seatsFrozen(bountyId);
        Bounty storage b = _bounties[bountyId];
        uint256 status = b.status;
        uint256 seat = _members[bountyId][oracle] & 0xff; // 0 for a stranger or a tombstone
        // rule C6: a drawn seat whose holder has not joined, at once if it cannot serve (not
        // eligible, or its policy now refuses the terms); else only once the join timeout has
        // passed and a whole staking half since the draw (time to top up, finding A), and then
        // only if it holds the free stake for the bond and still did not join: never for want
        // of free stake, which decoy bounties can lock (R3-5), so a vacate cannot buy a re-roll
        IOracleRegistry r = IOracleRegistry(_registry);
        uint256 p = _drawPeriod;
        if (
            status & F_DRAWN == 0 || seat == 0 || (status >> ST_OPTED_IN) & (1 << (seat - 1)) != 0
                || !r.vacatable(
                    oracle,
                    _terms(b),
                    block.timestamp >= uint256(b.drawnAt) + b.scoringTimeout && block.number >= (b.drawnBlock / p + 2) * p
                )
        ) revert SeatNotVacatable(bountyId, oracle);
        _committees[bountyId][seat - 1] = address(0);
        _members[bountyId][oracle] = LEFT_EARLY; // as if it had left: never seated here again
        r.exclude(bountyId, oracle);
        _armDraw(bountyId, b);
        emit SeatVacated(bountyId, oracle);
    }

    /// @dev The bounty is AwaitingBaseline or Open (what _requireNotEnded requires).
    function _live(uint256 bountyId) private view returns (bool) {
        BountyState s = _state(bountyId);
        return s == BountyState.Open || s == BountyState.AwaitingBaseline;
    }

    /// @inheritdoc IBountyMarketExtension
    // slither-disable-next-line reentrancy-no-eth (the only external calls are to the immutable oracle registry, whose recordSeed and exclude write only its own storage and call nothing back)
    function drawCommittee(uint256 bountyId) external {
        Bounty storage b = _bounties[bountyId];
        uint256 at = b.drawBlock;
        if (at == 0 || block.number < at + SEED_OFFSET) revert DrawNotDue(bountyId, at);
        // the seed of the drawing half `at` opens (rule C4): recorded now if this is its seed
        // block at + SEED_OFFSET, else the one recorded there, 0 if nobody did (missed). First,
        // before anything a requester can make revert (review 10, D4: a bounty cancelled in the
        // seed block made the nodes' draw of it revert, and the recording with it, so every
        // draw of the half lapsed uncharged): an ended bounty records the seed and draws nothing
        (uint256 seed, bool over) = IOracleRegistry(_registry).seedFor(at);
        if (!_live(bountyId)) {
            // review 11, Z: and disarms it, saying so: left armed, every node re-sent this no-op
            // draw on every tick for ever
            b.drawBlock = 0;
            emit CommitteeDrawDropped(bountyId, at);
            return;
        }
        address[] storage seats = _committees[bountyId];
        uint256 size = seats.length;
        // skipped: the seated and the requester; the registry excludes (rule C6) those that
        // left or were vacated
        address[] memory exclude = new address[](size + 1);
        uint256 empty = 0;
        for (uint256 i = 0; i < size; ++i) {
            exclude[i] = seats[i];
            if (exclude[i] == address(0)) ++empty;
        }
        if (seed == 0 || over) {
            // lapsed. A missed seed (censored seed block: who censored cannot be told) lapses
            // uncharged, first draw and replacement alike, re-armed for a later half. A seed
            // recorded but not drawn within its half (rule O7): anyone could have drawn, so a
            // lapsed first draw is a failed one (charged, C5): waiting out a public bad outcome
            // is no free re-roll
            if (seed != 0 && empty == size && b.status & F_BASELINE == 0) return _cancel(bountyId, b);
            b.drawBlock = 0; // re-armed even within the half (its seed was missed)
            return _armDraw(bountyId, b);
        }
        b.drawBlock = 0;
        b.drawnAt = uint32(block.timestamp);
        b.drawnBlock = uint32(block.number);
        exclude[size] = b.requester;
        address[] memory drawn = IOracleRegistry(_registry).draw(bountyId, uint256(keccak256(abi.encode(seed, bountyId))), empty, _terms(b), exclude);
        if (drawn.length < empty && empty == size) {
            // the first draw found too few oracles whose policy and free stake take these terms:
            // the bounty ends, charged as a cancel (C5), rather than seat the few who accept them
            _cancel(bountyId, b);
            return;
        }
        uint256 j = 0;
        for (uint256 i = 0; i < size && j < drawn.length; ++i) {
            if (exclude[i] == address(0)) {
                address member = drawn[j++];
                seats[i] = member;
                _members[bountyId][member] = i + 1;
                b.releasedMask &= ~uint16(1 << i); // the seat's last holder may have left early
            }
        }
        emit CommitteeDrawn(bountyId, seats);
        // rule C6: a replacement that found fewer oracles than empty seats (its miss limit) is
        // armed again for the seats still empty, in the next drawing half (finding C)
        if (j < empty) _armDraw(bountyId, b);
    }

    /// @inheritdoc IBountyMarketExtension
    // slither-disable-next-line reentrancy-no-eth (the only external calls are to the immutable oracle registry, whose recordSeed and exclude write only its own storage and call nothing back)
    function leaveCommittee(uint256 bountyId) external {
        BountyState s = _state(bountyId);
        uint256 slot = _members[bountyId][msg.sender];
        uint256 bit = _memberBit(bountyId, msg.sender);
        Bounty storage b = _bounties[bountyId];
        uint256 status = b.status;
        if ((status >> ST_OPTED_IN) & bit == 0 || b.releasedMask & bit != 0) revert NotOptedIn(bountyId, msg.sender);
        if (s < BountyState.Closed) {
            uint256 next = _u(status, ST_NEXT_BATCH, 32);
            if (_reportableSubmissions(b, status, next) != 0) revert CommitteeBusy(bountyId, next);
            // rule C2 (review 11, Z and S): once the bounty has ended with nothing reportable (no
            // submission can come any more), a leave just releases, as after close: the early
            // path would empty the seat and arm a draw on an ended bounty. So _armDraw never
            // arms an ended bounty (its other callers require a live one)
            if (s != BountyState.Settling) _leaveEarly(bountyId, b, status, bit);
        }
        b.releasedMask |= uint16(bit);
        IOracleRegistry(_registry).release(msg.sender, _bondLeft(b.memberBond, b.bondSlash, (slot >> 8) & 0xffffff));
        emit CommitteeLeft(bountyId, msg.sender);
    }

    /// @dev Rule C2: before its end, a member leaves only while no batch is filled and undecided
    ///      (leaveCommittee checks that) (nor its baseline report counted) and the committee stays at MIN_COMMITTEE or more;
    ///      the committee shrinks by one, so every later quorum is of the smaller committee.
    ///      In drawn mode the seat is emptied instead and a new draw armed (rule C4): the
    ///      committee's size, and so every quorum, stays that of the full committee.
    function _leaveEarly(uint256 bountyId, Bounty storage b, uint256 status, uint256 bit) private {
        uint256 size = _u(status, ST_COMMITTEE, 8);
        bool drawn = status & F_DRAWN != 0;
        if (!drawn && (status & F_SINGLE != 0 || size <= MIN_COMMITTEE)) revert CommitteeTooSmall(bountyId, size, MIN_COMMITTEE);
        if (b.baselineMask & bit != 0 && status & F_BASELINE == 0) revert CommitteeBusy(bountyId, type(uint256).max);
        // its standing sit-out (C7) goes with it: the seat's next holder starts on duty
        status &= ~((bit << ST_OPTED_IN) | (bit << ST_LATE));
        b.standingOut &= ~uint16(bit);
        if (drawn) {
            _seatsFrozen(bountyId);
            _committees[bountyId][(_members[bountyId][msg.sender] & 0xff) - 1] = address(0);
            _armDraw(bountyId, b);
        } else {
            status = _set(status, ST_COMMITTEE, 8, size - 1);
        }
        b.status = status;
        // it can neither report nor join again, nor be drawn again for this bounty: its slot
        // keeps only a tombstone (no seat index, so every member check refuses it), and every
        // later draw excludes it (C6)
        _members[bountyId][msg.sender] = LEFT_EARLY;
        if (drawn) IOracleRegistry(_registry).exclude(bountyId, msg.sender);
    }

    /// @inheritdoc IBountyMarketExtension
    function reportBaseline(uint256 bountyId, uint32 score) external {
        _requireState(bountyId, BountyState.AwaitingBaseline);
        // INVALID or UNAVAILABLE (R7a); equivalent to `score > RewardMath.MAX_SCORE`, 3 bytes smaller
        if (~score < 2) revert InvalidScore(score);
        Bounty storage b = _bounties[bountyId];
        uint256 bit = _memberBit(bountyId, msg.sender);
        uint256 status = b.status;
        if ((status >> ST_OPTED_IN) & bit == 0) revert NotOptedIn(bountyId, msg.sender);
        uint256 mask = b.baselineMask;
        if (mask & bit != 0) revert AlreadyReported(bountyId, type(uint256).max, msg.sender);
        mask |= bit;
        b.baselineMask = uint16(mask);
        _baselineReports[bountyId][(_members[bountyId][msg.sender] & 0xff) - 1] = score;
        emit BaselineReported(bountyId, msg.sender, score);
        // slither-disable-next-line incorrect-equality (a count, index, mask or flag from a packed word, not a time or a balance)
        if (_popcount(mask) == _u(status, ST_COMMITTEE, 8)) _setBaseline(bountyId, b, false);
    }

    /// @inheritdoc IBountyMarketExtension
    function discloseKeys(uint256 bountyId, uint256 batch, bytes calldata keys) external {
        BountyState state = _state(bountyId);
        // after close only: a key disclosed earlier would let anyone re-seal an update as its own
        if (state != BountyState.Closed && state != BountyState.Revealed) revert BountyNotInState(bountyId, state, BountyState.Closed);
        _memberBit(bountyId, msg.sender);
        Bounty storage b = _bounties[bountyId];
        uint256 status = b.status;
        if (batch >= _u(status, ST_NEXT_BATCH, 32)) revert BatchNotDecided(bountyId, batch);
        uint256 n = _batchSubmissions(b.intake & LOW32, _u(status, ST_BATCH_SIZE, 16), batch);
        if (keys.length != 32 * n) revert InvalidParameter("keys");
        emit KeysDisclosed(bountyId, batch, msg.sender, keys);
    }

    /// @inheritdoc IBountyMarketExtension
    function settleBaseline(uint256 bountyId) external {
        _requireState(bountyId, BountyState.AwaitingBaseline);
        Bounty storage b = _bounties[bountyId];
        uint256 reports = _popcount(b.baselineMask);
        uint256 needed = _quorum(b.status);
        if (reports < needed || block.timestamp < uint256(b.createdAt) + b.scoringTimeout) {
            revert BaselineNotReady(bountyId, reports, needed);
        }
        if (!_setBaseline(bountyId, b, true)) revert BaselineNotReady(bountyId, reports, needed);
    }

    /// @dev Rule S2: the median of the baseline reports, if more than half of the committee
    ///      reported within the tolerance of it; else nothing is set (`strict`: revert instead
    ///      with NoMajority). Returns whether the baseline was set.
    function _setBaseline(uint256 bountyId, Bounty storage b, bool strict) private returns (bool) {
        uint256 mask = b.baselineMask;
        uint256 status = b.status;
        bool higher = _higher(status);
        uint64[] memory keys = new uint64[](_popcount(mask));
        uint256 j = 0;
        for (uint256 i = 0; i < MAX_COMMITTEE && j < keys.length; ++i) {
            if (mask & (1 << i) != 0) keys[j++] = RewardMath.key(_baselineReports[bountyId][i], higher);
        }
        uint64 med = RewardMath.median(keys);
        uint256 agree = RewardMath.within(keys, med, _u(b.scoring, SC_TOLERANCE, 32));
        if (agree < _quorum(status)) {
            if (strict) revert NoMajority(bountyId, type(uint256).max, agree, _quorum(status));
            return false;
        }
        uint32 score = RewardMath.scoreOf(med, higher);
        uint256 scoring = _set(_set(b.scoring, SC_BASELINE, 32, score), SC_HEAD, 32, score);
        scoring = _stamp(scoring, SC_LAST_SETTLED);
        if (status & F_DRAWN != 0) _claimable[b.requester][ETH] += _drawDeposit(); // rule C5: refunded
        status |= F_BASELINE;
        if (med >= RewardMath.key(uint32(_u(scoring, SC_TARGET, 32)), higher)) {
            status |= F_ENDED;
            scoring = _stamp(scoring, SC_ENDED_AT);
        }
        b.status = status;
        b.scoring = scoring;
        emit BaselineSet(bountyId, score, keys.length);
        return true;
    }

    /// @dev Rule P4: the market's balanceChecked(token), asked of the market itself (under
    ///      delegatecall address(this) is the market, which holds the list in its immutables; only
    ///      createBounty and topUp ask). A failed call counts as checked.
    function _balanceChecked(address token) internal view override returns (bool checked) {
        assembly ("memory-safe") {
            mstore(0, shl(224, 0x124196da)) // balanceChecked(address)
            mstore(4, token)
            let ok := staticcall(gas(), address(), 0, 0x24, 0, 0x20) // before the mload: Yul evaluates right to left
            checked := or(iszero(ok), iszero(iszero(mload(0))))
        }
    }

    /// @dev Takes `amount` from the sender and returns what actually arrived (callers hold the lock).
    ///      `eth` more must come with it in ETH (the draw deposit, rule C5).
    function _pullFunds(address token, uint256 amount, uint256 eth) private returns (uint256 received) {
        if (token == ETH) {
            if (msg.value != amount + eth) revert WrongPayment(amount + eth, msg.value);
            return amount;
        }
        if (msg.value != eth) revert WrongPayment(eth, msg.value);
        if (amount == 0) return 0;
        return _pullToken(token, amount); // what arrived, booked unless listed (rule P4)
    }

    function _validateParams(BountyParams calldata p) private view {
        // bit 95 of a record's stake field marks a one-off submission (ONE_OFF)
        if (p.stake == 0 || p.stake >= ONE_OFF) revert InvalidParameter("stake");
        if (p.batchSize == 0 || p.batchSize > MAX_BATCH_SIZE) revert InvalidParameter("batchSize");
        // submission ids are uint32
        if (p.maxBatches == 0 || uint256(p.maxBatches) * p.batchSize > type(uint32).max) revert InvalidParameter("maxBatches");
        // the fees paid so far are kept in 96 bits: the whole budget must fit
        if (uint256(p.oracleFeePerBatch) * p.maxBatches > type(uint96).max) revert InvalidParameter("oracleFeePerBatch");
        if (p.slashBps > BPS) revert InvalidParameter("slashBps");
        if (p.scoringTimeout < MIN_SCORING_TIMEOUT || p.scoringTimeout > MAX_SCORING_TIMEOUT) {
            revert InvalidParameter("scoringTimeout");
        }
        if (p.deadline <= block.timestamp || p.deadline > block.timestamp + MAX_DURATION) revert InvalidParameter("deadline");
        // INVALID or UNAVAILABLE (R7a): `p.target > RewardMath.MAX_SCORE`
        if (~p.target < 2) revert InvalidParameter("target");
        if (p.reward > type(uint128).max) revert InvalidParameter("reward");
        uint256 size = p.committee.length;
        // one drawn seat never decides alone (a requester would re-roll until its own oracle sits)
        if (p.trustSingleOracle ? size != 1 || p.committee[0] == address(0) : (size < MIN_COMMITTEE || size > MAX_COMMITTEE)) revert InvalidParameter("committee");
        // the worst settlement grows with committee x batch: this bound keeps it within 2^24 gas
        if (size * p.batchSize > MAX_COMMITTEE_BY_BATCH) revert InvalidParameter("batchSize");
        _checkCid(p.initialModel);
        _checkCid(p.keyring);
    }

    // ------------------------------------------------------------ the requester's other actions

    /// @inheritdoc IBountyMarketExtension
    function setKeyring(uint256 bountyId, Cid calldata keyring) external onlyRequester(bountyId) {
        _checkCid(keyring);
        emit KeyringSet(bountyId, keyring);
    }

    /// @inheritdoc IBountyMarketExtension
    function setInitialModel(uint256 bountyId, Cid calldata model) external onlyRequester(bountyId) {
        _requireState(bountyId, BountyState.AwaitingBaseline);
        if (_bounties[bountyId].baselineMask != 0) revert BountyNotInState(bountyId, BountyState.Open, BountyState.AwaitingBaseline);
        _checkCid(model);
        emit InitialModelSet(bountyId, model);
    }

    /// @inheritdoc IBountyMarketExtension
    function cancel(uint256 bountyId) external onlyRequester(bountyId) {
        _requireNotEnded(bountyId);
        _cancel(bountyId, _bounties[bountyId]);
    }

    /// @dev Rule E1, and rule C5: a drawn-committee bounty that ends before its baseline burns
    ///      CANCEL_BURN_BPS of its reward. Burned, not paid to the members who joined: the
    ///      requester's own oracles may be among them, so paying them would refund part of it.
    function _cancel(uint256 bountyId, Bounty storage b) private {
        uint256 status = b.status;
        b.status = status | F_CANCELLED | F_ENDED;
        b.scoring = _stamp(b.scoring, SC_ENDED_AT);
        emit BountyCancelled(bountyId);
        if (status & F_DRAWN != 0 && status & F_BASELINE == 0) _charge(bountyId, b);
    }

    /// @dev Rule C5: a drawn bounty that ends without a baseline (cancelled, its first draw
    ///      failed or lapsed, or its deadline reached) burns CANCEL_BURN_BPS of its reward and
    ///      the whole ETH draw deposit, so that no re-roll of the draw is free, even at reward 0.
    function _charge(uint256 bountyId, Bounty storage b) private {
        uint256 burned = (uint256(b.reward) * CANCEL_BURN_BPS) / BPS;
        b.reward -= uint128(burned); // nothing is paid before the baseline
        _pendingBurn[_tokenOf(b.terms)] += burned;
        _pendingBurn[ETH] += _drawDeposit();
        emit CancelCharged(bountyId, burned);
    }

    /// @dev Rule C5: the ETH a drawn bounty's requester deposits with createBounty.
    function _drawDeposit() private view returns (uint256) {
        return IOracleRegistry(_registry).minStake() / BOND_FLOOR_DIVISOR;
    }

    /// @inheritdoc IBountyMarketExtension
    function close(uint256 bountyId) public {
        _requireState(bountyId, BountyState.Settling);
        Bounty storage b = _bounties[bountyId];
        uint256 batches = _batchCount(b);
        uint256 status = b.status;
        uint256 nextBatch = _u(status, ST_NEXT_BATCH, 32);
        if (nextBatch < batches) revert BatchesPending(bountyId, nextBatch, batches);
        b.closedAt = uint64(block.timestamp);
        // rule C5: a drawn bounty whose deadline came before its baseline is charged as a cancel
        if (status & (F_DRAWN | F_BASELINE | F_CANCELLED) == F_DRAWN) _charge(bountyId, b);
        uint256 scoring = b.scoring;
        // slither-disable-next-line incorrect-equality (endedAt == 0 means "not ended by cancel or target", not a balance)
        if (_u(scoring, SC_ENDED_AT, 64) == 0) b.scoring = _set(scoring, SC_ENDED_AT, 64, _endTime(b));
        uint256 fees = b.fees;
        uint256 rewardRefund = uint256(b.reward) - b.paid;
        uint256 feeRefund = _u(fees, FE_FEE, 96) * _u(status, ST_MAX_BATCHES, 32) - _u(fees, FE_PAID, 96);
        _claimable[b.requester][_tokenOf(b.terms)] += rewardRefund + feeRefund;
        emit BountyClosed(bountyId, rewardRefund, feeRefund);
    }

    /// @inheritdoc IBountyMarketExtension
    function reveal(uint256 bountyId, Cid calldata validationCid, bytes32 validationKey, bytes32 salt, bytes32 modelKey)
        external
        onlyRequester(bountyId)
    {
        BountyState s = _state(bountyId);
        if (s == BountyState.Settling) close(bountyId);
        else if (s != BountyState.Closed) revert BountyNotInState(bountyId, s, BountyState.Closed);
        Bounty storage b = _bounties[bountyId];
        if (keccak256(abi.encode(validationCid, validationKey, salt)) != b.validationCommitment) {
            revert CommitmentMismatch(bountyId);
        }
        b.revealed = true;
        if (!b.bondSettled) {
            b.bondSettled = true;
            _claimable[b.requester][_tokenOf(b.terms)] += b.revealBond;
        }
        emit ValidationRevealed(bountyId, validationCid, validationKey, salt, modelKey);
    }

    /// @inheritdoc IBountyMarketExtension
    function forfeitBond(uint256 bountyId) external {
        _requireState(bountyId, BountyState.Closed);
        Bounty storage b = _bounties[bountyId];
        uint256 closesAt = uint256(b.closedAt) + b.revealWindow;
        if (block.timestamp <= closesAt) revert RevealWindowOpen(bountyId, closesAt);
        if (b.bondSettled) revert BondAlreadySettled(bountyId);
        b.bondSettled = true;
        uint256 versions = _u(b.status, ST_VERSIONS, 32);
        // slither-disable-next-line incorrect-equality (a count, index, mask or flag from a packed word, not a time or a balance)
        uint256 share = versions == 0 ? 0 : b.revealBond / versions;
        // slither-disable-next-line divide-before-multiply (equal shares round down; the dust is burned)
        uint256 burned = b.revealBond - share * versions; // all of it when nobody was accepted
        _bondShares[bountyId] = share;
        _pendingBurn[_tokenOf(b.terms)] += burned;
        emit BondForfeited(bountyId, share, burned);
    }

    /// @inheritdoc IBountyMarketExtension
    function claimBondShare(uint256 bountyId, uint256 version) external {
        address author = _versionAuthors[bountyId][version];
        uint256 share = _bondShares[bountyId];
        // slither-disable-next-line incorrect-equality (a count, index, mask or flag from a packed word, not a time or a balance)
        if (author == address(0) || share == 0) revert NoBondShare(bountyId, version);
        delete _versionAuthors[bountyId][version]; // once per version
        _claimable[author][_tokenOf(_bounties[bountyId].terms)] += share;
    }

    /// @inheritdoc IBountyMarketExtension
    function getBounty(uint256 bountyId) external view returns (BountyView memory v) {
        _state(bountyId); // reverts for unknown ids
        Bounty storage b = _bounties[bountyId];
        uint256 terms = b.terms;
        uint256 status = b.status;
        uint256 scoring = b.scoring;
        uint256 fees = b.fees;
        v.requester = b.requester;
        v.token = _tokenOf(terms);
        v.reward = b.reward;
        v.paid = b.paid;
        v.stake = uint96(terms >> 160);
        v.oracleFeePerBatch = uint96(_u(fees, FE_FEE, 96));
        v.maxBatches = uint32(_u(status, ST_MAX_BATCHES, 32));
        v.revealBond = b.revealBond;
        v.slashBps = uint16(_u(fees, FE_SLASH_BPS, 16));
        v.batchSize = uint16(_u(status, ST_BATCH_SIZE, 16));
        v.scoringTimeout = b.scoringTimeout;
        v.deadline = uint64(_u(status, ST_DEADLINE, 64));
        v.revealWindow = b.revealWindow;
        v.higherIsBetter = status & F_HIGHER != 0;
        v.trustSingleOracle = status & F_SINGLE != 0;
        v.cancelled = status & F_CANCELLED != 0;
        v.baselineSet = status & F_BASELINE != 0;
        v.revealed = b.revealed;
        v.target = uint32(_u(scoring, SC_TARGET, 32));
        v.slashMargin = uint32(_u(fees, FE_SLASH_MARGIN, 32));
        v.tolerance = uint32(_u(scoring, SC_TOLERANCE, 32));
        v.baselineScore = uint32(_u(scoring, SC_BASELINE, 32));
        v.headScore = uint32(_u(scoring, SC_HEAD, 32));
        v.versionCount = uint32(_u(status, ST_VERSIONS, 32));
        v.submissionCount = uint32(b.intake & LOW32);
        v.nextBatch = uint32(_u(status, ST_NEXT_BATCH, 32));
        v.endedAt = _ended(status) ? uint64(_endTime(b)) : 0;
        v.closedAt = b.closedAt;
        v.feesPaid = _u(fees, FE_PAID, 96);
        v.validationCommitment = b.validationCommitment;
        v.trustedCommittee = status & F_DRAWN == 0;
        v.drawBlock = b.drawBlock;
    }

    /// @inheritdoc IBountyMarketExtension
    function getCommittee(uint256 bountyId)
        external
        view
        returns (address[] memory members, uint256 optedInMask, uint256 baselineMask)
    {
        _state(bountyId);
        Bounty storage b = _bounties[bountyId];
        return (_committees[bountyId], _u(b.status, ST_OPTED_IN, 16), b.baselineMask);
    }

    /// @inheritdoc IBountyMarketExtension
    function getCurve(uint256 bountyId) external view returns (uint64[] memory xs, uint64[] memory ys) {
        _state(bountyId);
        uint256 n = _u(_bounties[bountyId].fees, FE_CURVE_LENGTH, 8);
        uint256[4] memory packed = _curves[bountyId];
        xs = new uint64[](n);
        ys = new uint64[](n);
        for (uint256 i = 0; i < n; ++i) {
            (uint256 x, uint256 y) = RewardMath.point(packed, i);
            xs[i] = uint64(x);
            ys[i] = uint64(y);
        }
    }

    /// @inheritdoc IBountyMarketExtension
    function getBatch(uint256 bountyId, uint256 batch)
        external
        view
        returns (bytes32 recordsHash, uint64 filledAt, uint16 reportedMask, bool decided, uint256 submissions, uint256 timeoutAt)
    {
        _state(bountyId);
        Bounty storage b = _bounties[bountyId];
        uint256 status = b.status;
        // a batch past maxBatches never exists: all zero (and no product below can overflow)
        if (batch >= _u(status, ST_MAX_BATCHES, 32)) return (bytes32(0), 0, 0, false, 0, 0);
        uint256 batchSize = _u(status, ST_BATCH_SIZE, 16);
        uint256 nextBatch = _u(status, ST_NEXT_BATCH, 32);
        submissions = _batchSubmissions(b.intake & LOW32, batchSize, batch);
        decided = batch < nextBatch;
        recordsHash = _recordsHash(bountyId, b, batch);
        // slither-disable-next-line incorrect-equality (a count, index, mask or flag from a packed word, not a time or a balance)
        if (!decided && submissions == batchSize) filledAt = uint64(_filledAt(_fullBatchHash(bountyId, b, status, batch)));
        // slither-disable-next-line incorrect-equality (a count, index, mask or flag from a packed word, not a time or a balance)
        if (batch == nextBatch) reportedMask = uint16(_u(status, ST_REPORTED, 16));
        uint256 n = _reportableSubmissions(b, status, batch);
        if (n != 0) timeoutAt = _timeoutAt(bountyId, b, batch, n);
    }

    /// @inheritdoc IBountyMarketExtension
    function reportHash(uint256 bountyId, uint256 batch, uint256 memberIndex) external view returns (bytes32) {
        Bounty storage b = _bounties[bountyId];
        uint256 status = b.status;
        if (batch != _u(status, ST_NEXT_BATCH, 32) || memberIndex >= MAX_COMMITTEE) return bytes32(0);
        if ((status >> ST_REPORTED) & (1 << memberIndex) == 0) return bytes32(0);
        return bytes32(_members[bountyId][_committees[bountyId][memberIndex]] & HASH_MASK);
    }

    /// @inheritdoc IBountyMarketExtension
    function versionAuthor(uint256 bountyId, uint256 version) external view returns (address) {
        return _versionAuthors[bountyId][version];
    }

    /// @inheritdoc IBountyMarketExtension
    function payoutRoot(uint256 bountyId, uint256 batch, uint256 group) external view returns (bytes32 root, uint32 claimed) {
        if (group > 7) revert InvalidParameter("group"); // a batch holds at most 256 submissions
        uint256 word = _payouts[bountyId][(batch << 3) | group];
        return (bytes32(word & HASH_MASK), uint32(word));
    }

    /// @inheritdoc IBountyMarketExtension
    function memberBond(uint256 bountyId) external view returns (uint256 bond, uint256 perOffence) {
        _state(bountyId);
        Bounty storage b = _bounties[bountyId];
        return (b.memberBond, b.bondSlash);
    }

    /// @inheritdoc IBountyMarketExtension
    function bondShare(uint256 bountyId) external view returns (uint256) {
        return _bondShares[bountyId];
    }

    // -------------------------------------------- the guardian (rule A2) and small getters

    /// @inheritdoc IBountyMarketExtension
    function pause() external {
        uint256 g = _guardianOnly();
        if (g & GUARD_PAUSED != 0) revert EnforcedPause();
        _guard = g | GUARD_PAUSED;
        emit Paused(msg.sender);
    }

    /// @inheritdoc IBountyMarketExtension
    function unpause() external {
        uint256 g = _guardianOnly();
        if (g & GUARD_PAUSED == 0) revert ExpectedPause();
        _guard = g & ~GUARD_PAUSED;
        emit Unpaused(msg.sender);
    }

    function _guardianOnly() private view returns (uint256 g) {
        g = _guard;
        if (msg.sender != address(uint160(g))) revert NotGuardian(msg.sender);
        if (g & GUARD_LOCKED != 0) revert ReentrancyGuardReentrantCall();
    }

    /// @inheritdoc IBountyMarketExtension
    function paused() external view returns (bool) {
        return _guard & GUARD_PAUSED != 0;
    }

    /// @inheritdoc IBountyMarketExtension
    function guardian() external view returns (address) {
        return address(uint160(_guard));
    }

    /// @inheritdoc IBountyMarketExtension
    function bountyCount() external view returns (uint256) {
        return _bountyCount;
    }

    /// @inheritdoc IBountyMarketExtension
    function state(uint256 bountyId) external view returns (BountyState) {
        return _state(bountyId);
    }

    /// @inheritdoc IBountyMarketExtension
    function claimable(address account, address token) external view returns (uint256) {
        return _claimable[account][token] & ~KEPT;
    }

    /// @inheritdoc IBountyMarketExtension
    function pendingBurn(address token) external view returns (uint256) {
        return _pendingBurn[token];
    }
}

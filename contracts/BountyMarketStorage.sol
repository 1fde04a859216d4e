// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {IBountyMarketErrors} from "../interfaces/IBountyMarket.sol";
import {RewardMath} from "./libraries/RewardMath.sol";

/// @title BountyMarketStorage
/// @notice The market's state and the read-only helpers that derive from it, shared by
///         BountyMarket and BountyMarketExtension. It must stay the first base of both, so
///         that its variables take the same slots in each (the extension runs by delegatecall).
/// @dev Gas layout. The words a submission, a report and a settlement touch are packed
///      by hand (one SLOAD each, decoded with the helpers below) and grouped by who
///      touches them:
///        intake  written by every submission: the open batch's rolling records hash
///                (its top 224 bits) and the submission count (low 32 bits);
///        terms   read by every submission: token (low 160 bits) and stake (top 96);
///        status  read by submissions and reports; written by reports (reporter mask),
///                settlement, opt-in, baseline and cancel;
///        scoring and fees  read and written by settlement;
///        ready   the records hash (and fill time) of a batch that filled while it was the
///                next to decide, the usual case; a batch that fills while an earlier one is
///                pending (F_SPILLED) keeps its hash in _batchHashes instead.
///      Words every batch reuses (intake, ready) are made non-zero when the bounty opens, so
///      no submission or settlement pays for creating them.
///      Everything else is cold and uses ordinary typed fields.
abstract contract BountyMarketStorage is IBountyMarketErrors {
    /// @dev Names this layout. BountyMarket's constructor refuses an extension that reports
    ///      another (BountyMarketExtension.extensionFor): the extension is deployed on its own,
    ///      and runs on the market's storage by delegatecall, so both must be built from this
    ///      file. Change it with any change to the variables below or to their packing
    ///      (tests/python/test_storage_layout.py pins it to the compiled layout).
    bytes32 internal constant STORAGE_LAYOUT = keccak256("fathom.BountyMarketStorage.1");

    struct Bounty {
        uint256 intake; // recordsHash(224) | submissionCount(32)
        uint256 terms; // stake(96) | token(160)
        uint256 status; // see the ST_* constants
        uint256 scoring; // tolerance | baselineScore | target | headScore | endedAt(64) | lastSettledAt(64)
        uint256 fees; // curveLength(8) | slashBps(16) | slashMargin(32) | feesPaid(96) | oracleFeePerBatch(96)
        uint256 ready; // records hash (224) | filledAt mod 2^32 of the next batch to decide, if it filled as such
        uint128 reward;
        uint128 paid;
        address requester;
        uint64 createdAt;
        uint32 scoringTimeout;
        uint64 closedAt;
        uint32 revealWindow;
        uint96 revealBond;
        uint16 baselineMask;
        uint16 releasedMask;
        bool revealed;
        bool bondSettled;
        uint16 standingOut; // rule C7: members with a standing sit-out (the last 16 bits of this slot: no new storage)
        bytes32 validationCommitment;
        uint96 memberBond; // what each member locks in the registry when it opts in (rule C1)
        uint96 bondSlash; // what one offence takes from that bond (rule C3)
        uint32 drawBlock; // drawn mode: the first block of the drawing half whose recorded PREVRANDAO seeds the pending draw (0: none; rule C4)
        uint32 drawnAt; // drawn mode: when a draw last seated someone (mod 2^32; rule C6's join timeout)
        uint32 drawnBlock; // drawn mode: the block of that draw (rule C6: a whole staking half to top up after it)
        uint32 retried; // rule R7b: batch + 1 of the last batch given a second round (beside drawnBlock: no new slot; read only on rare paths)
    }

    uint256 internal constant BPS = 10_000;
    /// @dev Bytes per packed submission record: contributor(20) stake(12) baseVersion(4)
    ///      digest(32) codec(1), the tail of its records-hash link.
    uint256 internal constant PACKED = 69;
    uint256 internal constant MAX_COMMITTEE = 16;
    uint256 internal constant MAX_BATCH_SIZE = 256;
    /// @dev The least committee (B3): a member may leave early only while it stays this large.
    uint256 internal constant MIN_COMMITTEE = 3;
    /// @dev Bounds of the scoring timeout (B4): the floor covers what an honest member needs
    ///      (3 confirmations, fetching a batch under one deadline, scoring, inclusion); the
    ///      ceiling keeps a bond from being held by a batch for longer than a week.
    uint256 internal constant MIN_SCORING_TIMEOUT = 10 minutes;
    uint256 internal constant MAX_SCORING_TIMEOUT = 7 days;
    /// @dev The deadline is at most a year after creation (B4): members are bonded until close.
    uint256 internal constant MAX_DURATION = 365 days;
    /// @dev The last 1/REVEAL_SHARE of a batch's scoring timeout is its reveal phase (R11).
    uint256 internal constant REVEAL_SHARE = 4;
    /// @dev The bond floor is the registry's minimum stake over this (rule C1), so a member at
    ///      the minimum stake can serve this many bounties at once.
    uint256 internal constant BOND_FLOOR_DIVISOR = 16;
    /// @dev Rule G1: an update based more than this many versions behind the head at settlement
    ///      is stale: refunded, never merged nor slashed (fathom.ml.aggregate.MAX_LAG).
    uint256 internal constant MAX_LAG = 2;
    /// @dev Rule C4: empty seats are drawn from the hash of the block this many blocks after the
    ///      one that armed the draw, which nobody knows when it is armed.
    uint256 internal constant DRAW_DELAY = 5;
    /// @dev Rule C5: share of the reward a drawn-committee bounty burns if cancelled before its
    ///      baseline (or if its first draw fails), so that re-rolling the draw is never free.
    uint256 internal constant CANCEL_BURN_BPS = 500;
    /// @dev A member slot's tombstone once its holder left before close (C2): no seat index.
    uint256 internal constant LEFT_EARLY = 1 << 255;
    /// @dev committee size x batch size (B4): keeps the worst settlement within 2^24 gas.
    uint256 internal constant MAX_COMMITTEE_BY_BATCH = 2048;
    address internal constant ETH = address(0);
    address internal constant BURN_ADDRESS = 0x000000000000000000000000000000000000dEaD;
    uint8 internal constant CODEC_RAW = 0x55;
    uint8 internal constant CODEC_DAG_PB = 0x70;

    /// @dev Rolling hashes (records and reports) keep their top 224 bits; the low 32 bits of
    ///      the word that stores one hold something else (a count, a time, an index).
    uint256 internal constant HASH_MASK = ~uint256(type(uint32).max);
    /// @dev Where each batch's rolling records hash starts (rule U4): the smallest non-zero
    ///      hash word, so that the intake word is never zero.
    uint256 internal constant RECORDS_SEED = 1 << 32;
    uint256 internal constant LOW32 = type(uint32).max;

    // status word: bit offsets
    uint256 internal constant ST_DEADLINE = 0; // uint64
    uint256 internal constant ST_NEXT_BATCH = 64; // uint32: the batch to decide next
    uint256 internal constant ST_VERSIONS = 96; // uint32: versionCount (the head version)
    uint256 internal constant ST_MAX_BATCHES = 128; // uint32
    uint256 internal constant ST_BATCH_SIZE = 160; // uint16
    uint256 internal constant ST_OPTED_IN = 176; // uint16 mask
    uint256 internal constant ST_REPORTED = 192; // uint16 mask: who reported batch nextBatch
    uint256 internal constant ST_COMMITTEE = 208; // uint8: committee size
    uint256 internal constant F_BASELINE = 1 << 216; // baseline set
    uint256 internal constant F_ENDED = 1 << 217; // cancelled or target reached (the deadline is checked apart)
    uint256 internal constant F_HIGHER = 1 << 218; // higher is better
    uint256 internal constant F_SINGLE = 1 << 219; // trusts a single oracle
    uint256 internal constant F_CANCELLED = 1 << 220;
    uint256 internal constant F_SPILLED = 1 << 221; // batch nextBatch filled while an earlier one was pending
    uint256 internal constant ST_COMMITTED = 222; // uint16 mask (bits 222-237): who committed to a report of batch nextBatch (R11)
    uint256 internal constant F_DRAWN = 1 << 238; // the committee is drawn from the registry (rule C4)
    uint256 internal constant ST_LATE = 239; // uint16 mask (bits 239-254): who sits batch nextBatch out: opted in while it was reportable (R11), abstained (R12), or a standing sit-out (C7)
    uint256 internal constant F_STANDING = 1 << 255; // some member holds a standing sit-out (C7): settlement reads standingOut only then

    // scoring word: bit offsets
    uint256 internal constant SC_LAST_SETTLED = 0; // uint64: when the last batch (or the baseline) was decided
    uint256 internal constant SC_ENDED_AT = 64; // uint64: when it ended by cancel or target (0 otherwise)
    uint256 internal constant SC_HEAD = 128; // uint32 score
    uint256 internal constant SC_TARGET = 160; // uint32 score
    uint256 internal constant SC_BASELINE = 192; // uint32 score
    uint256 internal constant SC_TOLERANCE = 224; // uint32 score units

    // fees word: bit offsets
    uint256 internal constant FE_FEE = 0; // uint96 oracleFeePerBatch
    uint256 internal constant FE_PAID = 96; // uint96 feesPaid
    uint256 internal constant FE_SLASH_MARGIN = 192; // uint32
    uint256 internal constant FE_SLASH_BPS = 224; // uint16
    uint256 internal constant FE_CURVE_LENGTH = 240; // uint8

    /// @dev guardian (low 160 bits) | paused (bit 160) | locked (bit 161): one slot, so that a
    ///      submission checks the pause and takes the reentrancy lock with one cold access.
    uint256 internal _guard;
    uint256 internal constant GUARD_PAUSED = 1 << 160;
    uint256 internal constant GUARD_LOCKED = 1 << 161;

    /// @dev Bounties opened so far; ids run from 1.
    // slither-disable-next-line uninitialized-state (written by BountyMarket; the extension reads it through delegatecall)
    uint256 internal _bountyCount;

    mapping(uint256 bountyId => Bounty) internal _bounties;
    // slither-disable-next-line uninitialized-state (written by BountyMarket; the extension reads it through delegatecall)
    mapping(uint256 bountyId => address[]) internal _committees;
    /// @dev Per committee member: its index + 1 (low 8 bits) and the hash of its last batch
    ///      report (top 224 bits; see _reportDigest), valid while its bit is set in the
    ///      status word's reporter mask; before it reveals, its commitment to the report of
    ///      the batch (_commitment, R11), which the reveal replaces. A report rewrites a slot that opt-in already made
    ///      non-zero, and settlement reads the hash next to the index it needs anyway.
    // slither-disable-next-line uninitialized-state (written by BountyMarket; the extension reads it through delegatecall)
    mapping(uint256 bountyId => mapping(address oracle => uint256)) internal _members;
    // slither-disable-next-line uninitialized-state (written by BountyMarket; the extension reads it through delegatecall)
    mapping(uint256 bountyId => uint256[4]) internal _curves;
    mapping(uint256 bountyId => mapping(uint256 member => uint32)) internal _baselineReports;
    /// @dev The records hash (top 224 bits) and fill time (low 32 bits, the timestamp mod 2^32)
    ///      of a batch that filled while an earlier batch was still pending; freed when it is
    ///      decided. Other full batches use the bounty's ready word, the open one its intake.
    // slither-disable-next-line uninitialized-state (written by BountyMarket; the extension reads it through delegatecall)
    mapping(uint256 bountyId => mapping(uint256 batch => uint256)) internal _batchHashes;
    /// @dev What each account may claim of each token (low 255 bits), and KEPT: a flag that
    ///      opt-in sets on a committee member's balance of the bounty's token and that stakes
    ///      from the balance leave behind, so that crediting fees, returned stakes and rewards
    ///      rewrites the slot instead of creating it. A claim clears the slot: the refund for
    ///      it goes to the claimer, and the next credit creates it again.
    mapping(address account => mapping(address token => uint256)) internal _claimable;
    uint256 internal constant KEPT = 1 << 255;
    mapping(address token => uint256) internal _pendingBurn;
    mapping(uint256 bountyId => mapping(uint256 version => address)) internal _versionAuthors;
    mapping(uint256 bountyId => uint256) internal _bondShares;
    /// @dev One-off payouts (rule P3): per batch and group of 32 submissions (key
    ///      batch * 8 + index / 32), the top 224 bits of the Merkle root of what settlement owes
    ///      the group's one-off submissions, and which of them were claimed (bit index % 32).
    ///      Settlement writes one word per group instead of a claimable slot per contributor.
    // slither-disable-next-line uninitialized-state (written by BountyMarket; the extension reads it through delegatecall)
    mapping(uint256 bountyId => mapping(uint256 group => uint256)) internal _payouts;
    /// @dev Bit 95 of a record's 96-bit stake field: the submission came through
    ///      submitUpdateOnce, so settlement owes its payout to the group's root, not to the
    ///      contributor's claimable balance. A stake is below 2^95 (createBounty checks it).
    uint256 internal constant ONE_OFF = 1 << 95;
    uint256 internal constant STAKE_MASK = ONE_OFF - 1;
    /// @dev Rule P4, per ERC-20 (never ETH, which cannot fall without a transfer): what the market
    ///      owes in it (low bits: every escrow, fee budget, reveal bond, stake, claimable balance,
    ///      unclaimed one-off payout and pending burn), and WRITTEN_DOWN once its loss is shared
    ///      pro rata. Money only moves between those inside the market, so the sum changes only
    ///      when the token crosses the market's boundary: createBounty and topUp, a stake by
    ///      transfer, and a payout (claims and burn). Nothing per submission from a balance.
    // slither-disable-next-line uninitialized-state (written by both through _pullToken; BountyMarket debits it)
    mapping(address token => uint256) internal _books;
    uint256 internal constant WRITTEN_DOWN = 1 << 255;
    /// @dev Set while a pro-rata payout of the token is in flight (review 13, A2): its debt is
    ///      booked but its transfer has not moved the balance yet, so `held / owed` reads too high
    ///      to a token hook; every payout and transfer in of the token is refused meanwhile.
    uint256 internal constant PAYING = 1 << 254;

    // ------------------------------------------------------------ packed words

    function _u(uint256 word, uint256 offset, uint256 bits) internal pure returns (uint256) {
        return (word >> offset) & ((1 << bits) - 1);
    }

    /// @dev `word` with the `bits`-wide field at `offset` replaced by `value` (which must fit).
    function _set(uint256 word, uint256 offset, uint256 bits, uint256 value) internal pure returns (uint256) {
        return (word & ~(((1 << bits) - 1) << offset)) | (value << offset);
    }

    /// @dev `word` with the 64-bit time field at `offset` set to now (timestamps are written
    ///      only here, so that no other field is mistaken for one).
    function _stamp(uint256 word, uint256 offset) internal view returns (uint256) {
        return (word & ~(uint256(type(uint64).max) << offset)) | (block.timestamp << offset);
    }

    function _tokenOf(uint256 terms) internal pure returns (address) {
        return address(uint160(terms));
    }

    function _higher(uint256 status) internal pure returns (bool) {
        return status & F_HIGHER != 0;
    }

    // ------------------------------------------------------------------ state

    /// @dev The lifecycle, derived (see IBountyMarketTypes.BountyState).
    function _state(uint256 bountyId) internal view returns (BountyState) {
        if (bountyId == 0 || bountyId > _bountyCount) revert BountyNotFound(bountyId);
        Bounty storage b = _bounties[bountyId];
        if (b.revealed) return BountyState.Revealed;
        if (b.closedAt != 0) return BountyState.Closed;
        uint256 status = b.status;
        if (_ended(status)) return BountyState.Settling;
        return status & F_BASELINE != 0 ? BountyState.Open : BountyState.AwaitingBaseline;
    }

    /// @dev More than half of the committee (rule R4): floor(size / 2) + 1 (1 for a trusted
    ///      single oracle).
    function _quorum(uint256 status) internal pure returns (uint256) {
        return _u(status, ST_COMMITTEE, 8) / 2 + 1;
    }

    /// @dev What is left of a member's bond for this bounty after `offences` slashes of
    ///      `bondSlash` each (the last one takes only the rest).
    function _bondLeft(uint256 bond, uint256 bondSlash, uint256 offences) internal pure returns (uint256) {
        uint256 spent = offences * bondSlash;
        return spent >= bond ? 0 : bond - spent;
    }

    /// @dev Cancelled, target reached (both set F_ENDED), or past the deadline.
    function _ended(uint256 status) internal view returns (bool) {
        return status & F_ENDED != 0 || block.timestamp >= _u(status, ST_DEADLINE, 64);
    }

    /// @dev When the bounty stopped taking submissions (for the last, partial batch).
    function _endTime(Bounty storage b) internal view returns (uint256) {
        uint256 endedAt = _u(b.scoring, SC_ENDED_AT, 64);
        if (endedAt != 0) return endedAt;
        return _u(b.status, ST_DEADLINE, 64); // ended by its deadline
    }

    function _batchCount(Bounty storage b) internal view returns (uint256) {
        uint256 batchSize = _u(b.status, ST_BATCH_SIZE, 16);
        return ((b.intake & LOW32) + batchSize - 1) / batchSize;
    }

    function _batchSubmissions(uint256 count, uint256 batchSize, uint256 batch) internal pure returns (uint256) {
        uint256 first = batch * batchSize;
        if (count <= first) return 0;
        uint256 n = count - first;
        return n > batchSize ? batchSize : n;
    }

    /// @dev Batches are scored in order: the next undecided one, once full or once the bounty
    ///      ended. Returns its number of submissions, 0 if it is not reportable.
    function _reportableSubmissions(Bounty storage b, uint256 status, uint256 batch) internal view returns (uint256 n) {
        if (batch != _u(status, ST_NEXT_BATCH, 32)) return 0;
        uint256 batchSize = _u(status, ST_BATCH_SIZE, 16);
        n = _batchSubmissions(b.intake & LOW32, batchSize, batch);
        if (n != batchSize && !_ended(status)) return 0;
    }

    /// @dev A full batch: when it filled (stored mod 2^32; exact for 136 years after it filled).
    function _filledAt(uint256 batchHash) internal view returns (uint256) {
        unchecked {
            return block.timestamp - uint32(uint32(block.timestamp) - uint32(batchHash));
        }
    }

    /// @dev The reportable batch may be settled with a partial quorum (or voided) from here:
    ///      the later of when it filled (or the bounty ended) and when its predecessor was decided.
    function _timeoutAt(uint256 bountyId, Bounty storage b, uint256 batch, uint256 n) internal view returns (uint256) {
        // slither-disable-next-line incorrect-equality (a count, index, mask or flag from a packed word, not a time or a balance)
        uint256 since = n == _u(b.status, ST_BATCH_SIZE, 16) ? _filledAt(_fullBatchHash(bountyId, b, b.status, batch)) : _endTime(b);
        uint256 last = _u(b.scoring, SC_LAST_SETTLED, 64);
        if (last > since) since = last;
        return since + b.scoringTimeout;
    }

    /// @dev The word holding an undecided full batch's records hash and fill time: the ready
    ///      word for the next batch to decide unless it spilled, else its own slot.
    function _fullBatchHash(uint256 bountyId, Bounty storage b, uint256 status, uint256 batch) internal view returns (uint256) {
        // slither-disable-next-line incorrect-equality (a count, index, mask or flag from a packed word, not a time or a balance)
        if (batch == _u(status, ST_NEXT_BATCH, 32) && status & F_SPILLED == 0) return b.ready;
        return _batchHashes[bountyId][batch];
    }

    /// @dev The records hash a batch's records must match (zero once decided or while empty).
    function _recordsHash(uint256 bountyId, Bounty storage b, uint256 batch) internal view returns (bytes32) {
        uint256 status = b.status;
        if (batch < _u(status, ST_NEXT_BATCH, 32)) return bytes32(0);
        uint256 count = b.intake & LOW32;
        uint256 batchSize = _u(status, ST_BATCH_SIZE, 16);
        if (count >= (batch + 1) * batchSize) return bytes32(_fullBatchHash(bountyId, b, status, batch) & HASH_MASK);
        if (count > batch * batchSize) return bytes32(b.intake & HASH_MASK); // the open batch
        return bytes32(0);
    }

    /// @dev Rule R11: reveals (report, reportAndSettle) open once every member on duty for the
    ///      batch committed, or from the last 1/REVEAL_SHARE of the batch's scoring timeout on,
    ///      and stay open once a report is public; commits close when they open. A member that
    ///      opts in while the batch is reportable sits it out (_onDuty), so a join can never
    ///      re-open commits once every member on duty committed (a pending reveal is public).
    function _revealOpen(uint256 bountyId, Bounty storage b, uint256 status, uint256 batch, uint256 n) internal view returns (bool) {
        // a report is public already, or all on duty committed
        if (status >> ST_REPORTED & 0xffff != 0) return true;
        // slither-disable-next-line incorrect-equality (a count, index, mask or flag from a packed word, not a time or a balance)
        if ((status >> ST_COMMITTED & 0xffff) == _onDuty(status)) return true;
        return block.timestamp >= _revealAt(bountyId, b, batch, n);
    }

    /// @dev The members on duty for batch nextBatch (R11): opted in before it became reportable.
    function _onDuty(uint256 status) internal pure returns (uint256) {
        return (status >> ST_OPTED_IN & 0xffff) & ~(status >> ST_LATE);
    }

    function _revealAt(uint256 bountyId, Bounty storage b, uint256 batch, uint256 n) internal view returns (uint256) {
        return _timeoutAt(bountyId, b, batch, n) - b.scoringTimeout / REVEAL_SHARE;
    }

    /// @dev A member's commitment to its report (rule R11): keccak256(abi.encode(bountyId,
    ///      member, salt, digest)), digest the report's _reportDigest (which covers the batch,
    ///      the scores and the merged CID); top 224 bits, as the member slot stores it.
    function _commitment(uint256 bountyId, address member, bytes32 salt, uint256 digest) internal pure returns (uint256 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, bountyId)
            mstore(add(p, 0x20), member)
            mstore(add(p, 0x40), salt)
            mstore(add(p, 0x60), digest)
            h := and(keccak256(p, 0x80), not(0xffffffff))
        }
    }

    /// @dev AwaitingBaseline or Open: the bounty has not ended.
    function _requireNotEnded(uint256 bountyId) internal view {
        BountyState s = _state(bountyId);
        if (s != BountyState.Open && s != BountyState.AwaitingBaseline) revert BountyNotInState(bountyId, s, BountyState.Open);
    }

    function _popcount(uint256 x) internal pure returns (uint256 c) {
        while (x != 0) {
            x &= x - 1;
            ++c;
        }
    }

    /// @dev Takes the reentrancy lock (see BountyMarket's nonReentrant); `pausable` also refuses
    ///      while paused. Returns the guard word to restore.
    function _lock(bool pausable) internal returns (uint256 g) {
        g = _guard;
        if (g & GUARD_LOCKED != 0) revert ReentrancyGuardReentrantCall();
        if (pausable && g & GUARD_PAUSED != 0) revert EnforcedPause();
        _guard = g | GUARD_LOCKED;
    }

    function _memberBit(uint256 bountyId, address account) internal view returns (uint256) {
        uint256 index = _members[bountyId][account] & 0xff;
        if (index == 0) revert NotCommitteeMember(bountyId, account);
        return 1 << (index - 1);
    }

    modifier onlyRequester(uint256 bountyId) {
        _requireRequester(bountyId);
        _;
    }

    function _checkCid(Cid calldata cid) internal pure {
        if (cid.digest == bytes32(0) || (cid.codec != CODEC_RAW && cid.codec != CODEC_DAG_PB)) revert InvalidParameter("cid");
    }

    function _requireRequester(uint256 bountyId) internal view {
        if (bountyId == 0 || bountyId > _bountyCount) revert BountyNotFound(bountyId);
        if (_bounties[bountyId].requester != msg.sender) revert NotRequester(bountyId, msg.sender);
    }

    function _requireState(uint256 bountyId, BountyState expected) internal view {
        BountyState s = _state(bountyId);
        if (s != expected) revert BountyNotInState(bountyId, s, expected);
    }

    /// @dev Rule P4: whether the market keeps books of ERC-20 `token` (false for the deployer's
    ///      fixed-balance tokens, which the market reads from its immutables).
    function _balanceChecked(address token) internal view virtual returns (bool);

    /// @dev transferFrom(sender, market, amount) of ERC-20 `token` with SafeERC20's checks,
    ///      measured by the market's balance before and after (callers hold the lock, so no other
    ///      transfer lands inside the difference). Returns what arrived, never more than `amount`.
    ///      Rule P4 books it, unless the deployer listed it as fixed-balance: refused when the market
    ///      held less than it owed before (new money would pay for an old loss), written down or
    ///      not; a written-down token that holds what it owes again takes new money (review 13, A1:
    ///      a stored refusal let anyone close a token for good by writing down a one-wei shortfall).
    ///      The books stay below 2^128, so that a pro-rata payout's product cannot overflow.
    function _pullToken(address token, uint256 amount) internal returns (uint256 received) {
        uint256 failed;
        uint256 before;
        assembly ("memory-safe") {
            mstore(0, shl(224, 0x70a08231)) // balanceOf(address)
            mstore(4, address())
            if iszero(and(gt(returndatasize(), 0x1f), staticcall(gas(), token, 0, 0x24, 0, 0x20))) { failed := 1 }
            before := mload(0)
            let p := mload(0x40)
            mstore(p, shl(224, 0x23b872dd)) // transferFrom(address,address,uint256)
            mstore(add(p, 0x04), caller())
            mstore(add(p, 0x24), address())
            mstore(add(p, 0x44), amount)
            if iszero(call(gas(), token, 0, p, 0x64, 0, 0x20)) {
                returndatacopy(p, 0, returndatasize())
                revert(p, returndatasize())
            }
            // no return data: the token must be a contract; else it must return true
            switch returndatasize()
            case 0 { if iszero(extcodesize(token)) { failed := 1 } }
            default { if iszero(eq(mload(0), 1)) { failed := 1 } }
            mstore(0, shl(224, 0x70a08231))
            mstore(4, address())
            if iszero(and(gt(returndatasize(), 0x1f), staticcall(gas(), token, 0, 0x24, 0, 0x20))) { failed := 1 }
            received := sub(mload(0), before)
            if gt(received, mload(0)) { received := 0 } // the balance fell
        }
        if (failed != 0) revert SafeERC20.SafeERC20FailedOperation(token);
        if (received > amount) received = amount; // a token that reports more than it was asked for
        if (!_balanceChecked(token)) return received; // listed fixed-balance by the deployer: no books
        uint256 word = _books[token];
        if (word & PAYING != 0) revert ReentrancyGuardReentrantCall(); // a hook inside a pro-rata payout
        uint256 owed = word & ~WRITTEN_DOWN;
        if (before < owed) revert TokenShortfall(token, before, owed);
        if ((owed + received) >> 128 != 0) revert InvalidParameter("amount");
        _books[token] = word + received; // the write-down flag, if set, stays: a later loss is pro rata at once
    }

    /// @dev keccak256(abi.encodePacked(batch, scores, merged.digest, merged.codec)) of a batch
    ///      report, top 224 bits.
    function _reportDigest(uint256 batch, bytes calldata scores, Cid calldata merged) internal pure returns (uint256 h) {
        bytes32 digest = merged.digest;
        uint8 codec = merged.codec;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, batch)
            calldatacopy(add(p, 0x20), scores.offset, scores.length)
            let e := add(add(p, 0x20), scores.length)
            mstore(e, digest)
            mstore8(add(e, 0x20), codec)
            h := and(keccak256(p, add(scores.length, 0x41)), not(0xffffffff))
        }
    }
}

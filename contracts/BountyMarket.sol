// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

import {IBountyMarketActions, IBountyMarketExtension} from "../interfaces/IBountyMarket.sol";
import {IOracleRegistry} from "../interfaces/IOracleRegistry.sol";
import {RewardMath} from "./libraries/RewardMath.sol";
import {BountyMarketStorage} from "./BountyMarketStorage.sol";
import {BountyMarketExtension} from "./BountyMarketExtension.sol";

/// @title BountyMarket
/// @notice Bounties, stakes, committee scoring, lineage, slashing and claims. The
///         numbered rules are in SPECIFICATION.md; NatSpec is in IBountyMarket.
/// @dev Storage holds only what settlement needs. Submissions are not stored one by
///      one: each batch keeps a rolling hash of its records, and settlement passes the
///      records (from SubmissionReceived events) as calldata checked against it. Each
///      oracle's report is stored as a hash of its scores (from ReportPosted), next to its
///      committee index. The last member to report may settle the batch in its own
///      transaction (reportAndSettle). Hot words are packed by hand: see BountyMarketStorage.
contract BountyMarket is BountyMarketStorage, IBountyMarketActions, Ownable2Step {
    using SafeERC20 for IERC20;

    /// @dev Working memory of a settlement (keeps the stack shallow).
    /// @dev st.agreed when no vote has a quorum and some submission is UNAVAILABLE to a quorum
    ///      (rule R7a): the batch is decided without a version.
    uint256 private constant NO_VOTE = type(uint256).max;
    /// @dev _checkReport's flag beside a member bit (bits 0-15): a report without a commitment,
    ///      in a batch given a second round (rule R7b); _checkReveal checks no commitment. Bit 64:
    ///      shifted to the reporter mask (ST_REPORTED, 192) it falls off the word.
    uint256 private constant UNCOMMITTED = 1 << 64;

    struct Settlement {
        uint256 bountyId;
        uint256 batch;
        uint256 n; // submissions
        uint256 firstId;
        uint256 status; // the status word as stored when settlement began, then as it will be
        uint256 scoring; // the scoring word as it will be
        uint256 m; // reports
        uint256 mask; // reporters (bit i = committee member i)
        uint256 headKey;
        uint256 bestIndex; // the merged update with the largest share (the lowest id on ties): the version's author
        uint256 agreed; // the first report of the (merged CID, shares) vote a quorum names (rule R5); NO_VOTE: none
        uint256 deviantMask; // bit r = the r-th report
        uint256 partialMask; // bit r = the r-th report says UNAVAILABLE somewhere (rule R7a): no fee, never deviant for its vote;
        // once decided, also the reports without a commitment (a retried batch's second round, R7b): no fee
        uint256 burned;
        address token;
        uint256 own; // the sender's member index in reportAndSettle (its report is not stored)
        uint256 ownLane;
        uint256 ownDigest;
        uint256 ownCodec;
        uint256 ownReport; // its report's digest (_reportDigest): stored only if a retry keeps it standing (R7b)
        uint256 quorum; // more than half of the committee (rule R4)
        bool noMajority; // some median has fewer than a quorum of reports within tolerance, or no vote a quorum
        bool lost; // some submission is UNAVAILABLE to a quorum of the committee (rule R7a)
        uint256[] lanes; // calldata offset of the r-th report's scores
        uint256[] mergedDigest; // the r-th report's merged-model CID
        uint256[] mergedCodec;
        address[] oracles; // the r-th reporter
        uint256 rejected; // bit i = submission firstId + i was rejected (stake back in full)
        uint256[] shares; // the agreed share of each submission (rule R5), of BPS
        uint256 shareSum; // their sum; 0 when the batch makes no version (none, or over the caps)
        uint256 stale; // bit i = submission firstId + i is based more than MAX_LAG versions behind the head
        uint256 reward; // R * (c(p_new) - c(p_old)) for the merged model, split by the shares
        bytes scores; // the median score of each submission, 4 bytes each, in id order
    }

    /// @inheritdoc IBountyMarketActions
    address public immutable keyRegistry;
    /// @inheritdoc IBountyMarketActions
    address public immutable oracleRegistry;
    /// @inheritdoc IBountyMarketActions
    address public immutable extension;
    /// @dev Rule P4: the deployer's fixed-balance ERC-20s (at most 4; unused ones are zero, and
    ///      zero is ETH, which is not balance-checked either). Immutables: no storage read.
    address private immutable _fixed0;
    address private immutable _fixed1;
    address private immutable _fixed2;
    address private immutable _fixed3;

    // ------------------------------------------------------------ constructor

    /// @param extension_ A BountyMarketExtension, deployed first for `oracleRegistry_`: the
    ///        fallback delegatecalls it, on this contract's storage. Refused unless it has code
    ///        and its extensionFor() names this registry, this storage layout and the
    ///        IBountyMarketExtension interface this market was compiled with.
    /// @param fixedBalanceTokens_ Rule P4: at most 4 ERC-20s whose balances change only by
    ///        transfers, vouched for by the deployer; the market keeps no books of them and pays
    ///        them without reading its balance first. Every other ERC-20 is balance-checked.
    constructor(
        address keyRegistry_,
        address oracleRegistry_,
        address extension_,
        address owner_,
        address guardian_,
        address[] memory fixedBalanceTokens_
    ) Ownable(owner_) {
        if (oracleRegistry_ == address(0)) revert InvalidParameter("oracleRegistry");
        _checkExtension(extension_, oracleRegistry_);
        uint256 n = fixedBalanceTokens_.length;
        // slither-disable-next-line uninitialized-local (zeros until filled: an unused entry stays zero, which is ETH's address)
        address[4] memory listed;
        // more than 4, a zero address or a duplicate (one revert site: initcode bytes, EIP-3860)
        bool bad = n > 4;
        for (uint256 i; i < n && !bad; ++i) {
            address t = fixedBalanceTokens_[i];
            bad = t == address(0);
            for (uint256 j; j < i; ++j) {
                if (listed[j] == t) bad = true;
            }
            listed[i] = t;
        }
        if (bad) revert InvalidParameter("fixedBalanceTokens");
        _fixed0 = listed[0];
        _fixed1 = listed[1];
        _fixed2 = listed[2];
        _fixed3 = listed[3];
        keyRegistry = keyRegistry_;
        oracleRegistry = oracleRegistry_;
        _guard = uint160(guardian_);
        extension = extension_;
        emit GuardianSet(guardian_);
    }

    /// @dev The extension runs on this contract's storage with this contract's ETH: code (an
    ///      address without any would make every extension call a silent success), built for
    ///      the same oracle registry (its immutable: slashes, draws and eligibility), against
    ///      the same storage layout (BountyMarketStorage) and serving the same interface.
    ///      Low-level, so that every unsound answer is the one error: an address without code
    ///      (or a contract without extensionFor and a fallback that returns) answers nothing.
    function _checkExtension(address extension_, address oracleRegistry_) private view {
        (bool ok, bytes memory ret) = extension_.staticcall(abi.encodeCall(BountyMarketExtension.extensionFor, ()));
        bool sound = ok && ret.length == 96;
        if (sound) {
            (address r, bytes32 layout, bytes4 id) = abi.decode(ret, (address, bytes32, bytes4));
            sound = r == oracleRegistry_ && layout == STORAGE_LAYOUT && id == type(IBountyMarketExtension).interfaceId;
        }
        if (!sound) revert InvalidParameter("extension");
    }

    /// @dev IBountyMarketExtension lives in BountyMarketExtension (same storage layout, via
    ///      BountyMarketStorage); unknown selectors run there by delegatecall. It is deployed
    ///      first, checked by the constructor and immutable: no admin can swap it. Payable for
    ///      createBounty and topUp; the extension's other functions are not payable and refuse
    ///      ETH themselves.
    fallback() external payable {
        address target = extension;
        assembly ("memory-safe") {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), target, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }

    /// @dev Only the oracle registry sends ETH without a call: slashed oracle stakes.
    receive() external payable {
        if (msg.sender != oracleRegistry) revert UnexpectedEth(msg.sender);
    }

    // -------------------------------------------------------------- the guard

    /// @dev One slot holds the guardian, the pause flag and the reentrancy lock. Every
    ///      function that measures a token balance (createBounty, topUp, submitUpdate with a
    ///      token) holds the lock around it, so no transfer can land inside another's
    ///      balance difference; settlement holds it too. Claims and burns write before they
    ///      transfer (checks-effects-interactions) and take no lock, but refuse to run while it
    ///      is held: a transfer out inside a balance difference would be taken off what arrived.
    modifier nonReentrant() {
        uint256 g = _lock(false);
        _;
        _guard = g;
    }

    function _requireUnlocked() private view {
        if (_guard & GUARD_LOCKED != 0) revert ReentrancyGuardReentrantCall();
    }

    // -------------------------------------------------------------- oracles

    /// @inheritdoc IBountyMarketActions
    function report(uint256 bountyId, uint256 batch, bytes calldata scores, Cid calldata merged, bytes32 salt) external {
        Bounty storage b = _bounties[bountyId];
        uint256 status = b.status;
        (uint256 memberSlot, uint256 bit) = _checkReport(bountyId, b, status, batch, scores);
        b.status = status | (bit << ST_REPORTED); // UNCOMMITTED falls off the word
        _members[bountyId][msg.sender] = _checkReveal(bountyId, batch, memberSlot, scores, merged, salt, bit) | (memberSlot & LOW32);
        _emitReport(bountyId, batch, scores, merged);
    }

    /// @inheritdoc IBountyMarketActions
    function commitReport(uint256 bountyId, uint256 batch, bytes32 commitment) external {
        Bounty storage b = _bounties[bountyId];
        uint256 status = b.status;
        uint256 n = _reportableSubmissions(b, status, batch);
        // slither-disable-next-line incorrect-equality (a count, index, mask or flag from a packed word, not a time or a balance)
        if (n == 0) revert BatchNotReportable(bountyId, batch);
        uint256 bit = _memberBit(bountyId, msg.sender);
        if ((status >> ST_OPTED_IN) & bit == 0) revert NotOptedIn(bountyId, msg.sender);
        if ((status >> ST_LATE) & bit != 0) revert SitsOutBatch(bountyId, batch, msg.sender);
        // closed once reveals are open (so a commitment never follows a public report)
        if (_revealOpen(bountyId, b, status, batch, n)) revert CommitClosed(bountyId, batch);
        if (commitment == bytes32(0)) return _abstain(bountyId, b, status, batch, bit);
        uint256 slot = _members[bountyId][msg.sender];
        _members[bountyId][msg.sender] = (uint256(commitment) & HASH_MASK) | (slot & LOW32);
        b.status = status | (bit << ST_COMMITTED);
        emit ReportCommitted(bountyId, batch, msg.sender, commitment);
    }

    /// @dev Rule R12: the sender sits batch `batch` out (ST_LATE, as a late opt-in does): off
    ///      duty, so a void does not charge it, and it can no longer commit (SitsOutBatch) nor
    ///      reveal (its slot holds no commitment to this batch). Only instead of a commitment,
    ///      so it never dodges the charge of a commitment left unrevealed; and only once a
    ///      quorum committed, so an abstention never makes a void by itself: a void that follows
    ///      one lacks the reveal of some member that committed, and charges that member.
    function _abstain(uint256 bountyId, Bounty storage b, uint256 status, uint256 batch, uint256 bit) private {
        uint256 committed = status >> ST_COMMITTED & 0xffff;
        if (committed & bit != 0) revert CommittedAlready(bountyId, batch, msg.sender);
        uint256 needed = _quorum(status);
        if (_popcount(committed) < needed) revert AbstentionBeforeQuorum(bountyId, batch, _popcount(committed), needed);
        b.status = status | (bit << ST_LATE);
        emit ReportCommitted(bountyId, batch, msg.sender, bytes32(0));
    }

    /// @inheritdoc IBountyMarketActions
    function sitOut(uint256 bountyId, bool out) external {
        Bounty storage b = _bounties[bountyId];
        uint256 bit = _memberBit(bountyId, msg.sender);
        uint256 status = b.status;
        if ((status >> ST_OPTED_IN) & bit == 0) revert NotOptedIn(bountyId, msg.sender);
        // C7: any opted-in member, not only one never seated: a requester may publish a keyring
        // that no longer seats a member that served (B6), which then needs the sit-out as much
        uint256 mask = out ? b.standingOut | bit : b.standingOut & ~bit;
        b.standingOut = uint16(mask);
        uint256 from = _u(status, ST_NEXT_BATCH, 32);
        // at once while the next batch is not reportable (nobody committed to it), else from the
        // batch after it: a batch under way keeps its duties (_finishBatch applies the mask)
        // slither-disable-next-line incorrect-equality (a count, index, mask or flag from a packed word, not a time or a balance)
        if (_reportableSubmissions(b, status, from) == 0) {
            status = out ? status | (bit << ST_LATE) : status & ~(bit << ST_LATE);
        } else {
            ++from;
        }
        b.status = mask != 0 ? status | F_STANDING : status & ~F_STANDING;
        emit SitOutSet(bountyId, msg.sender, out, from);
    }

    /// @inheritdoc IBountyMarketActions
    function standingSitOut(uint256 bountyId) external view returns (uint16) {
        return _bounties[bountyId].standingOut;
    }

    /// @inheritdoc IBountyMarketActions
    function getCommits(uint256 bountyId, uint256 batch)
        external
        view
        returns (uint16 committedMask, uint256 revealAt, uint16 sittingOut)
    {
        Bounty storage b = _bounties[bountyId];
        uint256 status = b.status;
        uint256 n = _reportableSubmissions(b, status, batch);
        if (n != 0) return (uint16(status >> ST_COMMITTED), _revealAt(bountyId, b, batch, n), uint16(status >> ST_LATE));
    }

    /// @dev The report matches the sender's commitment (R11), unless `bit` carries UNCOMMITTED
    ///      (a retried batch's second round, R7b); returns its digest.
    function _checkReveal(
        uint256 bountyId,
        uint256 batch,
        uint256 memberSlot,
        bytes calldata scores,
        Cid calldata merged,
        bytes32 salt,
        uint256 bit
    ) private view returns (uint256 digest) {
        digest = _reportDigest(batch, scores, merged);
        if (bit & UNCOMMITTED == 0 && _commitment(bountyId, msg.sender, salt, digest) != memberSlot & HASH_MASK) {
            revert RevealMismatch(bountyId, batch, msg.sender);
        }
    }

    /// @dev ReportPosted(bountyId, batch, sender, scores, merged), encoded by hand.
    function _emitReport(uint256 bountyId, uint256 batch, bytes calldata scores, Cid calldata merged) private {
        bytes32 digest = merged.digest;
        uint8 codec = merged.codec;
        bytes32 posted = ReportPosted.selector;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, 0x60) // offset of scores
            mstore(add(p, 0x20), digest)
            mstore(add(p, 0x40), codec)
            mstore(add(p, 0x60), scores.length)
            calldatacopy(add(p, 0x80), scores.offset, scores.length)
            mstore(add(add(p, 0x80), scores.length), 0) // zero the padding
            log4(p, add(0x80, and(add(scores.length, 0x1f), not(0x1f))), posted, bountyId, batch, caller())
        }
    }

    /// @inheritdoc IBountyMarketActions
    // slither-disable-next-line reentrancy-no-eth,reentrancy-benign,reentrancy-events (the only external calls are to the immutable oracle registry, which calls nothing back; the function holds the lock and its slashed ETH can only be shared after it arrives)
    function reportAndSettle(
        uint256 bountyId,
        uint256 batch,
        bytes calldata scores,
        Cid calldata merged,
        bytes32 salt,
        bytes calldata records,
        BatchReport[] calldata others
    ) external nonReentrant {
        Settlement memory st = _beginFinal(bountyId, batch, scores, merged, salt, others.length);
        _collect(st, others);
        _settlePacked(st, records);
    }

    /// @dev Settles with packed records (reportAndSettle's; a function of its own for the stack).
    function _settlePacked(Settlement memory st, bytes calldata records) private {
        if (records.length != PACKED * st.n) revert RecordsMismatch(st.bountyId, st.batch);
        uint256 recs;
        assembly {
            recs := records.offset
        }
        _settle(st, _bounties[st.bountyId], recs | (PACKED << 128));
    }

    /// @dev reportAndSettle's report: checked as `report` checks it, posted, and added to
    ///      the reporters of the settlement it begins.
    function _beginFinal(uint256 bountyId, uint256 batch, bytes calldata scores, Cid calldata merged, bytes32 salt, uint256 others)
        private
        returns (Settlement memory st)
    {
        Bounty storage b = _bounties[bountyId];
        uint256 status = b.status;
        (uint256 memberSlot, uint256 bit) = _checkReport(bountyId, b, status, batch, scores);
        uint256 digest = _checkReveal(bountyId, batch, memberSlot, scores, merged, salt, bit);
        _emitReport(bountyId, batch, scores, merged);
        st = _begin(bountyId, b, status, batch, (status >> ST_REPORTED & 0xffff) | (bit & 0xffff), others + 1);
        st.own = (memberSlot & 0xff) - 1;
        st.ownReport = digest;
        uint256 lane;
        assembly {
            lane := scores.offset
        }
        st.ownLane = lane;
        st.ownDigest = uint256(merged.digest);
        st.ownCodec = merged.codec;
    }

    /// @inheritdoc IBountyMarketActions
    // slither-disable-next-line reentrancy-no-eth,reentrancy-benign,reentrancy-events (the only external calls are to the immutable oracle registry, which calls nothing back; the function holds the lock and its slashed ETH can only be shared after it arrives)
    function settleBatch(uint256 bountyId, uint256 batch, SubmissionRecord[] calldata records, BatchReport[] calldata reports)
        external
        nonReentrant
    {
        Bounty storage b = _bounties[bountyId];
        uint256 status = b.status;
        Settlement memory st = _begin(bountyId, b, status, batch, status >> ST_REPORTED & 0xffff, reports.length);
        _collect(st, reports);
        _settle(st, b, _cursor(st.bountyId, batch, st.n, records));
    }

    /// @dev A record cursor: calldata offset (low 128 bits) | stride (PACKED for packed
    ///      records, 0xa0 for SubmissionRecord[]).
    function _cursor(uint256 bountyId, uint256 batch, uint256 n, SubmissionRecord[] calldata records)
        private
        pure
        returns (uint256 recs)
    {
        if (records.length != n) revert RecordsMismatch(bountyId, batch);
        assembly {
            recs := or(records.offset, shl(128, 0xa0))
        }
    }

    /// @inheritdoc IBountyMarketActions
    // slither-disable-next-line reentrancy-no-eth,reentrancy-benign,reentrancy-events (the only external calls are to the immutable oracle registry, which calls nothing back; the function holds the lock and its slashed ETH can only be shared after it arrives)
    function voidBatch(uint256 bountyId, uint256 batch, SubmissionRecord[] calldata records) external nonReentrant {
        Bounty storage b = _bounties[bountyId];
        uint256 status = b.status;
        uint256 n = _reportableSubmissions(b, status, batch);
        // slither-disable-next-line incorrect-equality (a count, index, mask or flag from a packed word, not a time or a balance)
        if (n == 0) revert BatchNotReportable(bountyId, batch);
        uint256 reported = status >> ST_REPORTED & 0xffff;
        uint256 m = _popcount(reported);
        if (block.timestamp < _timeoutAt(bountyId, b, batch, n) || m >= _quorum(status)) revert BatchNotVoidable(bountyId, batch);
        uint256 recs = _cursor(bountyId, batch, n, records);
        if (_hashRecords(recs, n) != _expectedHash(bountyId, b, status, batch, n)) revert RecordsMismatch(bountyId, batch);
        _void(bountyId, b, status, batch, n, recs, reported);
    }

    /// @dev Rule R10: every stake comes back in full, nobody is paid a fee, and each opted-in
    ///      member that did not report loses one offence's share of its bond for this bounty,
    ///      which is burned: nobody gains from a void. Also what settlement does with a batch
    ///      on whose medians no majority of the committee agrees (R4).
    function _void(uint256 bountyId, Bounty storage b, uint256 status, uint256 batch, uint256 n, uint256 recs, uint256 reported)
        private
    {
        b.status = _finishBatch(bountyId, b, status, batch, n);
        b.scoring = _stamp(b.scoring, SC_LAST_SETTLED);
        address token = _tokenOf(b.terms);
        for (uint256 i = 0; i < n; ++i) {
            (address who, uint256 stake,,) = _recordAt(recs, i);
            _claimable[who][token] += stake & STAKE_MASK;
        }
        emit BatchVoided(bountyId, batch, _popcount(reported));
        // a member that sat the batch out (a late opt-in, R11; an abstention, R12; a standing
        // sit-out, C7) is never charged for it
        uint256 silent = _onDuty(status) & ~reported;
        uint256 bonds = _bonds(b);
        uint256 burned = 0;
        for (uint256 i = 0; silent != 0; ++i) {
            if (silent & (1 << i) != 0) {
                silent &= ~(1 << i);
                burned += _slashBond(bountyId, batch, _memberAt(bountyId, i), bonds);
            }
        }
        if (burned != 0) _pendingBurn[ETH] += burned;
    }

    /// @dev The bounty's bond terms: memberBond (low 96 bits) | bondSlash << 96.
    function _bonds(Bounty storage b) private view returns (uint256) {
        return uint256(b.memberBond) | (uint256(b.bondSlash) << 96);
    }

    /// @dev One offence of `oracle` on this bounty (rule C3): takes bondSlash, or what is left of
    ///      its bond if less, from what the registry locks for it, and counts the offence in its
    ///      member slot (bits 8-31). Returns the wei taken; the caller burns it.
    function _slashBond(uint256 bountyId, uint256 batch, address oracle, uint256 bonds) private returns (uint256 taken) {
        uint256 slot = _members[bountyId][oracle];
        uint256 each = bonds >> 96;
        uint256 left = _bondLeft(uint96(bonds), each, (slot >> 8) & 0xffffff);
        uint256 amount = left < each ? left : each;
        if (amount != 0) {
            _members[bountyId][oracle] = slot + (1 << 8);
            taken = IOracleRegistry(oracleRegistry).slash(oracle, amount);
        }
        emit OracleSlashed(bountyId, batch, oracle, taken);
    }

    // ---------------------------------------------------------- contributors

    /// @inheritdoc IBountyMarketActions
    function submitUpdate(uint256 bountyId, uint32 baseVersion, Cid calldata update)
        external
        payable
        returns (uint256 submissionId)
    {
        return _submitByTransfer(bountyId, baseVersion, update, 0);
    }

    /// @inheritdoc IBountyMarketActions
    function submitUpdateOnce(uint256 bountyId, uint32 baseVersion, Cid calldata update)
        external
        payable
        returns (uint256 submissionId)
    {
        return _submitByTransfer(bountyId, baseVersion, update, ONE_OFF);
    }

    /// @dev submitUpdate and submitUpdateOnce: the stake by transfer; `oneOff` (0 or ONE_OFF)
    ///      goes into the record's stake field.
    function _submitByTransfer(uint256 bountyId, uint32 baseVersion, Cid calldata update, uint256 oneOff)
        private
        returns (uint256 submissionId)
    {
        Bounty storage b = _bounties[bountyId];
        (uint256 g, uint256 status, uint256 intake) = _checkSubmission(bountyId, b, baseVersion, update);
        return _record(bountyId, b, status, intake, baseVersion, update, _takeStake(b.terms, g) | oneOff);
    }

    /// @dev The stake in ETH (exactly) or by transferFrom (what arrived); returns what arrived.
    function _takeStake(uint256 terms, uint256 g) private returns (uint256 received) {
        uint256 stake = terms >> 160;
        address token = address(uint160(terms));
        if (token == ETH) {
            if (msg.value != stake) revert WrongPayment(stake, msg.value);
            return stake;
        }
        if (msg.value != 0) revert WrongPayment(0, msg.value);
        return _pullStake(token, stake, g);
    }

    /// @inheritdoc IBountyMarketActions
    function submitUpdateFromBalance(uint256 bountyId, uint32 baseVersion, Cid calldata update)
        external
        returns (uint256 submissionId)
    {
        Bounty storage b = _bounties[bountyId];
        (, uint256 status, uint256 intake) = _checkSubmission(bountyId, b, baseVersion, update);
        uint256 terms = b.terms;
        uint256 stake = terms >> 160;
        address token = _tokenOf(terms);
        uint256 balance = _claimable[msg.sender][token];
        uint256 available = balance & ~KEPT;
        if (available < stake) revert InsufficientClaimable(msg.sender, token, available, stake);
        // leave KEPT behind, as claims do: the stake's return at settlement then rewrites the slot
        _claimable[msg.sender][token] = (balance - stake) | KEPT;
        return _record(bountyId, b, status, intake, baseVersion, update, stake);
    }

    /// @dev The stake by transferFrom (_pullToken, which books it: rule P4), holding the lock so
    ///      no other transfer can land inside the balance difference; returns what arrived (never
    ///      more than the stake).
    function _pullStake(address token, uint256 stake, uint256 g) private returns (uint256 received) {
        // slither-disable-next-line write-after-write (a token hook inside _pullToken reads the lock)
        _guard = g | GUARD_LOCKED;
        received = _pullToken(token, stake);
        _guard = g;
        // slither-disable-next-line incorrect-equality (a token that delivered nothing; no balance is compared)
        if (received == 0) revert FundingShortfall(0, stake);
    }

    // ---------------------------------------------------------------- claims

    /// @inheritdoc IBountyMarketActions
    function claim(address token) external {
        _claim(token, msg.sender);
    }

    /// @inheritdoc IBountyMarketActions
    function claimTo(address token, address to) external {
        if (to == address(0)) revert InvalidParameter("to");
        _claim(token, to);
    }

    /// @inheritdoc IBountyMarketActions
    function claimPayout(address token, uint256 bountyId, uint256 position, uint256 amount, bytes32[5] calldata proof)
        external
    {
        _claimPayout(token, msg.sender, bountyId, position, amount, proof);
    }

    /// @inheritdoc IBountyMarketActions
    function claimPayoutTo(
        address token,
        address to,
        uint256 bountyId,
        uint256 position,
        uint256 amount,
        bytes32[5] calldata proof
    ) external {
        if (to == address(0)) revert InvalidParameter("to");
        _claimPayout(token, to, bountyId, position, amount, proof);
    }

    /// @dev claimPayout and claimPayoutTo: the sender's leaf, paid to `to`.
    function _claimPayout(address token, address to, uint256 bountyId, uint256 position, uint256 amount, bytes32[5] calldata proof)
        private
    {
        // No lock check, unlike claim: the payout is fixed by the root, and a transfer out inside
        // a balance measurement could only make the measured amount smaller, to the cost of the
        // caller that re-entered (U2's measurements credit what arrived, never more).
        uint256 index = position & 0xff;
        uint256 group = ((position >> 8) << 3) | (index >> 5);
        uint256 word = _payouts[bountyId][group];
        uint256 bit = 1 << (index & 31);
        if (word & bit != 0) revert PayoutAlreadyClaimed(bountyId, position);
        uint256 node = _leaf(msg.sender, amount, token);
        assembly ("memory-safe") {
            for { let i := 0 } lt(i, 5) { i := add(i, 1) } {
                let sibling := calldataload(add(proof, shl(5, i)))
                switch and(shr(i, index), 1)
                case 0 { mstore(0, node) mstore(0x20, sibling) }
                default { mstore(0, sibling) mstore(0x20, node) }
                node := keccak256(0, 0x40)
            }
        }
        // a position past any batch finds no root; the amount must be the leaf's 95 bits
        // slither-disable-next-line incorrect-equality (a Merkle root, not a time or a balance)
        if (word == 0 || amount >= ONE_OFF || (node ^ word) & HASH_MASK != 0) {
            revert InvalidPayoutProof(bountyId, position);
        }
        _payouts[bountyId][group] = word | bit; // effects before the transfer
        emit PayoutClaimed(msg.sender, bountyId, position, amount);
        _pushFunds(token, to, amount);
    }

    /// @inheritdoc IBountyMarketActions
    function writeDown(address token) external {
        if (!_balanceChecked(token)) revert NotBalanceChecked(token);
        uint256 owed = _books[token];
        if (owed & WRITTEN_DOWN != 0) revert TokenWrittenDown(token);
        // slither-disable-next-line incorrect-equality (0: nothing owed, nothing to measure; ETH is never booked)
        uint256 held = owed == 0 ? 0 : _held(token);
        if (held >= owed) revert NoShortfall(token, held, owed);
        _books[token] = owed | WRITTEN_DOWN;
        emit WrittenDown(token, held, owed);
    }

    /// @inheritdoc IBountyMarketActions
    function books(address token) external view returns (uint256 owed, bool writtenDown) {
        if (!_balanceChecked(token)) return (0, false); // ETH and the deployer's fixed-balance tokens
        uint256 word = _books[token];
        return (word & ~(WRITTEN_DOWN | PAYING), word & WRITTEN_DOWN != 0);
    }

    /// @inheritdoc IBountyMarketActions
    function balanceChecked(address token) external view returns (bool) {
        return _balanceChecked(token);
    }

    /// @dev Rule P4: not ETH (zero) and not one of the deployer's fixed-balance tokens (a few
    ///      comparisons with immutables).
    function _balanceChecked(address token) internal view override returns (bool) {
        return token != ETH && token != _fixed0 && token != _fixed1 && token != _fixed2 && token != _fixed3;
    }

    /// @inheritdoc IBountyMarketActions
    function burn(address token) external {
        _requireUnlocked();
        uint256 amount = _pendingBurn[token];
        // slither-disable-next-line incorrect-equality (a count, index, mask or flag from a packed word, not a time or a balance)
        if (amount == 0) revert NothingToClaim(BURN_ADDRESS, token);
        _pendingBurn[token] = 0; // effects before the transfer
        emit Burned(token, amount);
        _pushFunds(token, BURN_ADDRESS, amount);
    }

    // ----------------------------------------------------------------- admin

    /// @inheritdoc IBountyMarketActions
    function setGuardian(address guardian_) external onlyOwner {
        uint256 g = _guard;
        if (g & GUARD_LOCKED != 0) revert ReentrancyGuardReentrantCall();
        _guard = (g & ~uint256(type(uint160).max)) | uint160(guardian_);
        emit GuardianSet(guardian_);
    }

    /// @dev Rule A1: the owner can only set the guardian. Renouncing would leave no one to.
    function renounceOwnership() public view override onlyOwner {
        revert OwnershipCannotBeRenounced();
    }

    // ------------------------------------------------------------ submissions

    /// @dev Not paused nor inside a token transfer; Open; base version known; batch limit not
    ///      reached; CID well formed. Returns the guard, status and intake words.
    function _checkSubmission(uint256 bountyId, Bounty storage b, uint32 baseVersion, Cid calldata update)
        private
        view
        returns (uint256 g, uint256 status, uint256 intake)
    {
        g = _guard;
        if (g & GUARD_LOCKED != 0) revert ReentrancyGuardReentrantCall();
        if (g & GUARD_PAUSED != 0) revert EnforcedPause();
        status = b.status;
        // Open: baseline set, not cancelled nor at the target, before the deadline (a closed
        // or revealed bounty has ended, so this is exactly state == Open).
        if (status & (F_BASELINE | F_ENDED) != F_BASELINE || block.timestamp >= uint64(status)) {
            revert BountyNotInState(bountyId, _state(bountyId), BountyState.Open);
        }
        uint256 versions = uint32(status >> ST_VERSIONS);
        if (baseVersion > versions) revert BaseVersionUnknown(bountyId, baseVersion, versions);
        // stale already (G1): it could only be refunded, so it would fill a batch slot for free
        if (baseVersion + MAX_LAG < versions) revert BaseVersionStale(bountyId, baseVersion, versions);
        intake = b.intake;
        uint256 maxBatches = uint32(status >> ST_MAX_BATCHES);
        if (uint32(intake) / uint16(status >> ST_BATCH_SIZE) >= maxBatches) revert BatchLimitReached(bountyId, maxBatches);
        _checkCid(update);
    }

    /// @dev Appends the submission to the open batch's rolling hash (rule U4); the submission
    ///      that fills a batch moves its hash, and when it filled, to the batch's own slot.
    function _record(
        uint256 bountyId,
        Bounty storage b,
        uint256 status,
        uint256 intake,
        uint32 baseVersion,
        Cid calldata update,
        uint256 stake
    ) private returns (uint256 submissionId) {
        bytes32 digest = update.digest;
        uint8 codec = update.codec;
        uint256 h;
        assembly ("memory-safe") {
            submissionId := and(intake, 0xffffffff)
            // h = keccak256(h, contributor, stake, baseVersion, digest, codec), top 224 bits
            let p := mload(0x40)
            mstore(p, and(intake, not(0xffffffff)))
            mstore(add(p, 0x20), or(shl(96, caller()), stake))
            mstore(add(p, 0x40), shl(224, baseVersion))
            mstore(add(p, 0x44), digest)
            mstore8(add(p, 0x64), codec)
            h := and(keccak256(p, 0x65), not(0xffffffff))
        }
        if ((submissionId + 1) % uint16(status >> ST_BATCH_SIZE) == 0) {
            _seal(bountyId, b, status, submissionId / uint16(status >> ST_BATCH_SIZE), h);
            h = RECORDS_SEED; // the next batch starts over
        }
        b.intake = h | (submissionId + 1);
        _emitReceived(bountyId, submissionId, baseVersion, digest, codec, stake);
    }

    /// @dev SubmissionReceived(bountyId, submissionId, sender, baseVersion, update, stake),
    ///      encoded by hand.
    function _emitReceived(
        uint256 bountyId,
        uint256 submissionId,
        uint32 baseVersion,
        bytes32 digest,
        uint8 codec,
        uint256 stake
    ) private {
        bytes32 received = SubmissionReceived.selector;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, baseVersion)
            mstore(add(p, 0x20), digest)
            mstore(add(p, 0x40), codec)
            mstore(add(p, 0x60), stake)
            log4(p, 0x80, received, bountyId, submissionId, caller())
        }
    }

    /// @dev A full batch's hash and fill time (mod 2^32) go to the ready word if it is the next
    ///      to decide, else to its own slot (it filled while an earlier batch was pending).
    function _seal(uint256 bountyId, Bounty storage b, uint256 status, uint256 batch, uint256 h) private {
        uint256 sealed_ = h | uint32(block.timestamp);
        if (batch == uint32(status >> ST_NEXT_BATCH)) b.ready = sealed_;
        else _batchHashes[bountyId][batch] = sealed_;
    }

    // -------------------------------------------------------------- reports

    /// @dev The batch is reportable and in its reveal phase (R11), the sender an opted-in member
    ///      that has not reported it, and the scores hold 4 bytes per submission. Returns the
    ///      sender's member slot and bit, with UNCOMMITTED beside it for a member on duty
    ///      without a commitment in a batch given a second round (R7b).
    function _checkReport(uint256 bountyId, Bounty storage b, uint256 status, uint256 batch, bytes calldata scores)
        private
        view
        returns (uint256 memberSlot, uint256 bit)
    {
        uint256 n = _reportableSubmissions(b, status, batch);
        // slither-disable-next-line incorrect-equality (a count, index, mask or flag from a packed word, not a time or a balance)
        if (n == 0) revert BatchNotReportable(bountyId, batch);
        memberSlot = _members[bountyId][msg.sender];
        uint256 index = memberSlot & 0xff;
        if (index == 0) revert NotCommitteeMember(bountyId, msg.sender);
        bit = 1 << (index - 1);
        if ((status >> ST_OPTED_IN) & bit == 0) revert NotOptedIn(bountyId, msg.sender);
        if ((status >> ST_REPORTED) & bit != 0) revert AlreadyReported(bountyId, batch, msg.sender);
        if (scores.length != _reportLength(n)) revert WrongScoreCount(_reportLength(n), scores.length);
        if (!_revealOpen(bountyId, b, status, batch, n)) revert RevealNotOpen(bountyId, batch);
        // R11: only a commitment made in this batch opens (review 10, S1 and S2): a member's slot
        // keeps its last commitment across batches, and one made during an earlier batch to this
        // batch's report would otherwise be revealed without ever showing as committed here (so
        // an honest member saw no quorum of commitments and could not abstain, R12) or by a
        // member sitting the batch out (which cannot commit, so this also shuts it out)
        if ((status >> ST_COMMITTED) & bit == 0) {
            // R7b: a retried batch takes a report without a commitment (it earns no fee) from a
            // member on duty (not one sitting it out); `retried` is cold, read only here and in _retry
            uint256 mark;
            unchecked {
                mark = batch + 1; // batch is the next to decide: below 2^32
            }
            if (b.retried != mark || (status >> ST_LATE) & bit != 0) revert RevealMismatch(bountyId, batch, msg.sender);
            bit |= UNCOMMITTED;
        }
    }

    // ------------------------------------------------------------ settlement

    /// @dev The batch is the next to decide and has every opted-in member's report, or the
    ///      timeout passed with a quorum; `given` reports (or others) must come with it.
    function _begin(uint256 bountyId, Bounty storage b, uint256 status, uint256 batch, uint256 mask, uint256 given)
        private
        view
        returns (Settlement memory st)
    {
        uint256 n = _reportableSubmissions(b, status, batch);
        // slither-disable-next-line incorrect-equality (a count, index, mask or flag from a packed word, not a time or a balance)
        if (n == 0) revert BatchNotReportable(bountyId, batch);
        uint256 m = _popcount(mask);
        uint256 quorum = _quorum(status);
        // every member on duty reported, or the timeout passed; and always more than half of
        // the committee (opted in or not) reported
        if (mask != _onDuty(status) || m < quorum) {
            uint256 timeoutAt = _timeoutAt(bountyId, b, batch, n);
            if (block.timestamp < timeoutAt || m < quorum) revert BatchNotReady(bountyId, batch, m, timeoutAt);
        }
        st.quorum = quorum;
        if (given != m) revert WrongScoreCount(m, given);
        st.bountyId = bountyId;
        st.own = type(uint256).max;
        st.batch = batch;
        st.n = n;
        st.firstId = batch * _u(status, ST_BATCH_SIZE, 16);
        st.status = status;
        st.m = m;
        st.mask = mask;
        st.headKey = RewardMath.key(uint32(_u(b.scoring, SC_HEAD, 32)), _higher(status));
        st.token = _tokenOf(b.terms);
        st.lanes = new uint256[](m);
        st.mergedDigest = new uint256[](m);
        st.mergedCodec = new uint256[](m);
        st.oracles = new address[](m);
    }

    /// @dev The reports in committee order of their reporters, each matching the hash its
    ///      reporter posted; `own` (a member index, or none) is the sender's unstored report.
    function _collect(Settlement memory st, BatchReport[] calldata reports) private view {
        uint256 j = 0;
        uint256 mask = st.mask;
        uint256 r = 0;
        for (uint256 i = 0; mask != 0; ++i) {
            // slither-disable-next-line incorrect-equality (a count, index, mask or flag from a packed word, not a time or a balance)
            if (mask & (1 << i) == 0) continue;
            mask &= ~(1 << i);
            // slither-disable-next-line incorrect-equality (a count, index, mask or flag from a packed word, not a time or a balance)
            if (i == st.own) {
                st.oracles[r] = msg.sender;
                st.lanes[r] = st.ownLane;
                st.mergedDigest[r] = st.ownDigest;
                st.mergedCodec[r] = st.ownCodec;
            } else {
                address oracle = _memberAt(st.bountyId, i);
                BatchReport calldata rep = reports[j];
                bytes calldata scores = rep.scores;
                if (scores.length != _reportLength(st.n) || _reportDigest(st.batch, scores, rep.merged) != _members[st.bountyId][oracle] & HASH_MASK) {
                    revert ReportMismatch(st.bountyId, st.batch, j);
                }
                uint256 lane;
                assembly {
                    lane := scores.offset
                }
                st.oracles[r] = oracle;
                st.lanes[r] = lane;
                st.mergedDigest[r] = uint256(rep.merged.digest);
                st.mergedCodec[r] = rep.merged.codec;
                ++j;
            }
            ++r;
        }
    }

    /// @dev Decides the batch (rules R5-R7): medians, outcomes, payouts, fees, slashes.
    // slither-disable-next-line reentrancy-no-eth (the only external calls are to the immutable oracle registry, which calls nothing back; callers hold the lock, and slashed ETH can only be shared after it arrives)
    function _settle(Settlement memory st, Bounty storage b, uint256 recs) private {
        st.scoring = b.scoring;
        if (_hashRecords(recs, st.n) != _expectedHash(st.bountyId, b, st.status, st.batch, st.n)) {
            revert RecordsMismatch(st.bountyId, st.batch);
        }
        uint256[] memory medians = _medians(st);
        if (st.noMajority) {
            if (_retry(st, b)) return;
            return _void(st.bountyId, b, st.status, st.batch, st.n, recs, st.mask);
        }
        _shares(st, medians, recs);

        // R7b: a report without a commitment (a second round's) earns no fee; _finishBatch
        // clears the committed mask, so it is read first (in a first round every reporter committed)
        uint256 uncommitted = st.mask & ~(st.status >> ST_COMMITTED);
        if (uncommitted != 0) st.partialMask |= _reportBits(st.mask, uncommitted, 1);
        st.status = _finishBatch(st.bountyId, b, st.status, st.batch, st.n);
        st.scoring = _stamp(st.scoring, SC_LAST_SETTLED);
        uint256 fees = b.fees;
        // R5: a version when some update that beats the head has a share (so a quorum named one
        // vote, _shares), and the merged model beats the head too
        if (st.shareSum != 0 && medians[st.n] > st.headKey) {
            _accept(st, b, recs, medians[st.n], _u(fees, FE_CURVE_LENGTH, 8), _mergedFor(st));
        } else {
            st.shareSum = 0;
        }
        uint256 paid = _decide(st, recs, medians, fees);
        if (paid != 0) b.paid += uint128(paid); // the rounding dust stays in escrow
        b.status = st.status;
        b.scoring = st.scoring;

        // Effects are done; the only external calls left are to the oracle registry (immutable,
        // deployed with this market), whose slashed ETH is burned.
        _payOracles(st, b, fees);
    }

    /// @dev Rule R7b: no majority while some report is partial (st.partialMask: an UNAVAILABLE
    ///      submission score; an UNAVAILABLE merged score only once every median had its quorum,
    ///      as _vote sees it) and the batch had no second round: it gets one instead of a void. The partial reports are cleared, the full
    ///      ones stand (with the commitments not revealed, the committed mask: a commitment is
    ///      spent by its reveal, and a cleared one with it), the
    ///      timeout restarts now, `retried` marks the batch; the reportAndSettle sender's own full
    ///      report is stored so that it stands too. Nothing is paid or charged. Returns false
    ///      (void) when nothing is partial or the batch was retried already.
    function _retry(Settlement memory st, Bounty storage b) private returns (bool) {
        uint256 partials = st.partialMask;
        uint256 mark;
        unchecked {
            mark = st.batch + 1; // a batch number is below 2^32
        }
        // slither-disable-next-line incorrect-equality (a count, index, mask or flag from a packed word, not a time or a balance)
        if (partials == 0 || b.retried == mark) return false;
        b.retried = uint32(mark);
        uint256 mask = st.mask;
        uint256 cleared = _reportBits(mask, partials, 0);
        b.scoring = _stamp(st.scoring, SC_LAST_SETTLED);
        uint256 standing = mask & ~cleared;
        // the reporter mask := standing; the committed mask := standing and the commitments not
        // revealed (review of R7b, L1: a commitment is spent only by its reveal, so its member
        // can neither abstain, R12, nor report without it, and is charged if silent): the
        // cleared reporters' bits go, the rest stay
        b.status = (st.status & ~((0xffff << ST_REPORTED) | (cleared << ST_COMMITTED))) | (standing << ST_REPORTED);
        uint256 id = st.bountyId;
        uint256 own = st.own;
        uint256 digest = st.ownReport;
        bytes32 retried = BatchRetried.selector;
        assembly ("memory-safe") {
            // Equivalent to:
            //   if ((standing >> own) & 1 != 0) // the reportAndSettle sender's, full (own: all ones otherwise)
            //       _members[id][msg.sender] = digest | (_members[id][msg.sender] & LOW32);
            //   emit BatchRetried(id, mark - 1, uint16(cleared));
            if and(shr(own, standing), 1) {
                mstore(0, id)
                mstore(0x20, _members.slot)
                mstore(0x20, keccak256(0, 0x40))
                mstore(0, caller())
                let slot := keccak256(0, 0x40)
                sstore(slot, or(digest, and(sload(slot), 0xffffffff)))
            }
            mstore(0, cleared)
            log3(0, 0x20, retried, id, sub(mark, 1))
        }
        return true;
    }

    /// @dev Between report bits (bit r = the r-th report, reporters in committee order) and
    ///      member bits (bit i = committee member i) over the reporters in `mask`: `x` in report
    ///      bits to member bits (`toReports` 0), or member bits to report bits (`toReports` 1).
    function _reportBits(uint256 mask, uint256 x, uint256 toReports) private pure returns (uint256 out) {
        assembly ("memory-safe") {
            let r := 0
            for { let i := 0 } shr(i, mask) { i := add(i, 1) } {
                if and(shr(i, mask), 1) {
                    // from bit (toReports ? i : r) of x to bit (toReports ? r : i) of out
                    let from := xor(r, mul(xor(i, r), toReports))
                    out := or(out, shl(xor(i, mul(xor(i, r), toReports)), and(shr(from, x), 1)))
                    r := add(r, 1)
                }
            }
        }
    }

    /// @dev Pass 1: the median of the reported keys per submission (RewardMath.median: the
    ///      middle one, or for an even count the midpoint of the two middle ones), the deviant
    ///      reporters (R7: off the median, further than the tolerance or of the other validity,
    ///      and for an even count off both middle keys too; bit r = the r-th report),
    ///      and whether a quorum of reports lies within the tolerance of every median (else
    ///      st.noMajority); then the vote and the merged model's median (_vote, medians[n]).
    ///      Rule R7a: a report's UNAVAILABLE (2^32 - 2) is no key: each median, deviance and
    ///      agreement count is over the other reports; when a quorum of the committee says
    ///      UNAVAILABLE the median is invalid, nobody is deviant on it (st.lost); a report with
    ///      any UNAVAILABLE is partial (st.partialMask).
    function _medians(Settlement memory st) private pure returns (uint256[] memory medians) {
        medians = new uint256[](st.n + 1); // the batch's submissions, then the merged model
        uint256[] memory lanes = st.lanes;
        // key(s) = (s ^ kx) + (kx == 0) mod 2^32: s + 1 when higher is better, ~s when lower
        // is; the invalid score (all ones) maps to 0 either way, UNAVAILABLE to kx ^ 0xfffffffe
        // plus (kx == 0): 2^32 - 1 or 1, the key of no valid score (MAX_SCORE is 2^32 - 3)
        uint256 kx = _higher(st.status) ? 0 : 0xffffffff;
        // tolerance (bits 0-31) | head key (bits 32-63); then the deviant mask (from bit 64),
        // no majority (bit 128), some UNAVAILABLE (bit 129), the partial mask (from bit 160)
        uint256 acc = _u(st.scoring, SC_TOLERANCE, 32) | (st.headKey << 32);
        uint256 quorum = st.quorum;
        // three reports and no UNAVAILABLE among them: the closed form
        bool slow = lanes.length != 3;
        if (!slow) {
            uint256 fast = _medians3(lanes, medians, kx | acc << 32 | quorum << 96);
            slow = (fast >> 129) & 1 != 0;
            if (!slow) acc = fast & ((1 << 160) - 1); // _medians3 keeps the quorum from bit 160
        }
        // any other number of reports, or some UNAVAILABLE: the general path
        if (slow) acc = _mediansAny(lanes, medians, kx, _u(st.scoring, SC_TOLERANCE, 32) | quorum << 32);
        st.deviantMask = (acc >> 64) & 0xffff;
        st.partialMask = (acc >> 160) & 0xffff;
        st.noMajority = (acc >> 128) & 1 != 0;
        st.lost = (acc >> 130) & 1 != 0;
        if (!st.noMajority) _vote(st, medians);
    }

    /// @dev Pass 1 for any number of reports (rule R7a: UNAVAILABLE is no key): insertion sort
    ///      of each submission's available keys into scratch memory, then the median, the
    ///      deviant mask (from bit 64 of acc), no majority (bit 128), some submission
    ///      UNAVAILABLE to a quorum (bit 130) and the partial mask (from bit 160).
    function _mediansAny(uint256[] memory lanes, uint256[] memory medians, uint256 kx, uint256 acc)
        private
        pure
        returns (uint256)
    {
        assembly ("memory-safe") {
            function keyAt(at, x) -> k {
                k := and(add(xor(shr(224, calldataload(at)), x), iszero(x)), 0xffffffff)
            }
            // deviant: beyond the tolerance, or invalid where the median is not (or the reverse)
            function deviant(k, med, tol) -> d {
                d := or(or(gt(k, add(med, tol)), gt(med, add(k, tol))), xor(iszero(k), iszero(med)))
            }
            // UNAVAILABLE's key; kx from bit 32 is spare: ux is kept there
            kx := or(kx, shl(32, and(add(xor(0xfffffffe, kx), iszero(kx)), 0xffffffff)))
            // scratch: the sorted keys, past the free memory pointer
            // the submissions only: the merged model's median is the vote's (_vote)
            for { let i := 0 } lt(i, sub(mload(medians), 1)) { i := add(i, 1) } {
                let a := 0 // available keys so far
                for { let r := 0 } lt(r, mload(lanes)) { r := add(r, 1) } {
                    let k := keyAt(add(mload(add(lanes, shl(5, add(r, 1)))), shl(2, i)), and(kx, 0xffffffff))
                    if eq(k, shr(32, kx)) {
                        // slither-disable-next-line incorrect-shift (shl(160 + r, 1) is 1 shifted by 160 + r: bit r of the partial mask)
                        acc := or(acc, shl(add(160, r), 1))
                        continue
                    }
                    let j := a
                    for {} gt(j, 0) { j := sub(j, 1) } {
                        let prev := mload(add(mload(0x40), shl(5, sub(j, 1))))
                        if iszero(gt(prev, k)) { break }
                        mstore(add(mload(0x40), shl(5, j)), prev)
                    }
                    mstore(add(mload(0x40), shl(5, j)), k)
                    a := add(a, 1)
                }
                // UNAVAILABLE to a quorum of the committee (m - a >= quorum): invalid, nobody
                // deviant on it. Else (then a >= 1, as m >= quorum > m - a):
                // med = a % 2 == 1 ? sorted[a / 2]
                //     : (sorted[a / 2 - 1] == 0 ? 0 : (sorted[a / 2 - 1] + sorted[a / 2]) / 2)
                let med := 0
                let lost := iszero(lt(sub(mload(lanes), a), shr(32, and(acc, 0xffffffffffffffff))))
                acc := or(acc, shl(130, lost))
                if iszero(lost) {
                    let half := shr(1, a)
                    med := mload(add(mload(0x40), shl(5, half)))
                    if iszero(and(a, 1)) {
                        let lo := mload(add(mload(0x40), shl(5, sub(half, 1))))
                        med := mul(iszero(iszero(lo)), shr(1, add(lo, med)))
                    }
                    let agree := 0
                    for { let r := 0 } lt(r, mload(lanes)) { r := add(r, 1) } {
                        let k := keyAt(add(mload(add(lanes, shl(5, add(r, 1)))), shl(2, i)), and(kx, 0xffffffff))
                        if eq(k, shr(32, kx)) { continue }
                        // agreement: with the median; deviance (R7): off it and off both middle
                        // keys sorted[(a - 1) / 2] <= sorted[a / 2] (both the median for an odd
                        // count); a key off both lies outside them (they are adjacent in the order)
                        let d := deviant(k, med, and(acc, 0xffffffff))
                        agree := add(agree, iszero(d))
                        if d {
                            d := and(
                                deviant(k, mload(add(mload(0x40), shl(5, shr(1, sub(a, 1))))), and(acc, 0xffffffff)),
                                deviant(k, mload(add(mload(0x40), shl(5, half))), and(acc, 0xffffffff))
                            )
                        }
                        acc := or(acc, shl(add(64, r), d))
                    }
                    // fewer than a quorum of the available reports within tolerance: no decision
                    // (bit 128); so also when fewer than a quorum are available
                    if lt(agree, shr(32, and(acc, 0xffffffffffffffff))) { acc := or(acc, shl(128, 1)) }
                }
                mstore(add(medians, shl(5, add(i, 1))), med)
            }
        }
        return acc;
    }

    /// @dev Pass 1c (rules R4, R5, R7, R7a): a report's shares and merged CID are one vote,
    ///      keccak256(shares, digest, codec) (packed; honest members compute identical ones,
    ///      G7). A partial report votes over what it fetched (its UNAVAILABLE slots get no
    ///      share); one whose merged score is UNAVAILABLE names no vote. A quorum must name one
    ///      vote (st.agreed: its first report); a full report naming another is deviant only
    ///      when a quorum of full reports named the agreed one (then an honest full report is
    ///      among them, and every honest full report names it), a partial report never. The
    ///      merged model's median, deviance and agreement are over the reports naming the
    ///      agreed vote (medians[n]). No vote has a quorum: no decision (st.noMajority), unless
    ///      some submission is UNAVAILABLE to a quorum (st.lost): then the batch is decided
    ///      without a version (st.agreed = NO_VOTE), so that submission is slashed, not voided.
    function _vote(Settlement memory st, uint256[] memory medians) private pure {
        uint256 m = st.m;
        uint256 n = st.n;
        uint256[] memory votes = new uint256[](m);
        uint256 voters = 0;
        for (uint256 r = 0; r < m; ++r) {
            uint256 lane = st.lanes[r];
            uint256 digest = st.mergedDigest[r];
            uint256 codec = st.mergedCodec[r];
            uint256 score;
            assembly ("memory-safe") {
                // the shares: 2n bytes after the n + 1 scores of 4 bytes each (rule R1)
                let p := mload(0x40)
                calldatacopy(p, add(lane, add(shl(2, n), 4)), shl(1, n))
                mstore(add(p, shl(1, n)), digest)
                mstore8(add(p, add(shl(1, n), 0x20)), codec)
                mstore(add(votes, shl(5, add(r, 1))), keccak256(p, add(shl(1, n), 0x21)))
                score := shr(224, calldataload(add(lane, shl(2, n)))) // the merged model's score
            }
            // slither-disable-next-line incorrect-equality (a score compared with UNAVAILABLE's code, not a time or a balance)
            if (score == RewardMath.UNAVAILABLE) st.partialMask |= 1 << r;
            else voters |= 1 << r;
        }
        uint256 full = ((1 << m) - 1) & ~st.partialMask;
        for (uint256 r = 0; r < m; ++r) {
            if ((voters >> r) & 1 == 0) continue;
            uint256 same = 0; // the reports naming r's vote
            uint256 named = 0; // how many
            for (uint256 q = 0; q < m; ++q) {
                // slither-disable-next-line incorrect-equality (a hash compared, not a time or a balance)
                if ((voters >> q) & 1 != 0 && votes[q] == votes[r]) {
                    same |= 1 << q;
                    ++named;
                }
            }
            if (named < st.quorum) continue;
            st.agreed = r;
            // slither-disable-next-line incorrect-equality (a mask compared, not a time or a balance)
            if (same & full == same ? named >= st.quorum : _popcount(same & full) >= st.quorum) {
                st.deviantMask |= full & ~same;
            }
            // (three reports naming one vote had a closed form, _mergedMedian3, until R7b needed
            // its bytes, when BountyMarket's initcode still embedded the extension's: EIP-3860)
            medians[n] = _mergedMedian(st, same);
            return;
        }
        if (st.lost) st.agreed = NO_VOTE;
        else st.noMajority = true;
    }

    /// @dev The merged model's median over the reports in `same` (those naming the agreed vote,
    ///      rule R7a), its deviants (into st.deviantMask; R7, as in _mediansAny: off the median
    ///      and off both middle keys) and whether a quorum of them agrees
    ///      with it (else st.noMajority). As _mediansAny does for a submission: the keys
    ///      (key(s) = (s ^ kx) + (kx == 0) mod 2^32) sorted into scratch memory, RewardMath.median.
    function _mergedMedian(Settlement memory st, uint256 same) private pure returns (uint256 med) {
        uint256 tol = _u(st.scoring, SC_TOLERANCE, 32);
        uint256 kx = _higher(st.status) ? 0 : 0xffffffff;
        uint256 slot = 4 * st.n; // the merged model's score: after the n submissions' (rule R1)
        uint256[] memory keys = st.lanes; // each report's lane; read as keys below
        uint256 deviants = 0;
        uint256 agree = 0;
        assembly ("memory-safe") {
            function keyAt(at, x) -> k {
                k := and(add(xor(shr(224, calldataload(at)), x), iszero(x)), 0xffffffff)
            }
            // deviant: beyond the tolerance, or invalid where m is not (or the reverse)
            function deviant(k, m, t) -> d {
                d := or(or(gt(k, add(m, t)), gt(m, add(k, t))), xor(iszero(k), iszero(m)))
            }
            let base := mload(0x40) // scratch: the sorted keys, past the free memory pointer
            let a := 0
            for { let q := 0 } lt(q, mload(keys)) { q := add(q, 1) } {
                if iszero(and(shr(q, same), 1)) { continue }
                let k := keyAt(add(mload(add(keys, shl(5, add(q, 1)))), slot), kx)
                let j := a
                for {} gt(j, 0) { j := sub(j, 1) } {
                    let prev := mload(add(base, shl(5, sub(j, 1))))
                    if iszero(gt(prev, k)) { break }
                    mstore(add(base, shl(5, j)), prev)
                }
                mstore(add(base, shl(5, j)), k)
                a := add(a, 1)
            }
            // med = a % 2 == 1 ? sorted[a / 2]
            //     : (sorted[a / 2 - 1] == 0 ? 0 : (sorted[a / 2 - 1] + sorted[a / 2]) / 2)
            // and the middle keys lo = sorted[(a - 1) / 2] <= hi = sorted[a / 2]
            let half := shr(1, a)
            let hi := mload(add(base, shl(5, half)))
            let lo := hi
            med := hi
            if iszero(and(a, 1)) {
                lo := mload(add(base, shl(5, sub(half, 1))))
                med := mul(iszero(iszero(lo)), shr(1, add(lo, hi)))
            }
            for { let q := 0 } lt(q, mload(keys)) { q := add(q, 1) } {
                if iszero(and(shr(q, same), 1)) { continue }
                let k := keyAt(add(mload(add(keys, shl(5, add(q, 1)))), slot), kx)
                // agreement: with the median; deviance (R7): from both middle keys
                let d := deviant(k, med, tol)
                agree := add(agree, iszero(d))
                if d { d := and(deviant(k, lo, tol), deviant(k, hi, tol)) }
                deviants := or(deviants, shl(q, d))
            }
        }
        st.deviantMask |= deviants;
        if (agree < st.quorum) st.noMajority = true;
    }

    /// @dev Pass 1 for three reports: the closed-form median, the deviant mask (from bit 64
    ///      of acc) and no majority (bit 128 of acc). `params`: kx (bits 0-31) | tolerance
    ///      (32-63) | head key (64-95) | quorum (96-103).
    function _medians3(uint256[] memory lanes, uint256[] memory medians, uint256 params) private pure returns (uint256 acc) {
        assembly ("memory-safe") {
            // the key of UNAVAILABLE (R7a): seen anywhere, bit 129 sends the caller to the general path
            let ux := and(add(xor(0xfffffffe, and(params, 0xffffffff)), iszero(and(params, 0xffffffff))), 0xffffffff)
            let unavailable := 0
            let l0 := mload(add(lanes, 0x20))
            let l1 := mload(add(lanes, 0x40))
            let l2 := mload(add(lanes, 0x60))
            // tolerance | head key << 32 | quorum << 160; deviant bits from 64, no majority at 128
            acc := or(and(shr(32, params), 0xffffffffffffffff), shl(160, shr(96, params)))
            params := and(params, 0xffffffff) // kx
            // the submissions only: the merged model's median is the vote's (_vote)
            for { let off := 0 } lt(off, shl(2, sub(mload(medians), 1))) { off := add(off, 4) } {
                let a := and(add(xor(shr(224, calldataload(add(l0, off))), params), iszero(params)), 0xffffffff)
                let c := and(add(xor(shr(224, calldataload(add(l1, off))), params), iszero(params)), 0xffffffff)
                let d := and(add(xor(shr(224, calldataload(add(l2, off))), params), iszero(params)), 0xffffffff)
                // slither-disable-next-line incorrect-equality (keys compared with UNAVAILABLE's, not a time or a balance)
                unavailable := or(unavailable, or(or(eq(a, ux), eq(c, ux)), eq(d, ux)))
                // lower median of three: max(min(a, c), min(max(a, c), d))
                let med := c
                let lo := a
                if gt(a, c) {
                    med := a
                    lo := c
                }
                if lt(d, med) { med := d }
                if lt(med, lo) { med := lo }
                mstore(add(medians, add(shl(3, off), 0x20)), med)
                // deviant: beyond the tolerance, or invalid where the median is not (or the reverse)
                lo := and(acc, 0xffffffff)
                a := or(or(gt(a, add(med, lo)), gt(med, add(a, lo))), xor(iszero(a), iszero(med)))
                c := or(or(gt(c, add(med, lo)), gt(med, add(c, lo))), xor(iszero(c), iszero(med)))
                d := or(or(gt(d, add(med, lo)), gt(med, add(d, lo))), xor(iszero(d), iszero(med)))
                acc := or(acc, shl(64, or(a, or(shl(1, c), shl(2, d)))))
                // fewer than a quorum of the three within tolerance: no decision (bit 128)
                if lt(sub(3, add(a, add(c, d))), shr(160, acc)) { acc := or(acc, shl(128, 1)) }
            }
            acc := or(acc, shl(129, unavailable))
        }
    }

    /// @dev A report's length (rule R1): a uint32 score per submission, the merged model's
    ///      uint32 score, then a uint16 share per submission.
    function _reportLength(uint256 n) private pure returns (uint256) {
        return 6 * n + 4;
    }

    /// @dev Pass 1b (rule R5): the agreed vote's shares, within the caps: a share only on a
    ///      submission whose median beats the head and whose base is at most MAX_LAG versions
    ///      behind it, and a sum of at most BPS; over them, no version (st.shareSum 0).
    ///      st.shares, st.shareSum, st.bestIndex (the largest share, the lowest id on ties) and
    ///      st.stale (bit i: based too far behind, G1).
    function _shares(Settlement memory st, uint256[] memory medians, uint256 recs) private pure {
        uint256 n = st.n;
        uint256[] memory shares = new uint256[](n);
        uint256 versions = _u(st.status, ST_VERSIONS, 32);
        // no vote (split, with a submission UNAVAILABLE to a quorum, R7a): every share 0, no version
        bool voted = st.agreed != NO_VOTE;
        uint256 lane = voted ? st.lanes[st.agreed] + 4 * (n + 1) : 0;
        uint256 sum = 0;
        uint256 best = 0;
        uint256 stale = 0;
        bool capped = true;
        for (uint256 i = 0; i < n; ++i) {
            uint256 share;
            assembly ("memory-safe") {
                share := mul(voted, shr(240, calldataload(add(lane, shl(1, i)))))
            }
            if (_baseAt(recs, i) + MAX_LAG < versions) stale |= 1 << i;
            // slither-disable-next-line incorrect-equality (a share of zero: nothing to pay, not a balance compared)
            if (share == 0) continue;
            if (stale & (1 << i) != 0 || medians[i] <= st.headKey) capped = false;
            shares[i] = share;
            sum += share;
            if (share > shares[best]) best = i;
        }
        st.shares = shares;
        st.shareSum = capped && sum <= BPS ? sum : 0;
        st.bestIndex = best;
        st.stale = stale;
    }

    /// @dev Record i's base version.
    function _baseAt(uint256 recs, uint256 i) private pure returns (uint256 base) {
        assembly ("memory-safe") {
            let stride := shr(128, recs)
            let rec := add(and(recs, 0xffffffffffffffffffffffffffffffff), mul(i, stride))
            base := calldataload(add(rec, 0x40))
            if eq(stride, 69) { base := shr(224, calldataload(add(rec, 32))) }
        }
    }

    /// @dev The records hash of n records at cursor `recs`: h = keccak256(h, contributor,
    ///      stake, baseVersion, digest, codec), top 224 bits (rule U4). A packed record is that
    ///      preimage's tail as it stands; a SubmissionRecord with dirty high bits is not the
    ///      record it hashes to, and makes the result match nothing.
    function _hashRecords(uint256 recs, uint256 n) private pure returns (bytes32 h) {
        h = bytes32(RECORDS_SEED);
        assembly ("memory-safe") {
            let scratch := mload(0x40) // 101 bytes past the free memory pointer
            let stride := shr(128, recs)
            let rec := and(recs, 0xffffffffffffffffffffffffffffffff)
            let end := add(rec, mul(n, stride))
            switch stride
            case 69 {
                for {} lt(rec, end) { rec := add(rec, 69) } {
                    mstore(scratch, h)
                    calldatacopy(add(scratch, 0x20), rec, 69)
                    h := and(keccak256(scratch, 0x65), not(0xffffffff))
                }
            }
            default {
                let dirty := 0
                for {} lt(rec, end) { rec := add(rec, 0xa0) } {
                    let who := calldataload(rec)
                    let stake := calldataload(add(rec, 0x20))
                    let version := calldataload(add(rec, 0x40))
                    let codec := calldataload(add(rec, 0x80))
                    mstore(scratch, h)
                    mstore(add(scratch, 0x20), or(shl(96, who), stake))
                    mstore(add(scratch, 0x40), shl(224, version))
                    mstore(add(scratch, 0x44), calldataload(add(rec, 0x60)))
                    mstore8(add(scratch, 0x64), codec)
                    h := and(keccak256(scratch, 0x65), not(0xffffffff))
                    dirty := or(dirty, or(or(shr(160, who), shr(96, stake)), or(shr(32, version), shr(8, codec))))
                }
                if dirty { h := 1 }
            }
        }
    }

    /// @dev Record i at cursor `recs`: contributor, stake field (the ONE_OFF bit | what
    ///      arrived) and update CID.
    function _recordAt(uint256 recs, uint256 i)
        private
        pure
        returns (address who, uint256 stake, bytes32 digest, uint8 codec)
    {
        assembly ("memory-safe") {
            let stride := shr(128, recs)
            let rec := add(and(recs, 0xffffffffffffffffffffffffffffffff), mul(i, stride))
            switch stride
            case 69 {
                who := shr(96, calldataload(rec))
                stake := shr(160, calldataload(add(rec, 20)))
                digest := calldataload(add(rec, 36))
                codec := shr(248, calldataload(add(rec, 68)))
            }
            default {
                who := calldataload(rec)
                stake := calldataload(add(rec, 0x20))
                digest := calldataload(add(rec, 0x60))
                codec := calldataload(add(rec, 0x80))
            }
        }
    }

    /// @dev Pass 2, in id order: every submission's median score goes to `st.scores`; a merged
    ///      one (a share, and a version) gets its stake back plus its part of the reward
    ///      (UpdateMerged); every other one is rejected (stake returned, its bit set in
    ///      `st.rejected`) or, unless stale, slashed when invalid or worse than the head by more
    ///      than the margin (slashBps of its stake burned, the rest returned). Rejections are
    ///      reported once for the batch, in BatchSettled; each merge and slash has its own
    ///      event. Returns what the merged updates were paid of the reward.
    function _decide(Settlement memory st, uint256 recs, uint256[] memory medians, uint256 fees) private returns (uint256 paid) {
        // head key (16-47) | margin (48-79) | slashBps (80-95) | first id (96-127) | lower is better (bit 128)
        uint256 params = (st.headKey << 16) | (_u(fees, FE_SLASH_MARGIN, 32) << 48) | (_u(fees, FE_SLASH_BPS, 16) << 80)
            | (st.firstId << 96) | (_higher(st.status) ? 0 : 1 << 128);
        uint256 burned = 0;
        uint256 rejected = 0;
        // 4 bytes per score, written 32 at a time in id order: one spare word for the last
        bytes memory scores = new bytes(4 * st.n + 32);
        // event data, then the constants the loop needs, past the free memory pointer
        uint256 data;
        assembly ("memory-safe") {
            mstore(scores, shl(2, sub(mload(medians), 1))) // the submissions' medians, not the merged model's
            data := mload(0x40)
        }
        _stash(data, st.bountyId, st.token, st.n);
        _stashShares(data, st);
        assembly ("memory-safe") {
            for { let i := 0 } lt(i, mload(add(data, 0x100))) { i := add(i, 1) } {
                let med := mload(add(medians, shl(5, add(i, 1))))
                // score(key) = (key - 1) when higher is better, ~key when lower is; invalid for key 0
                let score := 0xffffffff
                if med {
                    score := sub(med, 1)
                    if shr(128, params) { score := xor(med, 0xffffffff) }
                }
                mstore(add(add(scores, 0x20), shl(2, i)), shl(224, score))
                let rec := add(and(recs, 0xffffffffffffffffffffffffffffffff), mul(i, shr(128, recs)))
                let who := calldataload(rec)
                let payout := calldataload(add(rec, 0x20))
                if eq(shr(128, recs), 69) {
                    who := shr(96, who)
                    payout := shr(160, calldataload(add(rec, 20)))
                }
                // a one-off submission's payout goes to its group's root (see _stash)
                mstore(add(data, 0xe0), and(payout, ONE_OFF))
                payout := and(payout, sub(ONE_OFF, 1))
                // its share of the merged progress, if the batch made a version (see _stashShares)
                let share := 0
                if mload(add(data, 0x140)) { share := mload(add(mload(add(data, 0x120)), shl(5, add(i, 1)))) }
                switch share
                case 0 {
                    // refunded: stale (G1), or not worse than the head by more than the margin
                    switch and(iszero(and(shr(i, mload(add(data, 0x1a0))), 1)),
                        or(iszero(med), lt(add(med, and(shr(48, params), 0xffffffff)), and(shr(16, params), 0xffffffff))))
                    // slither-disable-next-line incorrect-equality,incorrect-shift (a flag from a packed word, not a time or a balance; shl(i, 1) is 1 shifted by i: bit i of the mask)
                    case 0 { rejected := or(rejected, shl(i, 1)) }
                    default {
                        let cut := div(mul(payout, and(shr(80, params), 0xffff)), 10000)
                        burned := add(burned, cut)
                        payout := sub(payout, cut)
                        mstore(data, score)
                        mstore(add(data, 0x20), cut)
                        mstore(add(data, 0x40), payout)
                        log4(data, 0x60, mload(add(data, 0x60)), mload(add(data, 0x80)), add(and(shr(96, params), 0xffffffff), i), who)
                    }
                }
                default {
                    // merged: stake back plus floor(reward * share / BPS), the agreed vector exactly
                    let part := div(mul(mload(add(data, 0x160)), share), BPS)
                    paid := add(paid, part)
                    payout := add(payout, part)
                    mstore(data, score)
                    mstore(add(data, 0x20), share)
                    mstore(add(data, 0x40), part)
                    log4(data, 0x60, mload(add(data, 0x180)), mload(add(data, 0x80)), add(and(shr(96, params), 0xffffffff), i), who)
                }
                if and(lt(payout, ONE_OFF), iszero(iszero(mul(payout, mload(add(data, 0xe0)))))) {
                    // leaf = keccak256(abi.encodePacked(who, uint96 payout, token))
                    // the first one allocates the leaves: n rounded up to groups of 32, zeroed
                    if iszero(mload(add(data, 0xc0))) {
                        mstore(add(data, 0xc0), add(data, 0x1c0))
                        mstore(add(data, 0x1c0), and(add(mload(add(data, 0x100)), 31), not(31)))
                        calldatacopy(add(data, 0x1e0), calldatasize(), shl(5, mload(add(data, 0x1c0))))
                        mstore(0x40, add(add(data, 0x1e0), shl(5, mload(add(data, 0x1c0)))))
                    }
                    mstore(0, or(shl(96, who), payout))
                    mstore(0x20, shl(96, mload(add(data, 0xa0))))
                    mstore(add(mload(add(data, 0xc0)), shl(5, add(i, 1))), keccak256(0, 0x34))
                    payout := 0
                }
                if payout {
                    // _claimable[who][token] += payout
                    mstore(0, who)
                    mstore(0x20, _claimable.slot)
                    mstore(0x20, keccak256(0, 0x40))
                    mstore(0, mload(add(data, 0xa0)))
                    let slot := keccak256(0, 0x40)
                    let sum := add(sload(slot), payout)
                    if lt(sum, payout) { revert(0, 0) }
                    sstore(slot, sum)
                }
            }
        }
        st.rejected = rejected;
        st.scores = scores;
        if (burned != 0) _pendingBurn[st.token] += burned;
        uint256[] memory leaves;
        assembly ("memory-safe") {
            let allocated := mload(add(data, 0xc0))
            if allocated { leaves := allocated }
        }
        if (leaves.length != 0) _commitPayouts(st.bountyId, st.batch, leaves);
    }

    /// @dev keccak256(abi.encodePacked(who, uint96 amount, token)): a one-off payout's leaf.
    function _leaf(address who, uint256 amount, address token) private pure returns (uint256 leaf) {
        assembly ("memory-safe") {
            mstore(0, or(shl(96, who), and(amount, 0xffffffffffffffffffffffff)))
            mstore(0x20, shl(96, token))
            leaf := keccak256(0, 0x34)
        }
    }

    /// @dev Stores the Merkle root (top 224 bits) of each group of 32 leaves that holds one:
    ///      a complete binary tree of depth 5 over the group's positions, each node
    ///      keccak256(left, right); claimPayout walks it back up.
    function _commitPayouts(uint256 bountyId, uint256 batch, uint256[] memory leaves) private {
        for (uint256 g = 0; g < leaves.length >> 5; ++g) {
            uint256 root;
            assembly ("memory-safe") {
                let base := add(add(leaves, 0x20), shl(10, g))
                let any := 0
                for { let j := 0 } lt(j, 32) { j := add(j, 1) } { any := or(any, mload(add(base, shl(5, j)))) }
                if any {
                    for { let w := 16 } w { w := shr(1, w) } {
                        for { let j := 0 } lt(j, w) { j := add(j, 1) } {
                            mstore(add(base, shl(5, j)), keccak256(add(base, shl(6, j)), 0x40))
                        }
                    }
                    root := and(mload(base), not(0xffffffff))
                }
            }
            if (root != 0) _payouts[bountyId][(batch << 3) | g] = root;
        }
    }

    /// @dev Writes _decide's loop constants after its event data at `data` (past the free
    ///      memory pointer): the slash event's signature, the bounty id, the token and the
    ///      batch's size (for the one-off leaves).
    function _stash(uint256 data, uint256 bountyId, address token, uint256 n) private pure {
        bytes32 slashed = StakeSlashed.selector;
        assembly ("memory-safe") {
            mstore(add(data, 0x60), slashed)
            mstore(add(data, 0x80), bountyId)
            mstore(add(data, 0xa0), token)
            // the one-off leaves (uint256[]), allocated at data + 0x1c0 by the first one-off
            // payout, or 0; data + 0xe0: the current record's ONE_OFF bit
            mstore(add(data, 0xc0), 0)
            mstore(add(data, 0x100), n)
        }
    }

    /// @dev After _stash, the shares: data + 0x120 the shares array, 0x140 their sum (0: no
    ///      version), 0x160 the reward they split, 0x180 UpdateMerged's signature, 0x1a0 the
    ///      stale mask.
    function _stashShares(uint256 data, Settlement memory st) private pure {
        uint256[] memory shares = st.shares;
        uint256 sum = st.shareSum;
        uint256 reward = st.reward;
        uint256 stale = st.stale;
        bytes32 merged = UpdateMerged.selector;
        assembly ("memory-safe") {
            mstore(add(data, 0x120), shares)
            mstore(add(data, 0x140), sum)
            mstore(add(data, 0x160), reward)
            mstore(add(data, 0x180), merged)
            mstore(add(data, 0x1a0), stale)
        }
    }

    /// @dev The merged model becomes the next version: reward, head, lineage.
    function _accept(Settlement memory st, Bounty storage b, uint256 recs, uint256 med, uint256 curveLength, Cid memory merged)
        private
    {
        uint256 status = st.status;
        uint256 scoring = st.scoring;
        bool higher = _higher(status);
        uint256 version = _u(status, ST_VERSIONS, 32) + 1;
        uint256 reward = _reward(st, b, med, curveLength);
        uint32 score = RewardMath.scoreOf(uint64(med), higher);
        status = _set(status, ST_VERSIONS, 32, version);
        scoring = _set(scoring, SC_HEAD, 32, score);
        if (med >= RewardMath.key(uint32(_u(scoring, SC_TARGET, 32)), higher)) {
            // the target ends the bounty
            status |= F_ENDED;
            // slither-disable-next-line incorrect-equality (0 means "not ended by cancel or target", not a moment in time)
            if (_u(scoring, SC_ENDED_AT, 64) == 0) scoring = _stamp(scoring, SC_ENDED_AT);
        }
        st.status = status;
        st.scoring = scoring;
        st.reward = reward;
        _newVersion(st, recs, version, score, reward, merged);
    }

    /// @dev The version's lineage record and event; its author is the merged update with the
    ///      largest share. Every merged update is paid in _decide.
    function _newVersion(Settlement memory st, uint256 recs, uint256 version, uint32 score, uint256 reward, Cid memory merged)
        private
    {
        (address author,, bytes32 digest, uint8 codec) = _recordAt(recs, st.bestIndex);
        _versionAuthors[st.bountyId][version] = author;
        emit VersionAccepted(
            st.bountyId, version, author, version - 1, st.firstId + st.bestIndex, score, Cid(digest, codec), merged, reward
        );
    }

    /// @dev floor(R * (c(p_new) - c(p_old))) for the merged model's median (rule R6), p_old the
    ///      head's progress: what the curve adds over the progress this version made, at today's
    ///      R. What the merged updates are paid of it is added to `paid` after _decide.
    function _reward(Settlement memory st, Bounty storage b, uint256 med, uint256 curveLength) private view returns (uint256 reward) {
        bool higher = _higher(st.status);
        uint64 baselineKey = RewardMath.key(uint32(_u(st.scoring, SC_BASELINE, 32)), higher);
        uint64 targetKey = RewardMath.key(uint32(_u(st.scoring, SC_TARGET, 32)), higher);
        uint256[4] storage curve = _curves[st.bountyId];
        // c(p) of the head the batch was scored against, and of the accepted median
        uint256 cOld = RewardMath.curveAtStored(curve, curveLength, RewardMath.progress(uint64(st.headKey), baselineKey, targetKey));
        uint256 cNew = RewardMath.curveAtStored(curve, curveLength, RewardMath.progress(uint64(med), baselineKey, targetKey));
        reward = RewardMath.rewardBetween(b.reward, b.paid, cOld, cNew);
    }

    /// @dev The merged-model CID of the vote a quorum of the committee names (rule R5, _vote):
    ///      floor(size / 2) + 1 reports, so a minority cannot choose it. Settlement reaches
    ///      here only with a positive agreed share sum, so only when a quorum named one vote.
    function _mergedFor(Settlement memory st) private pure returns (Cid memory merged) {
        return Cid(bytes32(st.mergedDigest[st.agreed]), uint8(st.mergedCodec[st.agreed]));
    }

    /// @dev The batch's fee is divided over the reports that are not deviant (R7: with an even
    ///      count, off the median and both middle keys); the shares of partial
    ///      reports (R7a) and of reports without a commitment (R7b; both in st.partialMask by now)
    ///      are burned, so that making a member partial moves no fee to anybody (R9); the deviant
    ///      ones lose one offence's share of their bond for this bounty (rule C3), which is burned.
    // slither-disable-next-line reentrancy-no-eth (the only external calls are to the immutable oracle registry, which calls nothing back; callers hold the lock, and slashed ETH can only be burned after it arrives)
    function _payOracles(Settlement memory st, Bounty storage b, uint256 fees) private {
        uint256 good = st.m - _popcount(st.deviantMask);
        // slither-disable-next-line incorrect-equality (a count, index, mask or flag from a packed word, not a time or a balance)
        uint256 share = good == 0 ? 0 : _u(fees, FE_FEE, 96) / good;
        // FE_PAID counts the fees spent, paid or burned; it never passes the escrowed fee * maxBatches,
        // below 2^96 (checked at creation), so the sum never carries out of its field
        // slither-disable-next-line divide-before-multiply (share rounds down on purpose: the dust stays with the requester)
        if (share != 0) b.fees = fees + (share * good << FE_PAID);
        emit BatchSettled(st.bountyId, st.batch, st.m, share, st.rejected, st.scores);
        for (uint256 r = 0; r < st.m && share != 0; ++r) {
            // a partial or uncommitted report's share is burned (R7a, R7b): neither paid nor refunded
            // slither-disable-next-line incorrect-equality (a count, index, mask or flag from a packed word, not a time or a balance)
            if (st.deviantMask & (1 << r) == 0) (st.partialMask & (1 << r) == 0 ? _claimable[st.oracles[r]] : _pendingBurn)[st.token] += share;
        }
        // slither-disable-next-line incorrect-equality (a count, index, mask or flag from a packed word, not a time or a balance)
        if (st.deviantMask == 0) return;
        uint256 bonds = _bonds(b);
        uint256 burned = 0;
        for (uint256 r = 0; r < st.m; ++r) {
            if (st.deviantMask & (1 << r) != 0) burned += _slashBond(st.bountyId, st.batch, st.oracles[r], bonds);
        }
        if (burned != 0) _pendingBurn[ETH] += burned;
    }

    /// @dev The records hash the batch's records must match.
    function _expectedHash(uint256 bountyId, Bounty storage b, uint256 status, uint256 batch, uint256 n)
        private
        view
        returns (bytes32)
    {
        // slither-disable-next-line incorrect-equality (a count, index, mask or flag from a packed word, not a time or a balance)
        if (n == _u(status, ST_BATCH_SIZE, 16)) return bytes32(_fullBatchHash(bountyId, b, status, batch) & HASH_MASK);
        return bytes32(b.intake & HASH_MASK); // the last, partial batch
    }

    /// @dev The batch is decided: the next one becomes reportable, its reporter mask starts
    ///      empty, a spilled batch's own slot is freed (the events keep the record), and
    ///      F_SPILLED says whether the next batch filled while this one was pending.
    ///      Returns the new status word, for the caller to write.
    function _finishBatch(uint256 bountyId, Bounty storage b, uint256 status, uint256 batch, uint256 n)
        private
        returns (uint256)
    {
        uint256 batchSize = _u(status, ST_BATCH_SIZE, 16);
        // slither-disable-next-line incorrect-equality (a count, index, mask or flag from a packed word, not a time or a balance)
        if (n == batchSize && status & F_SPILLED != 0) delete _batchHashes[bountyId][batch];
        // the next batch starts with the standing sit-outs (C7) off duty; cold, read only if any
        uint256 late = status & F_STANDING != 0 ? b.standingOut : 0;
        status = _set(_set(_set(_set(status, ST_NEXT_BATCH, 32, batch + 1), ST_REPORTED, 16, 0), ST_COMMITTED, 16, 0), ST_LATE, 16, late)
            & ~F_SPILLED;
        if ((b.intake & LOW32) >= (batch + 2) * batchSize) status |= F_SPILLED;
        return status;
    }

    // ----------------------------------------------------------------- money

    function _claim(address token, address to) private {
        _requireUnlocked(); // not from a token hook while the market measures a transfer in
        uint256 balance = _claimable[msg.sender][token];
        uint256 amount = balance & ~KEPT;
        if (amount == 0) revert NothingToClaim(msg.sender, token);
        // effects before the transfer; the slot is cleared (its refund goes to the claimer), so
        // the next credit creates it again unless a stake from the balance keeps it first
        _claimable[msg.sender][token] = 0;
        emit Claimed(msg.sender, token, to, amount);
        _pushFunds(token, to, amount);
    }

    function _pushFunds(address token, address to, uint256 amount) private {
        if (token == ETH) {
            // slither-disable-next-line arbitrary-send-eth (pays only the caller's own claimable, to the address the caller chose)
            (bool ok,) = to.call{value: amount}("");
            if (!ok) revert EthTransferFailed(to, amount);
        } else if (!_balanceChecked(token)) {
            IERC20(token).safeTransfer(to, amount); // listed fixed-balance by the deployer: no books
        } else {
            _payChecked(token, to, amount);
        }
    }

    /// @dev The market's balance of ERC-20 `token`. Equivalent to
    ///      `IERC20(token).balanceOf(address(this))` without the code-size check (the token moved
    ///      money in before, so it has code); a call that fails or returns short reverts
    ///      SafeERC20FailedOperation(token).
    function _held(address token) private view returns (uint256 held) {
        bool ok;
        assembly ("memory-safe") {
            mstore(0, shl(224, 0x70a08231)) // balanceOf(address)
            mstore(4, address())
            ok := and(gt(returndatasize(), 0x1f), staticcall(gas(), token, 0, 0x24, 0, 0x20))
            held := mload(0)
        }
        if (!ok) revert SafeERC20.SafeERC20FailedOperation(token);
    }

    /// @dev Rule P4, every payout of a balance-checked ERC-20: the market must still hold what it
    ///      owes in it. A balance that fell without a transfer (a negative rebase) would otherwise
    ///      pay one bounty out of another's escrow, all or nothing, first come first served. Short
    ///      and not written down: the payout reverts TokenShortfall. Written down: it pays
    ///      `amount * held / owed`, which leaves the ratio for everyone still owed where it was,
    ///      with PAYING set in the books until the transfer returns (review 13, A2: a token that
    ///      calls its recipient before it moves the balance would show a hook the booked debt
    ///      without the payment, a ratio too high; PAYING refuses every payout and transfer in of
    ///      the token meanwhile). Either way the books drop by the whole `amount`, the debt the
    ///      payout settles.
    function _payChecked(address token, address to, uint256 amount) private {
        uint256 word = _books[token];
        if (word & PAYING != 0) revert ReentrancyGuardReentrantCall();
        uint256 owed = word & ~WRITTEN_DOWN;
        uint256 held = _held(token);
        if (held >= owed) {
            _books[token] = word - amount;
            IERC20(token).safeTransfer(to, amount);
            return;
        }
        // slither-disable-next-line incorrect-equality (the WRITTEN_DOWN flag is clear, not a balance compared)
        if (word == owed) revert TokenShortfall(token, held, owed);
        _books[token] = (word - amount) | PAYING;
        IERC20(token).safeTransfer(to, (amount * held) / owed); // owed < 2^128 (_pullToken): no overflow
        _books[token] = word - amount;
    }

    /// @dev Committee member i (i < committee size: no length check needed).
    function _memberAt(uint256 bountyId, uint256 i) private view returns (address oracle) {
        assembly {
            mstore(0, bountyId)
            mstore(0x20, _committees.slot)
            mstore(0, keccak256(0, 0x40))
            oracle := sload(add(keccak256(0, 0x20), i))
        }
    }
}

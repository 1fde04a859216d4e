// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Fathom bounty market: types
/// @notice Shared by the market, its events and its errors. Scores are integers in
///         "score units" (the metric divided by the bounty's resolution); the value
///         `type(uint32).max` in a report means "invalid artefact".
interface IBountyMarketTypes {
    /// @notice The lifecycle of a bounty, derived by `state(id)` from timestamps and flags.
    /// @dev AwaitingBaseline: created, the committee has not yet fixed the baseline.
    ///      Open: takes submissions. Settling: ended (deadline, cancel or target) and
    ///      not yet closed, batches may still be pending. Closed: books closed, reveal
    ///      pending. Revealed: the validation set and model key are public.
    enum BountyState {
        None,
        AwaitingBaseline,
        Open,
        Settling,
        Closed,
        Revealed
    }

    /// @notice A CID as stored on chain: its sha2-256 digest and its codec
    ///         (0x55 raw, 0x70 dag-pb); CIDv1, base32 off chain.
    struct Cid {
        bytes32 digest;
        uint8 codec;
    }

    /// @notice Everything a requester sets when opening a bounty.
    struct BountyParams {
        address token; // address(0) for ETH
        uint256 reward; // reward escrow R
        uint96 stake; // per submission, in the bounty's token (> 0)
        uint96 oracleFeePerBatch; // shared by the oracles within tolerance
        uint32 maxBatches; // fee budget = oracleFeePerBatch * maxBatches; caps submissions
        uint96 revealBond; // returned on reveal, else forfeited to accepted contributors
        uint16 slashBps; // share of a slashed stake that is burned, <= 10000
        uint16 batchSize; // submissions per batch, 1..256
        uint32 scoringTimeout; // seconds for a batch (or the baseline) to collect reports
        uint64 deadline; // no submissions from this timestamp on
        uint32 revealWindow; // seconds after close for the reveal
        bool higherIsBetter; // metric direction
        uint32 target; // score units; reaching it ends the bounty
        uint32 slashMargin; // score units worse than the head beyond which a stake is slashed
        uint32 tolerance; // score units an oracle may lie from the median
        uint64 resolution; // one score unit in metric units, WAD (informational)
        bytes32 metric; // e.g. "accuracy" (informational)
        bool trustSingleOracle; // committee of exactly one, deciding alone
        // Trusted mode: >= 3 eligible oracles the requester names (1 if trustSingleOracle), no
        // requester. Drawn mode (the default of the tools): that many zero addresses, each an
        // empty seat drawn from the registry (rule C4).
        address[] committee;
        uint64[] curveX; // reward curve breakpoints, WAD: 0 .. 1e18, strictly increasing
        uint64[] curveY; // WAD: 0 .. 1e18, non-decreasing
        Cid initialModel; // encrypted initial model (or public)
        Cid keyring; // model key wrapped for the committee and admitted contributors
        bytes32 validationCommitment; // keccak256(abi.encode(validationCid, validationKey, salt))
    }

    /// @notice One submission as the records hash commits to it (from SubmissionReceived).
    struct SubmissionRecord {
        address contributor;
        uint96 stake; // what actually arrived, plus 2^95 for a one-off submission (submitUpdateOnce)
        uint32 baseVersion;
        Cid update;
    }

    /// @notice One oracle's batch report as the report hash commits to it (from ReportPosted).
    struct BatchReport {
        // 6n + 4 bytes for a batch of n (rule R1): a uint32 score per submission in id order, the
        // merged model's uint32 score, then a uint16 share per submission (big-endian)
        bytes scores;
        Cid merged; // the merged model this oracle pinned (zero if none)
    }

    /// @notice A bounty's stored state, for frontends and tools.
    struct BountyView {
        address requester;
        address token;
        uint256 reward;
        uint256 paid;
        uint96 stake;
        uint96 oracleFeePerBatch;
        uint32 maxBatches;
        uint96 revealBond;
        uint16 slashBps;
        uint16 batchSize;
        uint32 scoringTimeout;
        uint64 deadline;
        uint32 revealWindow;
        bool higherIsBetter;
        bool trustSingleOracle;
        bool cancelled;
        bool baselineSet;
        bool revealed;
        uint32 target;
        uint32 slashMargin;
        uint32 tolerance;
        uint32 baselineScore;
        uint32 headScore;
        uint32 versionCount; // head version (0 = the initial model)
        uint32 submissionCount;
        uint32 nextBatch; // the batch to settle next
        uint64 endedAt; // when it ended (0 while open)
        uint64 closedAt;
        uint256 feesPaid; // fees spent: paid to oracles or burned (R9); the rest is refunded at close
        bytes32 validationCommitment;
        bool trustedCommittee; // the requester named the committee (rule C4's trusted mode)
        uint64 drawBlock; // the first block of the drawing half whose recorded seed draws the empty seats (0: none)
    }
}

/// @title Fathom bounty market: errors
interface IBountyMarketErrors is IBountyMarketTypes {
    error BountyNotFound(uint256 bountyId);
    error BountyNotInState(uint256 bountyId, BountyState state, BountyState expected);
    error InvalidParameter(string name);
    error CommitteeMemberInvalid(address member);
    error NotRequester(uint256 bountyId, address caller);
    error NotCommitteeMember(uint256 bountyId, address caller);
    error NotOptedIn(uint256 bountyId, address oracle);
    error AlreadyOptedIn(uint256 bountyId, address oracle);
    error AlreadyReported(uint256 bountyId, uint256 batch, address oracle);
    error BatchNotDecided(uint256 bountyId, uint256 batch);
    error CommitClosed(uint256 bountyId, uint256 batch);
    /// @dev C5: a drawn bounty's reward is fixed when it opens; it takes no top-up.
    error DrawnRewardFixed(uint256 bountyId);
    /// @dev R11: the member opted in while this batch was reportable, so it sits the batch out
    ///      (it may neither commit nor report, and no void of it charges the member).
    error SitsOutBatch(uint256 bountyId, uint256 batch, address oracle);
    /// @dev R12: an abstention (a zero commitment) from a member that committed to this batch
    ///      already: it would dodge the charge of a commitment it does not reveal.
    error CommittedAlready(uint256 bountyId, uint256 batch, address oracle);
    /// @dev R12: an abstention before `needed` (a quorum of the committee) committed; only
    ///      `committed` did.
    error AbstentionBeforeQuorum(uint256 bountyId, uint256 batch, uint256 committed, uint256 needed);
    error RevealNotOpen(uint256 bountyId, uint256 batch);
    /// @dev R11: the report matches no commitment of this member to this batch (or the member
    ///      made none, and the batch had no second round, R7b).
    error RevealMismatch(uint256 bountyId, uint256 batch, address oracle);
    error BaselineNotReady(uint256 bountyId, uint256 reports, uint256 needed);
    error BaseVersionUnknown(uint256 bountyId, uint256 baseVersion, uint256 versionCount);
    /// @dev submitUpdate*: `baseVersion` is more than MAX_LAG (2) versions behind the head (rule U1).
    error BaseVersionStale(uint256 bountyId, uint256 baseVersion, uint256 versionCount);
    error BatchLimitReached(uint256 bountyId, uint256 maxBatches);
    error WrongPayment(uint256 expected, uint256 received);
    error FundingShortfall(uint256 received, uint256 needed);
    error InsufficientClaimable(address account, address token, uint256 available, uint256 needed);
    error BatchNotReportable(uint256 bountyId, uint256 batch);
    error BatchNotReady(uint256 bountyId, uint256 batch, uint256 reports, uint256 reportableAt);
    error BatchNotVoidable(uint256 bountyId, uint256 batch);
    error WrongScoreCount(uint256 expected, uint256 got);
    error RecordsMismatch(uint256 bountyId, uint256 batch);
    error ReportMismatch(uint256 bountyId, uint256 batch, uint256 reportIndex);
    error InvalidScore(uint32 score);
    /// @notice No draw is armed, or its drawing half's seed block (`drawBlock` + SEED_OFFSET) is
    ///         not yet reached (rule C4).
    error DrawNotDue(uint256 bountyId, uint256 drawBlock);
    /// @notice Rule O7: in a registry drawing half no drawn seat is emptied (leaveCommittee,
    ///         vacateSeat); it may be sent again from block `until`.
    error SeatsFrozen(uint256 bountyId, uint256 until);
    /// @notice Rule C6: `oracle` holds no drawn seat of the bounty, has joined, or may still
    ///         join (the join timeout has not passed and it can bond and accepts the terms).
    error SeatNotVacatable(uint256 bountyId, address oracle);
    /// @notice The oracle's registered policy does not accept this bounty (rule O5).
    error PolicyRefuses(uint256 bountyId, address oracle);
    error BatchesPending(uint256 bountyId, uint256 nextBatch, uint256 batches);
    error CommitmentMismatch(uint256 bountyId);
    error RevealWindowOpen(uint256 bountyId, uint256 closesAt);
    error BondAlreadySettled(uint256 bountyId);
    error NoBondShare(uint256 bountyId, uint256 version);
    error NothingToClaim(address account, address token);
    /// @notice claimPayout: this payout was claimed already.
    error PayoutAlreadyClaimed(uint256 bountyId, uint256 position);
    /// @notice claimPayout: the sender, amount, token and proof do not lead to the stored root.
    error InvalidPayoutProof(uint256 bountyId, uint256 position);
    error NotGuardian(address caller);
    error OwnershipCannotBeRenounced();
    /// @notice A member may not leave before close: the committee would fall below `minimum`.
    error CommitteeTooSmall(uint256 bountyId, uint256 size, uint256 minimum);
    /// @notice A member may not leave before close while `batch` (max uint: the baseline, which
    ///         its report counts towards) is filled and undecided.
    error CommitteeBusy(uint256 bountyId, uint256 batch);
    /// @notice Only `agree` reports lie within the tolerance of the median of `batch` (max uint:
    ///         the baseline); a decision needs `needed` (more than half of the committee).
    error NoMajority(uint256 bountyId, uint256 batch, uint256 agree, uint256 needed);
    error UnexpectedEth(address sender);
    error EthTransferFailed(address to, uint256 amount);
    /// @notice New bounties and submissions are paused (or `pause` while paused).
    error EnforcedPause();
    /// @notice `unpause` while not paused.
    error ExpectedPause();
    /// @notice A call into the market while one of its token transfers is under way.
    error ReentrancyGuardReentrantCall();
    /// @notice Rule P4: the market holds `held` of `token` but owes `owed` in it (a balance that
    ///         fell without a transfer, such as a negative rebase). Every payout of the token
    ///         reverts with it until `writeDown(token)`, and every transfer in while it holds
    ///         less than it owes, written down or not.
    error TokenShortfall(address token, uint256 held, uint256 owed);
    /// @notice Rule P4: `writeDown(token)` ran once already.
    error TokenWrittenDown(address token);
    /// @notice Rule P4: writeDown of a token the market holds enough of (`held` >= `owed`).
    error NoShortfall(address token, uint256 held, uint256 owed);
    /// @notice Rule P4: writeDown of a token the market does not balance-check: ETH, or an
    ///         ERC-20 the deployer listed as fixed-balance (balanceChecked is false), of which
    ///         the market keeps no books.
    error NotBalanceChecked(address token);
}

/// @title Fathom bounty market: events
/// @notice The record of every phase: an indexer rebuilds the whole history, the
///         lineage and every payout from these alone.
interface IBountyMarketEvents is IBountyMarketTypes {
    /// @notice A bounty was opened; `reward` is what actually arrived for the reward escrow.
    ///         `params` is the ABI encoding of the BountyParams given to createBounty
    ///         (decode it as the tuple `BountyParams`); emitting the raw encoding keeps the
    ///         market under the contract size limit.
    event BountyOpened(
        uint256 indexed bountyId, address indexed requester, address indexed token, uint256 reward, bytes params
    );
    /// @notice `funder` added `amount` (what arrived) to the reward escrow.
    event BountyFunded(uint256 indexed bountyId, address indexed funder, uint256 amount, uint256 reward);
    /// @notice The keyring (model key wrapped for recipients) moved to `keyring`.
    event KeyringSet(uint256 indexed bountyId, Cid keyring);
    /// @notice The initial model moved to `model` (only before the baseline).
    event InitialModelSet(uint256 indexed bountyId, Cid model);
    /// @notice A committee member opted in (bonded) or left (released).
    event CommitteeJoined(uint256 indexed bountyId, address indexed oracle);
    event CommitteeLeft(uint256 indexed bountyId, address indexed oracle);
    /// @notice The empty seats will be drawn from the seed of the drawing half that begins at
    ///         `drawBlock`, the PREVRANDAO of its seed block drawBlock + SEED_OFFSET (rule C4).
    event CommitteeDrawArmed(uint256 indexed bountyId, uint256 drawBlock);
    /// @notice Seats were drawn: `committee` is the whole committee now (in seat order; a zero
    ///         address is a seat still empty because the draw found too few oracles).
    event CommitteeDrawn(uint256 indexed bountyId, address[] committee);
    /// @notice The draw armed for `drawBlock` was dropped, its seed recorded, because the bounty
    ///         ended before it ran (rule C4, review 11 Z): nothing is armed any more.
    event CommitteeDrawDropped(uint256 indexed bountyId, uint256 drawBlock);
    /// @notice `oracle`, drawn and never joined, lost its seat, which a new draw fills (rule C6).
    event SeatVacated(uint256 indexed bountyId, address indexed oracle);
    /// @notice A drawn-committee bounty cancelled before its baseline burned `burned` of its
    ///         reward (rule C5): a re-roll of the draw is never free.
    event CancelCharged(uint256 indexed bountyId, uint256 burned);
    /// @notice An oracle scored the initial model.
    event BaselineReported(uint256 indexed bountyId, address indexed oracle, uint32 score);
    /// @notice The median baseline fixed version 0's score; submissions open.
    event BaselineSet(uint256 indexed bountyId, uint32 score, uint256 reports);
    /// @notice A contributor submitted an update with `stake` (what arrived; plus 2^95, the
    ///         ONE_OFF bit, for submitUpdateOnce: the record's stake field as it is hashed).
    ///         The submission is in batch submissionId / batchSize (rule U3).
    event SubmissionReceived(
        uint256 indexed bountyId,
        uint256 indexed submissionId,
        address indexed contributor,
        uint32 baseVersion,
        Cid update,
        uint96 stake
    );
    /// @notice A committee member disclosed the content keys of a batch's updates
    ///         (rule F2's audit disclosure): 32 bytes per submission, in id order, zero for
    ///         one it does not disclose. Anyone checks each key against its envelope.
    event KeysDisclosed(uint256 indexed bountyId, uint256 indexed batch, address indexed oracle, bytes keys);
    /// @notice A member committed to its report of a batch (rule R11); the report follows
    ///         in the reveal phase, as ReportPosted.
    event ReportCommitted(uint256 indexed bountyId, uint256 indexed batch, address indexed oracle, bytes32 commitment);
    /// @notice A member took (`out`) or left its standing sit-out (rule C7); it is off duty
    ///         (or on duty again) from batch `fromBatch` on.
    event SitOutSet(uint256 indexed bountyId, address indexed oracle, bool out, uint256 fromBatch);
    /// @notice An oracle reported a whole batch; `scores` is laid out as BatchReport.scores.
    event ReportPosted(uint256 indexed bountyId, uint256 indexed batch, address indexed oracle, bytes scores, Cid merged);
    /// @notice A batch's merged model became version `version`: `author`, `submissionId` and
    ///         `update` name the merged update with the largest share, `score` is the merged
    ///         model's median, `reward` what the merged updates split (their UpdateMerged events).
    event VersionAccepted(
        uint256 indexed bountyId,
        uint256 indexed version,
        address indexed author,
        uint256 parent,
        uint256 submissionId,
        uint32 score,
        Cid update,
        Cid merged,
        uint256 reward
    );
    /// @notice A submission was merged into the batch's new version (rule R5): `share` is its
    ///         share (of 10,000) in the vector a quorum of the reports agreed on with the
    ///         merged CID, `reward` its part of the version's reward (reward * share / 10,000,
    ///         rounded down); its stake came back.
    event UpdateMerged(
        uint256 indexed bountyId,
        uint256 indexed submissionId,
        address indexed contributor,
        uint32 score,
        uint256 share,
        uint256 reward
    );
    /// @notice A submission was invalid or worse than the head by more than the slash
    ///         margin: `burned` of its stake is burned, `returned` comes back.
    event StakeSlashed(
        uint256 indexed bountyId,
        uint256 indexed submissionId,
        address indexed contributor,
        uint32 score,
        uint256 burned,
        uint256 returned
    );
    /// @notice An oracle's stake was slashed for this batch (misreport or no report);
    ///         the ETH is shared by the batch's contributors.
    event OracleSlashed(uint256 indexed bountyId, uint256 indexed batch, address indexed oracle, uint256 amount);
    /// @notice A batch was decided by the median of `reports` reports; `feeShare` is the fee
    ///         over the oracles within tolerance: each full committed one earned it, a partial or
    ///         uncommitted one's was burned (R9). `scores` holds the median score of each of the
    ///         batch's submissions in id order, 4 bytes each (0xffffffff: invalid); bit i of
    ///         `rejected` says that submission `batch * batchSize + i` was not merged (no
    ///         share, stale, or the batch made no version) nor slashed, and its stake came back in
    ///         full. Each merged one has its UpdateMerged event and each slashed one its StakeSlashed.
    event BatchSettled(
        uint256 indexed bountyId, uint256 indexed batch, uint256 reports, uint256 feeShare, uint256 rejected, bytes scores
    );
    /// @notice A batch missed its quorum by the timeout: stakes returned in full.
    event BatchVoided(uint256 indexed bountyId, uint256 indexed batch, uint256 reports);
    /// @notice Rule R7b: the batch's vote split (or some median lacked a quorum) while some report
    ///         was partial, so instead of a void it gets a second round, once: the partial
    ///         reports of the members in `cleared` (bit i = committee member i) were cleared and
    ///         they may report again, the full reports stand, and the scoring timeout restarts
    ///         now. Nothing is paid or charged. A member on duty without a commitment may now
    ///         report without one (no fee).
    event BatchRetried(uint256 indexed bountyId, uint256 indexed batch, uint16 cleared);
    /// @notice The requester cancelled; it takes effect once pending batches settle.
    event BountyCancelled(uint256 indexed bountyId);
    /// @notice Books closed: `rewardRefund` + `feeRefund` became claimable by the requester.
    event BountyClosed(uint256 indexed bountyId, uint256 rewardRefund, uint256 feeRefund);
    /// @notice The validation set and the model key are public: anyone can re-score.
    event ValidationRevealed(uint256 indexed bountyId, Cid validationCid, bytes32 validationKey, bytes32 salt, bytes32 modelKey);
    /// @notice The bond was not reclaimed in time: each accepted version's author may claim `share`.
    event BondForfeited(uint256 indexed bountyId, uint256 share, uint256 burned);
    /// @notice `account` moved `amount` of `token` (address(0) = ETH) to `to`.
    event Claimed(address indexed account, address indexed token, address indexed to, uint256 amount);
    /// @notice `account` claimed the one-off payout of submission `batch * batchSize + index`
    ///         of the bounty (`position` = batch << 8 | index), in the bounty's token.
    event PayoutClaimed(address indexed account, uint256 indexed bountyId, uint256 position, uint256 amount);
    /// @notice Burned amounts left the contract for the burn address.
    event Burned(address indexed token, uint256 amount);
    /// @notice Rule P4: the market held `held` of `token` and owed `owed`; from now on each
    ///         payout of it pays `amount * held / owed` at the balances of its day.
    event WrittenDown(address indexed token, uint256 held, uint256 owed);
    /// @notice The guardian that may pause new bounties and submissions changed.
    event GuardianSet(address indexed guardian);
    /// @notice The guardian paused / resumed new bounties and submissions.
    event Paused(address account);
    event Unpaused(address account);
}

/// @title Fathom bounty market: actions and core views (implemented by BountyMarket itself)
interface IBountyMarketActions is IBountyMarketErrors, IBountyMarketEvents {
    /// @notice Submit an update trained from `baseVersion` (at most MAX_LAG = 2 versions behind
    ///         the head, else BaseVersionStale), paying the stake. Rules U1-U4.
    function submitUpdate(uint256 bountyId, uint32 baseVersion, Cid calldata update)
        external
        payable
        returns (uint256 submissionId);

    /// @notice As submitUpdate, for a contributor who will not come back: settlement does not
    ///         credit its payout (stake back, less any slash, plus any reward) to a claimable
    ///         balance but to the Merkle root of its group of 32 submissions, and the
    ///         contributor claims it once with claimPayout. Rule U6.
    function submitUpdateOnce(uint256 bountyId, uint32 baseVersion, Cid calldata update)
        external
        payable
        returns (uint256 submissionId);

    /// @notice As submitUpdate, taking the stake from the sender's claimable balance. Rule U5.
    function submitUpdateFromBalance(uint256 bountyId, uint32 baseVersion, Cid calldata update)
        external
        returns (uint256 submissionId);

    /// @notice A member commits to its report of the next batch (rule R11): `commitment` is
    ///         keccak256(abi.encode(bountyId, member, salt, digest)), where digest is
    ///         keccak256(abi.encodePacked(batch, scores, merged.digest, merged.codec)) with its
    ///         low 32 bits zeroed. Open while the batch is reportable, before the reveal phase
    ///         (every member on duty committed, or the last quarter of the scoring timeout)
    ///         and before any reveal; a member may commit again until then. A member that
    ///         opted in while the batch was reportable sits it out (SitsOutBatch).
    ///         A zero `commitment` is an *abstention* (rule R12): the member sits this batch
    ///         out (getCommits' sittingOut), so no void of it charges the member, and it can
    ///         neither commit nor report it. It is refused from a member that committed to the
    ///         batch (CommittedAlready) and before a quorum of the committee committed
    ///         (AbstentionBeforeQuorum). It emits ReportCommitted with a zero commitment.
    function commitReport(uint256 bountyId, uint256 batch, bytes32 commitment) external;

    /// @notice Rule C7: an opted-in member (one that no keyring seats, above all) takes (`out`)
    ///         a standing sit-out: it is off duty, never charged by a void, from the next batch
    ///         on (from the next to decide if that is not reportable yet, as nobody committed to
    ///         it); `out = false` puts it on duty again, from the same point. A batch under way
    ///         keeps its duties. The committee and its quorum keep their size. Emits SitOutSet.
    function sitOut(uint256 bountyId, bool out) external;

    /// @notice The members with a standing sit-out (rule C7; bit i = committee member i).
    function standingSitOut(uint256 bountyId) external view returns (uint16 mask);

    /// @notice Who committed to a report of a reportable batch (bit i = committee member i),
    ///         when its reveal phase opens at the latest, and who sits it out: opted in while
    ///         it was reportable (R11), abstained (R12) or holds a standing sit-out (C7);
    ///         zeros otherwise.
    function getCommits(uint256 bountyId, uint256 batch)
        external
        view
        returns (uint16 committedMask, uint256 revealAt, uint16 sittingOut);

    /// @notice A member reveals its report of a batch: the scores and the merged model it
    ///         pinned, which must match its commitment (commitReport) with `salt`, in the
    ///         batch's reveal phase. Rules R1-R3, R11. In a batch given a second round
    ///         (BatchRetried, rule R7b) a member on duty without a commitment may report without
    ///         one (`salt` is ignored); such a report counts as any other but earns no fee.
    ///         Reverts RevealMismatch for a report that matches no commitment of this batch
    ///         otherwise, and SitsOutBatch for a member sitting a retried batch out.
    function report(uint256 bountyId, uint256 batch, bytes calldata scores, Cid calldata merged, bytes32 salt) external;

    /// @notice A member reports a batch (as `report`) and settles it in the same transaction
    ///         (as `settleBatch`): the finalising report, sent by the last opted-in member to
    ///         report (or by any member once the timeout passed, if its report completes a
    ///         quorum). `records` are the batch's records in id order, packed: 69 bytes each,
    ///         abi.encodePacked(contributor, uint96 stake, uint32 baseVersion, update.digest,
    ///         uint8 update.codec) from SubmissionReceived (the tail of each records-hash
    ///         link). `others` are the other reporters' reports, in committee order, as their
    ///         ReportPosted events give them (this member's own report is `scores` and
    ///         `merged`, and is not stored, unless the settlement gives the batch a second
    ///         round (R7b) in which this report is full: then it stands, stored as `report`
    ///         stores it). Emits ReportPosted, then everything settleBatch emits. Rules R1-R9, R7b.
    function reportAndSettle(
        uint256 bountyId,
        uint256 batch,
        bytes calldata scores,
        Cid calldata merged,
        bytes32 salt,
        bytes calldata records,
        BatchReport[] calldata others
    ) external;

    /// @notice Anyone settles a batch once every opted-in member reported, or after the
    ///         timeout with a quorum, passing the records (from SubmissionReceived, in id
    ///         order) and the reports (from ReportPosted, in committee order of the reporters)
    ///         the chain committed to. Members usually settle with reportAndSettle instead.
    ///         Rules R4-R9. When the vote splits (or some median lacks a quorum) while some
    ///         report is partial and the batch had no second round yet, it gets one (R7b,
    ///         BatchRetried) instead of the void (BatchVoided) a second split brings.
    function settleBatch(
        uint256 bountyId,
        uint256 batch,
        SubmissionRecord[] calldata records,
        BatchReport[] calldata reports
    ) external;

    /// @notice Anyone voids a batch that missed its quorum by the timeout. Rule R10.
    function voidBatch(uint256 bountyId, uint256 batch, SubmissionRecord[] calldata records) external;

    /// @notice Withdraw the sender's whole claimable balance of `token`. Rule P1. Reverts
    ///         ReentrancyGuardReentrantCall from a token hook while the market measures a
    ///         transfer in (createBounty, topUp, submitUpdate), as claimTo and burn do, and
    ///         TokenShortfall while the market holds less of the token than it owes (P4).
    function claim(address token) external;

    /// @notice Withdraw the sender's claimable balance of `token` to `to`. Rule P1.
    function claimTo(address token, address to) external;

    /// @notice Claim the payout settlement owes a one-off submission (submitUpdateOnce) of the
    ///         sender: `position` = batch << 8 | index in the batch, `amount` the payout, `token`
    ///         the bounty's, `proof` the 5 sibling hashes from the leaf
    ///         keccak256(abi.encodePacked(sender, uint96 amount, token)) up to the root of the
    ///         submission's group (index / 32); see payoutRoot. Once per submission. Rule P3.
    function claimPayout(address token, uint256 bountyId, uint256 position, uint256 amount, bytes32[5] calldata proof)
        external;

    /// @notice As claimPayout, paying the sender's payout to `to` (a contributor the token
    ///         blocks after it submitted, as claimTo for balances). Rule P3.
    function claimPayoutTo(
        address token,
        address to,
        uint256 bountyId,
        uint256 position,
        uint256 amount,
        bytes32[5] calldata proof
    ) external;

    /// @notice Anyone sends burned amounts of `token` to the burn address. Rule P2.
    function burn(address token) external;

    /// @notice Rule P4, the way out of a shortfall: once the market holds less of an ERC-20
    ///         than it owes in it (TokenShortfall), anyone writes the token down. Every later
    ///         payout of it (claim, claimTo, claimPayout, claimPayoutTo, burn) pays
    ///         `amount * held / owed`, held and owed as they stand before that payout, so that
    ///         everyone owed the token bears the loss pro rata whatever the order of the claims;
    ///         the token takes no new money until the market holds what it owes again (a positive
    ///         rebase, a donation). Reverts NoShortfall when the market holds what it
    ///         owes (always for ETH), TokenWrittenDown the second time.
    function writeDown(address token) external;

    /// @notice Rule P4: what the market owes in `token` (every escrow, fee budget, reveal bond,
    ///         stake, claimable balance, unclaimed one-off payout and pending burn; 0 for ETH,
    ///         which is not booked) and whether the token was written down.
    function books(address token) external view returns (uint256 owed, bool writtenDown);

    /// @notice Rule P4: whether the market keeps books of `token` and checks its balance before
    ///         each payout. False for ETH and for the at most 4 fixed-balance ERC-20s the
    ///         deployer listed at construction (tokens whose balances change only by transfers,
    ///         vouched for by the deployer: a listed token that later falls without a transfer is
    ///         not protected); true for every other ERC-20.
    function balanceChecked(address token) external view returns (bool);

    /// @notice Owner: set the guardian. Rule A1.
    function setGuardian(address guardian) external;

    function keyRegistry() external view returns (address);

    function oracleRegistry() external view returns (address);

    /// @notice The contract the market's fallback delegatecalls for IBountyMarketExtension
    ///         (a BountyMarketExtension deployed first, checked by the constructor; immutable).
    function extension() external view returns (address);
}

/// @title Fathom bounty market: extension
/// @notice The larger getters and the rarely used actions, served by BountyMarketExtension
///         through the market's fallback: call them on the market's address, with the
///         IBountyMarket ABI.
interface IBountyMarketExtension is IBountyMarketErrors, IBountyMarketEvents {
    /// @notice Open a bounty, escrowing reward + oracleFeePerBatch * maxBatches + revealBond
    ///         (ETH as msg.value, exactly; an ERC-20 by transferFrom, crediting what arrived
    ///         to the reward). Rules B1-B4.
    function createBounty(BountyParams calldata params) external payable returns (uint256 bountyId);

    /// @notice Anyone adds to the reward escrow of a bounty that has not ended. Rule B5. A
    ///         drawn bounty takes none before its baseline (BountyNotInState(id,
    ///         AwaitingBaseline, Open), rule C5: no re-roll at reward 0 then a top-up).
    function topUp(uint256 bountyId, uint256 amount) external payable;

    /// @notice A committee member opts in, locking memberBond(bountyId) of its registry stake. Rule C1.
    ///         Reverts PolicyRefuses if its registered policy does not accept the bounty (O5), and
    ///         the registry's OracleNotBonded / InsufficientFreeStake if it cannot bond (a drawn
    ///         oracle that cannot is vacated, rule C6).
    function joinCommittee(uint256 bountyId) external;

    /// @notice A member leaves, releasing what is left of its bond: after close, or once the
    ///         bounty has ended with no batch reportable (it just releases; review 11 Z, S); or
    ///         before its end, while no batch is filled and undecided, and then, in trusted mode, the committee keeps
    ///         at least 3 members (it shrinks by one); in drawn mode its seat is emptied and a
    ///         new draw is armed for it (rule C4), the committee's size unchanged, and only in a
    ///         registry staking half (SeatsFrozen otherwise, rule O7). Rule C2.
    function leaveCommittee(uint256 bountyId) external;

    /// @notice Anyone: fill the bounty's empty seats by a stake-weighted draw (rule C4), seeded
    ///         by the seed of the drawing half the armed block opens (O7; registry.seedFor: the
    ///         PREVRANDAO of the half's seed block drawBlock + SEED_OFFSET, recorded by this call
    ///         if it runs in that block), mixed with the id, among oracles whose policy accepts
    ///         the bounty, that do not sit on it, never left or were vacated from it (C6), and
    ///         are not the requester. The draw runs from the seed block to the end of the half
    ///         (`drawBlock + SEED_OFFSET <= block.number < drawBlock + drawPeriod`). If the seed
    ///         block recorded nothing (missed), the draw lapses uncharged and is re-armed for a
    ///         later half, first draw or replacement. A draw whose seed was recorded but that
    ///         nobody ran within the half has lapsed: a lapsed first draw cancels the bounty (C5's
    ///         charge), a lapsed replacement is re-armed for the next drawing half. If a
    ///         bounty's first draw cannot fill every seat, the bounty is cancelled (C5's charge
    ///         applies); a replacement that cannot fill every empty seat seats whom it found
    ///         and is armed again for the rest (the quorum stays that of the full committee).
    ///         A bounty that ended before its draw ran draws nothing: the call records the seed,
    ///         disarms the draw and emits CommitteeDrawDropped (review 11, Z).
    ///         Reverts DrawNotDue before the seed block.
    function drawCommittee(uint256 bountyId) external;

    /// @notice Anyone: empty the drawn seat of `oracle`, which has not joined: at once if it
    ///         cannot serve (not eligible, or its policy now refuses the terms); otherwise once
    ///         both the bounty's scoringTimeout has passed since the draw that last seated
    ///         someone and a whole registry staking half since that draw's block (time to top
    ///         up its stake for the bond, SECURITY.md finding A), and then only if it holds the
    ///         free stake for the bond and still did not join: never for want of free stake,
    ///         which decoy bounties can lock (R3-5; registry.vacatable). It is never
    ///         seated on this bounty again and a new draw is armed for the seat. Uncharged for
    ///         the requester. Only in a registry staking half (SeatsFrozen otherwise, rule O7);
    ///         reverts SeatNotVacatable otherwise. Rule C6.
    function vacateSeat(uint256 bountyId, address oracle) external;

    /// @notice A member scores the initial model. The last member's report fixes the
    ///         baseline at once. Rules S1-S2.
    function reportBaseline(uint256 bountyId, uint32 score) external;

    /// @notice A committee member discloses the content keys of a batch's updates once the
    ///         bounty is closed, for the audit (rule F2): `keys` holds 32 bytes per submission
    ///         of the batch, in id order (zero: not disclosed). Emits KeysDisclosed; stores nothing.
    function discloseKeys(uint256 bountyId, uint256 batch, bytes calldata keys) external;

    /// @notice Fix the baseline after the scoring timeout with reports from more than half of
    ///         the committee, more than half of the committee agreeing within tolerance. Rule S2.
    function settleBaseline(uint256 bountyId) external;

    /// @notice Requester: publish a new keyring CID. Rule B6.
    function setKeyring(uint256 bountyId, Cid calldata keyring) external;

    /// @notice Requester: replace the initial model before the baseline is set. Rule B6.
    function setInitialModel(uint256 bountyId, Cid calldata model) external;

    /// @notice Requester: end the bounty; takes effect once pending batches settle. Rule E1.
    ///         A drawn-committee bounty cancelled before its baseline is set burns 5% of its
    ///         reward (rule C5): re-rolling the draw is never free.
    function cancel(uint256 bountyId) external;

    /// @notice Anyone closes an ended bounty whose batches are all settled, crediting the
    ///         requester with what was not earned. Rule E2.
    function close(uint256 bountyId) external;

    /// @notice Requester: reveal the validation set and model key of a closed bounty;
    ///         returns the reveal bond if not yet forfeited. Rule E3.
    function reveal(uint256 bountyId, Cid calldata validationCid, bytes32 validationKey, bytes32 salt, bytes32 modelKey)
        external;

    /// @notice Anyone: after the reveal window, forfeit an unrevealed bond to the authors of
    ///         accepted versions (burned if there are none). Rule E4.
    function forfeitBond(uint256 bountyId) external;

    /// @notice The author of accepted `version` claims its share of a forfeited bond. Rule E4.
    function claimBondShare(uint256 bountyId, uint256 version) external;

    /// @notice The one-off payouts of group `group` (submissions 32 * group .. 32 * group + 31)
    ///         of a decided batch: the top 224 bits of their Merkle root (zero if the group owes
    ///         none) and which were claimed (bit i = index 32 * group + i). Rule P3.
    function payoutRoot(uint256 bountyId, uint256 batch, uint256 group) external view returns (bytes32 root, uint32 claimed);

    /// @notice Guardian: stop / resume new bounties and submissions. Rule A2.
    function pause() external;

    function unpause() external;

    /// @notice Whether new bounties and submissions are paused.
    function paused() external view returns (bool);

    /// @notice The derived lifecycle state; reverts with BountyNotFound for unknown ids.
    function state(uint256 bountyId) external view returns (BountyState);

    /// @notice What `account` may claim of `token`.
    function claimable(address account, address token) external view returns (uint256);

    /// @notice Burned amounts of `token` not yet sent to the burn address.
    function pendingBurn(address token) external view returns (uint256);

    function bountyCount() external view returns (uint256);

    function guardian() external view returns (address);

    /// @notice A bounty's stored state.
    function getBounty(uint256 bountyId) external view returns (BountyView memory);

    /// @notice The committee, and which members have opted in / reported the baseline (bit i = member i).
    function getCommittee(uint256 bountyId)
        external
        view
        returns (address[] memory members, uint256 optedInMask, uint256 baselineMask);

    /// @notice The reward curve's breakpoints.
    function getCurve(uint256 bountyId) external view returns (uint64[] memory xs, uint64[] memory ys);

    /// @notice A batch: its records hash (top 224 bits, rule U4; zero once decided), when it
    ///         filled (0 if partial or decided), reporters (bit i = member i; only for the batch
    ///         being scored), whether it is decided, its submission count, and when it may be
    ///         settled with a partial quorum (0 while not reportable).
    function getBatch(uint256 bountyId, uint256 batch)
        external
        view
        returns (
            bytes32 recordsHash,
            uint64 filledAt,
            uint16 reportedMask,
            bool decided,
            uint256 submissions,
            uint256 timeoutAt
        );

    /// @notice The hash a report of the batch being scored must match at settlement: the top
    ///         224 bits of keccak256(abi.encodePacked(batch, scores, merged.digest,
    ///         merged.codec)), low 4 bytes zero; zero for a member that has not reported it.
    function reportHash(uint256 bountyId, uint256 batch, uint256 memberIndex) external view returns (bytes32);

    /// @notice The author of an accepted version while its bond share is unclaimed.
    function versionAuthor(uint256 bountyId, uint256 version) external view returns (address);

    /// @notice Per-version share of a forfeited bond (0 if none).
    function bondShare(uint256 bountyId) external view returns (uint256);

    /// @notice What each member locks when it opts in (`bond`, rule C1), and what one offence
    ///         takes from it (`perOffence`: registry slashBps of the bond, rule C3).
    function memberBond(uint256 bountyId) external view returns (uint256 bond, uint256 perOffence);
}

/// @title Fathom bounty market
/// @notice Bounties for model improvements, paid by measured gain on a hidden
///         validation set. See SPECIFICATION.md for the numbered rules. This is the ABI
///         a frontend or another contract uses on the market's address.
interface IBountyMarket is IBountyMarketActions, IBountyMarketExtension {}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {KeyRegistry} from "../../../contracts/KeyRegistry.sol";
import {OracleRegistry} from "../../../contracts/OracleRegistry.sol";
import {BountyMarket} from "../../../contracts/BountyMarket.sol";
import {BountyMarketExtension} from "../../../contracts/BountyMarketExtension.sol";
import {IBountyMarket, IBountyMarketTypes} from "../../../interfaces/IBountyMarket.sol";
import {MarketModel} from "./MarketModel.sol";
import {Test, Vm} from "./Test.sol";

/// @dev The test tokens' minting and approval (MockERC20, RebasingToken, FeeOnTransferToken...).
interface IMintableToken {
    function mint(address to, uint256 amount) external;
    function approve(address spender, uint256 amount) external returns (bool);
}

/// @dev The deployment of scripts/deploy.py, and the parameters of a typical bounty.
library MarketSetup {
    uint256 internal constant ORACLE_MIN_STAKE = 1 ether;
    uint256 internal constant ORACLE_UNBONDING_DELAY = 7 days;
    uint256 internal constant ORACLE_SLASH_BPS = 1_000;
    /// @dev scripts/deploy.py's development period (rule O7): 8-block staking and drawing halves.
    uint256 internal constant ORACLE_DRAW_PERIOD = 8;
    uint256 internal constant WAD = 1e18;
    uint8 internal constant RAW = 0x55;
    uint8 internal constant DAG_PB = 0x70;

    struct Deployment {
        KeyRegistry keyRegistry;
        OracleRegistry registry;
        IBountyMarket market;
    }

    /// @dev The caller deploys (and so may set the registry's market), `owner` owns the market.
    ///      No fixed-balance tokens: every ERC-20 is balance-checked (rule P4).
    function deploy(address owner, address guardian) internal returns (Deployment memory d) {
        return deploy(owner, guardian, new address[](0));
    }

    /// @dev As deploy(owner, guardian), with the deployer's fixed-balance tokens (rule P4).
    function deploy(address owner, address guardian, address[] memory fixedBalanceTokens)
        internal
        returns (Deployment memory d)
    {
        d.keyRegistry = new KeyRegistry();
        d.registry = new OracleRegistry(ORACLE_MIN_STAKE, ORACLE_UNBONDING_DELAY, ORACLE_SLASH_BPS, ORACLE_DRAW_PERIOD);
        // the extension first, for this registry; the market's constructor checks it
        address extension = address(new BountyMarketExtension(address(d.registry)));
        BountyMarket market = new BountyMarket(
            address(d.keyRegistry), address(d.registry), extension, owner, guardian, fixedBalanceTokens
        );
        d.registry.setMarket(address(market));
        d.market = IBountyMarket(address(market));
    }

    function cid(bytes memory tag, uint256 n) internal pure returns (IBountyMarketTypes.Cid memory) {
        return IBountyMarketTypes.Cid(keccak256(abi.encode(tag, n)), RAW);
    }

    function commitment(IBountyMarketTypes.Cid memory validationCid, bytes32 key, bytes32 salt)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(validationCid, key, salt));
    }

    /// @dev `n` oracles at 0xD000 + i, each staking 10 ETH in `registry` (the market's setUp of
    ///      most suites; the deployment's staking half starts at block 0, rule O7).
    function stakeOracles(OracleRegistry registry, uint256 n) internal returns (address[] memory oracles) {
        Vm vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
        oracles = new address[](n);
        for (uint256 i = 0; i < n; ++i) {
            oracles[i] = address(uint160(0xD000 + i));
            vm.deal(oracles[i], 10 ether);
            vm.prank(oracles[i]);
            registry.stake{value: 10 ether}();
        }
    }

    /// @dev `requester` opens an ERC-20 bounty of `p` (a named committee), the escrow minted to it
    ///      and approved first.
    function openWithToken(IBountyMarket market, address requester, IBountyMarketTypes.BountyParams memory p)
        internal
        returns (uint256 id)
    {
        Vm vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
        uint256 total = escrow(p);
        IMintableToken(p.token).mint(requester, total);
        vm.prank(requester);
        IMintableToken(p.token).approve(address(market), total);
        vm.prank(requester);
        id = market.createBounty(p);
    }

    /// @dev Each of `members` opts in, then reports the baseline `score`: with them all, the
    ///      bounty is Open (unless the score reaches the target).
    function joinAndReportBaseline(IBountyMarket market, uint256 id, address[] memory members, uint32 score) internal {
        Vm vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
        for (uint256 i = 0; i < members.length; ++i) {
            vm.prank(members[i]);
            market.joinCommittee(id);
        }
        for (uint256 i = 0; i < members.length; ++i) {
            vm.prank(members[i]);
            market.reportBaseline(id, score);
        }
    }

    /// @dev A member's salt for its report of a batch (R11), fixed for the tests.
    function reportSalt(uint256 id, uint256 batch, address member) internal pure returns (bytes32) {
        return keccak256(abi.encode("salt", id, batch, member));
    }

    /// @dev R11: the commitment to a report, as IBountyMarket.commitReport states it.
    function reportCommitment(uint256 id, uint256 batch, address member, IBountyMarketTypes.BatchReport memory r)
        internal
        pure
        returns (bytes32)
    {
        uint256 low = ~uint256(0xffffffff);
        uint256 digest = uint256(keccak256(abi.encodePacked(batch, r.scores, r.merged.digest, r.merged.codec))) & low;
        return bytes32(uint256(keccak256(abi.encode(id, member, reportSalt(id, batch, member), digest))) & low);
    }

    /// @dev Each of `members` commits to its report, then (warping to the reveal phase if some
    ///      opted-in member did not commit) each reveals it, in order (R11).
    function commitAndReveal(
        IBountyMarket market,
        uint256 id,
        uint256 batch,
        address[] memory members,
        IBountyMarketTypes.BatchReport[] memory reports
    ) internal {
        Vm vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
        for (uint256 i = 0; i < members.length; ++i) {
            vm.prank(members[i]);
            market.commitReport(id, batch, reportCommitment(id, batch, members[i], reports[i]));
        }
        _toReveals(market, id, batch);
        for (uint256 i = 0; i < members.length; ++i) {
            vm.prank(members[i]);
            market.report(id, batch, reports[i].scores, reports[i].merged, reportSalt(id, batch, members[i]));
        }
    }

    /// @dev Warps to the reveal phase unless every member on duty committed (R11).
    function _toReveals(IBountyMarket market, uint256 id, uint256 batch) private {
        Vm vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
        (uint16 committed, uint256 revealAt, uint16 out) = market.getCommits(id, batch);
        (, uint256 opted,) = market.getCommittee(id);
        if (committed != opted & ~uint256(out) && block.timestamp < revealAt) vm.warp(revealAt);
    }

    /// @dev tests/market_helpers.py's defaults: linear curve, batches of 4, higher is better.
    function params(address token, address[] memory committee)
        internal
        view
        returns (IBountyMarketTypes.BountyParams memory p)
    {
        p.token = token;
        p.reward = 1 ether;
        p.stake = 0.01 ether;
        p.oracleFeePerBatch = 0.003 ether;
        p.maxBatches = 10;
        p.revealBond = 0.01 ether;
        p.slashBps = 5_000;
        p.batchSize = 4;
        p.scoringTimeout = 3600;
        p.deadline = uint64(block.timestamp + 7 days);
        p.revealWindow = 1 days;
        p.higherIsBetter = true;
        p.target = 9_000;
        p.slashMargin = 100;
        p.tolerance = 5;
        p.resolution = 1e14;
        p.metric = bytes32("accuracy");
        p.committee = committee;
        p.curveX = new uint64[](2);
        p.curveY = new uint64[](2);
        p.curveX[1] = uint64(WAD);
        p.curveY[1] = uint64(WAD);
        p.initialModel = cid("model", 1);
        p.keyring = IBountyMarketTypes.Cid(keccak256("keyring"), DAG_PB);
        p.validationCommitment = commitment(cid("validation", 0), bytes32(uint256(0x11)), bytes32(uint256(0x22)));
    }

    /// @dev What createBounty takes in ETH for an ETH bounty: the escrow, and in drawn mode the
    ///      draw deposit (rule C5: the registry's minStake / 16).
    function escrow(IBountyMarketTypes.BountyParams memory p) internal pure returns (uint256) {
        return p.reward + uint256(p.oracleFeePerBatch) * p.maxBatches + p.revealBond + drawDeposit(p);
    }

    function drawDeposit(IBountyMarketTypes.BountyParams memory p) internal pure returns (uint256) {
        return p.committee.length != 0 && p.committee[0] == address(0) ? ORACLE_MIN_STAKE / 16 : 0;
    }
}

/// @dev The set-up the committee suites share (SecondRound, PartialVote, Abstention): the
///      deployment, five staked oracles, and an ETH bounty whose committee is the first `size`.
abstract contract CommitteeSuite is Test, IBountyMarketTypes {
    address internal constant ETH = address(0);

    IBountyMarket internal market;
    OracleRegistry internal registry;
    address internal requester = address(0xA11CE);
    address[] internal oracles;

    function setUp() public virtual {
        MarketSetup.Deployment memory d = MarketSetup.deploy(address(this), address(this));
        market = d.market;
        registry = d.registry;
        oracles = MarketSetup.stakeOracles(registry, 5);
    }

    /// @dev The requester opens a bounty of MarketSetup.params with committee oracles[0..size-1],
    ///      batches of `batchSize` and 20 batches; every member opts in and the first
    ///      `baseliners` report the baseline 5,000 (settled at the timeout if fewer than all).
    function _openCommittee(uint256 size, uint16 batchSize, uint256 baseliners)
        internal
        returns (uint256 id, BountyParams memory p)
    {
        address[] memory c = new address[](size);
        for (uint256 i = 0; i < size; ++i) c[i] = oracles[i];
        p = MarketSetup.params(ETH, c);
        p.batchSize = batchSize;
        p.maxBatches = 20;
        uint256 total = MarketSetup.escrow(p);
        vm.deal(requester, total);
        vm.prank(requester);
        id = market.createBounty{value: total}(p);
        for (uint256 i = 0; i < size; ++i) {
            vm.prank(c[i]);
            market.joinCommittee(id);
        }
        for (uint256 i = 0; i < baseliners; ++i) {
            vm.prank(c[i]);
            market.reportBaseline(id, 5_000);
        }
        if (baseliners < size) {
            vm.warp(block.timestamp + p.scoringTimeout);
            market.settleBaseline(id);
        }
    }

    /// @dev A report of a batch of 3: its scores, its merged model's score, its shares and the
    ///      merged CID (tag 0: the zero CID, for a vote that merges nothing).
    function _rep(uint32[3] memory s, uint32 merged, uint16[3] memory sh, uint256 cidTag)
        internal
        pure
        returns (BatchReport memory)
    {
        uint32[] memory scores = new uint32[](3);
        uint16[] memory shares = new uint16[](3);
        for (uint256 i = 0; i < 3; ++i) (scores[i], shares[i]) = (s[i], sh[i]);
        Cid memory cid = cidTag == 0 ? Cid(bytes32(0), 0) : MarketSetup.cid("merged", cidTag);
        return BatchReport(MarketModel.encode(scores, merged, shares), cid);
    }
}

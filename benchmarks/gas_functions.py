"""Gas of every state-changing function, at its largest allowed input, and against the number of users.

Receipt `gasUsed` on anvil at hardfork shanghai (base fee 0, block gas limit 30,000,000), as
benchmarks/gas.py, which calls `measure` inside its own anvil and writes the three parts to
gas.json as "functions", "worst_case" and "growth" (and run.py then under "gas" in results.json):

functions   every external state-changing function of BountyMarket (those its fallback runs in
            BountyMarketExtension included), OracleRegistry and KeyRegistry, in an ordinary case:
            an ERC-20 bounty with a committee of 3 and batches of 32, as gas.py (`[ETH]` keys: the
            same call on an ETH bounty). OracleRegistry.bond/release/slash are called by an account
            set as the registry's market (through the market they run inside joinCommittee,
            leaveCommittee and settlement). Views: eth_estimateGas under "views" (it includes the
            21,000 of a transaction; a view costs nothing called off chain).
worst_case  each function at the largest input the contracts allow and in its most expensive state
            (the bound next to each figure). Bounds, from BountyMarketExtension._validateParams,
            BountyMarketStorage and RewardMath: committee 3..16 (1 if trustSingleOracle), reward
            curve 2..8 breakpoints, batch size 1..256, committee x batch size <= 2,048 (so both
            corners are measured: 16 x 128 and 8 x 256), maxBatches * batchSize < 2^32
            (maxBatches is a counter: no function loops over it), scores 4 bytes per submission.
            Settlement's worst case is adversarial: every contributor new (each credit creates a
            storage slot), every submission but the accepted one slashed, as many oracles deviant
            as a decision allows (committee - quorum: 7 of 16; each loses an offence of its bond,
            burned), reports ordered so that the median's insertion sort shifts the most, and an
            8-breakpoint curve read to its end. Every entry must stay within EIP-7825's 2^24 gas.
growth      the same calls early and late: in one bounty after 1 and after hundreds of prior
            contributors, and in the 2nd and the 41st bounty of a market, with the delta.

Every call's receipt has status 1 (asserted); the state each needs is built first (baseline
reports, full batches, time moved with evm_increaseTime / evm_mine, the reveal with the committed
validation values). Contributors are fresh local keys (gas price 0, so they need no ETH except
for ETH stakes).

    python benchmarks/gas_functions.py       # its own anvil; prints the tables (about 1½ minutes)
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from eth_abi import encode
from eth_abi.packed import encode_packed
from eth_account import Account
from eth_keys import keys as eth_keys
from eth_utils import keccak, to_checksum_address
from web3.exceptions import ContractCustomError, ContractLogicError
from web3.logs import DISCARD

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fathom.protocol import payouts  # noqa: E402
from fathom.protocol import settlement as P  # noqa: E402
from fathom.chain.market import SEED_OFFSET, report_commitment  # noqa: E402
from fathom.chain.client import (  # noqa: E402
    ETH,
    ORACLE_MIN_STAKE,
    ORACLE_DRAW_PERIOD,
    ORACLE_SLASH_BPS,
    ORACLE_UNBONDING_DELAY,
    LocalChain,
    Sender,
    abi,
    connect,
    deploy_all,
    describe_revert,
)

WAD = 10**18
RAW = 0x55
INVALID = 2**32 - 1
BASELINE = 5_000
BLOCK_GAS_LIMIT = 30_000_000  # LocalChain's anvil (--gas-limit)

# The bounds (SPECIFICATION.md B3, B4), as the contracts state them.
MAX_COMMITTEE = 16  # BountyMarketStorage.MAX_COMMITTEE
MIN_COMMITTEE = 3  # BountyMarketStorage.MIN_COMMITTEE (committee >= 3 unless trustSingleOracle)
MAX_BATCH_SIZE = 256  # BountyMarketStorage.MAX_BATCH_SIZE
MAX_COMMITTEE_BY_BATCH = 2_048  # BountyMarketStorage.MAX_COMMITTEE_BY_BATCH: committee x batch size
TX_GAS_CAP = 2**24  # EIP-7825 (Fusaka): the most one transaction may use; every worst case stays below
MAX_BREAKPOINTS = 8  # RewardMath.MAX_BREAKPOINTS
MAX_BATCHES_AT_MAX_SIZE = (2**32 - 1) // MAX_BATCH_SIZE  # _validateParams: maxBatches * batchSize <= 2^32 - 1

GROWTH_BATCH = 8
GROWTH_LATE_BATCH = 40  # contributors axis: batch 40 follows 320 contributors
GROWTH_BOUNTIES = 40  # bounties axis: the 41st bounty follows 40
GROWTH_TOLERANCE = 500  # gas: what calldata alone can move (zero bytes cost 4, others 16)

VALIDATION_CID = (keccak(text="validation"), RAW)
VALIDATION_KEY = b"\x11" * 32
SALT = b"\x22" * 32
MODEL_KEY = b"\x33" * 32
COMMITMENT = keccak(encode(["(bytes32,uint8)", "bytes32", "bytes32"], [VALIDATION_CID, VALIDATION_KEY, SALT]))


def cid(tag: str) -> tuple[bytes, int]:
    return (keccak(text=tag), RAW)


def blob(scores: list[int] | bytes) -> bytes:
    """A report: as it is when encoded already, else one that merges its own best only."""
    return bytes(scores) if isinstance(scores, (bytes, bytearray)) else P.encode_scores(scores)


def mix(n: int, head: int, step: int) -> list[int]:
    """gas.py's batch: submission 0 beats the head by `step`, n/8 are slashed, the rest rejected."""
    scores = [head - 10] * n
    scores[0] = head + step
    for i in range(1, 1 + n // 8):
        scores[i] = INVALID if i % 2 else head - 500
    return scores


def adversarial_merged(committee: int, n: int, head: int) -> list[bytes]:
    """As `adversarial`, but every submission beats the head and is merged (R5): the scores fall
    in committee order (the most insertion-sort shifts); the honest quorum names one share
    vector (every submission a share, so every one is paid its part, UpdateMerged) and the
    deviants each another one (over the caps), so every report's vote is hashed and compared."""
    deviants = committee - (committee // 2 + 1)
    out = []
    for r in range(committee):
        if r < deviants:
            s = head + 1_000 + (deviants - 1 - r) * 10
            out.append(P.encode_report([s] * n, s, [60_000 - r] * n))
        else:
            d = committee - 1 - r
            out.append(P.encode_report([head + 100 + d] * n, head + 200 + d, [P.SHARE_TOTAL // n] * n))
    return out


def adversarial(committee: int, n: int, head: int) -> list[list[int]]:
    """Reports of the most expensive settlement (tolerance 10, slash margin 100): the most
    deviant members a decision allows (committee - quorum: 7 of 16, far above everyone, so the
    median stays honest and they are slashed), the quorum honest within the tolerance (so it
    agrees with every median, R4); submission 0 accepted, every other one slashed. Each
    submission's keys fall in committee order, so the insertion sort shifts the most."""
    deviants = committee - (committee // 2 + 1)
    reports = []
    for r in range(committee):
        if r < deviants:
            reports.append([head + 1_000 + (deviants - 1 - r) * 10] * n)
        else:
            d = committee - 1 - r  # 7..0 for 16
            reports.append([head + 100 + d] + [head - 500 + d] * (n - 1))
    return reports


# ------------------------------------------------------------------ accounts and transactions


@dataclass
class Acct:
    address: str
    key: bytes | None = None  # None: unlocked on the node
    nonce: int = 0


class Env:
    """One chain: unlocked accounts, fresh local keys, measured and bulk transactions."""

    def __init__(self, url: str) -> None:
        self.w3 = connect(url, timeout=300)
        self.chain_id = self.w3.eth.chain_id
        self.unlocked = [Acct(to_checksum_address(a)) for a in self.w3.eth.accounts]
        if len(self.unlocked) < 40:
            raise RuntimeError("gas_functions needs at least 40 unlocked accounts")
        self._salt = keccak(text=f"fathom/bench/gas_functions/{self.chain_id}/{self.w3.eth.block_number}")
        self._keys = 0
        self._funder = 0

    def fresh(self, n: int) -> list[Acct]:
        """n new accounts with local keys (never used on this chain)."""
        out = []
        for _ in range(n):
            key = keccak(self._salt + self._keys.to_bytes(8, "big"))
            self._keys += 1
            out.append(Acct(Account.from_key(key).address, key))
        return out

    def fund(self, accounts: list[Acct], amount: int) -> None:
        hashes = []
        for a in accounts:
            src = self.unlocked[30 + self._funder % (len(self.unlocked) - 30)]
            self._funder += 1
            hashes.append(self.w3.eth.send_transaction({"from": src.address, "to": a.address, "value": amount,
                                                        "gas": 21_000, "gasPrice": 0}))
        for h in hashes:
            assert self.w3.eth.wait_for_transaction_receipt(h, timeout=300, poll_latency=0.01).status == 1

    def _push(self, who: Acct, fn: Any, value: int, gas: int) -> bytes:
        tx = {"from": who.address, "value": value, "gas": gas, "gasPrice": 0, "chainId": self.chain_id}
        if who.key is None:
            return self.w3.eth.send_transaction(fn.build_transaction(tx))
        tx["nonce"] = who.nonce
        signed = Account.sign_transaction(fn.build_transaction(tx), who.key)
        who.nonce += 1
        return self.w3.eth.send_raw_transaction(signed.raw_transaction)

    def _wait(self, sent: list[tuple[bytes, Acct, Any, int]]) -> list[Any]:
        receipts = []
        for h, who, fn, value in sent:
            r = self.w3.eth.wait_for_transaction_receipt(h, timeout=300, poll_latency=0.01)
            if r.status != 1:
                raise RuntimeError(f"{fn.fn_name} reverted in {h.hex()}: {self._reason(who, fn, value)}")
            receipts.append(r)
        return receipts

    @staticmethod
    def _reason(who: Acct, fn: Any, value: int) -> str:
        try:
            fn.call({"from": who.address, "value": value})
        except ContractCustomError as exc:
            return describe_revert(exc.data)
        except ContractLogicError as exc:
            return exc.message or describe_revert(exc.data)
        except Exception as exc:  # noqa: BLE001 - only to name the failure
            return f"{type(exc).__name__}: {exc}"
        return "out of gas, or state changed since"

    def send(self, who: Acct, fn: Any, value: int = 0, gas: int = BLOCK_GAS_LIMIT) -> Any:
        """One transaction; its receipt (status 1). gasUsed does not depend on the gas limit,
        so every call gets the block's (a revert is replayed with eth_call to name its error)."""
        return self._wait([(self._push(who, fn, value, gas), who, fn, value)])[0]

    def bulk(self, calls: list[tuple[Acct, Any, int]], gas: int = 400_000) -> list[Any]:
        """Many transactions sent back to back; their receipts (all status 1)."""
        return self._wait([(self._push(who, fn, value, gas), who, fn, value) for who, fn, value in calls])

    def warp(self, seconds: int) -> None:
        self.w3.provider.make_request("evm_increaseTime", [seconds])
        self.w3.provider.make_request("evm_mine", [])

    def now(self) -> int:
        return self.w3.eth.get_block("latest").timestamp

    def mine_to(self, block: int) -> None:
        """Mine empty blocks until the next transaction lands in block `block` or later."""
        while self.w3.eth.block_number + 1 < block:
            self.w3.provider.make_request("evm_mine", [])

    def to_staking(self) -> None:
        """Rule O7: mine until the next transaction lands in a registry staking half (stake,
        requestUnbond, setPolicy, sync and drawn seats' leaving revert in a drawing half)."""
        # both the block gas is estimated at (the latest) and the one the transaction lands in
        while any((n // ORACLE_DRAW_PERIOD) % 2 == 1 for n in (self.w3.eth.block_number, self.w3.eth.block_number + 1)):
            self.w3.provider.make_request("evm_mine", [])


@dataclass
class Deployment:
    env: Env
    market: Any
    registry: Any
    keys: Any
    token: Any  # a MockERC20

    @classmethod
    def new(cls, env: Env) -> "Deployment":
        deployer = Sender.unlocked(env.w3, 0)
        c = deploy_all(deployer)
        token = deployer.deploy("MockERC20", "Bench", "BNC", 18)
        return cls(env, c["BountyMarket"], c["OracleRegistry"], c["KeyRegistry"], token)

    @property
    def deployer(self) -> Acct:
        return self.env.unlocked[0]

    def stake_oracles(self, oracles: list[Acct], amount: int) -> list[Any]:
        """One stake each, every one in a staking half (rule O7: each transaction is a block)."""
        out = []
        for o in oracles:
            self.env.to_staking()
            out.append(self.env.send(o, self.registry.functions.stake(), amount, gas=200_000))
        return out

    def contributors(self, n: int, eth: int = 0, tokens: int = 0) -> list[Acct]:
        """n new contributors: `eth` wei each; `tokens` minted and the market approved for all."""
        people = self.env.fresh(n)
        if eth:
            self.env.fund(people, eth)
        if tokens:
            self.env.bulk([(self.deployer, self.token.functions.mint(p.address, tokens), 0) for p in people])
            self.env.bulk([(p, self.token.functions.approve(self.market.address, 2**256 - 1), 0) for p in people])
        return people


def params(token: str, committee: list[Acct], now: int, *, batch: int = 32, max_batches: int = 64,
           stake: int = 10**16, fee: int = 3 * 10**15, bond: int = 10**16, tolerance: int = 5,
           curve: tuple[list[int], list[int]] | None = None, reward: int = 1_000 * WAD) -> tuple:
    xs, ys = curve or ([0, WAD], [0, WAD])
    return (
        token, reward, stake, fee, max_batches, bond, 5_000, batch, 3_600, now + 365 * 86_400, 86_400,
        True, 9_000, 100, tolerance, 10**14, b"accuracy".ljust(32, b"\0"), False, [m.address for m in committee],
        xs, ys, cid("initial"), cid("keyring"), COMMITMENT,
    )


def escrow(p: tuple) -> int:
    return p[1] + p[3] * p[4] + p[5]


# The largest curve: 8 breakpoints, with a bounty's progress in the last segment, so the
# reward reads every packed word (RewardMath.curveAtStored walks the breakpoints).
CURVE_8 = ([0, 10**15, 2 * 10**15, 3 * 10**15, 4 * 10**15, 5 * 10**15, 6 * 10**15, WAD],
           [0, 10**15, 2 * 10**15, 3 * 10**15, 4 * 10**15, 5 * 10**15, 6 * 10**15, WAD])


@dataclass
class Bounty:
    d: Deployment
    id: int
    token: str
    committee: list[Acct]
    stake: int
    batch_size: int
    records: list[tuple] = field(default_factory=list)  # (contributor, stake, baseVersion, cid)
    reports: dict[int, dict[int, tuple]] = field(default_factory=dict)  # batch -> member -> (scores, merged)
    commits: dict[int, list[Any]] = field(default_factory=dict)  # batch -> each member's commitReport receipt
    head: int = 0
    versions: int = 0

    @classmethod
    def open(cls, d: Deployment, requester: Acct, committee: list[Acct], *, eth: bool = False,
             **kw: Any) -> tuple["Bounty", Any]:
        p = params(ETH if eth else d.token.address, committee, d.env.now(), **kw)
        r = d.env.send(requester, d.market.functions.createBounty(p), value=escrow(p) if eth else 0)
        bid = d.market.events.BountyOpened().process_receipt(r, errors=DISCARD)[0]["args"]["bountyId"]
        return cls(d, bid, p[0], list(committee), p[2], p[7]), r

    @property
    def m(self) -> Any:
        return self.d.market.functions

    def refresh(self) -> None:
        v = self.d.market.functions.getBounty(self.id).call()
        self.head, self.versions = v[22], v[23]  # BountyView.headScore, versionCount

    def join(self) -> list[Any]:
        return [self.d.env.send(o, self.m.joinCommittee(self.id)) for o in self.committee]

    def baseline(self, scores: list[int], members: list[int] | None = None) -> list[Any]:
        members = list(range(len(self.committee))) if members is None else members
        out = [self.d.env.send(self.committee[i], self.m.reportBaseline(self.id, scores[i])) for i in members]
        self.refresh()
        return out

    def _submission(self, who: Acct, from_balance: bool, once: bool = False) -> tuple[Any, int]:
        update = cid(f"update/{self.d.market.address}/{self.id}/{len(self.records)}")
        self.records.append((who.address, self.stake | (payouts.ONE_OFF if once else 0), self.versions, update))
        if from_balance:
            return self.m.submitUpdateFromBalance(self.id, self.versions, update), 0
        fn = self.m.submitUpdateOnce if once else self.m.submitUpdate
        return fn(self.id, self.versions, update), (self.stake if self.token == ETH else 0)

    def submit(self, who: Acct, from_balance: bool = False, once: bool = False) -> Any:
        fn, value = self._submission(who, from_balance, once)
        return self.d.env.send(who, fn, value)

    def payout_claims(self, k: int, settled: Any) -> dict[str, tuple]:
        """{contributor: claimPayout's arguments} for batch k's one-off submissions (U6, P3)."""
        ev = self.d.market.events
        accepted = [e["args"] for e in ev.UpdateMerged().process_receipt(settled, errors=DISCARD)]
        slashed = [e["args"] for e in ev.StakeSlashed().process_receipt(settled, errors=DISCARD)]
        recs = self.batch(k)
        amounts = payouts.owed(recs, k * self.batch_size, accepted, slashed)
        return {recs[i][0]: (self.token, self.id, payouts.position(k, i), amount, proof)
                for i, (amount, proof) in payouts.claims(recs, amounts, self.token).items()}

    def submit_all(self, people: list[Acct], from_balance: Callable[[Acct], bool] = lambda a: False) -> list[Any]:
        calls = []
        for who in people:
            fn, value = self._submission(who, from_balance(who))
            calls.append((who, fn, value))
        return self.d.env.bulk(calls, gas=300_000)

    def batch(self, k: int) -> list[tuple]:
        return self.records[k * self.batch_size:(k + 1) * self.batch_size]

    def packed(self, k: int) -> bytes:
        return b"".join(encode_packed(["address", "uint96", "uint32", "bytes32", "uint8"], [a, s, v, u[0], u[1]])
                        for a, s, v, u in self.batch(k))

    def salt(self, member: int, k: int) -> bytes:
        return keccak(text=f"salt/{self.id}/{k}/{member}")

    def commit_all(self, k: int, reps: list[list[int]] | list[bytes], abstain: frozenset[int] = frozenset()) -> None:
        """R11: each member i commits to its report `reps[i]` of batch k (a report is the
        reveal of a commitment); once all have committed, the reveal phase is open. The
        members in `abstain` send a zero commitment instead (R12: they sit the batch out)."""
        merged = cid(f"merged/{self.d.market.address}/{self.id}/{k}")
        self.commits[k] = [
            self.d.env.send(who, self.m.commitReport(self.id, k, bytes(32) if i in abstain else report_commitment(
                self.id, k, who.address, self.salt(i, k), blob(reps[i]), merged)))
            for i, who in enumerate(self.committee)]

    def report(self, member: int, k: int, scores: list[int]) -> Any:
        rep = (blob(scores), cid(f"merged/{self.d.market.address}/{self.id}/{k}"))
        self.reports.setdefault(k, {})[member] = rep
        return self.d.env.send(self.committee[member], self.m.report(self.id, k, *rep, self.salt(member, k)))

    def _given(self, k: int, but: int | None = None) -> list[tuple]:
        return [rep for i, rep in sorted(self.reports.get(k, {}).items()) if i != but]

    def report_and_settle(self, member: int, k: int, scores: list[int]) -> Any:
        rep = (blob(scores), cid(f"merged/{self.d.market.address}/{self.id}/{k}"))
        r = self.d.env.send(self.committee[member],
                            self.m.reportAndSettle(self.id, k, rep[0], rep[1], self.salt(member, k), self.packed(k),
                                                   self._given(k, member)))
        self.refresh()
        return r

    def settle_batch(self, who: Acct, k: int) -> Any:
        r = self.d.env.send(who, self.m.settleBatch(self.id, k, self.batch(k), self._given(k)))
        self.refresh()
        return r

    def void_batch(self, who: Acct, k: int) -> Any:
        return self.d.env.send(who, self.m.voidBatch(self.id, k, self.batch(k)))

    def claimable(self, who: str, token: str | None = None) -> int:
        return self.m.claimable(who, self.token if token is None else token).call()


def expect(market: Any, receipt: Any, **counts: int) -> Any:
    """The receipt holds exactly these numbers of the market's events (the case is what it claims);
    `rejected` counts the rejections BatchSettled reports (the bits of its `rejected`)."""
    for name, n in counts.items():
        if name == "rejected":
            settled = market.events.BatchSettled().process_receipt(receipt, errors=DISCARD)
            got = sum(bin(int(e["args"]["rejected"])).count("1") for e in settled)
        else:
            got = len(getattr(market.events, name)().process_receipt(receipt, errors=DISCARD))
        assert got == n, f"{name}: {got} events in {receipt.transactionHash.hex()}, expected {n}"
    return receipt


def _rec(receipt: Any, what: str, key: str = "case") -> dict[str, Any]:
    return {"gas": int(receipt.gasUsed), key: what}


# ------------------------------------------------------------------------- functions


def _functions(env: Env) -> dict[str, Any]:
    """Every state-changing function once, in an ordinary case."""
    u = env.unlocked
    requester, oracles, anyone = u[1], u[2:9], u[23]
    d = Deployment.new(env)
    f: dict[str, Any] = {}
    reg, keys, market = d.registry.functions, d.keys.functions, d.market.functions

    # ---- OracleRegistry
    receipts = d.stake_oracles(oracles, 10 * WAD)
    f["OracleRegistry.stake"] = _rec(receipts[0], "an oracle's first deposit (10 ETH)")
    env.to_staking()
    f["OracleRegistry.stake [top-up]"] = _rec(env.send(oracles[0], reg.stake(), WAD), "a bonded oracle adds 1 ETH")
    leaver = u[18]
    env.to_staking()
    env.send(leaver, reg.stake(), ORACLE_MIN_STAKE)
    env.to_staking()
    f["OracleRegistry.requestUnbond"] = _rec(env.send(leaver, reg.requestUnbond()), "an oracle serving no bounty")
    env.warp(ORACLE_UNBONDING_DELAY + 1)
    f["OracleRegistry.withdraw"] = _rec(env.send(leaver, reg.withdraw()), "after the unbonding delay, whole stake (1 ETH)")
    # bond / release / slash are market-only: a second registry whose market is an account
    stand_in, oracle = u[19], u[20]
    reg2 = Sender.unlocked(env.w3, 0).deploy("OracleRegistry", ORACLE_MIN_STAKE, ORACLE_UNBONDING_DELAY, ORACLE_SLASH_BPS,
                                             ORACLE_DRAW_PERIOD)
    f["OracleRegistry.setMarket"] = _rec(env.send(d.deployer, reg2.functions.setMarket(stand_in.address)),
                                         "deployer, once (deploy_all sets the market's registry the same way)")
    env.to_staking()
    env.send(oracle, reg2.functions.stake(), 2 * WAD)
    called = "called by the registry's market (an account standing in for BountyMarket)"
    f["OracleRegistry.bond"] = _rec(env.send(stand_in, reg2.functions.bond(oracle.address, WAD // 16)),
                                    f"{called}; locks a bond of 1/16 ETH; in joinCommittee")
    f["OracleRegistry.slash"] = _rec(env.send(stand_in, reg2.functions.slash(oracle.address, WAD // 160)),
                                     f"{called}; one offence (a tenth of the bond) sent to it to burn; in settlement / voidBatch")
    f["OracleRegistry.release"] = _rec(env.send(stand_in, reg2.functions.release(oracle.address, WAD // 16 - WAD // 160)),
                                       f"{called}; unlocks the rest of the bond; in leaveCommittee")
    f["OracleRegistry.exclude"] = _rec(env.send(stand_in, reg2.functions.exclude(1, oracle.address)),
                                       f"{called}; excludes an oracle from a bounty's draws (C6); in leaveCommittee / vacateSeat")
    env.to_staking()
    f["OracleRegistry.sync"] = _rec(env.send(anyone, reg2.functions.sync(oracle.address)),
                                    "anyone; applies the slash above to the oracle's leaf (O7): log2(N) + 1 tree nodes, N = 1")

    # ---- KeyRegistry
    holder = env.fresh(1)[0]
    pub = eth_keys.PrivateKey(holder.key).public_key.to_bytes()
    f["KeyRegistry.publishKey"] = _rec(env.send(holder, keys.publishKey(pub)), "first publication (64-byte key)")
    f["KeyRegistry.publishKey [again]"] = _rec(env.send(holder, keys.publishKey(pub)), "the same key again (K3)")

    # ---- BountyMarket, ERC-20 bounty: committee 3, batches of 32 (gas.py's case)
    env.bulk([(d.deployer, d.token.functions.mint(requester.address, 10**30), 0),
              (requester, d.token.functions.approve(d.market.address, 2**256 - 1), 0)])
    # ---- the acceptance policy (O5) and the drawn committee (C4): 3 seats among 7 staked oracles
    env.to_staking()
    f["OracleRegistry.setPolicy"] = _rec(env.send(oracles[6], reg.setPolicy((600, 365 * 86_400, 0, 2048, True, 10**18))),
                                         "an oracle's first policy (O5)")
    drawn, drawn_id = _drawn(d, requester, anyone, 3, batch=32, max_batches=16)
    f["BountyMarket.drawCommittee"] = _rec(drawn, "anyone; 3 seats drawn among 7 staked oracles (C4, O6)")
    idle = d.market.functions.getCommittee(drawn_id).call()[0][0]
    env.warp(3_600)  # the join timeout: the bounty's scoring timeout since the draw (C6)
    # and a whole staking half since the draw (C6, finding A): the staking half after the next drawing half
    env.mine_to((drawn.blockNumber // ORACLE_DRAW_PERIOD + 3) * ORACLE_DRAW_PERIOD)
    env.to_staking()
    f["BountyMarket.vacateSeat"] = _rec(env.send(anyone, market.vacateSeat(drawn_id, idle)),
                                        "anyone; a drawn seat not joined within the timeout and a whole staking half "
                                        "(C6): eligibility and policy read, excluded in the registry, emptied, re-armed")
    # rule C4: the next drawing half's seed, recorded in its seed block (drawCommittee records it if nobody did)
    half = (env.w3.eth.block_number // (2 * ORACLE_DRAW_PERIOD) + 1) * 2 * ORACLE_DRAW_PERIOD + ORACLE_DRAW_PERIOD
    env.mine_to(half + SEED_OFFSET)
    f["OracleRegistry.recordSeed"] = _rec(env.send(anyone, reg.recordSeed()),
                                          "anyone; the first call in a drawing half's seed block stores its PREVRANDAO seed (C4)")
    f["OracleRegistry.seedFor"] = _rec(env.send(anyone, reg.seedFor(half)),
                                       "anyone (drawCommittee's call); within the half, after the seed block: reads it (C4)")
    committee = oracles[:3]
    a, r = Bounty.open(d, requester, committee, batch=32, max_batches=16)
    f["BountyMarket.createBounty"] = _rec(r, "ERC-20, committee 3, curve of 2 breakpoints, batch 32")
    f["BountyMarket.setKeyring"] = _rec(env.send(requester, market.setKeyring(a.id, cid("keyring-2"))), "requester (B6)")
    f["BountyMarket.setInitialModel"] = _rec(env.send(requester, market.setInitialModel(a.id, cid("initial-2"))),
                                             "requester, before the baseline (B6)")
    f["BountyMarket.topUp"] = _rec(env.send(requester, market.topUp(a.id, 10 * WAD)), "ERC-20, 10 tokens")
    joins = a.join()
    f["BountyMarket.joinCommittee"] = _rec(joins[-1], "3rd member; creates its claimable slot for the token (C1)")
    f["BountyMarket.sitOut"] = _rec(env.send(committee[2], market.sitOut(a.id, True)),
                                    "a member never seated takes a standing sit-out, before the baseline: at once (C7)")
    f["BountyMarket.sitOut [clear]"] = _rec(env.send(committee[2], market.sitOut(a.id, False)),
                                            "the same member, seated, clears it (C7)")
    base = a.baseline([BASELINE] * 3)
    f["BountyMarket.reportBaseline"] = _rec(base[0], "1st of 3 members")
    f["BountyMarket.reportBaseline [last]"] = _rec(base[-1], "3rd of 3: sets the baseline (S2)")

    people = d.contributors(32, tokens=100 * a.stake)
    subs = a.submit_all(people)
    f["BountyMarket.submitUpdate"] = _rec(subs[1], "ERC-20, a new contributor, mid-batch")
    f["BountyMarket.submitUpdate [fills the batch]"] = _rec(subs[-1], "ERC-20, the 32nd of 32: seals the batch")
    a.commit_all(0, [mix(32, a.head, 100)] * 3)
    a.report(0, 0, mix(32, a.head, 100))
    f["BountyMarket.report"] = _rec(a.report(1, 0, mix(32, a.head, 100)), "batch 32, the reveal of its commitment (R11)")
    f["BountyMarket.commitReport"] = _rec(a.commits[0][1], "2nd of 3 members, batch 32 (R11)")
    f["BountyMarket.commitReport [last]"] = _rec(a.commits[0][2], "3rd of 3: opens the reveal phase (R11)")
    r = expect(d.market, a.report_and_settle(2, 0, mix(32, a.head, 100)), VersionAccepted=1, StakeSlashed=4,
               rejected=27, OracleSlashed=0)
    f["BountyMarket.reportAndSettle"] = _rec(r,
                                             "3rd of 3, batch 32 (1 accepted, 4 slashed, 27 rejected), new contributors")
    # batch 1: the same contributors, restaking from their returned stakes where they can (U5)
    restakes = {p.address for p in people if a.claimable(p.address) >= a.stake}
    subs = a.submit_all(people, from_balance=lambda p: p.address in restakes)
    mid = [s for s, p in zip(subs[:-1], people) if p.address in restakes]
    f["BountyMarket.submitUpdateFromBalance"] = _rec(mid[-1], "ERC-20, a returning contributor, mid-batch (U5)")
    a.commit_all(1, [mix(32, a.head, 100)] * 3)
    for i in range(3):
        a.report(i, 1, mix(32, a.head, 100))
    f["BountyMarket.settleBatch"] = _rec(a.settle_batch(anyone, 1),
                                         "anyone, 3 reports, batch 32 (1 accepted, 4 slashed, 27 rejected), returning contributors")
    # batch 2 misses its quorum (2 of 3): member 2 abstains once 0 and 1 committed (R12), member 1
    # withholds its reveal; voided at the timeout, the silent member 1 slashed, the abstainer not (R10)
    a.submit_all(people)
    a.commit_all(2, [mix(32, a.head, 100)] * 3, abstain=frozenset({2}))
    f["BountyMarket.commitReport [abstain]"] = _rec(a.commits[2][2], "3rd of 3, a zero commitment once 2 committed: "
                                                                      "sits the batch out, opens the reveal phase (R12)")
    a.report(0, 2, mix(32, a.head, 100))
    env.warp(3_600 + 1)
    r = expect(d.market, a.void_batch(anyone, 2), BatchVoided=1, OracleSlashed=1)
    f["BountyMarket.voidBatch"] = _rec(r, "anyone, batch 32, 1 of 3 reported, 1 abstained (R12): the member that "
                                          "committed and did not reveal loses an offence of its bond, burned; the 32 "
                                          "stakes back")
    f["BountyMarket.cancel"] = _rec(env.send(requester, market.cancel(a.id)), "requester (E1)")
    f["BountyMarket.close"] = _rec(env.send(anyone, market.close(a.id)), "anyone, every batch decided (E2)")
    f["BountyMarket.discloseKeys"] = _rec(env.send(committee[0], market.discloseKeys(a.id, 0, b"\x01" * 32 * 32)),
                                          "a member, after close, batch 32: 1,024 bytes of keys in an event (F2)")
    f["BountyMarket.reveal"] = _rec(env.send(requester, market.reveal(a.id, VALIDATION_CID, VALIDATION_KEY, SALT, MODEL_KEY)),
                                    "requester, bounty closed, bond returned (E3)")
    f["BountyMarket.leaveCommittee"] = _rec(env.send(committee[0], market.leaveCommittee(a.id)), "after the reveal (C2)")
    f["BountyMarket.claim"] = _rec(env.send(people[3], market.claim(d.token.address)), "ERC-20, a contributor")
    f["BountyMarket.claimTo"] = _rec(env.send(people[4], market.claimTo(d.token.address, u[24].address)),
                                     "ERC-20, a contributor to another address that holds none of the token")
    f["BountyMarket.burn"] = _rec(env.send(anyone, market.burn(d.token.address)), "ERC-20, the token's first burn")

    # ---- one-off contributors (U6, P3): submitUpdateOnce, then claimPayout with a proof
    o, _ = Bounty.open(d, requester, committee, batch=4, max_batches=4)
    o.join()
    o.baseline([BASELINE] * 3)
    once = d.contributors(4, tokens=100 * o.stake)
    subs = [o.submit(p, once=True) for p in once]
    f["BountyMarket.submitUpdateOnce"] = _rec(subs[1], "ERC-20, a one-off contributor, mid-batch (U6)")
    o.commit_all(0, [mix(4, o.head, 100)] * 3)
    o.report(0, 0, mix(4, o.head, 100))
    o.report(1, 0, mix(4, o.head, 100))
    settled = expect(d.market, o.report_and_settle(2, 0, mix(4, o.head, 100)), VersionAccepted=1, rejected=3)
    claims = o.payout_claims(0, settled)
    f["BountyMarket.claimPayout"] = _rec(env.send(once[2], market.claimPayout(*claims[once[2].address])),
                                         "ERC-20, a one-off contributor's returned stake, 5-hash proof (P3)")
    tok, bid, where, amount, proof = claims[once[3].address]
    f["BountyMarket.claimPayoutTo"] = _rec(env.send(once[3], market.claimPayoutTo(tok, env.fresh(1)[0].address, bid, where,
                                                                                  amount, proof)),
                                           "ERC-20, a one-off payout to another address holding none of the token (P3)")

    # ---- rule P4: a token whose balance fell without a transfer (a negative rebase) is written down
    rebasing = Sender.unlocked(env.w3, 0).deploy("RebasingToken")
    env.send(d.deployer, rebasing.functions.mint(requester.address, 10**30))
    env.send(requester, rebasing.functions.approve(d.market.address, 2**256 - 1))
    env.send(requester, market.createBounty(params(rebasing.address, committee, env.now())))
    env.send(d.deployer, rebasing.functions.rebase(1, 2))
    f["BountyMarket.writeDown"] = _rec(env.send(anyone, market.writeDown(rebasing.address)),
                                       "anyone, a token the market holds half of what it owes in (P4)")

    # ---- an ETH bounty, committee of 4: settleBaseline, bond forfeiture, ETH variants
    e_committee = oracles[3:7]
    e, r = Bounty.open(d, requester, e_committee, eth=True, batch=4, max_batches=4)
    f["BountyMarket.createBounty [ETH]"] = _rec(r, "ETH, committee 4, curve of 2 breakpoints, batch 4")
    f["BountyMarket.topUp [ETH]"] = _rec(env.send(requester, market.topUp(e.id, WAD), WAD), "ETH, 1 ETH")
    e.join()
    e.baseline([BASELINE] * 4, members=[0, 1, 2])
    env.warp(3_600 + 1)
    f["BountyMarket.settleBaseline"] = _rec(env.send(anyone, market.settleBaseline(e.id)),
                                            "anyone, after the timeout, 3 of 4 reported (S2)")
    e.refresh()
    eth_people = d.contributors(4, eth=WAD)
    subs = [e.submit(p) for p in eth_people]
    f["BountyMarket.submitUpdate [ETH]"] = _rec(subs[1], "ETH, a new contributor, mid-batch")
    scores = [e.head + 100, INVALID, e.head - 10, e.head - 10]
    e.commit_all(0, [scores] * 4)
    for i in range(3):
        e.report(i, 0, scores)
    f["BountyMarket.reportAndSettle [ETH]"] = _rec(e.report_and_settle(3, 0, scores),
                                                   "4th of 4, batch 4 (1 accepted, 1 slashed, 2 rejected)")
    env.send(requester, market.cancel(e.id))
    env.send(anyone, market.close(e.id))
    env.warp(86_400 + 1)
    f["BountyMarket.forfeitBond"] = _rec(env.send(anyone, market.forfeitBond(e.id)),
                                         "anyone, after the reveal window, 1 accepted version (E4)")
    f["BountyMarket.claimBondShare"] = _rec(env.send(eth_people[0], market.claimBondShare(e.id, 1)), "version 1's author (E4)")
    f["BountyMarket.claim [ETH]"] = _rec(env.send(eth_people[2], market.claim(ETH)), "ETH, a contributor")
    f["BountyMarket.claimTo [ETH]"] = _rec(env.send(eth_people[3], market.claimTo(ETH, u[25].address)),
                                           "ETH, to another existing account")
    dead = "0x000000000000000000000000000000000000dEaD"
    new = env.w3.eth.get_balance(dead) == 0 and env.w3.eth.get_transaction_count(dead) == 0 and not env.w3.eth.get_code(dead)
    f["BountyMarket.burn [ETH]"] = _rec(env.send(anyone, market.burn(ETH)), "ETH, to 0x…dEaD" + (
        ", which does not exist yet on this chain (+25,000 for a new account; on mainnet it exists)" if new else ""))

    # ---- administration
    guardian, owner = u[21], u[22]
    f["BountyMarket.setGuardian"] = _rec(env.send(d.deployer, market.setGuardian(guardian.address)), "owner (A1)")
    f["BountyMarket.pause"] = _rec(env.send(guardian, market.pause()), "guardian (A2)")
    f["BountyMarket.unpause"] = _rec(env.send(guardian, market.unpause()), "guardian (A2)")
    f["BountyMarket.transferOwnership"] = _rec(env.send(d.deployer, market.transferOwnership(owner.address)),
                                               "owner, step 1 of 2 (A1)")
    f["BountyMarket.acceptOwnership"] = _rec(env.send(owner, market.acceptOwnership()), "new owner, step 2 (A1)")
    # renounceOwnership is a view that reverts (A1): nothing to measure

    f["views"] = _views(d, a, e, holder.address, oracles[0].address)
    _check_complete(f, "functions")
    return f


#: IOracleRegistry.Terms of gas.py's bounty (committee 3, batch 32, a one-hour timeout, a year long).
TERMS_3x32 = (3_600, 365 * 86_400, 3 * 10**15, False, 96, 10**18 // 16)


def _views(d: Deployment, a: Bounty, e: Bounty, key_holder: str, oracle: str) -> dict[str, Any]:
    m, reg, keys = d.market.functions, d.registry.functions, d.keys.functions
    calls = {
        "BountyMarket.getBounty": m.getBounty(a.id), "BountyMarket.getCommittee": m.getCommittee(a.id),
        "BountyMarket.getCurve": m.getCurve(a.id), "BountyMarket.getBatch": m.getBatch(a.id, 0),
        "BountyMarket.getCommits": m.getCommits(a.id, 0),  # R11: who committed, and revealAt
        "BountyMarket.standingSitOut": m.standingSitOut(a.id),  # C7: the members with a standing sit-out
        "BountyMarket.reportHash": m.reportHash(a.id, 0, 0), "BountyMarket.versionAuthor": m.versionAuthor(e.id, 1),
        "BountyMarket.bondShare": m.bondShare(e.id), "BountyMarket.state": m.state(a.id),
        "BountyMarket.memberBond": m.memberBond(a.id), "OracleRegistry.lockedOf": reg.lockedOf(oracle),
        "BountyMarket.payoutRoot": m.payoutRoot(a.id, 0, 0),
        "BountyMarket.claimable": m.claimable(oracle, d.token.address), "BountyMarket.pendingBurn": m.pendingBurn(ETH),
        "BountyMarket.books": m.books(d.token.address),  # P4: what the market owes in the token
        "BountyMarket.balanceChecked": m.balanceChecked(d.token.address),  # P4: false for a listed token
        "BountyMarket.bountyCount": m.bountyCount(), "BountyMarket.guardian": m.guardian(), "BountyMarket.paused": m.paused(),
        "BountyMarket.keyRegistry": m.keyRegistry(), "BountyMarket.oracleRegistry": m.oracleRegistry(),
        "BountyMarket.extension": m.extension(), "BountyMarket.owner": m.owner(), "BountyMarket.pendingOwner": m.pendingOwner(),
        "OracleRegistry.isEligible": reg.isEligible(oracle), "OracleRegistry.oracleInfo": reg.oracleInfo(oracle),
        "OracleRegistry.minStake": reg.minStake(), "OracleRegistry.unbondingDelay": reg.unbondingDelay(),
        "OracleRegistry.slashBps": reg.slashBps(), "OracleRegistry.market": reg.market(),
        "OracleRegistry.policyOf": reg.policyOf(oracle), "OracleRegistry.totalWeight": reg.totalWeight(),
        # rule O5/O6: one policy check; a draw of 3 among the registry's 7 oracles (drawCommittee's core)
        "OracleRegistry.accepts": reg.accepts(oracle, TERMS_3x32),
        "OracleRegistry.draw": reg.draw(1, 2**255 + 7, 3, TERMS_3x32, [ETH] * 3 + [d.deployer.address]),
        "OracleRegistry.seedOf": reg.seedOf(1), "OracleRegistry.seedOffset": reg.seedOffset(),
        "OracleRegistry.envelope": reg.envelope(),  # O5 (R3-4): the standard envelope
        # C6 (R3-5): whether a drawn seat may be vacated (vacateSeat's check)
        "OracleRegistry.vacatable": reg.vacatable(oracle, TERMS_3x32, True),
        "OracleRegistry.canBond": reg.canBond(oracle, WAD // 16), "OracleRegistry.phase": reg.phase(),
        "OracleRegistry.drawPeriod": reg.drawPeriod(),
        "KeyRegistry.publicKeyOf": keys.publicKeyOf(key_holder), "KeyRegistry.hasKey": keys.hasKey(key_holder),
    }
    out: dict[str, Any] = {"method": "eth_estimateGas of a transaction calling the view (includes the 21,000 "
                                     "base cost); called off chain (eth_call) a view costs nothing"}
    for name, fn in calls.items():
        out[name] = int(fn.estimate_gas({"from": d.deployer.address}))
    for contract in ("BountyMarket", "OracleRegistry", "KeyRegistry"):
        views = {x["name"] for x in abi(contract) if x["type"] == "function" and x["stateMutability"] in ("view", "pure")}
        views -= {"renounceOwnership"}  # a view only so that it can never run: it always reverts (A1)
        missing = sorted(v for v in views if f"{contract}.{v}" not in out)
        assert not missing, f"views not measured: {contract} {missing}"
    return out


def _drawn(d: Deployment, requester: Acct, anyone: Acct, seats: int, **kw: Any) -> tuple[Any, int]:
    """Opens an ERC-20 bounty in drawn mode (every seat the zero address; the ETH draw deposit,
    C5, beside it), mines to its armed half's seed block (C4: its first block + SEED_OFFSET), and
    returns the receipt of `anyone`'s drawCommittee (C4) and the bounty's id."""
    p = params(d.token.address, [Acct(ETH)] * seats, d.env.now(), **kw)
    deposit = d.registry.functions.minStake().call() // 16
    r = d.env.send(requester, d.market.functions.createBounty(p), deposit)
    bid = d.market.events.BountyOpened().process_receipt(r, errors=DISCARD)[0]["args"]["bountyId"]
    d.env.mine_to(d.market.functions.getBounty(bid).call()[-1] + SEED_OFFSET)  # C4: the half's seed block
    r = d.env.send(anyone, d.market.functions.drawCommittee(bid))
    members = d.market.functions.getCommittee(bid).call()[0]
    assert ETH not in members, f"drawCommittee left a seat empty: {members}"
    return r, bid


def _check_complete(table: dict[str, Any], what: str) -> None:
    """Every external state-changing function of the three contracts has a figure."""
    have = {k.split(" [")[0] for k in table}
    for contract in ("BountyMarket", "OracleRegistry", "KeyRegistry"):
        names = {x["name"] for x in abi(contract)
                 if x["type"] == "function" and x["stateMutability"] in ("nonpayable", "payable")}
        missing = sorted(n for n in names if f"{contract}.{n}" not in have)
        assert not missing, f"{what}: no figure for {contract} {missing}"


# ------------------------------------------------------------------------ worst case


def _worst(env: Env, functions: dict[str, Any]) -> dict[str, Any]:
    u = env.unlocked
    requester, oracles, anyone = u[1], u[2:2 + MAX_COMMITTEE], u[23]
    d = Deployment.new(env)
    market = d.market.functions
    w: dict[str, Any] = {}
    # B3: committee x batch <= MAX_COMMITTEE_BY_BATCH, so the largest committee takes batches of 128
    B = MAX_COMMITTEE_BY_BATCH // MAX_COMMITTEE
    c16, b256 = f"committee {MAX_COMMITTEE}", f"batch {B}"
    # odd wei in the stakes, so that slashed ETH leaves dust to burn (R7)
    d.stake_oracles(oracles, 10 * WAD + 77_770)
    env.bulk([(d.deployer, d.token.functions.mint(requester.address, 10**40), 0),
              (requester, d.token.functions.approve(d.market.address, 2**256 - 1), 0)])
    big = dict(batch=B, max_batches=MAX_BATCHES_AT_MAX_SIZE, curve=CURVE_8, tolerance=10)

    # W: reportAndSettle at the bounds (batch 0 adversarial, batch 1 honest)
    wb, r = Bounty.open(d, requester, oracles, **big)
    w["BountyMarket.createBounty"] = _rec(r, f"{c16}, curve {MAX_BREAKPOINTS} breakpoints, {b256}, maxBatches "
                                             f"{MAX_BATCHES_AT_MAX_SIZE:,} (x 256 < 2^32), ERC-20", "bound")
    w["BountyMarket.setInitialModel"] = _rec(env.send(requester, market.setInitialModel(wb.id, cid("initial-w"))),
                                             "O(1): a CID; before the baseline", "bound")
    w["BountyMarket.setKeyring"] = _rec(env.send(requester, market.setKeyring(wb.id, cid("keyring-w"))),
                                        "O(1): a CID", "bound")
    w["BountyMarket.topUp"] = _rec(env.send(requester, market.topUp(wb.id, 10 * WAD)), "O(1): ERC-20 transfer in", "bound")
    r16, d16 = _drawn(d, requester, anyone, MAX_COMMITTEE, batch=B, max_batches=16)
    w["BountyMarket.drawCommittee"] = _rec(
        r16, f"{c16} drawn among {MAX_COMMITTEE} staked oracles (every one must be found)", "bound")
    w["BountyMarket.drawCommittee"]["bound"] = ("O(seats x log N): at most 16 x seats + 32 samples (O6), each reading "
                                                "log2(N) + 1 nodes of the sortition tree over the N registered oracles "
                                                "and one exclusion slot (C6)")
    joins = wb.join()
    w["BountyMarket.joinCommittee"] = _rec(joins[-1], f"{c16}: the 16th member; creates its claimable slot", "bound")
    # (after wb's joins, so that the worst join still creates its claimable slot)
    # C6, finding F: the 16 join, 15 leave (excluded for good); their replacement draw finds nobody, so it takes
    # every sample (16 x 15 + 32), each landing on an excluded oracle or the seated one
    by_address = {o.address: o for o in oracles}
    seated = [by_address[m] for m in market.getCommittee(d16).call()[0]]
    env.bulk([(o, market.joinCommittee(d16), 0) for o in seated])
    for o in seated[1:]:  # a drawn seat is emptied only in a staking half (O7)
        env.to_staking()
        env.send(o, market.leaveCommittee(d16))
    d.env.mine_to(market.getBounty(d16).call()[-1] + SEED_OFFSET)  # C4: the half's seed block
    w["BountyMarket.drawCommittee [every sample excluded]"] = _rec(
        env.send(anyone, market.drawCommittee(d16)),
        f"{c16}: 15 seats redrawn among {MAX_COMMITTEE} oracles, the 15 that left excluded (a mapping read per "
        f"sample): {16 * 15 + 32} samples, none kept, re-armed (C4); 300 excluded of 330 oracles: 3.17M gas "
        "(forge test_gas_F_draw_with_300_excluded_of_330_oracles, --isolate)", "bound")
    assert market.getCommittee(d16).call()[0][1] == ETH and market.getBounty(d16).call()[-1] != 0
    base = wb.baseline([BASELINE + MAX_COMMITTEE - 1 - i for i in range(MAX_COMMITTEE)])
    w["BountyMarket.reportBaseline"] = _rec(base[-1], f"{c16}: the 16th report sets the baseline, median of 16 keys "
                                                      "in descending order (most insertion-sort shifts)", "bound")
    people = d.contributors(B, tokens=10 * wb.stake)
    wb.submit_all(people)
    reps = adversarial(MAX_COMMITTEE, B, wb.head)
    wb.commit_all(0, reps)
    reports = [wb.report(i, 0, reps[i]) for i in range(MAX_COMMITTEE - 1)]
    w["BountyMarket.commitReport"] = _rec(max(wb.commits[0], key=lambda x: x.gasUsed),
                                          f"O(1): a 32-byte commitment ({c16}; the 16th opens the reveal phase)", "bound")
    w["BountyMarket.report"] = _rec(max(reports, key=lambda x: x.gasUsed), f"{b256}: 1,024 bytes of scores "
                                                                           "(independent of the committee size)", "bound")
    r = expect(d.market, wb.report_and_settle(MAX_COMMITTEE - 1, 0, reps[-1]), VersionAccepted=1,
               StakeSlashed=B - 1, rejected=0, OracleSlashed=MAX_COMMITTEE - (MAX_COMMITTEE // 2 + 1))
    w["BountyMarket.reportAndSettle"] = _rec(r, f"{c16}, {b256}: the 16th report with 15 others; 128 new contributors; "
                                                "1 accepted, 127 slashed; 7 deviant members (the most a decision allows) lose an "
                                                "offence of their bond, burned; curve of 8 read to its end", "bound")
    people1 = d.contributors(B, tokens=10 * wb.stake)
    wb.submit_all(people1)
    honest = mix(B, wb.head, 100)
    wb.commit_all(1, [honest] * MAX_COMMITTEE)
    for i in range(MAX_COMMITTEE - 1):
        wb.report(i, 1, honest)
    r = expect(d.market, wb.report_and_settle(MAX_COMMITTEE - 1, 1, honest), VersionAccepted=1,
               StakeSlashed=B // 8, rejected=B - 1 - B // 8, OracleSlashed=0)
    w["BountyMarket.reportAndSettle [honest]"] = _rec(r, f"{c16}, {b256}, all members agree; 128 new contributors; "
                                                         "1 accepted, 16 slashed, 111 rejected (gas.py's mix)", "bound")

    # S: submissions that fill a batch while an earlier one is pending (the hash gets its own slot)
    s, _ = Bounty.open(d, requester, oracles[:3], batch=1, max_batches=16)
    s.join()
    s.baseline([BASELINE] * 3)
    first, second = d.contributors(2, tokens=10 * s.stake)
    s.submit(first)  # fills batch 0 (the bounty's ready word)
    w["BountyMarket.submitUpdate"] = _rec(s.submit(second), "O(1); worst state: ERC-20, a new contributor, fills a "
                                                            "batch while an earlier one is pending (new slot)", "bound")
    returning = next(p for p in people1 if s.claimable(p.address) >= s.stake)
    w["BountyMarket.submitUpdateFromBalance"] = _rec(s.submit(returning, from_balance=True),
                                                     "O(1); worst state as submitUpdate (U5)", "bound")
    w["BountyMarket.submitUpdateOnce"] = _rec(s.submit(d.contributors(1, tokens=10 * s.stake)[0], once=True),
                                              "O(1); worst state as submitUpdate (U6)", "bound")

    # W2: settleBaseline and settleBatch at the bounds
    w2, _ = Bounty.open(d, requester, oracles, **big)
    w2.join()
    w2.baseline([BASELINE + MAX_COMMITTEE - 1 - i for i in range(MAX_COMMITTEE)], members=list(range(MAX_COMMITTEE - 1)))
    env.warp(3_600 + 1)
    w["BountyMarket.settleBaseline"] = _rec(env.send(anyone, market.settleBaseline(w2.id)),
                                            f"{c16}, 15 of 16 reported (all would set it at once), descending", "bound")
    w2.refresh()
    w2.submit_all(d.contributors(B, tokens=10 * w2.stake))
    reps = adversarial(MAX_COMMITTEE, B, w2.head)
    w2.commit_all(0, reps)
    for i in range(MAX_COMMITTEE):
        w2.report(i, 0, reps[i])
    r = expect(d.market, w2.settle_batch(anyone, 0), VersionAccepted=1, StakeSlashed=B - 1,
               rejected=0, OracleSlashed=MAX_COMMITTEE - (MAX_COMMITTEE // 2 + 1))
    w["BountyMarket.settleBatch"] = _rec(r,
                                         f"{c16}, {b256}: 16 reports and 128 records in calldata; as reportAndSettle's "
                                         "adversarial case", "bound")

    # W3: voidBatch at the bounds
    w3, _ = Bounty.open(d, requester, oracles, **big)
    w3.join()
    w3.baseline([BASELINE] * MAX_COMMITTEE)
    w3.submit_all(d.contributors(B, tokens=10 * w3.stake))
    env.warp(3_600 + 1)
    r = expect(d.market, w3.void_batch(anyone, 0), BatchVoided=1, OracleSlashed=MAX_COMMITTEE)
    w["BountyMarket.voidBatch"] = _rec(r, f"{c16}, {b256}: no report, so 16 members lose an "
                                                                 "offence of their bond (burned); 128 new contributors", "bound")

    # the other corner of the bound: committee 8 x batch 256 (more contributors, fewer reports)
    c8 = MAX_COMMITTEE_BY_BATCH // MAX_BATCH_SIZE
    shape = f"committee {c8}, batch {MAX_BATCH_SIZE}"
    big8 = dict(batch=MAX_BATCH_SIZE, max_batches=MAX_BATCHES_AT_MAX_SIZE, curve=CURVE_8, tolerance=10)
    w8, _ = Bounty.open(d, requester, oracles[:c8], **big8)
    w8.join()
    w8.baseline([BASELINE] * c8)
    w8.submit_all(d.contributors(MAX_BATCH_SIZE, tokens=10 * w8.stake))
    reps8 = adversarial(c8, MAX_BATCH_SIZE, w8.head)
    w8.commit_all(0, reps8)
    for i in range(c8 - 1):
        w8.report(i, 0, reps8[i])
    r = expect(d.market, w8.report_and_settle(c8 - 1, 0, reps8[-1]), VersionAccepted=1,
               StakeSlashed=MAX_BATCH_SIZE - 1, rejected=0, OracleSlashed=c8 - (c8 // 2 + 1))
    if r.gasUsed > w["BountyMarket.reportAndSettle"]["gas"]:
        w["BountyMarket.reportAndSettle"] = _rec(r, f"{shape}: the 8th report with 7 others; 256 new contributors; "
                                                    "1 accepted, 255 slashed; 3 deviant members lose an offence; "
                                                    "curve of 8 read to its end", "bound")

    # R5 at the bounds: every submission merged and paid its share, at both corners
    for c, n in ((MAX_COMMITTEE, B), (c8, MAX_BATCH_SIZE)):
        wm, _ = Bounty.open(d, requester, oracles[:c], batch=n, max_batches=MAX_BATCHES_AT_MAX_SIZE, curve=CURVE_8,
                            tolerance=10)
        wm.join()
        wm.baseline([BASELINE] * c)
        wm.submit_all(d.contributors(n, tokens=10 * wm.stake))
        reps = adversarial_merged(c, n, wm.head)
        wm.commit_all(0, reps)
        for i in range(c - 1):
            wm.report(i, 0, reps[i])
        r = expect(d.market, wm.report_and_settle(c - 1, 0, reps[-1]), VersionAccepted=1, UpdateMerged=n,
                   StakeSlashed=0, rejected=0, OracleSlashed=c - (c // 2 + 1))
        key = "BountyMarket.reportAndSettle [all merged]"
        if key not in w or r.gasUsed > w[key]["gas"]:
            w[key] = _rec(r, f"committee {c}, batch {n}: the last report with {c - 1} others; {n} new contributors, "
                             f"every one merged and paid its share (UpdateMerged); {c - (c // 2 + 1)} deviant members "
                             "lose an offence; scores in committee order (most insertion-sort shifts), one (CID, shares) vote per report",
                          "bound")
    w8.submit_all(d.contributors(MAX_BATCH_SIZE, tokens=10 * w8.stake))
    reps8 = adversarial(c8, MAX_BATCH_SIZE, w8.head)
    w8.commit_all(1, reps8)
    for i in range(c8):
        w8.report(i, 1, reps8[i])
    r = expect(d.market, w8.settle_batch(anyone, 1), VersionAccepted=1, StakeSlashed=MAX_BATCH_SIZE - 1,
               rejected=0, OracleSlashed=c8 - (c8 // 2 + 1))
    if r.gasUsed > w["BountyMarket.settleBatch"]["gas"]:
        w["BountyMarket.settleBatch"] = _rec(r, f"{shape}: 8 reports and 256 records in calldata; as reportAndSettle's "
                                                "adversarial case", "bound")
    env.send(requester, market.cancel(w8.id))
    env.send(anyone, market.close(w8.id))
    w["BountyMarket.discloseKeys"] = _rec(env.send(oracles[0], market.discloseKeys(w8.id, 0, b"\x01" * 32 * MAX_BATCH_SIZE)),
                                          f"O(batch): {MAX_BATCH_SIZE * 32:,} bytes of keys in an event, batch "
                                          f"{MAX_BATCH_SIZE}, after close (F2)", "bound")
    w9, _ = Bounty.open(d, requester, oracles[:c8], **big8)
    w9.join()
    w9.baseline([BASELINE] * c8)
    w9.submit_all(d.contributors(MAX_BATCH_SIZE, tokens=10 * w9.stake))
    env.warp(3_600 + 1)
    r = expect(d.market, w9.void_batch(anyone, 0), BatchVoided=1, OracleSlashed=c8)
    if r.gasUsed > w["BountyMarket.voidBatch"]["gas"]:
        w["BountyMarket.voidBatch"] = _rec(r, f"{shape}: no report, so 8 members lose an offence of their bond "
                                              "(burned); 256 new contributors", "bound")

    # claims: the worst recipient gets its first balance of the token (a new slot or a new account)
    member = oracles[-1]  # honest in W, paid fees in the token, holds none of it
    assert wb.claimable(member.address) > 0
    w["BountyMarket.claim"] = _rec(env.send(member, market.claim(d.token.address)),
                                   "O(1); worst state: ERC-20, a member (its slot is kept) holding none of the token", "bound")
    # ETH balances: stakes back from an ETH bounty (slashed oracle ETH is burned, C3, not credited)
    we, _ = Bounty.open(d, requester, oracles[:3], eth=True, batch=2, max_batches=4, reward=WAD)
    we.join()
    we.baseline([BASELINE] * 3)
    eth_people = d.contributors(2, eth=10 * we.stake)
    we.submit_all(eth_people)
    we.commit_all(0, [[BASELINE - 10] * 2] * 3)
    for i in range(2):
        we.report(i, 0, [BASELINE - 10] * 2)
    we.report_and_settle(2, 0, [BASELINE - 10] * 2)
    eth_holder = eth_people[0]
    assert we.claimable(eth_holder.address, ETH) > 0
    w["BountyMarket.claim [ETH]"] = _rec(env.send(eth_holder, market.claim(ETH)), "O(1): ETH to the sender", "bound")
    fresh_to = env.fresh(2)
    w["BountyMarket.claimTo"] = _rec(env.send(eth_people[1], market.claimTo(ETH, fresh_to[0].address)),
                                     "O(1); worst state: ETH to an address that does not exist yet (+25,000)", "bound")
    w["BountyMarket.claimTo [ERC-20]"] = _rec(env.send(people[7], market.claimTo(d.token.address, fresh_to[1].address)),
                                              "O(1): ERC-20 to an address holding none of it", "bound")
    # one-off payouts: a fixed 5-hash proof; the worst recipient holds none of the token
    wo, _ = Bounty.open(d, requester, oracles[:3], batch=4, max_batches=4)
    wo.join()
    wo.baseline([BASELINE] * 3)
    broke = d.contributors(4, tokens=wo.stake)  # each stakes all it has
    for p in broke:
        wo.submit(p, once=True)
    wo.commit_all(0, [mix(4, wo.head, 100)] * 3)
    for i in range(2):
        wo.report(i, 0, mix(4, wo.head, 100))
    settled = wo.report_and_settle(2, 0, mix(4, wo.head, 100))
    claims = wo.payout_claims(0, settled)
    w["BountyMarket.claimPayout"] = _rec(env.send(broke[3], market.claimPayout(*claims[broke[3].address])),
                                         "O(1): a 5-hash proof; worst state: ERC-20 to a contributor holding none "
                                         "of the token", "bound")
    tok, bid, where, amount, proof = claims[broke[2].address]
    w["BountyMarket.claimPayoutTo"] = _rec(env.send(broke[2], market.claimPayoutTo(tok, env.fresh(1)[0].address, bid, where,
                                                                                   amount, proof)),
                                           "O(1): a 5-hash proof; worst state: ERC-20 to an address holding none of "
                                           "the token", "bound")
    w["BountyMarket.burn"] = _rec(env.send(anyone, market.burn(d.token.address)),
                                  "O(1); worst state: ERC-20, the token's first burn", "bound")
    assert d.market.functions.pendingBurn(ETH).call() > 0
    w["BountyMarket.burn [ETH]"] = _rec(env.send(anyone, market.burn(ETH)), "O(1): ETH to 0x…dEaD", "bound")
    if functions["BountyMarket.burn [ETH]"]["gas"] > w["BountyMarket.burn [ETH]"]["gas"]:
        w["BountyMarket.burn [ETH]"] = {"gas": functions["BountyMarket.burn [ETH]"]["gas"],
                                        "bound": f"O(1); worst state as in functions: {functions['BountyMarket.burn [ETH]']['case']}"}

    # ending, at the largest committee
    w["BountyMarket.cancel"] = _rec(env.send(requester, market.cancel(wb.id)), "O(1)", "bound")
    w["BountyMarket.reveal"] = _rec(env.send(requester, market.reveal(wb.id, VALIDATION_CID, VALIDATION_KEY, SALT, MODEL_KEY)),
                                    "O(1); worst state: the bounty still Settling, so reveal closes it first", "bound")
    w["BountyMarket.leaveCommittee"] = _rec(env.send(oracles[-1], market.leaveCommittee(wb.id)),
                                            f"O(1); {c16}, the 16th member", "bound")
    env.send(requester, market.cancel(w2.id))
    w["BountyMarket.close"] = _rec(env.send(anyone, market.close(w2.id)), "O(1)", "bound")
    env.warp(86_400 + 1)
    w["BountyMarket.forfeitBond"] = _rec(env.send(anyone, market.forfeitBond(w2.id)), "O(1)", "bound")
    w["BountyMarket.claimBondShare"] = _rec(env.send(anyone, market.claimBondShare(w2.id, 1)),
                                            "O(1): credits version 1's author", "bound")

    # no input of these depends on any size: their figures are the ordinary ones
    for name in ("BountyMarket.setGuardian", "BountyMarket.pause", "BountyMarket.unpause", "BountyMarket.transferOwnership",
                 "BountyMarket.acceptOwnership", "OracleRegistry.setPolicy", "OracleRegistry.withdraw", "OracleRegistry.setMarket",
                 "OracleRegistry.bond", "OracleRegistry.release", "OracleRegistry.slash", "KeyRegistry.publishKey",
                 "BountyMarket.vacateSeat", "OracleRegistry.exclude", "OracleRegistry.recordSeed", "OracleRegistry.seedFor",
                 "BountyMarket.sitOut", "BountyMarket.writeDown"):
        w[name] = {"gas": functions[name]["gas"], "bound": "O(1): no input of variable size; "
                                                           f"as in functions ({functions[name]['case']})"}
    # the sortition tree (O6): a stake change updates log2(N) + 1 of its nodes
    for name in ("OracleRegistry.stake", "OracleRegistry.requestUnbond", "OracleRegistry.sync"):
        w[name] = {"gas": functions[name]["gas"], "bound": "O(log N) in the N registered oracles: the sortition "
                                                           f"tree's path (O6); as in functions ({functions[name]['case']})"}
    _check_complete(w, "worst_case")
    top = max((k for k in w), key=lambda k: w[k]["gas"])
    w["_bounds"] = {
        "committee": f"{MIN_COMMITTEE}..{MAX_COMMITTEE} (BountyMarketStorage.MIN_COMMITTEE, MAX_COMMITTEE; B3)",
        "curve": f"2..{MAX_BREAKPOINTS} breakpoints (RewardMath.MAX_BREAKPOINTS; B4)",
        "batch_size": f"1..{MAX_BATCH_SIZE} (BountyMarketStorage.MAX_BATCH_SIZE; B4)",
        "committee_by_batch": f"committee x batch size <= {MAX_COMMITTEE_BY_BATCH:,} "
                              "(BountyMarketStorage.MAX_COMMITTEE_BY_BATCH; B3): every settlement within 2^24 gas",
        "max_batches": f"maxBatches * batchSize <= 2^32 - 1 (_validateParams; B4): {MAX_BATCHES_AT_MAX_SIZE:,} at batch 256",
        "block_gas_limit": BLOCK_GAS_LIMIT,
        "tx_gas_cap": TX_GAS_CAP,
        "largest": {"function": top, "gas": w[top]["gas"], "share_of_block": round(w[top]["gas"] / BLOCK_GAS_LIMIT, 3)},
    }
    return w


# ---------------------------------------------------------------------------- growth


def _delta(early: int, late: int) -> dict[str, Any]:
    return {"early": int(early), "late": int(late), "delta": int(late) - int(early)}


def _growth(env: Env) -> dict[str, Any]:
    u = env.unlocked
    requester, oracles, anyone = u[1], u[2:5], u[23]
    d = Deployment.new(env)
    d.stake_oracles(oracles, 10 * WAD)
    env.bulk([(d.deployer, d.token.functions.mint(requester.address, 10**30), 0),
              (requester, d.token.functions.approve(d.market.address, 2**256 - 1), 0)])

    # contributors: one bounty, each batch of 8 from 8 new contributors
    g, _ = Bounty.open(d, requester, oracles, batch=GROWTH_BATCH, max_batches=GROWTH_LATE_BATCH + 4)
    g.join()
    g.baseline([BASELINE] * 3)
    per: dict[str, dict[int, int]] = {k: {} for k in ("submitUpdate", "submitUpdate [fills the batch]", "commitReport",
                                                      "report", "reportAndSettle", "claim")}
    for k in range(GROWTH_LATE_BATCH + 1):
        people = d.contributors(GROWTH_BATCH, tokens=10 * g.stake)
        subs = g.submit_all(people)
        scores = mix(GROWTH_BATCH, g.head, 10)
        g.commit_all(k, [scores] * 3)
        g.report(0, k, scores)
        rep = g.report(1, k, scores)
        burn_before = d.market.functions.pendingBurn(d.token.address).call()
        assert (burn_before == 0) == (k == 0)  # batch 0's slash is the token's first: see first_batch_note
        ras = g.report_and_settle(2, k, scores)
        assert g.claimable(people[-1].address) == g.stake  # rejected: the stake came back
        claim = env.send(people[-1], d.market.functions.claim(d.token.address))
        for name, r in (("submitUpdate", subs[1]), ("submitUpdate [fills the batch]", subs[-1]),
                        ("commitReport", g.commits[k][1]), ("report", rep),
                        ("reportAndSettle", ras), ("claim", claim)):
            per[name][k] = int(r.gasUsed)
    late, n = GROWTH_LATE_BATCH, GROWTH_BATCH
    contributors: dict[str, Any] = {
        "setup": f"one ERC-20 bounty, committee 3, batches of {n}, each from {n} new contributors (gas.py's mix: "
                 "1 accepted, 1 slashed, 6 rejected; every batch's winner beats the head); the claim is a rejected "
                 "contributor's, right after its batch settles",
    }
    points = {  # name: (early batch, what precedes the early call, what precedes the late one)
        "submitUpdate": (0, "1 prior contributor (the bounty's 2nd submission)", f"{late * n + 1} prior contributors"),
        "submitUpdate [fills the batch]": (0, f"{n - 1} prior contributors", f"{late * n + n - 1} prior contributors"),
        "report": (0, f"{n} contributors, no batch settled", f"{(late + 1) * n} contributors, {late} batches settled"),
        # batch 0 is the token's first slash in this market: it creates the pending-burn slot
        "reportAndSettle": (1, f"{2 * n} contributors, 1 batch settled", f"{(late + 1) * n} contributors, {late} batches settled"),
        "claim": (0, f"{n} contributors", f"{(late + 1) * n} contributors"),
    }
    for name, (k, early_at, late_at) in points.items():
        entry = _delta(per[name][k], per[name][late])
        entry.update(early_at=f"batch {k}: after {early_at}", late_at=f"batch {late}: after {late_at}")
        if k:
            entry["first_batch"] = per[name][0]
            entry["first_batch_note"] = (
                f"batch 0 costs {per[name][0] - per[name][k]:+,} against batch 1: its slashed stake is the token's first "
                "burn in this market, so it creates _pendingBurn[token] (a zero slot written: 20,000 instead of 2,900). "
                "It is paid once per token, and again after each burn(token) empties the slot; not per user")
        contributors[f"BountyMarket.{name}"] = entry

    # bounties: the 2nd and the 41st bounty of the same market
    marks: dict[int, dict[str, int]] = {}
    for number in range(2, 2 + GROWTH_BOUNTIES):
        b, created = Bounty.open(d, requester, oracles, batch=GROWTH_BATCH, max_batches=4)
        joins = b.join()
        base = b.baseline([BASELINE] * 3)
        people = d.contributors(GROWTH_BATCH if number in (2, 1 + GROWTH_BOUNTIES) else 2, tokens=10 * b.stake)
        subs = b.submit_all(people)
        if number not in (2, 1 + GROWTH_BOUNTIES):
            continue
        scores = mix(GROWTH_BATCH, b.head, 10)
        b.commit_all(0, [scores] * 3)
        b.report(0, 0, scores)
        b.report(1, 0, scores)
        ras = b.report_and_settle(2, 0, scores)
        claim = env.send(people[-1], d.market.functions.claim(d.token.address))
        marks[number] = {"createBounty": created.gasUsed, "joinCommittee": joins[-1].gasUsed,
                    "reportBaseline [last]": base[-1].gasUsed, "submitUpdate": subs[1].gasUsed,
                    "reportAndSettle": ras.gasUsed, "claim": claim.gasUsed}
    last = 1 + GROWTH_BOUNTIES
    bounties: dict[str, Any] = {
        "setup": f"one market; bounties 2..{last} (ERC-20, committee 3 from the same 3 oracles, batch {GROWTH_BATCH}) "
                 "opened, joined and baselined one after the other; a batch settled and a claim in the first and the last",
        "early": "bounty 2 (1 prior bounty; the 1st also created each oracle's claimable slot for the token)",
        "late": f"bounty {last} ({last - 1} prior bounties; the 3 oracles already serve {last - 1})",
    }
    for name in marks[2]:
        bounties[f"BountyMarket.{name}"] = _delta(int(marks[2][name]), int(marks[last][name]))

    deltas = [abs(v["delta"]) for part in (contributors, bounties) for k, v in part.items() if k.startswith("BountyMarket.")]
    worst = max(deltas)
    verdict = ("no call's gas grows with the number of contributors or bounties; what differs is calldata (zero "
               "bytes cost 4 gas, others 16: e.g. a base version of 0 against 40)" if worst <= GROWTH_TOLERANCE else
               "SOME CALL'S GAS CHANGES WITH THE NUMBER OF USERS: see the deltas")
    return {
        "contributors": contributors,
        "bounties": bounties,
        "max_abs_delta": worst,
        "tolerance": GROWTH_TOLERANCE,
        "constant": worst <= GROWTH_TOLERANCE,
        "check": f"max |late - early| = {worst} gas {'<=' if worst <= GROWTH_TOLERANCE else '>'} {GROWTH_TOLERANCE}: {verdict}",
    }


# ------------------------------------------------------------------------------ entry


def measure(url: str) -> dict[str, Any]:
    """{"functions", "worst_case", "growth"} measured on the chain at `url` (anvil: evm_increaseTime)."""
    env = Env(url)
    functions = _functions(env)
    worst = _worst(env, functions)
    growth = _growth(env)
    return {"functions": functions, "worst_case": worst, "growth": growth}


def table(result: dict[str, Any]) -> str:
    """Every figure: functions, worst case with its bound, growth with its delta."""
    lines = [f"{'function (ordinary case)':<52}{'gas':>11}  case"]
    for k, v in result["functions"].items():
        if k != "views":
            lines.append(f"{k:<52}{v['gas']:>11,}  {v['case']}")
    views = result["functions"]["views"]
    lines.append(f"views, eth_estimateGas (21,000 base included): " + ", ".join(
        f"{k.split('.')[1]} {v:,}" for k, v in views.items() if k != "method"))
    lines.append("")
    lines.append(f"{'worst case':<52}{'gas':>11}  bound")
    for k, v in result["worst_case"].items():
        if not k.startswith("_"):
            lines.append(f"{k:<52}{v['gas']:>11,}  {v['bound']}")
    big = result["worst_case"]["_bounds"]["largest"]
    lines.append(f"largest: {big['function']} {big['gas']:,} gas = {big['share_of_block']:.1%} of a 30M block")
    lines.append("")
    lines.append(short_growth(result["growth"]))
    return "\n".join(lines)


def short_growth(growth: dict[str, Any]) -> str:
    lines = [f"{'growth (gas early -> late)':<52}{'early':>11}{'late':>11}{'delta':>8}"]
    for axis in ("contributors", "bounties"):
        for k, v in growth[axis].items():
            if k.startswith("BountyMarket."):
                label = {"contributors": "by contributors", "bounties": "by bounties"}[axis] + ": " + k.split(".", 1)[1]
                lines.append(f"  {label:<50}{v['early']:>11,}{v['late']:>11,}{v['delta']:>8,}")
    lines.append(growth["check"])
    return "\n".join(lines)


def short_table(result: dict[str, Any]) -> str:
    """The summary gas.py prints: the worst case of the functions with a size, and the growth check."""
    w = result["worst_case"]
    keys = ("BountyMarket.createBounty", "BountyMarket.joinCommittee", "BountyMarket.reportBaseline",
            "BountyMarket.submitUpdate", "BountyMarket.report", "BountyMarket.reportAndSettle",
            "BountyMarket.reportAndSettle [honest]", "BountyMarket.settleBatch", "BountyMarket.voidBatch",
            "BountyMarket.claim", "BountyMarket.claimTo")
    f = result["functions"]
    lines = [f"{'gas per function (committee x batch <= 2,048, curve 8)':<52}{'ordinary':>11}{'worst':>12}"]
    for k in keys:
        ordinary = f.get(k, {}).get("gas")
        lines.append(f"  {k.split('.', 1)[1]:<50}{(f'{ordinary:,}' if ordinary else '-'):>11}{w[k]['gas']:>12,}")
    n = sum(1 for k in f if k != "views")
    big = w["_bounds"]["largest"]
    lines.append(f"  ({n} figures in gas.functions; largest {big['function']} = {big['share_of_block']:.1%} of a block)")
    lines.append(result["growth"]["check"])
    return "\n".join(lines)


def main() -> int:
    started = time.monotonic()
    with LocalChain("anvil", accounts=10 + 128) as chain:  # gas.py's chain
        result = measure(chain.url)
    print(table(result))
    print(f"measured in {time.monotonic() - started:.0f} s")
    return 0 if result["growth"]["constant"] else 1


if __name__ == "__main__":
    sys.exit(main())

"""The BountyMarket from Python: views, actions, and the event log decoded.

Everything an off-chain tool knows about a bounty comes from two places: the
contract's views (its current state) and its events (its history). `Market.events`
returns the decoded log in chain order; `records_of` and `reports_of` rebuild the
calldata a batch settlement needs from the events alone, as an indexer would.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from eth_abi import decode as abi_decode, encode
from eth_utils import keccak, to_checksum_address
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, TransactionNotFound

from fathom.chain.client import ETH, STATES, ChainError, Sender, abi, connect, contracts_at, describe_revert
from fathom.config import Settings

#: IOracleRegistry.SEED_OFFSET (registry.seedOffset()): a drawing half's seed is the PREVRANDAO
#: of its block SEED_OFFSET, counted from 0 at its first block (rule C4)
SEED_OFFSET = 2
#: Review 11, T: the fixed gas limits of the transactions aimed at a seed block, sent without an
#: estimate. recordSeed: 45,434 gas when it records (benchmarks/gas.json), with room to spare.
#: drawCommittee: the worst case of benchmarks/gas.json's `worst_case` (16 seats, up to 16 x 16 +
#: 32 samples; it varies with the seed: 1,337,140 and 1,581,121 in the last two runs) plus a
#: quarter; only the gas used is paid
RECORD_SEED_GAS = 80_000
#: a draw aimed at the seed block (no estimate: it would run with another PREVRANDAO). Review
#: 12, T2: 2,000,000 was below a reachable draw (3.1M with 300 of 330 oracles excluded, as
#: benchmarks/gas.json's worst case); a mined call pays only the gas it uses, and this stays
#: under EIP-7825's 2^24 per transaction
DRAW_GAS = 8_000_000
from fathom.chain.deployments import code_mismatches, read_deployment
from fathom.errors import FathomError

WAD = 10**18
INVALID = 2**32 - 1

PARAM_FIELDS = (
    "token", "reward", "stake", "oracleFeePerBatch", "maxBatches", "revealBond", "slashBps", "batchSize",
    "scoringTimeout", "deadline", "revealWindow", "higherIsBetter", "target", "slashMargin", "tolerance",
    "resolution", "metric", "trustSingleOracle", "committee", "curveX", "curveY", "initialModel", "keyring",
    "validationCommitment",
)
PARAM_TYPE = (
    "(address,uint256,uint96,uint96,uint32,uint96,uint16,uint16,uint32,uint64,uint32,bool,uint32,uint32,uint32,"
    "uint64,bytes32,bool,address[],uint64[],uint64[],(bytes32,uint8),(bytes32,uint8),bytes32)"
)


@dataclass(frozen=True)
class Event:
    name: str
    args: dict[str, Any]
    block: int
    tx: str
    index: int

    def __getitem__(self, key: str) -> Any:
        return self.args[key]


def with_rejections(events: list[Event], batch_size: Callable[[int], int] | None = None) -> list[Event]:
    """The events with one SubmissionRejected record per rejected submission, as the
    contract's BatchSettled reports them: bit i of `rejected` is submission
    batch * batchSize + i (stake back in full), its median score the i-th 4 bytes of
    `scores`. The contract emits one event per batch instead of one per rejection (about
    1,700 gas less per contribution); each derived record has the fields a per-submission
    event would have (bountyId, submissionId, contributor, score, batch) and sits just
    before its BatchSettled. The contributor comes from the submission's
    SubmissionReceived in `events` (None if it is not among them); `batch_size(bountyId)`
    is asked only when a batch's submissions are not. Events that already hold
    SubmissionRejected records come back as they are."""
    if any(ev.name == "SubmissionRejected" for ev in events):
        return events
    received: dict[tuple[int, int], list[Event]] = {}
    for ev in events:
        if ev.name == "SubmissionReceived":
            received.setdefault((int(ev["bountyId"]), int(ev["batch"])), []).append(ev)
    out: list[Event] = []
    for ev in events:
        if ev.name == "BatchSettled" and int(ev["rejected"]):
            bounty, batch = int(ev["bountyId"]), int(ev["batch"])
            subs = sorted(received.get((bounty, batch), []), key=lambda e: int(e["submissionId"]))
            scores = decode_scores(bytes(ev["scores"]))
            mask = int(ev["rejected"])
            if len(subs) == len(scores):  # the whole batch is in view: its i-th submission
                ids = [int(e["submissionId"]) for e in subs]
            elif batch_size is not None:
                first = batch * batch_size(bounty)
                ids = list(range(first, first + len(scores)))
            else:
                raise FathomError(f"bounty {bounty} batch {batch}: {len(scores) - len(subs)} of its "
                                  f"{len(scores)} submissions are not among the events")
            who_of = {int(e["submissionId"]): e["contributor"] for e in subs}
            for i, sid in enumerate(ids):
                if not mask >> i & 1:
                    continue
                who = who_of.get(sid)
                out.append(Event("SubmissionRejected", {"bountyId": bounty, "submissionId": sid, "contributor": who,
                                                        "score": scores[i], "batch": batch}, ev.block, ev.tx, ev.index))
        out.append(ev)
    return out


def commitment(validation_cid: tuple[bytes, int], validation_key: bytes, salt: bytes) -> bytes:
    """keccak256(abi.encode(validationCid, validationKey, salt)): what createBounty records."""
    from eth_abi import encode

    return keccak(encode(["(bytes32,uint8)", "bytes32", "bytes32"], [validation_cid, validation_key, salt]))


def encode_scores(scores: Iterable[int]) -> bytes:
    """A uint32 per score, big-endian (BatchSettled.scores, a report's first part)."""
    out = bytearray()
    for s in scores:
        if not 0 <= int(s) <= INVALID:
            raise FathomError(f"score {s} does not fit in uint32")
        out += int(s).to_bytes(4, "big")
    return bytes(out)


def decode_scores(blob: bytes) -> list[int]:
    """BatchSettled.scores: a uint32 median per submission."""
    return [int.from_bytes(blob[i:i + 4], "big") for i in range(0, len(blob), 4)]


def encode_report(scores: list[int], merged_score: int, shares: list[int]) -> bytes:
    """A report's bytes (rule R1; fathom.protocol.settlement.encode_report is the reference):
    a uint32 score per submission, the merged model's uint32 score, a uint16 share each."""
    if len(shares) != len(scores) or not all(0 <= int(x) < 2**16 for x in shares):
        raise FathomError(f"a report needs one uint16 share per submission, got {shares}")
    return encode_scores([*scores, merged_score]) + b"".join(int(x).to_bytes(2, "big") for x in shares)


def decode_report(blob: bytes) -> tuple[list[int], int, list[int]]:
    """ReportPosted.scores: (the scores, the merged model's score, the shares)."""
    n = (len(blob) - 4) // 6
    if len(blob) != 6 * n + 4:
        raise FathomError(f"a report holds 6 bytes per submission plus 4, got {len(blob)}")
    return decode_scores(blob[:4 * n]), int.from_bytes(blob[4 * n:4 * n + 4], "big"), \
        [int.from_bytes(blob[i:i + 2], "big") for i in range(4 * n + 4, len(blob), 2)]


def report_scores(blob: bytes) -> list[int]:
    """The per-submission scores of a ReportPosted report."""
    return decode_report(blob)[0]


_LOW32 = (1 << 256) - 1 - 0xFFFFFFFF


def report_commitment(bounty_id: int, batch: int, member: str, salt: bytes, report: bytes,
                      merged: tuple[bytes, int]) -> bytes:
    """R11: keccak256(abi.encode(bountyId, member, salt, digest)), digest =
    keccak256(abi.encodePacked(batch, report, merged.digest, merged.codec)) over
    `encode_report`'s bytes; both with their low 32 bits zeroed, as `commitReport` stores it."""
    digest = int.from_bytes(keccak(batch.to_bytes(32, "big") + bytes(report) + bytes(merged[0])
                                   + bytes([merged[1]])), "big") & _LOW32
    h = keccak(encode(["uint256", "address", "bytes32", "uint256"], [bounty_id, member, salt, digest]))
    return (int.from_bytes(h, "big") & _LOW32).to_bytes(32, "big")


def pack_records(records: list[tuple]) -> bytes:
    """Records as reportAndSettle takes them: 69 bytes each, abi.encodePacked(contributor,
    uint96 stake, uint32 baseVersion, update digest, uint8 codec)."""
    from eth_abi.packed import encode_packed

    return b"".join(
        encode_packed(["address", "uint96", "uint32", "bytes32", "uint8"], [who, stake, base, bytes(update[0]), update[1]])
        for who, stake, base, update in records
    )


def decode_params(raw: bytes) -> dict[str, Any]:
    """The BountyParams emitted (ABI-encoded) in BountyOpened."""
    (values,) = abi_decode([PARAM_TYPE], raw)
    params = dict(zip(PARAM_FIELDS, values))
    params["token"] = to_checksum_address(params["token"])
    params["committee"] = [to_checksum_address(a) for a in params["committee"]]
    return params


#: Where a submission's stake may come from (`Market.stake_source`).
STAKE_SOURCES = ("wallet", "balance", "auto", "once")


def _check_code(w3: Web3, contracts: Mapping[str, str], path: str, codes: Mapping[str, bytes]) -> None:
    """Review of m15, F1: the market runs its extension's code (by delegatecall) on its own
    storage and funds, and takes the extension's address from its deployer, so a market whose
    own code is genuine can still run a forged extension. Before a tool trusts a record, the
    extension the market itself names must be the record's, and the code of the market, of that
    extension and of the registries must be the code this fathom was built from
    (interfaces/_code/runtime.json; immutables and metadata aside). FathomError otherwise."""
    named = dict(contracts)
    if "BountyMarket" in named:
        market = contracts_at(w3, {"BountyMarket": named["BountyMarket"]})["BountyMarket"]
        try:
            extension = market.functions.extension().call()
        except (ContractLogicError, ValueError) as exc:
            raise FathomError(f"{path}: the BountyMarket at {named['BountyMarket']} does not name its extension ({exc}): "
                              "it is not a market this fathom knows") from None
        recorded = named.get("BountyMarketExtension")
        if recorded is not None and to_checksum_address(recorded) != to_checksum_address(extension):
            raise FathomError(f"{path} names the extension {recorded}, but the market runs the one at {extension}")
        named["BountyMarketExtension"] = extension
    # `codes`: what the caller read already (by checksum address); only the rest is fetched
    problems = code_mismatches(lambda a: codes.get(to_checksum_address(a)) or w3.eth.get_code(to_checksum_address(a)),
                               named)
    if problems:
        raise FathomError(f"{path}: " + "; ".join(problems) + ". If you edited the contracts, run `make abi`; "
                          "otherwise this deployment is not the code you audited: do not send it funds")


class Market:
    """One deployment of the contracts, seen from one account (or read-only)."""

    def __init__(self, w3: Web3, addresses: dict[str, str], sender: Sender | None = None, start_block: int = 0):
        self.w3 = w3
        self.contracts = contracts_at(w3, addresses)
        self.market = self.contracts["BountyMarket"]
        self.registry = self.contracts["OracleRegistry"]
        self.keys = self.contracts["KeyRegistry"]
        self.sender = sender
        self.start_block = start_block
        #: Called as progress(blocks_read, blocks) while `events` reads a long range (the CLI draws a bar).
        self.progress: Callable[[int, int], None] | None = None
        self._batch_sizes: dict[int, int] = {}
        self._topics: dict[bytes, Any] = {}
        for entry in abi("BountyMarket"):
            if entry["type"] == "event":
                sig = f"{entry['name']}({','.join(_type(i) for i in entry['inputs'])})"
                self._topics[keccak(text=sig)] = getattr(self.market.events, entry["name"])()

    @classmethod
    def from_settings(cls, settings: Settings, private_key: str | None = None) -> "Market":
        record = read_deployment(settings.deployments_dir, settings.network)
        w3 = connect(settings.rpc_url)
        if record.get("chain_id") is not None and int(record["chain_id"]) != w3.eth.chain_id:
            raise FathomError(
                f"the node at {settings.rpc_url} runs chain {w3.eth.chain_id}, but deployments/{settings.network}.json "
                f"is for chain {record['chain_id']}: set FATHOM_RPC_URL or FATHOM_NETWORK"
            )
        path = f"{settings.deployments_dir}/{settings.network}.json"
        codes: dict[str, bytes] = {}  # address -> runtime code, read once for both checks
        for name, address in sorted(record["contracts"].items()):
            try:
                code = codes[to_checksum_address(address)] = bytes(w3.eth.get_code(to_checksum_address(address)))
            except ValueError:
                raise FathomError(f"{path}: {name} address {address!r} is not an Ethereum address") from None
            if not code:
                raise FathomError(
                    f"{path} says {name} is at {address}, but the node at {settings.rpc_url} holds no code there "
                    "(was the chain restarted?): deploy again (`fathom deploy`, or `fathom devnet` for a local chain)"
                )
        _check_code(w3, record["contracts"], path, codes)
        key = private_key or settings.private_key
        sender = Sender.from_key(w3, key) if key else None
        return cls(w3, record["contracts"], sender, int(record.get("block") or 0))

    # ------------------------------------------------------------ helpers

    @property
    def address(self) -> str:
        return self.market.address

    @property
    def account(self) -> str:
        """The sender's address (the account this Market signs for)."""
        return self._need_sender().address

    def _need_sender(self) -> Sender:
        if self.sender is None:
            raise FathomError("this needs an account: set FATHOM_PRIVATE_KEY (or pass --key-file)")
        return self.sender

    def tx_status(self, tx_hash: str) -> str:
        """"pending", "mined", or "unknown" (dropped, re-orged out, or never seen) for the node."""
        try:
            return "pending" if self.w3.eth.get_transaction(tx_hash)["blockNumber"] is None else "mined"
        except TransactionNotFound:
            return "unknown"

    def send(self, fn: Any, value: int = 0, on_sent: Callable[[bytes], None] | None = None) -> Any:
        """Send a transaction and return its receipt; `on_sent(tx_hash)` runs between the two."""
        return self._need_sender().transact(fn, value=value, on_sent=on_sent)

    def wait_for_receipt(self, tx_hash: bytes | str) -> Any:
        """The receipt of a transaction sent before (TransactionDropped if the node lost it)."""
        return self._need_sender().wait_for_receipt(tx_hash)

    # ------------------------------------------------------------ views

    def _view(self, fn: Any, what: str, block: int | str = "latest") -> Any:
        """Call a view (at `block`); a revert (an unknown bounty, say) becomes a plain ChainError."""
        try:
            return fn.call(block_identifier=block)
        except ContractCustomError as exc:
            raise ChainError(f"{what}: {describe_revert(exc.data)}") from None
        except ContractLogicError as exc:
            raise ChainError(f"{what}: {exc.message or describe_revert(exc.data)}") from None

    def require_bounty(self, bounty_id: int) -> None:
        """FathomError unless bounty `bounty_id` exists on this deployment."""
        count = self.bounty_count()
        if not 1 <= bounty_id <= count:
            raise FathomError(f"bounty {bounty_id} does not exist on this deployment "
                              + (f"(bounties are numbered 1 to {count})" if count else "(no bounty has been opened)"))

    def require_submission(self, bounty_id: int, submission_id: int) -> None:
        """FathomError unless the bounty exists and has received submission `submission_id`."""
        self.require_bounty(bounty_id)
        count = int(self.bounty(bounty_id)["submissionCount"])
        if not 0 <= submission_id < count:
            raise FathomError(f"bounty {bounty_id} has no submission {submission_id} "
                              + (f"(its submissions are numbered 0 to {count - 1})" if count else "(it has none yet)"))

    def bounty(self, bounty_id: int, block: int | str = "latest") -> dict[str, Any]:
        view = self._view(self.market.functions.getBounty(bounty_id), f"bounty {bounty_id}", block)
        names = [o["name"] for o in _outputs("getBounty")[0]["components"]]
        return dict(zip(names, view))

    def state(self, bounty_id: int, block: int | str = "latest") -> str:
        """The bounty's state (at `block`: a node acts on a confirmed one, review 11 S)."""
        return STATES[self._view(self.market.functions.state(bounty_id), f"bounty {bounty_id}", block)]

    def committee(self, bounty_id: int) -> tuple[list[str], int, int]:
        members, opted, baseline = self._view(self.market.functions.getCommittee(bounty_id), f"bounty {bounty_id}")
        return [to_checksum_address(m) for m in members], opted, baseline

    def batch(self, bounty_id: int, batch: int, block: int | str = "latest") -> dict[str, Any]:
        values = self._view(self.market.functions.getBatch(bounty_id, batch), f"bounty {bounty_id} batch {batch}",
                            block)
        return dict(zip(("recordsHash", "filledAt", "reportedMask", "decided", "submissions", "timeoutAt"), values))

    def commits(self, bounty_id: int, batch: int) -> dict[str, Any]:
        """Who committed to a report of the reportable batch, when its reveal phase opens at the
        latest, and who sits it out: opted in while it was reportable (R11), abstained (R12),
        or holds a standing sit-out (C7)."""
        values = self._view(self.market.functions.getCommits(bounty_id, batch), f"bounty {bounty_id} batch {batch}")
        return dict(zip(("committedMask", "revealAt", "sittingOut"), values))

    def standing_sit_out(self, bounty_id: int) -> int:
        """The members with a standing sit-out (C7), as a mask of committee indices."""
        return int(self._view(self.market.functions.standingSitOut(bounty_id), f"bounty {bounty_id}"))

    def claimable(self, account: str, token: str = ETH) -> int:
        return self.market.functions.claimable(account, token).call()

    def books(self, token: str) -> tuple[int, bool]:
        """Rule P4: what the market owes in an ERC-20 (0 for ETH) and whether it was written down."""
        owed, written_down = self.market.functions.books(token).call()
        return int(owed), bool(written_down)

    def balance_checked(self, token: str) -> bool:
        """Rule P4: whether the market books `token` and checks its balance before each payout
        (false for ETH and for the fixed-balance tokens the deployer listed)."""
        return bool(self.market.functions.balanceChecked(token).call())

    def write_down(self, token: str) -> Any:
        """Rule P4: share a token's shortfall pro rata (anyone may, once the market holds less than it owes)."""
        return self.send(self.market.functions.writeDown(token))

    def wallet_balance(self, account: str | None = None) -> int:
        """The ETH (wei) an account holds, the sender's by default."""
        return int(self.w3.eth.get_balance(account or self._need_sender().address))

    def gas_price(self) -> int:
        return int(self.w3.eth.gas_price)

    def token_balance(self, token: str, account: str | None = None) -> int:
        """An account's balance of an ERC-20 token (the sender's by default)."""
        contract = self.w3.eth.contract(address=to_checksum_address(token), abi=abi("MockERC20"))
        return int(self._view(contract.functions.balanceOf(account or self._need_sender().address), f"token {token}"))

    def bounty_count(self) -> int:
        return self.market.functions.bountyCount().call()

    def public_key(self, account: str) -> bytes:
        key = bytes(self.keys.functions.publicKeyOf(account).call())
        if len(key) != 64:
            raise FathomError(f"{account} has not published a public key in the KeyRegistry (`fathom keys publish`)")
        return key

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    # ------------------------------------------------------------ events

    def events(self, from_block: int | None = None, to_block: int | str = "latest", bounty_id: int | None = None,
               outcomes: bool = False) -> list[Event]:
        """The market's decoded log in chain order (optionally for one bounty). With
        `outcomes`, each rejection that a BatchSettled reports also gets its own
        SubmissionRejected record (`with_rejections`), so that every decided submission
        has one outcome record: UpdateMerged, SubmissionRejected or StakeSlashed."""
        start = self.start_block if from_block is None else from_block
        end = self.w3.eth.block_number if to_block == "latest" else int(to_block)
        out: list[Event] = []
        step = 5_000
        for lo in range(start, end + 1, step):
            hi = min(end, lo + step - 1)
            if self.progress is not None and end - start >= step:  # more than one query: say how far
                self.progress(hi - start + 1, end - start + 1)
            query: dict[str, Any] = {"address": self.address, "fromBlock": lo, "toBlock": hi}
            if bounty_id is not None:
                query["topics"] = [None, "0x" + bounty_id.to_bytes(32, "big").hex()]
            for log in self.w3.eth.get_logs(query):
                ev = self._decode(log)
                if ev is not None and (bounty_id is None or ev.args.get("bountyId") == bounty_id):
                    out.append(ev)
        return with_rejections(out, self._batch_size) if outcomes else out

    def _batch_size(self, bounty_id: int) -> int:
        """A bounty's batch size (fixed when it opens), asked of the chain once."""
        if bounty_id not in self._batch_sizes:
            self._batch_sizes[bounty_id] = int(self.bounty(bounty_id)["batchSize"])
        return self._batch_sizes[bounty_id]

    def _decode(self, log: Any) -> Event | None:
        topic0 = bytes(log["topics"][0]) if log["topics"] else b""
        handler = self._topics.get(topic0)
        if handler is None:
            return None
        decoded = handler.process_log(log)
        args = {k: _plain(v) for k, v in decoded["args"].items()}
        if decoded["event"] == "BountyOpened":
            args["params"] = decode_params(bytes(args["params"]))
        elif decoded["event"] == "SubmissionReceived":
            # the event leaves the batch out (it is submissionId / batchSize, rule U3)
            args["batch"] = int(args["submissionId"]) // self._batch_size(int(args["bountyId"]))
        return Event(decoded["event"], args, int(log["blockNumber"]), log["transactionHash"].hex(), int(log["logIndex"]))

    def opened_params(self, bounty_id: int) -> dict[str, Any]:
        for ev in self.events(bounty_id=bounty_id):
            if ev.name == "BountyOpened":
                return ev["params"]
        raise FathomError(f"bounty {bounty_id} has no BountyOpened event on this chain")

    @staticmethod
    def records_of(events: Iterable[Event], bounty_id: int, batch: int) -> list[tuple]:
        """The batch's SubmissionRecords, in id order, from SubmissionReceived events."""
        subs = sorted(
            (e for e in events if e.name == "SubmissionReceived" and e["bountyId"] == bounty_id and e["batch"] == batch),
            key=lambda e: e["submissionId"],
        )
        return [(e["contributor"], e["stake"], e["baseVersion"], tuple(e["update"])) for e in subs]

    @staticmethod
    def reports_of(events: Iterable[Event], bounty_id: int, batch: int, members: list[str]) -> list[tuple]:
        """The batch's reports in committee order, from ReportPosted events."""
        by_oracle = {
            e["oracle"]: (bytes(e["scores"]), tuple(e["merged"]))
            for e in events
            if e.name == "ReportPosted" and e["bountyId"] == bounty_id and e["batch"] == batch
        }
        return [by_oracle[m] for m in members if m in by_oracle]

    # ------------------------------------------------------------ actions

    def publish_key(self, public_key: bytes) -> Any:
        return self.send(self.keys.functions.publishKey(public_key))

    def ensure_key_published(self, public_key: bytes) -> bool:
        me = self._need_sender().address
        if bytes(self.keys.functions.publicKeyOf(me).call()) == public_key:
            return False
        self.publish_key(public_key)
        return True

    def member_bond(self, bounty_id: int) -> tuple[int, int]:
        """(the bond a member locks when it joins, what one offence takes of it) (C1, C3)."""
        bond, per_offence = self._view(self.market.functions.memberBond(bounty_id), f"bounty {bounty_id}")
        return int(bond), int(per_offence)

    def stake_of(self, oracle: str) -> int:
        """An oracle's whole registry stake, locked or not."""
        return int(self.registry.functions.oracleInfo(oracle).call()[0])

    def free_stake(self, oracle: str) -> int:
        """An oracle's registry stake that no bounty's bond holds."""
        stake = int(self.registry.functions.oracleInfo(oracle).call()[0])
        return stake - int(self.registry.functions.lockedOf(oracle).call())

    def claim_payout_to(self, token: str, to: str, bounty_id: int, position: int, amount: int, proof: list[bytes]) -> Any:
        """claimPayout's payout sent to `to` (P3: for a contributor its token blocks)."""
        return self.send(self.market.functions.claimPayoutTo(token, to, bounty_id, position, amount, proof))

    def stake_oracle(self, amount: int, notify: Callable[[str], None] | None = None) -> Any:
        """Stake `amount` more in the registry, once it is in a staking half (rule O7). An
        account short of `amount` is refused at once, not after the wait."""
        self._need_sender().require_balance(amount, "stake")
        self.wait_for_staking_half("stake", notify)
        return self.send(self.registry.functions.stake(), value=amount)

    def drawing_until(self) -> int:
        """Rule O7: 0 if the next block is in a registry staking half, else the first block
        of the next staking half (stake, requestUnbond, setPolicy, sync and the emptying of a
        drawn seat revert until then)."""
        period = int(self.registry.functions.drawPeriod().call())
        latest = int(self.w3.eth.block_number)
        # both the block a transaction is estimated at (the latest) and the one it lands in
        for n in (latest, latest + 1):
            if (n // period) % 2 == 1:
                return (n // period + 1) * period
        return 0

    def wait_for_staking_half(self, what: str, notify: Callable[[str], None] | None = None,
                              poll: float = 2.0) -> None:
        """Block until the next transaction lands in a registry staking half (rule O7). On a
        local development chain, where blocks come only with transactions, mine empty ones;
        elsewhere wait for the chain, saying so once through `notify`."""
        until = self.drawing_until()
        if not until:
            return
        if notify is not None:
            notify(f"the oracle registry is drawing committees until block {until} (rule O7): "
                   f"{what} waits for its staking half")
        while self.drawing_until():
            if not self.mine_if_local():
                time.sleep(poll)

    def sync_oracle(self, oracle: str) -> Any:
        """Set `oracle`'s sortition weight to its stake now, applying its slashes (rule O7)."""
        return self.send(self.registry.functions.sync(oracle))

    def vacate_seat(self, bounty_id: int, oracle: str) -> Any:
        """Empty a drawn seat whose holder never joined within the timeout, or cannot bond (C6)."""
        return self.send(self.market.functions.vacateSeat(bounty_id, oracle))

    def leave_committee(self, bounty_id: int) -> Any:
        """Leave the bounty's committee and release this member's bond in the registry (what is
        left of it after slashes): once the bounty is Closed or Revealed, at any time; before,
        only as C2 allows (review 10, D3: nothing else ever releases a bond)."""
        return self.send(self.market.functions.leaveCommittee(bounty_id))

    def envelope(self) -> tuple:
        """IOracleRegistry.envelope() as a Policy tuple: the standard envelope (R3-4)."""
        return tuple(self.registry.functions.envelope().call())

    def policy_of(self, oracle: str) -> tuple[tuple, bool]:
        """(IOracleRegistry.Policy as a tuple, whether the oracle set one) (rule O1)."""
        policy, is_set = self.registry.functions.policyOf(oracle).call()
        return tuple(policy), bool(is_set)

    def set_policy(self, policy: tuple, notify: Callable[[str], None] | None = None) -> Any:
        """Register this oracle's acceptance policy (O5), once in a staking half (O7)."""
        self.wait_for_staking_half("the policy", notify)
        return self.send(self.registry.functions.setPolicy(policy))

    def registry_accepts(self, oracle: str, terms: tuple) -> bool:
        return bool(self.registry.functions.accepts(oracle, terms).call())

    def is_local(self) -> bool:
        """A local development chain (ganache 1337, anvil 31337): blocks come only with transactions."""
        return int(self.w3.eth.chain_id) in (1337, 31337)

    def mine_if_local(self) -> bool:
        """On a local development chain (ganache 1337, anvil 31337), where blocks come only with
        transactions, mine an empty one (a drawn committee waits for a later block, C4);
        anywhere else do nothing. Returns whether it mined."""
        if not self.is_local():
            return False
        self.w3.provider.make_request("evm_mine", [])
        return True

    def draw_deposit(self) -> int:
        """The ETH a drawn-mode bounty deposits with createBounty (rule C5): the registry's
        minimum stake / 16 (BOND_FLOOR_DIVISOR), burned if the bounty ends before its baseline,
        refunded (claimable) when the baseline is set."""
        return int(self.registry.functions.minStake().call()) // 16

    def draw_committee(self, bounty_id: int) -> Any:
        """Fill the bounty's empty seats (rule C4; anyone may) from the seed of the drawing half
        its armed block opens: recorded by this call if it lands in the half's seed block
        (`seed_block`), read if recorded there; if nobody recorded there the draw lapses,
        uncharged, and is re-armed for a later half."""
        fn = self.market.functions.drawCommittee(bounty_id)
        sender = self._need_sender()
        gas = None  # the send estimates at the latest block, and says why it reverts
        try:  # no estimate at `pending` (an RPC may read it as `latest`, review 11 T)
            fn.estimate_gas({"from": sender.address})
        except ContractCustomError as exc:
            if describe_revert(exc.data).startswith("DrawNotDue"):
                gas = DRAW_GAS  # the latest block is the seed block's parent: aimed at the seed block
        except (ContractLogicError, ValueError):
            pass
        return sender.transact(fn, gas=gas)

    def record_seed(self, nonce: int | None = None) -> Any:
        """Send a bare `registry.recordSeed()` (rule C4), aimed at a drawing half's seed block,
        which nothing can make revert there (review 10, D4): a fixed gas limit, no estimate (an
        estimate at the seed block's parent reverts SeedNotOpen, review 11 T), `nonce` if the
        caller fetched it ahead, and no wait for the receipt. Returns the transaction's hash."""
        return self._need_sender().submit(self.registry.functions.recordSeed(), RECORD_SEED_GAS, nonce)

    def next_nonce(self) -> int:
        """The nonce this account's next transaction takes (its pending transactions counted)."""
        sender = self._need_sender()
        return int(self.w3.eth.get_transaction_count(sender.address, "pending"))

    def sent_count(self) -> int:
        """How many transactions this account's sender has handed to the node so far: a nonce
        fetched ahead (`next_nonce`) still holds only while this has not moved."""
        return self._need_sender().sent

    def draw_committees(self, bounty_ids: list[int], fixed_gas: bool) -> list[tuple[int, Any]]:
        """The draws due (rule C4), sent back to back without waiting for each receipt, after
        the bare recordSeed (`record_seed`). Aimed at the seed block (`fixed_gas`), each takes
        DRAW_GAS: an estimate made before the seed block runs with another PREVRANDAO, so
        other samples (review 11, T); later in the half each is estimated at the latest block,
        whose recorded seed it reads. Returns (bounty id, receipt or the ChainError it met) per
        draw; a draw that fails stops no other."""
        sender = self._need_sender()
        calls: list[tuple[Any, int]] = []
        ids: list[int] = []
        out: list[tuple[int, Any]] = []
        for b in bounty_ids:
            fn = self.market.functions.drawCommittee(b)
            try:
                gas = DRAW_GAS if fixed_gas else int(fn.estimate_gas({"from": sender.address}) * 1.2) + 10_000
            except (ContractCustomError, ContractLogicError, ValueError) as exc:
                out.append((b, ChainError(f"drawCommittee({b}) would revert: {exc}")))
                continue
            calls.append((fn, gas))
            ids.append(b)
        return out + list(zip(ids, sender.transact_all(calls)))

    def seed_block(self, draw_block: int) -> int:
        """Rule C4: the one block whose PREVRANDAO seeds the drawing half `draw_block` opens,
        draw_block + the registry's SEED_OFFSET (2: a draw lands there or later, never before)."""
        return draw_block + SEED_OFFSET

    def seed_recorded(self, draw_block: int) -> bool:
        """Whether the seed of the drawing half `draw_block` opens is recorded (rule C4)."""
        period = int(self.registry.functions.drawPeriod().call())
        return int(self.registry.functions.seedOf(draw_block // period).call()) != 0

    def mine_to(self, block: int) -> None:
        """On a local development chain (blocks only with transactions), mine empty blocks
        until the latest is `block`, so that the next transaction lands in block + 1 (the
        seed block a draw must hit, rule C4); anywhere else do nothing."""
        while self.is_local() and int(self.w3.eth.block_number) < block:
            self.mine_if_local()

    def create_bounty(self, params: dict[str, Any]) -> int:
        missing = [f for f in PARAM_FIELDS if f not in params]
        if missing:
            raise FathomError(f"bounty parameters missing: {', '.join(missing)}")
        tup = tuple(params[f] for f in PARAM_FIELDS)
        escrow = params["reward"] + params["oracleFeePerBatch"] * params["maxBatches"] + params["revealBond"]
        deposit = self.draw_deposit() if params["committee"] and int(params["committee"][0], 16) == 0 else 0
        if params["token"] == ETH:
            receipt = self.send(self.market.functions.createBounty(tup), value=escrow + deposit)
        else:
            token = self.w3.eth.contract(address=params["token"], abi=abi("MockERC20"))
            self.send(token.functions.approve(self.address, escrow))
            receipt = self.send(self.market.functions.createBounty(tup), value=deposit)
        for log in receipt.logs:
            ev = self._decode(log) if log["address"] == self.address else None
            if ev and ev.name == "BountyOpened":
                return int(ev["bountyId"])
        raise ChainError("createBounty mined without a BountyOpened event")

    def join(self, bounty_id: int) -> Any:
        return self.send(self.market.functions.joinCommittee(bounty_id))

    def report_baseline(self, bounty_id: int, score: int) -> Any:
        return self.send(self.market.functions.reportBaseline(bounty_id, score))

    def stake_source(self, bounty_id: int, stake_from: str = "wallet") -> str:
        """Where a submission's stake will come from: "wallet" (a transfer) or "balance"
        (the sender's claimable balance, U5). `stake_from` is "wallet", "balance", "auto"
        (the balance when it covers the stake: no transfer, and its slot is warm), or
        "once" (a transfer, for a contributor who will not come back: submitUpdateOnce, U6,
        whose payout is claimed with a proof, `fathom.roles.contributor.claim_payouts`)."""
        if stake_from not in STAKE_SOURCES:
            raise FathomError(f"stake_from must be one of {', '.join(STAKE_SOURCES)}, got {stake_from!r}")
        if stake_from in ("wallet", "once"):
            return stake_from
        b = self.bounty(bounty_id)
        have = self.claimable(self._need_sender().address, b["token"])
        if have >= b["stake"]:
            return "balance"
        if stake_from == "balance":
            raise FathomError(f"your claimable balance ({have} wei of the bounty's token) is below the stake "
                              f"({b['stake']}); stake from your wallet instead")
        return "wallet"

    def submit(self, bounty_id: int, base_version: int, update: tuple[bytes, int], stake_from: str = "wallet") -> int:
        """Submit an update; returns its submission id. `stake_from`: see `stake_source`."""
        source = self.stake_source(bounty_id, stake_from)
        b = self.bounty(bounty_id)
        by_transfer = self.market.functions.submitUpdateOnce if source == "once" else self.market.functions.submitUpdate
        if source == "balance":
            receipt = self.send(self.market.functions.submitUpdateFromBalance(bounty_id, base_version, update))
        elif b["token"] == ETH:
            receipt = self.send(by_transfer(bounty_id, base_version, update), value=b["stake"])
        else:
            token = self.w3.eth.contract(address=b["token"], abi=abi("MockERC20"))
            self.send(token.functions.approve(self.address, b["stake"]))
            receipt = self.send(by_transfer(bounty_id, base_version, update))
        for log in receipt.logs:
            ev = self._decode(log) if log["address"] == self.address else None
            if ev and ev.name == "SubmissionReceived":
                return int(ev["submissionId"])
        raise ChainError("submitUpdate mined without a SubmissionReceived event")

    def disclose_keys(self, bounty_id: int, batch: int, keys: bytes) -> Any:
        """F2: a member discloses the content keys of a decided batch's updates once the bounty is
        closed (32 bytes per submission in id order, zero for one it does not disclose)."""
        return self.send(self.market.functions.discloseKeys(bounty_id, batch, keys))

    @staticmethod
    def disclosed_keys(events: Iterable[Event], bounty_id: int) -> dict[int, list[bytes]]:
        """Every key disclosed on chain (KeysDisclosed), by submission id: each member's
        non-zero key, in log order. Unchecked: a reader checks each against its envelope."""
        out: dict[int, list[bytes]] = {}
        batch_size = next((int(e["params"]["batchSize"]) for e in events
                           if e.name == "BountyOpened" and e["bountyId"] == bounty_id), None)
        for e in events:
            if e.name != "KeysDisclosed" or e["bountyId"] != bounty_id or batch_size is None:
                continue
            keys = bytes(e["keys"])
            for i in range(len(keys) // 32):
                key = keys[32 * i:32 * i + 32]
                if any(key):
                    out.setdefault(int(e["batch"]) * batch_size + i, []).append(key)
        return out

    def commit_report(self, bounty_id: int, batch: int, commitment: bytes,
                      on_sent: Callable[[bytes], None] | None = None) -> Any:
        """R11: commit to a report (`report_commitment`) before the reveal phase."""
        return self.send(self.market.functions.commitReport(bounty_id, batch, commitment), on_sent=on_sent)

    def abstain(self, bounty_id: int, batch: int, on_sent: Callable[[bytes], None] | None = None) -> Any:
        """R12: sit the batch out (a zero commitment), once a quorum committed: no fee, and no
        void of the batch charges this member."""
        return self.send(self.market.functions.commitReport(bounty_id, batch, bytes(32)), on_sent=on_sent)

    def sit_out(self, bounty_id: int, out: bool = True) -> Any:
        """C7: take (or leave) a standing sit-out: off duty from the next batch on."""
        return self.send(self.market.functions.sitOut(bounty_id, out))

    def report(self, bounty_id: int, batch: int, report: bytes, merged: tuple[bytes, int], salt: bytes,
               on_sent: Callable[[bytes], None] | None = None) -> Any:
        """Reveal the committed report (R11): `encode_report`'s bytes."""
        return self.send(self.market.functions.report(bounty_id, batch, report, merged, salt), on_sent=on_sent)

    def report_and_settle(self, bounty_id: int, batch: int, report: bytes, merged: tuple[bytes, int], salt: bytes,
                          records: list[tuple], others: list[tuple], on_sent: Callable[[bytes], None] | None = None) -> Any:
        """The finalising report: reveal and settle in one transaction (the last member to report)."""
        return self.send(self.market.functions.reportAndSettle(bounty_id, batch, report, merged, salt,
                                                               pack_records(records), others), on_sent=on_sent)

    def settle(self, bounty_id: int, batch: int, records: list[tuple], reports: list[tuple]) -> Any:
        return self.send(self.market.functions.settleBatch(bounty_id, batch, records, reports))

    def void(self, bounty_id: int, batch: int, records: list[tuple]) -> Any:
        return self.send(self.market.functions.voidBatch(bounty_id, batch, records))

    def close(self, bounty_id: int) -> Any:
        return self.send(self.market.functions.close(bounty_id))

    def cancel(self, bounty_id: int) -> Any:
        return self.send(self.market.functions.cancel(bounty_id))

    def reveal(self, bounty_id: int, validation_cid: tuple[bytes, int], validation_key: bytes, salt: bytes, model_key: bytes) -> Any:
        return self.send(self.market.functions.reveal(bounty_id, validation_cid, validation_key, salt, model_key))

    def set_keyring(self, bounty_id: int, keyring: tuple[bytes, int]) -> Any:
        return self.send(self.market.functions.setKeyring(bounty_id, keyring))

    def claim(self, token: str = ETH) -> int:
        me = self._need_sender().address
        amount = self.claimable(me, token)
        if amount == 0:
            return 0
        self.send(self.market.functions.claim(token))
        return amount

    def payout_root(self, bounty_id: int, batch: int, group: int) -> tuple[bytes, int]:
        """A one-off payout group's stored root and claimed bits (P3)."""
        root, claimed = self.market.functions.payoutRoot(bounty_id, batch, group).call()
        return bytes(root), int(claimed)

    def claim_payout(self, token: str, bounty_id: int, position: int, amount: int, proof: list[bytes]) -> Any:
        return self.send(self.market.functions.claimPayout(token, bounty_id, position, amount, proof))


def _plain(value: Any) -> Any:
    """Event values as plain Python: structs (web3's AttributeDicts) become tuples in ABI order."""
    if isinstance(value, Mapping):
        return tuple(_plain(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value) if isinstance(value, list) else tuple(_plain(v) for v in value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return value


def _type(param: dict[str, Any]) -> str:
    if param.get("components") is not None:
        return "(" + ",".join(_type(c) for c in param["components"]) + ")" + param["type"][len("tuple"):]
    return param["type"]


def _outputs(fn_name: str) -> list[dict[str, Any]]:
    for entry in abi("BountyMarket"):
        if entry.get("type") == "function" and entry.get("name") == fn_name:
            return entry["outputs"]
    raise FathomError(f"BountyMarket has no function {fn_name}")

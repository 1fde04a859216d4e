"""Gas per scored contribution, counted from receipts (`gasUsed`) on anvil at shanghai.

The count, as the performance issue defines it (committee C, full batches of B):

  per contribution (returning) = mean submit
                                + (the batch's C commitments, C reports + its settlement) / B
                                + one claim / 4      (4 contributions per claim: one
                                                      fresh batch, three returning)
  A returning contributor whose stake came back restakes it from its claimable balance
  (submitUpdateFromBalance), as `fathom contribute` does; the same contributor staking by
  transfer every time is reported too (`per_contribution_by_transfer_c3_b32`).
  per contribution (one-off)   = mean submit + (reports + settlement) / B + one claim
  A one-off contributor submits once with submitUpdateOnce and claims once with claimPayout
  (rules U6, P3: its payout is a leaf of its group's Merkle root, so settlement writes one
  word per 32 submissions instead of a claimable slot per contributor). It is measured on
  a bounty's second batch, every batch from fresh contributors: the first batch of a bounty
  also pays once-per-bounty costs (such as the token's first pending burn). The same
  contributor through submitUpdate and claim (a fresh claimable slot) is reported too
  (`per_contribution_single_by_balance_c3_b32`).

Each member commits to its report first (`commitReport`, rule R11: `commit_mean`), then
reveals it. The last committee member's report settles the batch in the same transaction
(`reportAndSettle`: it passes the packed records and the other reports); `settle_mean`
is that transaction, `report_mean` the plain reports before it, and a batch costs all of
them. Contributors approve the market for type(uint256).max, as wallets do
(OpenZeppelin's ERC20 then skips the allowance write). Each batch holds a realistic mix:
one merged (most batches improve on one update at most), B/8 slashed (invalid or far
worse than the head), the rest rejected. The "half" mix merges half the batch instead
(rule R5: every update significant on its own may be merged and paid its share), B/8
slashed, the rest rejected (`per_contribution_half_c3_b32`, `..._single_half_c3_b32`).

Rule P4: the headline ERC-20 figures list the MockERC20 (a plain OpenZeppelin ERC20) as a
fixed-balance token at deployment, as a mainnet market lists USDC, DAI or WETH: the market keeps
no books of it. `balance_checked` measures the returning and one-off contributor again with the
same token unlisted (books, and a balance read before every payout).

    python benchmarks/gas.py            # prints the table, writes benchmarks/gas.json
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_abi import encode
from eth_abi.packed import encode_packed
from eth_utils import keccak
from web3.logs import DISCARD

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fathom.protocol import payouts  # noqa: E402
from fathom.protocol import settlement as P  # noqa: E402
from fathom.chain.client import ETH, ORACLE_DRAW_PERIOD, LocalChain, Sender, connect, deploy_all  # noqa: E402
from fathom.protocol.payouts import ONE_OFF  # noqa: E402
from fathom.chain.market import report_commitment  # noqa: E402

import gas_functions  # noqa: E402  (benchmarks/gas_functions.py, next to this script)

WAD = 10**18
RAW = 0x55
INVALID = 2**32 - 1
BASELINE = 5_000


def cid(tag: str) -> tuple[bytes, int]:
    return (keccak(text=tag), RAW)


@dataclass
class Scenario:
    token: str = "erc20"  # or "eth"
    batch: int = 32
    committee: int = 3
    batches: int = 4  # the same contributors submit once per batch
    # A returning contributor whose stake came back restakes it from its claimable
    # balance (submitUpdateFromBalance, U5), as `fathom contribute` does by default.
    restake: bool = False
    # One-off contributors: fresh ones for every batch, submitUpdateOnce and claimPayout
    # right after their batch settles; the figures are the last batch's.
    once: bool = False
    # The half mix: half of each batch merged (equal shares), B/8 slashed, the rest rejected.
    half: bool = False
    # Rule P4: the market is deployed with the MockERC20 listed as fixed-balance (a plain
    # OpenZeppelin ERC20, whose balances change only by transfers), as USDC, DAI or WETH would
    # be on mainnet; checked=True leaves it unlisted, so the market keeps its books and reads
    # its balance before every payout.
    checked: bool = False


def _salt(member: str, batch: int) -> bytes:
    return keccak(text=f"salt-{member}-{batch}")


def _params(token: str, committee: list[str], batch: int, batches: int, now: int) -> tuple:
    val_cid, val_key, salt = cid("validation"), b"\x11" * 32, b"\x22" * 32
    commitment = keccak(encode(["(bytes32,uint8)", "bytes32", "bytes32"], [val_cid, val_key, salt]))
    return (
        token, 1_000 * WAD, WAD, 3 * 10**15, batches + 2, 10**16, 5_000, batch, 3_600, now + 30 * 86_400, 86_400,
        True, 9_000, 100, 5, 10**14, b"accuracy".ljust(32, b"\0"), len(committee) == 1, committee,
        [0, WAD], [0, WAD], cid("initial"), cid("keyring"), commitment,
    )


def _mix(n: int, head: int, k: int) -> list[int]:
    """Scores for one batch: submission 0 beats the head, n/8 are slashed, the rest rejected."""
    slashed = n // 8
    scores = [head - 10] * n
    scores[0] = head + 100 + k
    for i in range(1, 1 + slashed):
        scores[i] = INVALID if i % 2 else head - 500
    return scores


def _report(n: int, head: int, k: int, half: bool) -> tuple[bytes, int]:
    """One batch's report (every member sends the same) and the merged model's score: the
    standard mix merges submission 0 alone; the half mix merges the last n/2 (equal shares)."""
    scores = _mix(n, head, k)
    if not half:
        return P.encode_scores(scores), scores[0]
    merged = head + 150 + k
    shares = [0] * n
    for i in range(n - n // 2, n):
        scores[i] = head + 100 + k
        shares[i] = P.SHARE_TOTAL // (n // 2)
    scores[0] = head - 10
    return P.encode_report(scores, merged, shares), merged


def run(scn: Scenario, url: str) -> dict[str, Any]:
    w3 = connect(url)
    accts = w3.eth.accounts
    deployer = Sender.unlocked(w3, 0)
    token = deployer.deploy("MockERC20", "Bench", "BNC", 18) if scn.token == "erc20" else None
    listed = [token.address] if token is not None and not scn.checked else []
    c = deploy_all(deployer, fixed_balance_tokens=listed)
    market, registry = c["BountyMarket"], c["OracleRegistry"]
    assert market.functions.balanceChecked(token.address if token else ETH).call() == (token is not None and scn.checked)
    requester = Sender.unlocked(w3, 1)
    oracles = [Sender.unlocked(w3, 2 + i) for i in range(scn.committee)]
    pools = [[Sender.unlocked(w3, 10 + (k if scn.once else 0) * scn.batch + i) for i in range(scn.batch)]
             for k in range(scn.batches if scn.once else 1)]
    contributors = pools[0]
    gas: dict[str, list[int]] = {k: [] for k in ("submit", "commit", "report", "settle", "claim", "submit_first")}

    token_addr = ETH
    if token is not None:
        token_addr = token.address
        for who in [requester, *(c for pool in pools for c in pool)]:
            deployer.transact(token.functions.mint(who.address, 10**24))
    for o in oracles:
        # rule O7: stakes only in a registry staking half (each transaction mines a block here)
        # (the block gas is estimated at, the latest, and the one the transaction lands in)
        while any((n // ORACLE_DRAW_PERIOD) % 2 == 1 for n in (w3.eth.block_number, w3.eth.block_number + 1)):
            w3.provider.make_request("evm_mine", [])
        o.transact(registry.functions.stake(), value=2 * WAD)

    params = _params(token_addr, [o.address for o in oracles], scn.batch, scn.batches, w3.eth.get_block("latest").timestamp)
    escrow = params[1] + params[3] * params[4] + params[5]
    if token is not None:
        requester.transact(token.functions.approve(market.address, escrow))
        receipt = requester.transact(market.functions.createBounty(params))
        for who in (c for pool in pools for c in pool):
            who.transact(token.functions.approve(market.address, 2**256 - 1))
    else:
        receipt = requester.transact(market.functions.createBounty(params), value=escrow)
    bounty = market.events.BountyOpened().process_receipt(receipt)[0]["args"]["bountyId"]
    for o in oracles:
        o.transact(market.functions.joinCommittee(bounty))
    for o in oracles:
        o.transact(market.functions.reportBaseline(bounty, BASELINE))

    head = BASELINE
    stake = params[2]
    for k in range(scn.batches):
        if scn.once:
            contributors = pools[k]
            gas = {key: [] for key in gas}  # the last batch's figures
        records = []
        for i, who in enumerate(contributors):
            update = cid(f"update-{k}-{i}")
            if scn.once:
                r = who.transact(market.functions.submitUpdateOnce(bounty, k, update), value=0 if token else stake)
            elif scn.restake and market.functions.claimable(who.address, token_addr).call() >= stake:
                r = who.transact(market.functions.submitUpdateFromBalance(bounty, k, update))
            else:
                r = who.transact(market.functions.submitUpdate(bounty, k, update), value=0 if token else stake)
            (gas["submit_first"] if i == 0 else gas["submit"]).append(r.gasUsed)
            # based on the head, version k (every batch makes one): never stale (G1)
            records.append((who.address, stake | (ONE_OFF if scn.once else 0), k, update))
        blob, merged_score = _report(scn.batch, head, k, scn.half)
        merged = cid(f"merged-{k}")
        reports = []
        # every member commits first (R11); the last commitment opens the reveal phase
        for o in oracles:
            commitment = report_commitment(bounty, k, o.address, _salt(o.address, k), blob, merged)
            r = o.transact(market.functions.commitReport(bounty, k, commitment))
            gas["commit"].append(r.gasUsed)
        for o in oracles[:-1]:
            r = o.transact(market.functions.report(bounty, k, blob, merged, _salt(o.address, k)))
            gas["report"].append(r.gasUsed)
            reports.append((blob, merged))
        # the last member's report settles the batch
        packed = b"".join(encode_packed(["address", "uint96", "uint32", "bytes32", "uint8"], [a, s, v, u[0], u[1]])
                          for a, s, v, u in records)
        r = oracles[-1].transact(market.functions.reportAndSettle(bounty, k, blob, merged, _salt(oracles[-1].address, k),
                                                                  packed, reports))
        gas["settle"].append(r.gasUsed)
        head = merged_score
        if scn.once:
            _claim_payouts(market, r, bounty, k, records, token_addr, contributors, gas["claim"])
    if not scn.once:
        for who in contributors:
            r = who.transact(market.functions.claim(token_addr))
            gas["claim"].append(r.gasUsed)
    # the same number of claims from fresh one-batch contributors is measured by a
    # separate run with batches=1, where every claim follows one contribution
    n = scn.batch
    submits = gas["submit"] + gas["submit_first"]
    mean_submit = statistics.fmean(submits)
    batches = 1 if scn.once else scn.batches
    per_batch = (sum(gas["commit"]) + sum(gas["report"]) + sum(gas["settle"])) / batches
    mean_claim = statistics.fmean(gas["claim"])
    return {
        "submit_mean": round(mean_submit),
        "submit_first_in_batch": round(statistics.fmean(gas["submit_first"])),
        "commit_mean": round(statistics.fmean(gas["commit"])),
        "report_mean": round(statistics.fmean(gas["report"])) if gas["report"] else 0,
        "settle_mean": round(statistics.fmean(gas["settle"])),
        "claim_mean": round(mean_claim),
        "scoring_per_contribution": round(per_batch / n),
        "per_contribution": round(mean_submit + per_batch / n + mean_claim / batches),
    }


def _claim_payouts(market: Any, settled: Any, bounty: int, batch: int, records: list[tuple], token: str,
                   senders: list[Sender], out: list[int]) -> None:
    """Every one-off contributor of the batch claims its payout with its Merkle proof,
    rebuilt from the records and the settlement's events (fathom.protocol.payouts)."""
    accepted = [e["args"] for e in market.events.UpdateMerged().process_receipt(settled, errors=DISCARD)]
    slashed = [e["args"] for e in market.events.StakeSlashed().process_receipt(settled, errors=DISCARD)]
    amounts = payouts.owed(records, batch * len(records), accepted, slashed)
    sender = {s.address: s for s in senders}
    for i, (amount, proof) in payouts.claims(records, amounts, token).items():
        r = sender[records[i][0]].transact(
            market.functions.claimPayout(token, bounty, payouts.position(batch, i), amount, proof))
        out.append(r.gasUsed)


def figure(scn: Scenario, url: str) -> dict[str, Any]:
    returning = run(Scenario(scn.token, scn.batch, scn.committee, restake=True), url)
    by_transfer = run(Scenario(scn.token, scn.batch, scn.committee), url)
    single = run(Scenario(scn.token, scn.batch, scn.committee, batches=2, once=True), url)
    by_balance = run(Scenario(scn.token, scn.batch, scn.committee, batches=1), url)
    return {"returning": returning, "returning_by_transfer": by_transfer, "single": single, "single_by_balance": by_balance}


def figure_checked(scn: Scenario, url: str) -> dict[str, Any]:
    """Rule P4's cost: returning and one-off contributors with the token unlisted (balance-checked)."""
    returning = run(Scenario(scn.token, scn.batch, scn.committee, restake=True, checked=True), url)
    single = run(Scenario(scn.token, scn.batch, scn.committee, batches=2, once=True, checked=True), url)
    return {"returning": returning, "single": single}


def figure_half(scn: Scenario, url: str) -> dict[str, Any]:
    """The half mix (half of each batch merged): returning and one-off contributors."""
    returning = run(Scenario(scn.token, scn.batch, scn.committee, restake=True, half=True), url)
    single = run(Scenario(scn.token, scn.batch, scn.committee, batches=2, once=True, half=True), url)
    return {"returning": returning, "single": single}


def main() -> int:
    started = time.monotonic()
    out: dict[str, Any] = {"chain": "anvil (hardfork shanghai, base fee 0)", "mix": "1 merged, B/8 slashed, rest rejected",
                           "half_mix": "B/2 merged (equal shares), B/8 slashed, rest rejected"}
    with LocalChain("anvil", accounts=10 + 2 * 128) as chain:
        main_erc20 = figure(Scenario("erc20", 32, 3), chain.url)
        main_eth = figure(Scenario("eth", 32, 3), chain.url)
        out["per_contribution_c3_b32"] = main_erc20["returning"]["per_contribution"]
        out["per_contribution_single_c3_b32"] = main_erc20["single"]["per_contribution"]
        out["per_contribution_by_transfer_c3_b32"] = main_erc20["returning_by_transfer"]["per_contribution"]
        out["per_contribution_single_by_balance_c3_b32"] = main_erc20["single_by_balance"]["per_contribution"]
        half = figure_half(Scenario("erc20", 32, 3), chain.url)
        out["per_contribution_half_c3_b32"] = half["returning"]["per_contribution"]
        out["per_contribution_single_half_c3_b32"] = half["single"]["per_contribution"]
        checked = figure_checked(Scenario("erc20", 32, 3), chain.url)
        out["balance_checked"] = {
            "note": "the same ERC-20 unlisted: the market books it and reads its balance before each payout (rule P4)",
            "per_contribution_c3_b32": checked["returning"]["per_contribution"],
            "per_contribution_single_c3_b32": checked["single"]["per_contribution"],
        }
        out["eth"] = {
            "per_contribution_c3_b32": main_eth["returning"]["per_contribution"],
            "per_contribution_by_transfer_c3_b32": main_eth["returning_by_transfer"]["per_contribution"],
            "per_contribution_single_c3_b32": main_eth["single"]["per_contribution"],
            "per_contribution_single_by_balance_c3_b32": main_eth["single_by_balance"]["per_contribution"],
        }
        out["detail_c3_b32"] = {"erc20": main_erc20, "eth": main_eth, "erc20_half": half, "erc20_checked": checked}
        out["by_batch"] = {}
        for b in (1, 8, 32, 128):
            f = main_erc20 if b == 32 else figure(Scenario("erc20", b, 3), chain.url)
            out["by_batch"][str(b)] = {"returning": f["returning"]["per_contribution"], "single": f["single"]["per_contribution"]}
        out["by_committee"] = {}
        for cm in (1, 3, 5):
            f = main_erc20 if cm == 3 else figure(Scenario("erc20", 32, cm), chain.url)
            out["by_committee"][str(cm)] = {"returning": f["returning"]["per_contribution"], "single": f["single"]["per_contribution"]}
        # every function, each at its bounds, and the check that none grows with the users
        per_function = gas_functions.measure(chain.url)
        out["functions"] = per_function["functions"]
        out["worst_case"] = per_function["worst_case"]
        out["growth"] = per_function["growth"]
    out["seconds"] = round(time.monotonic() - started, 1)
    path = ROOT / "benchmarks" / "gas.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    d = out["detail_c3_b32"]
    print(f"{'gas per scored contribution (C=3, B=32)':<44}{'ERC-20*':>10}{'ETH':>10}   ceiling (goal)")
    print(f"{'  returning (restakes, claims once per 4)':<44}{out['per_contribution_c3_b32']:>10,}{out['eth']['per_contribution_c3_b32']:>10,}   90,000 (80,000)")
    print(f"{'  returning, staking by transfer every time':<44}{out['per_contribution_by_transfer_c3_b32']:>10,}{out['eth']['per_contribution_by_transfer_c3_b32']:>10,}")
    print(f"{'  one-off (submitUpdateOnce, claimPayout)':<44}{out['per_contribution_single_c3_b32']:>10,}{out['eth']['per_contribution_single_c3_b32']:>10,}   130,000 (120,000)")
    print(f"{'  balance-checked ERC-20 (P4): returning / one-off':<44}{out['balance_checked']['per_contribution_c3_b32']:>10,}"
          f"{out['balance_checked']['per_contribution_single_c3_b32']:>10,}")
    print(f"{'  half merged: returning / one-off':<44}{out['per_contribution_half_c3_b32']:>10,}"
          f"{out['per_contribution_single_half_c3_b32']:>10,}")
    print(f"{'  one-off through submitUpdate and claim':<44}{out['per_contribution_single_by_balance_c3_b32']:>10,}"
          f"{out['eth']['per_contribution_single_by_balance_c3_b32']:>10,}")
    for key in ("submit_mean", "submit_first_in_batch", "commit_mean", "report_mean", "settle_mean", "claim_mean",
                "scoring_per_contribution"):
        print(f"  {key:<42}{d['erc20']['returning'][key]:>10,}{d['eth']['returning'][key]:>10,}")
    print("  * ERC-20: listed as fixed-balance by the deployer (rule P4), except the balance-checked row")
    print("by batch size (returning / one-off):", {k: (v["returning"], v["single"]) for k, v in out["by_batch"].items()})
    print("by committee (returning / one-off):", {k: (v["returning"], v["single"]) for k, v in out["by_committee"].items()})
    print(gas_functions.short_table(out))
    print(f"wrote {path.relative_to(ROOT)} in {out['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Hostile ERC-20 tokens through every money path (rules B1, B2, B5, U2, U5, R5, R6, E2,
E3, P1, P2): fund (createBounty), top up, stake (submitUpdate and submitUpdateFromBalance),
slash and burn, claim, and the requester's refund on cancel and close.

After every step the market's balance of the token must equal what it owes in that token
(`owed_in_token`: pending burn, claimable balances, open escrow and fees, reveal bonds, the
stakes of undecided batches). The market has no per-token total, so that sum is built
from its views and the SubmissionReceived records; a second ledger counts what the token
moved in and out.

Expected outcome per token:
- MockERC20 at 18, 6 and 2 decimals: handled; rewards are floor(R * (c(p) - c(p_head))) in units.
- NoReturnToken (USDT style, nothing returned): handled; SafeERC20 accepts empty return data.
- FalseReturnToken, switchable: handled while it returns true; while it returns false,
  every call that moves it reverts SafeERC20FailedOperation(token) and balances stay owed.
- FalseReturnToken, always false: refused at createBounty, SafeERC20FailedOperation(token).
- FeeOnTransferToken: handled; what arrived is credited.
- HookToken (ERC-777 style hooks): handled; a hook running while the market measures a
  transfer in (createBounty, topUp, submitUpdate) cannot open, top up, stake, claim or burn
  (ReentrancyGuardReentrantCall) nor reach the bounty being opened (BountyNotFound); a hook
  re-entering a claim finds the balance already spent.
- RevertingToken: handled; while it reverts, only calls that move it fail (TransfersReverting).
- BlocklistToken (USDC style): handled; only a blocked party's own transfers fail (Blocked).
"""

import pytest
from eth_abi import encode
from eth_utils import keccak

from fathom.protocol import settlement as protocol
from tests.helpers import reverts_with
from tests.market_helpers import (
    INVALID,
    SALT,
    VALIDATION_CID,
    VALIDATION_KEY,
    WAD,
    Round,
    cid,
    owed_in_token,
    params,
)

DEAD = "0x000000000000000000000000000000000000dEaD"
BASELINE, TARGET = 5_000, 9_000
CURVE_X, CURVE_Y = [0, 3 * WAD // 10, WAD], [0, 7 * WAD // 10, WAD]  # concave: pays early gains more
SLASH_BPS = 5_000

# name -> (contract, constructor args, decimals, fee on transfer in percent)
HANDLED = {
    "erc20_18_decimals": ("MockERC20", ("Eighteen", "E18", 18), 18, 0),
    "erc20_6_decimals": ("MockERC20", ("Six", "E6", 6), 6, 0),
    "erc20_2_decimals": ("MockERC20", ("Two", "E2", 2), 2, 0),
    "no_return": ("NoReturnToken", (), 6, 0),
    "false_return_switchable": ("FalseReturnToken", (False,), 18, 0),
    "fee_on_transfer": ("FeeOnTransferToken", (), 18, 1),
    "erc777_hooks": ("HookToken", (), 18, 0),
    "reverting": ("RevertingToken", (), 18, 0),
    "blocklist": ("BlocklistToken", (), 6, 0),
}


def _selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


def _deploy(request, deployer, name):
    contract, args, decimals, fee = HANDLED[name]
    token = request.getfixturevalue(contract).deploy(*args, {"from": deployer})
    return token, decimals, fee


def _amounts(decimals):
    """Bounty terms in the token's units: 1,000 tokens of reward and odd sizes elsewhere,
    so that every division in the market has a remainder."""
    u = 10**decimals
    return {
        "reward": 1_000 * u,
        "stake": 3 * u + u // 3,
        "oracleFeePerBatch": 10 * u + 1,
        "revealBond": 50 * u,
        "topUp": 123 * u + 7,
    }


class Books:
    """The market's balance of one token against what it owes (views and records), and
    against a ledger of what the token moved in and out of it."""

    def __init__(self, market, token, accounts):
        self.market, self.token = market, token
        self.rounds, self.accounts = [], list(accounts)
        self.ledger = token.balanceOf(market)

    def moved(self, delta):
        self.ledger += delta

    def check(self, step):
        held = self.token.balanceOf(self.market)
        owed = owed_in_token(self.market, self.token, self.rounds, self.accounts)
        assert held == owed == self.ledger, f"{step}: held {held}, owed {owed}, ledger {self.ledger}"


def _open(market, requester, committee, token, a, **overrides):
    terms = dict(reward=a["reward"], stake=a["stake"], oracleFeePerBatch=a["oracleFeePerBatch"], maxBatches=4,
                 revealBond=a["revealBond"], slashBps=SLASH_BPS, batchSize=3, target=TARGET, curveX=CURVE_X, curveY=CURVE_Y)
    tup, p = params(committee, token.address, **{**terms, **overrides})
    total = p["reward"] + p["oracleFeePerBatch"] * p["maxBatches"] + p["revealBond"]
    token.approve(market, total, {"from": requester})
    tx = market.createBounty(tup, {"from": requester})
    return tx, Round(market, tx.events["BountyOpened"]["bountyId"], list(committee)), p


def _baseline(market, rnd):
    for o in rnd.committee:
        market.joinCommittee(rnd.bounty_id, {"from": o})
    for o in rnd.committee:
        market.reportBaseline(rnd.bounty_id, BASELINE, {"from": o})


def _due(reward, paid, score, head=BASELINE):
    """floor(R * (c(p) - c(p_head))) for an accepted median score over the head (rule R6),
    from the reference model."""
    packed, n = protocol.pack(CURVE_X, CURVE_Y)

    def c(s):
        return protocol.curve_at(packed, n, protocol.progress(protocol.key(s, True), protocol.key(BASELINE, True),
                                                               protocol.key(TARGET, True)))

    return protocol.reward_between(reward, paid, c(head), c(score))


def _cut(stake):
    return stake * SLASH_BPS // 10_000


@pytest.mark.parametrize("name", list(HANDLED))
def test_b2_u2_u5_r6_e2_p1_p2_every_money_path_keeps_the_books(name, request, market, requester, staked_oracles,
                                                                contributors, rando, deployer):
    token, decimals, fee = _deploy(request, deployer, name)
    arrive = (lambda x: x - x * fee // 100) if fee else (lambda x: x)
    a = _amounts(decimals)
    for who in [requester, rando, *contributors]:
        token.mint(who, 10**6 * 10**decimals, {"from": deployer})
    committee = staked_oracles[:3]
    A, B, C = contributors
    books = Books(market, token, [requester, rando, *contributors, *committee])
    expect = {str(w): 0 for w in books.accounts}
    burned = 0

    # fund: what arrived is the escrow; the reward is what is left after fees and bond
    tx, rnd, p = _open(market, requester, committee, token, a)
    books.rounds.append(rnd)
    fixed = p["oracleFeePerBatch"] * p["maxBatches"] + p["revealBond"]
    total = p["reward"] + fixed
    assert tx.events["BountyOpened"]["reward"] == arrive(total) - fixed
    books.moved(arrive(total))
    books.check("createBounty")

    # top up by anyone
    token.approve(market, a["topUp"], {"from": rando})
    tx = market.topUp(rnd.bounty_id, a["topUp"], {"from": rando})
    assert tx.events["BountyFunded"]["amount"] == arrive(a["topUp"])
    books.moved(arrive(a["topUp"]))
    books.check("topUp")
    reward = market.getBounty(rnd.bounty_id)["reward"]
    assert reward == arrive(total) - fixed + arrive(a["topUp"])

    _baseline(market, rnd)
    stake = a["stake"]

    # batch 0: A improves (accepted), B improves less (rejected), C is invalid (slashed)
    for who, n in ((A, 1), (B, 2), (C, 3)):
        tx = rnd.submit(who, n, token=token)
        assert tx.events["SubmissionReceived"]["stake"] == arrive(stake)
        books.moved(arrive(stake))
        books.check(f"submitUpdate {n}")
    tx = rnd.score_batch(0, [6_001, 5_500, INVALID])
    reward1 = _due(reward, 0, 6_001)
    assert tx.events["VersionAccepted"]["reward"] == reward1
    s = arrive(stake)
    expect[str(A)] += s + reward1
    expect[str(B)] += s
    expect[str(C)] += s - _cut(s)
    burned += _cut(s)
    share = p["oracleFeePerBatch"] // 3
    for o in committee:
        expect[str(o)] += share
    books.check("settle batch 0")

    # batch 1: A stakes from its balance and is slashed (worse than the head by more than the
    # margin), B is accepted, C is rejected
    tx = rnd.submit_from_balance(A, 4)
    assert tx.events["SubmissionReceived"]["stake"] == stake
    expect[str(A)] -= stake
    books.check("submitUpdateFromBalance")
    for who, n in ((B, 5), (C, 6)):
        rnd.submit(who, n, token=token)
        books.moved(arrive(stake))
        books.check(f"submitUpdate {n}")
    tx = rnd.score_batch(1, [5_800, 7_333, 6_500])
    reward2 = _due(reward, reward1, 7_333, head=6_001)
    assert tx.events["VersionAccepted"]["reward"] == reward2
    assert [e["burned"] for e in tx.events["StakeSlashed"]] == [_cut(stake)]
    expect[str(A)] += stake - _cut(stake)
    expect[str(B)] += s + reward2
    expect[str(C)] += s
    burned += _cut(stake)
    for o in committee:
        expect[str(o)] += share
    books.check("settle batch 1")
    assert market.pendingBurn(token) == burned

    # burn: the slashed parts leave for 0x...dEaD
    dead = token.balanceOf(DEAD)
    market.burn(token, {"from": rando})
    assert token.balanceOf(DEAD) - dead == arrive(burned) and market.pendingBurn(token) == 0
    books.moved(-burned)
    books.check("burn")

    # refund: cancel, close, reveal; the requester gets back what was not earned, and its bond
    market.cancel(rnd.bounty_id, {"from": requester})
    tx = market.close(rnd.bounty_id, {"from": rando})
    fee_refund = p["oracleFeePerBatch"] * p["maxBatches"] - 2 * 3 * share
    assert tx.events["BountyClosed"]["rewardRefund"] == reward - reward1 - reward2
    assert tx.events["BountyClosed"]["feeRefund"] == fee_refund
    expect[str(requester)] += reward - reward1 - reward2 + fee_refund
    books.check("close")
    market.reveal(rnd.bounty_id, VALIDATION_CID, VALIDATION_KEY, SALT, b"\x33" * 32, {"from": requester})
    expect[str(requester)] += p["revealBond"]
    books.check("reveal")

    # claims: each pays exactly the claimable balance, which the model predicted
    assert {w: market.claimable(w, token) for w in expect} == expect
    for who in books.accounts:
        amount = market.claimable(who, token)
        if amount == 0:
            continue
        before = token.balanceOf(who)
        market.claim(token, {"from": who})
        assert token.balanceOf(who) - before == arrive(amount) and market.claimable(who, token) == 0
        books.moved(-amount)
        books.check(f"claim {who}")
    # nothing owed, nothing left: no rounding leaked into or out of the market
    assert token.balanceOf(market) == 0


def test_b1_b5_u2_a_token_that_returns_false_is_refused_with_safe_erc20_failed_operation(
        FalseReturnToken, market, requester, staked_oracles, deployer):
    """A token whose transfers return false is refused at createBounty, whether it moved the
    funds (always false) or not (switched to failing): no bounty, nothing held."""
    for always in (True, False):
        token = FalseReturnToken.deploy(always, {"from": deployer})
        token.mint(requester, 10**24, {"from": deployer})
        token.setFailing(not always, {"from": deployer})
        count = market.bountyCount()
        with reverts_with("SafeERC20FailedOperation", token.address):
            _open(market, requester, staked_oracles[:3], token, _amounts(18))
        assert market.bountyCount() == count and token.balanceOf(market) == 0


def _funded(request, deployer, market, requester, staked_oracles, contributors, rando, name):
    """A bounty in `name`'s token with batch 0 settled (A accepted, B rejected, C slashed):
    every kind of balance is owed in it."""
    token, decimals, _ = _deploy(request, deployer, name)
    a = _amounts(decimals)
    for who in [requester, rando, *contributors]:
        token.mint(who, 10**6 * 10**decimals, {"from": deployer})
    committee = staked_oracles[:3]
    books = Books(market, token, [requester, rando, *contributors, *committee])
    _, rnd, p = _open(market, requester, committee, token, a)
    books.rounds.append(rnd)
    books.moved(p["reward"] + p["oracleFeePerBatch"] * p["maxBatches"] + p["revealBond"])
    _baseline(market, rnd)
    for who, n in zip(contributors, (1, 2, 3)):
        rnd.submit(who, n, token=token)
        books.moved(a["stake"])
    rnd.score_batch(0, [6_001, 5_500, INVALID])
    books.check("funded")
    return token, a, rnd, books


def _still_works_without_token_calls(market, rnd, books, contributors, requester, rando):
    """Everything that moves no token: a stake from balance, settlement with a slash, cancel,
    close and reveal."""
    A, B, C = contributors
    rnd.submit_from_balance(A, 4)
    rnd.submit_from_balance(B, 5)
    rnd.submit_from_balance(A, 6)
    books.check("stakes from balance")
    tx = rnd.score_batch(1, [7_000, INVALID, 6_500])
    assert tx.events["VersionAccepted"]["author"] == A and tx.events["StakeSlashed"]["contributor"] == B
    books.check("settle with a slash")
    market.cancel(rnd.bounty_id, {"from": requester})
    market.close(rnd.bounty_id, {"from": rando})
    market.reveal(rnd.bounty_id, VALIDATION_CID, VALIDATION_KEY, SALT, b"\x33" * 32, {"from": requester})
    books.check("refund")


def _claim_everything(market, token, books):
    for who in books.accounts:
        amount = market.claimable(who, token)
        if amount:
            market.claim(token, {"from": who})
            books.moved(-amount)
            books.check(f"claim {who}")
    if market.pendingBurn(token):
        books.moved(-market.pendingBurn(token))
        market.burn(token, {"from": books.accounts[0]})
    books.check("all claimed")
    assert token.balanceOf(books.market) == 0


@pytest.mark.parametrize("name,switch,error", [
    ("reverting", "setReverting", "TransfersReverting"),
    ("false_return_switchable", "setFailing", "SafeERC20FailedOperation"),
])
def test_b5_u2_u5_p1_p2_a_token_whose_transfers_fail_blocks_only_its_own_transfers(
        name, switch, error, request, market, requester, staked_oracles, contributors, rando, deployer, token):
    """Once the token's transfers fail (revert, or return false), every call that moves it
    reverts with the token's error, and only those: settlement, stakes from balance, slashes,
    cancel, close and reveal go on, another token's claims pay, and every balance stays
    owed until the token works again."""
    bad, a, rnd, books = _funded(request, deployer, market, requester, staked_oracles, contributors, rando, name)
    other = Round.open(market, requester, staked_oracles[:3], token=token, batchSize=1)  # a healthy MockERC20
    other.submit(contributors[0], 1, token=token)
    getattr(bad, switch)(True, {"from": deployer})
    args = (bad.address,) if error == "SafeERC20FailedOperation" else ()
    A, B, C = contributors

    bad.approve(market, 10**30, {"from": rando})
    bad.approve(market, 10**30, {"from": A})
    with reverts_with(error, *args):
        market.topUp(rnd.bounty_id, a["topUp"], {"from": rando})
    with reverts_with(error, *args):
        market.submitUpdate(rnd.bounty_id, 0, cid(9), {"from": A})
    with reverts_with(error, *args):
        market.claim(bad, {"from": B})
    books.check("failed transfers")

    _still_works_without_token_calls(market, rnd, books, contributors, requester, rando)
    assert market.pendingBurn(bad) > 0
    with reverts_with(error, *args):
        market.burn(bad, {"from": rando})
    for who in [requester, A, B, C, staked_oracles[0]]:
        owed = market.claimable(who, bad)
        assert owed > 0
        with reverts_with(error, *args):
            market.claim(bad, {"from": who})
        assert market.claimable(who, bad) == owed
    books.check("nothing moved")

    # the other token's bounty is untouched: its stake comes back and pays out
    other.score_batch(0, [5_000])
    before = token.balanceOf(contributors[0])
    market.claim(token, {"from": contributors[0]})
    assert token.balanceOf(contributors[0]) - before == market.getBounty(other.bounty_id)["stake"]

    getattr(bad, switch)(False, {"from": deployer})
    _claim_everything(market, bad, books)


def test_p1_a_blocked_contributor_cannot_claim_but_blocks_nobody_else(
        BlocklistToken, request, market, requester, staked_oracles, contributors, rando, deployer):
    """USDC-style blocklist: a blocked contributor can neither stake nor claim in the token
    (Blocked), yet settlement, slashes, others' claims, the refund and burns go on, and
    its balance stays claimable until it is unblocked."""
    bad, a, rnd, books = _funded(request, deployer, market, requester, staked_oracles, contributors, rando, "blocklist")
    A, B, C = contributors
    bad.setBlocked(C, True, {"from": deployer})
    bad.approve(market, 10**30, {"from": C})
    with reverts_with("Blocked", C.address):
        market.submitUpdate(rnd.bounty_id, 0, cid(9), {"from": C})
    _still_works_without_token_calls(market, rnd, books, contributors, requester, rando)
    owed = market.claimable(C, bad)
    assert owed > 0
    with reverts_with("Blocked", C.address):
        market.claim(bad, {"from": C})
    assert market.claimable(C, bad) == owed
    for who in [requester, A, B, *staked_oracles[:3]]:
        amount = market.claimable(who, bad)
        market.claim(bad, {"from": who})
        books.moved(-amount)
        books.check(f"claim {who}")
    books.moved(-market.pendingBurn(bad))
    market.burn(bad, {"from": rando})
    assert bad.balanceOf(market) == owed  # exactly the blocked balance is left
    books.check("all but the blocked")
    bad.setBlocked(C, False, {"from": deployer})
    before = bad.balanceOf(C)
    market.claim(bad, {"from": C})
    assert bad.balanceOf(C) - before == owed and bad.balanceOf(market) == 0


def test_e2_p1_a_blocked_requester_refund_does_not_block_contributors(
        BlocklistToken, request, market, requester, staked_oracles, contributors, rando, deployer):
    """A requester blocked after funding: close still credits its refund, its own claim
    reverts, and the contributors and oracles are paid."""
    bad, a, rnd, books = _funded(request, deployer, market, requester, staked_oracles, contributors, rando, "blocklist")
    bad.setBlocked(requester, True, {"from": deployer})
    market.cancel(rnd.bounty_id, {"from": requester})
    tx = market.close(rnd.bounty_id, {"from": rando})
    refund = tx.events["BountyClosed"]["rewardRefund"] + tx.events["BountyClosed"]["feeRefund"]
    assert market.claimable(requester, bad) == refund > 0
    with reverts_with("Blocked", requester.address):
        market.claim(bad, {"from": requester})
    books.check("refund owed")
    for who in [*contributors, *staked_oracles[:3]]:
        amount = market.claimable(who, bad)
        market.claim(bad, {"from": who})
        books.moved(-amount)
        books.check(f"claim {who}")
    assert market.claimable(requester, bad) == refund
    bad.setBlocked(requester, False, {"from": deployer})
    market.reveal(rnd.bounty_id, VALIDATION_CID, VALIDATION_KEY, SALT, b"\x33" * 32, {"from": requester})
    _claim_everything(market, bad, books)


# ----------------------------------------------------------------- ERC-777 style hooks

def _hook_world(request, deployer, market, requester, staked_oracles, contributors, rando):
    """A HookToken bounty (by an EOA) and a HookAccount H with hooks registered, holding
    tokens, with a claimable balance (a returned stake) and a pending burn in the token."""
    HookToken, HookAccount = request.getfixturevalue("HookToken"), request.getfixturevalue("HookAccount")
    token = HookToken.deploy({"from": deployer})
    h = HookAccount.deploy({"from": deployer})
    h.register(token, {"from": deployer})
    a = _amounts(18)
    for who in [requester, rando, h, *contributors]:
        token.mint(who, 10**24, {"from": deployer})
    h.exec(token, token.approve.encode_input(market, 2**256 - 1), {"from": deployer})
    committee = staked_oracles[:3]
    books = Books(market, token, [requester, rando, h, *contributors, *committee])
    _, rnd, p = _open(market, requester, committee, token, a, batchSize=2, maxBatches=16)
    books.rounds.append(rnd)
    books.moved(p["reward"] + p["oracleFeePerBatch"] * p["maxBatches"] + p["revealBond"])
    _baseline(market, rnd)
    h.exec(market, market.submitUpdate.encode_input(rnd.bounty_id, 0, cid(1)), {"from": deployer})
    rnd.records.setdefault(0, []).append((h.address, a["stake"], 0, cid(1)))
    rnd.submit(contributors[0], 2, token=token)
    books.moved(2 * a["stake"])
    rnd.score_batch(0, [BASELINE, INVALID])  # H rejected (no better than the head), contributor 0 slashed
    assert market.claimable(h, token) == a["stake"] and market.pendingBurn(token) > 0
    books.check("hook world")
    return token, h, rnd, books, a, p


def _inner_calls(market, token, rnd, h, p):
    """Calls a hook makes back into the market, by name."""
    tup, _ = params(p["committee"], token.address, reward=p["reward"], stake=p["stake"], batchSize=2)
    return {
        "createBounty": market.createBounty.encode_input(tup),
        "topUp": market.topUp.encode_input(rnd.bounty_id, 10**18),
        "submitUpdate": market.submitUpdate.encode_input(rnd.bounty_id, 0, cid(50)),
        "submitUpdateFromBalance": market.submitUpdateFromBalance.encode_input(rnd.bounty_id, 0, cid(51)),
        "claim": market.claim.encode_input(token),
        "claimTo": market.claimTo.encode_input(token, h),
        "burn": market.burn.encode_input(token),
    }


OUTER_PULLS = ["createBounty", "topUp", "submitUpdate"]
INNER = ["createBounty", "topUp", "submitUpdate", "submitUpdateFromBalance", "claim", "claimTo", "burn"]


@pytest.mark.parametrize("outer", OUTER_PULLS)
def test_u2_b5_p1_p2_a_hook_cannot_reenter_while_the_market_measures_a_transfer(
        outer, request, market, requester, staked_oracles, contributors, rando, deployer):
    """While the market measures what arrives (createBounty, topUp, submitUpdate), the
    sender's tokensToSend hook cannot open, top up, stake, claim or burn: each reverts
    ReentrancyGuardReentrantCall, and exactly what was sent is credited."""
    token, h, rnd, books, a, p = _hook_world(request, deployer, market, requester, staked_oracles, contributors, rando)
    calls = _inner_calls(market, token, rnd, h, p)
    outer_tup, op = params(staked_oracles[:3], token.address, reward=a["reward"], stake=a["stake"], batchSize=2)
    for n, inner in enumerate(INNER):
        h.arm(market, calls[inner], 1, {"from": deployer})
        held = token.balanceOf(market)
        if outer == "createBounty":
            tx = h.exec(market, market.createBounty.encode_input(outer_tup), {"from": deployer})
            bid = tx.events["BountyOpened"]["bountyId"]
            books.rounds.append(Round(market, bid, list(staked_oracles[:3])))
            sent = op["reward"] + op["oracleFeePerBatch"] * op["maxBatches"] + op["revealBond"]
            assert tx.events["BountyOpened"]["reward"] == op["reward"]
        elif outer == "topUp":
            sent = a["topUp"]
            tx = h.exec(market, market.topUp.encode_input(rnd.bounty_id, sent), {"from": deployer})
            assert tx.events["BountyFunded"]["amount"] == sent
        else:
            sent = a["stake"]
            tx = h.exec(market, market.submitUpdate.encode_input(rnd.bounty_id, 0, cid(100 + n)), {"from": deployer})
            ev = tx.events["SubmissionReceived"]
            assert ev["stake"] == sent
            rnd.record(ev, h.address, 0, cid(100 + n), stake=sent)
        assert h.fired() == n + 1 and not h.lastOk(), inner
        assert bytes(h.lastReturn()) == _selector("ReentrancyGuardReentrantCall()"), inner
        assert token.balanceOf(market) - held == sent
        books.moved(sent)
        books.check(f"{outer} with a nested {inner}")
    assert market.claimable(h, token) == a["stake"]  # the nested claims took nothing


def test_b1_e2_a_hook_inside_create_bounty_finds_no_bounty_to_close_or_cancel(
        request, market, requester, staked_oracles, contributors, rando, deployer):
    """While createBounty pulls the escrow, the bounty it is opening does not exist yet: the
    sender's hook cannot close it (which would have closed it with nothing to refund and
    left its escrow stuck), cancel it or opt in to it. It opens whole afterwards."""
    token, h, rnd, books, a, p = _hook_world(request, deployer, market, requester, staked_oracles, contributors, rando)
    tup, op = params(staked_oracles[:3], token.address, reward=a["reward"], stake=a["stake"], batchSize=2)
    sent = op["reward"] + op["oracleFeePerBatch"] * op["maxBatches"] + op["revealBond"]
    for n, inner in enumerate(["close", "cancel", "getBounty"]):
        bid = market.bountyCount() + 1
        h.arm(market, getattr(market, inner).encode_input(bid), 1, {"from": deployer})
        tx = h.exec(market, market.createBounty.encode_input(tup), {"from": deployer})
        assert tx.events["BountyOpened"]["bountyId"] == bid
        books.rounds.append(Round(market, bid, list(staked_oracles[:3])))
        books.moved(sent)
        assert h.fired() == n + 1 and not h.lastOk(), inner
        assert bytes(h.lastReturn()) == _selector("BountyNotFound(uint256)") + encode(["uint256"], [bid]), inner
        assert market.state(bid) == 1 and market.getBounty(bid)["closedAt"] == 0  # AwaitingBaseline
        books.check(f"createBounty with a nested {inner}")
    # the bounty is whole: its requester cancels and closes it and gets everything back
    h.exec(market, market.cancel.encode_input(bid), {"from": deployer})
    tx = market.close(bid, {"from": rando})
    assert tx.events["BountyClosed"]["rewardRefund"] == op["reward"]
    books.check("closed")


def test_p1_u2_e2_a_hook_reentering_a_claim_finds_the_balance_spent(
        request, market, requester, staked_oracles, contributors, rando, deployer):
    """A claim (here also a requester's refund) zeroes the balance before the transfer, so
    the receiver's tokensReceived hook finds nothing to claim or stake from; what it may do
    (stake, top up, open a bounty, burn) measures its own transfer and is credited exactly."""
    token, h, rnd, books, a, p = _hook_world(request, deployer, market, requester, staked_oracles, contributors, rando)
    # H opens a bounty of its own and cancels it: its refund joins its claimable balance
    tup, hp = params(staked_oracles[:3], token.address, reward=a["reward"], stake=a["stake"], batchSize=2)
    tx = h.exec(market, market.createBounty.encode_input(tup), {"from": deployer})
    own = Round(market, tx.events["BountyOpened"]["bountyId"], list(staked_oracles[:3]))
    books.rounds.append(own)
    books.moved(hp["reward"] + hp["oracleFeePerBatch"] * hp["maxBatches"] + hp["revealBond"])
    h.exec(market, market.cancel.encode_input(own.bounty_id), {"from": deployer})
    tx = market.close(own.bounty_id, {"from": rando})
    refund = tx.events["BountyClosed"]["rewardRefund"] + tx.events["BountyClosed"]["feeRefund"]
    h.exec(market, market.reveal.encode_input(own.bounty_id, VALIDATION_CID, VALIDATION_KEY, SALT, b"\x33" * 32),
           {"from": deployer})
    assert market.claimable(h, token) == a["stake"] + refund + hp["revealBond"]
    books.check("refund owed to H")
    calls = _inner_calls(market, token, rnd, h, p)
    _, p2 = params(staked_oracles[:3], token.address, reward=p["reward"], stake=p["stake"], batchSize=2)
    nothing = _selector("NothingToClaim(address,address)") + encode(["address", "address"], [h.address, token.address])
    short = _selector("InsufficientClaimable(address,address,uint256,uint256)") + encode(
        ["address", "address", "uint256", "uint256"], [h.address, token.address, 0, p["stake"]])
    expected = {  # inner call -> (succeeds, revert data)
        "claim": (False, nothing),
        "claimTo": (False, nothing),
        "submitUpdateFromBalance": (False, short),
        "submitUpdate": (True, None),
        "topUp": (True, None),
        "createBounty": (True, None),
        "burn": (True, None),
    }
    n = 0
    for inner, (ok, ret) in expected.items():
        # give H something to claim: top it up with a returned stake of its own
        if market.claimable(h, token) == 0:
            tx = h.exec(market, market.submitUpdate.encode_input(rnd.bounty_id, 0, cid(200 + n)), {"from": deployer})
            received = tx.events["SubmissionReceived"]
            batch = received["submissionId"] // market.getBounty(rnd.bounty_id)["batchSize"]
            rnd.record(received, h.address, 0, cid(200 + n), stake=a["stake"])
            rnd.submit(contributors[1], 300 + n, token=token)
            books.moved(2 * a["stake"])
            rnd.score_batch(batch, [BASELINE, INVALID if inner == "burn" else BASELINE])
            books.check("H has a balance again")
        if inner == "burn":
            assert market.pendingBurn(token) > 0
        h.arm(market, calls[inner], 2, {"from": deployer})
        amount = market.claimable(h, token)
        pending = market.pendingBurn(token)
        mine = token.balanceOf(h)
        tx = h.exec(market, market.claim.encode_input(token), {"from": deployer})
        n += 1
        spent = {"submitUpdate": p["stake"], "topUp": 10**18, "createBounty": p2["reward"] + p2["oracleFeePerBatch"]
                 * p2["maxBatches"] + p2["revealBond"]}.get(inner, 0)
        assert token.balanceOf(h) - mine == amount - spent, inner
        assert h.fired() == n and h.lastOk() == ok, inner
        if ret is not None:
            assert bytes(h.lastReturn()) == ret, inner
        assert market.claimable(h, token) == 0 and tx.events["Claimed"][0]["amount"] == amount
        books.moved(-amount)
        if inner == "submitUpdate":
            ev = tx.events["SubmissionReceived"]
            rnd.record(ev, h.address, 0, cid(50))
            books.moved(ev["stake"])
        elif inner == "topUp":
            books.moved(tx.events["BountyFunded"]["amount"])
        elif inner == "createBounty":
            ev = tx.events["BountyOpened"]
            books.rounds.append(Round(market, ev["bountyId"], list(staked_oracles[:3])))
            books.moved(ev["reward"] + p2["oracleFeePerBatch"] * p2["maxBatches"] + p2["revealBond"])
        elif inner == "burn":
            books.moved(-pending)
            assert market.pendingBurn(token) == 0
        assert token.balanceOf(market) == books.ledger
        books.check(f"claim with a nested {inner}")
        if inner == "submitUpdate":  # the nested stake is a normal submission: settle it
            batch = market.getBounty(rnd.bounty_id)["nextBatch"]
            rnd.submit(contributors[2], 400 + n, token=token)
            books.moved(a["stake"])
            rnd.score_batch(batch, [BASELINE, BASELINE])
            books.check("nested stake settled")


# ------------------------------------------------------------------ decimals and rounding

@pytest.mark.parametrize("decimals", [2, 6])
def test_r6_e2_a_low_decimal_reward_pays_floor_amounts_and_leaks_nothing(decimals, MockERC20, market, requester,
                                                                         staked_oracles, contributors, rando, deployer):
    """A reward of 1,000 tokens (1000 * 10**decimals units) paid out over six accepted
    versions on a concave curve: each reward is floor(R * (c(p) - c(p_head))) in units, exactly
    the reference model's, their sum plus the refund is R, and after every claim the market
    holds nothing of the token."""
    token = MockERC20.deploy("Low", "LOW", decimals, {"from": deployer})
    a = _amounts(decimals)
    for who in [requester, *contributors]:
        token.mint(who, 10**6 * 10**decimals, {"from": deployer})
    committee = staked_oracles[:3]
    books = Books(market, token, [requester, *contributors, *committee])
    _, rnd, p = _open(market, requester, committee, token, a, batchSize=1, maxBatches=8)
    books.rounds.append(rnd)
    books.moved(p["reward"] + p["oracleFeePerBatch"] * p["maxBatches"] + p["revealBond"])
    _baseline(market, rnd)
    reward, paid, floored, head = p["reward"], 0, 0, BASELINE
    assert reward == 1_000 * 10**decimals
    for i, score in enumerate([5_001, 5_333, 6_107, 6_999, 7_777, 8_999]):
        rnd.submit(contributors[i % 3], i, base=i, token=token)  # on the head (G1: not stale)
        books.moved(a["stake"])
        tx = rnd.score_batch(i, [score])
        due = _due(reward, paid, score, head)
        floored += _due(reward * WAD, paid * WAD, score, head) % WAD != 0  # the step had a fraction of a unit
        head = score
        assert tx.events["VersionAccepted"]["reward"] == due
        paid += due
        assert market.getBounty(rnd.bounty_id)["paid"] == paid
        books.check(f"version {i + 1}")
    market.cancel(rnd.bounty_id, {"from": requester})
    tx = market.close(rnd.bounty_id, {"from": rando})
    assert paid + tx.events["BountyClosed"]["rewardRefund"] == reward and floored >= 3
    market.reveal(rnd.bounty_id, VALIDATION_CID, VALIDATION_KEY, SALT, b"\x33" * 32, {"from": requester})
    books.check("closed")
    _claim_everything(market, token, books)

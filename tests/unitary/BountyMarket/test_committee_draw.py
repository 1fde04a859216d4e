"""Issue 15.2 on a real chain (ganache: every block has its own hash and PREVRANDAO): the
committee is drawn from a later block's hash by anyone, stake-weighted among oracles whose
policy accepts the bounty; a leaver is replaced; a cancel before the baseline is charged
(rules O5, O6, C4, C5)."""

from brownie import chain

from tests.helpers import SEED_OFFSET, mine_past, mine_to_seed, reverts_with, to_staking
from tests.market_helpers import ETH, Round, escrow_total, params

REWARD = 10**18
ZERO_ADDRESS = ETH  # an empty seat


def draw_deposit(market):
    """Rule C5: the ETH draw deposit, the registry's minimum stake / 16."""
    from brownie import OracleRegistry

    return OracleRegistry.at(market.oracleRegistry()).minStake() // 16


def open_drawn(market, requester, size=3, **overrides):
    tup, p = params([ZERO_ADDRESS] * size, ETH, **overrides)
    tx = market.createBounty(tup, {"from": requester, "value": escrow_total(p) + draw_deposit(market)})
    return tx.events["BountyOpened"]["bountyId"], tx


def seed_block(opened_at, period):
    """Rule O7: the first block of a registry drawing half at least 5 blocks after `opened_at`."""
    at = opened_at + 5
    while (at // period) % 2 == 0 or at % period != 0:
        at += 1
    return at


def test_attack_a_requester_cannot_draw_in_the_opening_block_and_anyone_draws_after_it(
    market, requester, staked_oracles, rando
):
    bid, tx = open_drawn(market, requester)
    view = market.getBounty(bid)
    at = seed_block(tx.block_number, 8)  # scripts/deploy.py's local period
    assert not view["trustedCommittee"]
    assert view["drawBlock"] == at
    assert tx.events["CommitteeDrawArmed"]["drawBlock"] == at
    with reverts_with("DrawNotDue", bid, at):
        market.drawCommittee(bid, {"from": requester})
    mine_past(at)
    with reverts_with("DrawNotDue", bid, at):  # the half's blocks before its seed block (R3-2)
        market.drawCommittee(bid, {"from": requester})
    mine_to_seed(at)
    drawn = market.drawCommittee(bid, {"from": rando})  # anyone, in the seed block
    assert drawn.block_number == at + SEED_OFFSET
    members = list(drawn.events["CommitteeDrawn"]["committee"])
    assert len(set(members)) == 3 and set(members) <= {o.address for o in staked_oracles}
    assert requester.address not in members
    assert list(market.getCommittee(bid)[0]) == members
    assert market.getBounty(bid)["drawBlock"] == 0
    for m in members:
        market.joinCommittee(bid, {"from": m})
    for m in members:
        market.reportBaseline(bid, 5_000, {"from": m})
    assert market.state(bid) == 2  # Open: the drawn committee works like a named one


def test_attack_the_requester_staked_as_an_oracle_is_never_drawn_for_its_own_bounty(
    market, requester, oracle_registry, staked_oracles
):
    to_staking(oracle_registry)
    oracle_registry.stake({"from": requester, "value": 50 * 10**18})  # most of the stake
    for _ in range(4):
        bid, _ = open_drawn(market, requester)
        mine_to_seed(market.getBounty(bid)["drawBlock"])
        market.drawCommittee(bid, {"from": requester})
        assert requester.address not in list(market.getCommittee(bid)[0])


def more_oracles(keyed_account, oracle_registry, n, first):
    """n more staked oracles with keys `first`.. (each test its own: brownie keeps added accounts)."""
    out = []
    for i in range(n):
        account, _ = keyed_account(first + i)
        to_staking(oracle_registry)
        oracle_registry.stake({"from": account, "value": 2 * 10**18})
        out.append(account)
    return out


def draw_until_seated(market, bid, who, attempts=6):
    """Mines to the armed half's seed block and draws, again while a seat stays empty (a re-armed draw)."""
    for _ in range(attempts):
        mine_to_seed(market.getBounty(bid)["drawBlock"])
        market.drawCommittee(bid, {"from": who})
        members = list(market.getCommittee(bid)[0])
        if ZERO_ADDRESS not in members or market.getBounty(bid)["cancelled"]:
            return members
    raise AssertionError("a seat stayed empty")


def test_c4_an_oracle_whose_policy_refuses_is_never_drawn(
    market, requester, oracle_registry, staked_oracles, keyed_account
):
    refuser = staked_oracles[0]
    to_staking(oracle_registry)
    oracle_registry.setPolicy((3_600, 365 * 86_400, 0, 2048, True, 10**18), {"from": refuser})  # the envelope's strictest timeout
    more_oracles(keyed_account, oracle_registry, 4, 200)  # 8 oracles, 1 refusing: the draw rarely misses
    seated = 0
    for _ in range(3):
        bid, _ = open_drawn(market, requester, scoringTimeout=1_800)  # outside the standard envelope (R3-4)
        members = draw_until_seated(market, bid, requester)
        assert refuser.address not in members
        seated += not market.getBounty(bid)["cancelled"]
    assert seated >= 1


def test_c4_a_member_leaving_before_any_batch_is_replaced_by_a_new_draw(
    market, requester, oracle_registry, staked_oracles, keyed_account
):
    more_oracles(keyed_account, oracle_registry, 2, 210)
    bid, _ = open_drawn(market, requester)
    members = draw_until_seated(market, bid, requester)
    for m in members:
        market.joinCommittee(bid, {"from": m})
    if (chain.height + 1) // 8 % 2 == 1:  # rule O7: a drawn seat is emptied only in a staking half
        with reverts_with("SeatsFrozen"):
            market.leaveCommittee(bid, {"from": members[0]})
    to_staking(oracle_registry)
    tx = market.leaveCommittee(bid, {"from": members[0]})
    assert tx.events["CommitteeDrawArmed"]["drawBlock"] == seed_block(tx.block_number, 8)
    assert market.getCommittee(bid)[0][0] == ZERO_ADDRESS
    after = draw_until_seated(market, bid, requester)
    assert after[0] not in (ZERO_ADDRESS, members[0], members[1], members[2])  # never the leaver again
    assert after[1:] == members[1:]
    market.joinCommittee(bid, {"from": after[0]})
    assert market.getCommittee(bid)[1] == 0b111
    assert market.getBounty(bid)["trustedCommittee"] is False
    with reverts_with("NotCommitteeMember"):
        market.joinCommittee(bid, {"from": members[0]})


def test_c5_a_cancel_before_the_baseline_burns_five_percent_of_the_reward(market, requester, staked_oracles):
    bid, _ = open_drawn(market, requester)
    mine_to_seed(market.getBounty(bid)["drawBlock"])
    market.drawCommittee(bid, {"from": requester})
    tx = market.cancel(bid, {"from": requester})
    assert tx.events["CancelCharged"]["burned"] == REWARD // 20
    assert market.pendingBurn(ETH) == REWARD // 20 + draw_deposit(market)  # and the deposit
    # a trusted committee's cancel is not charged
    rnd = Round.open(market, requester, staked_oracles[:3], baseline=None)
    assert market.getBounty(rnd.bounty_id)["trustedCommittee"] is True
    tx = market.cancel(rnd.bounty_id, {"from": requester})
    assert "CancelCharged" not in tx.events


def test_attack_F1_a_stake_top_up_after_the_seed_is_public_reverts_until_the_staking_half(
    market, requester, oracle_registry, staked_oracles, rando
):
    """Rule O7 on a real chain: once the seed block is mined its hash is public, and until the
    drawing half ends no stake, unbond or policy may change what the draw reads."""
    bid, _ = open_drawn(market, requester)
    at = market.getBounty(bid)["drawBlock"]
    mine_to_seed(at)
    market.drawCommittee(bid, {"from": rando})  # the seed block records the seed
    drawing, until = oracle_registry.phase()
    assert until == at + 8
    with reverts_with("RegistryDrawing", until):
        oracle_registry.stake({"from": staked_oracles[0], "value": 1})
    with reverts_with("RegistryDrawing", until):
        oracle_registry.setPolicy((1, 1, 0, 1, False, 1), {"from": staked_oracles[1]})
    with reverts_with("RegistryDrawing", until):
        oracle_registry.requestUnbond({"from": staked_oracles[2]})
    assert ZERO_ADDRESS not in list(market.getCommittee(bid)[0])
    to_staking(oracle_registry)
    oracle_registry.stake({"from": staked_oracles[0], "value": 1})  # the staking half again


def test_attack_F4_an_idle_drawn_seat_is_vacated_after_the_timeout_and_redrawn(
    market, requester, oracle_registry, staked_oracles, keyed_account, rando
):
    """Rule C6 on a real chain: a drawn oracle that never joins is vacated by anyone once the
    scoring timeout and a whole staking half have passed since the draw, never drawn back, and
    the bounty goes on uncharged."""
    more_oracles(keyed_account, oracle_registry, 2, 220)
    bid, _ = open_drawn(market, requester)
    members = draw_until_seated(market, bid, rando)
    drawn_at = chain.height
    market.joinCommittee(bid, {"from": members[0]})
    market.joinCommittee(bid, {"from": members[1]})
    to_staking(oracle_registry)
    with reverts_with("SeatNotVacatable", bid, members[2]):
        market.vacateSeat(bid, members[2], {"from": rando})
    chain.sleep(3_600)
    with reverts_with("SeatNotVacatable", bid, members[2]):  # the timeout, but not yet a whole staking half
        market.vacateSeat(bid, members[2], {"from": rando})
    period = oracle_registry.drawPeriod()
    mine_past((drawn_at // period + 3) * period - 1)  # a whole staking half since the draw (finding A)
    to_staking(oracle_registry)
    burned = market.pendingBurn(ETH)
    tx = market.vacateSeat(bid, members[2], {"from": rando})
    assert tx.events["SeatVacated"]["oracle"] == members[2]
    assert market.pendingBurn(ETH) == burned and not market.getBounty(bid)["cancelled"]
    after = draw_until_seated(market, bid, rando)
    assert after[2] not in (ZERO_ADDRESS, members[2]) and after[:2] == members[:2]

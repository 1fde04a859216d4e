"""Issue 15.2 on a real chain (ganache: every block has its own hash and PREVRANDAO): the
committee is drawn from a later block's hash by anyone, stake-weighted among oracles whose
policy accepts the bounty; a leaver is replaced; a cancel before the baseline is charged
(rules O5, O6, C4, C5)."""

from brownie import chain

from tests.helpers import reverts_with
from tests.market_helpers import ETH, Round, escrow_total, params

REWARD = 10**18
ZERO_ADDRESS = ETH  # an empty seat


def open_drawn(market, requester, size=3, **overrides):
    tup, p = params([ZERO_ADDRESS] * size, ETH, **overrides)
    tx = market.createBounty(tup, {"from": requester, "value": escrow_total(p)})
    return tx.events["BountyOpened"]["bountyId"], tx


def test_attack_a_requester_cannot_draw_in_the_opening_block_and_anyone_draws_after_it(
    market, requester, staked_oracles, rando
):
    bid, tx = open_drawn(market, requester)
    view = market.getBounty(bid)
    assert not view["trustedCommittee"]
    assert view["drawBlock"] == tx.block_number + 5
    assert tx.events["CommitteeDrawArmed"]["drawBlock"] == tx.block_number + 5
    with reverts_with("DrawNotDue", bid, tx.block_number + 5):
        market.drawCommittee(bid, {"from": requester})
    chain.mine(5)
    drawn = market.drawCommittee(bid, {"from": rando})  # anyone
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
    oracle_registry.stake({"from": requester, "value": 50 * 10**18})  # most of the stake
    for _ in range(4):
        bid, _ = open_drawn(market, requester)
        chain.mine(5)
        market.drawCommittee(bid, {"from": requester})
        assert requester.address not in list(market.getCommittee(bid)[0])


def more_oracles(keyed_account, oracle_registry, n, first):
    """n more staked oracles with keys `first`.. (each test its own: brownie keeps added accounts)."""
    out = []
    for i in range(n):
        account, _ = keyed_account(first + i)
        oracle_registry.stake({"from": account, "value": 2 * 10**18})
        out.append(account)
    return out


def draw_until_seated(market, bid, who, attempts=6):
    """Mines to the armed block and draws, again while a seat stays empty (a re-armed draw)."""
    for _ in range(attempts):
        chain.mine(5)
        market.drawCommittee(bid, {"from": who})
        members = list(market.getCommittee(bid)[0])
        if ZERO_ADDRESS not in members or market.getBounty(bid)["cancelled"]:
            return members
    raise AssertionError("a seat stayed empty")


def test_c4_an_oracle_whose_policy_refuses_is_never_drawn(
    market, requester, oracle_registry, staked_oracles, keyed_account
):
    refuser = staked_oracles[0]
    oracle_registry.setPolicy((3_600 * 2, 365 * 86_400, 0, 2048, True), {"from": refuser})
    more_oracles(keyed_account, oracle_registry, 4, 200)  # 8 oracles, 1 refusing: the draw rarely misses
    seated = 0
    for _ in range(3):
        bid, _ = open_drawn(market, requester)  # a one-hour timeout
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
    tx = market.leaveCommittee(bid, {"from": members[0]})
    assert tx.events["CommitteeDrawArmed"]["drawBlock"] == tx.block_number + 5
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
    chain.mine(5)
    market.drawCommittee(bid, {"from": requester})
    tx = market.cancel(bid, {"from": requester})
    assert tx.events["CancelCharged"]["burned"] == REWARD // 20
    assert market.pendingBurn(ETH) == REWARD // 20
    # a trusted committee's cancel is not charged
    rnd = Round.open(market, requester, staked_oracles[:3], baseline=None)
    assert market.getBounty(rnd.bounty_id)["trustedCommittee"] is True
    tx = market.cancel(rnd.bounty_id, {"from": requester})
    assert "CancelCharged" not in tx.events

"""Rules O1-O4: oracle stakes, unbonding and the market's powers."""

from brownie import chain

from tests.helpers import reverts_with, to_staking
from tests.market_helpers import Round

MIN = 10**18


def test_o1_a_stake_must_reach_the_minimum(oracle_registry, rando):
    with reverts_with("StakeBelowMinimum", MIN // 2, MIN):
        to_staking(oracle_registry)
        oracle_registry.stake({"from": rando, "value": MIN // 2})
    to_staking(oracle_registry)
    oracle_registry.stake({"from": rando, "value": MIN})
    assert oracle_registry.isEligible(rando)


def test_o2_an_oracle_serving_a_bounty_cannot_unbond_until_it_leaves(market, oracle_registry, requester, staked_oracles, rando):
    rnd = Round.open(market, requester, staked_oracles[:3])
    o = staked_oracles[0]
    with reverts_with("OracleStillServing", o.address, 1):
        to_staking(oracle_registry)
        oracle_registry.requestUnbond({"from": o})
    market.cancel(rnd.bounty_id, {"from": requester})
    market.close(rnd.bounty_id, {"from": rando})
    market.leaveCommittee(rnd.bounty_id, {"from": o})
    to_staking(oracle_registry)
    oracle_registry.requestUnbond({"from": o})
    assert not oracle_registry.isEligible(o)


def test_o3_withdrawal_waits_for_the_unbonding_delay(oracle_registry, rando):
    to_staking(oracle_registry)
    oracle_registry.stake({"from": rando, "value": MIN})
    to_staking(oracle_registry)
    oracle_registry.requestUnbond({"from": rando})
    with reverts_with("UnbondingNotFinished"):
        oracle_registry.withdraw({"from": rando})
    chain.sleep(7 * 86400 + 1)
    before = rando.balance()
    tx = oracle_registry.withdraw({"from": rando})
    assert rando.balance() - before == MIN - tx.gas_used * tx.gas_price
    assert oracle_registry.oracleInfo(rando)[0] == 0


def test_o4_only_the_market_bonds_and_slashes(oracle_registry, staked_oracles, rando):
    with reverts_with("NotMarket", rando.address):
        oracle_registry.slash(staked_oracles[0], 1, {"from": rando})
    with reverts_with("NotMarket", rando.address):
        oracle_registry.bond(staked_oracles[0], 1, {"from": rando})
    with reverts_with("NotMarket", rando.address):
        oracle_registry.release(staked_oracles[0], 1, {"from": rando})
    with reverts_with("NotMarket", rando.address):
        oracle_registry.setMarket(rando, {"from": rando})

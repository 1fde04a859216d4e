"""Attacker contracts against the oracle registry (O2, O3): an oracle contract that re-enters
on its withdrawal or on a fee payment, and one that refuses ETH. After each withdrawal the
registry's ETH balance equals the stakes it records."""

import pytest
from brownie import chain

from tests.helpers import reverts_with, to_staking
from tests.market_helpers import ETH, ActorRound, arm, attempts, err, send

MIN = 10**18
DELAY = 7 * 86400


@pytest.fixture
def actor(AttackerActor, deployer):
    """Makes a fresh attacker contract, owned by the deployer."""
    return lambda: AttackerActor.deploy({"from": deployer})


def info(oracle_registry, oracle) -> tuple[int, int, int]:
    """(stake, unbondingAt, activeBounties)"""
    return tuple(int(x) for x in oracle_registry.oracleInfo(oracle))


def stakes(oracle_registry, holders) -> int:
    return sum(oracle_registry.oracleInfo(h)[0] for h in holders)


def test_o3_an_oracle_reentering_withdraw_is_paid_once(oracle_registry, staked_oracles, actor, accounts):
    attacker = actor()
    holders = [*accounts, attacker]
    amount = MIN + MIN // 2
    to_staking(oracle_registry)
    send(oracle_registry.stake, attacker, value=amount)
    to_staking(oracle_registry)
    send(oracle_registry.requestUnbond, attacker)
    chain.sleep(DELAY + 1)
    # the two arming transactions and the withdraw in one staking half, so the re-entered
    # requestUnbond meets OracleNotBonded, not RegistryDrawing (rule O7; the phase moves with
    # the number of blocks the fixtures mined, one more since the extension is deployed on its own)
    to_staking(oracle_registry, txs=3)
    arm(attacker, oracle_registry.withdraw)
    arm(attacker, oracle_registry.requestUnbond)
    before = oracle_registry.balance()
    send(oracle_registry.withdraw, attacker)
    assert attacker.receipts() == 1 and attacker.balance() == amount == before - oracle_registry.balance()
    assert attempts(attacker) == [
        (False, err("NothingToWithdraw(address)", attacker.address)),
        (False, err("OracleNotBonded(address)", attacker.address)),
    ]
    assert info(oracle_registry, attacker) == (0, 0, 0)
    assert oracle_registry.balance() == stakes(oracle_registry, holders) == 4 * 2 * MIN
    with reverts_with("NothingToWithdraw", attacker.address):
        send(oracle_registry.withdraw, attacker)


def test_o2_an_oracle_cannot_unbond_or_withdraw_from_inside_a_fee_payment(
    market, oracle_registry, requester, staked_oracles, contributors, actor, rando
):
    attacker = actor()
    to_staking(oracle_registry)
    send(oracle_registry.stake, attacker, value=2 * MIN)
    rnd = ActorRound.open(market, requester, [attacker, *staked_oracles[:2]])
    bid = rnd.bounty_id
    for i in range(4):
        rnd.submit(contributors[0], i)
    rnd.score_batch(0, [5_000] * 4, rando)
    fee = market.claimable(attacker, ETH)
    assert fee == 10**15
    # the hook's requestUnbond must meet the serving check, not O7's drawing half: R11's
    # commits and reveals leave the chain wherever the period puts it
    to_staking(oracle_registry, txs=4)
    arm(attacker, oracle_registry.requestUnbond)
    arm(attacker, oracle_registry.withdraw)
    arm(attacker, market.leaveCommittee, bid)
    send(market.claim, attacker, ETH)
    assert attacker.balance() == fee
    assert attempts(attacker) == [
        (False, err("OracleStillServing(address,uint256)", attacker.address, 1)),
        (False, err("UnbondingNotFinished(address,uint256)", attacker.address, 0)),
        (False, err("CommitteeTooSmall(uint256,uint256,uint256)", bid, 3, 3)),  # Open: only above 3 members
    ]
    assert info(oracle_registry, attacker) == (2 * MIN, 0, 1) and oracle_registry.isEligible(attacker)
    # once the bounty is closed and it left, it may go
    market.cancel(bid, {"from": requester})
    market.close(bid, {"from": rando})
    send(market.leaveCommittee, attacker, bid)
    to_staking(oracle_registry)
    send(oracle_registry.requestUnbond, attacker)
    assert not oracle_registry.isEligible(attacker)


def test_o3_an_oracle_that_refuses_eth_cannot_withdraw_keeps_its_stake_and_blocks_nobody(
    oracle_registry, staked_oracles, actor, accounts, rando
):
    attacker = actor()
    holders = [*accounts, attacker]
    to_staking(oracle_registry)
    send(oracle_registry.stake, attacker, value=MIN)
    to_staking(oracle_registry)
    oracle_registry.stake({"from": rando, "value": MIN})
    for who in (attacker, rando):
        to_staking(oracle_registry)
        send(oracle_registry.requestUnbond, who)
    attacker.refuse(True, {"from": attacker.owner()})
    chain.sleep(DELAY + 1)
    before_info = info(oracle_registry, attacker)
    with reverts_with("EthTransferFailed", attacker.address, MIN):
        send(oracle_registry.withdraw, attacker)
    assert info(oracle_registry, attacker) == before_info and before_info[0] == MIN
    before = rando.balance()
    tx = oracle_registry.withdraw({"from": rando})
    assert rando.balance() - before == MIN - tx.gas_used * tx.gas_price
    assert oracle_registry.balance() == stakes(oracle_registry, holders)
    attacker.refuse(False, {"from": attacker.owner()})
    send(oracle_registry.withdraw, attacker)
    assert attacker.balance() == MIN and info(oracle_registry, attacker) == (0, 0, 0)
    assert oracle_registry.balance() == stakes(oracle_registry, holders)

"""Rule O5: an oracle's acceptance policy, as OracleRegistry.accepts reads it (the node
applies the same check before it joins)."""

from __future__ import annotations

from fathom.protocol.policy import DAY, Policy, Terms, refusal, terms_of

TERMS = Terms(scoring_timeout=3_600, duration=7 * DAY, fee_per_batch=10**15, fee_in_eth=True, committee_by_batch=12)


def test_the_default_policy_accepts_what_the_market_allows():
    assert refusal(Policy(), TERMS) is None
    assert refusal(Policy(), Terms(600, 365 * DAY, 0, False, 2048)) is None
    assert "beyond" in refusal(Policy(), Terms(600, 365 * DAY + 1, 0, True, 12))
    assert "timeout" in refusal(Policy(), Terms(599, DAY, 0, True, 12))


def test_each_bound_of_a_policy_refuses_with_its_reason():
    p = Policy(min_scoring_timeout=1_800, max_duration=30 * DAY, min_fee_per_batch=2 * 10**15,
               max_committee_by_batch=64, accept_token_fees=False)
    assert "timeout" in refusal(p, Terms(900, DAY, 10**16, True, 12))
    assert "deadline" in refusal(p, Terms(3_600, 31 * DAY, 10**16, True, 12))
    assert "committee x batch" in refusal(p, Terms(3_600, DAY, 10**16, True, 65))
    assert "fee" in refusal(p, Terms(3_600, DAY, 10**15, True, 12))
    assert "ERC-20" in refusal(p, Terms(3_600, DAY, 10**30, False, 12))
    assert refusal(p, Terms(3_600, DAY, 2 * 10**15, True, 64)) is None


def test_attack_A_a_bond_above_max_bond_is_refused_before_the_node_stakes_for_it():
    """Finding A: a requester picks a member bond (its ETH fee budget) an honest node could not
    post, to have its drawn seat vacated; the policy refuses a bond above max_bond (as
    OracleRegistry.accepts does), and the node never stakes more for a refused bounty."""
    p = Policy(max_bond=10**18)
    assert refusal(p, Terms(3_600, DAY, 10**15, True, 12, bond=10**18)) is None
    assert "bond" in refusal(p, Terms(3_600, DAY, 10**15, True, 12, bond=10**18 + 1))
    assert "bond" in refusal(Policy(), Terms(3_600, DAY, 10**15, True, 12, bond=15 * 10**17))


def test_terms_come_from_the_view_the_committee_and_the_opening_time():
    view = {"scoringTimeout": 900, "deadline": 1_000 + 7 * DAY, "oracleFeePerBatch": 5, "batchSize": 4,
            "token": "0x" + "00" * 20}
    t = terms_of(view, 3, opened_at=1_000)
    assert t == Terms(900, 7 * DAY, 5, True, 12)
    assert not terms_of({**view, "token": "0x" + "11" * 20}, 3, 1_000).fee_in_eth
    assert Policy.from_tuple(Policy(1, 2, 3, 4, False, 5).as_tuple()) == Policy(1, 2, 3, 4, False, 5)

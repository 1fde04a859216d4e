"""Rule R11: the node commits to a report exactly as the market checks it (the same vector is
checked on the Solidity side by tests/forge/BountyMarket.fuzz.t.sol
`test_r11_the_commitment_matches_the_nodes`)."""

from fathom.chain.market import encode_report, report_commitment

# one submission scored 6000 and merged whole (R5's layout: score, merged score, share)
REPORT = encode_report([6000], 6000, [10_000])

VECTOR = bytes.fromhex("ac68b3143eff5dedab461fb181c4482c3cbd947af4320be7fa08d3af00000000")


def test_r11_the_commitment_matches_the_markets():
    args = (1, 0, "0x000000000000000000000000000000000000d000", b"\x11" * 32, REPORT, (b"\x22" * 32, 0x55))
    assert report_commitment(*args) == VECTOR


def test_r11_the_commitment_binds_every_field():
    base = dict(bounty_id=1, batch=0, member="0x000000000000000000000000000000000000d000", salt=b"\x11" * 32,
                report=REPORT, merged=(b"\x22" * 32, 0x55))
    changed = [dict(bounty_id=2), dict(batch=1), dict(member="0x000000000000000000000000000000000000d001"),
               dict(salt=b"\x12" * 32), dict(report=encode_report([6001], 6001, [10_000])), dict(report=encode_report([6000], 6000, [9_999])), dict(merged=(b"\x23" * 32, 0x55)),
               dict(merged=(b"\x22" * 32, 0x70))]
    for change in changed:
        assert report_commitment(**{**base, **change}) != VECTOR, change


def test_r11_the_reveal_phase_opens_as_the_contract_opens_it():
    from fathom.protocol.settlement import reveal_at, reveal_open

    assert reveal_at(10_000, 3_600) == 10_000 - 900  # the last quarter of the scoring timeout
    assert not reveal_open(0b011, 0b111, 0, 9_000, 9_100)  # a member has not committed, before revealAt
    assert reveal_open(0b111, 0b111, 0, 9_000, 9_100)  # every opted-in member committed
    assert reveal_open(0b011, 0b111, 0, 9_100, 9_100)  # the reveal phase began
    assert reveal_open(0b011, 0b111, 0b001, 9_000, 9_100)  # a report is public: it stays open

"""Rules R5 and R7 against a direct model: random batches (either metric direction, invalid
scores, outlier reports, committees of 3 and 4), settled by settleBatch or by the last
member's reportAndSettle, decide every submission and slash every deviant reporter as
the rules say."""

import random

from tests.market_helpers import INVALID, Round, rejected

STAKE = 10**16
BASELINE = 5_000


def _key(score: int, higher: bool) -> int:
    if score == INVALID:
        return 0
    return score + 1 if higher else INVALID - score


def _model(reports, higher, tolerance, margin, slash_bps):
    """Outcome per submission and deviant reporters, straight from SPECIFICATION.md; None
    when some median has fewer than a quorum (more than half of the m members) agreeing."""
    n, m = len(reports[0]), len(reports)
    head = _key(BASELINE, higher)
    medians, deviant = [], set()
    for i in range(n):
        keys = sorted(_key(r[i], higher) for r in reports)
        if m % 2:
            med = keys[m // 2]
        else:  # the midpoint of the two middle keys; invalid if the lower one is
            med = 0 if keys[m // 2 - 1] == 0 else (keys[m // 2 - 1] + keys[m // 2]) // 2
        medians.append(med)
        agree = 0
        for j, r in enumerate(reports):
            k = _key(r[i], higher)
            if (k == 0) != (med == 0) or abs(k - med) > tolerance:
                deviant.add(j)
            else:
                agree += 1
        if agree < m // 2 + 1:
            return None, set()
    best = max((i for i in range(n) if medians[i] > head), key=lambda i: (medians[i], -i), default=None)
    outcomes = []
    for i, med in enumerate(medians):
        score = INVALID if med == 0 else (med - 1 if higher else INVALID - med)
        if i == best:
            outcomes.append(("accepted", i, score))
        elif med == 0 or med + margin < head:
            outcomes.append(("slashed", i, score, STAKE * slash_bps // 10_000))
        else:
            outcomes.append(("rejected", i, score))
    return sorted(outcomes), deviant


def test_r5_r7_random_batches_settle_as_the_rules_say(market, requester, staked_oracles, contributors, rando, oracle_registry):
    rng = random.Random(20240611)
    voided = decided = 0
    for trial in range(10):
        for o in staked_oracles[:4]:  # deviant reporters lose stake: keep everyone eligible
            oracle_registry.stake({"from": o, "value": 10**18})
        m = 3 if trial % 2 == 0 else 4
        committee = staked_oracles[:m]
        higher = trial % 3 != 2
        n = rng.randint(1, 6)
        tolerance, margin, slash_bps = rng.choice([0, 3, 40]), rng.choice([0, 100]), rng.choice([5_000, 10_000])
        rnd = Round.open(market, requester, committee, batchSize=n, higherIsBetter=higher, target=9_000 if higher else 1_000,
                         tolerance=tolerance, slashMargin=margin, slashBps=slash_bps)
        for i in range(n):
            rnd.submit(contributors[rng.randrange(3)], 100 * trial + i)

        def draw():
            return INVALID if rng.random() < 0.12 else BASELINE + rng.randint(-250, 250)

        truth = [draw() for _ in range(n)]
        reports = []
        for _ in range(m):
            # noise that lands on either side of the tolerance
            lane = [s if s == INVALID or rng.random() < 0.4 else s + rng.choice([-1, 1]) * rng.choice([tolerance, tolerance + 1, 1])
                    for s in truth]
            reports.append([draw() for _ in range(n)] if rng.random() < 0.2 else lane)
        final = trial % 4 < 2
        for j in range(m - 1 if final else m):
            rnd.report(committee[j], 0, reports[j])
        tx = rnd.final_report(committee[-1], 0, reports[-1]) if final else rnd.settle(0, rando)

        got = []
        for name, kind in (("VersionAccepted", "accepted"), ("SubmissionRejected", "rejected"), ("StakeSlashed", "slashed")):
            for e in rejected(tx, rnd) if kind == "rejected" else tx.events[name] if name in tx.events else []:
                row = (kind, e["submissionId"], e["score"])
                got.append(row + (e["burned"],) if kind == "slashed" else row)
        expected, deviant = _model(reports, higher, tolerance, margin, slash_bps)
        if expected is None:  # R4: no majority agreed with a median: voided, nobody slashed
            assert "BatchVoided" in tx.events and got == [] and "OracleSlashed" not in tx.events, (trial, reports)
            voided += 1
            continue
        decided += 1
        assert sorted(got) == expected, (trial, reports)
        slashed = {e["oracle"] for e in tx.events["OracleSlashed"]} if "OracleSlashed" in tx.events else set()
        assert slashed == {committee[j].address for j in deviant}, (trial, reports)
    assert decided >= 5, (decided, voided)  # the random batches are mostly decided, not voided

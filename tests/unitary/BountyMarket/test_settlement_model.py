"""Rules R5, R7, R7a and R7b against a direct model: random batches (either metric direction,
invalid scores, outlier reports, random merged scores, share vectors (some over the caps) and
merged CIDs, committees of 3 and 4, now and then a partial report: one update UNAVAILABLE to
one member, which votes over what it fetched; and four batches of a committee of 4 with spread
keys, where R7's interval of the two middle keys spares a report off the midpoint), settled by settleBatch or by the last member's
reportAndSettle, decide every submission, pay the agreed (merged CID, shares) vote exactly
and slash every deviant reporter as the rules say; a batch without a majority is voided, or,
with a partial report, given its second round (R7b: BatchRetried names the partial members,
nothing is decided or slashed). The fee (R9) is divided over the non-deviant reports: a full
one is paid its share, a partial one's share is burned, as the reference model says."""

import random

from fathom.protocol import settlement as P
from tests.helpers import to_staking
from tests.market_helpers import ETH, INVALID, Round, cid, rejected

STAKE = 10**16
BASELINE = 5_000
UNAV = INVALID - 1  # R7a: "I could not fetch it"
RETRY = "retry"  # R7b: the model's outcome for a first round without a majority and a partial report


def _key(score: int, higher: bool) -> int:
    if score == INVALID:
        return 0
    return score + 1 if higher else INVALID - score


def _model(reports, merged_scores, shares, cids, higher, tolerance, margin, slash_bps, spared):
    """Outcome per submission (with its share), deviant reporters and the merged CID, straight
    from SPECIFICATION.md; when some median has fewer than a quorum (more than half of the m
    members) agreeing, or no (merged CID, shares) vote has one, or the merged model's median
    (over the reports naming the agreed vote, R7a) has fewer than a quorum agreeing: RETRY if
    some report is partial (R7b, a first round), else None (voided). R7a: an UNAVAILABLE score
    is no key; a slot a quorum says UNAVAILABLE is invalid, nobody deviant on it; a partial
    report is never deviant for its vote, a full one only against a vote a quorum of full
    reports named; no vote and a slot lost: decided without a version. R7: a report is deviant
    off both middle keys of a median (for an odd count: off the median); `spared` collects those
    off the midpoint of an even count only (deviant under the rule before)."""
    n, m = len(reports[0]), len(reports)
    q = m // 2 + 1
    head = _key(BASELINE, higher)
    medians, deviant = [], set()
    partial = [UNAV in r for r in reports]  # (no trial sends an UNAVAILABLE merged score)
    split = (RETRY if any(partial) else None), set(), None

    def median_of(keys):
        keys = sorted(keys)
        if len(keys) % 2:
            return keys[len(keys) // 2]
        lo, hi = keys[len(keys) // 2 - 1], keys[len(keys) // 2]
        return 0 if lo == 0 else (lo + hi) // 2  # the midpoint of the two middle keys; invalid if the lower one is

    def off(k, x):  # further than the tolerance from x, or of the other validity
        return (k == 0) != (x == 0) or abs(k - x) > tolerance

    def judge(keyed):  # [(reporter, key)] -> the median, or None when fewer than a quorum agree
        keys = sorted(k for _j, k in keyed)
        med = median_of(keys)
        lo, hi = keys[(len(keys) - 1) // 2], keys[len(keys) // 2]  # the middle keys (R7)
        agree = 0
        for j, k in keyed:
            if not off(k, med):
                agree += 1  # agreement: with the median (R4)
            elif off(k, lo) and off(k, hi) and not lo <= k <= hi:
                deviant.add(j)  # deviance: off both middle keys, outside them (R7)
            else:
                spared.add(j)  # off the midpoint of an even count, not deviant
        return med if agree >= q else None

    lost = False
    for i in range(n):
        keyed = [(j, _key(r[i], higher)) for j, r in enumerate(reports) if r[i] != UNAV]
        if m - len(keyed) >= q:  # unavailable to a quorum: invalid, nobody deviant on it
            medians.append(0)
            lost = True
            continue
        med = judge(keyed)
        if med is None:
            return split
        medians.append(med)
    votes = [((bytes(c[0]), c[1]), tuple(x)) for c, x in zip(cids, shares)]
    agreed = [v for v in votes if votes.count(v) >= q]
    if not agreed and not lost:
        return split
    if agreed:
        same = [j for j, v in enumerate(votes) if v == agreed[0]]
        if sum(not partial[j] for j in same) >= q:
            deviant |= {j for j in range(m) if not partial[j] and j not in same}
        # the merged model's score: one more median, over the reports naming the agreed vote (R7a)
        merged_med = judge([(j, _key(merged_scores[j], higher)) for j in same])
        if merged_med is None:
            return split
        named, share = agreed[0]
    else:  # R7a: no vote, a slot lost: decided without a version
        merged_med, named, share = 0, None, (0,) * n
    # the caps: a share only on a submission that beats the head, the sum at most 10,000
    capped = sum(share) <= 10_000 and all(medians[i] > head for i in range(n) if share[i])
    version = sum(share) > 0 and merged_med > head and capped
    outcomes = []
    for i, med in enumerate(medians):
        score = INVALID if med == 0 else (med - 1 if higher else INVALID - med)
        if version and share[i]:
            outcomes.append(("merged", i, score, share[i]))
        elif med == 0 or med + margin < head:
            outcomes.append(("slashed", i, score, STAKE * slash_bps // 10_000))
        else:
            outcomes.append(("rejected", i, score))
    return sorted(outcomes), deviant, (named if version else None)


def _trial(rng: random.Random, trial: int) -> dict:
    """One random batch: committee, terms, who submits, and every report."""
    m = 3 if trial % 2 == 0 else 4
    higher = trial % 3 != 2
    n = rng.randint(1, 6)
    tolerance, margin, slash_bps = rng.choice([0, 3, 40]), rng.choice([0, 100]), rng.choice([5_000, 10_000])
    who = [rng.randrange(3) for _ in range(n)]

    def draw():
        return INVALID if rng.random() < 0.12 else BASELINE + rng.randint(-250, 250)

    def noisy(s):  # noise that lands on either side of the tolerance
        return s if s == INVALID or rng.random() < 0.4 else s + rng.choice([-1, 1]) * rng.choice([tolerance, tolerance + 1, 1])

    truth = [draw() for _ in range(n)] + [BASELINE + rng.randint(-50, 300) * (1 if higher else -1)]  # then the merged model
    raw = [rng.choice([0, rng.randint(1, 10_000)]) for _ in range(n)]
    # the honest vector: within the caps as a member names it, or (one trial in 6) over them
    true_shares = raw if rng.random() < 1 / 6 else P.report_shares(raw, truth[:n], BASELINE, higher)
    reports, shares, cids = [], [], []
    for _ in range(m):
        lane = [draw() for _ in range(n + 1)] if rng.random() < 0.15 else [noisy(s) for s in truth]
        reports.append(lane)
        honest = rng.random() < 0.8
        shares.append(true_shares if honest or rng.random() < 0.5 else [rng.randint(0, 10_000) for _ in range(n)])
        cids.append(cid(7) if honest else rng.choice([cid(7), cid(8), P.ZERO_CID]))
    merged_scores = [r.pop() for r in reports]
    if rng.random() < 0.4:  # R7a: one update unavailable to one member, which votes over the rest
        j, i = rng.randrange(m), rng.randrange(n)
        reports[j][i] = UNAV
        shares[j] = P.report_shares([0 if k == i else x for k, x in enumerate(shares[j])], reports[j], BASELINE, higher)
    return dict(m=m, higher=higher, n=n, tolerance=tolerance, margin=margin, slash_bps=slash_bps, who=who,
                reports=reports, merged_scores=merged_scores, shares=shares, cids=cids, final=trial % 4 < 2)


def _spread_trial(rng: random.Random, trial: int) -> dict:
    """One random batch of an even committee with spread keys (R7's interval, review of R7b F1):
    four members, one honest vote; on every score two reports lie within the tolerance of each
    other and the other two anywhere from there to twice the tolerance beyond, either side, so
    that a key off the midpoint may still lie within the tolerance of a middle key."""
    t = _trial(rng, 1)  # committee 4, the terms and submitters
    n, tolerance = t["n"], rng.choice([3, 40])
    truth = [BASELINE + rng.randint(-250, 250) for _ in range(n)] + [BASELINE + rng.randint(50, 300) * (1 if t["higher"] else -1)]
    side = rng.choice([-1, 1])
    lanes = [[s + rng.randint(0, tolerance) for s in truth] for _ in range(2)]
    lanes += [[s + side * rng.randint(0, 2 * tolerance + 2) for s in truth] for _ in range(2)]
    rng.shuffle(lanes)
    merged_scores = [lane.pop() for lane in lanes]
    raw = [rng.randint(1, 10_000) for _ in range(n)]
    shares = P.report_shares(raw, truth[:n], BASELINE, t["higher"])
    return dict(t, tolerance=tolerance, reports=lanes, merged_scores=merged_scores, shares=[shares] * 4,
                cids=[cid(7)] * 4, final=trial % 2 == 0)


def test_r5_r7_random_batches_settle_as_the_rules_say(market, requester, staked_oracles, contributors, rando, oracle_registry):
    rng = random.Random(20240611)
    voided = decided = versions = several = retried = fee_burned = 0
    interval = 0
    for trial in range(20):
        for o in staked_oracles[:4]:  # deviant reporters lose stake: keep everyone eligible
            to_staking(oracle_registry)
            oracle_registry.stake({"from": o, "value": 10**18})
        t = _trial(rng, trial) if trial < 16 else _spread_trial(rng, trial)
        m, higher, n, tolerance, margin, slash_bps = t["m"], t["higher"], t["n"], t["tolerance"], t["margin"], t["slash_bps"]
        reports, merged_scores, shares, cids, final = t["reports"], t["merged_scores"], t["shares"], t["cids"], t["final"]
        committee = staked_oracles[:m]
        rnd = Round.open(market, requester, committee, batchSize=n, higherIsBetter=higher, target=9_000 if higher else 1_000,
                         tolerance=tolerance, slashMargin=margin, slashBps=slash_bps)
        for i in range(n):
            rnd.submit(contributors[t["who"][i]], 100 * trial + i)
        blobs = [P.encode_report(r, ms, sh) for r, ms, sh in zip(reports, merged_scores, shares)]
        fees_before = [market.claimable(o, ETH) for o in committee]
        burn_before = market.pendingBurn(ETH)
        for j in range(m - 1 if final else m):
            rnd.report(committee[j], 0, blobs[j], cids[j])
        tx = rnd.final_report(committee[-1], 0, blobs[-1], cids[-1]) if final else rnd.settle(0, rando)

        spared = set()
        expected, deviant, named = _model(reports, merged_scores, shares, cids, higher, tolerance, margin, slash_bps, spared)
        if expected == RETRY:  # R7b: a second round, not a void: the partial members cleared, nothing decided
            cleared = sum(1 << j for j, r in enumerate(reports) if UNAV in r)
            assert "BatchRetried" in tx.events and tx.events["BatchRetried"]["cleared"] == cleared, (trial, reports)
            assert not any(e in tx.events for e in ("BatchVoided", "BatchSettled", "OracleSlashed", "StakeSlashed")), trial
            assert market.getBounty(rnd.bounty_id)["nextBatch"] == 0, trial
            retried += 1
            continue
        assert "BatchRetried" not in tx.events, (trial, reports)
        got = []
        for name, kind in (("UpdateMerged", "merged"), ("SubmissionRejected", "rejected"), ("StakeSlashed", "slashed")):
            for e in rejected(tx, rnd) if kind == "rejected" else tx.events[name] if name in tx.events else []:
                row = (kind, e["submissionId"], e["score"])
                got.append(row + ((e["burned"],) if kind == "slashed" else (e["share"],) if kind == "merged" else ()))
        if expected is None:  # R4: no majority agreed with a median or a vote: voided, nobody slashed
            assert "BatchVoided" in tx.events and got == [] and "OracleSlashed" not in tx.events, (trial, reports)
            voided += 1
            continue
        decided += 1
        interval += bool(spared)
        assert sorted(got) == expected, (trial, reports, shares, cids)
        if named is None:
            assert "VersionAccepted" not in tx.events
        else:
            versions += 1
            v = tx.events["VersionAccepted"]
            assert (bytes(v["merged"][0]), v["merged"][1]) == (bytes(named[0]), named[1])
            parts = {e["submissionId"]: (e["share"], e["reward"]) for e in tx.events["UpdateMerged"]}
            several += len(parts) > 1
            # each is paid floor(reward * share / 10,000): they never exceed the reward
            assert all(r == v["reward"] * x // 10_000 for x, r in parts.values())
            assert sum(r for _, r in parts.values()) <= v["reward"]
            top = max(parts, key=lambda i: (parts[i][0], -i))
            assert v["submissionId"] == top
        # the reference model decides the same
        d = P.decide_batch(_terms(market, rnd), [P.Submission(str(r[0]), r[1]) for r in rnd.records[0]], reports,
                           merged=cids, merged_scores=merged_scores, shares=shares)
        assert [(x.outcome.value, x.share, x.reward, x.burned) for x in d.decisions] == [
            _outcome_of(tx, x.submission_id) for x in d.decisions], (trial, reports, shares, cids)
        slashed = {e["oracle"] for e in tx.events["OracleSlashed"]} if "OracleSlashed" in tx.events else set()
        assert slashed == {committee[j].address for j in deviant}, (trial, reports)
        # R9: the fee divided over the non-deviant reports; a partial one's share burned, not refunded
        assert tx.events["BatchSettled"]["feeShare"] == d.fee_share, trial
        assert [market.claimable(o, ETH) - f for o, f in zip(committee, fees_before)] == list(d.oracle_fees), trial
        assert market.getBounty(rnd.bounty_id)["feesPaid"] == d.fees_paid, trial
        bonds = sum(e["amount"] for e in tx.events["OracleSlashed"]) if "OracleSlashed" in tx.events else 0
        assert market.pendingBurn(ETH) - burn_before == d.burned + d.fee_burned + bonds, trial
        fee_burned += d.fee_burned > 0
    assert decided >= 5 and versions >= 2 and several >= 1 and retried >= 1 and fee_burned >= 1 and interval >= 1, (
        decided, voided, versions, several, retried, fee_burned, interval)


def _terms(market, rnd) -> P.BountyTerms:
    b = market.getBounty(rnd.bounty_id)
    xs, ys = market.getCurve(rnd.bounty_id)
    return P.BountyTerms(
        higher_is_better=b["higherIsBetter"], target=b["target"], baseline_score=BASELINE, head_score=BASELINE,
        reward=b["reward"], paid=0, curve=P.Curve(tuple(xs), tuple(ys)), slash_margin=b["slashMargin"],
        tolerance=b["tolerance"], slash_bps=b["slashBps"], oracle_fee_per_batch=b["oracleFeePerBatch"])


def _outcome_of(tx, sid):
    for e in tx.events["UpdateMerged"] if "UpdateMerged" in tx.events else []:
        if e["submissionId"] == sid:
            return ("accepted", e["share"], e["reward"], 0)
    for e in tx.events["StakeSlashed"] if "StakeSlashed" in tx.events else []:
        if e["submissionId"] == sid:
            return ("slashed", 0, 0, e["burned"])
    return ("rejected", 0, 0, 0)

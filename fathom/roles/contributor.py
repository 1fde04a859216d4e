"""The contributor client: train on private data, submit an encrypted update, get paid.

`contribute` runs the whole path for one contribution:
1. fetch and decrypt the head model (the requester must have admitted this account to
   the bounty's keyring, unless the bounty is in the clear);
2. train locally (numpy, the learning rate and epochs the contributor chooses);
3. optionally clip the update and add Gaussian noise, and report (epsilon, delta);
4. seal the update for the committee, the requester and the bounty's audit key, with
   this account as its authenticated author; pin it; submit it with the stake.

The raw data never leaves this process; only the (optionally noised) update does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from eth_utils import to_checksum_address

import numpy as np

from fathom.ml import training
from fathom.ml.artefacts import pack_update
from fathom.roles.reader import BountyReader
from fathom.crypto.envelope import account_address, seal_for
from fathom.errors import FathomError
from fathom.chain.client import ChainError
from fathom.chain.market import Event, Market
from fathom.protocol import payouts
from fathom.storage.store import Store, cid_to_chain


@dataclass(frozen=True)
class PrivacySettings:
    """Differential privacy for one contribution of one data owner (the privacy unit)."""

    clip_norm: float
    noise_multiplier: float
    delta: float = 1e-5


@dataclass(frozen=True)
class Contribution:
    bounty_id: int
    submission_id: int
    base_version: int
    cid: str
    local_score_before: float | None
    local_score_after: float | None
    update_norm: float
    epsilon: float | None
    delta: float | None
    staked_from: str = "wallet"  # or "balance": the claimable balance (submitUpdateFromBalance); "once": submitUpdateOnce


def contribute(
    market: Market,
    store: Store,
    private_key: bytes,
    bounty_id: int,
    X: np.ndarray,
    y: np.ndarray,
    *,
    lr: float = 0.1,
    epochs: int = 5,
    batch_size: int = 64,
    seed: int = 0,
    dp: PrivacySettings | None = None,
    scale: float = 1.0,
    progress: Callable[[int, int], None] | None = None,
    stake_from: str = "wallet",
) -> Contribution:
    """Train on (X, y) from the head and submit the update. `scale` multiplies the update
    (1.0 for honest use; tests and the demo use a large negative scale for a harmful one).
    `stake_from`: "wallet", "balance", "auto" or "once" (`Market.stake_source`), checked before training."""
    me = account_address(private_key)
    reader = BountyReader(market, store, bounty_id, private_key)
    state = market.state(bounty_id)
    if state != "Open":
        raise FathomError(f"bounty {bounty_id} is {state}, not Open: it takes no submissions")
    market.stake_source(bounty_id, stake_from)  # a bad choice fails before the training
    view = market.bounty(bounty_id)
    base = view["versionCount"]
    head = reader.model(base)
    trained = training.train(head.manifest, head.arrays, X, y, lr=lr, epochs=epochs, batch_size=batch_size, seed=seed,
                             progress=progress)
    delta = training.make_update(head.arrays, trained)
    epsilon = None
    if dp is not None:
        from fathom.ml import privacy

        delta = training.clip_update(delta, dp.clip_norm)
        delta = privacy.add_gaussian_noise(delta, dp.clip_norm, dp.noise_multiplier)  # OS randomness, never the seed
        epsilon = privacy.epsilon_for(dp.noise_multiplier, dp.delta)
    if scale != 1.0:
        delta = {k: (v * np.float32(scale)).astype(np.float32) for k, v in delta.items()}
    norm = float(np.sqrt(sum(float(np.sum(v.astype(np.float64) ** 2)) for v in delta.values())))
    from fathom.ml import models

    before = after = None
    try:
        before = models.score(head.manifest, head.arrays, X, y)
        after = models.score(head.manifest, models.apply_update(head.arrays, delta), X, y)
    except Exception:  # noqa: BLE001 - a local score is informational only
        pass
    blob = pack_update(head.manifest, delta)
    sealed = seal_for(blob, reader.recipients(), bounty_id, "update", me)
    cid = store.add(sealed)
    source = market.stake_source(bounty_id, stake_from)
    submission = market.submit(bounty_id, base, cid_to_chain(cid), stake_from=source)
    return Contribution(bounty_id, submission, base, cid, before, after, norm, epsilon, dp.delta if dp else None, source)


def outcome(market: Market, bounty_id: int, submission_id: int) -> dict[str, Any] | None:
    """What happened to a submission, from the events (None while undecided)."""
    events = market.events(bounty_id=bounty_id, outcomes=True)
    batch = next((ev["batch"] for ev in events if ev.name == "SubmissionReceived" and ev["submissionId"] == submission_id), None)
    for ev in events:
        if ev.name == "BatchVoided" and batch is not None and ev["batch"] == batch:
            return {"outcome": "voided", "reports": ev["reports"]}
        if ev.args.get("submissionId") != submission_id:
            continue
        if ev.name == "VersionAccepted":
            return {"outcome": "accepted", "version": ev["version"], "score": ev["score"], "reward": ev["reward"]}
        if ev.name == "SubmissionRejected":
            return {"outcome": "rejected", "score": ev["score"]}
        if ev.name == "StakeSlashed":
            return {"outcome": "slashed", "score": ev["score"], "burned": ev["burned"], "returned": ev["returned"]}
    return None


def payouts_owed(market: Market, account: str, events: list[Event] | None = None) -> list[dict[str, Any]]:
    """The one-off payouts (U6, P3) settled for `account`'s submitUpdateOnce submissions
    and not yet claimed, each with claimPayout's arguments, rebuilt from the events."""
    events = market.events() if events is None else events
    account = to_checksum_address(account)
    mine = [e for e in events if e.name == "SubmissionReceived" and int(e["stake"]) & payouts.ONE_OFF
            and to_checksum_address(e["contributor"]) == account]
    settled = {(int(e["bountyId"]), int(e["batch"])) for e in events if e.name == "BatchSettled"}
    out: list[dict[str, Any]] = []
    for bounty_id, batch in sorted({(int(e["bountyId"]), int(e["batch"])) for e in mine} & settled):
        b = market.bounty(bounty_id)
        records = market.records_of(events, bounty_id, batch)
        first = batch * int(b["batchSize"])
        ids = range(first, first + len(records))
        decided = [e for e in events if e.args.get("bountyId") == bounty_id and e.args.get("submissionId") in ids]
        amounts = payouts.owed(records, first, [e.args for e in decided if e.name == "VersionAccepted"],
                               [e.args for e in decided if e.name == "StakeSlashed"])
        groups = payouts.trees(records, amounts, b["token"])
        for i, amount in sorted(amounts.items()):
            if to_checksum_address(records[i][0]) != account:
                continue
            g = i // payouts.GROUP
            root, claimed = market.payout_root(bounty_id, batch, g)
            if groups[g].root != root:
                raise ChainError(f"bounty {bounty_id} batch {batch}: the events do not rebuild the stored payout root")
            if claimed >> (i % payouts.GROUP) & 1:
                continue
            out.append({"bountyId": bounty_id, "batch": batch, "index": i, "submissionId": first + i,
                        "token": b["token"], "amount": amount, "position": payouts.position(batch, i),
                        "proof": groups[g].proof(i % payouts.GROUP)})
    return out


def claim_payouts(market: Market, token: str | None = None) -> list[dict[str, Any]]:
    """Claim every unclaimed one-off payout of the sender (of `token` only, if given)."""
    done = []
    for p in payouts_owed(market, market.account):
        if token is not None and to_checksum_address(p["token"]) != to_checksum_address(token):
            continue
        market.claim_payout(p["token"], p["bountyId"], p["position"], p["amount"], p["proof"])
        done.append(p)
    return done

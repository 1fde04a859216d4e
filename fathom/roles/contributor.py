"""The contributor client: train on private data, submit an encrypted update, get paid.

`contribute` runs the whole path for one contribution, and checks everything it can
before anything is trained or sent:
1. the hyper-parameters (`fathom.ml.training.check_hyperparameters`), the bounty's state,
   where the stake comes from, and that the wallet holds the stake and the gas;
2. with differential privacy, the data set's privacy ledger: a release that would take
   the data set over the owner's budget is refused (`fathom.ml.privacy.ledger`), and so is
   one above the bounty's largest epsilon (the brief's ``max_epsilon``);
3. fetch and decrypt the head model and train locally;
4. optionally clip the update and add Gaussian noise from the OS's randomness, stating
   (mechanism, unit, epsilon, delta, accountant) in the update's manifest;
5. score the head and the new model on the contributor's own data: if the update makes
   it worse, refuse (unless ``force``); a ``dry_run`` stops here and sends nothing;
6. record the release in the ledger, seal the update for the committee (exactly: never
   the requester, F2), bound to this chain and market, with this account as its
   authenticated author; submit its CID with the stake, and only once that transaction
   is mined, pin the ciphertext (F2, front-running: before inclusion nothing but the CID
   is public, so nobody can open the update and land a copy first).

The raw data never leaves this process; only the (optionally noised) update does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from eth_utils import to_checksum_address

import numpy as np

from fathom.ml import models, training
from fathom.ml.artefacts import pack_update
from fathom.ml.privacy import PrivacyStatement, Release, add_gaussian_noise, check_statement, dpsgd
from fathom.ml.privacy.ledger import DEFAULT_BUDGET_EPSILON, Ledger, Spending, fingerprint
from fathom.ml.privacy.statement import max_epsilon_of
from fathom.roles.reader import BountyReader
from fathom.crypto.envelope import account_address, seal_for
from fathom.errors import FathomError
from fathom.chain.client import ETH, ChainError
from fathom.chain.market import Event, Market
from fathom.protocol import payouts, settlement
from fathom.storage.store import Store, StoreError, cid_to_chain, compute_cid

#: Gas a submission may need, checked against the wallet before training: a stake by
#: transfer takes ~120k gas (SPECIFICATION, U2), an ERC-20 approve ~50k more; with margin.
SUBMIT_GAS = 300_000


@dataclass(frozen=True)
class PrivacySettings:
    """Differential privacy for one contribution of one data owner (the privacy unit):
    clip the update to ``clip_norm``, add N(0, (noise_multiplier * clip_norm)^2) noise,
    and keep the data set's epsilon (composed over all its releases, at ``delta``)
    within ``budget_epsilon``. With ``mechanism="dp-sgd"`` the unit is one record instead
    (`fathom.ml.privacy.dpsgd`): ``clip_norm`` bounds each example's gradient, and the
    noise is added at every step of training."""

    clip_norm: float
    noise_multiplier: float
    delta: float = 1e-5
    budget_epsilon: float = DEFAULT_BUDGET_EPSILON
    adjacency: str = "add_remove"
    mechanism: str = "gaussian"  # or "dp-sgd": record-level, each example's gradient clipped to clip_norm and noised at each step


@dataclass(frozen=True)
class Contribution:
    bounty_id: int
    submission_id: int | None  # None for a dry run
    base_version: int
    cid: str | None
    local_score_before: float | None
    local_score_after: float | None
    update_norm: float
    epsilon: float | None
    delta: float | None
    staked_from: str = "wallet"  # or "balance": the claimable balance (submitUpdateFromBalance); "once": submitUpdateOnce
    local_score_without_noise: float | None = None  # the clipped update before its noise (DP only)
    metric: str = ""
    statement: PrivacyStatement | None = None
    spending: Spending | None = None  # the data set's ledger after this release
    dry_run: bool = False
    trained_norm: float | None = None  # the L2 norm of the update as trained, before clipping, noise or scale

    @property
    def worse(self) -> bool:
        """Whether the update made the contributor's own local score worse."""
        if self.local_score_before is None or self.local_score_after is None:
            return False
        if models.higher_is_better(self.metric):
            return self.local_score_after < self.local_score_before
        return self.local_score_after > self.local_score_before


def _check_funds(market: Market, bounty_id: int, source: str) -> None:
    """The wallet must hold the gas, and the stake when it is paid from the wallet (in ETH,
    or in the bounty's ERC-20 token)."""
    b = market.bounty(bounty_id)
    gas = SUBMIT_GAS * market.gas_price()
    from_wallet = source in ("wallet", "once")
    stake = int(b["stake"]) if from_wallet and b["token"] == ETH else 0
    have = market.wallet_balance()
    if have < stake + gas:
        what = f"the stake ({stake / 1e18:.6f} ETH) and gas (up to {gas / 1e18:.6f} ETH)" if stake else f"the gas (up to {gas / 1e18:.6f} ETH)"
        raise FathomError(f"not enough ETH to submit: {what}, but your wallet holds {have / 1e18:.6f} ETH; nothing was trained or sent")
    if from_wallet and b["token"] != ETH:
        tokens = market.token_balance(b["token"])
        if tokens < int(b["stake"]):
            raise FathomError(f"not enough of the bounty's token {b['token']} to stake: the stake is {int(b['stake'])} units, "
                              f"your wallet holds {tokens}; nothing was trained or sent")


def _local_score(manifest: dict[str, Any], params: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray) -> float | None:
    try:
        return models.score(manifest, params, X, y)
    except FathomError:  # data the metric cannot score (labels out of range, say): informational only
        return None


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
    ledger: Ledger | None = None,
    dry_run: bool = False,
    force: bool = False,
) -> Contribution:
    """Train on (X, y) from the head and submit the update (see the module docstring).

    `seed` orders the training rows only; the DP noise never depends on it. `scale`
    multiplies the update (1.0 for honest use; tests and the demo use a large negative
    scale, with ``force``, for a harmful one). `stake_from`: "wallet", "balance", "auto" or
    "once" (`Market.stake_source`). `ledger`: the owner's privacy ledger, which every
    release (with noise or without) is recorded in; required with `dp`. `dry_run`:
    train and score locally, send nothing. `force`: submit even if the local score got
    worse, or without noise a data set that has DP releases in its ledger."""
    lr, epochs, batch_size = training.check_hyperparameters(lr, epochs, batch_size)
    if dp is None:
        release = Release("none")
    elif dp.mechanism == "dp-sgd":
        q, steps = dpsgd.schedule(len(X), batch_size, epochs)
        release = Release("dp-sgd", dp.noise_multiplier, "add_remove", q, steps)
    else:
        release = Release("gaussian", dp.noise_multiplier, dp.adjacency)
    if dp is not None and ledger is None:
        raise FathomError("a release with differential privacy needs the data owner's privacy ledger")
    me = account_address(private_key)
    reader = BountyReader(market, store, bounty_id, private_key)
    if reader.paillier_public is not None:
        raise FathomError(f"bounty {bounty_id} is in the encrypted-weights mode: its model is Paillier ciphertexts, "
                          "trained with contribute_encrypted (`fathom contribute` chooses it by itself)")
    state = market.state(bounty_id)
    if state != "Open":
        raise FathomError(f"bounty {bounty_id} is {state}, not Open: it takes no submissions")
    source = market.stake_source(bounty_id, stake_from)  # a bad choice fails before the training
    if not dry_run:
        _check_funds(market, bounty_id, source)
    fp = fingerprint(X, y)
    if ledger is not None and dp is not None:
        planned = PrivacyStatement.of(release, dp.clip_norm, dp.delta)
        ledger.check(fp, release, dp.budget_epsilon, dp.delta)
    elif ledger is not None and not force and any(r.mechanism != "none" for r in ledger.releases(fp)):
        raise FathomError("this data set has releases with differential privacy in your ledger; sending it without noise "
                          "ends every guarantee: add --clip and --noise, or pass --force")
    max_epsilon = max_epsilon_of(reader.opening_brief)
    if max_epsilon is not None and (dp is None or planned.epsilon > max_epsilon):
        got = "no differential privacy" if dp is None else f"epsilon {planned.epsilon:.3f}"
        raise FathomError(f"bounty {bounty_id} takes only updates that are at most {max_epsilon:g}-DP, and this one would have "
                          f"{got}: add noise (--noise); nothing was trained or sent")
    view = market.bounty(bounty_id)
    base = view["versionCount"]
    head = reader.model(base)
    record_level = dp is not None and dp.mechanism == "dp-sgd"
    if record_level:  # the noise is in the training itself
        trained, _ = dpsgd.train_dp_sgd(head.manifest, head.arrays, X, y, lr=lr, epochs=epochs, batch_size=batch_size,
                                        clip_norm=dp.clip_norm, noise_multiplier=dp.noise_multiplier, delta=dp.delta,
                                        progress=progress)
    else:
        trained = training.train(head.manifest, head.arrays, X, y, lr=lr, epochs=epochs, batch_size=batch_size, seed=seed,
                                 progress=progress)
    delta = training.make_update(head.arrays, trained)
    if not any(np.any(v) for v in delta.values()):
        raise FathomError("training left the model unchanged (a zero update): nothing was sent; raise --lr or --epochs")
    trained_norm = training.update_norm(delta)
    clean = delta
    statement = None
    if record_level:
        statement = planned
        if dry_run:  # what the same training does without DP, for comparison
            clean = training.make_update(head.arrays, training.train(head.manifest, head.arrays, X, y, lr=lr, epochs=epochs,
                                                                     batch_size=batch_size, seed=seed))
    elif dp is not None:
        clean = training.clip_update(delta, dp.clip_norm)
        delta = add_gaussian_noise(clean, dp.clip_norm, dp.noise_multiplier)  # the OS's randomness, never the seed
        statement = planned
    if scale != 1.0:
        delta = {k: (v * np.float32(scale)).astype(np.float32) for k, v in delta.items()}
    norm = training.update_norm(delta)
    metric = head.manifest["metric"]
    before = _local_score(head.manifest, head.arrays, X, y)
    after = _local_score(head.manifest, models.apply_update(head.arrays, delta), X, y)
    without_noise = (_local_score(head.manifest, models.apply_update(head.arrays, clean), X, y)
                     if dp is not None and clean is not delta else None)
    result = Contribution(bounty_id, None, base, None, before, after, norm, statement.epsilon if statement else None,
                          dp.delta if dp else None, source, without_noise, metric, statement,
                          ledger.spending(fp, dp.budget_epsilon, dp.delta, adding=release) if ledger is not None and dp else None,
                          dry_run=True, trained_norm=trained_norm)
    if dry_run:
        return result
    if result.worse and not force:
        raise FathomError(f"the update makes your own local {metric} worse ({before:.4f} -> {after:.4f}): nothing was sent "
                          "(less noise, another --lr or --epochs; or --force to submit anyway)")
    manifest = dict(head.manifest)
    if statement is not None:
        manifest["privacy"] = statement.as_dict()
        check_statement(manifest["privacy"], delta, max_epsilon)  # what the oracles will check
    blob = pack_update(manifest, delta)
    spending = None
    if ledger is not None:  # recorded before the update leaves this machine: over-count, never under-count
        spending = ledger.record(fp, release, dp.budget_epsilon if dp else None, dp.delta if dp else None,
                                 enforce=dp is not None, bounty=bounty_id, base_version=int(base), account=me)
    chain_id, market_address = reader.domain
    sealed = seal_for(blob, reader.recipients(), bounty_id, "update", me, chain_id=chain_id, market=market_address)
    submission, cid = submit_then_publish(market, store, bounty_id, base, sealed, source)
    return Contribution(bounty_id, submission, base, cid, before, after, norm, result.epsilon, result.delta, source,
                        without_noise, metric, statement, spending if dp is not None else None, trained_norm=trained_norm)


def encrypted_mode(market: Market, store: Store, bounty_id: int, private_key: bytes | None = None) -> bool:
    """Whether the bounty is in the encrypted-weights mode (its opening brief, plain in this
    mode, names a Paillier key). A brief this caller cannot read is another mode's: False,
    and the ordinary path says what is wrong."""
    try:
        return BountyReader(market, store, bounty_id, private_key).paillier_public is not None
    except FathomError:
        return False


@dataclass(frozen=True)
class EncryptedContribution:
    """What a contributor of an encrypted-weights bounty knows of its contribution: no
    local score (it never holds the weights), only its own data's side of the update."""

    bounty_id: int
    submission_id: int | None  # None for a dry run
    base_version: int
    cid: str | None
    rows: int
    inputs: int
    steps: int
    lr: float
    largest_lr: float  # 2 / the largest eigenvalue of its data's curvature: the steps diverge past it
    noise_std: float | None
    staked_from: str = "wallet"
    dry_run: bool = False


def contribute_encrypted(
    market: Market,
    store: Store,
    private_key: bytes,
    bounty_id: int,
    X: np.ndarray,
    y: np.ndarray,
    *,
    lr: float = 0.1,
    steps: int = 5,
    noise_std: float | None = None,
    stake_from: str = "wallet",
    ledger: Ledger | None = None,
    dry_run: bool = False,
    force: bool = False,
) -> EncryptedContribution:
    """Contribute to a bounty in the encrypted-weights mode (SPECIFICATION F13): ``steps``
    steps of gradient descent at rate ``lr``, computed on the head's Paillier ciphertexts
    with the contributor's plaintext data (`fathom.ml.encrypted.encrypted_update`), with
    Gaussian noise of std ``noise_std`` added under encryption if asked (from the OS's
    randomness; it states no epsilon: README), sealed for the committee and submitted
    like any update. This process gets the public key and the ciphertexts only: nothing
    on this path reads the bounty's Paillier secret key, and nothing can (it is sealed
    for exactly the committee). So there is no local score: the contributor learns its
    outcome from the committee's published decision (`outcome`)."""
    from fathom.ml import encrypted

    me = account_address(private_key)
    reader = BountyReader(market, store, bounty_id, private_key)
    public = reader.paillier_public
    if public is None:
        raise FathomError(f"bounty {bounty_id} is not in the encrypted-weights mode")
    state = market.state(bounty_id)
    if state != "Open":
        raise FathomError(f"bounty {bounty_id} is {state}, not Open: it takes no submissions")
    source = market.stake_source(bounty_id, stake_from)
    if not dry_run:
        _check_funds(market, bounty_id, source)
    if noise_std is not None and not (np.isfinite(noise_std) and noise_std > 0):
        raise FathomError("--noise-std must be a positive number")
    fp = fingerprint(X, y)
    if ledger is not None and not force and any(r.mechanism != "none" for r in ledger.releases(fp)):
        raise FathomError("this data set has releases with differential privacy in your ledger, and this mode states "
                          "no epsilon: pass --force to send it anyway")
    base = market.bounty(bounty_id)["versionCount"]
    manifest, weights = reader.encrypted_model(base)  # ciphertexts under the bounty's public key, nothing else
    rows = weights.rows
    try:
        largest = min(2.0 / float(np.linalg.eigvalsh(encrypted.affine_update(X, y, weights.task, row=None if rows == 1 else r)[0])[-1])
                      for r in range(rows))
        if dry_run:  # the plaintext map only: lr and the data are checked, nothing is encrypted
            for r in range(rows):
                encrypted.affine_update(X, y, weights.task, lr, steps, row=None if rows == 1 else r)
            return EncryptedContribution(bounty_id, None, base, None, rows, weights.inputs, steps, lr, largest, noise_std,
                                         source, dry_run=True)
        update = encrypted.encrypted_update(weights, X, y, lr=lr, steps=steps)
        if noise_std is not None:
            update = encrypted.add_noise(update, noise_std)
        manifest, arrays = encrypted.to_container(update, manifest)
    except encrypted.EncryptedModeError as exc:
        raise FathomError(f"{exc}; nothing was sent") from None
    blob = pack_update(manifest, arrays)
    if ledger is not None:  # recorded before the update leaves this machine
        ledger.record(fp, Release("none"), None, None, enforce=False, bounty=bounty_id, base_version=int(base), account=me)
    chain_id, market_address = reader.domain
    sealed = seal_for(blob, reader.recipients(), bounty_id, "update", me, chain_id=chain_id, market=market_address)
    submission, cid = submit_then_publish(market, store, bounty_id, base, sealed, source)
    return EncryptedContribution(bounty_id, submission, base, cid, rows, weights.inputs, steps, lr, largest, noise_std,
                                 source)


def submit_then_publish(market: Market, store: Store, bounty_id: int, base: int, sealed: bytes,
                        source: str = "wallet") -> tuple[int, str]:
    """Submit a sealed update's CID, and publish the ciphertext only once the submission is
    mined (`Market.submit` returns after the receipt). Returns (submission id, CID).

    Front-running: a ciphertext pinned before its transaction is included can be fetched
    by a committee member, opened, re-sealed under the member's own name and submitted
    first. The CID alone opens nothing. The oracles wait for the content as for any slow
    provider (F8); keeping it available is the contributor's duty."""
    head = market.bounty(bounty_id)["versionCount"]
    if base + settlement.MAX_LAG < head:  # training outlasted versions: the market would refuse it
        raise FathomError(f"bounty {bounty_id} is at version {head}, and this update was trained on version {base}: "
                          f"more than {settlement.MAX_LAG} versions behind, the market refuses it (BaseVersionStale, "
                          "rule U1); nothing was sent: train again on the head")
    cid = compute_cid(sealed)
    submission = market.submit(bounty_id, base, cid_to_chain(cid), stake_from=source)
    try:
        pinned = store.add(sealed)
    except StoreError as exc:
        raise FathomError(f"submission {submission} is on chain, but its update {cid} could not be published ({exc}): "
                          "the oracles cannot score it until it is (F8)") from exc
    if pinned != cid:
        raise FathomError(f"the store published submission {submission}'s update as {pinned}, not as the submitted {cid}")
    return submission, cid


def outcome(market: Market, bounty_id: int, submission_id: int) -> dict[str, Any] | None:
    """What happened to a submission, from the events (None while undecided)."""
    events = market.events(bounty_id=bounty_id, outcomes=True)
    batch = next((ev["batch"] for ev in events if ev.name == "SubmissionReceived" and ev["submissionId"] == submission_id), None)
    for ev in events:
        if ev.name == "BatchVoided" and batch is not None and ev["batch"] == batch:
            return {"outcome": "voided", "reports": ev["reports"]}
        if ev.args.get("submissionId") != submission_id:
            continue
        if ev.name == "UpdateMerged":  # merged into its batch's version (R5), paid its share
            version = next((int(v["version"]) for v in events if v.name == "VersionAccepted" and v.tx == ev.tx), None)
            return {"outcome": "accepted", "version": version, "score": ev["score"], "reward": ev["reward"],
                    "share": ev["share"]}
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
        amounts = payouts.owed(records, first, [e.args for e in decided if e.name == "UpdateMerged"],
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

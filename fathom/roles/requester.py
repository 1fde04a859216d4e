"""The requester's tools: open a bounty, admit contributors, close, reveal, export, audit.

Opening a bounty (`open_bounty`):
- a fresh model key seals the initial model (deterministically, like every merged model);
- a fresh validation key seals the validation set, wrapped for the committee only;
- no audit key: updates are sealed for the committee only (F2), so the requester reads
  no update before settlement, only merged models. `audit` re-scores every version after
  the reveal, and every report whose updates it can open: with update keys a committee
  member disclosed (each checked against its envelope's key commitment), or as a member;
- the keyring wraps the model key for the committee and the admitted contributors; its
  authenticated plaintext is the brief `{"brief": 2, "validation": CID, "validation_salt":
  hex}` (the salt sealed under the validation key, so that each committee member checks
  the commitment before it scores), plus `"confidence_bps"` (F12) and `"max_epsilon"` when
  the requester requires differential privacy;
- the chain records `keccak256(abi.encode(validationCid, validationKey, salt))`.

The secrets (model key, validation key, salt) are written to
`<data dir>/requester/bounty-<id>.json` (mode 0600) and are needed for the reveal.
"""

from __future__ import annotations

import json
import os
import secrets as pysecrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fathom.ml import models, significance
from fathom.protocol import settlement as protocol
from fathom.ml.artefacts import (
    check_validation_fits,
    pack_model,
    pack_validation,
    unpack_model,
    unpack_validation,
)
from fathom.ml.privacy.statement import check_statement, max_epsilon_of
from fathom.roles.reader import BRIEF_VERSION, BountyReader
from fathom.chain.client import ETH
from fathom.crypto.envelope import (
    account_address,
    build_keyring,
    extend_keyring,
    generate_private_key,
    new_key,
    public_key_of,
    read_header,
    seal_for,
    seal_with_key,
)
from fathom.errors import FathomError, RejectionError
from fathom.chain.market import WAD, Market, commitment, decode_scores
from fathom.storage.store import Store, cid_from_chain, cid_to_chain

@dataclass
class BountySecrets:
    bounty_id: int
    model_key: bytes | None
    validation_key: bytes
    salt: bytes
    validation_cid: str
    seat_key: bytes | None = None  # a drawn committee's seat key (C4; see seat_committee)

    def save(self, data_dir: Path) -> Path:
        folder = data_dir / "requester"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"bounty-{self.bounty_id}.json"
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({
                "bounty_id": self.bounty_id,
                "model_key": self.model_key.hex() if self.model_key else None,
                "validation_key": self.validation_key.hex(),
                "salt": self.salt.hex(),
                "validation_cid": self.validation_cid,
                "seat_key": self.seat_key.hex() if self.seat_key else None,
            }, fh, indent=2)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, data_dir: Path, bounty_id: int) -> "BountySecrets":
        path = data_dir / "requester" / f"bounty-{bounty_id}.json"
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            raise FathomError(f"no secrets for bounty {bounty_id} at {path}: only the requester's machine has them") from None
        return cls(bounty_id, bytes.fromhex(raw["model_key"]) if raw["model_key"] else None,
                   bytes.fromhex(raw["validation_key"]), bytes.fromhex(raw["salt"]), raw["validation_cid"],
                   bytes.fromhex(raw["seat_key"]) if raw.get("seat_key") else None)


def tolerance_for(validation_rows: int, resolution: int, rows: int = 2) -> int:
    """Score units by which `rows` rows of the validation set move an accuracy (or a per-row
    metric bounded by 1): ceil(rows / (validation_rows * resolution)), at least 1."""
    return max(1, -(-rows * WAD // (max(1, validation_rows) * resolution)))


def default_terms(now: int, committee: list[str], metric: str = "accuracy", validation_rows: int = 10_000,
                  **overrides: Any) -> dict[str, Any]:
    """Bounty parameters with sensible defaults (ETH, linear curve, 1e-4 score units); the
    metric's name and direction come from `models.METRIC_TABLE` (pass the manifest's); the
    tolerance is two validation rows' worth of score units (`tolerance_for`)."""
    terms = {
        "token": ETH, "reward": WAD, "stake": 10**16, "oracleFeePerBatch": 10**15, "maxBatches": 20,
        "revealBond": 10**16, "slashBps": 5_000, "batchSize": 4, "scoringTimeout": 600,
        "deadline": now + 7 * 86_400, "revealWindow": 86_400, "target": 9_800,
        "slashMargin": 200, "resolution": 10**14, **metric_terms(metric),
        "trustSingleOracle": len(committee) == 1, "committee": committee, "curveX": [0, WAD], "curveY": [0, WAD],
    }
    terms.update(overrides)
    terms.setdefault("tolerance", tolerance_for(validation_rows, terms["resolution"]))
    return terms


def metric_terms(metric: str) -> dict[str, Any]:
    """The on-chain `metric` and `higherIsBetter` of a metric, from its one table."""
    if metric not in models.METRIC_TABLE:
        raise FathomError(f"unknown metric {metric!r}: one of {', '.join(models.METRIC_TABLE)}")
    return {"metric": metric.encode().ljust(32, b"\0"), "higherIsBetter": models.higher_is_better(metric)}


def check_bounty(initial: tuple[dict[str, Any], dict[str, np.ndarray]],
                 validation: tuple[dict[str, Any], dict[str, np.ndarray]], terms: dict[str, Any]) -> None:
    """Refuse, before anything is pinned or escrowed, a bounty its committee could not
    serve: the initial model and validation set must be valid artefacts, the set must fit
    the model (features, classes or targets, dtypes), and the registered metric and
    direction must be the manifest's (issue 14 item 10, issue 15 item 5)."""
    try:
        model = unpack_model(pack_model(*initial))
        val = unpack_validation(pack_validation(*validation))
        check_validation_fits(model, val)
    except (RejectionError, models.ModelError) as exc:
        raise FathomError(f"the validation set does not fit the model: {exc}") from None
    expected = metric_terms(model.metric)
    got = bytes(terms["metric"]).rstrip(b"\0").decode("ascii", "replace")
    if got != model.metric or bool(terms["higherIsBetter"]) != expected["higherIsBetter"]:
        raise FathomError(f"the terms register metric {got!r} ({'higher' if terms['higherIsBetter'] else 'lower'} is "
                          f"better) but the model's manifest is scored by {model.metric!r} "
                          f"({'higher' if expected['higherIsBetter'] else 'lower'} is better)")


def open_bounty(
    market: Market,
    store: Store,
    private_key: bytes,
    data_dir: Path,
    initial: tuple[dict[str, Any], dict[str, np.ndarray]],
    validation: tuple[dict[str, Any], dict[str, np.ndarray]],
    terms: dict[str, Any],
    admitted: list[str] = (),  # type: ignore[assignment]
    clear: bool = False,
    max_epsilon: float | None = None,
    confidence_bps: int | None = None,
) -> BountySecrets:
    """Encrypt, pin, commit and fund a bounty; returns its secrets (also saved to disk).
    `confidence_bps`: the acceptance rule's confidence (F12; the default 9,900 when None),
    sealed in the brief. `max_epsilon`: the largest epsilon an update may state (an off-chain term sealed in the
    brief; the oracles score an update above it, or without a privacy statement, INVALID)."""
    extra_terms: dict[str, Any] = {"max_epsilon": max_epsilon} if max_epsilon is not None else {}
    if confidence_bps is not None:
        extra_terms["confidence_bps"] = confidence_bps
    max_epsilon_of(extra_terms)  # a bad value fails before anything is sent
    significance.confidence_of(extra_terms)
    check_bounty(initial, validation, terms)
    me = account_address(private_key)
    committee = list(terms["committee"])
    predicted = market.bounty_count() + 1
    seat_key = None
    if committee and all(int(m, 16) == 0 for m in committee):
        # a drawn committee (C4) is not known yet: seal for a seat key, handed to the members
        # once they are drawn (seat_committee)
        seat_key = generate_private_key()
        committee_keys = {account_address(seat_key): public_key_of(seat_key)}
    else:
        committee_keys = {m: market.public_key(m) for m in committee}
    validation_key, salt = new_key(), pysecrets.token_bytes(32)
    domain = {"chain_id": int(market.w3.eth.chain_id), "market": market.address}  # F2: bound to this deployment
    val_blob = seal_for(pack_validation(*validation), committee_keys, predicted, "validation", me, key=validation_key,
                        **domain)
    val_cid = store.add(val_blob)
    # the commitment's salt travels in the brief sealed under the validation key: only the
    # committee (which can open the validation set) reads it, and checks the commitment
    sealed_salt = seal_for(salt, committee_keys, predicted, "validation", me, key=validation_key, **domain)
    brief = json.dumps({"brief": BRIEF_VERSION, "validation": val_cid, "validation_salt": sealed_salt.hex()} | extra_terms,
                       sort_keys=True).encode()

    def artefacts(bounty_id: int) -> tuple[str, str, bytes | None]:
        model_blob = pack_model(*initial)
        if clear:
            return store.add(model_blob), store.add(brief), None
        model_key = new_key()
        recipients = dict(committee_keys)
        for a in admitted:
            recipients[a] = market.public_key(a)
        sealed = seal_with_key(model_blob, model_key, bounty_id, "model", me)
        ring = build_keyring(model_key, recipients, bounty_id, me, note=brief, **domain)
        return store.add(sealed), store.add(ring), model_key

    model_cid, ring_cid, model_key = artefacts(predicted)
    params = dict(terms)
    params.update({
        "initialModel": cid_to_chain(model_cid),
        "keyring": cid_to_chain(ring_cid),
        "validationCommitment": commitment(cid_to_chain(val_cid), validation_key, salt),
    })
    bounty_id = market.create_bounty(params)
    if bounty_id != predicted and not clear:
        # another bounty was opened first: re-seal under the real id (the validation set is
        # bound by the on-chain commitment instead)
        model_cid, ring_cid, model_key = artefacts(bounty_id)
        market.send(market.market.functions.setInitialModel(bounty_id, cid_to_chain(model_cid)))
        market.set_keyring(bounty_id, cid_to_chain(ring_cid))
    secrets = BountySecrets(bounty_id, model_key, validation_key, salt, val_cid, seat_key)
    secrets.save(data_dir)
    return secrets


def draw_and_seat(market: Market, store: Store, private_key: bytes, secrets: BountySecrets, wait: float = 600.0,
                  poll: float = 1.0) -> list[str]:
    """A drawn committee (C4): wait for the armed block, draw (unless an oracle node already
    did: anyone may), then hand the members their seat (`seat_committee`). Returns the
    committee. On a local development chain it mines the empty blocks it waits for."""
    from fathom.chain.client import ChainError

    bid = secrets.bounty_id
    deadline = time.monotonic() + wait
    while True:
        view = market.bounty(bid)
        members = market.committee(bid)[0]
        if view["cancelled"]:
            raise FathomError(f"bounty {bid} is cancelled: its draw found too few oracles whose policy accepts its "
                              "terms and whose free stake covers the bond (C4; 5% of the reward was burned, C5)")
        if view["drawBlock"] == 0 and all(int(m, 16) for m in members):
            seat_committee(market, store, private_key, secrets)
            return members
        if view["drawBlock"] and market.w3.eth.block_number > view["drawBlock"]:
            try:
                market.draw_committee(bid)
            except ChainError as exc:
                if "revert" not in str(exc):
                    raise  # drawn by someone else meanwhile: read it on the next pass
            continue
        if view["drawBlock"] == 0 or time.monotonic() > deadline:
            raise FathomError(f"bounty {bid}'s committee is not drawn yet (draw due after block {view['drawBlock']}, "
                              f"seats {members}): run `fathom bounty seat {bid}` later")
        if not market.mine_if_local():
            time.sleep(poll)


def seat_committee(market: Market, store: Store, private_key: bytes, secrets: BountySecrets) -> str | None:
    """A drawn committee (C4): once every seat is drawn, publish a keyring that wraps the model
    key for the members too and whose brief seals the seat key for them only; returns its CID,
    or None while a seat is empty (the draw is not due yet, or a replacement is pending).
    Call it again after a member is replaced."""
    if secrets.seat_key is None:
        raise FathomError(f"bounty {secrets.bounty_id} has a named committee: there is no seat to hand over")
    bid = secrets.bounty_id
    members = market.committee(bid)[0]
    if any(int(m, 16) == 0 for m in members):
        return None
    me = account_address(private_key)
    domain = {"chain_id": int(market.w3.eth.chain_id), "market": market.address}
    member_keys = {m: market.public_key(m) for m in members}
    reader = BountyReader(market, store, bid, model_key=secrets.model_key)
    brief = dict(reader.brief)
    brief["seat_key"] = seal_for(secrets.seat_key, member_keys, bid, "validation", me, **domain).hex()
    note = json.dumps(brief, sort_keys=True).encode()
    if secrets.model_key is None:
        cid = store.add(note)
    else:
        ring = reader.fetch(reader.keyring_cid)
        recipients = {r.address: r.public_key for r in read_header(ring).recipients}
        recipients.update(member_keys)
        cid = store.add(build_keyring(secrets.model_key, recipients, bid, me, note=note, **domain))
    market.set_keyring(bid, cid_to_chain(cid))
    return cid


def admit(market: Market, store: Store, private_key: bytes, secrets: BountySecrets, contributors: list[str]) -> str:
    """Extend the keyring with contributors' keys and publish it; returns its CID."""
    if secrets.model_key is None:
        raise FathomError(f"bounty {secrets.bounty_id} is in the clear: anyone may contribute")
    reader = BountyReader(market, store, secrets.bounty_id, model_key=secrets.model_key)
    ring = reader.fetch(reader.keyring_cid)
    new = {a: market.public_key(a) for a in contributors}
    cid = store.add(extend_keyring(ring, secrets.model_key, new, author=account_address(private_key)))
    market.set_keyring(secrets.bounty_id, cid_to_chain(cid))
    return cid


def reveal(market: Market, secrets: BountySecrets) -> Any:
    return market.reveal(secrets.bounty_id, cid_to_chain(secrets.validation_cid), secrets.validation_key, secrets.salt,
                         secrets.model_key or b"\0" * 32)


def revealed_keys(market: Market, bounty_id: int) -> tuple[bytes, bytes] | None:
    """(validation key, model key) from the ValidationRevealed event, if revealed."""
    for ev in market.events(bounty_id=bounty_id):
        if ev.name == "ValidationRevealed":
            return bytes(ev["validationKey"]), bytes(ev["modelKey"])
    return None


def version_statements(market: Market, store: Store, bounty_id: int, private_key: bytes | None = None,
                       update_keys: dict[str, bytes] | None = None) -> dict[int, Any]:
    """Each accepted version's privacy statement (F11): the ``"privacy"`` object of its
    update's manifest, None if it states none, or "sealed" if this caller cannot open it.
    An update opens for a committee member (`private_key`) and for whoever holds its
    disclosed content key (`update_keys`, by CID); never for the requester as such (F2)."""
    reader = BountyReader(market, store, bounty_id, private_key, update_keys=update_keys)
    out: dict[int, Any] = {}
    for v in reader.versions()[1:]:
        out[v.number] = "sealed"
        disclosed = reader.update_keys.get(v.update) if v.update else None
        if private_key is None and disclosed is None:
            continue
        try:
            out[v.number] = reader.open_update(v.update, v.author, private_key=private_key, key=disclosed).manifest.get("privacy")
        except FathomError:  # not a recipient, or the update cannot be read
            continue
    return out


def lineage(market: Market, bounty_id: int) -> list[dict[str, Any]]:
    """Every version with its parent, score, author, submission and reward (from events)."""
    events = market.events(bounty_id=bounty_id)
    out = []
    baseline = next((int(e["score"]) for e in events if e.name == "BaselineSet"), None)
    out.append({"version": 0, "parent": None, "score": baseline, "author": None, "submission": None, "reward": 0})
    for e in events:
        if e.name == "VersionAccepted":
            out.append({"version": int(e["version"]), "parent": int(e["parent"]), "score": int(e["score"]),
                        "author": e["author"], "submission": int(e["submissionId"]), "reward": int(e["reward"]),
                        "cid": cid_from_chain(bytes(e["merged"][0]), e["merged"][1]) if any(e["merged"][0]) else None})
    return out


def payouts(market: Market, bounty_id: int) -> dict[str, dict[str, int]]:
    """Per contributor: submissions, accepted/rejected/slashed counts, rewards and burned stake."""
    per: dict[str, dict[str, int]] = {}
    for e in market.events(bounty_id=bounty_id, outcomes=True):
        if e.name in ("VersionAccepted", "SubmissionRejected", "StakeSlashed", "SubmissionReceived"):
            who = e["author"] if e.name == "VersionAccepted" else e["contributor"]
            row = per.setdefault(who, {"submitted": 0, "accepted": 0, "rejected": 0, "slashed": 0, "reward": 0, "burned": 0})
            if e.name == "SubmissionReceived":
                row["submitted"] += 1
            elif e.name == "VersionAccepted":
                row["accepted"] += 1
                row["reward"] += int(e["reward"])
            elif e.name == "SubmissionRejected":
                row["rejected"] += 1
            else:
                row["slashed"] += 1
                row["burned"] += int(e["burned"])
    return per


def export_model(market: Market, store: Store, bounty_id: int, out: Path, private_key: bytes | None = None,
                 model_key: bytes | None = None, version: int | None = None) -> dict[str, Any]:
    """Fetch, decrypt and write the head (or `version`) as manifest.json plus .npy arrays."""
    reader = BountyReader(market, store, bounty_id, private_key, model_key=model_key)
    versions = reader.versions()
    v = len(versions) - 1 if version is None else version
    model = reader.model(v)
    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.json").write_text(json.dumps(model.manifest, indent=2, sort_keys=True) + "\n")
    for name, arr in model.arrays.items():
        np.save(out / f"{name}.npy", arr, allow_pickle=False)
    return {"version": v, "score": versions[v].score, "files": sorted(p.name for p in out.iterdir())}


def audit(market: Market, store: Store, bounty_id: int, private_key: bytes | None = None,
          update_keys: dict[str, bytes] | None = None) -> dict[str, Any]:
    """After the reveal, anyone re-scores every version and every report and lists where
    the chain's record and the re-scoring differ (beyond the bounty's tolerance).

    Updates are sealed for the committee only (F2): a report's scores are re-checked for
    the updates this caller can open, as a member (`private_key`) or with their disclosed
    content keys (`update_keys`, by CID, each checked against its envelope's key
    commitment). `sealed` counts the updates it could not open: not differences.
    Each report is recomputed by the acceptance rule (F12) against the head it was scored
    on, and each accepted version's score is its report; `submissions` gives, per update
    that opened, its paired comparison with that head (the mean difference, the bounds and
    the verdict). A version whose named merged model is not parent + update is a
    difference (F5)."""
    keys = revealed_keys(market, bounty_id)
    if keys is None:
        raise FathomError(f"bounty {bounty_id} is not revealed yet: the audit needs the revealed keys")
    validation_key, model_key = keys
    reader = BountyReader(market, store, bounty_id, private_key, model_key=model_key if any(model_key) else None,
                          validation_key=validation_key, update_keys=update_keys)
    params = reader.params
    tolerance, resolution = params["tolerance"], params["resolution"]
    # the set the reveal names (checked by the contract against the commitment), checked
    # here again, whatever a later keyring's brief says
    (rev,) = [e for e in reader.events if e.name == "ValidationRevealed"]
    val = reader.committed_validation((cid_from_chain(*rev["validationCid"]), bytes(rev["salt"])))[0]
    max_epsilon = max_epsilon_of(reader.opening_brief)
    differences: list[dict[str, Any]] = []
    versions = reader.versions()
    events = reader.events
    subs = {int(e["submissionId"]): e for e in events if e.name == "SubmissionReceived"}
    batch_size = params["batchSize"]
    heads_at: dict[int, int] = {}
    head = 0
    decided = sorted({int(e["batch"]) for e in events if e.name in ("BatchSettled", "BatchVoided")})
    accepted_in = {int(e["submissionId"]) // batch_size: int(e["version"]) for e in events if e.name == "VersionAccepted"}
    for k in decided:
        heads_at[k] = head
        head = accepted_in.get(k, head)
    confidence = significance.confidence_of(reader.opening_brief)
    higher = bool(params["higherIsBetter"])
    models_of: dict[int, Any] = {}
    unopened: set[int] = set()  # versions this caller cannot have (no merged CID, update sealed)
    rescored_batches: dict[int, list[int | None]] = {}
    compared: dict[int, dict[str, Any]] = {}  # per submission: the paired comparison with its head (F12)
    sealed_ids: set[int] = set()

    def model_of(number: int) -> Any:
        if number not in models_of and number not in unopened:
            try:
                models_of[number] = reader.model(number)  # parent + update, checked against a named CID (F5)
            except FathomError:  # no merged CID named, and this caller cannot open the update (F2)
                unopened.add(number)
        return models_of.get(number)

    def rescore_batch(k: int, count: int) -> list[int | None]:
        """What an honest member reports for batch k (F4, F12), for the updates this caller
        can open (None for the others): each checked as the oracles check it and scored
        against the batch's head."""
        if k in rescored_batches:
            return rescored_batches[k]
        head_version = versions[heads_at.get(k, 0)]
        head_model = model_of(head_version.number)
        out: list[int | None] = [None] * count
        opened_updates: dict[int, Any] = {}
        for i in range(count):
            sid = k * batch_size + i
            sub = subs.get(sid)
            try:
                cid = cid_from_chain(bytes(sub["update"][0]), sub["update"][1])
                disclosed = reader.update_keys.get(cid)
                if head_model is None or (disclosed is None and private_key is None):
                    sealed_ids.add(sid)
                    continue
                upd = reader.open_update(cid, sub["contributor"], private_key, key=disclosed)
                check_statement(upd.manifest.get("privacy"), upd.arrays, max_epsilon)  # as the oracles check it
                models.check_update(head_model.manifest, upd.arrays)
                opened_updates[i] = upd.arrays
            except Exception:  # noqa: BLE001 - anything unreadable is what an honest oracle calls invalid
                out[i] = protocol.INVALID
        if opened_updates:
            order = sorted(opened_updates)
            reports = significance.batch_reports(head_model.manifest, head_model.arrays,
                                                 [opened_updates[i] for i in order], val.X, val.y, head_version.score,
                                                 resolution, higher, confidence)
            for i, (q, diff) in zip(order, reports):
                out[i] = protocol.INVALID if q is None else q
                if diff is not None:
                    compared[k * batch_size + i] = {"mean": diff.mean, "lcb": diff.lcb, "ucb": diff.ucb,
                                                    "verdict": diff.verdict, "reported": out[i]}
        rescored_batches[k] = out
        return out

    checked_reports = 0
    for e in events:
        if e.name != "ReportPosted":
            continue
        k = int(e["batch"])
        chain_scores = decode_scores(bytes(e["scores"]))
        for i, (chain_score, q) in enumerate(zip(chain_scores, rescore_batch(k, len(chain_scores)))):
            if q is None:
                continue  # sealed for this caller: not a difference
            invalid_mismatch = (q == protocol.INVALID) != (chain_score == protocol.INVALID)
            if invalid_mismatch or (q != protocol.INVALID and abs(q - chain_score) > tolerance):
                differences.append({"what": f"batch {k} submission {k * batch_size + i} by oracle {e['oracle']}",
                                    "chain": chain_score, "rescored": q})
        checked_reports += 1
    checked_versions = []
    for v in versions:
        model = model_of(v.number)
        if v.number in reader.mismatched:
            differences.append({"what": f"version {v.number}: the merged model named on chain is not parent + update",
                                "chain": reader.mismatched[v.number], "rescored": "parent + update"})
        rescored: int | None
        if model is not None and (v.number == 0 or v.submission_id is None):  # the baseline: its own score
            rescored = protocol.quantise(models.score(model.manifest, model.arrays, val.X, val.y), resolution)
        elif v.submission_id is not None:  # an accepted version's score is its report (F12)
            k, i = divmod(int(v.submission_id), batch_size)
            count = min(batch_size, len(subs) - k * batch_size)
            rescored = rescore_batch(k, count)[i]
        else:
            rescored = None
        checked_versions.append({"version": v.number, "chain": v.score, "rescored": rescored})
        if rescored is not None and v.score is not None and abs(rescored - v.score) > tolerance:
            differences.append({"what": f"version {v.number}", "chain": v.score, "rescored": rescored})
    return {"bounty": bounty_id, "versions": checked_versions, "reports": checked_reports,
            "sealed": len(sealed_ids) + len(unopened), "differences": differences, "submissions": compared}

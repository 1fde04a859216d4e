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
- the chain records `keccak256(abi.encode(validationCid, validationKey, salt))`;
- with a held-out test set (F14), it is sealed for the requester alone and the brief
  carries `"test_set": {"cid", "rows", "commitment"}`; `reveal` publishes its key and salt
  in a new keyring after the on-chain reveal, and `held_out_report` checks and scores it.

In the **encrypted-weights mode** (`encrypted_weights=True`, SPECIFICATION F13) the
requester checks the mode's size bound (`fathom.ml.encrypted.check_budget`) with every
other check, before anything is pinned or escrowed; then generates a Paillier key pair,
publishes the initial model as Paillier ciphertexts (a container version 4, public), and
seals the secret key for exactly the committee under the model key, inside the brief of a
plain keyring (contributors read the brief and the public key, never the secret). The
reveal publishes the model key, and so the Paillier secret key: the model is protected
from contributors until the reveal, not after.

The secrets (model key, validation key, salt, and the test set's key and salt) are written to
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

from fathom.crypto import paillier
from fathom.ml import encrypted, models, significance
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
    open_envelope,
    public_key_of,
    read_header,
    seal_for,
    seal_with_key,
)
from fathom.errors import FathomError, RejectionError
from fathom.chain.market import WAD, Market, commitment, report_scores
from fathom.storage.store import Store, cid_from_chain, cid_to_chain

@dataclass
class BountySecrets:
    bounty_id: int
    model_key: bytes | None
    validation_key: bytes
    salt: bytes
    validation_cid: str
    #: the held-out test set (F14): its key and salt stay here until the reveal
    test_key: bytes | None = None
    test_salt: bytes | None = None
    test_cid: str | None = None
    encrypted_weights: bool = False  # the model key seals the bounty's Paillier secret key (F13)
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
                "test_key": self.test_key.hex() if self.test_key else None,
                "test_salt": self.test_salt.hex() if self.test_salt else None,
                "test_cid": self.test_cid,
                "encrypted_weights": self.encrypted_weights,
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
        test_key, test_salt = raw.get("test_key"), raw.get("test_salt")
        return cls(bounty_id, bytes.fromhex(raw["model_key"]) if raw["model_key"] else None,
                   bytes.fromhex(raw["validation_key"]), bytes.fromhex(raw["salt"]), raw["validation_cid"],
                   bytes.fromhex(test_key) if test_key else None, bytes.fromhex(test_salt) if test_salt else None,
                   raw.get("test_cid"), bool(raw.get("encrypted_weights", False)),
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
                 validation: tuple[dict[str, Any], dict[str, np.ndarray]], terms: dict[str, Any],
                 test_set: tuple[dict[str, Any], dict[str, np.ndarray]] | None = None) -> None:
    """Refuse, before anything is pinned or escrowed, a bounty its committee could not
    serve: the initial model and validation set must be valid artefacts, the set must fit
    the model (features, classes or targets, dtypes), and the registered metric and
    direction must be the manifest's (issue 14 item 10, issue 15 item 5). A held-out test
    set (F14) must fit the model too."""
    try:
        model = unpack_model(pack_model(*initial))
        val = unpack_validation(pack_validation(*validation))
        check_validation_fits(model, val)
    except (RejectionError, models.ModelError) as exc:
        raise FathomError(f"the validation set does not fit the model: {exc}") from None
    if test_set is not None:
        try:
            check_validation_fits(model, unpack_validation(pack_validation(*test_set)))
        except (RejectionError, models.ModelError) as exc:
            raise FathomError(f"the test set does not fit the model: {exc}") from None
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
    test_set: tuple[dict[str, Any], dict[str, np.ndarray]] | None = None,
    encrypted_weights: bool = False,
) -> BountySecrets:
    """Encrypt, pin, commit and fund a bounty; returns its secrets (also saved to disk).
    `test_set`: a held-out test set (F14), sealed under a key only the requester holds,
    pinned, and committed to in the opening brief; `reveal` publishes its key.
    `confidence_bps`: the acceptance rule's confidence (F12; the default 9,900 when None),
    sealed in the brief. `max_epsilon`: the largest epsilon an update may state (an off-chain term sealed in the
    brief; the oracles score an update above it, or without a privacy statement, INVALID)."""
    extra_terms: dict[str, Any] = {"max_epsilon": max_epsilon} if max_epsilon is not None else {}
    if confidence_bps is not None:
        extra_terms["confidence_bps"] = confidence_bps
    max_epsilon_of(extra_terms)  # a bad value fails before anything is sent
    significance.confidence_of(extra_terms)
    check_bounty(initial, validation, terms, test_set)
    paillier_keys = _encrypted_mode_keys(initial, terms, admitted, clear, max_epsilon) if encrypted_weights else None
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
    test_key = test_salt = test_cid = None
    if test_set is not None:  # F14: sealed for the requester alone; the brief carries its commitment
        test_key, test_salt = new_key(), pysecrets.token_bytes(32)
        test_cid = store.add(seal_for(pack_validation(*test_set), {me: public_key_of(private_key)}, predicted,
                                      "validation", me, key=test_key, **domain))
        extra_terms["test_set"] = {"cid": test_cid, "rows": int(len(test_set[1]["y"])),
                                   "commitment": commitment(cid_to_chain(test_cid), test_key, test_salt).hex()}
    brief = json.dumps({"brief": BRIEF_VERSION, "validation": val_cid, "validation_salt": sealed_salt.hex()} | extra_terms,
                       sort_keys=True).encode()

    def artefacts(bounty_id: int) -> tuple[str, str, bytes | None]:
        model_blob = pack_model(*initial)
        if paillier_keys is not None:
            public, secret = paillier_keys
            model_key = new_key()
            sealed_secret = seal_for(json.dumps(secret.to_json(), sort_keys=True).encode(), committee_keys, bounty_id,
                                     "validation", me, key=model_key, **domain)  # exactly the committee (F13)
            mode = {"encryption": {"scheme": "paillier", "public_key": public.to_json(), "secret_key": sealed_secret.hex()}}
            head = encrypted.encrypt_container(secret, unpack_model(model_blob))
            return store.add(head.pack()), store.add(json.dumps(json.loads(brief) | mode, sort_keys=True).encode()), model_key
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
    if bounty_id != predicted and not clear and not encrypted_weights:
        # another bounty was opened first: re-seal under the real id (the validation set is
        # bound by the on-chain commitment instead)
        model_cid, ring_cid, model_key = artefacts(bounty_id)
        market.send(market.market.functions.setInitialModel(bounty_id, cid_to_chain(model_cid)))
        market.set_keyring(bounty_id, cid_to_chain(ring_cid))
    secrets = BountySecrets(bounty_id, model_key, validation_key, salt, val_cid, test_key, test_salt, test_cid, encrypted_weights, seat_key)
    secrets.save(data_dir)
    return secrets


def _encrypted_mode_keys(initial: tuple[dict[str, Any], dict[str, np.ndarray]], terms: dict[str, Any], admitted: Any,
                         clear: bool, max_epsilon: float | None) -> tuple[paillier.PublicKey, paillier.SecretKey]:
    """The encrypted-weights mode's checks (before anything is pinned or escrowed), then a
    fresh 2048-bit Paillier key pair."""
    if clear:
        raise FathomError("--encrypted-weights and --clear contradict each other: the model is either public or encrypted")
    if all(int(m, 16) == 0 for m in terms["committee"]):
        # the Paillier secret is sealed for exactly the committee (F13); a drawn committee is
        # not known at opening and the seat key (C4) does not carry it yet
        raise FathomError("--encrypted-weights needs a named committee (--committee A,B,C): the Paillier secret key "
                          "is sealed for exactly the committee, which a drawn committee is not yet when the bounty opens")
    if admitted:
        raise FathomError("an encrypted-weights bounty admits nobody to a keyring: anyone may contribute on the "
                          "ciphertexts, and only the committee holds the key")
    if max_epsilon is not None:
        raise FathomError("--max-epsilon cannot be required with --encrypted-weights: a contributor cannot clip an "
                          "update it cannot see, so no epsilon can be stated in this mode (README)")
    try:
        encrypted.check_budget(initial[0], int(terms["batchSize"]), int(terms["scoringTimeout"]))
    except (encrypted.EncryptedModeError, models.ModelError) as exc:
        raise FathomError(f"--encrypted-weights: {exc}") from None
    return paillier.generate_keypair(paillier.DEFAULT_KEY_BITS)


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
            raise FathomError(f"bounty {bid} is cancelled: its first draw found too few oracles whose policy accepts "
                              "its terms, or nobody drew within its drawing half (C4, O7; 5% of the reward and the "
                              "draw deposit were burned, C5)")
        if view["drawBlock"] == 0 and all(int(m, 16) for m in members):
            seat_committee(market, store, private_key, secrets)
            return members
        # C4: the draw lands in its half's seed block or later (on a local chain the loop mines to
        # the block before it), never in the half's first blocks
        if view["drawBlock"] and market.w3.eth.block_number >= market.seed_block(view["drawBlock"]) - 1:
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
    if secrets.encrypted_weights:
        raise FathomError(f"bounty {secrets.bounty_id} is in the encrypted-weights mode: anyone may contribute on the "
                          "ciphertexts, and the keyring stays the plain brief")
    reader = BountyReader(market, store, secrets.bounty_id, model_key=secrets.model_key)
    ring = reader.fetch(reader.keyring_cid)
    new = {a: market.public_key(a) for a in contributors}
    cid = store.add(extend_keyring(ring, secrets.model_key, new, author=account_address(private_key)))
    market.set_keyring(secrets.bounty_id, cid_to_chain(cid))
    return cid


def reveal(market: Market, secrets: BountySecrets, store: Store | None = None, private_key: bytes | None = None) -> Any:
    """The reveal (E2): the validation key, salt and model key on chain; then, for a bounty
    with a held-out test set (F14), a new keyring whose brief adds the test set's key and
    salt (`publish_test_key`). Only after the on-chain reveal, which the contract allows
    once the bounty has ended: the test set is never readable before."""
    if secrets.test_key is not None and (store is None or private_key is None):
        raise FathomError(f"bounty {secrets.bounty_id} has a held-out test set: revealing it needs the store and "
                          "the requester's key")
    receipt = market.reveal(secrets.bounty_id, cid_to_chain(secrets.validation_cid), secrets.validation_key,
                            secrets.salt, secrets.model_key or b"\0" * 32)
    if secrets.test_key is not None:
        publish_test_key(market, store, private_key, secrets)  # type: ignore[arg-type]
    return receipt


def publish_test_key(market: Market, store: Store, private_key: bytes, secrets: BountySecrets) -> str:
    """Publish the held-out test set's key and salt (F14) in a keyring whose brief is the
    opening brief plus ``"test_set_key"`` and ``"test_salt"`` (the same model key, wrapped
    for the committee; after the reveal anyone opens it with the revealed model key).
    Refused before the validation reveal. Returns the keyring's CID."""
    if revealed_keys(market, secrets.bounty_id) is None:
        raise FathomError(f"bounty {secrets.bounty_id} is not revealed: its test set stays sealed until then")
    me = account_address(private_key)
    reader = BountyReader(market, store, secrets.bounty_id, private_key, model_key=secrets.model_key)
    brief = dict(reader.opening_brief)
    brief.update({"test_set_key": secrets.test_key.hex(), "test_salt": secrets.test_salt.hex()})  # type: ignore[union-attr]
    note = json.dumps(brief, sort_keys=True).encode()
    if secrets.model_key is None:  # in the clear: the keyring is the brief itself
        cid = store.add(note)
    else:
        chain_id, market_address = reader.domain
        cid = store.add(build_keyring(secrets.model_key, reader.recipients(), secrets.bounty_id, me, note=note,
                                      chain_id=chain_id, market=market_address))
    market.set_keyring(secrets.bounty_id, cid_to_chain(cid))
    return cid


def held_out_report(market: Market, store: Store, bounty_id: int, private_key: bytes | None = None) -> dict[str, Any]:
    """The held-out test set (F14), as anyone checks it: ``status`` is

    - ``"none"``: the opening brief names no test set;
    - ``"sealed"``: the opening brief cannot be read yet (before the reveal, without a key);
    - ``"not revealed"``: the brief commits to a test set whose key was not published;
    - ``"mismatch"``: the published key and salt do not match the commitment in the
      opening brief (``keccak256(abi.encode(cid, key, salt))``), or do not open the set:
      the requester swapped it, and no score is shown;
    - ``"scored"``: the head model's score on it (``score``, and ``units`` at the bounty's
      resolution), beside the validation score (``validation``: the head's recorded one)."""
    keys = revealed_keys(market, bounty_id)
    model_key = keys[1] if keys is not None and any(keys[1]) else None
    reader = BountyReader(market, store, bounty_id, private_key, model_key=model_key)
    out: dict[str, Any] = {"status": "sealed", "rows": None}
    try:
        opening = reader.opening_brief
    except FathomError:
        return out
    test = opening.get("test_set")
    if not isinstance(test, dict):
        return {"status": "none", "rows": None}
    out.update({"status": "not revealed", "rows": test.get("rows"), "cid": test.get("cid")})
    published = [b for b in reader.keyring_briefs() if "test_set_key" in b]
    if not published:
        return out
    try:
        key, salt = bytes.fromhex(published[-1]["test_set_key"]), bytes.fromhex(published[-1]["test_salt"])
        if commitment(cid_to_chain(test["cid"]), key, salt).hex() != str(test["commitment"]).removeprefix("0x"):
            return out | {"status": "mismatch", "reason": "the published key and salt are not the ones committed to"}
        opened = open_envelope(reader.fetch(test["cid"]), key=key, expect_kind="validation")
        test_val = unpack_validation(opened.plaintext)
    except (FathomError, KeyError, TypeError, ValueError) as exc:
        return out | {"status": "mismatch", "reason": f"the committed test set does not open: {exc}"}
    versions = reader.versions()
    head = reader.model(len(versions) - 1)
    check_validation_fits(head, test_val)
    value = models.score(head.manifest, head.arrays, test_val.X, test_val.y)
    resolution = reader.params["resolution"]
    return out | {"status": "scored", "rows": len(test_val.y), "version": len(versions) - 1, "score": value,
                  "units": protocol.quantise(value, resolution), "validation": versions[-1].score,
                  "metric": head.metric}


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


def bounty_mode(market: Market, store: Store, bounty_id: int, private_key: bytes | None = None) -> dict[str, Any]:
    """How a bounty protects its model, and its privacy terms, as any reader sees them:
    ``mode`` is ``encrypted-weights`` (contributors get Paillier ciphertexts only, F13),
    ``sealed`` (models under a model key, for the committee and admitted contributors) or
    ``clear``; ``max_epsilon`` is the opening brief's largest epsilon (None: not required;
    ``"sealed"``: the brief is sealed and this caller cannot read it)."""
    reader = BountyReader(market, store, bounty_id, private_key)
    out: dict[str, Any] = {"mode": "clear", "max_epsilon": None, "paillier_bits": None}
    try:
        brief = reader.opening_brief
    except FathomError:  # a sealed keyring this caller is not a recipient of
        return {"mode": "sealed", "max_epsilon": "sealed", "paillier_bits": None}
    if reader.paillier_public is not None:
        out.update(mode="encrypted-weights", paillier_bits=reader.paillier_public.bits)
    elif not reader.clear:
        out["mode"] = "sealed"
    out["max_epsilon"] = max_epsilon_of(brief)
    return out


MODE_TEXT = {
    "encrypted-weights": "encrypted weights (Paillier, {bits} bits): contributors train on ciphertexts and cannot read "
                         "or score the model; the committee holds the key, published at the reveal",
    "sealed": "sealed models (the model key opens them: the committee and admitted contributors)",
    "clear": "models in the clear",
}


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
    """Per contributor: submissions, accepted (merged: UpdateMerged)/rejected/slashed counts,
    rewards and burned stake."""
    per: dict[str, dict[str, int]] = {}
    for e in market.events(bounty_id=bounty_id, outcomes=True):
        if e.name in ("UpdateMerged", "SubmissionRejected", "StakeSlashed", "SubmissionReceived"):
            who = e["contributor"]
            row = per.setdefault(who, {"submitted": 0, "accepted": 0, "rejected": 0, "slashed": 0, "reward": 0, "burned": 0})
            if e.name == "SubmissionReceived":
                row["submitted"] += 1
            elif e.name == "UpdateMerged":
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
    content keys: those members disclosed on chain after close (KeysDisclosed, each checked
    against its envelope's key commitment before use, so a wrong one is passed over) and
    `update_keys` (by CID; these take precedence). `sealed` counts the updates it could not
    open: not differences.
    Each report is recomputed by the acceptance rule (F12) against the head it was scored
    on, and each version's score is its merged model's report (the merged model against its
    parent, as the members report it, R5); `submissions` gives, per update
    that opened, its paired comparison with that head (the mean difference, the bounds and
    the verdict). A version whose named merged model is not parent + update is a
    difference (F5)."""
    keys = revealed_keys(market, bounty_id)
    if keys is None:
        raise FathomError(f"bounty {bounty_id} is not revealed yet: the audit needs the revealed keys")
    validation_key, model_key = keys
    reader = BountyReader(market, store, bounty_id, private_key, model_key=model_key if any(model_key) else None,
                          validation_key=validation_key, update_keys=update_keys)
    for cid, key in reader.disclosed_on_chain().items():  # F2: members' disclosures after close
        reader.update_keys.setdefault(cid, key)
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
    unavailable: list[dict[str, Any]] = []  # R7a: what a member reported it could not fetch
    for e in events:
        if e.name != "ReportPosted":
            continue
        k = int(e["batch"])
        chain_scores = report_scores(bytes(e["scores"]))
        for i, (chain_score, q) in enumerate(zip(chain_scores, rescore_batch(k, len(chain_scores)))):
            if chain_score == protocol.UNAVAILABLE:
                # availability at the member's report deadline cannot be re-checked after the
                # fact: listed, never a difference (the contract judges no member on it, R7a)
                unavailable.append({"batch": k, "submission": k * batch_size + i, "oracle": e["oracle"]})
                continue
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
        elif v.submission_id is not None:  # a version's score is its merged model's report (F12, R5)
            parent = model_of(v.parent)
            rescored = None
            if model is not None and parent is not None:
                delta = {n: (model.arrays[n].astype(np.float64) - parent.arrays[n]).astype(np.float32) for n in model.arrays}
                ((q, _diff),) = significance.batch_reports(parent.manifest, parent.arrays, [delta], val.X, val.y,
                                                           versions[v.parent].score, resolution, higher, confidence)
                rescored = protocol.INVALID if q is None else q
        else:
            rescored = None
        checked_versions.append({"version": v.number, "chain": v.score, "rescored": rescored})
        if rescored is not None and v.score is not None and abs(rescored - v.score) > tolerance:
            differences.append({"what": f"version {v.number}", "chain": v.score, "rescored": rescored})
    test = held_out_report(market, store, bounty_id, private_key)
    if test["status"] == "mismatch":  # the requester swapped its held-out test set (F14)
        differences.append({"what": "the held-out test set", "chain": "committed in the opening brief",
                            "rescored": f"does not match: {test.get('reason')}"})
    return {"bounty": bounty_id, "versions": checked_versions, "reports": checked_reports,
            "sealed": len(sealed_ids) + len(unopened), "differences": differences, "submissions": compared,
            "test_set": test, "unavailable": unavailable}

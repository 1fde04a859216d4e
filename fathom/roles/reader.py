"""One bounty's artefacts, as any role sees them: its brief, models, lineage, validation set.

Where things come from:
- the bounty's parameters: the BountyOpened event (the raw BountyParams);
- the keyring and initial model: the latest KeyringSet / InitialModelSet event, else the
  parameters. The keyring's authenticated plaintext is the *brief*, a small JSON
  document from the requester (version `BRIEF_VERSION`): `{"brief": 2, "validation": CID,
  "validation_salt": hex}` (optionally `"test_set"`: the held-out test set's CID, rows and
  commitment, F14; a later brief adds its `"test_set_key"` and `"test_salt"`), where `validation_salt` is the
  commitment's salt sealed under the validation key (so only the committee, and everyone
  after the reveal, can read it);
- version v's model: the merged model named by VersionAccepted(v) (version 0 is the
  initial model);
- the validation set: the brief's CID, opened with the oracle's account key (it is
  wrapped for the committee only) or, after the reveal, with the revealed key, and used
  only once `keccak256(abi.encode(cid, validationKey, salt))` equals the bounty's on-chain
  `validationCommitment` (`committed_validation`): a keyring that points to another
  validation set is refused (`ValidationSwapped`).
- a drawn committee (rule C4) is not known when the bounty opens: the validation set and
  the opening keyring are sealed for a *seat key* the requester makes, and once the draw
  has seated the members the requester publishes a keyring that wraps the model key for
  them too and whose brief carries `"seat_key"`, the seat key's private half sealed for the
  members only (`seat_key`, `seated`). The seat key opens nothing the requester cannot
  already read; updates stay sealed for the members themselves (F2).

A bounty "in the clear" publishes its models as plain containers (no envelope), and its
keyring carries the brief with no secret (`"clear": true`).

A bounty in the **encrypted-weights mode** (SPECIFICATION F13) publishes its keyring as the
plain brief too, with `"encryption": {"scheme": "paillier", "public_key": {...},
"secret_key": hex}`: the Paillier public key, and the secret key sealed for exactly the
committee under the bounty's model key (revealed at the reveal). Its models are plain
containers version 4 whose weights are Paillier ciphertexts: a contributor reads them only
as ciphertexts (`encrypted_model`); a member (or, after the reveal, anyone) opens the
secret key (`paillier_secret`) and reads them, and every update, in the clear.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from fathom.ml import encrypted
from fathom.ml.models import ModelError
from fathom.ml.artefacts import (ArtefactSchemaError, Model, Update, ValidationSet, unpack_model, unpack_update,
                                 unpack_validation)
from fathom.crypto import paillier
from fathom.crypto.envelope import MAGIC as ENVELOPE_MAGIC
from fathom.crypto.envelope import BadWrap, NotARecipient, Opened, key_commitment, open_envelope, read_header
from fathom.errors import FathomError
from fathom.chain.market import Event, Market
from fathom.storage.store import Store, cid_from_chain

#: The largest artefact any role downloads (checked by the store before reading).
MAX_ARTEFACT_BYTES = 64 * 1024 * 1024

#: The brief's format (its "brief" field); 2 added the sealed commitment salt. Readers
#: refuse any other version rather than guess what a field means.
BRIEF_VERSION = 2


class ValidationSwapped(FathomError):
    """The validation set the keyring names is not the one the bounty committed to on chain."""


@dataclass(frozen=True)
class Version:
    number: int
    cid: str | None  # None: no report named this version's merged model (see model())
    parent: int
    score: int
    author: str
    submission_id: int | None
    reward: int
    update: str | None = None  # the CID of the merged update with the largest share
    #: every update merged into this version (R5): (CID, author), in submission-id order
    merged: tuple[tuple[str, str], ...] = ()


class BountyReader:
    """Read one bounty's state, history and artefacts (decrypting where the key allows)."""

    def __init__(self, market: Market, store: Store, bounty_id: int, private_key: bytes | None = None,
                 model_key: bytes | None = None, validation_key: bytes | None = None,
                 update_keys: dict[str, bytes] | None = None):
        self.market = market
        #: content keys of updates by CID, disclosed by committee members after settlement;
        #: each is checked against its envelope's key commitment when used
        self.update_keys = dict(update_keys or {})
        self.store = store
        self.bounty_id = bounty_id
        self.private_key = private_key
        self._model_key = model_key
        self._validation_key = validation_key
        self._events: list[Event] | None = None
        self._models: dict[tuple, Model] = {}
        #: versions whose named merged model is not parent + update (see `model`)
        self.mismatched: dict[int, str] = {}
        self._committee: tuple[list[Event] | None, list[str]] | None = None

    # ------------------------------------------------------------ chain

    def refresh(self, to_block: int | str = "latest") -> list[Event]:
        self._events = self.market.events(bounty_id=self.bounty_id, to_block=to_block)
        return self._events

    @property
    def events(self) -> list[Event]:
        return self._events if self._events is not None else self.refresh()

    @cached_property
    def params(self) -> dict[str, Any]:
        for ev in self.events:
            if ev.name == "BountyOpened":
                return ev["params"]
        raise FathomError(f"bounty {self.bounty_id} was not opened on this chain (no BountyOpened event)")

    @property
    def requester(self) -> str:
        return next(ev["requester"] for ev in self.events if ev.name == "BountyOpened")

    def _latest(self, name: str, field: str, default: Any) -> Any:
        value = default
        for ev in self.events:
            if ev.name == name:
                value = tuple(ev[field])
        return value

    @property
    def keyring_cid(self) -> str:
        digest, codec = self._latest("KeyringSet", "keyring", tuple(self.params["keyring"]))
        return cid_from_chain(digest, codec)

    @property
    def initial_cid(self) -> str:
        digest, codec = self._latest("InitialModelSet", "model", tuple(self.params["initialModel"]))
        return cid_from_chain(digest, codec)

    def versions(self) -> list[Version]:
        out = [Version(0, self.initial_cid, 0, self.baseline_score(), self.requester, None, 0)]
        received = {int(ev["submissionId"]): ev for ev in self.events if ev.name == "SubmissionReceived"}
        for ev in self.events:
            if ev.name == "VersionAccepted":
                digest, codec = ev["merged"]
                merged = cid_from_chain(digest, codec) if any(digest) else None
                ids = sorted(int(e["submissionId"]) for e in self.events if e.name == "UpdateMerged" and e.tx == ev.tx)
                parts = tuple((cid_from_chain(*received[i]["update"]), received[i]["contributor"]) for i in ids if i in received)
                out.append(Version(int(ev["version"]), merged, int(ev["parent"]), int(ev["score"]), ev["author"],
                                   int(ev["submissionId"]), int(ev["reward"]), cid_from_chain(*ev["update"]), parts))
        return out

    def baseline_score(self) -> int | None:
        for ev in self.events:
            if ev.name == "BaselineSet":
                return int(ev["score"])
        return None

    # ------------------------------------------------------------ keys and brief

    def fetch(self, cid: str, max_size: int | None = None, deadline: float | None = None) -> bytes:
        """The content of `cid`: at most `max_size` bytes (default MAX_ARTEFACT_BYTES), by
        `deadline` (a `time.monotonic()` instant; None: the store's own timeout)."""
        limit = MAX_ARTEFACT_BYTES if max_size is None else min(max_size, MAX_ARTEFACT_BYTES)
        return self.store.cat(cid, limit, deadline=deadline)

    @cached_property
    def _keyring(self) -> Opened | None:
        return self._open_keyring(self.keyring_cid)

    def _open_keyring(self, cid: str) -> Opened | None:
        blob = self.fetch(cid)
        if not blob.startswith(ENVELOPE_MAGIC):
            return None  # a bounty in the clear: the keyring is the plain brief
        if self._model_key is not None:
            return open_envelope(blob, key=self._model_key, expect_kind="keyring")
        if self.private_key is None:
            raise FathomError(f"bounty {self.bounty_id}'s models are encrypted: opening them needs an account key")
        try:
            return open_envelope(blob, private_key=self.private_key, expect_kind="keyring", expect_author=self.requester)
        except NotARecipient:
            # the opening keyring of a drawn committee is sealed for the seat key (C4)
            seat = self.seat_key if cid != self.keyring_cid else None
            if seat is None:
                raise
            return open_envelope(blob, private_key=seat, expect_kind="keyring", expect_author=self.requester)

    @cached_property
    def seat_key(self) -> bytes | None:
        """A drawn committee's seat key (C4), if the current brief seals it for this reader."""
        sealed = self.brief.get("seat_key")
        if not isinstance(sealed, str) or self.private_key is None:
            return None
        try:
            return open_envelope(bytes.fromhex(sealed), private_key=self.private_key, expect_bounty_id=self.bounty_id,
                                 expect_kind="validation", expect_author=self.requester).plaintext
        except NotARecipient:
            return None

    def seated(self) -> bool:
        """Whether the requester has published the keyring that seats this reader on a drawn
        committee (C4): read afresh from the chain, since it comes some blocks after the draw."""
        self.refresh()
        for name in ("_keyring", "brief", "seat_key"):
            self.__dict__.pop(name, None)
        try:
            return self.seat_key is not None
        except NotARecipient:
            return False

    @property
    def clear(self) -> bool:
        return self._keyring is None

    @property
    def model_key(self) -> bytes | None:
        ring = self._keyring
        return None if ring is None else ring.key

    @cached_property
    def brief(self) -> dict[str, Any]:
        """The brief of the bounty's current keyring (the requester may publish new ones)."""
        return self._brief(self.keyring_cid, self._keyring)

    @cached_property
    def opening_brief(self) -> dict[str, Any]:
        """The brief of the keyring the bounty was opened with (`BountyOpened`): what the
        terms that must not change while batches are scored are read from (the acceptance
        rule's confidence, F12; the largest epsilon, F11). A later keyring could otherwise
        switch them between two members' reads and make honest members disagree."""
        cid = cid_from_chain(*tuple(self.params["keyring"]))
        return self._brief(cid, self._keyring if cid == self.keyring_cid else self._open_keyring(cid))

    def keyring_briefs(self) -> list[dict[str, Any]]:
        """The brief of every keyring the bounty named (the opening one first, then each
        `KeyringSet` in chain order) that this reader can open; the others are left out.
        What a later keyring adds (the held-out test set's key, F14) is read from here."""
        cids = [cid_from_chain(*tuple(self.params["keyring"]))]
        cids += [cid_from_chain(*tuple(ev["keyring"])) for ev in self.events if ev.name == "KeyringSet"]
        out = []
        for cid in cids:
            try:
                out.append(self._brief(cid, self._open_keyring(cid)))
            except FathomError:  # not ours to open, not fetchable, or no readable brief
                continue
        return out

    def _brief(self, cid: str, ring: Opened | None) -> dict[str, Any]:
        raw = self.fetch(cid) if ring is None else ring.plaintext
        try:
            brief = json.loads(raw.decode() or "{}")
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise FathomError(f"bounty {self.bounty_id}'s keyring carries no readable brief") from None
        if not isinstance(brief, dict):
            raise FathomError(f"bounty {self.bounty_id}'s brief is not a JSON object")
        if brief.get("brief") != BRIEF_VERSION:
            raise FathomError(f"bounty {self.bounty_id}'s brief has format {brief.get('brief')!r}; "
                              f"this version of fathom reads format {BRIEF_VERSION}")
        return brief

    @cached_property
    def encryption(self) -> dict[str, Any] | None:
        """The encrypted-weights mode's part of the *opening* brief (a later keyring cannot
        switch the key under the members), checked; None for a bounty in another mode. The
        mode's keyring is the plain brief: a sealed keyring is another mode's, known without
        opening it (so readers without a key, an auditor, still open updates)."""
        if self.fetch(cid_from_chain(*tuple(self.params["keyring"]))).startswith(ENVELOPE_MAGIC):
            return None
        doc = self.opening_brief.get("encryption")
        if doc is None:
            return None
        if (not isinstance(doc, dict) or set(doc) != {"scheme", "public_key", "secret_key"} or doc["scheme"] != "paillier"
                or not isinstance(doc["secret_key"], str)):
            raise FathomError(f"bounty {self.bounty_id}'s brief has a malformed 'encryption' part")
        return doc

    @cached_property
    def paillier_public(self) -> paillier.PublicKey | None:
        """The bounty's Paillier public key (encrypted-weights mode), else None."""
        doc = self.encryption
        if doc is None:
            return None
        try:
            return paillier.PublicKey.from_json(doc["public_key"])
        except paillier.PaillierError as exc:
            raise FathomError(f"bounty {self.bounty_id}'s Paillier public key is malformed: {exc}") from None

    @cached_property
    def paillier_secret(self) -> paillier.SecretKey:
        """The bounty's Paillier secret key, for a committee member (its account key opens
        it: it is sealed for exactly the committee) or, after the reveal, for whoever holds
        the revealed model key. A contributor's path never calls this: it cannot open it.
        Failing here is never an update's fault, so it is a plain FathomError (the oracle
        quarantines the bounty), never a RejectionError (which would score updates INVALID)."""
        public = self.paillier_public
        if public is None:
            raise FathomError(f"bounty {self.bounty_id} is not in the encrypted-weights mode")
        chain_id, market = self.domain
        expect = {"expect_bounty_id": self.bounty_id, "expect_kind": "validation", "expect_chain_id": chain_id,
                  "expect_market": market, "expect_author": self.requester}
        try:
            blob = bytes.fromhex(self.encryption["secret_key"])  # type: ignore[index]
            if self._model_key is not None:
                opened = open_envelope(blob, key=self._model_key, **expect)
            elif self.private_key is not None:
                opened = open_envelope(blob, private_key=self.private_key, **expect)
            else:
                raise FathomError("it opens with a committee member's key, or after the reveal with the model key")
            members = {m.lower() for m in self.committee()}
            if {r.lower() for r in opened.recipients} != members:
                raise FathomError(f"it is sealed for {', '.join(opened.recipients)}, not exactly for the committee")
            secret = paillier.SecretKey.from_json(json.loads(opened.plaintext))
        except (FathomError, ValueError) as exc:
            raise FathomError(f"bounty {self.bounty_id}'s Paillier secret key cannot be opened here: {exc}") from None
        if secret.public != public:
            raise FathomError(f"bounty {self.bounty_id}'s sealed Paillier secret key is not the brief's public key's")
        return secret

    def encrypted_model(self, version: int) -> tuple[dict[str, Any], encrypted.EncryptedWeights]:
        """Version v's model as Paillier ciphertexts, checked to be under the bounty's public
        key, with the manifest of what they encode (architecture, layers, metric, features):
        all a contributor of an encrypted-weights bounty ever gets of the model."""
        public = self.paillier_public
        if public is None:
            raise FathomError(f"bounty {self.bounty_id} is not in the encrypted-weights mode")
        versions = self.versions()
        if not 0 <= version < len(versions):
            raise FathomError(f"bounty {self.bounty_id} has no version {version} (head is {len(versions) - 1})")
        cid = versions[version].cid
        if cid is None:
            raise FathomError(f"version {version} of bounty {self.bounty_id} has no published encrypted model (no "
                              "report named one): wait for the next version")
        model = unpack_model(self.fetch(cid))
        return encrypted.plain_manifest(model.manifest), encrypted.from_container(model, public)

    def seal_model(self, model: Model, author: str) -> bytes:
        """The bytes a member pins for a version's model, the same on every honest member
        (F5): in the clear, the container; under the model key, sealed with a nonce derived
        from the content and `author` (the version's author); in the encrypted-weights mode,
        the container version 4 of its Paillier ciphertexts (`encrypted.encrypt_container`)."""
        from fathom.crypto.envelope import seal_with_key

        if self.paillier_public is not None:
            return encrypted.encrypt_container(self.paillier_secret, model).pack()
        key = self.model_key
        return model.pack() if key is None else seal_with_key(model.pack(), key, self.bounty_id, "model", author)

    def recipients(self) -> dict[str, bytes]:
        """Who an update is sealed for: the committee, exactly (F2). Never the requester,
        which reads no update before settlement (only merged models, with the model key)."""
        return {m: self.market.public_key(m) for m in self.committee()}

    def committee(self) -> list[str]:
        """The bounty's committee (checksummed addresses): read once per `refresh` of the
        events, so that opening a batch of updates costs one call, not one per update."""
        if self._committee is None or self._committee[0] is not self._events:
            self._committee = (self._events, self.market.committee(self.bounty_id)[0])
        return list(self._committee[1])

    @cached_property
    def domain(self) -> tuple[int, str]:
        """(chain id, market address): the deployment every envelope of this bounty is bound to."""
        return int(self.market.w3.eth.chain_id), self.market.address

    # ------------------------------------------------------------ artefacts

    def open_model(self, cid: str) -> Model:
        blob = self.fetch(cid)
        if blob.startswith(ENVELOPE_MAGIC):
            key = self.model_key
            if key is None:
                raise FathomError(f"model {cid} is encrypted but bounty {self.bounty_id} publishes no model key")
            blob = open_envelope(blob, key=key, expect_bounty_id=self.bounty_id, expect_kind="model").plaintext
        model = unpack_model(blob)
        if self.paillier_public is None:
            if model.encrypted:
                raise FathomError(f"model {cid} holds Paillier ciphertexts, but bounty {self.bounty_id} is not in the "
                                  "encrypted-weights mode")
            return model
        if not model.encrypted:
            raise FathomError(f"model {cid} of encrypted-weights bounty {self.bounty_id} holds plaintext weights")
        if self.private_key is None and self._model_key is None:
            raise FathomError(f"bounty {self.bounty_id}'s model is Paillier-encrypted: only its committee reads it "
                              "(and everyone after the reveal); contributors train on the ciphertexts")
        return encrypted.decrypt_head(self.paillier_secret, model)

    def model(self, version: int) -> Model:
        """Version v's model, checked (rule F5, issue 14.9): whoever can open the accepted
        update (a committee member, or whoever holds its disclosed key) rebuilds it as
        `model(parent) + update` (the merge is deterministic) and uses that, whatever merged
        CID the chain names: a merged model that differs from it (a backdoor with the same
        score) is not used, and is listed in `mismatched` (version -> the named CID), which
        the audit reports. Whoever cannot open updates (a
        contributor) gets the named merged model as it is; when no report named one, only
        the committee, or whoever holds the disclosed key, can have the version."""
        versions = self.versions()
        if not 0 <= version < len(versions):
            raise FathomError(f"bounty {self.bounty_id} has no version {version} (head is {len(versions) - 1})")
        v = versions[version]
        key = (version, v.cid, v.update, v.parent)  # a re-org that rewrites the version misses the cache
        cached = self._models.get(key)
        if cached is not None:
            return cached
        rebuilt = self._rebuilt(v) if version > 0 else None
        if v.cid is None:
            if rebuilt is None:
                raise FathomError(f"version {version} of bounty {self.bounty_id} has no published merged model; "
                                  "only a committee member (or whoever holds the update's disclosed key) can rebuild it")
            model = rebuilt
        else:
            model = self.open_model(v.cid)
            if rebuilt is not None and rebuilt.pack() != model.pack():
                self.mismatched[version] = v.cid  # the audit reports it; everyone here uses the rebuilt one
                model = rebuilt
        self._models[key] = model
        return model

    def _rebuilt(self, v: Version) -> Model | None:
        """`model(parent) + update` for whoever can open v's update (a committee member, or
        whoever holds its disclosed key), else None. A version that merged several updates
        (R5) is checked against them all: the named merged model must be parent + a
        non-negative combination of their deltas (`aggregate.check_merged`); when it is not,
        the rebuilt one is parent + the update with the largest share (exact, and
        significant on its own), and the named one is not used."""
        from fathom.crypto.envelope import NotARecipient
        from fathom.ml.aggregate import check_merged
        from fathom.ml.artefacts import apply_update

        from fathom.storage.store import StoreError

        if v.update is None:
            return None
        parts = v.merged if len(v.merged) > 1 else ((v.update, v.author),)
        updates = []
        for cid, author in parts:
            disclosed = self.update_keys.get(cid)
            if self.private_key is None and disclosed is None:
                return None
            try:
                updates.append(self.open_update(cid, author, self.private_key, key=disclosed))
            except (NotARecipient, StoreError):  # not ours to open, or gone from the store: cannot check
                return None
        parent = self.model(v.parent)
        cids = [cid for cid, _ in parts]
        alone = apply_update(parent, updates[cids.index(v.update) if v.update in cids else 0])
        if len(updates) > 1 and v.cid is not None:
            named = self.open_model(v.cid)
            if check_merged(parent.arrays, named.arrays, [u.arrays for u in updates]):
                return named
        # one update, or several and none named or not their combination: the weights need the
        # validation set, the best one alone does not
        if self.paillier_public is not None:  # what the members encrypt, and so what decrypts (F13)
            return Model(alone.manifest, encrypted.canonical(alone.arrays))
        return alone

    def validation(self) -> ValidationSet:
        return self.committed_validation()[0]

    def committed_validation(self, known: tuple[str, bytes] | None = None) -> tuple[ValidationSet, str, bytes]:
        """The validation set, its CID and the commitment's salt, once checked against the
        bounty's on-chain `validationCommitment`. `known` (a CID and salt checked before, as
        an oracle keeps them) wins over the current brief, so a later keyring that names
        another set changes nothing; without it, a brief whose set does not match the
        commitment raises ValidationSwapped."""
        from fathom.chain.market import commitment
        from fathom.storage.store import cid_to_chain

        if known is not None:
            cid, salt = known[0], known[1]
        else:
            cid, salt = self.brief.get("validation"), None
            if not cid:
                raise FathomError(f"bounty {self.bounty_id}'s brief names no validation set")
        blob = self.fetch(cid)
        if self._validation_key is not None:
            opened = open_envelope(blob, key=self._validation_key, expect_kind="validation")
        else:
            if self.private_key is None:
                raise FathomError("the validation set is wrapped for the committee: opening it needs an oracle's key")
            seat = self.seat_key  # a drawn committee's (C4); a named committee's set is wrapped for each member
            opened = open_envelope(blob, private_key=seat if seat is not None else self.private_key,
                                   expect_kind="validation")
        if salt is None:
            sealed = self.brief.get("validation_salt")
            if not isinstance(sealed, str):
                raise ValidationSwapped(f"bounty {self.bounty_id}'s brief carries no validation salt: its "
                                        "validation set cannot be checked against the commitment")
            salt = open_envelope(bytes.fromhex(sealed), key=opened.key, expect_kind="validation").plaintext
        if commitment(cid_to_chain(cid), opened.key, salt) != bytes(self.params["validationCommitment"]):
            raise ValidationSwapped(f"bounty {self.bounty_id}: the validation set {cid} named by the keyring is not "
                                    "the one committed on chain (keccak256(cid, key, salt) differs)")
        return unpack_validation(opened.plaintext), cid, salt

    def open_update(self, cid: str, contributor: str, private_key: bytes | None = None,
                    blob: bytes | None = None, key: bytes | None = None) -> Update:
        """An update (fetched now, or `blob` fetched before), decrypted and checked (F2): its
        authenticated author must be the submitter, it must be bound to this chain and
        market, every wrap must be the content key's own (`open_envelope` re-encrypts them),
        and its recipients must be exactly the committee. So an update opens for every
        member or for none: one a member cannot open (its wrap is bad, or it is left
        out) is refused by the members that can. `key`: the content key itself (a key
        disclosed after settlement, checked against the envelope's key commitment)."""
        from fathom.crypto.envelope import check_author

        blob = self.fetch(cid) if blob is None else blob
        chain_id, market = self.domain
        if key is not None:
            opened = open_envelope(blob, key=key, expect_bounty_id=self.bounty_id, expect_kind="update",
                                   expect_chain_id=chain_id, expect_market=market)
        else:
            opened = open_envelope(blob, private_key=private_key or self.private_key, expect_bounty_id=self.bounty_id,
                                   expect_kind="update", expect_chain_id=chain_id, expect_market=market)
        check_author(opened, contributor)
        members = self.committee()
        if {m.lower() for m in members} != {r.lower() for r in opened.recipients}:
            raise BadWrap(f"the update is sealed for {', '.join(opened.recipients)}, not for the committee "
                          f"({', '.join(members)}): it must open for every member or for none")
        update = unpack_update(opened.plaintext)
        if self.paillier_public is None and not update.encrypted:
            return update
        if self.paillier_public is None:
            raise ArtefactSchemaError(f"the update holds Paillier ciphertexts, but bounty {self.bounty_id} is not in the "
                                      "encrypted-weights mode", reason="mismatch")
        secret = self.paillier_secret  # a member's own failure to open it is a FathomError, never the update's fault
        try:
            return encrypted.open_update(secret, update)
        except (encrypted.EncryptedModeError, ModelError) as exc:  # another key, wrong shape, out of range: invalid
            raise ArtefactSchemaError(f"encrypted update refused: {exc}", reason="mismatch") from None

    def disclose(self, updates: dict[str, str]) -> dict[str, bytes]:
        """A member's disclosure after settlement (F2): the content key of each update
        (`{cid: submitter}`) that it can open and that is well formed, as `{cid: key}`. Whoever
        receives the keys passes them as `update_keys`; each is checked against its
        envelope's key commitment (and every wrap re-encrypted) when it is used, so a
        wrong key discloses nothing and is refused. Updates that do not open are left out."""
        from fathom.crypto.envelope import check_author

        chain_id, market = self.domain
        out: dict[str, bytes] = {}
        for cid, contributor in updates.items():
            try:
                opened = open_envelope(self.fetch(cid), private_key=self.private_key, expect_bounty_id=self.bounty_id,
                                       expect_kind="update", expect_chain_id=chain_id, expect_market=market)
                check_author(opened, contributor)
            except FathomError:
                continue
            out[cid] = opened.key
        return out

    def disclosed_on_chain(self) -> dict[str, bytes]:
        """The update keys members disclosed on chain once the bounty closed (KeysDisclosed,
        F2), by CID: for each update, the first disclosed key that matches its envelope's key
        commitment. A wrong key (a member's mistake or lie) is passed over, never trusted: the
        update then stays sealed to this reader, never made invalid by it. An update that
        cannot be fetched, or whose envelope does not parse, is left out too."""
        candidates = Market.disclosed_keys(self.events, self.bounty_id)
        received = {int(ev["submissionId"]): ev for ev in self.events if ev.name == "SubmissionReceived"}
        out: dict[str, bytes] = {}
        for sid, keys in sorted(candidates.items()):
            if sid not in received:
                continue
            try:
                cid = cid_from_chain(*received[sid]["update"])
                committed = read_header(self.fetch(cid)).key_commitment
            except FathomError:
                continue
            key = next((k for k in keys if key_commitment(k) == committed), None)
            if key is not None:
                out[cid] = key
        return out

    def update_header_author(self, cid: str) -> str:
        return read_header(self.fetch(cid)).author

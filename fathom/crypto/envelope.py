"""Keys, key wrapping and the encrypted envelope every artefact travels in.

Nothing here is hand-rolled cryptography: secp256k1 comes from `coincurve` (the
libsecp256k1 binding eth-keys uses), AES-256-GCM and HKDF-SHA256 from `cryptography`,
keccak and checksummed addresses from `eth_utils`. This module only decides how they
are combined, and it is the only module of Fathom that imports them.

Keys
----
A *private key* is 32 bytes (a secp256k1 scalar). A *public key* is the 64-byte
uncompressed point ``x || y`` without the ``0x04`` prefix, exactly what the on-chain
KeyRegistry stores; its address is the last 20 bytes of ``keccak256(x || y)``.

Key wrapping (ECIES on secp256k1)
---------------------------------
``wrap_key(key32, recipient_pub64)`` returns 81 bytes::

    ephemeral public key, compressed (33) || AES-256-GCM(key32) (32) || tag (16)

The AES key and nonce are ``HKDF-SHA256(ikm = x coordinate of ECDH(ephemeral,
recipient), salt = none, info = "fathom/v1/ecies-wrap" || ephemeral_pub33 ||
recipient_pub64, length = 44)`` split 32 | 12; the GCM associated data is the info label.

The wrap is *deterministic* (version 2): the ephemeral secret is
``HKDF-SHA256(ikm = key32, info = "fathom/v2/ecies-ephemeral" || recipient_pub64)``
reduced into [1, n-1], so one (key, recipient) pair has exactly one wrap. Whoever holds
the key can therefore re-encrypt it for every recipient and compare (a Fujisaki-Okamoto
style check): `open_envelope` does so for every listed recipient, and refuses the whole
envelope (`BadWrap`) if any wrap differs. A content key is used for one artefact only
(or is the bounty's model key, in keyrings), and whoever can open a wrap already knows
the key, so deriving the ephemeral secret from it reveals nothing new.

Envelope (version 2), all integers big-endian::

    offset     size   field
    0          4      magic  b"FTHM"
    4          1      version = 2
    5          1      flags = 0 (reserved)
    6          4      H = header length (uint32)
    10         8      C = ciphertext length including the 16-byte GCM tag (uint64)
    18         H      header: canonical JSON (sorted keys, no spaces, ASCII)
    18+H       12     GCM nonce
    30+H       C      AES-256-GCM ciphertext || tag

The whole prefix ``blob[0 : 18+H]`` (magic, version, flags, both lengths, header) is the
GCM associated data, and GCM authenticates the nonce, so changing any byte anywhere
makes decryption fail. The header is::

    {"author": "0xChecksummed", "bounty_id": 7, "chain_id": 31337, "key_commitment": "<64 hex>",
     "key_mode": "wrapped" | "model", "kind": "update" | "model" | "validation" | "keyring",
     "market": "0xChecksummed",
     "recipients": [{"address": "0xChecksummed", "public_key": "<128 hex>",
                     "wrapped_key": "<162 hex>"}, ...]}

``recipients`` is sorted by address and empty in ``"model"`` mode (models are encrypted
under the bounty's model key, distributed by the keyring). Kind ``"model"`` is always in
model mode and every other kind is always wrapped. Each recipient's public key is
listed (and must hash to its address), so that any opener can re-encrypt every wrap.

``chain_id`` and ``market`` (version 2) name the deployment the artefact was sealed for:
the chain id and the BountyMarket's address. They are part of the authenticated header,
so an envelope copied to another chain or another market fails `check_context`
(reason ``wrong_market``): the oracle and every reader of updates pass their own.
``chain_id = 0`` with the zero address is an *unbound* envelope (offline tools, tests);
a reader that expects a deployment refuses it.

From the content key K (32 bytes) three independent subkeys are derived with
HKDF-SHA256 (info ``fathom/v1/envelope-aes``, ``fathom/v1/envelope-nonce``,
``fathom/v1/key-commitment``): the AES key, a nonce key, and the *key commitment*
written in the header. For models and keyrings (under the bounty's long-lived model
key) the nonce is ``HMAC-SHA256(nonce_key, len(aad) || aad || plaintext)[:12]``, so the
same key, header and plaintext always give the same bytes (every honest oracle pins the
same merged-model CID) while different content gets a different nonce. Updates and
validation sets have a fresh content key each, so their nonce is random (which spares a
SHA-256 pass over the data). The key commitment makes the envelope key-committing: GCM alone is
not, and without it an author could craft one ciphertext that decrypts to *different*
updates for different oracles (wrapping a different key for each), setting honest
oracles against one another. With it, every recipient that opens an envelope gets the
same key, hence the same plaintext, or an error. It also lets a wrong key be told
apart from a tampered ciphertext.

What the envelope does not prove: the header's author is authenticated by the content
key, not signed. Anyone without the key (every other contributor) cannot produce an
envelope naming a different author around someone else's update, so copying a CID and
submitting it as one's own fails the author check. A *recipient* (who holds the key)
could re-seal the plaintext under its own name; an update's recipients are the committee
only (never the requester), and its author publishes it only once its submission is
mined, so a copy always lands second. Since version 2 the wraps are checked: an author
that wraps a wrong key for one chosen recipient (to make it disagree with the others and be slashed as deviant) gets an
envelope that every opener refuses (`BadWrap`), and the recipient whose wrap is bad
cannot open it either: all recipients agree that it is invalid. Readers of updates also
check that the recipients are exactly the committee (`fathom.roles.reader`), so leaving a
member out is refused the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import struct
from functools import lru_cache
from dataclasses import dataclass, field
from typing import Any, Mapping

from coincurve import PrivateKey, PublicKey
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from eth_utils import is_checksum_address, is_hex_address, keccak, to_checksum_address

from fathom.errors import FathomError, RejectionError

__all__ = [
    "AuthorMismatch",
    "BadMagic",
    "BadWrap",
    "CryptoError",
    "DEFAULT_MAX_ENVELOPE_BYTES",
    "ENVELOPE_VERSION",
    "EnvelopeError",
    "EnvelopeFormatError",
    "EnvelopeHeader",
    "EnvelopeMismatch",
    "EnvelopeTampered",
    "EnvelopeTooLarge",
    "EnvelopeTruncated",
    "InvalidKey",
    "KINDS",
    "MAGIC",
    "MAX_HEADER_BYTES",
    "MAX_RECIPIENTS",
    "NotARecipient",
    "Opened",
    "REASONS",
    "Recipient",
    "UnsupportedVersion",
    "UNBOUND",
    "WRAPPED_KEY_BYTES",
    "WrongKey",
    "account_address",
    "address_of",
    "build_keyring",
    "check_author",
    "check_context",
    "check_wraps",
    "extend_keyring",
    "generate_private_key",
    "key_commitment",
    "keyring_recipients",
    "load_private_key",
    "new_key",
    "normalize_address",
    "normalize_public_key",
    "open_envelope",
    "open_keyring",
    "public_key_of",
    "read_header",
    "seal_for",
    "seal_with_key",
    "unwrap_key",
    "wrap_key",
]

# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------


#: Why an envelope (or a key) was refused, as `CryptoError.reason` (a stable code; the
#: message has the detail): format (framing: magic, version, flags, lengths, trailing
#: bytes), header (its JSON or fields), truncated, too_large, not_recipient, wrong_key (a
#: key that does not match the commitment), auth (GCM or the wrapped key fails: altered
#: bytes), wrong_bounty, wrong_kind, wrong_author, key (a malformed key or address),
#: bad_wrap (the key is wrapped wrongly for some recipient: refused by every opener),
#: wrong_market (sealed for another chain or market).
REASONS = ("format", "header", "truncated", "too_large", "not_recipient", "wrong_key", "auth", "wrong_bounty", "wrong_kind",
           "wrong_author", "key", "bad_wrap", "wrong_market")


class CryptoError(RejectionError):
    """Base of every error of this module.

    `reason` is one of `REASONS`: the class's default unless the raise names a finer one.
    """

    REASONS = REASONS
    reason = "key"


class InvalidKey(CryptoError):
    """A private key, public key, symmetric key or address is malformed."""


class EnvelopeError(CryptoError):
    """An envelope cannot be read or opened. The oracle settles these as *invalid*."""

    reason = "format"


class EnvelopeFormatError(EnvelopeError):
    """The bytes are not a well-formed envelope (header, lengths, trailing bytes)."""


class BadMagic(EnvelopeFormatError):
    """The bytes do not start with the envelope magic ``FTHM``."""


class UnsupportedVersion(EnvelopeFormatError):
    """The envelope's format version is not one this code reads."""


class EnvelopeTruncated(EnvelopeError):
    """The envelope ends before the lengths in its prefix say it should."""

    reason = "truncated"


class EnvelopeTooLarge(EnvelopeError):
    """The envelope, its header or its recipient list exceeds a size limit."""

    reason = "too_large"


class NotARecipient(EnvelopeError):
    """The private key's address has no wrapped key in the envelope."""

    reason = "not_recipient"


class WrongKey(EnvelopeError):
    """The key does not match the envelope's key commitment (or the commitment was altered)."""

    reason = "wrong_key"


class EnvelopeTampered(EnvelopeError):
    """Authentication failed: some byte of the header, a wrapped key, nonce, ciphertext or tag changed."""

    reason = "auth"


class EnvelopeMismatch(EnvelopeError):
    """The envelope is authentic but is not what was expected (bounty, kind or author)."""

    reason = "wrong_kind"


class BadWrap(EnvelopeError):
    """Some recipient's wrapped key is not the deterministic wrap of the content key.

    Every opener raises this for the same envelope, and the recipient whose wrap is bad
    cannot open it at all: the envelope is invalid for the whole committee alike.
    """

    reason = "bad_wrap"


class AuthorMismatch(EnvelopeMismatch):
    """The authenticated author is not the address that submitted the artefact on chain."""

    reason = "wrong_author"


# ---------------------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------------------

MAGIC = b"FTHM"
ENVELOPE_VERSION = 2
#: (chain id, market address) of an envelope bound to no deployment.
UNBOUND = (0, "0x0000000000000000000000000000000000000000")
_PREFIX = struct.Struct(">4sBBIQ")  # magic, version, flags, header length, ciphertext length
_NONCE_BYTES = 12
_TAG_BYTES = 16
_KEY_BYTES = 32
#: Size of one wrapped key: compressed ephemeral public key + encrypted key + tag.
WRAPPED_KEY_BYTES = 33 + _KEY_BYTES + _TAG_BYTES
#: Largest header accepted (1 MiB is ~4000 recipients; MAX_RECIPIENTS binds first).
MAX_HEADER_BYTES = 1 << 20
MAX_RECIPIENTS = 1024
#: Default cap on a whole envelope: a 256 MiB artefact plus its header and framing.
DEFAULT_MAX_ENVELOPE_BYTES = (256 << 20) + MAX_HEADER_BYTES + _PREFIX.size + _NONCE_BYTES + _TAG_BYTES

KINDS = ("update", "model", "validation", "keyring")
_MODE_WRAPPED = "wrapped"
_MODE_MODEL = "model"
_MAX_UINT256 = (1 << 256) - 1
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

_ECIES_INFO = b"fathom/v1/ecies-wrap"
_INFO_AES = b"fathom/v1/envelope-aes"
_INFO_NONCE = b"fathom/v1/envelope-nonce"
#: Kinds sealed under the bounty's model key, whose bytes must be reproducible.
_DETERMINISTIC_KINDS = frozenset({"model", "keyring"})
_INFO_COMMIT = b"fathom/v1/key-commitment"
_ECIES_EPHEMERAL_INFO = b"fathom/v2/ecies-ephemeral"
_HEADER_KEYS = frozenset({"author", "bounty_id", "chain_id", "key_commitment", "key_mode", "kind", "market", "recipients"})
_RECIPIENT_KEYS = frozenset({"address", "public_key", "wrapped_key"})

# ---------------------------------------------------------------------------------------
# Keys and addresses
# ---------------------------------------------------------------------------------------


def generate_private_key() -> bytes:
    """A fresh random secp256k1 private key (32 bytes)."""
    return PrivateKey().secret


def new_key() -> bytes:
    """A fresh random 32-byte symmetric key (a content key, the bounty's model key...)."""
    return secrets.token_bytes(_KEY_BYTES)


def load_private_key(value: str | bytes) -> bytes:
    """A private key from 64 hex digits (``0x`` optional) or 32 raw bytes, range-checked."""
    if isinstance(value, str):
        text = value.strip()
        if text[:2].lower() == "0x":
            text = text[2:]
        if len(text) != 2 * _KEY_BYTES:
            raise InvalidKey(f"a private key is 64 hex digits, got {len(text)} characters")
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raise InvalidKey("a private key must be hexadecimal") from None
    elif isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        if len(raw) != _KEY_BYTES:
            raise InvalidKey(f"a private key is 32 bytes, got {len(raw)}")
    else:
        raise InvalidKey(f"a private key is hex text or 32 bytes, not {type(value).__name__}")
    if not 0 < int.from_bytes(raw, "big") < _SECP256K1_N:
        raise InvalidKey("private key out of range for secp256k1 (zero or >= the group order)")
    return raw


def normalize_public_key(public_key: bytes) -> bytes:
    """The 64-byte ``x || y`` form of a public key given as 64, 65 (``0x04``) or 33 bytes.

    Raises InvalidKey unless the bytes are a point of secp256k1.
    """
    if not isinstance(public_key, (bytes, bytearray, memoryview)):
        raise InvalidKey(f"a public key is bytes, not {type(public_key).__name__}")
    raw = bytes(public_key)
    if len(raw) == 64:
        raw = b"\x04" + raw
    elif len(raw) not in (33, 65):
        raise InvalidKey(f"a public key is 64 bytes (x || y), got {len(raw)}")
    try:
        point = PublicKey(raw)
    except Exception:  # coincurve raises ValueError for points off the curve
        raise InvalidKey("public key is not a point of secp256k1") from None
    return point.format(compressed=False)[1:]


def public_key_of(private_key: str | bytes) -> bytes:
    """The 64-byte uncompressed public key (``x || y``) the KeyRegistry stores."""
    return PrivateKey(load_private_key(private_key)).public_key.format(compressed=False)[1:]


def address_of(public_key: bytes) -> str:
    """The checksummed address of a public key: the last 20 bytes of ``keccak256(x || y)``."""
    return _address_of(normalize_public_key(public_key))


@lru_cache(maxsize=4096)
def _address_of(public64: bytes) -> str:
    return to_checksum_address(keccak(public64)[12:])


def account_address(private_key: str | bytes) -> str:
    """The checksummed address that a private key controls."""
    return address_of(public_key_of(private_key))


def normalize_address(address: str) -> str:
    """The checksummed form of an address; mixed case must already be a valid checksum."""
    if not isinstance(address, str):
        raise InvalidKey(f"not an address: {address!r}")
    return _normalize_address(address)


@lru_cache(maxsize=4096)
def _normalize_address(address: str) -> str:
    # a pure function of the string (errors are not cached): the committee's and the
    # requester's addresses recur in every envelope, and each checksum costs a keccak
    if not is_hex_address(address):
        raise InvalidKey(f"not an address: {address!r}")
    body = address[2:] if address[:2].lower() == "0x" else address
    if body != body.lower() and body != body.upper() and not is_checksum_address(address):
        raise InvalidKey(f"address {address} has a bad checksum")
    return to_checksum_address(address)


def _as_key32(key: bytes, what: str = "key") -> bytes:
    if not isinstance(key, (bytes, bytearray, memoryview)) or len(key) != _KEY_BYTES:
        got = len(key) if isinstance(key, (bytes, bytearray, memoryview)) else type(key).__name__
        raise InvalidKey(f"the {what} must be 32 bytes, got {got}")
    return bytes(key)


def _hkdf(ikm: bytes, info: bytes, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(ikm)


def key_commitment(key: bytes) -> bytes:
    """The 32-byte commitment to a content key written in every envelope header.

    A keyring and every model of its bounty carry the same commitment, so a model can be
    matched to its keyring without decrypting either. It reveals nothing about the key.
    """
    return _hkdf(_as_key32(key), _INFO_COMMIT)


# ---------------------------------------------------------------------------------------
# ECIES key wrapping
# ---------------------------------------------------------------------------------------


def _ecies_cipher(shared_x: bytes, ephemeral_pub33: bytes, recipient_pub64: bytes) -> tuple[AESGCM, bytes]:
    okm = _hkdf(shared_x, _ECIES_INFO + ephemeral_pub33 + recipient_pub64, _KEY_BYTES + _NONCE_BYTES)
    return AESGCM(okm[:_KEY_BYTES]), okm[_KEY_BYTES:]


def wrap_key(key: bytes, recipient_public_key: bytes) -> bytes:
    """Encrypt a 32-byte key for the holder of a public key (81 bytes; see module doc).

    Deterministic: the same key and recipient always give the same bytes, so anyone who
    holds the key can check a wrap by recomputing it (`check_wraps`).
    """
    key = _as_key32(key)
    recipient64 = normalize_public_key(recipient_public_key)
    return _wrap(key, recipient64)


@lru_cache(maxsize=1024)
def _wrap(key: bytes, recipient64: bytes) -> bytes:
    # the ephemeral secret from (key, recipient), reduced into [1, n-1]
    seed = _hkdf(key, _ECIES_EPHEMERAL_INFO + recipient64)
    ephemeral = PrivateKey((int.from_bytes(seed, "big") % (_SECP256K1_N - 1) + 1).to_bytes(32, "big"))
    ephemeral33 = ephemeral.public_key.format(compressed=True)
    shared_x = PublicKey(b"\x04" + recipient64).multiply(ephemeral.secret).format(compressed=False)[1:33]
    aead, nonce = _ecies_cipher(shared_x, ephemeral33, recipient64)
    return ephemeral33 + aead.encrypt(nonce, key, _ECIES_INFO)


def unwrap_key(wrapped: bytes, private_key: str | bytes) -> bytes:
    """Recover a key wrapped for this private key.

    Raises WrongKey when the bytes do not decrypt: either they were wrapped for another
    key or they were altered (the two cannot be told apart from the wrapped key alone).
    """
    secret = load_private_key(private_key)
    wrapped = bytes(wrapped)
    if len(wrapped) != WRAPPED_KEY_BYTES:
        raise WrongKey(f"a wrapped key is {WRAPPED_KEY_BYTES} bytes, got {len(wrapped)}")
    ephemeral33 = wrapped[:33]
    try:
        ephemeral = PublicKey(ephemeral33)
    except Exception:
        raise WrongKey("the wrapped key's ephemeral public key is not a point of secp256k1") from None
    recipient64 = PrivateKey(secret).public_key.format(compressed=False)[1:]
    shared_x = ephemeral.multiply(secret).format(compressed=False)[1:33]
    aead, nonce = _ecies_cipher(shared_x, ephemeral33, recipient64)
    try:
        return aead.decrypt(nonce, wrapped[33:], _ECIES_INFO)
    except InvalidTag:
        raise WrongKey("the wrapped key does not decrypt with this private key (wrong key or altered bytes)") from None


# ---------------------------------------------------------------------------------------
# Envelope
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    address: str
    wrapped_key: bytes = field(repr=False)
    public_key: bytes = field(default=b"", repr=False)  # 64 bytes x || y (version 2)


@dataclass(frozen=True)
class EnvelopeHeader:
    """An envelope's header as read from the bytes, NOT authenticated.

    Use it to reject early (wrong bounty, wrong author, not addressed to me) before
    doing work; trust only the `Opened` that `open_envelope` returns.
    """

    version: int
    bounty_id: int
    kind: str
    author: str
    key_mode: str  # "wrapped" (keys per recipient) or "model" (the bounty's model key)
    key_commitment: bytes
    recipients: tuple[Recipient, ...]
    chain_id: int = 0
    market: str = UNBOUND[1]

    @property
    def recipient_addresses(self) -> tuple[str, ...]:
        return tuple(r.address for r in self.recipients)


@dataclass(frozen=True)
class Opened:
    """An authenticated, decrypted envelope: every field here was checked by AES-GCM."""

    version: int
    bounty_id: int
    kind: str
    author: str
    key_mode: str
    recipients: tuple[str, ...]
    plaintext: bytes = field(repr=False)
    #: The content key (the validation key a requester reveals; the model key of a keyring).
    key: bytes = field(repr=False)
    chain_id: int = 0
    market: str = UNBOUND[1]


@dataclass(frozen=True)
class _Parsed:
    header: EnvelopeHeader
    aad: bytes
    nonce: bytes
    ciphertext: bytes


def _check_bounty_id(bounty_id: Any) -> int:
    if isinstance(bounty_id, bool) or not isinstance(bounty_id, int) or not 0 <= bounty_id <= _MAX_UINT256:
        raise EnvelopeFormatError(f"bounty id must be an integer in [0, 2**256), got {bounty_id!r}", reason="header")
    return bounty_id


def _check_kind(kind: Any) -> str:
    if kind not in KINDS:
        raise EnvelopeFormatError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}", reason="header")
    return kind


def _mode_for(kind: str) -> str:
    return _MODE_MODEL if kind == "model" else _MODE_WRAPPED


def _check_domain(chain_id: Any, market: Any) -> tuple[int, str]:
    if isinstance(chain_id, bool) or not isinstance(chain_id, int) or not 0 <= chain_id <= _MAX_UINT256:
        raise EnvelopeFormatError(f"chain id must be an integer in [0, 2**256), got {chain_id!r}", reason="header")
    return chain_id, normalize_address(market)


def _encode_header(bounty_id: int, kind: str, author: str, key: bytes, recipients: list[Recipient],
                   domain: tuple[int, str]) -> bytes:
    document = {
        "author": author,
        "bounty_id": bounty_id,
        "chain_id": domain[0],
        "key_commitment": key_commitment(key).hex(),
        "key_mode": _mode_for(kind),
        "kind": kind,
        "market": domain[1],
        "recipients": [{"address": r.address, "public_key": r.public_key.hex(), "wrapped_key": r.wrapped_key.hex()}
                       for r in recipients],
    }
    return _canonical_json(document)


def _canonical_json(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _hex_field(value: Any, size: int, what: str) -> bytes:
    if not isinstance(value, str) or len(value) != 2 * size or value != value.lower():
        raise EnvelopeFormatError(f"header {what} must be {2 * size} lowercase hex digits", reason="header")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise EnvelopeFormatError(f"header {what} must be {2 * size} lowercase hex digits", reason="header") from None


def _checksummed(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _is_checksummed(value):
        raise EnvelopeFormatError(f"header {what} must be a checksummed address, got {value!r}", reason="header")
    return value


@lru_cache(maxsize=4096)
def _is_checksummed(value: str) -> bool:
    return is_hex_address(value) and is_checksum_address(value)


def _decode_header(raw: bytes, version: int) -> EnvelopeHeader:
    try:
        document = json.loads(raw.decode("ascii"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise EnvelopeFormatError(f"header is not JSON: {exc}", reason="header") from None
    if not isinstance(document, dict):
        raise EnvelopeFormatError("header must be a JSON object", reason="header")
    if set(document) != _HEADER_KEYS:
        missing = sorted(_HEADER_KEYS - set(document))
        extra = sorted(set(document) - _HEADER_KEYS)
        raise EnvelopeFormatError(f"header keys wrong: missing {missing}, unexpected {extra}", reason="header")
    bounty_id = _check_bounty_id(document["bounty_id"])
    chain_id = document["chain_id"]
    if isinstance(chain_id, bool) or not isinstance(chain_id, int) or not 0 <= chain_id <= _MAX_UINT256:
        raise EnvelopeFormatError(f"header chain_id must be an integer in [0, 2**256), got {chain_id!r}", reason="header")
    market = _checksummed(document["market"], "market")
    kind = _check_kind(document["kind"])
    author = _checksummed(document["author"], "author")
    mode = document["key_mode"]
    if mode != _mode_for(kind):
        raise EnvelopeFormatError(f"a {kind!r} envelope must use key mode {_mode_for(kind)!r}, got {mode!r}", reason="header")
    commitment = _hex_field(document["key_commitment"], 32, "key_commitment")
    entries = document["recipients"]
    if not isinstance(entries, list):
        raise EnvelopeFormatError("header recipients must be a list", reason="header")
    if len(entries) > MAX_RECIPIENTS:
        raise EnvelopeTooLarge(f"{len(entries)} recipients, more than the limit of {MAX_RECIPIENTS}")
    if mode == _MODE_MODEL and entries:
        raise EnvelopeFormatError("an envelope under the model key must not list recipients", reason="header")
    if mode == _MODE_WRAPPED and not entries:
        raise EnvelopeFormatError(f"a {kind!r} envelope must list at least one recipient", reason="header")
    recipients = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or set(entry) != _RECIPIENT_KEYS:
            raise EnvelopeFormatError(f"recipient {index} must have exactly 'address', 'public_key' and 'wrapped_key'",
                                      reason="header")
        address = _checksummed(entry["address"], f"recipient {index} address")
        public = _hex_field(entry["public_key"], 64, f"recipient {index} public_key")
        try:
            owner = address_of(public)
        except InvalidKey:
            raise EnvelopeFormatError(f"recipient {index} public_key is not a point of secp256k1", reason="header") from None
        if owner != address:
            raise EnvelopeFormatError(f"recipient {index} public_key belongs to {owner}, not {address}", reason="header")
        recipients.append(Recipient(address, _hex_field(entry["wrapped_key"], WRAPPED_KEY_BYTES, f"recipient {index} wrapped_key"),
                                    public))
    lowered = [r.address.lower() for r in recipients]
    if lowered != sorted(set(lowered)):
        raise EnvelopeFormatError("header recipients must be sorted by address without duplicates", reason="header")
    if _canonical_json(document) != raw:
        # Same content, other spelling (spaces, key order, escapes, duplicate keys): the
        # header must have exactly one encoding, so that read_header sees what GCM binds.
        raise EnvelopeFormatError("header is not in canonical JSON form", reason="header")
    return EnvelopeHeader(version, bounty_id, kind, author, mode, commitment, tuple(recipients), chain_id, market)


def _parse(blob: bytes, max_size: int) -> _Parsed:
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise EnvelopeFormatError(f"an envelope is bytes, not {type(blob).__name__}")
    size = len(blob)
    if size > max_size:
        raise EnvelopeTooLarge(f"envelope is {size} bytes, more than the limit of {max_size}")
    if bytes(blob[:4]) != MAGIC[: min(size, 4)]:
        raise BadMagic(f"not a Fathom envelope: starts with {bytes(blob[:4])!r}, expected {MAGIC!r}")
    if size < _PREFIX.size:
        raise EnvelopeTruncated(f"envelope is {size} bytes, shorter than its {_PREFIX.size}-byte prefix")
    _, version, flags, header_len, body_len = _PREFIX.unpack_from(blob, 0)
    if version != ENVELOPE_VERSION:
        raise UnsupportedVersion(f"envelope version {version} is not supported (this code reads version {ENVELOPE_VERSION})")
    if flags != 0:
        raise EnvelopeFormatError(f"envelope flags must be 0, got {flags}")
    if header_len > MAX_HEADER_BYTES:
        raise EnvelopeTooLarge(f"header claims {header_len} bytes, more than the limit of {MAX_HEADER_BYTES}")
    if body_len < _TAG_BYTES:
        raise EnvelopeFormatError(f"ciphertext length {body_len} is shorter than the {_TAG_BYTES}-byte tag")
    expected = _PREFIX.size + header_len + _NONCE_BYTES + body_len
    if expected > max_size:
        raise EnvelopeTooLarge(f"envelope claims {expected} bytes, more than the limit of {max_size}")
    if size < expected:
        raise EnvelopeTruncated(f"envelope is {size} bytes but its prefix says {expected}")
    if size > expected:
        raise EnvelopeFormatError(f"{size - expected} unexpected bytes after the end of the envelope")
    blob = bytes(blob)
    header_end = _PREFIX.size + header_len
    header = _decode_header(blob[_PREFIX.size : header_end], version)
    return _Parsed(header, blob[:header_end], blob[header_end : header_end + _NONCE_BYTES], blob[header_end + _NONCE_BYTES :])


def read_header(blob: bytes, *, max_size: int = DEFAULT_MAX_ENVELOPE_BYTES) -> EnvelopeHeader:
    """Parse and validate an envelope's framing and header without decrypting.

    The result is NOT authenticated: anyone can write any header. Use it to skip work
    early (not addressed to me, wrong bounty, author not the submitter); decide only on
    what `open_envelope` returns.
    """
    return _parse(blob, max_size).header


def _subkeys(key: bytes) -> tuple[AESGCM, bytes]:
    return AESGCM(_hkdf(key, _INFO_AES)), _hkdf(key, _INFO_NONCE)


def _seal(plaintext: bytes, key: bytes, recipients: list[Recipient], bounty_id: int, kind: str, author: str, max_size: int,
          domain: tuple[int, str] = UNBOUND) -> bytes:
    if not isinstance(plaintext, (bytes, bytearray, memoryview)):
        raise TypeError(f"plaintext must be bytes, not {type(plaintext).__name__}")
    plaintext = bytes(plaintext)
    bounty_id = _check_bounty_id(bounty_id)
    kind = _check_kind(kind)
    author = normalize_address(author)
    if len(recipients) > MAX_RECIPIENTS:
        raise EnvelopeTooLarge(f"{len(recipients)} recipients, more than the limit of {MAX_RECIPIENTS}")
    header = _encode_header(bounty_id, kind, author, key, recipients, _check_domain(*domain))
    if len(header) > MAX_HEADER_BYTES:
        raise EnvelopeTooLarge(f"header would be {len(header)} bytes, more than the limit of {MAX_HEADER_BYTES}")
    body_len = len(plaintext) + _TAG_BYTES
    total = _PREFIX.size + len(header) + _NONCE_BYTES + body_len
    if total > max_size:
        raise EnvelopeTooLarge(f"envelope would be {total} bytes, more than the limit of {max_size}")
    aad = _PREFIX.pack(MAGIC, ENVELOPE_VERSION, 0, len(header), body_len) + header
    aead, nonce_key = _subkeys(key)
    if kind in _DETERMINISTIC_KINDS:
        # under the bounty's long-lived model key: a synthetic nonce, so every honest
        # oracle seals the same bytes (and pins the same CID) and no two contents share one
        mac = hmac.new(nonce_key, struct.pack(">Q", len(aad)), hashlib.sha256)
        mac.update(aad)
        mac.update(plaintext)
        nonce = mac.digest()[:_NONCE_BYTES]
    else:
        # a fresh content key per artefact (updates, validation sets): nothing needs these
        # bytes to be reproducible, so a random nonce spares a SHA-256 pass over the data
        nonce = secrets.token_bytes(_NONCE_BYTES)
    return aad + nonce + aead.encrypt(nonce, plaintext, aad)


def _wrap_for(key: bytes, recipients: Mapping[str, bytes]) -> list[Recipient]:
    if not isinstance(recipients, Mapping):
        raise TypeError("recipients must be a mapping of address to 64-byte public key")
    if not recipients:
        raise EnvelopeFormatError("an envelope sealed for recipients needs at least one recipient")
    wrapped: dict[str, Recipient] = {}
    for address, public_key in recipients.items():
        checksummed = normalize_address(address)
        actual = address_of(public_key)
        if actual != checksummed:
            raise InvalidKey(f"public key given for {checksummed} belongs to {actual}")
        if checksummed.lower() in wrapped:
            raise EnvelopeFormatError(f"recipient {checksummed} is listed twice")
        public64 = normalize_public_key(public_key)
        wrapped[checksummed.lower()] = Recipient(checksummed, _wrap(key, public64), public64)
    return [wrapped[a] for a in sorted(wrapped)]


def seal_for(
    plaintext: bytes,
    recipients: Mapping[str, bytes],
    bounty_id: int,
    kind: str,
    author: str,
    *,
    key: bytes | None = None,
    chain_id: int = UNBOUND[0],
    market: str = UNBOUND[1],
    max_size: int = DEFAULT_MAX_ENVELOPE_BYTES,
) -> bytes:
    """Encrypt under a content key wrapped for each recipient (address -> 64-byte public key).

    The content key is fresh and random unless `key` is given (a requester that must
    later reveal its validation key generates it with `new_key()` and passes it here).
    Each public key must belong to the address it is listed under. For updates and
    validation sets, list the committee (exactly: readers of updates refuse any other
    set). `chain_id` and `market` bind the envelope to one deployment (module doc).
    """
    if _check_kind(kind) == "model":
        raise EnvelopeFormatError("models are sealed under the bounty's model key: use seal_with_key")
    if kind == "keyring":
        raise EnvelopeFormatError("keyrings wrap the model key itself: use build_keyring")
    key = new_key() if key is None else _as_key32(key, "content key")
    return _seal(plaintext, key, _wrap_for(key, recipients), bounty_id, kind, author, max_size, (chain_id, market))


def seal_with_key(
    plaintext: bytes,
    key: bytes,
    bounty_id: int,
    kind: str,
    author: str,
    *,
    chain_id: int = UNBOUND[0],
    market: str = UNBOUND[1],
    max_size: int = DEFAULT_MAX_ENVELOPE_BYTES,
) -> bytes:
    """Encrypt a model under the bounty's model key, deterministically.

    Identical (plaintext, key, bounty id, kind, author) give identical bytes, hence the
    same CID on every honest oracle; any difference gives a different nonce. For a merged
    model the author must be deterministic too: use the version's author (the contributor
    whose update was merged; the requester for version 0), never the oracle's own address.
    """
    if _check_kind(kind) != "model":
        raise EnvelopeFormatError(f"only models are sealed under the model key; seal a {kind!r} with seal_for")
    return _seal(plaintext, _as_key32(key, "model key"), [], bounty_id, kind, author, max_size, (chain_id, market))


def open_envelope(
    blob: bytes,
    private_key: str | bytes | None = None,
    key: bytes | None = None,
    *,
    expect_bounty_id: int | None = None,
    expect_kind: str | None = None,
    expect_author: str | None = None,
    expect_chain_id: int | None = None,
    expect_market: str | None = None,
    max_size: int = DEFAULT_MAX_ENVELOPE_BYTES,
) -> Opened:
    """Authenticate and decrypt an envelope, with a recipient's private key or the content key.

    `private_key` finds its own wrapped key (wrapped mode only); `key` is the content key
    itself (the bounty's model key for models; a revealed validation key). The `expect_*`
    arguments are checked after authentication and raise EnvelopeMismatch/AuthorMismatch.

    In wrapped mode every recipient's wrap is re-encrypted from the content key and
    compared (`check_wraps`): an envelope with any bad wrap raises BadWrap for everyone.

    Errors, all EnvelopeError: BadMagic, UnsupportedVersion, EnvelopeFormatError,
    EnvelopeTruncated, EnvelopeTooLarge, NotARecipient, WrongKey, EnvelopeTampered, BadWrap.
    """
    if (private_key is None) == (key is None):
        raise TypeError("open_envelope needs exactly one of private_key or key")
    parsed = _parse(blob, max_size)
    header = parsed.header
    if private_key is not None:
        if header.key_mode != _MODE_WRAPPED:
            raise WrongKey("this envelope is under the bounty's model key: open the keyring first, then pass key=")
        me = account_address(private_key)
        entry = next((r for r in header.recipients if r.address == me), None)
        if entry is None:
            raise NotARecipient(f"{me} is not a recipient of this {header.kind} (recipients: {', '.join(header.recipient_addresses)})")
        try:
            content_key = unwrap_key(entry.wrapped_key, private_key)
        except WrongKey:
            raise EnvelopeTampered(f"the key wrapped for {me} does not decrypt: the envelope was altered") from None
        if not hmac.compare_digest(key_commitment(content_key), header.key_commitment):
            raise EnvelopeTampered(f"the key wrapped for {me} does not match the header's key commitment")
    else:
        content_key = _as_key32(key, "key")  # type: ignore[arg-type]
        if not hmac.compare_digest(key_commitment(content_key), header.key_commitment):
            raise WrongKey(f"this key does not open the {header.kind} (it does not match the header's key commitment, or the commitment was altered)")
    aead, _ = _subkeys(content_key)
    try:
        plaintext = aead.decrypt(parsed.nonce, parsed.ciphertext, parsed.aad)
    except InvalidTag:
        raise EnvelopeTampered(f"{header.kind} failed authentication: its header, nonce, ciphertext or tag was altered") from None
    # authentic (the author wrote this header): now every wrap must be the key's own
    check_wraps(header, content_key)
    opened = Opened(
        version=header.version,
        bounty_id=header.bounty_id,
        kind=header.kind,
        author=header.author,
        key_mode=header.key_mode,
        recipients=header.recipient_addresses,
        plaintext=plaintext,
        key=content_key,
        chain_id=header.chain_id,
        market=header.market,
    )
    check_context(opened, bounty_id=expect_bounty_id, kind=expect_kind, author=expect_author, chain_id=expect_chain_id,
                  market=expect_market)
    return opened


def check_wraps(header: EnvelopeHeader, content_key: bytes) -> None:
    """Raise BadWrap unless every recipient's wrap is the deterministic wrap of `content_key`.

    Run by every opener (`open_envelope`), whichever way it got the key: the members that
    can open an envelope with one bad wrap all refuse it, and the member whose wrap is
    bad cannot open it, so the whole committee agrees that it is invalid.
    """
    for r in header.recipients:
        if not hmac.compare_digest(_wrap(content_key, r.public_key), r.wrapped_key):
            raise BadWrap(f"the key wrapped for {r.address} is not the content key's wrap: the {header.kind} is invalid "
                          "for every recipient")


def check_context(opened: Opened, *, bounty_id: int | None = None, kind: str | None = None, author: str | None = None,
                  chain_id: int | None = None, market: str | None = None) -> None:
    """Check an opened envelope's authenticated bounty id, kind, author and deployment (None = any)."""
    if not isinstance(opened, Opened):
        raise TypeError("check an Opened envelope (authenticated), never an EnvelopeHeader from read_header")
    if (chain_id is not None and opened.chain_id != chain_id) or (
            market is not None and opened.market != normalize_address(market)):
        raise EnvelopeMismatch(f"{opened.kind} was sealed for chain {opened.chain_id} market {opened.market}, expected "
                               f"chain {chain_id if chain_id is not None else opened.chain_id} market "
                               f"{normalize_address(market) if market is not None else opened.market}", reason="wrong_market")
    if bounty_id is not None and opened.bounty_id != bounty_id:
        raise EnvelopeMismatch(f"{opened.kind} belongs to bounty {opened.bounty_id}, expected bounty {bounty_id}", reason="wrong_bounty")
    if kind is not None and opened.kind != kind:
        raise EnvelopeMismatch(f"envelope holds a {opened.kind!r}, expected a {kind!r}", reason="wrong_kind")
    if author is not None:
        check_author(opened, author)


def check_author(opened: Opened, submitter: str) -> None:
    """Reject an artefact whose authenticated author is not its on-chain submitter.

    The oracle calls this with the address that called `submitUpdate`; a mismatch means
    someone resubmitted another's CID, and the submission is settled as invalid.
    """
    if not isinstance(opened, Opened):
        raise TypeError("check_author needs an Opened envelope (authenticated), never a header from read_header")
    expected = normalize_address(submitter)
    if opened.author != expected:
        raise AuthorMismatch(f"{opened.kind} was written by {opened.author} but submitted by {expected}")


# ---------------------------------------------------------------------------------------
# Keyring: the bounty's model key, wrapped for each admitted address
# ---------------------------------------------------------------------------------------
# A keyring is an envelope of kind "keyring" whose content key IS the model key and
# whose plaintext is empty: each recipient entry wraps the model key, and the GCM tag,
# computed with the model key over the header, authenticates the recipient list and the
# author. Its key commitment equals that of every model of the bounty.


def build_keyring(
    model_key: bytes,
    recipients: Mapping[str, bytes],
    bounty_id: int,
    author: str,
    *,
    note: bytes = b"",
    chain_id: int = UNBOUND[0],
    market: str = UNBOUND[1],
    max_size: int = DEFAULT_MAX_ENVELOPE_BYTES,
) -> bytes:
    """A keyring wrapping the bounty's model key for each recipient (committee, admitted contributors).

    The author is the requester; readers should check it (`open_keyring(..., expect_author=)`).
    `note` is the keyring's (encrypted, authenticated) plaintext: the requester's tools put
    the bounty brief there (the validation set's CID and the sealed commitment salt), which every
    recipient reads with `open_envelope(keyring, private_key)`.
    """
    model_key = _as_key32(model_key, "model key")
    return _seal(bytes(note), model_key, _wrap_for(model_key, recipients), bounty_id, "keyring", author, max_size,
                 (chain_id, market))


def extend_keyring(
    keyring: bytes,
    model_key: bytes,
    new_recipients: Mapping[str, bytes],
    *,
    author: str | None = None,
    max_size: int = DEFAULT_MAX_ENVELOPE_BYTES,
) -> bytes:
    """A new keyring: every entry of `keyring` plus the model key wrapped for new recipients.

    The old keyring is authenticated with the model key first (WrongKey if it is another
    bounty's key). Addresses already present keep their entry. Removing an address does
    not revoke anything: it has seen the key; rotate the model key instead.
    """
    opened = open_envelope(keyring, key=model_key, expect_kind="keyring", max_size=max_size)
    existing = {r.address.lower(): r for r in read_header(keyring, max_size=max_size).recipients}
    fresh = {a: p for a, p in new_recipients.items() if normalize_address(a).lower() not in existing}
    added = {r.address.lower(): r for r in _wrap_for(opened.key, fresh)} if fresh else {}
    merged = {**existing, **added}
    return _seal(opened.plaintext, opened.key, [merged[a] for a in sorted(merged)], opened.bounty_id, "keyring",
                 author or opened.author, max_size, (opened.chain_id, opened.market))


def open_keyring(
    keyring: bytes,
    private_key: str | bytes,
    *,
    expect_bounty_id: int | None = None,
    expect_author: str | None = None,
    max_size: int = DEFAULT_MAX_ENVELOPE_BYTES,
) -> bytes:
    """Find one's own entry in a keyring and return the bounty's model key (authenticated).

    Pass the bounty id and its requester as `expect_*`, so that a keyring from elsewhere
    is refused (EnvelopeMismatch) rather than trusted.
    """
    opened = open_envelope(
        keyring, private_key, expect_kind="keyring", expect_bounty_id=expect_bounty_id, expect_author=expect_author, max_size=max_size
    )
    return opened.key


def keyring_recipients(keyring: bytes, *, max_size: int = DEFAULT_MAX_ENVELOPE_BYTES) -> tuple[str, ...]:
    """The addresses a keyring lists (unauthenticated, from the header)."""
    header = read_header(keyring, max_size=max_size)
    if header.kind != "keyring":
        raise EnvelopeMismatch(f"envelope holds a {header.kind!r}, expected a 'keyring'", reason="wrong_kind")
    return header.recipient_addresses


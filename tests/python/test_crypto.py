"""Rules F2-F3: keys, ECIES key wrapping, the envelope and the keyring (fathom.crypto.envelope)."""

from __future__ import annotations

import json
import struct

import pytest
from eth_keys import keys
from eth_utils import keccak, to_checksum_address

from fathom.crypto import envelope as crypto
from fathom.crypto.envelope import (
    AuthorMismatch,
    BadMagic,
    BadWrap,
    EnvelopeError,
    EnvelopeFormatError,
    EnvelopeMismatch,
    EnvelopeTampered,
    EnvelopeTooLarge,
    EnvelopeTruncated,
    InvalidKey,
    NotARecipient,
    Opened,
    UnsupportedVersion,
    WrongKey,
)
from fathom.errors import FathomError

PREFIX = struct.Struct(">4sBBIQ")


class Party:
    def __init__(self, seed: int):
        self.private_key = (seed + 0xF00D).to_bytes(32, "big")
        self.public_key = crypto.public_key_of(self.private_key)
        self.address = crypto.address_of(self.public_key)


@pytest.fixture(scope="module")
def parties():
    return {name: Party(i) for i, name in enumerate(["requester", "contributor", "oracle1", "oracle2", "oracle3", "outsider", "newcomer"])}


@pytest.fixture(scope="module")
def update_recipients(parties):
    return {parties[n].address: parties[n].public_key for n in ("requester", "oracle1", "oracle2", "oracle3")}


@pytest.fixture(scope="module")
def update_blob(parties, update_recipients):
    return crypto.seal_for(b"delta bytes" * 10, update_recipients, 7, "update", parties["contributor"].address)


@pytest.fixture(scope="module")
def model_key():
    return bytes(range(32))


@pytest.fixture(scope="module")
def model_blob(parties, model_key):
    return crypto.seal_with_key(b"merged model bytes" * 5, model_key, 7, "model", parties["contributor"].address)


def split(blob: bytes) -> tuple[bytes, int, int, dict, bytes]:
    """(prefix, header_len, body_len, header dict, nonce+ciphertext) of an envelope."""
    magic, version, flags, header_len, body_len = PREFIX.unpack_from(blob, 0)
    header = json.loads(blob[PREFIX.size : PREFIX.size + header_len])
    return blob[: PREFIX.size], header_len, body_len, header, blob[PREFIX.size + header_len :]


def rewrite_header(blob: bytes, mutate) -> bytes:
    """Re-encode an envelope with a modified (still canonical, well-formed) header."""
    _, _, body_len, header, rest = split(blob)
    mutate(header)
    raw = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    return PREFIX.pack(b"FTHM", crypto.ENVELOPE_VERSION, 0, len(raw), body_len) + raw + rest


# --- keys ------------------------------------------------------------------------------


def test_public_key_and_address_match_eth_keys_and_the_key_registry_rule(parties):
    for party in parties.values():
        expected = keys.PrivateKey(party.private_key).public_key
        assert party.public_key == expected.to_bytes() and len(party.public_key) == 64
        assert party.address == expected.to_checksum_address()
        assert party.address == to_checksum_address(keccak(party.public_key)[12:])  # KeyRegistry K2


def test_a_private_key_loads_from_hex_with_or_without_prefix_and_from_bytes(parties):
    pk = parties["oracle1"].private_key
    assert crypto.load_private_key("0x" + pk.hex()) == pk
    assert crypto.load_private_key(pk.hex().upper()) == pk
    assert crypto.load_private_key(pk) == pk
    assert crypto.account_address("0x" + pk.hex()) == parties["oracle1"].address


@pytest.mark.parametrize(
    "value, message",
    [
        ("0x1234", "64 hex digits"),
        ("zz" * 32, "hexadecimal"),
        (b"\x01" * 31, "32 bytes"),
        ("00" * 32, "out of range"),
        ("ff" * 32, "out of range"),
        (12345, "not int"),
    ],
)
def test_a_bad_private_key_is_refused_with_the_reason(value, message):
    with pytest.raises(InvalidKey, match=message):
        crypto.load_private_key(value)


def test_a_public_key_off_the_curve_or_of_the_wrong_length_is_refused(parties):
    with pytest.raises(InvalidKey, match="not a point"):
        crypto.address_of(b"\x01" * 64)
    with pytest.raises(InvalidKey, match="64 bytes"):
        crypto.address_of(b"\x01" * 63)
    compressed = keys.PrivateKey(parties["oracle1"].private_key).public_key.to_compressed_bytes()
    assert crypto.normalize_public_key(compressed) == parties["oracle1"].public_key


def test_errors_are_fathom_errors_and_value_errors():
    for cls in (InvalidKey, EnvelopeError, EnvelopeTampered, NotARecipient, WrongKey, AuthorMismatch, EnvelopeTruncated):
        assert issubclass(cls, FathomError) and issubclass(cls, ValueError)


# --- key wrapping ----------------------------------------------------------------------


def test_a_wrapped_key_unwraps_only_with_the_recipients_private_key(parties):
    key = crypto.new_key()
    wrapped = crypto.wrap_key(key, parties["oracle1"].public_key)
    assert len(wrapped) == crypto.WRAPPED_KEY_BYTES
    assert crypto.unwrap_key(wrapped, parties["oracle1"].private_key) == key
    with pytest.raises(WrongKey):
        crypto.unwrap_key(wrapped, parties["oracle2"].private_key)
    # deterministic (F2): one wrap per (key, recipient), so any key holder can check it
    assert crypto.wrap_key(key, parties["oracle1"].public_key) == wrapped
    assert crypto.wrap_key(crypto.new_key(), parties["oracle1"].public_key)[:33] != wrapped[:33]
    assert crypto.wrap_key(key, parties["oracle2"].public_key)[:33] != wrapped[:33]


def test_a_flipped_byte_in_a_wrapped_key_is_detected(parties):
    key = crypto.new_key()
    wrapped = crypto.wrap_key(key, parties["oracle1"].public_key)
    for offset in range(len(wrapped)):
        bad = bytearray(wrapped)
        bad[offset] ^= 0x01
        with pytest.raises(WrongKey):
            crypto.unwrap_key(bytes(bad), parties["oracle1"].private_key)


def test_only_32_byte_keys_are_wrapped(parties):
    with pytest.raises(InvalidKey, match="32 bytes"):
        crypto.wrap_key(b"short", parties["oracle1"].public_key)


# --- envelope: round trips -------------------------------------------------------------


def test_every_recipient_opens_an_update_and_sees_its_authenticated_header(parties, update_blob):
    for name in ("requester", "oracle1", "oracle2", "oracle3"):
        opened = crypto.open_envelope(update_blob, parties[name].private_key)
        assert opened.plaintext == b"delta bytes" * 10
        assert (opened.bounty_id, opened.kind, opened.author, opened.key_mode) == (7, "update", parties["contributor"].address, "wrapped")
        assert set(opened.recipients) == {parties[n].address for n in ("requester", "oracle1", "oracle2", "oracle3")}
        assert list(opened.recipients) == sorted(opened.recipients, key=str.lower)


def test_read_header_gives_the_header_without_any_key(parties, update_blob):
    header = crypto.read_header(update_blob)
    assert (header.version, header.bounty_id, header.kind, header.author) == (2, 7, "update", parties["contributor"].address)
    assert parties["oracle2"].address in header.recipient_addresses


def test_an_address_not_listed_is_not_a_recipient(parties, update_blob):
    with pytest.raises(NotARecipient, match=parties["outsider"].address):
        crypto.open_envelope(update_blob, parties["outsider"].private_key)


def test_a_public_key_listed_under_another_address_is_refused(parties):
    with pytest.raises(InvalidKey, match="belongs to"):
        crypto.seal_for(b"x", {parties["oracle1"].address: parties["oracle2"].public_key}, 1, "update", parties["contributor"].address)


def test_an_empty_plaintext_round_trips(parties):
    blob = crypto.seal_for(b"", {parties["oracle1"].address: parties["oracle1"].public_key}, 0, "validation", parties["requester"].address)
    assert crypto.open_envelope(blob, parties["oracle1"].private_key).plaintext == b""


def test_a_revealed_validation_key_opens_the_validation_set_for_anyone(parties):
    validation_key = crypto.new_key()
    committee = {parties[n].address: parties[n].public_key for n in ("oracle1", "oracle2", "oracle3")}
    blob = crypto.seal_for(b"X and y", committee, 3, "validation", parties["requester"].address, key=validation_key)
    assert crypto.open_envelope(blob, parties["oracle1"].private_key).key == validation_key
    assert crypto.open_envelope(blob, key=validation_key).plaintext == b"X and y"
    with pytest.raises(WrongKey):
        crypto.open_envelope(blob, key=crypto.new_key())


def test_kinds_are_sealed_in_their_own_mode(parties, model_key, update_recipients):
    author = parties["contributor"].address
    with pytest.raises(EnvelopeFormatError, match="seal_with_key"):
        crypto.seal_for(b"m", update_recipients, 1, "model", author)
    with pytest.raises(EnvelopeFormatError, match="build_keyring"):
        crypto.seal_for(b"k", update_recipients, 1, "keyring", author)
    with pytest.raises(EnvelopeFormatError, match="seal_for"):
        crypto.seal_with_key(b"u", model_key, 1, "update", author)
    with pytest.raises(EnvelopeFormatError, match="kind must be one of"):
        crypto.seal_for(b"u", update_recipients, 1, "script", author)


def test_a_model_opens_with_the_model_key_only(parties, model_blob, model_key):
    opened = crypto.open_envelope(model_blob, key=model_key)
    assert (opened.plaintext, opened.kind, opened.key_mode, opened.recipients) == (b"merged model bytes" * 5, "model", "model", ())
    with pytest.raises(WrongKey, match="key commitment"):
        crypto.open_envelope(model_blob, key=bytes(32))
    with pytest.raises(WrongKey, match="keyring"):
        crypto.open_envelope(model_blob, parties["oracle1"].private_key)
    with pytest.raises(TypeError):
        crypto.open_envelope(model_blob)


# --- determinism -----------------------------------------------------------------------


def test_sealing_a_model_twice_gives_identical_bytes(parties, model_key, model_blob):
    again = crypto.seal_with_key(b"merged model bytes" * 5, bytearray(model_key), 7, "model", parties["contributor"].address.lower())
    assert again == model_blob


@pytest.mark.parametrize(
    "change",
    [
        dict(plaintext=b"merged model bytez" * 5),
        dict(bounty_id=8),
        dict(author="requester"),
        dict(key=bytes(range(1, 33))),
    ],
)
def test_sealing_different_content_gives_different_bytes_and_nonce(parties, model_key, model_blob, change):
    args = dict(plaintext=b"merged model bytes" * 5, key=model_key, bounty_id=7, author="contributor")
    args.update(change)
    other = crypto.seal_with_key(args["plaintext"], args["key"], args["bounty_id"], "model", parties[args["author"]].address)
    assert other != model_blob
    nonce_at = PREFIX.size + split(other)[1]
    assert other[nonce_at : nonce_at + 12] != model_blob[nonce_at : nonce_at + 12]


def test_sealing_for_recipients_is_randomised(parties, update_recipients, update_blob):
    assert crypto.seal_for(b"delta bytes" * 10, update_recipients, 7, "update", parties["contributor"].address) != update_blob


# --- tampering and truncation ----------------------------------------------------------


@pytest.mark.parametrize("which", ["update", "model"])
def test_flipping_any_single_byte_makes_opening_fail(parties, update_blob, model_blob, model_key, which):
    blob, opener = (update_blob, dict(private_key=parties["oracle2"].private_key)) if which == "update" else (model_blob, dict(key=model_key))
    header_end = PREFIX.size + split(blob)[1]
    for offset in range(len(blob)):
        for bit in (0x01, 0x80):
            bad = bytearray(blob)
            bad[offset] ^= bit
            with pytest.raises(EnvelopeError):
                crypto.open_envelope(bytes(bad), **opener)
            if offset >= header_end:  # nonce, ciphertext, tag: nothing to parse, only GCM can tell
                with pytest.raises(EnvelopeTampered):
                    crypto.open_envelope(bytes(bad), **opener)


def test_a_bad_magic_or_version_is_named(update_blob):
    with pytest.raises(BadMagic):
        crypto.read_header(b"PK\x03\x04" + update_blob[4:])
    with pytest.raises(UnsupportedVersion, match="version 1 "):  # the format before wraps were checked (F2)
        crypto.read_header(update_blob[:4] + b"\x01" + update_blob[5:])


def test_another_recipients_wrapped_key_is_authenticated_too(parties, update_blob):
    def corrupt_oracle3(header):
        entry = next(r for r in header["recipients"] if r["address"] == parties["oracle3"].address)
        entry["wrapped_key"] = crypto.wrap_key(crypto.new_key(), parties["oracle3"].public_key).hex()

    forged = rewrite_header(update_blob, corrupt_oracle3)
    with pytest.raises(EnvelopeTampered):
        crypto.open_envelope(forged, parties["oracle1"].private_key)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda h, p: h.update(bounty_id=8),
        lambda h, p: h.update(kind="validation"),
        lambda h, p: h.update(author=p["outsider"].address),
        lambda h, p: h["recipients"].pop(0),
    ],
    ids=["bounty_id", "kind", "author", "recipient removed"],
)
def test_the_header_is_bound_to_the_ciphertext(parties, update_blob, mutate):
    forged = rewrite_header(update_blob, lambda h: mutate(h, parties))
    crypto.read_header(forged)  # well formed, so only authentication can catch it
    opener = next(n for n in ("oracle1", "oracle2", "oracle3") if parties[n].address in crypto.read_header(forged).recipient_addresses)
    with pytest.raises(EnvelopeTampered):
        crypto.open_envelope(forged, parties[opener].private_key)


def test_the_model_header_is_bound_too(parties, model_blob, model_key):
    for mutate in (lambda h: h.update(bounty_id=8), lambda h: h.update(author=parties["outsider"].address)):
        with pytest.raises(EnvelopeTampered):
            crypto.open_envelope(rewrite_header(model_blob, mutate), key=model_key)


def test_a_recipient_given_a_key_other_than_the_committed_one_refuses_the_envelope_and_so_does_everyone_else(parties):
    """Key commitment: an author cannot show different plaintexts to different oracles.
    Deterministic wraps (F2): nor can it make one recipient fail while the others open."""
    good, other = crypto.new_key(), crypto.new_key()
    one, two = parties["oracle1"], parties["oracle2"]
    recipients = sorted(
        [crypto.Recipient(one.address, crypto.wrap_key(good, one.public_key), one.public_key),
         crypto.Recipient(two.address, crypto.wrap_key(other, two.public_key), two.public_key)],
        key=lambda r: r.address.lower(),
    )
    blob = crypto._seal(b"update", good, recipients, 1, "update", parties["contributor"].address, crypto.DEFAULT_MAX_ENVELOPE_BYTES)
    with pytest.raises(BadWrap, match=two.address) as refused:
        crypto.open_envelope(blob, one.private_key)
    assert refused.value.reason == "bad_wrap"
    with pytest.raises(BadWrap):
        crypto.open_envelope(blob, key=good)  # whoever holds the key (a revealed or disclosed one) refuses it too
    with pytest.raises(EnvelopeTampered, match="key commitment"):
        crypto.open_envelope(blob, two.private_key)


def test_a_wrap_for_a_key_nobody_can_check_is_refused_a_random_wrap_is_not_the_deterministic_one(parties):
    """An author that wraps the right key, but with a fresh ephemeral (a version-1 style wrap),
    gets the envelope refused by every opener: only the one wrap per (key, recipient) counts."""
    key = crypto.new_key()
    one, two = parties["oracle1"], parties["oracle2"]
    from coincurve import PrivateKey, PublicKey

    eph = PrivateKey()
    eph33 = eph.public_key.format(compressed=True)
    shared = PublicKey(b"\x04" + two.public_key).multiply(eph.secret).format(compressed=False)[1:33]
    aead, nonce = crypto._ecies_cipher(shared, eph33, two.public_key)
    random_wrap = eph33 + aead.encrypt(nonce, key, crypto._ECIES_INFO)
    assert crypto.unwrap_key(random_wrap, two.private_key) == key  # it does open for two
    recipients = sorted([crypto.Recipient(one.address, crypto.wrap_key(key, one.public_key), one.public_key),
                         crypto.Recipient(two.address, random_wrap, two.public_key)], key=lambda r: r.address.lower())
    blob = crypto._seal(b"update", key, recipients, 1, "update", parties["contributor"].address, crypto.DEFAULT_MAX_ENVELOPE_BYTES)
    for who in (one, two):
        with pytest.raises(BadWrap):
            crypto.open_envelope(blob, who.private_key)


def test_a_listed_public_key_must_belong_to_its_address(parties, update_blob):
    def swap_key(header):
        header["recipients"][0]["public_key"] = parties["outsider"].public_key.hex()

    with pytest.raises(EnvelopeFormatError, match="belongs to"):
        crypto.read_header(rewrite_header(update_blob, swap_key))


def test_an_envelope_replayed_to_another_chain_or_market_is_refused(parties):
    """F2: the authenticated header binds the chain id and the market's address."""
    market = "0x" + "ab" * 20
    recipients = {parties["oracle1"].address: parties["oracle1"].public_key}
    blob = crypto.seal_for(b"delta", recipients, 7, "update", parties["contributor"].address, chain_id=31337, market=market)
    opened = crypto.open_envelope(blob, parties["oracle1"].private_key, expect_chain_id=31337, expect_market=market)
    assert (opened.chain_id, opened.market) == (31337, crypto.normalize_address(market))
    for chain_id, where in ((1, market), (31337, "0x" + "cd" * 20)):
        with pytest.raises(EnvelopeMismatch) as refused:
            crypto.open_envelope(blob, parties["oracle1"].private_key, expect_chain_id=chain_id, expect_market=where)
        assert refused.value.reason == "wrong_market"
    unbound = crypto.seal_for(b"delta", recipients, 7, "update", parties["contributor"].address)
    with pytest.raises(EnvelopeMismatch, match="chain 0"):
        crypto.open_envelope(unbound, parties["oracle1"].private_key, expect_chain_id=31337, expect_market=market)
    # rewriting the domain in the header is tampering, as for any header field
    for mutate in (lambda h: h.update(chain_id=1), lambda h: h.update(market=crypto.normalize_address("0x" + "cd" * 20))):
        with pytest.raises(EnvelopeTampered):
            crypto.open_envelope(rewrite_header(blob, mutate), parties["oracle1"].private_key)


def test_a_non_canonical_header_is_refused(update_blob):
    _, header_len, body_len, header, rest = split(update_blob)
    spaced = json.dumps(header, sort_keys=True).encode()
    with pytest.raises(EnvelopeFormatError, match="canonical"):
        crypto.read_header(PREFIX.pack(b"FTHM", crypto.ENVELOPE_VERSION, 0, len(spaced), body_len) + spaced + rest)


def test_every_truncation_is_reported_as_truncated(parties, update_blob, model_blob):
    for blob in (update_blob, model_blob):
        for length in range(len(blob)):
            with pytest.raises(EnvelopeTruncated):
                crypto.read_header(blob[:length])
            with pytest.raises(EnvelopeTruncated):
                crypto.open_envelope(blob[:length], parties["oracle1"].private_key)


def test_trailing_bytes_are_refused(model_blob, model_key):
    with pytest.raises(EnvelopeFormatError, match="unexpected bytes"):
        crypto.open_envelope(model_blob + b"\x00", key=model_key)


# --- size limits -----------------------------------------------------------------------


def test_an_envelope_over_the_size_limit_is_refused_before_parsing(model_blob, model_key):
    with pytest.raises(EnvelopeTooLarge, match="limit"):
        crypto.open_envelope(model_blob, key=model_key, max_size=len(model_blob) - 1)
    assert crypto.open_envelope(model_blob, key=model_key, max_size=len(model_blob)).kind == "model"


def test_a_prefix_claiming_a_huge_body_or_header_is_refused_without_reading_it(model_blob):
    _, header_len, body_len, _, _ = split(model_blob)
    huge_body = PREFIX.pack(b"FTHM", crypto.ENVELOPE_VERSION, 0, header_len, 1 << 60) + model_blob[PREFIX.size :]
    with pytest.raises(EnvelopeTooLarge, match="claims"):
        crypto.read_header(huge_body)
    huge_header = PREFIX.pack(b"FTHM", crypto.ENVELOPE_VERSION, 0, 0xFFFFFFFF, body_len) + model_blob[PREFIX.size :]
    with pytest.raises(EnvelopeTooLarge, match="header claims"):
        crypto.read_header(huge_header)


def test_sealing_more_than_the_size_limit_is_refused(parties, model_key):
    with pytest.raises(EnvelopeTooLarge):
        crypto.seal_with_key(b"x" * 1000, model_key, 1, "model", parties["requester"].address, max_size=1000)


# --- context and author checks ---------------------------------------------------------


def test_the_oracle_rejects_an_update_submitted_by_someone_other_than_its_author(parties, update_blob):
    opened = crypto.open_envelope(update_blob, parties["oracle1"].private_key)
    crypto.check_author(opened, parties["contributor"].address.lower())  # the real submitter passes
    with pytest.raises(AuthorMismatch, match=parties["outsider"].address):
        crypto.check_author(opened, parties["outsider"].address)
    with pytest.raises(AuthorMismatch):
        crypto.open_envelope(update_blob, parties["oracle1"].private_key, expect_author=parties["outsider"].address)


def test_the_author_check_refuses_an_unauthenticated_header(parties, update_blob):
    with pytest.raises(TypeError, match="authenticated"):
        crypto.check_author(crypto.read_header(update_blob), parties["contributor"].address)  # type: ignore[arg-type]


def test_an_envelope_for_another_bounty_or_of_another_kind_is_a_mismatch(parties, update_blob):
    with pytest.raises(EnvelopeMismatch, match="bounty 7, expected bounty 8"):
        crypto.open_envelope(update_blob, parties["oracle1"].private_key, expect_bounty_id=8)
    with pytest.raises(EnvelopeMismatch, match="expected a 'model'"):
        crypto.open_envelope(update_blob, parties["oracle1"].private_key, expect_kind="model")
    opened = crypto.open_envelope(update_blob, parties["oracle1"].private_key, expect_bounty_id=7, expect_kind="update", expect_author=parties["contributor"].address)
    assert isinstance(opened, Opened)


# --- keyring ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keyring(parties, model_key):
    members = {parties[n].address: parties[n].public_key for n in ("oracle1", "oracle2", "oracle3", "contributor")}
    return crypto.build_keyring(model_key, members, 7, parties["requester"].address)


def test_each_keyring_member_recovers_the_model_key_and_opens_models(parties, keyring, model_key, model_blob):
    for name in ("oracle1", "oracle2", "oracle3", "contributor"):
        key = crypto.open_keyring(keyring, parties[name].private_key, expect_bounty_id=7, expect_author=parties["requester"].address)
        assert key == model_key
        assert crypto.open_envelope(model_blob, key=key).plaintext == b"merged model bytes" * 5
    assert crypto.read_header(keyring).key_commitment == crypto.read_header(model_blob).key_commitment == crypto.key_commitment(model_key)
    with pytest.raises(NotARecipient):
        crypto.open_keyring(keyring, parties["newcomer"].private_key)


def test_a_keyring_from_another_author_or_bounty_is_refused(parties, keyring):
    with pytest.raises(AuthorMismatch):
        crypto.open_keyring(keyring, parties["oracle1"].private_key, expect_author=parties["outsider"].address)
    with pytest.raises(EnvelopeMismatch):
        crypto.open_keyring(keyring, parties["oracle1"].private_key, expect_bounty_id=6)


def test_extending_a_keyring_admits_new_recipients_and_keeps_the_old(parties, keyring, model_key):
    newcomer = parties["newcomer"]
    extended = crypto.extend_keyring(keyring, model_key, {newcomer.address: newcomer.public_key, parties["oracle1"].address: parties["oracle1"].public_key})
    assert set(crypto.keyring_recipients(extended)) == set(crypto.keyring_recipients(keyring)) | {newcomer.address}
    assert crypto.open_keyring(extended, newcomer.private_key) == model_key
    assert crypto.open_keyring(extended, parties["oracle2"].private_key, expect_author=parties["requester"].address) == model_key
    old_entry = {r.address: r.wrapped_key for r in crypto.read_header(keyring).recipients}
    new_entry = {r.address: r.wrapped_key for r in crypto.read_header(extended).recipients}
    assert all(new_entry[a] == w for a, w in old_entry.items())  # existing entries kept verbatim


def test_extending_a_keyring_needs_its_model_key(parties, keyring):
    with pytest.raises(WrongKey):
        crypto.extend_keyring(keyring, bytes(32), {parties["newcomer"].address: parties["newcomer"].public_key})


def test_a_tampered_keyring_is_refused(parties, keyring):
    forged = rewrite_header(keyring, lambda h: h.update(author=parties["outsider"].address))
    with pytest.raises(EnvelopeTampered):
        crypto.open_keyring(forged, parties["oracle1"].private_key)


def test_keyring_recipients_refuses_other_kinds(update_blob):
    with pytest.raises(EnvelopeMismatch, match="keyring"):
        crypto.keyring_recipients(update_blob)

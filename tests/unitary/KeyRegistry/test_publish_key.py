"""SPECIFICATION.md rules K1-K3: publishing public keys."""

import os

from tests.helpers import reverts_with


def test_k1_an_address_publishes_the_key_that_hashes_to_it(key_registry, keyed_account):
    account, public_key = keyed_account(1)
    tx = key_registry.publishKey(public_key, {"from": account})
    assert key_registry.publicKeyOf(account) == "0x" + public_key.hex()
    assert key_registry.hasKey(account)
    assert tx.events["PublicKeyPublished"]["account"] == account
    assert tx.events["PublicKeyPublished"]["publicKey"] == "0x" + public_key.hex()


def test_k2_a_key_of_another_address_is_refused(key_registry, keyed_account, rando):
    account, public_key = keyed_account(2)
    with reverts_with("PublicKeyNotSenders", rando.address, account.address):
        key_registry.publishKey(public_key, {"from": rando})
    assert not key_registry.hasKey(rando)
    assert key_registry.publicKeyOf(rando) == "0x"


def test_k2_a_key_of_the_wrong_length_is_refused(key_registry, rando):
    for length in (0, 33, 63, 65):
        with reverts_with("InvalidPublicKeyLength", length):
            key_registry.publishKey(os.urandom(length), {"from": rando})


def test_k3_publishing_again_keeps_the_one_key(key_registry, keyed_account):
    account, public_key = keyed_account(3)
    key_registry.publishKey(public_key, {"from": account})
    key_registry.publishKey(public_key, {"from": account})
    assert key_registry.publicKeyOf(account) == "0x" + public_key.hex()


def test_an_address_without_a_key_reads_as_empty(key_registry, rando):
    assert key_registry.publicKeyOf(rando) == "0x"
    assert not key_registry.hasKey(rando)


def test_k2_a_point_off_the_curve_is_refused_even_from_its_hash_address(key_registry, accounts):
    off_curve = bytes(64)  # (0, 0) is not on secp256k1; it would read back as "no key"
    with reverts_with("PublicKeyNotOnCurve"):
        key_registry.publishKey(off_curve, {"from": accounts[3]})

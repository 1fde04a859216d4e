"""The encrypted-weights mode: Paillier over ints, the fixed-point codec, the encrypted
gradient, and the contributor that never holds the secret key.

Keys here are 512 bits (`insecure=True`) to keep the tests fast; the mode itself refuses
keys under 2048 bits, and the benchmark times 2048-bit keys.
"""

from __future__ import annotations

import gc
import inspect
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from fathom.crypto import paillier
from fathom.ml import encrypted as E
from fathom.ml.quantize import COEFFICIENTS, WEIGHTS, FixedPoint, QuantizeError


@pytest.fixture(scope="module")
def keys():
    return paillier.generate_keypair(512, insecure=True)


def _data(n=120, d=6, seed=1, classes=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    true = rng.normal(size=(d, classes))
    y = np.argmax(X @ true + rng.normal(scale=0.3, size=(n, classes)), axis=1)
    return X, y


def _rows(r, d, seed=2):
    return np.random.default_rng(seed).normal(scale=0.2, size=(r, d + 1))


# --- Paillier over ints -----------------------------------------------------------

def test_paillier_adds_and_scales_signed_integers(keys):
    pk, sk = keys
    a, b = pk.encrypt(-1234), pk.encrypt(99)
    assert sk.decrypt(paillier.add(pk, a, b)) == -1135
    assert sk.decrypt(paillier.scalar_mul(pk, a, -3)) == 3702
    assert sk.decrypt(paillier.negate(pk, b)) == -99
    assert sk.decrypt(paillier.add_plain(pk, a, 1234)) == 0
    assert sk.decrypt(paillier.dot(pk, [a, b], [paillier.negate(pk, a), paillier.negate(pk, b)], [2, -5])) == -2468 - 495


def test_encryption_is_randomised(keys):
    pk, sk = keys
    assert pk.encrypt(7) != pk.encrypt(7)


def test_paillier_refuses_floats_small_keys_and_out_of_range_plaintexts(keys):
    pk, _ = keys
    with pytest.raises(paillier.PaillierError):
        pk.encrypt(0.5)
    with pytest.raises(paillier.PaillierOverflow):
        pk.encrypt(pk.max_int + 1)
    with pytest.raises(paillier.PaillierError, match="protects nothing"):
        paillier.generate_keypair(1024)


def test_overflowing_computation_is_refused_not_wrapped(keys):
    """An adversarial (or careless) computation that leaves the signed range decrypts to
    PaillierOverflow instead of a silently wrapped number."""
    pk, sk = keys
    big = pk.encrypt(pk.max_int)
    with pytest.raises(paillier.PaillierOverflow):
        sk.decrypt(paillier.add(pk, big, pk.encrypt(pk.max_int // 2)))


def test_public_key_json_holds_only_the_modulus(keys):
    pk, sk = keys
    doc = pk.to_json()
    assert set(doc) == {"scheme", "n"}
    assert paillier.PublicKey.from_json(json.loads(json.dumps(doc))) == pk
    assert not hasattr(pk, "decrypt")
    assert paillier.SecretKey.from_json(sk.to_json()).decrypt(pk.encrypt(-5)) == -5
    primes = (sk.to_json()["p"], sk.to_json()["q"])
    assert not any(h in repr(sk) or str(int(h, 16)) in repr(sk) for h in primes)  # a log line never shows them


# --- the fixed-point codec --------------------------------------------------------

def test_quantisation_round_trips_within_half_a_step():
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(scale=10, size=1000), [0.0, -0.0, 2.0 ** 16, -(2.0 ** 16)]])
    for codec in (WEIGHTS, COEFFICIENTS, FixedPoint(8, 4)):
        if np.abs(x).max() > codec.bound:
            x = np.clip(x, -codec.bound, codec.bound)
        back = codec.decode(codec.encode(x))
        assert np.all(np.abs(back - x) <= codec.resolution / 2)


def test_quantisation_is_deterministic_and_rounds_half_to_even():
    """Every honest party gets the same codes: no random rounding (another process too)."""
    codec = FixedPoint(frac_bits=1, int_bits=8)
    assert codec.encode([0.25, 0.75, -0.25, 1.25]) == [0, 2, 0, 2]
    x = np.random.default_rng(4).normal(size=500)
    first = WEIGHTS.encode(x)
    assert WEIGHTS.encode(x) == first
    script = ("import sys, json, numpy as np\nfrom fathom.ml.quantize import WEIGHTS\n"
              "x = np.frombuffer(bytes.fromhex(sys.stdin.read()), dtype=np.float64)\n"
              "print(json.dumps(WEIGHTS.encode(x)))")
    out = subprocess.run([sys.executable, "-c", script], input=x.tobytes().hex(), capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == first


@pytest.mark.parametrize("bad", [[float("nan")], [float("inf")], [2.0 ** 17], [-(2.0 ** 17)]])
def test_quantisation_refuses_values_outside_its_stated_range(bad):
    with pytest.raises(QuantizeError):
        WEIGHTS.encode(bad)


# --- the encrypted gradient ------------------------------------------------------

@pytest.mark.parametrize("task, classes, rows", [("linear", 2, 1), ("logistic", 2, 1), ("logistic", 3, 3)])
def test_encrypted_gradient_decrypts_to_the_plaintext_gradient(keys, task, classes, rows):
    pk, sk = keys
    X, y = _data(classes=classes)
    if task == "linear":
        y = X @ np.arange(1, X.shape[1] + 1) * 0.1 + 0.5
    w = _rows(rows, X.shape[1])
    got = E.decrypt(sk, E.encrypted_gradient(E.encrypt_model(pk, w, task), X, y))
    want = E.plain_update(w, X, y, task)
    for r in range(rows):
        B, _ = E.affine_update(X, y, task, row=None if rows == 1 else r)
        assert np.all(np.abs(got[r] - want[r]) <= E.quantisation_bound(B, w[r]))
        assert np.abs(got[r] - want[r]).max() < 1e-5


def test_logistic_gradient_is_within_the_sigmoid_approximation_of_the_true_one(keys):
    """The degree-1 sigmoid costs at most sigmoid_error(max |z|) per row, times |x|."""
    pk, sk = keys
    X, y = _data()
    w = _rows(1, X.shape[1])
    got = E.decrypt(sk, E.encrypted_gradient(E.encrypt_model(pk, w, "logistic"), X, y))[0]
    Xb = np.concatenate([X, np.ones((len(X), 1))], axis=1)
    z = Xb @ w[0]
    true = Xb.T @ (1 / (1 + np.exp(-z)) - y) / len(X)
    B, _ = E.affine_update(X, y, "logistic")
    bound = np.abs(Xb).T @ np.full(len(X), E.sigmoid_error(np.abs(z).max())) / len(X) + E.quantisation_bound(B, w[0])
    assert np.all(np.abs(got - true) <= bound)
    assert np.abs(got - true).max() > 0  # the approximation is not exact: the bound is doing work


def test_several_encrypted_steps_equal_the_same_steps_in_the_clear(keys):
    pk, sk = keys
    X, y = _data()
    w = _rows(1, X.shape[1])
    lr, steps = 0.5, 4
    got = E.decrypt(sk, E.encrypted_update(E.encrypt_model(pk, w, "logistic"), X, y, lr=lr, steps=steps))[0]
    Xb = np.concatenate([X, np.ones((len(X), 1))], axis=1)
    v = w[0].copy()
    for _ in range(steps):
        v = v - lr * Xb.T @ (0.5 + Xb @ v / 4 - y) / len(X)
    B, _ = E.affine_update(X, y, "logistic", lr, steps)
    assert np.all(np.abs(got - (v - w[0])) <= E.quantisation_bound(B, w[0]) + 1e-12)


def test_update_maps_to_fathoms_linear_parameters():
    rows = _rows(3, 4)
    params = E.to_params(rows)
    assert params["W0"].shape == (4, 3) and params["b0"].shape == (3,)
    assert np.allclose(E.from_params(params), rows, atol=1e-7)


# --- the contributor never holds the secret key ----------------------------------

_CONTRIBUTOR = textwrap.dedent("""
    import gc, sys
    import numpy as np
    from fathom.crypto import paillier
    from fathom.ml import encrypted as E
    from phe import paillier as phe_paillier
    model = E.unpack(open(sys.argv[1], "rb").read())
    data = np.load(sys.argv[2])
    update = E.encrypted_update(model, data["X"], data["y"], lr=0.5, steps=3)
    held = [o for o in gc.get_objects() if isinstance(o, (paillier.SecretKey, phe_paillier.PaillierPrivateKey))]
    assert not held, held
    open(sys.argv[3], "wb").write(E.pack(update))
""")


def test_contributor_reads_the_weights_attack(keys, tmp_path):
    """A contributor gets only the public key and ciphertexts: the secret primes are in
    none of its inputs, no secret-key object exists in its process, and what it returns
    decrypts (at the committee) to the right update."""
    pk, sk = keys
    X, y = _data()
    w = _rows(1, X.shape[1])
    blob = E.pack(E.encrypt_model(pk, w, "logistic"))
    secret = sk.to_json()
    for prime in (int(secret["p"], 16), int(secret["q"], 16)):
        for spelling in (str(prime).encode(), format(prime, "x").encode(), prime.to_bytes((prime.bit_length() + 7) // 8, "big")):
            assert spelling not in blob
    (tmp_path / "model.bin").write_bytes(blob)
    np.savez(tmp_path / "data.npz", X=X, y=y)
    subprocess.run([sys.executable, "-c", _CONTRIBUTOR, str(tmp_path / "model.bin"), str(tmp_path / "data.npz"),
                    str(tmp_path / "update.bin")], check=True, capture_output=True)
    update = E.unpack((tmp_path / "update.bin").read_bytes(), expected_key=pk)
    B, _ = E.affine_update(X, y, "logistic", 0.5, 3)
    assert np.all(np.abs(E.decrypt(sk, update) - E.plain_update(w, X, y, "logistic", 0.5, 3)) <= E.quantisation_bound(B, w[0]))
    assert not any(isinstance(o, paillier.SecretKey) for o in gc.get_referents(E.unpack(blob)))


def test_the_contributor_path_takes_no_secret_key():
    for fn in (E.encrypted_update, E.encrypted_gradient, E.add_noise, E.unpack):
        assert all("secret" not in name for name in inspect.signature(fn).parameters)


# --- DP noise under encryption ---------------------------------------------------

def test_homomorphic_noise_cannot_be_reproduced(keys):
    """The same update noised twice gets different noise, and no argument sets a seed."""
    pk, sk = keys
    X, y = _data()
    w = _rows(1, X.shape[1])
    update = E.encrypted_gradient(E.encrypt_model(pk, w, "logistic"), X, y)
    clean = E.decrypt(sk, update)
    a = E.decrypt(sk, E.add_noise(update, 0.5)) - clean
    b = E.decrypt(sk, E.add_noise(update, 0.5)) - clean
    assert not np.allclose(a, b)
    assert 0.1 < np.std(np.concatenate([a, b])) < 2.0
    assert list(inspect.signature(E.add_noise).parameters) == ["update", "std"]


# --- the serialised form and its limits ------------------------------------------

def test_update_under_another_key_is_refused(keys):
    """An update encrypted under a key the contributor made up cannot be slipped in."""
    pk, _ = keys
    other, _ = paillier.generate_keypair(512, insecure=True)
    blob = E.pack(E.encrypt_model(other, _rows(1, 3), "linear"))
    with pytest.raises(E.EncryptedModeError, match="another public key"):
        E.unpack(blob, expected_key=pk)


def test_oversized_model_is_refused(keys):
    """The committee's decryption budget bounds the mode's size (MAX_WEIGHTS)."""
    pk, _ = keys
    with pytest.raises(E.EncryptedModeError, match="decryption budget"):
        E.encrypt_model(pk, np.zeros((2, E.MAX_WEIGHTS // 2 + 1)), "logistic")


@pytest.mark.parametrize("mutate, message", [
    (lambda b: b"X" + b[1:], "magic"),
    (lambda b: b[:8] + b"\x09" + b[9:], "version"),
    (lambda b: b[:-1], "expected"),
    (lambda b: b[:-512] + b"\x00" * 512, "ciphertext"),
])
def test_malformed_blobs_are_refused(keys, mutate, message):
    pk, _ = keys
    blob = E.pack(E.encrypt_model(pk, _rows(1, 3), "linear"))
    assert E.unpack(blob, expected_key=pk).shape == (1, 4)
    with pytest.raises(E.EncryptedModeError, match=message):
        E.unpack(mutate(blob))


def test_phe_and_gmpy2_are_pinned_where_a_fresh_setup_installs_them():
    """tools/setup.sh installs requirements.txt under constraints.txt; phe must find gmpy2
    (else it falls back to pure-Python arithmetic, ~10x slower)."""
    from importlib.metadata import version
    from pathlib import Path

    import phe.util

    root = Path(__file__).resolve().parents[2]
    for name in ("phe", "gmpy2"):
        pin = f"{name}=={version(name)}"
        assert pin in (root / "requirements.txt").read_text().splitlines()
        assert pin in (root / "constraints.txt").read_text().splitlines()
    assert "requirements.txt -c constraints.txt" in (root / "tools" / "setup.sh").read_text()
    assert getattr(phe.util, "HAVE_GMP", False)


def test_a_diverging_step_size_is_refused_before_any_encrypted_work(keys):
    """With sigmoid replaced by a line the loss is quadratic, so lr >= 2 / lambda_max diverges
    (the true gradient would saturate); the contributor learns it from its own data."""
    pk, _ = keys
    X, y = _data()
    H, _ = E.affine_update(X, y, "logistic")
    top = float(np.linalg.eigvalsh(H)[-1])
    model = E.encrypt_model(pk, _rows(1, X.shape[1]), "logistic")
    E.encrypted_update(model, X, y, lr=1.9 / top, steps=2)
    with pytest.raises(E.EncryptedModeError, match="diverges"):
        E.encrypted_update(model, X, y, lr=2.1 / top, steps=2)
    with pytest.raises(E.EncryptedModeError, match="steps"):
        E.affine_update(X, y, "logistic", lr=0.1, steps=E.MAX_STEPS + 1)


# --- the glue the oracle and the contributor will call ---------------------------

def test_head_to_encrypted_update_to_scored_delta(keys):
    """A Fathom softmax head (k = 3, trained one-vs-rest) goes out encrypted, comes back as
    an encrypted update, and the committee's decrypt_update gives a float32 delta that
    score_many takes and that improves the head's accuracy."""
    from fathom.ml import models

    pk, sk = keys
    X, y = _data(n=300, classes=3)
    manifest = models.make_manifest("softmax", X.shape[1], 3)
    head = models.init_model(manifest, seed=0)
    blob = E.pack(E.encrypted_update(E.encrypt_head(pk, manifest, head), X, y, lr=0.5, steps=10))
    delta = E.decrypt_update(sk, blob, manifest)
    assert {k: v.dtype for k, v in delta.items()} == {"W0": np.float32, "b0": np.float32}
    before, after = models.score_many(manifest, head, [{k: np.zeros_like(v) for k, v in head.items()}, delta],
                                      X.astype(np.float32), y)
    assert after > before + 0.2


def test_an_update_that_does_not_fit_the_head_is_refused(keys):
    from fathom.ml import models

    pk, sk = keys
    X, y = _data(classes=3)
    manifest = models.make_manifest("softmax", X.shape[1], 3)
    other = E.pack(E.encrypted_gradient(E.encrypt_model(pk, _rows(1, X.shape[1]), "logistic"), X, y % 2))
    with pytest.raises(E.EncryptedModeError, match="shape"):
        E.decrypt_update(sk, other, manifest)
    with pytest.raises(E.EncryptedModeError, match="not one"):
        E.task_of(models.make_manifest("mlp", 4, 3, h=8))
    model_blob = E.pack(E.encrypt_head(pk, manifest, models.init_model(manifest)))
    with pytest.raises(E.EncryptedModeError, match="update"):
        E.decrypt_update(sk, model_blob, manifest)


def test_committee_members_encrypt_the_same_head_to_the_same_bytes_with_a_shared_seed(keys):
    """Paillier is randomised; with randomness derived from a shared secret seed every
    member pins the same encrypted head (F5), and another seed gives other bytes."""
    from fathom.ml import models

    pk, sk = keys
    manifest = models.make_manifest("logistic", 5, 2)
    head = models.init_model(manifest, seed=3)
    seed = bytes(range(32))
    a = E.pack(E.encrypt_head(pk, manifest, head, seed=seed))
    assert a == E.pack(E.encrypt_head(pk, manifest, head, seed=seed))
    assert a != E.pack(E.encrypt_head(pk, manifest, head, seed=bytes(32)))
    assert a != E.pack(E.encrypt_head(pk, manifest, head))
    assert np.allclose(E.decrypt(sk, E.unpack(a)), E.from_params(head), atol=WEIGHTS.resolution)
    with pytest.raises(paillier.PaillierError, match="32"):
        pk.encrypt_many([1], seed=b"short")


# --- the container version 4 (SPECIFICATION F1, F13) ------------------------------

def test_an_encrypted_model_and_update_round_trip_in_a_version_4_container(keys):
    """Pack, unpack and pack again give the same bytes; the ciphertexts come back under the
    key; a plaintext container or another key is refused where ciphertexts are expected."""
    from fathom.ml import artefacts, models

    pk, sk = keys
    X, y = _data(n=80, d=5)
    manifest = models.make_manifest("logistic", 5, 2)
    head = E.encrypt_container(sk, artefacts.Model(manifest, models.init_model(manifest, seed=0)))
    blob = head.pack()
    assert blob[4] == 4 == artefacts.CONTAINER_VERSION and artefacts.unpack_model(blob).pack() == blob
    weights = E.from_container(artefacts.unpack_model(blob), pk)
    update = artefacts.Update(*E.to_container(E.encrypted_update(weights, X, y, lr=0.5, steps=2), manifest))
    ublob = update.pack()
    assert ublob[4] == 4 and artefacts.unpack_update(ublob).pack() == ublob
    delta = E.open_update(sk, artefacts.unpack_update(ublob))
    assert delta.manifest == manifest and set(delta.arrays) == {"W0", "b0"}
    with pytest.raises(E.EncryptedModeError, match="plaintext weights"):
        E.from_container(artefacts.Model(manifest, models.init_model(manifest, seed=0)), pk)
    other, _ = paillier.generate_keypair(512, insecure=True)
    with pytest.raises(E.EncryptedModeError, match="another public key"):
        E.from_container(artefacts.unpack_model(blob), other)
    with pytest.raises(artefacts.ArtefactSchemaError, match="exactly one array"):
        artefacts.pack_model(head.manifest, {"paillier": head.arrays["paillier"], "W0": np.zeros((5, 1), np.float32)})
    with pytest.raises(artefacts.ArtefactSchemaError, match="'W0' has dtype uint8"):
        artefacts.pack_model(manifest, {"W0": np.zeros((5, 1), np.uint8), "b0": np.zeros(1, np.float32)})


def test_an_older_reader_refuses_a_version_4_container_clearly(keys, monkeypatch):
    """A reader of versions 1 to 3 (this module with CONTAINER_VERSION = 3) refuses version 4
    by its version, with one clear message, before it reads anything else."""
    from fathom.ml import artefacts, models

    _, sk = keys
    manifest = models.make_manifest("logistic", 4, 2)
    blob = E.encrypt_container(sk, artefacts.Model(manifest, models.init_model(manifest, seed=0))).pack()
    monkeypatch.setattr(artefacts, "CONTAINER_VERSION", 3)
    with pytest.raises(artefacts.ArtefactFormatError, match=r"container version 4 is not supported \(this code reads "
                                                            r"versions 1 to 3\)"):
        artefacts.unpack_model(blob)


def test_members_encrypt_the_same_version_to_the_same_bytes_and_it_decrypts_to_the_canonical_weights(keys):
    from fathom.ml import artefacts, models

    _, sk = keys
    manifest = models.make_manifest("softmax", 6, 3)
    params = {k: v + np.float32(0.1234567) for k, v in models.init_model(manifest, seed=3).items()}
    a = E.encrypt_container(sk, artefacts.Model(manifest, params)).pack()
    assert a == E.encrypt_container(sk, artefacts.Model(manifest, params)).pack()
    opened = E.decrypt_head(sk, artefacts.unpack_model(a))
    canonical = E.canonical(params)
    assert all(np.array_equal(opened.arrays[k], canonical[k]) for k in canonical)
    assert all(np.array_equal(E.canonical(canonical)[k], canonical[k]) for k in canonical)  # idempotent
    assert max(float(np.abs(canonical[k] - params[k]).max()) for k in params) <= 2.0**-25

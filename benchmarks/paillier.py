"""The encrypted-weights mode (Paillier, 2048-bit keys): cost and accuracy.

    python benchmarks/paillier.py [--quick] [--json out.json]
    python benchmarks/run.py --only paillier      # merged into benchmarks/results.json

All timings use 2048-bit keys (phe 1.5 + gmpy2, one process, one core of this machine).

``gradient_d30_n500_s``: one encrypted gradient (`fathom.ml.encrypted.encrypted_gradient`)
of binary logistic regression, d = 30, n = 500 (the first 500 rows of scikit-learn's
breast_cancer, standardised), from the committee's ciphertexts of the weights to the
contributor's ciphertexts of the gradient; median of 3 runs after a warm-up. The
contributor's plaintext part (its Gram matrix, ``B`` and ``e``) is timed apart, and so
are several steps (``steps=5``: the same cost, one affine map).

``gradient_d784_n500_s``: the same for d = 784 on synthetic standardised data (no MNIST
offline). The product has 785 output coordinates of identical cost (785 scalar
multiplications and one encryption each): all of them are computed, one run (about a
minute); with ``--quick`` only ``d784_rows_measured`` of them are, and the whole is
extrapolated linearly (``d784_extrapolated: true``). The plaintext part is computed in full.

``decrypt_ms``: one 2048-bit decryption (phe's CRT). From it: the committee's time to
open 32 updates of `MAX_WEIGHTS` ciphertexts, and of 7,840 (MNIST one-vs-rest).

``accuracy``: breast_cancer, 70/30 stratified split (seed 0), features standardised on
the training part, the training part dealt to 10 contributors. Each contribution is 5
steps at lr 0.3 on one contributor's rows from the current model, applied in turn (all
accepted), starting from zero weights. Test accuracy after the 10 contributions for:
``encrypted`` (the mode itself: encrypted weights, degree-1 sigmoid, fixed point, the
committee decrypts and re-encrypts after each); ``plain_linear_sigmoid`` (the same
algorithm in float64, no encryption: isolates the cost of quantisation); ``plain_sigmoid``
(the same contributions with the true sigmoid: the plaintext baseline); and
``sklearn_full`` (LogisticRegression on the whole training part: a ceiling). The cost of
the approximation is ``plain_sigmoid - plain_linear_sigmoid``, in accuracy and log loss.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

_SRC = os.environ.get("FATHOM_BENCH_SRC")
sys.path.insert(0, _SRC or str(Path(__file__).resolve().parent.parent))
sys.path.insert(1, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from fathom.crypto import paillier  # noqa: E402
from fathom.ml import encrypted as E  # noqa: E402
from fathom.ml.quantize import COEFFICIENTS, WEIGHTS, FixedPoint  # noqa: E402

from common import load, say, section_main, summary, timed  # noqa: E402

KEY_BITS = 2048
CONTRIBUTORS, LR, STEPS = 10, 0.3, 5


def _breast_cancer():
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    mu, sd = Xtr.mean(0), Xtr.std(0)
    return (Xtr - mu) / sd, (Xte - mu) / sd, ytr.astype(float), yte.astype(float)


def _metrics(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> dict[str, float]:
    z = np.c_[X, np.ones(len(X))] @ w
    p = np.clip(1 / (1 + np.exp(-z)), 1e-15, 1 - 1e-15)
    return {"accuracy": round(float(np.mean((z >= 0) == y)), 4),
            "log_loss": round(float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))), 4)}


def timings(key: paillier.PublicKey, secret: paillier.SecretKey, quick: bool) -> dict[str, Any]:
    Xtr, Xte, ytr, yte = _breast_cancer()
    X30, y30 = np.concatenate([Xtr, Xte])[:500], np.concatenate([ytr, yte])[:500]
    w = np.random.default_rng(1).normal(scale=0.1, size=(1, 31))
    model = E.encrypt_model(key, w, "logistic")
    encrypt_s = timed(lambda: E.encrypt_model(key, w, "logistic"), 1 if quick else 3, warmup=0)
    grad = timed(lambda: E.encrypted_gradient(model, X30, y30), 1 if quick else 3)
    steps = timed(lambda: E.encrypted_update(model, X30, y30, lr=LR, steps=STEPS), 1 if quick else 3, warmup=0)
    plain = timed(lambda: E.affine_update(X30, y30, "logistic"), 5, warmup=1)
    got = E.decrypt(secret, E.encrypted_gradient(model, X30, y30))
    err = float(np.abs(got - E.plain_update(w, X30, y30, "logistic")).max())
    say(f"paillier: d=30 n=500 gradient {np.median(grad):.3f} s (5 steps {np.median(steps):.3f} s), "
        f"max |decrypted - plaintext| {err:.2e}")

    # d = 784: every one of the 785 output coordinates (a subset, extrapolated, with --quick)
    d, n = 784, 500
    rng = np.random.default_rng(2)
    X784 = rng.normal(size=(n, d))
    y784 = (X784 @ rng.normal(size=d) > 0).astype(float)
    w784 = rng.normal(scale=0.05, size=d + 1)
    cts = key.encrypt_many(WEIGHTS.encode(w784))
    t = time.perf_counter()
    B, e = E.affine_update(X784, y784, "logistic")
    Bq = COEFFICIENTS.encode_matrix(B)
    eq = FixedPoint(WEIGHTS.frac_bits + COEFFICIENTS.frac_bits, COEFFICIENTS.int_bits).encode(e)
    inverses = [paillier.negate(key, c) for c in cts]
    plain784 = time.perf_counter() - t
    rows = 8 if quick else d + 1
    t = time.perf_counter()
    for i in range(rows):
        paillier.add_plain(key, paillier.dot(key, cts, inverses, Bq[i]), eq[i])
    per_row = (time.perf_counter() - t) / rows
    total784 = plain784 + per_row * (d + 1)
    how = "measured in full" if rows == d + 1 else f"extrapolated from {rows} of {d + 1} coordinates"
    say(f"paillier: d=784 n=500 gradient {total784:.1f} s ({how})")

    dec = timed(lambda: secret.decrypt(cts[0]), 20, warmup=2)
    dec_ms = float(np.median(dec)) * 1000
    return {
        "gradient_d30_n500_s": round(float(np.median(grad)), 4),
        "gradient_d30_n500": summary(grad, 4),
        "update_d30_n500_steps5_s": round(float(np.median(steps)), 4),
        "plaintext_part_d30_n500_s": round(float(np.median(plain)), 5),
        "encrypt_model_d30_s": round(float(np.median(encrypt_s)), 4),
        "max_abs_error_d30": err,
        "gradient_d784_n500_s": round(total784, 1),
        "d784_extrapolated": rows != d + 1,
        "d784_rows_measured": rows,
        "d784_seconds_per_coordinate": round(per_row, 4),
        "d784_plaintext_part_s": round(plain784, 3),
        "decrypt_ms": round(dec_ms, 3),
        "committee_decrypt_32_updates_max_weights_s": round(32 * E.MAX_WEIGHTS * dec_ms / 1000, 1),
        "committee_decrypt_32_updates_7840_s": round(32 * 7840 * dec_ms / 1000, 1),
    }


def accuracy(key: paillier.PublicKey, secret: paillier.SecretKey) -> dict[str, Any]:
    Xtr, Xte, ytr, yte = _breast_cancer()
    parts = np.array_split(np.random.default_rng(0).permutation(len(Xtr)), CONTRIBUTORS)
    enc = np.zeros((1, Xtr.shape[1] + 1))
    lin = enc.copy()
    true = np.zeros(Xtr.shape[1] + 1)
    curve = []
    for p in parts:
        model = E.encrypt_model(key, enc, "logistic")                                  # committee
        update = E.encrypted_update(model, Xtr[p], ytr[p], lr=LR, steps=STEPS)         # contributor
        enc = enc + E.decrypt(secret, update)                                          # committee
        lin = lin + E.plain_update(lin, Xtr[p], ytr[p], "logistic", LR, STEPS)
        Xb = np.c_[Xtr[p], np.ones(len(p))]
        for _ in range(STEPS):
            true = true - LR * Xb.T @ (1 / (1 + np.exp(-Xb @ true)) - ytr[p]) / len(p)
        curve.append(_metrics(enc[0], Xte, yte)["accuracy"])
    from sklearn.linear_model import LogisticRegression

    ref = LogisticRegression(max_iter=1000).fit(Xtr, ytr)
    ceiling = np.r_[ref.coef_[0], ref.intercept_]
    out = {
        "encrypted": _metrics(enc[0], Xte, yte),
        "plain_linear_sigmoid": _metrics(lin[0], Xte, yte),
        "plain_sigmoid": _metrics(true, Xte, yte),
        "sklearn_full": _metrics(ceiling, Xte, yte),
        "encrypted_accuracy_by_contribution": curve,
        "max_abs_weight_gap_encrypted_vs_plain_linear": float(np.abs(enc - lin).max()),
        "contributors": CONTRIBUTORS, "lr": LR, "steps": STEPS, "test_rows": len(yte),
    }
    out["sigmoid_approximation_cost"] = {
        "accuracy": round(out["plain_sigmoid"]["accuracy"] - out["plain_linear_sigmoid"]["accuracy"], 4),
        "log_loss": round(out["plain_linear_sigmoid"]["log_loss"] - out["plain_sigmoid"]["log_loss"], 4)}
    say(f"paillier: breast_cancer after {CONTRIBUTORS} contributions: encrypted {out['encrypted']['accuracy']}, "
        f"plain (sigmoid) {out['plain_sigmoid']['accuracy']}, plain (linear sigmoid) "
        f"{out['plain_linear_sigmoid']['accuracy']}, sklearn {out['sklearn_full']['accuracy']}")
    return out


def run(quick: bool = False) -> dict[str, Any]:
    before = load()
    key, secret = paillier.generate_keypair(KEY_BITS)
    out = {"key_bits": KEY_BITS, **timings(key, secret, quick), "accuracy": accuracy(key, secret)}
    out["load_before"], out["load_after"] = before, load()
    return out


if __name__ == "__main__":
    sys.exit(section_main(__doc__, run))

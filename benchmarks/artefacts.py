"""Artefact throughput: seal + CID against plain SHA-256, on the same bytes, in the same loop.

    python benchmarks/artefacts.py          # prints a table and this section's JSON

``encrypt_cid_mb_s``: `crypto.seal_for` (a fresh AES-256-GCM key wrapped by ECIES for 5
recipients, as a contributor seals an update: 3 oracles, the requester, the audit key)
followed by `storage.compute_cid` of the ciphertext (the CID `ipfs add --cid-version=1
--raw-leaves` gives it: SHA-256 of every 256 KiB leaf plus the dag-pb nodes).
``sha256_mb_s``: `hashlib.sha256` of the same plaintext. MB = 10**6 bytes of plaintext.
Each repetition times both, back to back, so the ratio sees one load. The headline is
a 16 MiB artefact (about 4 M float32 parameters); 1 MiB and 64 MiB are recorded too,
with the parts (the seal alone, the CID alone, AES-GCM alone) that explain the ratio.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sys
import time
from pathlib import Path
from typing import Any

_SRC = os.environ.get("FATHOM_BENCH_SRC")
sys.path.insert(0, _SRC or str(Path(__file__).resolve().parent.parent))
sys.path.insert(1, str(Path(__file__).resolve().parent))

import fathom  # noqa: E402
from fathom.crypto.envelope import account_address, generate_private_key, public_key_of, seal_for, seal_with_key  # noqa: E402
from fathom.storage.store import compute_cid  # noqa: E402

from common import load, median, say, section_main, summary  # noqa: E402

SIZES_MIB = [1, 16, 64]
HEADLINE_MIB = 16


def _mb_s(nbytes: int, seconds: float) -> float:
    return round(nbytes / seconds / 1e6, 1)


def run(quick: bool = False) -> dict[str, Any]:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    keys = [generate_private_key() for _ in range(5)]
    recipients = {account_address(k): public_key_of(k) for k in keys}
    author = account_address(generate_private_key())
    model_key = os.urandom(32)
    aes = AESGCM(os.urandom(32))
    detail: dict[str, Any] = {}
    before = load()
    for mib in SIZES_MIB if not quick else [1, HEADLINE_MIB]:
        data = os.urandom(mib << 20)
        reps = 5 if mib >= 64 else 7
        t_enc, t_sha, t_seal, t_cid, t_model, t_aes, t_hmac = [], [], [], [], [], [], []
        sealed = seal_for(data, recipients, 1, "update", author)  # warm-up
        compute_cid(sealed)
        for _ in range(reps):
            t = time.perf_counter()
            hashlib.sha256(data).digest()
            t_sha.append(time.perf_counter() - t)

            t = time.perf_counter()
            sealed = seal_for(data, recipients, 1, "update", author)
            mid = time.perf_counter()
            compute_cid(sealed)
            end = time.perf_counter()
            t_enc.append(end - t)
            t_seal.append(mid - t)
            t_cid.append(end - mid)

            t = time.perf_counter()
            compute_cid(seal_with_key(data, model_key, 1, "model", author))  # a merged model: deterministic nonce
            t_model.append(time.perf_counter() - t)

            t = time.perf_counter()
            aes.encrypt(b"\0" * 12, data, b"")
            t_aes.append(time.perf_counter() - t)

            t = time.perf_counter()
            hmac.new(b"k" * 32, data, hashlib.sha256).digest()
            t_hmac.append(time.perf_counter() - t)
        n = len(data)
        row = {
            "bytes": n,
            "encrypt_cid_mb_s": _mb_s(n, median(t_enc)),
            "sha256_mb_s": _mb_s(n, median(t_sha)),
            "ratio": round(median(t_sha) / median(t_enc), 3),
            "parts_mb_s": {
                "seal_for_5_recipients": _mb_s(n, median(t_seal)),
                "compute_cid_of_ciphertext": _mb_s(n, median(t_cid)),
                "seal_with_key_plus_cid": _mb_s(n, median(t_model)),
                "aes_256_gcm_alone": _mb_s(n, median(t_aes)),
                "hmac_sha256_alone": _mb_s(n, median(t_hmac)),
            },
            "encrypt_cid_s": summary(t_enc),
            "sha256_s": summary(t_sha),
        }
        detail[f"{mib}MiB"] = row
        say(f"  {mib:>3} MiB: seal+CID {row['encrypt_cid_mb_s']:>7.1f} MB/s, sha256 {row['sha256_mb_s']:>7.1f} MB/s, "
            f"ratio {row['ratio']:.2f}  (seal {row['parts_mb_s']['seal_for_5_recipients']:.0f}, CID "
            f"{row['parts_mb_s']['compute_cid_of_ciphertext']:.0f}, AES-GCM {row['parts_mb_s']['aes_256_gcm_alone']:.0f}, "
            f"HMAC {row['parts_mb_s']['hmac_sha256_alone']:.0f} MB/s)")
    head = detail[f"{HEADLINE_MIB}MiB"]
    return {
        "encrypt_cid_mb_s": head["encrypt_cid_mb_s"],
        "sha256_mb_s": head["sha256_mb_s"],
        "encrypt_cid_to_sha256": head["ratio"],
        "headline": f"{HEADLINE_MIB} MiB of random bytes; seal_for (5 recipients) + compute_cid vs hashlib.sha256",
        "by_size": detail,
        "load_before": before,
        "load_after": load(),
        "fathom_source": str(Path(fathom.__file__).parent),
    }


def main() -> int:
    return section_main(__doc__, run)


if __name__ == "__main__":
    sys.exit(main())

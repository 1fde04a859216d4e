"""Paillier, the additively homomorphic cryptosystem of the encrypted-weights mode.

Keys, encryption and decryption come from `phe` (python-paillier, CSIRO Data61) and its
arithmetic runs on `gmpy2` (GMP); this module is the only one of Fathom that imports
either. It works on **integers only**: a plaintext is a signed Python int, a ciphertext
is the int ``c`` in ``[1, n**2)``. Fixed-point encoding of floats is the caller's job
(`fathom.ml.quantize`), so that every party gets the same bits.

What Paillier allows, and nothing more (``E`` = encryption under one public key):

    add(E(a), E(b))          = E(a + b)
    scalar_mul(E(a), k)      = E(k * a)          k a plain int, negative allowed
    negate(E(a))             = E(-a)
    add_plain(E(a), b)       = E(a + b)          b a plain int (encrypted, then added)

Signed plaintexts: ``m`` is encrypted as ``m mod n``. Decryption maps back to
``[-max_int, max_int]`` with ``max_int = n // 3``; a decrypted value in the gap between
the two ranges means an overflow somewhere in the computation, and is refused
(`PaillierOverflow`) rather than silently wrapped.

A `PublicKey` holds ``n`` only: nothing reachable from it, from a ciphertext, or from
`PublicKey.to_json` can decrypt. The `SecretKey` (the primes ``p`` and ``q``) stays with
the committee; it is never serialised by the contributor's path.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable, Sequence

import gmpy2
from phe import paillier as _phe

from fathom.errors import FathomError

__all__ = [
    "DEFAULT_KEY_BITS",
    "MIN_KEY_BITS",
    "PaillierError",
    "PaillierOverflow",
    "PublicKey",
    "SecretKey",
    "add",
    "add_plain",
    "generate_keypair",
    "negate",
    "scalar_mul",
]

#: The key size of a bounty in this mode (NIST puts a 2048-bit modulus at ~112-bit security).
DEFAULT_KEY_BITS = 2048
#: Smaller keys are refused except where a caller opts in (`generate_keypair(..., insecure=True)`,
#: the tests only): they keep a test fast and protect nothing.
MIN_KEY_BITS = 2048


class PaillierError(FathomError, ValueError):
    """A malformed key or ciphertext, or a key too small to protect anything."""


class PaillierOverflow(PaillierError):
    """A decrypted value lies outside the signed range: the computation overflowed."""


@dataclass(frozen=True)
class PublicKey:
    """The public half: the modulus ``n`` (generator ``g = n + 1``, as in phe)."""

    n: int

    def __post_init__(self) -> None:
        if not isinstance(self.n, int) or isinstance(self.n, bool) or self.n < 3 or self.n % 2 == 0:
            raise PaillierError("a Paillier modulus is an odd integer")

    @property
    def bits(self) -> int:
        return self.n.bit_length()

    @property
    def nsquare(self) -> int:
        return self.n * self.n

    @property
    def max_int(self) -> int:
        """The largest magnitude a signed plaintext may have."""
        return self.n // 3

    @property
    def ciphertext_bytes(self) -> int:
        """Bytes of one ciphertext written at fixed width (``n**2`` rounded up to bytes)."""
        return (2 * self.bits + 7) // 8

    def _phe(self) -> _phe.PaillierPublicKey:
        return _phe.PaillierPublicKey(self.n)

    def encrypt(self, m: int) -> int:
        """E(m) with fresh randomness from the operating system (phe draws r with `secrets`)."""
        return self._phe().raw_encrypt(self._embed(m))

    def encrypt_many(self, values: Iterable[int], seed: bytes | None = None) -> list[int]:
        """E(m) for each value. With ``seed`` (at least 32 secret bytes) the randomness is
        derived from it instead of the OS (`derived_randomness`): the same seed and values
        give the same ciphertexts, which lets every committee member pin the same bytes for
        an encrypted head (SPECIFICATION F5). Never reuse a seed for other values."""
        key = self._phe()
        if seed is None:
            return [key.raw_encrypt(self._embed(m)) for m in values]
        return [key.raw_encrypt(self._embed(m), r_value=r)
                for m, r in zip(values, self.derived_randomness(seed), strict=False)]

    def derived_randomness(self, seed: bytes) -> Iterable[int]:
        """Paillier's r values from a secret seed: SHAKE-256("fathom/v1/paillier-r" || seed ||
        counter) read over bits(n) + 128 bits and reduced mod n (statistically uniform),
        skipping the negligible values not prime to n."""
        if not isinstance(seed, bytes) or len(seed) < 32:
            raise PaillierError("a Paillier randomness seed is at least 32 secret bytes")
        width = (self.bits + 128 + 7) // 8
        counter = 0
        while True:
            digest = hashlib.shake_256(b"fathom/v1/paillier-r" + len(seed).to_bytes(4, "big") + seed
                                       + counter.to_bytes(8, "big")).digest(width)
            counter += 1
            r = int.from_bytes(digest, "big") % self.n
            if r > 1 and gmpy2.gcd(r, self.n) == 1:
                yield r

    def check(self, c: int) -> int:
        """``c`` if it is a well-formed ciphertext under this key, else PaillierError."""
        if not isinstance(c, int) or isinstance(c, bool) or not 0 < c < self.nsquare or gmpy2.gcd(c, self.n) != 1:
            raise PaillierError("not a ciphertext under this public key")
        return c

    def _embed(self, m: int) -> int:
        if not isinstance(m, int) or isinstance(m, bool):
            raise PaillierError(f"Paillier encrypts integers, not {type(m).__name__}")
        if abs(m) > self.max_int:
            raise PaillierOverflow(f"plaintext of {abs(m).bit_length()} bits exceeds the signed range of a {self.bits}-bit key")
        return m % self.n

    def to_json(self) -> dict[str, object]:
        return {"scheme": "paillier", "n": format(self.n, "x")}

    @classmethod
    def from_json(cls, document: object) -> "PublicKey":
        if not isinstance(document, dict) or document.get("scheme") != "paillier" or set(document) != {"scheme", "n"}:
            raise PaillierError('a Paillier public key is {"scheme": "paillier", "n": "<hex>"}')
        n = document["n"]
        if not isinstance(n, str) or not n or any(ch not in "0123456789abcdef" for ch in n):
            raise PaillierError("the public key's n must be lower-case hex")
        return cls(int(n, 16))


class SecretKey:
    """The secret half (the primes), held by the committee only."""

    __slots__ = ("public", "_key")

    def __init__(self, public: PublicKey, p: int, q: int) -> None:
        if p * q != public.n:
            raise PaillierError("p * q is not the public modulus")
        self.public = public
        self._key = _phe.PaillierPrivateKey(public._phe(), p, q)

    def __repr__(self) -> str:  # never print the primes
        return f"SecretKey(<{self.public.bits}-bit>)"

    def decrypt(self, c: int) -> int:
        """The signed plaintext of ``c``; PaillierOverflow if it left the signed range."""
        value = self._key.raw_decrypt(self.public.check(c))
        n = self.public.n
        if value <= self.public.max_int:
            return value
        if value >= n - self.public.max_int:
            return value - n
        raise PaillierOverflow("a decrypted value is outside the signed range: the computation overflowed")

    def decrypt_many(self, ciphertexts: Iterable[int]) -> list[int]:
        return [self.decrypt(c) for c in ciphertexts]

    def seed_for(self, context: bytes) -> bytes:
        """A secret 32-byte seed for `PublicKey.encrypt_many`, the same for every holder of
        this key: SHA-256("fathom/v1/paillier-seed" || p || q || context), primes in order.
        Whoever lacks the primes cannot compute it (so cannot recover the randomness)."""
        p, q = sorted((int(self._key.p), int(self._key.q)))
        width = (self.public.bits + 7) // 8
        return hashlib.sha256(b"fathom/v1/paillier-seed" + p.to_bytes(width, "big") + q.to_bytes(width, "big")
                              + context).digest()

    def to_json(self) -> dict[str, object]:
        """The committee's copy of the key (p, q in hex). Never give it to a contributor."""
        return {"scheme": "paillier", "n": format(self.public.n, "x"),
                "p": format(self._key.p, "x"), "q": format(self._key.q, "x")}

    @classmethod
    def from_json(cls, document: object) -> "SecretKey":
        if not isinstance(document, dict) or set(document) != {"scheme", "n", "p", "q"}:
            raise PaillierError('a Paillier secret key is {"scheme", "n", "p", "q"} in hex')
        try:
            p, q = int(document["p"], 16), int(document["q"], 16)
        except (TypeError, ValueError) as exc:
            raise PaillierError("the secret key's p and q must be hex") from exc
        return cls(PublicKey.from_json({"scheme": "paillier", "n": document["n"]}), p, q)


def generate_keypair(bits: int = DEFAULT_KEY_BITS, *, insecure: bool = False) -> tuple[PublicKey, SecretKey]:
    """A fresh key pair (phe's generator: primes from the OS's randomness).

    ``bits`` below `MIN_KEY_BITS` is refused unless ``insecure=True`` (tests only).
    """
    if not isinstance(bits, int) or bits < 64 or bits % 2:
        raise PaillierError("the key size is an even number of bits, at least 64")
    if bits < MIN_KEY_BITS and not insecure:
        raise PaillierError(f"a Paillier key of {bits} bits protects nothing: use at least {MIN_KEY_BITS}")
    public, secret = _phe.generate_paillier_keypair(n_length=bits)
    key = PublicKey(int(public.n))
    return key, SecretKey(key, int(secret.p), int(secret.q))


def add(key: PublicKey, a: int, b: int) -> int:
    """E(x + y) from E(x) and E(y)."""
    return int(gmpy2.mul(a, b) % key.nsquare)


def negate(key: PublicKey, a: int) -> int:
    """E(-x) from E(x) (the inverse modulo n**2)."""
    return int(gmpy2.invert(a, key.nsquare))


def scalar_mul(key: PublicKey, a: int, k: int) -> int:
    """E(k * x) from E(x) and a plain int k (negative k through the inverse, so the
    exponent stays as small as |k|)."""
    if not isinstance(k, int) or isinstance(k, bool):
        raise PaillierError(f"a Paillier scalar is an integer, not {type(k).__name__}")
    if k < 0:
        return int(gmpy2.powmod(gmpy2.invert(a, key.nsquare), -k, key.nsquare))
    return int(gmpy2.powmod(a, k, key.nsquare))


def add_plain(key: PublicKey, a: int, b: int) -> int:
    """E(x + b) from E(x) and a plain int b."""
    return add(key, a, key.encrypt(b))


def dot(key: PublicKey, ciphertexts: Sequence[int], inverses: Sequence[int], scalars: Sequence[int]) -> int:
    """E(sum_i k_i x_i) from E(x_i), their inverses (`negate`, computed once by the caller
    for many rows) and plain ints k_i: the inner loop of a matrix-vector product."""
    m = key.nsquare
    acc = gmpy2.mpz(1)
    for c, inv, k in zip(ciphertexts, inverses, scalars, strict=True):
        k = int(k)
        if k > 0:
            acc = acc * gmpy2.powmod(c, k, m) % m
        elif k < 0:
            acc = acc * gmpy2.powmod(inv, -k, m) % m
    return int(acc)

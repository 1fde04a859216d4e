"""A deterministic fixed-point codec, float <-> int, for the encrypted-weights mode.

Paillier computes on integers, so the model's weights and the contributor's plain
coefficients are carried as ``q = round(x * 2**frac_bits)``. Every honest party must get
the same bits from the same floats (oracles compare what they decrypt), so:

- rounding is round-half-to-even on float64 (`numpy.rint`, IEEE 754, the same on every
  machine); no stochastic rounding, no randomness at all;
- scaling is by a power of two, which is exact in float64: the only error is the one
  rounding, at most ``2**-(frac_bits + 1)`` per value (`FixedPoint.resolution / 2`);
- inputs are refused (`QuantizeError`) when not finite or when ``|x|`` exceeds the stated
  range ``2**int_bits``; decoding is exact for ``|q| < 2**53`` and correctly rounded above.

``encode`` returns Python ints (arbitrary precision, what Paillier takes); ``decode``
takes ints at any scale ``2**frac_bits`` and returns float64.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from fathom.errors import FathomError

__all__ = ["FixedPoint", "QuantizeError", "WEIGHTS", "COEFFICIENTS"]


class QuantizeError(FathomError, ValueError):
    """A value cannot be encoded at the stated scale and range."""


@dataclass(frozen=True)
class FixedPoint:
    """``frac_bits`` fractional bits, values in ``[-2**int_bits, 2**int_bits]``."""

    frac_bits: int
    int_bits: int

    def __post_init__(self) -> None:
        if not (0 <= self.frac_bits <= 60 and 0 <= self.int_bits <= 60):
            raise QuantizeError("frac_bits and int_bits must each be between 0 and 60")

    @property
    def scale(self) -> int:
        return 1 << self.frac_bits

    @property
    def resolution(self) -> float:
        """The step between two codes; the round trip errs by at most half of it."""
        return 2.0 ** -self.frac_bits

    @property
    def bound(self) -> float:
        return 2.0 ** self.int_bits

    @property
    def max_code(self) -> int:
        """The largest |code| `encode` can return."""
        return 1 << (self.int_bits + self.frac_bits)

    def encode(self, values: Iterable[float] | np.ndarray) -> list[int]:
        """Codes of ``values`` (any shape, flattened in C order)."""
        x = np.asarray(values, dtype=np.float64).ravel()
        if not np.all(np.isfinite(x)):
            raise QuantizeError("cannot encode NaN or infinity")
        if x.size and float(np.max(np.abs(x))) > self.bound:
            raise QuantizeError(f"a value of magnitude {float(np.max(np.abs(x))):.6g} is outside the codec's "
                                f"range of +-2**{self.int_bits}")
        scaled = np.rint(np.ldexp(x, self.frac_bits))  # exact scaling, then one IEEE rounding
        return [int(v) for v in scaled]

    def encode_matrix(self, values: np.ndarray) -> list[list[int]]:
        x = np.asarray(values, dtype=np.float64)
        if x.ndim != 2:
            raise QuantizeError("encode_matrix takes a 2-d array")
        flat = self.encode(x)
        cols = x.shape[1]
        return [flat[i * cols:(i + 1) * cols] for i in range(x.shape[0])]

    def decode(self, codes: Iterable[int], frac_bits: int | None = None) -> np.ndarray:
        """float64 values of ``codes`` at scale ``2**frac_bits`` (default: this codec's)."""
        bits = self.frac_bits if frac_bits is None else frac_bits
        out = []
        for q in codes:
            if not isinstance(q, (int, np.integer)) or isinstance(q, bool):
                raise QuantizeError(f"a fixed-point code is an integer, not {type(q).__name__}")
            out.append(_ratio_to_float(int(q), bits))
        return np.asarray(out, dtype=np.float64)


def _ratio_to_float(q: int, bits: int) -> float:
    """q / 2**bits, correctly rounded (int / int true division is, in CPython)."""
    try:
        return q / (1 << bits)
    except OverflowError as exc:
        raise QuantizeError("a decoded value does not fit in a float") from exc


#: The model's weights in this mode: 24 fractional bits (resolution 6e-8, below float32's
#: 2**-24 relative precision at 1), |w| <= 2**16.
WEIGHTS = FixedPoint(frac_bits=24, int_bits=16)
#: The contributor's plain coefficients (its data's Gram matrix and step size): 20
#: fractional bits, |a| <= 2**20.
COEFFICIENTS = FixedPoint(frac_bits=20, int_bits=20)

"""The crypto edge: keys, addresses and the sealed envelope.

The only part of fathom that imports coincurve and cryptography, and (`paillier`, the
encrypted-weights mode) phe and gmpy2.
"""

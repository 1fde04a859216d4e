"""Fathom: pay to have a model trained on data you never see.

The off-chain half of the protocol: artefacts, crypto, storage, the contributor client,
the oracle node and the `fathom` command line. See README.md and SPECIFICATION.md.
"""

__version__ = "0.1.0"

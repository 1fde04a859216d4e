"""The storage edge: content-addressed artefacts on IPFS or in the embedded store.

The only part of fathom that imports ipfshttpclient (lazily, in `store.IpfsStore`).
"""

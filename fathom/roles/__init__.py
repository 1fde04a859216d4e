"""One module per actor: requester, contributor, oracle.

Each role reads a bounty through `reader` and never imports another role.
"""

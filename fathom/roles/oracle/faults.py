"""Failure classes and fault injection of the oracle node.

Failure classes (CONVENTIONS, "a daemon that decides by type"): `transient` failures (the
RPC node, a store that does not answer, a connection cut mid-call) fail the tick and back
off; `Unavailable` content follows rule F8; a `RejectionError` scores INVALID; anything else
quarantines that one bounty (F9).

Fault injection, for the fault suite (tests/python/test_oracle_faults.py) only:
FATHOM_FAULT_PAUSE=<point> makes the node, the first time it reaches <point>, create
the file named by FATHOM_FAULT_MARKER and sleep until it is killed. The points:
`fetched` (a batch's artefacts fetched, not yet scored), `scored` (the report computed
and stored, not sent), `committed` (its commitment mined, R11; the report not revealed),
`sent` (a commitment or report transaction accepted by the node, its receipt not yet read), `mined` (the receipt read, the node's record of it not yet saved).
Unset, it costs one string comparison per point. The variable is read when this module
is imported.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from fathom.chain.client import ChainError
from fathom.errors import FathomError, Transient
from fathom.storage.store import StoreError, StoreTimeout, StoreUnavailable

log = logging.getLogger("fathom.roles.oracle")

#: Where FATHOM_FAULT_PAUSE can pause the node (see the module's docstring).
FAULT_POINTS = ("fetched", "scored", "committed", "sent", "mined")
_fault_pause: str | None = os.environ.get("FATHOM_FAULT_PAUSE") or None


def check_fault_setting() -> None:
    """Refuse a FATHOM_FAULT_PAUSE that names no fault point (a typo would test nothing)."""
    if _fault_pause is not None and _fault_pause not in FAULT_POINTS:
        raise FathomError(f"FATHOM_FAULT_PAUSE={_fault_pause!r} is not one of {', '.join(FAULT_POINTS)}")


def fault_point(point: str) -> None:
    """The test hook: pause here for good (the first time only) if FATHOM_FAULT_PAUSE names this point."""
    global _fault_pause
    if _fault_pause != point:
        return
    _fault_pause = None
    marker = os.environ.get("FATHOM_FAULT_MARKER")
    if marker:
        tmp = Path(marker + ".tmp")
        tmp.write_text(f"{os.getpid()} {point}\n")
        tmp.replace(marker)
    log.warning("fault injection: paused at %r until killed", point)
    while True:
        time.sleep(3600)


#: Failures that are the network's, not the bounty's: the tick fails and is retried with backoff
#: (OSError: the RPC client's connection errors, which requests raises untyped).
TRANSIENT = (ChainError, Transient, OSError)


def transient(exc: BaseException) -> bool:
    """A failure of the network or the store's node, not of what it carried."""
    return isinstance(exc, TRANSIENT) or (isinstance(exc, StoreError) and store_down(exc))


def store_down(exc: StoreError) -> bool:
    """The store failed, not the artefact: it was unreachable or too slow, or the connection
    broke mid-call (the IPFS client reports a daemon dying with the request unanswered,
    "Connection aborted", as a protocol error, which reaches us as a plain StoreError)."""
    if isinstance(exc, (StoreUnavailable, StoreTimeout)):
        return True
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc.__cause__, exc.__context__]
    while todo:
        err = todo.pop()
        if err is None or id(err) in seen:
            continue
        seen.add(id(err))
        if isinstance(err, (ConnectionError, TimeoutError)):  # builtins: reset, refused, aborted, timed out
            return True
        todo += [err.__cause__, err.__context__, *(a for a in err.args if isinstance(a, BaseException))]
    return False

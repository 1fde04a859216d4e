"""The oracle node: `fathom oracle run`, a long-running daemon (rules F4, F6, F8, F9).

- `node.py`: the loop (follow the chain, serve each bounty, failures by type, quarantine,
  pins on sight);
- `duties.py`: one duty per bounty state (join, baseline, report, finalise, settle, void,
  close);
- `reports.py`: a batch's report (fetch side by side under one deadline, open, check,
  score, merge, seal, pin);
- `state.py`: the SQLite state file and `node_status` (`fathom oracle status`);
- `faults.py`: failure classes and the FATHOM_FAULT_PAUSE points of the fault suite.
"""

from fathom.roles.oracle.duties import quorum
from fathom.roles.oracle.faults import FAULT_POINTS
from fathom.roles.oracle.node import OracleNode, OracleStopped
from fathom.roles.oracle.reports import (
    FETCH_THREADS,
    FETCH_WAIT,
    REPORT_RESERVE,
    Unservable,
    _WORKERS,
    _one_blas_thread,
    update_limit,
)
from fathom.roles.oracle.state import node_status

__all__ = ["FAULT_POINTS", "FETCH_THREADS", "FETCH_WAIT", "OracleNode", "OracleStopped", "REPORT_RESERVE",
           "Unservable", "node_status", "quorum", "update_limit"]

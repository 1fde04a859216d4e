"""The oracle node's state: one SQLite file per account, `<data dir>/oracle-<address>.sqlite`.

Tables: `meta` (checkpoint and its block hash), `events` (confirmed events of the market),
`checkpoints` (recent block hashes, for re-orgs), `reports` (each computed report, with the
hash of the records it scored, of the transaction that last sent it or its commitment, and
the salt of its commitment, R11, and `second`, set for a report made for a batch's second
round, R7b), `skips` (why a
submission was scored INVALID, or was unavailable), `quarantine` (bounties this node does
not serve, with the reason, F9), `validation` (the committed validation set's CID and salt,
F3), `pins` (updates pinned on sight, F8). Columns added after the first release are
added on open, so older state files keep working.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

from fathom.crypto.envelope import account_address
from fathom.errors import FathomError


def path_of(data_dir: Path, address: str) -> Path:
    return Path(data_dir) / f"oracle-{address.lower()}.sqlite"


def open_db(data_dir: Path, address: str) -> sqlite3.Connection:
    """The node's state file, created or brought up to date."""
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path_of(data_dir, address), isolation_level=None)
    db.executescript(
        """
        PRAGMA journal_mode=WAL;
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS events (block INTEGER, idx INTEGER, bounty INTEGER, name TEXT, args TEXT,
                                           PRIMARY KEY (block, idx));
        CREATE TABLE IF NOT EXISTS reports (bounty INTEGER, batch INTEGER, scores TEXT, merged TEXT, sent INTEGER,
                                            PRIMARY KEY (bounty, batch));
        CREATE TABLE IF NOT EXISTS checkpoints (block INTEGER PRIMARY KEY, hash TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS skips (bounty INTEGER, submission INTEGER, reason TEXT,
                                          PRIMARY KEY (bounty, submission));
        CREATE TABLE IF NOT EXISTS quarantine (bounty INTEGER PRIMARY KEY, reason TEXT NOT NULL, since REAL NOT NULL);
        CREATE TABLE IF NOT EXISTS validation (bounty INTEGER PRIMARY KEY, cid TEXT NOT NULL, salt TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS pins (bounty INTEGER, submission INTEGER, cid TEXT NOT NULL,
                                         attempts INTEGER NOT NULL DEFAULT 0, done INTEGER NOT NULL DEFAULT 0,
                                         PRIMARY KEY (bounty, submission));
        """
    )
    columns = {row[1] for row in db.execute("PRAGMA table_info(reports)")}
    for column in ("records", "tx", "salt", "second"):  # added after the first release: older files lack them
        if column not in columns:
            db.execute(f"ALTER TABLE reports ADD COLUMN {column} TEXT")
    return db


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """BEGIN ... COMMIT, rolled back if anything inside raises (the database is left as it
    was, and the next transaction can begin)."""
    db.execute("BEGIN")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def node_status(data_dir: Path, private_key: bytes) -> dict[str, Any]:
    """What a node's state file holds (read-only; the daemon may be running)."""
    address = account_address(private_key)
    path = path_of(data_dir, address)
    if not path.exists():
        raise FathomError(f"no oracle state for {address} at {path}: run `fathom oracle run` first")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        one = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
        checkpoint = db.execute("SELECT value FROM meta WHERE key = 'checkpoint'").fetchone()
        quarantined = ([{"bounty": b, "reason": r, "since": t} for b, r, t in
                        db.execute("SELECT bounty, reason, since FROM quarantine ORDER BY bounty")]
                       if "quarantine" in tables else [])
        # C7: the bounties where this node's last standing sit-out (SitOutSet) is on
        standing: dict[int, bool] = {}
        for bounty, args in db.execute("SELECT bounty, args FROM events WHERE name = 'SitOutSet' ORDER BY block, idx"):
            a = json.loads(args)
            if str(a["oracle"]).lower() == address.lower():
                standing[int(bounty)] = bool(a["out"])
        # R7b: batches retried (BatchRetried) and not yet decided: in their second round
        second: dict[tuple[int, int], int] = {}
        for bounty, name, args in db.execute("SELECT bounty, name, args FROM events WHERE name IN "
                                             "('BatchRetried', 'BatchSettled', 'BatchVoided') ORDER BY block, idx"):
            key = (int(bounty), int(json.loads(args)["batch"]))
            if name == "BatchRetried":
                second[key] = int(json.loads(args)["cleared"])
            else:
                second.pop(key, None)
        return {"address": address, "path": str(path), "checkpoint": int(checkpoint[0]) if checkpoint else None,
                "sitting_out": sorted(b for b, out in standing.items() if out),
                "second_round": [{"bounty": b, "batch": k, "cleared": c} for (b, k), c in sorted(second.items())],
                "reports": one("SELECT COUNT(*) FROM reports"), "unsent": one("SELECT COUNT(*) FROM reports WHERE sent = 0"),
                "skips": one("SELECT COUNT(*) FROM skips"), "quarantined": quarantined}
    finally:
        db.close()


def jsonable(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return {"__bytes__": bytes(value).hex()}
    if isinstance(value, Mapping):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def restore(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__bytes__"}:
            return bytes.fromhex(value["__bytes__"])
        return {k: restore(v) for k, v in value.items()}
    if isinstance(value, list):
        return [restore(v) for v in value]
    return value

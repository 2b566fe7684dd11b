"""The sweep store: one SQLite file (WAL mode) that is the run ledger and the results table.

Why SQLite: it is in the standard library, every finished batch is one ACID transaction (a
SIGKILL loses at most the batch being computed, never a committed row), the primary key
(point, strategy, replicate) makes counting a run twice impossible, and pandas
(`read_sql`), R (RSQLite) and DuckDB (`sqlite_scan`) read it without kds-sim. Only the
coordinating process writes, so there is no lock contention; tidy CSV/Parquet exports are
written next to it when a sweep finishes.

Tables: `meta` (key, value: experiment file text, package version, design), `points`
(point, one column per factor), `results` (point, strategy, replicate, one column per
per-replicate metric).
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from pathlib import Path
from typing import IO, Any

import pandas as pd

from kds_sim._version import __version__
from kds_sim.errors import StoreError

STORE = "sweep.sqlite"


class Store:
    """An open store; `lock()` makes this process its only writer."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.path = self.folder / STORE
        self._lock: IO[str] | None = None
        self.db: sqlite3.Connection | None = None

    # lifecycle ------------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.path.is_file()

    def lock(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        handle = open(self.folder / ".sweep.lock", "w")  # noqa: SIM115 - held until close()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise StoreError(f"{self.path}: another sweep is writing to this store") from None
        self._lock = handle

    def open(self) -> sqlite3.Connection:
        if self.db is None:
            self.db = sqlite3.connect(self.path, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
        return self.db

    def close(self) -> None:
        if self.db is not None:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.db.close()
            self.db = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    # writing --------------------------------------------------------------------------------
    def create(self, meta: dict[str, Any], points: pd.DataFrame, columns: list[str]) -> None:
        """Build the empty store in a temporary file, then rename it: never half-created."""
        tmp = self.path.with_suffix(".creating")
        tmp.unlink(missing_ok=True)
        db = sqlite3.connect(tmp)
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        db.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [(k, json.dumps(v)) for k, v in {**meta, "version": __version__}.items()],
        )
        points.to_sql("points", db, index=False)
        cols = ", ".join(f'"{c}" REAL' for c in columns)
        db.execute(
            "CREATE TABLE results (point INTEGER, strategy TEXT, replicate INTEGER, "
            f"{cols}, PRIMARY KEY (point, strategy, replicate))"
        )
        db.commit()
        db.close()
        os.replace(tmp, self.path)

    def add(self, rows: pd.DataFrame) -> int:
        """Commit one batch of finished runs atomically; already stored rows are ignored."""
        db = self.open()
        cols = list(rows.columns)
        marks = ", ".join("?" for _ in cols)
        names = ", ".join(f'"{c}"' for c in cols)
        db.execute("BEGIN IMMEDIATE")
        before = db.total_changes
        db.executemany(
            f"INSERT OR IGNORE INTO results ({names}) VALUES ({marks})",
            rows.itertuples(index=False, name=None),
        )
        added = db.total_changes - before
        db.execute("COMMIT")
        return added

    # reading --------------------------------------------------------------------------------
    def meta(self) -> dict[str, Any]:
        rows = self.open().execute("SELECT key, value FROM meta").fetchall()
        return {k: json.loads(v) for k, v in rows}

    def points(self) -> pd.DataFrame:
        return pd.read_sql("SELECT * FROM points ORDER BY point", self.open())

    def results(self) -> pd.DataFrame:
        return pd.read_sql("SELECT * FROM results ORDER BY point, strategy, replicate", self.open())

    def done_points(self, strategies: int, replicates: int) -> set[int]:
        """Points whose every strategy and replicate is stored."""
        rows = self.open().execute(
            "SELECT point FROM results GROUP BY point HAVING COUNT(*) = ?",
            (strategies * replicates,),
        )
        return {int(r[0]) for r in rows}

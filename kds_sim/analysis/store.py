"""The results store of every evaluation: one SQLite file (WAL mode), ledger and results.

Why SQLite: it is in the standard library, every finished task is one ACID transaction (a
SIGKILL loses at most the tasks being computed, never a committed row), the primary key
(point, strategy, replicate) makes counting a run twice impossible, and pandas (`read_sql`),
R (RSQLite) and DuckDB read it without kds-sim. Only the coordinating process writes (a lock
file held with flock, which the kernel releases when the process dies: it is never stale).

Tables: `meta` (key, value JSON: the design, and `inputs`: a digest of every input that
changes a result), `points` (point, one column per changed parameter), `results` (point,
strategy, replicate, one column per per-replicate value) and, when asked for, `curves`
(point, strategy, day, survival) and `tables` (point, strategy, replicate, and the row's daily
and person tables as pickled column arrays: what `kds-sim run` and `compare` write out).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pickle
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import pandas as pd

from kds_sim._version import __version__
from kds_sim.errors import StoreError


class Store:
    """An SQLite results store at `path`; `lock()` makes this process its only writer."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock: IO[str] | None = None
        self.db: sqlite3.Connection | None = None

    # lifecycle ------------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.path.is_file()

    def lock(self) -> None:
        folder = self.path.parent
        if folder.exists() and not folder.is_dir():
            raise StoreError(f"{folder}: exists and is not a folder; allowed: a folder path")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle = open(folder / f".{self.path.name}.lock", "w")  # noqa: SIM115 - until close()
        except OSError as err:
            raise StoreError(f"{folder}: cannot write the store there ({err.strerror})") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise StoreError(f"{self.path}: another process is writing to this store") from None
        self._lock = handle

    def open(self) -> sqlite3.Connection:
        if self.db is None:
            if not self.exists():
                raise StoreError(f"{self.path}: no store here")
            try:
                self.db = sqlite3.connect(self.path, isolation_level=None)
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                self.db.execute("SELECT value FROM meta LIMIT 1").fetchall()
            except sqlite3.DatabaseError as err:
                self._damaged(err)
        assert self.db is not None
        return self.db

    def _damaged(self, err: Exception) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None
        raise StoreError(
            f"{self.path}: not a readable kds-sim store ({err}); allowed: a store written by "
            "kds-sim: delete the file (or choose another folder) to start again"
        ) from None

    def close(self) -> None:
        if self.db is not None:
            with contextlib.suppress(sqlite3.DatabaseError):
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.db.close()
            self.db = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    # writing --------------------------------------------------------------------------------
    def create(
        self,
        meta: dict[str, Any],
        points: pd.DataFrame,
        columns: list[str],
        curves: bool = False,
        tables: bool = False,
    ) -> None:
        """Build the empty store in a temporary file, then rename it: never half-created."""
        tmp = self.path.with_name(self.path.name + ".creating")
        tmp.unlink(missing_ok=True)
        try:
            db = sqlite3.connect(tmp)
            try:
                db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
                db.executemany(
                    "INSERT INTO meta VALUES (?, ?)",
                    [(k, json.dumps(v)) for k, v in {**meta, "version": __version__}.items()],
                )
                points.to_sql("points", db, index=False)
                cols = "".join(f', "{c}" REAL' for c in columns)
                db.execute(
                    "CREATE TABLE results (point INTEGER, strategy TEXT, replicate INTEGER"
                    f"{cols}, PRIMARY KEY (point, strategy, replicate))"
                )
                if curves:
                    db.execute(
                        "CREATE TABLE curves (point INTEGER, strategy TEXT, day INTEGER, "
                        "survival REAL, PRIMARY KEY (point, strategy, day))"
                    )
                if tables:
                    db.execute(
                        "CREATE TABLE tables (point INTEGER, strategy TEXT, replicate INTEGER, "
                        "daily BLOB, people BLOB, PRIMARY KEY (point, strategy, replicate))"
                    )
                db.commit()
            finally:
                db.close()
            os.replace(tmp, self.path)
        except (OSError, sqlite3.Error) as err:
            tmp.unlink(missing_ok=True)
            raise StoreError(f"{self.path}: cannot create the store ({err})") from None

    def add(
        self,
        rows: pd.DataFrame,
        curves: pd.DataFrame | None = None,
        tables: Sequence[tuple[int, str, int, Any, Any]] | None = None,
    ) -> int:
        """Commit one task's rows (and survival curves, and tables) atomically; rows already
        stored are ignored. Returns the number of result rows added."""
        db = self.open()
        try:
            db.execute("BEGIN IMMEDIATE")
            before = db.total_changes
            _insert(db, "results", rows)
            added = db.total_changes - before
            if curves is not None:
                _insert(db, "curves", curves)
            if tables:
                db.executemany(
                    "INSERT OR IGNORE INTO tables VALUES (?, ?, ?, ?, ?)",
                    [
                        (p, s, r, pickle.dumps(d, protocol=5), pickle.dumps(q, protocol=5))
                        for p, s, r, d, q in tables
                    ],
                )
            db.execute("COMMIT")
        except sqlite3.OperationalError as err:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise StoreError(f"{self.path}: cannot write results ({err})") from None
        return added

    # reading --------------------------------------------------------------------------------
    def _read(self, sql: str) -> pd.DataFrame:
        try:
            return pd.read_sql(sql, self.open())
        except (sqlite3.DatabaseError, pd.errors.DatabaseError) as err:
            self._damaged(err)
            raise  # unreachable: _damaged raises

    def meta(self) -> dict[str, Any]:
        table = self._read("SELECT key, value FROM meta")
        return {k: json.loads(v) for k, v in zip(table["key"], table["value"], strict=True)}

    def points(self) -> pd.DataFrame:
        return self._read("SELECT * FROM points ORDER BY point")

    def results(self) -> pd.DataFrame:
        return self._read("SELECT * FROM results ORDER BY point, strategy, replicate")

    def curves(self) -> pd.DataFrame:
        return self._read("SELECT * FROM curves ORDER BY point, strategy, day")

    def tables(
        self, points: Sequence[int], skip: set[tuple[int, str, int]] | None = None
    ) -> Iterator[tuple[int, str, int, Any, Any]]:
        """Stored rows' tables of these points, as `add` got them (pickles this package wrote
        into its own store: a cache, never a file exchanged between users); rows in `skip`
        (point, strategy, replicate) are not read."""
        wanted, skip = set(points), skip or set()
        try:
            for p, s, r, daily, people in self.open().execute(
                "SELECT point, strategy, replicate, daily, people FROM tables "
                "ORDER BY point, strategy, replicate"
            ):
                if p in wanted and (p, s, r) not in skip:
                    yield p, s, r, pickle.loads(daily), pickle.loads(people)
        except sqlite3.DatabaseError as err:
            self._damaged(err)

    def done_replicates(self, per_strategy: Sequence[int]) -> set[tuple[int, int]]:
        """(point, replicate) pairs stored for every strategy that runs that replicate (a
        task's rows, curves and tables are one transaction: stored rows have their tables)."""
        db = self.open()
        try:
            found = db.execute(
                "SELECT point, replicate, COUNT(*) FROM results GROUP BY point, replicate"
            ).fetchall()
        except sqlite3.DatabaseError as err:
            self._damaged(err)
            raise
        return {(int(p), int(r)) for p, r, n in found if n == sum(1 for k in per_strategy if k > r)}

    def done_points(self, runs_per_point: int) -> set[int]:
        """Points whose every strategy and replicate is stored."""
        table = self._read(
            f"SELECT point FROM results GROUP BY point HAVING COUNT(*) = {int(runs_per_point)}"
        )
        return {int(p) for p in table["point"]}

    def check_inputs(self, inputs: dict[str, str]) -> None:
        """Refuse to add to a store whose results came from other inputs, naming them."""
        stored = self.meta().get("inputs", {})
        changed = sorted(k for k in {*stored, *inputs} if stored.get(k) != inputs.get(k))
        if changed:
            raise StoreError(
                f"{self.path}: its results came from other inputs; changed since: "
                f"{'; '.join(changed)}. Allowed: the same inputs to resume, or another folder"
            )


def _insert(db: sqlite3.Connection, table: str, rows: pd.DataFrame) -> None:
    names = ", ".join(f'"{c}"' for c in rows.columns)
    marks = ", ".join("?" for _ in rows.columns)
    db.executemany(
        f"INSERT OR IGNORE INTO {table} ({names}) VALUES ({marks})",
        rows.itertuples(index=False, name=None),
    )


def cache(
    folder: Path,
    analysis: str,
    inputs: dict[str, str],
    points: pd.DataFrame,
    columns: list[str],
    curves: bool = False,
    tables: bool = False,
    what: str = "results",
) -> Store:
    """The locked store of one job in a cache folder, named by a digest of its `inputs`; a
    damaged one is started again with a warning that `what` is computed again (a cache: its
    results can be computed again)."""
    import hashlib
    import warnings

    key = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]
    store = Store(Path(folder) / f"{analysis}_{key}.sqlite")
    store.lock()
    try:
        if store.exists():
            try:
                store.check_inputs(inputs)
                return store
            except StoreError as err:
                warnings.warn(f"{err}; computing the {what} again", stacklevel=3)
                store.db = None
                store.path.unlink(missing_ok=True)
        store.create({"analysis": analysis, "inputs": inputs}, points, columns, curves, tables)
    except BaseException:
        store.close()
        raise
    return store

"""How many threads a batch's compiled stages use, and the tiles of work they share.

The compiled stages release the GIL (numba `nogil`), so a day's work split into tiles (row
ranges, or person ranges of a single large row) runs on a small shared thread pool. Every tile
computes exactly what the whole would (rows and people are independent within a stage, and
each person's draws are found by address), so the output does not depend on the thread count.

The count: `set_threads(n)`, else the environment variable KDS_SIM_THREADS, else, in the main
process, the CPUs that the load average leaves idle (at least 1, at most `MOST`; read when a
batch is made), and 1 in a child process (a process-pool worker should not start threads that
compete with its sibling workers). Measured on a 2-CPU machine under a load of 7-8, a second
thread made the day slower in wall time (each tile waits for a CPU), hence the load check.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

MOST = 8
"""Threads used at most by default."""
SMALLEST_TILE = 8192
"""Fewest person-rows worth a thread of their own (below it the dispatch costs more)."""

_chosen: int | None = None
_pool: ThreadPoolExecutor | None = None
_LOCK = threading.Lock()


def set_threads(n: int | None) -> None:
    """Use n threads (None: back to the default)."""
    global _chosen
    if n is not None and n < 1:
        raise ValueError(f"threads must be at least 1, got {n}")
    _chosen = n


def threads() -> int:
    """Threads the compiled stages use now (see the module docstring)."""
    if _chosen is not None:
        return _chosen
    setting = os.environ.get("KDS_SIM_THREADS", "").strip()
    if setting:
        try:
            n = int(setting)
        except ValueError:
            raise ValueError(f"KDS_SIM_THREADS must be a whole number, got {setting!r}") from None
        return max(1, n)
    if multiprocessing.parent_process() is not None:
        return 1
    cpus = os.cpu_count() or 1
    try:  # CPUs that others leave idle: threads beyond them only queue (and slow the day down)
        idle = int(cpus - os.getloadavg()[0] + 0.5)
    except OSError:  # pragma: no cover - no load average on this system
        idle = cpus
    return max(1, min(MOST, idle))


PER_THREAD = 4
"""Tiles per thread: a thread that the OS sets aside on a busy machine then holds up the day
by a small tile, not by half of it (threads take the next tile as they finish one)."""


def tiles(rows: int, people: int) -> list[tuple[int, int, int, int]]:
    """(first row, end row, first person, end person) of each tile: rows split evenly, or,
    for fewer rows than tiles, the people of each row."""
    n = threads()
    count = min(n * PER_THREAD if n > 1 else 1, max(1, rows * people // SMALLEST_TILE))
    if count <= 1:
        return [(0, rows, 0, people)]
    if rows >= count:
        cuts = [rows * j // count for j in range(count + 1)]
        return [(a, b, 0, people) for a, b in zip(cuts, cuts[1:], strict=False) if b > a]
    per_row = -(-count // rows)
    cuts = [people * j // per_row for j in range(per_row + 1)]
    return [(r, r + 1, a, b) for r in range(rows) for a, b in zip(cuts, cuts[1:], strict=False)]


def run(work: Callable[[int, int, int, int], None], parts: list[tuple[int, int, int, int]]) -> None:
    """work(*tile) for every tile, by this thread and the pool's, each taking the next tile."""
    global _pool
    helpers = min(threads(), len(parts)) - 1
    if helpers <= 0:
        for tile in parts:
            work(*tile)
        return
    with _LOCK:
        if _pool is None or _pool._max_workers < helpers:  # noqa: SLF001
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(helpers, thread_name_prefix="kds-sim")
        pool = _pool
    queue = iter(parts)
    taking = threading.Lock()
    finished = threading.Event()
    state = {"done": 0}
    errors: list[BaseException] = []

    def take() -> None:
        # a helper the OS starts late finds nothing left: the caller never waits for it
        while True:
            with taking:
                tile = next(queue, None)
            if tile is None:
                return
            try:
                work(*tile)
            except BaseException as error:  # handed to the caller
                errors.append(error)
            with taking:
                state["done"] += 1
                if state["done"] == len(parts):
                    finished.set()

    for _ in range(helpers):
        pool.submit(take)
    take()
    finished.wait()
    if errors:
        raise errors[0]

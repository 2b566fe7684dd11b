"""Where evaluation tasks run: in this process, a local process pool, or Dask.

Every backend runs the same function on the same tasks, and a task's result depends only on
the task, so results are identical whatever runs them and in whatever order they finish. Only
this (coordinating) process writes results. Tasks are submitted a few per worker at a time,
so a very long task list is never held as futures in memory.

Failure modes handled here, once: a Dask scheduler address is checked with a short timeout
(and a scheduler must answer with a Dask frame) before anything is created; local workers
exit when the process that started them dies (they would otherwise run on as orphans).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from multiprocessing import get_context
from typing import Any

from kds_sim.errors import ExecutorError, InputError

CONNECT_SECONDS = 5.0
"""How long a scheduler address may take to accept a connection and say it is Dask."""

IN_FLIGHT_PER_WORKER = 3


def _watch_parent(parent: int) -> None:
    """End this worker when the process that started it is gone (checked every second)."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(1)


THREADS_VARIABLE = "KDS_SIM_THREADS"
"""The engine's thread count for compiled kernels; a worker sets it to 1 (the workers already
use every core: threads inside them would only compete)."""


def single_threaded() -> None:
    """Run the engine on one thread in this process (a pool or Dask worker): the engine's
    setting, and numba's own if numba is imported (before that, its start-up setting)."""
    os.environ[THREADS_VARIABLE] = "1"
    numba = sys.modules.get("numba")
    if numba is None:
        os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    else:
        numba.set_num_threads(1)


@dataclass(frozen=True)
class OneThread:
    """`function` run single-threaded (what every worker of a pool or Dask runs: picklable,
    and idempotent, since a Dask worker gets no initialiser)."""

    function: Callable[[Any], Any]

    def __call__(self, task: Any) -> Any:
        single_threaded()
        return self.function(task)


def worker_init(parent: int | None = None) -> None:
    """A worker leaves Ctrl-C to its coordinator, exits when the coordinator dies and runs
    the engine on one thread."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    single_threaded()
    if parent is None:
        parent = os.getppid()
    if os.getppid() != parent:  # died before we could ask
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def process_pool(workers: int) -> ProcessPoolExecutor:
    """Spawned worker processes (the same start method on every platform)."""
    return ProcessPoolExecutor(
        workers,
        mp_context=get_context("spawn"),
        initializer=worker_init,
        initargs=(os.getpid(),),
    )


_ADDRESS = re.compile(r"^(tcp|tls)://(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.\-]+):(\d{1,5})$")


def parse_address(address: str) -> tuple[str, int]:
    """Host and port of `tcp://host:port`; InputError naming what is allowed otherwise."""
    match = _ADDRESS.match(address.strip())
    if not match or not 0 < int(match.group(3)) < 65536:
        raise InputError(
            f"scheduler = {address!r}: not a Dask scheduler address; allowed: "
            "tcp://HOST:PORT (for example tcp://10.0.0.5:8786)"
        )
    return match.group(2).strip("[]"), int(match.group(3))


def check_scheduler(address: str, timeout: float = CONNECT_SECONDS) -> None:
    """Connect and read the first frame header a Dask scheduler sends on connection: a
    closed port, a silent server or a server of another protocol fails here in seconds."""
    host, port = parse_address(address)
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            conn.settimeout(timeout)
            header = b""
            while len(header) < 8:
                chunk = conn.recv(8 - len(header))
                if not chunk:
                    break
                header += chunk
    except TimeoutError:
        raise ExecutorError(
            f"scheduler = {address!r}: no Dask scheduler answered within {timeout:g} s"
        ) from None
    except OSError as err:
        raise ExecutorError(
            f"scheduler = {address!r}: cannot connect ({err.strerror or err})"
        ) from None
    if len(header) < 8:
        raise ExecutorError(f"scheduler = {address!r}: the server closed the connection")
    (length,) = struct.unpack("<Q", header)
    if not 0 < length < 1 << 20:
        raise ExecutorError(
            f"scheduler = {address!r}: the server there is not a Dask scheduler "
            f"(it answered {header!r})"
        )


@dataclass
class Backend:
    """`workers` local processes, a Dask scheduler address, or a Dask LocalCluster."""

    workers: int = 1
    scheduler: str | None = None
    dask_local: int | None = None

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise InputError(f"workers = {self.workers}: allowed: 1 or more")
        if self.dask_local is not None and self.dask_local < 1:
            raise InputError(f"dask_local = {self.dask_local}: allowed: 1 or more")
        if self.scheduler is not None and self.dask_local is not None:
            raise InputError(
                f"scheduler = {self.scheduler!r} and dask_local = {self.dask_local}: "
                "allowed: one of them"
            )
        if self.scheduler is not None:
            parse_address(self.scheduler)

    @property
    def uses_dask(self) -> bool:
        return self.scheduler is not None or self.dask_local is not None

    @property
    def parallelism(self) -> int:
        return self.dask_local or (4 if self.scheduler else self.workers)

    def describe(self) -> str:
        if self.scheduler:
            return f"Dask scheduler {self.scheduler}"
        if self.dask_local:
            return f"Dask LocalCluster of {self.dask_local} workers"
        return f"{self.workers} local worker process(es)" if self.workers > 1 else "in-process"

    def check(self) -> None:
        """Fail now, in seconds, if the work could not run (before any file is created)."""
        if self.scheduler is not None:
            check_scheduler(self.scheduler)

    def map(
        self, function: Callable[[Any], Any], tasks: Iterable[Any], done: Callable[[Any], None]
    ) -> None:
        """Run `function` on every task; `done` gets each result in this process as it
        finishes. A failed task raises here after the workers are stopped."""
        tasks = iter(tasks)
        if self.uses_dask:
            with self.dask_client() as client:
                self._bounded(client.submit, OneThread(function), tasks, done, dask=True)
        elif self.workers > 1:
            pool = process_pool(self.workers)
            try:
                self._bounded(pool.submit, OneThread(function), tasks, done, dask=False)
            except BaseException:  # interrupted or failed: end the workers now
                stop_pool(pool)
                raise
            pool.shutdown(wait=True)
        else:
            for task in tasks:
                done(function(task))

    def _bounded(
        self,
        submit: Callable[..., Any],
        function: Callable[[Any], Any],
        tasks: Iterator[Any],
        done: Callable[[Any], None],
        dask: bool,
    ) -> None:
        limit = IN_FLIGHT_PER_WORKER * self.parallelism
        extra = {"pure": False} if dask else {}
        pending = {submit(function, t, **extra) for t in islice(tasks, limit)}
        while pending:
            if dask:
                from distributed import wait as dask_wait

                finished, pending = dask_wait(pending, return_when="FIRST_COMPLETED")
            else:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                done(future.result())
                if dask:
                    future.release()
            pending |= {submit(function, t, **extra) for t in islice(tasks, len(finished))}

    @contextmanager
    def dask_client(self) -> Iterator[Any]:
        """A Dask client of the scheduler (checked first) or of a LocalCluster on loopback.
        The LocalCluster's workers do not run Dask's statistical profiler (a Python stack sample
        every 10 ms of every task: CPU time taken from the engine, for a dashboard we do not
        start)."""
        import dask
        from distributed import Client, LocalCluster

        if self.scheduler:
            self.check()
            try:
                client = Client(self.scheduler, timeout=CONNECT_SECONDS)
            except (OSError, TimeoutError) as err:
                raise ExecutorError(f"scheduler = {self.scheduler!r}: {err}") from None
            with client:
                yield client
            return
        with (
            dask.config.set({"distributed.worker.profile.enabled": False}),  # see below
            LocalCluster(
                n_workers=self.dask_local or 1,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                host="127.0.0.1",
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client


def stop_pool(pool: Any) -> None:
    """Cancel queued work and end the workers now, without waiting for tasks in flight."""
    processes = dict(getattr(pool, "_processes", None) or {})
    pool.shutdown(wait=False, cancel_futures=True)
    for _ in range(5):  # a worker may still be starting: look again, briefly
        processes.update(getattr(pool, "_processes", None) or {})
        for process in processes.values():
            if process.is_alive():
                process.terminate()
        time.sleep(0.05)
    for process in processes.values():
        process.join(timeout=2)
        if process.is_alive():
            process.kill()
    # A worker ended while sending a result leaves the pool's manager thread waiting for the
    # rest of that message, and interpreter exit joins that thread: a hang after Ctrl-C. Our
    # copy of the result pipe's write end is the last one open; closing it ends the read (EOF).
    writer = getattr(getattr(pool, "_result_queue", None), "_writer", None)
    if writer is not None:
        writer.close()


__all__ = ["Backend", "Future", "check_scheduler", "parse_address", "process_pool", "stop_pool"]

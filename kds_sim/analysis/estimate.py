"""What a run will cost before it starts: memory, disk and time, and a refusal of what does
not fit (a design of 10^8 samples must fail in a second with a number, not after 9 GB)."""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from kds_sim.errors import ResourceError

AGENT_STEPS_PER_SECOND = 2.0e6
"""Person-days one core simulates per second, batched (current engine, measured; see
experiments/results/benchmark_evaluation.txt)."""
BYTES_PER_STORED_VALUE = 40
"""One per-replicate value in memory and in the store (row overhead, index, pandas copies)."""
BYTES_PER_PLANNED_VALUE = 24
"""One parameter value of a planned design (the table, its copies while sampling)."""
ENGINE_BYTES_PER_PERSON = 1500
"""Working memory of one simulated person in a batch (kds_sim.model.ensemble)."""
SHOW_ABOVE_SECONDS = 120.0
MEMORY_SHARE = 0.5
"""The share of the memory available now that one analysis may plan to use."""


def available_memory() -> int:
    """Bytes of memory available now (Linux /proc/meminfo; 8 GB where unknown)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 * 1024**3


@dataclass
class Estimate:
    runs: int
    memory: float
    disk: float
    cpu_seconds: float

    def describe(self, workers: int = 1) -> str:
        hours = self.cpu_seconds / max(1, workers) / 3600
        when = f"{hours:.1f} h" if hours >= 1 else f"{hours * 60:.1f} min"
        return (
            f"{self.runs:,} runs: about {self.memory / 1e9:.2f} GB of memory, "
            f"{self.disk / 1e9:.2f} GB of disk and {when} on {workers} worker(s)"
        )


def estimate(
    runs: int,
    people: int,
    days: int,
    values_per_run: int,
    planned_values: int = 0,
    batch_rows: int = 96,
) -> Estimate:
    """Memory: the planned design, every stored value held once more while read back, and
    one engine batch per process; disk: the stored values; time: person-days at the measured
    rate."""
    stored = float(runs) * (values_per_run + 3) * BYTES_PER_STORED_VALUE
    memory = stored + planned_values * BYTES_PER_PLANNED_VALUE
    memory += batch_rows * people * ENGINE_BYTES_PER_PERSON
    return Estimate(runs, memory, stored, float(runs) * people * days / AGENT_STEPS_PER_SECOND)


def check(found: Estimate, what: str, folder: Path | None = None, workers: int = 1) -> None:
    """Refuse work that would not fit in memory or on disk; show the estimate of long work."""
    limit = MEMORY_SHARE * available_memory()
    if found.memory > limit:
        raise ResourceError(
            f"{what}: {found.describe(workers)}; the limit is {limit / 1e9:.2f} GB of memory "
            f"({MEMORY_SHARE:.0%} of what is available); allowed: fewer samples, draws, "
            "replicates or people"
        )
    if folder is not None:
        probe = folder if folder.exists() else next(p for p in folder.parents if p.exists())
        free = shutil.disk_usage(probe).free
        if found.disk > free:
            raise ResourceError(
                f"{what}: {found.describe(workers)}; only {free / 1e9:.2f} GB of disk is free "
                f"at {probe}; allowed: a smaller run or another folder"
            )
    if found.cpu_seconds / max(1, workers) > SHOW_ABOVE_SECONDS:
        print(f"{what}: {found.describe(workers)}", file=sys.stderr)

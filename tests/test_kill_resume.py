"""SIGKILL at random moments, then resume: the stored results equal an uninterrupted run's.

The evaluation core commits each finished task as one SQLite transaction, and the primary key
(point, strategy, replicate) refuses a second copy of a row: a kill loses at most the tasks in
flight and never half a task. Checked here for a sweep (the CLI, `--resume`) and for an
uncertainty run (`run_uncertainty` with a cache folder), each killed 5 times at random
moments (during start-up, between commits, during a commit) before it is let finish.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO

SCENARIOS = REPO / "scenarios"
BIN = Path(sys.executable).parent
KILLS = 5

pytestmark = pytest.mark.slow


def _rows(store: Path | None) -> int:
    if store is None or not store.is_file():
        return 0
    try:
        with sqlite3.connect(store, timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM results").fetchone()[0])
    except sqlite3.Error:
        return 0


def _table(store: Path, table: str) -> pd.DataFrame:
    with sqlite3.connect(store) as db:
        found = pd.read_sql(f"SELECT * FROM {table}", db)
    keys = [c for c in ("point", "strategy", "replicate", "day") if c in found]
    return found.sort_values(keys).reset_index(drop=True)


def _kill_repeatedly(
    start: Callable[[], subprocess.Popen[bytes]],
    store: Callable[[], Path | None],
    rng: random.Random,
) -> list[int]:
    """Start the job and SIGKILL it KILLS times: the first time during start-up, then each
    time a random moment after its first new commit. The stored row counts after each kill."""
    counts = []
    for kill in range(KILLS):
        before = _rows(store())
        proc = start()
        deadline = time.monotonic() + 300
        if kill == 0:
            time.sleep(rng.uniform(0.2, 1.5))  # importing, planning, creating the store
        else:
            while _rows(store()) == before and proc.poll() is None:
                assert time.monotonic() < deadline, "no progress within 300 s"
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.4))
        assert proc.poll() is None, "the job finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        counts.append(_rows(store()))
    return counts


SWEEP = """
name = "killed"
strategies = ["{strategy}"]
reference = "{reference}"
replicates = 3
seed = 11
batch = 1
outcomes = ["relapse_90d", "averted_per_100_90d"]
[set]
"run.horizon_days" = 120
"population.size" = 150
[factors]
"group.coverage" = {{ levels = [0.2, 0.35, 0.5, 0.65, 0.8, 0.95] }}
"network.using_ties_mean" = {{ levels = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0] }}
"""


def test_sweep_killed_five_times_then_resumed_equals_an_uninterrupted_sweep(tmp_path: Path):
    path = tmp_path / "killed.toml"
    path.write_text(
        SWEEP.format(
            strategy=SCENARIOS / "capacity_building.toml", reference=SCENARIOS / "no_group.toml"
        )
    )
    killed, whole = tmp_path / "killed", tmp_path / "whole"

    def command(out: Path) -> list[str]:
        resume = ["--resume"] if (out / "sweep.sqlite").is_file() else []
        cli = [str(BIN / "kds-sim"), "sweep", str(path), "--out", str(out), "--no-progress"]
        return cli + resume

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(command(killed), stderr=subprocess.DEVNULL)

    counts = _kill_repeatedly(start, lambda: killed / "sweep.sqlite", random.Random(20))
    total = 36 * 2 * 3
    assert counts[-1] < total, f"the kills should land mid-sweep: {counts}"
    assert subprocess.run(command(killed), capture_output=True).returncode == 0
    assert subprocess.run(command(whole), capture_output=True).returncode == 0
    for table in ("results", "points"):
        pd.testing.assert_frame_equal(
            _table(killed / "sweep.sqlite", table), _table(whole / "sweep.sqlite", table)
        )
    assert _rows(killed / "sweep.sqlite") == total


UNCERTAINTY = """
import sys
from kds_sim.analysis import evaluation
from kds_sim.analysis.uncertainty import run_uncertainty
from kds_sim.io.scenario_files import load_scenario

evaluation.ROWS_PER_TASK = 4  # one draw per task: many commits to land between
small = {{"population.size": 150, "run.horizon_days": 120}}
scenarios = [load_scenario("{scenarios}/" + n + ".toml", small)
             for n in ("no_group", "capacity_building")]
run_uncertainty(scenarios, draws=40, replicates=2, metric_names=["averted_per_100_90d"],
                progress=False, cache_dir=sys.argv[1])
"""


def test_uncertainty_killed_five_times_then_resumed_equals_an_uninterrupted_run(tmp_path: Path):
    script = tmp_path / "job.py"
    script.write_text(UNCERTAINTY.format(scenarios=SCENARIOS))
    killed, whole = tmp_path / "killed", tmp_path / "whole"

    def store(folder: Path) -> Path | None:
        found = sorted(folder.glob("uncertainty_*.sqlite"))
        return found[0] if found else None

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, str(script), str(killed)])

    counts = _kill_repeatedly(start, lambda: store(killed), random.Random(22))
    total = 40 * 2 * 2
    assert counts[-1] < total, f"the kills should land mid-run: {counts}"
    for folder in (killed, whole):
        subprocess.run([sys.executable, str(script), str(folder)], check=True)
    done, fresh = store(killed), store(whole)
    assert done is not None and fresh is not None and done.name == fresh.name
    for table in ("results", "curves", "points"):
        pd.testing.assert_frame_equal(_table(done, table), _table(fresh, table))
    assert _rows(done) == total

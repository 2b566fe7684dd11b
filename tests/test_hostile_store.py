"""The store under attack: SIGKILL at random moments, changed inputs, damaged files, and the
sweep inputs a careless user gives. A resume must never mix, lose or double-count a row."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("SALib")

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
CLI = [sys.executable, "-m", "kds_sim.cli.main"]


COVERAGE = '"group.coverage" = { levels = [0.2, 0.4, 0.6, 0.8] }'


def _experiment(folder: Path, **extra: str) -> Path:
    """A grid of 12 points x 2 strategies x 2 replicates (80 people, 60 days), one per task."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("capacity_building", "no_group"):
        target = folder / f"{name}.toml"
        if not target.exists():
            target.write_text(f'extends = "{SCENARIOS / name}.toml"\n')
    text = textwrap.dedent(
        f"""
        name = "hostile"
        strategies = ["{extra.get("strategy", "capacity_building.toml")}"]
        reference = "no_group.toml"
        replicates = 2
        seed = 5
        outcomes = ["{extra.get("outcome", "relapse_30d")}", "averted_per_100_30d"]
        batch = 1

        [set]
        "run.horizon_days" = 60
        "population.size" = 80

        [design]
        method = "{extra.get("method", "grid")}"
        {extra.get("design", "")}

        [factors]
        {extra.get("factors", COVERAGE)}
        "network.using_ties_mean" = {{ {extra.get("ties", "levels = [1.0, 2.0, 3.0]")} }}
        """
    )
    path = folder / "experiment.toml"
    path.write_text(text)
    return path


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def _one_line_error(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    line = [x for x in done.stderr.splitlines() if x.startswith("kds-sim: error:")]
    assert len(line) == 1, done.stderr
    for word in words:
        assert word in line[0], line[0]


def _stored(folder: Path) -> pd.DataFrame:
    with sqlite3.connect(folder / "sweep.sqlite") as db:
        return pd.read_sql("SELECT * FROM results ORDER BY point, strategy, replicate", db)


def _kill_and_resume(command: list[str], rng: random.Random, kills: int) -> int:
    """Start `command`, SIGKILL it at a random moment, `kills` times; then let it finish."""
    killed = 0
    for _ in range(kills):
        proc = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT
        )
        time.sleep(rng.uniform(1.0, 4.0))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed += 1
        proc.wait()
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return killed


@pytest.mark.slow
def test_a_sweep_killed_5_times_at_random_stores_what_an_uninterrupted_one_does(
    tmp_path: Path,
) -> None:
    exp = _experiment(tmp_path / "design")
    whole = _cli("sweep", str(exp), "--out", str(tmp_path / "whole"), "--no-progress")
    assert whole.returncode == 0, whole.stderr
    command = [*CLI, "sweep", str(exp), "--out", str(tmp_path / "killed"), "--resume",
               "--no-progress"]  # fmt: skip
    killed = _kill_and_resume(command, random.Random(1), kills=5)
    assert killed >= 3
    pd.testing.assert_frame_equal(_stored(tmp_path / "killed"), _stored(tmp_path / "whole"))
    assert not list((tmp_path / "killed").glob("*.creating"))


UNCERTAINTY = """
import sys
from kds_sim.io.scenario_files import load_scenario
from kds_sim.analysis.uncertainty import run_uncertainty
scenarios = [
    load_scenario(f"scenarios/{n}.toml", {"population.size": 80, "run.horizon_days": 60})
    for n in ("no_group", "capacity_building")
]
result = run_uncertainty(scenarios, draws=40, replicates=2, seed=3, progress=False,
                         metric_names=["relapse_30d", "averted_per_100_30d"],
                         cache_dir=sys.argv[1] if sys.argv[1] != "-" else None)
result.values.to_csv(sys.argv[2], index=False)
"""


@pytest.mark.slow
def test_an_uncertainty_run_killed_5_times_at_random_equals_an_uninterrupted_one(
    tmp_path: Path,
) -> None:
    script = tmp_path / "uncertainty.py"
    script.write_text(UNCERTAINTY)
    whole = subprocess.run(
        [sys.executable, str(script), "-", str(tmp_path / "whole.csv")],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert whole.returncode == 0, whole.stderr
    command = [sys.executable, str(script), str(tmp_path / "cache"), str(tmp_path / "kill.csv")]
    killed = _kill_and_resume(command, random.Random(2), kills=5)
    assert killed >= 3
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "kill.csv"), pd.read_csv(tmp_path / "whole.csv")
    )
    (store,) = (tmp_path / "cache").glob("uncertainty_*.sqlite")
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT COUNT(*) FROM results").fetchone() == (40 * 2 * 2,)


def test_a_changed_strategy_file_refuses_the_resume_and_says_what_changed(
    tmp_path: Path,
) -> None:
    exp = _experiment(tmp_path / "design")
    out = tmp_path / "store"
    assert _cli("sweep", str(exp), "--out", str(out), "--no-progress").returncode == 0
    with (tmp_path / "design" / "capacity_building.toml").open("a") as f:
        f.write("\n[population.coping]\nmean = 0.6\nsd = 0.1\n")
    again = _cli("sweep", str(exp), "--out", str(out), "--resume", "--no-progress")
    _one_line_error(again, "changed since", "strategy capacity_building")


@pytest.mark.parametrize("damage", ["zero", "truncated", "garbage"])
def test_a_damaged_store_is_one_line_on_analyse_and_on_resume(tmp_path: Path, damage: str) -> None:
    exp = _experiment(tmp_path / "design")
    out = tmp_path / "store"
    assert _cli("sweep", str(exp), "--out", str(out), "--no-progress").returncode == 0
    path = out / "sweep.sqlite"
    data = path.read_bytes()
    path.write_bytes(
        {"zero": b"", "truncated": data[: len(data) // 3], "garbage": os.urandom(5000)}[damage]
    )
    _one_line_error(_cli("analyse", str(out)), "sweep.sqlite")
    _one_line_error(
        _cli("sweep", str(exp), "--out", str(out), "--resume", "--no-progress"), "sweep.sqlite"
    )


def test_careless_sweep_inputs_are_refused_before_the_first_simulation(tmp_path: Path) -> None:
    folder = tmp_path / "design"
    other = folder / "other"
    other.mkdir(parents=True)
    (other / "no_group.toml").write_text(f'extends = "{SCENARIOS / "capacity_building"}.toml"\n')
    same_stem = _experiment(folder, strategy="other/no_group.toml")
    _one_line_error(_cli("sweep", str(same_stem), "--out", str(tmp_path / "a")), "share the name")
    past = _experiment(folder, outcome="relapse_90d")
    _one_line_error(_cli("sweep", str(past), "--out", str(tmp_path / "b")), "horizon")
    assert not (tmp_path / "b" / "sweep.sqlite").exists()
    (tmp_path / "file").write_text("x")
    _one_line_error(
        _cli("sweep", str(_experiment(folder)), "--out", str(tmp_path / "file")), "not a folder"
    )
    noise = tmp_path / "noise.toml"
    noise.write_bytes(os.urandom(3000))
    _one_line_error(_cli("sweep", str(noise)), "noise.toml")
    huge = _experiment(
        folder, method="sobol", design="samples = 100000000", factors="",
        ties="range = [1.0, 3.0]",
    )  # fmt: skip
    started = time.perf_counter()
    _one_line_error(_cli("sweep", str(huge), "--out", str(tmp_path / "c")), "GB of memory")
    assert time.perf_counter() - started < 30


def test_analyse_refuses_an_unknown_strategy_and_a_killed_sobol_store(tmp_path: Path) -> None:
    exp = _experiment(
        tmp_path / "design", method="sobol", design="samples = 2", factors="",
        ties="range = [1.0, 3.0]",
    )  # fmt: skip
    out = tmp_path / "store"
    assert _cli("sweep", str(exp), "--out", str(out), "--no-progress").returncode == 0
    _one_line_error(_cli("analyse", str(out), "--strategy", "bogus"), "bogus", "allowed")
    with sqlite3.connect(out / "sweep.sqlite") as db:  # as if killed half-way
        db.execute("DELETE FROM results WHERE point > 2")
    _one_line_error(_cli("analyse", str(out)), "incomplete", "--resume")


def test_a_group_factor_on_a_strategy_without_a_group_is_noted(tmp_path: Path) -> None:
    from kds_sim.analysis.sweep import sweep

    exp = _experiment(tmp_path / "design")
    with pytest.warns(UserWarning, match="cannot act on strategy no_group"):
        sweep(exp, out=tmp_path / "s", progress=False)


def test_garbage_in_the_draws_cache_is_computed_again(tmp_path: Path) -> None:
    script = tmp_path / "uncertainty.py"
    script.write_text(UNCERTAINTY.replace("draws=40", "draws=4"))
    cache = tmp_path / "cache"
    first = subprocess.run(
        [sys.executable, str(script), str(cache), str(tmp_path / "a.csv")],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    (store,) = cache.glob("uncertainty_*.sqlite")
    store.write_bytes(os.urandom(4096))
    again = subprocess.run(
        [sys.executable, str(script), str(cache), str(tmp_path / "b.csv")],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert again.returncode == 0 and "computing the draws again" in again.stderr
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv"))


def test_an_uncertainty_comparison_shorter_than_a_year_is_one_line_before_simulating(
    tmp_path: Path,
) -> None:
    started = time.perf_counter()
    done = _cli(
        "compare", str(SCENARIOS / "no_group.toml"), str(SCENARIOS / "capacity_building.toml"),
        "--uncertainty", "prior", "--horizon", "30", "--out", str(tmp_path / "out"),
    )  # fmt: skip
    _one_line_error(done, "--horizon 30", "at least 365")
    assert time.perf_counter() - started < 60 and not (tmp_path / "out").exists()

"""Sweeps: identical stores whatever executes them, crash-safe resume, clear errors, analyses."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("SALib")
pytest.importorskip("distributed")

from kds_sim.analysis.sweep import StoreError, open_store, sweep  # noqa: E402
from kds_sim.cli import main as cli  # noqa: E402
from kds_sim.io.scenario_files import ScenarioError  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "experiments" / "designs" / "smoke.toml"
SCENARIOS = REPO / "scenarios"
BIN = Path(sys.executable).parent


def experiment(tmp_path: Path, body: str, name: str = "exp") -> Path:
    """A tiny experiment file (60 people, 30 days) next to absolute scenario paths."""
    text = f"""
name = "{name}"
strategies = ["{SCENARIOS / "capacity_building.toml"}"]
reference = "{SCENARIOS / "no_group.toml"}"
replicates = 2
seed = 7
batch = 1
outcomes = ["relapse_30d", "averted_per_100_30d"]
[set]
"run.horizon_days" = 30
"population.size" = 60
{body}
"""
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def stored(folder: Path) -> pd.DataFrame:
    return open_store(folder).results.sort_values(["point", "strategy", "replicate"])


@pytest.fixture(scope="module")
def smoke_local(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("smoke") / "local"
    sweep(SMOKE, out=out, progress=False)
    return out


def test_smoke_store_is_complete_and_self_describing(smoke_local: Path) -> None:
    result = open_store(smoke_local)
    assert result.complete and len(result.results) == 4 * 2 * 2
    with sqlite3.connect(smoke_local / "sweep.sqlite") as db:  # readable without kds-sim
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    assert {"experiment_text", "version", "problem", "experiment"} <= set(meta)
    assert (smoke_local / "results.parquet").is_file()
    # replicate i shares its draws across points: same people, so group-free runs of the
    # reference at two coverages (the group is off there) are identical
    ref = result.results[result.results["strategy"] == "no_group"]
    a = ref[ref["point"] == 0].reset_index(drop=True)
    b = ref[ref["point"] == 2].reset_index(drop=True)  # same ties, other coverage
    assert a["relapse_90d"].tolist() == b["relapse_90d"].tolist()


def test_local_pool_gives_the_in_process_store(smoke_local: Path, tmp_path: Path) -> None:
    sweep(SMOKE, out=tmp_path / "pool", workers=2, progress=False)
    pd.testing.assert_frame_equal(stored(tmp_path / "pool"), stored(smoke_local))


@pytest.mark.slow
def test_dask_localcluster_gives_the_in_process_store(smoke_local: Path, tmp_path: Path) -> None:
    sweep(SMOKE, out=tmp_path / "dask", dask_local=2, progress=False)
    pd.testing.assert_frame_equal(stored(tmp_path / "dask"), stored(smoke_local))


def test_second_sweep_on_a_store_is_refused_and_resume_adds_nothing(smoke_local: Path) -> None:
    with pytest.raises(StoreError, match="already holds a sweep"):
        sweep(SMOKE, out=smoke_local, progress=False)
    again = sweep(SMOKE, out=smoke_local, resume=True, progress=False)
    assert again.timing["runs"] == 0 and len(again.results) == 16


def test_resume_with_another_design_is_refused(smoke_local: Path, tmp_path: Path) -> None:
    other = experiment(tmp_path, '[factors]\n"group.coverage" = { levels = [0.5] }', "smoke")
    with pytest.raises(StoreError, match="different design"):
        sweep(other, out=smoke_local, resume=True, progress=False)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[factors]\n"group.coverag" = { levels = [0.5] }', "factors.group.coverag: not a"),
        ('[factors]\n"group.coverage" = { levels = [1.5] }', "group.coverage = 1.5"),
        ('[factors]\n"group.coverage" = { range = [0.2, 0.9] }', "grid needs levels"),
        (
            '[design]\nmethod = "sobl"\n[factors]\n"group.coverage" = { range = [0.2, 0.9] }',
            "design.method = 'sobl'",
        ),
    ],
)
def test_bad_experiment_file_names_file_key_and_value(
    tmp_path: Path, body: str, message: str
) -> None:
    path = experiment(tmp_path, body)
    with pytest.raises(ScenarioError) as err:
        sweep(path, out=tmp_path / "out", progress=False)
    assert str(path) in str(err.value) and message in str(err.value)


def test_unknown_outcome_via_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = experiment(tmp_path, '[factors]\n"group.coverage" = { levels = [0.5] }')
    path.write_text(path.read_text().replace('"relapse_30d"', '"relapse_at_30"'))
    assert cli.main(["sweep", str(path), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "outcomes = 'relapse_at_30': unknown metric; allowed:" in err


def test_sobol_and_prim_on_a_tiny_design(tmp_path: Path) -> None:
    path = experiment(
        tmp_path,
        """[design]
method = "sobol"
samples = 4
seed = 3
[discovery]
outcome = "averted_per_100_30d"
threshold = 1.0
[factors]
"group.coverage" = { range = [0.2, 0.9] }
"network.using_ties_mean" = { range = [0.5, 4.0] }
""",
    )
    result = sweep(path, out=tmp_path / "sobol", progress=False)
    table = result.sobol("relapse_30d")
    assert list(table["factor"]).count("group.coverage") == 1
    assert {"S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high"} <= set(table)
    assert cli.main(["analyse", str(tmp_path / "sobol")]) == 0
    report = tmp_path / "sobol" / "analysis"
    assert (report / "sobol_relapse_30d.png").is_file() and (report / "prim.csv").is_file()
    assert "sobol: relapse_30d" in (report / "report.html").read_text()


def test_morris_on_a_tiny_design(tmp_path: Path) -> None:
    path = experiment(
        tmp_path,
        """[design]
method = "morris"
samples = 2
levels = 4
[factors]
"group.coverage" = { range = [0.2, 0.9] }
"population.size" = { range = [40, 80] }
""",
    )
    result = sweep(path, out=tmp_path / "morris", progress=False)
    assert result.points["population.size"].dtype.kind == "i"  # integer field stays integer
    table = result.morris("relapse_30d")
    assert {"mu_star", "mu_star_low", "sigma"} <= set(table)


def _count(store: Path) -> int:
    try:
        with sqlite3.connect(store / "sweep.sqlite", timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM results").fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_sigkill_mid_sweep_then_resume_equals_uninterrupted(tmp_path: Path) -> None:
    path = experiment(
        tmp_path,
        '[factors]\n"group.coverage" = { levels = [0.2, 0.4, 0.6, 0.8] }\n'
        '"network.using_ties_mean" = { levels = [1.0, 2.0, 3.0] }',
    )
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [BIN / "kds-sim", "sweep", str(path), "--out", str(killed), "--no-progress"]
    )
    deadline = time.time() + 120
    while _count(killed) == 0 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = _count(killed)
    assert 0 < partial < 12 * 2 * 2, "the kill should land mid-sweep"
    sweep(path, out=killed, resume=True, progress=False)
    sweep(path, out=tmp_path / "whole", progress=False)
    pd.testing.assert_frame_equal(stored(killed), stored(tmp_path / "whole"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_real_dask_scheduler_and_two_workers_give_the_local_store(
    smoke_local: Path, tmp_path: Path
) -> None:
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    procs = [
        subprocess.Popen(
            [
                BIN / "dask",
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-dashboard",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        time.sleep(2)
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [
                        BIN / "dask",
                        "worker",
                        address,
                        "--nthreads",
                        "1",
                        "--nworkers",
                        "1",
                        "--host",
                        "127.0.0.1",
                        "--no-dashboard",
                    ],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        sweep(SMOKE, out=tmp_path / "cluster", scheduler=address, progress=False)
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    pd.testing.assert_frame_equal(stored(tmp_path / "cluster"), stored(smoke_local))


def test_ema_workbench_adapter_runs_a_small_experiment() -> None:
    ew = pytest.importorskip("ema_workbench")
    from kds_sim import ema

    model = ema.model(
        SCENARIOS / "capacity_building.toml",
        reference=SCENARIOS / "no_group.toml",
        uncertainties={"behaviour.lapse_intercept": (-5.3, -4.0)},
        levers={"group.coverage": (0.2, 0.8)},
        outcomes=["relapse_30d", "averted_per_100_30d"],
        replicates=2,
        fixed={"run.horizon_days": 30, "population.size": 60},
    )
    experiments, outcomes = ew.perform_experiments(model, scenarios=3, policies=2)
    assert len(experiments) == 6 and set(outcomes) == {"relapse_30d", "averted_per_100_30d"}
    assert ((outcomes["relapse_30d"] >= 0) & (outcomes["relapse_30d"] <= 1)).all()

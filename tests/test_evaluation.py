"""The evaluation core: metrics over column arrays, backends, Scenario.updated, schedulers,
orphaned workers, estimates, and the EMA adapter under spawn."""

from __future__ import annotations

import http.server
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kds_sim.analysis import columns, evaluation, metrics, statistics
from kds_sim.analysis.backend import Backend, check_scheduler, parse_address
from kds_sim.errors import ExecutorError, InputError, ResourceError, ScenarioError
from kds_sim.io.scenario_files import load_scenario
from kds_sim.model.ensemble import simulate_batch

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


def _small(name: str, days: int = 120) -> object:
    return load_scenario(
        SCENARIOS / f"{name}.toml", {"population.size": 80, "run.horizon_days": days}
    )


def test_every_metric_over_column_arrays_equals_the_registry_per_table() -> None:
    scenario = load_scenario(SCENARIOS / "capacity_building.toml", {"population.size": 100})
    block = columns.simulate_columns([scenario] * 4, 7, [0, 1, 2, 3])
    tables = simulate_batch([scenario] * 4, 7, [0, 1, 2, 3])
    for name in (*metrics.PER_REPLICATE, "relapse_30d", "lapse_90d"):
        definition = metrics.get(name)
        assert isinstance(definition, metrics.Metric) and definition.per_replicate
        expected = [definition.per_replicate(people, daily) for daily, people in tables]
        np.testing.assert_array_equal(columns.values(block, name), expected, err_msg=name)
    days = np.arange(0, 366, 7)
    expected = [statistics.kaplan_meier(people, days) for _, people in tables]
    np.testing.assert_allclose(columns.survival(block, days), expected, rtol=0, atol=1e-15)


def _plan() -> evaluation.Plan:
    strategies = [_small("no_group"), _small("capacity_building")]
    changes = [{"behaviour.lapse_intercept": v} for v in (-5.0, -4.6, -4.2, -4.8, -4.4)]
    return evaluation.Plan(
        strategies,
        changes,
        3,
        11,
        ["relapse_90d", "capacity_end", evaluation.MEMBERS, evaluation.MEMBERS_REF],
        "no_group",
        stride=1000,
        survival_every=7,
    )


def test_in_process_pool_and_dask_give_identical_results() -> None:
    alone = evaluation.evaluate(_plan(), Backend(), progress=False)
    assert len(alone.results) == 5 * 2 * 3 and alone.computed == 30
    pool = evaluation.evaluate(_plan(), Backend(workers=2), progress=False)
    pd.testing.assert_frame_equal(alone.results, pool.results)
    assert alone.curves is not None and pool.curves is not None
    pd.testing.assert_frame_equal(alone.curves, pool.curves)
    pytest.importorskip("distributed")
    dask = evaluation.evaluate(_plan(), Backend(dask_local=1), progress=False)
    pd.testing.assert_frame_equal(alone.results, dask.results)


def test_replicate_i_of_every_strategy_shares_its_seed_and_points_their_stride() -> None:
    plan = _plan()
    rows = evaluation.evaluate(plan, progress=False).results
    scenario = plan.strategies[0].updated(plan.changes[2])
    daily, people = simulate_batch([scenario], 11, [2 * 1000 + 1])[0]
    row = rows[(rows["point"] == 2) & (rows["strategy"] == "no_group") & (rows["replicate"] == 1)]
    assert float(row["relapse_90d"].iloc[0]) == metrics.relapse_by(people, 90, 120)


def test_scenario_updated_validates_once_and_rounds_integers() -> None:
    base = _small("capacity_building")
    changed = base.updated({"population.size": 50.4, "group.coverage": 0.5})
    assert changed.population.size == 50 and changed.group.coverage == 0.5
    assert base.updated({}) is base
    with pytest.raises(ScenarioError, match="group.coverage"):
        base.updated({"group.coverage": 7.0})
    with pytest.raises(ScenarioError, match="no setting 'nonsense'"):
        base.updated({"nonsense.key": 1.0})


def test_a_parameter_set_the_schema_refuses_fails_before_any_simulation() -> None:
    plan = _plan()
    plan.changes = [{"group.coverage": 2.0}]
    started = time.perf_counter()
    with pytest.raises(ScenarioError):
        evaluation.evaluate(plan, progress=False)
    assert time.perf_counter() - started < 5


def test_a_metric_past_the_horizon_is_refused_before_simulating() -> None:
    with pytest.raises(InputError, match="horizon is 60 days"):
        evaluation.needed_columns(["relapse_90d"], 60)


@pytest.mark.parametrize("address", ["notanaddress", "tcp://", "tcp://h:abc", "http://h:1"])
def test_malformed_scheduler_addresses_are_one_line_errors(address: str) -> None:
    with pytest.raises(InputError, match="tcp://HOST:PORT"):
        parse_address(address)
    with pytest.raises(InputError):
        Backend(scheduler=address)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_closed_port_and_a_server_that_is_not_dask_fail_within_15_seconds() -> None:
    started = time.perf_counter()
    with pytest.raises(ExecutorError, match="cannot connect"):
        check_scheduler(f"tcp://127.0.0.1:{_free_port()}")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(ExecutorError, match="no Dask scheduler answered"):
            check_scheduler(f"tcp://127.0.0.1:{server.server_address[1]}", timeout=3)
    finally:
        server.shutdown()
        server.server_close()
    assert time.perf_counter() - started < 15


def test_a_server_answering_garbage_is_not_taken_for_dask() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def answer() -> None:
        conn, _ = listener.accept()
        conn.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n")
        conn.close()

    threading.Thread(target=answer, daemon=True).start()
    with pytest.raises(ExecutorError, match="not a Dask scheduler"):
        check_scheduler(f"tcp://127.0.0.1:{listener.getsockname()[1]}")
    listener.close()


def test_cli_refuses_dask_options_without_uncertainty_and_both_at_once(tmp_path: Path) -> None:
    cli = [sys.executable, "-m", "kds_sim.cli.main"]
    scenario = str(SCENARIOS / "no_group.toml")
    alone = subprocess.run(
        [*cli, "run", scenario, "--scheduler", "tcp://127.0.0.1:1", "--out", str(tmp_path / "a")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert alone.returncode == 2 and "add --uncertainty" in alone.stderr
    both = subprocess.run(
        [*cli, "run", scenario, "--uncertainty", "--dask-local", "2", "--scheduler",
         "tcp://127.0.0.1:1", "--out", str(tmp_path / "b")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert both.returncode == 2 and "--scheduler" in both.stderr and "--dask-local" in both.stderr
    assert "Traceback" not in alone.stderr + both.stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_workers_exit_within_10_seconds_of_their_coordinator_dying(tmp_path: Path) -> None:
    script = tmp_path / "coordinator.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, time
            from kds_sim.analysis.backend import process_pool

            def slow(_):
                time.sleep(600)

            if __name__ == "__main__":
                pool = process_pool(2)
                futures = [pool.submit(slow, i) for i in range(2)]
                time.sleep(8)
                print(" ".join(str(p) for p in pool._processes), flush=True)
                time.sleep(600)
            """
        )
    )
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    workers = [int(p) for p in proc.stdout.readline().split()]
    assert len(workers) == 2
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    alive = workers
    while alive and time.monotonic() < deadline:
        time.sleep(0.25)
        alive = [w for w in alive if _alive(w)]
    assert not alive, f"orphaned workers {alive} still alive 10 s after their coordinator died"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().split()[2] == "Z")


def test_work_that_cannot_fit_in_memory_is_refused_with_the_estimate() -> None:
    from kds_sim.analysis.uncertainty import run_uncertainty

    started = time.perf_counter()
    with pytest.raises(ResourceError, match="GB of memory"):
        run_uncertainty([_small("no_group")], draws=100_000_000, replicates=10, progress=False)
    assert time.perf_counter() - started < 10


EMA_UNDER_SPAWN = """
import multiprocessing, pickle, sys
from pathlib import Path

if __name__ == "__main__":
    multiprocessing.set_start_method("spawn")
    import ema_workbench as ew
    from kds_sim import ema

    scenarios = Path(sys.argv[1])
    model = ema.model(
        scenarios / "capacity_building.toml",
        reference=scenarios / "no_group.toml",
        uncertainties={"behaviour.lapse_intercept": (-5.3, -4.0)},
        outcomes=["relapse_30d", "averted_per_100_30d"],
        replicates=2,
        fixed={"run.horizon_days": 30, "population.size": 60},
    )
    pickle.dumps(model.function)
    with ew.MultiprocessingEvaluator(model, n_processes=2) as evaluator:
        experiments, outcomes = evaluator.perform_experiments(scenarios=4)
    relapse = outcomes["relapse_30d"]
    assert len(experiments) == 4 and ((relapse >= 0) & (relapse <= 1)).all()
    print("ok", multiprocessing.get_start_method())
"""


def test_ema_adapter_is_picklable_and_runs_under_spawn(tmp_path: Path) -> None:
    pytest.importorskip("ema_workbench")
    script = tmp_path / "ema_spawn.py"
    script.write_text(EMA_UNDER_SPAWN)
    done = subprocess.run(
        [sys.executable, str(script), str(SCENARIOS)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ok spawn" in done.stdout


def test_a_run_too_large_for_memory_is_refused_before_it_starts() -> None:
    from kds_sim.analysis import runner

    huge = _small("no_group").updated({"population.size": 2_000_000})
    with pytest.raises(ResourceError, match="replicates = 100000"):
        runner.run(huge, replicates=100_000, progress=False)


def test_points_whose_discharges_change_the_number_of_people_run_in_one_plan():
    """Rows whose later discharges give different numbers of people are simulated in separate
    batches (a Morris design varies population.discharges_per_month)."""
    from conftest import make_scenario

    from kds_sim.analysis import evaluation

    scenario = make_scenario(size=60, horizon=90)
    points = [{"population.discharges_per_month": v} for v in (0.0, 0.5, 3.0)]
    plan = evaluation.Plan([scenario], points, [2], 5, ["relapse_90d"], None)
    rows = evaluation.evaluate(plan, progress=False).results
    assert len(rows) == 6 and rows["relapse_90d"].notna().all()

"""Issue 8, one section per defect class: stale resume cache, non-finite or mistyped
parameters, output folders as one consistent set, scenario names as paths, tracebacks
instead of one-line errors, and signals with worker processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import make_scenario, write_toml

from kds_sim.analysis import runner
from kds_sim.cli.main import main
from kds_sim.io import output_folder
from kds_sim.io.scenario_files import ScenarioError, load_scenario, validate
from kds_sim.model.scenario import Scenario

TINY = "[population]\nsize = 40\n[outputs]\nfigures = false\nparquet = false\n"


def run_cli(path: Path, out: Path, *extra: str) -> int:
    args = ["run", str(path), "--replicates", "2", "--horizon", "30", "--no-progress"]
    return main([*args, "--out", str(out), *extra])


def relapse(out: Path) -> float:
    return json.loads((out / "summary.json").read_text())["metrics"]["relapse_horizon"]["mean"]


# 1. stale resume cache ----------------------------------------------------------------------


def network_files(folder: Path, using: int) -> None:
    recovering = "".join(f"r{i},recovering\n" for i in range(8))
    users = "".join(f"u{i},using\n" for i in range(using))
    write_toml(folder / "nodes.csv", "id,role\n" + recovering + users + "u_last,using\n")
    ring = "".join(f"r{i},r{(i + 1) % 8}\n" for i in range(8))
    ties = "".join(f"r{i % 8},u{i}\n" for i in range(using))
    write_toml(folder / "edges.csv", "source,target\n" + ring + ties)


def test_editing_a_network_file_invalidates_the_resume_cache(tmp_path, capsys):
    network_files(tmp_path, using=0)
    path = write_toml(
        tmp_path / "net.toml",
        TINY + '[network]\nedges_file = "edges.csv"\nnodes_file = "nodes.csv"\n',
    )
    out = tmp_path / "out"
    assert run_cli(path, out, "--horizon", "200") == 0
    key_before = runner.cache_key(load_scenario(path), 20191201)
    network_files(tmp_path, using=16)  # same paths, new contents: two using friends each
    assert runner.cache_key(load_scenario(path), 20191201) != key_before
    assert run_cli(path, out, "--horizon", "200") == 0
    resumed = relapse(out)
    assert run_cli(path, tmp_path / "fresh", "--horizon", "200", "--no-resume") == 0
    assert resumed == relapse(tmp_path / "fresh")


def test_cache_key_covers_engine_seed_and_every_setting():
    base = make_scenario()
    key = runner.cache_key(base, 1)
    assert runner.cache_key(base, 2) != key
    assert runner.cache_key(make_scenario({"run": {"engine": "agent"}}), 1) != key
    assert runner.cache_key(make_scenario({"behaviour": {"lapse_intercept": -3.0}}), 1) != key
    # what does not shape a replicate does not split the cache
    assert runner.cache_key(make_scenario({"outputs": {"figures": False}}), 1) == key


# 2. non-finite, mistyped and swapped parameters -------------------------------------------


@pytest.mark.parametrize(
    "text, key",
    [
        ("[behaviour]\ncoping_intercept = nan\n", "behaviour.coping_intercept"),
        ("[behaviour]\nlapse_intercept = -nan\n", "behaviour.lapse_intercept"),
        ("[group]\nerosion_half_life_min = inf\n", "group.erosion_half_life_min"),
        ("[network]\nusing_ties_dispersion = inf\n", "network.using_ties_dispersion"),
        ("[population.coping]\nmean = nan\nsd = 0.1\n", "population.coping.mean"),
        ("[intervention_effects.mentoring]\nerosion_reduction = nan\n", "erosion_reduction"),
        ("[run]\nhorizon_days = true\n", "run.horizon_days"),
        ('[population]\nsize = "100"\n', "population.size"),
        ("[group]\nenabled = 1\n", "group.enabled"),
        ("[group]\nattendance_min = 0.95\n", "group.attendance_min"),
        ("[group]\nmeetings_per_month_min = 5\n", "group.meetings_per_month_min"),
        ("[group]\ndropout_per_month_max = 0.01\n", "group.dropout_per_month_min"),
    ],
)
def test_bad_values_are_rejected_with_file_and_key(tmp_path, text, key):
    path = write_toml(tmp_path / "bad.toml", text)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    message = str(err.value)
    assert str(path) in message and key in message
    assert "\n" not in message.strip()


def test_entries_of_interventions_are_strict_too(tmp_path):
    text = '[group]\nenabled = true\n[[interventions]]\nkind = "work_plan"\ndose = nan\n'
    with pytest.raises(ScenarioError, match=r"interventions\[0\].dose = nan"):
        load_scenario(write_toml(tmp_path / "s.toml", text))


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("[group]\nquality_floor = 0.5\n", "one channel"),
        ("[group]\nfunded_min = 0.5\n", "merged into group.meeting_held_min"),
        (
            "[intervention_effects.relapse_prevention_training]\ncoping_gain = 0.05\n",
            "human-resources score",
        ),
        ('[[interventions]]\nkind = "work_plan"\nparticipation = 0.8\n', "no registered kind"),
    ],
)
def test_keys_removed_in_model_0_3_say_why(tmp_path, text, why):
    """An old scenario file fails on the key it sets, and the message says what replaced it."""
    path = write_toml(
        tmp_path / "old.toml", "[group]\nenabled = true\n" * ("[group]" not in text) + text
    )
    with pytest.raises(ScenarioError, match="unknown key") as err:
        load_scenario(path)
    assert why in str(err.value) and str(path) in str(err.value)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "true", '"0.5"'])
def test_set_overrides_get_the_same_checks(tmp_path, capsys, value):
    path = write_toml(tmp_path / "s.toml", TINY)
    code = run_cli(path, tmp_path / "out", "--set", f"behaviour.coping_intercept={value}")
    assert code == 2
    err = capsys.readouterr().err
    assert "command-line override: behaviour.coping_intercept" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out" / "summary.json").exists()


def test_strict_types_still_accept_ints_for_floats_and_dumped_scenarios():
    scenario = validate({"behaviour": {"coping_intercept": 1}, "group": {"attendance_max": 1}})
    assert scenario.behaviour.coping_intercept == 1.0
    assert Scenario.model_validate(scenario.model_dump()) == scenario
    assert Scenario.model_validate_json(scenario.model_dump_json()) == scenario
    assert Scenario.model_validate(scenario.model_dump(mode="json")) == scenario


# 3. an output folder is one consistent set ------------------------------------------------


def test_second_run_replaces_the_whole_set_and_writes_a_manifest_last(tmp_path):
    first = write_toml(tmp_path / "a.toml", TINY.replace("figures = false", "figures = true"))
    second = write_toml(tmp_path / "b.toml", TINY.replace("parquet = false", "parquet = true"))
    out = tmp_path / "out"
    assert run_cli(first, out) == 0
    assert (out / "survival.png").exists()
    assert run_cli(second, out, "--seed", "7") == 0
    manifest = output_folder.read_manifest(out)
    assert manifest is not None and manifest["seed"] == 7
    assert output_folder.verify(out) == []
    assert not (out / "survival.png").exists()  # the first run's file, not in this set
    listed = set(manifest["files"])
    present = {
        str(p.relative_to(out))
        for p in out.rglob("*")
        if p.is_file() and ".replicates" not in p.parts and p.name != "manifest.json"
    }
    assert present == listed
    assert not list(out.glob(".staging-*")) and not (out / ".lock").exists()
    assert json.loads((out / "summary.json").read_text())["scenario"]["name"] == "b"


def test_verify_finds_files_from_another_run(tmp_path):
    path = write_toml(tmp_path / "a.toml", TINY)
    out = tmp_path / "out"
    assert run_cli(path, out) == 0
    (out / "metrics.csv").write_text("replicate\n0\n")
    assert any("metrics.csv" in p for p in output_folder.verify(out))
    (out / "manifest.json").unlink()
    assert "no manifest.json" in output_folder.verify(out)[0]


HOLD_LOCK = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, f"{os.getpid()} other\\n".encode())
print("held", flush=True)
time.sleep(30)
"""


def test_a_live_lock_is_a_clear_error_and_a_stale_one_is_taken_over(tmp_path, capsys):
    path = write_toml(tmp_path / "a.toml", TINY)
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(out / ".lock")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert run_cli(path, out) == 2
        err = capsys.readouterr().err
        assert f"another kds-sim run (pid {holder.pid})" in err
        assert not (out / ".replicates").exists()  # refused before computing
    finally:
        holder.kill()
        holder.wait()
    # the holder is dead: its lock, staging folder and .part files are left-overs
    (out / ".staging-old").mkdir()
    (out / ".staging-old" / "daily.csv").write_text("x")
    (out / ".daily.csv.abc.part").write_text("x")
    assert run_cli(path, out) == 0
    assert not list(out.glob(".staging-*")) and not list(out.glob("*.part"))
    assert output_folder.verify(out) == []


def test_a_lock_naming_a_reused_live_pid_does_not_block(tmp_path):
    """Issue 25 class 6: a .lock left by a killed run whose pid now belongs to an unrelated,
    live process (here: this test's own pid) is taken over, not obeyed forever."""
    path = write_toml(tmp_path / "a.toml", TINY)
    out = tmp_path / "out"
    out.mkdir()
    (out / ".lock").write_text(f"{os.getpid()} killed-run\n")
    assert run_cli(path, out) == 0
    assert output_folder.verify(out) == [] and not (out / ".lock").exists()


def test_interrupted_write_leaves_no_manifest(tmp_path, monkeypatch):
    path = write_toml(tmp_path / "a.toml", TINY)
    out = tmp_path / "out"
    assert run_cli(path, out) == 0
    real = os.replace
    calls = []

    def dies_midway(src, dst):
        if ".staging-" in str(src) and ".staging-" not in str(dst):  # the swap, not staging
            calls.append(dst)
            if len(calls) == 3:
                raise KeyboardInterrupt
        return real(src, dst)

    monkeypatch.setattr(output_folder.os, "replace", dies_midway)
    assert run_cli(path, out, "--seed", "9") == 130
    monkeypatch.setattr(output_folder.os, "replace", real)
    assert len(calls) == 3
    assert output_folder.read_manifest(out) is None  # readers see: not a finished set
    assert not (out / ".lock").exists() and not list(out.glob(".staging-*"))
    assert run_cli(path, out, "--seed", "9") == 0
    assert output_folder.verify(out) == []


# 4. scenario names are never paths --------------------------------------------------------


@pytest.mark.parametrize("name", ["../../escaped", "/tmp/kds_escaped_abs", "..", ".hidden/x"])
def test_names_cannot_write_outside_the_output_folder(tmp_path, monkeypatch, name):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    path = write_toml(work / "s.toml", f"name = {json.dumps(name)}\n" + TINY)
    other = write_toml(work / "o.toml", TINY)
    before = set(tmp_path.rglob("*"))
    assert main(["run", str(path), "--replicates", "2", "--horizon", "20", "--no-progress"]) == 0
    args = ["compare", str(path), str(other), "--replicates", "2", "--horizon", "20"]
    assert main([*args, "--out", str(work / "cmp"), "--no-progress"]) == 0
    new = set(tmp_path.rglob("*")) - before
    assert all(p.is_relative_to(work / "results") or p.is_relative_to(work / "cmp") for p in new)
    assert not Path("/tmp/kds_escaped_abs").exists()
    safe = output_folder.safe_name(name)
    assert "/" not in safe and not safe.startswith(".")
    assert (work / "results" / safe / "summary.json").exists()
    assert (work / "cmp" / "scenarios" / safe / "summary.csv").exists()


# 5. one-line errors, checked before computing ----------------------------------------------


def test_bom_scenario_loads_and_non_utf8_is_one_line(tmp_path):
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + TINY.encode())
    assert load_scenario(bom).population.size == 40
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b'description = "caf\xe9"\n')
    with pytest.raises(ScenarioError, match="not UTF-8"):
        load_scenario(latin)


@pytest.mark.parametrize(
    "edges, nodes, problem",
    [
        ("edges.graphml", None, "not valid GraphML"),
        ("edges.csv", "latin.csv", "not UTF-8"),
    ],
)
def test_bad_network_files_are_one_line(tmp_path, capsys, edges, nodes, problem):
    (tmp_path / "edges.graphml").write_text("<graphml><graph><node id='a'")
    (tmp_path / "edges.csv").write_text("source,target\nr0,r1\n")
    (tmp_path / "latin.csv").write_bytes(b"id,role\nr0,recovering\nr\xe9,recovering\n")
    network = f'[network]\nedges_file = "{edges}"\n' + (
        f'nodes_file = "{nodes}"\n' if nodes else ""
    )
    path = write_toml(tmp_path / "s.toml", TINY + network)
    assert run_cli(path, tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert problem in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_bom_network_csv_is_read(tmp_path):
    network_files(tmp_path, using=2)
    nodes = tmp_path / "nodes.csv"
    nodes.write_bytes(b"\xef\xbb\xbf" + nodes.read_bytes())
    path = write_toml(
        tmp_path / "s.toml",
        TINY + '[network]\nedges_file = "edges.csv"\nnodes_file = "nodes.csv"\n',
    )
    assert run_cli(path, tmp_path / "out") == 0


def test_unusable_out_fails_before_computing(tmp_path, capsys, monkeypatch):
    path = write_toml(tmp_path / "s.toml", TINY)
    calls: list[int] = []
    monkeypatch.setattr(runner, "simulate", lambda *a: calls.append(1))
    a_file = write_toml(tmp_path / "file.txt", "x")
    assert run_cli(path, a_file, "--no-resume") == 2
    assert "is a file" in capsys.readouterr().err
    assert run_cli(path, a_file / "sub", "--no-resume") == 2
    assert "is under a file" in capsys.readouterr().err
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert run_cli(path, locked / "out", "--no-resume") == 2
        assert "not writable" in capsys.readouterr().err
    assert calls == []


def test_corrupt_cache_is_recomputed_with_a_warning(tmp_path):
    path = write_toml(tmp_path / "s.toml", TINY)
    out = tmp_path / "out"
    assert run_cli(path, out) == 0
    first = (out / "people.csv").read_bytes()
    [store] = list((out / ".replicates").glob("*.sqlite"))
    store.write_bytes(b"not a database")
    with pytest.warns(UserWarning, match="computing the replicates again"):
        assert run_cli(path, out) == 0
    assert (out / "people.csv").read_bytes() == first
    assert store.stat().st_size > 100


# 6. signals and workers -------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_workers_must_be_at_least_one(tmp_path, capsys, value):
    path = write_toml(tmp_path / "s.toml", TINY)
    with pytest.raises(SystemExit) as exit_:
        run_cli(path, tmp_path / "out", "--workers", value)
    assert exit_.value.code == 2
    assert "--workers" in capsys.readouterr().err


def test_workers_are_capped_at_the_cpu_count(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    path = write_toml(tmp_path / "s.toml", TINY)
    assert run_cli(path, tmp_path / "out", "--workers", "64") == 0
    assert "capped at 1 CPU" in capsys.readouterr().err


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")[:200]
    except OSError:
        return "(gone)"


def _children(pid: int) -> list[int]:
    """Process ids whose parent is `pid`, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_ends_workers_keeps_finished_replicates_and_exits(tmp_path, signum, code):
    path = write_toml(
        tmp_path / "big.toml",
        "[population]\nsize = 3000\n[outputs]\nfigures = false\nparquet = false\n",
    )
    out = tmp_path / "out"
    command = [sys.executable, "-m", "kds_sim.cli.main", "run", str(path), "--replicates", "200"]
    # output to files, not pipes: a pipe stays open while any child holds it, which would
    # hide whether the main process itself has exited
    stdout, stderr = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with stdout.open("w") as out_file, stderr.open("w") as err_file:
        process = subprocess.Popen(
            [*command, "--workers", "2", "--out", str(out), "--no-progress"],
            stdout=out_file,
            stderr=err_file,
            env={**os.environ, "PYTHONFAULTHANDLER": "1"},  # SIGABRT dumps every thread
            # started with SIGINT ignored, as a background job of a script is (CI runs this
            # suite so): kds-sim must still stop on it
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        )
    try:
        deadline = time.monotonic() + 90
        while _stored(out) == 0:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"ended before any replicate was cached: {process.communicate()}")
            time.sleep(0.1)
        workers = _children(process.pid)
        assert workers
        process.send_signal(signum)
        sent = time.monotonic()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            tree = {pid: _command_line(pid) for pid in _children(process.pid)}
            process.send_signal(signal.SIGABRT)  # where it hangs, for the failure message
            process.wait(timeout=10)
            dump = stderr.read_text(errors="replace")[-8000:]
            pytest.fail(f"still running 10 s after the signal; children {tree}; threads:\n{dump}")
        err = stderr.read_text()
        assert time.monotonic() - sent < 5  # about 1 s; slack for a machine shared by many
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == code
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    gone_by = time.monotonic() + 5  # workers are ended at once; a loaded machine reaps late
    while [pid for pid in workers if _alive(pid)] and time.monotonic() < gone_by:
        time.sleep(0.1)
    assert not [pid for pid in workers if _alive(pid)]
    kept = _stored(out)
    assert 1 <= kept < 200
    assert not (out / ".lock").exists() and not (out / "manifest.json").exists()
    # a rerun resumes: the kept replicates are in the store the rerun opens
    from kds_sim.analysis.store import Store

    [found] = list((out / ".replicates").glob("*.sqlite"))
    store = Store(found)
    assert len(store.results()) == kept and len(list(store.tables([0]))) == kept
    store.close()


def _stored(out: Path) -> int:
    """Replicates committed to the run's store (0 while there is none)."""
    import sqlite3

    found = list((out / ".replicates").glob("*.sqlite"))
    if not found:
        return 0
    try:
        with sqlite3.connect(found[0], timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM results").fetchone()[0])
    except sqlite3.Error:
        return 0

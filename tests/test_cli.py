"""`kds-sim run`: the files it writes, resuming, and errors reported without a traceback."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import write_toml

from kds_sim._version import __version__
from kds_sim.cli.main import main
from kds_sim.model.rules import STATES

SCENARIO = """name = "cli_test"
[run]
horizon_days = 365
replicates = 10
seed = 31
[population]
size = 200
[group]
enabled = true
coverage = 0.5
[[interventions]]
kind = "work_plan"
start_day = 0
"""

DAILY_COLUMNS = {
    "replicate",
    "day",
    "abstinent",
    "lapsed",
    "relapsed",
    "ever_relapsed",
    "new_lapses",
    "new_relapses",
    "members",
    "meeting_held",
    "capacity_mean",
}
PEOPLE_COLUMNS = {
    "replicate",
    "person",
    "member",
    "meetings_attended",
    "using_ties",
    "first_lapse_day",
    "first_relapse_day",
    "relapse_time",
    "relapse_censored",
    "lapses",
    "relapses",
    "status_at_end",
    "coping_at_end",
}


def run_cli(path, out, *extra) -> int:
    return main(
        [
            "run",
            str(path),
            "--replicates",
            "3",
            "--horizon",
            "60",
            "--out",
            str(out),
            "--no-progress",
            *extra,
        ]
    )


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """One `kds-sim run` shared by the output checks."""
    root = tmp_path_factory.mktemp("cli")
    path = write_toml(root / "cli_test.toml", SCENARIO)
    out = root / "out"
    code = run_cli(path, out)
    return code, out


def test_run_succeeds_and_writes_every_output(outputs):
    code, out = outputs
    assert code == 0
    for name in (
        "daily.csv",
        "daily.parquet",
        "people.csv",
        "people.parquet",
        "metrics.csv",
        "summary.csv",
        "survival.csv",
        "summary.json",
        "survival.png",
        "prevalence.png",
        "capacity.png",
    ):
        assert (out / name).is_file(), name
        assert (out / name).stat().st_size > 0, name


def test_no_temporary_files_left(outputs):
    _, out = outputs
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]


def test_tables_are_tidy_and_agree_between_csv_and_parquet(outputs):
    _, out = outputs
    daily = pd.read_csv(out / "daily.csv")
    people = pd.read_csv(out / "people.csv")
    assert set(daily.columns) >= DAILY_COLUMNS
    assert set(people.columns) >= PEOPLE_COLUMNS
    assert len(daily) == 3 * 61  # day 0..60 for each replicate
    assert sorted(daily["replicate"].unique()) == [0, 1, 2]
    assert daily.groupby("replicate")["day"].max().eq(60).all()
    assert len(people) == 3 * 200
    assert not people.duplicated(["replicate", "person"]).any()
    assert set(people["status_at_end"]) <= set(STATES.values())
    for name, csv in (("daily", daily), ("people", people)):
        parquet = pd.read_parquet(out / f"{name}.parquet")
        assert list(parquet.columns) == list(csv.columns)
        assert len(parquet) == len(csv)
    parquet = pd.read_parquet(out / "people.parquet")
    pd.testing.assert_series_equal(parquet["first_relapse_day"], people["first_relapse_day"])
    pd.testing.assert_series_equal(parquet["coping_at_end"], people["coping_at_end"], rtol=1e-9)


def test_summary_json(outputs):
    _, out = outputs
    summary = strict_json((out / "summary.json").read_text())
    assert summary["version"] == __version__
    assert summary["seed"] == 31
    assert summary["replicates"] == 3 and summary["horizon_days"] == 60
    assert summary["scenario"]["name"] == "cli_test"
    assert summary["scenario"]["run"]["horizon_days"] == 60
    assert summary["scenario"]["interventions"][0]["kind"] == "work_plan"
    metrics = summary["metrics"]
    assert "relapse_horizon" in metrics and "relapse_365d" not in metrics
    for name, values in metrics.items():
        assert {"mean", "ci_low", "ci_high"} <= set(values), name
    horizon = metrics["relapse_horizon"]
    assert horizon["ci_low"] <= horizon["mean"] <= horizon["ci_high"]
    csv = pd.read_csv(out / "summary.csv").set_index("metric")
    assert csv.loc["relapse_horizon", "mean"] == pytest.approx(horizon["mean"])


def strict_json(text: str):
    """Parse as RFC 8259 JSON: NaN and Infinity are not JSON (R's jsonlite, JS reject them)."""

    def reject(constant):
        raise ValueError(f"not valid JSON: {constant}")

    return json.loads(text, parse_constant=reject)


def test_summary_json_is_strict_json_without_a_group(tmp_path):
    # without a group, capacity_end is undefined: it must be null, not NaN
    path = write_toml(
        tmp_path / "plain.toml",
        ("[population]\nsize = 60\n[outputs]\nfigures = false\nparquet = false\n"),
    )
    assert run_cli(path, tmp_path / "out") == 0
    summary = strict_json((tmp_path / "out" / "summary.json").read_text())
    assert summary["metrics"]["capacity_end"]["mean"] is None
    assert isinstance(summary["metrics"]["relapse_horizon"]["mean"], float)


def test_figures_are_png(outputs):
    _, out = outputs
    for name in ("survival.png", "prevalence.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_prints_a_summary(tmp_path, capsys):
    path = write_toml(tmp_path / "s.toml", SCENARIO.replace("size = 200", "size = 60"))
    assert run_cli(path, tmp_path / "out", "--set", "outputs.figures=false") == 0
    printed = capsys.readouterr().out
    assert "cli_test: 3 replicates of 60 people, 60 days, seed 31" in printed
    assert "relapse_horizon" in printed and "95% CI" in printed


def test_rerun_resumes_from_finished_replicates(tmp_path, monkeypatch):
    from kds_sim.analysis import columns

    path = write_toml(
        tmp_path / "s.toml",
        SCENARIO.replace("size = 200", "size = 60") + "[outputs]\nfigures = false\n",
    )
    out = tmp_path / "out"
    assert run_cli(path, out) == 0
    first = (out / "people.csv").read_bytes()
    calls = []
    real = columns.simulate_columns
    monkeypatch.setattr(
        columns, "simulate_columns", lambda s, seed, ix: calls.extend(ix) or real(s, seed, ix)
    )
    assert run_cli(path, out) == 0
    assert calls == []
    assert (out / "people.csv").read_bytes() == first
    assert run_cli(path, out, "--no-resume") == 0
    assert calls == [0, 1, 2]
    assert (out / "people.csv").read_bytes() == first


def test_set_overrides_and_output_switches(tmp_path):
    path = write_toml(tmp_path / "s.toml", SCENARIO.replace("size = 200", "size = 60"))
    out = tmp_path / "out"
    code = run_cli(
        path,
        out,
        "--set",
        "outputs.figures=false",
        "--set",
        "outputs.parquet=false",
        "--set",
        "group.coverage=0.2",
        "--seed",
        "8",
    )
    assert code == 0
    assert not list(out.glob("*.png")) and not list(out.glob("*.parquet"))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"]["group"]["coverage"] == 0.2 and summary["seed"] == 8


# errors ------------------------------------------------------------------------------------------
def assert_user_error(capsys, code: int, *needles: str) -> str:
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.startswith("kds-sim: error: ")
    assert "Traceback" not in captured.err + captured.out
    for needle in needles:
        assert needle in captured.err, needle
    return captured.err


def test_bad_scenario_exits_2_without_traceback(tmp_path, capsys):
    path = write_toml(tmp_path / "bad.toml", "[group]\nenabled = true\ncoverage = 1.5\n")
    code = run_cli(path, tmp_path / "out")
    assert_user_error(capsys, code, str(path.resolve()), "group.coverage", "1.5")
    assert not (tmp_path / "out").exists()


def test_typo_exits_2(tmp_path, capsys):
    path = write_toml(tmp_path / "typo.toml", "[group]\ncoverag = 0.5\n")
    assert_user_error(capsys, run_cli(path, tmp_path / "out"), "group.coverag", "coverage")


def test_missing_scenario_file_exits_2(tmp_path, capsys):
    path = tmp_path / "missing.toml"
    assert_user_error(capsys, run_cli(path, tmp_path / "out"), "not found")


def test_invalid_toml_exits_2(tmp_path, capsys):
    path = write_toml(tmp_path / "broken.toml", "name = \n")
    assert_user_error(capsys, run_cli(path, tmp_path / "out"), "not valid TOML")


def test_bad_override_exits_2(tmp_path, capsys):
    path = write_toml(tmp_path / "s.toml", SCENARIO)
    code = run_cli(path, tmp_path / "out", "--set", "group.coverage")
    assert_user_error(capsys, code, "KEY=VALUE")
    code = run_cli(path, tmp_path / "out", "--set", "group.coverage=7")
    assert_user_error(capsys, code, "command-line override", "group.coverage")


def test_bad_network_role_exits_2(tmp_path, capsys):
    write_toml(tmp_path / "nodes.csv", "id,role\na,recovering\nb,recovering\nc,dealer\n")
    write_toml(tmp_path / "edges.csv", "source,target\na,b\nb,c\n")
    path = write_toml(
        tmp_path / "net.toml", ('[network]\nedges_file = "edges.csv"\nnodes_file = "nodes.csv"\n')
    )
    code = run_cli(path, tmp_path / "out")
    assert_user_error(capsys, code, "nodes.csv", "line 4", "'dealer'", "recovering, using")


def test_run_with_a_network_file(tmp_path, capsys):
    recovering = "".join(f"r{i},recovering\n" for i in range(6))
    nodes = "id,role\n" + recovering + "u,using\ns,supportive\n"
    edges = "source,target\nr0,r1\nr1,r2\nr2,r3\nr3,r4\nr4,r5\nr5,r0\nr0,u\nr3,u\nr1,s\n"
    write_toml(tmp_path / "nodes.csv", nodes)
    write_toml(tmp_path / "edges.csv", edges)
    path = write_toml(
        tmp_path / "net.toml",
        (
            "[population]\nsize = 300\n[outputs]\nfigures = false\n"
            '[network]\nedges_file = "edges.csv"\nnodes_file = "nodes.csv"\n'
        ),
    )
    assert run_cli(path, tmp_path / "out") == 0
    # the file, not population.size, decides the cohort
    assert "3 replicates of 6 people" in capsys.readouterr().out
    people = pd.read_csv(tmp_path / "out" / "people.csv")
    assert len(people) == 18
    assert people.loc[people["replicate"] == 0, "using_ties"].tolist() == [1, 0, 0, 1, 0, 0]


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert __version__ in capsys.readouterr().out

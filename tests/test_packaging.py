"""The package as users get it: data inside the wheel, names that resolve from any folder,
`kds-sim scenarios`, `python -m kds_sim`, the notebook API (dir, help, repr), the terminal
tables of `kds-sim params`, and the citation file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import kds_sim
from kds_sim.cli.common import terminal_table
from kds_sim.cli.main import main
from kds_sim.cli.params import parameter_rows
from kds_sim.errors import ScenarioError
from kds_sim.io import packaged
from kds_sim.io.scenario_files import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = {
    "kds_sim/scenarios/no_group.toml",
    "kds_sim/scenarios/capacity_building.toml",
    "kds_sim/scenarios/calibrated/indonesia_2015.toml",
    "kds_sim/scenarios/calibrated/indonesia_2015_posterior.parquet",
    "kds_sim/scenarios/calibrated/indonesia_2015_posterior.json",
    "kds_sim/scenarios/targets/indonesia_2015.toml",
    "kds_sim/designs/smoke.toml",
    "kds_sim/py.typed",
    "kds_sim/__main__.py",
    "kds_sim/messages/en.toml",
}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    return next(out.glob("kds_sim-*.whl"))


def test_the_wheel_ships_the_data_and_every_package(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert names >= SHIPPED, SHIPPED - names
    every_scenario = {f"kds_sim/scenarios/{p.name}" for p in (ROOT / "scenarios").glob("*.toml")}
    assert every_scenario <= names
    packages = {
        str(p.parent.relative_to(ROOT)) + "/__init__.py" for p in ROOT.glob("kds_sim/**/*.py")
    }
    assert packages <= names, f"a subpackage is missing from the wheel: {packages - names}"
    assert not [n for n in names if "__pycache__" in n or n.startswith(("tests/", "scenarios/"))]
    assert len(names) < 200 and wheel.stat().st_size < 2_000_000


def test_names_resolve_from_any_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_scenario("no_group").name == "no_group"
    assert load_scenario("capacity_building").interventions
    calibrated = load_scenario("calibrated/indonesia_2015")
    assert calibrated.uncertainty.posterior and Path(calibrated.uncertainty.posterior).is_file()
    assert packaged.resolve("smoke", "design").name == "smoke.toml"
    assert packaged.resolve("indonesia_2015", "targets").parent.name == "targets"
    assert {"no_group", "capacity_building", "calibrated/indonesia_2015"} <= set(packaged.names())


def test_a_file_of_the_name_wins_over_the_shipped_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    shipped = packaged.resolve("no_group")
    (tmp_path / "no_group.toml").write_text(
        f'extends = "{shipped.as_posix()}"\nname = "mine"\n', encoding="utf-8"
    )
    assert load_scenario("no_group").name == "mine"


def test_an_unknown_name_lists_what_is_shipped(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ScenarioError, match="no_grup.*none shipped.*capacity_building"):
        load_scenario("no_grup")
    with pytest.raises(ScenarioError, match=r"missing\.toml: scenario file not found"):
        load_scenario("missing.toml")


def test_a_sweep_design_names_its_strategies() -> None:
    from kds_sim.analysis.sweep.design import load_experiment

    exp = load_experiment("smoke")
    assert set(exp.all_paths()) == {"capacity_building", "no_group"}
    assert all(p.is_file() for p in exp.all_paths().values())


def test_scenarios_copy_gives_an_editable_set_that_loads(tmp_path: Path, capsys) -> None:
    dest = tmp_path / "mine"
    assert main(["scenarios", "copy", str(dest)]) == 0
    assert (dest / "calibrated" / "indonesia_2015_posterior.parquet").is_file()
    assert not list(dest.rglob("__init__.py"))
    scenario = load_scenario(dest / "capacity_building.toml")
    assert Path(scenario.uncertainty.posterior or "").parent == dest / "calibrated"
    assert main(["scenarios", "copy", str(dest)]) == 2  # never overwrites
    assert "already exists" in capsys.readouterr().err


def test_scenarios_list_fits_a_terminal(capsys) -> None:
    assert main(["scenarios", "list"]) == 0
    out = capsys.readouterr().out
    assert "no_group" in out and "smoke" in out and "indonesia_2015" in out
    assert max(len(line) for line in out.splitlines()[:-1]) <= 100


def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kds_sim", "--help"], capture_output=True, text=True, check=True
    )
    assert done.stdout.startswith("usage: python -m kds_sim")


def test_dir_and_help_show_the_public_api() -> None:
    shown = dir(kds_sim)
    assert {"run", "compare", "load_scenario", "RunResult", "copy_scenarios"} <= set(shown)
    assert not {"Any", "TYPE_CHECKING", "annotations", "import_module"} & set(shown)
    assert "kds_sim.run(" in (kds_sim.__doc__ or "")


def test_results_show_one_line_and_a_table_in_jupyter() -> None:
    result = kds_sim.run("no_group", replicates=2, horizon=20, progress=False)
    text = repr(result)
    assert text.startswith("<RunResult no_group: 2 replicates") and "\n" not in text
    assert len(text) < 200
    page = result._repr_html_()
    assert "<table" in page and "relapse" in page and len(page) < 20_000
    comparison = kds_sim.compare(
        ["no_group", "capacity_building"], replicates=2, horizon=40, progress=False
    )
    assert repr(comparison).startswith("<ComparisonResult 2 scenarios against no_group")
    assert "<table" in comparison._repr_html_()


def test_params_filters_and_fits_100_columns(capsys) -> None:
    assert main(["params", "coverage"]) == 0
    out = capsys.readouterr().out
    assert "group.coverage" in out and max(len(line) for line in out.splitlines()) <= 100
    assert main(["params"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 100
    assert out.count("\n") > len(parameter_rows())
    assert main(["params", "group.cov*", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["key"] for r in rows] == ["group.coverage"] and rows[0]["source"]
    assert main(["params", "coverage", "--format", "markdown"]) == 0
    assert capsys.readouterr().out.startswith("| key | default |")
    assert main(["params", "no_such_key"]) == 2


def test_terminal_tables_have_no_negative_zero() -> None:
    import pandas as pd

    table = pd.DataFrame({"a": [-0.0000001, -0.04, 1.23456]})
    text = terminal_table(table)
    assert "-0.000" not in text and "-0.040" in text and "1.235" in text


def test_compare_help_shows_plain_percent(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    out = capsys.readouterr().out
    assert "%%" not in out and "95 %" in out


def test_citation_file_has_no_second_version() -> None:
    text = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    assert "\nversion:" not in text, "the version lives in pyproject.toml only"


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("KDS_SIM_PACKAGE_CHECKED") == "1", reason=".ci/run ran .ci/package already"
)
def test_the_wheel_runs_in_a_fresh_venv_outside_the_repository() -> None:
    done = subprocess.run(["bash", str(ROOT / ".ci" / "package")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

"""compare(): the ordering the mechanism implies, common random numbers, and the outputs.

The statistical checks run the shipped scenario files at 300 people and 365 days with a
reduced replicate count (REPLICATES); they are marked slow (run with `pytest -m slow`).
"""

from __future__ import annotations

import base64
import os
import re
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import kds_sim
from kds_sim.analysis import runner
from kds_sim.analysis.comparison import ComparisonResult, compare
from kds_sim.cli import main as cli
from kds_sim.io.scenario_files import ScenarioError, load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
REPLICATES = 20
ORDERED = ("no_group", "group_as_assessed", "capacity_building")


def path(name: str) -> Path:
    return SCENARIOS / f"{name}.toml"


def row(result: ComparisonResult, scenario: str, metric: str) -> pd.Series:
    table = result.table
    hit = table[(table["scenario"] == scenario) & (table["metric"] == metric)]
    assert len(hit) == 1, (scenario, metric)
    return hit.iloc[0]


@pytest.fixture(scope="module")
def shipped() -> ComparisonResult:
    """The three headline scenarios, 20 replicates of 300 people for 365 days."""
    return compare(
        [path(n) for n in ORDERED], reference="no_group", replicates=REPLICATES, progress=False
    )


# -- ordering implied by the mechanism -----------------------------------------------------------


@pytest.mark.slow
def test_group_lowers_relapse_and_capacity_building_lowers_it_more(shipped):
    """Paired differences at 12 months, 95 % CI over 20 common-seed replicates: each must
    exclude 0. Observed (the mean sits about 3 half-widths or more from 0 in each case):
    group -0.0053 [-0.0072, -0.0035] and capacity building vs group -0.019 [-0.022, -0.016]
    at 14 % relapse (uncalibrated defaults); -0.0185 [-0.0235, -0.0135] and -0.052 [-0.059,
    -0.044] at 33 % relapse."""
    assert shipped.horizon == 365
    group = row(shipped, "group_as_assessed", "difference_365d")
    assert group["ci_high"] < 0
    assert group["replicates"] == REPLICATES
    versus_group = ComparisonResult(shipped.results, "group_as_assessed")
    building = row(versus_group, "capacity_building", "difference_365d")
    assert building["ci_high"] < 0
    # and so, transitively and directly, against no group
    assert row(shipped, "capacity_building", "difference_365d")["ci_high"] < group["ci_low"]
    means = [row(shipped, n, "relapse_365d")["mean"] for n in ORDERED[:3]]
    assert means[0] > means[1] > means[2]
    # the reference against itself: exactly zero, and its NNT undefined
    assert row(shipped, "no_group", "difference_365d")[["mean", "ci_low", "ci_high"]].eq(0).all()
    assert np.isnan(row(shipped, "no_group", "nnt_365d")["mean"])
    assert row(shipped, "capacity_building", "averted_per_100_365d")["ci_low"] > 0


def test_mentoring_keeps_capacity_higher_late_in_the_horizon():
    """Over two years. Capacity draws no random numbers, so 2 replicates of 60 people
    suffice and every replicate agrees (CI width 0). Mentoring prevents 75 % of erosion:
    observed capacity 3.19 against 2.95 at day 365 and 3.11 against 2.66 at day 730;
    require a margin of 0.1 and 0.3 PEKA points."""
    names = ("group_as_assessed", "capacity_building", "capacity_building_mentoring")
    result = compare(
        [load_scenario(path(n), {"population.size": 60}) for n in names],
        replicates=2,
        horizon=730,
        progress=False,
    )
    capacity = {n: result.results[n].daily.groupby("day")["capacity_mean"] for n in names}
    at = {n: {d: capacity[n].mean()[d] for d in (35, 365, 730)} for n in names}
    spread = {n: float(capacity[n].std().max()) for n in names}
    assert max(spread.values()) < 1e-12  # deterministic: identical in every replicate
    mentored, plain = at["capacity_building_mentoring"], at["capacity_building"]
    assert mentored[35] >= plain[35] > at["group_as_assessed"][35]
    assert mentored[365] > plain[365] + 0.1
    assert mentored[730] > plain[730] + 0.3
    assert plain[730] < plain[365] < plain[35]  # erosion without mentoring
    end = row(result, "capacity_building_mentoring", "capacity_end")
    assert end["mean"] == pytest.approx(mentored[730])


@pytest.mark.slow
def test_common_random_numbers_narrow_the_ci_of_a_difference(shipped):
    """The paired 95 % CI (common seeds) against an unpaired one (the second scenario rerun
    from another root seed): t(2n-2) * sqrt(se1^2 + se2^2). Observed widths 0.0037 against
    0.028 (14 % relapse) and 0.0099 against 0.041 (33 % relapse) at 20 replicates;
    require the paired CI to be under half as wide."""
    paired = row(shipped, "group_as_assessed", "difference_365d")
    paired_width = paired["ci_high"] - paired["ci_low"]
    other = runner.run(shipped.results["group_as_assessed"].scenario, seed=987_654, progress=False)
    assert other.seed != shipped.results["no_group"].seed
    a = shipped.results["no_group"].metrics["relapse_365d"].to_numpy()
    b = other.metrics["relapse_365d"].to_numpy()
    se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    unpaired_width = 2 * stats.t.ppf(0.975, len(a) + len(b) - 2) * se
    assert 0 < paired_width < 0.5 * unpaired_width
    # the same replicate is the same cohort: people's traits agree across scenarios
    ref, grp = (
        shipped.results[n].people.query("replicate == 0") for n in ("no_group", "group_as_assessed")
    )
    assert np.array_equal(ref["using_ties"], grp["using_ties"])
    assert not np.array_equal(ref["using_ties"], other.people.query("replicate == 0")["using_ties"])


# -- outputs -------------------------------------------------------------------------------------

SMALL = ("no_group", "group_as_assessed", "capacity_building")


@pytest.fixture(scope="module")
def small() -> ComparisonResult:
    """3 scenarios x 3 replicates of 60 people over 60 days: for the output checks."""
    scenarios = [load_scenario(path(n), {"population.size": 60}) for n in SMALL]
    return compare(scenarios, replicates=3, horizon=60, progress=False)


def test_compare_aligns_runs_and_builds_a_tidy_table(small):
    assert list(small.results) == list(SMALL) and small.reference == "no_group"
    for result in small.results.values():
        assert (result.replicates, result.horizon, result.seed) == (3, 60, 20191201)
    table = small.table
    assert {
        "scenario",
        "reference",
        "metric",
        "unit",
        "mean",
        "ci_low",
        "ci_high",
        "replicates",
    } <= set(table.columns)
    metrics = set(table["metric"])
    assert {
        "relapse_horizon",
        "difference_horizon",
        "averted_per_100_horizon",
        "capacity_end",
    } <= metrics
    assert not any(m.endswith("365d") for m in metrics)  # no 12-month metric at 60 days
    wide = small.wide(("relapse_horizon", "capacity_end", "averted_per_100_horizon"))
    assert list(wide.index) == list(SMALL)
    assert list(wide.columns) == ["relapse_horizon", "averted_per_100_horizon", "capacity_end"]
    assert wide.loc["no_group", "capacity_end"] == "n/a"
    assert wide.loc["no_group", "averted_per_100_horizon"] == "0.000 (same in every replicate)"
    assert re.fullmatch(
        r"\d\.\d{3} \[-?\d\.\d{3}, \d\.\d{3}\]", wide.loc["group_as_assessed", "relapse_horizon"]
    )


def test_forest_plot_falls_back_to_the_horizon_before_12_months(small):
    import matplotlib.pyplot as plt

    ax = small.plot_forest()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["group_as_assessed", "capacity_building"]
    assert "horizon" in ax.get_title()
    plt.close(ax.figure)


def test_save_writes_tables_figures_and_a_self_contained_report(small, tmp_path):
    written = kds_sim.save(small, tmp_path)
    assert all(Path(p).is_file() for p in written)
    for name in (
        "comparison.csv",
        "comparison.parquet",
        "survival.png",
        "forest.png",
        "capacity.png",
        "report.html",
    ):
        assert (tmp_path / name).is_file(), name
    for name in ("survival.png", "forest.png", "capacity.png"):
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), name
    csv = pd.read_csv(tmp_path / "comparison.csv")
    parquet = pd.read_parquet(tmp_path / "comparison.parquet")
    pd.testing.assert_frame_equal(csv, parquet, check_dtype=False, atol=1e-9)
    assert set(csv["scenario"]) == set(SMALL) and len(csv) == len(small.table)
    for name in SMALL:  # per-scenario tables
        assert (tmp_path / "scenarios" / name / "daily_mean.csv").is_file()

    umask = os.umask(0)
    os.umask(umask)
    for name in ("report.html", "comparison.csv", "survival.png"):  # readable as open() makes
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~umask, name

    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    images = re.findall(r'<img[^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 3
    assert all(base64.b64decode(data).startswith(b"\x89PNG") for data in images)
    assert "<table" in html and "Relapse within the whole follow-up" in html
    for name in SMALL:
        assert name in html
    # nothing to load from elsewhere: every src/href is inline data or an anchor
    for url in re.findall(r'(?:src|href)\s*=\s*["\']([^"\']*)', html, flags=re.I):
        assert url.startswith(("data:", "#")), url
    for pattern in (r"<link\b", r"<script\b[^>]*\bsrc", r"@import", r"url\(\s*['\"]?http"):
        assert not re.search(pattern, html, flags=re.I), pattern


def test_compare_rejects_unknown_reference_and_duplicate_names():
    with pytest.raises(ScenarioError, match="'nope' is not among the scenarios"):
        compare([path("no_group"), path("group_as_assessed")], reference="nope")
    with pytest.raises(ScenarioError, match="unique"):
        compare([path("no_group"), path("no_group")])


# -- the command line -----------------------------------------------------------------------------


def test_cli_compare_prints_the_table_and_writes_the_report(tmp_path, capsys):
    out = tmp_path / "cmp"
    code = cli.main(
        [
            "compare",
            str(path("no_group")),
            str(path("group_as_assessed")),
            "--replicates",
            "3",
            "--horizon",
            "60",
            "--out",
            str(out),
            "--set",
            "population.size=80",
            "--no-progress",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert "2 strategies on the same 3 cohorts of 80 people, 60 days" in printed
    assert "under 12 months: no parameter draws" in printed  # draws are the default
    lines = printed.splitlines()
    assert (
        "Relapses prevented per 100 people within 60 days, with the 95 % Monte Carlo CI:" in lines
    )
    assert max(len(line) for line in lines if str(out) not in line) <= 100
    assert any(
        line.startswith("  Existing group, no training: ") for line in lines
    )  # labels, not names
    assert "group_as_assessed" not in printed and "relapse_horizon" not in printed
    assert (out / "report.html").is_file() and (out / "comparison.csv").is_file()
    assert "Wrote" in printed and str(out) in printed


def test_cli_compare_unknown_reference_exits_2(tmp_path, capsys):
    code = cli.main(
        [
            "compare",
            str(path("no_group")),
            str(path("group_as_assessed")),
            "--reference",
            "nope",
            "--replicates",
            "3",
            "--horizon",
            "60",
            "--out",
            str(tmp_path / "cmp"),
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "nope" in err and "no_group" in err and "group_as_assessed" in err
    assert "Traceback" not in err


def test_cli_compare_missing_file_exits_2(tmp_path, capsys):
    code = cli.main(["compare", str(tmp_path / "absent.toml"), "--no-progress"])
    assert code == 2
    assert "absent.toml" in capsys.readouterr().err

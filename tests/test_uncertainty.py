"""Priors, parameter draws and uncertainty intervals (docs/uncertainty.md)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from kds_sim.analysis.uncertainty import at_draw, plan_draws, run_uncertainty
from kds_sim.io.scenario_files import ScenarioError, get_dotted, load_scenario
from kds_sim.model.priors import Prior, field_bounds, field_of, priors_of
from kds_sim.model.scenario import Scenario

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "scenarios").glob("*.toml"))

SMALL = """
extends = "{base}"
name = "{name}"
[population]
size = {size}
[run]
replicates = 4
seed = 11
"""


def small(tmp_path: Path, base: str, name: str, extra: str = "", size: int = 80) -> Path:
    path = tmp_path / f"{name}.toml"
    text = SMALL.format(base=ROOT / "scenarios" / f"{base}.toml", name=name, size=size) + extra
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_numeric_parameter_has_a_prior_inside_the_schema(path: Path) -> None:
    scenario = load_scenario(path)
    priors = priors_of(scenario)
    assert len(priors) > 100
    for key, prior in priors.items():
        assert prior.reason, key
        low, high, _, _ = field_bounds(field_of(key, Scenario)[1])
        if not prior.is_fixed:
            assert low is None or prior.low >= low, key
            assert high is None or prior.high <= high, key
            value = float(get_dotted(scenario, key))
            assert prior.low <= value <= prior.high, key


def test_prior_draws_are_valid_scenarios() -> None:
    scenario = load_scenario(ROOT / "scenarios" / "capacity_building.toml")
    plan = plan_draws([scenario], scenario, "prior", 60, seed=3)
    assert len(plan.keys) > 90
    for d in range(60):
        at_draw(scenario, {k: float(plan.draws.at[d, k]) for k in plan.keys})


@pytest.mark.parametrize(
    ("prior", "reference"),
    [
        (Prior("uniform", 1.0, 3.0), stats.uniform(1.0, 2.0)),
        (Prior("triangular", 0.0, 4.0, 1.0), stats.triang(0.25, 0.0, 4.0)),
        (Prior("loguniform", 0.01, 1.0), stats.loguniform(0.01, 1.0)),
    ],
)
def test_prior_quantiles_and_density_match_scipy(prior: Prior, reference: object) -> None:
    u = np.linspace(0.01, 0.99, 25)
    np.testing.assert_allclose(prior.ppf(u), reference.ppf(u), rtol=1e-9)  # type: ignore[attr-defined]
    x = prior.ppf(u)
    np.testing.assert_allclose(prior.pdf(x), reference.pdf(x), rtol=1e-9)  # type: ignore[attr-defined]


def test_a_bad_prior_is_refused_with_what_is_allowed(tmp_path: Path) -> None:
    bad = small(
        tmp_path,
        "no_group",
        "bad",
        '[uncertainty.priors."behaviour.coping_weight"]\n'
        'family = "gamma"\nlow = 1.0\nhigh = 2.0\nreason = "x"\n',
    )
    with pytest.raises(ScenarioError, match="allowed: fixed, uniform, triangular, loguniform"):
        load_scenario(bad)
    unknown = small(tmp_path, "no_group", "unknown", '[uncertainty]\nvary = ["behaviour.nope"]\n')
    scenario = load_scenario(unknown)
    with pytest.raises(ScenarioError, match="behaviour.nope"):
        plan_draws([scenario], scenario, "prior", 5, seed=1)
    missing = small(tmp_path, "no_group", "missing", '[uncertainty]\nposterior = "none.parquet"\n')
    with pytest.raises(ScenarioError, match="uncertainty.posterior"):
        load_scenario(missing)


def _pair(tmp_path: Path, uncertainty: str, size: int = 80) -> list[Scenario]:
    return [
        load_scenario(small(tmp_path, "no_group", "no_group", uncertainty, size)),
        load_scenario(small(tmp_path, "capacity_building", "capacity_building", uncertainty, size)),
    ]


def _width(result: object, metric: str, strategy: str) -> float:
    table = result.summary()  # type: ignore[attr-defined]
    row = table[(table["metric"] == metric) & (table["strategy"] == strategy)].iloc[0]
    return float(row["ui_high"] - row["ui_low"])


def test_point_mass_priors_collapse_the_interval_to_monte_carlo_noise(tmp_path: Path) -> None:
    """With nothing drawn, draws differ only in their random numbers: the UI of a draw's
    12-month relapse is the spread of an R-replicate mean, 2 x 1.96 x sd / sqrt(R)."""
    scenarios = _pair(tmp_path, "[uncertainty]\nvary = []\n")
    result = run_uncertainty(scenarios, draws=40, replicates=4, seed=5, progress=False)
    assert result.plan.keys == []
    values = result.values[
        (result.values["metric"] == "relapse_365d") & (result.values["strategy"] == "no_group")
    ]
    expected = 2 * 1.96 * values["replicate_sd"].mean() / np.sqrt(4)
    assert 0.6 < _width(result, "relapse_365d", "no_group") / expected < 1.6


@pytest.mark.slow
def test_interval_widens_when_a_prior_widens(tmp_path: Path) -> None:
    def run(low: float, high: float) -> float:
        text = (
            '[uncertainty]\nvary = ["group.coverage"]\n'
            '[uncertainty.priors."group.coverage"]\n'
            f'family = "uniform"\nlow = {low}\nhigh = {high}\nreason = "test"\n'
        )
        result = run_uncertainty(
            _pair(tmp_path, text, size=240), draws=30, replicates=3, seed=8, progress=False
        )
        return _width(result, "averted_per_100_365d", "capacity_building")

    assert run(0.05, 0.95) > 1.5 * run(0.49, 0.51)


def test_paired_contrasts_within_draws_are_narrower_than_unpaired(tmp_path: Path) -> None:
    result = run_uncertainty(_pair(tmp_path, ""), draws=40, replicates=3, seed=2, progress=False)
    relapse = result.matrix("relapse_365d")
    paired = relapse["no_group"] - relapse["capacity_building"]
    shuffled = relapse["no_group"].to_numpy() - np.roll(relapse["capacity_building"].to_numpy(), 7)
    assert paired.std() < 0.5 * shuffled.std()
    averted = result.matrix("averted_per_100_365d")["capacity_building"]
    np.testing.assert_allclose(averted.to_numpy(), 100 * paired.to_numpy(), atol=1e-9)
    # the replicate noise of a paired contrast is known too, so the shares report it
    rows = result.values[
        (result.values["metric"] == "averted_per_100_365d")
        & (result.values["strategy"] == "capacity_building")
    ]
    assert (rows["replicate_sd"] >= 0).all() and (rows["replicate_sd"] > 0).mean() > 0.5
    shares = result.variance_shares("averted_per_100_365d", "capacity_building")
    assert "(replicate noise)" in set(shares["parameter"])


def test_same_seed_same_values_and_a_resumed_job_repeats_no_draw(tmp_path: Path) -> None:
    scenarios = _pair(tmp_path, "")
    first = run_uncertainty(
        scenarios, draws=6, replicates=2, seed=4, progress=False, cache_dir=tmp_path / "c"
    )
    (store,) = sorted((tmp_path / "c").glob("uncertainty_*.sqlite"))
    with sqlite3.connect(store) as db:  # as if killed before these draws were committed
        assert db.execute("SELECT COUNT(DISTINCT point) FROM results").fetchone() == (6,)
        db.execute("DELETE FROM results WHERE point % 2 = 0")
        db.execute("DELETE FROM curves WHERE point % 2 = 0")
    again = run_uncertainty(
        scenarios, draws=6, replicates=2, seed=4, progress=False, cache_dir=tmp_path / "c"
    )
    assert again.timing["draws_run"] == 3
    pd.testing.assert_frame_equal(first.values, again.values)
    fresh = run_uncertainty(scenarios, draws=6, replicates=2, seed=4, progress=False, workers=2)
    pd.testing.assert_frame_equal(first.values, fresh.values)


def test_costs_give_cost_per_relapse_averted_and_a_ceac(tmp_path: Path) -> None:
    costs = (
        '[costs]\ncurrency = "IDR"\nyear = 2024\nper_training_session = 1000000.0\n'
        "per_group_meeting = 200000.0\nillustrative = true\n"
    )
    result = run_uncertainty(_pair(tmp_path, costs), draws=8, replicates=2, seed=1, progress=False)
    summary = result.cost_summary().set_index("strategy")
    assert summary.loc["no_group", "cost_per_100"] == 0
    assert summary.loc["capacity_building", "cost_per_100"] > 0
    assert summary["illustrative"].all()
    ceac = result.ceac()
    sums = ceac.groupby("willingness_to_pay")["probability_best"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0)
    at_zero = ceac[ceac["willingness_to_pay"] == 0].set_index("strategy")["probability_best"]
    assert at_zero["no_group"] == 1.0  # paying nothing for an averted relapse: spend nothing
    plain = run_uncertainty(_pair(tmp_path, ""), draws=3, replicates=2, seed=1, progress=False)
    assert plain.costs is None


def test_compare_with_uncertainty_writes_intervals_and_labels_them(tmp_path: Path) -> None:
    paths = [str(small(tmp_path, n, n)) for n in ("no_group", "capacity_building")]
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "kds_sim.cli.main", "compare", *paths, "--out", str(out)]
        + ["--uncertainty", "prior", "--draws", "5", "--replicates", "2", "--no-progress"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "95 % uncertainty interval" in done.stdout
    assert "cost" not in done.stdout.lower()
    table = pd.read_csv(out / "uncertainty.csv")
    assert {"ui_low", "ui_high", "mc_ci_low", "mc_ci_high"} <= set(table.columns)
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "uncertainty interval" in page and "Monte Carlo CI" in page
    for name in ("uncertainty_forest", "uncertainty_survival"):
        assert (out / f"{name}.png").is_file()
    assert not (out / "probability_best.csv").exists() and (out / "pairwise.csv").is_file()
    bad = subprocess.run(
        [sys.executable, "-m", "kds_sim.cli.main", "compare", *paths, "--out", str(out / "b")]
        + ["--uncertainty", str(tmp_path / "nope.parquet"), "--draws", "3"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode != 0 and "nope.parquet" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_strategies_with_different_uncertainty_sections_are_refused(tmp_path: Path) -> None:
    """Strategies share the draws, so a second [uncertainty] section would be ignored: say so."""
    same = load_scenario(small(tmp_path, "no_group", "no_group"))
    other = load_scenario(
        small(tmp_path, "capacity_building", "capacity_building", "[uncertainty]\nvary = []\n")
    )
    with pytest.raises(ScenarioError, match="capacity_building: its \\[uncertainty\\] section"):
        plan_draws([same, other], same, "prior", 5, seed=1)


def test_the_shipped_scenarios_draw_from_the_shipped_posterior() -> None:
    scenarios = [load_scenario(ROOT / "scenarios" / f"{n}.toml") for n in ("no_group", "district")]
    for scenario in scenarios:
        assert scenario.uncertainty.posterior is not None
        assert Path(scenario.uncertainty.posterior).name == "indonesia_2015_posterior.parquet"
    plan = plan_draws(scenarios[:1], scenarios[0], "posterior", 4, seed=1)
    assert "behaviour.lapse_intercept" in plan.from_posterior
    assert plan.option == "posterior"


def test_the_brief_carries_the_uncertainty_in_both_languages(tmp_path: Path) -> None:
    """write_comparison(uncertainty=...): the summary quotes the UI, the section sits before
    the appendix, figures per language, and the appendix's command repeats it."""
    import kds_sim
    from kds_sim.analysis.comparison import compare

    scenarios = _pair(tmp_path, "")
    result = compare(scenarios, replicates=3, progress=False)
    uncertain = run_uncertainty(scenarios, draws=4, replicates=2, seed=3, progress=False)
    out = tmp_path / "brief"
    kds_sim.save(result, out, langs=("en", "id"), uncertainty=uncertain, at_least=2.0)
    for end in ("", "_id"):
        page = (out / f"report{end}.html").read_text(encoding="utf-8")
        assert page.index("class='uncertainty'") < page.index("id='appendix'")
        assert "--uncertainty prior --draws 4 --draw-replicates 2 --at-least 2" in page
        assert (out / f"uncertainty_forest{end}.png").is_file()
    table = pd.read_csv(out / "comparison.csv")
    assert table["ui_low"].notna().any()


def test_compare_draw_replicates_sets_the_replicates_per_draw(tmp_path: Path) -> None:
    paths = [str(small(tmp_path, n, n)) for n in ("no_group", "capacity_building")]
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "kds_sim.cli.main", "compare", *paths, "--out", str(out)]
        + ["--replicates", "3", "--uncertainty", "prior", "--draws", "3"]
        + ["--draw-replicates", "2", "--no-progress"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "of 3 draws kept (Cochrane bound), 2 replicates each" in done.stdout
    assert "2 strategies on the same 3 cohorts" in done.stdout


def test_costs_for_an_open_population_are_refused(tmp_path: Path) -> None:
    costs = '[costs]\ncurrency = "IDR"\nper_group_meeting = 1.0\nillustrative = true\n'
    opened = "[population]\ndischarges_per_month = 5.0\n"
    text = SMALL.format(base=ROOT / "scenarios" / "no_group.toml", name="open", size=40)
    path = tmp_path / "open.toml"
    path.write_text(text.replace("[population]\n", opened) + costs, encoding="utf-8")
    scenarios = [load_scenario(path), load_scenario(small(tmp_path, "capacity_building", "cb"))]
    with pytest.raises(ScenarioError, match="open: \\[costs\\] with population.discharges"):
        run_uncertainty(scenarios, draws=2, replicates=1, progress=False)


def test_posterior_parameters_are_judged_against_a_particle_level_noise_floor() -> None:
    """200 draws from 60 particles: y depends on one posterior parameter (`a`) and on the
    particle as a whole, not on `b`. Shuffling between draws would call `b` a driver; the
    floor shuffled between particles does not, and the joint share sees the particles."""
    from kds_sim.analysis.uncertainty import DrawPlan, UncertaintyResult

    rng = np.random.default_rng(2)  # a 95 % floor: about 1 seed in 20 puts `b` above it
    particle = rng.integers(0, 60, 200)
    a, b, hidden = rng.normal(size=(3, 60))
    draws = pd.DataFrame({"draw": np.arange(200), "a": a[particle], "b": b[particle]})
    draws["c"] = rng.random(200)  # from a prior, no effect
    y = 2.0 * a[particle] + 1.5 * hidden[particle] + rng.normal(0, 0.3, 200)
    values = pd.DataFrame(
        {"draw": np.arange(200), "strategy": "s", "metric": "m", "value": y, "replicate_sd": 0.3}
    )
    plan = DrawPlan("posterior test", draws, {}, ["a", "b"], [], "posterior", particle)
    result = UncertaintyResult(plan, values, pd.DataFrame(), "s", replicates=4, seed=0)
    shares = result.variance_shares("m", "s").set_index("parameter")
    assert shares.loc["a", "above_floor"] and shares.loc["a", "share"] > 0.4
    assert not shares.loc["b", "above_floor"]
    assert not shares.loc["c", "above_floor"]
    assert shares.loc["b", "noise_floor"] > shares.loc["c", "noise_floor"]
    joint = shares.loc["(posterior, jointly)", "share"]
    truth = 1 - 0.3**2 / np.var(y, ddof=1)  # all but the draw-level noise is the particle's
    assert abs(joint - truth) < 0.05

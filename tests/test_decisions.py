"""Decisions that stand up (issue 22): neutral priors, no lever drawn, draws conditioned on the
Cochrane bound, paired comparisons with a minimal important difference, costs and a district."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from kds_sim.analysis import costs as cost_model
from kds_sim.analysis.comparison import nested_pairs
from kds_sim.analysis.uncertainty import plan_draws
from kds_sim.analysis.uncertainty.planning import DrawPlan
from kds_sim.analysis.uncertainty.statistics import UncertaintyResult
from kds_sim.io.scenario_files import ScenarioError, get_dotted, load_scenario
from kds_sim.model.priors import LEVER, Prior, effect_prior, priors_of

ROOT = Path(__file__).resolve().parent.parent
STRATEGIES = ("no_group", "group_as_assessed", "capacity_building", "capacity_building_mentoring")


def _shipped(*names: str) -> list:
    return [load_scenario(ROOT / "scenarios" / f"{n}.toml") for n in names]


def test_lognormal_prior_matches_scipy_and_keeps_its_median_under_a_limit() -> None:
    sigma = np.log(3) / 1.959963984540054
    prior = Prior("lognormal", 0.5 / 3, 1.5, 0.5)
    reference = stats.lognorm(sigma, scale=0.5)
    u = np.linspace(0.01, 0.99, 21)
    np.testing.assert_allclose(prior.ppf(u), reference.ppf(u), rtol=1e-9)
    np.testing.assert_allclose(prior.pdf(prior.ppf(u)), reference.pdf(prior.ppf(u)), rtol=1e-9)
    assert prior.ppf(np.array([0.5]))[0] == pytest.approx(0.5, rel=1e-12)


@pytest.mark.parametrize("name", ["capacity_building_mentoring", "capacity_building_recruitment"])
def test_every_intervention_effect_prior_is_centred_on_its_assumed_value(name: str) -> None:
    """Median 1x for every kind, mentoring included (a limit of 1 must not move the centre);
    95 % within x1/3 to x3 unless a limit narrows the top; never past the schema's limit."""
    scenario = load_scenario(ROOT / "scenarios" / f"{name}.toml")
    effects = {k: p for k, p in priors_of(scenario).items() if k.startswith("intervention_eff")}
    assert "intervention_effects.mentoring.erosion_reduction" in effects
    for key, prior in effects.items():
        value = float(get_dotted(scenario, key))
        if prior.is_fixed:
            assert LEVER in prior.reason or value == 0, key
            continue
        assert prior.family == "lognormal", key
        draws = prior.sample(np.random.default_rng(1), 40_000)
        assert np.median(draws) == pytest.approx(value, rel=0.03), key  # sampling: ~1 %
        assert prior.ppf(np.array([0.5]))[0] == pytest.approx(value, rel=1e-9), key
        if prior.cap is None:
            assert (prior.low, prior.high) == pytest.approx((value / 3, value * 3)), key
        else:
            assert draws.max() < prior.cap, key
    mentoring = effects["intervention_effects.mentoring.erosion_reduction"]
    assert mentoring.cap == 1.0 and mentoring.high < 1.0


def test_the_wide_uniform_prior_is_a_named_sensitivity_analysis() -> None:
    scenario = _shipped("capacity_building")[0]
    key = "intervention_effects.relapse_prevention_training.domain_gain.human_resources"
    with effect_prior("uniform_0_3x"):
        wide = priors_of(scenario)[key]
    assert (wide.family, wide.low, wide.high) == ("uniform", 0.0, pytest.approx(0.75))
    assert priors_of(scenario)[key].family == "lognormal"  # back to the default after
    with pytest.raises(ScenarioError, match="allowed: lognormal, uniform_0_3x"), effect_prior("x"):
        pass


def test_no_lever_is_ever_drawn() -> None:
    """Coverage, recruitment, sessions, doses and mentoring months are decisions."""
    scenarios = _shipped(*STRATEGIES, "capacity_building_recruitment")
    plan = plan_draws(scenarios, scenarios[0], "prior", 4, seed=1)
    levers = ("group.coverage", "intervention_effects.recruitment.", "interventions")
    assert not [k for k in plan.keys if k.startswith(levers)]
    assert len(plan.keys) > 50
    for scenario in scenarios:
        prior = priors_of(scenario)["group.coverage"]
        assert prior.is_fixed and LEVER in prior.reason


def _result(values: pd.DataFrame, draws: int) -> UncertaintyResult:
    plan = DrawPlan("prior", pd.DataFrame({"draw": np.arange(draws)}), {}, [], [])
    curves = pd.DataFrame({"draw": [], "strategy": [], "day": [], "survival": []})
    return UncertaintyResult(plan, values, curves, "none", 2, 1)


def _values(table: dict[str, dict[str, list[float]]]) -> pd.DataFrame:
    rows = []
    for strategy, by_metric in table.items():
        for metric, values in by_metric.items():
            for draw, value in enumerate(values):
                rows.append(
                    {
                        "draw": draw,
                        "strategy": strategy,
                        "metric": metric,
                        "value": value,
                        "replicate_sd": 0.0,
                    }
                )
    return pd.DataFrame(rows)


def test_draws_beyond_the_cochrane_bound_are_dropped_and_counted() -> None:
    rr = "abstinence_rr_365d_members"
    values = _values(
        {
            "none": {"averted_per_100_365d": [0.0] * 5, rr: [np.nan] * 5},
            "inner": {"averted_per_100_365d": [1, 2, 3, 4, 50], rr: [1.1, 1.2, 1.3, 1.4, 1.6]},
            "outer": {"averted_per_100_365d": [1, 2, 3.5, 4, 60], rr: [1.1, 1.2, 1.3, 1.43, 1.7]},
        }
    )
    result = _result(values, 5)
    assert result.conditioning["draws"] == 5
    assert result.conditioning["kept"] == result.conditioning["ess"] == 3  # draws 3, 4 dropped
    assert result.draws == 3
    summary = result.summary().set_index(["strategy", "metric"])
    assert summary.loc[("inner", "averted_per_100_365d"), "mean"] == pytest.approx(2.0)
    assert result.all_values is not None and result.all_values["draw"].nunique() == 5


def test_pairwise_differences_count_ties_and_never_call_a_tie_a_win() -> None:
    values = _values(
        {
            "none": {"averted_per_100_365d": [0.0] * 4},
            "inner": {"averted_per_100_365d": [2.0, 3.0, 4.0, 5.0]},
            "outer": {"averted_per_100_365d": [2.0, 3.0, 4.3, 6.5]},
        }
    )
    result = _result(values, 4)
    assert not hasattr(result, "probability_best")
    pairs = result.pairwise(mid=1.0, nested={("outer", "inner")}).set_index(["strategy", "versus"])
    row = pairs.loc[("outer", "inner")]
    assert row["share_tied"] == 0.5
    assert row["probability_at_least_mid"] == 0.25  # only the 1.5 gain reaches the MID
    assert row["mean_difference"] == pytest.approx(0.45)
    assert row["nested"] == "outer contains inner"
    assert pairs.loc[("inner", "none"), "probability_at_least_mid"] == 1.0


def test_nested_strategies_are_recognised() -> None:
    found = nested_pairs(_shipped(*STRATEGIES))
    assert ("capacity_building_mentoring", "capacity_building") in found
    assert ("capacity_building", "group_as_assessed") in found
    assert not [p for p in found if "no_group" in p]


def test_shipped_costs_and_district_have_sources_priors_and_scale_per_100() -> None:
    district = cost_model.read_district("cimahi")
    assert district.name == "Kota Cimahi" and district.costs is not None
    assert district.costs.currency == "IDR" and district.costs.year == 2024
    for name, unit in district.costs.units.items():
        assert unit.source and unit.low <= unit.value <= unit.high, name
        assert unit.source.startswith(("assumption", "BNN", "Kelly")) or "20" in unit.source
    people = district.per_year(np.full(20_000, 10.0), seed=3)  # 10 per 100
    assert np.median(people) == pytest.approx(
        0.1 * np.median(district.discharged.draw(np.random.default_rng(0), 20_000)), rel=0.05
    )
    scenario = district.costs.applied(_shipped("capacity_building")[0])
    assert scenario.costs.currency == "IDR" and scenario.costs.per_training_session == 2_500_000


def test_a_bad_costs_file_names_its_key_and_what_is_allowed(tmp_path: Path) -> None:
    path = tmp_path / "costs.toml"
    path.write_text('currency = "IDR"\n[per_group_meeting]\nvalue = 5\nlow = 9\nsource = "x"\n')
    with pytest.raises(ScenarioError, match=r"per_group_meeting.*allowed: a table with value"):
        cost_model.read_costs(path)
    with pytest.raises(ScenarioError, match="allowed: a district TOML file or one of cimahi"):
        cost_model.read_district("atlantis")

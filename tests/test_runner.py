"""Replicates: seeds, worker processes, byte-identical outputs, resumable cache, RunResult."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_scenario

import kds_sim
from kds_sim.analysis import runner, statistics

TABLES = ("daily.csv", "people.csv", "metrics.csv", "summary.csv", "survival.csv")


def no_figures(**kwargs):
    return make_scenario({"outputs": {"figures": False}}, **kwargs)


# seeds and workers -------------------------------------------------------------------------------
def test_workers_1_and_2_write_byte_identical_tables(tmp_path):
    scenario = no_figures(size=200, horizon=60, replicates=4)
    one = runner.run(scenario, workers=1, progress=False)
    two = runner.run(scenario, workers=2, progress=False)
    kds_sim.save(one, tmp_path / "one")
    kds_sim.save(two, tmp_path / "two")
    for name in TABLES:
        a, b = (tmp_path / "one" / name).read_bytes(), (tmp_path / "two" / name).read_bytes()
        assert a == b, name
    assert len((tmp_path / "one" / "people.csv").read_text().splitlines()) == 4 * 200 + 1


def test_replicate_does_not_depend_on_how_many_are_asked_for():
    scenario = make_scenario(size=150, horizon=40)
    two = runner.run(scenario, replicates=2, progress=False)
    four = runner.run(scenario, replicates=4, progress=False)
    head = four.people[four.people["replicate"] < 2].reset_index(drop=True)
    pd.testing.assert_frame_equal(head, two.people, check_exact=True)
    assert sorted(four.people["replicate"].unique()) == [0, 1, 2, 3]


def test_replicates_of_one_run_differ(tiny):
    result = runner.run(tiny, replicates=3, horizon=40, progress=False)
    by_rep = [
        g.drop(columns="replicate").reset_index(drop=True)
        for _, g in result.people.groupby("replicate")
    ]
    assert not by_rep[0].equals(by_rep[1]) and not by_rep[1].equals(by_rep[2])


def test_same_seed_same_result_different_seed_different():
    scenario = make_scenario(size=150, horizon=40)
    a = runner.run(scenario, seed=1, progress=False)
    b = runner.run(scenario, seed=1, progress=False)
    c = runner.run(scenario, seed=2, progress=False)
    pd.testing.assert_frame_equal(a.people, b.people, check_exact=True)
    pd.testing.assert_frame_equal(a.daily, b.daily, check_exact=True)
    assert not a.people.equals(c.people)
    assert a.seed == 1 and c.seed == 2


def test_run_arguments_override_the_scenario():
    scenario = make_scenario(size=100, horizon=40, replicates=2, seed=5)
    result = runner.run(scenario, replicates=3, horizon=25, seed=6, progress=False)
    assert result.replicates == 3 and result.horizon == 25 and result.seed == 6
    assert result.scenario.run.horizon_days == 25
    assert scenario.run.horizon_days == 40  # the caller's scenario is left alone


# resume ------------------------------------------------------------------------------------------
def _counting(monkeypatch) -> list[int]:
    """Replicate indices the engine is asked for (in-process runs)."""
    from kds_sim.analysis import columns

    calls: list[int] = []
    real = columns.simulate_columns

    def counting(scenarios, seed, indices, *args):
        calls.extend(indices)
        return real(scenarios, seed, indices, *args)

    monkeypatch.setattr(columns, "simulate_columns", counting)
    return calls


def test_cache_reuses_finished_replicates(tmp_path, monkeypatch):
    scenario = make_scenario(size=150, horizon=40)
    cache = tmp_path / "cache"
    calls = _counting(monkeypatch)
    first = runner.run(scenario, replicates=3, progress=False, cache_dir=cache)
    assert sorted(calls) == [0, 1, 2]
    [store] = list(cache.glob("*.sqlite"))  # the evaluation core's one store

    calls.clear()
    second = runner.run(scenario, replicates=5, progress=False, cache_dir=cache)
    assert sorted(calls) == [3, 4]  # only the new replicates are simulated
    assert list(cache.glob("*.sqlite")) == [store]

    done = second.people[second.people["replicate"] < 3].reset_index(drop=True)
    pd.testing.assert_frame_equal(done, first.people, check_exact=True)
    pd.testing.assert_frame_equal(
        second.metrics.iloc[:3].reset_index(drop=True), first.metrics, check_exact=True
    )

    # a resumed run gives the same answer as a fresh one
    calls.clear()
    fresh = runner.run(scenario, replicates=5, progress=False)
    assert sorted(calls) == [0, 1, 2, 3, 4]
    pd.testing.assert_frame_equal(second.metrics, fresh.metrics, check_exact=True)
    pd.testing.assert_frame_equal(second.people, fresh.people, check_exact=True)
    pd.testing.assert_frame_equal(second.daily, fresh.daily, check_exact=True)


def test_cache_is_not_reused_after_a_change(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    base = make_scenario(size=100, horizon=30)
    runner.run(base, replicates=2, progress=False, cache_dir=cache)
    calls = _counting(monkeypatch)
    changed = make_scenario({"network": {"using_ties_mean": 3.0}}, size=100, horizon=30)
    runner.run(changed, replicates=2, progress=False, cache_dir=cache)
    runner.run(base, replicates=2, seed=999, progress=False, cache_dir=cache)
    runner.run(base, replicates=2, horizon=31, progress=False, cache_dir=cache)
    assert calls == [0, 1] * 3
    # ... but output switches do not change results, so they keep the cache
    calls.clear()
    quiet = make_scenario({"outputs": {"figures": False}}, size=100, horizon=30)
    runner.run(quiet, replicates=2, progress=False, cache_dir=cache)
    assert calls == []


def test_cache_key_ignores_replicates_only():
    a = make_scenario(replicates=2)
    assert runner.cache_key(a, 1) == runner.cache_key(make_scenario(replicates=9), 1)
    assert runner.cache_key(a, 1) != runner.cache_key(a, 2)
    assert runner.cache_key(a, 1) != runner.cache_key(make_scenario(size=201), 1)


# the result object -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def result():
    return runner.run(
        make_scenario({"group": {"enabled": True}}, size=200, horizon=200, replicates=4),
        progress=False,
    )


def test_metrics_one_row_per_replicate(result):
    metrics = result.metrics
    assert metrics["replicate"].tolist() == [0, 1, 2, 3]
    for name in (
        "relapse_90d",
        "relapse_180d",
        "relapse_horizon",
        "lapses_per_person",
        "lapse_to_relapse_share",
        "use_prevalence_end",
    ):
        assert name in metrics.columns
    assert "relapse_365d" not in metrics.columns  # beyond the 200-day horizon
    assert (metrics["relapse_90d"] <= metrics["relapse_180d"]).all()
    assert (metrics["relapse_180d"] <= metrics["relapse_horizon"]).all()
    for _, people in result.people.groupby("replicate"):
        r = int(people["replicate"].iloc[0])
        assert metrics.loc[r, "relapse_90d"] == (people["first_relapse_day"] <= 90).mean()


def test_summary_has_ci_around_the_mean(result):
    summary = result.summary()
    assert {
        "scenario",
        "metric",
        "mean",
        "ci_low",
        "ci_high",
        "range_low",
        "range_high",
        "replicates",
    } <= set(summary.columns)
    ok = summary.dropna(subset=["mean"])
    assert (ok["ci_low"] <= ok["mean"]).all() and (ok["mean"] <= ok["ci_high"]).all()
    row = summary.set_index("metric").loc["relapse_horizon"]
    assert row["mean"] == pytest.approx(result.metrics["relapse_horizon"].mean())
    assert row["replicates"] == 4


def test_survival_and_prevalence(result):
    survival = result.survival()
    assert survival["day"].tolist() == list(range(201))
    assert survival["survival"].iloc[0] == 1.0
    assert survival["survival"].is_monotonic_decreasing
    # Kaplan-Meier censors the people who die or move away (model 0.3 mortality is on by
    # default), so relapse-free survival is at most the share who never relapsed
    crude = 1 - result.metrics["relapse_horizon"].mean()
    assert survival["survival"].iloc[-1] <= crude
    assert (result.people["exit_day"] >= 0).any()
    prevalence = result.prevalence()  # the states of the people present, treatment and prison too
    shares = prevalence.drop(columns="day").sum(axis=1)
    present = result.daily.groupby("day")["present"].mean() / 200
    np.testing.assert_allclose(shares, present.to_numpy())
    assert shares.iloc[0] == 1.0 and shares.iloc[-1] < 1.0


NO_DEATHS = {"population.death_rate": 0.0, "population.overdose_death_rate": 0.0}
"""Model 0.3's default mortality switched off (nobody moves away by default either)."""


def test_without_exits_survival_is_the_share_who_never_relapsed():
    result = runner.run(
        make_scenario(size=100, horizon=100, replicates=2, dotted=NO_DEATHS), progress=False
    )
    survival = result.survival()
    assert survival["survival"].iloc[-1] == pytest.approx(
        1 - result.metrics["relapse_horizon"].mean()
    )
    shares = result.prevalence().drop(columns="day").sum(axis=1)
    np.testing.assert_allclose(shares, 1.0)


# outcomes helpers --------------------------------------------------------------------------------
def test_mean_ci():
    mean, low, high = statistics.mean_ci(np.array([1.0, 2.0, 3.0, np.nan]))
    assert mean == 2.0 and low < 2.0 < high
    assert high - 2.0 == pytest.approx(4.302653 * 1.0 / np.sqrt(3), rel=1e-5)
    assert statistics.mean_ci(np.array([0.5, 0.5])) == (0.5, 0.5, 0.5)
    assert all(np.isnan(statistics.mean_ci(np.array([]))))


def test_paired_difference_pairs_by_replicate():
    a = pd.DataFrame({"replicate": [0, 1, 2], "m": [0.5, 0.6, 0.7]})
    b = pd.DataFrame({"replicate": [2, 0, 1], "m": [0.6, 0.4, 0.5]})
    mean, low, high = statistics.paired_difference(a, b)
    assert (mean, low, high) == pytest.approx((0.1, 0.1, 0.1))


def test_kaplan_meier_without_censoring_is_the_empirical_survival():
    people = pd.DataFrame({"relapse_time": [2, 4, 4, 10], "relapse_censored": [False] * 4})
    np.testing.assert_allclose(
        statistics.kaplan_meier(people, np.array([0, 2, 3, 4, 10])), [1.0, 0.75, 0.75, 0.25, 0.0]
    )
    nobody = pd.DataFrame({"relapse_time": [5, 5], "relapse_censored": [True, True]})
    np.testing.assert_array_equal(statistics.kaplan_meier(nobody, np.array([0, 5])), [1, 1])


def test_a_worker_pool_gives_the_serial_results():
    scenario = make_scenario(size=150, horizon=40, replicates=3, seed=5)
    serial = runner.run(scenario, progress=False)
    first = runner.run(scenario, progress=False, workers=2)
    second = runner.run(scenario, seed=6, progress=False, workers=2)
    pd.testing.assert_frame_equal(serial.people, first.people)
    pd.testing.assert_frame_equal(serial.daily, first.daily)
    assert not second.people.equals(first.people)


def test_cache_and_store_keys_hold_the_results_epoch(monkeypatch):
    """A [results] change bumps RESULTS_EPOCH: no cache or store made by the earlier engine
    under the same version string may be resumed from."""
    from kds_sim.analysis import evaluation, runner
    from kds_sim.model.scenario import Scenario

    scenario = Scenario()
    before = runner.cache_key(scenario, 1)
    plan_inputs = evaluation.inputs.__code__.co_names
    monkeypatch.setattr(runner, "RESULTS_EPOCH", runner.RESULTS_EPOCH + 1)
    assert runner.cache_key(scenario, 1) != before
    assert "RESULTS_EPOCH" in plan_inputs


def test_prevalence_and_its_figure_show_model_0_3_stays():
    """With treatment stays and incarceration on, the daily table counts both and the
    prevalence table and figure share them out (with no deaths, every day sums to 1)."""
    from kds_sim.io import plots

    behaviour = {"treatment_stay_days": 60.0, "incarceration_rate": 2.0, "lapse_intercept": -3.5}
    on = runner.run(
        make_scenario(
            {"behaviour": behaviour}, size=200, horizon=200, replicates=2, dotted=NO_DEATHS
        ),
        progress=False,
    )
    prevalence = on.prevalence()
    states = ["abstinent", "lapsed", "relapsed", "in_treatment", "incarcerated"]
    assert list(prevalence.columns) == ["day", *states]
    np.testing.assert_allclose(prevalence[states].sum(axis=1), 1.0)
    assert prevalence["in_treatment"].max() > 0 and prevalence["incarcerated"].max() > 0
    figure, ax = plots.new_axes()
    plots.prevalence(prevalence, ax)
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["abstinent", "lapsed", "relapsed", "in treatment", "incarcerated"]
    assert [c.get_hatch() for c in ax.collections] == [None, None, None, "..", "//"]
    import matplotlib.pyplot as plt

    plt.close(figure)

"""Bayesian calibration by ABC-SMC (`kds-sim calibrate --method abc`): known parameters are
recovered from synthetic targets, the posterior file has the documented form, bad input is
refused with a clear message, and the command writes every file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyabc")

from kds_sim.analysis import abc  # noqa: E402
from kds_sim.analysis.calibration import Evaluator, load_targets  # noqa: E402
from kds_sim.cli.main import main  # noqa: E402
from kds_sim.io.scenario_files import ScenarioError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TRUE = {"behaviour.lapse_intercept": -4.2, "behaviour.ave_intercept": -0.8}
"""The values the synthetic targets are generated from (inside the priors, off their centres).
Two parameters the two targets separate: the lapse level sets any use by 90 days; the abstinence
violation effect, which lapses become relapses. (The level and craving_decay_days move the early
curve almost alike, so those two trade off along a ridge that two short-run figures cannot
resolve.)"""
FREE = list(TRUE)

SCENARIO = """
name = "small"
[run]
horizon_days = 90
replicates = 2
[population]
size = 300
[group]
enabled = false
"""

TARGETS = """
[settings]
replicates = 4
seed = 5
[[target]]
name = "lapse_90_days"
scenario = "small.toml"
metric = "lapse_90d"
value = {early:.6f}
tolerance = 0.02
source = "synthetic"
[[target]]
name = "relapse_90_days"
scenario = "small.toml"
metric = "relapse_90d"
value = {late:.6f}
tolerance = 0.02
source = "synthetic"
[[target]]
name = "relapse_14_days"
scenario = "small.toml"
metric = "relapse_14d"
bound = [0.0, 1.0]
tolerance = 0.05
role = "check"
source = "synthetic: a check, reported by the predictive check only"
"""


def synthetic_targets(folder: Path) -> Path:
    """Targets whose values are what the model gives at TRUE (many replicates, own seed)."""
    (folder / "small.toml").write_text(SCENARIO)
    path = folder / "targets.toml"
    path.write_text(TARGETS.format(early=0.5, late=0.5))
    found = Evaluator(load_targets(path), 60, 99, None).measure(TRUE)
    means = {m.target.name: m.mean for m in found}
    path.write_text(TARGETS.format(early=means["lapse_90_days"], late=means["relapse_90_days"]))
    return path


@pytest.fixture(scope="module")
def recovered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """One small ABC run through the command line (shared by the slow tests below)."""
    folder = tmp_path_factory.mktemp("abc")
    targets = synthetic_targets(folder)
    code = main(
        [
            "calibrate",
            "--method",
            "abc",
            "--targets",
            str(targets),
            "--free",
            *FREE,
            "--population",
            "40",
            "--generations",
            "5",
            "--max-simulations",
            "600",
            "--replicates",
            "4",
            "--seed",
            "3",
            "--predictive-draws",
            "6",
            "--keep-db",
            "--no-progress",
            "--out",
            str(folder / "out"),
        ]
    )
    return folder / "out", code


@pytest.mark.slow  # the shared ABC run takes about a minute
def test_abc_recovers_known_parameters_from_synthetic_targets(recovered):
    out, code = recovered
    assert code == 0
    table = pd.read_csv(out / "targets_identification.csv").set_index("parameter")
    for key, value in TRUE.items():
        assert table.loc[key, "ci_low"] <= value <= table.loc[key, "ci_high"], (key, table)
    # and the data did inform them: the posterior is much narrower than the prior
    assert table.loc["behaviour.lapse_intercept", "sd_ratio"] < 0.5
    # (ave_intercept's prior is absolute, uniform over -2.5 to 0.5, since model 0.3's point fit
    # moves it; two 90-day figures narrow it to about 0.6 of that)
    assert table.loc["behaviour.ave_intercept", "sd_ratio"] < 0.7


@pytest.mark.slow  # the shared ABC run takes about a minute
def test_posterior_file_has_the_documented_form(recovered):
    out, _ = recovered
    posterior = pd.read_parquet(out / "targets_posterior.parquet")
    assert list(posterior.columns) == [*FREE, "weight"]
    assert all(posterior[c].dtype == np.float64 for c in posterior.columns)
    assert posterior["weight"].sum() == pytest.approx(1.0)
    assert (posterior["weight"] >= 0).all()
    targets = load_targets(out.parent / "targets.toml")
    priors = abc.select_priors(targets, FREE)
    for key, prior in priors.items():
        assert posterior[key].between(prior.low, prior.high).all(), key
    provenance = abc.read_provenance(out / "targets_posterior.parquet")
    sidecar = json.loads((out / "targets_posterior.json").read_text())
    assert provenance["settings"]["seed"] == 3
    assert sidecar["targets_file"] == provenance["targets_file"] == "targets.toml"
    assert sidecar["reproducible"].startswith("exactly")
    assert sidecar["particles"] == len(posterior) == 40
    # the uncertainty runner reads it as a posterior ensemble
    from kds_sim.analysis.uncertainty import read_posterior

    assert read_posterior(out / "targets_posterior.parquet")["weight"].sum() == pytest.approx(1)


@pytest.mark.slow  # the shared ABC run takes about a minute
def test_the_command_writes_every_file(recovered):
    out, _ = recovered
    names = {p.name for p in out.iterdir()}
    for suffix in (
        "posterior.parquet",
        "posterior.json",
        "generations.csv",
        "generations.png",
        "predictive.csv",
        "predictive_draws.csv",
        "identification.csv",
        "pairs.png",
        "abc.html",
        "abc.db",
    ):
        assert f"targets_{suffix}" in names, suffix
    assert not [n for n in names if n.endswith(".part")], names
    generations = pd.read_csv(out / "targets_generations.csv")
    assert list(generations.columns) == [
        "generation",
        "epsilon",
        "particles",
        "simulations",
        "acceptance_rate",
        "ess",
        "wall_seconds",
    ]
    assert generations["epsilon"].is_monotonic_decreasing
    assert generations["epsilon"].min() >= 1.0
    predictive = pd.read_csv(out / "targets_predictive.csv")
    assert list(predictive["target"]) == ["lapse_90_days", "relapse_90_days", "relapse_14_days"]
    fit = predictive[predictive["role"] == "fit"]
    assert ((fit["predictive_mean"] - fit["value"]).abs() <= 2 * fit["tolerance"]).all(), fit
    assert predictive["inside"].dtype == bool


def test_a_single_core_run_is_exactly_reproducible(tmp_path):
    targets = load_targets(synthetic_targets(tmp_path))
    priors = abc.select_priors(targets, FREE)
    settings = abc.AbcSettings(population=8, generations=2, replicates=2, seed=11)
    runs = [
        abc.calibrate_abc(targets, priors, settings, tmp_path / f"run{i}.db", progress=False)
        for i in range(2)
    ]
    pd.testing.assert_frame_equal(runs[0].posterior, runs[1].posterior)
    assert runs[0].simulations == runs[1].simulations


@pytest.mark.parametrize(
    ("free", "message"),
    [
        ("behaviour.no_such_key", "does not exist"),
        ("population.size", "prior is fixed"),
        ("group.attendance_min", "cannot inform it"),
        ("behaviour.lapse_intercept=-3:-5", "LOW must be below HIGH"),
    ],
)
def test_a_bad_free_key_is_refused_clearly(tmp_path, capsys, free, message):
    (tmp_path / "small.toml").write_text(SCENARIO)
    (tmp_path / "targets.toml").write_text(TARGETS.format(early=0.2, late=0.4))
    code = main(
        ["calibrate", "--method", "abc", "--targets", str(tmp_path / "targets.toml"),
         "--free", free, "--out", str(tmp_path / "out")]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and free.partition("=")[0] in err
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_options_of_the_other_method_are_refused(tmp_path, capsys):
    (tmp_path / "small.toml").write_text(SCENARIO)
    (tmp_path / "targets.toml").write_text(TARGETS.format(early=0.2, late=0.4))
    targets = str(tmp_path / "targets.toml")
    assert main(["calibrate", "--targets", targets, "--population", "50"]) == 2
    assert "--population: only for --method abc" in capsys.readouterr().err
    assert main(["calibrate", "--method", "abc", "--targets", targets, "--max-evaluations", "5"])
    assert "--max-evaluations: only for --method optimise" in capsys.readouterr().err


def test_default_parameters_leave_out_the_group_without_a_group_scenario():
    """The shipped fit targets run no_group only: group and intervention keys are not
    inferred (their posterior is their prior), every other non-fixed prior is."""
    targets = load_targets(ROOT / "scenarios/targets/indonesia_2015.toml")
    priors, excluded = abc.inferable_priors(targets)
    assert "behaviour.lapse_intercept" in priors and "behaviour.craving_decay_days" in priors
    assert not [k for k in priors if k.startswith(("group.", "intervention_effects."))]
    assert "cannot inform" in excluded["group.attendance_min"]
    assert "lever" in excluded["group.coverage"]
    assert all(not p.is_fixed for p in priors.values())


def test_prior_coordinates_map_onto_each_family():
    from kds_sim.model.priors import Prior

    z = np.array([-8.0, -1.0, 0.0, 1.0, 8.0])
    for prior in (
        Prior("uniform", -6.5, -3.0),
        Prior("triangular", 1.0, 3.0, mode=1.5),
        Prior("loguniform", 0.01, 1.0),
    ):
        x = abc.from_normal(prior, z)
        assert np.all(np.diff(x) > 0)
        assert prior.low <= x.min() and x.max() <= prior.high
    assert abc.from_normal(Prior("uniform", 0.0, 2.0), 0.0) == pytest.approx(1.0)


def test_shipped_posterior_matches_the_shipped_priors():
    """The committed posterior: one column per parameter the shipped calibration infers (the
    targets file's [free], experiments/calibrate_abc.py), all inside their priors, weights
    summing to 1."""
    path = ROOT / "scenarios/calibrated/indonesia_2015_posterior.parquet"
    posterior = pd.read_parquet(path)
    targets = load_targets(ROOT / "scenarios/targets/indonesia_2015.toml")
    priors = abc.select_priors(targets, list(targets.spec.free))
    assert sorted(c for c in posterior.columns if c != "weight") == sorted(priors)
    assert posterior["weight"].sum() == pytest.approx(1.0)
    for key, prior in priors.items():
        assert posterior[key].between(prior.low, prior.high).all(), key
    assert abc.read_provenance(path)["targets_file"] == "indonesia_2015.toml"


def test_prior_moments_of_a_lognormal_prior_match_its_closed_form():
    from kds_sim.model.priors import Prior

    prior = Prior("lognormal", 1 / 3, 3.0, mode=1.0)
    mean, sd = abc.prior_moments(prior)
    sigma = np.log(9.0) / (2 * 1.959963984540054)  # 95 % within x1/3 to x3 about median 1
    assert mean == pytest.approx(np.exp(sigma**2 / 2), rel=2e-3)
    assert sd == pytest.approx(np.sqrt((np.exp(sigma**2) - 1) * np.exp(sigma**2)), rel=5e-3)


def test_point_start_takes_weighted_medians_and_holds_only_identified_parameters(tmp_path):
    posterior = pd.DataFrame(
        {"a": [1.0, 2.0, 3.0], "b": [10.0, 20.0, 30.0], "c": [5.0, 6.0, 7.0]}
    ).assign(weight=[0.1, 0.1, 0.8])
    posterior.to_parquet(tmp_path / "p.parquet")
    pd.DataFrame({"parameter": ["a", "b", "c"], "sd_ratio": [0.3, 0.9, 0.4]}).to_csv(
        tmp_path / "i.csv", index=False
    )
    start, held = abc.point_start(["a"], tmp_path / "p.parquet", tmp_path / "i.csv")
    assert start == {"a": pytest.approx(3.0, abs=0.5)}  # 80 % of the weight sits on 3
    assert list(held) == ["c"] and held["c"] == pytest.approx(7.0, abs=0.5)
    with pytest.raises(Exception, match="no column"):
        abc.posterior_medians(tmp_path / "p.parquet", ["d"])


@pytest.mark.slow  # the shared ABC run takes about a minute
def test_a_stopped_run_finishes_from_its_database_as_the_run_itself_ended(recovered, tmp_path):
    """`stopped_run` on a run's kept database gives that run's last generation, weights and
    simulations, with the generations it ran in its settings (what reproduces it exactly)."""
    out, _ = recovered
    targets = load_targets(out.parent / "targets.toml")
    priors = abc.select_priors(targets, FREE)
    result = abc.stopped_run(out / "targets_abc.db", targets, priors, abc.AbcSettings(seed=3))
    posterior = pd.read_parquet(out / "targets_posterior.parquet")
    pd.testing.assert_frame_equal(result.posterior, posterior[result.posterior.columns])
    provenance = abc.read_provenance(out / "targets_posterior.parquet")
    assert result.settings.generations == provenance["generations"]
    assert result.simulations == provenance["simulations"]
    with pytest.raises(ScenarioError, match="no such file"):
        abc.stopped_run(tmp_path / "empty.db", targets, priors, abc.AbcSettings())


def test_a_posterior_of_few_effective_particles_identifies_nothing(tmp_path):
    assert abc.identified_reading(0.3) == "identified"
    assert abc.identified_reading(0.7, ess=36.0) == "partly identified"
    assert abc.identified_reading(0.3, ess=4.8) == "not read: ESS 5 < 20"
    posterior = pd.DataFrame({"a": [1.0, 2.0, 3.0]}).assign(weight=[0.1, 0.1, 0.8])
    posterior.to_parquet(tmp_path / "p.parquet")
    table = {"parameter": ["a"], "sd_ratio": [0.3], "reading": ["not read: ESS 5 < 20"]}
    pd.DataFrame(table).to_csv(tmp_path / "i.csv", index=False)
    _, held = abc.point_start([], tmp_path / "p.parquet", tmp_path / "i.csv")
    assert held == {}

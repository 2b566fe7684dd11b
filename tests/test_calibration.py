"""Calibration: targets files are checked, and a fit from wrong starting values recovers."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
import pytest

from kds_sim.analysis import calibration, followup
from kds_sim.cli.main import main
from kds_sim.io.scenario_files import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[1]

SCENARIO = """
name = "small"
[run]
horizon_days = 365
replicates = 2
[population]
size = 400
"""


def write_targets(folder: Path, body: str, free: str = "") -> Path:
    (folder / "small.toml").write_text(SCENARIO)
    path = folder / "targets.toml"
    path.write_text(f"""
[settings]
replicates = 2
seed = 3
max_evaluations = 40
check_replicates = 6
check_seed = 4
[free]
{free}
{body}
""")
    return path


TARGET = """
[[target]]
name = "relapse"
scenario = "small.toml"
metric = "relapse_365d"
value = {value}
tolerance = 0.01
source = "test"
"""


def test_shipped_targets_load_and_name_existing_scenarios():
    """Model 0.3's targets: 12-month relapse and the long-run follow-up bounds (year-2 hazard,
    Dennis's bands, Scott's quarterly change, Hunt's 90-day share) as fits; the cross-sectional
    share of known cases, the meetings of members who relapse and the group effect as checks."""
    targets = calibration.load_targets(ROOT / "scenarios/targets/indonesia_2015.toml")
    by_name = {t.name: t for t in targets.spec.target}
    assert by_name["relapse_12_months_no_group"].value == 0.40
    twelve = by_name["relapse_12_months_no_group"]
    assert (twelve.measure, twelve.group) == ("cumulative_relapse", "year 1")
    assert by_name["first_relapse_year_2"].bound == (0.20, 0.50)
    assert by_name["scott_quarterly_change"].bound == (0.15, 0.45)
    assert by_name["members_who_relapse_attend_less"].role == "check"
    assert by_name["relapse_share_of_known_cases"].role == "check"
    share = by_name["relapse_share_of_known_cases"]
    assert (share.metric, share.value) == ("ever_relapsed_share_present", 0.6678)
    assert targets.scenario_path(share.scenario).name == "district.toml"
    assert by_name["early_relapse_curve"].bound == (0.60, 0.90)
    group = by_name["group_effect_plausible"]
    assert group.bound == (1.03, 1.42) and group.metric == "abstinence_rr_365d_members"
    assert "group.coping_gain" not in targets.spec.free  # a bound constrains, it does not fit
    assert {"capacity_start_mean"} <= {t.metric for t in targets.spec.target}


def test_a_follow_up_target_names_a_measure_and_one_of_its_rows():
    t = calibration.Target(
        name="h", measure="first_relapse_hazard", group="year 2", bound=(0.2, 0.5), tolerance=0.05
    )
    assert t.follow_up and t.simulated and t.quantity == "first_relapse_hazard [year 2]"
    with pytest.raises(ValueError, match="not a row of first_relapse_hazard"):
        calibration.Target(
            name="h", measure="first_relapse_hazard", group="year 9", value=0.3, tolerance=0.05
        )
    with pytest.raises(ValueError, match="exactly one of `metric`"):
        calibration.Target(
            name="h",
            metric="relapse_365d",
            measure="first_relapse_hazard",
            group="year 2",
            value=0.3,
            tolerance=0.05,
        )
    with pytest.raises(ValueError, match="unknown; allowed"):
        calibration.Target(name="h", measure="hazard", group="year 2", value=0.3, tolerance=0.05)


def test_a_follow_up_target_is_measured_on_the_followed_cohort(tmp_path):
    """The Evaluator's follow-up value is the replicate mean of followup.follow_up's rows, on
    the replicate seeds the runner uses (common random numbers)."""
    (tmp_path / "t.toml").write_text(
        f'''
[settings]
follow_up_years = 2
[[target]]
name = "y2"
scenario = "{(ROOT / "scenarios/no_group.toml").as_posix()}"
measure = "first_relapse_hazard"
group = "year 2"
bound = [0.2, 0.5]
tolerance = 0.05
'''
    )
    targets = calibration.load_targets(tmp_path / "t.toml")
    evaluator = calibration.Evaluator(targets, 3, 7, 60)
    (found,) = evaluator.measure({})
    scenario = evaluator.scenarios({})[targets.scenario_path(targets.spec.target[0].scenario)]
    table = followup.follow_up(scenario, 3, 2, seed=7, progress=False)
    rows = table[(table["measure"] == "first_relapse_hazard") & (table["group"] == "year 2")]
    assert found.mean == pytest.approx(rows["value"].mean(), abs=1e-12)


def test_a_bound_target_costs_nothing_inside_and_grows_outside():
    t = calibration.Target(name="b", metric="relapse_365d", bound=(0.3, 0.5), tolerance=0.05)
    assert t.miss(0.3) == t.miss(0.45) == t.miss(0.5) == 0.0
    assert t.miss(0.6) == pytest.approx(2.0) and t.miss(0.2) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="exactly one of"):
        calibration.Target(
            name="c", metric="relapse_365d", value=0.4, bound=(0.3, 0.5), tolerance=0.05
        )


def test_shipped_scenarios_extend_the_calibrated_overlay():
    overlay = tomllib.loads((ROOT / "scenarios/calibrated/indonesia_2015.toml").read_text())
    scenario = load_scenario(ROOT / "scenarios/no_group.toml")
    for key, value in overlay["behaviour"].items():
        assert getattr(scenario.behaviour, key) == pytest.approx(value)
    grouped = load_scenario(ROOT / "scenarios/capacity_building_mentoring.toml")
    assert grouped.behaviour == scenario.behaviour
    cap = grouped.group.capacity
    assert cap.human_resources == 2.0 and cap.leadership == 3.32


def test_fit_from_wrong_start_recovers_the_target(tmp_path):
    # The "truth": relapse at 12 months when lapse_intercept = -6.0, measured on the same seeds
    # the calibration evaluates with (so the target is exactly reachable).
    truth = -6.0
    path = write_targets(
        tmp_path, TARGET.format(value=0.5), free='"behaviour.lapse_intercept" = [-9.0, -4.0]'
    )
    targets = calibration.load_targets(path)
    evaluator = calibration.Evaluator(targets, 2, 3, None)
    value = evaluator.measure({"behaviour.lapse_intercept": truth})[0].mean
    path = write_targets(
        tmp_path, TARGET.format(value=value), free='"behaviour.lapse_intercept" = [-9.0, -4.0]'
    )
    targets = calibration.load_targets(path)
    result = calibration.calibrate(
        targets, start={"behaviour.lapse_intercept": -8.5}, progress=False
    )
    fitted = result.values["behaviour.lapse_intercept"]
    # tolerance: 0.35 log-odds around the truth; the relapse share moves ~0.08 per log-odds
    # unit here, so the objective's 0.01 tolerance pins the intercept to a few tenths.
    assert fitted == pytest.approx(truth, abs=0.35)
    assert result.start["behaviour.lapse_intercept"] == -8.5
    # the final check uses fresh seeds: the target must hold there too (3 x tolerance)
    check = result.fit[0]
    assert abs(check.mean - value) < 0.03
    text = calibration.overlay_text(result, targets)
    data = tomllib.loads(text)
    assert data["behaviour"]["lapse_intercept"] == pytest.approx(fitted)
    assert data["calibration"]["fit"]["relapse"]["target"] == pytest.approx(value)
    # rewriting an overlay keeps the posterior it names (a point fit does not refit it)
    old = tmp_path / "overlay.toml"
    old.write_text('[uncertainty]\nposterior = "p.parquet"\n', encoding="utf-8")
    kept = tomllib.loads(
        calibration.overlay_text(result, targets, calibration.overlay_uncertainty(old))
    )
    assert kept["uncertainty"] == {"posterior": "p.parquet"}


@pytest.mark.parametrize(
    ("body", "free", "expected"),
    [
        (
            TARGET.format(value=0.4).replace("relapse_365d", "relapse_at_one_year"),
            "",
            "unknown outcome 'relapse_at_one_year'",
        ),
        (TARGET.format(value=0.4).replace("0.01", "0"), "", "tolerance"),
        (TARGET.format(value=0.4).replace("0.01", "-0.1"), "", "greater than 0"),
        (
            TARGET.format(value=0.4),
            '"behaviour.no_such_rate" = [0.0, 1.0]',
            "free parameter 'behaviour.no_such_rate' does not exist",
        ),
        (
            TARGET.format(value=0.4),
            '"behaviour.lapse_intercept" = [1.0, -1.0]',
            "low must be below high",
        ),
        (
            TARGET.format(value=0.4).replace("small.toml", "missing.toml"),
            "",
            "scenario file not found",
        ),
        (
            TARGET.format(value=1.2).replace("relapse_365d", "abstinence_rr_365d"),
            "",
            "add `reference`",
        ),
        (TARGET.format(value=0.4) + "\nsurprise = 1\n", "", "unknown key"),
    ],
)
def test_bad_targets_give_clear_errors(tmp_path, body, free, expected):
    path = write_targets(tmp_path, body, free)
    with pytest.raises(ScenarioError) as err:
        calibration.load_targets(path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_free_option_checks_parameters(tmp_path):
    targets = calibration.load_targets(write_targets(tmp_path, TARGET.format(value=0.4)))
    with pytest.raises(ScenarioError, match="does not exist"):
        calibration.parse_free(["group.no_such_gain=0:1"], targets)
    with pytest.raises(ScenarioError, match="no bounds"):
        calibration.parse_free(["behaviour.lapse_intercept"], targets)
    with pytest.raises(ScenarioError, match="not numeric"):
        calibration.parse_free(["run.engine=0:1"], targets)
    assert calibration.parse_free(["behaviour.lapse_intercept=-9:-3"], targets) == {
        "behaviour.lapse_intercept": (-9.0, -3.0)
    }


def test_cli_reports_bad_targets_without_traceback(tmp_path, capsys):
    path = write_targets(tmp_path, TARGET.format(value=0.4).replace("0.01", "0"))
    code = main(
        [
            "calibrate",
            "--targets",
            str(path),
            "--free",
            "behaviour.lapse_intercept=-9:-3",
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "kds-sim: error:" in err and "Traceback" not in err


def test_an_overlay_that_fits_a_distribution_mean_loads(tmp_path):
    """A fitted population mean is written with its distribution's sd, so the overlay loads."""
    import tomllib

    targets = calibration.load_targets(ROOT / "scenarios/targets/indonesia_2015.toml")
    result = calibration.CalibrationResult(
        {"population.craving.mean": 0.6}, {}, {"population.craving.mean": (0.3, 0.8)},
        [], 1, 0.0, pd.DataFrame(),
    )  # fmt: skip
    text = calibration.overlay_text(result, targets)
    craving = tomllib.loads(text)["population"]["craving"]
    assert craving == {"mean": 0.6, "sd": calibration.schema_default("population.craving.sd")}
    (tmp_path / "o.toml").write_text(text)
    (tmp_path / "s.toml").write_text('extends = "o.toml"\nname = "s"\n')
    assert load_scenario(tmp_path / "s.toml").population.craving.mean == 0.6

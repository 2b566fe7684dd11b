"""The shipped scenarios reproduce the calibration targets (slow: run in CI with -m slow)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import kds_sim
from kds_sim.analysis import calibration

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def test_no_group_hits_12_month_relapse_and_the_early_curve():
    # 200 replicates: 12-month relapse within 0.40 +- 0.02; of the first year's first returns to
    # any use, at least 80 % - 0.05 (the bound's tolerance) in the first 90 days (Hunt et al.)
    scenario = kds_sim.load_scenario(ROOT / "scenarios/no_group.toml")
    result = kds_sim.run(scenario, replicates=200, workers=2, progress=False)
    by_year = result.metrics["relapse_365d"].mean()
    early = result.values("early_lapse_share").mean()
    assert abs(by_year - 0.40) <= 0.02, by_year
    assert 0.75 <= early <= 1.0, early


def test_the_cross_sectional_check_is_reported_and_below_the_bnn_share():
    """66.78 % is a check the model does not reach (docs/validation.md, section 3): if a change
    ever makes the district reach it, the docs must be revisited, so this test says so."""
    district = kds_sim.load_scenario(ROOT / "scenarios/district.toml")
    result = kds_sim.run(district, replicates=4, workers=2, progress=False)
    share = result.metrics["ever_relapsed_share_present"].mean()
    assert 0.2 < share < 0.6678 - 0.03, share


def test_capacity_building_abstinence_risk_ratio_in_cochrane_range():
    # Kelly, Humphreys & Ferri 2020: RR 1.21 (95 % CI 1.03 to 1.42); our point estimate must
    # lie in that interval.
    comparison = kds_sim.compare(
        [ROOT / "scenarios/no_group.toml", ROOT / "scenarios/capacity_building.toml"],
        replicates=100,
        workers=2,
        progress=False,
    )
    table = comparison.table.set_index(["scenario", "metric"])
    rr = table.loc[("capacity_building", "abstinence_rr_365d_members"), "mean"]
    assert 1.03 <= rr <= 1.42, rr
    group = kds_sim.load_scenario(ROOT / "scenarios/group_as_assessed.toml")
    cap = group.group.capacity
    scores = [getattr(cap, d) for d in type(cap).model_fields]
    assert sum(scores) / 7 == pytest.approx(2.70, abs=0.005)
    assert cap.human_resources == 2.0 and cap.leadership == 3.32


@pytest.mark.xfail(
    strict=True,
    reason="the committed fit was made on the random streams of 60536d9; the counter-based "
    "streams (issue 19) move the refit (lapse_intercept -4.62 -> -4.87: the 12-month figure "
    "alone identifies it poorly). Issue 21 refits; then this marker must go (strict).",
)
def test_rerunning_the_calibration_reproduces_the_committed_values():
    # The search is deterministic (same seeds, same start); tolerance 1e-6 relative.
    overlay = tomllib.loads((ROOT / "scenarios/calibrated/indonesia_2015.toml").read_text())
    targets = calibration.load_targets(ROOT / "scenarios/targets/indonesia_2015.toml")
    start = {key: float(calibration.schema_default(key)) for key in targets.spec.free}
    result = calibration.calibrate(targets, start=start, progress=False, check_replicates=2)
    for key, value in result.values.items():
        section, name = key.split(".")
        assert value == pytest.approx(overlay[section][name], rel=1e-6), key

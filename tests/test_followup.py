"""Long-run follow-up measures on hand-built state histories with known answers, the long-run
targets file and its errors, and the generated table of docs/validation.md."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kds_sim.analysis import calibration, followup
from kds_sim.analysis.long_run_targets import load_long_run_targets
from kds_sim.errors import InputError, ScenarioError
from kds_sim.io.scenario_files import load_scenario
from kds_sim.model.rules import ABSENT, ABSTINENT, LAPSED, RELAPSED

ROOT = Path(__file__).resolve().parents[1]
A, L, R, X = ABSTINENT, LAPSED, RELAPSED, ABSENT


def history(days: int, people: int, events: dict[int, list[tuple[int, int]]]) -> np.ndarray:
    """Status [day, person] for one replicate: everyone abstinent, and from each (day, state)
    of a person's list on, that state."""
    status = np.full((days + 1, people), A, dtype=np.int8)
    for person, changes in events.items():
        for day, state in sorted(changes):
            status[day:, person] = state
    return status


def feed(
    status: np.ndarray,
    years: int,
    start_abstinent: np.ndarray | None = None,
    member: np.ndarray | None = None,
    meetings: np.ndarray | None = None,
) -> pd.DataFrame:
    """Run a FollowUp over a one-replicate history (days_abstinent counted as the rules count
    it: +1 on an abstinent day, 0 otherwise); the measures as {(measure, group): value}."""
    people = status.shape[1]
    recorder = followup.FollowUp(years)
    days_abstinent = (
        np.zeros(people, dtype=np.int32) if start_abstinent is None else start_abstinent.copy()
    )
    attended = np.zeros(people, dtype=np.int32)
    for day in range(status.shape[0]):
        s = status[day]
        if day > 0:
            days_abstinent = np.where(s == A, days_abstinent + 1, 0)
            if meetings is not None:
                attended = attended + meetings[day]
        on = np.zeros(people, dtype=bool) if member is None else member[day]
        cols = {
            "status": s[None],
            "days_abstinent": days_abstinent[None],
            "member": on[None],
            "meetings_attended": attended[None],
        }
        recorder.observe(day, cols)
    table = recorder.per_replicate()
    return table.set_index(["measure", "group"])["value"]


def test_first_relapse_hazard_by_year_and_cumulative_relapse():
    """4 people: first relapses on days 10, 400 and 800, one never: hazards 1/4, 1/3, 1/2."""
    status = history(3 * 365, 4, {0: [(10, R)], 1: [(400, R)], 3: [(800, R)]})
    m = feed(status, 3)
    assert m["first_relapse_hazard", "year 1"] == pytest.approx(1 / 4)
    assert m["first_relapse_hazard", "year 2"] == pytest.approx(1 / 3)
    assert m["first_relapse_hazard", "year 3"] == pytest.approx(1 / 2)
    assert m["cumulative_relapse", "year 1"] == pytest.approx(0.25)
    assert ("cumulative_relapse", "year 5") not in m.index  # 3 years followed


def test_a_lapse_is_not_a_relapse_and_people_who_leave_are_dropped():
    """A lapse that resolves is any use, not relapse; a person who leaves on day 100 without
    relapsing leaves the year-1 denominator (complete cases); one who relapses then leaves
    still counts."""
    status = history(
        365, 5, {0: [(30, L), (40, A)], 1: [(100, X)], 2: [(50, R), (200, X)], 3: [(300, R)]}
    )
    m = feed(status, 1)
    assert m["first_relapse_hazard", "year 1"] == pytest.approx(2 / 4)
    assert m["early_relapse_share_90d", "year 1"] == pytest.approx(1 / 2)  # days 50, 300
    assert m["early_use_share_90d", "year 1"] == pytest.approx(2 / 3)  # days 30, 50, 300


def test_next_year_relapse_by_duration_of_abstinence_pooled_over_start_years():
    """Start of year 1 (day 0): p0 and p1 in spells of 0 days (< 1 y), p2 abstinent 400 days
    (1-3 y), p3 2000 days (5+ y). Year 1: p0 relapses on days 100-119, p2 lapses on days 50-51.
    Start of year 2 (day 365): p0 (spell 246 d) and p2 (314 d) < 1 y, p1 (365 d) 1-3 y and
    relapses on day 500, p3 5+ y. Pooled: < 1 y 1 relapse of 4; 1-3 y 1 relapse of 2, and 2
    of 2 with any use (p2's lapse counts as use, not relapse)."""
    status = history(2 * 365, 4, {0: [(100, R), (120, A)], 2: [(50, L), (52, A)], 1: [(500, R)]})
    start = np.array([0, 0, 400, 2000], dtype=np.int32)
    m = feed(status, 2, start_abstinent=start)
    # year 1 from day 0: <1y = {p0 (relapse), p1}; 1-3y = {p2 (lapse only)}; 5y+ = {p3}
    # year 2 from day 365: p0 spell 245 d (<1y, no event), p1 365 d (1-3y, relapse day 500),
    # p2 313 d (<1y, none), p3 2365 d (5y+, none)
    assert m["next_year_relapse_by_abstinence", "<1y"] == pytest.approx(1 / 4)
    assert m["next_year_relapse_by_abstinence", "1-3y"] == pytest.approx(1 / 2)
    assert m["next_year_use_by_abstinence", "1-3y"] == pytest.approx(2 / 2)
    assert m["next_year_relapse_by_abstinence", "5y+"] == pytest.approx(0.0)
    assert np.isnan(m["next_year_relapse_by_abstinence", "3-5y"])  # nobody in the band


def test_dennis_bands_have_the_papers_edges():
    assert [followup.band_of(d) for d in (0, 364, 365, 1094, 1095, 1824, 1825, 4000)] == [
        "<1y",
        "<1y",
        "1-3y",
        "1-3y",
        "3-5y",
        "3-5y",
        "5y+",
        "5y+",
    ]


def test_quarter_ends_are_quarters_of_a_365_day_year():
    assert [followup.quarter_end(q) for q in range(1, 9)] == [91, 183, 274, 365, 456, 548, 639, 730]


def test_quarterly_change_point_and_interval_readings():
    """p0 uses on days 10-20 only (inside quarter 1): the point reading sees no change, the
    interval reading sees quarter 1 as using, then a change to recovery. p1 relapses on day
    200 (quarter 3) and stays: one change in both readings. p2 alternates every quarter
    (using in quarters 2, 4, 6, 8 from their first day): 7 changes. p3 never uses."""
    q = followup.quarter_end
    alternate = []
    for k in range(1, 8):
        alternate.append((q(k) + 1, R if k % 2 == 1 else A))
    status = history(2 * 365, 4, {0: [(10, L), (20, A)], 1: [(200, R)], 2: alternate})
    m = feed(status, 2)
    # point: transitions 1->2 .. 7->8: p1 changes once (2->3), p2 seven times: 8 of 28
    assert m["quarterly_change_point", "years 1-2"] == pytest.approx(8 / 28)
    # interval: p0 changes 1->2 too; p1's quarter 3 is using in both readings: 9 of 28
    assert m["quarterly_change_interval", "years 1-2"] == pytest.approx(9 / 28)
    assert m["quarterly_change_interval", "quarter 1 to 2"] == pytest.approx(2 / 4)
    assert m["moved_twice_interval", "years 1-2"] == pytest.approx(1 / 4)  # p2 only


def test_a_reading_maps_new_states_and_refuses_unknown_ones():
    reading = followup.Reading(scott={A: "recovery", L: "using", R: "using", 7: "treatment"})
    assert reading.lookup()[7] == followup.SCOTT_STATES.index("treatment")
    assert reading.lookup()[X] == -1  # absent: excluded
    with pytest.raises(InputError, match="not Scott states"):
        followup.Reading(scott={A: "sober"})


def test_meetings_of_members_who_relapse_and_who_do_not():
    """Members p0-p2 (p3 never a member): p0 relapses on day 100 and attends 2 meetings, p1 and
    p2 do not relapse and attend 6 and 4: ratio 2 / 5."""
    days = 365
    status = history(days, 4, {0: [(100, R)], 3: [(50, R)]})
    member = np.zeros((days + 1, 4), dtype=bool)
    member[:, :3] = True
    meetings = np.zeros((days + 1, 4), dtype=np.int32)
    meetings[[10, 20], 0] = 1
    meetings[10:70:10, 1] = 1
    meetings[10:50:10, 2] = 1
    m = feed(status, 1, member=member, meetings=meetings)
    assert m["meetings_relapsed", "year 1"] == pytest.approx(2.0)
    assert m["meetings_not_relapsed", "year 1"] == pytest.approx(5.0)
    assert m["meetings_ratio", "year 1"] == pytest.approx(0.4)


def test_summary_is_the_replicate_mean_with_a_named_monte_carlo_ci():
    per = pd.DataFrame(
        {
            "scenario": "s",
            "replicate": [0, 1, 2, 3],
            "measure": "m",
            "group": "g",
            "value": [0.1, 0.3, np.nan, 0.2],
        }
    )
    out = followup.summarise(per).iloc[0]
    assert out["value"] == pytest.approx(0.2) and out["replicates"] == 3
    assert out["lower"] < 0.2 < out["upper"]
    assert "Monte Carlo CI" in out["interval"]


def test_days_must_come_in_order():
    recorder = followup.FollowUp(1)
    with pytest.raises(ValueError, match="day 2 after day -1"):
        recorder.observe(2, {})


def small(name: str = "no_group", **overrides: object):
    return load_scenario(ROOT / "scenarios" / f"{name}.toml", {"population.size": 20, **overrides})


def test_engine_values_do_not_depend_on_the_batch():
    """Replicate i runs from SeedSequence(seed, spawn_key=(i,)) whatever it is stepped with."""
    one = followup.follow_up(small(), 3, 1, batch=1, progress=False)
    three = followup.follow_up(small(), 3, 1, batch=3, progress=False)
    pd.testing.assert_frame_equal(one, three)
    assert set(one["replicate"]) == {0, 1, 2}


def test_a_staggered_population_is_refused():
    district = load_scenario(ROOT / "scenarios" / "district.toml", {"population.size": 20})
    with pytest.raises(InputError, match="discharge cohort"):
        followup.follow_up(district, 1, 1, progress=False)


# -- the targets file ---------------------------------------------------------------------

TARGETS = ROOT / "scenarios" / "targets" / "long_run.toml"


def test_shipped_long_run_targets_load_with_their_bounds():
    targets = load_long_run_targets(TARGETS)
    t = {x.name: x for x in targets.spec.target}
    assert t["relapse_12_months"].value == 0.40 and t["relapse_12_months"].role == "fit"
    assert t["dennis_under_1_year"].bound == (0.50, 0.80)
    assert t["dennis_1_to_3_years"].bound == (0.20, 0.45)
    assert t["dennis_5_years_or_more"].bound == (0.0, 0.15)
    assert t["scott_quarterly_change"].bound == (0.15, 0.45)
    assert t["hunt_90_day_share"].bound == (0.60, 0.90)
    assert t["group_effect_plausible"].bound == (1.03, 1.42)
    assert t["relapse_share_of_known_cases"].role == "check"
    for x in targets.spec.target:
        assert x.source and x.model_quantity and x.reading
    assert load_long_run_targets("long_run").path == TARGETS.resolve()  # the shipped name


def test_the_calibration_refuses_a_long_run_file_and_still_reads_its_own():
    with pytest.raises(ScenarioError, match="long-run targets file"):
        calibration.load_targets(TARGETS)
    calibration.load_targets(ROOT / "scenarios" / "targets" / "indonesia_2015.toml")


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "cohort.toml").write_text('name = "cohort"\n', encoding="utf-8")
    path = tmp_path / "t.toml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """kind = "long_run"
[[target]]
name = "t1"
scenario = "cohort.toml"
measure = "{measure}"
group = "{group}"
{value}
tolerance = 0.05
role = "bound"
source = "a study"
model_quantity = "a quantity"
reading = "a reading"
"""


def target(measure="first_relapse_hazard", group="year 2", value="bound = [0.2, 0.5]") -> str:
    return GOOD.format(measure=measure, group=group, value=value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            target(measure="relapse_forever"),
            r"target\[0\] \(t1\): measure = 'relapse_forever' is unknown; allowed",
        ),
        (target(group="year 9"), r"group = 'year 9' is not a row of first_relapse_hazard"),
        (target(value="bound = [0.5, 0.2]"), r"bound = \[0.5, 0.2\]: low must be below high"),
        (target(value="value = 0.3\nbound = [0.2, 0.5]"), "exactly one of `value` or `bound`"),
        (target().replace('source = "a study"\n', ""), r"target\[0\]\.source \(t1\).*missing"),
        (target().replace("cohort.toml", "nowhere.toml"), r"target\[0\]\.scenario = 'nowhere"),
        (target() + "colour = 1\n", r"unknown key 'target\[0\]\.colour \(t1\)' = 1"),
        (target().replace('kind = "long_run"', 'kind = "other"'), "kind = 'other'; allowed"),
        (target().replace('role = "bound"', 'role = "goal"'), r"role \(t1\) = 'goal'"),
        (target() + target().split("\n", 1)[1], r"target names \['t1'\] appear twice"),
    ],
)
def test_long_run_targets_errors_name_file_key_value_and_what_is_allowed(
    tmp_path: Path, text: str, message: str
):
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError, match=message) as err:
        load_long_run_targets(path)
    assert str(path) in str(err.value)


# -- the generated table of docs/validation.md -------------------------------------------

RESULTS = ROOT / "experiments" / "results" / "long_run"


def test_the_validation_doc_shows_the_generated_long_run_table():
    """docs/validation.md section 8 holds targets.md as written, and targets.md holds the
    values of targets.csv (no number typed by hand)."""
    doc = (ROOT / "docs" / "validation.md").read_text(encoding="utf-8")
    block = re.search(
        r"<!-- long_run: generated by experiments/long_run_checks.py -->\n(.*?)"
        r"<!-- end: long_run -->",
        doc,
        re.S,
    )
    assert block is not None
    table = (RESULTS / "targets.md").read_text(encoding="utf-8")
    assert block.group(1) == table
    comparison = pd.read_csv(RESULTS / "targets.csv")
    lines = {line.split(" | ")[0].lstrip("| "): line for line in table.splitlines()}
    assert set(comparison["target"]) <= set(lines)
    for row in comparison.itertuples():
        assert f"{row.simulated:.3f} [{row.lower:.3f}, {row.upper:.3f}]" in lines[row.target]
        assert lines[row.target].endswith("| yes |" if row.met else "| no |")
    summary = pd.read_csv(RESULTS / "long_run.csv")
    rows = [line for line in table.splitlines() if re.match(r"\| \w+ \(.*\) \| ", line)]
    assert len(rows) > 20
    for line in rows:
        measure, group = re.match(r"\| (\w+) \((.*?)\) \|", line).groups()
        part = summary[(summary.measure == measure) & (summary.group == group)]
        for r in part.itertuples():
            assert f"{r.value:.3f} [{r.lower:.3f}, {r.upper:.3f}]" in line


def test_first_days_tracked_from_status_agree_with_the_engines_own_columns():
    """The recorder derives first relapse and first use from the daily status; the engine's
    bookkeeping keeps first_relapse_day and first_lapse_day: on a real batch they agree."""
    from kds_sim.model.ensemble import Ensemble

    scenario = small(**{"run.horizon_days": 365})
    seeds = [np.random.SeedSequence(scenario.run.seed, spawn_key=(i,)) for i in range(2)]
    ensemble = Ensemble([scenario] * 2, seeds)
    recorder = followup.FollowUp(1)
    recorder.observe(0, ensemble.cols)
    for day in range(1, 366):
        ensemble.step()
        recorder.observe(day, ensemble.cols)
    assert recorder.first_relapse is not None and recorder.first_use is not None
    np.testing.assert_array_equal(recorder.first_relapse, ensemble.cols["first_relapse_day"])
    np.testing.assert_array_equal(recorder.first_use, ensemble.cols["first_lapse_day"])
    assert (recorder.first_relapse > 0).any()

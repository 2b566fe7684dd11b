"""Mechanisms added for fidelity to Marlatt & Gordon as a dynamic system (Witkiewitz & Marlatt
2004): each moves outcomes in the direction the theory says, and each is off at zero.

Whole-model checks run 20 replicates x 300 people x 365 days per arm on common random numbers
(`stat_run`), and require the paired difference's 95 % CI to exclude 0 and its mean to exceed 3
CI half-widths, as the other statistical tests do.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_scenario, paired

from kds_sim.analysis.runner import simulate
from kds_sim.model import group as G
from kds_sim.model import rules as R
from kds_sim.model.parameters import MODEL_0_2, Behaviour, Group

REFERENCE = Path(__file__).resolve().parent / "data" / "v0_1_reference.csv"

ON = {  # the suggested values of docs/model.md
    "stress_coping_weight": 1.0,
    "lapse_self_efficacy_weight": 1.5,
    "lapse_interaction_weight": 2.0,
    "negative_expectancy_weight": 1.0,
    "expectancy_craving_share": 0.3,
    "expectancy_decay_per_year": 0.5,
    "ave_spell_weight": 1.0,
    "ave_commitment_weight": 1.0,
    "lapse_learning_gain": 0.05,
    "remission_rate": 0.2,
    "using_tie_end_rate": 0.1,
    "using_tie_cut_rate": 0.5,
}


OFF = dict.fromkeys(ON, 0.0)
"""Every 0.2 mechanism switched off: the 0.1 model."""
V0_2_DEFAULTS = {
    "behaviour": {
        "lapse_intercept": -4.7,
        "craving_floor": 0.05,
        "craving_decay_days": 90.0,
        "self_efficacy_growth": 0.005,
        "ave_intercept": -0.5,
    },
    "population": {"craving": {"mean": 0.5, "sd": 0.15}},
}
"""The schema defaults model 0.3's point fit moved (its start values), as they were when the
0.1 reference was stored."""


def clearly_positive(diff: tuple[float, float, float], what: str) -> None:
    mean, low, high = diff
    assert low > 0, f"{what}: paired difference {mean:.4f}, 95 % CI [{low:.4f}, {high:.4f}]"
    assert mean > 3 * (high - low) / 2, f"{what}: {mean:.4f} not > 3 CI half-widths"


def behaviour(**changes: float) -> dict:
    return {"behaviour": changes}


# -- the rules, one at a time --------------------------------------------------------------
def test_stress_lowers_coping_success():
    b = Behaviour(stress_coping_weight=2.0)
    calm, tense = (R.coping_probability(0.5, 0.5, 0.3, b, s) for s in (0.1, 0.9))
    assert tense < calm
    off = Behaviour(stress_coping_weight=0.0)
    assert R.coping_probability(0.5, 0.5, 0.3, off, 0.9) == R.coping_probability(0.5, 0.5, 0.3, off)


def test_self_efficacy_holds_back_a_lapse_most_when_expectancy_is_positive():
    b = Behaviour(lapse_self_efficacy_weight=1.5, lapse_interaction_weight=2.0)
    low, high = (R.lapse_probability(0.7, 0.3, b, se) for se in (0.2, 0.8))
    assert high < low
    # the expectancy effect is larger at low self-efficacy (interaction)
    gap_low = R.lapse_probability(0.9, 0.3, b, 0.2) - R.lapse_probability(0.3, 0.3, b, 0.2)
    gap_high = R.lapse_probability(0.9, 0.3, b, 0.8) - R.lapse_probability(0.3, 0.3, b, 0.8)
    assert gap_low > gap_high > 0


def test_expected_harms_protect():
    b = Behaviour(negative_expectancy_weight=1.0)
    assert R.lapse_probability(0.6, 0.3, b, 0.5, 0.9) < R.lapse_probability(0.6, 0.3, b, 0.5, 0.1)


def test_expectancy_rises_with_craving_in_the_moment_and_fades_with_abstinence():
    b = Behaviour(expectancy_craving_share=0.3, expectancy_decay_per_year=0.5)
    assert R.expectancy_in_the_moment(0.5, 0.9, b) > R.expectancy_in_the_moment(0.5, 0.1, b) > 0.5
    e = np.full(3, 0.6)
    for _ in range(365):
        e = R.expectancy_after(e, np.array([1.0, 1.0, 0.0]) * R.expectancy_decay_share(b), b)
    assert e[0] < 0.6 and e[0] > b.expectancy_floor and e[2] == 0.6


def test_abstinence_violation_grows_with_the_spell_and_commitment():
    b = Behaviour(ave_spell_weight=1.0, ave_commitment_weight=1.0)
    short = R.relapse_probability(0.6, 0.2, b, 5.0, 0.5)
    long = R.relapse_probability(0.6, 0.2, b, 400.0, 0.5)
    committed = R.relapse_probability(0.6, 0.2, b, 400.0, 0.9)
    assert short < long < committed
    # the push works through AVE susceptibility: none, no push
    assert R.relapse_probability(0.0, 0.2, b, 400.0, 0.9) == R.relapse_probability(0.0, 0.2, b)


def test_a_lapse_without_relapse_teaches_coping():
    b = Behaviour(lapse_learning_gain=0.1)
    out = R.learn_from_lapse(np.array([0.4, 0.4]), np.array([1.0, 0.0]), b)
    assert out[0] == pytest.approx(0.46) and out[1] == 0.4


def test_relapse_exits_compete_on_one_uniform():
    b = Behaviour(reentry_rate=0.5, remission_rate=0.2)
    reentry, remission = R.reentry_probability(b), R.remission_probability(b)
    u = np.linspace(0, 1, 200_001)[:-1]
    to_treatment = u < reentry
    on_their_own = ~to_treatment & (u < reentry + remission)
    assert to_treatment.mean() == pytest.approx(reentry, abs=1e-5)
    assert on_their_own.mean() == pytest.approx(remission, abs=1e-5)


def test_leftover_uniforms_are_uniform_and_independent_of_the_first_answer():
    rng = np.random.default_rng(1)
    u = rng.random(400_000)
    p = 0.3
    v = R.leftover(u, np.ones_like(u, dtype=bool), p)
    no = u >= p
    # given "no", the leftover is uniform: mean 1/2, quartiles at 1/4 and 3/4 (+-0.005)
    assert v[no].mean() == pytest.approx(0.5, abs=0.005)
    assert np.quantile(v[no], [0.25, 0.75]) == pytest.approx([0.25, 0.75], abs=0.005)
    assert np.all(v[~no] == 1.0)
    assert np.array_equal(R.leftover(u, np.zeros_like(u, dtype=bool), p), u)
    within = u[~no] / p  # the group's befriending uses the other side
    assert within.mean() == pytest.approx(0.5, abs=0.005)


def test_using_ties_end_faster_with_coping_while_abstinent():
    b = Behaviour(using_tie_end_rate=0.1, using_tie_cut_rate=0.5)
    low = R.using_tie_loss_probability(2, 0.2, 1.0, b)
    high = R.using_tie_loss_probability(2, 0.8, 1.0, b)
    using = R.using_tie_loss_probability(2, 0.8, 0.0, b)
    assert using < low < high
    assert R.using_tie_loss_probability(0, 0.8, 1.0, b) == 0.0


def test_meetings_make_friends_only_of_those_who_attend():
    g = Group(enabled=True, befriend_per_meeting=0.5)
    u = np.array([0.05, 0.3, 0.05, 0.9])
    member = np.array([True, True, False, True])
    attended = member & (u < 0.4)
    made = G.befriended(attended, u, 0.4, g)
    # 0.05/0.4 < 0.5 makes a friend; 0.3/0.4 does not; a non-member never does
    assert made.tolist() == [True, False, False, False]


# -- the whole model, on common random numbers ---------------------------------------------
def test_stress_against_coping_raises_relapse(stat_run):
    off = stat_run(behaviour(stress_coping_weight=0.0))
    on = stat_run(behaviour(stress_coping_weight=3.0))
    clearly_positive(paired(off, on, "relapse_365d"), "relapse_365d(stress on - off)")


def test_self_efficacy_in_the_lapse_step_lowers_lapses(stat_run):
    off = stat_run(behaviour(lapse_self_efficacy_weight=0.0))
    on = stat_run(behaviour(lapse_self_efficacy_weight=3.0))
    clearly_positive(paired(on, off, "lapses_per_person"), "lapses(off - on)")


def test_expected_harms_lower_lapses(stat_run):
    off = stat_run(behaviour(negative_expectancy_weight=0.0))
    on = stat_run(behaviour(negative_expectancy_weight=3.0))
    clearly_positive(paired(on, off, "lapses_per_person"), "lapses(off - on)")


def test_craving_driven_expectancy_raises_lapses(stat_run):
    off = stat_run(behaviour(expectancy_craving_share=0.0))
    on = stat_run(behaviour(expectancy_craving_share=0.8))
    clearly_positive(paired(off, on, "lapses_per_person"), "lapses(on - off)")


def test_fading_expectancies_lower_lapses(stat_run):
    off = stat_run(behaviour(expectancy_decay_per_year=0.0))
    on = stat_run(behaviour(expectancy_decay_per_year=3.0))
    clearly_positive(paired(on, off, "lapses_per_person"), "lapses(off - on)")


def test_history_dependent_ave_raises_the_lapse_to_relapse_share(stat_run):
    off = stat_run(behaviour(ave_spell_weight=0.0, ave_commitment_weight=0.0))
    on = stat_run(behaviour(ave_spell_weight=3.0, ave_commitment_weight=3.0))
    clearly_positive(paired(off, on, "lapse_to_relapse_share"), "lapse_to_relapse_share(on - off)")


def test_learning_from_lapses_lowers_relapse(stat_run):
    off = stat_run(behaviour(lapse_learning_gain=0.0))
    on = stat_run(behaviour(lapse_learning_gain=0.5))
    clearly_positive(paired(on, off, "relapse_365d"), "relapse_365d(off - on)")


def test_remission_lowers_use_at_the_end(stat_run):
    off = stat_run(behaviour(remission_rate=0.0))
    on = stat_run(behaviour(remission_rate=2.0))
    clearly_positive(paired(on, off, "use_prevalence_end"), "use_prevalence_end(off - on)")
    assert on.people["remissions"].sum() > 0 == off.people["remissions"].sum()


def test_cutting_using_ties_lowers_relapse(stat_run):
    off = stat_run(behaviour(using_tie_end_rate=0.0, using_tie_cut_rate=0.0))
    on = stat_run(behaviour(using_tie_end_rate=0.5, using_tie_cut_rate=3.0))
    clearly_positive(paired(on, off, "relapse_365d"), "relapse_365d(off - on)")
    people = on.people
    assert (people["using_ties_at_end"] <= people["using_ties"]).all()
    assert people["using_ties_at_end"].mean() < 0.6 * people["using_ties"].mean()


def test_group_friends_lower_members_stress_and_add_supportive_ties():
    scenario = make_scenario(
        {"group": {"enabled": True, "coverage": 0.5, "befriend_per_meeting": 0.3}},
        size=300,
        horizon=365,
    )
    people = simulate(scenario, 3, 0)[1]
    gained = people["supportive_ties_at_end"] - people["supportive_ties"]
    assert (gained[~people["member"]] == 0).all()
    # members attend about 0.6 x 0.77 of about 1.7 meetings a month held: ~9 meetings a year,
    # so 0.3 per meeting gives ~2-3 friends each; require more than 1 on average
    assert gained[people["member"]].mean() > 1.0


def v0_1_runs() -> dict[str, pd.DataFrame]:
    """The 0.1 model's runs: every mechanism off, and the 0.1 group.coping_gain default."""
    out = {}
    for name in ("no_group", "group"):
        overrides = {
            "behaviour": OFF | V0_2_DEFAULTS["behaviour"],
            "group": {"befriend_per_meeting": 0.0, "coping_gain": 0.04},
            "population": V0_2_DEFAULTS["population"],
        }
        if name == "group":
            overrides["group"] |= {"enabled": True, "coverage": 0.5}
        scenario = make_scenario(overrides, size=150, horizon=200, seed=11, dotted=MODEL_0_2)
        daily, _ = simulate(scenario, 11, 2)  # (MODEL_0_2: model 0.3's mechanisms off too)
        out[name] = daily
    return out


def test_with_every_mechanism_off_the_model_is_v0_1_exactly():
    """The 0.1 model is a special case: a stored run of it is reproduced to the last digit.

    The table was made with kds-sim 0.1 code before these mechanisms existed; when the random
    streams changed (counter-based draws, CHANGELOG) it was regenerated by `save_v0_1()` from
    the code that had reproduced it exactly under the old streams, so it pins the 0.1 model
    under the current streams. Its group run was regenerated once more when model 0.3 gave each
    PEKA domain one channel (after the 0.2 group formulas, patched back in, reproduced it
    exactly): it pins the 0.1 rules with the 0.3 group."""
    reference = pd.read_csv(REFERENCE)
    runs = v0_1_runs()
    for name, table in reference.groupby("scenario", sort=False):
        expected = table.drop(columns="scenario").reset_index(drop=True)
        pd.testing.assert_frame_equal(runs[name][expected.columns], expected, check_dtype=False)


def save_v0_1() -> None:
    """Rewrite tests/data/v0_1_reference.csv (only when the random streams change)."""
    columns = pd.read_csv(REFERENCE, nrows=0).columns
    tables = [daily.assign(scenario=name) for name, daily in v0_1_runs().items()]
    pd.concat(tables, ignore_index=True)[columns].to_csv(REFERENCE, index=False)


# -- an open population --------------------------------------------------------------------------
def test_entry_days_spread_discharges_evenly_after_the_initial_cohort():
    from kds_sim.model.parameters import Population
    from kds_sim.model.people import entry_days

    days = entry_days(Population(size=10, discharges_per_month=30.4375), 100)
    assert (days[:10] == 0).all()
    assert days[10:].tolist() == list(range(1, 101))  # one a day
    assert len(entry_days(Population(size=10), 100)) == 10  # closed cohort


def test_open_population_admits_people_and_counts_them_from_their_own_discharge():
    scenario = make_scenario(
        {
            "population": {
                "discharges_per_month": 20.0,
                "death_rate": 0.0,
                "overdose_death_rate": 0.0,
            }
        },
        size=100,
        horizon=400,
        seed=2,
    )
    daily, people = simulate(scenario, 2, 0)
    assert len(people) == 100 + 263  # 20 a month over 400 days: days 1, 2.52, ... <= 400
    assert daily["present"].tolist()[0] == 100 and daily["present"].iloc[-1] == len(people)
    late = people[people["entry_day"] > 0]
    assert (late["first_relapse_day"].dropna() >= 1).all()
    assert (late["followed_days"] == 400 - late["entry_day"]).all()
    # relapse by 365 days counts only people followed 365 days
    from kds_sim.analysis.metrics import followed, relapse_by

    assert len(followed(people, 365, 400)) == int((people["entry_day"] <= 35).sum())
    assert relapse_by(people, 365, 400) == pytest.approx(
        (followed(people, 365, 400)["first_relapse_day"] <= 365).mean()
    )


def test_exits_remove_people_and_overdose_follows_use(stat_run):
    base = {"population": {"death_rate": 0.02, "overdose_death_rate": 0.5, "move_away_rate": 0.05}}
    run = stat_run(base)
    people = run.people
    reasons = people["exit_reason"].value_counts()
    assert reasons.get("died of overdose", 0) > 0 and reasons.get("moved away", 0) > 0
    gone = people[people["exit_reason"] != ""]
    assert (gone["status_at_end"] == "absent").all()
    # overdose deaths happen only to people who used: every one of them lapsed at least once
    assert (people.loc[people["exit_reason"] == "died of overdose", "lapses"] > 0).all()
    # about 2 % a year die of other causes and 5 % move: over a year, 7 % +- 2 % of 6000
    other = gone["exit_reason"].isin(["died", "moved away"]).mean() * len(gone) / len(people)
    assert 0.05 < other < 0.09
    # with exits, survivors are present at the end; the daily count agrees
    last = run.daily.groupby("replicate").tail(1)
    assert last["present"].sum() == (people["status_at_end"] != "absent").sum()


def test_cross_sectional_share_mixes_people_followed_for_different_times():
    """In an open population the share of known cases who ever relapsed mixes recent and old
    discharges: those discharged long ago have relapsed more often than the newest."""
    scenario = make_scenario(
        {"population": {"discharges_per_month": 25.0}}, size=25, horizon=1825, seed=4
    )
    from kds_sim.analysis import metrics

    daily, people = simulate(scenario, 4, 0)
    cross = metrics.get("ever_relapsed_share_present").per_replicate(people, daily)
    present = people[people["status_at_end"] != "absent"]
    assert cross == pytest.approx(present["first_relapse_day"].notna().mean())
    relapsed = present["first_relapse_day"].notna()
    old, new = present["followed_days"] > 3 * 365, present["followed_days"] < 365
    assert relapsed[old].mean() > relapsed[new].mean() + 0.05
    # the one-year cohort figure counts only people followed a full year
    assert metrics.relapse_by(people, 365, 1825) == pytest.approx(
        (people.loc[people["entry_day"] <= 1460, "first_relapse_day"] <= 365).mean()
    )


if __name__ == "__main__":
    save_v0_1()

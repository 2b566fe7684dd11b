"""The daily rules as pure functions: each one moves in the direction the theory says.

Coefficients are set explicitly (all effects switched on) rather than taken from the
defaults, which are being recalibrated: these tests check the code's signs, not the values.
"""

from __future__ import annotations

import numpy as np
import pytest

from kds_sim.model import rules as B
from kds_sim.model.parameters import MODEL_0_2, Behaviour

GRID = np.linspace(0.0, 1.0, 21)


@pytest.fixture
def b() -> Behaviour:
    return Behaviour(
        hrs_base_rate=0.01,
        hrs_rate_per_using_tie=0.02,
        hrs_stress_rate=0.03,
        hrs_idle_rate=0.04,
        coping_intercept=-0.5,
        coping_weight=2.5,
        self_efficacy_weight=1.5,
        craving_weight=2.0,
        lapse_intercept=-3.0,
        expectancy_weight=2.5,
        lapse_craving_weight=4.0,
        ave_intercept=-0.5,
        ave_weight=3.0,
        help_weight=3.0,
        lapse_resolution_days=3.0,
        self_efficacy_gain=0.05,
        self_efficacy_loss=0.05,
        self_efficacy_growth=0.01,
        craving_decay_days=60.0,
        craving_floor=0.05,
        exposure_craving_boost=0.1,
        stress_relax_days=30.0,
        stigma_stress_per_tie=0.05,
        support_stress_per_tie=0.03,
        support_help_per_tie=0.05,
        reentry_rate=0.5,
        # the 0.2 mechanisms, on (tests/test_fidelity.py checks each one's direction)
        stress_coping_weight=1.0,
        lapse_self_efficacy_weight=1.5,
        lapse_interaction_weight=2.0,
        negative_expectancy_weight=1.0,
        expectancy_craving_share=0.3,
        expectancy_decay_per_year=0.5,
        ave_spell_weight=1.0,
        ave_commitment_weight=1.0,
        lapse_learning_gain=0.05,
        remission_rate=0.2,
        using_tie_end_rate=0.1,
        using_tie_cut_rate=0.5,
        # model 0.3's mechanisms off: these tests pin the 0.2 rules (tests/test_mechanisms_03.py
        # tests each 0.3 mechanism)
        **{k.split(".")[1]: v for k, v in MODEL_0_2.items() if k.startswith("behaviour.")},
    )


def increasing(values) -> bool:
    return bool(np.all(np.diff(np.asarray(values, dtype=float)) > 0))


def decreasing(values) -> bool:
    return bool(np.all(np.diff(np.asarray(values, dtype=float)) < 0))


def is_probability(values) -> bool:
    values = np.asarray(values, dtype=float)
    return bool(np.all((values >= 0) & (values <= 1)))


# 1. exposure
def test_exposure_rises_with_using_contacts_stress_and_idle(b):
    contacts = np.arange(0, 11)
    by_contacts = B.exposure_probability(contacts, 0.5, 0.5, b)
    by_stress = B.exposure_probability(2, GRID, 0.5, b)
    by_idle = B.exposure_probability(2, 0.5, GRID, b)
    for values in (by_contacts, by_stress, by_idle):
        assert increasing(values)
        assert is_probability(values)


def test_exposure_with_no_hazard_is_zero(b):
    none = b.model_copy(update={"hrs_base_rate": 0.0})
    assert B.exposure_probability(0, 0.0, 0.0, none) == 0.0


# 2. coping
def test_coping_success_rises_with_skill_and_confidence_falls_with_craving(b):
    assert increasing(B.coping_probability(GRID, 0.5, 0.5, b))
    assert increasing(B.coping_probability(0.5, GRID, 0.5, b))
    assert decreasing(B.coping_probability(0.5, 0.5, GRID, b))
    assert is_probability(B.coping_probability(GRID, GRID, GRID[::-1], b))


def test_self_efficacy_after_coping_success_up_failure_down(b):
    se = np.linspace(0.1, 0.9, 9)
    assert np.all(B.self_efficacy_after_coping(se, True, False, b) > se)
    assert np.all(B.self_efficacy_after_coping(se, False, True, b) < se)
    np.testing.assert_array_equal(B.self_efficacy_after_coping(se, False, False, b), se)


# 3. lapse
def test_lapse_rises_with_outcome_expectancy_and_craving(b):
    assert increasing(B.lapse_probability(GRID, 0.5, b))
    assert increasing(B.lapse_probability(0.5, GRID, b))
    assert is_probability(B.lapse_probability(GRID, GRID, b))


# 4. abstinence violation effect
def test_relapse_after_lapse_rises_with_ave_falls_with_help_seeking(b):
    assert increasing(B.relapse_probability(GRID, 0.3, b))
    assert decreasing(B.relapse_probability(0.5, GRID, b))
    assert is_probability(B.relapse_probability(GRID, GRID[::-1], b))


def test_longer_lapses_resolve_more_slowly(b):
    days = np.linspace(1, 30, 10)
    chances = [
        B.lapse_resolution_probability(b.model_copy(update={"lapse_resolution_days": d}))
        for d in days
    ]
    assert decreasing(chances)
    assert is_probability(chances)


# 5. recovery dynamics
def test_craving_decays_while_abstinent_and_flares_on_exposure(b):
    craving = np.linspace(0.2, 0.9, 8)  # all above the floor
    decayed = B.craving_after(craving, B.craving_decay_share(b), False, b)
    assert np.all(decayed < craving)
    assert np.all(decayed > b.craving_floor)
    np.testing.assert_array_equal(B.craving_after(craving, 0.0, False, b), craving)
    assert np.all(B.craving_after(craving, B.craving_decay_share(b), True, b) > decayed)
    slow = b.model_copy(update={"craving_decay_days": 240.0})
    assert np.all(B.craving_after(craving, B.craving_decay_share(slow), False, slow) > decayed)


def test_craving_falls_over_time_towards_its_floor(b):
    craving = np.array([0.9])
    path = [craving[0]]
    for _ in range(720):
        craving = B.craving_after(craving, B.craving_decay_share(b), False, b)
        path.append(craving[0])
    assert decreasing(path)
    assert path[-1] == pytest.approx(b.craving_floor, abs=0.01)


def test_self_efficacy_grows_only_while_abstinent(b):
    se = np.linspace(0.1, 0.9, 9)
    assert np.all(B.self_efficacy_growth(se, True, b) > se)
    np.testing.assert_array_equal(B.self_efficacy_growth(se, False, b), se)


def test_stress_relaxes_towards_baseline_from_both_sides(b):
    baseline = 0.5
    above = B.toward(np.array([0.9]), baseline, B.stress_relax_share(b))
    below = B.toward(np.array([0.1]), baseline, B.stress_relax_share(b))
    assert baseline < above[0] < 0.9
    assert 0.1 < below[0] < baseline


def test_stress_baseline_up_with_stigma_down_with_support(b):
    ties = np.arange(0, 6)
    assert increasing(B.stress_baseline(0.4, ties, 0, b))
    assert decreasing(B.stress_baseline(0.4, 0, ties, b))
    assert is_probability(
        B.stress_baseline(np.array([0.0, 1.0]), np.array([0, 50]), np.array([50, 0]), b)
    )


def test_help_seeking_baseline_up_with_supportive_ties(b):
    assert increasing(B.help_seeking_baseline(0.2, np.arange(0, 6), b))
    assert B.help_seeking_baseline(0.9, 100, b) == 1.0


def test_reentry_rises_with_rate(b):
    rates = np.linspace(0.0, 5.0, 11)
    chances = [B.reentry_probability(b.model_copy(update={"reentry_rate": r})) for r in rates]
    assert increasing(chances)
    assert chances[0] == 0.0


# one whole day
def _people(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    p = {
        name: rng.uniform(0.1, 0.9, n)
        for name in (
            "coping",
            "self_efficacy",
            "outcome_expectancy",
            "ave_susceptibility",
            "stress",
            "craving",
            "help_seeking",
            "self_efficacy_at_discharge",
            "craving_at_discharge",
            "negative_expectancy",
            "commitment",
        )
    }
    p["status"] = rng.integers(0, 3, n).astype(np.int8)
    p["days_abstinent"] = rng.integers(0, 100, n).astype(np.int32)
    p["spell_at_lapse"] = rng.integers(0, 300, n).astype(np.int32)
    p["days_using"] = rng.integers(0, 30, n).astype(np.int32)
    p["using_ties"] = rng.integers(0, 5, n)
    return p


def advance_day(p, contacts, idle, target, u, b, compiled=True):
    """B.person_day for each person of the arrays (or scalars) in `p`, with uniforms u[:6]."""
    day = B.kernel("person_day", compiled)
    k = B.coefficients([b])[0]
    n = np.size(p["status"])
    news, events = [], []
    for i in range(n):
        at = (lambda v: v) if np.ndim(p["status"]) == 0 else (lambda v: v[i])  # noqa: B023
        new, happened = day(
            *(at(p[name]) for name in (*B.STATE, *B.TRAITS_READ)),
            *(float(np.broadcast_to(x, (n,))[i]) for x in (contacts, idle, target)),
            *(float(np.reshape(u, (6, n))[j, i]) for j in range(6)),
            k,
        )
        news.append(new)
        events.append(happened)
    new_cols = {name: np.array([v[j] for v in news]) for j, name in enumerate(B.STATE)}
    event_cols = {name: np.array([e[j] for e in events]) for j, name in enumerate(B.EVENTS)}
    return new_cols, event_cols


def _day(p, u, b, contacts=None, idle=None, target=None):
    n = len(p["status"])
    contacts = np.full(n, 2.0) if contacts is None else contacts
    idle = np.full(n, 0.5) if idle is None else idle
    target = np.full(n, 0.4) if target is None else target
    return advance_day(p, contacts, idle, target, u, b)


def test_compiled_and_plain_python_person_day_agree(b):
    rng = np.random.default_rng(1)
    p = _people(50, rng)
    u = rng.random((6, 50))
    new, events = _day(p, u, b)
    for i in range(50):
        one = {k: v[i].item() for k, v in p.items()}  # plain Python scalars
        new_i, events_i = advance_day(one, 2.0, 0.5, 0.4, u[:, i].tolist(), b, compiled=False)
        for key in new:
            assert new_i[key][0] == new[key][i], (key, i)
        for key in events:
            assert bool(events_i[key][0]) == bool(events[key][i]), (key, i)


def test_advance_day_does_not_depend_on_the_order_of_people(b):
    rng = np.random.default_rng(2)
    p = _people(80, rng)
    u = rng.random((6, 80))
    contacts = rng.integers(0, 6, 80).astype(float)
    new, events = _day(p, u, b, contacts=contacts)
    order = rng.permutation(80)
    new_p, events_p = _day(
        {k: v[order] for k, v in p.items()}, u[:, order], b, contacts=contacts[order]
    )
    for key in new:
        np.testing.assert_array_equal(new_p[key], new[key][order])
    for key in events:
        np.testing.assert_array_equal(events_p[key], events[key][order])


def test_advance_day_certain_draws_give_the_expected_transitions(b):
    p = {
        k: np.array(v)
        for k, v in {
            "coping": [0.5] * 3,
            "self_efficacy": [0.5] * 3,
            "outcome_expectancy": [0.5] * 3,
            "ave_susceptibility": [0.5] * 3,
            "stress": [0.5] * 3,
            "craving": [0.5] * 3,
            "help_seeking": [0.5] * 3,
            "self_efficacy_at_discharge": [0.4] * 3,
            "craving_at_discharge": [0.6] * 3,
            "negative_expectancy": [0.5] * 3,
            "commitment": [0.5] * 3,
        }.items()
    }
    p["status"] = np.array([B.ABSTINENT, B.LAPSED, B.RELAPSED], dtype=np.int8)
    p["days_abstinent"] = np.array([10, 0, 0], dtype=np.int32)
    p["spell_at_lapse"] = np.array([0, 30, 0], dtype=np.int32)
    p["days_using"] = np.zeros(3, dtype=np.int32)
    p["using_ties"] = np.zeros(3, dtype=np.int64)
    # u = 0: every chance event happens -> exposed, (coped wins over lapse), lapse resolves
    # into relapse, relapsed person re-enters treatment.
    new, events = _day(p, np.zeros((6, 3)), b)
    assert events["exposed"].tolist() == [True, False, False]
    assert events["coped"].tolist() == [True, False, False]
    assert events["relapse"].tolist() == [False, True, False]
    assert events["reentry"].tolist() == [False, False, True]
    assert new["status"].tolist() == [B.ABSTINENT, B.RELAPSED, B.ABSTINENT]
    assert new["days_abstinent"].tolist() == [11, 0, 1]
    assert new["self_efficacy"][2] == 0.4 and new["craving"][2] == 0.6
    # exposed, coping fails (u=1), lapse happens (u=0)
    u = np.zeros((6, 3))
    u[1] = 1.0
    new, events = _day(p, u, b)
    assert events["lapse"].tolist() == [True, False, False]
    assert new["status"][0] == B.LAPSED
    assert new["self_efficacy"][0] < 0.5
    assert new["outcome_expectancy"][0] > 0.5
    # u = 1: nothing happens by chance; a lapse stays open
    new, events = _day(p, np.ones((6, 3)), b)
    assert not any(e.any() for e in events.values())
    assert new["status"].tolist() == p["status"].tolist()


def test_more_using_contacts_more_lapses_in_a_large_cohort(b):
    """Common uniforms: the same people with more using contacts lapse at least as often."""
    rng = np.random.default_rng(3)
    n = 20_000
    p = _people(n, rng)
    p["status"][:] = B.ABSTINENT
    u = rng.random((6, n))
    few = _day(p, u, b, contacts=np.zeros(n))[1]
    many = _day(p, u, b, contacts=np.full(n, 8.0))[1]
    assert np.all(many["exposed"] >= few["exposed"])
    assert many["lapse"].sum() > few["lapse"].sum()

"""The peer support group's rules: each PEKA mechanism improves with its capacity domain, and a
meeting teaches only those who attend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kds_sim.io.scenario_files import load_scenario
from kds_sim.model import group as G
from kds_sim.model import rules as B
from kds_sim.model.kds_model import KDSModel
from kds_sim.model.parameters import Group


def increasing(values) -> bool:
    return bool(np.all(np.diff(np.asarray(values, dtype=float)) > 0))


def decreasing(values) -> bool:
    return bool(np.all(np.diff(np.asarray(values, dtype=float)) < 0))


def is_probability(values) -> bool:
    values = np.asarray(values, dtype=float)
    return bool(np.all((values >= 0) & (values <= 1)))


# group rules
def _capacity(**scores) -> np.ndarray:
    cap = np.full(7, 2.5)
    for domain, score in scores.items():
        cap[G.D[domain]] = score
    return cap


def test_group_mechanisms_improve_with_their_capacity_domain():
    g = Group(enabled=True)
    scores = np.linspace(1, 4, 7)
    assert increasing([G.meeting_probability(_capacity(activity_management=s), g) for s in scores])
    assert increasing(
        [G.meeting_probability(_capacity(administration_finance=s), g) for s in scores]
    )
    assert increasing([G.attendance_probability(0.8, _capacity(leadership=s), g) for s in scores])
    assert decreasing(
        [G.dropout_probability(_capacity(management_membership=s), g) for s in scores]
    )
    assert increasing([G.skill_transfer(_capacity(human_resources=s), g) for s in scores])
    assert increasing([G.idle_reduction(_capacity(external_relations=s), g) for s in scores])


def test_attending_a_meeting_raises_coping_only_for_attendees():
    g = Group(enabled=True, coping_gain=0.1)
    p = {
        k: np.full(4, 0.4)
        for k in ("coping", "self_efficacy", "outcome_expectancy", "help_seeking", "stress")
    }
    attended = np.array([1.0, 0.0, 1.0, 0.0])
    after = B.learn(p, 0.8 * attended, G.meeting_gains(g))
    assert np.all(after["coping"][attended == 1] > 0.4)
    np.testing.assert_array_equal(after["coping"][attended == 0], 0.4)
    assert np.all(after["outcome_expectancy"][attended == 1] < 0.4)


# -- each domain moves only its channel, in the whole model (paired, common random numbers) ------

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
NO_EROSION = {"group.erosion_half_life_min": 1e15, "group.erosion_half_life_max": 1e15}


def _paired(domain: str, erosion: bool = False) -> tuple[KDSModel, KDSModel]:
    """The group as assessed and the same with one domain 1 point higher, same seed."""
    base = {"population.size": 200, "run.horizon_days": 120, **({} if erosion else NO_EROSION)}
    low = load_scenario(SCENARIOS / "group_as_assessed.toml", base)
    score = getattr(low.group.capacity, domain)
    high = load_scenario(
        SCENARIOS / "group_as_assessed.toml",
        {**base, f"group.capacity.{domain}": min(4.0, score + 1.0)},
    )
    return KDSModel(low, 3).run(), KDSModel(high, 3).run()


def _channels(model: KDSModel) -> dict[str, np.ndarray]:
    daily, p = model.daily_table(), model.people
    return {
        "held": daily["meeting_held"].to_numpy(),
        "members": daily["members"].to_numpy(),
        "attended": p.meetings_attended.copy(),
        "member_coping": p.coping[p.ever_member].copy(),
        "member_stress": p.stress[p.ever_member].copy(),
    }


CHANNEL = {  # domain -> the one channel it moves (kds_sim.model.group.MECHANISMS)
    "activity_management": "held",
    "administration_finance": "held",
    "management_membership": "members",
    "leadership": "attended",
    "human_resources": "member_coping",
    "external_relations": "member_stress",
}


@pytest.mark.parametrize("domain", sorted(CHANNEL))
def test_each_domain_moves_only_its_channel(domain):
    """Model 0.3, one channel per domain. A better domain changes its own channel in the
    right direction and leaves the group's other channels upstream of it identical: meetings
    held, membership and attendance are decided by the same draws in both runs."""
    low, high = (_channels(m) for m in _paired(domain))
    own = CHANNEL[domain]
    if own == "held":  # more meetings: every day the weaker group met, the better one meets
        assert np.all(high["held"] >= low["held"]) and high["held"].sum() > low["held"].sum()
    elif own == "members":  # fewer drop out
        assert (
            np.all(high["members"] >= low["members"]) and high["members"][-1] > low["members"][-1]
        )
    elif own == "attended":
        assert np.all(high["attended"] >= low["attended"])
        assert high["attended"].sum() > low["attended"].sum()
    elif own == "member_coping":  # meetings pass on more skill
        assert high["member_coping"].mean() > low["member_coping"].mean() + 0.005
    else:  # partners lower members' stress target
        assert np.all(high["member_stress"] <= low["member_stress"] + 1e-15)
        assert high["member_stress"].mean() < low["member_stress"].mean()
    upstream = {"held": ("held",), "members": ("held", "members")}
    upstream["attended"] = upstream["members"]
    unchanged = {
        "held": ("members",),  # planning and holding meetings do not keep members
        "members": ("held",),
        "attended": upstream["attended"],
        "member_coping": (*upstream["attended"], "attended"),
        "member_stress": (*upstream["attended"], "attended"),
    }[own]
    for channel in unchanged:
        assert np.array_equal(high[channel], low[channel]), channel


def test_sustainability_acts_only_through_erosion():
    """With erosion off a better sustainability score changes nothing else; with it on, every
    other domain erodes more slowly."""
    low, high = _paired("sustainability")
    other = [c for c in low.daily_table().columns if not c.startswith("capacity_")]
    assert low.daily_table()[other].equals(high.daily_table()[other])
    assert low.person_table().equals(high.person_table())
    low, high = _paired("sustainability", erosion=True)
    a, b = low.daily_table().iloc[-1], high.daily_table().iloc[-1]
    for d in G.DOMAINS:
        if d != "sustainability":
            assert b[f"capacity_{d}"] > a[f"capacity_{d}"], d

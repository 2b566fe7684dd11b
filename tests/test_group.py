"""The peer support group's rules: each PEKA mechanism improves with its capacity domain, and a
meeting teaches only those who attend."""

from __future__ import annotations

import numpy as np

from kds_sim.model import group as G
from kds_sim.model import rules as B
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

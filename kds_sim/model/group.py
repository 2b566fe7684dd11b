"""The peer support group (KDS): its PEKA capacity and how each domain becomes an effect.

Capacity is scored 1 (poor) to 4 (good) in seven domains. Each mechanism reads one domain,
normalised to 0-1, and interpolates between a value at score 1 and a value at score 4 (both
parameters). Capacity is a [domain] vector, or [domain, replicate] (and [domain, replicate, 1])
for the ensemble engine: the same functions then give one value per replicate. MECHANISMS below
is the mapping, domain -> mechanism -> parameters; the docs
table in docs/parameters.md is generated from it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np

from kds_sim.model.parameters import DOMAINS, Group
from kds_sim.model.rules import ABSTINENT, LAPSED, RELAPSED, SkillGains

D = {name: i for i, name in enumerate(DOMAINS)}
COEFFICIENTS = tuple(name for name, f in Group.model_fields.items() if f.annotation is float)
"""The group's numeric settings: the fields of a row's record in `coefficients`."""
Settings = Group | np.recarray | SimpleNamespace
"""One group's settings, or one value per row by name (broadcast like capacity's levels)."""

MECHANISMS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "management_membership",
        "member dropout (keeping members)",
        ("group.dropout_per_month_min", "group.dropout_per_month_max"),
    ),
    (
        "leadership",
        "attendance of members at meetings (x member engagement)",
        ("group.attendance_min", "group.attendance_max", "population.engagement"),
    ),
    (
        "administration_finance",
        "whether a planned meeting is held (organised and funded)",
        ("group.meeting_held_min",),
    ),
    (
        "activity_management",
        "meetings planned per month",
        ("group.meetings_per_month_min", "group.meetings_per_month_max"),
    ),
    (
        "external_relations",
        "links to BNN, health services, jobs: members' idle time and baseline stress reduced",
        ("group.idle_reduction_max", "group.stress_reduction_max"),
    ),
    (
        "human_resources",
        "relapse-prevention skill a meeting transfers: coping, self-efficacy, "
        "outcome expectancy, help-seeking after a lapse",
        (
            "group.transfer_floor",
            "group.coping_gain",
            "group.self_efficacy_gain",
            "group.expectancy_drop",
            "group.help_seeking_gain",
        ),
    ),
    (
        "sustainability",
        "half-life of capacity above the erosion floor (mentoring slows erosion; the group "
        "stops meeting below a mean capacity threshold)",
        (
            "group.erosion_floor",
            "group.erosion_half_life_min",
            "group.erosion_half_life_max",
            "group.stop_threshold",
            "intervention_effects.mentoring.erosion_reduction",
        ),
    ),
)
"""Domain -> mechanism -> parameters: each domain acts through one channel, and each channel
reads one domain (model 0.3, issue 21). Attending any meeting also relieves stress
(group.stress_relief), whatever the capacity."""


def lerp(at_1: float, at_4: float, level: Any) -> Any:
    """Interpolate between the value at score 1 (level 0) and at score 4 (level 1)."""
    return at_1 + (at_4 - at_1) * level


def level(capacity: np.ndarray, domain: str) -> Any:
    """A domain's score on a 0-1 scale."""
    return (capacity[D[domain]] - 1.0) / 3.0


def meeting_probability(capacity: np.ndarray, g: Settings) -> Any:
    """Chance that the group meets on a given day: planned (activity management), then held,
    organised and funded (administration & finance)."""
    planned = (
        lerp(
            g.meetings_per_month_min,
            g.meetings_per_month_max,
            level(capacity, "activity_management"),
        )
        / 30.0
    )
    held = lerp(g.meeting_held_min, 1.0, level(capacity, "administration_finance"))
    return np.minimum(1.0, planned * held)


def attendance_probability(engagement: np.ndarray, capacity: np.ndarray, g: Settings) -> np.ndarray:
    """Chance that a member attends a meeting that is held."""
    return engagement * lerp(g.attendance_min, g.attendance_max, level(capacity, "leadership"))


def attendance_by_state(status: np.ndarray, g: Settings) -> np.ndarray:
    """Model 0.3: attendance relative to an abstinent member's: relapsed_attendance_ratio while
    lapsed or relapsed, 0 in treatment or prison (away), 1 otherwise."""
    using = (status == LAPSED) | (status == RELAPSED)
    away = (status != ABSTINENT) & ~using
    return np.where(using, g.relapsed_attendance_ratio, np.where(away, 0.0, 1.0))


def dropout_by_state(status: np.ndarray, g: Settings) -> np.ndarray:
    """Model 0.3: dropout relative to an abstinent member's (relapsed_dropout_ratio while
    lapsed or relapsed)."""
    using = (status == LAPSED) | (status == RELAPSED)
    return np.where(using, g.relapsed_dropout_ratio, 1.0)


def rejoin_probability(g: Settings) -> Any:
    """Model 0.3: daily chance that a former member, abstinent and present, rejoins."""
    return g.rejoin_per_month / 30.0


def partner_reach(attendance: Any, g: Settings) -> Any:
    """Model 0.3: the share of the partner channel (idle and stress cuts) a member gets:
    1 at partner_attendance_scaling 0 (0.2: every member every day), the member's chance to
    attend a held meeting at 1."""
    s = g.partner_attendance_scaling
    return (1.0 - s) + s * attendance


def dropout_probability(capacity: np.ndarray, g: Settings) -> Any:
    """Daily chance that a member leaves the group (management & membership)."""
    return (
        lerp(
            g.dropout_per_month_max,
            g.dropout_per_month_min,
            level(capacity, "management_membership"),
        )
        / 30.0
    )


def skill_transfer(capacity: np.ndarray, g: Settings) -> Any:
    """Share of the full relapse-prevention effect one meeting passes on (human resources:
    the facilitators' skill; relapse-prevention training acts on members through it alone)."""
    return lerp(g.transfer_floor, 1.0, level(capacity, "human_resources"))


def idle_reduction(capacity: np.ndarray, g: Settings) -> Any:
    """Share of members' idle time filled through partners (jobs, skills training)."""
    return g.idle_reduction_max * level(capacity, "external_relations")


def stress_reduction(capacity: np.ndarray, g: Settings) -> Any:
    """Share of members' baseline stress relieved through partners (BNN, health services)."""
    return g.stress_reduction_max * level(capacity, "external_relations")


def half_power(x: Any) -> np.ndarray:
    """0.5 ** x, element by element with the C library's scalar pow.

    Capacity feeds back into the dynamics, so it must not depend on which SIMD loop numpy
    picks for an array's shape or CPU (an AVX-512 pow can differ in the last bit)."""
    values = np.asarray(x, dtype=np.float64)
    return np.array([math.pow(0.5, v) for v in values.ravel().tolist()]).reshape(values.shape)


def mean_capacity(capacity: np.ndarray) -> Any:
    """Mean over the domains (axis 0), added in domain order: elementwise adds only, so one
    group alone and a batch of groups give the same bits on any CPU."""
    total = capacity[0]
    for d in range(1, len(DOMAINS)):
        total = total + capacity[d]
    return total / len(DOMAINS)


def erode(capacity: np.ndarray, g: Settings, protection: Any = 0.0) -> np.ndarray:
    """One day of erosion towards the floor; `protection` (0-1) is the share mentoring prevents."""
    half_life = lerp(
        g.erosion_half_life_min, g.erosion_half_life_max, level(capacity, "sustainability")
    )
    keep = half_power((1.0 - protection) / half_life)
    above = np.maximum(capacity - g.erosion_floor, 0.0)
    return np.minimum(capacity, g.erosion_floor + above * keep)


def befriended(attended: np.ndarray, u: np.ndarray, attendance: Any, g: Settings) -> np.ndarray:
    """Who makes a new abstinent friend at the meeting they attended.

    Given u < attendance (they attended), u / attendance is uniform again, so the meeting's
    own row of draws decides this too and no other random number changes.
    """
    within = u / np.maximum(attendance, 1e-300)
    return attended & (within < g.befriend_per_meeting)


def meeting_gains(g: Settings) -> SkillGains:
    """What one meeting at full skill transfer teaches an attending member."""
    return SkillGains(g.coping_gain, g.self_efficacy_gain, g.expectancy_drop, g.help_seeking_gain)


def relieve_stress(stress: np.ndarray, attended: np.ndarray, g: Settings) -> np.ndarray:
    """Attending any meeting relieves some stress, whatever the group's capacity."""
    return stress * (1.0 - g.stress_relief * attended)


def coefficients(settings: Sequence[Group]) -> np.recarray:
    """One record per row: its group's `COEFFICIENTS`, read by the stage functions as `g`."""
    g = np.recarray(len(settings), dtype=[(name, np.float64) for name in COEFFICIENTS])
    for name in COEFFICIENTS:
        g[name] = [getattr(s, name) for s in settings]
    return g


class PeerGroup:
    """The group's state: capacity by domain, whether it still meets, and today's mechanisms."""

    def __init__(self, settings: Group):
        self.settings = settings
        self.enabled = settings.enabled
        self.capacity = np.array([getattr(settings.capacity, d) for d in DOMAINS], dtype=float)
        # a group that starts below the threshold never meets (stopped on day 0)
        self.active = settings.enabled and self.mean_capacity >= settings.stop_threshold
        self.stopped_day: int | None = 0 if settings.enabled and not self.active else None

    @property
    def mean_capacity(self) -> float:
        return float(mean_capacity(self.capacity))

    def raise_capacity(self, gains: dict[str, float]) -> None:
        for domain, gain in gains.items():
            self.capacity[D[domain]] = min(4.0, self.capacity[D[domain]] + gain)

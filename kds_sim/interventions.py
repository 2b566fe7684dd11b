"""Capacity-building interventions: scheduled sessions that raise PEKA domains and members' skills.

Kinds (brief section 4): work_plan, relapse_prevention_training, group_management_training,
networking_training raise the domains in `intervention_effects.domain_gain` at every session;
relapse-prevention training also trains the members who attend; mentoring slows erosion
while it lasts; recruitment grows the membership towards a target coverage.
"""

from __future__ import annotations

import numpy as np

from kds_sim.behaviour import toward
from kds_sim.parameters import Intervention, Interventions

TRAININGS = ("work_plan", "relapse_prevention_training", "group_management_training",
             "networking_training")


def session_days(item: Intervention) -> range:
    return range(item.start_day, item.start_day + item.sessions * item.interval_days,
                 item.interval_days)


def is_running(item: Intervention, day: int) -> bool:
    """Mentoring and recruitment act every day from start_day for duration_days (or forever)."""
    end = item.start_day + item.duration_days if item.duration_days else None
    return day >= item.start_day and (end is None or day < end)


def train_members(p: dict, attended, item: Intervention, e: Interventions) -> dict:
    """What a relapse-prevention training session does to a member who attends (0/1)."""
    dose = item.dose * attended
    return {
        "coping": toward(p["coping"], 1.0, np.minimum(1.0, e.training_coping_gain * dose)),
        "self_efficacy": toward(p["self_efficacy"], 1.0,
                                np.minimum(1.0, e.training_self_efficacy_gain * dose)),
        "outcome_expectancy": p["outcome_expectancy"]
        * (1.0 - np.minimum(1.0, e.training_expectancy_drop * dose)),
        "help_seeking": toward(p["help_seeking"], 1.0,
                               np.minimum(1.0, e.training_help_seeking_gain * dose)),
    }


def recruitment_order(targeting: str, using_ties: np.ndarray, engagement: np.ndarray,
                      priority: np.ndarray) -> np.ndarray:
    """People in the order they join: random, most using-friend ties first, or most engaged."""
    if targeting == "most_using_ties":
        return np.lexsort((priority, -using_ties))
    if targeting == "most_engaged":
        return np.lexsort((priority, -engagement))
    return np.argsort(priority, kind="stable")


class Schedule:
    """Which interventions act on which day."""

    def __init__(self, items: list[Intervention], effects: Interventions):
        self.items = items
        self.effects = effects
        self._sessions: dict[int, list[Intervention]] = {}
        for item in items:
            if item.kind in TRAININGS:
                for day in session_days(item):
                    self._sessions.setdefault(day, []).append(item)

    def sessions(self, day: int) -> list[Intervention]:
        return self._sessions.get(day, [])

    def domain_gains(self, item: Intervention) -> dict[str, float]:
        return {d: g * item.dose for d, g in self.effects.domain_gain.get(item.kind, {}).items()}

    def mentoring_protection(self, day: int) -> float:
        """Share of today's erosion prevented by mentoring (doses above 1 cannot exceed all)."""
        dose = sum(i.dose for i in self.items if i.kind == "mentoring" and is_running(i, day))
        return min(1.0, self.effects.mentoring_erosion_reduction * dose)

    def recruiting(self, day: int) -> list[Intervention]:
        return [i for i in self.items if i.kind == "recruitment" and is_running(i, day)]

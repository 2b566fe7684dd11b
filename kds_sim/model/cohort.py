"""One replicate's people, network and group, without Mesa: what every engine steps.

`Cohort` owns the setup (draws, network, group, first enrolment) and the parts of a day that
are not the relapse rules (the group's day, bookkeeping, the person table). KDSModel (Mesa,
one replicate) and the ensemble engine (many replicates at once) both use it, so the group,
interventions and recruitment behave identically in every engine.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kds_sim.model import group, rules
from kds_sim.model.interventions import plan, recruitment_order
from kds_sim.model.network import SocialNetwork, build
from kds_sim.model.people import People, draw_people
from kds_sim.model.rules import LAPSED, Draw, SkillGains
from kds_sim.model.scenario import Scenario

STREAMS = ("population", "network", "daily", "group", "mesa")
EVENTS = ("exposed", "coped", "lapse", "relapse", "reentry")


def stream(seed: np.random.SeedSequence, name: str) -> np.random.SeedSequence:
    """A named child of a replicate's seed: the same name gives the same numbers in any scenario."""
    return np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, STREAMS.index(name)))


class Cohort:
    """A replicate's state and its non-rule daily steps (the hooks' `model` argument)."""

    people: People
    network: SocialNetwork

    def setup(self, scenario: Scenario, seed: np.random.SeedSequence) -> None:
        self.settings = scenario
        self.behaviour = scenario.behaviour
        rng = {name: np.random.default_rng(stream(seed, name)) for name in STREAMS[:4]}
        self.daily_rng, self.group_rng = rng["daily"], rng["group"]

        size = scenario.population.size
        if scenario.network.edges_file:
            self.network = build(scenario.network, size, rng["network"])
            size = self.network.size
        self.people = draw_people(scenario.population, size, rng["population"])
        if not scenario.network.edges_file:
            self.network = build(scenario.network, size, rng["network"])
        p, net = self.people, self.network
        p.stress_baseline = rules.stress_baseline(
            p.stress, net.stigmatising_ties, net.supportive_ties, self.behaviour
        )
        p.help_seeking[:] = rules.help_seeking_baseline(
            p.help_seeking, net.supportive_ties, self.behaviour
        )

        self.group = group.PeerGroup(scenario.group)
        self.interventions = plan(scenario.interventions, scenario.intervention_effects)
        if self.group.enabled:
            self.enrol(scenario.group.recruitment, int(round(scenario.group.coverage * size)))
        self.events = {k: np.zeros(size, dtype=bool) for k in EVENTS}
        self.attended = np.zeros(size, dtype=bool)
        self.meeting_held = False

    # -- the group's part of a day -------------------------------------------------------------
    def group_day(self, day: int, u: np.ndarray, meeting_draw: float) -> None:
        """Recruitment, dropout, sessions, a meeting and attendance (step 1 of a day)."""
        p, g = self.people, self.group
        self.attended[:] = False
        self.meeting_held = False
        if not g.active:
            return
        settings = g.settings
        acting = [k for k in self.interventions if k.acts_on(day - 1)]
        for kind in acting:
            kind.on_day_start(self)
        leaving = p.member & (u[Draw.DROPOUT] < group.dropout_probability(g.capacity, settings))
        p.member[leaving] = False
        for kind in acting:
            kind.on_session(self, u[Draw.TRAINING])
        self.meeting_held = bool(meeting_draw < group.meeting_probability(g.capacity, settings))
        if self.meeting_held:
            self.attended[:] = p.member & (
                u[Draw.MEETING] < group.attendance_probability(p.engagement, g.capacity, settings)
            )
            p.meetings_attended += self.attended
            p.stress[:] = group.relieve_stress(p.stress, self.attended, settings)
            self.learn(
                group.skill_transfer(g.capacity, settings) * self.attended,
                group.meeting_gains(settings),
            )

    def group_effects(self) -> tuple[float, float]:
        """Shares of members' idle time and baseline stress removed today (0 if no group)."""
        if not self.group.active:
            return 0.0, 0.0
        c, s = self.group.capacity, self.group.settings
        return group.idle_reduction(c, s), group.stress_reduction(c, s)

    def end_of_day(self, day: int) -> None:
        """Capacity erodes (slower under mentoring); the group may stop meeting."""
        if self.group.active:
            protection = sum(
                k.erosion_protection() for k in self.interventions if k.acts_on(day - 1)
            )
            self.group.end_of_day(day, min(1.0, protection))

    # -- what interventions and the group do to people ------------------------------------------
    def learn(self, dose: np.ndarray, gains: SkillGains) -> None:
        """Everyone learns relapse-prevention skills at their dose (0 for those absent)."""
        self.people.write(slice(None), rules.learn(self.people.view(slice(None)), dose, gains))

    def enrol(self, targeting: str, quota: int) -> None:
        """The next `quota` non-members, in the order `targeting` gives, join the group."""
        p = self.people
        order = recruitment_order(
            targeting, self.network.using_ties, p.engagement, p.recruit_priority
        )
        joining = order[~p.member[order]][:quota]
        p.member[joining] = True
        p.ever_member[joining] = True

    def person_table(self, horizon: int) -> pd.DataFrame:
        p, net = self.people, self.network
        event = p.first_relapse_day >= 0
        return pd.DataFrame(
            {
                "person": np.arange(p.size),
                "member": p.ever_member,
                "member_at_end": p.member,
                "meetings_attended": p.meetings_attended,
                "using_ties": net.using_ties,
                "supportive_ties": net.supportive_ties,
                "stigmatising_ties": net.stigmatising_ties,
                "first_lapse_day": np.where(p.first_lapse_day >= 0, p.first_lapse_day, np.nan),
                "first_relapse_day": np.where(event, p.first_relapse_day, np.nan),
                "relapse_time": np.where(event, p.first_relapse_day, horizon),
                "relapse_censored": ~event,
                "lapses": p.lapses,
                "relapses": p.relapses,
                "open_lapse": p.status == LAPSED,
                "status_at_end": np.vectorize(rules.STATES.get, otypes=[object])(p.status),
                "coping_at_end": p.coping,
                "self_efficacy_at_end": p.self_efficacy,
            }
        )

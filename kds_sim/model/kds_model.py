"""The Mesa model: one step is one day after discharge from rehab.

Order of events in a day (day d = 1, 2, ...; interventions act on their day d-1):
1. group (if it exists and still meets): interventions' start-of-day hooks (recruitment
   drives), member dropout, intervention sessions, a meeting (held by chance set by
   capacity) and attendance;
2. each person's network exposure is read from the start-of-day state: using friends plus
   peers who are currently relapsed; members' idle time and stress baseline are lowered
   through the group's outside partners;
3. the relapse rules (kds_sim.model.rules.advance_day) for every person, all reading the
   same start-of-day state, so activation order cannot change the result;
4. bookkeeping (first lapse/relapse days), then capacity erodes (slower under mentoring)
   and a group whose mean capacity falls below the threshold stops meeting.
"""

from __future__ import annotations

from typing import Any

import mesa
import numpy as np
import pandas as pd
from mesa import DataCollector

from kds_sim.model import group, rules
from kds_sim.model.agents import RecoveringPerson, UsingFriend
from kds_sim.model.interventions import plan, recruitment_order
from kds_sim.model.network import build
from kds_sim.model.parameters import DOMAINS
from kds_sim.model.people import draw_people, entry_days
from kds_sim.model.rules import (
    ABSENT,
    ABSTINENT,
    LAPSED,
    N_DRAWS,
    RELAPSED,
    STAYED,
    Draw,
    SkillGains,
)
from kds_sim.model.scenario import Scenario

STREAMS = ("population", "network", "daily", "group", "mesa", "flow")
"""Named random streams; "flow" (exits from an open population) is drawn only when some exit
rate is set, so a closed cohort's numbers do not depend on it."""
EVENTS = (
    "exposed",
    "coped",
    "lapse",
    "relapse",
    "reentry",
    "remission",
    "recovered",
    "using_tie_lost",
)


def stream(seed: np.random.SeedSequence, name: str) -> np.random.SeedSequence:
    """A named child of a replicate's seed: the same name gives the same numbers in any scenario."""
    return np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, STREAMS.index(name)))


class KDSModel(mesa.Model):
    """Relapse after rehab among recovering people on a social network, with an optional KDS.

    `scenario.run.engine` decides how a day is stepped: "vector" applies the rules to everyone
    at once, "agent" has each Mesa `RecoveringPerson` apply them to itself (in random order;
    both give identical results). The Mesa agents exist in either case.
    """

    def __init__(self, scenario: Scenario, seed: np.random.SeedSequence | int = 0):
        seed = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        super().__init__(rng=int(stream(seed, "mesa").generate_state(1)[0]))
        self.settings = scenario  # the validated Scenario (Mesa's own `scenario` is another thing)
        self.behaviour = scenario.behaviour
        rng = {name: np.random.default_rng(stream(seed, name)) for name in STREAMS}
        self.daily_rng, self.group_rng = rng["daily"], rng["group"]

        self.flow_rng = rng["flow"]
        pop = scenario.population
        entries = entry_days(pop, scenario.run.horizon_days)
        size = len(entries)
        if scenario.network.edges_file:
            self.network = build(scenario.network, size, rng["network"])
            size = self.network.size
            entries = np.zeros(size, dtype=np.int32)
        self.people = draw_people(pop, size, rng["population"])
        if not scenario.network.edges_file:
            self.network = build(scenario.network, size, rng["network"])
        p, net = self.people, self.network
        p.entry_day[:] = entries
        p.status[entries > 0] = ABSENT
        self.exits = any((pop.death_rate, pop.overdose_death_rate, pop.move_away_rate))
        p.stress_baseline = rules.stress_baseline(
            p.stress, net.stigmatising_ties, net.supportive_ties, self.behaviour
        )
        p.using_ties[:] = net.using_ties
        p.supportive_ties[:] = net.supportive_ties
        p.help_seeking[:] = rules.help_seeking_baseline(
            p.help_seeking, net.supportive_ties, self.behaviour
        )

        self.group = group.PeerGroup(scenario.group)
        self.interventions = plan(scenario.interventions, scenario.intervention_effects)
        if self.group.enabled:
            initial = int(np.count_nonzero(entries == 0))
            self.enrol(scenario.group.recruitment, int(round(scenario.group.coverage * initial)))

        self.engine = scenario.run.engine
        RecoveringPerson.create_agents(self, size, list(range(size)))
        UsingFriend.create_agents(self, net.n_using_friends, list(range(net.n_using_friends)))
        self.today: dict[str, np.ndarray] = {}
        self.events = {k: np.zeros(size, dtype=bool) for k in EVENTS}
        self.attended = np.zeros(size, dtype=bool)
        self.meeting_held = False
        self.datacollector = DataCollector(model_reporters=self._reporters())
        self.datacollector.collect(self)

    @property
    def day(self) -> int:
        """Days since discharge: Mesa's step counter."""
        return self.steps

    # -- reporters ---------------------------------------------------------------------------
    def _reporters(self) -> dict[str, Any]:
        p = self.people
        reporters: dict[str, Any] = {
            "day": lambda m: m.day,
            "abstinent": lambda m: int(np.count_nonzero(p.status == ABSTINENT)),
            "lapsed": lambda m: int(np.count_nonzero(p.status == LAPSED)),
            "relapsed": lambda m: int(np.count_nonzero(p.status == RELAPSED)),
            "ever_relapsed": lambda m: int(np.count_nonzero(p.first_relapse_day >= 0)),
            "present": lambda m: int(np.count_nonzero(p.status != ABSENT)),
            "exits": lambda m: int(np.count_nonzero(p.exit_day == m.day)),
            "new_lapses": lambda m: int(np.count_nonzero(m.events["lapse"])),
            "new_relapses": lambda m: int(np.count_nonzero(m.events["relapse"])),
            "reentries": lambda m: int(np.count_nonzero(m.events["reentry"])),
            "remissions": lambda m: int(np.count_nonzero(m.events["remission"])),
            "exposures": lambda m: int(np.count_nonzero(m.events["exposed"])),
            "members": lambda m: int(np.count_nonzero(p.member)),
            "meeting_held": lambda m: bool(m.meeting_held),
            "attendance": lambda m: int(np.count_nonzero(m.attended)),
            "group_active": lambda m: bool(m.group.active),
            "mean_coping": lambda m: float(p.coping[p.status != ABSENT].mean()),
            "mean_self_efficacy": lambda m: float(p.self_efficacy[p.status != ABSENT].mean()),
            "capacity_mean": lambda m: m.group.mean_capacity if m.group.enabled else np.nan,
        }
        for i, domain in enumerate(DOMAINS):
            reporters[f"capacity_{domain}"] = lambda m, i=i: (
                float(m.group.capacity[i]) if m.group.enabled else np.nan
            )
        return reporters

    # -- one day -----------------------------------------------------------------------------
    def step(self) -> None:
        p, n = self.people, self.people.size
        self._admit()
        u = self.daily_rng.random((N_DRAWS, n))
        meeting_draw = self.group_rng.random()
        self._group_day(u, meeting_draw)

        relapsed = p.status == RELAPSED
        idle, stress_target = p.idle, p.stress_baseline
        if self.group.active:
            member = p.member.astype(np.float64)
            idle = p.idle * (
                1.0 - member * group.idle_reduction(self.group.capacity, self.group.settings)
            )
            stress_target = p.stress_baseline * (
                1.0 - member * group.stress_reduction(self.group.capacity, self.group.settings)
            )
        self.today = {
            "u": u,
            "idle": idle,
            "stress_target": stress_target,
            "contacts": p.using_ties + self.network.relapsed_peers(relapsed),
        }
        if self.engine == "agent":
            self.agents_by_type[RecoveringPerson].shuffle_do("step")
        else:
            self.apply_rules(slice(None))
        self._record_events()
        if self.exits:
            self._exits()
        if self.group.active:
            protection = sum(
                k.erosion_protection() for k in self.interventions if k.acts_on(self.day - 1)
            )
            self.group.end_of_day(self.day, min(1.0, protection))
        self.datacollector.collect(self)

    def apply_rules(self, index: slice) -> None:
        """Run the day's relapse rules for the people in `index` (everyone, or one agent)."""
        t = self.today
        new, events = rules.advance_day(
            self.people.view(index),
            t["contacts"][index],
            t["idle"][index],
            t["stress_target"][index],
            t["u"][:, index],
            self.behaviour,
        )
        self.people.write(index, new)
        for name, value in events.items():
            self.events[name][index] = value

    def _group_day(self, u: np.ndarray, meeting_draw: float) -> None:
        p, g = self.people, self.group
        self.attended[:] = False
        self.meeting_held = False
        if not g.active:
            return
        settings = g.settings
        acting = [k for k in self.interventions if k.acts_on(self.day - 1)]
        for kind in acting:
            kind.on_day_start(self)
        leaving = p.member & (u[Draw.DROPOUT] < group.dropout_probability(g.capacity, settings))
        p.member[leaving] = False
        for kind in acting:
            kind.on_session(self, u[Draw.TRAINING])
        self.meeting_held = bool(meeting_draw < group.meeting_probability(g.capacity, settings))
        if self.meeting_held:
            attendance = group.attendance_probability(p.engagement, g.capacity, settings)
            self.attended = p.member & (u[Draw.MEETING] < attendance)
            p.meetings_attended += self.attended
            self._befriend(group.befriended(self.attended, u[Draw.MEETING], attendance, settings))
            p.stress = group.relieve_stress(p.stress, self.attended, settings)
            self.learn(
                group.skill_transfer(g.capacity, settings) * self.attended,
                group.meeting_gains(settings),
            )

    # -- what interventions and the group do to people ------------------------------------------
    def learn(self, dose: np.ndarray, gains: SkillGains) -> None:
        """Everyone learns relapse-prevention skills at their dose (0 for those absent)."""
        self.people.write(slice(None), rules.learn(self.people.view(slice(None)), dose, gains))

    def _admit(self) -> None:
        """People discharged today join the population; a share `group.coverage` of them joins
        the group (those with the lowest recruit_priority, as random recruitment does)."""
        p = self.people
        arriving = (p.entry_day == self.day) & (p.status == ABSENT) & (p.exit_day < 0)
        if self.day == 0 or not arriving.any():
            return
        p.status[arriving] = ABSTINENT
        if self.group.enabled and self.group.active:
            joining = arriving & (p.recruit_priority < self.settings.group.coverage)
            p.member[joining] = True
            p.ever_member[joining] = True

    def _exits(self) -> None:
        """Deaths (overdose among them) and moves, decided on the "flow" stream."""
        p = self.people
        reason = rules.exit_reason(self.flow_rng.random(p.size), p.status, self.settings.population)
        leaving = reason != STAYED
        p.status[leaving] = ABSENT
        p.exit_day[leaving] = self.day
        p.exit_reason[leaving] = reason[leaving]
        p.member[leaving] = False

    def _befriend(self, new_friend: np.ndarray) -> None:
        """A new abstinent friend from the group: one more supportive tie, with what a
        supportive tie does to distal stress and help-seeking (Litt et al. 2009)."""
        if not new_friend.any():
            return
        p, b = self.people, self.behaviour
        p.supportive_ties += new_friend
        p.stress_baseline = np.clip(
            p.stress_baseline - b.support_stress_per_tie * new_friend, 0.0, 1.0
        )
        p.help_seeking = np.clip(p.help_seeking + b.support_help_per_tie * new_friend, 0.0, 1.0)

    def enrol(self, targeting: str, quota: int) -> None:
        """The next `quota` non-members, in the order `targeting` gives, join the group."""
        p = self.people
        order = recruitment_order(targeting, p.using_ties, p.engagement, p.recruit_priority)
        joining = order[~p.member[order] & (p.status[order] != ABSENT)][:quota]
        p.member[joining] = True
        p.ever_member[joining] = True

    def _record_events(self) -> None:
        p, e, day = self.people, self.events, self.day
        p.first_lapse_day[e["lapse"] & (p.first_lapse_day < 0)] = day
        p.first_relapse_day[e["relapse"] & (p.first_relapse_day < 0)] = day
        p.lapses += e["lapse"]
        p.relapses += e["relapse"]
        p.remissions += e["remission"]
        if e["using_tie_lost"].any():
            self.network.drop_using_ties(np.flatnonzero(e["using_tie_lost"]))

    # -- results -------------------------------------------------------------------------------
    def run(self, days: int | None = None) -> KDSModel:
        for _ in range(days if days is not None else self.settings.run.horizon_days):
            self.step()
        return self

    def daily_table(self) -> pd.DataFrame:
        return self.datacollector.get_model_vars_dataframe().reset_index(drop=True)

    def person_table(self) -> pd.DataFrame:
        """One row per person; days count from the person's own discharge."""
        p, net = self.people, self.network
        event = p.first_relapse_day >= 0
        lapse = p.first_lapse_day >= 0
        end = np.where(p.exit_day >= 0, p.exit_day, self.day)
        return pd.DataFrame(
            {
                "person": np.arange(p.size),
                "entry_day": p.entry_day,
                "exit_day": np.where(p.exit_day >= 0, p.exit_day, np.nan),
                "exit_reason": np.vectorize(rules.EXITS.get, otypes=[object])(p.exit_reason),
                "followed_days": end - p.entry_day,
                "member": p.ever_member,
                "member_at_end": p.member,
                "meetings_attended": p.meetings_attended,
                "using_ties": net.using_ties,
                "supportive_ties": net.supportive_ties,
                "stigmatising_ties": net.stigmatising_ties,
                "first_lapse_day": np.where(lapse, p.first_lapse_day - p.entry_day, np.nan),
                "first_relapse_day": np.where(event, p.first_relapse_day - p.entry_day, np.nan),
                "relapse_time": np.where(event, p.first_relapse_day, end) - p.entry_day,
                "relapse_censored": ~event,
                "lapses": p.lapses,
                "relapses": p.relapses,
                "open_lapse": p.status == LAPSED,
                "status_at_end": np.vectorize(rules.STATES.get, otypes=[object])(p.status),
                "remissions": p.remissions,
                "days_using": p.days_using,
                "using_ties_at_end": p.using_ties,
                "supportive_ties_at_end": p.supportive_ties,
                "coping_at_end": p.coping,
                "self_efficacy_at_end": p.self_efficacy,
            }
        )

"""The Mesa model: one step is one day after discharge from rehab.

Order of events in a day (day d = 1, 2, ...; interventions act on their day d-1):
1. group (if it exists and still meets): interventions' start-of-day hooks (recruitment
   drives), member dropout, intervention sessions, a meeting (held by chance set by
   capacity) and attendance;
2. each person's network exposure is read from the start-of-day state: using friends plus
   peers who are currently relapsed; members' idle time and stress baseline are lowered
   through the group's outside partners;
3. the relapse rules (kds_sim.model.rules.person_day) for every person, all reading the
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

from kds_sim.model import rules, streams
from kds_sim.model.agents import RecoveringPerson, UsingFriend
from kds_sim.model.cohort import EVENTS, GROUP_DRAWS, STREAMS, Cohort, stream
from kds_sim.model.parameters import DOMAINS
from kds_sim.model.rules import ABSENT, ABSTINENT, LAPSED, RELAPSED
from kds_sim.model.scenario import Scenario
from kds_sim.model.streams import Draw

__all__ = ["EVENTS", "STREAMS", "KDSModel", "stream"]


class KDSModel(Cohort, mesa.Model):
    """Relapse after rehab among recovering people on a social network, with an optional KDS.

    `scenario.run.engine` decides how a day is stepped: "vector" applies the rules to everyone
    at once, "agent" has each Mesa `RecoveringPerson` apply them to itself (in random order;
    both give identical results). The Mesa agents exist in either case.
    """

    def __init__(self, scenario: Scenario, seed: np.random.SeedSequence | int = 0):
        seed = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        super().__init__(rng=int(stream(seed, "mesa").generate_state(1)[0]))
        # self.settings: the validated Scenario (Mesa's own `scenario` is another thing)
        self.setup(scenario, seed)
        self.coefficients = rules.coefficients([self.behaviour])
        size, net = self.people.size, self.network
        self.engine = scenario.run.engine
        RecoveringPerson.create_agents(self, size, list(range(size)))
        UsingFriend.create_agents(self, net.n_using_friends, list(range(net.n_using_friends)))
        self.today: dict[str, np.ndarray] = {}
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
            "new_lapses": lambda m: int(np.count_nonzero(m.events["lapse"])),
            "new_relapses": lambda m: int(np.count_nonzero(m.events["relapse"])),
            "reentries": lambda m: int(np.count_nonzero(m.events["reentry"])),
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
        reporters |= {  # added in 0.2, after the 0.1 columns
            "present": lambda m: int(np.count_nonzero(p.status != ABSENT)),
            "exits": lambda m: int(np.count_nonzero(p.exit_day == m.day)),
            "remissions": lambda m: int(np.count_nonzero(m.events["remission"])),
        }
        return reporters

    # -- one day -----------------------------------------------------------------------------
    def step(self) -> None:
        p, n = self.people, self.people.size
        self.admit(self.day)
        keys = self.key[None]
        if self.group.active:
            u = streams.person_uniforms(keys, n, self.day, GROUP_DRAWS)[0]
            self.group_day(self.day, u, float(streams.group_uniforms(keys, self.day)[0]))
        else:
            self.group_day(self.day, np.empty((0, n)), 1.0)

        relapsed = p.status == RELAPSED
        idle, stress_target = p.idle, p.stress_baseline
        if self.group.active:
            idle_cut, stress_cut = self.group_effects()
            member = p.member.astype(np.float64)
            idle = p.idle * (1.0 - member * idle_cut)
            stress_target = p.stress_baseline * (1.0 - member * stress_cut)
        self.today = {
            "idle": idle,
            "stress_target": stress_target,
            "contacts": p.using_ties + self.network.relapsed_peers(relapsed),
        }
        if self.engine == "agent":
            self.agents_by_type[RecoveringPerson].shuffle_do("step")
        else:
            self.apply_rules()
        self.record(self.day)
        self.end_of_day(self.day)
        self.datacollector.collect(self)

    def apply_rules(self) -> None:
        """Run the day's relapse rules for everyone (the compiled loop over rules.person_day)."""
        t, p = self.today, self.people
        rules.advance_people(
            {name: getattr(p, name)[None] for name in (*rules.STATE, *rules.TRAITS_READ)},
            t["contacts"][None],
            t["idle"][None],
            t["stress_target"][None],
            self.key[None],
            self.day,
            self.coefficients,
            {name: value[None] for name, value in self.events.items()},
        )

    def apply_rules_to(self, i: int) -> None:
        """Run the day's relapse rules for person i alone (rules.person_day, compiled)."""
        t, p = self.today, self.people
        k0, k1 = self.key
        first, second = (streams.block(k0, k1, i, self.day, b, streams.PERSON) for b in (0, 1))
        u = (*first, *second)
        new, events = rules.kernel("person_day")(
            *(getattr(p, name)[i] for name in (*rules.STATE, *rules.TRAITS_READ)),
            float(t["contacts"][i]),
            float(t["idle"][i]),
            float(t["stress_target"][i]),
            *u[Draw.EXPOSURE : Draw.REENTRY + 1],
            self.coefficients[0],
        )
        for name, value in zip(rules.STATE, new, strict=True):
            getattr(p, name)[i] = value
        for name, value in zip(rules.EVENTS, events, strict=True):
            self.events[name][i] = value

    # -- results -------------------------------------------------------------------------------
    def run(self, days: int | None = None) -> KDSModel:
        for _ in range(days if days is not None else self.settings.run.horizon_days):
            self.step()
        return self

    def daily_table(self) -> pd.DataFrame:
        return self.datacollector.get_model_vars_dataframe().reset_index(drop=True)

    def person_table(self, horizon: int | None = None) -> pd.DataFrame:
        return Cohort.person_table(self, self.day if horizon is None else horizon)

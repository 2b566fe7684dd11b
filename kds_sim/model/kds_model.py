"""The Mesa model: one step is one day after discharge from rehab.

`KDSModel` is a Mesa facade over a one-row batch (kds_sim.model.batch.Ensemble): the day is
the batch's, stage by stage (`batch.STAGES`, documented in docs/model.md section 3), so the
Mesa model and the batched engine cannot drift apart. What Mesa adds: the agents
(`RecoveringPerson`, `UsingFriend`, in an `AgentSet`), the `DataCollector` (its reporters read
the batch's daily counts), and, in the agent engine, the rules stage done by the agents
themselves (`shuffle_do` calling `rules.person_day` for each), which gives identical results.

For `mesa.batch_run`, pass the scenario as a one-item list (a Scenario is iterable, so alone
it would be swept field by field) and the seeds as `rng` (batch_run hands them to `seed`):
`mesa.batch_run(KDSModel, {"scenario": [scenario]}, rng=[0, 1, 2], max_steps=365)`.
"""

from __future__ import annotations

from typing import Any

import mesa
import numpy as np
import pandas as pd
from mesa import DataCollector

from kds_sim.model import rules, streams
from kds_sim.model.agents import RecoveringPerson, UsingFriend
from kds_sim.model.batch import BOOL_DAILY, INTEGER_DAILY, Ensemble
from kds_sim.model.cohort import EVENTS, STREAMS, Cohort, stream
from kds_sim.model.scenario import Scenario
from kds_sim.model.streams import Draw

__all__ = ["EVENTS", "STREAMS", "KDSModel", "stream"]


class KDSModel(mesa.Model):
    """Relapse after rehab among recovering people on a social network, with an optional KDS.

    `scenario.run.engine` decides who does the rules stage: "vector" runs the compiled loop
    over everyone, "agent" has each Mesa `RecoveringPerson` apply them to itself (in random
    order; both give identical results). The Mesa agents exist in either case.
    """

    def __init__(self, scenario: Scenario, seed: np.random.SeedSequence | int | None = 0):
        seed = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        super().__init__(rng=int(stream(seed, "mesa").generate_state(1)[0]))
        # self.settings: the validated Scenario (Mesa's own `scenario` is another thing)
        self.settings = scenario
        self.batch = Ensemble([scenario], [seed])
        self.cohort: Cohort = self.batch.cohorts[0]
        self.engine = scenario.run.engine
        if self.engine == "agent":
            self.batch.stage_rules = self._agents_apply_rules  # type: ignore[method-assign]
        size, net = self.people.size, self.network
        RecoveringPerson.create_agents(self, size, list(range(size)))
        UsingFriend.create_agents(self, net.n_using_friends, list(range(net.n_using_friends)))
        self.datacollector = DataCollector(model_reporters=self._reporters())
        self.datacollector.collect(self)

    # -- the replicate's state (row 0 of the batch) ---------------------------------------------
    @property
    def day(self) -> int:
        """Days since discharge: Mesa's step counter."""
        return self.steps

    @property
    def people(self) -> Any:
        return self.cohort.people

    @property
    def network(self) -> Any:
        return self.cohort.network

    @property
    def group(self) -> Any:
        return self.cohort.group

    @property
    def interventions(self) -> Any:
        return self.cohort.interventions

    @property
    def behaviour(self) -> Any:
        return self.cohort.behaviour

    @property
    def events(self) -> dict[str, np.ndarray]:
        return self.cohort.events

    @property
    def attended(self) -> np.ndarray:
        return self.cohort.attended

    @property
    def meeting_held(self) -> bool:
        return bool(self.batch.held[0])

    @property
    def coefficients(self) -> np.recarray:
        return self.batch.coefficients

    # -- reporters: the batch's daily counts ------------------------------------------------------
    def _reporters(self) -> dict[str, Any]:
        def reporter(name: str) -> Any:
            kind = int if name in INTEGER_DAILY else bool if name in BOOL_DAILY else float
            return lambda m: kind(m.batch.daily[name][0, m.day])

        return {name: reporter(name) for name in self.batch.daily_names}

    # -- one day -----------------------------------------------------------------------------
    def step(self) -> None:
        self.batch.step()
        self.datacollector.collect(self)

    def _agents_apply_rules(self) -> None:
        """The rules stage in the agent engine: every agent, in random order.

        Each agent reads its own start-of-day values and uniforms (found by address, so drawn
        here for everyone at once), which is why the order cannot change the result."""
        p, t, n = self.people, self.batch.today, self.people.size
        keys = self.cohort.key[None]
        u = np.concatenate(
            [
                streams.person_uniforms(keys, n, self.day, tuple(Draw)[:4])[0],
                streams.person_uniforms(keys, n, self.day, (Draw.RELAPSE, Draw.REENTRY))[0],
            ]
        )
        columns = [getattr(p, name) for name in (*rules.STATE, *rules.TRAITS_READ)]
        inputs = [t[name][0] for name in rules.INPUTS]
        self._arguments = [*zip(*(c.tolist() for c in (*columns, *inputs, *u)), strict=True)]
        late = [getattr(p, name) for name in rules.LATE_READ]
        if self.coefficients[0]["extended"] > 0:  # model 0.3's draws (block 3), as the loop
            draws = (Draw.LIFE_EVENT, Draw.USE_EVENT, Draw.STAY, Draw.RELEASE)
            late += list(streams.person_uniforms(keys, n, self.day, draws)[0])
        self._late = [*zip(*(c.tolist() for c in late), strict=True)]
        self._person_day = rules.kernel("person_day")
        self._k = self.coefficients[0]
        self._results: list[Any] = [None] * n
        self.agents_by_type[RecoveringPerson].shuffle_do("step")
        # every agent read start-of-day values, so the day's results are written at once
        new, events = zip(*self._results, strict=True)
        for name, values in zip(rules.STATE, zip(*new, strict=True), strict=True):
            column = getattr(p, name)
            column[:] = np.array(values, dtype=column.dtype)
        for name, values in zip(rules.EVENTS, zip(*events, strict=True), strict=True):
            self.events[name][:] = values

    def apply_rules_to(self, i: int) -> None:
        """Run the day's relapse rules for person i alone (rules.person_day, compiled); the
        results are written when every agent has had its turn."""
        self._results[i] = self._person_day(*self._arguments[i], self._k, *self._late[i])

    # -- results -------------------------------------------------------------------------------
    def run(self, days: int | None = None) -> KDSModel:
        for _ in range(days if days is not None else self.settings.run.horizon_days):
            self.step()
        return self

    def daily_table(self) -> pd.DataFrame:
        return self.datacollector.get_model_vars_dataframe().reset_index(drop=True)

    def person_table(self, horizon: int | None = None) -> pd.DataFrame:
        return self.cohort.person_table(self.day if horizon is None else horizon)

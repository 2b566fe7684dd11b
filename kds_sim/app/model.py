"""The classroom model: KDSModel's agent engine plus what a live demo needs to show.

`ClassroomModel` is the same `kds_sim.KDSModel` (same rules, agent engine: every
`RecoveringPerson` is stepped as a Mesa agent) with, alongside it:
- a no-group baseline: a second KDSModel of the same scenario with the group switched off,
  built from the same seed and stepped in lock-step. Common random numbers make both face
  the same people, network and daily chances, so the gap between them is the group's effect;
- every person's story (kds_sim.app.story) and daily coping, self-efficacy, outcome
  expectancy and craving, for the "follow one person" panel;
- the network layout, computed once (kds_sim.app.layout);
- how many people are in each state, day by day (`state_counts`), for every state the run
  can reach: model 0.3's stays (in treatment, incarcerated) and people no longer here (died
  or moved away) included, whether or not the model's daily table has a column for them.

The teaching levers are a `Levers` value; a new lever value means a new ClassroomModel with
the same seed, so students compare like with like.
"""

from __future__ import annotations

import inspect
import itertools
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

import kds_sim
from kds_sim.app import layout as layout_module
from kds_sim.app import story
from kds_sim.errors import InputError, ScenarioError
from kds_sim.io import packaged
from kds_sim.model import rules

CAPACITY_BUILDING_KINDS = (
    "work_plan",
    "relapse_prevention_training",
    "group_management_training",
    "networking_training",
)
CAPACITY_BUILDING_FILE = "capacity_building.toml"
"""The paper's full model: its capacity-building entries are what the lever switches on."""
MENTORING_FILE = "capacity_building_mentoring.toml"
"""Its mentoring entry is what the mentoring lever switches on."""

TRACED = ("coping", "self_efficacy", "outcome_expectancy", "craving")
STATE_NAMES = tuple(rules.STATES[code] for code in range(len(rules.STATES)))
"""The model's status names by code (rules.STATES): state.<name> in the message catalogue."""
SHOWN_ORDER = (
    rules.ABSTINENT,
    rules.LAPSED,
    rules.RELAPSED,
    rules.IN_TREATMENT,
    rules.INCARCERATED,
    rules.ABSENT,
)
"""The order of states in the legend and the states chart: the relapse process, the two
stays of model 0.3, then the people no longer here."""
MIN_DAYS = 60
_RUNS = itertools.count(1)


def domains() -> tuple[str, ...]:
    """The seven PEKA domains in the model's order, as the scenario schema lists them."""
    return tuple(kds_sim.Scenario().group.capacity.model_dump())


def shipped_scenario_path(name: str) -> Path | None:
    """The shipped scenario file `name` (`group_as_assessed.toml`): inside the installed package,
    which in a checkout is the repository's scenarios/ folder."""
    return packaged.shipped(name.removesuffix(".toml"))


def default_scenario_path() -> Path | None:
    """The shipped scenarios/group_as_assessed.toml."""
    return shipped_scenario_path("group_as_assessed.toml")


@cache
def shipped_interventions(name: str, kinds: tuple[str, ...]) -> tuple[dict[str, Any], ...]:
    """The interventions of `kinds` in the shipped scenario file `name` (read once)."""
    path = shipped_scenario_path(name)
    if path is None:
        raise ScenarioError(
            f"scenarios/{name}: not found in the installed package; the app reads its "
            "capacity-building and mentoring entries from the shipped scenarios (reinstall kds-sim)"
        )
    scenario = kds_sim.load_scenario(path)
    return tuple(i.model_dump() for i in scenario.interventions if i.kind in kinds)


@dataclass(frozen=True)
class Levers:
    """What the class can change; each field maps to one scenario key (see scenario_for)."""

    people: int = 150  # population.size
    using_ties: float = 2.0  # network.using_ties_mean (ties per person)
    coping: float = 0.40  # population.coping.mean (0-1)
    ave: float = 0.60  # population.ave_susceptibility.mean (0-1)
    group: bool = True  # group.enabled
    coverage: float = 0.5  # group.coverage (share of people)
    capacity_building: bool = False  # the four trainings of the paper's final model
    mentoring: bool = False  # ongoing mentoring (slows capacity erosion)
    seed: int = 1
    days: int = 730  # run.horizon_days: how long a run lasts in the app

    @classmethod
    def from_scenario(cls, scenario: kds_sim.Scenario, **fixed: Any) -> Levers:
        """The levers as a scenario sets them; `fixed` gives people, seed, days."""
        kinds = {item.kind for item in scenario.interventions}
        return cls(
            using_ties=scenario.network.using_ties_mean,
            coping=scenario.population.coping.mean,
            ave=scenario.population.ave_susceptibility.mean,
            group=scenario.group.enabled,
            coverage=scenario.group.coverage,
            capacity_building=bool(kinds & set(CAPACITY_BUILDING_KINDS)),
            mentoring="mentoring" in kinds,
            **fixed,
        )

    def with_(self, **changes: Any) -> Levers:
        return replace(self, **changes)


def _mean(distribution: dict[str, float], mean: float) -> None:
    """Set a Beta attribute's mean, keeping its SD inside what a Beta allows."""
    distribution["mean"] = mean
    distribution["sd"] = min(distribution["sd"], 0.9 * float(np.sqrt(mean * (1 - mean))))


def scenario_for(
    base: kds_sim.Scenario, levers: Levers, *, group: bool | None = None, engine: str = "agent"
) -> kds_sim.Scenario:
    """The scenario a lever setting means: `base` with the lever keys replaced.

    Capacity building and mentoring are the base scenario's own entries of those kinds if it
    has any, else those of scenarios/capacity_building.toml and
    capacity_building_mentoring.toml; other interventions (recruitment) are kept.
    """
    on = levers.group if group is None else group
    data = base.model_dump()
    data["run"].update(engine=engine, horizon_days=max(MIN_DAYS, levers.days))
    data["population"]["size"] = levers.people
    _mean(data["population"]["coping"], levers.coping)
    _mean(data["population"]["ave_susceptibility"], levers.ave)
    data["network"]["using_ties_mean"] = levers.using_ties
    data["group"].update(enabled=on, coverage=levers.coverage)
    own = data["interventions"]
    training = [i for i in own if i["kind"] in CAPACITY_BUILDING_KINDS]
    if levers.capacity_building and not training:
        training = [
            dict(i) for i in shipped_interventions(CAPACITY_BUILDING_FILE, CAPACITY_BUILDING_KINDS)
        ]
    mentoring = [i for i in own if i["kind"] == "mentoring"]
    if levers.mentoring and not mentoring:
        mentoring = [dict(i) for i in shipped_interventions(MENTORING_FILE, ("mentoring",))]
    others = [i for i in own if i["kind"] not in (*CAPACITY_BUILDING_KINDS, "mentoring")]
    chosen = (
        others
        + (training if levers.capacity_building else [])
        + (mentoring if levers.mentoring else [])
    )
    data["interventions"] = chosen if on else []
    return kds_sim.Scenario.model_validate(data)


def check_classroom(base: kds_sim.Scenario, levers: Levers, source: str) -> None:
    """Refuse, in one line naming the file and key, a scenario the app cannot show.

    The app shows one cohort of a fixed size, all discharged on day 0, on the network it
    draws itself: no later discharges, no network file. People may leave it (deaths and
    moves: they stay on the picture, faded, see kds_sim.app.colours).
    """
    population = base.population
    if population.discharges_per_month:
        raise InputError(
            f"{source}: population.discharges_per_month = {population.discharges_per_month}: "
            "the classroom app shows one cohort discharged on day 0; allowed 0 (for example "
            "scenarios/group_as_assessed.toml)"
        )
    if base.network.edges_file:
        raise InputError(
            f"{source}: network.edges_file = {base.network.edges_file!r}: the classroom app "
            "draws its own class-sized network; allowed: no network file"
        )
    try:
        scenario_for(base, levers)
    except ValueError as err:  # pydantic's ValidationError is a ValueError
        first = str(err).splitlines()
        raise InputError(f"{source}: the levers cannot use this scenario: {first[-1]}") from None


def _agent_option(agents: bool) -> dict[str, bool]:
    """KDSModel's `agents` switch, where its version has one (newer ones always make agents)."""
    accepts = "agents" in inspect.signature(kds_sim.KDSModel.__init__).parameters
    return {"agents": agents} if accepts else {}


class ClassroomModel(kds_sim.KDSModel):
    """KDSModel (agent engine) with a same-seed no-group baseline, stories and a layout."""

    def __init__(self, base: kds_sim.Scenario, levers: Levers):
        scenario = scenario_for(base, levers)
        super().__init__(scenario, seed=levers.seed, **_agent_option(True))
        self.base, self.levers, self.horizon = base, levers, max(MIN_DAYS, levers.days)
        self.baseline = kds_sim.KDSModel(
            scenario_for(base, levers, group=False, engine="vector"),
            seed=levers.seed,
            **_agent_option(False),
        )
        self.domains = domains()
        p, n = self.people, self.people.size
        self.graph = self.network.to_networkx()
        self.using_ties = np.bincount(self.network.using_edges[0], minlength=n)
        edges = np.array(
            [(a, b) for a, b in self.graph.edges() if a < n and b < n], dtype=np.int64
        ).reshape(-1, 2)
        self.peers = sparse.coo_matrix(
            (np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n)
        ).tocsr()
        self.peers = ((self.peers + self.peers.T) > 0).astype(np.float64)
        b = scenario.behaviour
        self.hazard_rates = (
            b.hrs_rate_per_using_tie,
            b.hrs_stress_rate,
            b.hrs_idle_rate,
            b.hrs_base_rate,
        )
        self.stories: list[list[story.StoryEntry]] = [
            [story.first_entry(bool(m))] for m in p.member
        ]
        self.trace: list[np.ndarray] = [self._traced()]
        self._layout: layout_module.Layout | None = None
        self.running = self.day < self.horizon
        self.run_number = next(_RUNS)
        """Which run this is, for the page: a day's update for an older run is ignored."""

    @property
    def layout(self) -> layout_module.Layout:
        """Node positions, computed on first use and then kept for the whole run."""
        if self._layout is None:
            self._layout = layout_module.from_graph(self.graph, self.levers.seed)
        return self._layout

    def _traced(self) -> np.ndarray:
        return np.vstack([getattr(self.people, name) for name in TRACED]).astype(np.float32)

    def step(self) -> None:
        """One day of the model and of the baseline, then the day's story lines."""
        p = self.people
        status, member = p.status.copy(), p.member.copy()
        relapsed_peers = self.peers @ (status == story.RELAPSED).astype(np.float64)
        causes = story.likely_causes(
            self.using_ties, relapsed_peers, p.stress, p.idle, self.hazard_rates
        )
        super().step()
        self.baseline.step()
        for i, entry in story.day_entries(
            self.day,
            self.events,
            status,
            p.status,
            member,
            p.member,
            self.attended,
            causes,
            exit_reason=p.exit_reason,
        ).items():
            self.stories[i].append(entry)
        self.trace.append(self._traced())
        self.running = self.day < self.horizon

    def series(self, name: str, baseline: bool = False) -> list[float]:
        """A daily model reporter (day 0 to today) of this model or of its baseline."""
        collector = (self.baseline if baseline else self).datacollector
        return list(collector.model_vars[name])

    @property
    def states(self) -> tuple[int, ...]:
        """The status codes this run can reach, in SHOWN_ORDER: abstinent, lapsed and relapsed
        always; in treatment and incarcerated when their model 0.3 mechanism is on; absent
        when people can die or move away. (A state that cannot occur gets no legend entry
        and no line that stays at 0.)"""
        b, population = self.settings.behaviour, self.settings.population
        possible = {
            rules.IN_TREATMENT: b.treatment_stay_days > 0,
            rules.INCARCERATED: b.incarceration_rate > 0,
            rules.ABSENT: (
                population.death_rate + population.overdose_death_rate + population.move_away_rate
                > 0
            ),
        }
        return tuple(code for code in SHOWN_ORDER if possible.get(code, True))

    def state_counts(self, code: int, baseline: bool = False) -> list[float]:
        """How many people are in state `code`, day by day (day 0 to today).

        The model's daily table counts abstinent, lapsed and relapsed always, in treatment
        and incarcerated only when a model 0.3 mechanism is on (Ensemble.daily_names), and
        absent people not at all (it counts those present): the missing counts are made
        here, so engine outputs stay as they are."""
        name = STATE_NAMES[code]
        if code == rules.ABSENT:
            size = self.people.size
            return [size - present for present in self.series("present", baseline)]
        model = self.baseline if baseline else self
        if name not in model.batch.daily_names:  # its mechanism is off: nobody, ever
            return [0] * (model.day + 1)
        return self.series(name, baseline)  # int: the table's integer columns

    def never_relapsed(self, baseline: bool = False) -> list[float]:
        """Share of people who have never relapsed, day by day (1 = nobody yet)."""
        size = self.people.size
        return [1.0 - ever / size for ever in self.series("ever_relapsed", baseline)]

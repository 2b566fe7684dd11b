"""One replicate's people, network and group: a row of a batch (kds_sim.model.ensemble).

`Cohort` owns a row's setup (draws, network, group, first enrolment), the per-row parts of a
day (arrivals, exits) and is the `model` that intervention hooks act on (the group stage
itself is the batch's, `batch.Ensemble.stage_group`). Its People arrays are row views of the
batch's columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.random import default_rng

from kds_sim.model import group, rules, streams
from kds_sim.model.interventions import plan, recruitment_order
from kds_sim.model.network import SocialNetwork, build
from kds_sim.model.parameters import Population
from kds_sim.model.people import People, draw_people, entry_days
from kds_sim.model.rules import ABSENT, ABSTINENT, LAPSED, SkillGains
from kds_sim.model.scenario import Scenario
from kds_sim.model.streams import Draw

STREAMS = ("population", "network", "daily", "group", "mesa", "flow")
"""Named random streams of the setup (population, network) and of Mesa; the day's draws come
from the counter-based generator keyed by "daily" (kds_sim.model.streams); "group" and "flow"
are kept as names so the others keep their numbers."""
GROUP_DRAWS = (Draw.MEETING, Draw.TRAINING, Draw.DROPOUT)
"""The group stage's per-person draws of a day (rows of `Ensemble.uniforms`)."""
MEETING, TRAINING, DROPOUT = range(3)
EVENTS = rules.EVENTS
"""The day's events (declared with the rules, which return them)."""


def stream(seed: np.random.SeedSequence, name: str) -> np.random.SeedSequence:
    """A named child of a replicate's seed: the same name gives the same numbers in any scenario."""
    return np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, STREAMS.index(name)))


_DRAWN: dict[tuple[object, ...], People] = {}
"""Recent draws of small cohorts (at most `_REMEMBERED`), by population settings and seed."""
_REMEMBERED = 256


def _draw(population: Population, size: int, seed: np.random.SeedSequence) -> People:
    """draw_people on the "population" stream, remembered for small cohorts: the scenarios of
    a comparison share their replicates' people (common random numbers), and the Beta
    quantiles are most of a replicate's setup. Returns a fresh copy to step."""
    if size > 5_000:
        return draw_people(population, size, default_rng(seed))
    key = (population.model_dump_json(), size, seed.entropy, tuple(seed.spawn_key))
    drawn = _DRAWN.get(key)
    if drawn is None:
        drawn = draw_people(population, size, default_rng(seed))
        if len(_DRAWN) >= _REMEMBERED:
            _DRAWN.pop(next(iter(_DRAWN)))
        _DRAWN[key] = drawn
    return People(**{name: value.copy() for name, value in drawn.view(slice(None)).items()})


class Cohort:
    """A replicate's state and its non-rule daily steps (the hooks' `model` argument)."""

    people: People
    network: SocialNetwork

    def setup(self, scenario: Scenario, seed: np.random.SeedSequence) -> None:
        self.settings = scenario
        self.behaviour = scenario.behaviour
        rng = {"network": np.random.default_rng(stream(seed, "network"))}
        self.key = streams.key_of(stream(seed, "daily"))

        pop = scenario.population
        entries = entry_days(pop, scenario.run.horizon_days)
        size = len(entries)
        if scenario.network.edges_file:
            self.network = build(scenario.network, size, rng["network"])
            size = self.network.size
            entries = np.zeros(size, dtype=np.int32)
        self.people = _draw(pop, size, stream(seed, "population"))
        if not scenario.network.edges_file:
            self.network = build(scenario.network, size, rng["network"])
        p, net = self.people, self.network
        p.entry_day[:] = entries
        self.entry_days = frozenset(np.unique(entries).tolist())
        p.status[entries > 0] = ABSENT
        p.stress_baseline = rules.stress_baseline(
            p.stress, net.stigmatising_ties, net.supportive_ties, self.behaviour
        )
        p.using_ties[:] = net.using_ties
        p.using_ties_start[:] = net.using_ties
        p.supportive_ties[:] = net.supportive_ties
        p.help_seeking[:] = rules.help_seeking_baseline(
            p.help_seeking, net.supportive_ties, self.behaviour
        )

        self.group = group.PeerGroup(scenario.group)
        self.interventions = plan(scenario.interventions, scenario.intervention_effects)
        if self.group.enabled:
            initial = int(np.count_nonzero(entries == 0))
            self.enrol(scenario.group.recruitment, int(round(scenario.group.coverage * initial)))
        self.events = {k: np.zeros(size, dtype=bool) for k in EVENTS}
        self.attended = np.zeros(size, dtype=bool)

    # -- arrivals, exits and bookkeeping -----------------------------------------------------------
    def admit(self, day: int) -> None:
        """People discharged today join the population; a share `group.coverage` of them joins
        the group (those with the lowest recruit_priority, as random recruitment does)."""
        if day == 0 or day not in self.entry_days:  # a closed cohort: nobody, ever
            return
        p = self.people
        arriving = (p.entry_day == day) & (p.status == ABSENT) & (p.exit_day < 0)
        if not arriving.any():
            return
        p.status[arriving] = ABSTINENT
        if self.group.enabled and self.group.active:
            chance = self.settings.group.coverage * self.propensity()
            joining = arriving & (p.recruit_priority < chance)
            p.member[joining] = True
            p.ever_member[joining] = True

    # -- what interventions and the group do to people ------------------------------------------
    def befriend(self, new_friend: np.ndarray) -> None:
        """A new abstinent friend from the group: one more supportive tie, with what a
        supportive tie does to distal stress and help-seeking (Litt et al. 2009)."""
        if not new_friend.any():
            return
        p, b = self.people, self.behaviour
        p.supportive_ties += new_friend
        p.stress_baseline[:] = np.clip(
            p.stress_baseline - b.support_stress_per_tie * new_friend, 0.0, 1.0
        )
        p.help_seeking[:] = np.clip(p.help_seeking + b.support_help_per_tie * new_friend, 0.0, 1.0)

    def learn(self, dose: np.ndarray, gains: SkillGains) -> None:
        """Everyone learns relapse-prevention skills at their dose (0 for those absent)."""
        self.people.write(slice(None), rules.learn(self.people.view(slice(None)), dose, gains))

    def propensity(self) -> np.ndarray:
        """Model 0.3: each person's weight to join at random recruitment, (1 - w) + w x
        engagement / mean engagement, w = group.join_engagement_weight (1 for all at 0)."""
        w = self.settings.group.join_engagement_weight
        mean = self.settings.population.engagement.mean
        return (1.0 - w) + w * self.people.engagement / mean

    def enrol(self, targeting: str, quota: int) -> None:
        """The next `quota` non-members, in the order `targeting` gives, join the group; at
        random recruitment with join_engagement_weight > 0, a weighted random order (priority /
        propensity: the engaged come earlier)."""
        p = self.people
        priority = p.recruit_priority
        if targeting == "random" and self.settings.group.join_engagement_weight > 0:
            priority = priority / np.maximum(self.propensity(), 1e-12)
        order = recruitment_order(targeting, p.using_ties, p.engagement, priority)
        joining = order[~p.member[order] & (p.status[order] != ABSENT)][:quota]
        p.member[joining] = True
        p.ever_member[joining] = True

    def person_table(self, horizon: int) -> pd.DataFrame:
        """One row per person; days count from the person's own discharge."""
        cols = {name: getattr(self.people, name)[None] for name in PERSON_INPUTS}
        net = self.network
        start = {
            "using_ties_start": net.using_ties[None],
            "supportive_ties_start": net.supportive_ties[None],
            "stigmatising_ties": net.stigmatising_ties[None],
        }
        return pd.DataFrame({k: v[0] for k, v in person_columns(cols | start, horizon).items()})


PERSON_INPUTS = (
    "ever_member",
    "member",
    "meetings_attended",
    "first_lapse_day",
    "first_relapse_day",
    "entry_day",
    "exit_day",
    "exit_reason",
    "lapses",
    "relapses",
    "status",
    "coping",
    "self_efficacy",
    "remissions",
    "days_using",
    "using_ties",
    "supportive_ties",
)
"""The People columns the person table is made from (with the network's counts at the start)."""
_STATE_NAMES = np.array([rules.STATES[k] for k in sorted(rules.STATES)], dtype=object)
_EXIT_NAMES = np.array([rules.EXITS[k] for k in sorted(rules.EXITS)], dtype=object)


def person_columns(p: dict[str, np.ndarray], horizon: int) -> dict[str, np.ndarray]:
    """The person table's columns as [row, person] arrays, from [row, person] state.

    `p` holds `PERSON_INPUTS` and the network's using_ties_start, supportive_ties_start and
    stigmatising_ties; days count from each person's own discharge."""
    event = p["first_relapse_day"] >= 0
    lapse = p["first_lapse_day"] >= 0
    left = p["exit_day"] >= 0
    end = np.where(left, p["exit_day"], horizon)
    entry = p["entry_day"]
    rows, n = p["status"].shape
    return {
        "person": np.broadcast_to(np.arange(n), (rows, n)).copy(),
        "member": p["ever_member"].copy(),
        "member_at_end": p["member"].copy(),
        "meetings_attended": p["meetings_attended"].copy(),
        "using_ties": p["using_ties_start"].copy(),
        "supportive_ties": p["supportive_ties_start"].copy(),
        "stigmatising_ties": p["stigmatising_ties"].copy(),
        "first_lapse_day": np.where(lapse, p["first_lapse_day"] - entry, np.nan),
        "first_relapse_day": np.where(event, p["first_relapse_day"] - entry, np.nan),
        "relapse_time": np.where(event, p["first_relapse_day"], end) - entry,
        "relapse_censored": ~event,
        "lapses": p["lapses"].copy(),
        "relapses": p["relapses"].copy(),
        "open_lapse": p["status"] == LAPSED,
        "status_at_end": _STATE_NAMES[p["status"]],
        "coping_at_end": p["coping"].copy(),
        "self_efficacy_at_end": p["self_efficacy"].copy(),
        "entry_day": entry.copy(),
        "exit_day": np.where(left, p["exit_day"], np.nan),
        "exit_reason": _EXIT_NAMES[p["exit_reason"]],
        "followed_days": end - entry,
        "remissions": p["remissions"].copy(),
        "days_using": p["days_using"].copy(),
        "using_ties_at_end": p["using_ties"].copy(),
        "supportive_ties_at_end": p["supportive_ties"].copy(),
    }

"""The lesson plan's exercises as app presets, and "run 20 classes": one setting on many seeds.

A preset is a lever setting and the day to stop at. An exercise compares two presets on one
measure (never relapsed with the group, relapses averted by the group, the group's mean
capacity) and says which way the difference goes. A class sees one seed; the lesson is only
fair if the documented direction holds for most classes, so `holds_in` counts the seeds on
which it does (the lesson plan asks for at least 18 of 20) and the lesson plan's figures are
generated from these presets (experiments/teaching_figures.py).

Many seeds are stepped together by the ensemble engine (the same rules and random numbers as
`KDSModel(scenario, seed)`, one seed per class; a test checks they agree), with a no-group
twin of every class for the relapses the group averted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

import kds_sim
from kds_sim.app.model import Levers, scenario_for

CLASSES = 20
"""How many classes (seeds) "run 20 classes" replays, and the lesson plan's test uses."""
MUST_HOLD = 18
"""A documented direction must hold in at least this many of CLASSES seeds."""
MEASURES = ("never_with", "never_without", "averted", "capacity")
"""never relapsed (%) with the group and in the no-group twin; relapses averted (people);
the group's mean PEKA capacity (1-4). All read on the stop day."""


@dataclass(frozen=True)
class Preset:
    """A lever setting of the lesson plan (changes from the default levers) and its stop day."""

    name: str
    changes: dict[str, float | bool] = field(default_factory=dict)
    stop: int = 365
    seed: int = 1

    def levers(self, defaults: Levers) -> Levers:
        return defaults.with_(**self.changes, days=max(defaults.days, self.stop))


@dataclass(frozen=True)
class Exercise:
    """`after` against `before` on `measure`: the documented direction is `sign` (+1 or -1)."""

    name: str
    before: str
    after: str
    measure: str
    sign: int


PEOPLE = 150
"""Class size of the presets: the most a projector shows clearly, and the least noisy."""
PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("defaults"),
        Preset("one_more_friend", {"using_ties": 3.0}),
        Preset("coping_no_group", {"group": False, "coping": 0.55}),
        Preset("no_group", {"group": False}),
        Preset("coping_and_group", {"coping": 0.55, "coverage": 1.0}),
        Preset("group_two_years", {}, 730),
        Preset("capacity_building", {"capacity_building": True}, 730),
        Preset("mentoring", {"capacity_building": True, "mentoring": True}, 730),
        Preset("ave_low", {"ave": 0.3}),
        Preset("ave_high", {"ave": 0.8}),
    )
}
EXERCISES: tuple[Exercise, ...] = (
    Exercise("more_friends_more_relapse", "defaults", "one_more_friend", "never_with", -1),
    Exercise("the_gap_is_the_group", "no_group", "defaults", "averted", +1),
    Exercise("coping_training_helps", "no_group", "coping_no_group", "never_with", +1),
    Exercise("group_adds_to_coping", "coping_no_group", "coping_and_group", "never_with", +1),
    Exercise("training_averts_more", "group_two_years", "capacity_building", "averted", +1),
    Exercise("training_raises_capacity", "group_two_years", "capacity_building", "capacity", +1),
    Exercise("mentoring_keeps_capacity", "capacity_building", "mentoring", "capacity", +1),
    Exercise("ave_turns_lapses_into_relapses", "ave_low", "ave_high", "never_with", -1),
)


def outcomes(base: kds_sim.Scenario, levers: Levers, stop: int, seeds: Sequence[int]) -> dict:
    """Each measure on day `stop` for each seed: {measure: array over seeds}."""
    from kds_sim.model.ensemble import Ensemble  # the model layer's batch engine

    settings = levers.with_(days=max(levers.days, stop))
    with_group = scenario_for(base, settings, engine="vector")
    without = scenario_for(base, settings, group=False, engine="vector")
    n = len(seeds)
    seq = [np.random.SeedSequence(s) for s in seeds]
    run = Ensemble([with_group] * n + [without] * n, seq + seq)
    for _ in range(stop):
        run.step()
    ever = run.daily["ever_relapsed"][:, stop]
    size = levers.people
    capacity = run.daily["capacity_mean"][:n, stop]
    return {
        "never_with": 100.0 * (1.0 - ever[:n] / size),
        "never_without": 100.0 * (1.0 - ever[n:] / size),
        "averted": ever[n:] - ever[:n],
        "capacity": capacity,
    }


def preset_outcomes(
    base: kds_sim.Scenario, defaults: Levers, preset: Preset, seeds: Sequence[int]
) -> dict:
    return outcomes(base, preset.levers(defaults), preset.stop, seeds)


def holds_in(exercise: Exercise, results: dict[str, dict]) -> int:
    """On how many seeds the exercise's difference has its documented sign."""
    before = results[exercise.before][exercise.measure]
    after = results[exercise.after][exercise.measure]
    return int(np.count_nonzero(np.sign(after - before) == exercise.sign))


def default_levers(base: kds_sim.Scenario, seed: int = 1) -> Levers:
    """The levers every preset starts from: the scenario's, with the presets' class size."""
    return Levers.from_scenario(base, people=PEOPLE, seed=seed, days=730)

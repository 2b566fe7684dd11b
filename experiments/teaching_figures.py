"""The lesson plan's numbers, generated from the model: every preset of the app on 20 classes.

docs/teaching.md and docs/teaching.id.md quote what the app shows for each exercise (class
seed 1, 150 people) and how the 20 classes of "Run 20 classes" spread. Those numbers change
whenever the model is recalibrated, so they are not typed: each sits before a marker
`<!-- fig KEY -->` in the Markdown, and this script recomputes every KEY, writes them all to
experiments/results/teaching_figures.json and rewrites the numbers in both lesson plans.
tests/test_teaching.py checks that the docs match the JSON, and (marked slow) that the JSON
matches the model.

Keys: `PRESET.seed1.MEASURE` (the class the app opens with), `PRESET.mean.MEASURE`,
`PRESET.low.MEASURE`, `PRESET.high.MEASURE` (over the 20 classes) and `EXERCISE.holds_in`
(classes of 20 in which the exercise's documented direction holds). Measures: never_with,
never_without (% never relapsed on the stop day), averted (relapses the group averted),
capacity (the group's mean PEKA score).

Run: .venv/bin/python experiments/teaching_figures.py   (about a minute)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

import kds_sim
from kds_sim.app import lessons
from kds_sim.messages import number

ROOT = Path(__file__).absolute().parents[1]
OUT = ROOT / "experiments" / "results" / "teaching_figures.json"
DOCS = {"en": ROOT / "docs" / "teaching.md", "id": ROOT / "docs" / "teaching.id.md"}
SCENARIO = ROOT / "scenarios" / "group_as_assessed.toml"
MARKER = re.compile(r"([-+]?\d[\d.,]*)(<!-- fig ([\w.]+) -->)")
DIGITS = {"never_with": 1, "never_without": 1, "averted": 0, "capacity": 2, "holds_in": 0}


def figures() -> dict[str, Any]:
    """Every preset on seeds 1-20, and on how many seeds each exercise holds."""
    base = kds_sim.load_scenario(SCENARIO)
    defaults = lessons.default_levers(base)
    seeds = range(1, lessons.CLASSES + 1)
    results = {
        name: lessons.preset_outcomes(base, defaults, preset, seeds)
        for name, preset in lessons.PRESETS.items()
    }
    values: dict[str, float] = {}
    for name, result in results.items():
        for measure, per_seed in result.items():
            per_seed = np.asarray(per_seed, dtype=float)
            if np.isnan(per_seed).all():
                continue  # no group, no capacity
            values[f"{name}.seed1.{measure}"] = float(per_seed[0])
            values[f"{name}.mean.{measure}"] = float(per_seed.mean())
            values[f"{name}.low.{measure}"] = float(per_seed.min())
            values[f"{name}.high.{measure}"] = float(per_seed.max())
    for exercise in lessons.EXERCISES:
        values[f"{exercise.name}.holds_in"] = float(lessons.holds_in(exercise, results))
    return {
        "what": "kds-sim app presets on classes (seeds) 1-20; see experiments/teaching_figures.py",
        "kds_sim_version": kds_sim.__version__,
        "people": lessons.PEOPLE,
        "classes": lessons.CLASSES,
        "must_hold": lessons.MUST_HOLD,
        "values": values,
    }


def shown(key: str, value: float, lang: str) -> str:
    """A figure as the lesson plan prints it: per measure digits, the language's decimals."""
    measure = key.rsplit(".", 1)[-1]
    digits = DIGITS[measure]
    if measure == "averted" and ".mean." in key:
        digits = 1
    if digits == 0:
        return str(int(math.floor(value + 0.5)))
    return number(value, lang, digits)


def fill(text: str, values: dict[str, float], lang: str) -> str:
    """Text with the number before every marker replaced by the figure it names."""

    def one(match: re.Match[str]) -> str:
        key = match.group(3)
        if key not in values:
            raise KeyError(f"{key}: no such figure (see experiments/teaching_figures.py)")
        return shown(key, values[key], lang) + match.group(2)

    return MARKER.sub(one, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.parse_args()
    result = figures()
    result["load_1min"] = round(os.getloadavg()[0], 2)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    for lang, path in DOCS.items():
        path.write_text(fill(path.read_text("utf-8"), result["values"], lang), "utf-8")
    for exercise in lessons.EXERCISES:
        held = int(result["values"][f"{exercise.name}.holds_in"])
        print(f"{exercise.name:<32} holds in {held:>2} of {lessons.CLASSES}")
    print(f"wrote {OUT.relative_to(ROOT)} and the numbers in docs/teaching*.md")


if __name__ == "__main__":
    main()

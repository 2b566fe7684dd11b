"""The lesson plans quote the model: their numbers are generated, and each exercise holds.

docs/teaching.md and docs/teaching.id.md carry their figures before `<!-- fig KEY -->` markers;
experiments/teaching_figures.py computes them from the app's presets on 20 classes (seeds) and
writes experiments/results/teaching_figures.json. The fast tests check the docs against that
file and that every documented direction holds in at least 18 of 20 classes; the slow test
recomputes the file from the model (the model changed: rerun the script).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from kds_sim.app import lessons

ROOT = Path(__file__).absolute().parents[1]
RESULTS = ROOT / "experiments" / "results" / "teaching_figures.json"


def script():
    spec = importlib.util.spec_from_file_location(
        "teaching_figures", ROOT / "experiments" / "teaching_figures.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def figures() -> dict:
    return json.loads(RESULTS.read_text(encoding="utf-8"))


@pytest.mark.parametrize("lang", ["en", "id"])
def test_lesson_plan_numbers_are_the_generated_ones(figures, lang):
    tf = script()
    text = tf.DOCS[lang].read_text(encoding="utf-8")
    keys = [m.group(3) for m in tf.MARKER.finditer(text)]
    assert len(keys) >= 30, "the lesson plan lost its generated figures"
    assert tf.fill(text, figures["values"], lang) == text, (
        "the lesson plan's numbers differ from experiments/results/teaching_figures.json: "
        "run .venv/bin/python experiments/teaching_figures.py"
    )
    for exercise in lessons.EXERCISES:  # each exercise says in how many classes it holds
        assert f"{exercise.name}.holds_in" in keys


def test_both_lesson_plans_quote_the_same_figures():
    tf = script()
    keys = {
        lang: sorted(m.group(3) for m in tf.MARKER.finditer(path.read_text("utf-8")))
        for lang, path in tf.DOCS.items()
    }
    assert keys["en"] == keys["id"]


def test_every_exercise_holds_in_18_of_20_classes(figures):
    assert figures["classes"] == lessons.CLASSES == 20 and lessons.MUST_HOLD == 18
    for exercise in lessons.EXERCISES:
        held = figures["values"][f"{exercise.name}.holds_in"]
        assert held >= lessons.MUST_HOLD, f"{exercise.name}: holds in {held} of 20 classes"


@pytest.mark.slow
def test_generated_figures_are_the_models(figures):
    """Every preset on 20 seeds again (about a minute): the JSON is what the model gives."""
    fresh = script().figures()
    assert fresh["values"].keys() == figures["values"].keys()
    for key, value in fresh["values"].items():
        assert value == pytest.approx(figures["values"][key], abs=1e-9), key

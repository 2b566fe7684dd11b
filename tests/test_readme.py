"""Every number in README.md comes from the committed results (experiments/readme_tables.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_generator():
    spec = importlib.util.spec_from_file_location(
        "readme_tables", ROOT / "experiments" / "readme_tables.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_numbers_match_the_committed_results():
    generator = load_generator()
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in generator.BLOCKS:
        assert f"<!-- generated: {name} -->" in text, f"README has no generated block {name!r}"
    assert generator.render(text) == text, "run: python experiments/readme_tables.py"


def test_the_check_can_fail(tmp_path):
    generator = load_generator()
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    tampered = text.replace("<!-- generated: headline -->\n", "<!-- generated: headline -->\n9")
    assert generator.render(tampered) != tampered

"""What is written for people: a run's outputs, a comparison's tables, figures and
report.html, and the reference docs generated from the code.

May import kds_sim.model, kds_sim.io and kds_sim.analysis.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kds_sim.analysis.comparison import ComparisonResult
from kds_sim.analysis.runner import RunResult


def save(result: RunResult | ComparisonResult, out: str | Path, **options: Any) -> list[Path]:
    """Write a run's or a comparison's outputs (tables, figures, summary or report) to `out`.

    A comparison takes the options of `write_comparison`: `langs=("en", "id")` for the brief
    in both languages, `pdf=True`, `files` (scenario name -> file shown in the brief)."""
    if isinstance(result, ComparisonResult):
        from kds_sim.report.comparison_report import write_comparison

        return write_comparison(result, out, **options)
    from kds_sim.report.run_report import write_run

    return write_run(result, Path(out))

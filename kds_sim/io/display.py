"""How result objects show themselves in a terminal and in Jupyter: one line for `repr`, a
heading and the headline table for `_repr_html_`, never the whole scenario or raw tables.

The result classes (kds_sim.analysis) take these as methods (`__repr__ = display.run_repr`);
they read results by duck typing, so this module needs nothing above io.
"""

from __future__ import annotations

import html
from typing import Any

ROWS = 12
"""Rows of a table shown in a notebook before it is cut (the full table is a method away)."""


def _html(title: str, lines: list[str], table: Any) -> str:
    shown = table.head(ROWS) if len(table) > ROWS else table
    cut = f"<p>first {ROWS} of {len(table)} rows</p>" if len(table) > ROWS else ""
    notes = "".join(f"<br><small>{html.escape(line)}</small>" for line in lines)
    frame = shown.to_html(float_format=lambda v: f"{v:.4g}", border=0, na_rep="")
    return f"<div><strong>{html.escape(title)}</strong>{notes}{frame}{cut}</div>"


def run_repr(result: Any) -> str:
    return (
        f"<RunResult {result.name}: {result.replicates} replicates x {result.cohort_size} "
        f"people, {result.horizon} days, seed {result.seed}; .summary(), .metrics, .daily, "
        ".people>"
    )


def run_html(result: Any) -> str:
    title = f"{result.name}: {result.replicates} replicates x {result.cohort_size} people"
    lines = [
        f"{result.horizon} days, seed {result.seed}; mean and 95 % CI over replicates "
        "(Monte Carlo); all tables: .summary(), .metrics, .daily, .people"
    ]
    return _html(title, lines, result.summary())


def comparison_repr(result: Any) -> str:
    ref = result.results[result.reference]
    return (
        f"<ComparisonResult {len(result.results)} scenarios against {result.reference}: "
        f"{ref.replicates} replicates x {ref.cohort_size} people, {result.horizon} days, "
        f"seed {ref.seed}; .wide(), .table(), .results, .plot_survival()>"
    )


def comparison_html(result: Any) -> str:
    ref = result.results[result.reference]
    title = f"{len(result.results)} scenarios against {result.reference}"
    lines = [
        f"{ref.replicates} replicates x {ref.cohort_size} people, {result.horizon} days, "
        f"seed {ref.seed}, common random numbers; mean [95 % Monte Carlo CI]; "
        "tidy: .table(), figures: .plot_survival(), .plot_forest()"
    ]
    return _html(title, lines, result.wide())


def uncertainty_repr(result: Any) -> str:
    return (
        f"<UncertaintyResult {len(result.strategies)} strategies against {result.reference}: "
        f"{result.draws} parameter draws x {result.replicates} replicates, seed {result.seed}; "
        ".summary(), .pairwise(), .values>"
    )


def uncertainty_html(result: Any) -> str:
    title = f"{len(result.strategies)} strategies x {result.draws} parameter draws"
    lines = [
        f"{result.replicates} replicates per draw, reference {result.reference}; ui_*: 95 % "
        "uncertainty interval over draws, mc_ci_*: Monte Carlo CI of the mean"
    ]
    return _html(title, lines, result.summary())


def sweep_repr(result: Any) -> str:
    exp = result.experiment
    return (
        f"<SweepResult {exp.name}: {len(result.points)} points x {exp.replicates} replicates "
        f"in {result.folder}; .table, .points, .results, .summary()>"
    )


def sweep_html(result: Any) -> str:
    exp = result.experiment
    title = f"sweep {exp.name}: {len(result.points)} points x {exp.replicates} replicates"
    lines = [f"stored in {result.folder}; per point, strategy and outcome (mean, 95 % CI):"]
    return _html(title, lines, result.table)

"""A run's outputs: tidy tables, summary.json and figures, each written atomically."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from kds_sim._version import __version__
from kds_sim.analysis.runner import RunResult
from kds_sim.io import plots, storage
from kds_sim.io.plots import plain_text


def headline(summary: pd.DataFrame) -> dict[str, dict[str, float | None]]:
    """Metric -> statistics; an undefined value (NaN) becomes None (JSON null: NaN is not JSON)."""
    keys = ("mean", "ci_low", "ci_high", "range_low", "range_high")
    return {
        str(row.metric): {
            k: None if pd.isna(getattr(row, k)) else float(getattr(row, k)) for k in keys
        }
        for row in summary.itertuples()
    }


def provenance(result: RunResult) -> dict:
    return {
        "package": "kds-sim",
        "version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seed": result.seed,
        "replicates": result.replicates,
        "horizon_days": result.horizon,
    }


@plain_text()
def write_run(result: RunResult, out: Path) -> list[Path]:
    """Write every output of one scenario's run into `out`."""
    outputs = result.scenario.outputs
    written: list[Path] = []
    summary = result.summary()
    written += storage.write_table(out / "daily", result.daily, outputs.parquet)
    if outputs.person_table:
        written += storage.write_table(out / "people", result.people, outputs.parquet)
    written += storage.write_table(out / "metrics", result.metrics, outputs.parquet)
    written += storage.write_table(out / "summary", summary, outputs.parquet)
    survival = result.survival()
    written += storage.write_table(out / "survival", survival, outputs.parquet)
    if outputs.figures:
        written += _figures(result, survival, out)
    written.append(
        storage.write_json(
            out / "summary.json",
            {
                **provenance(result),
                "scenario": result.scenario.model_dump(mode="json"),
                "metrics": headline(summary),
            },
        )
    )
    return written


def _figures(result: RunResult, survival: pd.DataFrame, out: Path) -> list[Path]:
    written = []
    figure, ax = plots.new_axes()
    plots.survival(
        survival, ax, f"Relapse-free survival: {result.name} ({result.replicates} replicates)"
    )
    written.append(storage.write_figure(out / "survival.png", figure))
    figure, ax = plots.new_axes()
    plots.prevalence(result.prevalence(), ax, f"State of the cohort by day: {result.name}")
    written.append(storage.write_figure(out / "prevalence.png", figure))
    if result.scenario.group.enabled:
        figure, ax = plots.new_axes()
        plots.capacity(result.daily, ax, f"Group capacity by domain: {result.name}")
        written.append(storage.write_figure(out / "capacity.png", figure))
    return written


def format_summary(summary: pd.DataFrame, metrics: tuple[str, ...] | None = None) -> str:
    """A plain-text table for the terminal."""
    rows = summary if metrics is None else summary[summary["metric"].isin(metrics)]
    lines = [f"{'metric':<28} {'mean':>8}  {'95% CI':>19}  {'95% range':>19}"]
    for row in rows.itertuples():
        lines.append(
            f"{row.metric:<28} {row.mean:>8.3f}  [{row.ci_low:>7.3f}, {row.ci_high:>7.3f}]"
            f"  [{row.range_low:>7.3f}, {row.range_high:>7.3f}]"
        )
    return "\n".join(lines)

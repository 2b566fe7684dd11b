"""A sweep's analysis outputs: tidy tables, figures and a self-contained report.html.

What is analysed follows the design: Sobol indices for sobol designs, Morris mu*/sigma for
morris designs, response surfaces for grids with two or more factors, and PRIM when the
experiment (or the caller) names a discovery rule.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kds_sim._version import __version__
from kds_sim.analysis.sweep import SweepResult, figures
from kds_sim.io import storage
from kds_sim.io.plots import plain_text
from kds_sim.report.comparison_report import CSS
from kds_sim.report.html import el, join, page, table
from kds_sim.report.images import embed_image


def _save(fig: object, path: Path, written: list[Path]) -> Path:
    import matplotlib.pyplot as plt

    written.append(storage.write_figure(path, fig))
    plt.close(fig)  # type: ignore[arg-type]
    return path


@plain_text()
def write_analysis(
    result: SweepResult,
    out: str | Path,
    prim_rule: tuple[str, float, bool] | None = None,
    strategy: str | None = None,
) -> list[Path]:
    """Write every analysis the design allows into `out`; returns the files written."""
    out = Path(out)
    exp = result.experiment
    strategy = strategy or result.main_strategy
    written = storage.write_table(out / "outcomes", result.table)
    sections: list[tuple[str, pd.DataFrame, Path | None]] = []
    method = exp.design.method
    present = set(result.table.loc[result.table["strategy"] == strategy, "outcome"])
    outcomes = [o for o in exp.outcomes if o in present]
    for outcome in outcomes:
        if method == "sobol":
            table = result.sobol(outcome, strategy)
            fig = _save(figures.sobol_figure(table), out / f"sobol_{outcome}.png", written)
        elif method == "morris":
            table = result.morris(outcome, strategy)
            fig = _save(figures.morris_figure(table), out / f"morris_{outcome}.png", written)
        elif method == "grid" and len(exp.factors) >= 2:
            x, y = list(exp.factors)[:2]
            table = result.surface(outcome, x, y, strategy)
            fig = _save(
                figures.surface_figure(table, outcome, x, y),
                out / f"surface_{outcome}.png",
                written,
            )
        else:
            continue
        written += storage.write_table(out / f"{method}_{outcome}", table)
        sections.append((f"{method}: {outcome} ({strategy})", table, fig))
    rule = prim_rule or (
        (exp.discovery.outcome, exp.discovery.threshold, exp.discovery.below)
        if exp.discovery
        else None
    )
    if rule is not None:
        outcome, threshold, below = rule
        boxes = result.prim(outcome, threshold, below, strategy)
        written += storage.write_table(out / "prim", boxes)
        fig = _save(figures.prim_figure(boxes, result.points), out / "prim.png", written)
        sections.append((f"PRIM: {outcome} {'<' if below else '>'} {threshold:g}", boxes, fig))
    written.append(_html(result, sections, out / "report.html"))
    return written


def _html(
    result: SweepResult, sections: list[tuple[str, pd.DataFrame, Path | None]], path: Path
) -> Path:
    exp = result.experiment
    factors = join((el("code", k) for k in exp.factors), ", ")
    note = el(
        "p",
        f"{exp.design.method} design, {len(result.points)} points, strategies "
        f"{', '.join(str(p) for p in exp.all_paths())}, reference {exp.reference_name}, "
        f"{exp.replicates} replicates per point on common random numbers (seed {exp.seed}); "
        f"{len(result.results)} runs; kds-sim {__version__}. Factors: ",
        factors,
        ".",
        class_="note",
    )
    body: list[object] = [el("h1", f"Sweep: {exp.name}"), el("p", exp.description), note]
    for title, frame, fig in sections:
        body.append(el("h2", title))
        if fig is not None and fig.is_file():
            body.append(embed_image(fig))
        body.append(table(frame, index=False, float_format=lambda v: f"{v:.4g}"))
    return storage.write_text(path, page(exp.name, body, CSS))

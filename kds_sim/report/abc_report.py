"""An ABC calibration's outputs: the posterior ensemble, its diagnostics, figures and a report.

Files (STEM is the targets file's name): STEM_posterior.parquet (+ .json provenance),
STEM_generations.csv, STEM_predictive.csv (+ STEM_predictive_draws.csv), STEM_identification.csv,
STEM_pairs.png, STEM_generations.png and STEM_abc.html. Every file is written atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kds_sim.analysis.abc import AbcResult, write_posterior
from kds_sim.io import storage
from kds_sim.io.plots import plain_text
from kds_sim.report.comparison_report import CSS
from kds_sim.report.html import Html, el, page, table
from kds_sim.report.images import embed_image


def pair_keys(identification: pd.DataFrame, identified: int = 4, contrast: int = 1) -> list[str]:
    """The parameters the pairs plot shows: the `identified` best identified (smallest posterior
    sd / prior sd), the two of the strongest posterior correlation (the clearest trade-off),
    and the `contrast` least identified."""
    ordered = list(identification.sort_values("sd_ratio")["parameter"])
    if len(ordered) <= identified + 2 + contrast:
        return ordered
    keys = ordered[:identified]
    strongest = identification.iloc[int(identification["correlation"].abs().to_numpy().argmax())]
    keys += [str(k) for k in (strongest["parameter"], strongest["partner"]) if k not in keys]
    return keys + [k for k in ordered[-contrast:] if k not in keys]


def _short(key: str) -> str:
    return key.rsplit(".", 2)[-2] + "." + key.rsplit(".", 1)[-1] if key.count(".") > 1 else key


def pairs_figure(result: AbcResult, keys: list[str]) -> Any:
    """Weighted posterior: histograms with the prior density on the diagonal, particle scatter
    below; axes span the prior, so a parameter the data ignore fills its axis."""
    import matplotlib.pyplot as plt

    n = len(keys)
    figure, axes = plt.subplots(n, n, figsize=(2.1 * n + 1, 2.1 * n + 0.6), squeeze=False)
    w = result.posterior["weight"].to_numpy(dtype=float)
    size = 4 + 60 * w / w.max()
    for i, row_key in enumerate(keys):
        for j, col_key in enumerate(keys):
            ax = axes[i][j]
            px, py = result.priors[col_key], result.priors[row_key]
            x = result.posterior[col_key].to_numpy(dtype=float)
            if i == j:
                grid = np.linspace(px.low, px.high, 200)
                ax.hist(x, bins=20, range=(px.low, px.high), weights=w, density=True,
                        color="#4c78a8", alpha=0.7)  # fmt: skip
                ax.plot(grid, px.pdf(grid), color="#888", lw=1.2, ls="--")
                ax.set_yticks([])
            elif i > j:
                y = result.posterior[row_key].to_numpy(dtype=float)
                ax.scatter(x, y, s=size, alpha=0.35, color="#4c78a8", lw=0)
                ax.set_ylim(py.low, py.high)
            else:
                ax.set_visible(False)
                continue
            ax.set_xlim(px.low, px.high)
            ax.tick_params(labelsize=7)
            if i == n - 1:
                ax.set_xlabel(_short(col_key), fontsize=8)
            else:
                ax.set_xticklabels([])
            if j == 0 and i > 0:
                ax.set_ylabel(_short(row_key), fontsize=8)
            elif i != j:
                ax.set_yticklabels([])
    figure.suptitle(
        f"Posterior ({len(w)} particles, ESS {result.ess:.0f}); dashed: prior density",
        fontsize=10,
    )
    figure.tight_layout()
    return figure


def generations_figure(generations: pd.DataFrame) -> Any:
    """Epsilon, acceptance rate and effective sample size by generation."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    g = generations["generation"]
    panels = (
        ("epsilon", "epsilon (tolerances)", True),
        ("acceptance_rate", "acceptance rate", True),
        ("ess", "effective sample size", False),
    )
    for ax, (column, label, log) in zip(axes, panels, strict=True):
        ax.plot(g, generations[column], marker="o", color="#4c78a8")
        ax.set_xlabel("generation")
        ax.set_title(label, fontsize=10)
        if log:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[2].axhline(generations["particles"].iloc[-1], color="#888", ls="--", lw=1)
    figure.tight_layout()
    return figure


@plain_text()
def write_abc(
    result: AbcResult,
    predictive: pd.DataFrame,
    per_draw: pd.DataFrame,
    out: str | Path,
    stem: str,
    posterior_dir: str | Path | None = None,
    db: Path | None = None,
) -> list[Path]:
    """Write the posterior (into `posterior_dir`, default `out`) and every diagnostic into
    `out`; returns the files written."""
    out = Path(out)
    home = Path(posterior_dir) if posterior_dir is not None else out
    provenance = result.provenance()
    provenance["history_db"] = db.name if db is not None else None
    written = [
        write_posterior(home / f"{stem}_posterior.parquet", result.posterior, provenance),
        storage.write_json(home / f"{stem}_posterior.json", provenance),
    ]
    identification = result.identification()
    tables = {
        "generations": result.generations,
        "predictive": predictive,
        "predictive_draws": per_draw,
        "identification": identification,
    }
    for name, frame in tables.items():
        written += storage.write_table(out / f"{stem}_{name}", frame, parquet=False)
    pairs = out / f"{stem}_pairs.png"
    written.append(storage.write_figure(pairs, pairs_figure(result, pair_keys(identification))))
    gens = out / f"{stem}_generations.png"
    written.append(storage.write_figure(gens, generations_figure(result.generations)))
    written.append(_html(result, provenance, tables, pairs, gens, out / f"{stem}_abc.html"))
    return written


def _html(
    result: AbcResult,
    provenance: dict[str, Any],
    tables: dict[str, pd.DataFrame],
    pairs: Path,
    gens: Path,
    path: Path,
) -> Path:
    s = result.settings
    ident = tables["identification"]
    counts = ident["reading"].value_counts()

    def frame_table(frame: pd.DataFrame) -> Html:
        return table(frame, index=False, float_format=lambda v: f"{v:.4g}", na_rep="")

    stop = (
        f"reached the epsilon floor {s.minimum_epsilon:g}"
        if result.converged
        else f"stopped at epsilon {result.epsilon:.3g} (generation or simulation limit) before "
        f"the floor {s.minimum_epsilon:g}"
    )
    title = f"ABC calibration: {result.targets.path.name}"
    readings = ", ".join(f"{int(n)} {r}" for r, n in counts.items())
    body = [
        el("h1", title),
        el(
            "p",
            f"ABC-SMC with {s.population} particles, {len(result.generations)} generations, "
            f"{result.simulations} simulations in {result.wall_seconds / 60:.1f} minutes "
            f"({s.sampler}); {stop}. Effective sample size of the posterior "
            f"{result.ess:.0f}. Each particle ran the fit targets' scenarios with "
            f"{s.replicates} replicates and fresh seeds (root seed {s.seed}; reproducible "
            f"{provenance['reproducible']}). kds-sim {provenance['version']}, "
            f"pyabc {provenance['pyabc']}.",
        ),
        el(
            "p",
            f"{len(ident)} parameters inferred: {readings} (posterior sd / prior sd below 0.5: "
            "identified; 0.5-0.85: partly; above: the targets say little about it and its "
            "posterior is close to its prior).",
            class_="note",
        ),
        el("h2", "Generations"),
        embed_image(gens),
        frame_table(tables["generations"]),
        el("h2", "Posterior predictive check (every target)"),
        frame_table(tables["predictive"]),
        el("h2", "Pairwise posterior"),
        embed_image(pairs),
        el("h2", "Identification"),
        frame_table(ident),
    ]
    return storage.write_text(path, page(title, body, CSS))

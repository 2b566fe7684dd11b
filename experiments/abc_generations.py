"""How identification changes generation by generation in an ABC run (a diagnostic).

Reads the pyabc history an ABC run kept (`calibrate_abc.py --keep-db`) and writes, for every
generation, its epsilon, effective sample size and each parameter's posterior sd / prior sd with
its reading (`kds_sim.analysis.abc.identified_reading`: not read below an ESS of 20), as a tidy
table and a figure. It answers "would more generations identify a parameter?":

    python experiments/calibrate_abc.py --keep-db      # the shipped run, its history kept
    python experiments/abc_generations.py experiments/results/calibration_abc/indonesia_2015_abc.db

docs/calibration.md section 6 reads the result.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from kds_sim.analysis import abc
from kds_sim.analysis.calibration import load_targets

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ROOT / "scenarios" / "targets" / "indonesia_2015.toml"


def by_generation(db: Path) -> pd.DataFrame:
    """One row per generation and parameter: epsilon, ESS, sd ratio, reading."""
    pyabc = abc.require_pyabc()
    targets = load_targets(TARGETS)
    priors = abc.select_priors(targets, list(targets.spec.free))
    history = pyabc.History(f"sqlite:///{db}", _id=1)
    generations = abc.generation_table(history)  # read once, not once per generation
    rows = []
    for t in range(int(history.max_t) + 1):
        settings = abc.AbcSettings()
        result = abc.result_from_history(history, targets, priors, settings, 0.0, t, generations)
        last = result.generations.iloc[-1]
        table = result.identification()
        for row in table.itertuples():
            rows.append(
                {
                    "generation": t,
                    "epsilon": float(last["epsilon"]),
                    "ess": float(last["ess"]),
                    "acceptance_rate": float(last["acceptance_rate"]),
                    "parameter": row.parameter,
                    "sd_ratio": float(row.sd_ratio),
                    "reading": row.reading,
                }
            )
    return pd.DataFrame(rows)


def figure(table: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 7), sharex=True, height_ratios=[3, 1])
    for key, rows in table.groupby("parameter", sort=False):
        top.plot(rows["generation"], rows["sd_ratio"], marker="o", label=key)
    top.axhline(abc.IDENTIFIED, color="black", linestyle="--", linewidth=1)
    top.text(0, abc.IDENTIFIED - 0.05, "identified below 0.5", fontsize=8)
    top.set_ylabel("posterior sd / prior sd")
    top.set_ylim(0, 1.25)
    top.legend(fontsize=7, ncol=2, loc="lower left")
    top.set_title("Identification by ABC generation")
    gens = table.drop_duplicates("generation")
    bottom.bar(gens["generation"], gens["ess"], color="#888888")
    bottom.axhline(abc.MIN_ESS, color="black", linestyle="--", linewidth=1)
    bottom.set_ylabel("ESS (of 100)")
    bottom.set_xlabel("generation (its epsilon above each bar)")
    for g in gens[gens["ess"] < abc.MIN_ESS].itertuples():  # sd ratios not read there
        top.axvspan(g.generation - 0.5, g.generation + 0.5, color="#dddddd", zorder=0)
        top.text(g.generation, 1.18, "ESS < 20:\nnot read", ha="center", fontsize=7)
    for g in gens.itertuples():
        bottom.text(g.generation, g.ess + 2, f"eps {g.epsilon:.2f}", ha="center", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path, help="a kept pyabc history (calibrate_abc.py --keep-db)")
    parser.add_argument("--out", type=Path, help="folder (default: the database's)")
    args = parser.parse_args()
    if not args.db.is_file():
        parser.error(f"{args.db}: no such file; allowed: a history kept by --keep-db")
    out = args.out or args.db.parent
    table = by_generation(args.db)
    table.to_csv(out / "identification_by_generation.csv", index=False)
    figure(table, out / "identification_by_generation.png")
    wide = table.pivot(index="generation", columns="parameter", values="sd_ratio")
    summary = table.drop_duplicates("generation").set_index("generation")
    print(summary[["epsilon", "ess", "acceptance_rate"]].join(wide.round(2)).to_string())
    print(f"wrote {out}/identification_by_generation.csv and .png")


if __name__ == "__main__":
    main()

"""Reproduce the shipped Bayesian calibration (ABC-SMC) against the Indonesian figures.

Infers the parameters the fit targets of scenarios/targets/indonesia_2015.toml can identify: the
eight of its [free] table (the level, the early peak and its decay, the late hazard's three
sources and how often a lapse becomes a relapse), each from its prior; every other parameter
keeps its prior (the uncertainty runner draws it from there). --all-parameters infers all 81
with a non-fixed prior instead (far slower: after three generations, 32 minutes on one core at
epsilon 5.4, no parameter's posterior sd was under 0.8 of its prior sd). Writes the posterior
ensemble scenarios/calibrated/indonesia_2015_posterior.parquet (+ .json provenance), which
scenarios use as `uncertainty.posterior`, and the diagnostics (generations, posterior
predictive check of every target, identification, figures, report) to
experiments/results/calibration_abc/.

    python experiments/calibrate_abc.py                # one core: exactly reproducible
    python experiments/calibrate_abc.py --workers 2    # the same in distribution, not bit for bit
    python experiments/calibrate_abc.py --dask-local 2 # pyabc's Dask sampler on a local cluster

docs/calibration.md explains the method and reads the result.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import time
from pathlib import Path

from kds_sim.analysis import abc
from kds_sim.analysis.calibration import load_targets
from kds_sim.report.abc_report import write_abc

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ROOT / "scenarios" / "targets" / "indonesia_2015.toml"
POSTERIOR_DIR = ROOT / "scenarios" / "calibrated"
RESULTS = ROOT / "experiments" / "results" / "calibration_abc"

SHIPPED = abc.AbcSettings(
    population=100,
    generations=8,
    replicates=4,
    seed=1,
    predictive_draws=30,
)
"""100 particles, at most 8 generations (stopping early at the epsilon floor 1.0), 4 replicates
of the 300-person discharge cohort followed three years per particle, a posterior predictive
check at 30 posterior draws. docs/calibration.md section 6 gives the run's simulations and
time (experiments/results/calibration_abc/)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1, help="local processes (default 1)")
    parser.add_argument("--dask-local", type=int, metavar="N", help="a local Dask cluster of N")
    parser.add_argument("--population", type=int, default=SHIPPED.population)
    parser.add_argument("--generations", type=int, default=SHIPPED.generations)
    parser.add_argument("--out", type=Path, default=RESULTS, help="diagnostics folder")
    parser.add_argument(
        "--from-db",
        type=Path,
        help="finish from the working database of a single-core run stopped between "
        "generations (its last complete generation; --generations K+1 reproduces it exactly)",
    )
    parser.add_argument(
        "--all-parameters",
        action="store_true",
        help="infer every parameter with a non-fixed prior, not only the targets file's [free]",
    )
    parser.add_argument(
        "--posterior-dir", type=Path, default=POSTERIOR_DIR, help="where the posterior goes"
    )
    parser.add_argument(
        "--keep-db",
        action="store_true",
        help="keep pyabc's history as OUT/STEM_abc.db (experiments/abc_generations.py reads it)",
    )
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    logging.getLogger("ABC").setLevel(logging.INFO)
    settings = dataclasses.replace(
        SHIPPED,
        workers=args.workers,
        dask_local=args.dask_local,
        population=args.population,
        generations=args.generations,
    )
    targets = load_targets(TARGETS)
    priors = abc.select_priors(targets, None if args.all_parameters else list(targets.spec.free))
    stem = TARGETS.stem
    print(f"ABC-SMC over {len(priors)} parameters; {settings.sampler}")
    started = time.perf_counter()
    if args.from_db:
        result = abc.stopped_run(args.from_db, targets, priors, settings)
    else:
        db = abc.working_db(args.out, stem)
        try:
            result = abc.calibrate_abc(targets, priors, settings, db)
        finally:
            abc.finish_db(db, args.out, stem, keep=args.keep_db)
    predicted = time.perf_counter()
    predictive, per_draw = abc.predictive_check(result, workers=args.dask_local or args.workers)
    write_abc(result, predictive, per_draw, args.out, stem, posterior_dir=args.posterior_dir)
    total = time.perf_counter() - started
    print(result.generations.round(4).to_string(index=False))
    print(
        f"ABC: {result.wall_seconds / 60:.1f} min, {result.simulations} simulations "
        f"(with the calibration sample), final epsilon {result.epsilon:.3g}, ESS {result.ess:.0f}; "
        f"predictive check: {(total - (predicted - started)) / 60:.1f} min; "
        f"total wall time {total / 60:.1f} min"
    )
    print(predictive.round(4).to_string(index=False))
    print(f"wrote {args.posterior_dir / (stem + '_posterior.parquet')} and {args.out}/")


if __name__ == "__main__":
    main()

"""The policy comparison with parameter uncertainty: the README's headline intervals.

Four strategies (no group, the group as assessed, the capacity-building package, and the package
with mentoring):
1. on common random numbers at the calibrated point values, `--mc-replicates` replicates each
   (the Monte Carlo comparison);
2. at D parameter draws from the calibration posterior
   (scenarios/calibrated/indonesia_2015_posterior.parquet, drawn jointly) and, for every other
   parameter, from its prior; R replicates per draw; all strategies share each draw's parameters
   and random numbers. Intervention effects take the neutral log-normal prior (or, with
   `--effect-prior uniform_0_3x`, the sensitivity analysis); levers are never drawn; draws in
   which a group adds more than the Cochrane bound allows (members' RR > 1.42) are dropped.
Costs and the district figures on page 1 use the Cimahi example (scenarios/districts/cimahi.toml
and its unit costs, every one an assumption with a prior).
The full brief (report.html, report_id.html) with the uncertainty section, and every table and
figure, go to experiments/results/compare_uncertainty/; timing.json records the wall times.
Finished draws and replicates are kept in .draws/ and .replicates/ there (not committed), so a
killed run resumes.

    python experiments/compare_uncertainty.py           # D = 200, R = 10, 100 MC replicates
    python experiments/compare_uncertainty.py --draws 20 --replicates 4 --mc-replicates 10
    python experiments/compare_uncertainty.py --effect-prior uniform_0_3x \
        --out experiments/results/compare_uncertainty/uniform_0_3x   # the sensitivity analysis
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import kds_sim  # noqa: E402
from kds_sim.analysis import costs as cost_model  # noqa: E402
from kds_sim.analysis.comparison import compare, nested_pairs  # noqa: E402
from kds_sim.analysis.uncertainty import run_uncertainty, scenario_priors  # noqa: E402
from kds_sim.io import storage  # noqa: E402
from kds_sim.io.scenario_files import load_scenario  # noqa: E402
from kds_sim.model.priors import effect_prior  # noqa: E402
from kds_sim.report.decision import Decision  # noqa: E402
from kds_sim.report.uncertainty_report import headline  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "experiments" / "results" / "compare_uncertainty"
STRATEGIES = ("no_group", "group_as_assessed", "capacity_building", "capacity_building_mentoring")
AT_LEAST = 3.0
MID = 1.0
DISTRICT = "cimahi"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--replicates", type=int, default=10, help="per draw (default 10)")
    parser.add_argument(
        "--mc-replicates", type=int, default=100, help="Monte Carlo comparison (default 100)"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dask-local", type=int, metavar="N")
    parser.add_argument("--source", default="posterior", help="posterior, prior or a FILE")
    parser.add_argument(
        "--vary-prefix",
        nargs="+",
        metavar="PREFIX",
        help="draw only the parameters whose key starts with one of these (others stay at "
        "their calibrated values), e.g. group. intervention_effects.",
    )
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--effect-prior", default="lognormal", choices=("lognormal", "uniform_0_3x")
    )
    args = parser.parse_args()
    district = cost_model.read_district(DISTRICT)
    assert district.costs is not None
    scenarios = [
        district.costs.applied(load_scenario(ROOT / "scenarios" / f"{name}.toml"))
        for name in STRATEGIES
    ]
    if args.vary_prefix:
        keys = [
            k
            for k, p in scenario_priors(scenarios[0]).items()
            if not p.is_fixed and k.startswith(tuple(args.vary_prefix))
        ]
        for s in scenarios:
            s.uncertainty.vary = keys
    started = time.perf_counter()
    comparison = compare(
        scenarios,
        reference="no_group",
        replicates=args.mc_replicates,
        workers=args.workers,
        cache_dir=args.out / ".replicates",
    )
    compared = time.perf_counter()
    with effect_prior(args.effect_prior):
        result = run_uncertainty(
            scenarios,
            reference="no_group",
            source=args.source,
            draws=args.draws,
            replicates=args.replicates,
            workers=args.workers,
            dask_local=args.dask_local,
            cache_dir=args.out / ".draws",
        )
    wall = time.perf_counter() - compared
    result.price(scenarios, district.costs)
    decision = Decision(result, MID, nested_pairs(scenarios), district, result.seed)
    files = {name: f"scenarios/{name}.toml" for name in STRATEGIES}
    for stale in ("probability_best.csv", "probability_best.parquet"):
        (args.out / stale).unlink(missing_ok=True)
    for stale in args.out.glob("probability_best*.png"):
        stale.unlink()
    kds_sim.save(
        comparison,
        args.out,
        langs=("en", "id"),
        files=files,
        uncertainty=result,
        at_least=AT_LEAST,
        decision=decision,
    )
    runs = result.draws * result.replicates * len(scenarios)
    timing = {
        "draws": result.draws,
        "replicates": result.replicates,
        "strategies": len(scenarios),
        "runs": runs,
        "source": result.plan.source,
        "effect_prior": args.effect_prior,
        "conditioning": result.conditioning,
        "mid": MID,
        "district": district.name,
        "vary_prefix": args.vary_prefix,
        "parameters_drawn": len(result.plan.keys),
        "from_posterior": result.plan.from_posterior,
        "seconds": round(wall, 1),
        "mc_replicates": args.mc_replicates,
        "mc_seconds": round(compared - started, 1),
        "executor": result.timing["executor"],
        "draws_run_this_session": result.timing["draws_run"],
        "command": " ".join(["python", "experiments/compare_uncertainty.py", *sys.argv[1:]]),
    }
    record = args.out / "timing.json"
    if result.timing["draws_run"] or not record.exists():  # a run that only read the cache
        storage.write_text(record, json.dumps(timing, indent=2) + "\n")  # keeps the old times
    print(headline(result, AT_LEAST).round(3).to_string(index=False))
    print(decision.pairs().round(3).to_string(index=False))
    print(result.conditioning)
    print(f"{runs} runs in {wall:.0f} s ({result.timing['executor']}); wrote {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())

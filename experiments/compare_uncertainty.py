"""The policy comparison with parameter uncertainty: the README's headline intervals.

Four strategies (no group, the group as assessed, the capacity-building package, and the package
with mentoring) at D parameter draws from the calibration posterior
(scenarios/calibrated/indonesia_2015_posterior.parquet, drawn jointly) and, for every other
parameter, from its prior; R replicates per draw; all strategies share each draw's parameters
and random numbers. Written to experiments/results/compare_uncertainty/.

    python experiments/compare_uncertainty.py                        # D = 200, R = 20, 2 workers
    python experiments/compare_uncertainty.py --draws 20 --replicates 4   # a quick look
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from kds_sim.analysis.uncertainty import run_uncertainty, scenario_priors  # noqa: E402
from kds_sim.io import storage  # noqa: E402
from kds_sim.io.scenario_files import load_scenario  # noqa: E402
from kds_sim.report.uncertainty_report import headline, write_uncertainty  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "experiments" / "results" / "compare_uncertainty"
STRATEGIES = ("no_group", "group_as_assessed", "capacity_building", "capacity_building_mentoring")
AT_LEAST = 3.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--replicates", type=int, default=20)
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
    args = parser.parse_args()
    scenarios = [load_scenario(ROOT / "scenarios" / f"{name}.toml") for name in STRATEGIES]
    if args.vary_prefix:
        keys = [
            k
            for k, p in scenario_priors(scenarios[0]).items()
            if not p.is_fixed and k.startswith(tuple(args.vary_prefix))
        ]
        for s in scenarios:
            s.uncertainty.vary = keys
    started = time.perf_counter()
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
    wall = time.perf_counter() - started
    labels = {s.name: s.label or s.name for s in scenarios}
    written, section = write_uncertainty(result, args.out, AT_LEAST, labels)
    storage.write_text(
        args.out / "report.html",
        "<!doctype html><meta charset='utf-8'><title>kds-sim: uncertainty</title>"
        "<body style='font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto'>"
        f"<h1>Relapses averted under parameter uncertainty</h1>{section}</body>",
    )
    runs = result.draws * result.replicates * len(scenarios)
    timing = {
        "draws": result.draws,
        "replicates": result.replicates,
        "strategies": len(scenarios),
        "runs": runs,
        "source": result.plan.source,
        "vary_prefix": args.vary_prefix,
        "parameters_drawn": len(result.plan.keys),
        "from_posterior": result.plan.from_posterior,
        "seconds": round(wall, 1),
        "executor": result.timing["executor"],
        "draws_run_this_session": result.timing["draws_run"],
        "command": " ".join(["python", "experiments/compare_uncertainty.py", *sys.argv[1:]]),
    }
    storage.write_text(args.out / "timing.json", json.dumps(timing, indent=2) + "\n")
    print(headline(result, AT_LEAST).round(3).to_string(index=False))
    print(f"{runs} runs in {wall:.0f} s ({result.timing['executor']}); wrote {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())

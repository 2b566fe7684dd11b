"""Benchmark of ABC's model: particle evaluations per CPU second at the shipped settings.

The shipped ABC-SMC (experiments/calibrate_abc.py: 100 particles, 5 generations, 4 replicates
per particle) made 3,188 particle simulations in 894 s on one core at 60536d9
(scenarios/calibrated/indonesia_2015_posterior.json). Its time is the model's: every particle
runs the fit targets' scenarios through the evaluation core. This script times `--particles`
calls of `abc.ParticleModel` on prior draws (one process, CPU time) and extrapolates the
shipped run: 3,188 simulations / rate (an extrapolation, stated as such; pyabc's own work per
particle is small beside a simulation).

    python experiments/benchmark_abc_particles.py --particles 60
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from kds_sim.analysis import abc
from kds_sim.analysis.calibration import load_targets

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ROOT / "scenarios" / "targets" / "indonesia_2015.toml"
SHIPPED_SIMULATIONS = 3188
SHIPPED_SECONDS = 894.2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--particles", type=int, default=60)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    targets = load_targets(TARGETS)
    priors = abc.select_priors(targets)
    model = abc.ParticleModel(abc.fit_targets(targets), priors, 4, None, 1)
    rng = np.random.default_rng(0)
    particles = [
        {abc.safe_name(k): float(rng.normal()) for k in priors} for _ in range(args.particles)
    ]
    model(particles[0])  # warm up: numba compilation, file reading
    load = Path("/proc/loadavg").read_text().split()[:3]
    cpu, wall = time.process_time(), time.perf_counter()
    for p in particles:
        model(p)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    rate = args.particles / cpu
    found = {
        "particles": args.particles,
        "cpu_seconds": round(cpu, 2),
        "wall_seconds": round(wall, 2),
        "particles_per_cpu_second": round(rate, 2),
        "shipped_run_extrapolated_minutes": round(SHIPPED_SIMULATIONS / rate / 60, 2),
        "shipped_run_at_60536d9_minutes": round(SHIPPED_SECONDS / 60, 2),
        "load_average": load,
    }
    print(json.dumps(found, indent=2))
    if args.out:
        args.out.write_text(json.dumps(found, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Step time of one small KDSModel, as the classroom app steps it (issue 19: < 5 ms a day).

One replicate of 150 people with the peer group on, agent engine (each Mesa agent applies the
rules to itself) and vector engine; the median over days of wall and CPU time per step, after
a warm-up model (compilation and imports not counted). The load average is printed beside it.

    python experiments/benchmark_step.py            # writes experiments/results/benchmark_step.csv
"""

from __future__ import annotations

import csv
import os
import statistics
import time
from pathlib import Path

from kds_sim.model.kds_model import KDSModel
from kds_sim.model.scenario import Scenario

OUT = Path(__file__).resolve().parent / "results" / "benchmark_step.csv"


def scenario(engine: str, size: int = 150, days: int = 60) -> Scenario:
    return Scenario.model_validate(
        {
            "population": {"size": size},
            "run": {"horizon_days": days, "engine": engine},
            "group": {"enabled": True},
        }
    )


def main() -> None:
    rows = []
    for engine in ("agent", "vector"):
        KDSModel(scenario(engine, 10, 2), 0).run()  # warm up
        model = KDSModel(scenario(engine), 1)
        wall, cpu = [], []
        for _ in range(60):
            start, begun = time.perf_counter(), time.process_time()
            model.step()
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - begun)
        rows.append(
            {
                "engine": engine,
                "people": 150,
                "median_step_ms": round(1e3 * statistics.median(wall), 3),
                "median_step_cpu_ms": round(1e3 * statistics.median(cpu), 3),
                "load_1min": round(os.getloadavg()[0], 2),
            }
        )
        print(rows[-1])
    with OUT.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()

"""Did the change of random streams (counter-based draws, CHANGELOG 0.3) move any headline result?

The four headline scenarios x 100 replicates, with the code checked out here: each headline
metric's mean over replicates and its 95 % Monte Carlo CI of the mean (Student t over
replicates), plus the paired "relapses averted per 100 by 365 days" against no_group (common
random numbers within one version).

    python experiments/stream_change.py run after        # this code
    PYTHONPATH=/tmp/kds_before python experiments/stream_change.py run before   # old code
    python experiments/stream_change.py compare          # writes stream_change.csv

`compare` puts before and after side by side: the difference of the means, and the Monte Carlo
CI half-width of that difference (the two runs are independent: sqrt(h_before^2 + h_after^2)).
A stream change moves a metric only by Monte Carlo noise if |difference| is below that.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "experiments" / "results"
SCENARIOS = ("no_group", "group_as_assessed", "capacity_building", "capacity_building_mentoring")
METRICS = (
    "relapse_90d",
    "relapse_180d",
    "relapse_365d",
    "continuous_abstinence_365d",
    "lapses_per_person",
    "lapse_to_relapse_share",
    "use_prevalence_end",
    "capacity_end",
)
REPLICATES = 100


def ci(values: np.ndarray) -> tuple[float, float]:
    """Mean and 95 % Monte Carlo CI half-width (Student t over replicates)."""
    values = values[~np.isnan(values)]
    if len(values) < 2:
        return float(np.mean(values)) if len(values) else np.nan, 0.0
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return float(values.mean()), float(half)


def run(label: str) -> None:
    import kds_sim
    from kds_sim.analysis import metrics, runner
    from kds_sim.io.scenario_files import load_scenario

    print(f"kds_sim from {Path(kds_sim.__file__).parent}", file=sys.stderr)
    per_scenario = {}
    for name in SCENARIOS:
        scenario = load_scenario(ROOT / "scenarios" / f"{name}.toml")
        result = runner.run(scenario, replicates=REPLICATES, progress=False, workers=1)
        rows = []
        for (r, people), (_, daily) in zip(
            result.people.groupby("replicate"), result.daily.groupby("replicate"), strict=True
        ):
            values = metrics.replicate_metrics(people, daily)
            rows.append({"replicate": r, **{m: values.get(m, np.nan) for m in METRICS}})
        per_scenario[name] = pd.DataFrame(rows).set_index("replicate")
    out = []
    for name, table in per_scenario.items():
        for metric in METRICS:
            mean, half = ci(table[metric].to_numpy(dtype=float))
            out.append({"scenario": name, "metric": metric, "mean": mean, "ci_half": half})
        if name != "no_group":
            base = per_scenario["no_group"]["relapse_365d"]
            averted = 100 * (base - table["relapse_365d"]).to_numpy(dtype=float)
            mean, half = ci(averted)
            out.append(
                {"scenario": name, "metric": "averted_per_100_365d", "mean": mean, "ci_half": half}
            )
    path = RESULTS / f"stream_change_{label}.csv"
    pd.DataFrame(out).to_csv(path, index=False, float_format="%.6g")
    print(f"wrote {path}")


def compare() -> None:
    before = pd.read_csv(RESULTS / "stream_change_before.csv")
    after = pd.read_csv(RESULTS / "stream_change_after.csv")
    both = before.merge(after, on=["scenario", "metric"], suffixes=("_before", "_after"))
    both["difference"] = both["mean_after"] - both["mean_before"]
    both["difference_ci_half"] = np.hypot(both["ci_half_before"], both["ci_half_after"])
    undefined = both["mean_before"].isna() & both["mean_after"].isna()  # e.g. no group: no capacity
    both = both[~undefined].copy()
    both["within_mc_ci"] = both["difference"].abs() <= both["difference_ci_half"]
    both["within_own_ci"] = both["difference"].abs() <= np.maximum(
        both["ci_half_before"], both["ci_half_after"]
    )
    both.to_csv(RESULTS / "stream_change.csv", index=False, float_format="%.6g")
    with pd.option_context("display.width", 200, "display.max_rows", 100):
        print(both.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    print(f"\n{int(both['within_mc_ci'].sum())} of {len(both)} within the difference's MC CI")


if __name__ == "__main__":
    if sys.argv[1:2] == ["run"]:
        run(sys.argv[2])
    else:
        compare()

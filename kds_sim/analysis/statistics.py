"""Statistics over replicates: means with 95 % CIs, ranges, survival curves, paired contrasts.

Two intervals are reported for every metric:
- `ci_low`/`ci_high`: 95 % confidence interval of the expected value (Student t over replicates),
  which shrinks as replicates grow: how sure we are of the model's answer;
- `range_low`/`range_high`: the 2.5th and 97.5th percentiles across replicates: what one
  cohort of this size could plausibly show.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def mean_ci(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval of the mean; NaNs are dropped."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return np.nan, np.nan, np.nan
    mean = float(values.mean())
    if len(values) < 2 or np.all(values == values[0]):
        return mean, mean, mean
    half = stats.t.ppf(0.5 + level / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return mean, mean - half, mean + half


def summarise(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per metric: mean, 95 % CI of the mean, and the 95 % range across replicates."""
    rows = []
    for name in metrics.columns.drop("replicate", errors="ignore"):
        values = metrics[name].to_numpy(dtype=float)
        mean, low, high = mean_ci(values)
        finite = values[~np.isnan(values)]
        rows.append(
            {
                "metric": name,
                "mean": mean,
                "ci_low": low,
                "ci_high": high,
                "range_low": float(np.percentile(finite, 2.5)) if len(finite) else np.nan,
                "range_high": float(np.percentile(finite, 97.5)) if len(finite) else np.nan,
                "replicates": int(len(finite)),
            }
        )
    return pd.DataFrame(rows)


def kaplan_meier(people: pd.DataFrame, days: np.ndarray) -> np.ndarray:
    """Kaplan-Meier survival to first relapse at `days`, with right censoring."""
    event = ~people["relapse_censored"].to_numpy()
    time = people["relapse_time"].to_numpy(dtype=float)
    if not event.any():
        return np.ones(len(days))
    data = stats.CensoredData(uncensored=time[event], right=time[~event])
    return stats.ecdf(data).sf.evaluate(days)


def survival_curve(people: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """Mean relapse-free survival by day over replicates, with a 95 % CI band."""
    days = np.arange(horizon + 1)
    curves = np.array(
        [kaplan_meier(group, days) for _, group in people.groupby("replicate", sort=True)]
    )
    rows = [mean_ci(curves[:, j]) for j in range(len(days))]
    mean, low, high = (np.array(col) for col in zip(*rows, strict=True))
    return pd.DataFrame({"day": days, "survival": mean, "ci_low": low, "ci_high": high})


def paired_difference(metric: pd.DataFrame, reference: pd.DataFrame) -> tuple[float, float, float]:
    """Mean and CI of the per-replicate difference (common random numbers pair replicates)."""
    joined = metric.merge(reference, on="replicate", suffixes=("", "_ref"))
    return mean_ci(joined.iloc[:, 1].to_numpy() - joined.iloc[:, 2].to_numpy())


def ratio_ci(numerator: np.ndarray, denominator: np.ndarray) -> tuple[float, float, float]:
    """Ratio of means with a CI from the paired log ratios (delta-free, replicate-based)."""
    numerator, denominator = np.asarray(numerator, float), np.asarray(denominator, float)
    ok = (numerator > 0) & (denominator > 0)
    if not ok.any():
        return np.nan, np.nan, np.nan
    _, low, high = mean_ci(np.log(numerator[ok] / denominator[ok]))
    return float(numerator.mean() / denominator.mean()), float(np.exp(low)), float(np.exp(high))

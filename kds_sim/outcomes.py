"""Outcome metrics: computed per replicate, then summarised over replicates with 95 % CIs.

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

CHECKPOINTS = (90, 180, 365)


def relapse_by(people: pd.DataFrame, day: int) -> float:
    """Cumulative incidence of a first relapse by `day`: share of the cohort."""
    return float((people["first_relapse_day"] <= day).mean())


def replicate_metrics(people: pd.DataFrame, daily: pd.DataFrame) -> dict[str, float]:
    """Headline metrics of one replicate."""
    horizon = int(daily["day"].max())
    metrics = {f"relapse_{d}d": relapse_by(people, d) for d in CHECKPOINTS if d <= horizon}
    metrics["relapse_horizon"] = relapse_by(people, horizon)
    if horizon >= 365:
        metrics["continuous_abstinence_365d"] = float(
            (people["first_lapse_day"].isna() | (people["first_lapse_day"] > 365)).mean())
    resolved = people["lapses"].sum() - people["open_lapse"].sum()
    metrics["lapses_per_person"] = float(people["lapses"].mean())
    metrics["lapse_to_relapse_share"] = (float(people["relapses"].sum() / resolved)
                                         if resolved else np.nan)
    last = daily.iloc[-1]
    metrics["use_prevalence_end"] = float((last["lapsed"] + last["relapsed"]) / len(people))
    metrics["members_end"] = float(last["members"])
    metrics["capacity_end"] = float(last["capacity_mean"])
    metrics["meetings_held"] = float(daily["meeting_held"].sum())
    return metrics


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
        rows.append({
            "metric": name, "mean": mean, "ci_low": low, "ci_high": high,
            "range_low": float(np.percentile(finite, 2.5)) if len(finite) else np.nan,
            "range_high": float(np.percentile(finite, 97.5)) if len(finite) else np.nan,
            "replicates": int(len(finite)),
        })
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
    curves = np.array([kaplan_meier(group, days)
                       for _, group in people.groupby("replicate", sort=True)])
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

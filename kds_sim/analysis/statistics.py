"""Statistics over replicates: means with 95 % CIs, ranges, survival curves, paired contrasts.

Two intervals are reported for every metric:
- `ci_low`/`ci_high`: 95 % confidence interval of the expected value (Student t over replicates),
  which shrinks as replicates grow: how sure we are of the model's answer;
- `range_low`/`range_high`: the 2.5th and 97.5th percentiles across replicates: what one
  cohort of this size could plausibly show.

A share (relapse by 12 months, the relapse-free share on a day) cannot leave [0, 1], and
neither can its interval: shares get a Wilson score interval on the effective sample size of
the replicates (`proportion_ci`), which is the Student t interval when replicates are many
and stays inside [0, 1] when they are few. Fewer than MIN_REPLICATES replicates give a
warning: an interval from so few is rough whatever its formula.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import stats


def _sample(values: np.ndarray) -> tuple[np.ndarray, tuple[float, float, float] | None]:
    """The replicates' values without NaNs, and the answer when they allow no interval (none
    left, one left, or all equal): what `mean_ci` and `proportion_ci` share."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return values, (np.nan, np.nan, np.nan)
    mean = float(values.mean())
    if len(values) < 2 or np.all(values == values[0]):
        return values, (mean, mean, mean)
    return values, None


@lru_cache(maxsize=256)
def t_quantile(q: float, df: int) -> float:
    """Student t quantile (cached: scipy's ppf costs a millisecond, and an analysis asks for
    the same few thousands of times)."""
    return float(stats.t.ppf(q, df))


def mean_ci(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval of the mean; NaNs are dropped."""
    values, degenerate = _sample(values)
    if degenerate is not None:
        return degenerate
    mean = float(values.mean())
    half = t_quantile(0.5 + level / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return mean, mean - half, mean + half


MIN_REPLICATES = 5
"""Below this many replicates an interval is reported with a warning (t with < 4 df)."""


class FewReplicatesWarning(UserWarning):
    """Intervals computed from fewer than MIN_REPLICATES replicates."""


def proportion_ci(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean of per-replicate shares and a Wilson score interval, always inside [0, 1].

    The replicates' spread gives the variance of the mean v; a binomial share with that
    variance has an effective sample size n = p(1-p)/v, and the Wilson interval for p on n
    people (with the Student t quantile of the replicates, as `mean_ci` uses) is the
    interval. For many replicates it equals the t interval; for few it stays in [0, 1]."""
    values, degenerate = _sample(values)
    if degenerate is not None:
        return degenerate
    p = float(values.mean())
    variance = float(values.var(ddof=1)) / len(values)
    if variance <= 0:  # differences below what a float holds: as good as all equal
        return p, p, p
    z = t_quantile(0.5 + level / 2, len(values) - 1)
    spread = p * (1 - p)
    if spread <= 0:  # shares outside (0, 1): not a proportion after all
        return mean_ci(values, level)
    n = spread / variance
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(spread / n + z * z / (4 * n * n))
    return p, max(0.0, centre - half), min(1.0, centre + half)


def interval(values: np.ndarray, share: bool = False) -> tuple[float, float, float]:
    """The mean and 95 % CI of one metric over replicates: Wilson for a share, Student t
    otherwise; warns (FewReplicatesWarning) when the replicates are too few for either."""
    warn_if_few(int(np.count_nonzero(~np.isnan(np.asarray(values, dtype=float)))))
    return proportion_ci(values) if share else mean_ci(values)


def warn_if_few(replicates: int) -> None:
    if 0 < replicates < MIN_REPLICATES:
        warnings.warn(
            f"95 % intervals over {replicates} replicate{'s' if replicates != 1 else ''} are "
            f"rough (a single replicate has none); allowed but not advised: use at least "
            f"{MIN_REPLICATES} replicates",
            FewReplicatesWarning,
            stacklevel=3,
        )


def is_share(unit: str) -> bool:
    """A unit of a proportion bounded by 0 and 1 (not a difference of two shares)."""
    return unit == "share" or unit.startswith("share of")


def summarise(metrics: pd.DataFrame, units: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per metric: mean, 95 % CI of the mean, and the 95 % range across replicates.
    `units` (metric -> unit, as the metric registry gives them: `metrics.units`) marks the
    shares, whose interval is Wilson's."""
    rows = []
    names = [str(n) for n in metrics.columns.drop("replicate", errors="ignore")]
    units = units or {}
    warn_if_few(len(metrics))  # one row per replicate
    for name in names:
        values = metrics[name].to_numpy(dtype=float)
        share = is_share(units.get(name, ""))
        mean, low, high = proportion_ci(values) if share else mean_ci(values)
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
    rows = [proportion_ci(curves[:, j]) for j in range(len(days))]
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

"""Per-replicate metrics computed at once for a batch of rows held as column arrays.

The engine steps many replicates (rows) together; its results come back here as one array per
table column, `daily[column]` of shape [rows, horizon + 1] and `people[column]` of shape
[rows, n]. Every per-replicate metric the evaluator stores is a reduction over the last axis,
so a batch costs a few numpy calls instead of one pandas table per replicate.
The values equal the metric registry's per-table definitions (`metrics.get(name).per_replicate`)
exactly: counts are integers and shares are count / count, as pandas computes them
(tests/test_evaluation.py checks every metric against the registry).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kds_sim.analysis import metrics
from kds_sim.model import ensemble
from kds_sim.model.scenario import Scenario


@dataclass
class Columns:
    """Rows of one shape: `replicates[k]` is row k's replicate index."""

    replicates: np.ndarray
    daily: dict[str, np.ndarray]
    people: dict[str, np.ndarray]

    @property
    def horizon(self) -> int:
        return int(self.daily["day"][0, -1])

    def tables(self, row: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Row `row` as the engine's (daily, people) tables (for metrics not vectorised)."""
        daily = pd.DataFrame({k: v[row] for k, v in self.daily.items()})
        people = pd.DataFrame({k: v[row] for k, v in self.people.items()})
        return daily, people


def simulate_columns(
    scenarios: Sequence[Scenario], seed: int, indices: Sequence[int], budget_mb: float = 512.0
) -> Columns:
    """The one adapter between the analyses and the engine: replicate `indices[k]` of
    `scenarios[k]`, as the engine's column arrays (no per-replicate tables in between). The
    rows must share cohort size and horizon."""
    found = ensemble.simulate_columns(list(scenarios), seed, list(indices), budget_mb)
    return Columns(found.replicates, found.daily, found.people)


def _share(count: np.ndarray, total: np.ndarray) -> np.ndarray:
    """count / total per row, NaN where total is 0 (as pandas' mean of an empty selection)."""
    count, total = np.asarray(count, dtype=float), np.asarray(total, dtype=float)
    out = np.full(count.shape, np.nan)
    np.divide(count, total, out=out, where=total > 0)
    return out


def _followed(c: Columns, day: int) -> np.ndarray:
    return c.people["entry_day"] + day <= c.horizon


def relapse_by(c: Columns, day: int) -> np.ndarray:
    followed = _followed(c, day)
    hit = (c.people["first_relapse_day"] <= day) & followed
    return _share(hit.sum(axis=1), followed.sum(axis=1))


def lapse_by(c: Columns, day: int) -> np.ndarray:
    followed = _followed(c, day)
    hit = (c.people["first_lapse_day"] <= day) & followed
    return _share(hit.sum(axis=1), followed.sum(axis=1))


def _continuously_abstinent(c: Columns, day: int = 365) -> np.ndarray:
    lapse = c.people["first_lapse_day"]
    return np.isnan(lapse) | (lapse > day)


def _present(c: Columns) -> np.ndarray:
    return c.people["status_at_end"] != "absent"


def _mean(values: np.ndarray) -> np.ndarray:
    return _share(values.sum(axis=1), np.full(values.shape[0], values.shape[1]))


def _early(c: Columns) -> np.ndarray:
    followed = _followed(c, 365)
    first = c.people["first_lapse_day"]
    year = ((first <= 365) & followed).sum(axis=1)
    return _share(((first <= 90) & followed).sum(axis=1), year)


def _lapse_to_relapse(c: Columns) -> np.ndarray:
    p = c.people
    resolved = p["lapses"].sum(axis=1) - p["open_lapse"].sum(axis=1)
    return _share(p["relapses"].sum(axis=1), resolved)


def _last(c: Columns, column: str) -> np.ndarray:
    return c.daily[column][:, -1].astype(float)


VECTORISED: dict[str, Callable[[Columns], np.ndarray]] = {
    "relapse_horizon": lambda c: relapse_by(c, c.horizon),
    "continuous_abstinence_365d": lambda c: _share(
        (_continuously_abstinent(c) & _followed(c, 365)).sum(axis=1),
        _followed(c, 365).sum(axis=1),
    ),
    "lapses_per_person": lambda c: _mean(c.people["lapses"]),
    "lapse_to_relapse_share": _lapse_to_relapse,
    "use_prevalence_end": lambda c: (
        (_last(c, "lapsed") + _last(c, "relapsed")) / _last(c, "present")
    ),
    "early_lapse_share": _early,
    "ever_relapsed_share_present": lambda c: _share(
        (~np.isnan(c.people["first_relapse_day"]) & _present(c)).sum(axis=1),
        _present(c).sum(axis=1),
    ),
    "ever_used_share_present": lambda c: _share(
        (~np.isnan(c.people["first_lapse_day"]) & _present(c)).sum(axis=1),
        _present(c).sum(axis=1),
    ),
    "relapse_episodes_per_person": lambda c: _mean(c.people["relapses"]),
    "days_using_share": lambda c: _share(
        c.people["days_using"].sum(axis=1), np.maximum(1, c.people["followed_days"].sum(axis=1))
    ),
    "remissions_per_person": lambda c: _mean(c.people["remissions"]),
    "deaths_per_100": lambda c: (
        100 * _mean(np.isin(c.people["exit_reason"], ["died", "died of overdose"]))
    ),
    "members_end": lambda c: _last(c, "members"),
    "capacity_end": lambda c: _last(c, "capacity_mean"),
    "members_ever": lambda c: c.people["member"].sum(axis=1).astype(float),
    "meetings_held": lambda c: c.daily["meeting_held"].sum(axis=1).astype(float),
}
"""Per-replicate metrics over every row at once, by name (families are handled in `values`)."""


def values(c: Columns, name: str) -> np.ndarray:
    """One per-replicate metric for every row: vectorised where written above, else the
    registry's per-table definition row by row."""
    if name in VECTORISED:
        return VECTORISED[name](c)
    definition = metrics.get(name)
    if isinstance(definition, metrics.Metric) and definition.name.startswith("relapse_"):
        return relapse_by(c, definition.days)
    if isinstance(definition, metrics.Metric) and definition.name.startswith("lapse_"):
        return lapse_by(c, definition.days)
    if not isinstance(definition, metrics.Metric) or definition.per_replicate is None:
        raise KeyError(f"{name!r} is not a per-replicate metric")
    compute = definition.per_replicate
    rows = []
    for row in range(len(c.replicates)):
        daily, people = c.tables(row)
        rows.append(compute(people, daily))
    return np.array(rows, dtype=float)


def members_abstinence(c: Columns, ref: Columns) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the share continuously abstinent at 365 days among this row's group members,
    and among the same people in the reference row (common random numbers make person i the
    same person); NaN for a row without members (`metrics.members_abstinence_rr`)."""
    member = c.people["member"].astype(bool)
    count = member.sum(axis=1)
    own = (_continuously_abstinent(c) & member).sum(axis=1)
    theirs = (_continuously_abstinent(ref) & member).sum(axis=1)
    return _share(own, count), _share(theirs, count)


def survival(c: Columns, days: np.ndarray) -> np.ndarray:
    """Kaplan-Meier relapse-free survival at `days` for every row ([rows, len(days)]): the
    product over event days u <= t of 1 - events(u) / at risk(u), with right censoring."""
    time = c.people["relapse_time"].astype(np.int64)
    event = ~c.people["relapse_censored"].astype(bool)
    rows, width = time.shape[0], int(max(days.max(), time.max())) + 2
    offsets = (np.arange(rows) * width)[:, None]
    events = np.bincount((time + offsets)[event], minlength=rows * width).reshape(rows, width)
    ends = np.bincount((time + offsets).ravel(), minlength=rows * width).reshape(rows, width)
    at_risk = time.shape[1] - np.cumsum(ends, axis=1) + ends  # still followed at day u
    factor = np.ones((rows, width))
    np.divide(at_risk - events, at_risk, out=factor, where=at_risk > 0)
    curve = np.cumprod(factor, axis=1)
    return curve[:, days]

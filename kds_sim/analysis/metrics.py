"""The metric registry: every outcome kds-sim reports, defined once.

A `Metric` is computed per replicate from that replicate's person and daily tables (or, for
capacity at the start, from the scenario alone); a `Contrast` compares a run with a reference
run on common random numbers and gives a mean with a 95 % CI. `run`, `compare`, `calibrate`,
the reports and docs/metrics.md all read this module: adding a metric is one entry here.

Names with a day in them are families: `relapse_<N>d` for any N, and the contrasts
`difference_<tag>`, `relative_risk_<tag>`, `averted_per_100_<tag>`, `nnt_<tag>` for a tag
`<N>d` or `horizon`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from kds_sim.analysis import statistics
from kds_sim.model.parameters import DOMAINS
from kds_sim.model.scenario import Scenario

Interval = tuple[float, float, float]
"""Mean, lower and upper bound of a 95 % CI."""


class Run(Protocol):
    """What a contrast reads of a run (kds_sim.analysis.runner.RunResult)."""

    people: pd.DataFrame

    @property
    def metrics(self) -> pd.DataFrame: ...

    def values(self, metric: str) -> np.ndarray: ...


@dataclass(frozen=True)
class Metric:
    """An outcome of one replicate."""

    name: str
    unit: str
    meaning: str
    label: str
    per_replicate: Callable[[pd.DataFrame, pd.DataFrame], float] | None = None
    from_scenario: Callable[[Scenario], float] | None = None
    days: int = 1
    """Days of follow-up the metric needs."""


@dataclass(frozen=True)
class Contrast:
    """A scenario against the reference, paired replicate by replicate."""

    name: str
    unit: str
    meaning: str
    label: str
    compute: Callable[[Run, Run], Interval] = field(repr=False)
    days: int = 1


# per-replicate definitions -------------------------------------------------------------------
def followed(people: pd.DataFrame, day: int, horizon: int) -> pd.DataFrame:
    """People discharged early enough to be followed `day` days by the horizon (in a closed
    cohort, everyone). Those who die or move away before count as not relapsed: the share is a
    cumulative incidence with exits as competing events."""
    if "entry_day" not in people:
        return people
    return people[people["entry_day"] + day <= horizon]


def relapse_by(people: pd.DataFrame, day: int, horizon: int | None = None) -> float:
    """Cumulative incidence of a first relapse by `day` after discharge: share of the cohort."""
    if horizon is not None:
        people = followed(people, day, horizon)
    return float((people["first_relapse_day"] <= day).mean())


def lapse_by(people: pd.DataFrame, day: int, horizon: int) -> float:
    """Share with any use (a first lapse) by `day` after discharge."""
    people = followed(people, day, horizon)
    return float((people["first_lapse_day"] <= day).mean())


def _present_at_end(people: pd.DataFrame) -> pd.DataFrame:
    return people[people["status_at_end"] != "absent"] if "status_at_end" in people else people


def continuously_abstinent(people: pd.DataFrame, day: int = 365) -> pd.Series:
    """No lapse at all up to `day`."""
    lapse = people["first_lapse_day"]
    return lapse.isna() | (lapse > day)


def _horizon(daily: pd.DataFrame) -> int:
    return int(daily["day"].max())


def _lapse_to_relapse(people: pd.DataFrame, daily: pd.DataFrame) -> float:
    resolved = people["lapses"].sum() - people["open_lapse"].sum()
    return float(people["relapses"].sum() / resolved) if resolved else np.nan


def _use_prevalence_end(people: pd.DataFrame, daily: pd.DataFrame) -> float:
    last = daily.iloc[-1]
    present = last["present"] if "present" in daily else len(people)
    return float((last["lapsed"] + last["relapsed"]) / present)


def _early_share(people: pd.DataFrame, horizon: int) -> float:
    first = followed(people, 365, horizon)["first_lapse_day"]
    year = int((first <= 365).sum())
    return float((first <= 90).sum() / year) if year else np.nan


def _ever_relapsed_present(people: pd.DataFrame, daily: pd.DataFrame) -> float:
    return float(_present_at_end(people)["first_relapse_day"].notna().mean())


def _ever_used_present(people: pd.DataFrame, daily: pd.DataFrame) -> float:
    return float(_present_at_end(people)["first_lapse_day"].notna().mean())


def _capacity_start(domain: str) -> Callable[[Scenario], float]:
    def value(scenario: Scenario) -> float:
        cap = scenario.group.capacity
        if domain == "mean":
            return float(np.mean([getattr(cap, d) for d in DOMAINS]))
        return float(getattr(cap, domain))

    return value


def _when(days: int) -> str:
    """Days in words, as a reader says them."""
    named = {
        90: "3 months",
        180: "6 months",
        365: "12 months",
        730: "2 years",
        1095: "3 years",
        1825: "5 years",
    }
    return named.get(days, f"day {days}")


def relapse_metric(day: int) -> Metric:
    return Metric(
        f"relapse_{day}d",
        "share",
        f"share of the cohort with a first relapse by day {day}",
        f"Relapse by {_when(day)}",
        per_replicate=lambda people, daily: relapse_by(people, day, _horizon(daily)),
        days=day,
    )


def lapse_metric(day: int) -> Metric:
    return Metric(
        f"lapse_{day}d",
        "share",
        f"share of the cohort with any use (a first lapse) by day {day} after discharge",
        f"Any use by {_when(day)}",
        per_replicate=lambda people, daily: lapse_by(people, day, _horizon(daily)),
        days=day,
    )


_FIXED: list[Metric] = [
    Metric(
        "relapse_horizon",
        "share",
        "share of the cohort with a first relapse by the horizon",
        "Relapse by the horizon",
        per_replicate=lambda people, daily: relapse_by(people, _horizon(daily), _horizon(daily)),
        days=1,
    ),
    Metric(
        "continuous_abstinence_365d",
        "share",
        "share of the cohort with no lapse at all in 12 months",
        "Continuous abstinence at 12 months",
        per_replicate=lambda people, daily: float(
            continuously_abstinent(followed(people, 365, _horizon(daily))).mean()
        ),
        days=365,
    ),
    Metric(
        "lapses_per_person",
        "lapses per person",
        "lapses per person over the follow-up",
        "Lapses per person",
        per_replicate=lambda people, daily: float(people["lapses"].mean()),
    ),
    Metric(
        "lapse_to_relapse_share",
        "share",
        "share of resolved lapses that became a relapse",
        "Lapses that became relapses",
        per_replicate=_lapse_to_relapse,
    ),
    Metric(
        "use_prevalence_end",
        "share",
        "share of the people present on the last day who are lapsed or relapsed",
        "Using at the end",
        per_replicate=_use_prevalence_end,
    ),
    Metric(
        "early_lapse_share",
        "share",
        "of the people with any use in their first year, the share whose first use came in "
        "the first 90 days: the shape of the early relapse curve (Hunt et al. 1971)",
        "First-year returns to use that come in the first 3 months",
        per_replicate=lambda people, daily: _early_share(people, _horizon(daily)),
        days=365,
    ),
    Metric(
        "ever_relapsed_share_present",
        "share",
        "among the people present on the last day, the share who have ever relapsed: a "
        "cross-sectional figure, like a survey of known cases",
        "Known cases who ever relapsed (cross-section)",
        per_replicate=_ever_relapsed_present,
    ),
    Metric(
        "ever_used_share_present",
        "share",
        "among the people present on the last day, the share who have used again at all (a "
        "lapse or a relapse) since discharge: a cross-sectional figure",
        "Known cases who ever used again (cross-section)",
        per_replicate=_ever_used_present,
    ),
    Metric(
        "relapse_episodes_per_person",
        "episodes per person",
        "relapse episodes per person over the follow-up (relapse is not absorbing)",
        "Relapse episodes per person",
        per_replicate=lambda people, daily: float(people["relapses"].mean()),
    ),
    Metric(
        "days_using_share",
        "share of person-days",
        "share of the days people were followed that they spent lapsed or relapsed",
        "Time in use",
        per_replicate=lambda people, daily: float(
            people["days_using"].sum() / max(1, people["followed_days"].sum())
        ),
    ),
    Metric(
        "remissions_per_person",
        "per person",
        "returns from relapse to abstinence without treatment, per person",
        "Remissions per person",
        per_replicate=lambda people, daily: float(people["remissions"].mean()),
    ),
    Metric(
        "deaths_per_100",
        "per 100 people",
        "deaths (any cause, overdose included) per 100 people followed",
        "Deaths per 100",
        per_replicate=lambda people, daily: float(
            100 * people["exit_reason"].isin(["died", "died of overdose"]).mean()
        ),
    ),
    Metric(
        "members_end",
        "people",
        "group members on the last day",
        "Members at the end",
        per_replicate=lambda people, daily: float(daily.iloc[-1]["members"]),
    ),
    Metric(
        "capacity_end",
        "PEKA 1-4",
        "the group's mean capacity on the last day",
        "Group capacity at the end (PEKA 1-4)",
        per_replicate=lambda people, daily: float(daily.iloc[-1]["capacity_mean"]),
    ),
    Metric(
        "members_ever",
        "people",
        "people who were group members at any time during the follow-up",
        "Members reached",
        per_replicate=lambda people, daily: float(people["member"].sum()),
    ),
    Metric(
        "meetings_held",
        "meetings",
        "group meetings held over the follow-up",
        "Meetings held",
        per_replicate=lambda people, daily: float(daily["meeting_held"].sum()),
    ),
    *(
        Metric(
            f"capacity_start_{d}",
            "PEKA 1-4",
            f"the group's {d.replace('_', ' ')} score at the start",
            f"Capacity at the start: {d.replace('_', ' ')}",
            from_scenario=_capacity_start(d),
        )
        for d in ("mean", *DOMAINS)
    ),
]

CHECKPOINTS = (90, 180, 365)
"""Days at which every run reports relapse."""

PER_REPLICATE = (
    *(f"relapse_{d}d" for d in CHECKPOINTS),
    "relapse_horizon",
    "continuous_abstinence_365d",
    "lapses_per_person",
    "lapse_to_relapse_share",
    "use_prevalence_end",
    "members_end",
    "capacity_end",
    "meetings_held",
    "members_ever",
    "lapse_365d",
    "early_lapse_share",
    "ever_relapsed_share_present",
    "ever_used_share_present",
    "relapse_episodes_per_person",
    "days_using_share",
    "remissions_per_person",
    "deaths_per_100",
)
"""What `run` computes for every replicate, in this order (when the horizon allows)."""


# contrasts ---------------------------------------------------------------------------------
def _relapse_column(tag: str) -> str:
    return "relapse_horizon" if tag == "horizon" else f"relapse_{tag}"


def _difference(tag: str) -> Callable[[Run, Run], Interval]:
    def compute(run: Run, ref: Run) -> Interval:
        col = _relapse_column(tag)
        if np.array_equal(run.values("replicate"), ref.values("replicate")):
            # the same replicates in the same order: the pairs without a join (a fast path)
            return statistics.mean_ci(run.values(col) - ref.values(col))
        return statistics.paired_difference(
            run.metrics[["replicate", col]], ref.metrics[["replicate", col]]
        )

    return compute


def _averted(tag: str) -> Callable[[Run, Run], Interval]:
    def compute(run: Run, ref: Run) -> Interval:
        mean, low, high = _difference(tag)(run, ref)
        return -100 * mean, -100 * high, -100 * low

    return compute


def _relative_risk(tag: str) -> Callable[[Run, Run], Interval]:
    def compute(run: Run, ref: Run) -> Interval:
        col = _relapse_column(tag)
        return statistics.ratio_ci(run.values(col), ref.values(col))

    return compute


def nnt(diff: Interval) -> Interval:
    """Number needed to treat = 1 / absolute risk reduction; no CI where the CI spans 0."""
    mean, low, high = (-v for v in diff)  # reduction = -(difference)
    value = 1 / mean if mean > 0 else np.nan
    if low > 0 and high > 0 or low < 0 and high < 0:
        lower, upper = sorted((1 / low, 1 / high))
        return value, lower, upper
    return value, np.nan, np.nan


def _nnt(tag: str) -> Callable[[Run, Run], Interval]:
    return lambda run, ref: nnt(_difference(tag)(run, ref))


def _abstinence_rr(run: Run, ref: Run) -> Interval:
    return statistics.ratio_ci(
        run.values("continuous_abstinence_365d"), ref.values("continuous_abstinence_365d")
    )


def members_abstinence_rr(run: Run, ref: Run) -> Interval:
    """Continuous abstinence among members vs the same people without the scenario's group.

    Common random numbers make person i of replicate r the same person in both scenarios,
    so this is the analogue of a trial of offering the group (Kelly et al. 2020).
    """
    people, reference = run.people, ref.people
    if not people["member"].any():
        return np.nan, np.nan, np.nan
    abstinent = "continuous_abstinent"
    joined = people.assign(**{abstinent: continuously_abstinent(people)}).merge(
        reference.assign(**{abstinent: continuously_abstinent(reference)}),
        on=["replicate", "person"],
        suffixes=("", "_ref"),
    )
    members = joined[joined["member"]]
    shares = members.groupby("replicate")[[abstinent, abstinent + "_ref"]].mean()
    return statistics.ratio_ci(shares[abstinent].to_numpy(), shares[abstinent + "_ref"].to_numpy())


def _tag_words(tag: str) -> str:
    return "the horizon" if tag == "horizon" else _when(int(tag[:-1]))


def contrasts_at(tag: str) -> list[Contrast]:
    """The four relapse contrasts at a tag ("365d" or "horizon"), in report order."""
    days = 1 if tag == "horizon" else int(tag[:-1])
    when = _tag_words(tag)
    return [
        Contrast(
            f"difference_{tag}",
            "share (scenario - reference)",
            f"paired difference in relapse by {when}",
            f"Relapse difference, by {when}",
            _difference(tag),
            days,
        ),
        Contrast(
            f"relative_risk_{tag}",
            "ratio of relapse risks",
            f"relapse risk ratio by {when}",
            f"Relapse risk ratio ({when})",
            _relative_risk(tag),
            days,
        ),
        Contrast(
            f"averted_per_100_{tag}",
            "relapses averted per 100 people",
            f"first relapses averted per 100 people by {when}",
            f"Relapses averted per 100 ({when})",
            _averted(tag),
            days,
        ),
        Contrast(
            f"nnt_{tag}",
            "people per relapse averted",
            f"number needed to treat by {when}: people discharged into a district with the "
            "strategy (members and non-members alike) per relapse averted",
            f"Number needed to treat ({when}, all discharged people)",
            _nnt(tag),
            days,
        ),
    ]


_FIXED_CONTRASTS: list[Contrast] = [
    Contrast(
        "abstinence_rr_365d",
        "risk ratio of continuous abstinence at 12 months",
        "continuous-abstinence risk ratio at 12 months, whole cohort",
        "Continuous abstinence risk ratio, whole cohort (12 months)",
        _abstinence_rr,
        365,
    ),
    Contrast(
        "abstinence_rr_365d_members",
        "risk ratio of continuous abstinence at 12 months "
        "among the scenario's members, against the same people in the reference",
        "continuous-abstinence risk ratio at 12 months among members, against the same "
        "people without the group",
        "Continuous abstinence risk ratio, members (12 months)",
        members_abstinence_rr,
        365,
    ),
]

_ALL: list[Metric | Contrast] = [
    *(relapse_metric(d) for d in CHECKPOINTS),
    lapse_metric(365),
    *_FIXED,
    *(c for t in ("180d", "365d", "horizon") for c in contrasts_at(t)),
    *_FIXED_CONTRASTS,
]
METRICS: dict[str, Metric | Contrast] = {m.name: m for m in _ALL}
"""Every named metric (families are listed at their usual days; `get` makes any other)."""

_FAMILY = re.compile(
    r"^(relapse|lapse|difference|relative_risk|averted_per_100|nnt)_(\d+d|horizon)$"
)


def units(names: Iterable[str]) -> dict[str, str]:
    """Metric -> unit ("" for a column that is not a metric), for statistics.summarise."""
    found = {}
    for name in names:
        try:
            found[name] = get(name).unit
        except KeyError:
            found[name] = ""
    return found


def family(name: str) -> tuple[str, str] | None:
    """(family, time tag) of a family member ("averted_per_100_365d" -> ("averted_per_100",
    "365d")), else None: the one parser of metric names, shared with the report's labels."""
    match = _FAMILY.match(name)
    return (match.group(1), match.group(2)) if match else None


def get(name: str) -> Metric | Contrast:
    """The metric or contrast called `name`, including any day of a family."""
    if name in METRICS:
        return METRICS[name]
    parts = family(name)
    if parts and parts[1] != "0d":
        family_name, tag = parts
        if family_name in ("relapse", "lapse") and tag == "horizon":
            raise KeyError(f"unknown metric {name!r}; use relapse_horizon")
        if family_name == "relapse":
            return relapse_metric(int(tag[:-1]))
        if family_name == "lapse":
            return lapse_metric(int(tag[:-1]))
        return next(c for c in contrasts_at(tag) if c.name == name)
    raise KeyError(f"unknown metric {name!r}; allowed: {allowed()}")


def allowed() -> str:
    return (
        "relapse_<days>d, "
        + ", ".join(n for n in METRICS if not _is_family_member(n))
        + ", and difference_/relative_risk_/averted_per_100_/nnt_ followed by <days>d or "
        "horizon"
    )


def _is_family_member(name: str) -> bool:
    return family(name) is not None


def is_contrast(name: str) -> bool:
    return isinstance(get(name), Contrast)


def replicate_metrics(people: pd.DataFrame, daily: pd.DataFrame) -> dict[str, float]:
    """The per-replicate metrics `run` reports, for one replicate's tables."""
    horizon = _horizon(daily)
    out = {}
    for name in PER_REPLICATE:
        metric = get(name)
        if metric.days > horizon:
            continue
        assert isinstance(metric, Metric) and metric.per_replicate is not None
        out[name] = metric.per_replicate(people, daily)
    return out


def comparison_metrics(horizon: int, with_abstinence: bool) -> list[str]:
    """The rows `compare` reports per scenario, in order."""
    marks = [f"{d}d" for d in (180, 365) if d <= horizon]
    names = [*(f"relapse_{m}" for m in marks), "relapse_horizon"]
    for tag in [*marks, "horizon"]:
        names += [c.name for c in contrasts_at(tag)]
    if with_abstinence:
        names += ["abstinence_rr_365d", "abstinence_rr_365d_members"]
    return [*names, "capacity_end"]


RUN_HEADLINE = (
    "relapse_90d",
    "relapse_180d",
    "relapse_365d",
    "relapse_horizon",
    "continuous_abstinence_365d",
    "lapses_per_person",
    "lapse_to_relapse_share",
    "use_prevalence_end",
    "capacity_end",
)
"""What `kds-sim run` prints."""

COMPARE_HEADLINE = (
    "relapse_180d",
    "relapse_365d",
    "averted_per_100_365d",
    "nnt_365d",
    "abstinence_rr_365d",
    "abstinence_rr_365d_members",
    "capacity_end",
)
"""What `kds-sim compare` prints (plus the horizon's columns when it is not 12 months)."""

REPORT_COLUMNS = (
    "relapse_180d",
    "relapse_365d",
    "relapse_horizon",
    "averted_per_100_365d",
    "averted_per_100_horizon",
    "nnt_365d",
    "relative_risk_365d",
    "abstinence_rr_365d",
    "abstinence_rr_365d_members",
    "capacity_end",
)
"""The columns of the comparison report's results table."""


def label(name: str) -> str:
    return get(name).label


def table() -> pd.DataFrame:
    """The registry as a table (docs/metrics.md)."""
    return pd.DataFrame(
        [
            {
                "metric": m.name,
                "kind": "contrast" if isinstance(m, Contrast) else "per replicate",
                "unit": m.unit,
                "meaning": m.meaning,
            }
            for m in METRICS.values()
        ]
    )

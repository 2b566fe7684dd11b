"""Costs of a strategy, where the user gives unit costs (`[costs]` in a scenario).

What a strategy uses: training sessions and mentoring months are set by its interventions;
group meetings held and members reached are simulated (they vary with the draw). Costs are per
100 people of the cohort, like relapses averted, so cost per relapse averted is their ratio.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kds_sim.io.scenario_files import ScenarioError
from kds_sim.model.interventions import REGISTRY
from kds_sim.model.scenario import Scenario

DAYS_PER_MONTH = 365.25 / 12
COUNTED = ("meetings_held", "members_ever")
"""Per-replicate metrics a cost needs (run with every strategy when costs are given)."""


def training_sessions(scenario: Scenario) -> int:
    """Sessions of every session-timed intervention that fall within the horizon."""
    horizon = scenario.run.horizon_days
    return sum(
        sum(1 for day in entry.session_days() if day < horizon)
        for entry in scenario.interventions
        if REGISTRY[entry.kind].timing == "sessions"
    )


def mentoring_months(scenario: Scenario) -> float:
    """Months of mentoring within the horizon."""
    horizon = scenario.run.horizon_days
    days = 0
    for entry in scenario.interventions:
        if entry.kind != "mentoring":
            continue
        end = entry.start_day + entry.duration_days if entry.duration_days else horizon
        days += max(0, min(end, horizon) - entry.start_day)
    return days / DAYS_PER_MONTH


def cohort(scenario: Scenario) -> float:
    return float(scenario.population.size)


def cost_per_100(scenario: Scenario, meetings_held: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Cost per 100 people of the cohort, one value per draw (0 for costs left empty)."""
    c = scenario.costs
    fixed = training_sessions(scenario) * (c.per_training_session or 0.0) + mentoring_months(
        scenario
    ) * (c.per_mentoring_month or 0.0)
    if not scenario.group.enabled:
        meetings_held = np.zeros_like(meetings_held)
        members = np.zeros_like(members)
        fixed = 0.0
    total = fixed + meetings_held * (c.per_group_meeting or 0.0) + members * (c.per_member or 0.0)
    return np.asarray(total, dtype=float) * 100.0 / cohort(scenario)


def currency(scenarios: list[Scenario]) -> str | None:
    """The one currency (and price year) of the strategies' costs; None when none has costs."""
    given = [s for s in scenarios if s.costs.given]
    if not given:
        return None
    open_ = [s.name for s in scenarios if s.population.discharges_per_month > 0]
    if open_:
        # costs are per 100 people of a cohort; in an open population the people a cost
        # reaches (everyone discharged so far) and those a relapse figure counts (people
        # followed a full year) differ, so a cost per relapse averted would mix the two
        raise ScenarioError(
            f"{', '.join(open_)}: [costs] with population.discharges_per_month > 0; allowed: "
            "costs for a closed cohort only (population.discharges_per_month = 0)"
        )
    units = {(s.costs.currency, s.costs.year) for s in given}
    if len(units) > 1:
        raise ScenarioError(
            "the strategies' costs use different currencies or price years "
            f"({sorted(units, key=str)}); allowed: one currency and year for all"
        )
    name, year = units.pop()
    return f"{name} ({year})" if year else name


def cost_table(scenarios: list[Scenario], values: pd.DataFrame) -> pd.DataFrame:
    """Per draw and strategy: cost per 100 people (tidy), from the per-draw metric values."""
    rows = []
    for s in scenarios:
        part = values[values["strategy"] == s.name]
        wide = part.pivot(index="draw", columns="metric", values="value")
        cost = cost_per_100(
            s,
            wide["meetings_held"].fillna(0.0).to_numpy(),
            wide["members_ever"].fillna(0.0).to_numpy(),
        )
        rows.append(pd.DataFrame({"draw": wide.index, "strategy": s.name, "cost_per_100": cost}))
    return pd.concat(rows, ignore_index=True)

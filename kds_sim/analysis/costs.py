"""Costs of a strategy, where the user gives unit costs (`[costs]` in a scenario).

What a strategy uses: training sessions and mentoring months are set by its interventions;
group meetings held and members reached are simulated (they vary with the draw). Costs are per
100 people of the cohort, like relapses averted, so cost per relapse averted is their ratio.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def cost_per_100(
    scenario: Scenario,
    meetings_held: np.ndarray,
    members: np.ndarray,
    units: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Cost per 100 people of the cohort, one value per draw (0 for costs left empty);
    `units` (unit cost -> one value per draw) replaces the scenario's unit costs."""
    given = scenario.costs
    c = {k: np.asarray(getattr(given, k) or 0.0, dtype=float) for k in UNITS}
    c |= units or {}
    fixed = (
        training_sessions(scenario) * c["per_training_session"]
        + mentoring_months(scenario) * c["per_mentoring_month"]
    )
    if not scenario.group.enabled:
        meetings_held = np.zeros_like(meetings_held)
        members = np.zeros_like(members)
        fixed = np.zeros_like(np.asarray(fixed, dtype=float))
    total = fixed + meetings_held * c["per_group_meeting"] + members * c["per_member"]
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


def cost_table(
    scenarios: list[Scenario],
    values: pd.DataFrame,
    unit_costs: UnitCosts | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Per draw and strategy: cost per 100 people (tidy), from the per-draw metric values;
    with `unit_costs`, each draw also draws the unit costs from their priors (shared by every
    strategy in that draw)."""
    rows = []
    draws = np.sort(values["draw"].unique())
    drawn = unit_costs.draws(int(draws.max()) + 1, seed) if unit_costs and len(draws) else None
    for s in scenarios:
        part = values[values["strategy"] == s.name]
        wide = part.pivot(index="draw", columns="metric", values="value")
        units = None
        if drawn is not None:
            index = wide.index.to_numpy(dtype=int)
            units = {k: v[index] for k, v in drawn.items() if k in UNITS}
        cost = cost_per_100(
            s,
            wide["meetings_held"].fillna(0.0).to_numpy(),
            wide["members_ever"].fillna(0.0).to_numpy(),
            units,
        )
        rows.append(pd.DataFrame({"draw": wide.index, "strategy": s.name, "cost_per_100": cost}))
    return pd.concat(rows, ignore_index=True)


# -- unit costs with priors, and a district ------------------------------------------------------
UNITS = ("per_training_session", "per_group_meeting", "per_mentoring_month", "per_member")
"""The unit costs a strategy uses (the fields of a scenario's [costs])."""
REFERENCE_PRICE = "rehabilitation_per_person"
"""Shown beside cost per relapse averted (not counted in a strategy's cost)."""


@dataclass(frozen=True)
class UnitCost:
    """One unit cost: its value, a triangular prior over [low, high] and its source."""

    value: float
    low: float
    high: float
    source: str
    source_id: str = ""

    def text(self, lang: str) -> str:
        """The source in the brief's language (`source_id` for Bahasa Indonesia)."""
        return self.source_id if lang == "id" and self.source_id else self.source

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        if self.low == self.high:
            return np.full(size, self.value)
        return rng.triangular(self.low, self.value, self.high, size)


@dataclass(frozen=True)
class UnitCosts:
    """A costs file (scenarios/costs/*.toml): currency, price year and unit costs."""

    currency: str
    year: int | None
    source: str
    units: dict[str, UnitCost]
    path: str = ""

    @property
    def label(self) -> str:
        return f"{self.currency} ({self.year})" if self.year else self.currency

    def draws(self, size: int, seed: int) -> dict[str, np.ndarray]:
        """`size` draws of every unit cost (one stream per cost, from `seed`)."""
        out = {}
        for k, name in enumerate(sorted(self.units)):
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2**31 + k,)))
            out[name] = self.units[name].draw(rng, size)
        return out

    def applied(self, scenario: Scenario) -> Scenario:
        """The scenario with these unit costs in its [costs] section (their central values)."""
        values: dict[str, object] = {
            f"costs.{k}": self.units[k].value for k in UNITS if k in self.units
        }
        values |= {"costs.currency": self.currency, "costs.source": self.source[:200]}
        if self.year:
            values["costs.year"] = self.year
        return scenario.updated(values)


@dataclass(frozen=True)
class District:
    """A district file (scenarios/districts/*.toml): people discharged per year, the current
    KDS coverage, and the unit costs that apply there."""

    name: str
    discharged: UnitCost
    coverage: float
    coverage_source: str
    costs: UnitCosts | None
    path: str = ""

    def per_year(self, per_100: np.ndarray, seed: int) -> np.ndarray:
        """Per-draw figures per 100 discharged -> per year in this district (each draw also
        draws the district's discharges from its prior)."""
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2**31 - 7,)))
        return np.asarray(per_100, dtype=float) / 100 * self.discharged.draw(rng, len(per_100))


def _table(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ScenarioError(f"{path}: file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ScenarioError(f"{path}: not valid TOML ({err})") from None


def _unit(path: Path, key: str, entry: object) -> UnitCost:
    allowed = "allowed: a table with value, low <= value <= high (numbers >= 0) and source"
    if not isinstance(entry, dict):
        raise ScenarioError(f"{path}: {key} = {entry!r}; {allowed}")
    try:
        value = float(entry["value"])
        low = float(entry.get("low", value))
        high = float(entry.get("high", value))
    except (KeyError, TypeError, ValueError):
        raise ScenarioError(f"{path}: {key} = {entry!r}; {allowed}") from None
    source = str(entry.get("source", "")).strip()
    if not (0 <= low <= value <= high and np.isfinite(high)) or not source:
        raise ScenarioError(f"{path}: {key} = {entry!r}; {allowed}")
    return UnitCost(value, low, high, source, str(entry.get("source_id", "")).strip())


def read_costs(path: str | Path) -> UnitCosts:
    """A costs file; a bad one is refused naming the file, key, value and what is allowed."""
    path = Path(path)
    data = _table(path)
    currency = data.get("currency")
    if not isinstance(currency, str) or not currency.strip():
        raise ScenarioError(f"{path}: currency = {currency!r}; allowed: a currency name, e.g. IDR")
    year = data.get("year")
    if year is not None and not (isinstance(year, int) and 1900 <= year <= 2100):
        raise ScenarioError(f"{path}: year = {year!r}; allowed: a price year 1900-2100")
    known = (*UNITS, REFERENCE_PRICE)
    unknown = [k for k, v in data.items() if isinstance(v, dict) and k not in known]
    if unknown:
        raise ScenarioError(f"{path}: {', '.join(unknown)}: allowed: {', '.join(known)}")
    units = {k: _unit(path, k, data[k]) for k in known if k in data}
    if not any(k in units for k in UNITS):
        raise ScenarioError(f"{path}: no unit cost; allowed: one or more of {', '.join(UNITS)}")
    return UnitCosts(currency.strip(), year, str(data.get("source", "")), units, str(path))


DISTRICTS = Path(__file__).resolve().parents[2] / "scenarios" / "districts"


def district_path(name: str | Path) -> Path:
    """A district named by a file, or by the name of a shipped one (`cimahi`)."""
    path = Path(name)
    if path.is_file():
        return path
    from kds_sim.io import packaged

    for folder in (packaged.folder("scenario") / "districts", DISTRICTS):
        candidate = folder / f"{path.stem}.toml"
        if len(path.parts) == 1 and candidate.is_file():
            return candidate
    shipped = sorted(p.stem for p in DISTRICTS.glob("*.toml")) if DISTRICTS.is_dir() else []
    raise ScenarioError(
        f"district {str(name)!r}: no such file and none shipped; allowed: a district TOML file "
        f"or one of {', '.join(shipped) or 'none'}"
    )


def read_district(name: str | Path) -> District:
    path = district_path(name)
    data = _table(path)
    title = data.get("name")
    if not isinstance(title, str) or not title.strip():
        raise ScenarioError(f"{path}: name = {title!r}; allowed: the district's name")
    discharged = _unit(path, "discharged_per_year", data.get("discharged_per_year"))
    if discharged.value <= 0:
        raise ScenarioError(f"{path}: discharged_per_year.value: allowed: more than 0")
    entry = data.get("kds_coverage")
    try:
        coverage = float(entry["value"])  # type: ignore[index]
        coverage_source = str(entry.get("source", ""))  # type: ignore[union-attr]
    except (KeyError, TypeError, ValueError):
        raise ScenarioError(
            f"{path}: kds_coverage = {entry!r}; allowed: a table with value (0 to 1) and source"
        ) from None
    if not 0 <= coverage <= 1:
        raise ScenarioError(f"{path}: kds_coverage.value = {coverage}; allowed: 0 to 1")
    costs = None
    if data.get("costs"):
        costs = read_costs((path.parent / str(data["costs"])).resolve())
    return District(title.strip(), discharged, coverage, coverage_source, costs, str(path))

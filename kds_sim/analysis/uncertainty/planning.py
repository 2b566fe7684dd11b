"""Planning an uncertainty analysis: which parameters are drawn, from what, and the draws.

D parameter sets are drawn (from the priors, or jointly from a calibration posterior with the
remaining parameters from their priors), shared by every strategy. Parameters the strategies
set differently (levers) are not drawn: each strategy keeps its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kds_sim.errors import InputError, ScenarioError
from kds_sim.io.scenario_files import get_dotted
from kds_sim.model.priors import Prior, priors_of
from kds_sim.model.scenario import Scenario

PRIOR = "prior"
POSTERIOR = "posterior"
SURVIVAL_EVERY = 7
"""Days between the points of each draw's survival curve (fan charts)."""


def scenario_priors(scenario: Scenario) -> dict[str, Prior]:
    """Every parameter's prior, with the scenario's `[uncertainty.priors]` replacing rules."""
    own = {k: spec.prior() for k, spec in scenario.uncertainty.priors.items()}
    priors = priors_of(scenario, own)
    unknown = sorted(set(own) - set(priors))
    if unknown:
        raise ScenarioError(
            f"{scenario.name}: uncertainty.priors names {', '.join(unknown)}: not a numeric "
            "parameter of this scenario; allowed: a dotted key from docs/parameters.md"
        )
    return priors


def read_posterior(path: str | Path) -> pd.DataFrame:
    """A posterior ensemble: one column per parameter and `weight` (normalised here). A file
    that is not one (not Parquet or CSV, empty, a text column, a NaN or infinite value, a
    negative weight) is refused with its file, column and what is allowed."""
    path = Path(path)
    allowed = "allowed: a Parquet file written by `kds-sim calibrate --method abc`"
    if not path.is_file():
        raise ScenarioError(f"{path}: posterior file not found; {allowed}")
    try:
        table = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception as err:  # pyarrow, pandas and OS errors alike: the file is not usable
        reason = str(err).splitlines()[0][:120] if str(err) else type(err).__name__
        raise ScenarioError(f"{path}: not a readable posterior ({reason}); {allowed}") from None
    if "weight" not in table or len(table) == 0:
        raise ScenarioError(f"{path}: a posterior needs rows and a `weight` column; {allowed}")
    for column in table.columns:
        values = pd.to_numeric(table[column], errors="coerce")
        bad = ~np.isfinite(values.to_numpy(dtype=float))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            shown = repr(table[column].iloc[row])[:40]
            raise ScenarioError(
                f"{path}: column {str(column)[:60]!r}, row {row}: {shown} ({int(bad.sum())} such "
                f"rows); allowed: finite numbers in every column"
            )
    weights = table["weight"].to_numpy(dtype=float)
    if not (np.all(weights >= 0) and weights.sum() > 0):
        raise ScenarioError(
            f"{path}: column 'weight': allowed: numbers >= 0, not all 0 "
            f"(found {weights.min():g} to {weights.max():g})"
        )
    return table.assign(weight=weights / weights.sum())


@dataclass
class DrawPlan:
    """Which parameters are drawn, from what, and the drawn values (one row per draw)."""

    source: str
    draws: pd.DataFrame
    priors: dict[str, Prior]
    from_posterior: list[str]
    levers: list[str]
    option: str = PRIOR
    """How to ask for these draws again: `--uncertainty prior|posterior|FILE`."""
    particles: np.ndarray | None = None
    """The posterior row (particle) each draw took; None when nothing is drawn from one."""

    @property
    def keys(self) -> list[str]:
        return [c for c in self.draws.columns if c != "draw"]


def plan_draws(
    scenarios: Sequence[Scenario],
    reference: Scenario,
    source: str | Path | None,
    draws: int,
    seed: int,
) -> DrawPlan:
    """Draw D parameter sets shared by every strategy.

    `source`: "prior"; "posterior" (the reference's `uncertainty.posterior`); or a posterior
    file. Posterior rows are drawn with their weights; other parameters from their priors.
    """
    if draws < 2:
        raise InputError(f"draws = {draws}: allowed: 2 or more")
    for other in scenarios:
        if other.uncertainty != reference.uncertainty:
            raise ScenarioError(
                f"{other.name}: its [uncertainty] section differs from the reference "
                f"{reference.name}'s ({other.uncertainty.model_dump()} against "
                f"{reference.uncertainty.model_dump()}); allowed: the same section in every "
                "strategy (they share the draws): put it in a file they all `extends`"
            )
    priors = scenario_priors(reference)
    levers = sorted(
        k
        for k, p in priors.items()
        if not p.is_fixed
        and any(_value(s, k) != _value(reference, k) for s in scenarios if s is not reference)
    )
    vary = reference.uncertainty.vary
    unknown = sorted(set(vary or ()) - set(priors))
    if unknown:
        raise ScenarioError(
            f"{reference.name}: uncertainty.vary names {', '.join(unknown)}: not a numeric "
            "parameter of this scenario; allowed: a dotted key from docs/parameters.md"
        )
    drawn = [
        k
        for k, p in priors.items()
        if not p.is_fixed and k not in levers and (vary is None or k in vary)
    ]
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2**32 - 1,)))
    columns: dict[str, np.ndarray] = {"draw": np.arange(draws)}
    from_posterior: list[str] = []
    posterior_file = None
    rows = None
    if source in (None, PRIOR):
        label = PRIOR
    elif source == POSTERIOR:
        posterior_file = reference.uncertainty.posterior
        if posterior_file is None:
            raise ScenarioError(
                f"{reference.name}: source = 'posterior', but uncertainty.posterior is not "
                "set in the scenario; allowed: set it, pass a posterior file, or use prior"
            )
        label = f"posterior {Path(posterior_file).name}"
    else:
        posterior_file = str(source)
        label = f"posterior {Path(posterior_file).name}"
    if posterior_file is not None:
        posterior = read_posterior(posterior_file)
        unknown = [c for c in posterior.columns if c != "weight" and c not in priors]
        if unknown:
            raise ScenarioError(
                f"{posterior_file}: columns {', '.join(unknown)} are not numeric parameters "
                f"of {reference.name}"
            )
        rows = rng.choice(len(posterior), size=draws, p=posterior["weight"].to_numpy())
        from_posterior = [
            c
            for c in posterior.columns
            if c != "weight" and c not in levers and (vary is None or c in vary)
        ]
        for key in from_posterior:
            columns[key] = posterior[key].to_numpy(dtype=float)[rows]
    for key in drawn:
        if key not in from_posterior:
            columns[key] = priors[key].sample(rng, draws)
    option = PRIOR if posterior_file is None else POSTERIOR if source == POSTERIOR else str(source)
    particles = rows if from_posterior else None
    return DrawPlan(label, pd.DataFrame(columns), priors, from_posterior, levers, option, particles)


def _value(scenario: Scenario, key: str) -> Any:
    try:
        return get_dotted(scenario, key)
    except KeyError:
        return None


def at_draw(scenario: Scenario, values: dict[str, float]) -> Scenario:
    """The scenario with one draw's parameter values (validated: a draw the schema refuses is
    reported with its values)."""
    return scenario.updated(values)


DrawTask = tuple[list[tuple[int, list[str]]], str, int, int, list[str]]


def uncertainty_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return np.nan, np.nan
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)

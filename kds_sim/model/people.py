"""The recovering people as declared columns of numpy arrays (one row a person).

`People` declares every column once, with its meaning; the first draw (`draw_people`), the Mesa
agents' read-only attributes (kds_sim.model.agents) and the rules' views are derived from it.

Attributes are drawn by the quantile transform of fixed uniforms: a person keeps the same
rank in every scenario of a replicate, so changing a distribution's mean moves everyone
smoothly (common random numbers, and a smooth objective for calibration).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import special

from kds_sim.model import threads
from kds_sim.model.parameters import Distribution, Population
from kds_sim.model.rules import ABSTINENT

TRAITS = (
    "coping",
    "self_efficacy",
    "outcome_expectancy",
    "ave_susceptibility",
    "stress",
    "craving",
    "idle",
    "help_seeking",
    "engagement",
)
"""Attributes drawn from the scenario's Beta distributions, in the order of their uniforms."""

LATER_TRAITS = ("negative_expectancy", "commitment")
"""Traits added in 0.2, drawn after the others so that the first ones keep their numbers."""


def column(meaning: str) -> Any:
    return field(metadata={"meaning": meaning})


@dataclass(eq=False)
class People:
    """Struct of arrays: `people.coping[i]` is person i's coping skill (0-1 scales)."""

    coping: np.ndarray = column("coping skill: refusing offers, bringing a third person")
    self_efficacy: np.ndarray = column("confidence in staying abstinent in a high-risk situation")
    outcome_expectancy: np.ndarray = column("how good using is expected to feel")
    ave_susceptibility: np.ndarray = column("how strongly a lapse is read as personal failure")
    stress: np.ndarray = column("proximal stress and negative affect")
    craving: np.ndarray = column("craving")
    idle: np.ndarray = column("share of the day without occupation")
    help_seeking: np.ndarray = column("readiness to ask others for help after a lapse")
    engagement: np.ndarray = column("how readily a member attends group activities")
    negative_expectancy: np.ndarray = column("expected harms of using (protective)")
    commitment: np.ndarray = column("commitment to abstinence")
    recruit_priority: np.ndarray = column("random rank among equals when the group recruits")
    self_efficacy_at_discharge: np.ndarray = column("self-efficacy restored on re-entry")
    craving_at_discharge: np.ndarray = column("craving restored on re-entry")
    stress_baseline: np.ndarray = column("distal stress that proximal stress relaxes to")
    status: np.ndarray = column(
        "0 abstinent, 1 lapsed, 2 relapsed, 3 absent, 4 in treatment, 5 incarcerated"
    )
    days_abstinent: np.ndarray = column("days in the current abstinent spell")
    member: np.ndarray = column("member of the peer support group now")
    ever_member: np.ndarray = column("member at any time")
    meetings_attended: np.ndarray = column("group meetings attended")
    first_lapse_day: np.ndarray = column("day of the first lapse (-1: none yet)")
    first_relapse_day: np.ndarray = column("day of the first relapse (-1: none yet)")
    lapses: np.ndarray = column("lapses so far")
    relapses: np.ndarray = column("relapses so far")
    remissions: np.ndarray = column("returns from relapse to abstinence without treatment")
    spell_at_lapse: np.ndarray = column("days abstinent when the latest lapse began")
    days_using: np.ndarray = column("days lapsed or relapsed so far")
    using_ties: np.ndarray = column("ties to active users now (they can end)")
    using_ties_start: np.ndarray = column("ties to active users at discharge (re-formed up to)")
    supportive_ties: np.ndarray = column("supportive community and peer ties now")
    entry_day: np.ndarray = column("day of discharge into the population (0: initial cohort)")
    exit_day: np.ndarray = column("day of leaving the population (-1: still present)")
    exit_reason: np.ndarray = column("why they left: 0 stayed, 1 died, 2 overdose, 3 moved")

    @property
    def size(self) -> int:
        return len(self.status)

    def view(self, index: slice) -> dict[str, np.ndarray]:
        """The columns at `index`, by name (what the rules read)."""
        return {name: getattr(self, name)[index] for name in COLUMNS}

    def write(self, index: slice, values: dict[str, Any]) -> None:
        for name, value in values.items():
            getattr(self, name)[index] = value


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(People))
MEANINGS: dict[str, str] = {f.name: f.metadata["meaning"] for f in fields(People)}


GRID = 1024
"""Cells of the quantile table of a Beta distribution (`_beta_table`)."""
TAIL_CELLS = 16
"""Cells at each end where the quantile is computed exactly (the curve is steepest there)."""


@lru_cache(maxsize=512)
def _beta_table(a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """Quantiles at u = 0, 1/GRID, ..., 1 and their slopes dx/du = 1/pdf(x)."""
    x = special.betaincinv(a, b, np.linspace(0.0, 1.0, GRID + 1))
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        slope = np.exp(special.betaln(a, b) - (a - 1) * np.log(x) - (b - 1) * np.log1p(-x))
    return x, slope


def beta_quantile(u: np.ndarray, d: Distribution) -> np.ndarray:
    """Values of a Beta(mean, sd) attribute at the quantiles u.

    Why not `scipy.stats.beta.ppf`: it costs about 2 us a person and attribute, most of a
    large cohort's setup. Here a cubic Hermite interpolation in a table of exact quantiles
    (with their exact slopes) is polished by one Newton step on the CDF; the end cells are
    computed exactly. Agrees with the exact quantile within 1e-12 (tests/test_model.py),
    about 3x faster, and depends only on (u, mean, sd). U- and J-shaped Betas (a or b below 1,
    reached by wide prior draws) take the exact quantile: the table would err by up to 1e-8
    there, or give NaN where a cell sits at 0 or 1."""
    u = np.asarray(u, dtype=np.float64)
    if d.sd == 0:
        return np.full_like(u, d.mean)
    k = d.mean * (1 - d.mean) / d.sd**2 - 1
    a, b = d.mean * k, (1 - d.mean) * k
    if a < 1.0 or b < 1.0:  # U- or J-shaped: the quantile curve is too steep for the table
        return np.asarray(special.betaincinv(a, b, u), dtype=np.float64)
    grid, slope = _beta_table(a, b)
    t = u * GRID
    j = np.minimum(t.astype(np.int64), GRID - 1)
    s = t - j
    s2, s3 = s * s, s * s * s
    with np.errstate(invalid="ignore", over="ignore"):  # infinite slopes: end cells, redone below
        x = (
            (2 * s3 - 3 * s2 + 1) * grid[j]
            + (s3 - 2 * s2 + s) * slope[j] / GRID
            + (3 * s2 - 2 * s3) * grid[j + 1]
            + (s3 - s2) * slope[j + 1] / GRID
        )
    tail = (j < TAIL_CELLS) | (j >= GRID - TAIL_CELLS)
    body = ~tail
    xb = x[body]
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        density = np.exp((a - 1) * np.log(xb) + (b - 1) * np.log1p(-xb) - special.betaln(a, b))
        x[body] = xb - (special.betainc(a, b, xb) - u[body]) / density
    # a cell where the Newton step leaves (0, 1) or is not finite, and the end cells: exact
    exact = tail | ~np.isfinite(x) | (x < 0.0) | (x > 1.0)
    x[exact] = special.betaincinv(a, b, u[exact])
    return x


def entry_days(population: Population, horizon: int) -> np.ndarray:
    """Discharge day of everyone who will be in the population: the initial cohort on day 0,
    then people at a steady pace of `discharges_per_month` (30.4375 days a month)."""
    initial = np.zeros(population.size, dtype=np.int32)
    rate = population.discharges_per_month
    if rate <= 0 or horizon < 1:
        return initial
    gap = 30.4375 / rate
    count = int(np.floor((horizon - 1) / gap)) + 1
    later = (1 + np.floor(np.arange(count) * gap)).astype(np.int32)
    return np.concatenate([initial, later[later <= horizon]])


def _quantiles(u: np.ndarray, distributions: list[Distribution]) -> np.ndarray:
    """beta_quantile(u[j], distributions[j]) for every j, a large cohort's people split among
    threads (the quantile is computed person by person, so the split changes no value)."""
    out = np.empty_like(u)

    def tile(r0: int, r1: int, p0: int, p1: int) -> None:
        for j, d in enumerate(distributions):
            out[j, p0:p1] = beta_quantile(u[j, p0:p1], d)

    threads.run(tile, threads.tiles(1, u.shape[1]))
    return out


def draw_people(population: Population, size: int, rng: np.random.Generator) -> People:
    """A cohort at discharge from rehab: everyone abstinent, attributes drawn from the scenario."""
    uniforms = rng.random((len(TRAITS) + 1, size))
    later = rng.random((len(LATER_TRAITS), size))
    values = _quantiles(
        np.concatenate([uniforms[: len(TRAITS)], later]),
        [getattr(population, trait) for trait in (*TRAITS, *LATER_TRAITS)],
    )
    traits = dict(zip((*TRAITS, *LATER_TRAITS), values, strict=True))
    return People(
        **traits,
        recruit_priority=uniforms[len(TRAITS)],
        self_efficacy_at_discharge=traits["self_efficacy"].copy(),
        craving_at_discharge=traits["craving"].copy(),
        stress_baseline=traits["stress"].copy(),
        status=np.full(size, ABSTINENT, dtype=np.int8),
        days_abstinent=np.zeros(size, dtype=np.int32),
        member=np.zeros(size, dtype=bool),
        ever_member=np.zeros(size, dtype=bool),
        meetings_attended=np.zeros(size, dtype=np.int32),
        first_lapse_day=np.full(size, -1, dtype=np.int32),
        first_relapse_day=np.full(size, -1, dtype=np.int32),
        lapses=np.zeros(size, dtype=np.int32),
        relapses=np.zeros(size, dtype=np.int32),
        remissions=np.zeros(size, dtype=np.int32),
        spell_at_lapse=np.zeros(size, dtype=np.int32),
        days_using=np.zeros(size, dtype=np.int32),
        using_ties=np.zeros(size, dtype=np.int64),
        using_ties_start=np.zeros(size, dtype=np.int64),
        supportive_ties=np.zeros(size, dtype=np.int64),
        entry_day=np.zeros(size, dtype=np.int32),
        exit_day=np.full(size, -1, dtype=np.int32),
        exit_reason=np.zeros(size, dtype=np.int8),
    )

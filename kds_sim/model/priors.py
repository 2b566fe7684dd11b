"""Priors: what is believed about each parameter before the calibration targets are seen.

Every numeric parameter of a scenario resolves to a `Prior` (`prior_for`): a family, bounds
and the reason. Parameters the evidence pins or the user chooses are `fixed` (a point mass:
run settings, cohort size, the measured PEKA baseline, switched-off mechanisms). The others
get a prior by the rule their source earns, unless `EXPLICIT` names one:

- fitted parameters: the calibration's search range (the posterior replaces it);
- intercepts on the log-odds scale: +-1 about the value (odds x/ 2.7);
- the group's effect on members: from no effect to twice the assumed value, because the
  Cochrane bound (RR 1.03-1.42) is for twelve-step facilitation, not a KDS;
- intervention effect sizes, every kind alike (mentoring included): log-normal, median 1x
  the assumed value, 95 % within x1/3 to x3 (neutral: as likely smaller as larger than our
  guess). An effect with an upper limit (a share, at most 1) is multiplied on the scale
  -ln(1 - x / limit), so no draw passes the limit and no clipping moves the median. The
  former rule (uniform from 0 to 3x, mean 1.5x) is kept as the named sensitivity analysis
  `uniform_0_3x` (`effect_prior("uniform_0_3x")`, `kds-sim compare --effect-prior`);
- levers (what a district chooses: coverage, recruitment, sessions, mentoring months) are
  fixed: a decision is never drawn as if it were uncertain;
- other assumptions: x0.5 to x1.5 of the value; values from a figure or a study: x0.75 to
  x1.25 (triangular).

A relative prior is centred on the value in the scenario at hand (the calibrated value when a
scenario extends the calibration), and always clipped to what the schema allows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from kds_sim.errors import ScenarioError

Family = Literal["fixed", "uniform", "triangular", "loguniform", "lognormal"]
FAMILIES: tuple[str, ...] = ("fixed", "uniform", "triangular", "loguniform", "lognormal")
Z975 = 1.959963984540054
"""The standard normal's 97.5th percentile: a log-normal's [low, high] is its middle 95 %."""


@dataclass(frozen=True)
class Prior:
    """A prior on one parameter: `family` over [low, high] (mode for triangular)."""

    family: Family
    low: float
    high: float
    mode: float | None = None
    reason: str = ""
    integer: bool = False
    """Of a whole-number parameter (population.size): draws are whole numbers in [low, high]."""
    cap: float | None = None
    """Log-normal only: an upper limit; the log-normal is then on -ln(1 - x / cap)."""

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"prior family {self.family!r}; allowed: {', '.join(FAMILIES)}")
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.low > self.high:
            raise ValueError(f"prior bounds [{self.low}, {self.high}]: need low <= high, finite")
        if self.family == "triangular":
            mode = self.mode
            if mode is None or not self.low <= mode <= self.high:
                raise ValueError(f"triangular prior needs low <= mode <= high, got mode {mode}")
        if self.family == "loguniform" and self.low <= 0:
            raise ValueError(f"loguniform prior needs low > 0, got {self.low}")
        if self.family == "lognormal":
            median = self.mode
            if median is None or not self.low < median < self.high:
                raise ValueError(
                    "lognormal prior needs low < mode (the median) < high, all of one sign; "
                    f"got [{self.low}, {self.high}], median {median}"
                )
            if self.low * self.high <= 0:
                raise ValueError(
                    f"lognormal prior needs low and high of one sign, not 0; got [{self.low}, "
                    f"{self.high}]"
                )
            if self.cap is not None and not (self.low > 0 and self.high < self.cap):
                raise ValueError(f"lognormal prior with limit {self.cap} needs 0 < low, high < it")
        if self.family == "fixed" and self.low != self.high:
            raise ValueError("a fixed prior has low == high")
        if self.integer and math.ceil(self.low) > math.floor(self.high):
            raise ValueError(
                f"prior bounds [{self.low}, {self.high}] of a whole-number parameter hold no "
                "whole number; allowed: bounds around at least one whole number"
            )

    @property
    def peak(self) -> float:
        """The triangular mode, the log-normal median (the middle for other families)."""
        return float(self.mode) if self.mode is not None else (self.low + self.high) / 2

    @property
    def is_fixed(self) -> bool:
        return self.family == "fixed" or self.low == self.high

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Quantile function: maps uniforms in [0, 1) to draws (for LHS and Sobol designs);
        whole numbers for an integer parameter (each equally likely under a uniform prior)."""
        if not self.integer:
            return self._continuous(u)
        lo, hi = math.ceil(self.low), math.floor(self.high)
        if self.family == "uniform":
            u = np.asarray(u, dtype=float)
            return np.minimum(lo + np.floor(u * (hi - lo + 1)), hi)
        return np.clip(np.rint(self._continuous(u)), lo, hi)

    def _continuous(self, u: np.ndarray) -> np.ndarray:
        u = np.asarray(u, dtype=float)
        lo, hi = self.low, self.high
        if self.is_fixed:
            return np.full(u.shape, lo)
        if self.family == "uniform":
            return lo + u * (hi - lo)
        if self.family == "loguniform":
            return np.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
        if self.family == "lognormal":
            from scipy.special import ndtri

            centre, sigma, sign = self._log_scale()
            h = np.exp(centre + sigma * sign * ndtri(u))
            return self._from_log_scale(h)
        m = self.peak  # triangular
        c = (m - lo) / (hi - lo)
        left = lo + np.sqrt(u * (hi - lo) * (m - lo))
        right = hi - np.sqrt((1 - u) * (hi - lo) * (hi - m))
        return np.where(u < c, left, right)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return self.ppf(rng.random(size))

    def pdf(self, x: np.ndarray) -> np.ndarray:
        """Density (0 outside the bounds); a fixed prior has none and returns nan."""
        x = np.asarray(x, dtype=float)
        lo, hi = self.low, self.high
        inside = (x >= lo) & (x <= hi)
        if self.is_fixed:
            return np.full(x.shape, np.nan)
        if self.family == "uniform":
            return np.where(inside, 1.0 / (hi - lo), 0.0)
        if self.family == "loguniform":
            safe = np.where(inside, x, 1.0)
            return np.where(inside, 1.0 / (safe * (math.log(hi) - math.log(lo))), 0.0)
        if self.family == "lognormal":
            return self._lognormal_pdf(x)
        m = self.peak
        rising = 2 * (x - lo) / ((hi - lo) * (m - lo)) if m > lo else np.zeros_like(x)
        falling = 2 * (hi - x) / ((hi - lo) * (hi - m)) if hi > m else np.zeros_like(x)
        return np.where(inside, np.where(x < m, rising, falling), 0.0)

    def _log_scale(self) -> tuple[float, float, float]:
        """(log median, sigma, sign) of the normal behind a log-normal prior: the value is
        sign x exp(N(centre, sigma)), or, with a cap, cap x (1 - exp(-that))."""
        lo, hi, median = self.low, self.high, float(self.peak)
        if self.cap is not None:
            lo, hi, median = (-math.log1p(-v / self.cap) for v in (lo, hi, median))
        sign = 1.0 if median > 0 else -1.0
        lo, hi, median = sorted((abs(lo), abs(hi))) + [abs(median)]
        return math.log(median), math.log(hi / lo) / (2 * Z975), sign

    def _from_log_scale(self, h: np.ndarray) -> np.ndarray:
        centre, _, sign = self._log_scale()
        if self.cap is not None:
            return self.cap * -np.expm1(-h)
        return sign * h

    def _lognormal_pdf(self, x: np.ndarray) -> np.ndarray:
        centre, sigma, sign = self._log_scale()
        if self.cap is not None:
            ok = (x > 0) & (x < self.cap)
            safe = np.where(ok, x, self.cap / 2)
            h = -np.log1p(-safe / self.cap)
            jacobian = 1.0 / (self.cap - safe)
        else:
            ok = sign * x > 0
            h = np.where(ok, sign * x, 1.0)
            jacobian = np.ones_like(h)
        density = np.exp(-((np.log(h) - centre) ** 2) / (2 * sigma**2)) / (
            h * sigma * math.sqrt(2 * math.pi)
        )
        return np.where(ok, density * jacobian, 0.0)

    def describe(self, digits: int = 4) -> str:
        def g(v: float) -> str:
            return f"{v:.{digits}g}"

        if self.is_fixed:
            return f"fixed at {g(self.low)}"
        if self.family == "lognormal":
            limit = f", limited to {g(self.cap)}" if self.cap is not None else ""
            return (
                f"lognormal, median {g(self.peak)}, 95 % in [{g(self.low)}, {g(self.high)}]{limit}"
            )
        if self.family == "triangular":
            return f"triangular [{g(self.low)}, {g(self.high)}], mode {g(self.peak)}"
        return f"{self.family} [{g(self.low)}, {g(self.high)}]"


@dataclass(frozen=True)
class Relative:
    """A prior given as multiples of the scenario's value (or +- an offset for intercepts)."""

    family: Family
    low: float
    high: float
    reason: str
    additive: bool = False

    def at(self, value: float) -> Prior:
        if self.additive:
            low, high = value + self.low, value + self.high
        else:
            low, high = sorted((value * self.low, value * self.high))
        mode = value if self.family in ("triangular", "lognormal") else None
        return Prior(self.family, low, high, mode, self.reason)


EXPLICIT: dict[str, Prior | Relative] = {
    "behaviour.lapse_intercept": Prior(
        "uniform",
        -9.0,
        -3.0,
        reason="fitted (12-month relapse 0.40): wide enough to give 12-month relapse from "
        "under 10 % to over 80 % with the other parameters at their values",
    ),
    "behaviour.ave_intercept": Prior(
        "uniform",
        -2.5,
        0.5,
        reason="fitted (how often a lapse becomes a relapse: Dennis 2007's any use beside the "
        "40 % relapse): from a lapse rarely turning into relapse to most lapses doing so "
        "(brief section 6: most early lapses become relapses)",
    ),
    "population.craving.mean": Prior(
        "uniform",
        0.3,
        0.8,
        reason="fitted (shape of the first year, Hunt 1971): craving at discharge from moderate "
        "to high (brief section 1: members still crave)",
    ),
    "behaviour.self_efficacy_growth": Prior(
        "uniform",
        0.001,
        0.01,
        reason="fitted (the late hazard: protection that grows with time abstinent): from about "
        "a third of the gap to full confidence closed in a year to nearly all of it in months",
    ),
    "behaviour.expectancy_decay_per_year": Prior(
        "uniform",
        0.0,
        1.0,
        reason="fitted (the late hazard): positive outcome expectancies fade with time abstinent, "
        "from not at all to about two thirds in a year (Marlatt & Donovan 2005)",
    ),
    "behaviour.craving_floor": Prior(
        "uniform",
        0.0,
        0.6,
        reason="fitted (long-run hazard): conditioned cue reactivity extinguishes slowly and "
        "incompletely (Bouton 2002); from full extinction to most of discharge craving",
    ),
    "behaviour.craving_decay_days": Prior(
        "uniform",
        30.0,
        240.0,
        reason="fitted (shape of the first year): from one month to eight months, the range "
        "over which published abstinence curves flatten (Hunt, Barnett & Branch 1971)",
    ),
    "group.attendance_min": Prior(
        "uniform",
        0.25,
        0.5,
        reason="assumption: attendance at the weakest group; kept below attendance_max's range",
    ),
    "group.attendance_max": Prior(
        "uniform",
        0.7,
        1.0,
        reason="assumption: attendance at the strongest group; kept above attendance_min's range",
    ),
}

GROUP_EFFECTS = (
    "group.coping_gain",
    "group.self_efficacy_gain",
    "group.expectancy_drop",
    "group.help_seeking_gain",
    "group.stress_relief",
    "group.befriend_per_meeting",
)
GROUP_RULE = Relative(
    "uniform",
    0.0,
    2.0,
    "wide: from no effect to twice the assumed value; the Cochrane RR (1.03-1.42) is for "
    "twelve-step facilitation against other treatments, not a KDS against none",
)
EFFECT_RULE = Relative(
    "lognormal",
    1 / 3,
    3.0,
    "neutral: the source paper reports no outcome of any training, so log-normal with its "
    "median at the assumed size and 95 % within a third of it to three times it",
)
WIDE_EFFECT_RULE = Relative(
    "uniform",
    0.0,
    3.0,
    "sensitivity analysis uniform_0_3x: from no effect to three times the assumed size "
    "(mean 1.5x: two thirds of the mass above our own guess)",
)
EFFECT_PRIORS: dict[str, Relative] = {"lognormal": EFFECT_RULE, "uniform_0_3x": WIDE_EFFECT_RULE}
"""The intervention-effect priors by name: the default first, then the sensitivity analysis."""
_effect_prior = ["lognormal"]


@contextmanager
def effect_prior(name: str) -> Iterator[None]:
    """Within the block, intervention effects take the named prior (EFFECT_PRIORS): how the
    sensitivity analysis `uniform_0_3x` is run beside the default."""
    if name not in EFFECT_PRIORS:
        raise ScenarioError(
            f"intervention-effect prior {name!r}; allowed: {', '.join(EFFECT_PRIORS)}"
        )
    previous = _effect_prior[0]
    _effect_prior[0] = name
    try:
        yield
    finally:
        _effect_prior[0] = previous


def current_effect_prior() -> str:
    return _effect_prior[0]


INTERCEPT_RULE = Relative(
    "uniform",
    -1.0,
    1.0,
    "assumption: +-1 on the log-odds scale (odds x/ 2.7) about the value",
    additive=True,
)
ASSUMPTION_RULE = Relative(
    "uniform", 0.5, 1.5, "assumption, not measured: x0.5 to x1.5 of the value"
)
SOURCED_RULE = Relative(
    "triangular",
    0.75,
    1.25,
    "from a reported figure or study: x0.75 to x1.25 for transfer to Indonesian KDS, "
    "most likely at the value",
)
SPREAD_RULE = Relative(
    "uniform", 0.75, 1.25, "assumption about spread across people: x0.75 to x1.25"
)

LEVER = "lever: what a district chooses, never drawn as if it were uncertain"
FIXED_KEYS: dict[str, str] = {
    "run.": "run setting, not a belief about the world",
    "group.coverage": LEVER,
    "intervention_effects.recruitment.": LEVER + " (the pace of recruitment drives)",
    "outputs.": "output setting",
    "population.size": "scenario design: the cohort simulated",
    "population.discharges_per_month": "scenario design: the user's district",
    "population.move_away_rate": "scenario design: the user's district",
    "group.partner_attendance_scaling": "structure (issue 21's fix: partners' help reaches "
    "members as they take part); 0 gives back the 0.2 model",
    "group.capacity.": "measured: the PEKA 2019 assessment (scenario input)",
    "network.peer_degree": "structure: an even integer (Watts-Strogatz); varied in sweeps",
    "calibration.": "record of the calibration, changes nothing",
    "uncertainty.": "settings of the uncertainty analysis",
    "costs.": "unit costs are inputs, not beliefs the model checks",
}


def _fixed(value: float, reason: str) -> Prior:
    return Prior("fixed", float(value), float(value), None, reason)


def rule_for(key: str, value: float, unit: str, source: str, integer: bool) -> Prior:
    """The prior a parameter's key, unit and source earn (see the module docstring)."""
    for prefix, reason in FIXED_KEYS.items():
        if key == prefix or (prefix.endswith(".") and key.startswith(prefix)):
            return _fixed(value, reason)
    if value == 0 and key in MODEL_0_3_PRIORS:
        return _fixed(value, "0 in this scenario: a mechanism switched off is a scenario choice")
    if key in EXPLICIT:
        found = EXPLICIT[key]
        return found.at(value) if isinstance(found, Relative) else found
    if integer:
        return _fixed(value, "integer structure: varied in sweeps, not drawn")
    if value == 0:
        return _fixed(value, "0 in this scenario: a mechanism switched off is a scenario choice")
    if key.startswith("intervention_effects."):
        return EFFECT_PRIORS[_effect_prior[0]].at(value)
    if key in GROUP_EFFECTS:
        return GROUP_RULE.at(value)
    if unit == "log-odds":
        return INTERCEPT_RULE.at(value)
    if key.startswith("population.") and key.endswith(".sd"):
        return SPREAD_RULE.at(value)
    if source.startswith("fitted"):
        return ASSUMPTION_RULE.at(value)
    if source.startswith("assumption") or not re.search(r"\d{4}|brief|BNN|PEKA", source):
        return ASSUMPTION_RULE.at(value)
    return SOURCED_RULE.at(value)


def clip(prior: Prior, low: float | None, high: float | None, gt: bool, lt: bool) -> Prior:
    """Narrow a prior to what the schema allows (an open bound keeps a small margin)."""
    if prior.is_fixed:
        return prior
    if prior.family == "lognormal":
        return _limited(prior, high if high is not None and prior.peak > 0 else None)
    lo, hi = prior.low, prior.high
    if low is not None:
        lo = max(lo, low + (1e-6 * max(1.0, abs(low)) if gt else 0.0))
    if high is not None:
        hi = min(hi, high - (1e-6 * max(1.0, abs(high)) if lt else 0.0))
    if (lo, hi) == (prior.low, prior.high):
        return prior
    mode = None if prior.mode is None else min(max(prior.mode, lo), hi)
    family = prior.family if lo > 0 or prior.family != "loguniform" else "uniform"
    return replace(prior, family=family, low=lo, high=hi, mode=mode)


def _limited(prior: Prior, limit: float | None) -> Prior:
    """A log-normal prior of a parameter with an upper limit, rescaled so that the multiplier
    acts on -ln(1 - x / limit): same median, same x1/3 to x3 on that scale, never past the
    limit (clipping would move the median)."""
    if limit is None or prior.cap is not None:
        return prior
    median = prior.peak
    if median >= limit:
        return _fixed(median, f"{prior.reason}; at its limit {limit:g}, so not drawn")
    h = -math.log1p(-median / limit)
    factor = math.sqrt(prior.high / prior.low)
    low, high = (limit * -math.expm1(-h * f) for f in (1 / factor, factor))
    return replace(prior, low=low, high=high, cap=limit)


def field_bounds(field: FieldInfo | None) -> tuple[float | None, float | None, bool, bool]:
    """(low, high, low is open, high is open) from a field's ge/gt/le/lt constraints."""
    low = high = None
    gt = lt = False
    for item in field.metadata if field is not None else ():
        for name in ("ge", "gt", "le", "lt"):
            bound = getattr(item, name, None)
            if bound is None:
                continue
            if name in ("ge", "gt"):
                low, gt = float(bound), name == "gt"
            else:
                high, lt = float(bound), name == "lt"
    return low, high, gt, lt


def numeric_leaves(data: Any, prefix: str = "") -> dict[str, float]:
    """Every numeric leaf of a dumped scenario, by dotted key (booleans excluded)."""
    found: dict[str, float] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            found.update(numeric_leaves(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(data, int | float) and not isinstance(data, bool):
        found[prefix] = data
    return found


def field_of(key: str, root: type[BaseModel]) -> tuple[FieldInfo | None, FieldInfo | None]:
    """(the schema field documenting `key`, the field holding its constraints).

    Distribution attributes (population.craving.mean) are documented on the attribute and
    constrained by Distribution; dictionary entries by their dictionary's field.
    """
    from kds_sim.model.interventions import REGISTRY

    cls: type[BaseModel] | None = root
    documented: FieldInfo | None = None
    constraint: FieldInfo | None = None
    parts = key.split(".")
    i = 0
    while i < len(parts) and cls is not None:
        part = parts[i]
        if part == "intervention_effects" and i + 1 < len(parts) and parts[i + 1] in REGISTRY:
            cls, i = REGISTRY[parts[i + 1]].effects_type, i + 2
            continue
        field = cls.model_fields.get(part)
        if field is None:
            break
        extra = field.json_schema_extra
        if documented is None or (isinstance(extra, dict) and extra.get("unit")):
            documented = field
        constraint = field
        annotation = field.annotation
        cls = (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
        i += 1
    return documented, constraint


def priors_of(scenario: BaseModel, overrides: dict[str, Prior] | None = None) -> dict[str, Prior]:
    """The prior of every numeric parameter of `scenario` (interventions entries excluded:
    what is done, when, is the strategy, not an uncertainty)."""
    root = type(scenario)
    data = scenario.model_dump(exclude={"interventions", "calibration", "uncertainty", "costs"})
    out: dict[str, Prior] = {}
    for key, value in numeric_leaves(data).items():
        documented, constraint = field_of(key, root)
        extra = (documented.json_schema_extra if documented else None) or {}
        unit = str(extra.get("unit", "")) if isinstance(extra, dict) else ""
        source = str(extra.get("source", "")) if isinstance(extra, dict) else ""
        integer = isinstance(value, int)
        if overrides and key in overrides:
            try:
                prior = replace(overrides[key], integer=integer)
            except ValueError as err:
                raise ScenarioError(f"uncertainty.priors.{key}: {err}") from None
        else:
            prior = rule_for(key, float(value), unit, source, integer)
        out[key] = clip(prior, *field_bounds(constraint))
    return out


# -- Model 0.3 (issue 21): priors of the new mechanisms ------------------------------------------
# A separate block, appended: nothing above changes. While a mechanism is off in the shipped
# scenarios its parameters are held at the scenario's value (a point mass: a switched-off
# mechanism is a scenario choice), so the uncertainty analysis and the ABC draw exactly what
# they drew under 0.2. MODEL_0_3_PRIORS are the priors the calibration round uses when it
# switches the mechanisms on (it moves them into EXPLICIT); each is centred on a stated
# assumption, none is a finding.
MODEL_0_3_PRIORS: dict[str, Prior] = {
    "behaviour.craving_reinstatement": Prior(
        "uniform",
        0.0,
        0.8,
        reason="assumption: from no reinstatement to a lapse restoring most of the gap to full "
        "craving (reinstatement of extinguished cue reactivity, Bouton 2002)",
    ),
    "behaviour.life_event_rate": Prior(
        "loguniform",
        0.5,
        8.0,
        reason="assumption: stressful life events from one every two years to several a year "
        "(event checklists count a few major events a year; Brown et al. 1990)",
    ),
    "behaviour.life_event_stress": Prior(
        "uniform",
        0.1,
        0.9,
        reason="assumption: an event moves proximal stress from a tenth to most of the way to 1",
    ),
    "behaviour.using_tie_form_rate": Prior(
        "loguniform",
        0.5,
        8.0,
        reason="assumption: a person using again finds old using friends within weeks to two "
        "years (Stout et al. 2012: pro-using ties predict outcomes)",
    ),
    "behaviour.treatment_stay_days": Prior(
        "uniform",
        14.0,
        180.0,
        reason="assumption: Indonesian rehabilitation from two weeks (outpatient/detox) to six "
        "months (residential); Scott, Dennis & Foss 2005 count treatment quarters",
    ),
    "behaviour.incarceration_rate": Prior(
        "loguniform",
        0.05,
        1.0,
        reason="assumption: arrest while using from once in 20 years to once a year; use is "
        "penalised under Law 35/2009 and arrest is common (brief section 7: Scott 2005 states)",
    ),
    "behaviour.incarceration_stay_days": Prior(
        "loguniform",
        30.0,
        730.0,
        reason="assumption: from a month (detention, rehabilitation order) to two years",
    ),
    "behaviour.release_to_use_share": Prior(
        "uniform",
        0.2,
        0.8,
        reason="assumption: about half resume use soon after release (Merrall et al. 2010: "
        "the weeks after release are a high-risk period)",
    ),
    "behaviour.release_craving_rise": Prior(
        "uniform", 0.0, 0.6, reason="assumption: return to the old environment revives cues"
    ),
    "group.relapsed_attendance_ratio": Prior(
        "uniform",
        0.2,
        1.0,
        reason="assumption: relapsed members attend from a fifth as often to as often; issue 21 "
        "requires relapsing members to attend at most 0.75 as many meetings",
    ),
    "group.relapsed_dropout_ratio": Prior(
        "loguniform", 1.0, 5.0, reason="assumption: relapse raises dropout up to five-fold"
    ),
    "group.rejoin_per_month": Prior(
        "uniform", 0.0, 0.1, reason="assumption: up to one former member in ten rejoins a month"
    ),
    "group.join_engagement_weight": Prior(
        "uniform",
        0.0,
        1.0,
        reason="assumption: from joining at random (0.2) to joining in proportion to engagement",
    ),
    "group.partner_attendance_scaling": Prior(
        "uniform",
        0.0,
        1.0,
        reason="assumption: from partners reaching every member (0.2) to only those who attend",
    ),
}
"""Priors of model 0.3's parameters (in EXPLICIT): the defaults are their medians, unless the
calibration fits them (docs/calibration.md)."""

EXPLICIT.update(MODEL_0_3_PRIORS)
del EXPLICIT["group.partner_attendance_scaling"]  # held at its value (FIXED_KEYS)

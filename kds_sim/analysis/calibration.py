"""Calibration: fit free parameters so simulated outcomes match target figures.

The objective is the sum over targets of ((simulated - value) / tolerance)^2. Every evaluation
runs the same replicate seeds (common random numbers), and people's attributes are drawn by
quantile transform, so the objective moves smoothly with the parameters. The optimiser is
scipy's bounded Nelder-Mead on parameters scaled to 0-1. A final check with fresh seeds
reports each target against its simulated value with a 95 % CI.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from scipy import optimize
from tqdm.auto import tqdm

from kds_sim._version import __version__
from kds_sim.analysis import evaluation, followup, metrics, statistics
from kds_sim.errors import InputError
from kds_sim.io import packaged
from kds_sim.io.scenario_files import (
    ScenarioError,
    describe_errors,
    get_dotted,
    load_scenario,
)
from kds_sim.model.scenario import Scenario


def metric_horizon(metric: str) -> int | None:
    """Days a target's scenario must run: to the day of a `relapse_<N>d` or `lapse_<N>d`
    target; None for other metrics, which use the scenario's own horizon."""
    definition = metrics.get(metric)
    if isinstance(definition, metrics.Metric) and re.match(r"^(re)?lapse_\d+d$", metric):
        return definition.days
    return None


def known_metric(metric: str) -> bool:
    try:
        metrics.get(metric)
    except KeyError:
        return False
    return True


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    name: str
    scenario: str | None = Field(
        None,
        description="scenario file, relative to the targets "
        "file (default: the SCENARIO given to `kds-sim calibrate`)",
    )
    metric: str | None = Field(
        None,
        description="a metric of the registry (docs/metrics.md); a contrast needs `reference`",
    )
    measure: str | None = Field(
        None,
        description="or a follow-up measure (kds_sim.analysis.followup.GROUPS), measured on a "
        "discharge cohort followed settings.follow_up_years years",
    )
    group: str | None = Field(None, description="the follow-up measure's row: a year or band")
    value: float | None = Field(None, description="the figure to match (or give `bound`)")
    bound: tuple[float, float] | None = Field(
        None,
        description="[low, high]: a plausibility interval; inside it the target costs nothing, "
        "so it constrains without forcing a value",
    )
    tolerance: float = Field(gt=0, description="scale of an acceptable miss (or standard error)")
    reference: str | None = None
    role: Literal["fit", "check"] = Field(
        "fit",
        description="fit: part of the objective; check: measured and reported beside the "
        "fit, but it does not move the parameters",
    )
    replicates: int | None = Field(
        None,
        ge=1,
        description="replicates of this target's scenarios per evaluation "
        "(default: settings.replicates); a small cohort needs more than a large population",
    )
    source: str = ""
    note: str = ""

    @model_validator(mode="after")
    def _check(self) -> Target:
        if (self.metric is None) == (self.measure is None):
            raise ValueError(
                f"target {self.name!r}: give exactly one of `metric` (the registry) or `measure` "
                "(a follow-up measure)"
            )
        if self.measure is not None:
            pattern = followup.GROUPS.get(self.measure)
            if pattern is None:
                raise ValueError(
                    f"measure = {self.measure!r} is unknown; allowed: {sorted(followup.GROUPS)}"
                )
            if self.group is None or not re.fullmatch(pattern, self.group):
                raise ValueError(
                    f"group = {self.group!r} is not a row of {self.measure}; allowed: "
                    f"{pattern.replace(chr(92), '')}"
                )
        elif self.metric is None or not known_metric(self.metric):
            raise ValueError(f"unknown outcome {self.metric!r}; allowed: {metrics.allowed()}")
        elif self.group is not None:
            raise ValueError(f"target {self.name!r}: `group` goes with `measure`, not `metric`")
        if self.metric is not None and metrics.is_contrast(self.metric) and self.reference is None:
            raise ValueError(f"metric {self.metric!r} compares two scenarios: add `reference`")
        if (self.value is None) == (self.bound is None):
            raise ValueError(f"target {self.name!r}: give exactly one of `value` or `bound`")
        if self.bound is not None and not self.bound[0] < self.bound[1]:
            raise ValueError(
                f"target {self.name!r}: bound = {list(self.bound)}: low must be below high"
            )
        return self

    @property
    def quantity(self) -> str:
        """What is measured, for tables: the metric, or 'measure [group]'."""
        return self.metric or f"{self.measure} [{self.group}]"

    @property
    def follow_up(self) -> bool:
        return self.measure is not None

    @property
    def simulated(self) -> bool:
        """Needs a run (a figure read from the scenario, such as a PEKA input, does not)."""
        return self.follow_up or not _from_scenario(self.metric)

    def describe(self) -> str:
        if self.bound is not None:
            return f"within [{self.bound[0]}, {self.bound[1]}] (+- {self.tolerance} outside)"
        return f"{self.value} +- {self.tolerance}"

    def miss(self, simulated: float) -> float:
        """How far a simulated value is from the target, in units of tolerance (0 inside a
        bound)."""
        if self.bound is not None:
            low, high = self.bound
            gap = low - simulated if simulated < low else max(0.0, simulated - high)
            return gap / self.tolerance
        assert self.value is not None
        return (simulated - self.value) / self.tolerance


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    population_size: int | None = Field(
        None,
        ge=2,
        description="cohort size while fitting "
        "(larger cohorts, fewer replicates: same precision, "
        "faster); default: each scenario's own",
    )
    replicates: int = Field(4, ge=1, description="replicates per evaluation (same seeds each)")
    seed: int = Field(1, ge=0, description="seed of the evaluations")
    max_evaluations: int = Field(150, ge=1)
    check_replicates: int = Field(100, ge=2, description="replicates of the final check")
    check_seed: int = Field(2, ge=0, description="fresh seed of the final check")
    follow_up_years: int = Field(
        3,
        ge=1,
        le=30,
        description="years a follow-up target's cohort is followed (measure targets)",
    )


class TargetsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    description: str = ""
    settings: Settings = Field(default_factory=Settings)
    free: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description="parameter -> [low, high]"
    )
    target: list[Target] = Field(min_length=1)


@dataclass
class Targets:
    path: Path
    spec: TargetsFile

    def scenario_path(self, relative: str | None) -> Path:
        assert relative is not None, "load_targets gives every target a scenario"
        return (self.path.parent / relative).resolve()


def read_targets_file(path: str | Path) -> tuple[Path, dict[str, Any]]:
    """The targets file a path or shipped name denotes, and its TOML (calibration targets and
    long-run bounds alike); ScenarioError naming the file for bytes that are not UTF-8 TOML."""
    path = packaged.resolve(path, "targets")
    try:
        return path, tomllib.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as err:
        raise ScenarioError(
            f"{path}: not UTF-8 text (byte {err.start}); allowed: a TOML targets file"
        ) from None
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{path}: not valid TOML: {err}") from None


def load_targets(path: str | Path, default_scenario: str | Path | None = None) -> Targets:
    """Read and check a targets file (or a shipped one's name, `indonesia_2015`); targets
    without `scenario` use `default_scenario`."""
    path, data = read_targets_file(path)
    if "kind" in data:  # long_run.toml: follow-up bounds (model 0.3), not calibration targets
        raise ScenarioError(
            f"{path}: kind = {data['kind']!r}: a long-run targets file, read by "
            "kds_sim.analysis.long_run_targets (experiments/long_run_checks.py), not by "
            "`kds-sim calibrate`; allowed: a calibration targets file such as indonesia_2015"
        )
    try:
        spec = TargetsFile.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(_describe_targets(err, data, path)) from None
    targets = Targets(path.resolve(), spec)
    for i, t in enumerate(spec.target):
        if t.scenario is None:
            if default_scenario is None:
                raise ScenarioError(
                    f"{path}: target[{i}] ({t.name}) names no scenario; add "
                    '`scenario = "...toml"` or pass SCENARIO on the command line'
                )
            t.scenario = str(Path(default_scenario).resolve())
            load_scenario(t.scenario)
        for key in ("scenario", "reference"):
            value = getattr(t, key)
            if value is not None and not targets.scenario_path(value).is_file():
                raise ScenarioError(
                    f"{path}: target[{i}].{key} = {value!r}: scenario file not "
                    f"found (looked for {targets.scenario_path(value)})"
                )
    for key, (low, high) in spec.free.items():
        check_parameter(key, path)
        if not low < high:
            raise ScenarioError(f"{path}: free.{key} = [{low}, {high}]: low must be below high")
    return targets


def _describe_targets(err: ValidationError, data: dict, path: Path) -> str:
    lines = []
    for error in err.errors():
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
        loc = loc.lstrip(".")
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            lines.append(f"{path}: unknown key '{loc}'")
        else:
            lines.append(f"{path}: {loc}: {message}")
    return "\n".join(lines) if lines else describe_errors(err.errors(), data, {}, path)


def check_parameter(key: str, source: Path | str = "free") -> None:
    """A free parameter must be a numeric scenario setting."""
    try:
        node = get_dotted(Scenario(), key)
    except KeyError:
        raise ScenarioError(
            f"{source}: free parameter {key!r} does not exist; it must be "
            "a numeric scenario key such as behaviour.lapse_intercept "
            "(see docs/parameters.md)"
        ) from None
    if isinstance(node, bool) or not isinstance(node, int | float):
        raise ScenarioError(f"{source}: free parameter {key!r} is not numeric ({node!r})")


@lru_cache(maxsize=1)
def _default_scenario() -> Scenario:
    """The schema's defaults, built once (building and validating one costs milliseconds and
    `_round` asks for every parameter of every particle)."""
    return Scenario()


def schema_default(key: str) -> Any:
    """The schema's default of a dotted scenario key."""
    return get_dotted(_default_scenario(), key)


def _round(value: float, key: str) -> float | int:
    return int(round(value)) if isinstance(schema_default(key), int) else float(value)


@dataclass
class Measurement:
    target: Target
    mean: float
    ci_low: float
    ci_high: float

    @property
    def z(self) -> float:
        return self.target.miss(self.mean)


@dataclass
class Evaluator:
    """Runs the target scenarios for a parameter vector and measures every target, through
    the evaluation core. Each scenario file is read once per Evaluator (not per particle)."""

    targets: Targets
    replicates: int
    seed: int
    population_size: int | None
    per_target: bool = True
    """Honour each target's own `replicates` (while fitting; the final check uses one count)."""
    _bases: dict[Path, Scenario] | None = field(default=None, repr=False)

    def bases(self) -> dict[Path, Scenario]:
        """Every target scenario at its horizon and replicate count, read once."""
        if self._bases is not None:
            return self._bases
        horizon: dict[Path, int] = {}
        replicates: dict[Path, int] = {}
        loaded: dict[Path, Scenario] = {}
        for t in self.targets.spec.target:
            for rel in filter(None, (t.scenario, t.reference)):
                p = self.targets.scenario_path(rel)
                if p not in loaded:
                    loaded[p] = load_scenario(p)
                own = loaded[p].run.horizon_days if p not in horizon else horizon[p]
                horizon[p] = max(own, (t.metric and metric_horizon(t.metric)) or own)
                wanted = (t.replicates or self.replicates) if self.per_target else self.replicates
                replicates[p] = max(replicates.get(p, 1), wanted)
        size = {"population.size": self.population_size} if self.population_size else {}
        self._bases = {
            p: loaded[p].updated(
                {
                    **size,
                    "run.horizon_days": days,
                    "run.replicates": max(2, replicates[p]),
                    "run.seed": self.seed,
                }
            )
            for p, days in horizon.items()
        }
        return self._bases

    def scenarios(self, values: dict[str, float]) -> dict[Path, Scenario]:
        overrides: dict[str, Any] = {k: _round(v, k) for k, v in values.items()}
        if self.population_size:
            overrides["population.size"] = self.population_size
        return {p: base.updated(overrides) for p, base in self.bases().items()}

    def measure(self, values: dict[str, float], seed: int | None = None) -> list[Measurement]:
        """Every target at `values` (replicate seeds from `seed`, default the Evaluator's)."""
        scenarios = self.scenarios(values)
        target = self.targets
        seed = self.seed if seed is None else seed
        runs = [t for t in target.spec.target if t.simulated and not t.follow_up]
        needs_run = {target.scenario_path(t.scenario) for t in runs}
        needs_run |= {target.scenario_path(t.reference) for t in runs if t.reference}
        results = self._simulate(sorted(needs_run), scenarios, seed)
        followed = self._follow(scenarios, seed)
        found = []
        for t in target.spec.target:
            path = target.scenario_path(t.scenario)
            if t.follow_up:
                found.append(Measurement(t, *self._follow_value(t, followed[path])))
            else:
                found.append(Measurement(t, *self._value(t, scenarios[path], results)))
        return found

    def _follow(self, scenarios: dict[Path, Scenario], seed: int) -> dict[Path, pd.DataFrame]:
        """The follow-up table of every scenario a measure target names (one run each)."""
        paths = sorted(
            {
                self.targets.scenario_path(t.scenario)
                for t in self.targets.spec.target
                if t.follow_up
            }
        )
        years = self.targets.spec.settings.follow_up_years
        return {
            p: followup.follow_up(
                scenarios[p], scenarios[p].run.replicates, years, seed=seed, progress=False
            )
            for p in paths
        }

    @staticmethod
    def _follow_value(t: Target, table: pd.DataFrame) -> tuple[float, float, float]:
        rows = table[(table["measure"] == t.measure) & (table["group"] == t.group)]
        if rows.empty:
            raise InputError(
                f"target {t.name!r}: measure {t.measure} [{t.group}] is not measured in "
                "settings.follow_up_years years; allowed: raise follow_up_years"
            )
        return statistics.mean_ci(rows["value"].to_numpy(dtype=float))

    def _simulate(
        self, paths: list[Path], scenarios: dict[Path, Scenario], seed: int
    ) -> dict[Path, pd.DataFrame]:
        if not paths:
            return {}
        names = [f"s{i}" for i in range(len(paths))]
        wanted = [
            t.metric for t in self.targets.spec.target if t.metric and not _from_scenario(t.metric)
        ]
        members = {
            self.targets.scenario_path(t.reference)
            for t in self.targets.spec.target
            if t.metric == "abstinence_rr_365d_members" and t.reference
        }
        if len(members) > 1:
            raise InputError(
                f"{self.targets.path}: targets of abstinence_rr_365d_members name "
                f"{len(members)} references; allowed: one reference for them"
            )
        reference = names[paths.index(members.pop())] if members else None
        horizon = min(scenarios[p].run.horizon_days for p in paths)
        cols = evaluation.needed_columns(
            [m for m in wanted if metrics.get(m).days <= horizon], horizon
        )
        for m in wanted:  # longer metrics run on scenarios whose horizon reaches them
            cols += [c for c in evaluation.needed_columns([m], 10**6) if c not in cols]
        plan = evaluation.Plan(
            [scenarios[p].updated({"name": n}) for p, n in zip(paths, names, strict=True)],
            [{}],
            [scenarios[p].run.replicates for p in paths],
            seed,
            cols,
            reference,
        )
        rows = evaluation.evaluate(plan, progress=False).results
        return {p: rows[rows["strategy"] == n] for p, n in zip(paths, names, strict=True)}

    def _value(
        self, t: Target, scenario: Scenario, results: dict[Path, pd.DataFrame]
    ) -> tuple[float, float, float]:
        assert t.metric is not None, "a follow-up target is measured by _follow_value"
        definition = metrics.get(t.metric)
        if isinstance(definition, metrics.Contrast):
            return evaluation.contrast(
                t.metric,
                results[self.targets.scenario_path(t.scenario)],
                results[self.targets.scenario_path(t.reference)],
            )
        if definition.from_scenario is not None:
            value = definition.from_scenario(scenario)
            return value, value, value
        rows = results[self.targets.scenario_path(t.scenario)]
        return statistics.mean_ci(rows[t.metric].to_numpy(dtype=float))


def _from_scenario(metric: str | None) -> bool:
    if metric is None:
        return False
    definition = metrics.get(metric)
    return isinstance(definition, metrics.Metric) and definition.from_scenario is not None


def objective(measurements: list[Measurement]) -> float:
    """Sum of squared misses (in tolerances) of the targets with role "fit"."""
    return float(sum(m.z**2 for m in measurements if m.target.role == "fit"))


@dataclass
class CalibrationResult:
    values: dict[str, float]
    start: dict[str, float]
    bounds: dict[str, tuple[float, float]]
    fit: list[Measurement]  # at the fitted values, fresh seeds
    evaluations: int
    objective: float
    history: pd.DataFrame
    held: dict[str, float] = field(default_factory=dict)
    """Values set for every evaluation but not searched (the ABC posterior's medians of the
    parameters it identifies); written to the overlay beside the fitted ones."""

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "target": m.target.name,
                    "scenario": m.target.scenario,
                    "metric": m.target.quantity,
                    "value": m.target.value,
                    "tolerance": m.target.tolerance,
                    "simulated": m.mean,
                    "ci_low": m.ci_low,
                    "ci_high": m.ci_high,
                    "bound_low": m.target.bound[0] if m.target.bound else np.nan,
                    "bound_high": m.target.bound[1] if m.target.bound else np.nan,
                    "within_tolerance": abs(m.z) <= 1.0,
                    "role": m.target.role,
                    "source": m.target.source,
                }
                for m in self.fit
            ]
        )


def start_values(
    targets: Targets, free: dict[str, tuple[float, float]], start: dict[str, float] | None = None
) -> dict[str, float]:
    """Where the search starts: given values, else the first target scenario's current ones."""
    scenario = load_scenario(targets.scenario_path(targets.spec.target[0].scenario))
    values = {}
    for key, (low, high) in free.items():
        value = float(start[key]) if start and key in start else float(get_dotted(scenario, key))
        values[key] = float(np.clip(value, low, high))
    return values


def calibrate(
    targets: Targets,
    free: dict[str, tuple[float, float]] | None = None,
    start: dict[str, float] | None = None,
    progress: bool = True,
    max_evaluations: int | None = None,
    replicates: int | None = None,
    check_replicates: int | None = None,
    held: dict[str, float] | None = None,
) -> CalibrationResult:
    """Fit `free` parameters (key -> (low, high)) to the targets, with the parameters of `held`
    set to its values throughout (and in the final check)."""
    held = {k: _round(v, k) for k, v in (held or {}).items()}
    both = sorted(set(held) & set(free or targets.spec.free))
    if both:
        raise ScenarioError(f"held parameters {both} are also free; allowed: one or the other")
    spec = targets.spec.settings
    free = free if free is not None else dict(targets.spec.free)
    if not free:
        raise ScenarioError(
            f"{targets.path}: no free parameters: list them in [free] or pass free = KEY=LOW:HIGH"
        )
    keys = list(free)
    low = np.array([free[k][0] for k in keys])
    span = np.array([free[k][1] - free[k][0] for k in keys])
    x0 = start_values(targets, free, start)
    fitting = Targets(  # checks are measured once, at the end: they never move the parameters
        targets.path,
        targets.spec.model_copy(
            update={"target": [t for t in targets.spec.target if t.role == "fit"]}
        ),
    )
    evaluator = Evaluator(fitting, replicates or spec.replicates, spec.seed, spec.population_size)
    history = []
    limit = max_evaluations or spec.max_evaluations
    bar = tqdm(
        total=limit,
        desc="calibrating",
        unit="eval",
        leave=False,
        disable=None if progress else True,
    )  # None: a bar on terminals only

    def loss(x: np.ndarray) -> float:
        values = dict(zip(keys, low + np.clip(x, 0, 1) * span, strict=True))
        found = evaluator.measure({**held, **values})
        value = objective(found)
        history.append({**values, "objective": value, **{m.target.name: m.mean for m in found}})
        bar.update()
        bar.set_postfix(objective=f"{min(h['objective'] for h in history):.3g}")
        return value

    start_x = np.array([(x0[k] - free[k][0]) / (free[k][1] - free[k][0]) for k in keys])
    simplex = [start_x] + [
        np.clip(start_x + np.eye(len(keys))[i] * 0.15 * (1 if start_x[i] < 0.5 else -1), 0, 1)
        for i in range(len(keys))
    ]
    found = optimize.minimize(
        loss,
        start_x,
        method="Nelder-Mead",
        bounds=[(0, 1)] * len(keys),
        options={
            "maxfev": limit,
            "xatol": 0.005,
            "fatol": 0.05,
            "initial_simplex": np.array(simplex),
        },
    )
    bar.close()
    best = dict(zip(keys, low + np.clip(found.x, 0, 1) * span, strict=True))
    best = {k: _round(v, k) for k, v in best.items()}
    checker = Evaluator(
        targets, check_replicates or spec.check_replicates, spec.check_seed, None, per_target=False
    )
    fit = checker.measure({**held, **best})
    return CalibrationResult(
        best, x0, free, fit, len(history), objective(fit), pd.DataFrame(history), held
    )


def overlay_text(
    result: CalibrationResult, targets: Targets, uncertainty: dict[str, Any] | None = None
) -> str:
    """An `extends` overlay: the fitted values, with the targets and fit recorded, and the
    `uncertainty` section of the overlay it replaces (its posterior is not refitted here)."""
    today = dt.date.today().isoformat()
    lines = [
        f"# Calibrated overlay written by `kds-sim calibrate` on {today} (kds-sim {__version__}).",
        f"# Targets: {targets.path.name}. Scenarios use it with `extends`.",
        f"# Fit: objective {result.objective:.3g} after {result.evaluations} evaluations; "
        "final check with fresh seeds:",
    ]
    for m in result.fit:
        lines.append(
            f"#   {m.target.name}: target {m.target.describe()}, "
            f"simulated {m.mean:.4f} [95 % CI {m.ci_low:.4f}, {m.ci_high:.4f}]"
        )
    if result.held:
        lines.append(
            "# Held at the ABC posterior's medians (the parameters it identifies, "
            "docs/calibration.md): " + ", ".join(sorted(result.held))
        )
    data: dict[str, Any] = {}
    values = {**result.held, **result.values}
    for key in list(values):  # a distribution's table needs both mean and sd
        parent, _, leaf = key.rpartition(".")
        if leaf in ("mean", "sd") and parent.startswith("population."):
            sibling = f"{parent}.{'sd' if leaf == 'mean' else 'mean'}"
            values.setdefault(sibling, float(schema_default(sibling)))
    for key, value in values.items():
        node = data
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    if uncertainty:
        data["uncertainty"] = uncertainty
    data["calibration"] = {
        "date": today,
        "version": __version__,
        "targets_file": targets.path.name,
        "free": {k: list(v) for k, v in result.bounds.items()},
        **({"held": dict(sorted(result.held.items()))} if result.held else {}),
        "objective": round(result.objective, 6),
        "evaluations": result.evaluations,
        "fit": {
            m.target.name: {
                "metric": m.target.quantity,
                **(
                    {"bound": list(m.target.bound)}
                    if m.target.bound
                    else {"target": m.target.value}
                ),
                "tolerance": m.target.tolerance,
                "simulated": round(m.mean, 6),
                "ci_low": round(m.ci_low, 6),
                "ci_high": round(m.ci_high, 6),
            }
            for m in result.fit
        },
    }
    return "\n".join(lines) + "\n\n" + tomli_w.dumps(data)


def overlay_uncertainty(overlay: Path) -> dict[str, Any] | None:
    """The [uncertainty] section (the posterior it names) of an overlay about to be rewritten,
    so a new point fit keeps it."""
    if not overlay.is_file():
        return None
    try:
        section = tomllib.loads(overlay.read_text(encoding="utf-8")).get("uncertainty")
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None  # an unreadable overlay is replaced whole
    return section if isinstance(section, dict) else None


def parse_free(items: list[str] | None, targets: Targets) -> dict[str, tuple[float, float]]:
    """free: KEY (bounds from the targets file) or KEY=LOW:HIGH."""
    if not items:
        return dict(targets.spec.free)
    free = {}
    for item in items:
        key, sep, bounds = item.partition("=")
        check_parameter(key, "free")
        if sep:
            try:
                low, high = (float(v) for v in bounds.split(":"))
            except ValueError:
                raise ScenarioError(
                    f"free = {item!r}: bounds must be LOW:HIGH, e.g. {key}=-9:-3"
                ) from None
        elif key in targets.spec.free:
            low, high = targets.spec.free[key]
        else:
            raise ScenarioError(
                f"free = {key}: no bounds; give {key}=LOW:HIGH or list it "
                f"under [free] in {targets.path}"
            )
        if not low < high:
            raise ScenarioError(f"free = {item!r}: LOW must be below HIGH")
        free[key] = (low, high)
    return free

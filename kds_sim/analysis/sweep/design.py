"""Experiment files and their designs: which scenario keys vary, how they are sampled.

An experiment file (experiments/designs/*.toml) names the strategies (scenario files), an
optional reference strategy, the factors (any dotted scenario key, with `levels` or a
`range`), the design (grid, lhs, sobol, morris), replicates and outcomes. Mistakes are
reported as "FILE: key = value: problem; allowed ..." like scenario files.
"""

from __future__ import annotations

import itertools
import tomllib
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kds_sim.analysis import metrics
from kds_sim.errors import InputError
from kds_sim.io import packaged
from kds_sim.io.scenario_files import ScenarioError, get_dotted, load_scenario
from kds_sim.model.scenario import Scenario

METHODS = ("grid", "lhs", "sobol", "morris")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Factor(_Strict):
    """One varied scenario key: explicit `levels` (grid) or a uniform `range` (sampled)."""

    levels: list[float | int | bool | str] | None = None
    range: tuple[float, float] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Factor:
        if (self.levels is None) == (self.range is None):
            raise ValueError("give exactly one of levels = [...] or range = [low, high]")
        if self.range is not None and not self.range[0] < self.range[1]:
            raise ValueError("range must be [low, high] with low < high")
        if self.levels is not None and not self.levels:
            raise ValueError("levels must not be empty")
        return self


class Design(_Strict):
    method: Literal["grid", "lhs", "sobol", "morris"] = "grid"
    samples: int = Field(8, ge=1, description="N: lhs points; sobol base sample; morris paths")
    seed: int = 12345
    levels: int = Field(4, ge=2, description="morris grid levels")
    second_order: bool = False


class Discovery(_Strict):
    """Scenario discovery: PRIM finds where `outcome` is below (or above) `threshold`."""

    outcome: str
    threshold: float
    below: bool = True


class Experiment(_Strict):
    """The parsed experiment file (paths resolved against the file's folder)."""

    name: str
    description: str = ""
    strategies: list[str] = Field(min_length=1)
    reference: str | None = None
    replicates: int = Field(ge=1)
    seed: int = 20191201
    outcomes: list[str] = Field(min_length=1)
    batch: int | None = Field(
        None,
        ge=1,
        description="design points per task; default: enough to fill one engine batch",
    )
    set: dict[str, Any] = Field(default_factory=dict)
    design: Design = Field(default_factory=Design)
    factors: dict[str, Factor] = Field(min_length=1)
    discovery: Discovery | None = None

    @model_validator(mode="after")
    def _design_fits(self) -> Experiment:
        ranged = [k for k, f in self.factors.items() if f.range is not None]
        if self.design.method == "grid" and ranged:
            raise ValueError(f"a grid needs levels for every factor, not range: {ranged}")
        if self.design.method != "grid" and len(ranged) != len(self.factors):
            raise ValueError(f"{self.design.method} needs range = [low, high] for every factor")
        return self

    # filled in by load_experiment -----------------------------------------------------------
    source: str = ""
    root: str = ""

    def strategy_paths(self) -> list[Path]:
        return [_scenario_path(s, self.root) for s in self.strategies]

    def reference_path(self) -> Path | None:
        return _scenario_path(self.reference, self.root) if self.reference else None

    def all_paths(self) -> dict[str, Path]:
        """Strategy name (file stem) -> path, reference included."""
        paths = self.strategy_paths()
        ref = self.reference_path()
        if ref is not None and ref not in paths:
            paths.append(ref)
        out: dict[str, Path] = {}
        for path in paths:
            if path.stem in out and out[path.stem].resolve() != path.resolve():
                raise InputError(
                    f"{self.source}: strategies {out[path.stem]} and {path} share the name "
                    f"{path.stem!r} (a strategy is named by its file stem); allowed: files "
                    "with different names"
                )
            out[path.stem] = path
        return out

    @property
    def reference_name(self) -> str | None:
        ref = self.reference_path()
        return ref.stem if ref else None

    def contrasts(self) -> list[str]:
        return [o for o in self.outcomes if metrics.is_contrast(o)]

    def per_replicate(self) -> list[str]:
        return [o for o in self.outcomes if not metrics.is_contrast(o)]


def _scenario_path(name: str, root: str) -> Path:
    """A strategy: a scenario file relative to the experiment file, or a shipped name."""
    try:
        return packaged.resolve(name, "scenario", Path(root))
    except ScenarioError:
        return Path(root) / name  # load_experiment reports it missing, naming the file


def _problem(text: str, file: Path, err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(file)"
        value = e.get("input")
        shown = "" if isinstance(value, dict) else f" = {value!r}"
        lines.append(f"{file}: {key}{shown}: {e['msg']}")
    return "\n".join(lines)


def load_experiment(path: str | Path) -> Experiment:
    """Read and check an experiment file (or a shipped design's name); every scenario key,
    bound and outcome is tried."""
    path = packaged.resolve(path, "design").resolve()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such experiment file") from None
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{path}: not valid TOML: {err}") from None
    except UnicodeDecodeError as err:
        raise ScenarioError(
            f"{path}: not a text (UTF-8) file: byte {err.start}; allowed: a TOML experiment file"
        ) from None
    except IsADirectoryError:
        raise ScenarioError(f"{path}: a folder; allowed: a TOML experiment file") from None
    data.setdefault("name", path.stem)
    try:
        exp = Experiment.model_validate({**data, "source": str(path), "root": str(path.parent)})
    except ValidationError as err:
        raise ScenarioError(_problem(path.read_text(), path, err)) from None
    for strategy in exp.all_paths().values():
        if not strategy.is_file():
            raise ScenarioError(f"{path}: strategies = {strategy}: no such scenario file")
    for name in exp.outcomes:
        try:
            metrics.get(name)
        except KeyError:
            raise ScenarioError(
                f"{path}: outcomes = {name!r}: unknown metric; allowed: {metrics.allowed()}"
            ) from None
    if exp.contrasts() and exp.reference is None:
        raise ScenarioError(
            f"{path}: outcomes = {exp.contrasts()}: contrasts need reference = 'SCENARIO.toml'"
        )
    base = load_scenario(exp.strategy_paths()[0], exp.set)
    for key, factor in exp.factors.items():
        try:
            get_dotted(base, key)
        except KeyError as err:
            raise ScenarioError(
                f"{path}: factors.{key}: not a scenario key ({err.args[0]}); "
                "allowed: any key listed by `kds-sim params`"
            ) from None
        ends = factor.levels if factor.levels is not None else list(factor.range or ())
        for value in ends:
            try:
                changes = with_siblings(base, {**exp.set, key: _typed(base, key, value)})
                load_scenario(exp.strategy_paths()[0], changes)
            except ScenarioError as err:
                raise ScenarioError(f"{path}: factors.{key} = {value!r}:\n{err}") from None
    return exp


def _typed(base: Scenario, key: str, value: Any) -> Any:
    """Integers for integer fields (a sampled 3.7 ties becomes 4)."""
    current = get_dotted(base, key)
    if isinstance(current, bool) or not isinstance(value, float):
        return value
    if isinstance(current, int):
        return int(round(value))
    return value


def problem(exp: Experiment) -> dict[str, Any]:
    """The SALib problem dictionary."""
    names = list(exp.factors)
    bounds = [list(exp.factors[n].range or (0.0, 1.0)) for n in names]
    return {"num_vars": len(names), "names": names, "bounds": bounds}


def sample(exp: Experiment) -> pd.DataFrame:
    """Design points, one row per point (column `point` is its index), in design order."""
    names = list(exp.factors)
    d = exp.design
    if d.method == "grid":
        levels = [exp.factors[n].levels or [] for n in names]
        table = pd.DataFrame(list(itertools.product(*levels)), columns=names)
    else:
        values = _salib_sample(exp)
        table = pd.DataFrame(values, columns=names)
    base = load_scenario(exp.strategy_paths()[0], exp.set)
    for n in names:
        current = get_dotted(base, n)
        if isinstance(current, int) and not isinstance(current, bool):
            table[n] = table[n].round().astype(int)
    table.insert(0, "point", np.arange(len(table)))
    return table


def point_count(exp: Experiment) -> int:
    """Design points `sample` will give, computed without sampling (to estimate a run)."""
    d, k = exp.design, len(exp.factors)
    if d.method == "grid":
        return int(np.prod([len(f.levels or []) for f in exp.factors.values()]))
    if d.method == "lhs":
        return d.samples
    if d.method == "sobol":
        return d.samples * (2 * k + 2 if d.second_order else k + 2)
    return d.samples * (k + 1)


def _salib_sample(exp: Experiment) -> np.ndarray:
    from SALib.sample import latin, morris, sobol

    prob, d = problem(exp), exp.design
    if d.method == "lhs":
        return latin.sample(prob, d.samples, seed=d.seed)
    if d.method == "sobol":
        return sobol.sample(prob, d.samples, calc_second_order=d.second_order, seed=d.seed)
    return morris.sample(prob, d.samples, num_levels=d.levels, seed=d.seed)


def point_overrides(
    exp: Experiment, points: pd.DataFrame, point: int, base: Scenario
) -> dict[str, Any]:
    """The dotted-key overrides that make one design point's scenario (column types kept)."""
    out = dict(exp.set)
    for n in exp.factors:
        value = points.at[point, n]
        out[n] = value.item() if isinstance(value, np.generic) else value
    return with_siblings(base, out)


def with_siblings(base: Scenario, overrides: dict[str, Any]) -> dict[str, Any]:
    """Add the base's sd to an overridden distribution mean (and the mean to an sd): an
    override replaces the whole {mean, sd} table when the scenario file does not set it."""
    out = dict(overrides)
    for key in overrides:
        parent, _, leaf = key.rpartition(".")
        if leaf in ("mean", "sd") and parent:
            try:
                node = get_dotted(base, parent)
            except KeyError:
                continue
            other = "sd" if leaf == "mean" else "mean"
            if hasattr(node, other):
                out.setdefault(f"{parent}.{other}", getattr(node, other))
    return out


def run_count(exp: Experiment, points: int) -> int:
    """Simulated replicates: points x strategies (reference included) x replicates."""
    return points * len(exp.all_paths()) * exp.replicates


SKIPPED_SECTIONS = ("run.", "outputs.", "calibration.", "network.edges", "network.nodes")
SKIPPED_KEYS = ("population.size", "network.peer_degree")
"""Not model uncertainties: run settings, outputs, the cohort size, Watts-Strogatz k (even)."""


def numeric_factors(path: str | Path, spread: float = 0.25) -> dict[str, tuple[float, float]]:
    """Every numeric parameter of a scenario with a range of +-`spread` about its value.

    Distribution attributes vary their mean. A range the schema refuses at either end is
    narrowed to +-10 %, and dropped if that is refused too; a value of 0 gets [0, 0.1].
    """
    base = load_scenario(path)
    found: dict[str, tuple[float, float]] = {}

    def leaves(data: Any, prefix: str) -> None:
        if isinstance(data, dict):
            if set(data) == {"mean", "sd"}:
                leaves(data["mean"], f"{prefix}.mean")
                return
            for key, value in data.items():
                leaves(value, f"{prefix}.{key}" if prefix else str(key))
        elif (
            isinstance(data, float)
            and not prefix.startswith(SKIPPED_SECTIONS)
            and prefix not in SKIPPED_KEYS
        ):
            found[prefix] = (data, data)

    leaves(base.model_dump(exclude={"interventions"}), "")
    out: dict[str, tuple[float, float]] = {}
    for key, (value, _) in found.items():
        for s in (spread, 0.1):
            low, high = sorted((value * (1 - s), value * (1 + s))) if value else (0.0, 0.1)
            try:
                load_scenario(path, with_siblings(base, {key: low}))
                load_scenario(path, with_siblings(base, {key: high}))
            except ScenarioError:
                continue
            out[key] = (round(low, 6), round(high, 6))
            break
    return out

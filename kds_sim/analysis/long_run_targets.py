"""Long-run targets (model 0.3): bounds on the follow-up measures of kds_sim.analysis.followup,
each with its source wording, the model quantity and the reading, read from a TOML file
(scenarios/targets/long_run.toml). Separate from the calibration's targets files, which
`kds-sim calibrate` reads unchanged."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kds_sim.analysis import followup
from kds_sim.analysis.calibration import known_metric, read_targets_file
from kds_sim.errors import ScenarioError

KIND = "long_run"


class LongRunTarget(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    name: str
    scenario: str = Field(description="scenario file, relative to the targets file")
    measure: str | None = Field(None, description="a follow-up measure (followup.GROUPS)")
    group: str | None = Field(None, description="the measure's row: a year, band or quarter")
    metric: str | None = Field(
        None, description="or a registry metric, measured by the calibration (docs/metrics.md)"
    )
    reference: str | None = None
    value: float | None = None
    bound: tuple[float, float] | None = None
    tolerance: float = Field(gt=0)
    role: Literal["fit", "bound", "check"]
    source: str = Field(min_length=1)
    model_quantity: str = Field(min_length=1)
    reading: str = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> LongRunTarget:
        if (self.measure is None) == (self.metric is None):
            raise ValueError("give exactly one of `measure` (follow-up) or `metric` (registry)")
        if self.measure is not None:
            if self.measure not in followup.GROUPS:
                raise ValueError(
                    f"measure = {self.measure!r} is unknown; allowed: {sorted(followup.GROUPS)}"
                )
            pattern = followup.GROUPS[self.measure]
            if self.group is None or not re.fullmatch(pattern, self.group):
                raise ValueError(
                    f"group = {self.group!r} is not a row of {self.measure}; allowed: "
                    f"{pattern.replace(chr(92), '')}"
                )
        if self.metric is not None and not known_metric(self.metric):
            raise ValueError(f"metric = {self.metric!r} is not a registry metric (docs/metrics.md)")
        if (self.value is None) == (self.bound is None):
            raise ValueError("give exactly one of `value` or `bound`")
        if self.bound is not None and not self.bound[0] < self.bound[1]:
            raise ValueError(f"bound = {list(self.bound)}: low must be below high")
        return self

    def describe(self) -> str:
        if self.bound is not None:
            return f"[{self.bound[0]:g}, {self.bound[1]:g}]"
        return f"{self.value:g} +- {self.tolerance:g}"

    def met(self, simulated: float) -> bool:
        """Inside the bound, or within the tolerance of the value."""
        if self.bound is not None:
            return self.bound[0] <= simulated <= self.bound[1]
        assert self.value is not None
        return abs(simulated - self.value) <= self.tolerance


class LongRunSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    years: int = Field(8, ge=1, le=30)
    replicates: int = Field(100, ge=2)


class LongRunFile(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    kind: Literal["long_run"]
    description: str = ""
    settings: LongRunSettings = Field(default_factory=LongRunSettings)
    target: list[LongRunTarget] = Field(min_length=1)


@dataclass
class LongRunTargets:
    path: Path
    spec: LongRunFile

    def scenario_path(self, relative: str) -> Path:
        return (self.path.parent / relative).resolve()

    def measured(self) -> list[LongRunTarget]:
        """The targets a follow-up run measures (not the registry metrics)."""
        return [t for t in self.spec.target if t.measure is not None]

    def compare(self, summary: pd.DataFrame) -> pd.DataFrame:
        """Each measured target beside the simulated mean and CI (rows of `followup.summarise`,
        whose `scenario` is the scenario's name): met or not."""
        rows = []
        for t in self.measured():
            name = self.scenario_path(t.scenario).stem
            hit = summary[
                (summary["scenario"] == name)
                & (summary["measure"] == t.measure)
                & (summary["group"] == t.group)
            ]
            value, low, high = (
                hit[["value", "lower", "upper"]].iloc[0].tolist()
                if len(hit)
                else [float("nan")] * 3
            )
            rows.append(
                {
                    "target": t.name,
                    "scenario": name,
                    "measure": t.measure,
                    "group": t.group,
                    "role": t.role,
                    "wanted": t.describe(),
                    "simulated": value,
                    "lower": low,
                    "upper": high,
                    "met": bool(t.met(value)) if value == value else False,
                }
            )
        return pd.DataFrame(rows)


def load_long_run_targets(path: str | Path = "long_run") -> LongRunTargets:
    """Read and check a long-run targets file (or the shipped one's name, `long_run`)."""
    path, data = read_targets_file(path)
    if data.get("kind") != KIND:
        raise ScenarioError(
            f"{path}: kind = {data.get('kind')!r}; allowed: {KIND!r} (a long-run targets file; "
            "calibration targets are read by `kds-sim calibrate`)"
        )
    try:
        spec = LongRunFile.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(_describe(err, data, path)) from None
    targets = LongRunTargets(path.resolve(), spec)
    for i, t in enumerate(spec.target):
        for key in ("scenario", "reference"):
            value = getattr(t, key)
            if value is not None and not targets.scenario_path(value).is_file():
                raise ScenarioError(
                    f"{path}: target[{i}].{key} = {value!r}: scenario file not found (looked "
                    f"for {targets.scenario_path(value)})"
                )
    names = [t.name for t in spec.target]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ScenarioError(f"{path}: target names {twice} appear twice; allowed: unique names")
    return targets


def _describe(err: ValidationError, data: dict, path: Path) -> str:
    """One line per problem: file, key (with the target's name), value, what is allowed."""
    lines = []
    for error in err.errors():
        loc = error["loc"]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        if len(loc) >= 2 and loc[0] == "target" and isinstance(loc[1], int):
            targets = data.get("target", [])
            if loc[1] < len(targets) and isinstance(targets[loc[1]], dict):
                where += f" ({targets[loc[1]].get('name', '?')})"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            lines.append(f"{path}: unknown key '{where}' = {error['input']!r}")
        elif error["type"] == "missing":
            lines.append(f"{path}: {where}: required key missing")
        elif isinstance(error.get("input"), dict):  # a check across keys names its keys
            lines.append(f"{path}: {where}: {message}")
        else:
            lines.append(f"{path}: {where} = {error.get('input')!r}: {message}")
    return "\n".join(lines)

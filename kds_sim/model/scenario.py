"""A complete scenario: every section of the parameter schema, validated together.

Intervention entries and effect sizes are validated by their registered kind
(kds_sim.model.interventions), so a kind added with `register` is accepted here too.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, SerializeAsAny, ValidationError, model_validator

from kds_sim.errors import ScenarioError
from kds_sim.model.interventions import Effects, Intervention, parse_effects, parse_entry
from kds_sim.model.parameters import (
    MIN_MAX_PAIRS,
    Behaviour,
    Costs,
    Group,
    Label,
    Network,
    Outputs,
    Population,
    Run,
    Section,
    Text,
    param,
)
from kds_sim.model.priors import FAMILIES, Prior

# SerializeAsAny: dump each entry and effects section with its kind's own fields
InterventionEntry = Annotated[SerializeAsAny[Intervention], BeforeValidator(parse_entry)]
InterventionEffects = Annotated[dict[str, SerializeAsAny[Effects]], BeforeValidator(parse_effects)]


class PriorSpec(Section):
    """A prior written in a scenario file, replacing the rule's (`[uncertainty.priors]`)."""

    family: str = param(..., "choice", "user", f"one of: {', '.join(FAMILIES)}")
    low: float = param(..., "parameter's unit", "user", "lower bound")
    high: float = param(..., "parameter's unit", "user", "upper bound")
    mode: float | None = param(None, "parameter's unit", "user", "most likely value (triangular)")
    reason: Text = param(..., "text", "user", "the source, or the reasoning of the assumption")

    @model_validator(mode="after")
    def _valid(self) -> PriorSpec:
        self.prior()
        return self

    def prior(self) -> Prior:
        family: Any = self.family
        return Prior(family, self.low, self.high, self.mode, self.reason)


class Uncertainty(Section):
    """Where parameter draws come from in `--uncertainty` runs (docs/uncertainty.md)."""

    posterior: str | None = param(
        None,
        "file",
        "kds-sim calibrate --method abc",
        "posterior ensemble (Parquet: one column per parameter and `weight`), relative to the "
        "scenario file; its parameters are drawn jointly, the rest from their priors",
    )
    priors: dict[str, PriorSpec] = Field(
        default_factory=dict,
        description="priors that replace the rule's, by dotted parameter key",
    )
    vary: list[str] | None = Field(
        None,
        description="draw only these parameters (dotted keys); the others stay at their "
        "values (default: every parameter whose prior is not fixed)",
    )


class Scenario(Section):
    """A complete, validated scenario."""

    name: Label = param("scenario", "text", "scenario design", "short name used in tables")
    description: Text = param("", "text", "scenario design", "the question the scenario answers")
    label: Label = param(
        "", "text", "scenario design", "short human-readable name for reports (default: name)"
    )
    label_id: Label = param("", "text", "scenario design", "the label in Bahasa Indonesia")
    description_id: Text = param(
        "", "text", "scenario design", "the description in Bahasa Indonesia"
    )
    run: Run = Field(default_factory=Run)
    population: Population = Field(default_factory=Population)
    network: Network = Field(default_factory=Network)
    behaviour: Behaviour = Field(default_factory=Behaviour)
    group: Group = Field(default_factory=Group)
    intervention_effects: InterventionEffects = Field(
        default_factory=lambda: parse_effects({}),
        description="effect sizes of each intervention kind, one section per kind",
    )
    interventions: list[InterventionEntry] = Field(default_factory=list)
    outputs: Outputs = Field(default_factory=Outputs)
    uncertainty: Uncertainty = Field(default_factory=Uncertainty)
    costs: Costs = Field(default_factory=Costs)
    calibration: dict[str, Any] = Field(
        default_factory=dict,
        description="record of the calibration that produced this "
        "file's values (written by `kds-sim calibrate`; informational, changes nothing)",
    )

    def updated(self, changes: dict[str, Any]) -> Scenario:
        """This scenario with dotted-key changes (`{"group.coverage": 0.8}`), validated once.

        The one way analyses change a scenario: a value where the schema holds an integer is
        rounded to one; a change the schema refuses names the scenario, the key and the value.
        """
        if not changes:
            return self
        data = self.model_dump()
        for key, value in changes.items():
            node = data
            parts = key.split(".")
            for part in parts[:-1]:
                if not isinstance(node, dict) or part not in node:
                    raise ScenarioError(f"{self.name}: {key} = {value!r}: no setting {part!r}")
                node = node[part]
            old = node.get(parts[-1]) if isinstance(node, dict) else None
            if type(value).__module__ == "numpy":  # a numpy scalar from a design table
                value = value.item()
            if isinstance(old, int) and not isinstance(old, bool) and isinstance(value, float):
                value = int(round(value))
            elif isinstance(old, float) and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            node[parts[-1]] = value
        try:
            return Scenario.model_validate(data)
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in err.errors()
            )
            raise ScenarioError(f"{self.name} with {changes}: {problems}") from None

    @model_validator(mode="after")
    def _interventions_in_horizon(self) -> Scenario:
        if self.interventions and not self.group.enabled:
            raise ValueError(
                f"{len(self.interventions)} [[interventions]] entries act on a "
                "peer support group, but group.enabled = false; allowed: set "
                "group.enabled = true, or remove the [[interventions]] entries"
            )
        for i, item in enumerate(self.interventions):
            if item.start_day >= self.run.horizon_days:
                raise ValueError(
                    f"interventions[{i}].start_day = {item.start_day} ({item.kind}): beyond "
                    f"the horizon run.horizon_days = {self.run.horizon_days}; allowed: 0 to "
                    f"{self.run.horizon_days - 1}"
                )
        for pair in MIN_MAX_PAIRS:
            low, high = getattr(self.group, f"{pair}_min"), getattr(self.group, f"{pair}_max")
            if low > high:
                raise ValueError(
                    f"group.{pair}_min = {low} is above group.{pair}_max = {high}; allowed: "
                    f"group.{pair}_min at most group.{pair}_max"
                )
        if self.network.peer_degree % 2:
            raise ValueError(
                f"network.peer_degree must be even (Watts-Strogatz), got {self.network.peer_degree}"
            )
        return self

"""kds-sim as an EMA Workbench model, for users of its samplers, PRIM and optimisation.

    from kds_sim import ema
    model = ema.model("scenarios/capacity_building.toml", reference="scenarios/no_group.toml",
                      uncertainties={"behaviour.lapse_intercept": (-5.3, -4.0)},
                      levers={"group.coverage": (0.2, 0.8)},
                      outcomes=["relapse_365d", "averted_per_100_365d"])
    experiments, outcomes = ema_workbench.perform_experiments(model, scenarios=50)

Each evaluation runs `replicates` replicates with the same seed, so every EMA experiment shares
people, network and daily draws (common random numbers); an outcome is the mean over them.
Uncertainties default to every numeric parameter (+-25 %), as the Morris study.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kds_sim.analysis import evaluation, metrics
from kds_sim.analysis.sweep.design import numeric_factors, with_siblings
from kds_sim.errors import InputError
from kds_sim.io.scenario_files import get_dotted, load_scenario
from kds_sim.model.scenario import Scenario

Bounds = dict[str, tuple[float, float]]


def _parameters(base: Any, bounds: Bounds) -> list[Any]:
    from ema_workbench import IntegerParameter, RealParameter

    out = []
    for key, (low, high) in bounds.items():
        current = get_dotted(base, key)
        if isinstance(current, int) and not isinstance(current, bool):
            out.append(IntegerParameter(key, int(low), int(high)))
        else:
            out.append(RealParameter(key, float(low), float(high)))
    return out


@dataclass
class Evaluate:
    """The function of the EMA model: a module-level callable (picklable, so EMA's
    MultiprocessingEvaluator works under the spawn start method, and MPI/ipyparallel too).
    It runs the scenario (and the reference) at the sampled values through the evaluation
    core, `replicates` paired replicates on common random numbers."""

    base: Scenario
    reference: Scenario | None
    outcomes: tuple[str, ...]
    replicates: int
    seed: int
    fixed: dict[str, Any]

    def __call__(self, **values: Any) -> dict[str, float]:
        changes = with_siblings(self.base, {**self.fixed, **values})
        strategies = [self.base.updated({"name": "scenario"})]
        if self.reference is not None:
            strategies.append(self.reference.updated({"name": "reference"}))
        horizon = min(s.run.horizon_days for s in strategies)
        plan = evaluation.Plan(
            strategies,
            [changes],
            self.replicates,
            self.seed,
            evaluation.needed_columns(self.outcomes, horizon),
            "reference" if self.reference is not None else None,
        )
        rows = evaluation.evaluate(plan, progress=False).results
        table = evaluation.summarise(rows, self.outcomes, plan.reference)
        table = table[table["strategy"] == "scenario"]
        return {o: float(table.loc[table["metric"] == o, "mean"].iloc[0]) for o in self.outcomes}


def model(
    scenario: str | Path,
    uncertainties: Bounds | None = None,
    levers: Bounds | None = None,
    outcomes: Sequence[str] = ("relapse_365d",),
    reference: str | Path | None = None,
    replicates: int = 10,
    seed: int = 20191201,
    fixed: dict[str, Any] | None = None,
    name: str = "kds_sim",
) -> Any:
    """An ema_workbench Model whose function runs the scenario at the sampled values."""
    from ema_workbench import Model, ScalarOutcome

    for outcome in outcomes:
        metrics.get(outcome)  # KeyError names the allowed metrics
        if metrics.is_contrast(outcome) and reference is None:
            raise InputError(f"outcomes: {outcome!r} needs reference= (a scenario file)")
    base = load_scenario(scenario, fixed)
    ref = load_scenario(reference, fixed) if reference is not None else None
    uncertainties = uncertainties if uncertainties is not None else numeric_factors(scenario)
    function = Evaluate(base, ref, tuple(outcomes), replicates, seed, dict(fixed or {}))
    ema_model = Model(name, function=function)
    ema_model.uncertainties = _parameters(base, uncertainties)
    ema_model.levers = _parameters(base, levers or {})
    ema_model.outcomes = [ScalarOutcome(o) for o in outcomes]
    return ema_model

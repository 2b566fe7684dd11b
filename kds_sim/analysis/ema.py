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
from pathlib import Path
from typing import Any

from kds_sim.analysis import metrics, runner
from kds_sim.analysis.sweep.analyse import StoredRun, contrast_column
from kds_sim.analysis.sweep.design import numeric_factors, with_siblings
from kds_sim.io.scenario_files import get_dotted, load_scenario

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
        if metrics.is_contrast(outcome) and (reference is None or contrast_column(outcome) is None):
            raise ValueError(f"outcome {outcome!r} needs reference= and a relapse contrast")
    base = load_scenario(scenario, fixed)
    uncertainties = uncertainties if uncertainties is not None else numeric_factors(scenario)

    def evaluate(**values: Any) -> dict[str, float]:
        changes = with_siblings(base, {**(fixed or {}), **values})
        run = runner.run(
            load_scenario(scenario, changes), replicates=replicates, seed=seed, progress=False
        )
        ref = None
        if reference is not None:
            ref = runner.run(
                load_scenario(reference, changes),
                replicates=replicates,
                seed=seed,
                progress=False,
            )
        out: dict[str, float] = {}
        for outcome in outcomes:
            definition = metrics.get(outcome)
            if isinstance(definition, metrics.Contrast):
                assert ref is not None
                column = contrast_column(outcome) or ""
                mean, _, _ = definition.compute(
                    StoredRun(run.metrics.assign(**{column: run.values(column)})),
                    StoredRun(ref.metrics.assign(**{column: ref.values(column)})),
                )
                out[outcome] = float(mean)
            else:
                out[outcome] = float(run.values(outcome).mean())
        return out

    ema_model = Model(name, function=evaluate)
    ema_model.uncertainties = _parameters(base, uncertainties)
    ema_model.levers = _parameters(base, levers or {})
    ema_model.outcomes = [ScalarOutcome(o) for o in outcomes]
    return ema_model

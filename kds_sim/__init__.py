"""kds-sim: relapse after drug rehabilitation in peer networks, and what peer support groups do.

In a notebook or a script (scenarios are files, or the names of the shipped ones:
`kds_sim.io.packaged.names()` lists them, `copy_scenarios(folder)` copies them to edit):

    import kds_sim
    result = kds_sim.run("no_group", replicates=50, seed=1)       # RunResult
    result.summary()                                              # headline metrics, 95 % CI
    comparison = kds_sim.compare(["no_group", "capacity_building"])  # common random numbers
    comparison.wide()                                             # the policy table
    kds_sim.save(comparison, "results/my_comparison")             # tables, figures, report

The public API (each is imported on first use, so `import kds_sim` stays fast):

    run, RunResult              one scenario's replicates
    compare, ComparisonResult   scenarios against a reference on common random numbers
    run_uncertainty, UncertaintyResult   strategies at shared parameter draws (priors/posterior)
    sweep, SweepResult, open_sweep       experiment designs (sweep extra); `kds_sim.ema`
    load_scenario, Scenario, ScenarioError, copy_scenarios   scenario files and the schema
    priors_of, Prior            the prior of every parameter
    METRICS                     the metric registry
    KDSModel, RecoveringPerson, UsingFriend   the Mesa model and its agents
    InterventionKind, register_intervention   new intervention kinds (docs/extending.md)
    save                        write a result's tables, figures and report

Layers, each importing only those before it:
    model     the simulation: parameter schema, rules, people, network, group, interventions,
              Mesa agents and model
    io        scenario files and the shipped data, atomic storage, figures, result display
    analysis  metric registry, statistics, runner, comparison, calibration
    report    what is written for people: run outputs, comparison report, reference docs
    cli, app  the `kds-sim` commands and the classroom app
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from kds_sim._version import __version__

_PUBLIC = {
    "KDSModel": "kds_sim.model.kds_model",
    "RecoveringPerson": "kds_sim.model.agents",
    "UsingFriend": "kds_sim.model.agents",
    "Scenario": "kds_sim.model.scenario",
    "InterventionKind": "kds_sim.model.interventions",
    "register_intervention": "kds_sim.model.interventions",
    "load_scenario": "kds_sim.io.scenario_files",
    "ScenarioError": "kds_sim.io.scenario_files",
    "run": "kds_sim.analysis.runner",
    "RunResult": "kds_sim.analysis.runner",
    "compare": "kds_sim.analysis.comparison",
    "ComparisonResult": "kds_sim.analysis.comparison",
    "METRICS": "kds_sim.analysis.metrics",
    "save": "kds_sim.report",
    "sweep": "kds_sim.analysis.sweep",
    "SweepResult": "kds_sim.analysis.sweep",
    "open_sweep": "kds_sim.analysis.sweep",
    "run_uncertainty": "kds_sim.analysis.uncertainty",
    "UncertaintyResult": "kds_sim.analysis.uncertainty",
    "priors_of": "kds_sim.model.priors",
    "Prior": "kds_sim.model.priors",
    "copy_scenarios": "kds_sim.io.packaged",
}
_MODULES = {"ema": "kds_sim.analysis.ema"}
"""Submodules offered at the top: `from kds_sim import ema; ema.model(...)`."""
_RENAMED = {"register_intervention": "register", "open_sweep": "open_store"}

__all__ = [
    "METRICS",
    "ComparisonResult",
    "InterventionKind",
    "KDSModel",
    "RecoveringPerson",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "UsingFriend",
    "__version__",
    "compare",
    "load_scenario",
    "register_intervention",
    "run",
    "save",
    "sweep",
    "SweepResult",
    "open_sweep",
    "run_uncertainty",
    "UncertaintyResult",
    "priors_of",
    "Prior",
    "ema",
    "copy_scenarios",
]


def __dir__() -> list[str]:
    """The public API (tab completion, `dir(kds_sim)`, `help(kds_sim)`), not the helpers."""
    return sorted(__all__)


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        module = import_module(_MODULES[name])
        globals()[name] = module
        return module
    if name not in _PUBLIC:
        raise AttributeError(f"module 'kds_sim' has no attribute {name!r}")
    value = getattr(import_module(_PUBLIC[name]), _RENAMED.get(name, name))
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from kds_sim.analysis import ema
    from kds_sim.analysis.comparison import ComparisonResult, compare
    from kds_sim.analysis.metrics import METRICS
    from kds_sim.analysis.runner import RunResult, run
    from kds_sim.analysis.sweep import SweepResult, sweep
    from kds_sim.analysis.sweep import open_store as open_sweep
    from kds_sim.analysis.uncertainty import UncertaintyResult, run_uncertainty
    from kds_sim.io.packaged import copy_scenarios
    from kds_sim.io.scenario_files import ScenarioError, load_scenario
    from kds_sim.model.agents import RecoveringPerson, UsingFriend
    from kds_sim.model.interventions import InterventionKind
    from kds_sim.model.interventions import register as register_intervention
    from kds_sim.model.kds_model import KDSModel
    from kds_sim.model.priors import Prior, priors_of
    from kds_sim.model.scenario import Scenario
    from kds_sim.report import save

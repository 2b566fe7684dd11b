"""kds-sim: relapse after drug rehabilitation in peer networks, and what peer support groups do.

The public API, in the order a user meets it:

    scenario = kds_sim.load_scenario("scenarios/group_as_assessed.toml")
    result = kds_sim.run(scenario, replicates=50, seed=1)
    comparison = kds_sim.compare([...], reference="no_group")
    kds_sim.save(comparison, "results/my_comparison")

Names are imported on first use, so `import kds_sim` (and `kds-sim --help`) stays fast.

Layers, each importing only those before it:
    model     the simulation: parameter schema, rules, people, network, group, interventions,
              Mesa agents and model
    io        scenario files, atomic storage, figures
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
]


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
    from kds_sim.io.scenario_files import ScenarioError, load_scenario
    from kds_sim.model.agents import RecoveringPerson, UsingFriend
    from kds_sim.model.interventions import InterventionKind
    from kds_sim.model.interventions import register as register_intervention
    from kds_sim.model.kds_model import KDSModel
    from kds_sim.model.priors import Prior, priors_of
    from kds_sim.model.scenario import Scenario
    from kds_sim.report import save

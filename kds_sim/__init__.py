"""kds-sim: relapse after drug rehabilitation in peer networks, and what peer support groups do.

The public API, in the order a user meets it:

    scenario = kds_sim.load_scenario("scenarios/group_as_assessed.toml")
    result = kds_sim.run(scenario, replicates=50, seed=1)
    comparison = kds_sim.compare([...], reference="no_group")
"""

__version__ = "0.1.0"

from kds_sim.agents import RecoveringPerson, UsingFriend  # noqa: E402
from kds_sim.comparison import ComparisonResult, compare  # noqa: E402
from kds_sim.model import KDSModel  # noqa: E402
from kds_sim.parameters import Scenario  # noqa: E402
from kds_sim.runner import RunResult, run  # noqa: E402
from kds_sim.scenario import ScenarioError, load_scenario  # noqa: E402

__all__ = [
    "ComparisonResult", "KDSModel", "RecoveringPerson", "RunResult", "Scenario",
    "ScenarioError", "UsingFriend", "__version__", "compare", "load_scenario", "run",
]

"""What pyproject.toml cannot say: the shipped data folders mapped into the package.

`scenarios/` and `experiments/designs/` stay the one editable source; the wheel installs them
as `kds_sim.scenarios` and `kds_sim.designs` (read with importlib.resources, kds_sim.io.packaged).
Every other package is found, so a new subpackage of kds_sim needs no entry here.
"""

from setuptools import find_packages, setup

DATA = {"kds_sim.scenarios": "scenarios", "kds_sim.designs": "experiments/designs"}

setup(packages=[*find_packages(include=["kds_sim", "kds_sim.*"]), *DATA], package_dir=DATA)

"""The installed package's version, from its metadata (pyproject.toml is the one source)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("kds-sim")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

RESULTS_EPOCH = 4
"""Bumped by every change marked [results] in CHANGELOG.md (1: the 0.2 model; 2: counter-based
random streams, issue 19; 3: neutral effect priors, no levers drawn, draws conditioned on the
Cochrane bound, issue 22; 4: model 0.3, issue 21). Every cache and store key holds it with the
version, so a development install never resumes from replicates an earlier engine computed under
the same version string."""

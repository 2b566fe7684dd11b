"""The installed package's version, from its metadata (pyproject.toml is the one source)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("kds-sim")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

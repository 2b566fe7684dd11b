"""kds-sim: relapse after drug rehabilitation in peer networks, and what peer support groups do."""

__version__ = "0.1.0"

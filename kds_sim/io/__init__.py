"""Input and output: scenario files (TOML, `extends`, user-actionable errors), atomic file
writes and tidy tables, and figures drawn from tables.

May import kds_sim.model only.
"""

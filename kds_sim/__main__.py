"""`python -m kds_sim`: the same as the `kds-sim` command (where scripts are not on PATH)."""

import sys

from kds_sim.cli.main import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m kds_sim"))

"""The `kds-sim` entry point: the parser of every command, and clean exits on user mistakes."""

from __future__ import annotations

import argparse
import signal
import sys

from kds_sim._version import __version__
from kds_sim.cli import analyse, calibrate, compare, params, run, scenarios, sweep

COMMANDS = (run, compare, calibrate, params, sweep, analyse, scenarios)


def _optional_commands() -> list:
    """Commands whose modules may be absent in a trimmed install (the classroom app)."""
    try:
        from kds_sim.cli import app
    except ImportError:
        return []
    return [app]


def build_parser(prog: str = "kds-sim") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Relapse after drug rehabilitation in peer networks, and what peer support "
        "groups (KDS) and their capacity building do about it.",
        epilog="Start with: kds-sim compare no_group group_as_assessed capacity_building "
        "(shipped scenarios, by name; kds-sim scenarios list shows them all)",
    )
    parser.add_argument("--version", action="version", version=f"kds-sim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (*COMMANDS, *_optional_commands()):
        command.add_command(sub)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main process so it unwinds like Ctrl-C (workers ended, work kept)."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: list[str] | None = None, prog: str = "kds-sim") -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    from kds_sim.errors import KdsSimError

    previous = signal.signal(signal.SIGTERM, _terminate)
    # Ctrl-C and `kill -INT` stop kds-sim cleanly even when it was started with SIGINT ignored
    # (a background job of a script inherits that, and Python then keeps ignoring it)
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return int(args.func(args))
    except KdsSimError as err:
        print(f"kds-sim: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        what = "terminated" if isinstance(err, Terminated) else "interrupted"
        print(
            f"kds-sim: {what}; finished replicates are kept and a rerun resumes from them",
            file=sys.stderr,
        )
        return 143 if isinstance(err, Terminated) else 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)


if __name__ == "__main__":
    sys.exit(main())

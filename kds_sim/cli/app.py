"""`kds-sim app`: the classroom app, a live model in the browser for teaching.

Solara and the model are imported inside the handler, so `kds-sim --help` stays fast and
works without the `app` extra.
"""

from __future__ import annotations

import argparse
import socket
import sys
from dataclasses import replace

DEFAULT_PORT = 8765
DEFAULT_HOST = "127.0.0.1"
PEOPLE_RANGE = (10, 400)


def add_command(sub) -> None:  # sub: argparse's subparsers object
    """Add the `app` command to the `kds-sim` parser."""
    parser = sub.add_parser(
        "app",
        help="open the classroom app: the model live in a browser (en/id)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Start the classroom app and print its address; open it in a browser and\n"
        "project it. Students watch people on a network meet high-risk situations,\n"
        "cope, lapse and relapse, and see what a peer support group (KDS) and its\n"
        "capacity building change. Every label is in English or Bahasa Indonesia\n"
        "(switch in the page, or start with --lang id).",
        epilog="examples:\n"
        "  kds-sim app                                   # group as assessed, English\n"
        "  kds-sim app --lang id --people 150\n"
        "  kds-sim app scenarios/capacity_building.toml --port 8800\n"
        "lesson plan: docs/teaching.md (Bahasa Indonesia: docs/teaching.id.md)",
    )
    parser.add_argument(
        "scenario",
        nargs="?",
        metavar="SCENARIO",
        help="scenario file the levers start from (default: scenarios/group_as_assessed.toml)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port to listen on (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}: this computer only; "
        "0.0.0.0 lets other machines on the network connect)",
    )
    parser.add_argument(
        "--lang",
        choices=("en", "id"),
        default="en",
        help="language the page starts in: en English, id Bahasa Indonesia (default en)",
    )
    parser.add_argument(
        "--people",
        type=int,
        default=120,
        metavar="N",
        help="recovering people in the class-sized cohort (default 120; "
        "80 to 150 suits a projector)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=1,
        metavar="S",
        help="seed: the same seed gives the same people, network and chances (default 1)",
    )
    parser.add_argument(
        "--days",
        type=int,
        default=730,
        metavar="DAYS",
        help="days one run lasts before it stops (default 730, two years)",
    )
    parser.add_argument(
        "--open", action="store_true", help="also open the page in this computer's web browser"
    )
    parser.set_defaults(func=run_app)


def run_app(args: argparse.Namespace) -> int:
    """Check the settings and the scenario, warn about a public host, then serve the app."""
    from kds_sim.app.server import AppConfig, has_app_packages, is_loopback, serve
    from kds_sim.messages import t

    lang = args.lang
    if not PEOPLE_RANGE[0] <= args.people <= PEOPLE_RANGE[1]:
        print(
            f"kds-sim app: error: --people {args.people}: allowed {PEOPLE_RANGE[0]} to "
            f"{PEOPLE_RANGE[1]}",
            file=sys.stderr,
        )
        return 2
    if not 0 <= args.port <= 65535:
        print(f"kds-sim app: error: --port {args.port}: allowed 0 to 65535", file=sys.stderr)
        return 2
    if args.days < 60:
        print(f"kds-sim app: error: --days {args.days}: allowed 60 or more", file=sys.stderr)
        return 2
    config = AppConfig(
        scenario=args.scenario or "", lang=lang, people=args.people, seed=args.seed, days=args.days
    )
    path = config.scenario_path()
    if path is None:
        missing = "scenarios/group_as_assessed.toml"
        print(f"kds-sim app: error: {t('cli.no_scenario', lang, path=missing)}", file=sys.stderr)
        return 2
    config = replace(config, scenario=str(path.resolve()))
    from kds_sim.app.model import scenario_for

    base = config.base_scenario()
    scenario_for(base, config.levers(base))  # a scenario the levers cannot use fails here
    if not has_app_packages():
        print(f"kds-sim app: error: {t('cli.needs_extra', lang)}", file=sys.stderr)
        return 2
    if not is_loopback(args.host):
        print(t("cli.host_warning", lang, host=args.host, port=args.port), file=sys.stderr)
    port = args.port or free_port(args.host)
    if not port_free(args.host, port):
        print(f"kds-sim app: error: {t('cli.port_busy', lang, port=port)}", file=sys.stderr)
        return 2
    print(t("cli.starting", lang, url=f"http://{args.host}:{port}"), flush=True)
    return serve(config, host=args.host, port=port, open_browser=args.open)


def port_free(host: str, port: int) -> bool:
    """Whether the app could listen on host:port now (another program may hold it)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str) -> int:
    """A port nobody listens on now (for --port 0)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])

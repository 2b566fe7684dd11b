"""`kds-sim app`: the classroom app, a live model in the browser for teaching.

Solara and the model are imported inside the handler, so `kds-sim --help` stays fast and
works without the `app` extra.
"""

from __future__ import annotations

import argparse
import errno
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
        help=f"address to listen on (default {DEFAULT_HOST}: this computer only; ::1 the "
        "same over IPv6; 0.0.0.0 lets other machines on the network connect)",
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
        default=150,
        metavar="N",
        help="recovering people in the class-sized cohort (default 150, as the lesson "
        "presets use; 80 to 150 suits a projector)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=1,
        metavar="S",
        help="seed (0 or more): the same seed gives the same people, network and chances "
        "(default 1)",
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
    """Check every setting, the scenario and the address, then serve the app.

    Everything the page would fail on is checked here, before serving, so a mistake is one
    line on the terminal and never a traceback in the browser.
    """
    from kds_sim.app.server import AppConfig, has_app_packages, is_loopback, offline_note, serve
    from kds_sim.messages import t

    lang = args.lang

    def refuse(message: str) -> int:
        print(f"kds-sim app: error: {message}", file=sys.stderr)
        return 2

    if not PEOPLE_RANGE[0] <= args.people <= PEOPLE_RANGE[1]:
        return refuse(f"--people {args.people}: allowed {PEOPLE_RANGE[0]} to {PEOPLE_RANGE[1]}")
    if not 0 <= args.port <= 65535:
        return refuse(f"--port {args.port}: allowed 0 to 65535")
    if args.days < 60:
        return refuse(f"--days {args.days}: allowed 60 or more")
    if args.seed < 0:
        return refuse(t("cli.bad_seed", lang, seed=args.seed))
    config = AppConfig(
        scenario=args.scenario or "",
        lang=lang,
        people=args.people,
        seed=args.seed,
        days=args.days,
        stop=min(365, args.days),
    )
    path = config.scenario_path()
    if path is None:
        missing = "scenarios/group_as_assessed.toml"
        return refuse(t("cli.no_scenario", lang, path=missing))
    config = replace(config, scenario=str(path.resolve()))
    from kds_sim.app.model import check_classroom

    check_classroom(config.base_scenario(), config.levers(config.base_scenario()), str(path))
    family, problem = address_family(args.host)
    if problem:
        return refuse(t("cli.invalid_host", lang, host=args.host, reason=problem))
    port = args.port or free_port(args.host, family)
    busy, problem = bind_problem(args.host, port, family)
    if problem:
        return refuse(t("cli.invalid_host", lang, host=args.host, reason=problem))
    if busy:
        return refuse(t("cli.port_busy", lang, port=port))
    if not has_app_packages():  # after the arguments: a mistake in them needs no extras to show
        return refuse(t("cli.needs_extra", lang))
    if not is_loopback(args.host):
        print(t("cli.host_warning", lang, host=args.host, port=port), file=sys.stderr)
    if note := offline_note():
        print(note, file=sys.stderr)
    shown = f"[{args.host}]" if family == socket.AF_INET6 else args.host
    print(t("cli.starting", lang, url=f"http://{shown}:{port}"), flush=True)
    return serve(config, host=args.host, port=port, open_browser=args.open)


def address_family(host: str) -> tuple[int, str]:
    """The socket family of `host` (IPv4 or IPv6), or a reason it is not an address."""
    try:
        info = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as err:
        return socket.AF_INET, str(getattr(err, "strerror", None) or err)
    return int(info[0][0]), ""


def bind_problem(host: str, port: int, family: int) -> tuple[bool, str]:
    """(port in use, other reason it cannot listen) for host:port now."""
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                return True, ""
            return False, err.strerror or str(err)
    return False, ""


def port_free(host: str, port: int) -> bool:
    """Whether the app could listen on host:port now (another program may hold it)."""
    family, problem = address_family(host)
    return not problem and bind_problem(host, port, family) == (False, "")


def free_port(host: str, family: int = socket.AF_INET) -> int:
    """A port nobody listens on now (for --port 0)."""
    with socket.socket(family) as probe:
        try:
            probe.bind((host, 0))
        except OSError:
            return 0  # bind_problem then names the reason
        return int(probe.getsockname()[1])

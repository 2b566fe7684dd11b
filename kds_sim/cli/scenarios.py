"""`kds-sim scenarios`: list the shipped scenarios, designs and targets, or copy them to edit."""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path
from typing import Any

from kds_sim.cli.common import UserError

WIDTH = 100


def _describe(path: Path) -> str:
    """A file's `description`, else its first comment line, cut to fit a terminal line."""
    text = path.read_text(encoding="utf-8")
    try:
        described = tomllib.loads(text).get("description")
    except tomllib.TOMLDecodeError:
        described = None
    if not isinstance(described, str):
        first = next((ln for ln in text.splitlines() if ln.startswith("#")), "")
        described = first.lstrip("# ").split(": ", 1)[-1]
    return described


def listing() -> str:
    """Every shipped name with one line about it, grouped by kind."""
    from kds_sim.io import packaged

    lines = []
    for kind, title, use in (
        ("scenario", "scenarios", "kds-sim run NAME, kds-sim compare NAME NAME ..."),
        ("design", "experiment designs", "kds-sim sweep NAME"),
        ("targets", "calibration targets", "kds-sim calibrate --targets NAME"),
    ):
        names = packaged.names(kind)
        lines.append(f"{title} ({use}):")
        width = max(len(n) for n in names)
        for name in names:
            about = _describe(packaged.resolve(name, kind))
            line = f"  {name:<{width}}  {about}"
            lines.append(line if len(line) <= WIDTH else line[: WIDTH - 3] + "...")
        lines.append("")
    lines.append(f"shipped in {packaged.folder('scenario')}; to edit: kds-sim scenarios copy DIR")
    return "\n".join(lines) + "\n"


def handle(args: argparse.Namespace) -> int:
    from kds_sim.io import packaged

    if args.action == "copy":
        if not args.dir:
            raise UserError("scenarios copy: give the folder to copy into, e.g. my_scenarios")
        written = packaged.copy_scenarios(args.dir)
        print(f"copied {len(written)} files to {args.dir}/; edit them and run them by path")
        print(f"(kds-sim run {args.dir}/no_group.toml), or by name from inside {args.dir}/")
    else:
        print(listing(), end="")
    return 0


def add_command(sub: Any) -> None:
    parser = sub.add_parser(
        "scenarios",
        help="list the shipped scenarios, experiment designs and targets, or copy them to edit",
        description="The scenarios shipped with kds-sim run by name from any folder "
        "(kds-sim run no_group). `list` shows them; `copy DIR` copies every scenario, the "
        "calibrated overlay, its posterior and the targets into DIR to edit (never "
        "overwriting); a file of the same name in the working folder wins over a shipped one.",
        epilog="Examples: kds-sim scenarios list; kds-sim scenarios copy my_scenarios",
    )
    parser.add_argument("action", choices=("list", "copy"), help="list, or copy to DIR")
    parser.add_argument("dir", nargs="?", metavar="DIR", help="folder to copy into (copy)")
    parser.set_defaults(func=handle)

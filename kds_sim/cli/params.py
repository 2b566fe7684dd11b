"""`kds-sim params`: the parameters (all, or those matching a pattern) as a terminal table,
Markdown or JSON; the metric table; a scenario template; one scenario's priors."""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
import textwrap
from typing import Any

from kds_sim.cli.common import UserError

WIDTH = 100
COLUMNS = ("key", "default", "unit", "meaning")
"""The terminal table's columns; source and prior are in Markdown and JSON (full rows)."""


def parameter_rows(pattern: str | None = None) -> list[dict[str, str]]:
    """Every parameter (key, default, unit, meaning, source, prior, prior_reason) whose key
    matches `pattern`: a glob (`group.*`) or, without wildcards, a part of the key."""
    from kds_sim.model.priors import priors_of
    from kds_sim.model.scenario import Scenario
    from kds_sim.report.reference import entries

    priors = priors_of(Scenario())
    rows = []
    for key, value, extra, doc in entries(Scenario()):
        if pattern and not _matches(key, pattern):
            continue
        parts = {k: p for k, p in priors.items() if k == key or k.startswith(key + ".")}
        prior = "; ".join(
            p.describe() if k == key else f"{k[len(key) + 1 :]}: {p.describe()}"
            for k, p in parts.items()
        )
        reason = " / ".join(dict.fromkeys(p.reason for p in parts.values()))
        rows.append(
            {
                "key": key,
                "default": _shown(value),
                "unit": str(extra.get("unit", "")),
                "meaning": doc,
                "source": str(extra.get("source", "")),
                "prior": prior,
                "prior_reason": reason,
            }
        )
    return rows


def _shown(value: object) -> str:
    """A default as text: a distribution by its mean and sd, a table as JSON."""
    if hasattr(value, "mean") and hasattr(value, "sd"):
        return f"mean {value.mean}, sd {value.sd}"
    if isinstance(value, dict):
        return json.dumps(value)
    return repr(value) if isinstance(value, str) else str(value)


def _matches(key: str, pattern: str) -> bool:
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatchcase(key.lower(), pattern.lower())
    return pattern.lower() in key.lower()


def terminal_table(rows: list[dict[str, str]], width: int = WIDTH) -> str:
    """Key, default, unit and meaning in columns that fit `width`, long cells wrapped."""
    key_w, default_w, unit_w = (
        max(len(name), min(max(len(r[name]) for r in rows), most))
        for name, most in (("key", 44), ("default", 14), ("unit", 14))
    )
    widths = [key_w, default_w, unit_w, width - key_w - default_w - unit_w - 6]
    lines = [_line(COLUMNS, widths), _line(["-" * w for w in widths], widths)]
    for row in rows:
        cells = [textwrap.wrap(row[c], w) or [""] for c, w in zip(COLUMNS, widths, strict=True)]
        for i in range(max(len(c) for c in cells)):
            lines.append(_line([c[i] if i < len(c) else "" for c in cells], widths))
    return "\n".join(lines) + "\n"


def _line(cells: Any, widths: list[int]) -> str:
    return "  ".join(f"{c:<{w}}" for c, w in zip(cells, widths, strict=True)).rstrip()


def markdown_table(rows: list[dict[str, str]]) -> str:
    names = list(rows[0])
    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    for row in rows:
        cells = [f"`{row['key']}`", *(row[n].replace("|", "\\|") for n in names[1:])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def handle(args: argparse.Namespace) -> int:
    from kds_sim.report import reference

    fmt = args.format or ("markdown" if args.out else "table")
    if args.metrics:
        text = reference.metric_table()
    elif args.priors:
        from kds_sim.io.scenario_files import load_scenario

        text = reference.prior_table(load_scenario(args.priors), args.priors)
    elif fmt == "toml":
        text = reference.scenario_template()
    elif fmt == "markdown" and not args.pattern:
        text = reference.parameter_table()  # docs/parameters.md
    else:
        rows = parameter_rows(args.pattern)
        if not rows:
            raise UserError(
                f"no parameter key matches {args.pattern!r}; try a part of a key "
                "(coverage) or a glob (group.*)"
            )
        if fmt == "json":
            text = json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
        elif fmt == "markdown":
            text = markdown_table(rows)
        else:
            text = terminal_table(rows)
            if not args.out and sys.stdout.isatty():
                text += f"{len(rows)} parameters; sources and priors: --format markdown or json\n"
    if args.out:
        from kds_sim.io.storage import write_text

        write_text(args.out, text)
    else:
        sys.stdout.write(text)
    return 0


def add_command(sub: Any) -> None:
    parser = sub.add_parser(
        "params",
        help="the parameters (filter with a pattern), the metrics, or a scenario template",
        description="Every parameter, or those whose key matches PATTERN, with its default, "
        "unit and meaning (a table for the terminal), plus source and prior (--format "
        "markdown or json); the priors of one scenario (--priors); every parameter as a "
        "scenario template (--format toml); or every metric (--metrics).",
        epilog="Examples: kds-sim params coverage; kds-sim params 'group.*' --format json; "
        "kds-sim params --out docs/parameters.md (the full Markdown reference)",
    )
    parser.add_argument(
        "pattern", nargs="?", metavar="PATTERN", help="part of a key, or a glob (group.*)"
    )
    parser.add_argument(
        "--format",
        choices=("table", "markdown", "json", "toml"),
        help="table (default on the terminal), markdown (default with --out), json, or toml "
        "(a scenario template of every parameter)",
    )
    parser.add_argument(
        "--metrics", action="store_true", help="the metric registry instead of the parameters"
    )
    parser.add_argument(
        "--priors",
        metavar="SCENARIO",
        help="every numeric parameter of SCENARIO with its value and prior there",
    )
    parser.add_argument("--out", metavar="FILE", help="write to FILE instead of the terminal")
    parser.set_defaults(func=handle)

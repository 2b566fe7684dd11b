"""The classroom page, built with Solara (mesa[viz]'s front end) on the ClassroomModel.

Made for a projector in a lecture hall: the whole page is one screen that never scrolls (at
1366x768 and up). A top bar holds the run controls, the stop day, the lesson Info, the
presentation switch and the language; under it four big numbers (the day, never relapsed
with and without the group, relapses averted so far); then the network, the three plots and
the person being followed in a grid that fills the rest. The levers, presets, speed and the
technical details (seed, scenario) sit in a left column that presentation mode hides. Text is
at least 18 px; plots and the network are drawn in screen pixels, so that stays true at any
window size. Every text comes from the message catalogue in the page's current language.

Why not Mesa's ready-made `SolaraViz` page: its controls and captions are fixed English
strings, a changed parameter only takes effect on the next Reset, and its layout scrolls. A
class needs both languages and a lever that restarts the run at once with the same seed, so
the page has its own small controller with the same design as Mesa's (a threaded play loop
that steps the Mesa model and bumps a redraw counter).

The `*_props` functions compute what each component shows; they are plain functions so the
benchmark and tests can time and check them without a browser.
"""

from __future__ import annotations

import html
import json
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from typing import Any

import numpy as np
import solara

from kds_sim.app import lessons, story
from kds_sim.app.colours import (
    DOMAIN_COLORS,
    SHAPE_LETTERS,
    STATE_COLORS,
    STATE_SHAPES,
    TRACE_COLORS,
    WITH_GROUP,
    WITHOUT_GROUP,
)
from kds_sim.app.model import STATE_NAMES, TRACED, ClassroomModel, Levers
from kds_sim.app.server import STOPPING, AppConfig
from kds_sim.messages import LANGS, number, t
from kds_sim.model.rules import ABSENT, IN_TREATMENT, INCARCERATED, LAPSED

STATES = STATE_NAMES
"""Status names by code (kds_sim.model.rules.STATES); the network's arrays are indexed so."""
STATE_DASH = {IN_TREATMENT: [9, 6], INCARCERATED: [2, 5], ABSENT: [9, 6]}
"""The states chart's dashed lines: a cue besides colour for the two stays and the absent."""
GOOD_LINE = 2.75
TAIL_DAYS = 8
"""Days of points in a chart's daily update: the browser appends those it lacks, so an
update it merges with the next one (Vue batches watchers) loses nothing."""
SPEEDS = (1, 30)
STOP_DAYS = (30, 90, 180, 365, 730)

CSS = """
.kds-app { position: fixed; inset: 0; display: grid; grid-template-rows: auto minmax(0, 1fr);
  font-size: 18px; background: #ffffff; color: #212121; }
.kds-app .v-btn { font-size: 18px !important; text-transform: none !important;
  letter-spacing: normal !important; }
.kds-app .v-label, .kds-app .v-select__selection, .kds-app .v-list-item__title,
.kds-app .v-input, .kds-app .v-messages,
.kds-app .v-expansion-panel-header { font-size: 18px !important; }
.kds-top { display: flex; align-items: center; gap: 8px; padding: 6px 12px; background: #263238;
  color: #ffffff; flex-wrap: nowrap; min-width: 0; }
.kds-top .kds-title { font-size: 20px; font-weight: 600; white-space: nowrap; margin-right: 8px; }
.kds-top .kds-spacer { flex: 1 1 auto; }
.kds-top .kds-stop { width: 5.5em; flex: 0 0 auto; margin-top: -4px; }
.kds-stop-label { white-space: nowrap; margin-left: 6px; }
.kds-top .kds-stop .v-select__selection, .kds-top .kds-stop .v-label { color: #ffffff !important; }
.kds-langs { display: flex; border: 2px solid #ffffff; border-radius: 6px; overflow: hidden; }
.kds-langs .v-btn { border-radius: 0 !important; min-width: 0 !important; }
.kds-lang-on { background: #ffffff !important; color: #263238 !important; font-weight: 700; }
.kds-lang-off { background: transparent !important; color: #ffffff !important; }
.kds-body { display: grid; grid-template-columns: 330px minmax(0, 1fr); min-height: 0; }
.kds-presenting .kds-body { grid-template-columns: minmax(0, 1fr); }
.kds-controls { overflow-y: auto; padding: 8px 12px; border-right: 1px solid #e0e0e0; }
.kds-controls .kds-section { font-weight: 600; font-size: 19px; margin: 10px 0 2px 0; }
.kds-small { font-size: 18px; color: #424242; line-height: 1.3; }
.kds-main { display: grid; grid-template-rows: auto minmax(0, 1fr) minmax(0, 1fr);
  grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 8px; padding: 8px; min-height: 0; }
.kds-monitors { grid-column: 1 / 4; display: grid; grid-template-columns: 0.8fr 1fr 1fr 1fr;
  gap: 8px; }
.kds-monitor { border: 2px solid #cfd8dc; border-radius: 8px; padding: 2px 12px;
  line-height: 1.15; }
.kds-monitor .kds-value { font-size: 38px; font-weight: 700; }
.kds-presenting .kds-monitor .kds-value { font-size: 46px; }
.kds-monitor .kds-label { font-size: 18px; color: #424242; }
.kds-panel { min-height: 0; min-width: 0; border: 1px solid #e0e0e0; border-radius: 6px;
  padding: 4px 8px; display: flex; flex-direction: column; overflow: hidden; }
.kds-panel > * { flex: 1 1 auto; min-height: 0; }
.kds-panel > .kds-panel-head { flex: 0 0 auto; }
.kds-network-card { grid-column: 1 / 3; grid-row: 2; }
.kds-plot-never { grid-column: 3; grid-row: 2; }
.kds-plot-states { grid-column: 1; grid-row: 3; }
.kds-plot-capacity { grid-column: 2; grid-row: 3; }
.kds-person-card { grid-column: 3; grid-row: 3; overflow-y: auto; }
.kds-overlay { position: fixed; top: 60px; right: 0; bottom: 0; width: min(860px, 70vw);
  background: #ffffff; box-shadow: -4px 0 16px rgba(0, 0, 0, 0.3); z-index: 20;
  overflow-y: auto; padding: 12px 24px; font-size: 19px; line-height: 1.45; }
.kds-overlay h1 { font-size: 28px; } .kds-overlay h2 { font-size: 23px; margin-top: 14px; }
.kds-overlay li, .kds-overlay p { font-size: 19px; }
"""


@solara.component_vue("network.vue", vuetify=False)
def NetworkView(
    graph: str,
    today: str,
    labels: dict,
    event_select: Callable[[int], None],
    update: str = "",
    event_drawn: Callable[[list[int]], None] | None = None,
) -> None:
    """Canvas network: people shaped and coloured by state, using friends as diamonds.

    `graph` (positions and ties, sent once per run) and `today` (every state, sent when the
    page renders) are JSON text: Solara walks list props element by element on every render,
    text it does not. (`layout` would clash with the widget's own `layout` attribute.) A new
    day is one message, `update` (day_update): this view applies its part and hands the
    charts and HTML boxes theirs in the same animation frame, then answers `drawn` with
    [run, day], which paces the play loop.
    """


@solara.component_vue("html_box.vue", vuetify=False)
def HtmlBox(html: str, css_class: str, name: str = "") -> None:
    """A div of HTML (the big numbers, the person): `html` as rendered; a new day's HTML
    comes in the network view's day message, under `name`. (Not set into `html`: Solara sets
    every value it rendered again whenever any part of the page renders, so a day set there
    would be overwritten by an older one.)"""


@solara.component_vue("chart.vue", vuetify=False)
def LineChart(spec: str, name: str = "", event_resync: Callable[[Any], None] | None = None) -> None:
    """Line chart over days (axes in SVG, lines on a canvas), drawn in the browser from
    `spec` (JSON of *_props).

    A new day's points (chart_tail: the last few days) come in the network view's day
    message, under `name`; should the chart ever miss more days than a tail holds, it asks
    to `resync`.
    """


# -- what each component shows ----------------------------------------------------------------
def network_static(model: ClassroomModel) -> dict[str, Any]:
    """Positions (unit square) and ties: the parts of the picture that do not change."""
    layout = model.layout
    using = layout.using_edges
    tied = np.flatnonzero(np.bincount(using[:, 1], minlength=len(layout.friends)) > 0)
    renumber = np.full(len(layout.friends), -1)
    renumber[tied] = np.arange(len(tied))  # friends nobody here knows play no part
    return {
        "people": np.round(layout.people, 4).tolist(),
        "friends": np.round(layout.friends[tied], 4).tolist(),
        "peer": layout.peer_edges.tolist(),
        "using": np.column_stack([using[:, 0], renumber[using[:, 1]]]).tolist(),
    }


def network_dynamic(model: ClassroomModel, person: int) -> dict[str, Any]:
    """Everyone's state today, halos as a 0/1 flag per person and the followed person: sent
    when the page renders (a new run, language or person)."""
    return network_changes(model) | {
        "hrs": model.events["exposed"].astype(int).tolist(),
        "selected": person,
    }


def network_changes(model: ClassroomModel) -> dict[str, Any]:
    """What the network picture shows on a new day: everyone's state and membership (150
    numbers each), and who is at high risk today (the halos), usually a short list.

    Whole arrays, not changes: the browser redraws only the people whose values differ from
    what it has drawn, so a day it never received cannot leave the picture wrong.
    """
    p = model.people
    return {
        "run": model.run_number,
        "day": model.day,
        "status": p.status.tolist(),
        "member": p.member.astype(int).tolist(),
        "hrs": np.flatnonzero(model.events["exposed"]).tolist(),
    }


def network_labels(lang: str) -> dict[str, Any]:
    """Colours and tooltip texts of the network picture."""
    return {
        "colors": list(STATE_COLORS),
        "shapes": list(STATE_SHAPES),
        "letters": [SHAPE_LETTERS[shape] for shape in STATE_SHAPES],
        "person": t("network.person", lang),
        "person_member": t("network.person_member", lang),
        "friends": t("network.friends", lang),
        "title": t("network.title", lang),
        "states": [t(f"state.{s}", lang) for s in STATES],
    }


def _points(values: Sequence[float], start: int, digits: int = 4) -> list[float | None]:
    """Days `start` to today, rounded (what the browser draws); a gap (nan) is None."""
    return [None if v is None or math.isnan(v) else round(v, digits) for v in values[start:]]


def _axis(model: ClassroomModel, stop: int | None = None, start: int = 0) -> dict[str, Any]:
    horizon = model.horizon
    step = next(s for s in (30, 60, 90, 180, 365, 730) if horizon / s <= 5)
    return {
        "run": model.run_number,
        "day": model.day,
        "start": start,
        "x_max": horizon,
        "x_ticks": list(range(0, horizon + 1, step)),
        "stop": stop,
        "band": None,
        "hline": None,
        "hline_label": "",
        "note": "",
    }


def never_floor(values: list[float]) -> int:
    """The never-relapsed axis starts at the 10 below the lowest value (a gap must be seen)."""
    low = min(values) if values else 100.0
    return int(max(0, min(80, 10 * math.floor((low - 5) / 10))))


def never_relapsed_props(
    model: ClassroomModel, lang: str, stop: int | None = None, start: int = 0
) -> dict[str, Any]:
    """Share never relapsed, with the group and in the same-seed no-group baseline.

    The no-group line is dashed and drawn last, on top, and the gap between the two is shaded:
    a gap of two points must stay visible from the back of the room.
    """
    axis = _axis(model, stop, start)
    with_group = [100 * v for v in model.never_relapsed()]
    without = [100 * v for v in model.never_relapsed(baseline=True)]
    floor = never_floor(with_group + without)
    span = 100 - floor
    tick = 10 if span <= 50 else 20
    series = [
        {
            "label": t("charts.with_group", lang),
            "color": WITH_GROUP,
            "width": 4,
            "values": _points(with_group, start, 2),
        },
        {
            "label": t("charts.without_group", lang),
            "color": WITHOUT_GROUP,
            "dash": True,
            "width": 3,
            "values": _points(without, start, 2),
        },
    ]
    return {
        **axis,
        "title": t("charts.never_title", lang),
        "series": series if model.levers.group else series[:1],
        "band": {"upper": 0, "lower": 1, "color": WITH_GROUP} if model.levers.group else None,
        "y_min": floor,
        "y_max": 100,
        "y_ticks": [[v, str(v)] for v in range(floor, 101, tick)],
        "x_label": t("charts.days", lang),
        "note": "" if model.levers.group else t("charts.same_run", lang),
    }


def states_props(
    model: ClassroomModel, lang: str, stop: int | None = None, start: int = 0
) -> dict[str, Any]:
    """How many people are in each state the run can reach, day by day: abstinent, lapsed,
    relapsed, and with model 0.3 in treatment and incarcerated (dashed and dotted), and
    people no longer here (died or moved away, dashed grey)."""
    axis, n = _axis(model, stop, start), model.people.size
    top = int(math.ceil(n / 20) * 20)
    return {
        **axis,
        "title": t("charts.states_title", lang),
        "series": [
            {
                "label": t(f"state.{STATES[code]}", lang),
                "color": STATE_COLORS[code],
                "outline": code == LAPSED,  # light yellow: edged, to be seen on white
                "dash": STATE_DASH.get(code, False),
                "values": _points(model.state_counts(code), start, 0),
            }
            for code in model.states
        ],
        "y_min": 0,
        "y_max": top,
        "y_ticks": [[v, str(v)] for v in range(0, top + 1, top // 4)],
        "x_label": t("charts.days", lang),
    }


def capacity_props(
    model: ClassroomModel, lang: str, stop: int | None = None, start: int = 0
) -> dict[str, Any]:
    """The group's seven PEKA domain scores, day by day, against the 2.75 'good' line."""
    axis = _axis(model, stop, start)
    series: list[dict[str, Any]] = []
    note = t("charts.no_group", lang)
    if model.levers.group:
        series = [
            {
                "label": t(f"domain.{d}", lang),
                "color": c,
                "width": 1.5,
                "legend": False,
                "values": _points(model.series(f"capacity_{d}"), start, 3),
            }
            for d, c in zip(model.domains, DOMAIN_COLORS, strict=True)
        ]
        series.append(
            {
                "label": t("charts.capacity_mean_line", lang),
                "color": "#000000",
                "width": 5,
                "values": _points(model.series("capacity_mean"), start, 3),
            }
        )
        active = model.series("group_active")
        note = t(
            "charts.capacity_mean", lang, mean=number(float(np.mean(model.group.capacity)), lang, 2)
        )
        if not active[-1]:
            note += " " + t("charts.stopped", lang, day=active.index(False))
    return {
        **axis,
        "title": t("charts.capacity_title", lang),
        "series": series,
        "y_min": 1,
        "y_max": 4,
        "y_ticks": [[v, number(v, lang)] for v in (1.0, 2.0, 3.0, 4.0)],
        "x_label": t("charts.days", lang),
        "hline": GOOD_LINE,
        "hline_label": number(GOOD_LINE, lang, 2),
        "note": note,
    }


CHARTS: dict[str, Callable[..., dict[str, Any]]] = {
    "never": never_relapsed_props,
    "states": states_props,
    "capacity": capacity_props,
}


def chart_tail(props: dict[str, Any]) -> dict[str, Any]:
    """A chart's daily update: the last days' points and what moves with them (the never-
    relapsed axis floor, the capacity note); titles, colours and labels stay as rendered."""
    return {
        "run": props["run"],
        "day": props["day"],
        "start": props["start"],
        "values": [s["values"] for s in props["series"]],
        "y_min": props["y_min"],
        "y_ticks": props["y_ticks"],
        "note": props["note"],
    }


def chart_tails(model: ClassroomModel, lang: str, stop: int) -> dict[str, dict[str, Any]]:
    """Every chart's daily update: the last TAIL_DAYS days."""
    start = max(0, model.day + 1 - TAIL_DAYS)
    return {name: chart_tail(props(model, lang, stop, start)) for name, props in CHARTS.items()}


def day_update(
    model: ClassroomModel,
    lang: str,
    stop: int,
    person: int,
) -> dict[str, Any]:
    """A new day in one message: everyone's state (the browser redraws who changed), every
    chart's last points, the big numbers' and the person's HTML."""
    return {
        "run": model.run_number,
        "day": model.day,
        "network": network_changes(model),
        "charts": chart_tails(model, lang, stop),
        "html": {
            "monitors": monitors_html(model, lang, stop),
            "person": person_html(model, person, lang),
        },
    }


def monitors(model: ClassroomModel, lang: str, stop: int) -> list[tuple[str, str, str]]:
    """The big numbers: (css name, value, label) for the day, the two lines and the gap."""
    size = model.people.size
    with_group = 100 * model.never_relapsed()[-1]
    without = 100 * model.never_relapsed(baseline=True)[-1]
    averted = round((with_group - without) * size / 100)  # both start at 100 %
    on = model.levers.group
    return [
        ("day", str(model.day), t("monitor.day", lang) + " " + t("monitor.of", lang, days=stop)),
        ("never-with", f"{number(with_group, lang)} %", t("monitor.never_with", lang)),
        (
            "never-without",
            f"{number(without, lang)} %",
            t("monitor.never_without", lang),
        ),
        (
            "averted",
            f"{averted:+d}" if on and averted else str(averted),
            t("monitor.averted", lang) if on else t("monitor.group_off", lang),
        ),
    ]


def monitors_html(model: ClassroomModel, lang: str, stop: int) -> str:
    """The big numbers as one block of HTML: one widget to update a day, not twelve."""
    return "".join(
        f'<div class="kds-monitor kds-monitor-{name}"><div class="kds-value'
        f'{" kds-day" if name == "day" else ""}">{html.escape(value)}</div>'
        f'<div class="kds-label">{html.escape(text)}</div></div>'
        for name, value, text in monitors(model, lang, stop)
    )


def person_html(model: ClassroomModel, person: int, lang: str) -> str:
    """Heading, attribute bars and the person's story, as one block of HTML."""
    p = model.people
    state = t(f"state.{STATES[int(p.status[person])]}", lang)
    facts = [
        t("person.member_yes" if p.member[person] else "person.member_no", lang),
        t("person.ties", lang, count=int(model.using_ties[person])),
        t("person.counts", lang, lapses=int(p.lapses[person]), relapses=int(p.relapses[person])),
    ]
    rows = []
    for name, color in zip(TRACED, TRACE_COLORS, strict=True):
        value = float(getattr(p, name)[person])
        label = html.escape(t(f"person.{name}", lang))
        rows.append(
            f'<div class="kds-attr kds-attr-{name}" style="display:flex;align-items:center;'
            f'gap:8px;margin:1px 0"><span style="width:52%;line-height:1.15">{label}'
            f'</span><span style="flex:1;background:#eeeeee;height:14px;border-radius:3px">'
            f'<span style="display:block;width:{100 * value:.0f}%;height:14px;background:{color};'
            f'border-radius:3px"></span></span><span style="width:2.6em;text-align:right">'
            f"{number(value, lang, 2)}</span></div>"
        )
    lines = story.render_story(model.stories[person], lang)
    story_html = "".join(f'<div class="kds-story-line">{html.escape(line)}</div>' for line in lines)
    heading = t("person.heading", lang, number=person + 1, state=state)
    return (
        f'<div class="kds-person-heading" style="font-size:20px;font-weight:600">'
        f"{html.escape(heading)}</div>"
        f'<div style="margin-bottom:4px;line-height:1.25">{html.escape("; ".join(facts))}</div>'
        f"{''.join(rows)}"
        f'<div style="font-weight:600;margin-top:4px">{html.escape(t("person.story", lang))}'
        f'</div><div class="kds-story" style="line-height:1.3">{story_html}</div>'
    )


def default_person(model: ClassroomModel) -> int:
    """Someone worth following at the start: the person with the most using friends."""
    return int(np.argmax(model.using_ties))


def classes_svg(values: np.ndarray, this: int, label: str, lang: str) -> str:
    """A dot plot of one measure in CLASSES classes (seed k is dot k), this class ringed."""
    keys = [round(float(v), 1) for v in values]
    tallest = max(keys.count(k) for k in keys)
    width, left, right, gap = 820, 30, 30, 22
    base = 24 + gap * tallest  # the axis, below the tallest stack of dots
    height = base + 64
    low, high = float(np.floor(values.min())) - 1, float(np.ceil(values.max())) + 1

    def x(v: float) -> float:
        return left + (width - left - right) * (v - low) / (high - low)

    stacks: dict[float, int] = {}
    dots = []
    for seed, (value, key) in enumerate(zip(values.tolist(), keys, strict=True), start=1):
        level = stacks.get(key, 0)
        stacks[key] = level + 1
        ring = ' stroke="#000000" stroke-width="4"' if seed == this else ""
        dots.append(
            f'<circle class="kds-class-dot" data-seed="{seed}" cx="{x(value):.1f}" '
            f'cy="{base - 16 - gap * level}" r="10" fill="{WITH_GROUP}"{ring}>'
            f"<title>seed {seed}: {number(value, lang)}</title></circle>"
        )
    mean = float(values.mean())
    step = max(1, int(np.ceil((high - low) / 8)))
    ticks = np.arange(low, high + 0.5, step)
    axis = "".join(
        f'<line x1="{x(v):.1f}" x2="{x(v):.1f}" y1="{base}" y2="{base + 6}" stroke="#555"/>'
        f'<text x="{x(v):.1f}" y="{base + 26}" font-size="18" text-anchor="middle">'
        f"{number(float(v), lang, 0)}</text>"
        for v in ticks
    )
    return (
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'style="max-width:100%">'
        f'<line x1="{left}" x2="{width - right}" y1="{base}" y2="{base}" stroke="#555"/>{axis}'
        f'<line x1="{x(mean):.1f}" x2="{x(mean):.1f}" y1="4" y2="{base}" stroke="#000" '
        'stroke-width="2" stroke-dasharray="8 5"/>'
        f"{''.join(dots)}"
        f'<text x="{width / 2}" y="{base + 56}" font-size="18" text-anchor="middle">'
        f"{html.escape(label)}</text></svg>"
    )


def info_markdown(lang: str) -> str:
    """The lesson inside the app: what it is, how to use it, what to notice and to try."""
    return resources.files("kds_sim.app").joinpath(f"info.{lang}.md").read_text("utf-8")


# -- the page ---------------------------------------------------------------------------------
class Screen:
    """The widget a new day updates, and what its browser view was last sent.

    A new day is shown by setting one widget value directly (show_day), not by rendering the
    page: Solara's renderer (reacton) walks and updates every widget of the page on any
    render, which cost 20-30 ms a day at 150 people, more than the day's model step. The day
    is one message to the network view (day_update: everyone's state, of which it redraws
    whoever changed, the charts' last points, the big numbers and the person), which hands the
    other views their parts in the browser. It answers each day with `drawn`, so the play loop
    never runs more than a day ahead of what the class sees.
    """

    def __init__(self) -> None:
        self.widgets: dict[str, Any] = {}
        self.run = 0
        self.drawn = threading.Condition()
        self.drawn_day = (0, -1)  # (run, day) the browser last said it has drawn

    def sent(self, model: ClassroomModel) -> None:
        """Remember which run the browser's page shows (days of another run are not sent)."""
        self.run = model.run_number

    def show_day(self, model: ClassroomModel, lang: str, stop: int, person: int) -> bool:
        """Send the day's changes; False when the page must render instead (not drawn yet)."""
        w = self.widgets
        if self.run != model.run_number or "network" not in w:
            return False
        update = day_update(model, lang, stop, person)
        self.sent(model)
        w["network"].update = json.dumps(update)  # one message a day
        return True

    def on_drawn(self, data: list[int]) -> None:
        with self.drawn:
            self.drawn_day = (int(data[0]), int(data[1]))
            self.drawn.notify_all()

    def wait_drawn(self, run: int, day: int, timeout: float) -> bool:
        """Wait until the browser has drawn `day` of `run` (False after `timeout` seconds)."""
        with self.drawn:
            return self.drawn.wait_for(
                lambda: self.drawn_day[0] == run and self.drawn_day[1] >= day, timeout
            )


@contextmanager
def lever_box(name: str, help_text: str, label: str = "") -> Iterator[None]:
    """A lever with its tooltip and label; the CSS class lets the browser test find it."""
    with solara.Tooltip(help_text), solara.Column(classes=[f"kds-lever-{name}"], gap="0px"):
        if label:
            solara.Text(label, classes=["kds-lever-label"], style={"font-size": "18px"})
        yield


@solara.component
def App(config: AppConfig) -> None:
    """The classroom page for one browser tab (each tab has its own model): state, controls.

    A new day is not a render: Screen.show_day updates the day's widgets directly. The
    page renders for a new run, a lever, the end of a run or another language.
    """
    base = solara.use_memo(config.base_scenario, [])
    first = solara.use_memo(lambda: ClassroomModel(base, config.levers(base)), [])
    model: solara.Reactive[ClassroomModel] = solara.use_reactive(first)
    levers = solara.use_reactive(first.levers)
    lang = solara.use_reactive(config.lang)
    # bumped for a render in full (a reset, the end of a run); a new day is not a render
    version: solara.Reactive[int] = solara.use_memo(lambda: solara.reactive(0), [])
    playing = solara.use_reactive(False)
    speed = solara.use_reactive(SPEEDS[1])
    stop = solara.use_reactive(min(config.stop, first.horizon))
    preset = solara.use_reactive("")
    presenting = solara.use_reactive(False)
    panel = solara.use_reactive("")  # "", "info" or "classes"
    classes: solara.Reactive[Any] = solara.use_reactive(None)  # (levers, stop, outcomes)
    person = solara.use_reactive(default_person(first))
    lock = solara.use_memo(threading.RLock, [])  # a render inside reset takes it again
    screen = solara.use_memo(Screen, [])
    run_id = solara.use_memo(lambda: [0], [])
    task: list[Any] = solara.use_memo(lambda: [None], [])
    m, lg, lv = model.value, lang.value, levers.value
    version.get()  # Play and Step are disabled at the end of a run

    def render_again(*_: Any) -> None:
        version.set(version.value + 1)

    def reset(new: Levers | None = None) -> None:
        playing.set(False)
        with lock:
            run_id[0] += 1
            chosen = new or levers.value
            levers.set(chosen)
            model.set(ClassroomModel(base, chosen))
            version.set(version.value + 1)

    def one_day() -> ClassroomModel | None:
        """Step the model and show the day; None when the page must render to show it."""
        with lock:
            current = model.value
            current.step()
            chosen = min(person.value, current.people.size - 1)
            shown = screen.show_day(current, lang.value, stop.value, chosen)
        return current if shown and current.running else None

    def step() -> None:
        if model.value.running and one_day() is None:
            render_again()

    def play_loop() -> None:
        if not playing.value:
            return
        run_id[0] += 1
        mine = run_id[0]
        # stop exactly on the stop day; started on or after it, play on to the end
        target = stop.value if model.value.day < stop.value else model.value.horizon
        due = time.perf_counter()
        while (
            playing.value
            and run_id[0] == mine
            and not STOPPING.is_set()
            and (task[0] is None or task[0].is_current())
        ):  # the tab closed: the task is cancelled
            with lock:
                current = model.value
                if run_id[0] != mine:
                    break  # a reset: that run is over
                finished = not current.running or current.day >= target
                shown = None if finished else one_day()
            if finished:
                playing.set(False)  # the stop day: the page renders the stopped run
                break
            if shown is None:
                render_again()
            # never more than one day ahead of what the browser has drawn (a slow computer
            # slows the run instead of queueing days); every day is drawn, none skipped
            screen.wait_drawn(current.run_number, current.day - 1, timeout=2.0)
            due += 1.0 / speed.value  # a steady pace: a late day does not delay the next
            now = time.perf_counter()
            if due > now:
                time.sleep(due - now)
            else:
                due = now  # behind: go on at once, but do not race to catch up

    task[0] = solara.lab.use_task(play_loop, dependencies=[playing.value], prefer_threaded=True)

    def lever(name: str, percent: int = 0) -> Callable[[Any], None]:
        def on_value(value: Any) -> None:
            preset.set("")
            reset(levers.value.with_(**{name: value / percent if percent else value}))

        return on_value

    def choose_preset(name: str) -> None:
        preset.set(name)
        if name in lessons.PRESETS:
            chosen = lessons.PRESETS[name]
            defaults = Levers.from_scenario(
                base, people=lessons.PEOPLE, seed=chosen.seed, days=config.days
            )
            new = chosen.levers(defaults)
            stop.set(chosen.stop)
            reset(new)

    def run_classes() -> None:
        panel.set("classes")
        settings, day = levers.value, min(stop.value, model.value.horizon)
        classes.set((settings, day, None))

        def work() -> None:
            seeds = range(1, lessons.CLASSES + 1)
            result = lessons.outcomes(base, settings, day, seeds)
            if classes.value is not None and classes.value[0] == settings:
                classes.set((settings, day, result))

        threading.Thread(target=work, daemon=True).start()

    solara.Title(t("app.title", lg))
    root = ["kds-app"] + (["kds-presenting"] if presenting.value else [])
    with solara.Div(classes=root):
        solara.Style(CSS)
        with solara.Div(classes=["kds-top"]):
            solara.Text(t("page.short_title", lg), classes=["kds-title"])
            label = t("controls.pause" if playing.value else "controls.play", lg)
            with solara.Tooltip(t("controls.play_help", lg)):
                solara.Button(
                    label,
                    on_click=lambda: playing.set(not playing.value),
                    color="primary",
                    disabled=not m.running,
                    classes=["kds-play"],
                )
            with solara.Tooltip(t("controls.step_help", lg)):
                solara.Button(
                    t("controls.step", lg),
                    on_click=step,
                    color="white",
                    outlined=True,
                    disabled=playing.value or not m.running,
                    classes=["kds-step"],
                )
            with solara.Tooltip(t("controls.reset_help", lg)):
                solara.Button(
                    t("controls.reset", lg),
                    on_click=lambda: reset(),
                    color="white",
                    outlined=True,
                    classes=["kds-reset"],
                )
            solara.Text(t("page.stop", lg), classes=["kds-stop-label"])
            with solara.Tooltip(t("page.stop_help", lg)):
                solara.Select(
                    "",
                    values=[d for d in STOP_DAYS if d <= m.horizon] or [m.horizon],
                    value=stop.value,
                    on_value=lambda d: stop.set(int(d)),
                    classes=["kds-stop"],
                    dense=True,
                )
            solara.Div(classes=["kds-spacer"])
            with solara.Tooltip(t("page.info_help", lg)):
                solara.Button(
                    t("page.info", lg),
                    on_click=lambda: panel.set("" if panel.value == "info" else "info"),
                    color="white",
                    outlined=panel.value != "info",
                    classes=["kds-info-button"],
                )
            with solara.Tooltip(t("page.presentation_help", lg)):
                solara.Button(
                    t("page.presentation", lg),
                    on_click=lambda: presenting.set(not presenting.value),
                    color="white",
                    outlined=not presenting.value,
                    classes=["kds-present"],
                )
            with solara.Tooltip(t("page.lang_help", lg)), solara.Div(classes=["kds-langs"]):
                for code in LANGS:
                    on = code == lg
                    solara.Button(
                        t(f"app.lang_{code}", lg),
                        on_click=lambda code=code: lang.set(code),
                        text=True,
                        classes=[
                            f"kds-lang-{code}",
                            "kds-lang-on" if on else "kds-lang-off",
                        ],
                        attributes={"aria-pressed": "true" if on else "false"},
                    )
        with solara.Div(classes=["kds-body"]):
            if not presenting.value:
                with solara.Div(classes=["kds-controls"]):
                    Controls(
                        lg, lv, m, speed, preset.value, choose_preset, lever, run_classes, base.name
                    )
            Today(m, version, lg, person, screen, lock, stop.value, render_again)
        if panel.value == "info":
            with solara.Div(classes=["kds-overlay", "kds-info"]):
                solara.Button(
                    t("page.close", lg), on_click=lambda: panel.set(""), classes=["kds-close"]
                )
                solara.Markdown(info_markdown(lg))
        elif panel.value == "classes":
            with solara.Div(classes=["kds-overlay", "kds-classes"]):
                solara.Button(
                    t("page.close", lg), on_click=lambda: panel.set(""), classes=["kds-close"]
                )
                Classes(classes.value, lg)


@solara.component
def Controls(
    lg: str,
    lv: Levers,
    m: ClassroomModel,
    speed: solara.Reactive[int],
    preset: str,
    choose_preset: Callable[[str], None],
    lever: Callable[..., Callable[[Any], None]],
    run_classes: Callable[[], None],
    scenario: str,
) -> None:
    """The left column: lesson presets, 20 classes, levers, speed and the details."""
    solara.Text(t("lessons.title", lg), classes=["kds-section"])
    names = {t(f"lessons.{name}", lg): name for name in lessons.PRESETS}
    own = t("lessons.own", lg)
    current = next((k for k, v in names.items() if v == preset), own)
    solara.Text(t("lessons.pick", lg), classes=["kds-small"])
    solara.Select(
        "",
        values=[own, *names],
        value=current,
        on_value=lambda label: choose_preset(names.get(label, "")),
        classes=["kds-preset"],
    )
    solara.Text(t("lessons.note", lg), classes=["kds-small"])
    with solara.Tooltip(t("lessons.classes_help", lg)):
        solara.Button(
            t("lessons.classes", lg),
            on_click=run_classes,
            color="primary",
            outlined=True,
            classes=["kds-classes-button"],
        )
    solara.Text(t("levers.title", lg), classes=["kds-section"])
    solara.Text(t("levers.note", lg), classes=["kds-small"])
    with lever_box(
        "using_ties",
        t("levers.using_ties_help", lg),
        t("levers.using_ties", lg, value=number(lv.using_ties, lg)),
    ):
        solara.SliderFloat(
            "",
            value=lv.using_ties,
            on_value=lever("using_ties"),
            min=0.0,
            max=6.0,
            step=0.5,
            thumb_label=False,
        )
    with lever_box(
        "coping",
        t("levers.coping_help", lg),
        t("levers.coping", lg, value=number(lv.coping, lg, 2)),
    ):
        solara.SliderFloat(
            "",
            value=lv.coping,
            on_value=lever("coping"),
            min=0.1,
            max=0.9,
            step=0.05,
            thumb_label=False,
        )
    with lever_box(
        "ave", t("levers.ave_help", lg), t("levers.ave", lg, value=number(lv.ave, lg, 2))
    ):
        solara.SliderFloat(
            "",
            value=lv.ave,
            on_value=lever("ave"),
            min=0.1,
            max=0.9,
            step=0.05,
            thumb_label=False,
        )
    with lever_box("group", t("levers.group_help", lg)):
        solara.Checkbox(label=t("levers.group", lg), value=lv.group, on_value=lever("group"))
    with lever_box(
        "coverage",
        t("levers.coverage_help", lg),
        t("levers.coverage", lg, value=round(100 * lv.coverage)),
    ):
        solara.SliderInt(
            "",
            value=round(100 * lv.coverage),
            on_value=lever("coverage", 100),
            min=5,
            max=100,
            step=5,
            thumb_label=False,
            disabled=not lv.group,
        )
    with lever_box("capacity_building", t("levers.capacity_building_help", lg)):
        solara.Checkbox(
            label=t("levers.capacity_building", lg),
            value=lv.capacity_building,
            on_value=lever("capacity_building"),
            disabled=not lv.group,
        )
    with lever_box("mentoring", t("levers.mentoring_help", lg)):
        solara.Checkbox(
            label=t("levers.mentoring", lg),
            value=lv.mentoring,
            on_value=lever("mentoring"),
            disabled=not lv.group,
        )
    if not lv.group:
        solara.Text(t("levers.group_off", lg), classes=["kds-small"])
    with lever_box(
        "speed", t("controls.speed_help", lg), t("controls.speed", lg, value=speed.value)
    ):
        solara.SliderInt(
            "",
            value=speed.value,
            on_value=speed.set,
            min=SPEEDS[0],
            max=SPEEDS[1],
            thumb_label=False,
        )
    with solara.Details(t("page.details", lg), expand=False):
        solara.Text(
            t(
                "page.details_text",
                lg,
                people=m.people.size,
                seed=lv.seed,
                scenario=scenario,
                days=m.horizon,
            ),
            classes=["kds-details", "kds-small"],
        )
        with lever_box("seed", t("page.seed_help", lg), t("page.seed", lg, value=lv.seed)):
            solara.SliderInt(
                "", value=lv.seed, on_value=lever("seed"), min=0, max=99, thumb_label=False
            )


@solara.component
def Classes(state: Any, lg: str) -> None:
    """The "20 classes" panel: the same levers on seeds 1-20, one dot per class."""
    if state is None:
        return
    settings, day, result = state
    if result is None:
        solara.Text(t("lessons.classes_running", lg, day=day), classes=["kds-classes-running"])
        return
    measure = "averted" if settings.group else "never_with"
    label = t("lessons.classes_averted" if settings.group else "lessons.classes_never", lg)
    values = np.asarray(result[measure], dtype=float)
    digits = 0 if settings.group else 1
    this = (
        number(float(values[settings.seed - 1]), lg, digits)
        if 1 <= settings.seed <= len(values)
        else "-"
    )
    solara.Markdown(f"## {t('lessons.classes_title', lg, day=day)}")
    solara.HTML(
        tag="div",
        unsafe_innerHTML=classes_svg(values, settings.seed, label, lg),
        classes=["kds-classes-plot"],
    )
    solara.Text(
        t(
            "lessons.classes_summary",
            lg,
            mean=number(float(values.mean()), lg, 1),
            low=number(float(values.min()), lg, digits),
            high=number(float(values.max()), lg, digits),
            seed=settings.seed,
            this=this,
        ),
        classes=["kds-classes-summary"],
    )
    solara.Markdown(t("lessons.classes_lesson", lg))


@solara.component
def Today(
    m: ClassroomModel,
    version: solara.Reactive[int],
    lg: str,
    person: solara.Reactive[int],
    screen: Screen,
    lock: threading.RLock,
    stop: int,
    resync: Callable[[Any], None],
) -> None:
    """What changes every day: the big numbers, the network, the person, the plots.

    Rendered in full for a new run, language, stop day or person; a new day only updates its
    widgets (Screen.show_day), so this renders the state of the model when it runs.
    """
    version.get()  # a reset, the end of a run, a chart that asks to resync: render in full
    graph = solara.use_memo(lambda: json.dumps(network_static(m)), [m])
    labels = solara.use_memo(lambda: network_labels(lg), [lg])
    chosen = min(person.value, m.people.size - 1)
    with lock:  # the play loop steps the model in its own thread
        shown_monitors = monitors_html(m, lg, stop)
        today = json.dumps(network_dynamic(m, chosen))
        specs = {name: json.dumps(props(m, lg, stop)) for name, props in CHARTS.items()}
        shown_person = person_html(m, chosen, lg)
        screen.sent(m)
    elements: dict[str, Any] = {}
    with solara.Div(classes=["kds-main"]):
        HtmlBox(html=shown_monitors, css_class="kds-monitors", name="monitors")
        with solara.Div(classes=["kds-panel", "kds-network-card"]):
            with solara.Div(classes=["kds-panel-head"]):
                Legend(lg, m.states)
            elements["network"] = NetworkView(
                graph=graph,
                today=today,
                labels=labels,
                event_select=person.set,
                update="",
                event_drawn=screen.on_drawn,
            )
        for name in CHARTS:
            with solara.Div(classes=["kds-panel", f"kds-plot-{name}"]):
                LineChart(spec=specs[name], name=name, event_resync=resync)
        with solara.Div(classes=["kds-panel", "kds-person-card"]):
            HtmlBox(html=shown_person, css_class="kds-person-panel", name="person")

    def remember() -> None:
        try:
            screen.widgets = {name: solara.get_widget(el) for name, el in elements.items()}
        except KeyError:  # an effect of a render already redone (a reset sets three states)
            screen.widgets = {}  # the next day renders the page, and this runs again

    solara.use_effect(remember, None)  # after every render: the widget a day updates


MARKS = {
    "circle": "M1 10a9 9 0 1 0 18 0a9 9 0 1 0 -18 0Z",
    "triangle": "M10 0L20 17L0 17Z",
    "square": "M2 2h16v16h-16Z",
    "diamond": "M10 2l8 8l-8 8l-8 -8z",
    "plus": "M6.5 0h7v6.5h6.5v7h-6.5v6.5h-7v-6.5h-6.5v-7h6.5Z",
    "star": "M10 0L12.4 6.7L19.5 6.9L13.9 11.3L15.9 18.1L10 14.1L4.1 18.1L6.1 11.3"
    "L0.5 6.9L7.6 6.7Z",
    "ring": "M3 10a7 7 0 1 0 14 0a7 7 0 1 0 -14 0Z",
}
"""The network's shapes as 20-px SVG paths (the canvas draws the same ones, network.vue)."""


def mark(shape: str, color: str, stroke: str = "#616161", width: float = 1.2) -> str:
    """A legend mark: one of the network's shapes, 20 px (a ring: hollow and dashed, faded)."""
    if shape == "ring":
        paint = f'fill="none" stroke="{color}" stroke-width="2" stroke-dasharray="3 2"'
    else:
        paint = f'fill="{color}" stroke="{stroke}" stroke-width="{width}"'
    return (
        f'<svg width="22" height="22" viewBox="-1 -1 22 22" style="vertical-align:middle">'
        f'<path d="{MARKS[shape]}" {paint}/></svg>'
    )


@solara.component
def Legend(lang: str, states: tuple[int, ...]) -> None:
    """What the shapes, colours and marks of the network mean (and how to follow someone),
    for the states this run can reach (`ClassroomModel.states`)."""
    solara.HTML(
        tag="div", unsafe_innerHTML=legend_html(lang, states), classes=["kds-legend-network"]
    )


def legend_html(lang: str, states: tuple[int, ...]) -> str:
    """The network legend's HTML: a mark and a label per state, then the other marks."""
    items = [
        mark(STATE_SHAPES[code], STATE_COLORS[code]) + html.escape(t(f"state.{STATES[code]}", lang))
        for code in states
    ]
    halo = (
        '<svg width="22" height="22" style="vertical-align:middle"><circle cx="11" cy="11" '
        'r="9" fill="none" stroke="#7b1fa2" stroke-width="2.5" stroke-dasharray="4 3"/></svg>'
    )
    items += [
        mark("circle", "#ffffff", "#000000", 3) + html.escape(t("legend.member", lang)),
        mark("diamond", "#616161") + html.escape(t("legend.using_friend", lang)),
        halo + html.escape(t("legend.hrs", lang)),
    ]
    body = "".join(f'<span style="white-space:nowrap;margin-right:12px">{i}</span>' for i in items)
    return (
        f'<div style="font-size:18px;line-height:1.3">{body} '
        f'<span style="color:#424242">{html.escape(t("legend.click", lang))}</span></div>'
    )


@solara.component
def Page() -> None:
    """Entry point for `solara run kds_sim.app.components` (settings from KDS_SIM_APP_*)."""
    config = solara.use_memo(AppConfig.from_env, [])
    App(config)

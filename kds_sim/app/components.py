"""The classroom page, built with Solara (mesa[viz]'s front end) on the ClassroomModel.

Layout for a projector: run controls and teaching levers in the sidebar; the network and the
person being followed side by side; three plots below that move as the model runs. Every
text comes from the message catalogue in the page's current language.

Why not Mesa's ready-made `SolaraViz` page: its controls and captions are fixed English
strings ("Reset", "Step", "Model Parameters", ...), and a changed parameter only takes
effect on the next Reset. A class needs both languages and a lever that restarts the run at
once with the same seed, so the page has its own small controller with the same design as
Mesa's (a threaded play loop that steps the Mesa model and bumps a redraw counter). The
network and the plots are Vue templates drawing SVG: the server sends the day's states as
short lists, the browser redraws, and nothing is fetched from the internet.

The `*_props` functions compute what each component shows; they are plain functions so the
benchmark and tests can time and check them without a browser.
"""

from __future__ import annotations

import html
import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import solara

from kds_sim.app import story
from kds_sim.app.model import TRACED, ClassroomModel, Levers
from kds_sim.app.server import STOPPING, AppConfig
from kds_sim.messages import LANGS, number, t

WIDTH, HEIGHT = 1000, 600
STATES = ("abstinent", "lapsed", "relapsed")
STATE_COLORS = ("#1b9e77", "#e6ab02", "#d7301f")
DOMAIN_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf")
TRACE_COLORS = ("#1f77b4", "#2ca02c", "#ff7f0e", "#d62728")
GOOD_LINE = 2.75
MAX_POINTS = 370
SPEEDS = (1, 30)


@solara.component_vue("network.vue", vuetify=False)
def NetworkView(graph: str, today: str, labels: dict, event_select: Callable[[int], None]) -> None:
    """SVG network: people coloured by state, using friends as diamonds, members outlined.

    `graph` (positions and ties, sent once per run) and `today` (today's states) are JSON
    text: Solara walks list props element by element on every render, text it does not.
    (`layout` would clash with the widget's own `layout` attribute.)
    """


@solara.component_vue("chart.vue", vuetify=False)
def LineChart(spec: str, height: str = "21vh") -> None:
    """SVG line chart over days, drawn in the browser from `spec` (JSON of *_props)."""


# -- what each component shows ----------------------------------------------------------------
def _path(starts: np.ndarray, ends: np.ndarray) -> str:
    return " ".join(
        f"M{a[0]:.0f} {a[1]:.0f}L{b[0]:.0f} {b[1]:.0f}"
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True)
    )


def network_static(model: ClassroomModel) -> dict[str, Any]:
    """The parts of the network picture that do not change while the model runs."""
    layout, scale = model.layout, np.array([WIDTH, HEIGHT])
    people, friends = layout.people * scale, layout.friends * scale
    peer, using = layout.peer_edges, layout.using_edges
    tied = np.bincount(using[:, 1], minlength=len(friends)) > 0  # others play no part
    diamonds = " ".join(f"M{x:.0f} {y - 5:.0f}l5 5l-5 5l-5 -5z" for x, y in friends[tied])
    return {
        "people": np.round(people, 1).tolist(),
        "friends": int(tied.sum()),
        "peer_path": _path(people[peer[:, 0]], people[peer[:, 1]]),
        "using_path": _path(people[using[:, 0]], friends[using[:, 1]]),
        "friend_path": diamonds,
    }


def selected_path(model: ClassroomModel, person: int) -> str:
    """The ties of the person being followed, drawn darker."""
    layout, scale = model.layout, np.array([WIDTH, HEIGHT])
    people, friends = layout.people * scale, layout.friends * scale
    peer = layout.peer_edges[(layout.peer_edges == person).any(axis=1)]
    using = layout.using_edges[layout.using_edges[:, 0] == person]
    return " ".join(
        p
        for p in (
            _path(people[peer[:, 0]], people[peer[:, 1]]),
            _path(people[using[:, 0]], friends[using[:, 1]]),
        )
        if p
    )


def network_dynamic(model: ClassroomModel, person: int) -> dict[str, Any]:
    """Today's states: the only network data sent to the browser each day."""
    p = model.people
    return {
        "status": p.status.tolist(),
        "member": p.member.astype(int).tolist(),
        "hrs": model.events["exposed"].astype(int).tolist(),
        "selected": person,
        "selected_path": selected_path(model, person),
    }


def network_labels(lang: str) -> dict[str, Any]:
    """Colours and tooltip texts of the network picture."""
    return {
        "colors": list(STATE_COLORS),
        "person": t("network.person", lang),
        "person_member": t("network.person_member", lang),
        "friends": t("network.friends", lang),
        "states": [t(f"state.{s}", lang) for s in STATES],
    }


def _thin(values: list[float], stride: int, digits: int = 4) -> list[float | None]:
    return [None if v is None or math.isnan(v) else round(v, digits) for v in values[::stride]]


def _axis(model: ClassroomModel) -> dict[str, Any]:
    horizon = model.horizon
    stride = max(1, math.ceil((model.day + 1) / MAX_POINTS))
    step = next(s for s in (30, 60, 90, 180, 365, 730) if horizon / s <= 8)
    return {"x_max": horizon, "stride": stride, "x_ticks": list(range(0, horizon + 1, step))}


def never_relapsed_props(model: ClassroomModel, lang: str) -> dict[str, Any]:
    """Share never relapsed, with the group and in the same-seed no-group baseline."""
    axis = _axis(model)
    with_group = [100 * v for v in model.never_relapsed()]
    without = [100 * v for v in model.never_relapsed(baseline=True)]
    averted = round((with_group[-1] - without[-1]) * model.people.size / 100)  # both start at 100
    note = t(
        "charts.gap",
        lang,
        with_group=number(with_group[-1], lang),
        without_group=number(without[-1], lang),
        averted=averted,
    )
    if not model.levers.group:
        note = t("charts.same_run", lang)
    return {
        **axis,
        "title": t("charts.never_title", lang),
        "series": [
            {
                "label": t("charts.without_group", lang),
                "color": "#616161",
                "dash": True,
                "values": _thin(without, axis["stride"], 2),
            },
            {
                "label": t("charts.with_group", lang),
                "color": "#1b9e77",
                "values": _thin(with_group, axis["stride"], 2),
            },
        ],
        "y_min": 0,
        "y_max": 100,
        "y_ticks": [[v, str(v)] for v in range(0, 101, 20)],
        "x_label": t("charts.days", lang),
        "y_label": t("charts.never_axis", lang),
        "hline": None,
        "hline_label": "",
        "note": note,
    }


def states_props(model: ClassroomModel, lang: str) -> dict[str, Any]:
    """How many people are abstinent, lapsed and relapsed, day by day."""
    axis, n = _axis(model), model.people.size
    top = int(math.ceil(n / 20) * 20)
    return {
        **axis,
        "title": t("charts.states_title", lang),
        "series": [
            {
                "label": t(f"state.{s}", lang),
                "color": c,
                "values": _thin(model.series(s), axis["stride"], 0),
            }
            for s, c in zip(STATES, STATE_COLORS, strict=True)
        ],
        "y_min": 0,
        "y_max": top,
        "y_ticks": [[v, str(v)] for v in range(0, top + 1, top // 4)],
        "x_label": t("charts.days", lang),
        "y_label": t("charts.states_axis", lang),
        "hline": None,
        "hline_label": "",
        "note": "",
    }


def capacity_props(model: ClassroomModel, lang: str) -> dict[str, Any]:
    """The group's seven PEKA domain scores, day by day, against the 2.75 'good' line."""
    axis = _axis(model)
    series: list[dict[str, Any]] = []
    note = t("charts.no_group", lang)
    if model.levers.group:
        series = [
            {
                "label": t(f"domain.{d}", lang),
                "color": c,
                "values": _thin(model.series(f"capacity_{d}"), axis["stride"], 3),
            }
            for d, c in zip(model.domains, DOMAIN_COLORS, strict=True)
        ]
        active = model.series("group_active")
        note = t(
            "charts.capacity_mean", lang, mean=number(float(np.mean(model.group.capacity)), lang, 2)
        )
        if not active[-1]:
            note += " " + t("charts.stopped", lang, day=active.index(False))
    ticks = [[v, number(v, lang)] for v in (1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0)]
    return {
        **axis,
        "title": t("charts.capacity_title", lang),
        "series": series,
        "y_min": 1,
        "y_max": 4,
        "y_ticks": ticks,
        "x_label": t("charts.days", lang),
        "y_label": t("charts.capacity_axis", lang),
        "hline": GOOD_LINE,
        "hline_label": t("charts.good_line", lang),
        "note": note,
    }


def person_chart_props(model: ClassroomModel, person: int, lang: str) -> dict[str, Any]:
    """The followed person's coping, self-efficacy, outcome expectancy and craving."""
    axis = _axis(model)
    trace = np.array([day[:, person] for day in model.trace[:: axis["stride"]]])
    ticks = [[v, number(v, lang)] for v in (0.0, 0.25, 0.5, 0.75, 1.0)]
    return {
        **axis,
        "stride": axis["stride"],
        "title": t("charts.person_title", lang, number=person + 1),
        "series": [
            {
                "label": t(f"person.{name}", lang),
                "color": c,
                "values": [round(float(v), 3) for v in trace[:, k]],
            }
            for k, (name, c) in enumerate(zip(TRACED, TRACE_COLORS, strict=True))
        ],
        "y_min": 0,
        "y_max": 1,
        "y_ticks": ticks,
        "x_label": t("charts.days", lang),
        "y_label": "0-1",
        "hline": None,
        "hline_label": "",
        "note": "",
    }


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
            f'gap:8px;margin:2px 0"><span style="width:46%">{label}'
            f'</span><span style="flex:1;background:#eeeeee;height:12px;border-radius:3px">'
            f'<span style="display:block;width:{100 * value:.0f}%;height:12px;background:{color};'
            f'border-radius:3px"></span></span><span style="width:3.2em;text-align:right">'
            f"{number(value, lang, 2)}</span></div>"
        )
    lines = story.render_story(model.stories[person], lang)
    story_html = "".join(f'<div class="kds-story-line">{html.escape(line)}</div>' for line in lines)
    heading = t("person.heading", lang, number=person + 1, state=state)
    return (
        f'<div class="kds-person-heading" style="font-size:20px;font-weight:500">'
        f"{html.escape(heading)}</div>"
        f'<div style="margin-bottom:6px">{html.escape("; ".join(facts))}</div>'
        f"{''.join(rows)}"
        f'<div style="font-weight:500;margin-top:8px">{html.escape(t("person.story", lang))}'
        f'</div><div class="kds-story" style="max-height:15vh;overflow-y:auto;'
        f'font-size:15px;line-height:1.45">{story_html}</div>'
    )


def default_person(model: ClassroomModel) -> int:
    """Someone worth following at the start: the person with the most using friends."""
    return int(np.argmax(model.using_ties))


# -- the page ---------------------------------------------------------------------------------
@contextmanager
def lever_box(name: str, help_text: str, label: str = "") -> Iterator[None]:
    """A lever with its tooltip and label; the CSS class lets the browser test find it."""
    with solara.Tooltip(help_text), solara.Column(classes=[f"kds-lever-{name}"], gap="0px"):
        if label:
            solara.Text(label, classes=["kds-lever-label"], style={"font-size": "15px"})
        yield


@solara.component
def App(config: AppConfig) -> None:
    """The classroom page for one browser tab (each tab has its own model): state, controls.

    Only `Today` reads the redraw counter, so a new day redraws the network, the person and
    the plots, not the sidebar.
    """
    base = solara.use_memo(config.base_scenario, [])
    first = solara.use_memo(lambda: ClassroomModel(base, config.levers(base)), [])
    model: solara.Reactive[ClassroomModel] = solara.use_reactive(first)
    levers = solara.use_reactive(first.levers)
    lang = solara.use_reactive(config.lang)
    version = solara.use_reactive(0)
    playing = solara.use_reactive(False)
    speed = solara.use_reactive(10)
    person = solara.use_reactive(default_person(first))
    lock = solara.use_memo(threading.Lock, [])
    drawn = solara.use_memo(threading.Event, [])
    run_id = solara.use_memo(lambda: [0], [])
    task: list[Any] = solara.use_memo(lambda: [None], [])
    m, lg, lv = model.value, lang.value, levers.value

    def reset(new: Levers | None = None) -> None:
        playing.set(False)
        with lock:
            run_id[0] += 1
            chosen = new or levers.value
            levers.set(chosen)
            model.set(ClassroomModel(base, chosen))
            version.set(version.value + 1)

    def step() -> None:
        with lock:
            model.value.step()
            version.set(version.value + 1)

    def play_loop() -> None:
        if not playing.value:
            return
        run_id[0] += 1
        mine = run_id[0]
        while (
            playing.value
            and run_id[0] == mine
            and not STOPPING.is_set()
            and (task[0] is None or task[0].is_current())
        ):  # the tab closed: the task is cancelled
            started = time.perf_counter()
            with lock:
                current = model.value
                if not current.running or run_id[0] != mine:
                    playing.set(False)
                    break
                current.step()
                drawn.clear()
                version.set(version.value + 1)
            # never run ahead of the page: a render still under way elsewhere would restart
            # with every new day and never finish; at full speed the page sets the pace
            drawn.wait(timeout=2.0)
            time.sleep(max(0.005, 1.0 / speed.value - (time.perf_counter() - started)))

    task[0] = solara.lab.use_task(play_loop, dependencies=[playing.value], prefer_threaded=True)

    def lever(name: str, percent: int = 0) -> Callable[[Any], None]:
        def on_value(value: Any) -> None:
            reset(levers.value.with_(**{name: value / percent if percent else value}))

        return on_value

    solara.Title(t("app.title", lg))
    with solara.AppBar():
        solara.AppBarTitle(t("app.title", lg))
        for code in LANGS:
            solara.Button(
                t(f"app.lang_{code}", lg),
                on_click=lambda code=code: lang.set(code),
                outlined=code != lg,
                text=code == lg,
                color="white",
                classes=[f"kds-lang-{code}"],
            )

    with solara.Sidebar():
        with solara.Card(t("controls.title", lg)):
            with solara.Row():
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
                        color="primary",
                        outlined=True,
                        disabled=playing.value or not m.running,
                        classes=["kds-step"],
                    )
                with solara.Tooltip(t("controls.reset_help", lg)):
                    solara.Button(
                        t("controls.reset", lg),
                        on_click=lambda: reset(),
                        outlined=True,
                        classes=["kds-reset"],
                    )
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
        with solara.Card(t("levers.title", lg)):
            solara.Text(t("levers.note", lg), style={"font-size": "13px"})
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
                solara.Checkbox(
                    label=t("levers.group", lg), value=lv.group, on_value=lever("group")
                )
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
                solara.Text(t("levers.group_off", lg), style={"font-size": "13px"})

    Today(m, version, lg, person, drawn, base.name)


@solara.component
def Today(
    m: ClassroomModel,
    version: solara.Reactive[int],
    lg: str,
    person: solara.Reactive[int],
    drawn: threading.Event,
    scenario: str,
) -> None:
    """What changes every day: the day counter, the network, the person, the plots."""
    version.get()  # the model changes in place: this counter is what redraws each day
    solara.use_effect(drawn.set, None)  # after every render: the play loop may step again
    graph = solara.use_memo(lambda: json.dumps(network_static(m)), [m])
    labels = solara.use_memo(lambda: network_labels(lg), [lg])
    chosen = min(person.value, m.people.size - 1)
    # the day is not in the app bar: a changed app bar redraws the whole page, every day
    with solara.Row(style={"align-items": "baseline", "gap": "20px"}):
        solara.Text(
            t("app.day", lg, day=m.day, days=m.horizon),
            classes=["kds-day"],
            style={"font-size": "26px", "font-weight": "500"},
        )
        if not m.running:
            solara.Text(t("app.finished", lg), style={"font-size": "16px"})
    subtitle = t("app.subtitle", lg, people=m.people.size, seed=m.levers.seed, scenario=scenario)
    with solara.Columns([7, 5]):
        with solara.Card(
            t("network.title", lg, day=m.day), subtitle=subtitle, classes=["kds-network-card"]
        ):
            counts = np.bincount(m.people.status, minlength=3)
            solara.Text(
                t(
                    "network.summary",
                    lg,
                    abstinent=int(counts[0]),
                    lapsed=int(counts[1]),
                    relapsed=int(counts[2]),
                    members=int(m.people.member.sum()),
                ),
                classes=["kds-summary"],
                style={"font-size": "16px"},
            )
            NetworkView(
                graph=graph,
                today=json.dumps(network_dynamic(m, chosen)),
                labels=labels,
                event_select=person.set,
            )
            Legend(lg)
        with solara.Card(t("person.title", lg)):
            solara.Select(
                t("person.pick", lg),
                values=list(range(1, m.people.size + 1)),
                value=chosen + 1,
                on_value=lambda v: person.set(int(v) - 1),
                classes=["kds-pick"],
            )
            solara.HTML(
                tag="div", unsafe_innerHTML=person_html(m, chosen, lg), classes=["kds-person-panel"]
            )
            LineChart(spec=json.dumps(person_chart_props(m, chosen, lg)), height="15vh")
    with solara.Columns([1, 1, 1]):
        for name, props in (
            ("never", never_relapsed_props),
            ("states", states_props),
            ("capacity", capacity_props),
        ):
            with solara.Card(classes=[f"kds-plot-{name}"]):
                LineChart(spec=json.dumps(props(m, lg)))


@solara.component
def Legend(lang: str) -> None:
    """What the colours and marks of the network mean."""

    def dot(color: str, stroke: str = "#ffffff", width: float = 1.2, shape: str = "circle") -> str:
        mark = (
            f'<circle cx="9" cy="9" r="6" fill="{color}" stroke="{stroke}" stroke-width="{width}"/>'
            if shape == "circle"
            else '<polygon points="9,3 15,9 9,15 3,9" fill="#424242"/>'
            if shape == "diamond"
            else '<circle cx="9" cy="9" r="7" fill="none" stroke="#7b1fa2" stroke-width="2" '
            'stroke-dasharray="3 2"/>'
        )
        return f'<svg width="18" height="18" style="vertical-align:middle">{mark}</svg>'

    items = [
        dot(c) + html.escape(t(f"state.{s}", lang))
        for s, c in zip(STATES, STATE_COLORS, strict=True)
    ]
    items += [
        dot("#ffffff", "#1a237e", 3) + html.escape(t("legend.member", lang)),
        dot("", shape="diamond") + html.escape(t("legend.using_friend", lang)),
        dot("", shape="halo") + html.escape(t("legend.hrs", lang)),
    ]
    body = "".join(f'<span style="white-space:nowrap;margin-right:14px">{i}</span>' for i in items)
    solara.HTML(
        tag="div",
        unsafe_innerHTML=f'<div style="font-size:14px">{body}</div>'
        f'<div style="font-size:13px;color:#555">{html.escape(t("legend.click", lang))}'
        "</div>",
        classes=["kds-legend-network"],
    )


@solara.component
def Page() -> None:
    """Entry point for `solara run kds_sim.app.components` (settings from KDS_SIM_APP_*)."""
    config = solara.use_memo(AppConfig.from_env, [])
    App(config)

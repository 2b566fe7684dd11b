"""The classroom app without a browser: messages, stories, layout, the model wrapper, the CLI."""

from __future__ import annotations

import argparse
import json
import re
import string
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import kds_sim
from kds_sim.app import colours, lessons, story
from kds_sim.app import layout as layout_module
from kds_sim.app.model import (
    STATE_NAMES,
    TRACED,
    ClassroomModel,
    Levers,
    check_classroom,
    domains,
    scenario_for,
)
from kds_sim.app.server import AppConfig, is_loopback
from kds_sim.messages import LANGS, catalogue, number, t

ROOT = Path(__file__).absolute().parents[1]
SCENARIOS = ROOT / "scenarios"
SOURCES = [*(ROOT / "kds_sim" / "app").glob("*.py"), ROOT / "kds_sim" / "cli" / "app.py"]


@pytest.fixture(scope="module")
def base() -> kds_sim.Scenario:
    return kds_sim.load_scenario(SCENARIOS / "group_as_assessed.toml")


@pytest.fixture(scope="module")
def levers(base) -> Levers:
    return Levers.from_scenario(base, people=90, seed=7, days=365)


def statuses(model, days: int) -> list[np.ndarray]:
    out = []
    for _ in range(days):
        model.step()
        out.append(model.people.status.copy())
    return out


# -- the message catalogue -------------------------------------------------------------------
def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_catalogues_have_the_same_keys_and_fields():
    en, other = catalogue("en"), catalogue("id")
    assert set(en) == set(other), set(en) ^ set(other)
    for key, text in en.items():
        assert text.strip() and other[key].strip(), key
        assert fields(text) == fields(other[key]), key


def test_every_message_the_app_uses_exists():
    literal = set()
    for path in SOURCES:
        literal |= set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z_]+)["']""", path.read_text()))
    dynamic = {
        f"story.{code}"
        for code in (
            "discharged",
            "joined",
            "left",
            "meeting",
            "coped",
            "coping_failed",
            "lapsed",
            "resisted",
            "relapse",
            "lapse_ended",
            "reentry",
            "treatment_stay",
            "treatment_done",
            "life_event",
            "tie_formed",
            "incarcerated",
            "released",
            "released_using",
        )
    }
    dynamic |= {f"story.{code}" for code in story.EXIT_CODES.values()}
    dynamic |= {f"story.hrs_{cause}" for cause in story.CAUSES}
    dynamic |= {f"state.{s}" for s in STATE_NAMES}
    dynamic |= {f"domain.{d}" for d in domains()} | {f"person.{name}" for name in TRACED}
    dynamic |= {f"app.lang_{code}" for code in LANGS}
    dynamic |= {f"lessons.{name}" for name in lessons.PRESETS}
    assert len(literal) > 40
    for lang in LANGS:
        assert not (literal | dynamic) - set(catalogue(lang)), lang


def test_t_and_numbers():
    assert t("state.relapsed", "id") == "kambuh"
    assert t("app.day", "en", day=3, days=730) == "Day 3 of 730"
    with pytest.raises(KeyError, match="no message"):
        t("nothing.here")
    with pytest.raises(ValueError, match="unknown language"):
        t("state.relapsed", "fr")
    assert number(2.5, "en") == "2.5" and number(2.5, "id") == "2,5"
    assert number(1234.5, "id", 2) == "1.234,50"


# -- stories ---------------------------------------------------------------------------------
def one_day(n: int = 3, **true: list[int]) -> dict[str, np.ndarray]:
    events = {
        k: np.zeros(n, dtype=bool) for k in ("exposed", "coped", "lapse", "relapse", "reentry")
    }
    for name, people in true.items():
        events[name][people] = True
    return events


def test_story_lines_in_both_languages():
    zeros, no = np.zeros(3, dtype=np.int8), np.zeros(3, dtype=bool)
    causes = np.array([0, 2, 4])
    lapse_day = story.day_entries(
        12, one_day(exposed=[0], lapse=[0]), zeros, np.array([1, 0, 0]), no, no, no, causes
    )
    assert list(lapse_day) == [0]
    assert story.render(lapse_day[0], "en") == (
        "day 12: met a using friend (high-risk situation), coping failed, lapsed"
    )
    assert story.render(lapse_day[0], "id") == (
        "hari 12: bertemu teman pemakai (situasi berisiko tinggi), gagal mengatasinya, tergelincir"
    )
    relapse_day = story.day_entries(
        14, one_day(relapse=[0]), np.array([1, 0, 0]), np.array([2, 0, 0]), no, no, no, causes
    )
    assert story.render(relapse_day[0], "en") == (
        "day 14: the lapse became a relapse (abstinence violation)"
    )
    assert story.render(relapse_day[0], "id") == (
        "hari 14: tergelincir itu berubah menjadi kambuh (efek pelanggaran abstinensi)"
    )
    lines = story.render_story([story.first_entry(True), lapse_day[0], relapse_day[0]], "en")
    assert lines[0].startswith("day 14") and lines[-1] == (
        "day 0: left rehab, abstinent, joined the KDS"
    )
    member = np.array([False, True, False])
    coped = story.day_entries(
        5, one_day(exposed=[1], coped=[1]), zeros, zeros, no, member, member, causes
    )
    assert story.render(coped[1], "en") == (
        "day 5: joined the KDS, went to a KDS meeting "
        "(coping and self-efficacy up), was under stress "
        "(high-risk situation), coped (refused or got "
        "away), self-efficacy up"
    )


def test_likely_cause_is_the_largest_part_of_the_hazard():
    causes = story.likely_causes(
        np.array([3, 0, 0, 0]),
        np.array([0, 2, 0, 0]),
        np.array([0.1, 0.1, 0.9, 0.1]),
        np.array([0.1, 0.1, 0.1, 0.2]),
        (0.01, 0.01, 0.01, 0.005),
    )
    assert [story.CAUSES[c] for c in causes] == ["using_friend", "relapsed_peer", "stress", "other"]


def test_stories_follow_the_models_real_events(base, levers):
    model = ClassroomModel(base, levers)
    for _ in range(150):
        model.step()
    p = model.people
    codes = [[c for e in s for c in e.codes] for s in model.stories]
    assert sum(c.count("lapsed") for c in codes) == int(p.lapses.sum()) > 0
    assert sum(c.count("relapse") for c in codes) == int(p.relapses.sum()) > 0
    for i in np.flatnonzero(p.first_relapse_day >= 0):
        day = int(p.first_relapse_day[i])
        assert any(e.day == day and "relapse" in e.codes for e in model.stories[i])
        lapses = [e.day for e in model.stories[i] if "lapsed" in e.codes]
        assert lapses and min(lapses) == p.first_lapse_day[i] < day  # a lapse came first
    assert all(s[0].day == 0 and s[0].codes[0] == "discharged" for s in model.stories)


# -- layout ----------------------------------------------------------------------------------
def test_layout_is_computed_once_and_stays(base, levers, monkeypatch):
    calls = []
    real = layout_module.nx.spring_layout

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(layout_module.nx, "spring_layout", counting)
    monkeypatch.setattr(layout_module, "_layout_cache", {})
    monkeypatch.setattr(layout_module, "_people_cache", {})
    model = ClassroomModel(base, levers)
    first = model.layout
    positions = first.people.copy()
    for _ in range(30):
        model.step()
    assert model.layout is first and np.array_equal(model.layout.people, positions)
    assert len(calls) == 2  # people, then using friends around them; never again per day
    assert first.people.shape == (90, 2) and 0 <= first.people.min() <= first.people.max() <= 1
    same_network = ClassroomModel(base, levers.with_(coping=0.7, group=False))
    assert np.array_equal(same_network.layout.people, positions) and len(calls) == 2
    more_friends = ClassroomModel(base, levers.with_(using_ties=4.0))
    assert np.array_equal(more_friends.layout.people, positions)  # people stay put
    assert len(more_friends.layout.friends) > len(first.friends) and len(calls) == 3


# -- the model wrapper -----------------------------------------------------------------------
def test_wrapper_is_the_agent_engine_of_a_plain_kdsmodel(base, levers):
    model = ClassroomModel(base, levers)
    plain = kds_sim.KDSModel(scenario_for(base, levers), seed=levers.seed)
    assert scenario_for(base, levers).run.engine == "agent"
    assert len(model.agents_by_type[kds_sim.RecoveringPerson]) == 90
    for _ in range(120):
        model.step()
        plain.step()
        assert model.day == plain.day
        assert np.array_equal(model.people.status, plain.people.status)
        assert np.array_equal(model.people.coping, plain.people.coping)
    assert model.series("ever_relapsed") == list(plain.datacollector.model_vars["ever_relapsed"])


def test_a_reset_with_the_same_seed_replays_the_same_run(base, levers):
    one, two = ClassroomModel(base, levers), ClassroomModel(base, levers)
    first = statuses(one, 100)
    for a, b in zip(first, statuses(two, 100), strict=True):
        assert np.array_equal(a, b)
    assert one.stories == two.stories
    other_seed = statuses(ClassroomModel(base, levers.with_(seed=8)), 100)
    assert not all(np.array_equal(a, b) for a, b in zip(first, other_seed, strict=True))


def test_baseline_is_the_same_seed_without_a_group(base, levers):
    model = ClassroomModel(base, levers)
    plain = kds_sim.KDSModel(scenario_for(base, levers, group=False), seed=levers.seed)
    assert not model.baseline.group.enabled and model.group.enabled
    assert np.array_equal(model.baseline.people.coping, model.people.coping)  # same people
    for _ in range(120):
        model.step()
        plain.step()
        assert np.array_equal(model.baseline.people.status, plain.people.status)
    ever = int((plain.people.first_relapse_day >= 0).sum())
    assert model.never_relapsed(baseline=True)[-1] == 1 - ever / 90
    no_group = ClassroomModel(base, levers.with_(group=False))
    statuses(no_group, 120)
    assert no_group.never_relapsed() == no_group.never_relapsed(baseline=True)


def test_levers_set_the_scenario_keys(base, levers):
    cb = kds_sim.load_scenario(SCENARIOS / "capacity_building.toml")
    trained = scenario_for(base, levers.with_(capacity_building=True))
    assert cb.interventions == trained.interventions  # read from the file, not a copy
    mentoring = kds_sim.load_scenario(SCENARIOS / "capacity_building_mentoring.toml")
    both = levers.with_(capacity_building=True, mentoring=True)
    assert mentoring.interventions == scenario_for(base, both).interventions
    assert mentoring.interventions[-1].kind == "mentoring"
    assert (
        Levers.from_scenario(mentoring).capacity_building
        and Levers.from_scenario(mentoring).mentoring
    )
    chosen = levers.with_(
        using_ties=3.5, coping=0.65, ave=0.3, coverage=0.8, capacity_building=True, mentoring=True
    )
    scenario = scenario_for(base, chosen)
    assert scenario.network.using_ties_mean == 3.5
    assert scenario.population.coping.mean == 0.65
    assert scenario.population.ave_susceptibility.mean == 0.3
    assert scenario.group.coverage == 0.8 and scenario.population.size == 90
    kinds = [item.kind for item in scenario.interventions]
    assert kinds == [item.kind for item in cb.interventions] + ["mentoring"]
    assert scenario_for(base, chosen.with_(group=False)).interventions == []
    extreme = scenario_for(base, levers.with_(coping=0.9, ave=0.1))  # SD kept valid
    assert extreme.population.coping.sd < (0.9 * 0.1) ** 0.5


# -- settings and the command line -----------------------------------------------------------
def test_config_travels_through_the_environment():
    config = AppConfig(scenario="x.toml", lang="id", people=150, seed=4, days=400)
    assert AppConfig.from_env(config.to_env()) == config
    assert AppConfig.from_env({}) == AppConfig()


def test_only_loopback_counts_as_private():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")


def parser() -> argparse.ArgumentParser:
    from kds_sim.cli import app

    top = argparse.ArgumentParser(prog="kds-sim")
    app.add_command(top.add_subparsers(dest="command"))
    return top


def test_app_command_options():
    args = parser().parse_args(["app"])
    assert (args.host, args.port, args.lang, args.people, args.seed) == (
        "127.0.0.1",
        8765,
        "en",
        150,
        1,
    )
    args = parser().parse_args(
        [
            "app",
            "s.toml",
            "--lang",
            "id",
            "--port",
            "9000",
            "--host",
            "0.0.0.0",
            "--people",
            "150",
            "--seed",
            "3",
        ]
    )
    assert (args.scenario, args.lang, args.port, args.host, args.people) == (
        "s.toml",
        "id",
        9000,
        "0.0.0.0",
        150,
    )
    with pytest.raises(SystemExit):
        parser().parse_args(["app", "--lang", "fr"])


def test_app_command_refuses_bad_settings_before_serving(capsys):
    args = parser().parse_args(["app", "--people", "5"])
    assert args.func(args) == 2 and "--people 5" in capsys.readouterr().err
    args = parser().parse_args(["app", str(SCENARIOS / "missing.toml")])
    with pytest.raises(kds_sim.ScenarioError):
        args.func(args)


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--seed", "-1"], "--seed -1: allowed 0 or more"),
        (["scenarios/district.toml"], "district.toml: population.discharges_per_month = 25.0"),
        (["--host", "nonsense.invalid"], "--host nonsense.invalid: not an address"),
        (["--host", "999.1.1.1"], "--host 999.1.1.1: not an address"),
        (["--host", "10.99.99.99"], "--host 10.99.99.99: not an address"),
    ],
)
def test_app_refuses_in_one_line_without_a_traceback(argv, says, capsys, monkeypatch):
    import kds_sim.app.server as server
    from kds_sim.cli.main import main

    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(server, "serve", lambda *a, **k: pytest.fail("served"))
    assert main(["app", *argv, "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_ipv6_loopback_is_served(capsys, monkeypatch):
    import kds_sim.app.server as server

    served = []
    monkeypatch.setattr(
        server, "serve", lambda config, host, port, open_browser: served.append((host, port)) or 0
    )
    monkeypatch.setattr(server, "has_app_packages", lambda: True)
    args = parser().parse_args(
        ["app", str(SCENARIOS / "group_as_assessed.toml"), "--host", "::1", "--port", "0"]
    )
    assert args.func(args) == 0
    host, port = served[0]
    assert host == "::1" and port > 0
    captured = capsys.readouterr()
    assert f"http://[::1]:{port}" in captured.out and "warning" not in captured.err


def test_scenarios_the_app_cannot_show_are_named(base, levers):
    data = base.model_dump()
    data["population"]["discharges_per_month"] = 5.0
    with pytest.raises(kds_sim.errors.InputError, match="x.toml: population.discharges_per_month"):
        check_classroom(kds_sim.Scenario.model_validate(data), levers, "x.toml")
    check_classroom(base, levers, "ok.toml")
    # deaths and moves are shown (the people who left, faded): allowed
    check_classroom(base.updated({"population.death_rate": 0.02}), levers, "ok.toml")


def test_a_public_host_is_a_choice_with_a_warning(monkeypatch, capsys):
    import kds_sim.app.server as server

    served = []
    monkeypatch.setattr(
        server,
        "serve",
        lambda config, host, port, open_browser: served.append((config, host, port)) or 0,
    )
    monkeypatch.setattr(server, "has_app_packages", lambda: True)
    args = parser().parse_args(
        [
            "app",
            str(SCENARIOS / "group_as_assessed.toml"),
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--lang",
            "id",
            "--people",
            "80",
        ]
    )
    assert args.func(args) == 0
    config, host, port = served[0]
    assert host == "0.0.0.0" and port > 0 and config.lang == "id" and config.people == 80
    err = capsys.readouterr().err
    assert "peringatan: --host 0.0.0.0" in err
    args = parser().parse_args(["app", str(SCENARIOS / "group_as_assessed.toml")])
    assert args.func(args) == 0 and served[-1][1] == "127.0.0.1"
    assert "host" not in capsys.readouterr().err


def test_help_does_not_import_the_web_stack():
    code = (
        "import sys, argparse; from kds_sim.cli import app; p = argparse.ArgumentParser(); "
        "app.add_command(p.add_subparsers()); print('solara' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- the page, rendered without a browser ----------------------------------------------------
def test_page_renders_and_steps(monkeypatch):
    solara = pytest.importorskip("solara")
    pytest.importorskip("ipyvuetify")
    from kds_sim.app import components

    config = AppConfig(
        scenario=str(SCENARIOS / "group_as_assessed.toml"), people=80, seed=2, days=120
    )
    import ipyvuetify as v

    box, rc = solara.render(components.App(config), handle_error=False)

    def day() -> str:
        # a new day is one update message to the network view; a render sets the HTML
        update = rc.find(labels=components.network_labels("en")).widget.update
        shown = (
            json.loads(update)["html"]["monitors"]
            if update
            else rc.find(css_class="kds-monitors").widget.html
        )
        return re.search(r'kds-day">(\d+)<', shown).group(1)

    assert day() == "0"
    for _ in range(3):
        rc.find(v.Btn, class_="kds-step").widget.click()
    assert day() == "3"
    assert len(rc.find(v.Btn, class_="kds-play")) == 1
    rc.find(v.Btn, class_="kds-reset").widget.click()
    assert day() == "0"
    assert len(rc.find(class_="kds-controls")) == 1
    rc.find(v.Btn, class_="kds-present").widget.click()  # presentation: the levers go
    assert len(rc.find(class_="kds-controls")) == 0
    rc.find(v.Btn, class_="kds-info-button").widget.click()
    assert "Things to try" in str(rc.find(class_="kds-overlay kds-info").widget)
    rc.find(v.Btn, class_="kds-lang-id kds-lang-off").widget.click()
    assert "Hal yang bisa dicoba" in str(rc.find(class_="kds-overlay kds-info").widget)
    rc.close()


def test_plot_data_follows_the_model(base, levers):
    pytest.importorskip("solara")
    from kds_sim.app import components

    model = ClassroomModel(base, levers.with_(capacity_building=True))
    for _ in range(40):
        model.step()
    static = components.network_static(model)
    assert len(static["people"]) == 90 and np.max(static["people"]) <= 1
    assert {f for _, f in static["using"]} == set(range(len(static["friends"])))
    never = components.never_relapsed_props(model, "en")
    assert [len(s["values"]) for s in never["series"]] == [41, 41]
    assert never["series"][0]["values"][-1] == round(100 * model.never_relapsed()[-1], 2)
    assert never["series"][1]["dash"] and never["band"] == {
        "upper": 0,
        "lower": 1,
        "color": colours.WITH_GROUP,
    }  # the no-group line is drawn last: on top of the group's line
    assert never["y_min"] <= min(v for s in never["series"] for v in s["values"])
    capacity = components.capacity_props(model, "id")
    assert len(capacity["series"]) == 8 and capacity["hline"] == 2.75
    assert capacity["series"][5]["label"] == "kemampuan SDM"
    assert capacity["series"][5]["values"][-1] > capacity["series"][5]["values"][0]  # trained
    dynamic = components.network_dynamic(model, 0)
    assert dynamic["status"] == model.people.status.tolist()


def test_monitors_show_the_day_the_two_lines_and_the_gap(base, levers):
    pytest.importorskip("solara")
    from kds_sim.app import components

    model = ClassroomModel(base, levers)
    for _ in range(90):
        model.step()
    shown = {name: value for name, value, _ in components.monitors(model, "en", 365)}
    never = 100 * model.never_relapsed()[-1]
    without = 100 * model.never_relapsed(baseline=True)[-1]
    assert shown["day"] == "90" and shown["never-with"] == f"{never:.1f} %"
    assert shown["never-without"] == f"{without:.1f} %"
    assert int(shown["averted"]) == round((never - without) * 90 / 100)


def test_info_panel_in_both_languages():
    pytest.importorskip("solara")
    from kds_sim.app.components import info_markdown

    heads = {lang: re.findall(r"^## (.+)$", info_markdown(lang), re.M) for lang in LANGS}
    assert heads["en"][:4] == ["What it is", "How to use it", "Things to notice", "Things to try"]
    assert len(heads["id"]) == len(heads["en"])


# -- colours ---------------------------------------------------------------------------------
MIN_LIGHTNESS_GAP = 20.0  # CIELAB L*; about the gap between mid grey and a light grey
MIN_STAY_GAP = 12.0
"""L* between any two of the five filled states: model 0.3's two stays sit in the gaps of the
three relapse states (their own shape is the first cue), so five levels cannot all be 20 apart."""
MIN_DELTA_E = 18.0  # CIELAB delta E 1976 between any two filled states, for every eye
USE_STATES = (0, 1, 2)  # abstinent, lapsed, relapsed (kds_sim.model.rules)
FILLED_STATES = (0, 1, 2, 4, 5)  # and in treatment, incarcerated; 3 (absent) is a faded ring


@pytest.mark.parametrize("vision", ["normal", "protanopia", "deuteranopia"])
def test_states_differ_in_lightness_for_colour_blind_eyes(vision):
    use = tuple(colours.STATE_COLORS[s] for s in USE_STATES)
    assert colours.smallest_lightness_gap(use, vision) >= MIN_LIGHTNESS_GAP
    filled = tuple(colours.STATE_COLORS[s] for s in FILLED_STATES)
    assert colours.smallest_lightness_gap(filled, vision) >= MIN_STAY_GAP
    assert colours.smallest_difference(filled, vision) >= MIN_DELTA_E
    lines = (colours.WITH_GROUP, colours.WITHOUT_GROUP)
    assert colours.smallest_lightness_gap(lines, vision) >= MIN_LIGHTNESS_GAP
    # and shape, whatever the eyes: one each, by status code, as the model numbers them
    assert len(colours.STATE_COLORS) == len(colours.STATE_SHAPES) == len(STATE_NAMES) == 6
    assert len(set(colours.STATE_SHAPES)) == 6 and colours.STATE_SHAPES[3] == "ring"
    assert set(colours.SHAPE_LETTERS) == set(colours.STATE_SHAPES)
    assert len(set(colours.SHAPE_LETTERS.values())) == 6
    # the shapes the legend draws are those the canvas draws
    network = (Path(colours.__file__).parent / "network.vue").read_text()
    assert all(f"'{shape}'" in network for shape in colours.STATE_SHAPES[1:])


def test_colour_blindness_simulation_is_machado_2009():
    # red and green nearly merge for a deuteranope; white and black stay white and black
    red = colours.lightness(colours.simulate("#d62728", "deuteranopia"))
    green = colours.lightness(colours.simulate("#2ca02c", "deuteranopia"))
    assert abs(red - green) < 12
    for vision in colours.MACHADO_2009:
        assert colours.lightness(colours.simulate("#ffffff", vision)) == pytest.approx(100, abs=0.5)
        assert colours.lightness(colours.simulate("#000000", vision)) == pytest.approx(0, abs=1e-9)
    assert colours.lightness(colours.linear_rgb("#777777")) == pytest.approx(50.0, abs=0.5)
    # CIELAB of sRGB red (53.24, 80.09, 67.20): the reference values
    red_lab = colours.lab(colours.linear_rgb("#ff0000"))
    assert red_lab == pytest.approx([53.24, 80.09, 67.20], abs=0.05)
    assert colours.smallest_difference(("#ffffff", "#000000"), "normal") == pytest.approx(100)


# -- lessons ---------------------------------------------------------------------------------
def test_twenty_classes_are_the_apps_seeds(base):
    settings = Levers.from_scenario(base, people=60, seed=1, days=90)
    got = lessons.outcomes(base, settings, 60, [1, 2, 3])
    for k, seed in enumerate([1, 2, 3]):
        model = ClassroomModel(base, settings.with_(seed=seed))
        for _ in range(60):
            model.step()
        assert got["never_with"][k] == pytest.approx(100 * model.never_relapsed()[-1])
        assert got["never_without"][k] == pytest.approx(100 * model.never_relapsed(True)[-1])
        assert got["capacity"][k] == pytest.approx(model.series("capacity_mean")[-1])


def test_every_exercise_compares_presets_on_a_measure():
    for exercise in lessons.EXERCISES:
        assert {exercise.before, exercise.after} <= set(lessons.PRESETS)
        assert exercise.measure in lessons.MEASURES and exercise.sign in (-1, 1)
        before, after = lessons.PRESETS[exercise.before], lessons.PRESETS[exercise.after]
        assert before.stop == after.stop  # compared on the same day


def test_a_day_sends_everyones_state_so_a_lost_day_cannot_leave_the_picture_wrong(base, levers):
    """The browser redraws whoever differs from what it drew: the day's message carries the
    whole status and membership arrays, not changes against the day before."""
    pytest.importorskip("solara")
    from kds_sim.app import components

    model = ClassroomModel(base, levers)
    for _ in range(3):
        model.step()
    sent = components.network_changes(model)
    assert sent["status"] == model.people.status.tolist()
    assert sent["member"] == model.people.member.astype(int).tolist()
    assert sent["day"] == model.day == 3


# -- model 0.3: in treatment, incarcerated, no longer here -----------------------------------
STAYS = {
    "behaviour.incarceration_rate": 0.5,  # shipped mechanisms, turned up so 150 people in 400
    "behaviour.reentry_rate": 2.0,  # days surely reach every state
    "population.death_rate": 0.05,
    "population.overdose_death_rate": 0.2,
}


@pytest.fixture(scope="module")
def trial_model(base) -> ClassroomModel:
    """The app's model with model 0.3's stays and exits made frequent, run 400 days with 150
    people."""
    scenario = base.updated(STAYS)
    check_classroom(scenario, Levers.from_scenario(scenario), "trial.toml")
    model = ClassroomModel(scenario, Levers.from_scenario(scenario, people=150, seed=1, days=400))
    for _ in range(400):
        model.step()
    return model


def test_stays_and_exits_are_counted_and_shown(trial_model):
    """The run reaches states 4 (in treatment) and 5 (incarcerated) and people leave (3); the
    states chart counts every state every day (its counts add up to the class), and the
    legend, labels, colours and shapes cover them in both languages."""
    pytest.importorskip("solara")
    from kds_sim.app import components

    model, n = trial_model, 150
    assert model.states == (0, 1, 2, 4, 5, 3)
    counts = {code: model.state_counts(code) for code in model.states}
    assert all(len(c) == 401 for c in counts.values())
    assert all(sum(day) == n for day in zip(*counts.values(), strict=True))
    for code in (3, 4, 5):
        assert max(counts[code]) > 0, code  # the trial values reach every state
        assert counts[code][-1] == int((model.people.status == code).sum())
    codes = {c for s in model.stories for e in s for c in e.codes}
    assert {"treatment_stay", "treatment_done", "incarcerated", "life_event"} <= codes
    assert "died_overdose" in codes and {"released", "released_using"} & codes
    for lang, treated, jailed in (
        ("en", "in treatment", "incarcerated"),
        ("id", "menjalani rehabilitasi", "di penjara"),
    ):
        chart = components.states_props(model, lang)
        lines = {s["label"]: s for s in chart["series"]}
        assert lines[treated]["color"] == colours.STATE_COLORS[4] and lines[treated]["dash"]
        assert lines[jailed]["color"] == colours.STATE_COLORS[5] and lines[jailed]["dash"]
        assert lines[jailed]["values"] == counts[5]
        labels = components.network_labels(lang)
        assert labels["states"][4] == treated and labels["states"][5] == jailed
        assert labels["shapes"][4:] == ["plus", "star"] and labels["letters"][3] == "o"
        legend = components.legend_html(lang, model.states)
        for code, label in ((4, treated), (5, jailed)):
            assert label in legend and colours.STATE_COLORS[code] in legend
        assert components.MARKS["plus"] in legend and components.MARKS["star"] in legend
        assert components.MARKS["ring"] in legend  # the faded mark of those no longer here
    sent = components.network_changes(model)
    assert 3 in set(sent["status"]) <= set(model.states)  # the faded ones are sent too
    for i in np.flatnonzero(model.people.status == 5)[:1]:
        assert "Person" in components.person_html(model, int(i), "en")
        assert ": incarcerated" in components.person_html(model, int(i), "en")


def test_a_02_scenario_shows_only_the_three_states(base, levers):
    """With the 0.3 mechanisms off, the stays have no legend entry and no chart line."""
    pytest.importorskip("solara")
    from kds_sim.app import components
    from kds_sim.model.parameters import MODEL_0_2

    model = ClassroomModel(base.updated(MODEL_0_2), levers)
    for _ in range(5):
        model.step()
    assert model.states == (0, 1, 2)
    assert model.state_counts(4) == model.state_counts(5) == [0] * 6  # no column, no one
    assert model.state_counts(0) == model.series("abstinent")
    assert len(components.states_props(model, "en")["series"]) == 3

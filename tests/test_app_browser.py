"""End to end: `kds-sim app` in headless Chromium, as a lecturer would use it on a projector.

Starts the app on a free loopback port and opens it in Debian's `chromium` driven by
Playwright, at 1366x768 and 1920x1080: the big numbers, the network and the three plots are
inside the window with no scrolling and no text under 18 px, also in presentation mode; Play
with "stop at day 365" stops on day 365 exactly and shows the lesson plan's generated numbers;
the state colours drawn keep their lightness apart for deuteranopes and protanopes; presets,
"Run 20 classes", the Info panel and Bahasa Indonesia work. Writes the screenshots used by the
README and docs/teaching*.md into docs/img/app/ (at 1366x768), and checks that the server
listens on 127.0.0.1 only. Skipped, with the reason, where chromium or the app's packages are
missing (`.ci/app-deps` installs them).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).absolute().parents[1]
SHOTS = ROOT / "docs" / "img" / "app"
PEOPLE = 150  # the lesson presets' class size
SIZES = [(1366, 768), (1920, 1080)]
FIGURES = ROOT / "experiments" / "results" / "teaching_figures.json"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
MISSING = [
    name
    for name in ("playwright", "solara", "solara_assets", "ipyvuetify")
    if importlib.util.find_spec(name) is None
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="needs Debian's chromium package "
        "(apt-get install -y chromium; .ci/app-deps does it)",
    ),
    pytest.mark.skipif(
        bool(MISSING),
        reason=f"needs the app extra and playwright (missing: "
        f"{', '.join(MISSING)}; pip install -e '.[app,browser]')",
    ),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def command() -> list[str]:
    script = Path(sys.executable).with_name("kds-sim")
    if script.exists():
        return [str(script)]
    return [
        sys.executable,
        "-c",
        "import sys; from kds_sim.cli.main import main; sys.exit(main(sys.argv[1:]))",
    ]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, int, subprocess.Popen]]:
    port = free_port()
    log = tmp_path_factory.mktemp("app") / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*command(), "app", "--port", str(port), "--people", str(PEOPLE), "--seed", "1"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"kds-sim app exited with {proc.returncode}:\n{log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail(f"kds-sim app did not listen within 60 s:\n{log.read_text()}")
        yield f"http://127.0.0.1:{port}/", port, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield chromium
        chromium.close()


def open_page(browser, server, width: int, height: int):
    tab = browser.new_page(viewport={"width": width, "height": height})
    tab.set_default_timeout(30_000)
    tab.goto(server[0])
    tab.wait_for_selector(".kds-people")  # the network canvas
    tab.wait_for_timeout(500)  # the plots measure their boxes
    return tab


def day(page) -> int:
    return int(page.inner_text(".kds-day"))


def playing(page) -> bool:
    return page.inner_text(".kds-play").strip() in ("Pause", "Jeda")


def play_to_stop(page, timeout_ms: int = 240_000) -> int:
    """Press Play and wait until the run stops by itself (on the stop day)."""
    start = day(page)
    page.click(".kds-play")
    page.wait_for_function(
        "n => { const d = document.querySelector('.kds-day'); const p = document.querySelector("
        "'.kds-play'); return d && p && parseInt(d.innerText) > n && "
        "!['Pause', 'Jeda'].includes(p.innerText.trim()); }",
        arg=start,
        timeout=timeout_ms,
    )
    page.wait_for_timeout(1000)  # nothing moves after the stop
    return day(page)


def shot(page, name: str) -> None:
    """A screenshot for the docs, with no tooltip over it (the mouse moved off the controls)."""
    page.mouse.move(700, 300)
    page.wait_for_timeout(600)
    page.screenshot(path=SHOTS / name)


def monitor(page, name: str) -> str:
    return page.inner_text(f".kds-monitor-{name} .kds-value").strip()


def inside(page, selector: str) -> None:
    box = page.locator(selector).first.bounding_box()
    view = page.viewport_size
    assert box is not None, f"{selector} is not drawn"
    assert box["x"] >= 0 and box["y"] >= 0, (selector, box)
    assert box["x"] + box["width"] <= view["width"] + 0.5, (selector, box, view)
    assert box["y"] + box["height"] <= view["height"] + 0.5, (selector, box, view)
    assert box["width"] > 150 and box["height"] > 60, (selector, box)


SMALL_TEXT = """() => {
  const out = [];
  for (const e of document.querySelectorAll('.kds-app *')) {
    const own = [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const box = e.getBoundingClientRect();
    if (!own || box.width === 0 || box.bottom < 0 || box.top > innerHeight) continue;
    const size = parseFloat(getComputedStyle(e).fontSize);
    if (size < 18) out.push(`${e.tagName}.${e.className}: ${size}px '${e.textContent.trim()}'`);
  }
  return out;
}"""
PIXELS = """() => {
  // for every person on the network canvas: [state, fill the canvas used for that state,
  // shape it drew, colour of the pixel at their centre, whether no one else is within 20 px]
  const canvas = document.querySelector('.kds-people');
  const g = canvas.getContext('2d'), scale = canvas.width / canvas.clientWidth;
  const fills = canvas.dataset.fills.split(' ');
  const hex = (v) => v.toString(16).padStart(2, '0').toUpperCase();
  const people = [...document.querySelectorAll('.kds-person')].map(
    (b) => [+b.dataset.person, +b.dataset.state, +b.dataset.x, +b.dataset.y]);
  return people.map(([i, state, x, y]) => {
    const p = g.getImageData(Math.floor(x * scale), Math.floor(y * scale), 1, 1).data;
    const alone = people.every(([j, s, u, v]) => j === i || Math.hypot(u - x, v - y) > 20);
    return [state, fills[state], canvas.dataset.shapes[i],
            '#' + hex(p[0]) + hex(p[1]) + hex(p[2]), alone];
  });
}"""
SAME_AS_FULL = """() => {
  // [pixels of the network canvas that change by more than 64 when it is drawn afresh, all]
  const canvas = document.querySelector('.kds-people'), g = canvas.getContext('2d');
  const read = () => g.getImageData(0, 0, canvas.width, canvas.height).data;
  const day = read();
  canvas.kdsRedraw();
  const full = read();
  let off = 0;
  for (let i = 0; i < day.length; i += 4) {
    const d = Math.max(Math.abs(day[i] - full[i]), Math.abs(day[i + 1] - full[i + 1]),
                       Math.abs(day[i + 2] - full[i + 2]));
    if (d > 64) off++;
  }
  return [off, day.length / 4];
}"""
ON_SCREEN = [
    ".kds-monitor-day",
    ".kds-monitor-never-with",
    ".kds-monitor-never-without",
    ".kds-monitor-averted",
    ".kds-network-card",
    ".kds-plot-never",
    ".kds-plot-states",
    ".kds-plot-capacity",
]


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_one_projector_screen(browser, server, width, height):
    page = open_page(browser, server, width, height)
    try:
        assert "group_as_assessed" not in page.inner_text(".kds-app")  # details: folded away
        for presenting in (False, True):
            if presenting:
                page.click(".kds-present")
                page.wait_for_selector(".kds-controls", state="detached")
                page.wait_for_timeout(500)
            for selector in ON_SCREEN:
                inside(page, selector)
            size = page.evaluate(
                "() => [document.documentElement.scrollWidth,"
                " document.documentElement.scrollHeight]"
            )
            assert size == [width, height], "the page scrolls"
            assert page.evaluate(SMALL_TEXT) == []
            ticks = page.eval_on_selector_all(
                ".kds-plot-never .kds-tick", "els => els.map(e => e.getBoundingClientRect().height)"
            )
            assert ticks and min(ticks) >= 16, ticks  # 18 px glyphs, measured on screen
        # a new day redraws the network only around the people who changed: after a few
        # days it must look as if drawn afresh (up to anti-aliasing: no pixel off by > 64)
        for n in range(1, 4):
            page.click(".kds-step")
            page.wait_for_function(
                "n => document.querySelector('.kds-people').dataset.day === String(n)", arg=n
            )
        off, pixels = page.evaluate(SAME_AS_FULL)
        assert off <= 0.001 * pixels, (off, pixels)
        # the language toggle says which language is on
        assert page.get_attribute(".kds-lang-en", "aria-pressed") == "true"
        assert page.get_attribute(".kds-lang-id", "aria-pressed") == "false"
        assert "kds-lang-on" in page.get_attribute(".kds-lang-en", "class")
    finally:
        page.close()


def test_a_lesson_on_a_projector(browser, server):
    from kds_sim.app import colours
    from kds_sim.messages import t

    page = open_page(browser, server, *SIZES[0])
    figures = json.loads(FIGURES.read_text())["values"]
    try:
        assert page.locator(".kds-person").count() == PEOPLE
        assert day(page) == 0 and not playing(page)

        # stop at day 365 (the default stop): Play stops on 365 exactly
        assert play_to_stop(page) == 365
        assert not playing(page)
        # the lesson plan's numbers are what the app shows (exercise 1a, seed 1, day 365)
        assert monitor(page, "never-with") == f"{figures['defaults.seed1.never_with']:.1f} %"
        assert monitor(page, "never-without") == (
            f"{figures['defaults.seed1.never_without']:.1f} %"
        )
        assert monitor(page, "averted") == f"+{round(figures['defaults.seed1.averted'])}"

        # colours: what is drawn keeps states apart in lightness for colour-blind eyes. The
        # network is a canvas: it says which shape and fill it drew for each person
        # (data-shapes, data-fills), and the pixels at the centres of people no other mark
        # can reach (no one else within 20 px) must be exactly that fill
        drawn: dict[int, set[str]] = {}
        isolated = 0
        for state, fill, shape, pixel, alone in page.evaluate(PIXELS):
            drawn.setdefault(state, set()).add(fill.upper())
            # circle abstinent, triangle lapsed, square relapsed (model 0.3: plus in
            # treatment, star incarcerated; a hollow ring for someone no longer here)
            assert shape == colours.SHAPE_LETTERS[colours.STATE_SHAPES[state]]
            if alone and colours.STATE_SHAPES[state] != "ring":
                isolated += 1
                assert pixel == fill.upper(), (state, fill, pixel)
        assert isolated >= 5, isolated
        assert {0, 2} <= set(drawn) <= set(range(len(colours.STATE_COLORS))), drawn
        fills = {state: next(iter(f)) for state, f in drawn.items() if state != 3}  # 3: ring
        assert all(len(f) == 1 for f in drawn.values())
        use = tuple(f for state, f in fills.items() if state < 3)
        for vision in ("normal", "deuteranopia", "protanopia"):
            assert colours.smallest_lightness_gap(use, vision) >= 20, vision
            assert colours.smallest_lightness_gap(tuple(fills.values()), vision) >= 12, vision
        # the no-group line is drawn on top of the group's line (the canvas's drawing order)
        order = page.get_attribute(".kds-plot-never .kds-lines", "data-order").split()
        assert order == [colours.WITH_GROUP, colours.WITHOUT_GROUP]
        assert page.get_attribute(".kds-plot-never .kds-lines", "data-days") == "366"

        # follow a person whose story has a relapse in it: click them on the canvas (the
        # view finds who is under the mouse), and their tooltip names them
        chosen = int(page.eval_on_selector(".kds-person[data-state='2']", "e => e.dataset.person"))
        spot = page.locator(f".kds-person[data-person='{chosen}']")
        x, y = float(spot.get_attribute("data-x")), float(spot.get_attribute("data-y"))
        box = page.locator(".kds-people").bounding_box()
        page.mouse.move(box["x"] + x, box["y"] + y)
        page.wait_for_function(
            "n => document.querySelector('.kds-people').title.startsWith('Person ' + n + ':')",
            arg=chosen + 1,
        )
        page.mouse.click(box["x"] + x, box["y"] + y)
        page.wait_for_function(
            "n => document.querySelector('.kds-person-heading').innerText"
            ".startsWith('Person ' + n + ':')",
            arg=chosen + 1,
        )
        story = page.eval_on_selector_all(".kds-story-line", "els => els.map(e => e.innerText)")
        assert story[-1].startswith("day 0: left rehab") and "relapse" in "\n".join(story)
        SHOTS.mkdir(parents=True, exist_ok=True)
        shot(page, "app-en.png")

        # run 20 classes: one dot a class, and the group averts relapses in at least 18
        page.click(".kds-classes-button")
        page.wait_for_selector(".kds-class-dot", timeout=120_000)
        titles = page.eval_on_selector_all(".kds-class-dot", "els => els.map(e => e.textContent)")
        assert len(titles) == 20
        averted = [float(t.split(":")[1].replace(",", ".")) for t in titles]
        assert sum(a > 0 for a in averted) >= 18, averted
        assert min(averted) == figures["defaults.low.averted"]
        assert max(averted) == figures["defaults.high.averted"]
        shot(page, "app-classes.png")
        page.click(".kds-classes .kds-close")

        # the lesson inside the app
        page.click(".kds-info-button")
        page.wait_for_selector(".kds-info >> text=Things to try")
        page.click(".kds-info .kds-close")

        # a preset: capacity building and mentoring, two years (stops at 730)
        page.click(".kds-preset")
        page.click(".v-menu__content .v-list-item >> text=capacity building and mentoring")
        page.wait_for_function("() => document.querySelector('.kds-day').innerText === '0'")
        assert play_to_stop(page, timeout_ms=400_000) == 730
        assert monitor(page, "averted") == f"+{round(figures['mentoring.seed1.averted'])}"
        shot(page, "app-capacity.png")

        # Bahasa Indonesia: every label switches, and the toggle shows it
        page.click(".kds-lang-id")
        page.wait_for_selector(".kds-monitor-day >> text=hari")
        assert page.get_attribute(".kds-lang-id", "aria-pressed") == "true"
        page.wait_for_selector("text=Latihan siap pakai")
        page.wait_for_selector(
            f".kds-plot-never .kds-legend >> text={t('charts.without_group', 'id')}"
        )
        shot(page, "app-id.png")
        page.click(".kds-lang-en")
        page.wait_for_selector(".kds-monitor-day >> text=day")
    finally:
        page.close()


def _listeners(port: int) -> list[str]:
    """Local addresses listening on `port`, from /proc/net/tcp and tcp6 (Linux)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for row in path.read_text().splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.append(address)
    return found


def test_listens_on_loopback_only(server):
    _, port, proc = server
    assert proc.poll() is None
    listeners = _listeners(port)
    if Path("/proc/net/tcp").exists():
        assert listeners == ["0100007F"], f"listening on {listeners} (want 127.0.0.1 only)"
    others = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
    for address in others - {"127.0.0.1"}:
        if address.startswith("127."):
            continue
        with pytest.raises(OSError), socket.create_connection((address, port), timeout=2):
            pass

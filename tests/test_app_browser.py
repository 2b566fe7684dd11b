"""End to end: `kds-sim app` in headless Chromium, as a lecturer would use it.

Starts the app on a free loopback port, opens it in Debian's `chromium` driven by Playwright,
presses play, moves a lever, follows a person, switches to Bahasa Indonesia, writes the
screenshots used by docs/teaching.md and the README into docs/img/app/, and checks that the
server listens on 127.0.0.1 only. Skipped, with the reason, where chromium or the app's
packages are missing (`.ci/app-deps` installs them).
"""

from __future__ import annotations

import importlib.util
import re
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
PEOPLE = 100
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
            [*command(), "app", "--port", str(port), "--people", str(PEOPLE), "--seed", "3"],
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
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        tab = browser.new_page(viewport={"width": 1920, "height": 1080})
        tab.set_default_timeout(30_000)
        tab.goto(server[0])
        tab.wait_for_selector(".kds-person")
        yield tab
        browser.close()


def day(page) -> int:
    return int(re.search(r"\d+", page.inner_text(".kds-day")).group())


DAY_AT_LEAST = """(n) => {
  const day = document.querySelector('.kds-day');  // briefly absent while the page redraws
  return day !== null && parseInt(day.innerText.match(/\\d+/)[0]) >= n;
}"""
DAY_IS = DAY_AT_LEAST.replace(">= n", "=== n")


def wait_day(page, at_least: int) -> None:
    page.wait_for_function(DAY_AT_LEAST, arg=at_least, timeout=60_000)


def run_to(page, target: int) -> int:
    """Press play, wait until the day counter reaches `target`, press pause."""
    page.click(".kds-play")
    wait_day(page, target)
    page.click(".kds-play")
    page.wait_for_timeout(400)  # let the last drawn day settle
    return day(page)


def fills(page) -> list[str]:
    return page.eval_on_selector_all(".kds-person", "els => els.map(e => e.getAttribute('fill'))")


def states(page) -> list[int]:
    return [
        int(s)
        for s in page.eval_on_selector_all(
            ".kds-person", "els => els.map(e => e.getAttribute('data-state'))"
        )
    ]


def points(page, plot: str) -> list[str]:
    return page.eval_on_selector_all(
        f".kds-plot-{plot} polyline", "els => els.map(e => e.getAttribute('points'))"
    )


def screenshot(page, name: str) -> None:
    """The whole page for the docs: the app scrolls inside its layout, so grow the window."""
    page.set_viewport_size({"width": 1920, "height": 1360})
    page.wait_for_timeout(500)
    page.screenshot(path=SHOTS / name)
    page.set_viewport_size({"width": 1920, "height": 1080})


def test_classroom_session(page):
    assert page.locator(".kds-person").count() == PEOPLE
    assert day(page) == 0
    page.locator(".kds-lever-speed [role=slider]").press("End")  # fastest: the page sets the pace
    start_fills, start_lines = fills(page), points(page, "states")
    assert set(start_fills) == {start_fills[0]}  # everyone abstinent at discharge

    # play: the network and the plots move
    reached = run_to(page, 60)
    assert reached >= 60
    assert set(states(page)) != {0}, "nobody lapsed or relapsed in 60 days"
    before_fills, before_lines = fills(page), points(page, "states")
    assert before_fills != start_fills
    assert before_lines != start_lines
    assert points(page, "never") != []

    # a lever: more using friends; the run restarts from day 0 on the same seed
    friends_before = int(page.get_attribute(".kds-friends", "data-friends"))
    slider = page.locator(".kds-lever-using_ties [role=slider]")
    slider.focus()
    for _ in range(4):  # 2.0 -> 4.0 ties per person
        slider.press("ArrowRight")
        page.wait_for_timeout(250)
    page.wait_for_function(
        "() => document.querySelector('.kds-lever-using_ties').innerText.includes('4.0')"
    )
    page.wait_for_function(
        "n => parseInt(document.querySelector('.kds-friends').getAttribute('data-friends')) > n",
        arg=friends_before,
    )
    assert day(page) == 0
    assert set(fills(page)) == {start_fills[0]}
    after = run_to(page, reached)
    assert after >= reached
    assert fills(page) != before_fills
    assert points(page, "states") != before_lines

    # follow one person whose story has a lapse in it
    chosen = next((i for i, s in enumerate(states(page)) if s != 0), 0)
    page.click(f".kds-person[data-person='{chosen}']")
    page.wait_for_function(
        "n => document.querySelector('.kds-person-heading').innerText"
        ".startsWith('Person ' + n + ':')",
        arg=chosen + 1,
    )
    lines = page.eval_on_selector_all(".kds-story-line", "els => els.map(e => e.innerText)")
    assert lines[-1].startswith("day 0: left rehab")
    story = "\n".join(lines)
    if states(page)[chosen] != 0:
        assert "lapsed" in story or "relapse" in story, story
    assert re.search(r"day \d+: .*\(high-risk situation\)", story), story
    SHOTS.mkdir(parents=True, exist_ok=True)
    screenshot(page, "app-en.png")

    # capacity building: the group's PEKA scores rise in month 1, then erode
    page.click(".kds-lever-capacity_building label")
    page.wait_for_function(DAY_IS, arg=0)
    run_to(page, 200)
    human_resources = points(page, "capacity")[5].split()
    assert float(human_resources[-1].split(",")[1]) < float(human_resources[0].split(",")[1])
    assert "Mean capacity today" in page.inner_text(".kds-plot-capacity")
    screenshot(page, "app-capacity.png")

    # Bahasa Indonesia: every label and the story switch
    page.click(".kds-lang-id")
    page.wait_for_function(
        "() => (document.querySelector('.kds-day') || {innerText: ''}).innerText.startsWith('Hari')"
    )
    # the page re-renders part by part: wait for the followed person's panel too
    page.wait_for_function(
        "() => (document.querySelector('.kds-person-heading') || {innerText: ''})"
        ".innerText.startsWith('Orang')"
    )
    heading = page.inner_text(".kds-person-heading")
    assert heading.startswith(f"Orang {chosen + 1}:")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.kds-story-line')].every("
        "e => e.innerText.startsWith('hari'))"
    )
    lines = page.eval_on_selector_all(".kds-story-line", "els => els.map(e => e.innerText)")
    assert lines[-1].startswith("hari 0: keluar dari rehabilitasi")
    page.wait_for_selector("text=Pengaturan untuk pembelajaran")  # the sidebar switched too
    page.wait_for_selector("text=Jalankan model")
    screenshot(page, "app-id.png")
    page.click(".kds-lang-en")
    page.wait_for_function(
        "() => (document.querySelector('.kds-day') || {innerText: ''}).innerText.startsWith('Day')"
    )


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

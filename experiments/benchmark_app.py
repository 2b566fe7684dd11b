"""How long one day of the classroom app takes: model step plus redraw, at 80 and 150 people.

Issue 13 asks for under about 100 ms per step and redraw at 150 people on a 2-core machine.
Four measures per class size, each after 100 days so the plots carry data:
- model_step: ClassroomModel.step (the agent engine, the no-group baseline, story lines);
- view_data: computing what every component shows (network states, four plots, story);
- solara_render: pressing Step in the page rendered in-process by Solara (step, render and
  widget updates, without a browser);
- browser_step_redraw: pressing Step in headless Chromium until the new day is drawn (the
  day counter and the plots changed, then one animation frame): what a class sees. Needs
  Debian's chromium and playwright; skipped with a note if they are missing.

Run: .venv/bin/python experiments/benchmark_app.py   (about a minute; writes
experiments/results/benchmark_app.csv)
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).absolute().parents[1]
OUT = ROOT / "experiments" / "results" / "benchmark_app.csv"
SCENARIO = ROOT / "scenarios" / "group_as_assessed.toml"
WARMUP_DAYS = 100

DAY_AT_LEAST = """(n) => {
  const day = document.querySelector('.kds-day');  // briefly absent while the bar redraws
  return day !== null && parseInt(day.innerText.match(/\\d+/)[0]) >= n;
}"""
BROWSER_STEPS = """async (n) => {
  const text = (selector) => (document.querySelector(selector) || {innerText: ''}).innerText;
  const plot = () => document.querySelector('.kds-plot-states .kds-series-0')
                             .getAttribute('points');
  const times = [];
  for (let k = 0; k < n; k++) {
    const day = text('.kds-day'), points = plot();
    const start = performance.now();
    document.querySelector('.kds-step').click();
    await new Promise((done, fail) => {
      const check = () => {
        if (text('.kds-day') !== day && plot() !== points) requestAnimationFrame(() => done());
        else if (performance.now() - start > 10000) fail(new Error('no redraw in 10 s'));
        else requestAnimationFrame(check);
      };
      check();
    });
    times.push(performance.now() - start);
    await new Promise((pause) => setTimeout(pause, 60));
  }
  return times;
}"""


def timed(action: Callable[[], object], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(1000 * (time.perf_counter() - start))
    return times


def in_process(people: int, repeats: int) -> dict[str, list[float]]:
    import ipyvuetify as v
    import solara

    import kds_sim
    from kds_sim.app import components
    from kds_sim.app.model import ClassroomModel, Levers
    from kds_sim.app.server import AppConfig

    base = kds_sim.load_scenario(SCENARIO)
    model = ClassroomModel(base, Levers.from_scenario(base, people=people, seed=1))
    for _ in range(WARMUP_DAYS):
        model.step()
    person = components.default_person(model)

    def view() -> None:
        components.network_dynamic(model, person)
        components.never_relapsed_props(model, "en")
        components.states_props(model, "en")
        components.capacity_props(model, "en")
        components.person_chart_props(model, person, "en")
        components.person_html(model, person, "en")

    components.network_static(model)  # the layout: once per run, not part of a day
    results = {"model_step": timed(model.step, repeats), "view_data": timed(view, repeats)}

    config = AppConfig(scenario=str(SCENARIO), people=people, seed=1)

    @solara.component
    def Page() -> None:
        with solara.AppLayout():
            components.App(config)

    with contextlib.redirect_stdout(io.StringIO()):  # outside a server the app bar is printed
        _, rc = solara.render(Page(), handle_error=False)
        button = rc.find(v.Btn, class_="kds-step").widget
        for _ in range(WARMUP_DAYS):
            button.click()
        results["solara_render"] = timed(button.click, repeats)
        rc.close()
    return results


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def in_browser(people: int, repeats: int) -> list[float] | None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("browser: playwright is not installed; skipped", file=sys.stderr)
        return None
    if chromium is None:
        print("browser: chromium is not installed; skipped", file=sys.stderr)
        return None
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from kds_sim.cli.main import main; sys.exit(main(sys.argv[1:]))",
            "app",
            "--port",
            str(port),
            "--people",
            str(people),
            "--seed",
            "1",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.3)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector(".kds-person", timeout=60_000)
            page.locator(".kds-lever-speed [role=slider]").press("End")  # 30 days a second
            page.click(".kds-play")
            page.wait_for_function(DAY_AT_LEAST, arg=WARMUP_DAYS, timeout=120_000)
            page.click(".kds-play")
            page.wait_for_selector(".kds-step:not([disabled])")  # paused: Step is enabled
            page.wait_for_timeout(500)
            times = page.evaluate(BROWSER_STEPS, repeats)
            browser.close()
        return [float(x) for x in times]
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)


def summary(people: int, measure: str, times: list[float]) -> dict[str, object]:
    ordered = sorted(times)
    return {
        "people": people,
        "measure": measure,
        "n": len(times),
        "mean_ms": round(statistics.fmean(times), 1),
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
        "max_ms": round(ordered[-1], 1),
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores",
        "load_1min": round(os.getloadavg()[0], 2),
    }  # the machine is shared: say how busy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, nargs="+", default=[80, 150])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    rows = []
    for people in args.people:
        for measure, times in in_process(people, args.repeats).items():
            rows.append(summary(people, measure, times))
        browser = None if args.no_browser else in_browser(people, args.repeats)
        if browser:
            rows.append(summary(people, "browser_step_redraw", browser))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for row in rows:
        print(
            f"{row['people']:>4} people  {row['measure']:<20} mean {row['mean_ms']:>6} ms  "
            f"median {row['median_ms']:>6} ms  p95 {row['p95_ms']:>6} ms"
        )
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

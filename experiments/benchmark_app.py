"""How long one day of the classroom app takes: model step and redraw, separately, at 150 people.

Issue 24 asks for 30 days per second at 150 people: p95 of step plus redraw under 33 ms on a
2-core machine. The model step and the redraw are timed apart, because the step gets faster
with the engine rewrite and the redraw does not. Measures per class size, each after 100 days
so the plots carry data:
- model_step (wall) and model_step_cpu (process CPU time): ClassroomModel.step (the agent
  engine, the no-group baseline, story lines);
- view_data: computing what every component shows (numbers, network states, three plots, story);
- solara_redraw: the page rendered in-process by Solara redrawing one day with the model step
  taken out (render and widget updates, without a browser);
- solara_step_redraw: pressing Step in that page (step, render and widget updates);
- *_cpu: the same in process CPU time, the honest measure on a machine shared with others
  (wall time there includes waiting for a core);
- browser_step_redraw: pressing Step in headless Chromium until the new day is drawn (the day
  counter and the plots changed, then one animation frame): what a class sees;
- browser_play_day: the time per day while playing at 30 days per second, from the moments the
  day counter changes in Chromium (what the speed slider promises). Needs Debian's chromium
  and playwright; skipped with a note if they are missing.
- browser_play_cpu_server_per_day and browser_play_cpu_browser_per_day: the CPU time the app's
  server process and Chromium's processes spent per day played (from /proc, over the whole
  browser_play_day run: one number, so mean = median = p95). Their sum under 33 ms means the
  machine can play 30 days a second when it is not shared.

The machine is shared: every row carries the 1-minute load average when it was measured.

Run: .venv/bin/python experiments/benchmark_app.py   (a few minutes; writes
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
  // textContent, not innerText: reading must not make the browser lay the page out
  const text = (selector) => (document.querySelector(selector) || {textContent: ''}).textContent;
  const plot = () => document.querySelector('.kds-plot-states .kds-lines').dataset.days;
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
BROWSER_PLAY = """async (n) => {
  // press Play and note when the day counter changes; per-day time = gap / days moved.
  // Watched with a MutationObserver (no polling every frame, which would add work)
  const read = () => {
    const day = document.querySelector('.kds-day');
    return day === null ? null : parseInt(day.textContent);
  };
  const per_day = [];
  let last = read(), since = performance.now();
  const target = last + n;
  const box = document.querySelector('.kds-monitors');
  let observer = null;
  document.querySelector('.kds-play').click();
  await new Promise((done, fail) => {
    const seen = () => {
      const now = performance.now(), day = read();
      if (day !== null && day > last) {
        for (let k = last; k < day; k++) per_day.push((now - since) / (day - last));
        last = day;
        since = now;
      }
      if (last >= target) done();
    };
    observer = new MutationObserver(seen);
    observer.observe(box, {childList: true, subtree: true, characterData: true});
    const watchdog = setInterval(() => {
      if (last >= target) clearInterval(watchdog);
      else if (performance.now() - since > 10000) {
        clearInterval(watchdog);
        fail(new Error('no new day in 10 s'));
      }
    }, 1000);
  });
  observer.disconnect();
  document.querySelector('.kds-play').click();
  return per_day;
}"""


def timed(
    action: Callable[[], object], repeats: int, clock: Callable[[], float] = time.perf_counter
) -> list[float]:
    times = []
    for _ in range(repeats):
        start = clock()
        action()
        times.append(1000 * (clock() - start))
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

    def view() -> None:  # what Screen.show_day sends for a new day, without the widgets
        components.monitors_html(model, "en", 365)
        components.chart_tails(model, "en", 365)
        components.person_html(model, person, "en")
        components.network_changes(model)

    def full_view() -> None:  # what the page computes when it renders in full
        components.monitors_html(model, "en", 365)
        components.network_dynamic(model, person)
        for props in components.CHARTS.values():
            props(model, "en", 365)
        components.person_html(model, person, "en")

    components.network_static(model)  # the layout: once per run, not part of a day
    results = {
        "model_step": timed(model.step, repeats),
        "model_step_cpu": timed(model.step, repeats, clock=time.process_time),
        "view_data": timed(view, repeats),
        "view_data_full": timed(full_view, repeats),
    }

    config = AppConfig(scenario=str(SCENARIO), people=people, seed=1)
    made: list[ClassroomModel] = []
    init = ClassroomModel.__init__

    def remember(self: ClassroomModel, *args: object) -> None:
        init(self, *args)  # type: ignore[arg-type]
        made.append(self)

    ClassroomModel.__init__ = remember  # type: ignore[method-assign]
    try:
        _, rc = solara.render(components.App(config), handle_error=False)
    finally:
        ClassroomModel.__init__ = init  # type: ignore[method-assign]
    with contextlib.redirect_stdout(io.StringIO()):
        button = rc.find(v.Btn, class_="kds-step").widget
        for _ in range(WARMUP_DAYS):
            button.click()
        results["solara_step_redraw"] = timed(button.click, repeats)
        results["solara_step_redraw_cpu"] = timed(button.click, repeats, time.process_time)
        page_model = made[-1]
        user_step = page_model._user_step  # Mesa calls this bound step from Model.step
        page_model._user_step = lambda: None  # the same click, the same day redrawn
        try:
            results["solara_redraw"] = timed(button.click, repeats)
            results["solara_redraw_cpu"] = timed(button.click, repeats, time.process_time)
        finally:
            page_model._user_step = user_step
        rc.close()
    return results


def process_cpu(server: int) -> dict[str, float]:
    """CPU seconds so far of the app's server process and of the browser's processes.

    Read from /proc (Linux): the server is `server`; the browser is every process below this
    one whose name starts with "chrom". None elsewhere.
    """
    proc = Path("/proc")
    parent: dict[int, int] = {}
    stats: dict[int, list[str]] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        name_end = text.rindex(")")
        fields = [text[text.index("(") + 1 : name_end], *text[name_end + 2 :].split()]
        stats[int(entry.name)] = fields
        parent[int(entry.name)] = int(fields[2])

    def below(pid: int) -> bool:
        while pid > 1:
            if pid == os.getpid():
                return True
            pid = parent.get(pid, 0)
        return False

    tick = os.sysconf("SC_CLK_TCK")
    used = {"server": 0.0, "browser": 0.0}
    for pid, fields in stats.items():
        seconds = (int(fields[12]) + int(fields[13])) / tick  # utime + stime
        if pid == server:
            used["server"] += seconds
        elif fields[0].startswith("chrom") and below(pid):
            used["browser"] += seconds
    return used


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def in_browser(people: int, repeats: int) -> dict[str, list[float]] | None:
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
            page.wait_for_selector(".kds-people", timeout=60_000)
            page.locator(".kds-lever-speed [role=slider]").press("End")  # 30 days a second
            page.click(".kds-play")
            page.wait_for_function(DAY_AT_LEAST, arg=WARMUP_DAYS, timeout=120_000)
            page.click(".kds-play")
            page.wait_for_selector(".kds-step:not([disabled])")  # paused: Step is enabled
            page.wait_for_timeout(500)
            steps = page.evaluate(BROWSER_STEPS, repeats)
            page.wait_for_timeout(500)
            before = process_cpu(server.pid) if Path("/proc/stat").exists() else None
            play = page.evaluate(BROWSER_PLAY, 5 * repeats)
            after = process_cpu(server.pid) if before is not None else None
            browser.close()
        results = {
            "browser_step_redraw": [float(x) for x in steps],
            "browser_play_day": [float(x) for x in play],
        }
        if before is not None and after is not None:  # CPU a day played, in one number each
            for name in ("server", "browser"):
                spent = 1000 * (after[name] - before[name]) / len(play)
                results[f"browser_play_cpu_{name}_per_day"] = [spent] * len(play)
        return results
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
    parser.add_argument("--people", type=int, nargs="+", default=[150])
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    rows = []
    for people in args.people:
        for measure, times in in_process(people, args.repeats).items():
            rows.append(summary(people, measure, times))
        browser = None if args.no_browser else in_browser(people, args.repeats)
        for measure, times in (browser or {}).items():
            rows.append(summary(people, measure, times))
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

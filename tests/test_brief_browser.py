"""The policy brief in headless Chromium, as a reader opens and prints it.

A brief written by this code (small comparison, both languages) and the committed briefs of
experiments/results/compare_interventions are opened in Debian's `chromium` driven by
Playwright: no element may stick out of the page column on a desktop screen or on A4 paper,
and narrower screens must not scroll sideways (wide tables scroll in their own frame). The
committed briefs are screenshotted into docs/img/report/ (used by the README) and printed
through `kds_sim.report.pdf`, which must give a 2-4 page brief. Skipped, with the reason,
where chromium or playwright is missing (`.ci/app-deps` installs them).
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from kds_sim.analysis.comparison import compare
from kds_sim.io.scenario_files import load_scenario
from kds_sim.messages import LANGS
from kds_sim.report.comparison_report import report_name, write_comparison
from kds_sim.report.pdf import page_count, write_pdf

ROOT = Path(__file__).absolute().parents[1]
SCENARIOS = ROOT / "scenarios"
COMMITTED = ROOT / "experiments" / "results" / "compare_interventions"
SHOTS = ROOT / "docs" / "img" / "report"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="needs Debian's chromium package "
        "(apt-get install -y chromium; .ci/app-deps does it)",
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("playwright") is None,
        reason="needs playwright (pip install -e '.[browser]')",
    ),
]

OVERFLOW = """() => {
  const column = document.querySelector('main').getBoundingClientRect();
  const out = [];
  for (const el of document.querySelectorAll('main *')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;  // not shown (closed details, print-only)
    if (box.right > column.right + 1 || box.left < column.left - 1)
      out.push(`${el.tagName}.${el.className}: ${Math.round(box.left)}-${Math.round(box.right)}`);
  }
  return {page: document.documentElement.scrollWidth, window: window.innerWidth, out: out};
}"""

WIDE = (1280, 1000)
"""Desktop widths: nothing may stick out of the column."""
NARROW = (800, 600)
"""Tablet and phone widths: the page must not scroll sideways."""
A4 = 690
"""CSS pixels across A4 inside the print margins (184 mm at 96 per inch)."""


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Path:
    """A brief from this code: every shipped strategy, 2 replicates of 60 people, 120 days."""
    names = [p.stem for p in sorted(SCENARIOS.glob("*.toml")) if p.stem not in ("base", "district")]
    scenarios = [load_scenario(SCENARIOS / f"{n}.toml", {"population.size": 60}) for n in names]
    result = compare(scenarios, reference="no_group", replicates=2, horizon=120, progress=False)
    out = tmp_path_factory.mktemp("brief")
    write_comparison(result, out, langs=LANGS, files={n: f"scenarios/{n}.toml" for n in names})
    return out


def layout(browser, page: Path, width: int, media: str = "screen") -> dict:
    tab = browser.new_page(viewport={"width": width, "height": 1000})
    try:
        tab.emulate_media(media=media)
        tab.goto(page.as_uri())
        return tab.evaluate(OVERFLOW)
    finally:
        tab.close()


def check_layout(browser, page: Path) -> None:
    for width in WIDE:
        found = layout(browser, page, width)
        assert not found["out"], (page.name, width, found["out"][:5])
        assert found["page"] <= found["window"], (page.name, width)
    found = layout(browser, page, A4, media="print")
    assert not found["out"], (page.name, "print", found["out"][:5])
    for width in NARROW:
        found = layout(browser, page, width)
        assert found["page"] <= found["window"], (page.name, width, found)


@pytest.mark.parametrize("lang", LANGS)
def test_a_fresh_brief_fits_screens_and_paper(browser, fresh, lang):
    check_layout(browser, fresh / report_name(lang))


@pytest.mark.parametrize("folder", ["", "five_years"])
@pytest.mark.parametrize("lang", LANGS)
def test_the_committed_brief_fits_prints_on_2_to_4_pages_and_is_shown(
    browser, lang, folder, tmp_path
):
    page = COMMITTED / folder / report_name(lang)
    if not page.is_file():
        pytest.skip(f"{page} not written yet: python experiments/compare_interventions.py")
    check_layout(browser, page)
    if not folder:  # the README shows the first screen of the 12-month brief: summary first
        tab = browser.new_page(viewport={"width": 1100, "height": 1500})
        try:
            tab.goto(page.as_uri())
            SHOTS.mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(SHOTS / f"report-{lang}.png"))
        finally:
            tab.close()
    pdf = write_pdf(page, tmp_path / f"brief-{lang}.pdf", browser=CHROMIUM)
    assert 2 <= page_count(pdf) <= 4, page_count(pdf)


def test_cli_pdf_prints_the_brief(tmp_path, capsys):
    from kds_sim.cli import main as cli

    out = tmp_path / "cmp"
    args = ["compare", str(SCENARIOS / "no_group.toml"), str(SCENARIOS / "capacity_building.toml")]
    args += ["--replicates", "2", "--horizon", "60", "--set", "population.size=40"]
    assert cli.main([*args, "--out", str(out), "--no-progress", "--pdf", "--lang", "id"]) == 0
    assert 1 <= page_count(out / "report_id.pdf") <= 4
    assert "report_id.pdf" in (out / "manifest.json").read_text()

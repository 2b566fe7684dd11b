"""No report runs a script: every user-controlled string, in every report kind.

One hostile folder holds scenario files whose *file names*, labels, descriptions (both
languages), currency and cost source are markup, quotes and `$` signs; a sensitivity table
with hostile parameter names; an experiment whose strategies are those files. From it we write
the brief (English and Indonesian, with the uncertainty and cost sections), a sweep report and
an ABC report, then check each page: by parsing it (fast, here) and by opening it in headless
Chromium (tests/test_hostile_browser.py) that no script runs.
"""

from __future__ import annotations

import html
import importlib.util
import json
import re
import shlex
import shutil
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from kds_sim.cli import main as cli

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"

MARK = "kdsxss"
"""Every payload calls alert('kdsxss<n>'): a dialog or a parsed element with it is a hit."""

PAYLOADS = (
    f"<img src=x onerror=alert('{MARK}1')>",
    f"<script>alert('{MARK}2')</script>",
    f"\"'><svg onload=alert('{MARK}3')>",
    f"<a href=\"javascript:alert('{MARK}4')\">x</a>",
    "$$ $\\kdsundefined$ 5$ & 6$",
)
LABEL = f"<img src=x onerror=alert('{MARK}1')> $\\alpha$ $$ \"'&"
REFERENCE_FILE = "<img src=x onerror=alert(11)>.toml"
STRATEGY_FILE = "\"'><svg onload=alert(13)> $$.toml"


def q(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def scenario_text(parent: Path, label: str) -> str:
    description = " ".join(PAYLOADS)
    return f"""extends = {q(str(parent))}
label = {q(label)}
label_id = {q("id " + label)}
description = {q(description)}
description_id = {q(description)}

[costs]
currency = "$$<script>alert('{MARK}5')</script>"
per_group_meeting = 1000
per_member = 50
illustrative = true
source = {q(description)}
"""


def hostile_folder(root: Path) -> tuple[Path, Path]:
    root.mkdir(parents=True, exist_ok=True)
    reference = root / REFERENCE_FILE
    strategy = root / STRATEGY_FILE
    reference.write_text(scenario_text(SCENARIOS / "no_group.toml", LABEL), encoding="utf-8")
    strategy.write_text(
        scenario_text(SCENARIOS / "capacity_building.toml", "B " + LABEL), encoding="utf-8"
    )
    sensitivity = root / "experiments/results/morris_all/analysis/morris_averted_per_100_365d.csv"
    sensitivity.parent.mkdir(parents=True)
    pd.DataFrame(
        {
            "outcome": ["averted_per_100_365d"] * 2,
            "factor": [f"<svg onload=alert('{MARK}6')>", "a $$ b"],
            "mu_star": [2.0, 1.0],
        }
    ).to_csv(sensitivity, index=False)
    return reference, strategy


COMMON = ["--replicates", "3", "--horizon", "365", "--set", "population.size=40", "--no-progress"]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("hostile")
    return (root, *hostile_folder(root))


@pytest.fixture(scope="module")
def briefs(hostile: tuple[Path, Path, Path]) -> dict[str, Path]:
    """The brief in both languages, with uncertainty and cost sections (about 20 s)."""
    import os

    root, reference, strategy = hostile
    pages: dict[str, Path] = {}
    before = Path.cwd()
    os.chdir(root)  # the brief reads the sensitivity table relative to the working folder
    try:
        for lang in ("en", "id"):
            out = root / f"brief_{lang}"
            argv = ["compare", str(reference), str(strategy), "--out", str(out), *COMMON]
            argv += ["--uncertainty", "prior", "--draws", "3", "--draw-replicates", "1"]
            argv += ["--lang", lang]
            assert cli.main(argv) == 0
            pages[f"brief_{lang}"] = out / ("report.html" if lang == "en" else "report_id.html")
    finally:
        os.chdir(before)
    return pages


@pytest.fixture(scope="module")
def sweep_page(hostile: tuple[Path, Path, Path]) -> Path:
    return sweep_report(*hostile)


@pytest.fixture(scope="module")
def abc_page(hostile: tuple[Path, Path, Path]) -> Path:
    return abc_report(hostile[0])


@pytest.fixture
def reports(request: pytest.FixtureRequest) -> dict[str, Path]:
    """Every report kind (each fixture is built once per module, on first use)."""
    found = dict(request.getfixturevalue("briefs"))
    found["sweep"] = request.getfixturevalue("sweep_page")
    found["abc"] = request.getfixturevalue("abc_page")
    return found


def page_of(request: pytest.FixtureRequest, kind: str) -> Path:
    if kind == "sweep":
        return request.getfixturevalue("sweep_page")
    if kind == "abc":
        return request.getfixturevalue("abc_page")
    return request.getfixturevalue("briefs")[kind]


def sweep_report(root: Path, reference: Path, strategy: Path) -> Path:
    pytest.importorskip("SALib")
    experiment = root / "exp.toml"
    experiment.write_text(
        f"""name = "exp"
description = {q(" ".join(PAYLOADS))}
strategies = [{q(str(strategy))}]
reference = {q(str(reference))}
replicates = 2
seed = 7
outcomes = ["relapse_30d", "averted_per_100_30d"]
[set]
"run.horizon_days" = 30
"population.size" = 30
[design]
method = "grid"
[factors]
"group.coverage" = {{ levels = [0.3, 0.8] }}
"network.using_ties_mean" = {{ levels = [1.0, 3.0] }}
""",
        encoding="utf-8",
    )
    store = root / "sweep"
    assert cli.main(["sweep", str(experiment), "--out", str(store), "--no-progress"]) == 0
    assert cli.main(["analyse", str(store)]) == 0
    return store / "analysis" / "report.html"


def abc_report(root: Path) -> Path:
    """The ABC page from a stand-in result: only the strings matter here (the real run is
    tests/test_abc.py)."""
    from kds_sim.report import abc_report as module

    hostile = f"<img src=x onerror=alert('{MARK}7')>"
    png = root / "tiny.png"
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=(1, 1))
    figure.savefig(png)
    plt.close(figure)
    result = SimpleNamespace(
        settings=SimpleNamespace(
            minimum_epsilon=0.1, population=10, sampler=hostile, replicates=2, seed=1
        ),
        converged=True,
        epsilon=0.1,
        targets=SimpleNamespace(path=root / f"{hostile}.toml"),
        generations=pd.DataFrame({"generation": [0], hostile: [hostile]}),
        simulations=10,
        wall_seconds=1.0,
        ess=9.0,
    )
    tables = {
        "generations": pd.DataFrame({"generation": [0], hostile: [1.0]}),
        "predictive": pd.DataFrame({"target": [hostile], "metric": [hostile]}),
        "identification": pd.DataFrame({"parameter": [hostile], "reading": [hostile]}),
    }
    provenance = {"reproducible": hostile, "version": hostile, "pyabc": hostile}
    return module._html(result, provenance, tables, png, png, root / "abc.html")  # type: ignore[arg-type]


class Audit(HTMLParser):
    """What a browser would treat as active: script elements, event handler attributes,
    javascript: URLs, images that load from anywhere but inline data; and the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "iframe", "object", "embed", "svg", "math", "base", "a", "form"):
            self.problems.append(f"<{tag}> element")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            if name in ("src", "href", "action") and not (value or "").startswith(
                ("data:image/png;base64,", "#")
            ):
                self.problems.append(f"<{tag} {name}={q(value)}>")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def audit(page: Path) -> Audit:
    found = Audit()
    found.feed(page.read_text(encoding="utf-8"))
    return found


KINDS = ("brief_en", "brief_id", "sweep", "abc")


def test_the_builder_escapes_every_text_and_attribute_value() -> None:
    from kds_sim.report.html import Html, el, join, msg

    hostile = "<b x='1' y=\"2\">&"
    built = el("p", hostile, el("code", hostile), title=hostile, class_="note", data_x=hostile)
    assert built == (
        "<p title='&lt;b x=&#x27;1&#x27; y=&quot;2&quot;&gt;&amp;' class='note' "
        "data-x='&lt;b x=&#x27;1&#x27; y=&quot;2&quot;&gt;&amp;'>&lt;b x=&#x27;1&#x27; "
        "y=&quot;2&quot;&gt;&amp;<code>&lt;b x=&#x27;1&#x27; y=&quot;2&quot;&gt;&amp;</code></p>"
    )
    assert join(["<i>", Html("<i>")], ", ") == "&lt;i&gt;, <i>"
    assert "<script>" not in msg("report.lead", "en", reference="<script>", relapse=1, when=2)
    with pytest.raises(ValueError):
        el("p onclick=x")


@pytest.mark.parametrize("kind", KINDS)
def test_no_report_has_an_active_element_from_user_text(request: pytest.FixtureRequest, kind: str):
    found = audit(page_of(request, kind))
    assert found.problems == []
    text = "".join(found.text)
    assert MARK in text  # the hostile strings are there, shown as text


def test_the_brief_shows_every_hostile_string_as_typed(briefs: dict[str, Path]):
    text = "".join(audit(briefs["brief_en"]).text)
    for shown in (LABEL, *PAYLOADS, REFERENCE_FILE, f"$$<script>alert('{MARK}5')</script>"):
        assert shown in text, shown
    assert "<svg onload=alert('kdsxss6')>" in text  # a parameter name of the sensitivity table


def test_sweep_report_escapes_strategy_file_names(sweep_page: Path):
    found = audit(sweep_page)
    assert found.problems == []
    text = "".join(found.text)
    assert "<img src=x onerror=alert(11)>" in text  # the reference, by its file's name


def test_reproduce_command_quotes_every_word_and_keeps_overrides(briefs: dict[str, Path]):
    page = briefs["brief_en"].read_text(encoding="utf-8")
    pre = re.findall(r"<pre>(kds-sim compare .*?)</pre>", page, flags=re.S)
    assert len(pre) == 1
    words = shlex.split(html.unescape(pre[0]))
    assert words[0:2] == ["kds-sim", "compare"]
    assert Path(words[2]).name == REFERENCE_FILE and Path(words[3]).name == STRATEGY_FILE
    assert words[words.index("--set") + 1] == "population.size=40"
    assert words[words.index("--horizon") + 1] == "365"
    assert words[words.index("--uncertainty") + 1] == "prior"


def test_dollar_signs_reach_the_figures_without_mathtext(briefs: dict[str, Path]):
    out = briefs["brief_en"].parent
    for name in ("forest.png", "survival.png", "ceac.png", "uncertainty_forest.png"):
        assert (out / name).read_bytes().startswith(b"\x89PNG"), name


def test_a_huge_label_is_refused_before_any_simulation(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    label = "x" * 100_000
    argv = ["compare", str(SCENARIOS / "no_group.toml"), "--out", str(out), *COMMON]
    assert cli.main([*argv, "--set", f'label="{label}"']) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and len(err) < 400
    assert "label" in err and "at most 120 characters" in err
    assert not out.exists()  # refused before the output folder, let alone a simulation


# -- in Chromium -------------------------------------------------------------------------------
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NO_BROWSER = CHROMIUM is None or importlib.util.find_spec("playwright") is None
needs_chromium = pytest.mark.skipif(
    NO_BROWSER,
    reason="needs Debian's chromium and playwright (.ci/app-deps installs both)",
)


def scripts_run(pages: dict[str, Path]) -> dict[str, list[str]]:
    """Open each page in headless Chromium; what it ran: alert() calls (dialogs, and an
    alert replaced before any page script) and script errors."""
    from playwright.sync_api import sync_playwright

    ran: dict[str, list[str]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            for kind, path in pages.items():
                hits: list[str] = []
                tab = browser.new_page()
                tab.add_init_script(
                    "window.__hits = []; window.alert = m => __hits.push(String(m));"
                )
                tab.on("dialog", lambda dialog, hits=hits: hits.append(dialog.message))
                tab.on("pageerror", lambda error, hits=hits: hits.append(f"error: {error}"))
                tab.goto(path.resolve().as_uri(), wait_until="load")
                tab.wait_for_timeout(300)  # an onerror of a broken image fires after load
                hits += tab.evaluate("window.__hits")
                ran[kind] = hits
                tab.close()
        finally:
            browser.close()
    return ran


@pytest.mark.browser
@needs_chromium
def test_the_detector_sees_a_script_that_runs(tmp_path: Path) -> None:
    page = tmp_path / "raw.html"
    page.write_text(f"<!doctype html><p>{PAYLOADS[0]}</p>", encoding="utf-8")
    assert scripts_run({"raw": page}) == {"raw": [f"{MARK}1"]}


@pytest.mark.browser
@needs_chromium
def test_no_script_runs_in_any_report_in_chromium(reports: dict[str, Path]) -> None:
    ran = scripts_run({kind: reports[kind] for kind in KINDS})
    assert ran == {kind: [] for kind in KINDS}

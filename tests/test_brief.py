"""The policy brief (report.html / report_id.html): scenario labels, the summary generated from
the results (its numbers must be the table's), rounding to what the precision supports, the
intervals it names, both languages, and `kds-sim compare --lang/--pdf`.

Rendering, overflow, screenshots and the PDF's page count are checked in headless Chromium by
tests/test_brief_browser.py.
"""

from __future__ import annotations

import math
import re
import string
import tomllib
from html import unescape
from pathlib import Path

import pandas as pd
import pytest

from kds_sim.analysis import metrics
from kds_sim.analysis.comparison import ComparisonResult, compare
from kds_sim.cli import main as cli
from kds_sim.io.scenario_files import load_scenario
from kds_sim.messages import LANGS, catalogue, t
from kds_sim.report.comparison_report import write_comparison
from kds_sim.report.labels import (
    digits_for,
    metric_label,
    num,
    parameter_label,
    percent,
    scenario_label,
)
from kds_sim.report.summary import (
    MONTE_CARLO,
    UNCERTAINTY,
    Sensitivity,
    by_scenario,
    interval,
    numbers,
    ranking,
    summary_html,
    takes,
    with_uncertainty,
)

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
SHIPPED = sorted(p for p in SCENARIOS.glob("*.toml") if p.stem != "base")
SMALL = ("no_group", "group_as_assessed", "capacity_building", "capacity_building_mentoring")


@pytest.fixture(scope="module")
def small() -> ComparisonResult:
    """4 scenarios x 3 replicates of 60 people over 370 days: past 12 months, so the summary
    reads 12 months and adds the horizon."""
    scenarios = [load_scenario(SCENARIOS / f"{n}.toml", {"population.size": 60}) for n in SMALL]
    return compare(scenarios, replicates=3, horizon=370, progress=False)


def with_table(result: ComparisonResult, table: pd.DataFrame) -> ComparisonResult:
    """The same runs with another comparison table (as uncertainty runs will give)."""
    other = ComparisonResult(result.results, result.reference)
    other.__dict__["table"] = table  # the cached property's slot
    return other


def value(text: str, lang: str) -> float:
    """A number as the brief writes it ("5.7", "40,6%", "1.234,5") back to a float."""
    text = text.replace("%", "").strip()
    text = text.replace(".", "").replace(",", ".") if lang == "id" else text.replace(",", "")
    return float(text)


def close(text: str, expected: float, lang: str) -> bool:
    """True when `text` is `expected` rounded to the decimals shown."""
    mark = "," if lang == "id" else "."
    bare = text.replace("%", "").strip()
    digits = len(bare.split(mark)[1]) if mark in bare else 0
    return abs(value(text, lang) - expected) <= 0.5 * 10**-digits + 1e-9


def template_pattern(*keys: str, lang: str) -> re.Pattern[str]:
    """A regex of catalogue messages (joined by a space) with a named group for each {field},
    prefixed by the message's position: {averted} of the second message is `m1_averted`."""
    pattern, seen = "", set()
    for i, key in enumerate(keys):
        pattern += " " if i else ""
        for literal, field, _, _ in string.Formatter().parse(t(key, lang)):
            pattern += re.escape(literal)
            if field:
                name = f"m{i}_{field}"
                pattern += f"(?P={name})" if name in seen else f"(?P<{name}>.+?)"
                seen.add(name)
    return re.compile(pattern + "$")


def ranked_items(html: str) -> list[tuple[str, str]]:
    """(scenario name, visible text after the label) of each ranking entry, in order."""
    items = re.findall(r"<li data-scenario='([^']+)'><b>[^<]*</b>: (.*?)</li>", html)
    return [(name, unescape(re.sub("<[^>]+>", "", text))) for name, text in items]


# -- labels -------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_scenario_has_labels_in_both_languages(path):
    scenario = load_scenario(path)
    for field in ("label", "label_id", "description", "description_id"):
        assert getattr(scenario, field).strip(), f"{path.name}: {field} is empty"
    assert scenario.label != scenario.name and len(scenario.label) <= 50
    assert scenario_label(scenario, "id") == scenario.label_id


def test_labels_are_unique_and_not_inherited(tmp_path):
    loaded = [load_scenario(p) for p in SHIPPED]
    for field in ("label", "label_id"):
        values = [getattr(s, field) for s in loaded]
        assert len(set(values)) == len(values), field
    child = tmp_path / "more_coverage.toml"
    child.write_text(f'extends = "{(SCENARIOS / "capacity_building.toml").as_posix()}"\n')
    scenario = load_scenario(child)
    assert (scenario.label, scenario.label_id, scenario.description_id) == ("", "", "")
    assert scenario_label(scenario, "en") == scenario_label(scenario, "id") == "more_coverage"


def test_every_report_metric_and_swept_parameter_has_words_in_both_languages():
    for lang in LANGS:
        for name in metrics.REPORT_COLUMNS:
            assert "{" not in metric_label(name, lang)
        assert metric_label("relapse_365d", lang) == t(
            "metric.relapse", lang, when=t("when.d365", lang)
        )
    assert metric_label("nnt_365d", "id") != metric_label("nnt_365d", "en")
    for design in sorted((ROOT / "experiments" / "designs").glob("*.toml")):
        for key in tomllib.loads(design.read_text()).get("factors", {}):
            for lang in LANGS:
                assert parameter_label(key, lang) != key, (design.name, key, lang)


# -- numbers ------------------------------------------------------------------------------------
def test_numbers_are_rounded_to_what_the_interval_supports():
    assert digits_for(5.4, 5.9) == 1
    assert digits_for(16.6, 18.6) == 0
    assert digits_for(0.853, 0.871) == 3
    assert digits_for(1.0, 1.0) == 1 and digits_for(math.nan, 1.0, default=2) == 2
    assert num(-0.04, "en", 1) == "0.0"  # never "-0.0"
    assert num(1234.56, "id", 1) == "1.234,6" and num(1234.56, "en", 1) == "1,234.6"
    assert percent(0.4061, "en", 1) == "40.6\u00a0%" and percent(0.4061, "id", 1) == "40,6%"
    assert num(math.nan, "id", 1) == t("report.not_available", "id")


def test_the_interval_comes_from_one_function(small):
    row = by_scenario(small.table)["capacity_building"]
    low, high, kind = interval(row, "averted_per_100_365d")
    assert kind == MONTE_CARLO and low <= row["averted_per_100_365d"] <= high
    table = small.table.assign(ui_low=small.table["ci_low"] - 1, ui_high=small.table["ci_high"] + 1)
    row = by_scenario(table)["capacity_building"]
    assert interval(row, "averted_per_100_365d") == (low - 1, high + 1, UNCERTAINTY)
    # the wide form (<metric>_ui_low columns) reads the same
    wide = small.table.assign(averted_per_100_365d_ui_low=-5.0, averted_per_100_365d_ui_high=20.0)
    row = by_scenario(wide)["capacity_building"]
    assert interval(row, "averted_per_100_365d") == (-5.0, 20.0, UNCERTAINTY)
    assert list(numbers(small.table).index) == list(SMALL)


# -- the summary ----------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGS)
def test_summary_numbers_match_the_table(small, lang):
    html = summary_html(small, lang)
    rows = by_scenario(small.table)
    items = ranked_items(html)
    expected_order = sorted(
        (n for n in SMALL if n != small.reference), key=lambda n: -rows[n]["averted_per_100_365d"]
    )
    assert [name for name, _ in items] == expected_order
    item = template_pattern("report.rank_item", "report.rank_later", lang=lang)
    span = template_pattern("report.range", lang=lang)

    def matches(interval_text: str, low: float, high: float) -> bool:
        found = span.match(interval_text)
        return bool(found) and close(found[1], low, lang) and close(found[2], high, lang)

    for name, text in items:
        row = rows[name]
        found = item.match(text)
        assert found, text
        assert close(found["m0_averted"], row["averted_per_100_365d"], lang), text
        assert matches(
            found["m0_interval"],
            row["averted_per_100_365d_ci_low"],
            row["averted_per_100_365d_ci_high"],
        )
        assert close(found["m0_prevented"], 100 * (1 - row["relative_risk_365d"]), lang), text
        assert matches(
            found["m0_prevented_interval"],
            100 * (1 - row["relative_risk_365d_ci_high"]),
            100 * (1 - row["relative_risk_365d_ci_low"]),
        )
        assert found["m0_takes"] == takes(small.results[name].scenario, small.horizon, lang)
        assert close(found["m1_averted"], row["averted_per_100_horizon"], lang), text
        assert matches(
            found["m1_interval"],
            row["averted_per_100_horizon_ci_low"],
            row["averted_per_100_horizon_ci_high"],
        )
    reference = rows[small.reference]["relapse_365d"]
    lead_text = unescape(re.sub("<[^>]+>", "", html.split("<ol")[0]))
    lead_text = lead_text.split(t("report.summary", lang))[-1].strip()
    lead = template_pattern("report.lead", lang=lang).match(lead_text)
    assert lead and close(lead["m0_relapse"], 100 * reference, lang)
    assert t(f"report.kind_{MONTE_CARLO}", lang) in html
    assert "probability" not in html.lower() or lang != "en"  # no "probability best", ever


def test_summary_names_uncertainty_intervals_when_given(small, tmp_path):
    # in the form UncertaintyResult.summary() gives them; no "probability best" anywhere
    intervals = small.table.rename(columns={"scenario": "strategy"}).assign(
        ui_low=lambda x: x["ci_low"] - 2.0, ui_high=lambda x: x["ci_high"] + 2.0
    )
    table = with_uncertainty(small.table, intervals)
    assert len(table) == len(small.table) and "probability_best" not in table
    html = summary_html(with_table(small, table), "en")
    assert t("report.kind_uncertainty", "en") in html
    assert t("report.kind_monte_carlo", "en") not in html
    assert "best" not in html.lower()
    first = ranked_items(html)[0]
    row = by_scenario(table)[first[0]]
    found = re.search(r"\((\S+) to (\S+)\)", first[1])
    assert found and close(found[1], row["averted_per_100_365d_ci_low"] - 2, "en")
    write_comparison(small, tmp_path, table=table, sensitivity=None)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "How sure" not in page and t("report.kind_uncertainty", "en") in page
    assert "ui_low" in pd.read_csv(tmp_path / "comparison.csv")


def test_a_strategy_that_adds_relapses_is_said_to(small):
    table = small.table.copy()
    hit = (table["scenario"] == "group_as_assessed") & (table["metric"] == "averted_per_100_365d")
    table.loc[hit, ["mean", "ci_low", "ci_high"]] = [-1.5, -2.0, -1.0]
    items = dict(ranked_items(summary_html(with_table(small, table), "en")))
    assert items["group_as_assessed"].startswith("1.5 more relapses per 100 people (1.0 to 2.0)")
    assert list(items)[-1] == "group_as_assessed"


def test_summary_names_the_assumptions_only_from_a_sensitivity_analysis(small, tmp_path):
    assert t("report.depends", "en").split("{")[0] not in summary_html(small, "en")
    morris = tmp_path / "morris.csv"
    pd.DataFrame(
        {
            "outcome": ["averted_per_100_365d"] * 4 + ["relapse_365d"],
            "factor": [
                "group.coverage",
                "behaviour.lapse_intercept",
                "population.engagement.mean",
                "network.using_ties_mean",
                "behaviour.ave_weight",
            ],
            "mu_star": [2.1, 5.0, 2.2, 0.6, 9.0],
        }
    ).to_csv(morris, index=False)
    found = Sensitivity.read(morris)
    assert found is not None and found.measure == "morris"
    assert [k for k, _ in found.factors] == [
        "behaviour.lapse_intercept",
        "population.engagement.mean",
        "group.coverage",
    ]
    html = summary_html(small, "id", found)
    assert t("parameter.behaviour.lapse_intercept", "id") in html and "5,0" in html
    assert t("report.measure_morris", "id") in html and "morris.csv" not in html  # no paths
    assert Sensitivity.read(tmp_path / "missing.csv") is None
    sobol = tmp_path / "sobol.csv"
    pd.DataFrame({"factor": ["group.coverage"], "ST": [0.42]}).to_csv(sobol, index=False)
    assert "42\u00a0%" in summary_html(small, "en", Sensitivity.read(sobol))


def test_what_a_strategy_takes(small):
    def load(name: str):
        return load_scenario(SCENARIOS / f"{name}.toml")

    assert takes(load("capacity_building_mentoring"), 365, "en") == (
        "10 training sessions and 12 months of mentoring"
    )
    assert takes(load("capacity_building_mentoring"), 1825, "id") == (
        "10 sesi pelatihan dan 60 bulan pendampingan"
    )
    assert takes(load("work_plan"), 365, "en") == "1 training session"
    assert takes(load("group_as_assessed"), 365, "en") == t("report.takes_none", "en")
    assert "80\u00a0%" in takes(load("capacity_building_recruitment"), 365, "en")
    assert [s.name for s in ranking(small, "en")][-1] == "group_as_assessed"


# -- the written brief ---------------------------------------------------------------------------
def test_brief_in_both_languages_is_self_contained(small, tmp_path):
    written = write_comparison(
        small, tmp_path, langs=LANGS, files={n: f"scenarios/{n}.toml" for n in SMALL}
    )
    assert all(Path(p).is_file() for p in written)
    for name in ("forest", "survival", "capacity"):
        assert (tmp_path / f"{name}.png").is_file() and (tmp_path / f"{name}_id.png").is_file()
    english = (tmp_path / "report.html").read_text(encoding="utf-8")
    indonesian = (tmp_path / "report_id.html").read_text(encoding="utf-8")
    assert "<html lang='en'>" in english and "<html lang='id'>" in indonesian
    for lang, page in (("en", english), ("id", indonesian)):
        sections = [page.index(f"id='{s}'") for s in ("summary", "figures", "tables", "appendix")]
        assert sections == sorted(sections)  # summary first, then figures, tables, appendix
        for name in SMALL:
            scenario = small.results[name].scenario
            assert scenario_label(scenario, lang) in page
            assert f"{name}.toml" in page.split("id='appendix'")[1]  # the file: appendix only
        assert len(re.findall(r"<img[^>]*src=[\"']data:image/png;base64,", page)) == 3
        for url in re.findall(r'(?:src|href)\s*=\s*["\']([^"\']*)', page, flags=re.I):
            assert url.startswith(("data:", "#")), url
        assert "@media print" in page and "@page" in page
    for key in ("report.summary", "report.figures", "report.tables", "report.appendix"):
        assert t(key, "id") in indonesian and f">{t(key, 'en')}<" not in indonesian
    assert re.search(r"\d+,\d+%", indonesian)  # decimal comma, Indonesian percent
    assert "--lang id" in indonesian


def test_catalogue_report_keys_exist_in_both_languages():
    report = {k for k in catalogue("en") if k.startswith(("report.", "metric.", "when."))}
    assert len(report) > 60 and report <= set(catalogue("id"))


# -- the command line ---------------------------------------------------------------------------
def test_cli_lang_id_writes_the_indonesian_brief(tmp_path, capsys):
    out = tmp_path / "cmp"
    args = ["compare", *(str(SCENARIOS / f"{n}.toml") for n in SMALL[:2])]
    args += ["--replicates", "2", "--horizon", "40", "--set", "population.size=40"]
    code = cli.main([*args, "--out", str(out), "--no-progress", "--lang", "id"])
    assert code == 0
    assert (out / "report_id.html").is_file() and not (out / "report.html").is_file()
    assert "report_id.html" in capsys.readouterr().out
    page = (out / "report_id.html").read_text(encoding="utf-8")
    assert "Ringkasan" in page and "no_group.toml" not in page.split("id='appendix'")[0]


def test_cli_pdf_without_a_browser_says_so_before_computing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KDS_SIM_CHROMIUM", str(tmp_path / "no-such-browser"))
    out = tmp_path / "cmp"
    code = cli.main(
        ["compare", str(SCENARIOS / "no_group.toml"), "--out", str(out), "--pdf", "--no-progress"]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "--pdf needs headless Chromium" in err and "apt-get install -y chromium" in err
    assert not out.exists()


def test_every_metric_family_has_words_in_both_languages_from_one_parser():
    """The report names a family member ("lapse_365d") through analysis.metrics.family, the one
    parser of metric names, and both catalogues have words for every family it knows."""
    from kds_sim.analysis import metrics
    from kds_sim.report.labels import metric_label

    for name in ("lapse_365d", "relapse_180d", "averted_per_100_365d", "nnt_horizon"):
        assert metrics.family(name) is not None
        for lang in ("en", "id"):
            label = metric_label(name, lang)
            assert name not in label and "_" not in label, (name, lang, label)
    assert metrics.family("capacity_end") is None

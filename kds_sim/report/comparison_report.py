"""A comparison's outputs: tidy tables, figures, and report.html, a policy brief that opens
without Python (figures embedded) and prints as a 2-4 page document.

The brief reads top-down as a decision document: a summary generated from the results
(kds_sim.report.summary), the figures, the key tables, then a technical appendix that is left
out of print. Every word comes from the message catalogue, so `langs=("id",)` writes the same
brief in Bahasa Indonesia (report_id.html, figures *_id.png).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from kds_sim._version import __version__
from kds_sim.analysis import metrics
from kds_sim.analysis.comparison import ComparisonResult, nested_pairs
from kds_sim.analysis.uncertainty import UncertaintyResult
from kds_sim.io import storage
from kds_sim.io.output_folder import safe_name
from kds_sim.io.plots import plain_text
from kds_sim.messages import t
from kds_sim.model.scenario import Scenario
from kds_sim.report import figures as brief_figures
from kds_sim.report.decision import Decision, key_messages
from kds_sim.report.html import Html, el, join, page
from kds_sim.report.images import embed_image
from kds_sim.report.labels import (
    digits_for,
    metric_label,
    num,
    scenario_description,
    scenario_label,
    suffix,
)
from kds_sim.report.reference import entries
from kds_sim.report.summary import (
    DEFAULT_SENSITIVITY,
    Row,
    Sensitivity,
    by_scenario,
    headline_tag,
    interval,
    kind_text,
    ranking,
    share_and_range,
    summary_html,
    tag_words,
    takes_in_detail,
    value_and_range,
    with_uncertainty,
)
from kds_sim.report.uncertainty_report import uncertainty_options, write_uncertainty

CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;line-height:1.5;
color:#1d2733;max-width:62rem;margin:2rem auto;padding:0 1.25rem}
h1{font-size:1.65rem;line-height:1.25;margin:0 0 .4rem}
h2{font-size:1.3rem;margin:2.2rem 0 .6rem;padding-bottom:.2rem;border-bottom:2px solid #d5dbe3}
h3{font-size:1.05rem;margin:1.4rem 0 .4rem}
.meta,.note,figcaption{color:#56606b;font-size:.9em}
.summary{background:#f3f6fa;border-left:4px solid #0072B2;padding:.2rem 1.3rem .6rem}
.summary h2{border:0;margin-top:.8rem}
.ranking{padding-left:1.6rem}.ranking li{margin:.4rem 0}
.caveat{font-size:.92em}
figure{margin:1.4rem 0}figcaption{margin-top:.3rem}
img{max-width:100%;height:auto;display:block}
table{border-collapse:collapse;width:100%;font-size:.9em;margin:.6rem 0}
td,th{border-bottom:1px solid #d5dbe3;padding:.35rem .5rem;text-align:right;vertical-align:top}
thead th{background:#eef2f7;font-weight:600;vertical-align:bottom}
td:first-child,th:first-child,td.text{text-align:left}
.v{display:block;white-space:nowrap}
.ci,.file{display:block;color:#56606b;font-size:.8em;font-weight:normal}
.ci{white-space:nowrap}.file{overflow-wrap:anywhere}
table.full{font-size:.8em}table.full td,table.full th{padding:.3rem .3rem}
table.full .ci{white-space:normal}
@media (max-width:52rem){table{font-size:.8em}td,th{padding:.3rem .3rem}}
table.strategies th,table.settings th{text-align:left}
code{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.88em;background:#f1f3f5;
padding:0 .2em;overflow-wrap:anywhere}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f1f3f5;padding:.8rem}
.wide{overflow-x:auto}
details{margin:1rem 0}details>summary{cursor:pointer;font-weight:600}
.print-only{display:none}
"""
"""Screen styles (the sweep report shares them)."""

PRINT_CSS = """
@page{size:A4;margin:12mm 13mm 14mm}
@page{@bottom-right{content:counter(page) " / " counter(pages);font-size:8pt;color:#56606b}}
@media print{
body{max-width:none;margin:0;padding:0;font-size:9pt;line-height:1.35}
h1{font-size:14.5pt}h2{font-size:11.5pt;margin:.9em 0 .35em;break-after:avoid}
h3{font-size:10pt;margin:.8em 0 .3em;break-after:avoid}
p{orphans:3;widows:3}.ranking li{margin:.2em 0}
.summary{background:none;border-left:3px solid #0072B2;padding:0 .9em .2em}
.summary h2{margin-top:.3em}
figure{break-inside:avoid;margin:.5em 0}
figure img{margin:0 auto;max-width:100%}
#figures>h2{display:none}
#figure-forest img{width:78%}#figure-survival img{width:88%}#figure-capacity img{width:72%}
table{font-size:8pt}tr{break-inside:avoid}thead{display:table-header-group}
.appendix{display:none}.print-only{display:block}
section.uncertainty{display:none}
}
"""
"""Print: A4 with page numbers; summary and figures first, then the tables. The uncertainty
section and the technical appendix are left to the screen (the summary, the forest plot and
the key table already quote the uncertainty intervals)."""


def _date(day: dt.date, lang: str) -> str:
    """A date as the reader writes it ("3 Desember 2026"), not ISO."""
    month = t("report.months", lang).split(",")[day.month - 1]
    return t("report.date", lang, day=day.day, month=month, year=day.year)


def report_name(lang: str) -> str:
    return f"report{suffix(lang)}.html"


def _differences(scenario: Scenario) -> list[tuple[str, object]]:
    """Settings that differ from the defaults: what makes this scenario what it is."""
    defaults = dict((k, v) for k, v, _, _ in entries(Scenario()))
    text = ("name", "description", "label", "label_id", "description_id")
    changed = [
        (k, v)
        for k, v, _, _ in entries(scenario)
        if k not in text and defaults.get(k) != v and not k.startswith("run.")
    ]
    for i, item in enumerate(scenario.interventions):
        changed.append((f"interventions[{i}]", item.model_dump(exclude_defaults=True)))
    return changed


@plain_text()
def write_comparison(
    result: ComparisonResult,
    out: str | Path,
    langs: Sequence[str] = ("en",),
    pdf: bool = False,
    files: Mapping[str, str] | None = None,
    sensitivity: Sensitivity | str | Path | None = DEFAULT_SENSITIVITY,
    table: pd.DataFrame | None = None,
    uncertainty: UncertaintyResult | None = None,
    at_least: float = 3.0,
    overrides: Mapping[str, object] | None = None,
    decision: Decision | None = None,
) -> list[Path]:
    """Write every output of a comparison into `out`: tables once, and per language the
    figures and the brief (report.html, report_id.html), printed to PDF with `pdf`.

    `files` maps scenario names to the files they came from (shown in the brief); a
    `sensitivity` path is read when it exists, for the 'depends most on' line; `table`
    replaces the comparison table. With `uncertainty` (run_uncertainty on the same
    scenarios), the summary quotes its 95 % uncertainty intervals and the brief gets its
    section, tables and figures (`at_least`: the 'averts at least X per 100' threshold).
    `overrides` (dotted key -> value) are the changes made to the scenario files; the brief's
    command that reproduces it repeats them. `decision` (default: from `uncertainty` with a
    minimal important difference of 1 per 100) gives page 1 its key messages and
    recommendation; comparison.csv then also holds every pair's paired difference."""
    out = Path(out)
    if decision is None and uncertainty is not None:
        scenarios = [r.scenario for r in result.results.values()]
        decision = Decision(uncertainty, nested=nested_pairs(scenarios), seed=uncertainty.seed)
    if uncertainty is not None and decision is not None and not uncertainty.nested:
        uncertainty.nested = decision.nested  # so pairwise.csv flags them too
    if table is None and uncertainty is not None:
        table = with_uncertainty(result.table, uncertainty.summary())
    if table is not None:
        result = _with_table(result, table)
    written = storage.write_table(out / "comparison", _with_pairs(result.table, decision))
    written += storage.write_table(out / "survival", result.survival())
    for name, run in result.results.items():
        folder = out / "scenarios" / safe_name(name)  # a name is text, never a path
        written += storage.write_table(folder / "summary", run.summary())
        daily_mean = run.daily.drop(columns="replicate").groupby("day").mean()
        written += storage.write_table(folder / "daily_mean", daily_mean.reset_index())
    if not isinstance(sensitivity, Sensitivity) and sensitivity is not None:
        sensitivity = Sensitivity.read(
            sensitivity, outcome=f"averted_per_100_{headline_tag(result.horizon)}"
        )
    for lang in langs:
        pictures = write_figures(result, out, lang)
        written += pictures.values()
        section: Html | None = None
        command: list[str] = []
        if uncertainty is not None:
            labels = {n: scenario_label(r.scenario, lang) for n, r in result.results.items()}
            files_u, section = write_uncertainty(
                uncertainty,
                out,
                at_least,
                labels,
                lang,
                tables=lang == langs[0],
                mid=decision.mid if decision else 1.0,
                nested=decision.nested if decision else None,
            )
            written += files_u
            command = uncertainty_options(uncertainty, at_least)
        brief = write_html(
            result,
            pictures,
            out / report_name(lang),
            lang,
            files,
            sensitivity,
            section,
            command,
            overrides,
            decision,
        )
        written.append(brief)
        if pdf:
            from kds_sim.report.pdf import write_pdf

            written.append(write_pdf(brief, brief.with_suffix(".pdf")))
    return written


def _with_pairs(table: pd.DataFrame, decision: Decision | None) -> pd.DataFrame:
    """The comparison table with one row per pair of strategies: the paired difference in
    relapses averted per 100 at 12 months (`scenario` minus `versus`), its 95 % UI, P(at least
    the MID), the share of tied draws and whether one strategy is nested in the other."""
    if decision is None:
        return table
    pairs = decision.pairs()
    if pairs.empty:
        return table
    rows = pd.DataFrame(
        {
            "scenario": pairs["strategy"],
            "reference": table["reference"].iloc[0],
            "metric": "paired_difference_averted_per_100_365d",
            "unit": "relapses averted per 100 people, this strategy minus versus",
            "mean": pairs["mean_difference"],
            "ui_low": pairs["ui_low"],
            "ui_high": pairs["ui_high"],
            "versus": pairs["versus"],
            "mid": pairs["mid"],
            "probability_at_least_mid": pairs["probability_at_least_mid"],
            "probability_below_minus_mid": pairs["probability_below_minus_mid"],
            "share_tied": pairs["share_tied"],
            "nested": pairs["nested"],
            "draws": pairs["draws"],
        }
    )
    return pd.concat([table, rows], ignore_index=True)


def _with_table(result: ComparisonResult, table: pd.DataFrame) -> ComparisonResult:
    """The same runs reporting another table (ComparisonResult.table is a cached property)."""
    other = ComparisonResult(result.results, result.reference)
    other.__dict__["table"] = table
    return other


def write_figures(result: ComparisonResult, out: Path, lang: str) -> dict[str, Path]:
    """The brief's figures as PNG files (survival, forest, capacity; `_id` for Indonesian)."""
    standings = ranking(result, lang)
    tag = headline_tag(result.horizon)
    reference = scenario_label(result.results[result.reference].scenario, lang)
    end = suffix(lang)
    pictures: dict[str, Path] = {}
    if standings:
        figure = brief_figures.forest(
            standings, lang, tag_words(tag, result.horizon, lang), reference
        )
        pictures["forest"] = storage.write_figure(out / f"forest{end}.png", figure)
        figure = brief_figures.survival_panels(result, standings, lang)
        pictures["survival"] = storage.write_figure(out / f"survival{end}.png", figure)
    capacity = brief_figures.capacity_lines(result, standings, lang)
    if capacity is not None:
        pictures["capacity"] = storage.write_figure(out / f"capacity{end}.png", capacity)
    return pictures


def _cell(value: str, below: str = "") -> Html:
    extra = el("span", below, class_="ci") if below else None
    return el("td", el("span", value, class_="v"), extra)


def _strategy_cell(name: str, scenario: Scenario, lang: str, files: Mapping[str, str]) -> Html:
    """The strategy's label (file names and scenario names belong in the appendix only)."""
    return el("th", scenario_label(scenario, lang), scope="row")


def _capacity_cell(row: Row, lang: str) -> Html:
    """PEKA scores with two decimals, as PEKA reports them; no range where every replicate
    agrees (capacity draws no random numbers unless the group stops meeting)."""
    mean = row["capacity_end"]
    if math.isnan(mean):
        return _cell(t("report.not_available", lang))
    low, high, _ = interval(row, "capacity_end")
    if low == high:
        return _cell(num(mean, lang, 2))
    return _cell(*value_and_range(mean, low, high, lang))


def key_table(result: ComparisonResult, lang: str, files: Mapping[str, str]) -> Html:
    """Reference first, then the strategies by rank: relapse, relapses prevented, share of the
    reference's relapses prevented, NNT and capacity, each rounded to what its interval allows."""
    tag = headline_tag(result.horizon)
    words = tag_words(tag, result.horizon, lang)
    wide = by_scenario(result.table)
    order = [result.reference, *(s.name for s in ranking(result, lang))]
    has_capacity = any(r.scenario.group.enabled for r in result.results.values())
    heads = [
        t("report.strategy", lang),
        t("metric.relapse", lang, when=words),
        t("metric.averted_per_100", lang, when=words),
        t("report.prevented_column", lang, when=words),
        t("metric.nnt", lang, when=words),
    ]
    if has_capacity:
        heads.append(metric_label("capacity_end", lang))
    rows = []
    for name in order:
        row, run = wide[name], result.results[name]
        low, high, _ = interval(row, f"relapse_{tag}")
        cells = [
            _strategy_cell(name, run.scenario, lang, files),
            _cell(*share_and_range(float(row[f"relapse_{tag}"]), low, high, lang)),
        ]
        if name == result.reference:
            cells += [_cell(t("report.reference_cell", lang))] * 3
        else:
            low, high, _ = interval(row, f"averted_per_100_{tag}")
            cells.append(
                _cell(*value_and_range(float(row[f"averted_per_100_{tag}"]), low, high, lang))
            )
            low, high, _ = interval(row, f"relative_risk_{tag}")
            cells.append(
                _cell(
                    *share_and_range(
                        1 - float(row[f"relative_risk_{tag}"]), 1 - high, 1 - low, lang
                    )
                )
            )
            low, high, _ = interval(row, f"nnt_{tag}")
            nnt = float(row[f"nnt_{tag}"])
            if not (math.isnan(low) or math.isnan(high)):  # the CI of the difference excludes 0
                cells.append(_cell(*value_and_range(nnt, low, high, lang)))
            else:
                cells.append(_cell(num(nnt, lang, 0), t("report.ci_not_available", lang)))
        if has_capacity:
            cells.append(_capacity_cell(row, lang))
        rows.append(el("tr", *cells))
    kinds = dict.fromkeys(interval(wide[n], f"relapse_{tag}")[2] for n in order)
    note = t("report.results_note", lang, kind=", ".join(kind_text(k, lang) for k in kinds))
    return join(
        [
            el("h3", t("report.results_title", lang)),
            el("div", _table(heads, rows, "key"), class_="wide"),
            el("p", note, class_="note"),
        ]
    )


def _table(heads: Sequence[str], rows: Sequence[Html], kind: str) -> Html:
    """A table with a header row of column titles (text) and body rows (already built)."""
    head = el("tr", *(el("th", h, scope="col") for h in heads))
    return el("table", el("thead", head), el("tbody", *rows), class_=kind)


def strategies_table(result: ComparisonResult, lang: str, files: Mapping[str, str]) -> Html:
    """What each scenario is and what it takes, in the ranking's order."""
    order = [result.reference, *(s.name for s in ranking(result, lang))]
    rows = []
    for name in order:
        scenario = result.results[name].scenario
        takes = "; ".join(takes_in_detail(scenario, result.horizon, lang))
        rows.append(
            el(
                "tr",
                _strategy_cell(name, scenario, lang, files),
                el("td", scenario_description(scenario, lang), class_="text"),
                el("td", takes, class_="text"),
            )
        )
    heads = (
        t("report.strategy", lang),
        t("report.what_it_is", lang),
        t("report.what_it_takes", lang),
    )
    return join([el("h3", t("report.strategies_title", lang)), _table(heads, rows, "strategies")])


def _full_cell(row: Row, metric: str, lang: str, reference: bool) -> Html:
    """Mean over the Monte Carlo CI; shares as percentages; contrasts of the reference with
    itself as "reference"."""
    mean, low, high = row[metric], row[f"{metric}_ci_low"], row[f"{metric}_ci_high"]
    if reference and metrics.is_contrast(metric):
        return _cell(t("report.reference_cell", lang))
    if math.isnan(mean):
        return _cell(t("report.not_available", lang))
    scale = 100 if metrics.get(metric).unit == "share" else 1
    if math.isnan(low):
        return _cell(num(scale * mean, lang, 1), t("report.ci_not_available", lang))
    digits = digits_for(scale * low, scale * high, default=2)
    shown = [num(scale * v, lang, digits) for v in (mean, low, high)]
    if scale == 100:
        shown = [t("report.percent", lang, value=v) for v in shown]
    return _cell(shown[0], f"[{shown[1]}, {shown[2]}]")


FULL_COLUMNS = 6
"""Metric columns per table of the appendix: more do not fit a page column in Indonesian."""


def full_table(result: ComparisonResult, lang: str) -> Html:
    """Every report column with its Monte Carlo CI, for analysts (screen only), in tables of
    at most FULL_COLUMNS metrics so that none is wider than the page."""
    wide = by_scenario(result.table)
    same = ("relapse_horizon", "averted_per_100_horizon") if result.horizon == 365 else ()
    present = [m for m in metrics.REPORT_COLUMNS if m in wide[result.reference] and m not in same]
    tables = []
    for start in range(0, len(present), FULL_COLUMNS):
        shown = present[start : start + FULL_COLUMNS]
        heads = (t("report.strategy", lang), *(metric_label(m, lang) for m in shown))
        rows = []
        for name, run in result.results.items():
            row, reference = wide[name], name == result.reference
            cells = (_full_cell(row, m, lang, reference) for m in shown)
            label = el("th", scenario_label(run.scenario, lang), scope="row")
            rows.append(el("tr", label, *cells))
        tables.append(el("div", _table(heads, rows, "full"), class_="wide"))
    return join(
        [
            el("h3", t("report.all_results", lang)),
            *tables,
            el("p", t("report.all_results_note", lang), class_="note"),
        ]
    )


def _figure(key: str, path: Path, caption: str, alt: str) -> Html:
    return el("figure", embed_image(path, alt), el("figcaption", caption), id=f"figure-{key}")


def reproduce_command(
    result: ComparisonResult,
    files: Mapping[str, str],
    lang: str,
    overrides: Mapping[str, object] | None = None,
    extra: Sequence[str] = (),
) -> str:
    """The `kds-sim compare` command that repeats this comparison, every word shell-quoted,
    with the overrides that changed the scenarios."""
    ref = result.results[result.reference]
    words = ["kds-sim", "compare"]
    words += [files.get(n, f"scenarios/{n}.toml") for n in result.results]
    words += ["--reference", result.reference, "--replicates", str(ref.replicates)]
    words += ["--seed", str(ref.seed), "--horizon", str(ref.horizon)]
    for key, value in (overrides or {}).items():
        words += ["--set", f"{key}={toml_value(value)}"]
    words += list(extra)
    if lang != "en":
        words += ["--lang", lang]
    return shlex.join(words)


def toml_value(value: object) -> str:
    """A value as TOML writes it (`0.8`, `"agent"`, `true`), as `--set KEY=VALUE` reads it."""
    import tomli_w

    return tomli_w.dumps({"v": value}).split("=", 1)[1].strip()


def write_html(
    result: ComparisonResult,
    figures: dict[str, Path],
    path: Path,
    lang: str = "en",
    files: Mapping[str, str] | None = None,
    sensitivity: Sensitivity | None = None,
    uncertainty_section: Html | None = None,
    uncertainty_command: Sequence[str] = (),
    overrides: Mapping[str, object] | None = None,
    decision: Decision | None = None,
) -> Path:
    """The brief: summary, figures, tables, the uncertainty analysis when there is one, then
    the technical appendix (screen only)."""
    files = files or {}
    ref = result.results[result.reference]
    tag = headline_tag(result.horizon)
    words = tag_words(tag, result.horizon, lang)
    reference = scenario_label(ref.scenario, lang)
    kinds = dict.fromkeys(s.kind for s in ranking(result, lang)) or {"monte_carlo": None}
    kind = ", ".join(kind_text(k, lang) for k in kinds)
    meta = t(
        "report.meta",
        lang,
        version=__version__,
        date=_date(dt.datetime.now(dt.UTC).date(), lang),
        count=len(result.results),
        replicates=ref.replicates,
        people=ref.cohort_size,
        days=ref.horizon,
    )
    survival = t("report.survival_title", lang, reference=reference)
    capacity = t("report.capacity_title", lang)
    captions = {  # key: (alt text, caption); the forest plot carries its title itself
        "forest": (
            t("report.forest_title", lang, when=words, reference=reference),
            t("report.forest_caption", lang, kind=kind),
        ),
        "survival": (survival, f"{survival}. {t('report.survival_caption', lang)}"),
        "capacity": (capacity, f"{capacity}. {t('report.capacity_caption', lang)}"),
    }
    pictures = [
        _figure(key, figures[key], caption, alt)
        for key, (alt, caption) in captions.items()
        if key in figures
    ]
    settings = []
    for name, run in result.results.items():
        rows = [
            el("tr", el("td", el("code", k), class_="text"), el("td", str(v), class_="text"))
            for k, v in _differences(run.scenario)
        ]
        heads = el("tr", el("th", t("report.setting", lang)), el("th", t("report.value", lang)))
        settings += [
            el("h4", scenario_label(run.scenario, lang), " ", el("code", name)),
            el("table", el("thead", heads), el("tbody", *rows), class_="settings"),
        ]
    command = reproduce_command(result, files, lang, overrides, uncertainty_command)
    resolved = {n: r.scenario.model_dump(mode="json") for n, r in result.results.items()}
    appendix = el(
        "section",
        el("h2", t("report.appendix", lang)),
        full_table(result, lang),
        el("details", el("summary", t("report.settings_title", lang)), *settings),
        el("h3", t("report.method_title", lang)),
        el("p", t("report.method", lang)),
        el("h3", t("report.reproduce", lang)),
        el("pre", command),
        el(
            "details",
            el("summary", t("report.resolved", lang)),
            el("pre", json.dumps(resolved, indent=1, ensure_ascii=False)),
        ),
        id="appendix",
        class_="appendix",
    )
    body = el(
        "main",
        el("header", el("h1", t("report.title", lang)), el("p", meta, class_="meta")),
        key_messages(result, decision, lang) if decision is not None else None,
        summary_html(result, lang, sensitivity),
        el("section", el("h2", t("report.figures", lang)), *pictures, id="figures"),
        el(
            "section",
            el("h2", t("report.tables", lang)),
            key_table(result, lang, files),
            strategies_table(result, lang, files),
            id="tables",
        ),
        uncertainty_section,
        appendix,
        el("p", t("report.print_note", lang), class_="print-only note"),
    )
    document = page(t("report.page_title", lang), [body], CSS + PRINT_CSS, lang)
    return storage.write_text(path, document)

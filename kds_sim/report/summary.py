"""The brief's opening summary, generated from a comparison's results (never written by hand).

It ranks the strategies by relapses prevented per 100 people at 12 months (or at the horizon
of a shorter run), says what share of the reference's relapses each prevents and what it takes,
and, when the inputs exist, how sure we are and which assumptions matter most.

Intervals come from one place, `interval()`: today the Monte Carlo CI of the mean, labelled as
such. When the comparison table carries `<metric>_ui_low`/`<metric>_ui_high` (or tidy `ui_low`/
`ui_high` columns), from parameter-uncertainty runs, the summary uses and names those instead.
How sure we are that one strategy beats another is said by the key messages
(kds_sim.report.decision), from paired differences, never by a "probability best".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from kds_sim.analysis.comparison import ComparisonResult
from kds_sim.messages import t
from kds_sim.model.interventions import REGISTRY
from kds_sim.model.scenario import Scenario
from kds_sim.report.html import Html, el, msg
from kds_sim.report.labels import (
    digits_for,
    num,
    parameter_label,
    percent,
    scenario_label,
    when,
)
from kds_sim.report.labels import join as words_list

MONTE_CARLO, UNCERTAINTY = "monte_carlo", "uncertainty"
"""Interval kinds: the precision of the mean at fixed parameters, or uncertainty over them."""

DEFAULT_SENSITIVITY = Path(
    "experiments/results/morris_all/analysis/morris_averted_per_100_365d.csv"
)
"""Read, when it exists (relative to the working directory), for the 'depends most on' line."""

DAYS_PER_MONTH = 365.25 / 12


def numbers(table: pd.DataFrame) -> pd.DataFrame:
    """The tidy comparison table as one row per scenario: `<metric>`, `<metric>_ci_low`,
    `<metric>_ci_high`, and, when the table has them, `<metric>_ui_low` and `<metric>_ui_high`."""
    order = list(dict.fromkeys(table["scenario"]))
    parts = []
    for column, suffix in (
        ("mean", ""),
        ("ci_low", "_ci_low"),
        ("ci_high", "_ci_high"),
        ("ui_low", "_ui_low"),
        ("ui_high", "_ui_high"),
    ):
        if column in table:
            wide = table.pivot(index="scenario", columns="metric", values=column)
            parts.append(wide.add_suffix(suffix))
    extra = [c for c in table.columns if c.endswith(("_ui_low", "_ui_high"))]
    if extra:  # scenario-level columns repeated on every metric row: first value per scenario
        parts.append(table.groupby("scenario")[extra].first())
    out = pd.concat(parts, axis=1).reindex(order)
    return out.loc[:, ~out.columns.duplicated()]


def with_uncertainty(table: pd.DataFrame, intervals: pd.DataFrame) -> pd.DataFrame:
    """The comparison table with a parameter-uncertainty analysis: its 95 % intervals
    (`ui_low`, `ui_high` by strategy and metric, as UncertaintyResult.summary() gives them),
    in the columns the summary reads. Pass the result to write_comparison(table=...). There
    is no "probability best": pairwise differences (UncertaintyResult.pairwise) say how sure
    we are that one strategy does better than another by a difference that matters."""
    ui = intervals.rename(columns={"strategy": "scenario"})[
        ["scenario", "metric", "ui_low", "ui_high"]
    ]
    out = table.drop(columns=["ui_low", "ui_high", "probability_best"], errors="ignore")
    return out.merge(ui, on=["scenario", "metric"], how="left")


Row = Mapping[str, float]
"""One scenario's numbers: a row of `numbers()`."""


def by_scenario(table: pd.DataFrame) -> dict[str, Row]:
    """`numbers()` as scenario -> {column: value}."""
    return {
        str(name): {str(k): float(v) for k, v in values.items()}
        for name, values in numbers(table).iterrows()
    }


def interval(row: Row, metric: str) -> tuple[float, float, str]:
    """The 95 % interval to report for `metric` of one scenario, and its kind: the
    uncertainty interval when there is one, else the Monte Carlo CI."""
    low, high = row.get(f"{metric}_ui_low", math.nan), row.get(f"{metric}_ui_high", math.nan)
    if not (math.isnan(low) or math.isnan(high)):
        return low, high, UNCERTAINTY
    return row[f"{metric}_ci_low"], row[f"{metric}_ci_high"], MONTE_CARLO


def kind_text(kind: str, lang: str) -> str:
    return t(f"report.kind_{kind}", lang)


def headline_tag(horizon: int) -> str:
    """Where the ranking is read: 12 months, or the horizon of a shorter run."""
    return "365d" if horizon >= 365 else "horizon"


def tag_words(tag: str, horizon: int, lang: str) -> str:
    """ "12 months"; for the horizon, its length ("60 days") rather than "the whole follow-up"."""
    return when(f"{horizon}d" if tag == "horizon" else tag, lang)


# -- what a strategy takes ---------------------------------------------------------------------
def _months(entry_start: int, duration: int | None, horizon: int) -> int:
    days = min(duration or horizon, horizon - entry_start)
    return max(0, round(days / DAYS_PER_MONTH))


def takes(scenario: Scenario, horizon: int, lang: str) -> str:
    """What the strategy asks of the programme, in one phrase: group sessions, months of
    mentoring, recruitment (the inputs a district office budgets)."""
    if not scenario.group.enabled:
        return t("intervention.no_group", lang)
    sessions = sum(
        e.sessions
        for e in scenario.interventions
        if e.kind in REGISTRY and REGISTRY[e.kind].timing == "sessions"
    )
    parts = []
    if sessions:
        parts.append(
            t("report.takes_session", lang)
            if sessions == 1
            else t("report.takes_sessions", lang, count=sessions)
        )
    mentoring = sum(
        _months(e.start_day, e.duration_days, horizon)
        for e in scenario.interventions
        if e.kind == "mentoring"
    )
    if mentoring:
        parts.append(t("report.takes_mentoring", lang, months=mentoring))
    for e in scenario.interventions:
        if e.kind == "recruitment":
            coverage = percent(float(getattr(e, "target_coverage", math.nan)), lang, 0)
            parts.append(t("report.takes_recruitment", lang, coverage=coverage))
    return words_list(parts, lang) if parts else t("report.takes_none", lang)


def takes_in_detail(scenario: Scenario, horizon: int, lang: str) -> list[str]:
    """Every activity with its dose, for the strategies table."""
    if not scenario.group.enabled:
        return [t("intervention.no_group", lang)]
    lines = [t("intervention.group", lang, coverage=percent(scenario.group.coverage, lang, 0))]
    for e in scenario.interventions:
        kind = t(f"intervention.{e.kind}", lang) if e.kind in REGISTRY else e.kind
        if e.kind == "recruitment":
            targeting = str(getattr(e, "targeting", "random"))
            lines.append(
                t(
                    "intervention.recruitment_to",
                    lang,
                    coverage=percent(float(getattr(e, "target_coverage", math.nan)), lang, 0),
                    targeting=t(f"intervention.target_{targeting}", lang),
                )
            )
        elif e.kind in REGISTRY and REGISTRY[e.kind].timing == "continuous":
            months = _months(e.start_day, e.duration_days, horizon)
            lines.append(t("intervention.months", lang, kind=kind, months=months))
        elif e.sessions == 1:
            lines.append(t("intervention.session", lang, kind=kind))
        else:
            lines.append(t("intervention.sessions", lang, kind=kind, count=e.sessions))
    return lines


# -- the ranking --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Standing:
    """One strategy's place in the ranking, with the numbers the summary states."""

    name: str
    label: str
    averted: float
    averted_low: float
    averted_high: float
    kind: str
    prevented: float
    prevented_low: float
    prevented_high: float
    takes: str


def ranking(result: ComparisonResult, lang: str) -> list[Standing]:
    """Strategies (every scenario but the reference), most relapses prevented first."""
    tag = headline_tag(result.horizon)
    wide = by_scenario(result.table)
    out = []
    for name, run in result.results.items():
        if name == result.reference:
            continue
        row = wide[name]
        metric = f"averted_per_100_{tag}"
        low, high, kind = interval(row, metric)
        ratio = f"relative_risk_{tag}"
        rr_low, rr_high, _ = interval(row, ratio)
        out.append(
            Standing(
                name=name,
                label=scenario_label(run.scenario, lang),
                averted=float(row[metric]),
                averted_low=low,
                averted_high=high,
                kind=kind,
                prevented=1 - float(row[ratio]),
                prevented_low=1 - rr_high,
                prevented_high=1 - rr_low,
                takes=takes(run.scenario, result.horizon, lang),
            )
        )
    return sorted(out, key=lambda s: -s.averted if math.isfinite(s.averted) else math.inf)


def value_and_range(mean: float, low: float, high: float, lang: str) -> tuple[str, str]:
    """A mean and its interval, both rounded to what the interval supports."""
    digits = digits_for(low, high)
    return num(mean, lang, digits), t(
        "report.range", lang, low=num(low, lang, digits), high=num(high, lang, digits)
    )


def share_and_range(mean: float, low: float, high: float, lang: str) -> tuple[str, str]:
    """The same for a share, written as percentages."""
    digits = digits_for(100 * low, 100 * high)
    return percent(mean, lang, digits), t(
        "report.range", lang, low=percent(low, lang, digits), high=percent(high, lang, digits)
    )


# -- the assumptions that matter most -------------------------------------------------------------
@dataclass(frozen=True)
class Sensitivity:
    """The parameters the answer depends on most, from a sensitivity analysis: (parameter key,
    importance) most important first; `measure` "morris" (mu*) or "sobol" (total index)."""

    factors: tuple[tuple[str, float], ...]
    measure: str
    source: str

    @classmethod
    def read(
        cls, path: str | Path, outcome: str = "averted_per_100_365d", top: int = 3
    ) -> Sensitivity | None:
        """The top factors of a Morris or Sobol table written by `kds-sim analyse`; None when
        the file is missing or is neither."""
        path = Path(path)
        if not path.is_file():
            return None
        table = pd.read_csv(path)
        if "outcome" in table:
            table = table[table["outcome"] == outcome]
        for column, measure in (("mu_star", "morris"), ("ST", "sobol")):
            if column in table and "factor" in table and len(table):
                best = table.sort_values(column, ascending=False).head(top)
                factors = tuple(
                    (str(f), float(v)) for f, v in zip(best["factor"], best[column], strict=True)
                )
                return cls(factors, measure, _shown(path))
        return None


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _sensitivity_sentence(sensitivity: Sensitivity, lang: str) -> Html:
    items = []
    for key, value in sensitivity.factors:
        shown = percent(value, lang, 0) if sensitivity.measure == "sobol" else num(value, lang, 1)
        items.append(f"{parameter_label(key, lang)} ({shown})")
    measure = (
        t(f"report.measure_{sensitivity.measure}", lang)
        if sensitivity.measure in ("morris", "sobol")
        else sensitivity.measure
    )
    return msg(
        "report.depends",
        lang,
        items=words_list(items, lang),
        measure=measure,
        source=el("code", sensitivity.source),
    )


# -- the summary as HTML ---------------------------------------------------------------------
def summary_html(
    result: ComparisonResult, lang: str, sensitivity: Sensitivity | None = None
) -> Html:
    """The opening section of the brief."""
    tag = headline_tag(result.horizon)
    words = tag_words(tag, result.horizon, lang)
    wide = by_scenario(result.table)
    ref = wide[result.reference]
    relapse = f"relapse_{tag}"
    low, high, _ = interval(ref, relapse)
    reference = scenario_label(result.results[result.reference].scenario, lang)
    lead = t(
        "report.lead",
        lang,
        reference=reference,
        relapse=percent(float(ref[relapse]), lang, digits_for(100 * low, 100 * high)),
        when=words,
    )
    items = []
    standings = ranking(result, lang)
    longer = result.horizon > 365 and tag == "365d"
    for s in standings:
        averted, averted_range = value_and_range(s.averted, s.averted_low, s.averted_high, lang)
        if s.averted >= 0 or not math.isfinite(s.averted):
            prevented, prevented_range = share_and_range(
                s.prevented, s.prevented_low, s.prevented_high, lang
            )
            text = t(
                "report.rank_item",
                lang,
                averted=averted,
                interval=averted_range,
                prevented=prevented,
                prevented_interval=prevented_range,
                takes=s.takes,
            )
        else:
            less, less_range = value_and_range(-s.averted, -s.averted_high, -s.averted_low, lang)
            text = t(
                "report.rank_item_more", lang, averted=less, interval=less_range, takes=s.takes
            )
        if longer:
            row = wide[s.name]
            h_low, h_high, _ = interval(row, "averted_per_100_horizon")
            later, later_range = value_and_range(
                float(row["averted_per_100_horizon"]), h_low, h_high, lang
            )
            text += " " + t(
                "report.rank_later",
                lang,
                when=tag_words("horizon", result.horizon, lang),
                averted=later,
                interval=later_range,
            )
        items.append(el("li", el("b", s.label), ": ", text, data_scenario=s.name))
    parts = [
        el("h2", t("report.summary", lang)),
        el("p", lead, class_="lead"),
        el("ol", *items, class_="ranking"),
    ]
    kinds = dict.fromkeys(s.kind for s in standings) or {MONTE_CARLO: None}
    notes = [
        t("report.interval_note", lang, kind=words_list([kind_text(k, lang) for k in kinds], lang))
    ]
    apart = len(standings) < 2 or standings[0].averted_low > standings[1].averted_high
    if MONTE_CARLO in kinds and not apart:  # under uncertainty the key messages say it
        notes.append(t("report.overlap", lang, first=standings[0].label, second=standings[1].label))
    parts.append(el("p", " ".join(notes), class_="note"))
    if sensitivity is not None and sensitivity.factors:
        parts.append(el("p", _sensitivity_sentence(sensitivity, lang), class_="depends"))
    parts.append(el("p", t("report.caveat", lang), class_="caveat"))
    return el("section", *parts, id="summary", class_="summary")

"""Page 1 of the brief as a decision: key messages, one recommendation with its conditions,
the uncertainty in words, and, for a district, people and rupiah per year.

Everything here reads an uncertainty analysis (UncertaintyResult): paired differences between
strategies on the same draws and random numbers, P(difference >= MID), and costs. The
recommendation rule is stated in `recommend` so that a reader can check it:

1. candidates: strategies that prevent at least MID relapses per 100 more than the reference
   in at least half the draws;
2. start from the candidate that prevents most on average;
3. prefer a simpler candidate (fewer activities; on ties, lower mean cost) that the larger one
   does not beat by at least MID in at least half the draws: what it adds is too small to
   matter at this horizon.
With no candidate, the recommendation is to run no package at scale yet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from kds_sim.analysis.comparison import ComparisonResult
from kds_sim.analysis.costs import District
from kds_sim.analysis.uncertainty import UncertaintyResult
from kds_sim.messages import t
from kds_sim.report.html import Html, el
from kds_sim.report.labels import digits_for, num, percent, scenario_label
from kds_sim.report.labels import join as words_list

METRIC = "averted_per_100_365d"
LIKELY = 0.5
"""A gain of at least the MID counts when it comes in at least this share of the draws."""


@dataclass
class Decision:
    """What page 1 needs: the analysis, the MID, the nested pairs and an optional district."""

    uncertainty: UncertaintyResult
    mid: float = 1.0
    nested: set[tuple[str, str]] = field(default_factory=set)
    district: District | None = None
    seed: int = 0

    def pairs(self, metric: str = METRIC) -> pd.DataFrame:
        return self.uncertainty.pairwise(metric, self.mid, self.nested)


def _pair(pairs: pd.DataFrame, a: str, b: str) -> tuple[float, float, float, float]:
    """(mean difference a - b, UI low, UI high, P(a - b >= MID))."""
    row = pairs[(pairs["strategy"] == a) & (pairs["versus"] == b)]
    if len(row):
        r = row.iloc[0]
        return (r["mean_difference"], r["ui_low"], r["ui_high"], r["probability_at_least_mid"])
    r = pairs[(pairs["strategy"] == b) & (pairs["versus"] == a)].iloc[0]
    return (-r["mean_difference"], -r["ui_high"], -r["ui_low"], r["probability_below_minus_mid"])


def recommend(decision: Decision, activities: dict[str, int]) -> str | None:
    """The strategy to start with (module docstring), or None when none is worth it."""
    result = decision.uncertainty
    pairs = decision.pairs()
    ref = result.reference
    others = [s for s in result.strategies if s != ref]
    candidates = [s for s in others if _pair(pairs, s, ref)[3] >= LIKELY]
    if not candidates:
        return None
    means = {s: _pair(pairs, s, ref)[0] for s in candidates}
    costs = _mean_costs(result)
    best = max(candidates, key=lambda s: means[s])
    simpler = [
        s
        for s in candidates
        if (activities.get(s, 0), costs.get(s, 0.0))
        < (activities.get(best, 0), costs.get(best, 0.0))
        and _pair(pairs, best, s)[3] < LIKELY
    ]
    if simpler:
        return min(simpler, key=lambda s: (activities.get(s, 0), costs.get(s, 0.0), -means[s]))
    return best


def _mean_costs(result: UncertaintyResult) -> dict[str, float]:
    if result.costs is None:
        return {}
    return {str(k): float(v) for k, v in result.cost_matrix().mean().items()}


def _range(low: float, high: float, lang: str, scale: float = 1.0) -> tuple[str, str]:
    digits = digits_for(low * scale, high * scale)
    return num(low * scale, lang, digits), num(high * scale, lang, digits)


def _money(value: float, lang: str) -> str:
    """Rupiah in words a budget reads: millions (juta) with one decimal, or thousands."""
    if not math.isfinite(value):
        return t("report.not_available", lang)
    if abs(value) >= 1e6:
        return t("decision.millions", lang, value=num(value / 1e6, lang, 1))
    return num(round(value, -3), lang, 0)


def key_messages(result: ComparisonResult, decision: Decision, lang: str) -> Html:
    """3-5 key messages and the recommendation, in plain words (the first thing on page 1)."""
    u = decision.uncertainty
    pairs = decision.pairs()
    ref = u.reference
    labels = {n: scenario_label(r.scenario, lang) for n, r in result.results.items()}
    activities = {n: len(r.scenario.interventions) for n, r in result.results.items()}
    summary = u.summary()
    relapse = summary[(summary["strategy"] == ref) & (summary["metric"] == "relapse_365d")]
    messages: list[str] = []
    if len(relapse):
        r = relapse.iloc[0]
        first, last = _range(r["ui_low"], r["ui_high"], lang, 100)
        messages.append(t("decision.baseline", lang, reference=labels[ref], low=first, high=last))
    others = sorted((s for s in u.strategies if s != ref), key=lambda s: -_pair(pairs, s, ref)[0])
    if others:
        top = others[0]
        mean, low, high, p = _pair(pairs, top, ref)
        lo, hi = _range(low, high, lang)
        messages.append(
            t(
                "decision.best",
                lang,
                strategy=labels[top],
                mean=num(mean, lang, digits_for(low, high)),
                low=lo,
                high=hi,
                mid=num(decision.mid, lang, 0),
                probability=percent(p, lang, 0),
            )
            + _per_members(u, top, lang)
        )
    if len(others) > 1:
        a, b = others[0], others[1]
        mean, low, high, p = _pair(pairs, a, b)
        lo, hi = _range(low, high, lang)
        nested = (a, b) in decision.nested or (b, a) in decision.nested
        key = (
            "decision.close_nested"
            if nested and p < LIKELY
            else ("decision.close" if p < LIKELY else "decision.apart")
        )
        messages.append(
            t(
                key,
                lang,
                first=labels[a],
                second=labels[b],
                low=lo,
                high=hi,
                mid=num(decision.mid, lang, 0),
                probability=percent(p, lang, 0),
            )
        )
    horizon = result.horizon
    if horizon > 365 and "averted_per_100_horizon" in set(u.values["metric"]) and len(others) > 1:
        long = u.pairwise("averted_per_100_horizon", decision.mid, decision.nested)
        a, b = others[0], others[1]
        mean, low, high, p = _pair(long, a, b)
        lo, hi = _range(low, high, lang)
        messages.append(
            t(
                "decision.long_run",
                lang,
                years=num(horizon / 365.25, lang, 0),
                first=labels[a],
                second=labels[b],
                low=lo,
                high=hi,
                probability=percent(p, lang, 0),
            )
        )
    choice = recommend(decision, activities)
    district = _district_message(decision, choice, labels, lang) if choice else None
    if district:
        messages.append(district)
    messages.append(
        t(
            "decision.assumptions",
            lang,
            kept=u.conditioning.get("kept", u.draws),
            draws=u.conditioning.get("draws", u.draws),
        )
    )
    if choice is None:
        recommendation = t("decision.recommend_none", lang, mid=num(decision.mid, lang, 0))
    else:
        conditions = [t("decision.condition_effects", lang)]
        if u.costs is not None:
            conditions.append(t("decision.condition_costs", lang))
        recommendation = t(
            "decision.recommend",
            lang,
            strategy=labels[choice],
            conditions=words_list(conditions, lang),
        )
    return el(
        "section",
        el("h2", t("decision.title", lang)),
        el("ol", *(el("li", m) for m in messages[:5]), class_="key-messages"),
        el(
            "p",
            el("b", t("decision.recommendation", lang)),
            " ",
            recommendation,
            class_="recommendation",
        ),
        id="key-messages",
        class_="summary",
    )


def _per_members(u: UncertaintyResult, strategy: str, lang: str) -> str:
    """ " That is about X per 100 members (between a and b)." (empty without member counts)."""
    table = u.per_members()
    row = table[table["strategy"] == strategy]
    if row.empty:
        return ""
    r = row.iloc[0]
    low, high = _range(r["ui_low"], r["ui_high"], lang)
    mean = num(r["mean"], lang, digits_for(r["ui_low"], r["ui_high"]))
    return " " + t("decision.members", lang, mean=mean, low=low, high=high)


def _district_message(
    decision: Decision, choice: str, labels: dict[str, str], lang: str
) -> str | None:
    """People and rupiah per year in the district for the recommended strategy."""
    district = decision.district
    if district is None:
        return None
    u = decision.uncertainty
    averted = u.matrix(METRIC)[choice].to_numpy(dtype=float)
    people = district.per_year(averted, decision.seed)
    low, high = np.nanpercentile(people, [2.5, 97.5])
    parts = {
        "district": district.name,
        "discharged": num(district.discharged.value, lang, 0),
        "strategy": labels[choice],
        "mean": num(float(np.nanmean(people)), lang, 0 if np.nanmean(people) >= 10 else 1),
        "low": num(low, lang, 0 if high >= 10 else 1),
        "high": num(high, lang, 0 if high >= 10 else 1),
    }
    if u.costs is None:
        return t("decision.district", lang, **parts)
    cost = u.cost_matrix()
    extra = (cost[choice] - cost[u.reference]).to_numpy(dtype=float)
    per_year = district.per_year(extra, decision.seed)
    c_low, c_high = np.nanpercentile(per_year, [2.5, 97.5])
    some = averted > 0
    ratio = extra[some] / averted[some]
    r_low, r_high = np.nanpercentile(ratio, [2.5, 97.5]) if len(ratio) else (np.nan, np.nan)
    return t(
        "decision.district_costs",
        lang,
        **parts,
        cost=_money(float(np.nanmean(per_year)), lang),
        cost_low=_money(c_low, lang),
        cost_high=_money(c_high, lang),
        per_relapse=_money(float(np.mean(extra)) / float(np.mean(averted)), lang)
        if np.mean(averted) > 0
        else t("report.not_available", lang),
        per_relapse_low=_money(r_low, lang),
        per_relapse_high=_money(r_high, lang),
        currency=_currency(u, lang),
    )


def _currency(u: UncertaintyResult, lang: str) -> str:
    costs = u.unit_costs
    if costs is None:
        return u.currency or ""
    name = t("decision.rupiah", lang) if costs.currency.upper() in ("IDR", "RP") else costs.currency
    return t("decision.prices", lang, currency=name, year=costs.year) if costs.year else name

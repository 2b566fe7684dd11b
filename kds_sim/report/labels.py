"""Names a reader understands, in the report's language: scenarios by their label, metrics and
parameters from the message catalogue, numbers written for the locale.

Every word of the brief comes from kds_sim/messages (shared with the classroom app), so the
English and Bahasa Indonesia reports cannot drift apart. Where the catalogue has no entry
(a metric or parameter added later), the English name from the registry or the dotted key is
shown rather than nothing.
"""

from __future__ import annotations

import math

from kds_sim.analysis import metrics
from kds_sim.messages import catalogue, check_lang, number, t
from kds_sim.model.scenario import Scenario


def scenario_label(scenario: Scenario, lang: str) -> str:
    """The scenario's short label in `lang`; the English label, then the name, when missing."""
    if lang == "id" and scenario.label_id:
        return scenario.label_id
    return scenario.label or scenario.name


def scenario_description(scenario: Scenario, lang: str) -> str:
    if lang == "id" and scenario.description_id:
        return scenario.description_id
    return scenario.description


def when(tag: str, lang: str) -> str:
    """A time point in words: "365d" -> "12 months", "horizon" -> "the whole follow-up"."""
    if tag == "horizon":
        return t("when.horizon", lang)
    days = int(tag.rstrip("d"))
    key = f"when.d{days}"
    return t(key, lang) if key in catalogue(lang) else t("when.day", lang, days=days)


def metric_label(name: str, lang: str) -> str:
    """A metric's column title; the registry's English label for metrics the catalogue lacks."""
    if f"metric.{name}" in catalogue(lang):
        return t(f"metric.{name}", lang)
    parts = metrics.family(name)
    if parts and f"metric.{parts[0]}" in catalogue(lang):
        return t(f"metric.{parts[0]}", lang, when=when(parts[1], lang))
    return metrics.label(name)


def parameter_label(key: str, lang: str) -> str:
    """A model parameter in words ("population.coping.mean" -> "coping skill (mean)"); the
    dotted key itself when the catalogue has no words for it."""
    known = catalogue(lang)
    parts = key.split(".")
    if parts[-1] in ("mean", "sd") and f"parameter.{'.'.join(parts[:-1])}" in known:
        label = t(f"parameter.{'.'.join(parts[:-1])}", lang)
        return t(f"parameter.{parts[-1]}", lang, label=label)
    if key.startswith("group.capacity.") and f"domain.{parts[-1]}" in known:
        return t("parameter.capacity", lang, domain=t(f"domain.{parts[-1]}", lang))
    if len(parts) == 4 and parts[0] == "intervention_effects" and parts[2] == "domain_gain":
        kind, domain = f"intervention.{parts[1]}", f"domain.{parts[3]}"
        if kind in known and domain in known:
            return t("parameter.domain_gain", lang, kind=t(kind, lang), domain=t(domain, lang))
    return t(f"parameter.{key}", lang) if f"parameter.{key}" in known else key


def digits_for(low: float, high: float, default: int = 1) -> int:
    """Decimals that the interval supports: the first significant digit of its half-width
    (5.6 [5.4, 5.9] -> 1; 0.862 [0.853, 0.871] -> 3; 17.6 [16.6, 18.6] -> 0), between 0 and 3."""
    half = (high - low) / 2
    if not math.isfinite(half) or half <= 0:
        return default
    return max(0, min(3, -math.floor(math.log10(half))))


def num(value: float, lang: str, digits: int) -> str:
    """A number for the locale; "n/a" for NaN; never "-0.0"."""
    if not math.isfinite(value):
        return t("report.not_available", lang)
    return number(round(value, digits) + 0.0, lang, digits)  # + 0.0: -0.0 becomes 0.0


def percent(value: float, lang: str, digits: int) -> str:
    """A share (0.406) as a percentage for the locale ("40.6 %", "40,6%")."""
    if not math.isfinite(value):
        return t("report.not_available", lang)
    return t("report.percent", lang, value=num(100 * value, lang, digits))


def join(items: list[str], lang: str) -> str:
    """ "a, b and c" in the report's language."""
    if len(items) <= 1:
        return "".join(items)
    return t("report.list_sep", lang).join(items[:-1]) + f" {t('report.and', lang)} {items[-1]}"


def suffix(lang: str) -> str:
    """File-name suffix of a language: "" for English, "_id" for Bahasa Indonesia."""
    return "" if check_lang(lang) == "en" else f"_{lang}"

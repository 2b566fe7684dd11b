"""The one message catalogue for every text a person reads, in English and Bahasa Indonesia.

Texts live in `en.toml` and `id.toml` beside this file (package data), as TOML tables whose
dotted paths are the keys: `t("state.relapsed", "id")` is "kambuh". Keeping every label,
tooltip and story line here, and nowhere in code, is what lets the app (and later the policy
report) switch language without missing a string; a test checks both files have the same keys.

Terms used throughout the Indonesian catalogue: lapse = "tergelincir", relapse = "kambuh",
abstinent = "abstinen", high-risk situation = "situasi berisiko tinggi", using friend =
"teman pemakai", peer support group = "KDS (Kelompok Dukungan Sebaya)", mentoring =
"pendampingan", capacity building = "penguatan kapasitas".
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any

LANGS: tuple[str, ...] = ("en", "id")
DEFAULT_LANG = "en"


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{key}."))
        elif isinstance(value, str):
            flat[key] = value
        else:
            raise TypeError(f"message {key!r} must be text, got {type(value).__name__}")
    return flat


def check_lang(lang: str) -> str:
    """Return `lang` if it has a catalogue, else raise ValueError naming the choices."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; allowed: {', '.join(LANGS)}")
    return lang


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Every message of one language, by dotted key (read once, then cached)."""
    text = resources.files(__name__).joinpath(f"{check_lang(lang)}.toml").read_text("utf-8")
    return _flatten(tomllib.loads(text))


def t(key: str, lang: str = DEFAULT_LANG, **fmt: object) -> str:
    """The message `key` in `lang`, with `{name}` fields filled from `fmt`."""
    try:
        template = catalogue(lang)[key]
    except KeyError:
        raise KeyError(f"no message {key!r} in the {lang!r} catalogue") from None
    return template.format(**fmt) if fmt else template


def number(value: float, lang: str = DEFAULT_LANG, digits: int = 1) -> str:
    """A number written the way readers of `lang` expect (2.5 in English, 2,5 in Indonesian)."""
    text = f"{value:,.{digits}f}"
    if check_lang(lang) == "id":
        text = text.translate(str.maketrans(",.", ".,"))
    return text


__all__ = ["DEFAULT_LANG", "LANGS", "catalogue", "check_lang", "number", "t"]

"""HTML escaped by construction: every page kds-sim writes is built from these few functions.

`Html` marks text that is already markup. Everything else that reaches `el`, `join` or
`page` (a label, a file name, a currency, a metric or parameter name, a number) is plain text
and is escaped on the way in. A forgotten escape therefore shows as visible `&lt;` in a
report, never as a script that runs. Code outside this module never writes a tag by
concatenating strings: it calls `el`.
"""

from __future__ import annotations

import html as _html
from collections.abc import Iterable

from kds_sim.messages import t


class Html(str):
    """A string that is markup, not text: `el` and `join` do not escape it again."""

    __slots__ = ()


def escape(value: object) -> Html:
    """`value` as markup: Html passes through, anything else is escaped text (None: empty)."""
    if isinstance(value, Html):
        return value
    if value is None:
        return Html("")
    return Html(_html.escape(str(value), quote=True))


def join(items: Iterable[object], sep: object = "") -> Html:
    """Items joined by `sep`, each escaped unless it is Html."""
    return Html(escape(sep).join(escape(item) for item in items))


VOID = frozenset({"meta", "img", "br", "hr", "link", "input"})


def el(tag: str, *children: object, **attrs: object) -> Html:
    """<tag attrs>children</tag>. Attribute names come from code (`class_` -> class,
    `data_scenario` -> data-scenario); every value and every child that is not Html is
    escaped. An attribute whose value is None or False is left out."""
    if not tag.isalnum():
        raise ValueError(f"not a tag name: {tag!r}")
    parts = [tag]
    for name, value in attrs.items():
        if value is None or value is False:
            continue
        key = name.rstrip("_").replace("_", "-")
        parts.append(key if value is True else f"{key}='{escape(value)}'")
    opening = f"<{' '.join(parts)}>"
    if tag in VOID:
        return Html(opening)
    return Html(f"{opening}{join(children)}</{tag}>")


def msg(key: str, lang: str, **values: object) -> Html:
    """A catalogue message as markup: the message is text (escaped), and so is each value,
    unless the value is Html (a `<code>` or a list already built)."""
    template = escape(t(key, lang))
    return Html(template.format(**{k: escape(v) for k, v in values.items()}))


def style(css: str) -> Html:
    """A <style> element from the project's own constant style sheets (never user text)."""
    if "</" in css:
        raise ValueError("a style sheet may not contain '</'")
    return Html(f"<style>{css}</style>")


def page(title: object, body: Iterable[object], css: str, lang: str = "en") -> Html:
    """A whole, self-contained document."""
    head = join(
        [
            el("meta", charset="utf-8"),
            el("meta", name="viewport", content="width=device-width, initial-scale=1"),
            el("title", title),
            style(css),
        ]
    )
    return Html(f"<!doctype html>\n{el('html', el('head', head), el('body', *body), lang=lang)}")


def table(frame: object, **options: object) -> Html:
    """A pandas DataFrame as a table; pandas escapes every header and cell (escape=True)."""
    text = frame.to_html(escape=True, **options)  # type: ignore[attr-defined]
    return Html(text)

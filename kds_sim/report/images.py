"""Figures embedded in a page (base64 PNG), so a report opens anywhere without its folder."""

from __future__ import annotations

import base64
from pathlib import Path

from kds_sim.report.html import Html, escape


def embed_image(path: Path, alt: str | None = None) -> Html:
    """<img> with the PNG inline; the alt text is escaped, the data is base64 (no quotes)."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return Html(f'<img alt="{escape(alt or path.stem)}" src="data:image/png;base64,{data}">')

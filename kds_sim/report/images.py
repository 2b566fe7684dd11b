"""Figures embedded in a page (base64 PNG), so a report opens anywhere without its folder."""

from __future__ import annotations

import base64
from pathlib import Path

from kds_sim.report.html import Html, el


def embed_image(path: Path, alt: str | None = None) -> Html:
    data = base64.b64encode(path.read_bytes()).decode()
    return el("img", alt=alt or path.stem, src=f"data:image/png;base64,{data}")

"""Figures embedded in a page (base64 PNG), so a report opens anywhere without its folder."""

from __future__ import annotations

import base64
import html
from pathlib import Path


def embed_image(path: Path, alt: str | None = None) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(alt or path.stem)}" src="data:image/png;base64,{data}">'

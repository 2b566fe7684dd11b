"""The printed brief speaks its reader's language (issue 22): in both briefs no variable names,
file paths, seeds or absolute paths; in the Indonesian one no English words. Scanned: the HTML
text a reader sees in print (the screen-only technical appendix, which exists to reproduce
the run, is left out), every text drawn on a figure, and the console output."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest

from kds_sim.cli.main import main
from kds_sim.io import storage

ROOT = Path(__file__).resolve().parent.parent

SMALL = """
extends = "{base}"
label = "{label}"
label_id = "{label_id}"
description = "A small test strategy."
description_id = "Strategi uji yang kecil."
[population]
size = 60
[run]
replicates = 10
"""

ENGLISH = re.compile(
    r"\b(the|and|of|with|relapse|relapses|relapse-free|share|days|since|discharge|draws?|"
    r"drives|uncertainty|probability|best|reference|strategy|median band|noise floor|"
    r"willingness|cost|costs|people|prevented|averted|months?|how sure|jointly|"
    r"mean|file|seed|what|within)\b",
    re.IGNORECASE,
)
VARIABLE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b|\b[a-z_]+\.[a-z_]+\.[a-z_]+\b")
FILE = re.compile(r"\b[\w-]+\.(?:toml|csv|parquet|html|png|json|pdf|svg)\b")
ABSOLUTE = re.compile(r"(?:^|[\s(\"'=])/(?:[\w.-]+/)+|[A-Za-z]:\\")
SEED = re.compile(r"\bseed\b|20191201")


def _visible(page: str) -> str:
    """The text of the brief without the technical appendix (screen only), styles or scripts."""
    page = re.sub(r"<style.*?</style>|<script.*?</script>", " ", page, flags=re.S)
    page = re.sub(r"<section[^>]*id=[\"']appendix[\"'].*?</section>", " ", page, flags=re.S)
    alts = " ".join(re.findall(r"alt=[\"']([^\"']*)[\"']", page))
    page = re.sub(r"<img[^>]*>", " ", page)
    text = re.sub(r"<[^>]+>", " ", page) + " " + alts
    return html.unescape(re.sub(r"\s+", " ", text))


def _brief(tmp_path: Path, lang: str, monkeypatch: Any, capsys: Any) -> tuple[str, str, str]:
    figures: list[str] = []
    original = storage.write_figure

    def record(path: Any, figure: Any, *args: Any, **kwargs: Any) -> Any:
        from matplotlib.text import Text

        figures.extend(t.get_text() for t in figure.findobj(Text) if t.get_text().strip())
        return original(path, figure, *args, **kwargs)

    monkeypatch.setattr(storage, "write_figure", record)
    files = []
    labels = {"no_group": ("No group", "Tanpa KDS"), "capacity_building": ("Training", "Pelatihan")}
    for name, (label, label_id) in labels.items():
        path = tmp_path / f"{name}.toml"
        base = ROOT / "scenarios" / f"{name}.toml"
        text = SMALL.format(base=base, label=label, label_id=label_id)
        path.write_text(text, encoding="utf-8")
        files.append(f"{name}.toml")
    monkeypatch.chdir(tmp_path)
    code = main(
        ["compare", *files, "--lang", lang, "--district", "cimahi", "--draws", "6",
         "--draw-replicates", "2", "--mid", "0.1", "--out", f"out_{lang}", "--no-progress"]
    )  # fmt: skip
    # --mid 0.1: a small MID, so that the strategy is recommended and page 1 carries the
    # district's people and rupiah (shown only for a recommended strategy) in the text checked
    console = capsys.readouterr()
    assert code == 0, console.err
    page = tmp_path / f"out_{lang}" / ("report.html" if lang == "en" else "report_id.html")
    return _visible(page.read_text(encoding="utf-8")), " | ".join(figures), console.out


def _console_without_written_line(console: str) -> str:
    """The last line names the folder the user chose and the page to open: a path on purpose
    (still checked for absolute paths)."""
    return "\n".join(console.strip().splitlines()[:-1])


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "id"])
def test_briefs_hold_no_variable_names_paths_or_seeds(tmp_path, monkeypatch, capsys, lang):
    text, figures, console = _brief(tmp_path, lang, monkeypatch, capsys)
    assert "Pesan utama" in text if lang == "id" else "Key messages" in text
    assert "Kota Cimahi" in text and ("juta" in text if lang == "id" else "million" in text)
    for where, content in (("brief", text), ("figures", figures)):
        assert not VARIABLE.findall(content), (where, VARIABLE.findall(content)[:5])
        assert not FILE.findall(content), (where, FILE.findall(content)[:5])
        assert not ABSOLUTE.findall(content), (where, ABSOLUTE.findall(content)[:5])
        assert not SEED.findall(content), (where, SEED.findall(content)[:5])
    assert not ABSOLUTE.findall(console), ABSOLUTE.findall(console)
    shown = _console_without_written_line(console)
    assert not VARIABLE.findall(shown), VARIABLE.findall(shown)[:5]
    assert not FILE.findall(shown), FILE.findall(shown)[:5]
    if lang == "id":
        for where, content in (("brief", text), ("figures", figures), ("console", shown)):
            found = ENGLISH.findall(content)
            assert not found, (where, sorted(set(found))[:10])

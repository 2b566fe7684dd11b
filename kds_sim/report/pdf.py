"""Printing report.html to PDF through headless Chromium (Debian's `chromium`).

The report's print stylesheet does the layout (A4, summary and figures first, page numbers);
Chromium only renders it, so the PDF is what "Print" in a browser gives. No browser is
downloaded: we use the one on PATH, or the one KDS_SIM_CHROMIUM names.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from kds_sim.errors import PdfError
from kds_sim.io import storage

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
MISSING = (
    "--pdf needs headless Chromium, and none was found: install Debian's chromium "
    "(apt-get install -y chromium) or set KDS_SIM_CHROMIUM to the browser's path; "
    "report.html itself needs no browser to write, and a browser's Print gives the same brief"
)


def find_chromium() -> str | None:
    """The Chromium to print with: $KDS_SIM_CHROMIUM, else the first of BROWSERS on PATH."""
    chosen = os.environ.get("KDS_SIM_CHROMIUM")
    if chosen:
        return shutil.which(chosen) or (chosen if Path(chosen).is_file() else None)
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def write_pdf(html: Path, pdf: Path, browser: str | None = None, timeout: float = 180) -> Path:
    """Print `html` to `pdf` (written atomically); raises PdfError with the reason."""
    browser = browser or find_chromium()
    if browser is None:
        raise PdfError(MISSING)
    with tempfile.TemporaryDirectory(prefix="kds-sim-chromium-") as profile:

        def render(tmp: Path) -> None:
            command = [
                browser,
                "--headless",
                "--no-sandbox",  # our own file, no scripts; the sandbox fails as root
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-pdf-header-footer",
                f"--user-data-dir={profile}",
                f"--print-to-pdf={tmp}",
                Path(html).resolve().as_uri(),
            ]
            # the page is named by its file name only: it may be printed in a staging folder
            # that is renamed (or removed) by the time the message is read
            folder = str(Path(html).resolve().parent)
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
            except (OSError, subprocess.TimeoutExpired) as err:
                reason = getattr(err, "strerror", None) or type(err).__name__
                raise PdfError(f"{browser} could not print {Path(html).name}: {reason}") from None
            if done.returncode != 0 or not tmp.read_bytes().startswith(b"%PDF"):
                tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
                said = " | ".join(line.replace(folder, "...") for line in tail)
                raise PdfError(
                    f"{browser} could not print {Path(html).name} (exit {done.returncode})"
                    + (f": {said}" if said else "")
                )

        return storage.atomic_write(pdf, render)


def page_count(pdf: Path) -> int:
    """Pages in a PDF Chromium wrote (its page objects are not compressed)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", Path(pdf).read_bytes()))

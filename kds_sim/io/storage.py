"""Atomic file writes: a reader (or a resumed run) never sees a half-written file."""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from kds_sim.errors import OutputFolderError


def _file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _file_mode()
"""Permissions of written files: what open() would give (0644 under the usual umask 022)."""


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp)` on a temporary file beside `path`, then rename it into place."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError as err:
        raise OutputFolderError(
            f"{shown(path)}: cannot write: {err.strerror} "
            f"({errno.errorcode.get(err.errno or 0, err.errno)})"
        ) from None
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, _FILE_MODE)  # mkstemp makes the file private (0600); use the umask
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError) and err.errno is not None:  # disk full, read-only, ...
            raise OutputFolderError(
                f"{shown(path)}: cannot write: {err.strerror} "
                f"({errno.errorcode.get(err.errno, err.errno)}); the file was not written and "
                "no part of it is left"
            ) from None
        raise
    return path


def shown(path: Path) -> str:
    """A path as a message names it: where the file was going, not the staging folder it is
    written in first (gone when the message is read)."""
    parts = Path(path).parts
    kept = [p for p in parts if not p.startswith(".staging-")]
    return str(Path(*kept)) if kept else str(path)


def write_text(path: str | Path, text: str) -> Path:
    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    return atomic_write(path, write)


def write_parquet(path: str | Path, table: pd.DataFrame) -> Path:
    def write(tmp: Path) -> None:
        table.to_parquet(tmp, index=False)

    return atomic_write(path, write)


def write_json(path: str | Path, data: object) -> Path:
    return write_text(path, json.dumps(data, indent=2, default=_jsonable) + "\n")


def write_table(path: str | Path, table: pd.DataFrame, parquet: bool = True) -> list[Path]:
    """Tidy CSV (and Parquet beside it) that pandas and R read without help."""
    path = Path(path)
    written = [
        atomic_write(
            path.with_suffix(".csv"),
            lambda tmp: table.to_csv(tmp, index=False, float_format="%.10g"),
        )
    ]
    if parquet:
        written.append(
            atomic_write(
                path.with_suffix(".parquet"), lambda tmp: table.to_parquet(tmp, index=False)
            )
        )
    return written


def write_figure(path: str | Path, figure) -> Path:
    import matplotlib
    import matplotlib.pyplot as plt
    from matplotlib.text import Text

    def save(tmp: Path) -> None:
        # user text ($ in a label) is never mathtext, even in a figure drawn elsewhere
        with matplotlib.rc_context({"text.parse_math": False}):
            for text in figure.findobj(Text):
                text.set_parse_math(False)
            figure.savefig(
                tmp, format="png", dpi=130, bbox_inches="tight", metadata={"Software": None}
            )

    try:
        return atomic_write(path, save)
    finally:
        plt.close(figure)


def _jsonable(value: object) -> object:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")

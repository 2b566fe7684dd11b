"""The files shipped inside the package: scenarios, the calibrated overlay and its posterior,
calibration targets and experiment designs.

They are built from the repository's `scenarios/` and `experiments/designs/` (one editable copy,
mapped into the packages `kds_sim.scenarios` and `kds_sim.designs`), so an installed kds-sim can
run `kds-sim run no_group` from any directory. A name resolves to a shipped file only when no file
of that name exists: a user's own file always wins.
"""

from __future__ import annotations

import shutil
from importlib.resources import files
from pathlib import Path

from kds_sim.errors import ScenarioError

KINDS = {
    "scenario": ("kds_sim.scenarios", ""),
    "targets": ("kds_sim.scenarios", "targets"),
    "design": ("kds_sim.designs", ""),
}
"""What a name can denote -> (package, subfolder) holding the shipped files of that kind."""

SUFFIXES = (".toml", ".parquet", ".json")
"""Data files copied by `copy_scenarios` (the package's `__init__.py` is not data)."""


def folder(kind: str = "scenario") -> Path:
    """The folder of shipped files of a kind (a real folder: wheels install unzipped)."""
    package, sub = KINDS[kind]
    return Path(str(files(package))) / sub


def names(kind: str = "scenario") -> list[str]:
    """Shipped names of a kind, sorted; scenarios include `calibrated/...` overlays."""
    root = folder(kind)
    pattern = "*.toml" if kind != "scenario" else "**/*.toml"
    found = [p.relative_to(root).with_suffix("").as_posix() for p in root.glob(pattern)]
    if kind == "scenario":
        found = [n for n in found if not n.startswith("targets/")]
    return sorted(found, key=lambda n: (n.count("/"), n))


def shipped(name: str, kind: str = "scenario") -> Path | None:
    """The shipped file a name denotes (`no_group`, `calibrated/indonesia_2015`), or None."""
    relative = Path(name)
    if relative.is_absolute() or ".." in relative.parts or not name:
        return None
    if relative.suffix != ".toml":
        relative = relative.with_name(relative.name + ".toml")
    path = folder(kind) / relative
    return path if path.is_file() else None


def resolve(name: str | Path, kind: str = "scenario", base: Path | None = None) -> Path:
    """A file named by a path (relative to `base`, else the working directory) or, when no such
    file exists, by the name of a shipped file. Raises ScenarioError naming what is shipped."""
    path = Path(name)
    local = path if base is None or path.is_absolute() else base / path
    if local.is_file():
        return local
    if local.suffix == "" and local.with_name(local.name + ".toml").is_file():
        return local.with_name(local.name + ".toml")  # `no_group` after copying the scenarios
    found = shipped(str(name), kind)
    if found is not None:
        return found
    if local.suffix == ".toml" or len(path.parts) > 1:  # clearly meant as a file path
        raise ScenarioError(f"{local.resolve()}: {kind} file not found")
    raise ScenarioError(
        f"{name!r}: no {kind} file of that name here and none shipped; "
        f"allowed: a path to a TOML file or one of {', '.join(names(kind))}"
    )


def copy_scenarios(destination: str | Path) -> list[Path]:
    """Copy every shipped scenario, overlay, posterior and targets file into `destination`
    (keeping `calibrated/` and `targets/`), so they can be edited; never overwrites a file."""
    root = folder("scenario")
    dest = Path(destination)
    sources = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
    clashes = [dest / p.relative_to(root) for p in sources if (dest / p.relative_to(root)).exists()]
    if clashes:
        raise ScenarioError(
            f"{clashes[0]}: already exists ({len(clashes)} of {len(sources)} files would be "
            "overwritten); allowed: a new or empty folder"
        )
    written = []
    for source in sources:
        target = dest / source.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        written.append(target)
    return written

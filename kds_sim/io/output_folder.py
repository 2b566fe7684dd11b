"""An output folder as one consistent set: a lock, a staging folder swapped in, a manifest last.

Each file alone is written atomically, but a set of files is not: two runs sharing a folder,
or a run killed while replacing an earlier run's files, would leave files of different runs
side by side. So a run locks the folder (`.lock`, with its pid), writes its files into
`.staging-RUNID/`, removes the old `manifest.json`, moves its files in, deletes files the old
manifest listed that this run did not write, and writes `manifest.json` (run id, seed,
scenario hash, every file with its sha256) last. A folder without a manifest, or whose files
do not match it, is not a finished set. The resume cache `.replicates/` is not part of the set.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import uuid
from pathlib import Path

from kds_sim.errors import OutputFolderError
from kds_sim.io import storage

MANIFEST = "manifest.json"
LOCK = ".lock"


def safe_name(name: str) -> str:
    """A scenario name as a single folder name: never a path, never hidden, never empty."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._-")
    return cleaned[:100] or "scenario"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_writable(out: Path) -> None:
    """Fail before computing, with one line, if `out` cannot become a writable folder."""
    for parent in (out, *out.parents):
        if parent.exists() and not parent.is_dir():
            what = "is a file" if parent == out else f"is under a file ({parent})"
            raise OutputFolderError(f"output folder {out}: {what}; allowed: a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".probe-{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        reason = "not writable" if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS) else ""
        raise OutputFolderError(f"output folder {out}: {reason or err.strerror}") from None


class OutputFolder:
    """Exclusive use of an output folder, and the swap that makes its files one set."""

    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.run_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        self.staging = self.out / f".staging-{self.run_id}"
        self._locked = False
        self._fd = -1

    def __enter__(self) -> OutputFolder:
        self.lock()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def lock(self) -> None:
        """Take the folder, or fail with one line if a live run holds it.

        The lock is an advisory `flock` on `.lock`, which the kernel drops when its process
        ends however it ends: a lock left by a killed run never blocks, even when its process
        id has since been reused by an unrelated process. The pid in the file is only for the
        message."""
        check_writable(self.out)
        lock = self.out / LOCK
        for _ in range(5):
            fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = os.read(fd, 200).decode(errors="replace").split()
                os.close(fd)
                who = f" (pid {holder[0]})" if holder else ""
                raise OutputFolderError(
                    f"output folder {self.out}: another kds-sim run{who} is writing there; "
                    "allowed: wait for it, or another folder"
                ) from None
            try:
                same = os.fstat(fd).st_ino == os.stat(lock).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # the holder released and removed it between our open and flock
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()} {self.run_id}\n".encode())
            self._fd = fd
            self._locked = True
            self._clean_leftovers()
            return
        raise OutputFolderError(f"output folder {self.out}: could not take the lock {lock}")

    def release(self) -> None:
        if self._locked:
            shutil.rmtree(self.staging, ignore_errors=True)
            (self.out / LOCK).unlink(missing_ok=True)  # removed while held: see lock()
            os.close(self._fd)
            self._locked = False

    def _clean_leftovers(self) -> None:
        """Staging folders and .part files of killed runs (we hold the lock: none is live)."""
        for path in self.out.glob(".staging-*"):
            shutil.rmtree(path, ignore_errors=True)
        for path in self.out.rglob(".*.part"):
            path.unlink(missing_ok=True)

    def commit(self, seed: int, scenario_hash: str, extra: dict | None = None) -> list[Path]:
        """Swap the staged files in and write the manifest last; returns the final paths."""
        files = sorted(p for p in self.staging.rglob("*") if p.is_file())
        relative = [p.relative_to(self.staging) for p in files]
        old = read_manifest(self.out)
        (self.out / MANIFEST).unlink(missing_ok=True)  # from here until the end: no finished set
        for rel, path in zip(relative, files, strict=True):
            target = self.out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
        keep = {str(rel) for rel in relative}
        for name in (old or {}).get("files", {}):
            if name not in keep and not Path(name).is_absolute() and ".." not in Path(name).parts:
                (self.out / name).unlink(missing_ok=True)
        shutil.rmtree(self.staging, ignore_errors=True)
        manifest = {
            "run_id": self.run_id,
            "seed": seed,
            "scenario_hash": scenario_hash,
            **(extra or {}),
            "files": {str(rel): sha256(self.out / rel) for rel in relative},
        }
        storage.write_json(self.out / MANIFEST, manifest)
        return [self.out / rel for rel in relative]


def read_manifest(out: str | Path) -> dict | None:
    """The folder's manifest, or None if it has none (or an unreadable one)."""
    try:
        data = json.loads((Path(out) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def verify(out: str | Path) -> list[str]:
    """Problems that make `out` not one finished set (empty list: consistent)."""
    out = Path(out)
    manifest = read_manifest(out)
    if manifest is None:
        return [f"{out}: no {MANIFEST}: the outputs are unfinished or from an older kds-sim"]
    problems = []
    for name, digest in manifest.get("files", {}).items():
        path = out / name
        if not path.is_file():
            problems.append(f"{path}: listed in {MANIFEST} but missing")
        elif sha256(path) != digest:
            problems.append(f"{path}: does not match {MANIFEST} (written by another run)")
    return problems

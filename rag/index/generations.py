"""Index generations: ingest writes a new copy of the index and switches to it in one step.

Layout of the index folder:

    CURRENT.json     names the live generation (replaced atomically, never edited in place)
    gen-<id>/        one complete index: chroma/, lexical/, originals/
    ingest.lock      held (flock) by the one running `rag ingest`

An ingest copies the live generation into a new folder, changes only the copy, and finally
replaces CURRENT.json. Readers open whatever CURRENT.json names, so they always see a whole
index: the old one until the switch, the new one after it. An ingest killed at any point
leaves the live generation untouched; its unfinished folder is removed by the next ingest.
The previous generation is kept one round so a reader still using it is not cut off.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rag.errors import IndexDamagedError, IndexMissingError, UsageError

POINTER = "CURRENT.json"
LOCK = "ingest.lock"
MANIFEST = "manifest.json"
PREFIX = "gen-"
LEGACY = ("chroma", "lexical", "originals")  # the layout before generations
SHARED = ("originals", "terms")  # linked, not copied, into a new generation
TRASH = "trash-"  # generations being deleted


def read_pointer(index_dir: Path) -> dict[str, Any] | None:
    """The content of CURRENT.json, or None when there is no (readable) pointer."""
    try:
        pointer = json.loads((index_dir / POINTER).read_text())
    except (OSError, ValueError):
        return None
    return pointer if isinstance(pointer, dict) and "generation" in pointer else None


def current(index_dir: Path) -> Path | None:
    """Folder of the live generation, or None when no ingest has finished yet."""
    pointer = read_pointer(index_dir)
    return None if pointer is None else index_dir / str(pointer["generation"])


def live(index_dir: Path) -> Path:
    """Folder of the live generation, or an error that says what to do."""
    folder = current(index_dir)
    if folder is not None and folder.is_dir():
        return folder
    running = ingest_running(index_dir)
    if running:
        raise IndexMissingError(f"the index at {index_dir}/ is being built by a running "
                                f"`rag ingest` ({running}) — try again when it has finished")
    if folder is not None:
        raise IndexDamagedError(index_dir, f"{folder.name}/ is missing")
    raise IndexMissingError(f"no index at {index_dir}/ — run `rag ingest`")


def begin(index_dir: Path, copy_from: Path | None) -> Path:
    """A new generation folder: a copy of `copy_from`, or empty. The folders in SHARED hold
    files named by their content that are only ever replaced by a rename, never written in
    place, so the copy links them (hard links) instead of copying them."""
    folder = index_dir / f"{PREFIX}{time.time_ns():x}-{os.getpid()}"
    if copy_from is None:
        folder.mkdir(parents=True)
        return folder
    shutil.copytree(copy_from, folder, ignore=lambda parent, names: [
        name for name in names if Path(parent) == copy_from and name in SHARED])
    for name in SHARED:
        if (copy_from / name).is_dir():
            shutil.copytree(copy_from / name, folder / name, copy_function=os.link)
    return folder


def manifest(folder: Path) -> dict[str, int]:
    """Size of every file of a generation, by path relative to it."""
    return {str(p.relative_to(folder)): p.stat().st_size for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != MANIFEST}


def check_manifest(folder: Path) -> str | None:
    """What differs from the manifest written at the switch (a file missing or truncated by
    hand, or a damaged disk), or None when nothing does."""
    if not folder.is_dir():
        return f"{folder.name}/ is missing"
    try:
        recorded = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return f"{folder.name}/{MANIFEST} is missing or unreadable"
    found = manifest(folder)
    for path, size in recorded.items():
        if path not in found:
            return f"{folder.name}/{path} is missing"
        if found[path] != size:
            return f"{folder.name}/{path} has {found[path]} bytes, ingest wrote {size}"
    return None


def commit(index_dir: Path, folder: Path) -> None:
    """Record the folder's manifest, make it the live generation (atomic rename of the
    pointer), then tidy up."""
    (folder / MANIFEST).write_text(json.dumps(manifest(folder), indent=0))
    previous = read_pointer(index_dir)
    pointer = {"generation": folder.name,
               "previous": previous["generation"] if previous else None}
    tmp = index_dir / f"{POINTER}.tmp"
    with tmp.open("w") as handle:
        json.dump(pointer, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, index_dir / POINTER)
    prune(index_dir)


def prune(index_dir: Path) -> None:
    """Remove every generation folder except the live one and the one before it.

    A folder is first renamed out of the generations (instant), then deleted by a process of
    its own, which the ingest does not wait for: deleting the 700 MB of a generation at 100x
    the corpus took 0.5 s. A deletion cut short is finished by the next prune."""
    pointer = read_pointer(index_dir) or {}
    keep = {pointer.get("generation"), pointer.get("previous")}
    doomed = [folder for folder in index_dir.glob(f"{PREFIX}*") if folder.name not in keep]
    if pointer:
        doomed += [index_dir / name for name in LEGACY if (index_dir / name).exists()]
    for folder in doomed:
        with contextlib.suppress(OSError):
            folder.rename(index_dir / f"{TRASH}{folder.name}")
    trash = [str(folder) for folder in index_dir.glob(f"{TRASH}*")]
    if trash:
        # sh starts rm in the background and returns at once: rm outlives this process
        subprocess.run(["sh", "-c", 'rm -rf -- "$@" </dev/null >/dev/null 2>&1 &', "sh",
                        *trash], start_new_session=True, check=False)


@contextmanager
def ingest_lock(index_dir: Path) -> Iterator[None]:
    """Held for the whole ingest; a second ingest is refused rather than interleaved. The OS
    releases it when the process dies, even by kill -9."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / LOCK).open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(f"another `rag ingest` is running on {index_dir}/ "
                             f"({_holder(index_dir)}) — wait for it to finish") from None
        handle.truncate(0)
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)


def ingest_running(index_dir: Path) -> str | None:
    """'pid N' of a running ingest on `index_dir`, or None."""
    path = index_dir / LOCK
    if not path.is_file():
        return None
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _holder(index_dir)
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def _holder(index_dir: Path) -> str:
    try:
        return (index_dir / LOCK).read_text().strip() or "pid unknown"
    except OSError:
        return "pid unknown"

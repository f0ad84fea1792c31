"""Files added to the corpus from the page: checked as ingest checks a corpus file, given a safe
name, placed in the corpus folder without overwriting anything, and recorded so that the page
offers to remove only what was added from it.

A file is judged by `scan_corpus` itself, on a folder holding only that file: size, type by
content (a PDF must open as one, a text must decode and not be binary), an encrypted PDF, a PDF
without a text layer, an empty text. Whatever ingest would skip is refused here, with its words.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import UsageError
from rag.ingest.corpus import SUPPORTED_SUFFIXES, scan_corpus

MAX_FILES = 10  # files one upload may carry (the page's request-size limit counts on it)
RECORD = "uploads.json"  # in the index folder: name -> sha256 of each document added from the page
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_STEM = 80
_recording = threading.Lock()


@dataclass
class Outcome:
    """What became of the files of one upload."""

    added: list[str] = field(default_factory=list)  # names in the corpus folder
    refused: list[tuple[str, str]] = field(default_factory=list)  # (name given, why)
    notes: list[str] = field(default_factory=list)  # accepted, with a caveat


def safe_name(given: str) -> str | None:
    """A corpus file name for a file uploaded as `given`: its last path part only, accents
    dropped (NFKD to ASCII), any run of other characters than [A-Za-z0-9._-] replaced by one
    '_', no leading dot, dash or underscore, the suffix lower-case. None when the suffix is
    not one ingest reads (.txt, .md, .pdf, .html, .htm)."""
    base = re.split(r"[/\\]", given)[-1]
    ascii_name = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    stem, dot, suffix = ascii_name.rpartition(".")
    suffix = f".{suffix.lower()}"
    if not dot or suffix not in SUPPORTED_SUFFIXES:
        return None
    stem = _UNSAFE.sub("_", stem).strip("._-")[:_MAX_STEM].rstrip("._-")
    return f"{stem or 'document'}{suffix}"


def _judge(source: Path, name: str, max_mb: float) -> tuple[str | None, str | None, str]:
    """(why not, note, sha256) of `source` as a document named `name`, by scan_corpus on a
    folder of its own."""
    with tempfile.TemporaryDirectory(prefix="rag-upload-") as folder:
        staged = Path(folder) / name
        shutil.copyfile(source, staged)
        scan = scan_corpus(Path(folder), metadata_file="", max_mb=max_mb)
        said = [w.split(f"{staged}: ", 1)[-1] for w in scan.warnings]
        if not scan.documents:
            return (said[0] if said else "not a document"), None, ""
        return None, (said[0] if said else None), scan.documents[0].sha256


def _place(source: Path, name: str, corpus_dir: Path, metadata_file: str) -> str:
    """Copy `source` into the corpus folder under `name`, or `stem-2.suffix`, `stem-3...` when
    a file of that name (in any case) exists: never over an existing file. The copy is written
    under a hidden name first and linked into place in one step, so an ingest running
    meanwhile never reads half a file."""
    taken = {p.name.lower() for p in corpus_dir.iterdir()} | {metadata_file.lower()}
    stem, suffix = name[: -len(Path(name).suffix)], Path(name).suffix
    with tempfile.NamedTemporaryFile(dir=corpus_dir, prefix=".upload-", suffix=".part",
                                     delete=False) as part:
        with source.open("rb") as handle:
            shutil.copyfileobj(handle, part)
        part.flush()
        os.fsync(part.fileno())
    try:
        for number in range(1, 1000):
            candidate = name if number == 1 else f"{stem}-{number}{suffix}"
            if candidate.lower() in taken:
                continue
            try:
                os.link(part.name, corpus_dir / candidate)  # fails if it exists: no overwrite
            except FileExistsError:
                continue
            return candidate
        raise FileExistsError(f"no free name for {name} in {corpus_dir}/")
    finally:
        os.unlink(part.name)


def add_files(files: Sequence[tuple[Path, str]], corpus_dir: Path, index_dir: Path,
              metadata_file: str, max_mb: float, known: Mapping[str, str]) -> Outcome:
    """Check each (path, name given) and copy the documents into the corpus folder; `known`:
    the indexed documents (name -> sha256), so that a copy of one is refused (ingest would
    index only one of two identical files, maybe dropping the older one); so is a copy of a
    file added from the page and not indexed yet."""
    with _recording:
        added_before = {name: sha for name, sha in _read_record(index_dir).items()
                        if (corpus_dir / name).is_file()}
    outcome = Outcome()
    seen = {sha: doc for doc, sha in {**added_before, **known}.items()}
    if len(files) > MAX_FILES:
        outcome.refused += [(given, f"over {MAX_FILES} files in one upload: add the rest next")
                            for _, given in files[MAX_FILES:]]
        files = files[:MAX_FILES]
    for path, given in files:
        name = safe_name(given)
        if name is None:
            outcome.refused.append((given, "not a .pdf, .txt, .md or .html file"))
            continue
        why, note, sha = _judge(path, name, max_mb)
        if why is None and sha in seen:
            why = f"the same content as {seen[sha]}, already a document"
        if why is not None:
            outcome.refused.append((given, why))
            continue
        placed = _place(path, name, corpus_dir, metadata_file)
        seen[sha] = placed
        _record(index_dir, placed, sha)
        outcome.added.append(placed)
        if note:
            outcome.notes.append(f"{placed}: {note}")
    return outcome


def _read_record(index_dir: Path) -> dict[str, str]:
    try:
        found = json.loads((index_dir / RECORD).read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def _write_record(index_dir: Path, record: dict[str, str]) -> None:
    index_dir.mkdir(parents=True, exist_ok=True)
    tmp = index_dir / f"{RECORD}.tmp"
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True))
    os.replace(tmp, index_dir / RECORD)


def _record(index_dir: Path, name: str, sha256: str) -> None:
    with _recording:
        _write_record(index_dir, {**_read_record(index_dir), name: sha256})


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def uploaded(corpus_dir: Path, index_dir: Path) -> list[str]:
    """The documents added from the page that are still in the corpus folder as they were
    added (a file replaced by hand since is no longer the page's to remove), by name."""
    record = _read_record(index_dir)
    return sorted(name for name, sha in record.items()
                  if (corpus_dir / name).is_file() and _sha256(corpus_dir / name) == sha)


def remove_file(name: str, corpus_dir: Path, index_dir: Path) -> None:
    """Delete a document added from the page from the corpus folder; any other name is
    refused: the page removes nothing it did not add."""
    if name not in uploaded(corpus_dir, index_dir):
        raise UsageError(f"{name} was not added from the page (or is gone): only documents "
                         "added here can be removed here")
    with _recording:
        with contextlib.suppress(FileNotFoundError):
            (corpus_dir / name).unlink()
        record = _read_record(index_dir)
        record.pop(name, None)
        _write_record(index_dir, record)

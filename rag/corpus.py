"""Read the corpus folder: which files are documents, and which are skipped and why."""

from __future__ import annotations

import codecs
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import UsageError
from rag.types import SourceFile

SUPPORTED_SUFFIXES = (".txt", ".md")
_BOMS = {codecs.BOM_UTF16_LE: "UTF-16", codecs.BOM_UTF16_BE: "UTF-16",
         codecs.BOM_UTF32_LE: "UTF-32", codecs.BOM_UTF32_BE: "UTF-32"}


@dataclass
class CorpusScan:
    documents: list[SourceFile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _problem(path: Path, corpus_dir: Path, data: bytes | None) -> str | None:
    """Why `path` cannot be a document, or None when it can."""
    if path.is_dir():
        return "a folder (subfolders are not read)"
    if path.is_symlink() and not path.resolve().is_relative_to(corpus_dir.resolve()):
        return "a link pointing outside the corpus folder"
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        return "not a .txt or .md file"
    if data is None:
        return "cannot be read"
    if not data.strip():
        return "empty"
    for bom, name in _BOMS.items():
        if data.startswith(bom):
            return f"encoded as {name}, not UTF-8 (re-save it as UTF-8)"
    if b"\x00" in data:
        return "binary, not text (it contains NUL bytes)"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        return f"not UTF-8 text (invalid byte at position {err.start}; re-save it as UTF-8)"
    return None


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes() if path.is_file() else None
    except OSError:
        return None


def scan_corpus(corpus_dir: Path, metadata_file: str) -> CorpusScan:
    """Documents of `corpus_dir` (sorted by name) and a one-line warning per skipped file."""
    if not corpus_dir.is_dir():
        raise UsageError(f"no corpus folder at {corpus_dir}/ — create it with .txt or .md "
                         "files, or point to one with --corpus DIR")
    scan = CorpusScan()
    for path in sorted(corpus_dir.iterdir()):
        if path.name == metadata_file:
            continue
        data = None if path.is_dir() else _read(path)
        problem = _problem(path, corpus_dir, data)
        if problem or data is None:
            scan.warnings.append(f"skipped {path}: {problem}")
            continue
        scan.documents.append(SourceFile(doc=path.name, path=path, text=data.decode("utf-8"),
                                         sha256=hashlib.sha256(data).hexdigest()))
    return scan

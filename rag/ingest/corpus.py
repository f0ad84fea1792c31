"""Read the corpus folder: which files are documents, and which are skipped and why.

Nothing here stops an ingest: a file that cannot be a document is skipped with a one-line
warning, and the other documents are indexed as usual.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import UsageError
from rag.ingest.html import read_html
from rag.ingest.pdf import UnreadableDocument, read_pdf
from rag.types import SourceFile

EXTRACTED_SUFFIXES = (".pdf", ".html", ".htm")  # indexed from the text extracted from them
SUPPORTED_SUFFIXES = (".txt", ".md", *EXTRACTED_SUFFIXES)
# UTF-32 LE must be tried first: its byte-order mark begins with UTF-16 LE's.
_BOMS = {codecs.BOM_UTF32_LE: "utf-32", codecs.BOM_UTF32_BE: "utf-32",
         codecs.BOM_UTF16_LE: "utf-16", codecs.BOM_UTF16_BE: "utf-16"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_CONTROL_SHARE = 0.01  # a text with more control characters than this is binary


@dataclass
class CorpusScan:
    documents: list[SourceFile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _link_refusal(path: Path, corpus_dir: Path) -> str | None:
    """Why the symbolic link `path` cannot be followed to a document, or None."""
    try:
        target = path.resolve(strict=True)
    except RuntimeError:  # Python 3.11 reports a loop so; later versions raise OSError ELOOP
        return "a symbolic link loop"
    except OSError as err:
        if err.errno == errno.ELOOP:
            return "a symbolic link loop"
        if err.errno == errno.ENOENT:
            return f"a broken link (its target {os.readlink(path)} does not exist)"
        return f"a link that cannot be followed ({err.strerror})"
    if not target.is_relative_to(corpus_dir.resolve()):
        return "a link pointing outside the corpus folder"
    return None


def _refusal(path: Path, corpus_dir: Path, max_mb: float) -> str | None:
    """Why `path` cannot be a document, judged before reading it, or None."""
    link = _link_refusal(path, corpus_dir) if path.is_symlink() else None
    if link:
        return link
    if path.is_dir():
        return "a folder (subfolders are not read)"
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        return "not a .txt, .md, .pdf or .html file"
    if not path.is_file():
        return "not a regular file"
    size = path.stat().st_size / 1e6
    if size > max_mb:
        return (f"{size:.1f} MB, over the {max_mb:g} MB limit for one document (split it, or "
                "raise RAG_MAX_DOCUMENT_MB)")
    return None


def decode(data: bytes) -> tuple[str | None, str | None]:
    """(text, note) for readable text, (None, why not) otherwise. UTF-8 is expected; UTF-16/32
    with a byte-order mark and Windows-1252/Latin-1 are read with a note saying so."""
    for bom, codec in _BOMS.items():
        if data.startswith(bom):
            try:
                return data.decode(codec), f"read as {codec.upper()}, not UTF-8"
            except UnicodeDecodeError:
                return None, f"starts like {codec.upper()} but is not valid {codec.upper()}"
    if b"\x00" in data:
        return None, "binary, not text (it contains NUL bytes)"
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as err:
        where = err.start
    try:
        text, codec = data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        text, codec = data.decode("latin-1"), "Latin-1"
    return text, f"not UTF-8 (invalid byte at position {where}); read as {codec}"


def _binary(text: str) -> bool:
    return len(_CONTROL.findall(text)) > _CONTROL_SHARE * len(text)


def _extracted(path: Path, data: bytes, sha256: str) -> tuple[SourceFile | None, str | None]:
    """A PDF or HTML document: its text extracted, with a PDF's page map."""
    try:
        if path.suffix.lower() == ".pdf":
            pdf_text, pages = read_pdf(data)
            return SourceFile(doc=path.name, path=path, text=pdf_text, sha256=sha256,
                              pages=pages), None
        html, note = decode(data)
        if html is None:
            return None, note
        return SourceFile(doc=path.name, path=path, text=read_html(html), sha256=sha256), note
    except UnreadableDocument as err:
        return None, str(err)


def read_document(path: Path) -> tuple[SourceFile | None, str | None]:
    """The document at `path` and a note, or None and why it cannot be one."""
    try:
        data = path.read_bytes()
    except OSError as err:
        return None, f"cannot be read ({err.strerror})"
    sha256 = hashlib.sha256(data).hexdigest()
    if path.suffix.lower() in EXTRACTED_SUFFIXES:
        return _extracted(path, data, sha256)
    text, note = decode(data)
    if text is None:
        return None, note
    if not text.strip():
        return None, "empty"
    if _binary(text):
        return None, "binary, not text (it is full of control characters)"
    return SourceFile(doc=path.name, path=path, text=text, sha256=sha256), note


def scan_corpus(corpus_dir: Path, metadata_file: str, max_mb: float = 10.0) -> CorpusScan:
    """Documents of `corpus_dir` (sorted by name) and a one-line warning per file skipped or
    read with a caveat. Of identical files only one is a document (a real file before a link)."""
    if not corpus_dir.is_dir():
        raise UsageError(f"no corpus folder at {corpus_dir}/ — create it with .txt, .md, "
                         ".pdf or .html files, or point to one with --corpus DIR")
    scan, first = CorpusScan(), dict[str, Path]()
    for path in sorted(corpus_dir.iterdir(), key=lambda p: (p.is_symlink(), p.name)):
        if path.name == metadata_file or path.suffix.lower() == ".toml":
            continue  # the corpus's own settings (metadata.toml, vocabulary.toml), not documents
        refusal = _refusal(path, corpus_dir, max_mb)
        source, note = (None, refusal) if refusal else read_document(path)
        twin = first.get(source.sha256) if source is not None else None
        if twin is not None:
            source, note = None, f"the same content as {twin.name}"
        if note:
            scan.warnings.append(f"{'skipped' if source is None else 'note:'} {path}: {note}")
        if source is not None:
            first[source.sha256] = path
            scan.documents.append(source)
    scan.documents.sort(key=lambda s: s.doc)
    return scan

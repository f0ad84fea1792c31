"""PDF documents: their text in reading order, and a map from it back to pages and lines.

Read with pypdfium2 (PDFium's text layer; BSD-3/Apache-2.0, imported only when a corpus holds a
PDF). The extracted text is what the index stores and citations quote; its `PageMap` gives the
page and line boxes of any span. Layout (columns, running headers) is rag/ingest/layout.py.
Bump `fingerprint.CLEANING_VERSION` whenever a rule here changes: the index fingerprint
records it, so that PDFs already indexed are read again.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from rag.errors import UsageError
from rag.ingest.layout import Run, furniture, key, reading_order, rows, runs
from rag.pages import Line, PageMap

PARAGRAPH_GAP = 1.3  # a line pitch this many times the page's usual one starts a paragraph
_SENTENCE_END = re.compile(r"[.!?:”\"’)]\s*$")
_AUTHORS = re.compile(r"\s*(?:;|,| and | & )\s*")


class UnreadableDocument(Exception):
    """Why a file cannot be a document, in words for the user."""


def _pdfium() -> Any:
    try:
        import pypdfium2
    except ImportError as err:  # pragma: no cover - a dependency of the default install
        raise UsageError("reading PDFs needs pypdfium2 — pip install pypdfium2") from err
    return pypdfium2


def _open(data: bytes) -> Any:
    pdfium = _pdfium()
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as err:
        if "password" in str(err).lower():
            raise UnreadableDocument("an encrypted PDF: it needs a password to open (save an "
                                     "unprotected copy, e.g. `qpdf --decrypt in.pdf out.pdf`)"
                                     ) from err
        raise UnreadableDocument(f"not a readable PDF ({err})") from err


def _paragraph_pitch(rows_: list[list[Run]]) -> float:
    """Baseline-to-baseline distance above which a row starts a new paragraph: PARAGRAPH_GAP
    times the page's usual line pitch."""
    pitches = sorted(a[0].box[1] - b[0].box[1] for a, b in itertools.pairwise(rows_)
                     if a[0].box[1] > b[0].box[1])
    return PARAGRAPH_GAP * pitches[len(pitches) // 2] if pitches else float("inf")


class _Text:
    """The extracted text as it is built: its pieces, and its length (the next offset)."""

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.length = 0

    def add(self, piece: str) -> int:
        """Append `piece`; the offset at which it starts."""
        self.pieces.append(piece)
        self.length += len(piece)
        return self.length - len(piece)


def _emit(page: int, rows_: list[list[Run]], text: _Text, lines: list[Line]) -> None:
    """Append one page's rows to `text` (a row's runs joined by a space, a paragraph gap as
    a blank line) and their boxes to `lines`."""
    previous: Run | None = None
    paragraph = _paragraph_pitch(rows_)
    for row in rows_:
        if previous is not None:
            pitch = previous.box[1] - row[0].box[1]
            text.add("\n\n" if pitch > paragraph else "\n")  # < 0: next column
        for n, run in enumerate(row):
            if n:
                text.add(" ")
            start = text.add(run.text)
            lines.append(Line(page, start, text.length, tuple(run.box)))  # type: ignore[arg-type]
        previous = row[0]


def read_pdf(data: bytes) -> tuple[str, PageMap]:
    """The text of a PDF and its page map; `UnreadableDocument` says why there is none."""
    pdf = _open(data)
    try:
        sizes = [tuple(pdf.get_page_size(i)) for i in range(len(pdf))]
        pages = [rows(runs(pdf[i].get_textpage())) for i in range(len(pdf))]
        meta = pdf.get_metadata_dict()
    finally:
        pdf.close()
    drop = furniture(pages)
    built, lines, starts = _Text(), list[Line](), list[int]()
    for number, (page_rows, (width, _)) in enumerate(zip(pages, sizes, strict=True), start=1):
        kept = [row for i, row in enumerate(page_rows)
                if not (i in (0, len(page_rows) - 1) and key(row) in drop)]
        if built.pieces and kept:
            built.add("\n" if not _SENTENCE_END.search(built.pieces[-1]) else "\n\n")
        starts.append(built.length)
        _emit(number, reading_order(kept, width), built, lines)
    text = "".join(built.pieces)
    if not text.strip():
        raise UnreadableDocument("no text layer (a scanned PDF?): OCR is not supported")
    authors = [a for a in _AUTHORS.split(meta.get("Author", "") or "") if a.strip()]
    return text, PageMap(starts=starts, sizes=[(float(w), float(h)) for w, h in sizes],
                         lines=lines, title=(meta.get("Title") or "").strip(), authors=authors)

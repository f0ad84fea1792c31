"""Reading order of a PDF page's text (for rag/ingest/pdf.py).

PDFium gives characters in content-stream order with their boxes. Lines are split where a
gap is far wider than the type (two columns drawn row by row, table cells), put back in
reading order (on a two-column page the left column, then the right, between full-width
lines), and running headers and footers, which only a position can tell from text, are left
out. Everything else (hyphenation, page numbers, tables, unwrapping) is the cleaning that every
document gets (rag/ingest/clean.py).
Bump `fingerprint.CLEANING_VERSION` whenever a rule here changes: the index fingerprint
records it, so that PDFs already indexed are read again.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

GAP = 1.5  # a horizontal gap wider than this many character heights splits a line (a
# word space is under one: a gutter between columns or table cells is wider)
# PDFium gives a hyphen that ends a line as one of these (character API, text API), no "\r\n"
LINE_END_HYPHEN = ("\x02", "\ufffe")
TWO_COLUMN_ROWS = 3  # rows with text on both sides of the middle that make a page two-column


@dataclass
class Run:
    """Characters of one line with no wide gap, and the box around them."""

    chars: list[str] = field(default_factory=list)
    box: list[float] = field(default_factory=list)  # left, bottom, right, top

    def add(self, char: str, box: tuple[float, float, float, float] | None) -> None:
        self.chars.append(char)
        if box is not None:
            b = self.box
            self.box = list(box) if not b else [min(b[0], box[0]), min(b[1], box[1]),
                                               max(b[2], box[2]), max(b[3], box[3])]

    @property
    def text(self) -> str:
        return "".join(self.chars).strip()

    @property
    def height(self) -> float:
        return max(self.box[3] - self.box[1], 1.0)


def runs(textpage: object) -> list[Run]:
    """The page's runs, in stream order."""
    import pypdfium2.raw as raw

    tp = textpage.raw  # type: ignore[attr-defined]
    runs, run = [], Run()
    for i in range(raw.FPDFText_CountChars(tp)):
        char = chr(raw.FPDFText_GetUnicode(tp, i) or 32)
        if char == "\r":  # PDFium ends a line with "\r\n"
            continue
        if char == "\n" or char in LINE_END_HYPHEN:
            run.add("-" if char in LINE_END_HYPHEN else "", None)
            runs.append(run)
            run = Run()
            continue
        if char.isspace():
            run.add(" ", None)
            continue
        box = textpage.get_charbox(i)  # type: ignore[attr-defined]
        if run.box and box[0] - run.box[2] > GAP * max(box[3] - box[1], run.height):
            runs.append(run)
            run = Run()
        run.add(char, box)
    runs.append(run)
    return [r for r in runs if r.text and r.box]


def rows(runs: list[Run]) -> list[list[Run]]:
    """Runs grouped into visual rows (overlapping heights), top to bottom, each left to right."""
    rows: list[list[Run]] = []
    for run in sorted(runs, key=lambda r: -(r.box[1] + r.box[3])):
        middle = (run.box[1] + run.box[3]) / 2
        if rows and rows[-1][0].box[1] <= middle <= rows[-1][0].box[3]:
            rows[-1].append(run)
        else:
            rows.append([run])
    return [sorted(row, key=lambda r: r.box[0]) for row in rows]


def reading_order(rows: list[list[Run]], width: float) -> list[list[Run]]:
    """On a two-column page: full-width rows in place, and between them the left column's rows,
    then the right column's. Other pages: as they are."""
    middle = width / 2
    both = sum(any(r.box[2] <= middle for r in row) and any(r.box[0] >= middle for r in row)
               for row in rows)
    if both < TWO_COLUMN_ROWS:
        return rows
    ordered: list[list[Run]] = []
    left: list[list[Run]] = []
    right: list[list[Run]] = []
    for row in rows:
        if any(r.box[0] < middle < r.box[2] for r in row):
            ordered += left + right + [row]
            left, right = [], []
            continue
        left += [[r for r in row if r.box[2] <= middle]] if row[0].box[2] <= middle else []
        right += [[r for r in row if r.box[0] >= middle]] if row[-1].box[0] >= middle else []
    return ordered + left + right


def furniture(pages: list[list[list[Run]]]) -> set[str]:
    """Rows at the top or bottom of pages that recur (digits aside) on at least half of them:
    running headers and footers."""
    edges = Counter(key(row) for rows in pages for row in {id(r): r for r in rows[:1] + rows[-1:]
                                                           }.values())
    return {key for key, n in edges.items() if n >= max(2, len(pages) / 2)}


def key(row: list[Run]) -> str:
    return re.sub(r"\d+", "#", " ".join(r.text for r in row))

"""Where each character of a PDF's extracted text lies: its page and the box of its line.

A PDF document is indexed from its extracted text (rag/ingest/pdf.py); citations are spans of
that text like any other. The `PageMap` stored beside it says on which page a span is, and
which boxes (in PDF points, origin bottom-left) hold its lines, so that a page can be drawn
with the cited lines marked. Text files have no page map.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Line:
    """A run of text on one page: `[start, end)` of the extracted text and its box."""

    page: int  # 1-based
    start: int
    end: int
    box: tuple[float, float, float, float]  # left, bottom, right, top, in PDF points


@dataclass(frozen=True)
class PageMap:
    """Pages of a PDF document: where each begins in the extracted text, their sizes (points),
    every line's box, and the title and authors its metadata gives."""

    starts: list[int]
    sizes: list[tuple[float, float]]
    lines: list[Line] = field(default_factory=list)
    title: str = ""
    authors: list[str] = field(default_factory=list)

    def page_at(self, offset: int) -> int:
        """The 1-based page on which the character at `offset` lies."""
        return max(bisect.bisect_right(self.starts, offset), 1)

    def lines_in(self, start: int, end: int) -> list[Line]:
        """The lines holding some of `[start, end)`."""
        return [line for line in self.lines if line.start < end and start < line.end]

    def to_json(self) -> str:
        return json.dumps({"starts": self.starts, "sizes": self.sizes, "title": self.title,
                           "authors": self.authors,
                           "lines": [[ln.page, ln.start, ln.end, *ln.box] for ln in self.lines]})

    @classmethod
    def from_json(cls, text: str) -> PageMap:
        data = json.loads(text)
        lines = [Line(int(p), int(s), int(e), (float(a), float(b), float(c), float(d)))
                 for p, s, e, a, b, c, d in data["lines"]]
        return cls(starts=[int(s) for s in data["starts"]],
                   sizes=[(float(w), float(h)) for w, h in data["sizes"]], lines=lines,
                   title=str(data.get("title", "")), authors=list(data.get("authors", [])))

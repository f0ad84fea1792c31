"""Find tables in extracted text, so that each stays together with its caption.

A table starts at a caption line ("TABLE 1", "Table", "Table 3: ...") and runs through a
closing line (a source, "Compiled by", a note), or up to the first line long enough to be
prose. PDF extraction leaves one row per line, which the cleaning then keeps.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

CAPTION = re.compile(r"^[ \t]*(?:TABLE|Table)(?:[ \t]+\d+[.:]?)?(?:[ \t]+\S[^\n]*)?$")
CLOSING = re.compile(r"^[ \t]*(?:\*[^\n]*\b(?:Source|SOURCE)\b|(?:Sources?|SOURCES?|Compiled by|"
                     r"Note|NOTE)\b)")
# A sentence ending inside the line, or a word hyphenated at its end: prose, not a row.
PROSE = re.compile(r"[a-z]{2}[.;!?][ \t]+[A-Za-z]|\w-[ \t]*$")
MAX_CAPTION_CHARS = 100
MAX_ROW_CHARS = 120
MAX_TABLE_LINES = 80


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line, the newline excluded."""
    spans, pos = [], 0
    for line in text.split("\n"):
        spans.append((pos, pos + len(line)))
        pos += len(line) + 1
    return spans


def _is_caption(line: str) -> bool:
    return (bool(CAPTION.match(line)) and len(line.strip()) <= MAX_CAPTION_CHARS
            and not line.rstrip().endswith("."))


def find_tables(text: str) -> Iterator[tuple[int, int]]:
    """Yield the (start, end) character spans of the tables in `text`, in order."""
    lines = _lines(text)
    i = 0
    while i < len(lines):
        start, end = lines[i]
        if not _is_caption(text[start:end]):
            i += 1
            continue
        last, in_title = i, True  # the title may wrap; it ends at the first blank line
        for j in range(i + 1, min(len(lines), i + 1 + MAX_TABLE_LINES)):
            line = text[lines[j][0]:lines[j][1]]
            if CLOSING.match(line):
                last = j
                break
            if len(line.strip()) > MAX_ROW_CHARS or (PROSE.search(line) and not in_title):
                break
            if line.strip():
                last = j
            elif last > i:
                in_title = False
        if last > i:
            yield start, lines[last][1]
        i = last + 1

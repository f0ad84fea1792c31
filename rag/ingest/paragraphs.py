"""Paragraph breaks that PDF extraction lost: headings and bullets on lines of their own.

Before lines are unwrapped into paragraphs, a heading ("The Slow-Death of the CIS", possibly
wrapped over two or three lines) or a bullet line would otherwise be glued to the text
around it. Such lines get a blank line before and after.
"""

from __future__ import annotations

import re

from rag.text.textmap import Edit, MappedText

_SMALL_WORDS = {"a", "an", "and", "at", "by", "for", "in", "of", "on", "or", "the", "to",
                "towards", "with", "vs"}
_WORD = re.compile(r"[A-Za-z][\w’'-]*")
_SENTENCE_END = re.compile(r"[.!?:”\"]$")
_OPENS_TEXT = re.compile(r"^[A-Z“\"‘(•]")
BULLETS = "•▪◦●"
MAX_HEADING_LINES = 3
MAX_HEADING_CHARS = 80


def is_heading(line: str) -> bool:
    """Short, title-cased, and not ending like a sentence or a broken line."""
    words = [w for w in _WORD.findall(line) if w.lower() not in _SMALL_WORDS]
    if not words or len(line) > MAX_HEADING_CHARS or line.rstrip()[-1:] in ".,;:!?-":
        return False
    return bool(sum(w[0].isupper() for w in words) / len(words) >= 0.75)


def _breaks(lines: list[str]) -> set[int]:
    """Indexes of the line breaks (break i ends line i) that must become paragraph breaks."""
    breaks: set[int] = set()
    i = 0
    while i < len(lines):
        if lines[i][:1] in BULLETS and i > 0:
            breaks.add(i - 1)
        opens = i == 0 or not lines[i - 1] or bool(_SENTENCE_END.search(lines[i - 1]))
        if not (opens and is_heading(lines[i])):
            i += 1
            continue
        last = i
        while last + 1 < len(lines) and last - i + 1 < MAX_HEADING_LINES \
                and is_heading(lines[last + 1]):
            last += 1
        if last + 1 < len(lines) and lines[last + 1] and not _OPENS_TEXT.match(lines[last + 1]):
            i += 1
            continue
        breaks.update(b for b in (i - 1, last) if 0 <= b < len(lines) - 1)
        i = last + 1
    return breaks


def mark_paragraphs(mt: MappedText) -> MappedText:
    lines = mt.text.split("\n")
    breaks = _breaks(lines)
    if not breaks:
        return mt
    edits: list[Edit] = []
    pos = 0
    for i, line in enumerate(lines[:-1]):
        pos += len(line)
        if i in breaks and lines[i] and lines[i + 1]:
            edits.append((pos, pos + 1, "\n\n"))
        pos += 1
    return mt.edit(edits)

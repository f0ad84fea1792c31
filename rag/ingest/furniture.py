"""Page furniture: running headers and footers, horizontal rules, image placeholders.

A removed line often falls inside a sentence that runs on across the page break
("... with the European\\n\\nCARNEGIE ENDOWMENT FOR INTERNATIONAL PEACE | 7\\n\\nUnion in
2013"); the gap it leaves is then closed to a single line break, which the cleaning
later unwraps, so the sentence is whole again.
"""

from __future__ import annotations

import re
from collections import Counter

from rag.text.textmap import Edit, MappedText

RUNNING_HEAD = re.compile(
    r"^(?:[A-Z][A-Z0-9&.,'’ -]{6,}\|[ \t]*\d{1,4}|\d{1,4}[ \t]*\|[ \t]*[A-Z][A-Z0-9&.,'’ -]{6,})$"
)
RULE = re.compile(r"^(?:-{3,}|\*{3,}|_{3,})$")
IMAGE_PLACEHOLDER = re.compile(
    r"^(?:\d{2,4}x\d{2,4}(?: \([^)]*\))?|Image not found or type unknown)$")
PAGE_NUMBER = re.compile(r"^(?:Page )?\d{1,3}$")
MIN_REPEATS = 3
_MID_SENTENCE = re.compile(r"[A-Za-z,\-]$")


def _is_repeated_head(line: str, counts: Counter[str]) -> bool:
    """A short all-caps line seen on several pages (page numbers aside)."""
    letters = re.sub(r"[^A-Za-z]", "", line)
    return (counts[re.sub(r"\d+", "#", line)] >= MIN_REPEATS and len(line) <= 80
            and len(line.split()) >= 2 and letters.isupper())


def furniture_lines(lines: list[str]) -> set[int]:
    stripped = [line.strip() for line in lines]
    counts = Counter(re.sub(r"\d+", "#", s) for s in stripped if s)
    return {i for i, s in enumerate(stripped) if s and (
        RUNNING_HEAD.match(re.sub(r"[ \t]+", " ", s)) or RULE.match(s)
        or IMAGE_PLACEHOLDER.match(s) or PAGE_NUMBER.match(s)
        or _is_repeated_head(s, counts))}


def remove_furniture(mt: MappedText) -> MappedText:
    lines = mt.text.split("\n")
    found = furniture_lines(lines)
    if not found:
        return mt
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    edits: list[Edit] = []
    i = 0
    while i < len(lines):
        if i not in found:
            i += 1
            continue
        first = i  # widen to the run of blank and furniture lines around this one
        while first > 0 and (first - 1 in found or not lines[first - 1].strip()):
            first -= 1
        last = i
        while last + 1 < len(lines) and (last + 1 in found or not lines[last + 1].strip()):
            last += 1
        start, end = max(offsets[first] - 1, 0), min(offsets[last + 1], len(mt))
        before = mt.text[max(0, start - 200):start].rstrip()[-1:]
        gap = "\n" if _MID_SENTENCE.match(before) else "\n\n"
        if first == 0 or last == len(lines) - 1:
            gap = ""
        if not edits or start >= edits[-1][1]:
            edits.append((start, end, gap))
        i = last + 1
    return mt.edit(edits)

"""Clean text extracted from PDFs and web pages, keeping a map back to the original file.

The corpus files are never changed; `clean()` returns blocks of cleaned text (prose or a
table with its caption), each a `MappedText` whose characters point into the original.
Bump `fingerprint.CLEANING_VERSION` whenever a rule changes: the index fingerprint records it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Literal

import ftfy

from rag.ingest.furniture import remove_furniture
from rag.ingest.hyphens import join_broken_words, vocabulary
from rag.ingest.paragraphs import mark_paragraphs
from rag.text.tables import find_tables
from rag.text.textmap import MappedText

_FTFY = ftfy.TextFixerConfig(uncurl_quotes=False, fix_line_breaks=False, explain=False)
_NON_ASCII_LINE = re.compile(r"^[^\n]*[^\x00-\x7f][^\n]*$", re.M)
_M = re.M

# Markup left by HTML/markdown extraction; the text it marks up is kept.
FOOTNOTE_SUP = re.compile(r"<sup>\s*\(?\d{1,3}[a-z]?\)?\s*</sup>")
INLINE_TAG = re.compile(r"</?(?:sup|sub|b|i|u|em|strong|span|br)\b[^<>]{0,80}>")
HEADING = re.compile(r"^[ \t]*#{1,6}[ \t]+", _M)
BOLD = re.compile(r"\*\*|__")
ITALIC = re.compile(r"(?<![\w*\\])\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*(?![\w*])")
ESCAPE = re.compile(r"\\([*_#\[\]()])")
LINK = re.compile(r"!?\[([^\[\]\n]*)\]\([^()\n]*\)")
BULLET = re.compile(r"^[ \t]*-[ \t]+(?=\S)", _M)
CITATION_NUMBER = re.compile(r"(?<=\S)[ \t]*\[\d{1,3}(?:[,–-][ \t]?\d{1,3})*\](?=[\s.,;:])")
# Footnote numbers glued to prose: "multipolarity.6 Moscow", "foreign policy24 and".
FOOTNOTE_AFTER_PUNCT = re.compile(r"(?<=[A-Za-z][.,;:”’\")])\d{1,3}(?=\s|$)", _M)
FOOTNOTE_AFTER_WORD = re.compile(r"(?<=[a-z]{3})\d{1,2}(?=[\s,.;:]|$)", _M)

DASH_BREAK = re.compile(r"(?<=[—–])[ \t]*\n[ \t]*(?=\S)")
LINE_EDGE_SPACE = re.compile(r"[ \t]+$|^[ \t]+", _M)
SINGLE_NEWLINE = re.compile(r"(?<=[^\n])\n(?=[^\n])")
BLANK_LINES = re.compile(r"\n{3,}")
TABLE_BLANK_LINES = re.compile(r"\n{2,}")
SPACES = re.compile(r"[ \t\u00a0]{2,}|\t")
OUTER_SPACE = re.compile(r"^\s+|\s+$")


@dataclass(frozen=True)
class Block:
    kind: Literal["text", "table"]
    text: MappedText


def clean(original: str) -> list[Block]:
    """Cleaned blocks of `original`, in document order, empty ones left out."""
    mt = MappedText.of(original).sub(re.compile(r"\r\n?"), "\n")
    mt = repair_mojibake(mt).sub(re.compile("■"), " ")
    mt = strip_markup(remove_furniture(mt))
    vocab = vocabulary(mt.text)
    blocks: list[Block] = []
    pos = 0
    for start, end in [*find_tables(mt.text), (len(mt), len(mt))]:
        blocks.append(Block("text", tidy_prose(mt.slice(pos, start), vocab)))
        blocks.append(Block("table", tidy_table(mt.slice(start, end), vocab)))
        pos = end
    return [block for block in blocks if block.text.text]


def repair_mojibake(mt: MappedText) -> MappedText:
    """Repair mojibake ("PÃ©kin" -> "Pékin") with ftfy, one line at a time."""
    edits = []
    for m in _NON_ASCII_LINE.finditer(mt.text):
        fixed = ftfy.fix_text(m.group(0), config=_FTFY)
        if fixed != m.group(0):
            edits.extend(mt.replace_by_diff(m.start(), m.end(), fixed))
    return mt.edit(edits) if edits else mt


def strip_markup(mt: MappedText) -> MappedText:
    mt = mt.sub(FOOTNOTE_SUP, "").sub(INLINE_TAG, "").sub(HEADING, "").sub(BOLD, "")
    mt = mt.keep_group(ITALIC).keep_group(ESCAPE).keep_group(LINK)
    return mt.sub(BULLET, "").sub(CITATION_NUMBER, "")


def tidy_prose(mt: MappedText, vocab: Counter[str]) -> MappedText:
    """Join broken words, unwrap lines into paragraphs, normalise spaces."""
    mt = mt.sub(LINE_EDGE_SPACE, "")
    mt = join_broken_words(mt, vocab).sub(DASH_BREAK, "")
    mt = mt.sub(FOOTNOTE_AFTER_PUNCT, "").sub(FOOTNOTE_AFTER_WORD, "")
    mt = mark_paragraphs(mt).sub(SINGLE_NEWLINE, " ").sub(BLANK_LINES, "\n\n")
    return mt.sub(SPACES, " ").sub(OUTER_SPACE, "")


def tidy_table(mt: MappedText, vocab: Counter[str]) -> MappedText:
    """Keep one row per line; drop the blank lines between rows."""
    mt = join_broken_words(mt.sub(LINE_EDGE_SPACE, ""), vocab).sub(TABLE_BLANK_LINES, "\n")
    return mt.sub(SPACES, " ").sub(OUTER_SPACE, "")



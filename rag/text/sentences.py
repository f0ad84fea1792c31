"""Sentences of a chunk (rows, for a table), each with its span in the chunk text.

The sentence tokenizer is llama-index's (nltk punkt, shipped with llama-index). punkt breaks
after "U.S." or "Dr." when a capital follows; such pieces are joined back to the next one.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from rag.text.punkt import import_nltk
from rag.text.tables import CAPTION
from rag.types import ChunkKind, SentenceSpan

_ABBREVIATION_END = re.compile(
    r"(?:\b(?:[A-Z]\.){1,3}|\b(?:Dr|Mr|Mrs|Ms|Prof|St|No|Vol|vol|pp|cf|Jr|Sr|Gen|Col|Lt|Jan|Feb|"
    r"Aug|Sept|Oct|Nov|Dec|e\.g|i\.e|etc|approx)\.)$")
MIN_SENTENCE_CHARS = 3


@functools.cache
def _tokenizer() -> Callable[[str], list[str]]:
    import_nltk()  # before llama-index loads it for punkt (rag/text/punkt.py)
    from llama_index.core.node_parser.text.utils import split_by_sentence_tokenizer

    return split_by_sentence_tokenizer()


def _line_spans(text: str) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for line in text.split("\n"):
        if line.strip():
            spans.append((pos, pos + len(line)))
        pos += len(line) + 1
    return spans


def _sentences_of_line(line: str) -> list[tuple[int, int]]:
    """Spans of the sentences of one line, whitespace trimmed, abbreviations rejoined."""
    spans: list[tuple[int, int]] = []
    cursor = 0
    for piece in _tokenizer()(line):
        start = line.find(piece.strip(), cursor)
        if start < 0 or not piece.strip():
            continue
        end = start + len(piece.strip())
        cursor = end
        if spans and _ABBREVIATION_END.search(line[spans[-1][0]:spans[-1][1]]):
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


def split_sentences(text: str, kind: ChunkKind) -> list[tuple[int, int]]:
    """[start, end) of each sentence (or table row) of `text`, in order."""
    result = []
    for line_start, line_end in _line_spans(text):
        line = text[line_start:line_end]
        pieces = [(0, len(line))] if kind == "table" else _sentences_of_line(line)
        result += [(line_start + a, line_start + b) for a, b in pieces
                   if len(line[a:b].strip()) >= MIN_SENTENCE_CHARS]
    return result


CONTEXT_LINES = 3  # caption ("TABLE 1"), title, header row


def table_context(text: str, sentences: Sequence[SentenceSpan]) -> int:
    """How many leading lines of a table chunk are its caption, title and header (0 when the
    chunk continues a table split across chunks)."""
    if sentences and CAPTION.match(text[sentences[0].start:sentences[0].end]):
        return min(CONTEXT_LINES, len(sentences))
    return 0


def row_in_context(text: str, sentences: Sequence[SentenceSpan], i: int) -> str:
    """Row `i` of a table chunk with the table's title and header: "Title (Header): Row"."""
    context = table_context(text, sentences)
    row = text[sentences[i].start:sentences[i].end]
    if context < CONTEXT_LINES or i < context:
        return row
    title, header = (text[s.start:s.end] for s in sentences[1:3])
    return f"{title} ({header}): {row}"


def sentence_id(doc: str, start: int, end: int) -> str:
    """The stable id of the sentence at original[start:end] of `doc` (its index row's key)."""
    return f"{Path(doc).stem}:{start}-{end}"

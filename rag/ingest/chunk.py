"""Cleaned blocks -> chunks that know their span in the original file.

Sentence-aware splitting is llama-index's SentenceSplitter, counting tokens with the
embedding model's own tokenizer so that no chunk is longer than what the model embeds.
A table stays one chunk with its caption when it fits; a longer one is split between rows.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from rag.config import ChunkSettings
from rag.ingest.clean import Block, clean
from rag.text.punkt import import_nltk
from rag.text.sentences import split_sentences
from rag.types import Chunk, SentenceSpan, SourceFile

if TYPE_CHECKING:
    from llama_index.core.node_parser import SentenceSplitter

Tokenize = Callable[[str], list[int]]


def preload() -> None:
    """Import what chunking needs (nltk, llama-index). Threads that import the same packages
    at once can fail on their circular imports ("partially initialized module"), so ingest
    imports them here, in one thread, before its embedding worker starts."""
    import_nltk()
    import llama_index.core.node_parser  # noqa: F401


@functools.cache
def _splitter(size: int, overlap: int, separator: str, tokenize: Tokenize) -> SentenceSplitter:
    import_nltk()  # before llama-index loads it for punkt (rag/text/punkt.py)
    from llama_index.core.node_parser import SentenceSplitter

    return SentenceSplitter(chunk_size=size, chunk_overlap=overlap, tokenizer=tokenize,
                            paragraph_separator=separator, include_metadata=False,
                            include_prev_next_rel=False)


def _pieces(block: Block, settings: ChunkSettings, tokenize: Tokenize) -> list[str]:
    text = block.text.text
    if block.kind == "table":
        if len(tokenize(text)) <= settings.size:
            return [text]
        return _splitter(settings.size, 0, "\n", tokenize).split_text(text)
    return _splitter(settings.size, settings.overlap, "\n\n", tokenize).split_text(text)


def _located(block: Block, pieces: list[str]) -> Iterator[tuple[int, int, str]]:
    """Each piece's [start, end) in the block text; pieces come in order and may overlap."""
    cursor = 0
    for piece in pieces:
        start = block.text.text.find(piece, cursor)
        if start < 0:
            raise RuntimeError(f"chunk text not found in its block: {piece[:60]!r}")
        yield start, start + len(piece), piece
        cursor = start + 1


def chunk_document(source: SourceFile, settings: ChunkSettings, tokenize: Tokenize) -> list[Chunk]:
    chunks: list[Chunk] = []
    for block in clean(source.text):
        for a, b, piece in _located(block, _pieces(block, settings, tokenize)):
            start, end = block.text.span(a, b)
            sentences = tuple(SentenceSpan(s, e, *block.text.span(a + s, a + e))
                              for s, e in split_sentences(piece, block.kind))
            chunks.append(Chunk(id=Chunk.make_id(source.doc, start, end, piece), doc=source.doc,
                                seq=len(chunks), start=start, end=end, kind=block.kind,
                                text=piece, sentences=sentences))
    return chunks

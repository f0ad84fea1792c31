"""rag/index/bm25_ids.py builds the index bm25s.BM25.index builds, number for number."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.index import bm25_ids
from rag.index.lexical import terms

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def _chunks() -> list[list[str]]:
    """The corpus's lines as BM25 terms (with the placeholder of a chunk without any)."""
    lines = [line for path in sorted(CORPUS.glob("*.txt"))
             for line in path.read_text("utf-8").splitlines() if line.strip()]
    return [terms(line) for line in lines] + [terms("")]


def test_same_matrix_and_vocabulary_as_bm25s() -> None:
    import bm25s

    chunks = _chunks()
    reference = bm25s.BM25()
    reference.index(chunks, show_progress=False)
    vocab = {term: i for term, i in reference.vocab_dict.items() if term != ""}
    tokens = np.array([vocab[t] for chunk in chunks for t in chunk], dtype=np.int32)
    lengths = np.array([len(chunk) for chunk in chunks], dtype=np.int64)
    built = bm25_ids.index(tokens, lengths, vocab)
    assert len(chunks) > 1000 and built.vocab_dict == reference.vocab_dict
    for key in ("data", "indices", "indptr"):
        assert built.scores[key].dtype == reference.scores[key].dtype
        assert np.array_equal(built.scores[key], reference.scores[key]), key
    assert built.scores["num_docs"] == reference.scores["num_docs"]
    query = [reference.vocab_dict[t] for t in terms("Eurasian customs union tariffs")]
    assert np.array_equal(built.get_scores_from_ids(query), reference.get_scores_from_ids(query))


def test_other_bm25s_defaults_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import bm25s

    original = bm25s.BM25.__init__
    monkeypatch.setattr(bm25s.BM25, "__init__",
                        lambda self, **kw: original(self, **{**kw, "method": "bm25+"}))
    with pytest.raises(RuntimeError, match=r"bm25s\.BM25\.index"):
        bm25_ids.index(np.zeros(1, np.int32), np.ones(1, np.int64), {"a": 0})

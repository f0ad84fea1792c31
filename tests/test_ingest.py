"""Incremental ingest on a temporary copy of the corpus, with a real Chroma on disk.

The embedding model is the deterministic fake of conftest (it records what it embeds), so
these tests can tell exactly which documents were re-embedded.
"""

import itertools
import json
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag.config import get_settings
from rag.errors import FingerprintMismatchError, UsageError
from rag.index import generations, state
from rag.index.build import ingest
from rag.index.chroma import ChromaIndex
from rag.index.nodes import unique_sentences
from rag.types import Chunk
from tests.conftest import DOCS, FakeEmbedding

C000, C003 = DOCS[0], DOCS[3]


def counts(settings: Any) -> Counter[str]:
    return ChromaIndex(settings).chunk_counts()


def ids_of(settings: Any, doc: str) -> set[str]:
    return set(ChromaIndex(settings).collection.get(where={"doc": doc})["ids"])


def table_rows(index: ChromaIndex, doc: str | None = None) -> set[str]:
    """The texts of the table rows (with their table's title and header), which ingest embeds
    on their own."""
    ids, texts, metas = index.all_chunks()
    tables = [Chunk.from_stored(i, t, m) for i, t, m in zip(ids, texts, metas, strict=True)
              if m["kind"] == "table" and doc in (None, m["doc"])]
    return {text for text, _, _ in unique_sentences(tables).values()}


def test_first_ingest_then_nothing_to_do(corpus_copy: Path, settings_for: Any,
                                         fake_embedder: FakeEmbedding) -> None:
    settings = settings_for(corpus_copy)
    report = ingest(settings, progress=False)
    assert [s.doc for s in report.plan.added] == DOCS
    assert report.chunks_embedded == report.chunks
    # the model ran over exactly the stored chunks and table rows, each once; every other
    # sentence's vector is pooled from its tokens' states in the chunks (the fake's: the bag of
    # its words, as if it were embedded alone)
    index = ChromaIndex(settings)
    chunks = index.all_chunks()[1]
    rows = index.sentences.get(include=["documents", "embeddings"])
    assert sorted(fake_embedder.embedded) == sorted(set(chunks) | table_rows(index))
    alone = [max(abs(a - b) for a, b in zip(vector, fake_embedder._vector(text), strict=True))
             < 1e-6 for text, vector in zip(rows["documents"], rows["embeddings"], strict=True)]
    # (a few sentences begin inside a fake "word", e.g. '.”3 Nothing', so they differ)
    assert len(rows["ids"]) > len(chunks) and sum(alone) >= 0.98 * len(alone), sum(alone)
    assert report.documents == 5
    before = counts(settings)
    fake_embedder.embedded.clear()
    with pytest.MonkeyPatch.context() as patch:  # nothing to do: no chunk is read back
        patch.setattr("rag.index.chroma.get_all", lambda *a: pytest.fail("chunks read"))
        again = ingest(settings, progress=False)
    assert not again.plan.todo and not again.plan.removed
    assert again.plan.unchanged == DOCS
    assert (again.documents, again.chunks) == (report.documents, report.chunks)
    assert fake_embedder.embedded == []
    assert counts(settings) == before  # no duplicates


def _append(text: str) -> str:
    return text + "\n\nA new closing paragraph about the SCO.\n"


def _insert_midway(text: str) -> str:
    cut = text.index("\n\n", len(text) // 2)
    return text[:cut] + "\n\nA new closing paragraph about the SCO." + text[cut:]


@pytest.mark.parametrize("edit", [_append, _insert_midway])
def test_changed_file_is_the_only_one_re_embedded(corpus_copy: Path, settings_for: Any,
                                                  fake_embedder: FakeEmbedding,
                                                  tmp_path: Path,
                                                  edit: Callable[[str], str]) -> None:
    """Only the changed document is embedded again, and of it only the chunks that changed
    (and those sharing a sentence with them: rag/index/kept.py); the others keep their
    vectors, and the index equals one built from scratch, vector for vector."""
    fake_embedder.context = 0.5  # a sentence's vector depends on the chunks that hold it
    settings = settings_for(corpus_copy)
    ingest(settings, progress=False)
    untouched = {doc: ids_of(settings, doc) for doc in DOCS if doc != C003}
    old_ids = ids_of(settings, C003)
    fake_embedder.embedded.clear()
    path = corpus_copy / C003
    path.write_text(edit(path.read_text("utf-8")), encoding="utf-8")
    report = ingest(settings, progress=False)
    assert [s.doc for s in report.plan.changed] == [C003]
    index = ChromaIndex(settings)
    new_ids = ids_of(settings, C003)
    got = index.collection.get(ids=sorted(new_ids - old_ids), include=["documents"])
    changed = set(got["documents"] or [])
    assert changed and len(new_ids - old_ids) < len(new_ids) * (0.2 if edit is _append else 0.8)
    assert changed <= set(fake_embedder.embedded) <= changed | table_rows(index, C003) | set(
        index.collection.get(ids=sorted(new_ids), include=["documents"])["documents"] or [])
    assert report.chunks_embedded == len(set(fake_embedder.embedded) - table_rows(index))
    assert report.chunks_embedded < len(new_ids)
    assert any("A new closing paragraph" in text for text in fake_embedder.embedded)
    assert all(ids_of(settings, doc) == ids for doc, ids in untouched.items())
    fingerprint = index.fingerprint()
    assert fingerprint is not None and fingerprint.docs[C003] == report.plan.changed[0].sha256

    fresh = settings.model_copy(update={"index_dir": tmp_path / "fresh"})
    ingest(fresh, progress=False)
    for name in ("collection", "sentences"):  # records rewritten or kept, as a rebuild's
        kept, built = (getattr(ChromaIndex(s), name).get(
            include=["embeddings", "documents", "metadatas"]) for s in (settings, fresh))
        assert sorted(kept["ids"]) == sorted(built["ids"])
        by_id = {i: (v, d, m) for i, v, d, m in zip(built["ids"], built["embeddings"],
                                                     built["documents"], built["metadatas"],
                                                     strict=True)}
        for i, vector, text, meta in zip(kept["ids"], kept["embeddings"], kept["documents"],
                                         kept["metadatas"], strict=True):
            assert np.allclose(vector, by_id[i][0], atol=1e-6) and (text, meta) == by_id[i][1:]


def test_bm25_of_a_new_generation_tokenizes_only_the_changed_document(
        corpus_copy: Path, settings_for: Any, fake_embedder: FakeEmbedding,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The unchanged documents' BM25 terms come from their stored terms files; the index is
    the one a rebuild makes; a generation without terms files reads its chunks from Chroma."""
    from rag.index import lexical, terms
    from rag.index.lexical import LexicalIndex

    settings = settings_for(corpus_copy)
    ingest(settings, progress=False)
    path = corpus_copy / C003
    path.write_text(path.read_text("utf-8") + "\n\nA new closing paragraph about the SCO.\n",
                    encoding="utf-8")
    tokenized: list[str] = []
    tokenize = lexical.tokenize
    monkeypatch.setattr(lexical, "tokenize", lambda t: tokenized.append(t) or tokenize(t))
    ingest(settings, progress=False)
    assert tokenized and set(tokenized) <= set(ChromaIndex(settings).doc_chunks(C003)[1])
    monkeypatch.undo()
    fresh = settings_for(corpus_copy).model_copy(update={"index_dir": tmp_path / "fresh"})
    ingest(fresh, progress=False)
    questions = ["SCO closing paragraph", "Eurasian Economic Union tariffs", "CSTO members"]
    results = [[sorted((i, round(score, 5)) for i, score in LexicalIndex.load(
        ChromaIndex(s).folder / "lexical")[0].search(q, 10)) for q in questions]
        for s in (settings, fresh)]  # (in id order: equal scores may come in either order)
    assert results[0] == results[1] and all(results[0])
    live, expected = ChromaIndex(settings), counts(settings)
    fingerprint = live.fingerprint()
    assert fingerprint is not None
    (live.folder / terms.FOLDER / terms.ALL).write_bytes(b"garbled")  # the JSON files then
    index, counted = terms.build(live.folder, fingerprint.docs, live.doc_chunks)
    assert counted == expected and sorted(index.ids) == sorted(live.all_chunks()[0])
    shutil.rmtree(live.folder / terms.FOLDER)  # as in an index built before terms files
    index, counted = terms.build(live.folder, fingerprint.docs, live.doc_chunks)
    assert counted == expected and sorted(index.ids) == sorted(live.all_chunks()[0])
    assert len(list((live.folder / terms.FOLDER).glob("*.json"))) == len(DOCS)


def test_deleted_file_loses_its_chunks(corpus_copy: Path, settings_for: Any,
                                       fake_embedder: FakeEmbedding) -> None:
    settings = settings_for(corpus_copy)
    ingest(settings, progress=False)
    (corpus_copy / C000).unlink()
    report = ingest(settings, progress=False)
    assert report.plan.removed == [C000]
    assert C000 not in counts(settings)
    assert ids_of(settings, C000) == set()
    assert ChromaIndex(settings).sentences.get(where={"doc": C000})["ids"] == []
    fingerprint = ChromaIndex(settings).fingerprint()
    assert fingerprint is not None and C000 not in fingerprint.docs
    assert report.documents == 4


def test_bad_file_is_skipped_and_nothing_else_is_lost(corpus_copy: Path, settings_for: Any,
                                                      fake_embedder: FakeEmbedding) -> None:
    settings = settings_for(corpus_copy)
    ingest(settings, progress=False)
    before = counts(settings)
    (corpus_copy / "scan.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (corpus_copy / "slides.pptx").write_bytes(b"PK\x03\x04")
    report = ingest(settings, progress=False)
    assert len(report.warnings) == 2
    assert counts(settings) == before


def test_interrupted_document_is_redone_without_duplicates(
        corpus_copy: Path, settings_for: Any, fake_embedder: FakeEmbedding) -> None:
    settings = settings_for(corpus_copy)
    ingest(settings, progress=False)
    before = counts(settings)
    index = ChromaIndex(settings)
    fingerprint = index.fingerprint()
    assert fingerprint is not None
    del fingerprint.docs[C003]  # as if killed after writing C003's chunks, before recording it
    index.save_fingerprint(fingerprint)
    # in a generation without a state file (written before them), read from Chroma
    (index.folder / state.STATE).unlink()
    manifest = json.loads((index.folder / generations.MANIFEST).read_text())
    del manifest[state.STATE]
    (index.folder / generations.MANIFEST).write_text(json.dumps(manifest))
    report = ingest(settings, progress=False)
    assert [s.doc for s in report.plan.added] == [C003]
    assert counts(settings) == before


def test_changed_settings_need_a_rebuild(corpus_copy: Path, settings_for: Any,
                                         fake_embedder: FakeEmbedding) -> None:
    ingest(settings_for(corpus_copy), progress=False)
    smaller = settings_for(corpus_copy, chunk={"size": 120, "overlap": 20})
    with pytest.raises(FingerprintMismatchError, match="rag ingest --rebuild"):
        ingest(smaller, progress=False)
    report = ingest(smaller, rebuild=True, progress=False)
    assert len(report.plan.added) == 5
    fingerprint = ChromaIndex(smaller).fingerprint()
    assert fingerprint is not None and '"size": 120' in fingerprint.chunker
    assert report.chunks > 243


def test_empty_or_missing_corpus_is_a_clear_error(tmp_path: Path, settings_for: Any,
                                                  fake_embedder: FakeEmbedding) -> None:
    with pytest.raises(UsageError, match="no corpus folder"):
        ingest(settings_for(tmp_path / "missing"), progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match=r"no \.txt, \.md, \.pdf or \.html documents"):
        ingest(settings_for(tmp_path / "empty"), progress=False)


def test_each_distinct_text_is_embedded_once_in_length_sorted_batches() -> None:
    from rag.index.nodes import _embed

    fake = FakeEmbedding()
    texts = ["a much longer text of many words here", "short one", "mid length text",
             "short one", "x", "mid length text"]
    vectors = _embed(fake, texts, batch_size=2)
    assert sorted(fake.embedded) == sorted(set(texts))  # duplicates embedded once
    assert fake.embedded == sorted(set(texts), key=len)  # batches of similar length
    assert vectors == [fake._vector(t) for t in texts]  # in the caller's order



def test_documents_are_embedded_and_written_as_a_stream(
        corpus_copy: Path, settings_for: Any, fake_embedder: FakeEmbedding,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """With a small bound on what waits between chunking and writing, each document is
    written before the next is embedded (so memory holds a few documents' vectors), no text is
    embedded twice, and the index is the same as without the bound."""
    from rag.index import stream

    whole = ingest(settings_for(corpus_copy), progress=False)
    unbounded = ChromaIndex(settings_for(corpus_copy)).all_chunks()[0]
    events: list[str] = []
    states = fake_embedder.token_states
    add_doc = ChromaIndex.add_doc
    monkeypatch.setattr(stream, "STREAM_TEXTS", 300)
    embedded: list[str] = []
    monkeypatch.setattr(type(fake_embedder), "token_states",
                        lambda self, texts: events.append("embed") or embedded.extend(texts)
                        or states(texts))
    monkeypatch.setattr(ChromaIndex, "add_doc",
                        lambda self, nodes, rows: events.append("write")
                        or add_doc(self, nodes, rows))
    settings = get_settings(corpus_dir=corpus_copy, index_dir=tmp_path / "bounded")
    bounded = ingest(settings, progress=False)
    writes = [i for i, e in enumerate(events) if e.startswith("write")]
    assert len(writes) == len(DOCS)
    assert any("embed" in events[i:j] for i, j in itertools.pairwise(writes))  # interleaved
    assert (bounded.chunks, bounded.documents) == (whole.chunks, whole.documents)
    assert len(embedded) == len(set(embedded))  # no chunk is run through the model twice
    assert sorted(ChromaIndex(settings).all_chunks()[0]) == sorted(unbounded)


def test_the_next_document_is_chunked_while_one_is_embedded(
        corpus_copy: Path, settings_for: Any, fake_embedder: FakeEmbedding,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The first document's embedding waits until the second has been chunked: the ingest
    finishes only if chunking goes on while the embedder works (rag/index/stream.py)."""
    import threading

    from rag.index import stream

    chunked: list[str] = []
    second = threading.Event()
    chunk = stream.chunk_document
    monkeypatch.setattr(stream, "chunk_document", lambda source, *a: chunked.append(
        source.doc) or (len(chunked) == 2 and second.set()) or chunk(source, *a))
    states = fake_embedder.token_states
    waited: list[bool] = []
    monkeypatch.setattr(type(fake_embedder), "token_states", lambda self, texts: (
        waited.append(second.wait(timeout=30)) if not waited else None) or states(texts))
    report = ingest(settings_for(corpus_copy), progress=False)
    assert waited == [True] and report.documents == len(DOCS)


def test_the_documents_encoder_is_part_of_what_built_the_index() -> None:
    """Switching embed.onnx_documents needs --rebuild; questions do not care (the searcher
    compares the model, chunker and cleaning only)."""
    from rag.embedding.encoder import EXPORT_VERSION
    from rag.index.build import check_builder
    from rag.index.fingerprint import Fingerprint

    int8 = Fingerprint.wanted(get_settings())
    fp32 = Fingerprint.wanted(get_settings(embed={"onnx_documents": "fp32"}))
    assert (int8.documents, fp32.documents) == (f"onnx int8 v{EXPORT_VERSION}",
                                                 f"onnx fp32 v{EXPORT_VERSION}")
    assert int8.builder() == fp32.builder()
    assert Fingerprint.from_metadata(int8.to_metadata()) == int8
    with pytest.raises(FingerprintMismatchError, match=r"documents embedded by: index has onnx "
                       r"int8 v\d+, settings ask for onnx fp32 v\d+"):
        check_builder(int8, fp32, has_chunks=True)
    before = Fingerprint.from_metadata({**int8.to_metadata(), "documents": "onnx int8"})
    assert before is not None  # embedded by an export of another version: --rebuild
    with pytest.raises(FingerprintMismatchError, match="rag ingest --rebuild"):
        check_builder(before, int8, has_chunks=True)

"""Everything a query needs, loaded once per process: model, Chroma, BM25, chunks, sentences."""

from __future__ import annotations

import functools
import math
import threading
import weakref
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from rag.config import Settings
from rag.embedding.embed import get_embedder
from rag.errors import FingerprintMismatchError, IndexDamagedError, UsageError
from rag.index import generations
from rag.index.chroma import ChromaIndex, get_all
from rag.index.dense import Dense
from rag.index.fingerprint import Fingerprint
from rag.index.lexical import LexicalIndex
from rag.ingest.docmeta import combine, read_stored
from rag.ingest.metadata import DocMeta, docs_named_in, load_metadata
from rag.pages import PageMap
from rag.text.sentences import sentence_id
from rag.text.tokens import tokenize
from rag.text.vocab import Vocabulary, load_vocabulary
from rag.types import Chunk, Passage

if TYPE_CHECKING:
    from collections.abc import Container
    from pathlib import Path

    from llama_index.core.base.embeddings.base import BaseEmbedding


class Searcher:
    """A consistent snapshot of one index generation (read once; an ingest writes a new
    generation and `get_searcher` then loads that one)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.index = ChromaIndex(settings)
        self.generation = self.index.folder.name
        # Chroma's client is the one thing of a generation that memory management does not
        # free (chromadb keeps it in a registry of its own): close it once no one uses this
        # searcher. The callback holds the index, not the searcher, so it does not keep it.
        self.close = weakref.finalize(self, _release, self.index)
        fingerprint = self.index.fingerprint()
        if fingerprint is None or not fingerprint.docs:
            raise IndexDamagedError(settings.index_dir, "its chunk collection has no fingerprint")
        if fingerprint.builder() != Fingerprint.wanted(settings).builder():
            raise FingerprintMismatchError("the index was built with other settings — run "
                                           "`rag ingest --rebuild`")
        loaded = LexicalIndex.load(self.index.folder / "lexical")
        if loaded is None or loaded[1] != fingerprint.key():
            raise IndexDamagedError(settings.index_dir, "the BM25 index is missing or does not "
                                    "match the chunks")
        self.fingerprint, self.lexical = fingerprint, loaded[0]
        self.chunks = self._load_chunks()
        self.chunks_of_sentence: dict[str, list[str]] = {}
        for chunk in self.chunks.values():
            for _, _, start, end in chunk.sentences:
                sid = sentence_id(chunk.doc, start, end)
                self.chunks_of_sentence.setdefault(sid, []).append(chunk.id)
        exact_max = settings.embed.exact_search_max
        self.dense_chunks = Dense(self.index, self.index.collection, exact_max)
        self.dense_sentences = Dense(self.index, self.index.sentences, exact_max,
                                     keep_vectors=True)
        self.sentence_ids = {sid: row for row, sid in enumerate(self.dense_sentences.ids)}
        self.embedder = query_embedder(settings)
        self.metadata: dict[str, DocMeta] = load_metadata(settings.corpus_dir,
                                                          settings.metadata_file)
        self._originals: dict[str, str] = {}
        self._pages: dict[str, PageMap | None] = {}
        self._metadata_from_documents()
        # Not `vocabulary` (that is BM25's terms): the corpus's abbreviations and aliases.
        self.vocabulary_terms = self._vocabulary_terms()

    def _vocabulary_terms(self) -> Vocabulary:
        """The abbreviations the indexed originals define, and the corpus's vocabulary file
        (read like metadata.toml, at load: an invalid file stops here with its line). Learned
        at each load: ~4 ms for the seed corpus's 190 kB (files read included), too little to
        store at ingest."""
        texts = (self.original(doc) for doc in sorted(self.fingerprint.docs))
        return Vocabulary.learned(texts).merged(
            load_vocabulary(self.settings.corpus_dir, self.settings.vocabulary_file))

    def _metadata_from_documents(self) -> None:
        """The fields metadata.toml does not give, as each document states them itself
        (rag/ingest/docmeta.py): a field metadata.toml gives wins."""
        for doc, sha256 in self.fingerprint.docs.items():
            read = read_stored(doc, sha256, functools.partial(self.original, doc),
                               self.pdf_path(doc), self.settings.corpus_dir)
            meta = combine(self.metadata.get(doc), read, doc)
            if meta is not None:
                self.metadata[doc] = meta

    def _load_chunks(self) -> dict[str, Chunk]:
        ids, texts, metas = self.index.all_chunks()
        return {i: Chunk.from_stored(i, t, m) for i, t, m in zip(ids, texts, metas, strict=True)}

    @functools.cached_property
    def idf(self) -> dict[str, float]:
        """Inverse document frequency of each token over the chunks: log(N / df). A token no
        chunk holds gets log(N + 1) (rarer than any)."""
        df: dict[str, int] = {}
        for chunk in self.chunks.values():
            for token in set(tokenize(chunk.text)):
                df[token] = df.get(token, 0) + 1
        n = len(self.chunks)
        return {t: math.log(n / d) for t, d in df.items()}

    @functools.cached_property
    def chunk_vectors(self) -> dict[str, npt.NDArray[np.float32]]:
        """Chunk embeddings by id (only MMR needs them; in memory already when searched
        exactly, else loaded on first use)."""
        dense = self.dense_chunks
        if dense.exact:
            return dict(zip(dense.ids, dense.vectors, strict=True))
        got = get_all(self.index.collection, ["embeddings"])
        return {i: np.asarray(v, dtype=np.float32) for i, v in zip(got["ids"], got["embeddings"],
                                                                     strict=True)}

    def original(self, doc: str) -> str:
        """The text `doc` was indexed from (citations quote it)."""
        if doc not in self._originals:
            path = self.index.original_path(self.fingerprint.docs[doc])
            self._originals[doc] = path.read_text(encoding="utf-8")
        return self._originals[doc]

    def pages(self, doc: str) -> PageMap | None:
        """A PDF document's page map; None for a text document."""
        if doc not in self._pages:
            path = self.index.pages_path(self.fingerprint.docs[doc])
            self._pages[doc] = (PageMap.from_json(path.read_text(encoding="utf-8"))
                                if path.is_file() else None)
        return self._pages[doc]

    def page(self, doc: str, offset: int) -> int | None:
        pages = self.pages(doc)
        return None if pages is None else pages.page_at(offset)

    def pdf_path(self, doc: str) -> Path:
        """The copy of a PDF document the index was built from (its pages are drawn from it)."""
        return self.index.pdf_path(self.fingerprint.docs[doc])

    def embed_question(self, question: str) -> npt.NDArray[np.float32]:
        """The question's vector. The ONNX encoder is called directly: llama-index's
        instrumentation around `get_query_embedding` costs 0.6 ms a call, 15% of the work."""
        fast = getattr(self.embedder, "embed", None)
        vector = fast([question])[0] if fast else self.embedder.get_query_embedding(question)
        return np.asarray(vector, dtype=np.float32)

    def sentence_vector(self, doc: str, start: int, end: int) -> npt.NDArray[np.float32] | None:
        row = self.sentence_ids.get(sentence_id(doc, start, end))
        return None if row is None else self.dense_sentences.vectors[row]

    def passage(self, chunk_id: str, rank: int, score: float) -> Passage:
        return Passage.of(self.chunks[chunk_id], rank, score)

    @property
    def vocabulary(self) -> Container[str]:
        return self.lexical.vocabulary

    def embed_text(self, text: str) -> npt.NDArray[np.float32]:
        return np.asarray(self.embedder.get_text_embedding(text), dtype=np.float32)

    def docs_named_in(self, question: str) -> set[str]:
        return docs_named_in(question, self.metadata, self.vocabulary_terms)

    def sources(self, docs: list[str]) -> str:
        """The metadata text of these documents (see `DocMeta.source_text`)."""
        return " ".join(self.metadata[d].source_text(self.vocabulary_terms)
                        for d in docs if d in self.metadata)

    def title(self, doc: str, offset: int | None = None) -> str:
        meta = self.metadata.get(doc)
        if meta is None:
            return doc
        part = meta.part_at(self.original(doc), offset) if offset is not None else None
        return f"{part.title} (in: {meta.title})" if part else meta.title


def query_embedder(settings: Settings) -> BaseEmbedding:
    """The ONNX export of the configured precision (else the fp32 one) when ingest made it:
    fast, no torch. Without one, sentence-transformers."""
    from rag.embedding import encoder

    embed = settings.embed
    return encoder.exported(settings, [embed.onnx_precision, "fp32"]) or get_embedder(
        embed.model, embed.device, embed.batch_size)


def _release(index: ChromaIndex) -> None:
    """Close a generation's Chroma client, and hand the memory its searcher freed back to the
    system: glibc keeps freed pages in the arenas of the page's many worker threads, so without
    malloc_trim a running page's resident memory grew by ~17 MB a switch though nothing leaked."""
    index.close()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


# What a Searcher reads of the settings, and so what tells one cached Searcher from another:
# a page visitor's model name or server URL (llm.*) must not load another copy of the index.
SEARCHER_SETTINGS = {"corpus_dir", "index_dir", "metadata_file", "vocabulary_file", "embed",
                     "chunk", "chroma"}
_searchers: dict[str, Searcher] = {}
_loading = threading.Lock()


def get_searcher(settings: Settings) -> Searcher:
    """The Searcher of the live generation, one per index configuration (SEARCHER_SETTINGS)
    per process; loaded again when an ingest has switched to a new generation since.

    The cache then lets go of every searcher of an older generation of this index (of any
    configuration), and each closes its Chroma client as soon as no question in flight holds
    it any more (CPython frees an object the moment its last reference goes; one caught in a
    reference cycle, e.g. through a stored exception's traceback, at the next garbage
    collection). No grace period: a question may stream from an LLM for minutes, and a timer
    would either cut it off or keep idle generations open that long."""
    key = settings.model_dump_json(include=SEARCHER_SETTINGS)
    pointer = generations.read_pointer(settings.index_dir) or {}
    cached = _searchers.get(key)
    if cached is not None and cached.generation == pointer.get("generation"):
        return cached
    with _loading:
        cached = _searchers.get(key)
        if cached is None or cached.generation != pointer.get("generation"):
            cached = _searchers[key] = Searcher(settings)
            _let_go_older(cached)
    return cached


def _let_go_older(searcher: Searcher) -> None:
    """Drop the cached searchers of `searcher`'s index that read another generation."""
    for key, other in list(_searchers.items()):
        if (other.settings.index_dir == searcher.settings.index_dir
                and other.generation != searcher.generation):
            del _searchers[key]


def docs_known(searcher: Searcher, docs: list[str] | None) -> list[str] | None:
    if docs is None:
        return None
    unknown = sorted(set(docs) - set(searcher.fingerprint.docs))
    if unknown:
        known = ", ".join(sorted(searcher.fingerprint.docs))
        raise UsageError(f"unknown document(s): {', '.join(unknown)}. Known: {known}")
    return docs

"""Vectors a changed document keeps: its chunks and sentences that did not change.

A chunk's id is a hash of its document, span and text (rag/types.py), and a sentence's vector is
pooled from the chunks that hold it (rag/index/nodes.py). So when a document changes, a chunk
whose id is still there would be embedded into the same vector, and a sentence held by exactly
the same chunks as before gets the same vector too. Ingest takes those from the index instead of
running the model again: appending a paragraph to a 75-chunk paper re-embeds the last chunk or
two, not 75. A chunk is run again when one of its sentences is (its token states are needed).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rag.index.chroma import ChromaIndex, SentenceRows
from rag.text.sentences import sentence_id
from rag.types import Chunk

if TYPE_CHECKING:
    from llama_index.core.schema import BaseNode

Stored = list[float]  # a vector as the index holds it
Reusable = tuple[dict[str, Stored], dict[str, Stored]]  # chunk and sentence vectors, by id


def holders(chunks: Iterable[Chunk]) -> dict[str, frozenset[str]]:
    """Sentence id -> the ids of the chunks that hold it (tables' rows included)."""
    found: dict[str, set[str]] = {}
    for chunk in chunks:
        for span in chunk.sentences:
            found.setdefault(sentence_id(chunk.doc, span.orig_start, span.orig_end),
                             set()).add(chunk.id)
    return {sid: frozenset(ids) for sid, ids in found.items()}


@dataclass
class Kept:
    """A document's vectors in the index before it changed."""

    chunks: dict[str, Stored] = field(default_factory=dict)  # chunk id -> vector
    sentences: dict[str, Stored] = field(default_factory=dict)  # sentence id -> vector
    holders: dict[str, frozenset[str]] = field(default_factory=dict)
    seqs: dict[str, int] = field(default_factory=dict)  # chunk id -> position in the document
    texts: dict[str, str] = field(default_factory=dict)  # sentence id -> text

    def unchanged(self, chunks: dict[str, tuple[int, Stored]],
                  sentences: dict[str, tuple[str, Stored]]) -> tuple[set[str], set[str]]:
        """Of a new version's chunks (id -> position, vector) and sentences (id -> text,
        vector): the ids whose stored record would be written again as it is."""
        return ({i for i, (seq, vector) in chunks.items()
                 if self.seqs.get(i) == seq and self.chunks.get(i) == vector},
                {i for i, (text, vector) in sentences.items()
                 if self.texts.get(i) == text and self.sentences.get(i) == vector})

    def reusable(self, chunks: list[Chunk]) -> Reusable:
        """Of the document's new `chunks`: the vectors of the chunks that need no model run,
        and of the sentences that keep theirs."""
        now = holders(chunks)
        sentences = {sid: self.sentences[sid] for sid, ids in now.items()
                     if sid in self.sentences and self.holders.get(sid) == ids}
        kept = {c.id: self.chunks[c.id] for c in chunks if c.id in self.chunks and all(
            sentence_id(c.doc, s.orig_start, s.orig_end) in sentences for s in c.sentences)}
        return kept, sentences


def fetch(index: ChromaIndex, doc: str) -> Kept:
    """The vectors `doc` has in `index`, which the unchanged part of a new version keeps."""
    got = index.collection.get(where={"doc": doc},
                               include=["embeddings", "metadatas", "documents"])
    rows = index.sentences.get(where={"doc": doc}, include=["embeddings", "documents"])
    chunks = [Chunk.from_stored(i, text, meta) for i, text, meta in
              zip(got["ids"], got["documents"] or [], got["metadatas"] or [], strict=True)]
    return Kept(chunks=dict(zip(got["ids"], _lists(got["embeddings"]), strict=True)),
                sentences=dict(zip(rows["ids"], _lists(rows["embeddings"]), strict=True)),
                holders=holders(chunks), seqs={c.id: c.seq for c in chunks},
                texts=dict(zip(rows["ids"], rows["documents"] or [], strict=True)))


def replace(index: ChromaIndex, old: Kept, nodes: Sequence[BaseNode],
            sentences: SentenceRows) -> None:
    """Replace a document's old version by a new one in `index`, writing only the records
    that differ: an appended paragraph rewrites a chunk or two, not the whole document."""
    same_chunks, same_sentences = old.unchanged(
        {n.id_: (int(n.metadata["seq"]), n.get_embedding()) for n in nodes},
        {i: (t, v) for i, t, v in zip(sentences.ids, sentences.texts, sentences.vectors,
                                     strict=True)})
    for collection, gone in ((index.collection, set(old.chunks) - same_chunks),
                             (index.sentences, set(old.sentences) - same_sentences)):
        if gone:
            collection.delete(ids=sorted(gone))
    new = [i for i, sid in enumerate(sentences.ids) if sid not in same_sentences]
    index.add_doc([n for n in nodes if n.id_ not in same_chunks], SentenceRows(
        *([getattr(sentences, f)[i] for i in new] for f in ("ids", "texts", "vectors",
                                                           "metadatas"))))


def _lists(vectors: Any) -> list[Stored]:
    return [[float(x) for x in vector] for vector in (vectors if vectors is not None else [])]

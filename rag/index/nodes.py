"""Chunks -> llama-index TextNodes and sentence rows, with their embeddings."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.embedding.tokens import Vector, normalise, pool, token_embedder
from rag.index.chroma import SentenceRows
from rag.index.kept import Reusable, Stored
from rag.text.sentences import row_in_context, sentence_id
from rag.types import Chunk

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.schema import TextNode

METADATA_KEYS = ["doc", "seq", "start", "end", "kind", "sentences"]


def to_node(chunk: Chunk, embedding: list[float] | None = None) -> TextNode:
    from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

    return TextNode(
        id_=chunk.id,
        text=chunk.text,
        embedding=embedding,
        metadata={"doc": chunk.doc, "seq": chunk.seq, "start": chunk.start, "end": chunk.end,
                  "kind": chunk.kind, "sentences": json.dumps(chunk.sentences)},
        excluded_embed_metadata_keys=METADATA_KEYS,
        excluded_llm_metadata_keys=METADATA_KEYS,
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=chunk.doc)},
    )


def unique_sentences(chunks: list[Chunk]) -> dict[str, tuple[str, int, int]]:
    """Sentence id -> (text to embed, start, end); chunks overlap, so a sentence may recur.
    A table row is embedded with its table's title and header, which give it its meaning."""
    found: dict[str, tuple[str, int, int]] = {}
    for chunk in chunks:
        for i, span in enumerate(chunk.sentences):
            text = (row_in_context(chunk.text, chunk.sentences, i) if chunk.kind == "table"
                    else chunk.text[span.start:span.end])
            found.setdefault(sentence_id(chunk.doc, span.orig_start, span.orig_end),
                             (text, span.orig_start, span.orig_end))
    return found


def embed_documents(embedder: BaseEmbedding, chunks: dict[str, list[Chunk]], batch_size: int,
                    bar: Any = None, cache: VectorCache | None = None,
                    keep: Reusable | None = None
                    ) -> dict[str, tuple[list[TextNode], SentenceRows]]:
    """Embed every chunk of these documents; each sentence's vector is pooled from the token
    states of the chunks that hold it (rag/embedding/tokens.py). `bar`, a tqdm progress bar,
    counts the texts; `cache` holds recently embedded chunks; `keep`, the stored vectors of
    chunks and sentences that did not change (rag/index/kept.py `Kept.reusable`)."""
    keep_chunks, keep_sentences = keep or ({}, {})
    pooled = _pool_chunks(embedder, [c for cs in chunks.values() for c in cs
                                     if c.id not in keep_chunks], batch_size, bar, cache)
    pooled.update({cid: (np.asarray(vector, dtype=np.float32), [])
                   for cid, vector in keep_chunks.items()})
    rows = {doc: _sentence_rows(doc, doc_chunks, pooled, keep_sentences)
            for doc, doc_chunks in chunks.items()}
    alone = [(r, i) for r in rows.values() for i, v in enumerate(r.vectors) if not v]
    if alone:  # table rows, and any sentence no token of a chunk falls in: on its own
        vectors = _embed(embedder, [r.texts[i] for r, i in alone], batch_size, bar, cache)
        for (r, i), vector in zip(alone, vectors, strict=True):
            r.vectors[i] = vector
    return {doc: ([to_node(c, pooled[c.id][0].tolist()) for c in doc_chunks], rows[doc])
            for doc, doc_chunks in chunks.items()}


def texts_to_embed(chunks: dict[str, list[Chunk]]) -> list[str]:
    """What `embed_documents` runs the model on: every chunk's text (sentences are pooled; the
    few table rows, embedded on their own, aside)."""
    return [c.text for doc_chunks in chunks.values() for c in doc_chunks]


Pooled = tuple["Vector", list["Vector | None"]]  # a chunk's vector, its sentences' states


def _pool_chunks(embedder: BaseEmbedding, chunks: list[Chunk], batch_size: int, bar: Any,
                 cache: VectorCache | None) -> dict[str, Pooled]:
    """Chunk id -> its vector and its sentences' mean token states. Each distinct chunk is run
    once (and not again while `cache` holds it), shortest first."""
    model = token_embedder(embedder)
    keys = {c.id: (c.text, tuple((s.start, s.end) for s in c.sentences)) for c in chunks}
    found: dict[Any, Pooled] = {} if cache is None else {
        key: got for key in set(keys.values()) if (got := cache.get(key)) is not None}
    todo = sorted(set(keys.values()) - set(found), key=lambda key: len(key[0]))
    if bar is not None:
        bar.total = (bar.total or 0) + len(todo)
        bar.refresh()
    for batch in _batches(todo, batch_size):
        for key, tokens in zip(batch, model.token_states([k[0] for k in batch]), strict=True):
            vector, spans = pool(tokens, list(key[1]))
            found[key] = (vector, spans)
            if cache is not None:
                cache.put(key, found[key])
        if bar is not None:
            bar.update(len(batch))
    return {chunk_id: found[key] for chunk_id, key in keys.items()}


BATCH_CHARS = 1000  # about 250 tokens


def _batches(todo: list[Any], most: int) -> Iterator[list[Any]]:
    """Length-sorted keys in batches of up to `most` texts and about BATCH_CHARS characters.
    A batch is padded to its longest text, so big batches of chunks compute padding: running
    this corpus's 243 chunks one at a time took 6.0 s, two 6.2 s, 8 6.7 s, 32 7.8 s."""
    batch: list[Any] = []
    for key in todo:
        if batch and (len(batch) == most or len(key[0]) * (len(batch) + 1) > BATCH_CHARS):
            yield batch
            batch = []
        batch.append(key)
    if batch:
        yield batch


def _sentence_rows(doc: str, chunks: list[Chunk], pooled: dict[str, Pooled],
                   kept: dict[str, Stored]) -> SentenceRows:
    """The document's distinct sentences, each with the mean of its states in every chunk
    that holds it (chunks overlap); an empty vector for one to embed on its own: a table row
    (as "Title (Header): Row", see unique_sentences; pooled from the table, every row carried
    the whole table and a question about one row found another: the UI test's Vietnam row),
    or a sentence no token falls in."""
    states: dict[str, list[Vector]] = {}
    for chunk in (c for c in chunks if c.kind != "table" and pooled[c.id][1]):
        for span, state in zip(chunk.sentences, pooled[chunk.id][1], strict=True):
            if state is not None:
                sid = sentence_id(doc, span.orig_start, span.orig_end)
                states.setdefault(sid, []).append(state)
    rows = SentenceRows()
    for sid, (text, start, end) in unique_sentences(chunks).items():
        rows.ids.append(sid)
        rows.texts.append(text)
        found = states.get(sid)
        rows.vectors.append(list(kept[sid]) if sid in kept else
                            normalise(np.mean(found, axis=0)).tolist() if found else [])
        rows.metadatas.append({"doc": doc, "start": start, "end": end})
    return rows


class VectorCache:
    """The results of the last `size` distinct texts embedded (a chunk's result holds its
    sentences' states too, counted in `size`), so that a text recurring in a later group of
    documents (a boilerplate sentence, a copy of a document) is not embedded again, in memory
    that does not grow with the corpus (float32: 1.5 kB a vector)."""

    def __init__(self, size: int = 50_000) -> None:
        self.size, self._held = size, 0
        self._items: OrderedDict[Any, tuple[Any, int]] = OrderedDict()

    def get(self, key: Any) -> Any:
        item = self._items.get(key)
        if item is None:
            return None
        self._items.move_to_end(key)
        return item[0]

    def put(self, key: Any, value: Any) -> None:
        """`value`: a vector, or a chunk's vector and its sentences' states."""
        count = 1 + (len(value[1]) if isinstance(value, tuple) else 0)
        self._items[key] = (value, count)
        self._held += count
        while self._held > self.size:
            self._held -= self._items.popitem(last=False)[1][1]


def _embed(embedder: BaseEmbedding, texts: list[str], batch_size: int,
           bar: Any = None, cache: VectorCache | None = None) -> list[list[float]]:
    """The vector of each text, in order. Each distinct text is embedded once (and not again
    while `cache` holds it), and batches hold texts of similar length: a batch is padded to its
    longest text, so mixing 256-token chunks with 20-token sentences made the model compute
    mostly padding (length-sorted batches embed the corpus 1.8x faster)."""
    found: dict[str, list[float]] = {} if cache is None else {
        text: vector for text in set(texts) if (vector := cache.get(text)) is not None}
    distinct = sorted(set(texts) - set(found), key=len)
    if bar is not None:
        bar.total = (bar.total or 0) + len(distinct)
        bar.refresh()
    for i in range(0, len(distinct), batch_size):
        batch = distinct[i:i + batch_size]
        vectors = embedder.get_text_embedding_batch(batch)
        found.update(zip(batch, vectors, strict=True))
        if cache is not None:
            for text, vector in zip(batch, vectors, strict=True):
                cache.put(text, vector)
        if bar is not None:
            bar.update(len(batch))
    return [found[text] for text in texts]

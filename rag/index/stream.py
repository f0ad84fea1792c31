"""Embed the documents an ingest has to do and write them into the new generation, a group of
documents at a time: each group's chunks and sentences are embedded (length-sorted batches,
rag/index/nodes.py) and written before the next group is read, so an ingest holds one group's
vectors, whatever the size of the corpus."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from rag.config import ChunkSettings, Settings
from rag.embedding.embed import token_counter
from rag.index.chroma import ChromaIndex, SentenceRows
from rag.index.fingerprint import Fingerprint
from rag.index.nodes import VectorCache, embed_documents
from rag.ingest.chunk import chunk_document
from rag.types import Chunk, SourceFile

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.schema import TextNode

STREAM_TEXTS = 4096  # chunks and sentences embedded and written at a time (bounds memory)


def write_documents(index: ChromaIndex, embedder: BaseEmbedding, todo: list[SourceFile],
                    settings: Settings, fingerprint: Fingerprint, progress: bool) -> int:
    """Embed and write every document of `todo`; the number of chunks written."""
    from tqdm import tqdm

    counter, written, cache = token_counter(settings.embed.model), 0, VectorCache()
    # disable=None: tqdm shows the bar on a terminal only, not in logs.
    with tqdm(total=0, unit="text", desc="Embedding", disable=None if progress else True) as bar:
        for group in groups(todo, settings.chunk, counter):
            embedded = embed_documents(embedder, group, settings.embed.batch_size, bar, cache)
            for source in (s for s in todo if s.doc in group):
                _write(index, source, embedded[source.doc])
                fingerprint.docs[source.doc] = source.sha256
            written += sum(len(c) for c in group.values())
    return written


def groups(todo: list[SourceFile], chunking: ChunkSettings,
           counter: Callable[[str], list[int]]) -> Iterator[dict[str, list[Chunk]]]:
    """The documents' chunks, a few documents at a time (about STREAM_TEXTS chunks and
    sentences a group)."""
    group: dict[str, list[Chunk]] = {}
    texts = 0
    for source in todo:
        group[source.doc] = chunk_document(source, chunking, counter)
        texts += sum(1 + len(c.sentences) for c in group[source.doc])
        if texts >= STREAM_TEXTS:
            yield group
            group, texts = {}, 0
    if group:
        yield group


def _write(index: ChromaIndex, source: SourceFile,
           embedded: tuple[list[TextNode], SentenceRows]) -> None:
    index.save_original(source.sha256, source.text)
    if source.pages is not None:
        index.save_pages(source.sha256, source.pages, source.path)
    index.replace_doc(source.doc, *embedded)

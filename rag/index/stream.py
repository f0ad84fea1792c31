"""Embed the documents an ingest has to do and write them into the new generation, as a stream.

This thread chunks one document after another (Python) and hands each to a worker thread that
embeds it (onnxruntime, which releases the GIL, on both cores), then writes the documents the
worker has finished. So chunking, writing and the imports they need overlap embedding instead of
preceding it (1x with the export present: 12.1 s before, 10.4 s after), and at most about
STREAM_TEXTS chunks and sentences wait between chunking and writing, whatever the size of the
corpus, which bounds the vectors an ingest holds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, cast

from rag.config import Settings
from rag.embedding.embed import token_counter
from rag.index import terms
from rag.index.chroma import ChromaIndex, SentenceRows
from rag.index.fingerprint import Fingerprint
from rag.index.kept import Kept, fetch, replace
from rag.index.nodes import VectorCache, embed_documents
from rag.ingest.chunk import chunk_document, preload
from rag.types import Chunk, SourceFile

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.schema import TextNode

STREAM_TEXTS = 4096  # chunks and sentences at most between chunking and writing (memory bound)

Embedded = tuple[list["TextNode"], SentenceRows, int]  # and how many chunks the model ran
Progress = Callable[[int, int], None]  # (texts embedded, texts to embed so far): the page shows it


class _Reported:
    """The progress bar, also telling `report` how far it is (tqdm stays off when stderr is
    no terminal, as in the page's server, and then counts nothing)."""

    def __init__(self, bar: Any, report: Progress) -> None:
        self.bar, self.report, self.n = bar, report, 0

    @property
    def total(self) -> int:
        return int(self.bar.total or 0)

    @total.setter
    def total(self, value: int) -> None:
        self.bar.total = value

    def refresh(self) -> None:
        self.bar.refresh()
        self.report(self.n, self.total)

    def update(self, n: int) -> None:
        self.n += n
        self.bar.update(n)
        self.report(self.n, self.total)


def write_documents(index: Callable[[], ChromaIndex], embedder: Callable[[], BaseEmbedding],
                    todo: list[SourceFile], settings: Settings, fingerprint: Fingerprint,
                    progress: bool, chunked: Callable[[], object] = lambda: None,
                    on_progress: Progress | None = None) -> int:
    """Embed and write every document of `todo`; the number of chunks the model ran. The worker
    asks `embedder` for the model when the first document is chunked (rag/index/encoding.py
    `Encoder`: it may wait for the export), and this thread asks `index` for the collections
    (importing and starting Chroma) only then, while the worker embeds. Each document's BM25
    terms are saved as it is chunked, and `chunked` is called once every document is, while
    the last ones are still being embedded (build.py builds the BM25 index then).
    `on_progress` is told the texts embedded so far after each batch."""
    from tqdm import tqdm

    counter, cache = token_counter(settings.embed.model), VectorCache()
    queue: deque[tuple[SourceFile, int, Future[Embedded], Kept | None]] = deque()
    written = held = 0
    # disable=None: tqdm shows the bar on a terminal only, not in logs.
    with tqdm(total=0, unit="text", desc="Embedding", disable=None if progress else True) as bar, \
            ThreadPoolExecutor(1, thread_name_prefix="embed") as worker:
        shown: Any = bar if on_progress is None else _Reported(bar, on_progress)

        def embed(chunks: list[Chunk], doc: str, kept: Kept | None) -> Embedded:
            keep = kept.reusable(chunks) if kept else None
            nodes, rows = embed_documents(embedder(), {doc: chunks}, settings.embed.batch_size,
                                          shown, cache, keep)[doc]
            return nodes, rows, len(chunks) - (len(keep[0]) if keep else 0)

        # Every import here, before the worker starts (see rag/ingest/chunk.py `preload`):
        # the chunker's, and the ONNX encoder's (onnxruntime, tokenizers), 0.05 s more.
        preload()
        import rag.embedding.onnx_embedding  # noqa: F401
        worker.submit(embedder)  # load the model while this thread chunks
        for source in todo:
            chunks = chunk_document(source, settings.chunk, counter)
            texts = sum(1 + len(c.sentences) for c in chunks)
            # a changed document keeps the vectors of what did not change (rag/index/kept.py)
            kept = fetch(index(), source.doc) if source.doc in fingerprint.docs else None
            queue.append((source, texts, worker.submit(embed, chunks, source.doc, kept), kept))
            held += texts
            collections = index()
            terms.save(collections.folder, source.sha256, [c.id for c in chunks],
                       [c.text for c in chunks])
            while queue and (queue[0][2].done() or held > STREAM_TEXTS):
                written += _write_next(collections, queue, fingerprint)
                held -= queue.popleft()[1]
        chunked()
        while queue:
            written += _write_next(index(), queue, fingerprint)
            queue.popleft()
    return written


def _write_next(index: ChromaIndex, queue: deque[tuple[SourceFile, int, Any, Kept | None]],
                fingerprint: Fingerprint) -> int:
    """Write the first document of `queue` (waiting for its embeddings), replacing its old
    version if the index had one; how many of its chunks the model ran."""
    source, _, future, kept = queue[0]
    nodes, sentences, embedded = cast(Embedded, future.result())
    index.save_original(source.sha256, source.text)
    if source.pages is not None:
        index.save_pages(source.sha256, source.pages, source.path)
    if kept is not None:
        replace(index, kept, nodes, sentences)
    else:
        index.add_doc(nodes, sentences)
    fingerprint.docs[source.doc] = source.sha256
    return embedded

"""Incremental ingest: clean, chunk and embed only new or changed documents.

Changes go into a copy of the live index (a new generation, rag/index/generations.py): per document
its old chunks are deleted and its new ones added (a changed document keeps the vectors and
records of what did not change: rag/index/kept.py), then the BM25 index is rebuilt and the copy
becomes live in one atomic step. Killed at any point, an ingest leaves the live index as it was
and the next run starts again from it, so no chunk is ever duplicated or orphaned.
"""

from __future__ import annotations

import functools
import shutil
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from rag.config import Settings
from rag.embedding.embed import max_tokens
from rag.errors import FingerprintMismatchError, IndexDamagedError, UsageError
from rag.index import generations, shards, state, terms
from rag.index.chroma import ChromaIndex, check_generation
from rag.index.encoding import Encoder, start_export
from rag.index.fingerprint import Fingerprint
from rag.index.lexical import LexicalIndex
from rag.index.stream import Progress, write_documents
from rag.ingest.corpus import CorpusScan, scan_corpus
from rag.ingest.metadata import load_metadata
from rag.text.vocab import load_vocabulary
from rag.types import SourceFile


@dataclass
class Plan:
    added: list[SourceFile] = field(default_factory=list)
    changed: list[SourceFile] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    staged: list[SourceFile] = field(default_factory=list)  # of todo: embedded by shard workers

    @property
    def todo(self) -> list[SourceFile]:
        return self.added + self.changed


@dataclass
class IngestReport:
    plan: Plan
    warnings: list[str]
    chunks_embedded: int
    documents: int
    chunks: int
    seconds: float


def plan_ingest(scan: CorpusScan, known: dict[str, str], indexed: set[str]) -> Plan:
    """Compare the corpus with what the index holds (`known`: doc -> hash it was built from)."""
    plan = Plan()
    for source in scan.documents:
        if source.doc not in known:
            plan.added.append(source)
        elif known[source.doc] != source.sha256:
            plan.changed.append(source)
        else:
            plan.unchanged.append(source.doc)
    present = {source.doc for source in scan.documents}
    plan.removed = sorted((set(known) | indexed) - present)
    return plan


def check_builder(current: Fingerprint | None, wanted: Fingerprint, has_chunks: bool) -> None:
    if not has_chunks:
        return
    if current is None:
        raise FingerprintMismatchError("the index holds chunks but no fingerprint — run "
                                       "`rag ingest --rebuild`")
    have = {**current.builder(), "documents embedded by": current.documents}
    diff = [f"{key}: index has {have[key]}, settings ask for {value}" for key, value in
            {**wanted.builder(), "documents embedded by": wanted.documents}.items()
            if have[key] != value]
    if diff:
        raise FingerprintMismatchError(
            "the index was built with other settings (" + "; ".join(diff) + "). Run "
            "`rag ingest --rebuild` to re-embed everything with the current settings.")


def ingest(settings: Settings, rebuild: bool = False, progress: bool = True,
           on_progress: Progress | None = None) -> IngestReport:
    """Bring the index up to date with the corpus, in a new generation switched to at the end;
    `on_progress` is told the texts embedded so far (the page's status line shows them)."""
    started = time.perf_counter()
    scan = scan_corpus(settings.corpus_dir, settings.metadata_file, settings.max_document_mb)
    if not scan.documents:
        raise UsageError(f"no .txt, .md, .pdf or .html documents in {settings.corpus_dir}/ — "
                         "nothing to index")
    # invalid metadata or vocabulary file: stop here, before `rag ask` does
    load_metadata(settings.corpus_dir, settings.metadata_file)
    load_vocabulary(settings.corpus_dir, settings.vocabulary_file)
    with generations.ingest_lock(settings.index_dir):
        exporting = start_export(settings)  # in a process of its own, while this one works
        generations.prune(settings.index_dir)  # unfinished folders of a killed ingest
        live = None if rebuild else generations.current(settings.index_dir)
        current, counts = live_state(settings, live)
        wanted = Fingerprint.wanted(settings)
        check_builder(current, wanted, bool(counts))
        fingerprint = current or wanted
        plan = plan_ingest(scan, fingerprint.docs, set(counts))
        if settings.chroma.mode == "server":  # documents `rag ingest --shard` staged
            plan.staged = [s for s in plan.todo if shards.usable(settings, s, fingerprint)]
        encoder = Encoder(settings, fingerprint, exporting)
        if live is not None and not plan.todo and not plan.removed:
            ChromaIndex(settings, live)  # a garbled database is not up to date
            embedded = 0
        else:
            embedded, counts = _new_generation(settings, live, fingerprint, plan, progress,
                                               encoder, on_progress)
        problem = encoder.finish()
    return IngestReport(plan=plan, warnings=scan.warnings + ([problem] if problem else []),
                        chunks_embedded=embedded,
                        documents=len(counts), chunks=sum(counts.values()),
                        seconds=time.perf_counter() - started)


def live_state(settings: Settings,
               live: Path | None) -> tuple[Fingerprint | None, Counter[str]]:
    """The live generation's fingerprint and chunk counts (none for a first ingest): from its
    state file, else from Chroma. The folder must match its manifest and its database pass
    SQLite's check; the database itself is opened later (by ingest when there is nothing to
    do, else as the new generation's copy), which reads no chunk either way."""
    if live is None:
        return None, Counter()
    saved = state.load(live)
    if saved is None:
        base = ChromaIndex(settings, live)
        return base.fingerprint(), base.chunk_counts()
    damage = check_generation(settings, live)  # copied as the new generation's start
    if damage:
        raise IndexDamagedError(settings.index_dir, damage)
    return saved


def _new_generation(settings: Settings, base: Path | None, fingerprint: Fingerprint,
                    plan: Plan, progress: bool, encoder: Encoder,
                    on_progress: Progress | None = None) -> tuple[int, Counter[str]]:
    # A thread of its own copies the live generation (or makes an empty folder), mostly in
    # the kernel, while this thread imports and chunks (rag/index/stream.py). It imports
    # nothing: two threads importing llama-index or chromadb at once can fail ("partially
    # initialized module", seen at 10x), so every import stays in this thread.
    copying = ThreadPoolExecutor(1, thread_name_prefix="copy")
    begun = copying.submit(generations.begin, settings.index_dir, base)
    copying.shutdown(wait=False)  # the thread ends with the copy

    @functools.cache
    def collections() -> ChromaIndex:
        """The new generation's collections, without the removed documents, with the staged
        ones (rag/index/shards.py): opened once the first document is chunked."""
        index = ChromaIndex(settings, begun.result(), create=True)
        if settings.chroma.mode == "server" and base is not None:
            # embedded mode copied the database with the folder
            index.copy_from(ChromaIndex(settings, base))
        for doc in plan.removed:  # changed documents are replaced as they are written
            index.delete_doc(doc)
            fingerprint.docs.pop(doc, None)
        for source in plan.staged:
            if source in plan.changed:
                index.delete_doc(source.doc)
            index.copy_from(ChromaIndex(settings, shards.folder(settings, source.sha256),
                                        create=True))
            shards.link_files(settings, source.sha256, index.folder)
            fingerprint.docs[source.doc] = source.sha256
            staged = shards.Staged.read(settings, source.sha256)
            fingerprint.dim = fingerprint.dim or (staged.dim if staged else 0)
        return index

    built: list[Future[tuple[LexicalIndex, Counter[str]]]] = []

    def bm25() -> None:
        """Start building the BM25 index of the documents the generation will hold (all
        chunked now), in a thread (numpy, mostly without the GIL) while this one writes."""
        import bm25s  # noqa: F401  # imported here: no import in two threads at once

        index = collections()
        docs = {**fingerprint.docs, **{source.doc: source.sha256 for source in plan.todo}}
        building = ThreadPoolExecutor(1, thread_name_prefix="bm25")
        built.append(building.submit(terms.build, index.folder, docs, index.doc_chunks))
        building.shutdown(wait=False)

    try:
        embedded = _embed_documents(settings, collections, fingerprint,
                                    [s for s in plan.todo if s not in plan.staged], progress,
                                    encoder, bm25, on_progress)
        if not built:
            bm25()
        index = collections()
        index.save_fingerprint(fingerprint)
        folder = index.folder
        lexical, counts = built[0].result()
        lexical.save(folder / "lexical", fingerprint.key())
        index.prune_originals(set(fingerprint.docs.values()))
        terms.prune(folder, set(fingerprint.docs.values()))
        state.save(folder, fingerprint, counts)
        generations.commit(settings.index_dir, folder)
    except BaseException:
        if built:
            built[0].exception()  # the thread is done with the folder
        if begun.exception() is None:  # else the next ingest's prune removes the folder
            shutil.rmtree(begun.result(), ignore_errors=True)
        raise
    if settings.chroma.mode == "server":
        for source in plan.staged:  # published now
            shards.remove(settings, source.sha256)
        pointer = generations.read_pointer(settings.index_dir) or {}
        index.drop_other_generations({str(pointer.get("generation")),
                                      str(pointer.get("previous"))})
    return embedded, counts


def _embed_documents(settings: Settings, index: Callable[[], ChromaIndex],
                     fingerprint: Fingerprint, todo: list[SourceFile], progress: bool,
                     encoder: Encoder, chunked: Callable[[], None],
                     on_progress: Progress | None = None) -> int:
    if not todo:
        return 0
    model = settings.embed.model
    if settings.chunk.size > max_tokens(model) - 2:
        raise UsageError(f"chunk.size {settings.chunk.size} exceeds what {model} embeds "
                         f"({max_tokens(model) - 2} tokens): lower RAG_CHUNK__SIZE")
    return write_documents(index, encoder, todo, settings, fingerprint, progress, chunked,
                           on_progress)

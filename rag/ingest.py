"""Incremental ingest: clean, chunk and embed only new or changed documents.

Each document is replaced in one step (its old chunks deleted, its new ones added) and only
then recorded in the fingerprint. If ingest is interrupted, the next run sees the document as
not yet (or not fully) ingested and does it again, so no chunk is ever duplicated or orphaned.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rag.chunk import chunk_document
from rag.config import Settings
from rag.corpus import CorpusScan, scan_corpus
from rag.embed import dimension, get_embedder, max_tokens, token_counter
from rag.errors import FingerprintMismatchError, UsageError
from rag.index import ChromaIndex, Fingerprint, SentenceRows
from rag.lexical import LexicalIndex
from rag.nodes import embed_documents
from rag.types import SourceFile


@dataclass
class Plan:
    added: list[SourceFile] = field(default_factory=list)
    changed: list[SourceFile] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

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
    lexical_rebuilt: bool = False


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
    diff = [f"{key}: index has {current.builder()[key]}, settings ask for {value}"
            for key, value in wanted.builder().items() if current.builder()[key] != value]
    if diff:
        raise FingerprintMismatchError(
            "the index was built with other settings (" + "; ".join(diff) + "). Run "
            "`rag ingest --rebuild` to re-embed everything with the current settings.")


def ingest(settings: Settings, rebuild: bool = False, progress: bool = True) -> IngestReport:
    started = time.perf_counter()
    scan = scan_corpus(settings.corpus_dir, settings.metadata_file)
    if not scan.documents:
        raise UsageError(f"no .txt or .md documents in {settings.corpus_dir}/ — nothing to index")
    index = ChromaIndex(settings, create=True)
    if rebuild:
        index.reset()
    wanted, current = Fingerprint.wanted(settings), index.fingerprint()
    counts = index.chunk_counts()
    check_builder(current, wanted, bool(counts))
    fingerprint = current or wanted
    plan = plan_ingest(scan, fingerprint.docs, set(counts))
    for doc in plan.removed:
        index.replace_doc(doc, [], SentenceRows())
        fingerprint.docs.pop(doc, None)
        index.save_fingerprint(fingerprint)
    embedded = _embed_documents(settings, index, fingerprint, plan.todo, progress)
    lexical_rebuilt = refresh_lexical(index, fingerprint)
    index.prune_originals(set(fingerprint.docs.values()))
    counts = index.chunk_counts()
    return IngestReport(plan=plan, warnings=scan.warnings, chunks_embedded=embedded,
                        documents=len(counts), chunks=sum(counts.values()),
                        seconds=time.perf_counter() - started, lexical_rebuilt=lexical_rebuilt)


def refresh_lexical(index: ChromaIndex, fingerprint: Fingerprint) -> bool:
    """Rebuild the BM25 index from the chunks in Chroma unless it already matches them."""
    folder = index.folder / "lexical"
    current = LexicalIndex.load(folder)
    if current is not None and current[1] == fingerprint.key():
        return False
    ids, texts, _ = index.all_chunks()
    LexicalIndex.build(ids, texts).save(folder, fingerprint.key())
    return True


def _embed_documents(settings: Settings, index: ChromaIndex, fingerprint: Fingerprint,
                     todo: list[SourceFile], progress: bool) -> int:
    if not todo:
        return 0
    model = settings.embed.model
    if settings.chunk.size > max_tokens(model) - 2:
        raise UsageError(f"chunk.size {settings.chunk.size} exceeds what {model} embeds "
                         f"({max_tokens(model) - 2} tokens): lower RAG_CHUNK__SIZE")
    embedder = get_embedder(model, settings.embed.device, settings.embed.batch_size)
    dim = dimension(embedder)
    if fingerprint.dim and fingerprint.dim != dim:
        raise FingerprintMismatchError(f"the index holds {fingerprint.dim}-dimensional vectors, "
                                       f"{model} makes {dim} — run `rag ingest --rebuild`")
    fingerprint.dim = dim
    chunks = {s.doc: chunk_document(s, settings.chunk, token_counter(model)) for s in todo}
    embedded = embed_documents(embedder, chunks, settings.embed.batch_size, progress)
    for source in todo:
        index.save_original(source.sha256, source.text)
        index.replace_doc(source.doc, *embedded[source.doc])
        fingerprint.docs[source.doc] = source.sha256
        index.save_fingerprint(fingerprint)
    return sum(len(c) for c in chunks.values())

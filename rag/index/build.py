"""Incremental ingest: clean, chunk and embed only new or changed documents.

Changes go into a copy of the live index (a new generation, rag/index/generations.py): per document
its old chunks are deleted and its new ones added, then the BM25 index is rebuilt and the copy
becomes live in one atomic step. Killed at any point, an ingest leaves the live index as it was
and the next run starts again from it, so no chunk is ever duplicated or orphaned.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rag.config import Settings
from rag.embedding.embed import dimension, get_embedder, max_tokens
from rag.errors import FingerprintMismatchError, UsageError
from rag.index import generations
from rag.index.chroma import ChromaIndex, SentenceRows, doc_counts
from rag.index.fingerprint import Fingerprint
from rag.index.lexical import LexicalIndex
from rag.index.stream import write_documents
from rag.ingest.corpus import CorpusScan, scan_corpus
from rag.types import SourceFile

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding


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
    """Bring the index up to date with the corpus, in a new generation switched to at the end."""
    started = time.perf_counter()
    scan = scan_corpus(settings.corpus_dir, settings.metadata_file, settings.max_document_mb)
    if not scan.documents:
        raise UsageError(f"no .txt, .md, .pdf or .html documents in {settings.corpus_dir}/ — "
                         "nothing to index")
    with generations.ingest_lock(settings.index_dir):
        generations.prune(settings.index_dir)  # unfinished folders of a killed ingest
        base = None if rebuild else _base(settings)
        wanted = Fingerprint.wanted(settings)
        current = None if base is None else base.fingerprint()
        counts = Counter[str]() if base is None else base.chunk_counts()
        check_builder(current, wanted, bool(counts))
        fingerprint = current or wanted
        plan = plan_ingest(scan, fingerprint.docs, set(counts))
        # The encoder is exported first: documents are embedded with it too (fast, see
        # document_embedder), and questions always are.
        problem = export_encoder(settings)
        if base is not None and not plan.todo and not plan.removed:
            embedded = 0
        else:
            embedded, counts = _new_generation(settings, base, fingerprint, plan, progress)
    return IngestReport(plan=plan, warnings=scan.warnings + ([problem] if problem else []),
                        chunks_embedded=embedded,
                        documents=len(counts), chunks=sum(counts.values()),
                        seconds=time.perf_counter() - started)


def export_encoder(settings: Settings) -> str | None:
    """Export the query encoder once per model (rag/embedding/encoder.py); a warning if it fails."""
    if not settings.embed.onnx:
        return None
    from rag.embedding import encoder

    problem = encoder.export(settings.embed.model, settings.index_dir)
    return f"{problem}; questions are embedded with sentence-transformers" if problem else None


def document_embedder(settings: Settings) -> BaseEmbedding:
    """The fp32 ONNX export when ingest made it, else sentence-transformers.

    The export gives the model's vectors (cosine >= 0.9999, checked when it is made) at the same
    speed as sentence-transformers (eval/bench_embed.py) but without importing torch (8-9 s of
    every ingest). Never the int8 export: it is faster, but its integer kernels differ between
    CPUs, and the index must not (issue 15)."""
    from rag.embedding import encoder

    embed = settings.embed
    return encoder.exported(settings, ["fp32"]) or get_embedder(embed.model, embed.device,
                                                                embed.batch_size)


def _base(settings: Settings) -> ChromaIndex | None:
    """The live generation to start from, or None for a first ingest."""
    folder = generations.current(settings.index_dir)
    if folder is None:
        return None
    return ChromaIndex(settings, folder)  # checks the folder against its manifest


def _new_generation(settings: Settings, base: ChromaIndex | None, fingerprint: Fingerprint,
                    plan: Plan, progress: bool) -> tuple[int, Counter[str]]:
    folder = generations.begin(settings.index_dir, None if base is None else base.folder)
    try:
        index = ChromaIndex(settings, folder, create=True)
        if settings.chroma.mode == "server" and base is not None:
            index.copy_from(base)  # embedded mode copied the database with the folder
        for doc in plan.removed:
            index.replace_doc(doc, [], SentenceRows())
            fingerprint.docs.pop(doc, None)
        embedded = _embed_documents(settings, index, fingerprint, plan.todo, progress)
        index.save_fingerprint(fingerprint)
        ids, texts, metadatas = index.all_chunks()  # read once: for BM25 and for the counts
        LexicalIndex.build(ids, texts).save(folder / "lexical", fingerprint.key())
        index.prune_originals(set(fingerprint.docs.values()))
        counts = doc_counts(metadatas)
        generations.commit(settings.index_dir, folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if settings.chroma.mode == "server":
        pointer = generations.read_pointer(settings.index_dir) or {}
        index.drop_other_generations({str(pointer.get("generation")),
                                      str(pointer.get("previous"))})
    return embedded, counts


def _embed_documents(settings: Settings, index: ChromaIndex, fingerprint: Fingerprint,
                     todo: list[SourceFile], progress: bool) -> int:
    if not todo:
        return 0
    model = settings.embed.model
    if settings.chunk.size > max_tokens(model) - 2:
        raise UsageError(f"chunk.size {settings.chunk.size} exceeds what {model} embeds "
                         f"({max_tokens(model) - 2} tokens): lower RAG_CHUNK__SIZE")
    embedder = document_embedder(settings)
    dim = dimension(embedder)
    if fingerprint.dim and fingerprint.dim != dim:
        raise FingerprintMismatchError(f"the index holds {fingerprint.dim}-dimensional vectors, "
                                       f"{model} makes {dim} — run `rag ingest --rebuild`")
    fingerprint.dim = dim
    return write_documents(index, embedder, todo, settings, fingerprint, progress)

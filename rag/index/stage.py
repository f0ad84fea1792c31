"""`rag ingest --shard K/N`: one worker's share of a large ingest (see rag/index/shards.py)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from rag.config import Settings
from rag.errors import UsageError
from rag.index import generations, shards
from rag.index.build import check_builder, live_state
from rag.index.encoding import Encoder, start_export
from rag.index.fingerprint import Fingerprint
from rag.index.stream import write_documents
from rag.ingest.corpus import scan_corpus
from rag.types import SourceFile


@dataclass
class StageReport:
    shard: tuple[int, int]
    documents: int  # of the shard
    staged: int  # embedded and staged by this run
    ready: int  # held by the index or staged before
    chunks_embedded: int
    warnings: list[str]
    seconds: float


def stage_shard(settings: Settings, shard: tuple[int, int], progress: bool = True) -> StageReport:
    """Embed and stage the documents of `shard` that are neither live nor staged yet."""
    started = time.perf_counter()
    if settings.chroma.mode != "server":
        raise UsageError("--shard needs a Chroma server that every worker writes to: set "
                         "RAG_CHROMA__MODE=server (README: several workers), or run `rag "
                         "ingest` without --shard")
    k, n = shard
    scan = scan_corpus(settings.corpus_dir, settings.metadata_file, settings.max_document_mb)
    mine = [s for s in scan.documents if shards.shard_of(s.doc, n) == k]
    current = live_state(settings, generations.current(settings.index_dir))[0]
    wanted = Fingerprint.wanted(settings)
    check_builder(current, wanted, bool(current and current.docs))
    held = current.docs if current else {}
    todo = [s for s in mine if held.get(s.doc) != s.sha256
            and shards.usable(settings, s, wanted) is None]
    with generations.ingest_lock(settings.index_dir / shards.STAGING / f"shard-{k}-of-{n}"):
        built = current or wanted  # the encoder sets (or checks) the vectors' dimension
        encoder = Encoder(settings, built, start_export(settings))
        embedded = sum(_stage(settings, source, encoder, (built, wanted), progress)
                       for source in todo)
        problem = encoder.finish()
    return StageReport(shard=shard, documents=len(mine), staged=len(todo),
                       ready=len(mine) - len(todo), chunks_embedded=embedded,
                       warnings=scan.warnings + ([problem] if problem else []),
                       seconds=time.perf_counter() - started)


def _stage(settings: Settings, source: SourceFile, encoder: Encoder,
           fingerprints: tuple[Fingerprint, Fingerprint], progress: bool) -> int:
    """Embed one document into fresh staging collections, then mark it staged; the chunks
    the model ran. `fingerprints`: the one whose dimension the encoder sets, and the
    settings' (what the document is recorded as built by)."""
    built, wanted = fingerprints
    index = shards.open_staging(settings, source.sha256)
    embedded = write_documents(lambda: index, encoder, [source], settings,
                               Fingerprint.wanted(settings), progress)
    shards.Staged(doc=source.doc, sha256=source.sha256, chunks=index.collection.count(),
                  sentences=index.sentences.count(), dim=built.dim,
                  builder=shards.built_by(wanted)).write(settings)
    return embedded

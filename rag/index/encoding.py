"""The encoder an ingest embeds documents with: the ONNX exports it starts in processes of their
own at the beginning (rag/embedding/export.py), the export `embed.onnx_documents` names, and the
wait for it only when the first document is ready to embed."""

from __future__ import annotations

from concurrent.futures import Future
from typing import TYPE_CHECKING

from rag.config import Settings
from rag.embedding.embed import dimension, get_embedder
from rag.errors import FingerprintMismatchError
from rag.index.fingerprint import Fingerprint

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding


def start_export(settings: Settings) -> dict[str, Future[str | None]]:
    """Start the ONNX exports that are missing (rag/embedding/export.py: about 1.5 s each for
    the first ingest), each in a process of its own, so that they run on the second core while
    this one imports, reads and chunks the corpus (single-threaded Python)."""
    from rag.embedding.encoder import onnx_path

    embed = settings.embed
    missing = [p for p in ("fp32", "int8") if embed.onnx and
               not onnx_path(settings.index_dir, embed.model, p).is_file()]
    if not missing:
        return {}
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from rag.embedding import export

    # the documents' export first; "spawn": no fork of a live process
    missing.sort(key=lambda p: p != embed.onnx_documents)
    pool = ProcessPoolExecutor(len(missing), mp_context=get_context("spawn"))
    started = {p: pool.submit(export.export, embed.model, settings.index_dir, (p,))
               for p in missing}
    pool.shutdown(wait=False)
    return started


def export_encoder(settings: Settings, started: dict[str, Future[str | None]],
                   precisions: tuple[str, ...] = ("fp32", "int8")) -> str | None:
    """Finish these exports (started, or here); a warning if one failed."""
    if not settings.embed.onnx:
        return None
    from rag.embedding import export

    problems = []
    for precision in precisions:
        try:
            problems.append(started[precision].result() if precision in started else
                            export.export(settings.embed.model, settings.index_dir,
                                          (precision,)))
        except Exception as err:  # the export process died (out of memory, killed)
            problems.append(f"the {precision} ONNX export failed ({type(err).__name__}: {err})")
    problem = "; ".join(p for p in problems if p)
    return f"{problem}; sentence-transformers (or the other export) is used instead" \
        if problem else None


def document_embedder(settings: Settings) -> BaseEmbedding:
    """The ONNX export `embed.onnx_documents` names (int8 by default) when ingest made it,
    else the other one, else sentence-transformers.

    The exports give the model's vectors (fp32: cosine >= 0.9999, int8: >= 0.98, checked when
    they are made) without importing torch (8-9 s of every ingest); int8 is 1.5x faster and the
    same on every CPU (rag/embedding/bert_int8.py)."""
    from rag.embedding import encoder

    embed = settings.embed
    return encoder.exported(settings, [embed.onnx_documents, "fp32", "int8"],
                            documents=True) or get_embedder(
        embed.model, embed.device, embed.batch_size)


class Encoder:
    """The document embedder, asked for when the first documents are chunked: only then does
    ingest wait for the export it started (start_export), which ran meanwhile."""

    def __init__(self, settings: Settings, fingerprint: Fingerprint,
                 exporting: dict[str, Future[str | None]]) -> None:
        self.settings, self.fingerprint, self.exporting = settings, fingerprint, exporting
        self.problem: str | None = None
        self._embedder: BaseEmbedding | None = None
        self._finished = False

    def __call__(self) -> BaseEmbedding:
        if self._embedder is None:
            # only the documents' export; the other one is waited for at the end
            self.problem = export_encoder(self.settings, self.exporting,
                                          (self.settings.embed.onnx_documents,))
            embedder = document_embedder(self.settings)
            dim = dimension(embedder)
            if self.fingerprint.dim and self.fingerprint.dim != dim:
                raise FingerprintMismatchError(
                    f"the index holds {self.fingerprint.dim}-dimensional vectors, "
                    f"{self.settings.embed.model} makes {dim} — run `rag ingest --rebuild`")
            self.fingerprint.dim, self._embedder = dim, embedder
        return self._embedder

    def finish(self) -> str | None:
        """Wait for every export (once); a warning if one failed."""
        if not self._finished:
            self.problem, self._finished = export_encoder(self.settings, self.exporting), True
        return self.problem

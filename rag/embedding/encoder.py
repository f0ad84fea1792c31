"""The encoder: the embedding model exported to ONNX once, at ingest, and run with onnxruntime —
by ingest for the documents (rag/index/encoding.py `document_embedder`) and at question time for
questions.

Why not sentence-transformers at question time: importing it (torch, transformers) takes 8-9 s
and one short query takes ~10 ms on this CPU; onnxruntime imports in 0.1 s and takes 2.8 ms,
with the same vectors (cosine > 0.9999, checked at export). sentence-transformers' own ONNX backend
needs `optimum` and still imports torch, so ingest exports the model itself
(rag/embedding/export.py), and the ONNX model is a llama-index `BaseEmbedding` like the other.
Without the exported file (or onnxruntime) the searcher uses sentence-transformers instead.

Two exports are kept, both made at the first ingest (rag/embedding/export.py):
fp32, with onnxruntime's BERT operator fusion (the model's vectors; 2.8 ms a short question on
2 cores), and int8 with 7-bit weights (cosine >= 0.98 to the model's vectors; 1.5x faster).
`embed.onnx_documents` picks the one that embeds documents (int8 by default) and
`embed.onnx_precision` the one for questions (fp32 by default: the answerability model and
thresholds were fitted with its vectors). The 8-bit int8 export of earlier versions gave
machine-dependent rankings (AVX2's VPMADDUBSW saturates where AVX-512 VNNI does not, issue
15); 7-bit weights cannot saturate (rag/embedding/bert_int8.py). Each export is kept only if
it passes its check.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from rag.embedding.embed import resolve_model_path

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

    from rag.config import Settings


# Bump when what export.py writes changes: an export of another version is not used, and
# ingest makes the current one. (Unversioned files are version 1: the torch export, whose int8
# had 8-bit weights and ranked differently by CPU. An index folder kept them across upgrades,
# so documents went on being embedded by them; version 2: the fused graph written directly,
# int8 with 7-bit weights.)
EXPORT_VERSION = 2


def onnx_path(index_dir: Path, model: str, precision: str = "fp32") -> Path:
    """Where an export of `model` lives: beside the generations, shared by all of them."""
    return index_dir / "encoders" / f"{Path(model).name}.{precision}.v{EXPORT_VERSION}.onnx"


def exported(settings: Settings, precisions: list[str],
             documents: bool = False) -> BaseEmbedding | None:
    """The first of these exports that ingest made and that loads, or None (then the caller
    uses sentence-transformers); `documents`: for ingest (threads that do not spin)."""
    embed = settings.embed
    for precision in dict.fromkeys(precisions) if embed.onnx else []:
        onnx = load(onnx_path(settings.index_dir, embed.model, precision), embed.model,
                    spinning=not documents)
        if onnx is not None:
            return onnx
    return None


@functools.cache
def load(onnx_file: Path, model: str, spinning: bool = True) -> BaseEmbedding | None:
    """The exported encoder (once per process), or None when it is not there or not usable."""
    if not onnx_file.is_file():
        return None
    from rag.embedding.onnx_embedding import OnnxEmbedding

    try:
        return OnnxEmbedding(onnx_file, resolve_model_path(model), spinning=spinning)
    except Exception:  # onnxruntime missing or the file unreadable: sentence-transformers instead
        return None

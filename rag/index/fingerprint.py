"""The fingerprint of an index: what built it and the content hash of every document.

It lives in the chunk collection's metadata. Ingest compares it with the settings (a different
embedder, chunker or cleaning needs `rag ingest --rebuild`) and with the corpus (which
documents are new, changed or removed).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from rag.config import Settings
from rag.embedding.encoder import EXPORT_VERSION

_DOC_PREFIX = "doc:"
INDEX_FORMAT = "4"  # bump when what ingest stores changes (3: generations, 4: sentence
# vectors pooled from the chunks' token states)
CLEANING_VERSION = "1"  # bump when a rule of rag/ingest/clean.py changes (needs --rebuild)


@dataclass
class Fingerprint:
    embedder: str
    chunker: str
    cleaning: str
    format: str = INDEX_FORMAT
    dim: int = 0
    docs: dict[str, str] = field(default_factory=dict)
    documents: str = ""  # which encoder embedded them: ingest checks it, questions need not

    @classmethod
    def wanted(cls, settings: Settings) -> Fingerprint:
        chunker = {"splitter": "llama-index SentenceSplitter", "size": settings.chunk.size,
                   "overlap": settings.chunk.overlap, "tokens": "embedder"}
        embed = settings.embed
        return cls(embedder=embed.model, chunker=json.dumps(chunker, sort_keys=True),
                   cleaning=CLEANING_VERSION, format=INDEX_FORMAT,
                   documents=f"onnx {embed.onnx_documents} v{EXPORT_VERSION}" if embed.onnx else
                   "sentence-transformers")

    def key(self) -> str:
        """Names this exact state of the index (builder and every document's hash)."""
        return hashlib.sha1(json.dumps(self.to_metadata(), sort_keys=True).encode()).hexdigest()

    def builder(self) -> dict[str, str]:
        """What built the index (documents aside): must match for an incremental ingest."""
        return {"embedder": self.embedder, "chunker": self.chunker, "cleaning": self.cleaning,
                "format": self.format}

    def to_metadata(self) -> dict[str, Any]:
        return {**self.builder(), "documents": self.documents, "dim": self.dim,
                **{_DOC_PREFIX + doc: digest for doc, digest in self.docs.items()}}

    @classmethod
    def from_metadata(cls, meta: dict[str, Any] | None) -> Fingerprint | None:
        if not meta or "embedder" not in meta:
            return None
        docs = {k[len(_DOC_PREFIX):]: str(v) for k, v in meta.items() if k.startswith(_DOC_PREFIX)}
        return cls(embedder=str(meta["embedder"]), chunker=str(meta["chunker"]),
                   cleaning=str(meta["cleaning"]), format=str(meta.get("format", "1")),
                   dim=int(meta.get("dim", 0)), docs=docs,
                   documents=str(meta.get("documents", "")))

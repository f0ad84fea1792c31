"""The persistent Chroma collection that holds the chunks, and its fingerprint.

The fingerprint lives in the collection's own metadata: what built the index (embedder and
its dimension, chunker parameters, cleaning version) and a content hash per document.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.clean import CLEANING_VERSION
from rag.config import Settings
from rag.errors import IndexMissingError

if TYPE_CHECKING:
    from llama_index.core.schema import BaseNode
    from llama_index.vector_stores.chroma import ChromaVectorStore

_DOC_PREFIX = "doc:"


@dataclass
class Fingerprint:
    embedder: str
    chunker: str
    cleaning: str
    dim: int = 0
    docs: dict[str, str] = field(default_factory=dict)

    @classmethod
    def wanted(cls, settings: Settings) -> Fingerprint:
        chunker = {"splitter": "llama-index SentenceSplitter", "size": settings.chunk.size,
                   "overlap": settings.chunk.overlap, "tokens": "embedder"}
        return cls(embedder=settings.embed.model, chunker=json.dumps(chunker, sort_keys=True),
                   cleaning=CLEANING_VERSION)

    def builder(self) -> dict[str, str]:
        """What built the index (documents aside): must match for an incremental ingest."""
        return {"embedder": self.embedder, "chunker": self.chunker, "cleaning": self.cleaning}

    def to_metadata(self) -> dict[str, Any]:
        return {**self.builder(), "dim": self.dim,
                **{_DOC_PREFIX + doc: digest for doc, digest in self.docs.items()}}

    @classmethod
    def from_metadata(cls, meta: dict[str, Any] | None) -> Fingerprint | None:
        if not meta or "embedder" not in meta:
            return None
        docs = {k[len(_DOC_PREFIX):]: str(v) for k, v in meta.items() if k.startswith(_DOC_PREFIX)}
        return cls(embedder=str(meta["embedder"]), chunker=str(meta["chunker"]),
                   cleaning=str(meta["cleaning"]), dim=int(meta.get("dim", 0)), docs=docs)


class ChromaIndex:
    """One Chroma collection in a persistent folder."""

    def __init__(self, settings: Settings, create: bool = False) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaClientSettings

        self.path = settings.index_dir / "chroma"
        self.name = settings.chroma.collection
        if not create and not index_exists(settings.index_dir):
            raise IndexMissingError(f"no index at {settings.index_dir}/ — run `rag ingest`")
        self.client = chromadb.PersistentClient(
            path=str(self.path), settings=ChromaClientSettings(anonymized_telemetry=False))
        self.collection = self._open(create)

    def _open(self, create: bool) -> Any:
        if create:
            return self.client.get_or_create_collection(
                self.name, configuration={"hnsw": {"space": "cosine"}})
        try:
            return self.client.get_collection(self.name)
        except Exception as err:  # chromadb raises NotFoundError or ValueError by version
            raise IndexMissingError(f"no collection {self.name!r} in {self.path.parent}/ — run "
                                    "`rag ingest`") from err

    @property
    def store(self) -> ChromaVectorStore:
        from llama_index.vector_stores.chroma import ChromaVectorStore

        return ChromaVectorStore(chroma_collection=self.collection)

    def fingerprint(self) -> Fingerprint | None:
        return Fingerprint.from_metadata(self.collection.metadata)

    def save_fingerprint(self, fingerprint: Fingerprint) -> None:
        self.collection.modify(metadata=fingerprint.to_metadata())

    def chunk_counts(self) -> Counter[str]:
        metadatas = self.collection.get(include=["metadatas"])["metadatas"] or []
        return Counter(str(m.get("doc")) for m in metadatas)

    def replace_doc(self, doc: str, nodes: Sequence[BaseNode]) -> None:
        """Remove every chunk of `doc`, then add `nodes` (possibly none)."""
        store = self.store
        store.delete(ref_doc_id=doc)
        if nodes:
            store.add(list(nodes))

    def reset(self) -> None:
        if self.name in [c.name for c in self.client.list_collections()]:
            self.client.delete_collection(self.name)
        self.collection = self._open(create=True)


def index_exists(index_dir: Path) -> bool:
    return (index_dir / "chroma" / "chroma.sqlite3").is_file()

"""The persistent Chroma collection that holds the chunks, and its fingerprint.

The fingerprint lives in the collection's own metadata: what built the index (embedder and
its dimension, chunker parameters, cleaning version) and a content hash per document.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
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
INDEX_FORMAT = "2"  # bump when what ingest stores changes (2: sentences, BM25, originals)
_BATCH = 1000


@dataclass
class SentenceRows:
    """Sentences of one document with their embeddings, for the sentence collection."""

    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    vectors: list[list[float]] = field(default_factory=list)
    metadatas: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Fingerprint:
    embedder: str
    chunker: str
    cleaning: str
    format: str = INDEX_FORMAT
    dim: int = 0
    docs: dict[str, str] = field(default_factory=dict)

    @classmethod
    def wanted(cls, settings: Settings) -> Fingerprint:
        chunker = {"splitter": "llama-index SentenceSplitter", "size": settings.chunk.size,
                   "overlap": settings.chunk.overlap, "tokens": "embedder"}
        return cls(embedder=settings.embed.model, chunker=json.dumps(chunker, sort_keys=True),
                   cleaning=CLEANING_VERSION, format=INDEX_FORMAT)

    def key(self) -> str:
        """Names this exact state of the index (builder and every document's hash)."""
        return hashlib.sha1(json.dumps(self.to_metadata(), sort_keys=True).encode()).hexdigest()

    def builder(self) -> dict[str, str]:
        """What built the index (documents aside): must match for an incremental ingest."""
        return {"embedder": self.embedder, "chunker": self.chunker, "cleaning": self.cleaning,
                "format": self.format}

    def to_metadata(self) -> dict[str, Any]:
        return {**self.builder(), "dim": self.dim,
                **{_DOC_PREFIX + doc: digest for doc, digest in self.docs.items()}}

    @classmethod
    def from_metadata(cls, meta: dict[str, Any] | None) -> Fingerprint | None:
        if not meta or "embedder" not in meta:
            return None
        docs = {k[len(_DOC_PREFIX):]: str(v) for k, v in meta.items() if k.startswith(_DOC_PREFIX)}
        return cls(embedder=str(meta["embedder"]), chunker=str(meta["chunker"]),
                   cleaning=str(meta["cleaning"]), format=str(meta.get("format", "1")),
                   dim=int(meta.get("dim", 0)), docs=docs)


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
        self.folder = settings.index_dir
        self.collection = self._open(self.name, create)
        self.sentences = self._open(f"{self.name}_sentences", create)

    def _open(self, name: str, create: bool) -> Any:
        if create:
            return self.client.get_or_create_collection(
                name, configuration={"hnsw": {"space": "cosine"}})
        try:
            return self.client.get_collection(name)
        except Exception as err:  # chromadb raises NotFoundError or ValueError by version
            raise IndexMissingError(f"no collection {name!r} in {self.path.parent}/ — run "
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

    def replace_doc(self, doc: str, nodes: Sequence[BaseNode], sentences: SentenceRows) -> None:
        """Remove every chunk and sentence of `doc`, then add the new ones (possibly none)."""
        store = self.store
        store.delete(ref_doc_id=doc)
        self.sentences.delete(where={"doc": doc})
        if nodes:
            store.add(list(nodes))
        for i in range(0, len(sentences.ids), _BATCH):
            part = slice(i, i + _BATCH)
            self.sentences.add(ids=sentences.ids[part], embeddings=sentences.vectors[part],
                               metadatas=sentences.metadatas[part],
                               documents=sentences.texts[part])

    def save_original(self, sha256: str, text: str) -> None:
        """Keep the exact text a document was indexed from: quotes are sliced from it."""
        folder = self.folder / "originals"
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f"{sha256}.tmp"
        tmp.write_text(text, encoding="utf-8", newline="")
        os.replace(tmp, folder / f"{sha256}.txt")

    def prune_originals(self, keep: set[str]) -> None:
        folder = self.folder / "originals"
        for path in folder.glob("*") if folder.is_dir() else []:
            if path.stem not in keep:
                path.unlink(missing_ok=True)

    def all_chunks(self) -> tuple[list[str], list[str], list[dict[str, Any]]]:
        """Ids, texts and metadata of every chunk."""
        got = self.collection.get(include=["documents", "metadatas"])
        return got["ids"], got["documents"] or [], got["metadatas"] or []

    def reset(self) -> None:
        existing = [c.name for c in self.client.list_collections()]
        for name in (self.name, f"{self.name}_sentences"):
            if name in existing:
                self.client.delete_collection(name)
        self.collection = self._open(self.name, create=True)
        self.sentences = self._open(f"{self.name}_sentences", create=True)
        shutil.rmtree(self.folder / "lexical", ignore_errors=True)


def index_exists(index_dir: Path) -> bool:
    return (index_dir / "chroma" / "chroma.sqlite3").is_file()

"""The Chroma collections of one index generation: chunks, and sentences for sentence-window
retrieval, plus the exact original texts that citations quote.

Readers open the live generation (see rag/index/generations.py); ingest opens a new one to write.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.config import ChromaSettings, Settings
from rag.errors import IndexDamagedError, RagError
from rag.index import generations
from rag.index.fingerprint import Fingerprint
from rag.pages import PageMap

if TYPE_CHECKING:
    from llama_index.core.schema import BaseNode
    from llama_index.vector_stores.chroma import ChromaVectorStore

_BATCH = 1000
_PAGE = 5000


def _add(collection: Any, ids: Sequence[str], vectors: Any, metadatas: Any,
         documents: Any) -> None:
    """Add records in batches of _BATCH (Chroma limits the size of one add)."""
    for i in range(0, len(ids), _BATCH):
        part = slice(i, i + _BATCH)
        collection.add(ids=ids[part], embeddings=vectors[part], metadatas=metadatas[part],
                       documents=documents[part])


def get_all(collection: Any, include: list[str]) -> dict[str, list[Any]]:
    """Every record of `collection`, fetched a page at a time: one `get()` of more than about
    32,000 records fails in Chroma's SQLite ("too many SQL variables"; seen at 100x the corpus)."""
    got: dict[str, list[Any]] = {key: [] for key in ["ids", *include]}
    for offset in range(0, collection.count(), _PAGE):
        page = collection.get(include=include, limit=_PAGE, offset=offset)
        for key in got:
            got[key].extend(page[key] if page[key] is not None else [])
    return got


def doc_counts(metadatas: list[dict[str, Any]]) -> Counter[str]:
    """Chunks per document, from the chunks' metadata."""
    return Counter(str(m.get("doc")) for m in metadatas)


def check_database(folder: Path) -> str | None:
    """What SQLite finds wrong in the generation's Chroma database (embedded mode), or None.
    A same-size overwrite passes the manifest; Chroma then fails only when a query happens to
    read a damaged page, or never (pages no query reads). quick_check reads every page: 6 ms
    for the 8.6 MB of the corpus's database."""
    path = folder / "chroma" / "chroma.sqlite3"
    try:
        uri = f"{path.absolute().as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
            found = [str(row[0]) for row in db.execute("PRAGMA quick_check(1)")]
    except sqlite3.Error as err:
        found = [str(err)]
    if found == ["ok"]:
        return None
    detail = " ".join(" ".join(found).replace("*** in database main ***", "").split())
    return f"{path.relative_to(folder.parent)} fails SQLite's check ({detail})"


def check_generation(settings: Settings, folder: Path) -> str | None:
    """What is wrong with a generation folder before Chroma opens it: its files against the
    manifest, then (embedded mode) its database's pages."""
    damage = generations.check_manifest(folder)
    if damage is None and settings.chroma.mode == "embedded":
        damage = check_database(folder)
    return damage


class ChromaUnreachableError(RagError):
    """The configured Chroma server does not answer."""


def where(cfg: ChromaSettings, path: Path) -> str:
    scheme = "https" if cfg.ssl else "http"
    return f"{path}/" if cfg.mode == "embedded" else f"the Chroma server {scheme}://" \
        f"{cfg.host}:{cfg.port}"


def chroma_client(settings: Settings, path: Path) -> Any:
    """PersistentClient on `path`, or HttpClient to the configured server."""
    import chromadb
    from chromadb.config import Settings as ChromaClientSettings

    cfg, client_settings = settings.chroma, ChromaClientSettings(anonymized_telemetry=False)
    if cfg.mode == "embedded":
        return chromadb.PersistentClient(path=str(path), settings=client_settings)
    headers = {key: value.get_secret_value() for key, value in cfg.headers.items()}
    try:
        return chromadb.HttpClient(host=cfg.host, port=cfg.port, ssl=cfg.ssl, headers=headers,
                                   settings=client_settings)
    except Exception as err:  # connection refused, TLS, auth: chromadb raises several kinds
        raise ChromaUnreachableError(
            f"cannot reach {where(cfg, path)} ({type(err).__name__}) — start it (`chroma run "
            f"--path DIR --port {cfg.port}`) or set RAG_CHROMA__HOST / RAG_CHROMA__PORT, or "
            "RAG_CHROMA__MODE=embedded") from err


@dataclass
class SentenceRows:
    """Sentences of one document with their embeddings, for the sentence collection."""

    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    vectors: list[list[float]] = field(default_factory=list)
    metadatas: list[dict[str, Any]] = field(default_factory=list)


class ChromaIndex:
    """The collections of one generation folder (by default the live one)."""

    def __init__(self, settings: Settings, folder: Path | None = None,
                 create: bool = False) -> None:
        self.index_dir, self.cfg = settings.index_dir, settings.chroma
        self.folder = folder or generations.live(settings.index_dir)
        self.path = self.folder / "chroma"
        # Embedded: one database per generation folder. Server: collections named after the
        # generation, beside those of the other generations.
        self.name = self.cfg.collection if self.cfg.mode == "embedded" else \
            f"{self.cfg.collection}-{self.folder.name}"
        damage = None if create else check_generation(settings, self.folder)
        if damage:
            raise IndexDamagedError(self.index_dir, damage)
        try:
            self.client = chroma_client(settings, self.path)
            self.collection = self._open(self.name, create)
            self.sentences = self._open(f"{self.name}_sentences", create)
        except (IndexDamagedError, ChromaUnreachableError):
            raise
        except Exception as err:  # chromadb's errors differ by version and by what broke
            raise IndexDamagedError(self.index_dir, f"Chroma cannot open it: {err}") from err

    def close(self) -> None:
        """Release the Chroma client: embedded, its SQLite and HNSW files and its native
        threads once no other client of this folder is open (chromadb counts them); HTTP, its
        connections. This index's collections cannot be used after it. Twice is no error."""
        close = getattr(self.client, "close", None)  # chromadb >= 1.5 has it
        if close is not None:
            close()

    def _open(self, name: str, create: bool) -> Any:
        if create:
            return self.client.get_or_create_collection(
                name, configuration={"hnsw": {"space": "cosine"}})
        try:
            return self.client.get_collection(name)
        except Exception as err:  # chromadb raises NotFoundError or ValueError by version
            raise IndexDamagedError(self.index_dir, f"no collection {name!r} in "
                                    f"{where(self.cfg, self.path)}") from err

    def copy_from(self, other: ChromaIndex) -> None:
        """Copy every record of `other` (server mode: a new generation starts as a copy)."""
        for source, target in ((other.collection, self.collection),
                               (other.sentences, self.sentences)):
            got = get_all(source, ["embeddings", "metadatas", "documents"])
            _add(target, got["ids"], got["embeddings"], got["metadatas"], got["documents"])

    def drop(self) -> None:
        """Server mode: delete both collections (missing ones are no error)."""
        for name in (self.name, f"{self.name}_sentences"):
            try:
                self.client.delete_collection(name)
            except Exception:  # chromadb raises NotFoundError or ValueError by version
                continue

    def drop_other_generations(self, keep: set[str]) -> None:
        """Server mode: delete the collections of generations no longer kept."""
        prefix = f"{self.cfg.collection}-{generations.PREFIX}"
        for collection in self.client.list_collections():
            name = collection.name.removesuffix("_sentences")
            if name.startswith(prefix) and name[len(self.cfg.collection) + 1:] not in keep:
                self.client.delete_collection(collection.name)

    @property
    def store(self) -> ChromaVectorStore:
        from llama_index.vector_stores.chroma import ChromaVectorStore

        return ChromaVectorStore(chroma_collection=self.collection)

    def fingerprint(self) -> Fingerprint | None:
        return Fingerprint.from_metadata(self.collection.metadata)

    def save_fingerprint(self, fingerprint: Fingerprint) -> None:
        self.collection.modify(metadata=fingerprint.to_metadata())

    def chunk_counts(self) -> Counter[str]:
        return doc_counts(get_all(self.collection, ["metadatas"])["metadatas"])

    def delete_doc(self, doc: str) -> None:
        """Remove every chunk and sentence of `doc`."""
        self.store.delete(ref_doc_id=doc)
        self.sentences.delete(where={"doc": doc})

    def add_doc(self, nodes: Sequence[BaseNode], sentences: SentenceRows) -> None:
        """Add one document's chunks and sentences (its old ones deleted before)."""
        if nodes:
            self.store.add(list(nodes))
        _add(self.sentences, sentences.ids, sentences.vectors, sentences.metadatas,
             sentences.texts)

    def nearest(self, collection: Any, embedding: list[float], n: int,
                where: dict[str, Any] | None) -> list[str]:
        """Ids of the `n` records of `collection` nearest to `embedding`."""
        from chromadb.errors import ChromaError

        try:
            got = collection.query(query_embeddings=[embedding], n_results=n, where=where,
                                   include=["distances"])
        except ChromaError as err:  # e.g. a vector index file truncated after the manifest check
            raise IndexDamagedError(self.index_dir, f"Chroma cannot search it: {err}") from err
        return list(got["ids"][0])

    def original_path(self, sha256: str) -> Path:
        return self.folder / "originals" / f"{sha256}.txt"

    def save_original(self, sha256: str, text: str) -> None:
        """Keep the exact text a document was indexed from: quotes are sliced from it."""
        path = self.original_path(sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        _replace(path, lambda tmp: tmp.write_text(text, encoding="utf-8", newline=""))

    def pages_path(self, sha256: str) -> Path:
        return self.folder / "originals" / f"{sha256}.pages.json"

    def pdf_path(self, sha256: str) -> Path:
        return self.folder / "originals" / f"{sha256}.pdf"

    def save_pages(self, sha256: str, pages: PageMap, pdf: Path) -> None:
        """Keep a PDF's page map and a copy of the file, to show cited lines on their page."""
        _replace(self.pages_path(sha256),
                 lambda tmp: tmp.write_text(pages.to_json(), encoding="utf-8"))
        _replace(self.pdf_path(sha256), lambda tmp: shutil.copyfile(pdf, tmp))

    def prune_originals(self, keep: set[str]) -> None:
        folder = self.folder / "originals"
        for path in folder.glob("*") if folder.is_dir() else []:
            if path.name.split(".")[0] not in keep:
                path.unlink(missing_ok=True)

    def doc_chunks(self, doc: str) -> tuple[list[str], list[str]]:
        """Ids and texts of one document's chunks."""
        got = self.collection.get(where={"doc": doc}, include=["documents"])
        return list(got["ids"]), list(got["documents"])

    def all_chunks(self) -> tuple[list[str], list[str], list[dict[str, Any]]]:
        """Ids, texts and metadata of every chunk."""
        got = get_all(self.collection, ["documents", "metadatas"])
        return got["ids"], got["documents"], got["metadatas"]


def _replace(path: Path, write: Callable[[Path], object]) -> None:
    """Write `path` through a temporary file and rename it over: never half written."""
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)

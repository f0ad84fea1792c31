"""Several workers ingest shards of a large corpus into one Chroma server; `rag ingest` publishes.

`rag ingest --shard K/N` (server mode) embeds the documents of shard K of N (by a hash of the
file name) that the live index does not hold, and stages each one on its own: a pair of
collections `<collection>-staged-<sha>` on the server, and a folder `staging/staged-<sha>/`
in the index folder with the original text and BM25 terms. A document is staged when its
`done.json` is written, last. Workers share nothing but the server and the index folder (on
one machine, or storage every worker mounts, like the corpus), so any number run at once; a
worker killed midway starts its document again.

The plain `rag ingest` then builds the next generation as always (rag/index/build.py), but
takes each staged document's records from the server instead of embedding it, and removes
what it published. Readers see the new documents only then, all at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from rag.config import Settings
from rag.errors import UsageError
from rag.index.chroma import ChromaIndex
from rag.index.fingerprint import Fingerprint
from rag.types import SourceFile

STAGING = "staging"
PREFIX = "staged-"
DONE = "done.json"


def parse(text: str) -> tuple[int, int]:
    """'K/N' -> (K, N), 1 <= K <= N."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        k = n = 0
    if not 1 <= k <= n:
        raise UsageError(f"--shard {text!r}: give K/N with 1 <= K <= N, e.g. --shard 1/4")
    return k, n


def shard_of(doc: str, count: int) -> int:
    """The shard (1..count) a document belongs to, the same in every worker."""
    return int(hashlib.sha256(doc.encode()).hexdigest()[:12], 16) % count + 1


def folder(settings: Settings, sha256: str) -> Path:
    return settings.index_dir / STAGING / f"{PREFIX}{sha256}"


@dataclass
class Staged:
    doc: str
    sha256: str
    chunks: int
    sentences: int
    dim: int  # of the vectors
    builder: dict[str, str]

    @classmethod
    def read(cls, settings: Settings, sha256: str) -> Staged | None:
        try:
            return cls(**json.loads((folder(settings, sha256) / DONE).read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def write(self, settings: Settings) -> None:
        path = folder(settings, self.sha256) / DONE
        tmp = path.with_name(f"{DONE}.tmp")
        tmp.write_text(json.dumps(self.__dict__))
        os.replace(tmp, path)


def built_by(fingerprint: Fingerprint) -> dict[str, str]:
    """What a staged document records of how it was embedded (and must match at publish)."""
    return {**fingerprint.builder(), "documents": fingerprint.documents}


def usable(settings: Settings, source: SourceFile, wanted: Fingerprint) -> Staged | None:
    """The staged version of `source`, if one is complete and was built as `wanted` says
    (and with vectors of its dimension, once it has one)."""
    staged = Staged.read(settings, source.sha256)
    if staged is None or staged.doc != source.doc or staged.builder != built_by(wanted) or \
            wanted.dim not in (0, staged.dim):
        return None
    index = ChromaIndex(settings, folder(settings, source.sha256), create=True)
    if (index.collection.count(), index.sentences.count()) != (staged.chunks, staged.sentences):
        return None  # collections lost or changed on the server: embed it again
    return staged


def open_staging(settings: Settings, sha256: str) -> ChromaIndex:
    """Fresh, empty staging collections and folder for one document version (a worker killed
    while staging it left partial ones)."""
    path = folder(settings, sha256)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    index = ChromaIndex(settings, path, create=True)
    index.drop()
    return ChromaIndex(settings, path, create=True)


def link_files(settings: Settings, sha256: str, generation: Path) -> None:
    """Put a staged document's original and BM25 terms into a generation folder."""
    source = folder(settings, sha256)
    for part in ("originals", "terms"):
        for path in (source / part).glob(f"{sha256}*"):
            target = generation / part / path.name
            target.parent.mkdir(exist_ok=True)
            target.unlink(missing_ok=True)
            try:
                os.link(path, target)
            except OSError:  # another file system
                shutil.copy2(path, target)


def remove(settings: Settings, sha256: str) -> None:
    """Delete one staged document version (after it was published, or when stale)."""
    path = folder(settings, sha256)
    if path.is_dir():
        ChromaIndex(settings, path, create=True).drop()
        shutil.rmtree(path, ignore_errors=True)


def staged_versions(settings: Settings) -> list[str]:
    """Content hashes of the document versions with a staging folder."""
    root = settings.index_dir / STAGING
    return sorted(p.name[len(PREFIX):] for p in root.glob(f"{PREFIX}*")) if root.is_dir() else []

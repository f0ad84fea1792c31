"""Typed records passed between the stages of the pipeline."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ChunkKind = Literal["text", "table"]


@dataclass(frozen=True)
class SourceFile:
    """A corpus document as read from disk. `doc` (the file name) is the document id."""

    doc: str
    path: Path
    text: str
    sha256: str


@dataclass(frozen=True)
class Chunk:
    """A piece of cleaned text and the span `[start, end)` of the original file it came from."""

    id: str
    doc: str
    seq: int
    start: int
    end: int
    kind: ChunkKind
    text: str

    @staticmethod
    def make_id(doc: str, start: int, end: int, text: str) -> str:
        """Stable id: the same document, span and text always give the same id."""
        digest = hashlib.sha1(f"{doc}\0{start}\0{end}\0{text}".encode()).hexdigest()[:10]
        return f"{Path(doc).stem}:{start}-{end}:{digest}"

"""Typed records passed between the stages of the pipeline."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple, cast

from rag.pages import PageMap

ChunkKind = Literal["text", "table"]


@dataclass(frozen=True)
class SourceFile:
    """A corpus document as read from disk. `doc` (the file name) is the document id. `text`
    is the file's text, or for a PDF or HTML file the text extracted from it; a PDF's `pages`
    map that text back to its pages."""

    doc: str
    path: Path
    text: str
    sha256: str
    pages: PageMap | None = None


class SentenceSpan(NamedTuple):
    """One sentence of a chunk (a row, in a table): `[start, end)` in the chunk's text and
    `[orig_start, orig_end)` in the original file."""

    start: int
    end: int
    orig_start: int
    orig_end: int


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
    sentences: tuple[SentenceSpan, ...] = ()

    @staticmethod
    def make_id(doc: str, start: int, end: int, text: str) -> str:
        """Stable id: the same document, span and text always give the same id."""
        digest = hashlib.sha1(f"{doc}\0{start}\0{end}\0{text}".encode()).hexdigest()[:10]
        return f"{Path(doc).stem}:{start}-{end}:{digest}"

    @classmethod
    def from_stored(cls, chunk_id: str, text: str, meta: Mapping[str, Any]) -> Chunk:
        """The chunk as the index stores it (the metadata written by rag/index/nodes.py)."""
        return cls(id=chunk_id, doc=str(meta["doc"]), seq=int(meta["seq"]),
                   start=int(meta["start"]), end=int(meta["end"]),
                   kind=cast(ChunkKind, meta["kind"]), text=text,
                   sentences=tuple(SentenceSpan(*s) for s in json.loads(str(meta["sentences"]))))


@dataclass
class Passage:
    """A retrieved chunk."""

    rank: int
    chunk_id: str
    doc: str
    start: int
    end: int
    kind: str
    text: str
    score: float
    sentences: tuple[SentenceSpan, ...] = ()

    @classmethod
    def of(cls, chunk: Chunk, rank: int, score: float) -> Passage:
        return cls(rank=rank, chunk_id=chunk.id, doc=chunk.doc, start=chunk.start, end=chunk.end,
                   kind=chunk.kind, text=chunk.text, score=score, sentences=chunk.sentences)

    def to_dict(self) -> dict[str, Any]:
        return {"rank": self.rank, "doc": self.doc, "chunk_id": self.chunk_id,
                "start": self.start, "end": self.end, "score": round(self.score, 6),
                "text": self.text}


@dataclass
class Citation:
    """A verified span of an original file: `quote == original[start:end]`."""

    n: int
    doc: str
    title: str
    chunk_id: str
    start: int
    end: int
    quote: str
    page: int | None = None  # 1-based page of a PDF where the span begins; None for text

    def location(self, dash: str = "-") -> str:
        """Where the span is: "page 3, characters 10-20" ("characters 10-20" in a text file)."""
        page = "" if self.page is None else f"page {self.page}, "
        return f"{page}characters {self.start}{dash}{self.end}"

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "doc": self.doc, "title": self.title, "chunk_id": self.chunk_id,
                "start": self.start, "end": self.end, "page": self.page, "quote": self.quote}


@dataclass
class Sentence:
    text: str
    citations: list[int]
    support: float

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "citations": self.citations, "support": round(self.support, 4)}


HEDGE = "The documents may not answer this exactly; the closest passages say:"


@dataclass
class Answer:
    """The answer to one question: the object `rag ask --json` prints."""

    question: str
    answer: str
    abstained: bool
    backend: str
    sentences: list[Sentence] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    retrieved: list[Passage] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    confidence: float | None = None  # P(the retrieved passages answer the question)
    short_answer: str | None = None  # the date, number or amount asked for: a cited substring
    model_answerable: bool | None = None  # an LLM's own verdict, when it was asked and gave one
    calibrated: bool | None = None  # whether the LLM's gate is its calibration (None: no LLM)
    # answered, but the confidence is in the middle band: the text says the documents may not
    # answer exactly (rag/answering/bands.py)
    hedged: bool = False
    # the question that was searched: the follow-up made standalone with the earlier turns
    # ("When was it founded?" -> "When was the SCO founded?"); `question` when there were none
    searched: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "searched": self.searched or self.question,
                "answer": self.answer, "abstained": self.abstained,
                "hedged": self.hedged, "short_answer": self.short_answer,
                "model_answerable": self.model_answerable, "calibrated": self.calibrated,
                "confidence": None if self.confidence is None else round(self.confidence, 4),
                "backend": self.backend, "sentences": [s.to_dict() for s in self.sentences],
                "citations": [c.to_dict() for c in self.citations],
                "retrieved": [p.to_dict() for p in self.retrieved],
                "timings_ms": {k: round(v, 3) for k, v in self.timings_ms.items()},
                "notes": list(self.notes)}

"""What the extractive scorer finds in the retrieved passages: each candidate sentence, and
the answerability assessment. The extractive backend makes it; the LLM gate and the structured
prompt read it (rag/answering/gate.py, rag/answering/backends/brief.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    score: float
    cosine: float
    passage: int
    index: int  # sentence number within the passage
    text: str
    words: frozenset[str]
    chunk_id: str
    doc: str
    start: int
    end: int
    context: tuple[int, int] | None = None  # span of a table's title and header, for a row


@dataclass(frozen=True)
class Assessment:
    """Candidates (those that fit the question's constraints first, each group best first),
    the answerability features and the model's confidence."""

    ranked: list[Candidate]
    features: dict[str, float]
    confidence: float
    unmet: str | None  # why no evidence can answer, by the hard checks (`answerable.unmet`)


def spans_of(c: Candidate) -> list[tuple[str, int, int]]:
    row = (c.chunk_id, c.start, c.end)
    return [(c.chunk_id, *c.context), row] if c.context else [row]

"""What the extractive scorer finds in the retrieved passages: each candidate sentence (the one
record of a scored sentence, read by the features, the composition and the prompt), and the
answerability assessment. The extractive backend makes it; the LLM gate and the structured
prompt read it (rag/answering/gate.py, rag/answering/backends/brief.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    """A sentence (or table row) of a retrieved passage, scored against the question."""

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
    fits: bool = True  # holds what the question asks for (`rag.answering.answerable.can_answer`)
    passage_text: str = ""  # the whole passage it belongs to
    passage_words: frozenset[str] = frozenset()
    # the words around it: its section heading and the sentence before it
    context_words: frozenset[str] = frozenset()

    @property
    def key(self) -> tuple[str, int, int]:
        """Where it is: (doc, start, end) in the original."""
        return (self.doc, self.start, self.end)


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

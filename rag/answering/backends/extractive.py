"""The default answerer, with no LLM: it answers with the retrieved sentences themselves.

The scorer (rag/answering/scorer.py) has ranked every sentence (or table row) of the retrieved
passages and assessed whether they answer; the gate (rag/answering/gate.py) has let the question
through. What to say is composed to cover the question (rag/answering/compose.py), each sentence
citing its own exact span. Deterministic and fast.
"""

from __future__ import annotations

from rag.answering.assessment import Candidate, spans_of
from rag.answering.backends import BackendSpec, Draft, DraftSentence, Query
from rag.answering.compose import compose
from rag.answering.scorer import assess
from rag.config import Settings
from rag.types import Passage


class ExtractiveBackend:
    name = "extractive"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cfg = settings.extractive

    def draft(self, query: Query, passages: list[Passage]) -> Draft:
        found = query.assessment or assess(query, passages, self.settings)
        if found.unmet or not found.ranked:
            return Draft([], abstain=True, confidence=found.confidence,
                         notes=[f"abstained: {found.unmet or 'no sentence to answer with'}"])
        chosen = compose(query.question, found.ranked,
                         lambda c, step: _neighbour(c, step, found.ranked),
                         query.evidence.docs_named_in(query.question.text),
                         self.cfg.margin, self.cfg.max_sentences)
        return Draft([DraftSentence(c.text, [c.passage], spans_of(c), True) for c in chosen],
                     confidence=found.confidence)


def _neighbour(candidate: Candidate, step: int, ranked: list[Candidate]) -> Candidate | None:
    """The sentence `step` places from `candidate` in its passage."""
    return next((c for c in ranked
                 if c.passage == candidate.passage and c.index == candidate.index + step), None)


SPEC = BackendSpec("extractive", ExtractiveBackend)  # no LLM, nothing to install or reach

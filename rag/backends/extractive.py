"""The default answerer, with no LLM: it answers with the retrieved sentences themselves.

Each sentence (or table row) of the retrieved passages is scored against the question by the
cosine of their embeddings (computed at ingest) plus the share of the question's content words
it contains. The best ones answer, each citing its own exact span. Deterministic and fast.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.answerable import can_answer, unknown_to_corpus
from rag.backends import Draft, DraftSentence, Query, register
from rag.config import Settings
from rag.injection import instruction_like
from rag.lexical import tokenize
from rag.sentences import CONTEXT_LINES, row_in_context, table_context
from rag.types import Passage
from rag.vocab import coverage

_ASKS_FOR_NUMBER = re.compile(r"^\s*(how (many|much|large|long)|when|in what year|what year|"
                              r"which year|what (date|share|percentage|number))\b", re.I)
_HAS_NUMBER = re.compile(r"\d")
_RUNNING_WORD = re.compile(r"\b[a-z]{3,}\b")


@dataclass(frozen=True)
class Candidate:
    score: float
    passage: int
    text: str
    chunk_id: str
    start: int
    end: int
    context: tuple[int, int] | None = None  # span of a table's title and header, for a row


class ExtractiveBackend:
    name = "extractive"

    def __init__(self, settings: Settings) -> None:
        self.cfg = settings.extractive

    def draft(self, query: Query, passages: list[Passage]) -> Draft:
        unknown = unknown_to_corpus(query.question, query.searcher.lexical.vocabulary)
        if unknown:
            return Draft([], abstain=True,
                         notes=[f"the corpus never mentions: {', '.join(unknown)}"])
        ranked = sorted((c for c in self._candidates(query, passages)
                         if can_answer(query.question, c.text)), key=lambda c: -c.score)
        if not ranked or ranked[0].score < self.cfg.min_score:
            best = f"{ranked[0].score:.3f}" if ranked else "none"
            return Draft([], abstain=True, notes=[f"best sentence score {best} is below "
                                                  f"{self.cfg.min_score}"])
        chosen: list[Candidate] = []
        for c in ranked:
            if len(chosen) == self.cfg.max_sentences or c.score < ranked[0].score - self.cfg.margin:
                break
            if all((c.start, c.end) != (o.start, o.end) for o in chosen):
                chosen.append(c)
        return Draft([DraftSentence(c.text, [c.passage], _spans(c), True) for c in chosen])

    def _candidates(self, query: Query, passages: list[Passage]) -> list[Candidate]:
        question_words = tokenize(query.question)
        wants_number = bool(_ASKS_FOR_NUMBER.search(query.question))
        found = []
        for number, passage in enumerate(passages, start=1):
            for i, text, context in _units(passage):
                _, _, start, end = passage.sentences[i]
                vector = query.searcher.sentence_vector(passage.doc, start, end)
                words = set(tokenize(text))
                if vector is None or len(words) < self.cfg.min_words or not (
                        context or passage.kind == "table" or _is_prose(text)) or (
                        instruction_like(text)):
                    continue
                overlap = coverage(question_words, words)
                score = float(vector @ query.vector) + self.cfg.lexical_weight * overlap
                own_text = passage.text[slice(*passage.sentences[i][:2])]
                if wants_number and _HAS_NUMBER.search(own_text):
                    score += self.cfg.number_bonus
                found.append(Candidate(score, number, text, passage.chunk_id, start, end, context))
        return found


def _is_prose(text: str) -> bool:
    """Running text, not a heading or a glossary line ("BRIC – Brazil, Russia, India, China")."""
    return len(_RUNNING_WORD.findall(text)) >= 2


def _units(passage: Passage) -> list[tuple[int, str, tuple[int, int] | None]]:
    """(sentence index, answer text, title-and-header span) of each candidate of a passage.
    A table's caption, title and header are not answers; its rows come with them."""
    if passage.kind != "table":
        return [(i, passage.text[a:b], None) for i, (a, b, _, _) in enumerate(passage.sentences)]
    lines = passage.sentences
    context = table_context(passage.text, lines)
    span = (lines[1][2], lines[2][3]) if context == CONTEXT_LINES else None
    return [(i, row_in_context(passage.text, lines, i), span) for i in range(context, len(lines))]


def _spans(c: Candidate) -> list[tuple[str, int, int]]:
    row = (c.chunk_id, c.start, c.end)
    return [(c.chunk_id, *c.context), row] if c.context else [row]


@register("extractive")
def _factory(settings: Settings) -> ExtractiveBackend:
    return ExtractiveBackend(settings)

"""The scorer: every sentence (or table row) of the retrieved passages scored against the
question, and the assessment of whether they answer it. The pipeline makes it once per question,
whatever the backend; the extractive backend answers from its ranking, an LLM's prompt shows its
best lines (rag/answering/backends/brief.py), and the gate reads its confidence.

A sentence's score is the cosine of its embedding (computed at ingest) and the question's, plus
the share of the question's content words it contains; whether to answer at all is one
calibrated decision: the features of rag/answering/features.py through the model fitted on the
dev split (rag/answering/calibration.py).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from rag.answering.answerable import can_answer, kind_found, unmet
from rag.answering.assessment import Assessment, Candidate
from rag.answering.calibration import answerability
from rag.answering.compose import definition_bonus
from rag.answering.features import features
from rag.answering.injection import instruction_like
from rag.text.sentences import CONTEXT_LINES, row_in_context, table_context
from rag.text.tokens import tokenize
from rag.text.vocab import coverage, with_synonyms
from rag.types import Passage

if TYPE_CHECKING:
    from rag.answering.backends import Query
    from rag.config import ExtractiveSettings, Settings

_HAS_NUMBER = re.compile(r"\d")
_RUNNING_WORD = re.compile(r"\b[a-z]{3,}\b")
_ENDS_LIKE_PROSE = re.compile(r"[.!;:\"”’)\]]\s*(?:\d{1,3})?$")
DEFINITION_BONUS = 0.15


def assess(query: Query, passages: list[Passage], settings: Settings) -> Assessment:
    """The ranked candidates (those that satisfy the question's constraints — a year it names,
    a date for "when", an amount for "how much" — first, each group best first), their
    features, the answerability confidence and the hard checks' verdict."""
    found = [replace(c, fits=can_answer(query.question, c.text))
             for c in candidates(query, passages, settings.extractive)]
    ranked = sorted(found, key=lambda c: (not c.fits, -c.score))
    values = features(query.question, ranked, query.evidence.vocabulary, query.evidence.idf,
                      passages[0].score if passages else 0.0, query.evidence.vocabulary_terms)
    model = answerability(settings.index_dir)
    why = unmet(query.question, [c.text for c in ranked], [p.text for p in passages])
    return Assessment(ranked, values, model.confidence(values), why or model.outside(values))


def candidates(query: Query, passages: list[Passage], cfg: ExtractiveSettings) -> list[Candidate]:
    """Every sentence and table row of the passages that could be an answer, scored."""
    question = query.question
    question_words = list(question.words)
    terms = query.evidence.vocabulary_terms
    found = []
    for number, passage in enumerate(passages, start=1):
        passage_words = frozenset(tokenize(passage.text))
        heading = _heading(passage)
        for i, text, context in _units(passage):
            span = passage.sentences[i]
            start, end = span.orig_start, span.orig_end
            vector = query.evidence.sentence_vector(passage.doc, start, end)
            words = frozenset(tokenize(text))
            own_text = passage.text[span.start:span.end]
            if vector is None or len(words) < cfg.min_words or not (
                    context or passage.kind == "table" or _is_prose(own_text)) or (
                    instruction_like(text)):
                continue
            cosine = float(vector @ query.vector)
            around = heading | _before(passage, i)
            own = coverage(question_words, with_synonyms(words), terms)
            more = coverage(question_words, with_synonyms(words | around), terms) - own
            score = cosine + cfg.lexical_weight * (own + cfg.context_weight * more)
            if question.wants_number and _HAS_NUMBER.search(own_text):
                score += cfg.number_bonus
            if definition_bonus(question, own_text, terms):
                score += DEFINITION_BONUS
            elif question.kind in ("where", "who") and kind_found(question, own_text, terms):
                score += cfg.type_bonus
            found.append(Candidate(score, cosine, number, i, text, words,
                                   passage.chunk_id, passage.doc, start, end, context,
                                   passage_text=passage.text, passage_words=passage_words,
                                   context_words=around))
    return found


def _heading(passage: Passage) -> frozenset[str]:
    """The words of the passage's heading: its first line when that is not running text."""
    if passage.kind == "table" or not passage.sentences:
        return frozenset()
    first = passage.sentences[0]
    text = passage.text[first.start:first.end]
    return frozenset() if _is_prose(text) else frozenset(tokenize(text))


def _before(passage: Passage, i: int) -> frozenset[str]:
    """The words of the sentence before sentence `i` of the passage (none for a table row)."""
    if passage.kind == "table" or i == 0:
        return frozenset()
    span = passage.sentences[i - 1]
    return frozenset(tokenize(passage.text[span.start:span.end]))


def _is_prose(text: str) -> bool:
    """Running text, not a heading, a title or a glossary line ("BRIC – Brazil, Russia, India,
    China", a title that asks "Russia, the sick man of the SCO?"): at least two lower-case
    words, and it ends like a statement or is long."""
    words = _RUNNING_WORD.findall(text)
    return len(words) >= 2 and (bool(_ENDS_LIKE_PROSE.search(text.strip())) or len(words) >= 12)


def _units(passage: Passage) -> list[tuple[int, str, tuple[int, int] | None]]:
    """(sentence index, answer text, title-and-header span) of each candidate of a passage.
    A table's caption, title and header are not answers; its rows come with them."""
    if passage.kind != "table":
        return [(i, passage.text[s.start:s.end], None) for i, s in enumerate(passage.sentences)]
    lines = passage.sentences
    context = table_context(passage.text, lines)
    # the title and header lines, in the original
    span = (lines[1].orig_start, lines[2].orig_end) if context == CONTEXT_LINES else None
    return [(i, row_in_context(passage.text, lines, i), span) for i in range(context, len(lines))]



"""The default answerer, with no LLM: it answers with the retrieved sentences themselves.

Each sentence (or table row) of the retrieved passages is scored against the question by the
cosine of their embeddings (computed at ingest) plus the share of the question's content words
it contains. Whether to answer at all is one calibrated decision (`assess`: the features of
rag/answering/features.py through the model fitted on the dev split); what to say is composed to
cover the question (rag/answering/compose.py), each sentence citing its own exact span.
Deterministic and fast.
"""

from __future__ import annotations

import re

from rag.answering.answerable import can_answer, question_core, unmet
from rag.answering.assessment import Assessment, Candidate, spans_of
from rag.answering.backends import BackendSpec, Draft, DraftSentence, Query
from rag.answering.calibration import answerability
from rag.answering.compose import Pick, compose, definition_bonus
from rag.answering.features import WANTS_NUMBER, Scored, features
from rag.answering.injection import instruction_like
from rag.config import Settings
from rag.text.sentences import CONTEXT_LINES, row_in_context, table_context
from rag.text.tokens import tokenize
from rag.text.vocab import coverage
from rag.types import Passage

_HAS_NUMBER = re.compile(r"\d")
_RUNNING_WORD = re.compile(r"\b[a-z]{3,}\b")
_ENDS_LIKE_PROSE = re.compile(r"[.!;:\"”’)\]]\s*(?:\d{1,3})?$")
DEFINITION_BONUS = 0.15


class ExtractiveBackend:
    name = "extractive"

    def __init__(self, settings: Settings) -> None:
        self.cfg = settings.extractive
        self.index_dir = settings.index_dir

    def draft(self, query: Query, passages: list[Passage]) -> Draft:
        found = query.assessment or self.assess(query, passages)
        model = answerability(self.index_dir)
        if found.unmet:
            return Draft([], abstain=True, confidence=found.confidence,
                         notes=[f"abstained: {found.unmet}"])
        if not found.ranked or found.confidence < model.threshold:
            terms = model.contributions(found.features) if model.features else {}
            against = ", ".join(f"{k} {found.features[k]:.2f}" for k, v in
                                sorted(terms.items(), key=lambda kv: kv[1]) if v < 0)
            return Draft([], abstain=True, confidence=found.confidence, notes=[
                f"abstained: confidence {found.confidence:.3f} is below {model.threshold:.3f}; "
                f"most against answering: {against or 'none'} "
                f"(all features: {_describe(found.features)})"])
        picks = compose(query.question, [_pick(c) for c in found.ranked],
                        lambda p, step: self._neighbour(p, step, found.ranked),
                        query.evidence.docs_named_in(query.question),
                        self.cfg.margin, self.cfg.max_sentences)
        by_key = {(c.doc, c.start, c.end): c for c in found.ranked}
        chosen = [by_key[p.key] for p in picks if p.key in by_key]
        return Draft([DraftSentence(c.text, [c.passage], spans_of(c), True) for c in chosen],
                     confidence=found.confidence)

    def assess(self, query: Query, passages: list[Passage]) -> Assessment:
        # Sentences that satisfy the question's constraints (a year it names, a date for
        # "when", an amount for "how much") first, each group best first.
        fits = {c: can_answer(query.question, c.text) for c in self._candidates(query, passages)}
        ranked = sorted(fits, key=lambda c: (not fits[c], -c.score))
        words = {n: frozenset(tokenize(passages[n - 1].text)) for n in {c.passage for c in ranked}}
        scored = [Scored(c.score, c.cosine, c.words, c.text, words[c.passage],
                         passages[c.passage - 1].text, fits[c]) for c in ranked]
        values = features(query.question, scored, query.evidence.vocabulary,
                          query.evidence.idf)
        model = answerability(self.index_dir)
        why = unmet(query.question, [c.text for c in ranked], [p.text for p in passages])
        return Assessment(ranked, values, model.confidence(values), why or model.outside(values))

    def _candidates(self, query: Query, passages: list[Passage]) -> list[Candidate]:
        question_words = tokenize(query.question)
        wants_number = bool(WANTS_NUMBER.search(question_core(query.question)))
        found = []
        for number, passage in enumerate(passages, start=1):
            for i, text, context in _units(passage):
                span = passage.sentences[i]
                start, end = span.orig_start, span.orig_end
                vector = query.evidence.sentence_vector(passage.doc, start, end)
                words = set(tokenize(text))
                own_text = passage.text[span.start:span.end]
                if vector is None or len(words) < self.cfg.min_words or not (
                        context or passage.kind == "table" or _is_prose(own_text)) or (
                        instruction_like(text)):
                    continue
                cosine = float(vector @ query.vector)
                score = cosine + self.cfg.lexical_weight * coverage(question_words, words)
                if wants_number and _HAS_NUMBER.search(own_text):
                    score += self.cfg.number_bonus
                if definition_bonus(query.question, own_text):
                    score += DEFINITION_BONUS
                found.append(Candidate(score, cosine, number, i, text, frozenset(words),
                                       passage.chunk_id, passage.doc, start, end, context))
        return found

    def _neighbour(self, pick: Pick, step: int, ranked: list[Candidate]) -> Pick | None:
        """The sentence `step` places from `pick` in its passage, as a candidate."""
        return next((_pick(c) for c in ranked
                     if c.passage == pick.passage and c.index == pick.index + step), None)


def _describe(values: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in values.items())


def _pick(c: Candidate) -> Pick:
    return Pick((c.doc, c.start, c.end), c.score, c.doc, c.passage, c.index, c.text, c.words)


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


SPEC = BackendSpec("extractive", ExtractiveBackend)  # no LLM, nothing to install or reach

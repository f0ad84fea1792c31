"""The pipeline: question -> hybrid retrieval -> backend draft -> citations checked -> Answer.

Every sentence that reaches the user cites at least one span of a retrieved passage, quoted
exactly from the indexed original, and passed the shared verifier. Otherwise: abstention.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt
from llama_index.core.schema import QueryBundle

from rag.answering.backends import (
    Backend,
    Checked,
    Condenses,
    Draft,
    Query,
    get_backend,
    spec,
)
from rag.answering.citations import cite
from rag.answering.compose import short_answer
from rag.answering.followup import Turn, history_of, standalone
from rag.answering.gate import Gate, gate_for
from rag.answering.question import parse
from rag.answering.scorer import assess
from rag.config import Settings, get_settings
from rag.errors import UsageError
from rag.retrieval.hybrid import FusionWeights, HybridRetriever
from rag.retrieval.searcher import Searcher, docs_known, get_searcher
from rag.types import HEDGE, Answer, Citation, Passage, Sentence

ABSTENTION = "The corpus does not answer this question."
FALLBACK = "extractive"  # the backend that answers when nothing an LLM wrote survives


def clean_question(question: str, limit: int) -> str:
    """Control characters removed, whitespace collapsed; empty or over-long is an error."""
    text = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in question)
    text = " ".join(text.split())
    if not text:
        raise UsageError("the question is empty — ask something, e.g. rag ask \"What is the SCO?\"")
    if len(text) > limit:
        raise UsageError(f"the question is {len(text)} characters long; the limit is {limit}")
    return text


def retrieve(question: str, k: int, docs: list[str] | None,
             settings: Settings) -> tuple[Searcher, npt.NDArray[np.float32], list[Passage]]:
    """The live index's searcher, the question's vector and the top-k passages."""
    searcher = get_searcher(settings)
    docs = docs_known(searcher, docs)
    vector = searcher.embed_question(question)
    r = settings.retrieval
    weights = FusionWeights(r.dense_weight, r.lexical_weight, r.sentence_weight, r.candidates,
                            r.mmr_lambda)
    bundle = QueryBundle(question, embedding=vector.tolist())
    found = HybridRetriever(searcher, k, docs, weights).passages(bundle)
    # A question that names several sources ("according to Harding and to Aris") gets the
    # best passage of each named one, in place of the last passages of the ranking.
    allowed = set(docs or searcher.fingerprint.docs)
    named = sorted(searcher.docs_named_in(question) & allowed)
    missing = [d for d in named if d not in {p.doc for p in found}]
    if len(named) >= 2 and missing:
        extra = [p for d in missing[:k - 1]
                 for p in HybridRetriever(searcher, 1, [d], weights).passages(bundle)]
        found = found[:k - len(extra)] + extra
    return searcher, vector, [replace(p, rank=rank) for rank, p in enumerate(found, start=1)]


def _draft(chosen: Backend, query: Query, passages: list[Passage], gate: Gate) -> Draft:
    """The backend's draft, if its gate lets the question through. A backend that needs a
    server is checked first (once per process): a server that cannot work is an error whatever
    the gate decides, never "the corpus does not answer"."""
    if isinstance(chosen, Checked):
        chosen.ready()
    assert query.assessment is not None
    why = gate.refuse(query.assessment)
    if why is not None:
        return Draft([], abstain=True, notes=[why], confidence=query.assessment.confidence)
    return gate.judge(chosen.draft(query, passages))


def _text(sentences: list[Sentence], hedged: bool) -> str:
    if not sentences:
        return ABSTENTION
    said = " ".join(f"{s.text} {''.join(f'[{n}]' for n in s.citations)}" for s in sentences)
    return f"{HEDGE} {said}" if hedged else said


def searched_for(question: str, history: list[Turn], chosen: Backend, limit: int) -> str:
    """The standalone question to search: the backend's own rewrite (an LLM's condense step),
    else the rules of rag/answering/followup.py; the question itself without a history."""
    if not history:
        return question
    rewrite = chosen.condense(question, history) if isinstance(chosen, Condenses) else None
    return clean_question(rewrite or standalone(question, history), limit)


def answer(question: str, k: int | None = None, docs: list[str] | None = None,
           backend: str | None = None, settings: Settings | None = None,
           on_token: Callable[[str], None] | None = None,
           history: Sequence[Any] | None = None) -> Answer:
    """Answer `question` with verified citations, or abstain. `on_token` receives an LLM
    backend's text as it streams (before verification). `history`: the conversation's earlier
    turns, oldest first (question strings, {"question", "searched", "answer"} mappings or
    Answers): a follow-up ("When was it founded?") is searched as a standalone question."""
    started = time.perf_counter()
    settings = settings or get_settings()
    limit = settings.answer.max_question_chars
    typed = clean_question(question, limit)
    chosen = get_backend(backend or settings.llm.backend, settings)
    asked = parse(searched_for(typed, history_of(history), chosen, limit))
    searcher, vector, passages = retrieve(asked.text, k or settings.answer.k, docs, settings)
    retrieved = time.perf_counter()
    query = Query(asked, vector, searcher, on_token)
    query.assessment = assess(query, passages, settings)
    gate = gate_for(chosen.name, spec(chosen.name).model_name(settings.llm), settings)

    def checked(draft: Draft) -> tuple[list[Sentence], list[Citation], list[str]]:
        return ([], [], []) if draft.abstain else cite(draft, passages, searcher)

    draft = _draft(chosen, query, passages, gate)
    sentences, citations, dropped = checked(draft)
    notes, used = [*draft.notes, *dropped], chosen.name
    if gate.note:
        notes.append(gate.note)
    if not sentences and gate.model and settings.llm.fallback_extractive:
        notes.append(f"nothing the {used} model wrote survived verification; this answer is "
                     f"the {FALLBACK} backend's")
        # through the fallback's own gate: its threshold, not the LLM's (llm.gate may be off)
        own = gate_for(FALLBACK, spec(FALLBACK).model_name(settings.llm), settings)
        sentences, citations, _ = checked(_draft(get_backend(FALLBACK, settings), query,
                                                 passages, own))
        used = FALLBACK
    done = time.perf_counter()
    confidence = query.assessment.confidence
    abstained = not sentences
    hedged = not abstained and gate.hedged(confidence)
    first = {c.n: c.quote for c in citations}
    # no short answer for a hedged one: "2009" in bold above "the documents may not answer
    # this exactly" would be read as the answer ("When did Iran join BRICS?")
    short = None if hedged else next(
        (found for n in (sentences[0].citations if sentences else [])
         if (found := short_answer(asked, first[n])) is not None), None)
    return Answer(question=typed, searched=asked.text, answer=_text(sentences, hedged),
                  abstained=abstained, hedged=hedged, backend=used, confidence=confidence,
                  short_answer=short,
                  model_answerable=draft.verdict,
                  calibrated=gate.calibration is not None if gate.model else None,
                  sentences=sentences, citations=citations, retrieved=passages,
                  timings_ms={"retrieve": (retrieved - started) * 1000,
                              "answer": (done - retrieved) * 1000,
                              "total": (done - started) * 1000},
                  notes=notes)

"""The pipeline: question -> hybrid retrieval -> backend draft -> citations checked -> Answer.

Every sentence that reaches the user cites at least one span of a retrieved passage, quoted
exactly from the indexed original, and passed the shared verifier. Otherwise: abstention.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import numpy.typing as npt
from llama_index.core.schema import QueryBundle

from rag.answering.backends import Backend, Draft, Query, get_backend, spec
from rag.answering.backends.extractive import ExtractiveBackend
from rag.answering.backends.llm import LLMBackend
from rag.answering.citations import cite
from rag.answering.compose import short_answer
from rag.answering.gate import Gate, gate_for
from rag.config import Settings, get_settings
from rag.errors import UsageError
from rag.retrieval.hybrid import FusionWeights, HybridRetriever
from rag.retrieval.searcher import Searcher, docs_known, get_searcher
from rag.types import Answer, Citation, Passage, Sentence

ABSTENTION = "The corpus does not answer this question."


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


def _draft(chosen: Backend, query: Query, passages: list[Passage],
           settings: Settings) -> tuple[Draft, Gate | None]:
    """The backend's draft, and the gate it went through (None: the extractive backend, which
    makes the assessment itself). Another backend is asked only if its gate lets it, but an LLM
    server is checked first (once per process): a server that cannot work is an error whatever
    the gate decides, never "the corpus does not answer"."""
    if isinstance(chosen, ExtractiveBackend):
        return chosen.draft(query, passages), None
    if isinstance(chosen, LLMBackend):
        chosen.ready()
    gate = gate_for(chosen.name, spec(chosen.name).model_name(settings.llm), settings)
    query.assessment = ExtractiveBackend(settings).assess(query, passages)
    why = gate.refuse(query.assessment)
    if why is not None:
        return Draft([], abstain=True, notes=[why], confidence=query.assessment.confidence), gate
    return gate.judge(chosen.draft(query, passages)), gate


def answer(question: str, k: int | None = None, docs: list[str] | None = None,
           backend: str | None = None, settings: Settings | None = None,
           on_token: Callable[[str], None] | None = None) -> Answer:
    """Answer `question` with verified citations, or abstain. `on_token` receives an LLM
    backend's text as it streams (before verification)."""
    started = time.perf_counter()
    settings = settings or get_settings()
    question = clean_question(question, settings.answer.max_question_chars)
    chosen = get_backend(backend or settings.llm.backend, settings)
    searcher, vector, passages = retrieve(question, k or settings.answer.k, docs, settings)
    retrieved = time.perf_counter()
    query = Query(question, vector, searcher, on_token)

    def checked(draft: Draft) -> tuple[list[Sentence], list[Citation], list[str]]:
        return ([], [], []) if draft.abstain else cite(draft, passages, searcher)

    draft, gate = _draft(chosen, query, passages, settings)
    sentences, citations, dropped = checked(draft)
    notes, used = [*draft.notes, *dropped], chosen.name
    if gate is not None and gate.note:
        notes.append(gate.note)
    confidence = draft.confidence
    if confidence is None:  # an LLM backend: the same assessment the extractive one makes
        assert query.assessment is not None
        confidence = query.assessment.confidence
    if not sentences and used != "extractive" and settings.llm.fallback_extractive:
        notes.append(f"nothing the {used} model wrote survived verification; this answer is "
                     "the extractive backend's")
        sentences, citations, _ = checked(get_backend("extractive", settings).draft(query,
                                                                                      passages))
        used = "extractive"
    done = time.perf_counter()
    abstained = not sentences
    text = ABSTENTION if abstained else " ".join(
        f"{s.text} {''.join(f'[{n}]' for n in s.citations)}" for s in sentences)
    first = {c.n: c.quote for c in citations}
    short = next((found for n in (sentences[0].citations if sentences else [])
                  if (found := short_answer(question, first[n])) is not None), None)
    return Answer(question=question, answer=text, abstained=abstained, backend=used,
                  confidence=confidence, short_answer=short, model_answerable=draft.verdict,
                  calibrated=None if gate is None else gate.calibration is not None,
                  sentences=sentences, citations=citations, retrieved=passages,
                  timings_ms={"retrieve": (retrieved - started) * 1000,
                              "answer": (done - retrieved) * 1000,
                              "total": (done - started) * 1000},
                  notes=notes)

"""From a backend's draft to cited sentences: resolve, quote, verify, number.

A sentence may cite only retrieved passages. A reference to a passage number resolves to the
passage sentence that best supports it (or to the whole passage); an exact span must lie inside
a retrieved passage. Quotes are sliced from the indexed original. Sentences that fail the
verifier, or cite nothing valid, are dropped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.answering.backends import Draft, DraftSentence
from rag.answering.calibration import calibration
from rag.answering.injection import instruction_like
from rag.answering.verify import Support, support
from rag.types import Citation, Passage, Sentence

if TYPE_CHECKING:
    from rag.answering.evidence import Evidence

Span = tuple[Passage, int, int]


def _best_sentence(text: str, passage: Passage, evidence: Evidence) -> Span:
    original = evidence.original(passage.doc)
    scored = [(support(text, [original[s.orig_start:s.orig_end]],
                       vocabulary=evidence.vocabulary_terms), s.orig_start, s.orig_end)
              for s in passage.sentences]
    best = max(scored, key=lambda t: t[0].score, default=None)
    if best is None or not best[0].ok:
        return passage, passage.start, passage.end
    return passage, best[1], best[2]


def resolve(draft: DraftSentence, passages: list[Passage], evidence: Evidence) -> list[Span]:
    by_id = {p.chunk_id: p for p in passages}
    spans = [(by_id[c], s, e) for c, s, e in draft.spans
             if c in by_id and by_id[c].start <= s < e <= by_id[c].end]
    if spans:
        return spans
    return [_best_sentence(draft.text, passages[r - 1], evidence)
            for r in dict.fromkeys(draft.refs) if 1 <= r <= len(passages)]


def _similarity(text: str, quotes: list[str], evidence: Evidence) -> float | None:
    """Cosine of the sentence and its closest quote, each embedded on its own: what eval/fit.py
    fits the verifier on and `rag eval` scores faithfulness with. Not the stored sentence
    vectors: those are pooled from their chunk's token states (rag/embedding/tokens.py), so
    they carry the chunk's other sentences, and on dev they let SmolLM2's "The EU, US and global
    governance" pass as supported by a sentence about a US-Russia commission whose chunk ends
    in a footnote with that title."""
    if not quotes:
        return None
    query = evidence.embed_text(text)
    return max(float(evidence.embed_text(quote) @ query) for quote in quotes)


def check(draft: DraftSentence, spans: list[Span], evidence: Evidence) -> Support:
    """The verifier's verdict; the cited documents' authors and publisher may be named."""
    quotes = [evidence.original(p.doc)[s:e] for p, s, e in spans]
    if any(instruction_like(q) for q in quotes):  # an instruction to a model is not evidence
        return Support(score=0.0, ok=False, missing=["(the cited text is an instruction)"])
    similarity = 1.0 if draft.exact else _similarity(draft.text, quotes, evidence)
    docs = list(dict.fromkeys(p.doc for p, _, _ in spans))
    return support(draft.text, quotes, similarity, evidence.sources(docs),
                   evidence.vocabulary_terms)


def _why(text: str, verdict: Support | None) -> str:
    if verdict is None:
        return f"dropped {text!r}: it cites no retrieved passage"
    missing = f"; not in the cited text: {', '.join(verdict.missing)}" if verdict.missing else ""
    return (f"dropped {text!r}: the verifier found too little support (score "
            f"{verdict.score:.2f}, needs {calibration().verifier_threshold:.2f}{missing})")


def cite(draft: Draft, passages: list[Passage],
         evidence: Evidence) -> tuple[list[Sentence], list[Citation], list[str]]:
    """The verified sentences, their citations, and a note on each sentence dropped."""
    citations: list[Citation] = []
    notes: list[str] = []
    numbers: dict[tuple[str, int, int], int] = {}
    sentences: list[Sentence] = []
    for item in draft.sentences:
        spans = resolve(item, passages, evidence)
        verdict = check(item, spans, evidence) if spans else None
        if (verdict is None or not verdict.ok) and item.fallback is not None:
            notes.append(_why(item.text, verdict) + "; the sentence it quoted is given instead")
            item = item.fallback
            spans = resolve(item, passages, evidence)
            verdict = check(item, spans, evidence) if spans else None
        if verdict is None or not verdict.ok:
            notes.append(_why(item.text, verdict))
            continue
        if any(s.text == item.text for s in sentences):
            continue  # two sentences that fell back to the same quote
        cited = []
        for passage, start, end in spans:
            key = (passage.doc, start, end)
            if key not in numbers:
                numbers[key] = len(citations) + 1
                citations.append(Citation(
                    n=numbers[key], doc=passage.doc, title=evidence.title(passage.doc, start),
                    chunk_id=passage.chunk_id, start=start, end=end,
                    quote=evidence.original(passage.doc)[start:end],
                    page=evidence.page(passage.doc, start)))
            cited.append(numbers[key])
        sentences.append(Sentence(item.text, sorted(set(cited)), verdict.score))
    return sentences, citations, notes

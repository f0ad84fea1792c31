"""Faithfulness of answers, and the accuracy of the verifier that judges it.

Both use the one verifier every answerer goes through (`rag.answering.verify.support`), with the
same inputs: the sentence, the quoted spans it cites, and their embedding similarity.

The perturbation set is built from the gold items: each gold answer cited by its own evidence
must be accepted; the same answer with one number changed, with one name swapped for another
name from the gold set, or citing another document's evidence must be rejected.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rag.answering.verify import Support, support
from rag.evaluate.gold import GoldItem
from rag.evaluate.summary import VerifierScores
from rag.text.names import NUMBER, named_in, names, numbers
from rag.text.tokens import tokenize
from rag.text.vocab import NO_VOCABULARY, Vocabulary
from rag.types import Answer


@dataclass(frozen=True)
class Case:
    id: str
    kind: str  # unchanged | paraphrase | number | name | citation | wrong_passage
    text: str
    quotes: tuple[str, ...]
    expect_ok: bool
    docs: tuple[str, ...] = ()  # the documents the quotes come from


class Verifier:
    """`support()` with similarities from the embedding model, each text embedded once."""

    def __init__(self, embedder: Any, sources: Callable[[list[str]], str] = lambda d: "",
                 vocabulary: Vocabulary = NO_VOCABULARY) -> None:
        self.embedder, self.sources, self.vocabulary = embedder, sources, vocabulary
        self._vectors: dict[str, np.ndarray[Any, Any]] = {}

    def prepare(self, texts: Sequence[str]) -> None:
        todo = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        for text, vector in zip(todo, self.embedder.get_text_embedding_batch(todo), strict=True):
            self._vectors[text] = np.asarray(vector, dtype=np.float32)

    def similarity(self, text: str, quotes: Sequence[str]) -> float | None:
        self.prepare([text, *quotes])
        return max((float(self._vectors[q] @ self._vectors[text]) for q in quotes), default=None)

    def check(self, text: str, quotes: Sequence[str], docs: Sequence[str] = ()) -> Support:
        """As `rag.answering.citations.check`: the cited documents' authors and publisher may be
        named."""
        return support(text, list(quotes), self.similarity(text, quotes),
                       self.sources(list(docs)), self.vocabulary)


def sentence_verdicts(answer: Answer, verifier: Verifier) -> list[bool]:
    """For each answer sentence: do the spans it cites support it?"""
    quotes = {c.n: c.quote for c in answer.citations}
    docs = {c.n: c.doc for c in answer.citations}
    return [bool(s.citations) and all(n in quotes for n in s.citations)
            and verifier.check(s.text, [quotes[n] for n in s.citations],
                               list(dict.fromkeys(docs[n] for n in s.citations))).ok
            for s in answer.sentences]


def _swap_number(text: str, cited: str) -> str | None:
    match = NUMBER.search(text)
    if not match:
        return None
    taken, value = numbers(cited), match.group()
    digits = value.replace(",", "")
    for step in range(1, 50):
        new = str(int(digits) + step) if digits.isdigit() else f"{digits}{step}"
        if new not in taken:
            return text[:match.start()] + new + text[match.end():]
    return None


def _swap_name(text: str, cited: str, pool: list[str], seed: int,
               vocabulary: Vocabulary) -> str | None:
    own = sorted(n for n in names(text) if re.search(rf"\b{re.escape(n)}\b", text))
    # not even as "Russian" for "Russia"
    strangers = [p for p in pool if not named_in(p, cited, vocabulary)]
    if not own or not strangers:
        return None
    other = strangers[seed % len(strangers)]
    return re.sub(rf"\b{re.escape(own[0])}\b", other, text, count=1)


def perturbation_cases(items: list[GoldItem],
                       vocabulary: Vocabulary = NO_VOCABULARY) -> list[Case]:
    """Per answerable item: its gold answer and its hand-written paraphrase (when it has one)
    cited by its own evidence must pass; each with a number changed, a name swapped, citing
    the evidence of an item from other documents, or citing another passage of its own
    document (a one-document item's, `wrong_passage`) must fail."""
    answerable = [i for i in items if i.type != "unanswerable"]
    pool = sorted({n for i in answerable for n in names(i.answer) if len(tokenize(n)) == 1})
    cases = []
    for seq, item in enumerate(answerable):
        quotes = tuple(q for _, q in item.quotes())
        cited = " ".join(quotes)
        docs = tuple(dict.fromkeys(d for d, _ in item.quotes()))
        others = answerable[seq + 1:] + answerable[:seq]
        other = next((o for o in others if not set(docs) & {d for d, _ in o.quotes()}), None)
        # Another passage of the same document: on the subject, but not this answer.
        near = next((o for o in others if o.doc is not None and (o.doc,) == docs
                     and not set(o.evidence or []) & set(quotes)), None)
        texts = [("unchanged", item.answer)]
        if item.paraphrase:
            texts.append(("paraphrase", item.paraphrase))
        for kind, answer in texts:
            cases.append(Case(item.id, kind, answer, quotes, True, docs))
            if (text := _swap_number(answer, cited)) is not None:
                cases.append(Case(item.id, "number", text, quotes, False, docs))
            if (text := _swap_name(answer, cited, pool, seq, vocabulary)) is not None:
                cases.append(Case(item.id, "name", text, quotes, False, docs))
            if other is not None:
                cases.append(Case(item.id, "citation", answer,
                                  tuple(q for _, q in other.quotes()), False,
                                  tuple(dict.fromkeys(d for d, _ in other.quotes()))))
            if near is not None:
                cases.append(Case(item.id, "wrong_passage", answer, tuple(near.evidence or []),
                                  False, docs))
    return cases


def verifier_accuracy(cases: list[Case], verifier: Verifier) -> tuple[VerifierScores, list[Case]]:
    """Accuracy overall and per kind, and the cases it got wrong."""
    verifier.prepare([t for c in cases for t in (c.text, *c.quotes)])
    wrong = [c for c in cases
             if verifier.check(c.text, c.quotes, c.docs).ok != c.expect_ok]
    kinds = sorted({c.kind for c in cases})
    by_kind = {k: 1 - sum(c.kind == k for c in wrong) / sum(c.kind == k for c in cases)
               for k in kinds}
    return VerifierScores(accuracy=1 - len(wrong) / len(cases) if cases else None,
                          cases=len(cases), by_kind=by_kind), wrong

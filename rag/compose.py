"""Which candidate sentences make the extractive answer, and its short answer.

Not simply the top scores: the answer should cover the question. The best sentence first (a
definition question prefers the sentence that defines its subject); then sentences that add
content words of the question not yet covered; one from each source the question names ("the
Carnegie paper and Harding"); and for why/how questions the sentence before or after the best
one when it carries the reason ("That is why ...", "This is because ...").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rag.lexical import tokenize
from rag.vocab import QUESTION_WORDS

_DEFINITION = re.compile(r"^\s*(?:what|who) (?:is|are|was|were) (?:the |a |an )?(.+?)\??\s*$",
                         re.I)
_COPULA = re.compile(r"\b(?:is|are|was|were|refers to|means)\b")
_LEANS_BACK = re.compile(r"^(?:that is why|this is why|this|that|thus|therefore|hence|as a "
                         r"result|consequently|so)\b", re.I)
_LEANS_FORWARD = re.compile(r"^(?:because|this is because|the reason|that is because|this "
                            r"(?:was|is) (?:due|because))\b", re.I)
_SHORT = [re.compile(p) for p in (
    r"(?:(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December) \d{1,2}, \d{4}|\d{1,2} (?:January|February|March|April|May|June|July|August|"
    r"September|October|November|December) \d{4})",
    r"[$€£]\s?\d[\d,.]*(?: (?:million|billion|trillion))?",
    r"\d[\d,.]*\s?(?:%|percent|per cent)",
    r"\b(?:1[89]\d\d|20\d\d)\b",
    r"\b\d[\d,.]*(?: (?:million|billion|thousand))?(?: [a-z]+)?",
)]
_ASKS_SHORT = re.compile(r"^\s*(?:when|how (?:many|much|large|long|big)|(?:on |in )?(?:what|"
                         r"which) (?:year|date|share|percentage|proportion|number))\b", re.I)


@dataclass(frozen=True)
class Pick:
    """A candidate as composition sees it."""

    key: tuple[str, int, int]  # (doc, start, end) in the original
    score: float
    doc: str
    passage: int
    index: int  # sentence number within its passage
    text: str
    words: frozenset[str]


def content_words(question: str) -> set[str]:
    return set(tokenize(question)) - QUESTION_WORDS


def definition_bonus(question: str, text: str) -> bool:
    """Does `text` define the subject of a "What is X?" question ("X is a ...")?"""
    match = _DEFINITION.search(question)
    if not match:
        return False
    subject = tokenize(match.group(1))
    head = text[:120]
    copula = _COPULA.search(head)
    return bool(subject and copula and set(subject) <= set(tokenize(head[:copula.start()])))


def compose(question: str, ranked: list[Pick], neighbour: Callable[[Pick, int], Pick | None],
            wanted_docs: set[str], margin: float, most: int) -> list[Pick]:
    """The sentences of the answer, best first, neighbours next to the sentence they explain."""
    best = ranked[0]
    chosen = [best]
    if re.match(r"^\s*(?:why|how)\b", question, re.I) and not re.match(
            r"^\s*how (?:many|much|long|large|big|old)\b", question, re.I):
        most += 1
        after, before = neighbour(best, 1), neighbour(best, -1)
        if before is not None and _LEANS_BACK.search(best.text):
            chosen.insert(0, before)
        elif after is not None and _LEANS_FORWARD.search(after.text):
            chosen.append(after)
    for doc in sorted(wanted_docs - {p.doc for p in chosen}):
        from_doc = next((p for p in ranked if p.doc == doc), None)
        if from_doc is not None and from_doc.score >= best.score - 2 * margin:
            chosen.append(from_doc)
    wanted = content_words(question)
    covered = set().union(*(p.words for p in chosen)) & wanted
    for p in ranked[1:]:
        if len(chosen) >= most:
            break
        if any(p.key == c.key for c in chosen):
            continue
        new = (p.words & wanted) - covered
        if p.score >= best.score - margin or (new and p.score >= best.score - 2 * margin):
            chosen.append(p)
            covered |= new
    return chosen


def short_answer(question: str, sentence: str) -> str | None:
    """For a question asking for a date, year, number or amount: the first such expression of
    the sentence (an exact substring of it), else None."""
    if not _ASKS_SHORT.search(question):
        return None
    asked = set(re.findall(r"\d[\d,.]*", question))
    for pattern in _SHORT:
        for match in pattern.finditer(sentence):
            if not set(re.findall(r"\d[\d,.]*", match.group())) <= asked:
                return match.group().strip(" ,.")
    return None

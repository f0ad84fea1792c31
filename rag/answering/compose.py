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

from rag.answering.answerable import question_core
from rag.answering.features import WANTS_NUMBER, WHY_HOW
from rag.text.tokens import tokenize
from rag.text.vocab import QUESTION_WORDS, name_aliases

_DEFINITION = re.compile(r"^\s*(?:what|who) (?:is|are|was|were) (?:the |a |an )?(.+?)\??\s*$",
                         re.I)
_COPULA = re.compile(r"\b(?:is|are|was|were|refers to|means)\b")
_LEANS_BACK = re.compile(r"^(?:that is why|this is why|this|that|thus|therefore|hence|as a "
                         r"result|consequently|so)\b", re.I)
_LEANS_FORWARD = re.compile(r"^(?:because|this is because|the reason|that is because|this "
                            r"(?:was|is) (?:due|because))\b", re.I)
_LATER = re.compile(r"\b(?:in(?:to)? force|effect|effective|ratifi|enter(?:ed)?)", re.I)
_SHORT = [re.compile(p) for p in (
    r"(?:(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December) \d{1,2}, \d{4}|\d{1,2} (?:January|February|March|April|May|June|July|August|"
    r"September|October|November|December) \d{4})",
    r"[$€£]\s?\d[\d,.]*(?: (?:million|billion|trillion))?",
    r"\d[\d,.]*\s?(?:%|percent|per cent)",
    r"\b(?:1[89]\d\d|20\d\d)\b",
    r"\b\d[\d,.]*(?: (?:million|billion|thousand))?(?: [a-z]+)?",
)]


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
    """Does `text` define the subject of a "What is X?" question? X (or another name of it:
    SCO / Shanghai Cooperation Organization) opens the sentence and a copula follows soon:
    "The SCO is ...", "The Shanghai Cooperation Organisation (SCO), ..., is ..."."""
    match = _DEFINITION.search(question_core(question))
    if not match:
        return False
    subject = tokenize(match.group(1))
    if not subject or not _COPULA.search(" ".join(text.split()[:25])):
        return False
    opening = tokenize(" ".join(text.split()[:len(subject) + 3]))
    forms = [frozenset(subject)]
    if len(subject) == 1:
        forms += name_aliases().get(subject[0], [])
    return any(form <= set(opening[:len(form) + 1]) for form in forms)


def compose(question: str, ranked: list[Pick], neighbour: Callable[[Pick, int], Pick | None],
            wanted_docs: set[str], margin: float, most: int) -> list[Pick]:
    """The sentences of the answer, best first, neighbours next to the sentence they explain."""
    best = ranked[0]
    chosen = [best]
    if WHY_HOW.search(question_core(question)):
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
    """For a question asking for a date, year, number or amount: such an expression of the
    sentence (an exact substring of it) that the question does not already give, else None.
    Of several (a table row: "signed May 29, 2015, in force October 5, 2016"), the last when
    the question asks about a later stage (entry into force, effect), else the first."""
    if not WANTS_NUMBER.search(question_core(question)):
        return None
    asked = set(re.findall(r"\d[\d,.]*", question))
    for pattern in _SHORT:
        found = [m.group().strip(" ,.") for m in pattern.finditer(sentence)
                 if not set(re.findall(r"\d[\d,.]*", m.group())) <= asked]
        if found:
            return found[-1] if _LATER.search(question) else found[0]
    return None

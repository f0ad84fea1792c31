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

from rag.answering.assessment import Candidate
from rag.answering.question import Question
from rag.text.tokens import tokenize
from rag.text.vocab import NO_VOCABULARY, Vocabulary

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


def definition_bonus(question: Question, text: str,
                     vocabulary: Vocabulary = NO_VOCABULARY) -> bool:
    """Does `text` define the subject of a "What is X?" question? X (or another name of it:
    SCO / Shanghai Cooperation Organization) opens the sentence and a copula follows soon:
    "The SCO is ...", "The Shanghai Cooperation Organisation (SCO), ..., is ..."."""
    subject = list(question.subject)
    if len(subject) == 1 and f"({subject[0]})" in text.lower():
        return True  # "the Eurasian Customs Union (ECU)"
    if not subject or not _COPULA.search(" ".join(text.split()[:25])):
        return False
    opening = tokenize(" ".join(text.split()[:len(subject) + 3]))
    forms = [frozenset(subject)]
    if len(subject) == 1:
        forms += vocabulary.other_names(subject[0])
    return any(form <= set(opening[:len(form) + 1]) for form in forms)


def compose(question: Question, ranked: list[Candidate],
            neighbour: Callable[[Candidate, int], Candidate | None],
            wanted_docs: set[str], margin: float, most: int) -> list[Candidate]:
    """The sentences of the answer, best first, neighbours next to the sentence they explain."""
    best = ranked[0]
    chosen = [best]
    if question.why_how:
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
    wanted = set(question.content)
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


def short_answer(question: Question, sentence: str) -> str | None:
    """For a question asking for a date, year, number or amount: such an expression of the
    sentence (an exact substring of it) that the question does not already give, else None.
    Of several (a table row: "signed May 29, 2015, in force October 5, 2016"), the last when
    the question asks about a later stage (entry into force, effect), else the first."""
    if not question.wants_number:
        return None
    asked = set(re.findall(r"\d[\d,.]*", question.text))
    for pattern in _SHORT:
        found = [m.group().strip(" ,.") for m in pattern.finditer(sentence)
                 if not set(re.findall(r"\d[\d,.]*", m.group())) <= asked]
        if found:
            return found[-1] if question.later else found[0]
    return None

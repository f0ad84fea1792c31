"""Can a sentence answer this question at all? Checks on what the question asks for.

Similarity alone cannot tell "the CSTO was mobilised in Kazakhstan in January 2022" from an
answer to "how many troops did the CSTO send to Kazakhstan in January 2022?". These checks ask
whether the evidence contains what the question is about: a year the question names, the
thing a "how many" question counts, a date for "when" (other than the question's own), an
amount for "how much" and "what percentage", a count (not a year) for "how many", a name the
question does not give for "who" and "which city", and names and words that the corpus uses
at all. They are features of the answerability model (rag/answering/features.py), not
verdicts on their own.
"""

from __future__ import annotations

import re
from collections.abc import Container

from rag.text.names import name_tokens, named_in, names, numbers
from rag.text.tokens import tokenize
from rag.text.vocab import QUESTION_WORDS

_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_COUNTED = re.compile(r"\bhow (?:many|much) (?!(?:is|was|were|are|did|does|do|has|have|had|will|"
                      r"would|can|could|should)\b)([A-Za-z-]+)", re.I)
_HOW_MUCH = re.compile(r"^\s*(?:how much\b|(?:what|which) (?:is|was|were|are) the "
                       r"(?:[\w'-]+ ){0,4}?(?:budget|cost|price|amount|sum|value)\b)|"
                       r"\bin (?:euros?|dollars?|US dollars|roubles?|rubles?|yuan)\b", re.I)
_HOW_MANY = re.compile(r"^\s*how many\b", re.I)
_SHARE = re.compile(r"^\s*(?:what|which) (?:percentage|proportion|share|per ?cent)\b", re.I)
_WHEN = re.compile(r"^\s*(?:when|(?:on|in|by|since|until) (?:what|which) (?:date|year|month)|"
                   r"(?:what|which) (?:date|year|month))\b", re.I)
_DATE = re.compile(r"\b(?:1[89]\d\d|20\d\d|January|February|March|April|May|June|July|"
                   r"August|September|October|November|December)\b")
_AMOUNT = re.compile(r"[$€£]\s?\d|\d\s?(?:%|percent|per cent)|\b(?:thousand|million|billion|"
                     r"trillion|percent|half|third|quarter)\b", re.I)
_COUNT_WORD = re.compile(r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                         r"dozen|dozens|hundreds?|thousands?|millions?|several|all)\b", re.I)
_CURRENCY = {"euro": re.compile(r"€|\beuros?\b", re.I),
             "dollar": re.compile(r"\$|\bdollars?\b|\bUSD\b", re.I),
             "rouble": re.compile(r"\brou?bles?\b|₽", re.I),
             "ruble": re.compile(r"\brou?bles?\b|₽", re.I),
             "yuan": re.compile(r"\byuan\b|\bRMB\b", re.I)}
_IN_CURRENCY = re.compile(r"\bin (?:US )?(euro|dollar|rouble|ruble|yuan)s?\b", re.I)
MAX_UNKNOWN_WORDS = 1


# A question whose answer is a name: a person, place, country or organisation.
_WANTS_NAME = re.compile(
    r"^\s*(?:who(?:m|se)?\b|where\b|(?:in|at|from|to|by|with|on) (?:which|what) (?:[\w-]+ )?"
    r"(?:city|country|countries|state|place|capital|town|university|summit|organi[sz]ation|"
    r"conference)\b|(?:which|what) (?:[\w-]+ ){0,2}?(?:city|country|countries|state|person|"
    r"diplomat|president|leader|minister|official|organi[sz]ation|bank|university|capital|town|"
    r"general|secretary|summit)\b|what (?:is|was) the name\b)", re.I)
_ATTRIBUTION = re.compile(r"^\s*(?:according to|in|for|as|per)\b[^,?]{1,80},\s*", re.I)


def question_core(question: str) -> str:
    """The question without a leading attribution ("According to Harding, how many ..." ->
    "how many ..."), so that its type is read from the words that ask."""
    return _ATTRIBUTION.sub("", question, count=1)


def unknown_to_corpus(question: str, vocabulary: Container[str]) -> list[str]:
    """Names and numbers of the question that the corpus never uses; or, if the question
    uses several ordinary words the corpus never uses, those words."""
    specific = [n for n in names(question) | numbers(question)
                if any(t not in vocabulary for t in tokenize(n))]
    words = [t for t in dict.fromkeys(tokenize(question))
             if t not in QUESTION_WORDS and t not in vocabulary]
    return specific or (words if len(words) > MAX_UNKNOWN_WORDS else [])


def name_found(question: str, sentence: str) -> bool:
    """A question asking for a name ("Who ...", "In which city ...") finds one in `sentence`
    that the question does not already name; any other question: True. A soft signal ("the
    second Russia-ASEAN summit has yet to be convened" holds every word of "In which city was
    the second Russia-ASEAN summit held?" but a city), and a coarse one: any capitalised word
    counts, so a sentence that names anything else passes."""
    if not _WANTS_NAME.search(question_core(question)):
        return True
    asked = name_tokens(question)
    return any(not named_in(n, asked) for n in names(sentence))


def counted_found(question: str, sentence: str) -> bool:
    """The thing a "how many/much" question counts ("troops") is in `sentence` (or nothing is
    counted). A soft signal, not a rule: the text may count "dead" where the question says
    "people killed"."""
    counted = _COUNTED.search(question_core(question))
    return not counted or set(tokenize(counted.group(1))) <= set(tokenize(sentence))


def _unit_named(question: str, sentence: str) -> bool:
    """An amount asked "in euros" is an amount in euros, not in dollars."""
    unit = _IN_CURRENCY.search(question)
    return not unit or bool(_CURRENCY[unit.group(1).lower()].search(sentence))


def unmet(question: str, sentences: list[str], passages: list[str]) -> str | None:
    """Why no retrieved evidence can answer `question`, or None. Two hard checks, each a
    necessary condition rather than a score: a year the question names occurs in some retrieved
    passage, and some retrieved sentence holds the kind of thing the question asks for (a date
    for "when", an amount for "how much", a count for "how many")."""
    text = " ".join(passages)
    missing = [y for y in dict.fromkeys(_YEAR.findall(question)) if y not in text]
    if missing:
        return f"the question names {', '.join(missing)}; no retrieved passage does"
    wanted = _wants(question)
    if wanted and not any(can_answer(question, s, years=False) for s in sentences):
        return f"the question asks for {wanted}; no retrieved sentence holds one"
    return None


def _wants(question: str) -> str:
    question = question_core(question)
    if _WHEN.search(question):
        return "a date"
    if _HOW_MUCH.search(question) or _SHARE.search(question):
        return "an amount"
    return "a count" if _HOW_MANY.search(question) else ""


def _new_date(question: str, sentence: str) -> bool:
    """A date (year, month) in `sentence` other than those the question gives: "On what date
    was the summit of 2020 held?" is not answered by "a summit is in the works for 2020"."""
    given = {m.lower() for m in _DATE.findall(question)}
    return any(m.lower() not in given for m in _DATE.findall(sentence))


def can_answer(question: str, sentence: str, years: bool = True) -> bool:
    """Whether `sentence` contains what `question` asks about (years, dates, amounts, counts)."""
    question = question_core(question)
    if years and any(year not in sentence for year in _YEAR.findall(question)):
        return False
    if _WHEN.search(question) and not _new_date(question, sentence):
        return False
    if _SHARE.search(question):
        return bool(_AMOUNT.search(sentence))
    if _HOW_MUCH.search(question):
        return bool(_AMOUNT.search(sentence)) and _unit_named(question, sentence)
    if _HOW_MANY.search(question):
        counts = {n for n in numbers(sentence) - numbers(question) if not _YEAR.fullmatch(n)}
        return bool(counts or _COUNT_WORD.search(sentence))
    return True

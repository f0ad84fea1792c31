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

from rag.answering.question import DATE, YEAR, Question
from rag.text.names import name_tokens, named_in, names, numbers
from rag.text.tokens import tokenize
from rag.text.vocab import NO_VOCABULARY, Vocabulary

_AMOUNT = re.compile(r"[$€£]\s?\d|\d\s?(?:%|percent|per cent)|\b(?:thousand|million|billion|"
                     r"trillion|percent|half|third|quarter)\b", re.I)
_COUNT_WORD = re.compile(r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                         r"dozen|dozens|hundreds?|thousands?|millions?|several|all)\b", re.I)
_CURRENCY = {"euro": re.compile(r"€|\beuros?\b", re.I),
             "dollar": re.compile(r"\$|\bdollars?\b|\bUSD\b", re.I),
             "rouble": re.compile(r"\brou?bles?\b|₽", re.I),
             "ruble": re.compile(r"\brou?bles?\b|₽", re.I),
             "yuan": re.compile(r"\byuan\b|\bRMB\b", re.I)}
MAX_UNKNOWN_WORDS = 1


def unknown_to_corpus(question: Question, vocabulary: Container[str]) -> list[str]:
    """Names and numbers of the question that the corpus never uses; or, if the question
    uses several ordinary words the corpus never uses, those words."""
    specific = [n for n in question.names | question.numbers
                if any(t not in vocabulary for t in tokenize(n))]
    words = [t for t in question.content if t not in vocabulary]
    return specific or (words if len(words) > MAX_UNKNOWN_WORDS else [])


def name_found(question: Question, sentence: str,
               vocabulary: Vocabulary = NO_VOCABULARY) -> bool:
    """A question asking for a name ("Who ...", "In which city ...") finds one in `sentence`
    that the question does not already name; any other question: True. A soft signal ("the
    second Russia-ASEAN summit has yet to be convened" holds every word of "In which city was
    the second Russia-ASEAN summit held?" but a city), and a coarse one: any capitalised word
    counts, so a sentence that names anything else passes."""
    if not question.wants_name:
        return True
    asked = name_tokens(question.text)
    return any(not named_in(n, asked, vocabulary) for n in names(sentence))


def counted_found(question: Question, sentence: str) -> bool:
    """The thing a "how many/much" question counts ("troops") is in `sentence` (or nothing is
    counted). A soft signal, not a rule: the text may count "dead" where the question says
    "people killed"."""
    counted = question.counted
    return not counted or set(tokenize(counted)) <= set(tokenize(sentence))


def _unit_named(question: Question, sentence: str) -> bool:
    """An amount asked "in euros" is an amount in euros, not in dollars."""
    unit = question.currency
    return not unit or bool(_CURRENCY[unit].search(sentence))


def unmet(question: Question, sentences: list[str], passages: list[str]) -> str | None:
    """Why no retrieved evidence can answer `question`, or None. Two hard checks, each a
    necessary condition rather than a score: a year the question names occurs in some retrieved
    passage, and some retrieved sentence holds the kind of thing the question asks for (a date
    for "when", an amount for "how much", a count for "how many")."""
    text = " ".join(passages)
    missing = [y for y in question.years if y not in text]
    if missing:
        return f"the question names {', '.join(missing)}; no retrieved passage does"
    wanted = question.wants
    if wanted and not any(can_answer(question, s, years=False) for s in sentences):
        return f"the question asks for {wanted}; no retrieved sentence holds one"
    return None


def _new_date(question: Question, sentence: str) -> bool:
    """A date (year, month) in `sentence` other than those the question gives: "On what date
    was the summit of 2020 held?" is not answered by "a summit is in the works for 2020"."""
    return any(m.lower() not in question.dates for m in DATE.findall(sentence))


def can_answer(question: Question, sentence: str, years: bool = True) -> bool:
    """Whether `sentence` contains what `question` asks about (years, dates, amounts, counts)."""
    core_years = YEAR.findall(question.core)
    if years and any(year not in sentence for year in core_years):
        return False
    if question.kind == "when" and not _new_date(question, sentence):
        return False
    if question.kind == "share":
        return bool(_AMOUNT.search(sentence))
    if question.kind == "how_much":
        return bool(_AMOUNT.search(sentence)) and _unit_named(question, sentence)
    if question.kind == "how_many":
        counts = {n for n in numbers(sentence) - set(numbers(question.core))
                  if not YEAR.fullmatch(n)}
        return bool(counts or _COUNT_WORD.search(sentence))
    return True


_PLACE = re.compile(r"\b(?:in|at|to|from|near)\s+(?:the\s+)?([A-Z][\w-]+(?:\s+[A-Z][\w-]+)*)")
_PERSON = re.compile(r"\b([A-Z][a-z]+(?:\s+(?:[A-Z]\.\s*)?[A-Z][a-z]+)+)\b")


def kind_found(question: Question, sentence: str,
               vocabulary: Vocabulary = NO_VOCABULARY) -> bool:
    """The sentence holds the kind of thing the question asks for, beyond the hard checks: a
    place the question does not name for "where" ("based in Tashkent"), a person's name for
    "who" (two capitalised words). Other kinds: True (their checks are `can_answer`'s)."""
    asked = name_tokens(question.text)
    if question.kind == "where":
        found = _PLACE.findall(sentence)
    elif question.kind == "who":
        found = _PERSON.findall(sentence)
    else:
        return True
    return any(not named_in(n, asked, vocabulary) for n in found)

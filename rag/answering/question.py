"""The question, parsed once: what it asks for and about what. Every answering step reads this
record (retrieval, the checks of rag/answering/answerable.py, the features, the composition, the
short answer); none parses the question string again.

What kind of question it is (`kind`) decides what an answer sentence must hold: a date other
than the question's own for "when", a place for "where", a name for "who", a definition of the
subject for "What is X?", an amount for "how much", a count for "how many".
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

from rag.text.names import names, numbers
from rag.text.tokens import tokenize
from rag.text.vocab import QUESTION_WORDS

Kind = Literal["when", "where", "who", "definition", "how_many", "how_much", "share", "why_how",
               "other"]

_ATTRIBUTION = re.compile(r"^\s*(?:according to|in|for|as|per)\b[^,?]{1,80},\s*", re.I)
YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
DATE = re.compile(r"\b(?:1[89]\d\d|20\d\d|January|February|March|April|May|June|July|"
                  r"August|September|October|November|December)\b")
_COUNTED = re.compile(r"\bhow (?:many|much) (?!(?:is|was|were|are|did|does|do|has|have|had|will|"
                      r"would|can|could|should)\b)([A-Za-z-]+)", re.I)
_HOW_MUCH = re.compile(r"^\s*(?:how much\b|(?:what|which) (?:is|was|were|are) the "
                       r"(?:[\w'-]+ ){0,4}?(?:budget|cost|price|amount|sum|value)\b)|"
                       r"\bin (?:euros?|dollars?|US dollars|roubles?|rubles?|yuan)\b", re.I)
_HOW_MANY = re.compile(r"^\s*how many\b", re.I)
_SHARE = re.compile(r"^\s*(?:what|which) (?:percentage|proportion|share|per ?cent)\b", re.I)
_WHEN = re.compile(r"^\s*(?:when|(?:on|in|by|since|until) (?:what|which) (?:date|year|month)|"
                   r"(?:what|which) (?:date|year|month))\b", re.I)
_WHERE = re.compile(r"^\s*(?:where\b|(?:in|at|from) (?:which|what) (?:[\w-]+ )?(?:city|country|"
                    r"place|capital|town)\b|(?:which|what) (?:city|country|place|capital|town)\b)",
                    re.I)
_WHO = re.compile(r"^\s*(?:who(?:m|se)?\b|(?:which|what) (?:[\w-]+ ){0,2}?(?:person|diplomat|"
                  r"president|leader|minister|official|general|secretary)\b)", re.I)
# A question whose answer is a name: a person, place, country or organisation.
_WANTS_NAME = re.compile(
    r"^\s*(?:who(?:m|se)?\b|where\b|(?:in|at|from|to|by|with|on) (?:which|what) (?:[\w-]+ )?"
    r"(?:city|country|countries|state|place|capital|town|university|summit|organi[sz]ation|"
    r"conference)\b|(?:which|what) (?:[\w-]+ ){0,2}?(?:city|country|countries|state|person|"
    r"diplomat|president|leader|minister|official|organi[sz]ation|bank|university|capital|town|"
    r"general|secretary|summit)\b|what (?:is|was) the name\b)", re.I)
_DEFINITION = re.compile(r"^\s*(?:(?:what|who) (?:is|are|was|were) (?:the |a |an )?(.+?)|what "
                         r"(?:does|do|did) (?:the )?(.+?) (?:stand for|mean))\??\s*$", re.I)
WHY_HOW = re.compile(r"^\s*(?:why|how(?! (?:many|much|long|large|big|old)\b))\b", re.I)
_WANTS_NUMBER = re.compile(r"^\s*(?:how (?:many|much|large|long|big)|when|(?:on |in )?(?:what|"
                           r"which) (?:year|date|share|percentage|proportion|number))\b", re.I)
_LATER = re.compile(r"\b(?:in(?:to)? force|effect|effective|ratifi|enter(?:ed)?)", re.I)
_IN_CURRENCY = re.compile(r"\bin (?:US )?(euro|dollar|rouble|ruble|yuan)s?\b", re.I)


_WANTS = {"when": "a date", "share": "an amount", "how_much": "an amount", "how_many": "a count"}


@dataclass(frozen=True)
class Question:
    """A question as every step reads it."""

    text: str  # as asked (cleaned: rag.answering.pipeline.clean_question)
    # without a leading attribution ("According to Harding, how many ..." -> "how many ...")
    core: str
    kind: Kind
    words: tuple[str, ...]  # `tokenize(text)`
    content: tuple[str, ...]  # its words that are not question words, each once
    names: frozenset[str]  # capitalised words (`rag.text.names.names`)
    numbers: frozenset[str]
    years: tuple[str, ...]  # years it names, each once
    dates: frozenset[str]  # date words it gives (years, months), lower-cased
    wants_name: bool  # its answer is a name (who, where, which country ...)
    wants_number: bool  # its answer is a number, date or amount
    counted: str | None  # the thing a "how many/much" question counts ("troops")
    currency: str | None  # an amount asked "in euros": "euro"
    subject: tuple[str, ...]  # "What is X?": X's tokens; otherwise ()
    later: bool  # asks about a later stage (entry into force, effect)

    @property
    def why_how(self) -> bool:
        return self.kind == "why_how"

    @property
    def wants(self) -> str:
        """What an answer must hold by the hard checks: "a date", "an amount", "a count"."""
        return _WANTS.get(self.kind, "")


def _kind(core: str) -> Kind:
    for kind, pattern in (("when", _WHEN), ("share", _SHARE), ("how_much", _HOW_MUCH),
                          ("how_many", _HOW_MANY), ("where", _WHERE), ("who", _WHO),
                          ("why_how", WHY_HOW)):
        if pattern.search(core):
            return kind  # type: ignore[return-value]
    return "definition" if _DEFINITION.search(core) else "other"


def _subject(definition: re.Match[str] | None) -> tuple[str, ...]:
    return tuple(tokenize(definition.group(1) or definition.group(2))) if definition else ()


@functools.lru_cache(maxsize=1024)
def parse(text: str) -> Question:
    """The question's record (cached: the same text is the same question)."""
    core = _ATTRIBUTION.sub("", text, count=1)
    words = tuple(tokenize(text))
    content = tuple(w for w in dict.fromkeys(words) if w not in QUESTION_WORDS)
    counted, currency = _COUNTED.search(core), _IN_CURRENCY.search(text)
    definition = _DEFINITION.search(core)
    return Question(
        text=text, core=core, kind=_kind(core), words=words, content=content,
        names=frozenset(names(text)), numbers=frozenset(numbers(text)),
        years=tuple(dict.fromkeys(YEAR.findall(text))),
        dates=frozenset(m.lower() for m in DATE.findall(text)),
        wants_name=bool(_WANTS_NAME.search(core)),
        wants_number=bool(_WANTS_NUMBER.search(core)),
        counted=counted.group(1) if counted else None,
        currency=currency.group(1).lower() if currency else None,
        subject=_subject(definition),
        later=bool(_LATER.search(text)))

"""Follow-up questions: the earlier turns of a conversation, and the standalone question a
follow-up stands for ("What is the SCO?" then "When was it founded?" -> "When was the SCO
founded?").

An LLM backend rewrites the follow-up with its own small prompt (rag/answering/backends/llm.py,
`condense`). The extractive backend has no model, so the rules here carry the earlier turns'
subject into a question that has none of its own:
- a pronoun ("it", "its", "they", "he") or a generic noun ("the organisation", "the treaty")
  becomes the subject's name;
- an elliptical turn ("And Kazakhstan?", "What about 2015?") is the previous question with its
  name or year of the same kind replaced;
- a question without any name ("Where is the headquarters?", "When did Armenia join?") gets the
  subject added.
A question that names its own subject is searched as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rag.text.names import OPENERS

MAX_TURNS = 6  # earlier turns read (the latest ones); older turns rarely hold the subject
MAX_HISTORY_CHARS = 4000  # per turn: a pasted essay is not a question
_SPAN = re.compile(r"[A-Z][\w’'.&-]*(?:\s+(?:(?:of|and|for|on|the|de|du|la)\s+)*[A-Z][\w’'.&-]*)*")
_ORG_WORDS = re.compile(r"\b(?:Organi[sz]ation|Union|Community|Treaty|Bank|Council|Forum|"
                        r"Agreement|Initiative|Bloc|Alliance|Structure|Force|Nations|Commission|"
                        r"Association|Partnership|Group|Fund|Pact|Charter|Summit|Declaration)\b")
_ABBREVIATION = re.compile(r"^[A-Z][A-Za-z]*[A-Z][A-Za-z]*s?$")  # SCO, EAEU, EurAsEC, BRICS
_YEAR = re.compile(r"\b(?:1[89]\d\d|20\d\d)\b")
_LEAD = re.compile(r"^\s*(?:and|but|so|also|then|ok(?:ay)?|now)\b[\s,]*", re.I)
_ELLIPSIS = re.compile(r"^\s*(?:(?:and\s+)?(?:what|how)\s+about|what\s+of|and|also|same\s+for|"
                       r"then)\b[\s,]*(?P<rest>.*?)[\s?.!]*$", re.I)
_ASKS = re.compile(r"^\s*(?:what|which|who|whom|whose|when|where|why|how|is|are|was|were|do|"
                   r"does|did|has|have|had|can|could|would|should|will|name|list|give|tell|"
                   r"describe|explain|compare)\b", re.I)
_PERSONAL = re.compile(r"\b(?:he|him|his|she|her|hers)\b", re.I)
_PRONOUN = re.compile(r"\b(?P<p>it|its|itself|they|them|their|theirs|themselves|he|him|his|she|"
                      r"her|hers)\b", re.I)
_GENERIC = re.compile(r"\b(?:the|this|that|these|those)\s+(?P<noun>organi[sz]ations?|bloc|group|"
                      r"grouping|union|alliance|body|bodies|treaty|treaties|agreement|summit|bank|"
                      r"forum|institution|community|pact|charter|organi[sz]ation's|bloc's|"
                      r"union's|alliance's|group's|treaty's)\b", re.I)
_DANGLING = re.compile(r"\b(?:join(?:ed)?|leave|left|sign(?:ed)?|ratif(?:y|ied)|found(?:ed)?|"
                       r"create[d]?|establish(?:ed)?|lead|led|head(?:ed)?|chair(?:ed)?|launch(?:ed)?|"
                       r"set up|withdraw|withdrew|quit|enter(?:ed)?|accede[d]?|belong)\s*[?.!]*$",
                       re.I)
_VERBISH = re.compile(r"(?:ed|ing)$|^(?:do|be|have|mean|happen|exist|work|begin|start|end)$", re.I)


@dataclass(frozen=True)
class Turn:
    """One earlier turn: what was asked, what was searched for it (its standalone form), and
    the answer's text (an LLM rewrite reads it; a "he" may point at a person it names)."""

    question: str
    searched: str = ""
    answer: str = ""

    @property
    def standalone(self) -> str:
        return self.searched or self.question


def history_of(items: Sequence[Any] | None) -> list[Turn]:
    """The caller's history as Turns: each item a question string, a mapping with "question"
    (and optionally "searched", "answer"), an Answer, or a Turn. The latest MAX_TURNS are kept."""
    turns = [_turn(item) for item in (items or [])]
    return [t for t in turns if t.question.strip()][-MAX_TURNS:]


def _turn(item: Any) -> Turn:
    if isinstance(item, Turn):
        return item
    if isinstance(item, str):
        return Turn(_clip(item))
    if isinstance(item, Mapping):
        return Turn(_clip(str(item.get("question") or "")), _clip(str(item.get("searched") or "")),
                    _clip(str(item.get("answer") or "")))
    question = getattr(item, "question", None)
    if isinstance(question, str):  # an Answer
        return Turn(_clip(question), _clip(getattr(item, "searched", "") or ""),
                    _clip(getattr(item, "answer", "") or ""))
    raise TypeError(f"a history item is a question string, a mapping with \"question\" or an "
                    f"Answer; got {type(item).__name__}")


def _clip(text: str) -> str:
    return " ".join(text.split())[:MAX_HISTORY_CHARS]


@dataclass(frozen=True)
class Span:
    text: str  # a name as written ("the Shanghai Cooperation Organization" -> without "the")

    @property
    def organisation(self) -> bool:
        return bool(_ABBREVIATION.match(self.text) or _ORG_WORDS.search(self.text))

    @property
    def person(self) -> bool:
        words = self.text.split()
        return len(words) >= 2 and not self.organisation and all(w[0].isupper() for w in words)


def spans(text: str) -> list[Span]:
    """The names a question or answer holds, in order: runs of capitalised words (with "of",
    "and" inside a name), without a sentence-initial question word or opener."""
    found = []
    for match in _SPAN.finditer(text):
        words = match.group(0).split()
        while words and words[0].lower().strip("’'") in OPENERS:
            words = words[1:]
        while words and words[-1].lower() in ("of", "and", "for", "on", "the", "de", "du", "la"):
            words = words[:-1]
        name = re.sub(r"['’]s$", "", " ".join(words))
        if name and not _YEAR.fullmatch(name):
            found.append(Span(name))
    return found


def _subject(history: list[Turn], personal: bool) -> Span | None:
    """What the latest turns are about: an organisation first (the usual "it"); for "he/she",
    a person the latest answer or question names."""
    for turn in reversed(history):
        if personal:
            people = [s for s in spans(turn.answer) + spans(turn.standalone) if s.person]
            if people:
                return people[0]
        named = spans(turn.standalone)
        organisations = [s for s in named if s.organisation]
        if organisations or named:
            return (organisations or named)[0]
    return None


def _named(span: Span) -> str:
    """How the subject reads inside a question: "the SCO", "the Astana Treaty", "Armenia"."""
    text = span.text
    if span.organisation and not text.lower().startswith("the "):
        return f"the {text}"
    return text


def _possessive(name: str) -> str:
    return f"{name}’" if name.endswith("s") else f"{name}’s"


def _replace_pronouns(question: str, subject: Span, person: Span | None) -> str:
    """Each pronoun becomes its subject's name: "he/his/she/her" the person (when one was
    named), any other pronoun or generic noun the conversation's subject."""
    name = _named(subject)

    def swap(match: re.Match[str]) -> str:
        word = match.group("p").lower()
        own = _named(person) if person is not None and _PERSONAL.fullmatch(word) else name
        if word in ("its", "their", "theirs", "his", "hers"):
            return _possessive(own)
        return own

    replaced = _GENERIC.sub(lambda m: _possessive(name) if m.group("noun").endswith("'s")
                            else name, question)
    return _PRONOUN.sub(swap, replaced)


def _ellipsis(question: str, previous: str) -> str | None:
    """"And Kazakhstan?" after "When did Armenia join the EAEU?" -> "When did Kazakhstan join
    the EAEU?"; None when the question is not elliptical."""
    match = _ELLIPSIS.match(question)
    if match is None or _ASKS.match(match.group("rest")) or not match.group("rest"):
        return None
    rest = match.group("rest")
    if len(rest.split()) > 6:
        return None
    years = _YEAR.findall(rest)
    if years:
        if _YEAR.search(previous):
            return _YEAR.sub(years[0], previous, count=1)
        return f"{previous.rstrip('?. ')} {rest}?"
    new = spans(rest)
    if not new:
        return None
    old = spans(previous)
    same = [s for s in old if s.organisation == new[0].organisation] or old
    if same:
        return previous.replace(same[-1].text if not new[0].organisation else same[0].text,
                                new[0].text, 1)
    return f"{previous.rstrip('?. ')} ({new[0].text})?"


def _with_subject(question: str, subject: Span) -> str:
    """A question without any name gets the subject: "Where is the headquarters?" -> "Where
    is the headquarters of the SCO?"; "When did Armenia join?" -> "... join the SCO?"."""
    body, end = question.rstrip(" ?.!"), question[len(question.rstrip(" ?.!")):].strip() or "?"
    name = _named(subject)
    if _DANGLING.search(question):
        return f"{body} {name}{end}"
    last = body.split()[-1] if body.split() else ""
    if last and not _VERBISH.search(last):
        return f"{body} of {name}{end}"
    return f"{body} ({name}){end}"


def standalone(question: str, history: Sequence[Turn]) -> str:
    """The question to search for: `question` made to stand alone with the earlier turns'
    subject, or `question` itself when it names its own or there is no earlier turn."""
    turns = list(history)
    if not turns:
        return question
    elliptical = _ellipsis(question, turns[-1].standalone)
    if elliptical is not None:
        return elliptical
    body = _LEAD.sub("", question) or question
    subject = _subject(turns, personal=False)
    if subject is None:
        return question
    if _PRONOUN.search(body) or _GENERIC.search(body):
        person = _subject(turns, personal=True) if _PERSONAL.search(body) else None
        if person is not None and not person.person:
            person = None
        return _replace_pronouns(body, subject, person)
    own = spans(body)
    if not own or (_DANGLING.search(body) and not any(s.organisation for s in own)
                   and subject.organisation):
        return _with_subject(body, subject)
    return question

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

from rag.answering.question import YEAR
from rag.text.names import OPENERS

MAX_TURNS = 6  # earlier turns read (the latest ones); older turns rarely hold the subject
MAX_HISTORY_CHARS = 4000  # per turn: a pasted essay is not a question
_SPAN = re.compile(r"[A-Z][\w’'.&-]*(?:\s+(?:(?:of|and|for|on|the|de|du|la)\s+)*[A-Z][\w’'.&-]*)*")
_ORG_WORDS = re.compile(r"\b(?:Organi[sz]ation|Union|Community|Treaty|Bank|Council|Forum|"
                        r"Agreement|Initiative|Bloc|Alliance|Structure|Force|Nations|Commission|"
                        r"Association|Partnership|Group|Fund|Pact|Charter|Summit|Declaration)\b")
_ABBREVIATION = re.compile(r"^[A-Z][A-Za-z]*[A-Z][A-Za-z]*s?$")  # SCO, EAEU, EurAsEC, BRICS
_LEAD = re.compile(r"^\s*(?:and|but|so|also|then|ok(?:ay)?|now)\b[\s,]*", re.I)
_ELLIPSIS = re.compile(r"^\s*(?:(?:and\s+)?(?:what|how)\s+about|what\s+of|and|also|same\s+for|"
                       r"then)\b[\s,]*(?P<rest>.*?)[\s?.!]*$", re.I)
_ASKS = re.compile(r"^\s*(?:what|which|who|whom|whose|when|where|why|how|is|are|was|were|do|"
                   r"does|did|has|have|had|can|could|would|should|will|name|list|give|tell|"
                   r"describe|explain|compare)\b", re.I)
_PERSONAL = re.compile(r"\b(?:he|him|his|she|her|hers)\b", re.I)
_PRONOUN = re.compile(r"\b(?P<p>it|its|itself|they|them|their|theirs|themselves|he|him|his|she|"
                      r"her|hers)\b", re.I)
_GENERIC = re.compile(r"\b(?:the|this|that|these|those)\s+(?P<noun>(?:organi[sz]ation|bloc|group|"
                      r"grouping|union|alliance|body|institution|community|treaty|agreement|pact|"
                      r"charter|declaration|partnership|initiative|forum|bank|council)(?:'s|’s)?)"
                      r"(?!\w)", re.I)
# generic nouns that stand for the conversation's organisation even when its name does not
# hold them ("the bloc" for BRICS); any other ("the treaty") only for a name that holds it
_ORGANISATION_NOUNS = frozenset(["organisation", "organization", "bloc", "group", "grouping",
                                 "union", "alliance", "body", "institution", "community"])
_DANGLING = re.compile(r"\b(?:join(?:ed)?|leave|left|sign(?:ed)?|ratif(?:y|ied)|found(?:ed)?|"
                       r"create[d]?|establish(?:ed)?|lead|led|head(?:ed)?|chair(?:ed)?|launch(?:ed)?|"
                       r"set up|withdraw|withdrew|quit|enter(?:ed)?|accede[d]?|belong)\s*[?.!]*$",
                       re.I)
_CONTEXT = re.compile(r"\s\((.+\?)\)$")  # "Q2? (Q1?)": the previous question as context
_POSSESSIVES = frozenset(["its", "their", "theirs", "his", "hers"])
# a pointer at an event or place of the previous turn: the subject alone does not find it
_EVENT = re.compile(r"\b(?:there|then|that (?:year|time|day|month|summit|conflict|crisis|meeting|"
                    r"visit|speech|address|war|decision|proposal|plan|document|event)|the (?:same "
                    r"year|summit|draft|proposal|document|conflict|crisis|meeting|visit|speech|"
                    r"address|plan|project|programme|program|partnership|initiative|idea|"
                    r"declaration|strategy))\b", re.I)
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
        if name and not YEAR.fullmatch(name):
            found.append(Span(name))
    return found


def _organisation(history: list[Turn]) -> Span | None:
    """What "it", "its" or "the organisation" stands for: the first organisation named by the
    latest question that names one."""
    for turn in reversed(history):
        found = [s for s in spans(_core(turn.standalone)) if s.organisation]
        if found:
            return found[0]
    return None


def _person(history: list[Turn]) -> Span | None:
    """What "he" or "she" stands for: a person the latest questions name (not the answers:
    their first capitalised words are as often a heading as a person)."""
    for turn in reversed(history):
        found = [s for s in spans(_core(turn.standalone)) if s.person]
        if found:
            return found[0]
    return None


def _named(span: Span) -> str:
    """How the subject reads inside a question: "the SCO", "the Astana Treaty", "Armenia"."""
    text = span.text
    if span.organisation and not text.lower().startswith("the "):
        return f"the {text}"
    return text


def _possessive(name: str) -> str:
    return f"{name}’" if name.endswith("s") else f"{name}’s"


def _holding(noun: str, named: list[Span]) -> Span | None:
    """The latest name that holds the generic noun ("the treaty": "the Astana Treaty")."""
    stem = noun.replace("organis", "organiz")
    return next((s for s in named if stem in s.text.lower().replace("organis", "organiz")),
                None)


def _replace_pronouns(question: str, organisation: Span | None, person: Span | None,
                      named: list[Span]) -> tuple[str, bool]:
    """Each pronoun or generic noun replaced by the name it stands for ("he/his/she/her": the
    person, "the treaty": the latest name holding "treaty", any other: the organisation), and
    whether every one of them was. `named`: the earlier questions' names, latest first."""
    missing = False

    def name_for(word: str) -> str | None:
        nonlocal missing
        span = person if _PERSONAL.fullmatch(word) else organisation
        if span is None:
            missing = True
            return None
        return _named(span)

    def swap(match: re.Match[str]) -> str:
        word = match.group("p")
        name = name_for(word.lower())
        if name is None:
            return word
        return _possessive(name) if word.lower() in _POSSESSIVES else name

    def generic(match: re.Match[str]) -> str:
        nonlocal missing
        noun = re.sub(r"['’]s$", "", match.group("noun")).lower()
        span = _holding(noun, named) or (organisation if noun in _ORGANISATION_NOUNS else None)
        if span is None:
            missing = True
            return match.group(0)
        possessive = noun != match.group("noun").lower()
        return _possessive(_named(span)) if possessive else _named(span)

    return _PRONOUN.sub(swap, _GENERIC.sub(generic, question)), not missing


def _ellipsis(question: str, previous: str) -> str | None:
    """"And Kazakhstan?" after "When did Armenia join the EAEU?" -> "When did Kazakhstan join
    the EAEU?"; None when the question is not elliptical."""
    match = _ELLIPSIS.match(question)
    if match is None or _ASKS.match(match.group("rest")) or not match.group("rest"):
        return None
    rest = match.group("rest")
    if len(rest.split()) > 6:
        return None
    years = YEAR.findall(rest)
    if years:
        if YEAR.search(previous):
            return YEAR.sub(years[0], previous, count=1)
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
    names, or `question` itself when it names its own subject or there is no earlier turn.
    When the rules cannot tell what a pronoun stands for, or the question points at an event
    of the previous turn ("that summit", "there"), the previous question is added in brackets
    as context for retrieval."""
    turns = list(history)
    if not turns:
        return question
    previous = turns[-1].standalone
    elliptical = _ellipsis(question, _core(previous))
    if elliptical is not None:
        return elliptical
    body = _LEAD.sub("", question) or question
    organisation = _organisation(turns)
    if _PRONOUN.search(body) or _GENERIC.search(body):
        person = _person(turns) if _PERSONAL.search(body) else None
        named = [s for t in reversed(turns) for s in spans(_core(t.standalone))]
        rewritten, certain = _replace_pronouns(body, organisation, person, named)
    elif not spans(body) or (_DANGLING.search(body) and organisation is not None
                             and not any(s.organisation for s in spans(body))):
        # "When did India join?" -> "... join the SCO?"; "What strategy document was
        # adopted?": the subject, and the previous question for what else it leaves out
        rewritten = body if organisation is None else _with_subject(body, organisation)
        certain = organisation is not None and bool(_DANGLING.search(body))
    else:
        return question
    if not certain or _EVENT.search(body):
        return f"{rewritten.rstrip()} ({_flat(previous)})"
    return rewritten


def _core(searched: str) -> str:
    """A searched question without the context added in brackets."""
    match = _CONTEXT.search(searched)
    return searched[:match.start()] if match else searched


def _flat(searched: str) -> str:
    """A searched question and its context, one level: "Q2 (Q1)" -> "Q2 Q1"."""
    match = _CONTEXT.search(searched)
    return f"{searched[:match.start()]} {match.group(1)}" if match else searched

"""The corpus's vocabulary: abbreviations and their long forms, British and American spellings.

A question in one form must find text written in the other. Abbreviations are expanded in the
question (both directions); spellings are normalised on both sides of lexical matching, so any
rule applies identically to questions and documents.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Set as AbstractSet

from rag.text.tokens import tokenize

# Abbreviation -> long forms, as the corpus writes them (case-insensitive).
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "EAEU": ("Eurasian Economic Union", "Eurasian Union"),
    "EaEU": ("Eurasian Economic Union",),
    "EEU": ("Eurasian Economic Union",),
    "ECU": ("Eurasian Customs Union", "Customs Union"),
    "EurAsEC": ("Eurasian Economic Community",),
    "SCO": ("Shanghai Cooperation Organization", "Shanghai Cooperation Organisation"),
    "CSTO": ("Collective Security Treaty Organization", "Collective Security Treaty Organisation"),
    "CIS": ("Commonwealth of Independent States",),
    "BRICS": ("Brazil, Russia, India, China and South Africa",),
    "BRIC": ("Brazil, Russia, India, China",),
    "ASEAN": ("Association of Southeast Asian Nations", "Association of South-East Asian Nations"),
    "CORF": ("Collective Operational Reaction Force",),
    "RATS": ("Regional Anti-Terrorist Structure", "Regional Anti-Terrorism Structure"),
    "BRI": ("Belt and Road Initiative",),
    "AIIB": ("Asian Infrastructure Investment Bank",),
    "NATO": ("North Atlantic Treaty Organization",),
    "FTA": ("free trade agreement",),
    "UN": ("United Nations",),
    "EU": ("European Union",),
    "OSCE": ("Organization for Security and Co-operation in Europe",),
}

# Names that stand for each other in this literature: a capital for its state (metonymy).
# A sentence that says "Moscow" is supported by a text that says "Russia", and the other way.
METONYMS: dict[str, tuple[str, ...]] = {
    "Russia": ("Moscow", "Kremlin"), "China": ("Beijing",), "Uzbekistan": ("Tashkent",),
    "Kazakhstan": ("Astana", "Nur-Sultan"), "Kyrgyzstan": ("Bishkek",),
    "Tajikistan": ("Dushanbe",), "Belarus": ("Minsk",), "Armenia": ("Yerevan",),
    "India": ("New Delhi", "Delhi"), "Pakistan": ("Islamabad",), "Iran": ("Tehran",),
}

def _phrase(text: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])" + re.escape(text).replace(r"\ ", r"\s+") + r"(?![\w-])",
                      re.IGNORECASE)


_FORWARD = [(_phrase(a), forms) for a, forms in ABBREVIATIONS.items()]
_BACKWARD = [(_phrase(form), a) for a, forms in ABBREVIATIONS.items() for form in forms]


def expand_query(question: str) -> str:
    """The question plus the other forms of each abbreviation or long form it contains."""
    extra: list[str] = []
    for pattern, forms in _FORWARD:
        if pattern.search(question):
            extra += [f for f in forms if f not in extra]
    for pattern, abbreviation in _BACKWARD:
        if pattern.search(question) and abbreviation not in extra:
            extra.append(abbreviation)
    extra = [e for e in extra if not _phrase(e).search(question)]
    return question if not extra else f"{question} ({'; '.join(extra)})"


@functools.cache
def _aliases() -> list[tuple[frozenset[str], list[frozenset[str]]]]:
    groups: dict[str, set[str]] = {}
    for abbreviation, forms in ABBREVIATIONS.items():
        groups.setdefault(abbreviation.upper(), set()).update([abbreviation, *forms])
    found = []
    for names in groups.values():
        token_sets = [frozenset(tokenize(n)) for n in names if tokenize(n)]
        found += [(t, token_sets) for t in token_sets]
    return found


@functools.lru_cache(maxsize=256)
def organisations_in(text: str) -> list[str]:
    """The abbreviations of the organisations `text` names, by abbreviation or long form."""
    return [a for a, forms in ABBREVIATIONS.items()
            if any(_phrase(f).search(text) for f in (a, *forms))]


@functools.cache
def name_aliases() -> dict[str, list[frozenset[str]]]:
    """Token -> the token sets of every other way of naming the same thing (abbreviation and
    long forms, a state and its capital), as `tokenize` gives them."""
    groups = [[a, *forms] for a, forms in ABBREVIATIONS.items()]
    groups += [[state, *others] for state, others in METONYMS.items()]
    found: dict[str, list[frozenset[str]]] = {}
    for group in groups:
        sets = [frozenset(tokenize(name)) for name in group if tokenize(name)]
        for own in sets:  # a one-word name (SCO, Moscow) may stand for the others
            if len(own) == 1:
                found.setdefault(next(iter(own)), []).extend(s for s in sets if s != own)
    return found


# Verbs (as `tokenize` stems them) that ask for the same fact in other words: "When was the SCO
# founded?" is answered by "Since its creation in 2001, ..."; "When did Armenia join?" by
# "Armenia acceded in 2015". A question's verb matches any form of its group.
VERB_GROUPS: tuple[frozenset[str], ...] = tuple(frozenset(g) for g in (
    ("found", "foundat", "creat", "creation", "establish", "launch", "form", "format", "incept",
     "set", "born", "birth"),
    ("join", "acced", "access", "admit", "admiss", "enlarg", "expand", "expans"),
    ("lead", "leader", "head", "chair", "presid", "helm"),
    ("base", "headquart", "seat", "locat", "host", "hous"),
    ("sign", "conclud", "agre", "adopt"),
    ("come", "came", "enter", "took", "effect", "forc"),
    ("propos", "suggest", "idea", "initi", "brainchild", "advoc"),
    ("end", "dissolv", "abolish", "termin", "merg"),
    ("start", "began", "begin", "initi", "launch"),
))


@functools.cache
def _verb_index() -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    for group in VERB_GROUPS:
        for form in group:
            found.setdefault(form, set()).update(group)
    return {form: frozenset(forms) for form, forms in found.items()}


def verb_forms(token: str) -> frozenset[str]:
    """The near-synonyms of a question's word (itself included), or just itself."""
    return _verb_index().get(token, frozenset([token]))


def with_synonyms(words: frozenset[str]) -> frozenset[str]:
    """`words` and every near-synonym of them (VERB_GROUPS): "creation" also counts as
    "found", so that coverage matches "When was the SCO founded?" to "Since its creation"."""
    index = _verb_index()
    extra = [index[w] for w in words if w in index]
    return words.union(*extra) if extra else words


# Words that shape a question but are not its content (already stemmed, as `tokenize` gives).
QUESTION_WORDS = frozenset([
    "what", "which", "who", "whom", "whose", "when", "where", "whi", "how", "mani", "much", "do",
    "doe", "did", "have", "has", "had", "can", "could", "would", "should", "may", "might",
    "must", "accord", "main", "describ", "explain", "say", "said", "tell", "name", "list",
    "give", "kind", "sort",
])


def coverage(question_words: list[str], sentence_words: AbstractSet[str]) -> float:
    """Share of the question's content words in a sentence; an abbreviation in one and its
    long form in the other count as a match (both are lists/sets of `tokenize` output)."""
    wanted = set(question_words) - QUESTION_WORDS
    if not wanted:
        return 0.0
    matched = wanted & sentence_words
    for form, alternatives in _aliases():
        if form <= wanted and any(alt <= sentence_words for alt in alternatives):
            matched |= form
    return len(matched) / len(wanted)

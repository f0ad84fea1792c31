"""Names and numbers in text: which capitalised words are names, whether a text names what a
name names (as written, as a derived form, or by another name: SCO / Shanghai Cooperation
Organization, Moscow / Russia), and the numbers a text states. Shared by the verifier, the
answerability features, the metadata lookup and the evaluation."""

from __future__ import annotations

import re

from rag.text.tokens import tokenize
from rag.text.vocab import NO_VOCABULARY, Vocabulary

NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
PREFIX = 5  # letters two words must share to count as forms of one word (expand/expansion)
OPENERS = frozenset([
    "a", "about", "according", "after", "against", "all", "also", "although", "among", "an",
    "and", "another", "any", "are", "as", "at", "because", "before", "both", "but", "by",
    "despite", "during", "each", "either", "even", "finally", "first", "for", "from", "further",
    "furthermore", "given", "he", "her", "here", "his", "however", "if", "in", "indeed",
    "initially", "instead", "it", "its", "later", "many", "meanwhile", "moreover", "most",
    "much", "neither", "nevertheless", "no", "nonetheless", "not", "of", "on", "one", "only",
    "other", "others", "our", "over", "overall", "rather", "several", "she", "similarly",
    "since", "so", "some", "still", "such", "than", "that", "the", "their", "then", "there",
    "therefore", "these", "they", "this", "those", "though", "thus", "to", "today", "under",
    "unlike", "until", "we", "what", "when", "whereas", "which", "while", "who", "why", "with",
    "within", "without", "yet",
    # question words, so that a question's names are found the same way
    "how", "is", "was", "were", "did", "does", "do", "has", "have", "had", "can", "could",
    "would", "should", "will", "whose", "whom", "where", "name", "list", "give", "describe",
    "explain", "compare",
])
# A capitalised first word ending like an adverb or a past participle is not a name ("Partly",
# "Signed").
_NOT_A_NAME = re.compile(r"(?:ly|ed)$")  # not -ing: Beijing
_POSSESSIVE = re.compile(r"['’]s$")
_CLAUSE_END = re.compile(r"(?<=[.!?;:])\s+")
_WORD = re.compile(r"[A-Za-z][\w’'-]*")


def numbers(text: str) -> set[str]:
    return {n.replace(",", "").rstrip(".") for n in NUMBER.findall(text)}


def names(text: str) -> set[str]:
    """Capitalised words (names, places, organisations). The first word of the sentence too,
    unless it is a common opener ("However", "In", "Partly") capitalised only by position."""
    found = set()
    for clause in _CLAUSE_END.split(text):
        words = _WORD.findall(clause)
        found |= {w for w in words[1:] if w[0].isupper() and tokenize(w)}
        first = words[0] if words else ""
        lower = first.lower()
        if first[:1].isupper() and lower not in OPENERS and not _NOT_A_NAME.search(lower) and (
                tokenize(first)):
            found.add(first)
    return found


def same_word(token: str, cited: set[str]) -> bool:
    """The token, or a form of it (derived, or sharing its first PREFIX letters), is cited."""
    return token in cited or (len(token) >= 4 and any(
        len(c) >= 4 and (c.startswith(token) or token.startswith(c)
                         or (len(token) >= PREFIX and c[:PREFIX] == token[:PREFIX]))
        for c in cited))


def _named(token: str, cited: set[str], vocabulary: Vocabulary) -> bool:
    """A name token is in the cited tokens as such, as a derived form, or by another name."""
    return same_word(token, cited) or any(alias <= cited for alias in
                                           vocabulary.other_names(token))


def name_tokens(text: str) -> set[str]:
    """The tokens `named_in` looks for names among."""
    return set(tokenize(re.sub(r"[-■]", " ", text)))


def named_in(name: str, text: str | set[str], vocabulary: Vocabulary = NO_VOCABULARY) -> bool:
    """Whether `text` (or its `name_tokens`) names what `name` names (as written, derived,
    or by another name: the live index's `vocabulary`, which the caller passes)."""
    known = name_tokens(text) if isinstance(text, str) else text
    return all(_named(t, known, vocabulary) for t in tokenize(_POSSESSIVE.sub("", name)))

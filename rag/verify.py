"""Is an answer sentence supported by the spans it cites? One check shared by every answerer.

Support combines content-word overlap (stems, spelling-normalised) with embedding similarity.
Hard rules: every number and every name in the sentence must occur in the cited text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.gold import normalize
from rag.lexical import tokenize

MIN_SUPPORT = 0.6
LEXICAL_WEIGHT = 0.7
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
OPENERS = frozenset([
    "a", "about", "according", "after", "against", "all", "also", "although", "among", "an",
    "and", "another", "any", "are", "as", "at", "because", "before", "both", "but", "by",
    "despite", "during", "each", "either", "even", "for", "from", "further", "furthermore",
    "given", "he", "her", "here", "his", "however", "if", "in", "indeed", "instead", "it", "its",
    "many", "meanwhile", "moreover", "most", "much", "nevertheless", "no", "nonetheless", "not",
    "of", "on", "one", "only", "other", "others", "our", "over", "overall", "rather", "several",
    "she", "similarly", "since", "so", "some", "still", "such", "than", "that", "the", "their",
    "then", "there", "therefore", "these", "they", "this", "those", "though", "thus", "to",
    "today", "under", "unlike", "until", "we", "what", "when", "whereas", "which", "while",
    "who", "why", "with", "within", "without", "yet",
])
_WORD = re.compile(r"[A-Za-z][\w’'-]*")


@dataclass(frozen=True)
class Support:
    score: float
    ok: bool
    missing: list[str] = field(default_factory=list)


def numbers(text: str) -> set[str]:
    return {n.replace(",", "").rstrip(".") for n in NUMBER.findall(text)}


def names(text: str) -> set[str]:
    """Capitalised words (names, places, organisations). The first word of the sentence too,
    unless it is a common opener ("However", "In", "This") capitalised only by position."""
    words = _WORD.findall(text)
    found = {w for w in words[1:] if w[0].isupper() and tokenize(w)}
    if words and words[0].lower() not in OPENERS and tokenize(words[0]):
        found.add(words[0])
    return found


def _named(token: str, cited: set[str]) -> bool:
    """A name token is in the cited text as such or as a derived form, either way round:
    Kazakhstan / Kazakhstani, Russia / Russian (stems of at least 4 letters)."""
    return token in cited or (len(token) >= 4 and any(
        len(c) >= 4 and (c.startswith(token) or token.startswith(c)) for c in cited))


def support(sentence: str, cited: list[str], similarity: float | None = None) -> Support:
    """How well `cited` (original spans) supports `sentence`; `similarity` is their cosine."""
    raw = " ".join(cited)
    # As the reader sees it (line-break hyphens joined), and with every hyphen a space.
    variants = f"{normalize(raw)} {re.sub(r'[-■]', ' ', raw)}"
    cited_tokens = set(tokenize(variants))
    words = tokenize(sentence)
    lexical = sum(w in cited_tokens for w in words) / len(words) if words else 0.0
    missing = sorted(numbers(sentence) - numbers(variants))
    missing += sorted(n for n in names(sentence)
                      if not all(_named(t, cited_tokens) for t in tokenize(n)))
    score = lexical if similarity is None else (
        LEXICAL_WEIGHT * lexical + (1 - LEXICAL_WEIGHT) * max(similarity, 0.0))
    return Support(score=score, ok=not missing and bool(cited) and score >= MIN_SUPPORT,
                   missing=missing)

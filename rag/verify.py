"""Is an answer sentence supported by the spans it cites? One check shared by every answerer.

Support combines content-word overlap (stems, spelling-normalised; a word also counts when it
shares its first letters with a cited word, so "expansion" meets "expand") with the embedding
similarity of sentence and cited text. Hard rules: every number and every name in the sentence
must occur in the cited text — as written, as a derived form (Kazakhstani / Kazakhstan), as
another name of the same thing (SCO / Shanghai Cooperation Organization, Moscow / Russia), or,
for the source's own names (author, title, publisher: "Harding writes that ..."), in the
metadata of the cited document. The weight and the threshold are fitted on the gold set's dev
split (eval/fit.py, rag/calibration.json).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.calibration import calibration
from rag.tokens import normalize, tokenize
from rag.vocab import name_aliases

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


@dataclass(frozen=True)
class Support:
    score: float
    ok: bool
    missing: list[str] = field(default_factory=list)


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


def _same_word(token: str, cited: set[str]) -> bool:
    """The token, or a form of it (derived, or sharing its first PREFIX letters), is cited."""
    return token in cited or (len(token) >= 4 and any(
        len(c) >= 4 and (c.startswith(token) or token.startswith(c)
                         or (len(token) >= PREFIX and c[:PREFIX] == token[:PREFIX]))
        for c in cited))


def _named(token: str, cited: set[str]) -> bool:
    """A name token is in the cited tokens as such, as a derived form, or by another name."""
    return _same_word(token, cited) or any(alias <= cited for alias in
                                           name_aliases().get(token, []))


def name_tokens(text: str) -> set[str]:
    """The tokens `named_in` looks for names among."""
    return set(tokenize(re.sub(r"[-■]", " ", text)))


def named_in(name: str, text: str | set[str]) -> bool:
    """Whether `text` (or its `name_tokens`) names what `name` names (as written, derived,
    or by another name)."""
    known = name_tokens(text) if isinstance(text, str) else text
    return all(_named(t, known) for t in tokenize(_POSSESSIVE.sub("", name)))


def support(sentence: str, cited: list[str], similarity: float | None = None,
            sources: str = "") -> Support:
    """How well `cited` (original spans) supports `sentence`; `similarity` is their cosine;
    `sources` is the metadata (title, authors, publisher) of the cited documents, whose names
    a sentence may use to attribute ("According to Harding, ...")."""
    raw = " ".join(cited)
    # As the reader sees it (line-break hyphens joined), and with every hyphen a space.
    variants = f"{normalize(raw)} {re.sub(r'[-■]', ' ', raw)}"
    cited_tokens = set(tokenize(variants))
    known_names = cited_tokens | set(tokenize(re.sub(r"[-■]", " ", sources)))
    words = tokenize(sentence)
    lexical = sum(_same_word(w, cited_tokens) for w in words) / len(words) if words else 0.0
    missing = sorted(numbers(sentence) - numbers(variants))
    missing += sorted(n for n in names(sentence)
                      if not all(_named(t, known_names) for t in tokenize(_POSSESSIVE.sub("", n))))
    weight, threshold = calibration().verifier_weight, calibration().verifier_threshold
    score = lexical if similarity is None else (
        weight * lexical + (1 - weight) * max(similarity, 0.0))
    return Support(score=score, ok=not missing and bool(cited) and score >= threshold,
                   missing=missing)

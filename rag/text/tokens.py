"""The bottom of the text layer: how quotes are compared and how words become search terms.

`normalize` is the form quotes are checked in (gold evidence, citations): whitespace collapsed,
`■` as a space, words hyphenated across a line break joined ("re-\\nceived" -> "received";
before a capital or a digit the hyphen stays: "Post-\\nSoviet" -> "Post-Soviet").
`tokenize` is what BM25, coverage and the verifier match on: lower-cased word stems (PyStemmer),
bm25s's English stop words dropped, British spellings made American.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable


def normalize(text: str) -> str:
    text = re.sub(r"(?<=[A-Za-z])-[ \t]*\n[ \t]*(?=[a-z])", "", text.replace("■", " "))
    text = re.sub(r"-[ \t]*\n[ \t]*", "-", text)
    return " ".join(text.split())


_SPELLING = [(re.compile(p), r) for p, r in [
    (r"is(ation|ations|e|ed|es|ing|er|ers)$", r"iz\1"),  # organisation, recognise
    (r"ys(e|ed|es|ing)$", r"yz\1"),  # analyse
    (r"(?<=[a-z]{3})our(s|ed|ing|able|ite|ites|hood)?$", r"or\1"),  # behaviour, neighbour
    (r"(?<=[a-z]{3})tre(s|d)?$", r"ter\1"),  # centre
    (r"^(def|off|lic|pret)ence(s)?$", r"\1ense\2"),  # defence
    (r"^programme(s)?$", r"program\1"),
    (r"^sceptic", "skeptic"),
    (r"^focuss(ed|ing)$", r"focus\1"),
    (r"(?<=[a-z]{2}e)ll(ed|ing|er|ers)$", r"l\1"),  # travelled, modelling
]]


def american(word: str) -> str:
    """One spelling for both sides of a lexical match (lower-case input)."""
    for pattern, replacement in _SPELLING:
        word = pattern.sub(replacement, word)
    return word


_TOKEN = re.compile(r"[a-z0-9]+")


@functools.cache
def _stemmer() -> Callable[[str], str]:
    import Stemmer

    return Stemmer.Stemmer("english").stemWord  # type: ignore[no-any-return]


@functools.cache
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


@functools.lru_cache(maxsize=200_000)
def _term(word: str) -> str:
    return _stemmer()(american(word))


def tokenize(text: str) -> list[str]:
    """Lower-cased word stems, stop words dropped, British spellings made American."""
    stop = _stopwords()
    return [_term(w) for w in _TOKEN.findall(text.lower().replace("’", "'")) if w not in stop]

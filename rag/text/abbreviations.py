"""Abbreviations and their long forms, learned from a corpus's own texts.

A corpus defines most of its abbreviations where it first uses them: "the Shanghai Cooperation
Organization (SCO)", the reverse "SCO (Shanghai Cooperation Organisation)", or a list line
"CIS – Commonwealth of Independent States". The Schwartz–Hearst algorithm (Schwartz and Hearst,
"A simple algorithm for identifying abbreviation definitions in biomedical text", PSB 2003)
checks each candidate pair: the short form's letters are found right to left in the long form,
its first letter at the start of the long form's first word.

Written here rather than taken from PyPI: the `abbreviations` package (the one maintained port,
last released 2019) configures the root logger at import, keeps one long form per short form,
reads only the "long (SF)" order, one line at a time (PDF text breaks definitions across lines),
and needs the `regex` package; scispacy's detector needs spaCy and a model. The core is 20 lines.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

# A short form: a capital, then up to 9 letters, digits, & or -, with at least two capitals
# ("SCO", "EurAsEC", "EaEU", "G8"); an "s" may make it plural ("FTAs").
_SHORT = re.compile(r"[A-Z][A-Za-z0-9&-]{1,9}")
_CANDIDATE = re.compile(r"[A-Z][A-Za-z0-9&-]{1,10}")
_BRACKETS = re.compile(r"\(([^()]{2,200})\)")
# The short form before a bracket: "SCO (...)", "the BRICS group (...)".
_BEFORE = re.compile(r"([A-Z][A-Za-z0-9&-]{1,10})(?:\s+[a-z]+)?\s+$")
_LIST_LINE = re.compile(r"^[ \t•*-]*([A-Z][A-Za-z0-9&-]{1,10})[ \t]+[–—:-][ \t]+(.+?)[ \t.;,]*$",
                        re.MULTILINE)
# Where a long form cannot reach back across: a sentence end, a bracket, a quote, a dash.
_BOUNDARY = re.compile(r"[.;:!?()\[\]“”\"—–]")
_SUP = re.compile(r"<sup>.*?</sup>")
_LINE_END_HYPHEN = re.compile(r"-[ \t]*\n\s*")  # found by the hyphen: a look-behind is slow


def clean(text: str) -> str:
    """The text as a reader sees it: PDF word separators (■) and markup gone, words broken at
    a line end joined ("integra-\\ntion", "NATO-\\nRussia"), line ends kept (a list line is
    one line)."""
    if "<sup>" in text:
        text = _SUP.sub("", text)
    text = text.replace("■", " ").replace("*", "")

    def join(match: re.Match[str]) -> str:
        before, after = text[match.start() - 1:match.start()], text[match.end():match.end() + 1]
        if before.islower() and after.islower():
            return ""  # a syllable break
        return "-" if before.isalnum() and after.isupper() else match.group()

    return _LINE_END_HYPHEN.sub(join, text)


def _is_short(candidate: str) -> bool:
    return bool(_SHORT.fullmatch(candidate)) and sum(c.isupper() for c in candidate) >= 2


def _letters(long: str, short: str) -> int | None:
    """Schwartz–Hearst: the index in `long` where the long form of `short` starts, or None.
    Each letter or digit of `short`, right to left, is found further left in `long`; the first
    one at the start of a word."""
    s, at = len(short) - 1, len(long) - 1
    while s >= 0:
        char = short[s].lower()
        if not char.isalnum():
            s -= 1
            continue
        while at >= 0 and (long[at].lower() != char
                           or (s == 0 and at > 0 and long[at - 1].isalnum())):
            at -= 1
        if at < 0:
            return None
        at, s = at - 1, s - 1
    return at + 1


def _initials_agree(short: str, long: str) -> bool:
    """At least half of the short form's capitals are initials of the long form's words: a
    match found mostly inside words is chance ("(PRC)" after "the procedure")."""
    initials = Counter(w[0].lower() for w in re.split(r"[\s/-]+", long) if w)
    wanted = Counter(c.lower() for c in short if c.isupper())
    return 2 * sum((wanted & initials).values()) >= sum(wanted.values())


def _long_form(short: str, text: str, whole: bool) -> str | None:
    """The long form of `short` at the end of `text` (the words before "(SF)"), or — `whole` —
    making up all of `text` (after an optional "the")."""
    text = " ".join(text.split()).strip(" ,")
    if not whole:
        text = _BOUNDARY.split(text)[-1].strip(" ,")
        words = text.split(" ")
        text = " ".join(words[-min(len(short) + 5, 2 * len(short)):])
    start = _letters(text, short)
    if start is None:
        return None
    found = text[start:].strip(" ,")
    if whole and text[:start].strip().lower() not in ("", "the"):
        return None
    words = found.split(" ")
    if (short.lower() in (w.lower() for w in words) or len(found) <= len(short)
            or not _initials_agree(short, found)
            or len(words) > min(len(short) + 5, 2 * len(short))):
        return None
    return found


def _pair(short: str, text: str, whole: bool) -> tuple[str, str] | None:
    """(short form, long form), a plural short form made singular with its long form."""
    if short.endswith("s") and _is_short(short[:-1]):
        found = _long_form(short[:-1], text, whole)
        if found is not None:
            return short[:-1], found[:-1] if found.endswith("s") else found
    if not _is_short(short):
        return None
    found = _long_form(short, text, whole)
    return None if found is None else (short, found)


def pairs(text: str) -> list[tuple[str, str]]:
    """Every (short form, long form) one text defines, in the order it defines them."""
    text = clean(text)
    found = []
    for match in _BRACKETS.finditer(text):  # found from the brackets: a regex for the words
        inside = match.group(1).strip()     # before each would try every word of the text
        if _CANDIDATE.fullmatch(inside):
            found.append(_pair(inside, text[max(0, match.start() - 300):match.start()],
                               whole=False))
            continue
        before = _BEFORE.search(text, max(0, match.start() - 40), match.start())
        if before is not None:
            found.append(_pair(before.group(1), inside, whole=True))
    for match in _LIST_LINE.finditer(text):
        found.append(_pair(match.group(1), match.group(2), whole=True))
    return [p for p in found if p is not None]


def learn(texts: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Short form -> its long forms (several where the texts spell it several ways), from all
    `texts`. Deterministic, whatever the order of `texts`: short forms sorted, long forms
    sorted, one per case-insensitive spelling."""
    found: dict[str, dict[str, str]] = {}
    for text in texts:
        for short, long in pairs(text):
            forms = found.setdefault(short, {})  # of two cases, the capitalised one
            forms[long.casefold()] = min(forms.get(long.casefold(), long), long)
    return {short: tuple(sorted(forms.values(), key=lambda f: (f.casefold(), f)))
            for short, forms in sorted(found.items())}

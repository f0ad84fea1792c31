"""Words hyphenated across a line break: join syllables, keep real compounds.

"re-\\nceived" becomes "received"; "Post-\\nSoviet" and "decision-\\nmaking" keep their hyphen.
The evidence comes from the document itself (so one file's cleaning never depends on
another's): a spelling seen elsewhere in the document wins; otherwise two halves that are
both words of the document make a compound; otherwise the break is a syllable break.
"""

from __future__ import annotations

import re
from collections import Counter

from rag.text.textmap import MappedText

BREAK = re.compile(r"(?<=\S)-[ \t]*\n[ \t]*(?=\S)")
_WORD_AROUND = re.compile(r"(?<![A-Za-z])([A-Za-z]+)-[ \t]*\n[ \t]*([A-Za-z]+)")
_WORD = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*")
_MIN_COMPOUND_PART = 4
_WINDOW = 64  # characters looked at on each side of a break


def vocabulary(text: str) -> Counter[str]:
    """Lower-cased words and hyphenated compounds of `text`, not counting broken words."""
    text = _WORD_AROUND.sub(" ", text)
    counts: Counter[str] = Counter()
    for word in _WORD.findall(text):
        word = word.lower()
        counts[word] += 1
        if "-" in word:
            counts.update(word.split("-"))
    return counts


def should_join(left: str, right: str, vocab: Counter[str]) -> bool:
    """True when `left-` + newline + `right` is one word broken in two."""
    if not (left.isalpha() and right.isalpha()) or right[0].isupper():
        return False  # 1996-\n1998, Post-\nSoviet, U.S.-\nled
    joined, hyphenated = (left + right).lower(), f"{left}-{right}".lower()
    if vocab[hyphenated] > vocab[joined]:
        return False
    if vocab[joined]:
        return True
    both_words = all(
        len(part) >= _MIN_COMPOUND_PART and vocab[part.lower()] for part in (left, right)
    )
    return not both_words


def join_broken_words(mt: MappedText, vocab: Counter[str]) -> MappedText:
    """Remove line-break hyphenation; a kept compound loses only the line break."""
    edits = []
    for m in BREAK.finditer(mt.text):
        left = re.search(r"\S+$", mt.text[max(0, m.start() - _WINDOW): m.start()])
        right = re.match(r"\S+", mt.text[m.end(): m.end() + _WINDOW])
        word_left = re.sub(r"^.*[^A-Za-z]", "", left.group(0)) if left else ""
        word_right = re.sub(r"[^A-Za-z].*$", "", right.group(0)) if right else ""
        joined = bool(word_left and word_right) and should_join(word_left, word_right, vocab)
        edits.append((m.start(), m.end(), "" if joined else "-"))
    return mt.edit(edits) if edits else mt

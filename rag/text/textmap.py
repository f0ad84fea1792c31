"""Text that remembers where each of its characters came from in the original file.

Every cleaning step is an edit of a `MappedText`; character `i` of the cleaned text derives
from `original[starts[i]:ends[i]]`. So any span of cleaned text maps back to a span of the
original file, and a citation can always quote `original[start:end]` exactly.

No library keeps character offsets through regex substitutions and ftfy repairs, so this
small structure is written here; the edits themselves are plain `re` and `difflib`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Edit = tuple[int, int, str]  # replace text[start:end] with the string
Repl = str | Callable[[re.Match[str]], str | None]


@dataclass(frozen=True)
class MappedText:
    text: str
    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]

    @classmethod
    def of(cls, original: str) -> MappedText:
        starts = np.arange(len(original), dtype=np.int64)
        return cls(original, starts, starts + 1)

    def __len__(self) -> int:
        return len(self.text)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original-file span `[s, e)` from which cleaned `text[start:end]` derives."""
        if not 0 <= start < end <= len(self.text):
            raise ValueError(f"bad span [{start}, {end}) of a text of length {len(self.text)}")
        return int(self.starts[start:end].min()), int(self.ends[start:end].max())

    def slice(self, start: int, end: int) -> MappedText:
        return MappedText(self.text[start:end], self.starts[start:end], self.ends[start:end])

    def edit(self, edits: Iterable[Edit]) -> MappedText:
        """Apply non-overlapping edits given in text order.

        A replacement as long as what it replaces maps character to character; otherwise
        each new character maps to the whole replaced span (or, for an insertion, to the
        character it is inserted before).
        """
        texts: list[str] = []
        starts: list[npt.NDArray[np.int64]] = []
        ends: list[npt.NDArray[np.int64]] = []
        pos = 0
        for a, b, new in edits:
            if a < pos or b < a:
                raise ValueError(f"edits overlap or go backwards at [{a}, {b})")
            texts.append(self.text[pos:a])
            starts.append(self.starts[pos:a])
            ends.append(self.ends[pos:a])
            if new:
                s, e = self._new_span(a, b, len(new))
                texts.append(new)
                starts.append(s)
                ends.append(e)
            pos = b
        if pos == 0 and not texts:
            return self
        texts.append(self.text[pos:])
        starts.append(self.starts[pos:])
        ends.append(self.ends[pos:])
        return MappedText("".join(texts), np.concatenate(starts), np.concatenate(ends))

    def _new_span(
        self, a: int, b: int, length: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        if b - a == length:
            return self.starts[a:b], self.ends[a:b]
        if a < b:
            return (np.full(length, self.starts[a:b].min(), dtype=np.int64),
                    np.full(length, self.ends[a:b].max(), dtype=np.int64))
        anchor = self.starts[a] if a < len(self.text) else (self.ends[-1] if len(self) else 0)
        return (np.full(length, anchor, dtype=np.int64), np.full(length, anchor, dtype=np.int64))

    def sub(self, pattern: re.Pattern[str], repl: Repl) -> MappedText:
        """Like `pattern.sub`; a callable returning None leaves that match as it is."""
        edits: list[Edit] = []
        for m in pattern.finditer(self.text):
            new = repl if isinstance(repl, str) else repl(m)
            if new is not None and new != m.group(0):
                edits.append((m.start(), m.end(), new))
        return self.edit(edits) if edits else self

    def keep_group(self, pattern: re.Pattern[str], group: int = 1) -> MappedText:
        """Delete each match except its `group` (e.g. markup around the text it marks up)."""
        edits: list[Edit] = []
        for m in pattern.finditer(self.text):
            edits.append((m.start(), m.start(group), ""))
            edits.append((m.end(group), m.end(), ""))
        return self.edit(e for e in edits if e[0] < e[1]) if edits else self

    def replace_by_diff(self, start: int, end: int, new: str) -> list[Edit]:
        """Edits turning `text[start:end]` into `new`, aligned character by character."""
        old = self.text[start:end]
        matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
        return [(start + i1, start + i2, new[j1:j2])
                for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]

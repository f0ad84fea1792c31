"""Lexical retrieval: BM25 (bm25s) over the chunks, with stop words, spelling and stemming.

Built at ingest from the chunks in Chroma and persisted next to it, never rebuilt per query.
Each build goes to a folder of its own; a small pointer file, replaced atomically, names the
current one, so a reader never sees a half-written index.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Container, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.text.tokens import tokenize

POINTER = "current.json"


def terms(text: str) -> list[str]:
    """A chunk's BM25 terms (one placeholder for a chunk without any)."""
    return tokenize(text) or ["\0"]


class LexicalIndex:
    def __init__(self, bm25: Any, ids: list[str]) -> None:
        self.bm25, self.ids = bm25, ids
        self._position = {chunk_id: i for i, chunk_id in enumerate(ids)}

    @classmethod
    def build(cls, ids: Sequence[str], texts: Sequence[str]) -> LexicalIndex:
        return cls.from_tokens(ids, [terms(t) for t in texts])

    @classmethod
    def from_tokens(cls, ids: Sequence[str], tokens: list[list[str]]) -> LexicalIndex:
        import bm25s

        bm25 = bm25s.BM25()
        bm25.index(tokens, show_progress=False)
        return cls(bm25, list(ids))

    def search(self, query: str, k: int,
               allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """Up to k (chunk id, score) pairs with a positive score, best first."""
        tokens = list(dict.fromkeys(tokenize(query)))  # each term once: spelled-out
        if not tokens or not self.ids:                 # abbreviations must not swamp the rest
            return []
        mask = None
        if allowed is not None:
            mask = np.zeros(len(self.ids), dtype=np.float32)
            mask[[self._position[i] for i in allowed if i in self._position]] = 1.0
        docs, scores = self.bm25.retrieve([tokens], k=min(k, len(self.ids)), show_progress=False,
                                          weight_mask=mask)
        return [(self.ids[d], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    @property
    def vocabulary(self) -> Container[str]:
        """Every token (as `tokenize` makes them) that occurs in the indexed chunks."""
        vocab: Container[str] = self.bm25.vocab_dict
        return vocab

    def save(self, folder: Path, key: str) -> None:
        """Write into folder/<key>/, then point folder/current.json at it; drop older builds."""
        target = folder / key
        shutil.rmtree(target, ignore_errors=True)
        self.bm25.save(str(target), show_progress=False)
        (target / "ids.json").write_text(json.dumps(self.ids))
        tmp = folder / f"{POINTER}.tmp"
        tmp.write_text(json.dumps({"key": key}))
        os.replace(tmp, folder / POINTER)
        for old in folder.iterdir():
            if old.is_dir() and old.name != key:
                shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> tuple[LexicalIndex, str] | None:
        """The current build and its key, or None when there is none."""
        import bm25s

        try:
            key = json.loads((folder / POINTER).read_text())["key"]
            ids = json.loads((folder / key / "ids.json").read_text())
            bm25 = bm25s.BM25.load(str(folder / key), show_progress=False)
        except (OSError, ValueError, KeyError):
            return None
        return cls(bm25, ids), key

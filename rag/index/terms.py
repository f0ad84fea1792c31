"""Each document's BM25 terms, kept per document version in the generation (terms/<sha>.json),
so that the BM25 index of a new generation is built from the unchanged documents' stored terms
and only the new ones are tokenized: at 100x the corpus, reading every chunk back from Chroma
and tokenizing it again took most of an ingest that changed one document."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from rag.index.lexical import LexicalIndex, terms

FOLDER = "terms"


def save(generation: Path, sha256: str, ids: list[str], texts: list[str]) -> None:
    path = generation / FOLDER / f"{sha256}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"ids": ids, "terms": [terms(t) for t in texts]}))


Stored = Callable[[str], tuple[list[str], list[str]]]  # a document's chunk ids and texts


def build(generation: Path, docs: dict[str, str],
          stored: Stored) -> tuple[LexicalIndex, Counter[str]]:
    """The BM25 index of the documents `docs` (name -> content hash) and their chunk counts.
    A document without a terms file (an index built before them) is read with `stored` (its
    chunk ids and texts) and its file written."""
    ids: list[str] = []
    tokens: list[list[str]] = []
    counts = Counter[str]()
    for doc, sha in sorted(docs.items()):
        path = generation / FOLDER / f"{sha}.json"
        if not path.is_file():
            save(generation, sha, *stored(doc))
        saved = json.loads(path.read_text())
        ids += saved["ids"]
        # one string object per distinct term (json makes one per occurrence)
        tokens += [[sys.intern(t) for t in chunk] for chunk in saved["terms"]]
        if saved["ids"]:
            counts[doc] = len(saved["ids"])
    return LexicalIndex.from_tokens(ids, tokens), counts


def prune(generation: Path, keep: set[str]) -> None:
    for path in (generation / FOLDER).glob("*.json"):
        if path.stem not in keep:
            path.unlink(missing_ok=True)

"""Each document's BM25 terms, kept in the generation, so that a new generation's BM25 index
is built from the unchanged documents' stored terms and only new documents are tokenized: at
100x the corpus, reading every chunk back from Chroma and tokenizing it again took most of an
ingest that changed one document.

    terms/<sha>.json   one document version's chunk ids and terms (written as it is embedded)
    terms/all.npz      every indexed document's terms as token ids, with the ids, the
                       vocabulary and the documents they belong to (written at each build)

A build takes the unchanged documents from all.npz (reading 500 JSON files and mapping their
terms to ids took 0.4 s at 100x), the others from their JSON file, or from Chroma (`stored`)
for an index written before terms files. Every file here is written to a temporary name and
renamed, never rewritten in place: generations share these files (hard links).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.index import bm25_ids
from rag.index.lexical import LexicalIndex, terms

FOLDER = "terms"
ALL = "all.npz"

Stored = Callable[[str], tuple[list[str], list[str]]]  # a document's chunk ids and texts


def save(generation: Path, sha256: str, ids: list[str], texts: list[str]) -> None:
    path = generation / FOLDER / f"{sha256}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp")
    tmp.write_text(json.dumps({"ids": ids, "terms": [terms(t) for t in texts]}))
    os.replace(tmp, path)


@dataclass
class _Corpus:
    """Chunks as flat token ids: what the BM25 build takes."""

    vocab: dict[str, int] = field(default_factory=dict)
    ids: list[str] = field(default_factory=list)
    tokens: list[np.ndarray] = field(default_factory=list)
    lengths: list[np.ndarray] = field(default_factory=list)
    docs: list[tuple[str, int]] = field(default_factory=list)  # (sha, chunks), in order

    def add(self, sha: str, ids: list[str], chunk_terms: list[list[str]]) -> None:
        ids_of = self.vocab.setdefault
        self.tokens.append(np.array([ids_of(t, len(self.vocab)) for chunk in chunk_terms
                                     for t in chunk], dtype=np.int32))
        self.lengths.append(np.array([len(chunk) for chunk in chunk_terms], dtype=np.int64))
        self.ids += ids
        self.docs.append((sha, len(ids)))


def build(generation: Path, docs: dict[str, str],
          stored: Stored) -> tuple[LexicalIndex, Counter[str]]:
    """The BM25 index of the documents `docs` (name -> content hash) and their chunk counts."""
    cached = _load(generation / FOLDER / ALL)
    corpus, counts = _Corpus(vocab=cached.vocab), Counter[str]()
    for doc, sha in sorted(docs.items()):
        if sha in cached.parts:
            ids, tokens, lengths = cached.parts[sha]
            corpus.ids += ids
            corpus.tokens.append(tokens)
            corpus.lengths.append(lengths)
            corpus.docs.append((sha, len(ids)))
        else:
            path = generation / FOLDER / f"{sha}.json"
            if not path.is_file():
                save(generation, sha, *stored(doc))
            saved = json.loads(path.read_text())
            corpus.add(sha, saved["ids"], saved["terms"])
        if corpus.docs[-1][1]:
            counts[doc] = corpus.docs[-1][1]
    tokens, lengths, vocab = _compact(corpus)
    _save(generation / FOLDER / ALL, corpus, tokens, lengths, vocab)
    return LexicalIndex(bm25_ids.index(tokens, lengths, vocab), corpus.ids), counts


def _compact(corpus: _Corpus) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """The token ids renumbered over the terms that occur (removed documents' terms go)."""
    tokens = np.concatenate(corpus.tokens) if corpus.tokens else np.zeros(0, np.int32)
    lengths = np.concatenate(corpus.lengths) if corpus.lengths else np.zeros(0, np.int64)
    used = np.zeros(len(corpus.vocab), dtype=bool)
    used[tokens] = True
    renumber = (np.cumsum(used) - 1).astype(np.int32)
    names = list(corpus.vocab)
    return (renumber[tokens], lengths,
            {names[i]: new for new, i in enumerate(np.flatnonzero(used).tolist())})


@dataclass
class _Cached:
    vocab: dict[str, int] = field(default_factory=dict)
    parts: dict[str, tuple[list[str], np.ndarray, np.ndarray]] = field(default_factory=dict)


def _load(path: Path) -> _Cached:
    """all.npz as each document version's (ids, token ids, chunk lengths); empty when it is
    missing or does not add up (then the JSON files are read)."""
    try:
        with np.load(path, allow_pickle=False) as saved:
            meta = json.loads(bytes(saved["meta"]).decode())
            tokens, lengths = saved["tokens"], saved["lengths"]
    except (OSError, ValueError, KeyError):
        return _Cached()
    vocab, ids, docs = meta["vocab"], meta["ids"], meta["docs"]
    if len(ids) != len(lengths) or int(lengths.sum()) != len(tokens) or \
            sum(n for _, n in docs) != len(ids) or (len(tokens) and tokens.max() >= len(vocab)):
        return _Cached()
    ends = np.concatenate([[0], np.cumsum(lengths)])
    parts, chunk = {}, 0
    for sha, n in docs:
        parts[sha] = (ids[chunk:chunk + n], tokens[ends[chunk]:ends[chunk + n]],
                      lengths[chunk:chunk + n])
        chunk += n
    return _Cached({term: i for i, term in enumerate(vocab)}, parts)


def _save(path: Path, corpus: _Corpus, tokens: np.ndarray, lengths: np.ndarray,
          vocab: dict[str, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = json.dumps({"vocab": list(vocab), "ids": corpus.ids, "docs": corpus.docs})
    tmp = path.with_name(f"{path.name}.tmp.npz")
    np.savez(tmp, tokens=tokens, lengths=lengths,
             meta=np.frombuffer(meta.encode(), dtype=np.uint8))
    os.replace(tmp, path)


def prune(generation: Path, keep: set[str]) -> None:
    """Remove the terms of document versions not in `keep`, and any temporary file."""
    for path in (generation / FOLDER).glob("*"):
        if path.name != ALL and (path.suffix != ".json" or path.stem not in keep):
            path.unlink(missing_ok=True)

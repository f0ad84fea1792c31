"""Retrieval and answer metrics for one question against its gold item (formulas: eval/README.md).

A retrieved passage is relevant to an evidence quote when it comes from the quote's document
and contains at least 80% of the quote's normalised tokens (robust to re-chunking).
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Sequence
from typing import Protocol

from rag.evaluate.gold import GoldItem
from rag.text.tokens import normalize

CONTAINMENT = 0.8
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def squad_tokens(text: str) -> list[str]:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in normalize(text).lower() if ch not in string.punctuation + "’‘“”–—")
    return _ARTICLES.sub(" ", text).split()


def contains(passage: str, quote: str) -> bool:
    wanted = Counter(squad_tokens(quote))
    have = Counter(squad_tokens(passage))
    found = sum(min(n, have[t]) for t, n in wanted.items())
    return bool(wanted) and found / sum(wanted.values()) >= CONTAINMENT


class Retrieved(Protocol):
    """What retrieval metrics read of a passage: the pipeline's Passage, a baseline's Hit."""

    @property
    def doc(self) -> str: ...

    @property
    def text(self) -> str: ...


def relevant(passage: Retrieved, quotes: list[tuple[str, str]]) -> bool:
    """The passage comes from a quote's document and contains that quote (80% of tokens)."""
    return any(passage.doc == d and contains(passage.text, q) for d, q in quotes)


def retrieval(item: GoldItem, retrieved: Sequence[Retrieved], k: int) -> dict[str, float]:
    quotes = item.quotes()
    top = retrieved[:k]
    relevant_at = [relevant(p, quotes) for p in top]
    found = [any(relevant(p, [(d, q)]) for p in top) for d, q in quotes]
    first = next((rank for rank, rel in enumerate(relevant_at, start=1) if rel), None)
    dcg = sum(1 / math.log2(i + 2) for i, rel in enumerate(relevant_at) if rel)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(k, len(quotes))))
    return {"hit": float(first is not None), "precision": sum(relevant_at) / k,
            "recall": sum(found) / len(quotes), "mrr": 1 / first if first else 0.0,
            "ndcg": dcg / ideal if ideal else 0.0}


def answer_overlap(gold: str, produced: str) -> dict[str, float]:
    """Token recall and F1 of the gold answer in the produced answer (SQuAD)."""
    gold_tokens = squad_tokens(gold)
    produced_tokens = squad_tokens(re.sub(r"\[\d+\]", "", produced))
    common = sum((Counter(gold_tokens) & Counter(produced_tokens)).values())
    if not gold_tokens or not produced_tokens or not common:
        return {"token_recall": 0.0, "f1": 0.0}
    recall, precision = common / len(gold_tokens), common / len(produced_tokens)
    return {"token_recall": recall, "f1": 2 * precision * recall / (precision + recall)}

"""Aggregate metrics of one system over a set of gold items (formulas: eval/README.md).

Every function takes rows of (gold item, what the system returned) and gives a flat dict of
metric name -> value; a metric with nothing to average over is None (shown as "–").
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from rag.gold import GoldItem
from rag.metrics import answer_overlap, contains, retrieval

Metrics = dict[str, float | None]
RETRIEVAL = ("hit", "precision", "recall", "mrr", "ndcg")


@dataclass
class Row:
    """One question: the gold item, the `rag ask --json` object (pipeline) or the retrieved
    passages (baselines), and its latency."""

    item: GoldItem
    retrieved: list[dict[str, Any]]
    latency_ms: float
    result: dict[str, Any] = field(default_factory=dict)
    faithful: list[bool] = field(default_factory=list)

    @property
    def answerable(self) -> bool:
        return self.item.type != "unanswerable"


def mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def percentile(values: list[float], p: int) -> float | None:
    if len(values) < 2:
        return values[0] if values else None
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def retrieval_metrics(rows: list[Row], k: int) -> Metrics:
    per_item = [retrieval(r.item, r.retrieved, k) for r in rows if r.answerable]
    return {name: mean(m[name] for m in per_item) for name in RETRIEVAL}


def latency(rows: list[Row]) -> Metrics:
    """Per question: the whole answer for the pipeline, retrieval alone for a baseline; and
    the pipeline's retrieval stage on its own (its `timings_ms.retrieve`)."""
    times = [r.latency_ms for r in rows]
    stage = [r.result["timings_ms"]["retrieve"] for r in rows if r.result]
    found = {"latency_p50_ms": percentile(times, 50), "latency_p95_ms": percentile(times, 95)}
    if stage:
        found |= {"retrieve_p50_ms": percentile(stage, 50),
                  "retrieve_p95_ms": percentile(stage, 95)}
    return found


def _relevant(citation: dict[str, Any], item: GoldItem) -> bool:
    return any(citation["doc"] == doc and (contains(citation["quote"], q)
                                           or contains(q, citation["quote"]))
               for doc, q in item.quotes())


def _covered(item: GoldItem, citations: list[dict[str, Any]]) -> float:
    found = [contains(" ".join(c["quote"] for c in citations if c["doc"] == doc), q)
             for doc, q in item.quotes()]
    return sum(found) / len(found)


def citation_metrics(rows: list[Row], original: Callable[[str], str]) -> Metrics:
    answered = [r for r in rows if r.answerable and not r.result["abstained"]]
    sentences = [s for r in rows for s in r.result["sentences"]]
    citations = [c for r in rows for c in r.result["citations"]]
    return {
        "citation_precision": mean(mean(_relevant(c, r.item) for c in r.result["citations"])
                                   or 0.0 for r in answered),
        "citation_recall": mean(_covered(r.item, r.result["citations"])
                                for r in rows if r.answerable),
        "cited_sentences": mean(bool(s["citations"]) for s in sentences),
        "exact_quotes": mean(original(c["doc"])[c["start"]:c["end"]] == c["quote"]
                             for c in citations),
        "faithfulness": mean(ok for r in rows for ok in r.faithful),
    }


def answer_metrics(rows: list[Row]) -> Metrics:
    overlaps = [answer_overlap(r.item.answer, "" if r.result["abstained"] else r.result["answer"])
                for r in rows if r.answerable]
    return {
        "token_recall": mean(o["token_recall"] for o in overlaps),
        "f1": mean(o["f1"] for o in overlaps),
        "abstained_unanswerable": mean(r.result["abstained"] for r in rows if not r.answerable),
        "abstained_answerable": mean(r.result["abstained"] for r in rows if r.answerable),
    }


def pipeline_metrics(rows: list[Row], k: int, original: Callable[[str], str]) -> Metrics:
    return {**retrieval_metrics(rows, k), **answer_metrics(rows),
            **citation_metrics(rows, original), **latency(rows)}


def baseline_metrics(rows: list[Row], k: int) -> Metrics:
    return {**retrieval_metrics(rows, k), **latency(rows)}


def by_type(rows: list[Row], score: Callable[[list[Row]], Metrics]) -> dict[str, Metrics]:
    types = sorted({r.item.type for r in rows})
    return {t: {"questions": float(len(sub)), **score(sub)}
            for t in types if (sub := [r for r in rows if r.item.type == t])}

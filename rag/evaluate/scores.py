"""Aggregate metrics of one system over a set of gold items (formulas: eval/README.md).

Every function takes rows of (gold item, what the system returned) and gives a flat dict of
metric name -> value; a metric with nothing to average over is None (shown as "–").
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from rag.answering.backends.schema import PARSE_FAILED
from rag.evaluate.gold import GoldItem
from rag.evaluate.metrics import Retrieved, answer_overlap, contains, retrieval
from rag.evaluate.summary import Metrics, SplitScores
from rag.types import Answer, Citation

RETRIEVAL = ("hit", "precision", "recall", "mrr", "ndcg")
QUALITY = ("hit", "precision", "recall", "mrr", "ndcg", "token_recall", "f1", "faithfulness",
           "citation_precision", "citation_recall", "cited_sentences", "exact_quotes",
           "abstained_unanswerable", "abstained_answerable", "multi_doc_all_docs",
           "unparsed_replies")


@dataclass
class Row:
    """One question: the gold item, what was retrieved, its latency, and (pipeline only) the
    Answer, whose `to_dict()` is the `rag ask --json` object."""

    item: GoldItem
    retrieved: Sequence[Retrieved]
    latency_ms: float
    answer: Answer | None = None
    faithful: list[bool] = field(default_factory=list)

    @property
    def result(self) -> Answer:
        """The pipeline's Answer (a baseline row has none)."""
        if self.answer is None:
            raise ValueError(f"{self.item.id}: a baseline row has no answer")
        return self.answer

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
    stage = [r.answer.timings_ms["retrieve"] for r in rows if r.answer]
    found = {"latency_p50_ms": percentile(times, 50), "latency_p95_ms": percentile(times, 95)}
    if stage:
        found |= {"retrieve_p50_ms": percentile(stage, 50),
                  "retrieve_p95_ms": percentile(stage, 95)}
    return found


def _relevant(citation: Citation, item: GoldItem) -> bool:
    return any(citation.doc == doc and (contains(citation.quote, q) or contains(q, citation.quote))
               for doc, q in item.quotes())


def _covered(item: GoldItem, citations: list[Citation]) -> float:
    found = [contains(" ".join(c.quote for c in citations if c.doc == doc), q)
             for doc, q in item.quotes()]
    return sum(found) / len(found)


def citation_metrics(rows: list[Row], original: Callable[[str], str]) -> Metrics:
    answered = [r for r in rows if r.answerable and not r.result.abstained]
    sentences = [s for r in rows for s in r.result.sentences]
    citations = [c for r in rows for c in r.result.citations]
    return {
        "citation_precision": mean(mean(_relevant(c, r.item) for c in r.result.citations)
                                   or 0.0 for r in answered),
        "citation_recall": mean(_covered(r.item, r.result.citations)
                                for r in rows if r.answerable),
        "cited_sentences": mean(bool(s.citations) for s in sentences),
        "exact_quotes": mean(original(c.doc)[c.start:c.end] == c.quote for c in citations),
        "faithfulness": mean(ok for r in rows for ok in r.faithful),
    }


def answer_metrics(rows: list[Row]) -> Metrics:
    overlaps = [answer_overlap(r.item.answer, "" if r.result.abstained else r.result.answer)
                for r in rows if r.answerable]
    return {
        "token_recall": mean(o["token_recall"] for o in overlaps),
        "f1": mean(o["f1"] for o in overlaps),
        "abstained_unanswerable": mean(r.result.abstained for r in rows if not r.answerable),
        "abstained_answerable": mean(r.result.abstained for r in rows if r.answerable),
        "multi_doc_all_docs": mean(_all_docs_cited(r) for r in rows
                                   if r.item.type == "multi_doc"),
        # an LLM backend's replies that were not the answer schema (rag/answering/backends/
        # schema.py); 0 for the extractive backend, which writes no reply
        "unparsed_replies": mean(any(n.startswith(PARSE_FAILED) for n in r.result.notes)
                                 for r in rows),
    }


def _all_docs_cited(row: Row) -> bool:
    """Answered, with a citation from every document the gold evidence needs."""
    needed = {doc for doc, _ in row.item.quotes()}
    cited = {c.doc for c in row.result.citations}
    return not row.result.abstained and needed <= cited


def pipeline_metrics(rows: list[Row], k: int, original: Callable[[str], str]) -> Metrics:
    return {**retrieval_metrics(rows, k), **answer_metrics(rows),
            **citation_metrics(rows, original), **latency(rows)}


def baseline_metrics(rows: list[Row], k: int) -> Metrics:
    return {**retrieval_metrics(rows, k), **latency(rows)}


def by_type(rows: list[Row], score: Callable[[list[Row]], Metrics]) -> dict[str, Metrics]:
    types = sorted({r.item.type for r in rows})
    return {t: {"questions": float(len(sub)), **score(sub)}
            for t in types if (sub := [r for r in rows if r.item.type == t])}


def gap(splits: dict[str, SplitScores]) -> Metrics:
    """|dev - test| of every quality metric of the pipeline and of the verifier's accuracy
    (overall and per kind); empty unless the run has both splits."""
    if not {"dev", "test"} <= set(splits):
        return {}
    dev, test = splits["dev"], splits["test"]
    pairs = {f"pipeline.{m}": (dev.systems["pipeline"].overall.get(m),
                               test.systems["pipeline"].overall.get(m)) for m in QUALITY}
    pairs["verifier.accuracy"] = (dev.verifier.accuracy, test.verifier.accuracy)
    for kind in dev.verifier.by_kind:
        pairs[f"verifier.{kind}"] = (dev.verifier.by_kind[kind], test.verifier.by_kind.get(kind))
    return {key: None if a is None or b is None else abs(a - b) for key, (a, b) in pairs.items()}

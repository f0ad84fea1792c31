"""Aggregate metrics of one system over a set of gold items (formulas: eval/README.md).

Every function takes rows of (gold item, what the system returned) and gives a flat dict of
metric name -> value; a metric with nothing to average over is None (shown as "–").
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Literal

from rag.answering.backends.schema import PARSE_FAILED
from rag.evaluate.gold import GoldItem
from rag.evaluate.metrics import Retrieved, answer_overlap, contains, retrieval
from rag.evaluate.summary import Metrics, OperatingPoint, RiskCoverage, RiskPoint, SplitScores
from rag.types import Answer, Citation

RETRIEVAL = ("hit", "precision", "recall", "mrr", "ndcg")
QUALITY = ("hit", "precision", "recall", "mrr", "ndcg", "token_recall", "f1", "faithfulness",
           "citation_precision", "citation_recall", "cited_sentences", "exact_quotes",
           "abstained_unanswerable", "abstained_answerable", "multi_doc_all_docs",
           "unparsed_replies", "confident_answerable", "hedged_answerable",
           "answered_answerable", "confident_unanswerable", "hedged_unanswerable")
# What became of each question: answered confidently, answered with a hedge (the confidence is
# in the middle band), or abstained; the share of answerable and of unanswerable questions each.
OUTCOMES = ("confident_answerable", "hedged_answerable", "abstained_answerable",
            "answered_answerable", "confident_unanswerable", "hedged_unanswerable",
            "abstained_unanswerable")
Outcome = Literal["confident", "hedged", "abstained"]
CURVE_POINTS = 20


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


def outcome(answer: Answer) -> Outcome:
    """Abstained, answered with a hedge, or answered confidently (abstaining comes first)."""
    if answer.abstained:
        return "abstained"
    return "hedged" if answer.hedged else "confident"


def outcome_metrics(rows: list[Row]) -> Metrics:
    """The shares of answerable and of unanswerable questions answered confidently or hedged
    (abstained_*: answer_metrics), and answered either way."""
    answerable = [outcome(r.result) for r in rows if r.answerable]
    unanswerable = [outcome(r.result) for r in rows if not r.answerable]
    return {
        "confident_answerable": mean(o == "confident" for o in answerable),
        "hedged_answerable": mean(o == "hedged" for o in answerable),
        "answered_answerable": mean(o != "abstained" for o in answerable),
        "confident_unanswerable": mean(o == "confident" for o in unanswerable),
        "hedged_unanswerable": mean(o == "hedged" for o in unanswerable),
    }


def set_metrics(rows: list[Row]) -> dict[str, Metrics]:
    """Per named set of gold items (`GoldItem.set`): its counts and OUTCOMES; a set with no
    rows here has no entry."""
    names = sorted({r.item.set for r in rows if r.item.set is not None})
    found = {}
    for name in names:
        sub = [r for r in rows if r.item.set == name]
        answered = {**answer_metrics(sub), **outcome_metrics(sub)}
        answerable = sum(r.answerable for r in sub)
        found[name] = {"questions": float(len(sub)), "answerable": float(answerable),
                       "unanswerable": float(len(sub) - answerable),
                       **{m: answered[m] for m in OUTCOMES}}
    return found


def wrong(row: Row) -> bool:
    """As the risk-coverage curve counts it: unanswerable, abstained, or no citation relevant
    to the gold evidence."""
    return (not row.answerable or row.result.abstained
            or not any(_relevant(c, row.item) for c in row.result.citations))


def _confidence(row: Row) -> float:
    return row.result.confidence or 0.0


def risk_coverage(rows: list[Row], points: int = CURVE_POINTS) -> RiskCoverage | None:
    """Rank the questions by confidence (descending, None as 0); at each distinct confidence
    (ties are one cutoff) coverage = the share of all questions at or above it and risk = the
    share of those that are wrong. AURC = the area under that step curve, sum over cutoffs of
    (coverage - previous coverage) * risk: without ties, the mean of the risk over the top 1, 2,
    ..., n questions. `points`: the first cutoff reaching each coverage 1/points, 2/points, ...,
    1 (a cutoff reaching several is listed once)."""
    if not rows:
        return None
    n = len(rows)
    ranked = sorted(rows, key=_confidence, reverse=True)
    curve: list[tuple[float, int, float]] = []  # (threshold, questions covered, risk)
    covered = errors = 0
    aurc = 0.0
    for threshold, group in groupby(ranked, key=_confidence):
        tied = list(group)
        covered += len(tied)
        errors += sum(wrong(r) for r in tied)
        curve.append((threshold, covered, errors / covered))
        aurc += len(tied) / n * errors / covered
    sampled: list[RiskPoint] = []
    for j in range(1, points + 1):
        threshold, c, risk = next(p for p in curve if p[1] * points >= j * n)
        if not sampled or sampled[-1].threshold != threshold:
            sampled.append(RiskPoint(threshold=threshold, coverage=c / n, risk=risk))

    def operating(kept: list[Row]) -> OperatingPoint:
        at = next((p for p in curve if p[1] >= len(kept)), None) if kept else None
        return OperatingPoint(coverage=len(kept) / n, risk=mean(wrong(r) for r in kept),
                              curve_risk=at[2] if at else None)

    return RiskCoverage(
        points=sampled, aurc=aurc,
        confident=operating([r for r in rows if outcome(r.result) == "confident"]),
        answered=operating([r for r in rows if outcome(r.result) != "abstained"]))


def pipeline_metrics(rows: list[Row], k: int, original: Callable[[str], str]) -> Metrics:
    return {**retrieval_metrics(rows, k), **answer_metrics(rows), **outcome_metrics(rows),
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

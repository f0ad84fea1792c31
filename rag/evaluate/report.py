"""summary.md: the tables a developer reads (quality tables are deterministic; timings vary)."""

from __future__ import annotations

from rag.evaluate.scores import QUALITY
from rag.evaluate.summary import GateResult, Metrics, OperatingPoint, SplitScores, Summary

TIMINGS = ("latency_p50_ms", "latency_p95_ms", "retrieve_p50_ms", "retrieve_p95_ms")
BY_TYPE = ("questions", "hit", "recall", "mrr", "f1", "citation_precision", "citation_recall",
           "faithfulness", "abstained_unanswerable", "abstained_answerable")
LABELS = {"hit": "hit@k", "precision": "precision@k", "recall": "evidence recall@k",
          "ndcg": "nDCG@k", "mrr": "MRR", "abstained_unanswerable": "unanswerable: abstained",
          "abstained_answerable": "answerable: wrongly abstained", "f1": "answer F1",
          "multi_doc_all_docs": "multi_doc: every needed document cited",
          "token_recall": "answer token recall", "cited_sentences": "sentences with a citation",
          "exact_quotes": "quotes == original slice",
          "unparsed_replies": "LLM replies not in the answer schema",
          "confident_answerable": "answerable: answered confidently",
          "hedged_answerable": "answerable: answered with a hedge",
          "answered_answerable": "answerable: answered (confidently or hedged)",
          "confident_unanswerable": "unanswerable: answered confidently",
          "hedged_unanswerable": "unanswerable: answered with a hedge",
          "latency_p50_ms": "latency p50 (ms; pipeline: whole answer)",
          "latency_p95_ms": "latency p95 (ms; pipeline: whole answer)",
          "retrieve_p50_ms": "retrieval p50 (ms)", "retrieve_p95_ms": "retrieval p95 (ms)"}


def fmt(value: float | None, metric: str = "") -> str:
    if value is None:
        return "–"
    if metric.endswith("_ms") or metric.endswith("_s"):
        return f"{value:.1f}"
    return str(int(value)) if metric == "questions" else f"{value:.3f}"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = [f"| {' | '.join(header)} |", f"|{'|'.join('---' for _ in header)}|"]
    return "\n".join([*lines, *(f"| {' | '.join(r)} |" for r in rows)])


def overall_table(split: SplitScores, k: int, metrics: tuple[str, ...]) -> str:
    """One split: a column per system."""
    systems = split.systems
    rows = [[LABELS.get(m, m).replace("@k", f"@{k}"),
             *(fmt(systems[s].overall.get(m), m) for s in systems)]
            for m in metrics if any(m in systems[s].overall for s in systems)]
    return table(["metric", *systems], rows)


def splits_table(summary: Summary, metrics: tuple[str, ...]) -> str:
    """The pipeline on each split side by side, and the gap |dev - test|."""
    splits, gap = summary.splits, summary.gap
    header = ["metric (pipeline)", *splits, *(["gap"] if gap else [])]
    rows = []
    for m in metrics:
        values = [s.systems["pipeline"].overall.get(m) for s in splits.values()]
        rows.append([LABELS.get(m, m).replace("@k", f"@{summary.k}"),
                     *(fmt(v, m) for v in values), *([fmt(gap.get(f"pipeline.{m}"), m)]
                                                     if gap else [])])
    for kind in ("accuracy", *next(iter(splits.values())).verifier.by_kind):
        values = [s.verifier.by_kind.get(kind) if kind != "accuracy"
                  else s.verifier.accuracy for s in splits.values()]
        rows.append([f"verifier: {kind}", *(fmt(v) for v in values),
                     *([fmt(gap.get(f"verifier.{kind}"))] if gap else [])])
    return table(header, rows)


def type_table(metrics: dict[str, Metrics], columns: tuple[str, ...]) -> str:
    return table(["type", *(LABELS.get(c, c) for c in columns)],
                 [[t, *(fmt(m.get(c), c) for c in columns)] for t, m in metrics.items()])


def _share(share: float | None, n: int) -> str:
    return "–" if share is None else f"{share:.3f} ({round(share * n)})"


def outcome_table(split: SplitScores) -> str:
    """The pipeline's confident / hedged / abstained shares (and counts) of the answerable and
    of the unanswerable questions, overall and per named set."""
    groups = [("all", split.systems["pipeline"].overall,
               {"answerable": split.questions.answerable,
                "unanswerable": split.questions.unanswerable})]
    groups += [(f"set `{name}`", m, {kind: int(m.get(kind) or 0)
                                     for kind in ("answerable", "unanswerable")})
               for name, m in split.sets.items()]
    rows = [[who, kind, str(counts[kind]),
             *(_share(m.get(f"{o}_{kind}"), counts[kind])
               for o in ("confident", "hedged", "abstained"))]
            for who, m, counts in groups for kind in ("answerable", "unanswerable")]
    return table(["questions", "gold", "n", "answered confidently", "hedged", "abstained"], rows)


def risk_coverage_section(split: SplitScores) -> str:
    """Ten of the curve's points (coverage 0.1, 0.2, ..., 1), its area, and where the system's
    own operating points lie."""
    curve = split.risk_coverage
    if curve is None:
        return "No questions: no risk-coverage curve."
    shown = []
    for j in range(1, 11):
        point = next((p for p in curve.points if p.coverage * 10 >= j - 1e-9), None)
        if point is not None and point not in shown:
            shown.append(point)
    rows = [[fmt(p.threshold), fmt(p.coverage), fmt(p.risk)] for p in shown]
    return "\n\n".join([
        table(["confidence >=", "coverage", "risk"], rows),
        f"AURC = {curve.aurc:.3f} (lower is better; a ranking no better than chance gives "
        f"about the risk at coverage 1, {fmt(curve.points[-1].risk)}). Operating points: "
        f"answering only when confident {_point(curve.confident)}; confident or hedged "
        f"{_point(curve.answered)}."])


def _point(point: OperatingPoint) -> str:
    at = ("" if point.curve_risk is None else
          f" (ranking by confidence alone: risk {point.curve_risk:.3f} at that coverage)")
    return f"covers {point.coverage:.3f} of the questions at risk {fmt(point.risk)}{at}"


def gate_section(gate: GateResult | None) -> str:
    if gate is None or not gate.checked:
        return f"Not checked: {gate.note if gate else 'no gate in this run'}"
    verdict = "all passed" if gate.passed else f"{len(gate.failures)} FAILED"
    lines = [f"Thresholds: `{gate.file}`: {len(gate.checked)} checked, {verdict}."]
    lines += [f"- FAILED: {f}" for f in gate.failures]
    lines += [f"- skipped: {s}" for s in gate.skipped]
    return "\n".join(lines)


def summary_md(summary: Summary) -> str:
    k = summary.k
    counts = "; ".join(f"{name}: {s.questions.total} questions "
                       f"({s.questions.answerable} answerable, "
                       f"{s.questions.unanswerable} unanswerable)"
                       for name, s in summary.splits.items())
    parts = [
        f"# rag eval: `{summary.gold}`",
        f"{counts}; k = {k}, backend `{summary.backend}`. dev is what thresholds, weights "
        "and rules were chosen on; test was written before the system ran on it and is only "
        "measured. Quality numbers are deterministic; only the timings vary from run to run. "
        "Formulas: `eval/README.md`.",
        "## Pipeline: dev and test side by side", splits_table(summary, QUALITY),
        _gap_sentence(summary.gap),
    ]
    for name, split in summary.splits.items():
        parts += [f"## {name}: pipeline and baselines", overall_table(split, k, QUALITY),
                  f"### {name}: pipeline answered confidently, hedged or abstained",
                  outcome_table(split),
                  f"### {name}: pipeline risk-coverage",
                  "The questions ranked by the pipeline's confidence: answering those at or "
                  "above a cutoff covers that share of all questions, of which `risk` are "
                  "wrong (unanswerable, abstained, or no citation relevant to the gold "
                  "evidence).", risk_coverage_section(split),
                  f"### {name}: pipeline by question type",
                  type_table(split.systems["pipeline"].by_type, BY_TYPE)]
        for b, system in split.systems.items():
            if b != "pipeline":
                parts += [f"### {name}: baseline `{b}` by question type ({system.label})",
                          type_table(system.by_type, ("questions", "hit", "recall", "mrr"))]
    parts += [
        "![pipeline and baselines](chart.png)",
        "The verifier is scored on a perturbation set built from each split's gold items: "
        "gold answers and hand-written paraphrases cited by their evidence must pass; a "
        "swapped number, a swapped name or another document's evidence must fail.",
        "## Gate", gate_section(summary.gate),
        f"## Failing questions\n{summary.failures} — see [failures.md](failures.md).",
        "## Timings (vary by machine and run)",
        *(overall_table(s, k, TIMINGS) for s in summary.splits.values()),
        table(["baseline", "build (s)", "chunks"],
              [[n, fmt(b["build_s"], "_s"), fmt(b["chunks"], "questions")]
               for n, b in summary.baseline_builds.items()]),
    ]
    return "\n\n".join(parts) + "\n"


def _gap_sentence(gap: Metrics) -> str:
    if not gap:
        return "Only one split in this gold file: no gap to report."
    worst = max(((v, key) for key, v in gap.items() if v is not None), default=None)
    return ("gap = |dev - test|." if worst is None else
            f"gap = |dev - test|; the largest is {worst[0]:.3f} ({worst[1]}).")

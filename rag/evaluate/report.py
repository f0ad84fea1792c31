"""summary.md: the tables a developer reads (quality tables are deterministic; timings vary)."""

from __future__ import annotations

from typing import Any

QUALITY = ("hit", "precision", "recall", "mrr", "ndcg", "token_recall", "f1", "faithfulness",
           "citation_precision", "citation_recall", "cited_sentences", "exact_quotes",
           "abstained_unanswerable", "abstained_answerable")
TIMINGS = ("latency_p50_ms", "latency_p95_ms", "retrieve_p50_ms", "retrieve_p95_ms")
BY_TYPE = ("questions", "hit", "recall", "mrr", "f1", "citation_precision", "citation_recall",
           "faithfulness", "abstained_unanswerable", "abstained_answerable")
LABELS = {"hit": "hit@k", "precision": "precision@k", "recall": "evidence recall@k",
          "ndcg": "nDCG@k", "mrr": "MRR", "abstained_unanswerable": "unanswerable: abstained",
          "abstained_answerable": "answerable: wrongly abstained", "f1": "answer F1",
          "token_recall": "answer token recall", "cited_sentences": "sentences with a citation",
          "exact_quotes": "quotes == original slice",
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


def overall_table(summary: dict[str, Any], metrics: tuple[str, ...]) -> str:
    systems = summary["systems"]
    rows = [[LABELS.get(m, m).replace("@k", f"@{summary['k']}"),
             *(fmt(systems[s]["overall"].get(m), m) for s in systems)]
            for m in metrics if any(m in systems[s]["overall"] for s in systems)]
    return table(["metric", *systems], rows)


def type_table(metrics: dict[str, dict[str, float | None]], columns: tuple[str, ...]) -> str:
    return table(["type", *(LABELS.get(c, c) for c in columns)],
                 [[t, *(fmt(m.get(c), c) for c in columns)] for t, m in metrics.items()])


def gate_section(gate: dict[str, Any]) -> str:
    if not gate["checked"]:
        return f"Not checked: {gate['note']}"
    verdict = "all passed" if gate["passed"] else f"{len(gate['failures'])} FAILED"
    lines = [f"Thresholds: `{gate['file']}`: {len(gate['checked'])} checked, {verdict}."]
    lines += [f"- FAILED: {f}" for f in gate["failures"]]
    lines += [f"- skipped: {s}" for s in gate["skipped"]]
    return "\n".join(lines)


def summary_md(summary: dict[str, Any]) -> str:
    q, verifier = summary["questions"], summary["verifier"]
    parts = [
        f"# rag eval: `{summary['gold']}`",
        f"{q['total']} questions ({q['answerable']} answerable, {q['unanswerable']} "
        f"unanswerable), k = {summary['k']}, backend `{summary['backend']}`. Quality numbers are "
        "deterministic; only the timings vary from run to run. Formulas: `eval/README.md`.",
        "## Pipeline and baselines", overall_table(summary, QUALITY),
        "![pipeline and baselines](chart.png)",
        "## Pipeline by question type", type_table(summary["systems"]["pipeline"]["by_type"],
                                                   BY_TYPE),
    ]
    for name, system in summary["systems"].items():
        if name != "pipeline":
            parts += [f"## Baseline `{name}` by question type ({system['label']})",
                      type_table(system["by_type"], ("questions", "hit", "recall", "mrr"))]
    parts += [
        "## Verifier on the perturbation set",
        f"Accuracy {fmt(verifier['accuracy'])} over {verifier['cases']} cases (gold answers "
        "cited by their evidence must pass; a swapped number, a swapped name or another "
        "document's evidence must fail).",
        table(["case", "accuracy"], [[k, fmt(v)] for k, v in verifier["by_kind"].items()]),
        "## Gate", gate_section(summary["gate"]),
        f"## Failing questions\n{summary['failures']} — see [failures.md](failures.md).",
        "## Timings (vary by machine and run)", overall_table(summary, TIMINGS),
        table(["baseline", "build (s)", "chunks"],
              [[n, fmt(b["build_s"], "_s"), fmt(b["chunks"], "questions")]
               for n, b in summary["baseline_builds"].items()]),
    ]
    return "\n\n".join(parts) + "\n"

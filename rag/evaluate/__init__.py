"""`rag eval`: score the pipeline and two baselines on a gold set, write a report, gate CI.

Writes to the report folder: results.jsonl (gold id + the `rag ask --json` object per
question), summary.json, summary.md, chart.png and failures.md.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.evaluate import chart, faithful, gate, report, run, scores
from rag.evaluate.failures import failures_md
from rag.gold import load_gold, missing_quotes
from rag.searcher import get_searcher


@dataclass
class EvalOptions:
    gold: Path
    k: int
    out: Path
    backend: str | None = None
    baselines: bool = True
    thresholds: Path | None = None
    progress: bool = True


def _original(corpus_dir: Path) -> Any:
    @functools.cache
    def read(doc: str) -> str:
        path = corpus_dir / doc
        return path.read_text(encoding="utf-8") if path.is_file() else ""
    return read


def _write_results(rows: list[scores.Row], path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps({"id": row.item.id, **row.result}, ensure_ascii=False) + "\n")


def evaluate(settings: Settings, options: EvalOptions) -> tuple[dict[str, Any], list[str]]:
    """Run, score, write the report; the summary and warnings (e.g. quotes not in the corpus)."""
    items = load_gold(options.gold)
    warnings = missing_quotes(items, settings.corpus_dir)
    k = options.k
    rows = run.run_pipeline(items, settings, k, options.backend, options.progress)
    verifier = faithful.Verifier(get_searcher(settings).embedder)
    for row in rows:
        row.faithful = faithful.sentence_verdicts(row.result, verifier)
    accuracy, wrong = faithful.verifier_accuracy(faithful.perturbation_cases(items), verifier)
    original = _original(settings.corpus_dir)
    systems: dict[str, Any] = {"pipeline": {
        "label": "hybrid retrieval + verified citations",
        "overall": scores.pipeline_metrics(rows, k, original),
        "by_type": scores.by_type(rows, lambda sub: scores.pipeline_metrics(sub, k, original))}}
    builds: dict[str, dict[str, float]] = {}
    if options.baselines:
        built, builds = run.build_baselines(settings)
        for baseline in built:
            b_rows = run.run_baseline(baseline, items, k, options.progress)
            systems[baseline.name] = {
                "label": baseline.label, "overall": scores.baseline_metrics(b_rows, k),
                "by_type": scores.by_type(b_rows, lambda sub: scores.baseline_metrics(sub, k))}
    answerable = sum(r.answerable for r in rows)
    summary: dict[str, Any] = {
        "gold": str(options.gold), "k": k, "backend": rows[0].result["backend"] if rows else "",
        "questions": {"total": len(rows), "answerable": answerable,
                      "unanswerable": len(rows) - answerable},
        "systems": systems, "verifier": accuracy, "baseline_builds": builds}
    summary["gate"] = gate.check(summary, options.thresholds or settings.eval.thresholds)
    _write(summary, rows, wrong, options.out)
    return summary, warnings


def _write(summary: dict[str, Any], rows: list[scores.Row], wrong: list[faithful.Case],
           out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    _write_results(rows, out / "results.jsonl")
    failures, summary["failures"] = failures_md(rows, summary["k"], wrong)
    (out / "failures.md").write_text(failures, encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    (out / "summary.md").write_text(report.summary_md(summary), encoding="utf-8")
    chart.draw(summary, out / "chart.png")

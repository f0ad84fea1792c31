"""`rag eval`: score the pipeline and two baselines on a gold set, write a report, gate CI.

Writes to the report folder: results.jsonl (gold id + the `rag ask --json` object per
question), summary.json, summary.md, chart.png and failures.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.errors import UsageError
from rag.evaluate import chart, faithful, gate, report, run, scores
from rag.evaluate.failures import failures_md
from rag.evaluate.gold import SPLITS, document_text, load_gold, missing_quotes, rebase
from rag.evaluate.summary import Counts, SplitScores, Summary, SystemScores
from rag.retrieval.searcher import get_searcher


@dataclass
class EvalOptions:
    gold: Path
    k: int
    out: Path
    backend: str | None = None
    baselines: bool = True
    thresholds: Path | None = None
    progress: bool = True
    split: str | None = None  # only this split of the gold file


def _original(corpus_dir: Path) -> Any:
    def read(doc: str) -> str:
        return document_text(corpus_dir / doc)
    return read


def _write_results(rows: list[scores.Row], path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps({"id": row.item.id, **row.result.to_dict()},
                                 ensure_ascii=False) + "\n")


def _split(rows: list[scores.Row], baseline_rows: dict[str, tuple[str, list[scores.Row]]],
           verifier: faithful.Verifier, k: int,
           original: Any) -> tuple[SplitScores, list[faithful.Case]]:
    """Everything measured on one split (the pipeline, each baseline, the verifier, the
    pipeline's outcomes per named set and its risk-coverage curve), and the perturbation cases
    the verifier got wrong."""
    systems = {"pipeline": SystemScores(
        label="hybrid retrieval + verified citations",
        overall=scores.pipeline_metrics(rows, k, original),
        by_type=scores.by_type(rows, lambda sub: scores.pipeline_metrics(sub, k, original)))}
    for name, (label, b_rows) in baseline_rows.items():
        systems[name] = SystemScores(
            label=label, overall=scores.baseline_metrics(b_rows, k),
            by_type=scores.by_type(b_rows, lambda sub: scores.baseline_metrics(sub, k)))
    accuracy, wrong = faithful.verifier_accuracy(
        faithful.perturbation_cases([r.item for r in rows], verifier.vocabulary), verifier)
    answerable = sum(r.answerable for r in rows)
    counts = Counts(total=len(rows), answerable=answerable, unanswerable=len(rows) - answerable)
    return SplitScores(questions=counts, systems=systems, verifier=accuracy,
                       sets=scores.set_metrics(rows),
                       risk_coverage=scores.risk_coverage(rows)), wrong


def evaluate(settings: Settings, options: EvalOptions) -> tuple[Summary, list[str]]:
    """Run, score each split (dev, test) on its own, write the report; the summary and
    warnings (e.g. quotes not in the corpus)."""
    items = rebase([i for i in load_gold(options.gold) if options.split in (None, i.split)],
                   settings.corpus_dir)
    if not items:
        raise UsageError(f"{options.gold} has no {options.split} items")
    warnings = missing_quotes(items, settings.corpus_dir)
    k = options.k
    rows = run.run_pipeline(items, settings, k, options.backend, options.progress)
    searcher = get_searcher(settings)
    verifier = faithful.Verifier(searcher.embedder, searcher.sources, searcher.vocabulary_terms)
    for row in rows:
        row.faithful = faithful.sentence_verdicts(row.result, verifier)
    original = _original(settings.corpus_dir)
    baseline_rows: dict[str, tuple[str, list[scores.Row]]] = {}
    builds: dict[str, dict[str, float]] = {}
    if options.baselines:
        built, builds = run.build_baselines(settings)
        for baseline in built:
            baseline_rows[baseline.name] = (baseline.label, run.run_baseline(
                baseline, items, k, options.progress))
    names: list[str] = [s for s in SPLITS if any(i.split == s for i in items)]
    measured = {name: _split([r for r in rows if r.item.split == name],
                             {b: (label, [r for r in b_rows if r.item.split == name])
                              for b, (label, b_rows) in baseline_rows.items()},
                             verifier, k, original) for name in names}
    splits = {name: scored for name, (scored, _) in measured.items()}
    wrong = [c for _, cases in measured.values() for c in cases]
    summary = Summary(gold=str(options.gold), k=k, backend=rows[0].result.backend if rows else "",
                      splits=splits, gap=scores.gap(splits), baseline_builds=builds)
    summary.gate = gate.check(summary, options.thresholds or settings.eval.thresholds)
    _write(summary, rows, wrong, options.out)
    return summary, warnings


def _write(summary: Summary, rows: list[scores.Row], wrong: list[faithful.Case],
           out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    _write_results(rows, out / "results.jsonl")
    failures, summary.failures = failures_md(rows, summary.k, wrong)
    (out / "failures.md").write_text(failures, encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(summary.model_dump(), indent=2) + "\n",
                                      encoding="utf-8")
    (out / "summary.md").write_text(report.summary_md(summary), encoding="utf-8")
    chart.draw(summary, out / "chart.png")

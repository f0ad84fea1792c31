"""Warm latencies of one index, in this (fresh) process: `answer()` over the gold questions
(extractive backend, k = 5) split into retrieval and answering, and with --vanilla the retrieval
of the vanilla llama-index baseline of `rag eval` over the same questions (after the pipeline).
Prints one JSON line; run by eval/bench.py.

    python eval/bench_warm.py CORPUS INDEX [--vanilla]
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
K, WARMUP = 5, 5


def percentiles(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100)
    return {"p50": round(statistics.median(values), 2), "p95": round(cuts[94], 2)}


def main(corpus: str, index: str, vanilla: bool) -> dict[str, object]:
    from rag.answering.pipeline import answer
    from rag.config import get_settings
    from rag.evaluate.gold import load_gold

    settings = get_settings(corpus_dir=Path(corpus), index_dir=Path(index))
    questions = [item.question for item in load_gold(ROOT / "eval" / "gold.jsonl")]
    timings: dict[str, list[float]] = {"retrieve": [], "answer": [], "total": [], "vanilla": []}
    for i, question in enumerate(questions[:WARMUP] + questions):
        result = answer(question, k=K, settings=settings)
        if i >= WARMUP:
            for key in ("retrieve", "answer", "total"):
                timings[key].append(result.timings_ms[key])
    # The baseline afterwards, in a block of its own: a query process of ours never loads
    # torch, and right after an onnxruntime call its worker threads still spin for a moment,
    # which would slow a torch call made at once and flatter us.
    baseline = None
    if vanilla:
        from rag.embedding.embed import get_embedder
        from rag.evaluate.baselines import VanillaLlamaIndex

        files = sorted(Path(corpus).glob("*.txt"))
        baseline = VanillaLlamaIndex(files, get_embedder(settings.embed.model))
    for i, question in enumerate(questions[:WARMUP] + questions if baseline else []):
        started = time.perf_counter()
        baseline.retrieve(question, K)  # type: ignore[union-attr]
        if i >= WARMUP:
            timings["vanilla"].append((time.perf_counter() - started) * 1000)
    out: dict[str, object] = {"questions": len(questions),
                              **{key: percentiles(v) for key, v in timings.items() if v},
                              "peak_mb": round(resource.getrusage(
                                  resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    if baseline is not None:
        out["vanilla_over_pipeline_retrieval"] = round(
            statistics.median(timings["vanilla"]) / statistics.median(timings["retrieve"]), 2)
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], "--vanilla" in sys.argv[3:])))

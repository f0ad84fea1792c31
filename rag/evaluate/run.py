"""Run the gold questions through the pipeline (the `rag ask --json` code path) and baselines."""

from __future__ import annotations

import time
from pathlib import Path

from tqdm import tqdm

from rag.answering.pipeline import answer
from rag.config import Settings
from rag.embedding.embed import get_embedder
from rag.errors import RagError
from rag.evaluate.baselines import Baseline, PlainBM25, VanillaLlamaIndex
from rag.evaluate.gold import GoldItem
from rag.evaluate.scores import Row
from rag.retrieval.searcher import Searcher, get_searcher

WARM_UP = "What is the Eurasian Economic Union?"


def _bar(items: list[GoldItem], label: str, progress: bool) -> tqdm:
    return tqdm(items, desc=label, unit="q", disable=not progress, leave=False)


def run_pipeline(items: list[GoldItem], settings: Settings, k: int, backend: str | None,
                 progress: bool) -> list[Row]:
    """Each question answered exactly as `rag ask --json` does; one untimed warm-up first."""
    answer(WARM_UP, k=k, backend=backend, settings=settings)
    rows = []
    for item in _bar(items, "pipeline", progress):
        try:
            result = answer(item.question, k=k, backend=backend, settings=settings)
        except RagError as err:
            raise RagError(f"gold item {item.id}: {err}") from err
        rows.append(Row(item, result.retrieved, result.timings_ms["total"], result))
    return rows


def build_baselines(settings: Settings) -> tuple[list[Baseline], dict[str, dict[str, float]]]:
    """Both baselines over the documents the index holds; build time and chunk count of each."""
    searcher: Searcher = get_searcher(settings)
    files = [Path(settings.corpus_dir) / doc for doc in sorted(searcher.fingerprint.docs)]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise RagError(f"the baselines read the corpus files, but {', '.join(missing)} "
                       "is gone — run `rag ingest` to bring the index in line with the corpus")
    built: list[Baseline] = []
    info = {}
    # Vanilla embeds with sentence-transformers, as a user would, not with our ONNX export of
    # the same model: the vectors are the same, the time per question is not.
    vanilla_embedder = get_embedder(settings.embed.model, settings.embed.device)
    for make in (lambda: VanillaLlamaIndex(files, vanilla_embedder),
                 lambda: PlainBM25(files, settings.eval.bm25_chunk_tokens)):
        started = time.perf_counter()
        baseline = make()
        info[baseline.name] = {"build_s": time.perf_counter() - started,
                               "chunks": float(baseline.chunks)}
        built.append(baseline)
    return built, info


def run_baseline(baseline: Baseline, items: list[GoldItem], k: int,
                 progress: bool) -> list[Row]:
    baseline.retrieve(WARM_UP, k)
    rows = []
    for item in _bar(items, baseline.name, progress):
        started = time.perf_counter()
        hits = baseline.retrieve(item.question, k)
        rows.append(Row(item, hits, (time.perf_counter() - started) * 1000))
    return rows

"""Retrieval settings compared on the gold set with the eval harness (issue 3's tuning).

    .venv/bin/python eval/sweep.py [--gold eval/gold.jsonl] [--chunks]

Each variant is a set of settings overrides; variants that change chunking get their own index
(under /tmp, built with `rag ingest`). Prints one markdown table: retrieval metrics and
abstention per variant. The defaults in rag/config.py are the winners of this table.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

VARIANTS: dict[str, dict[str, Any]] = {
    "default (dense + BM25 + sentence window, RRF)": {},
    "dense chunks only": {"retrieval": {"lexical_weight": 0, "sentence_weight": 0}},
    "BM25 only": {"retrieval": {"dense_weight": 0, "sentence_weight": 0}},
    "no sentence window": {"retrieval": {"sentence_weight": 0}},
    "no dense chunks": {"retrieval": {"dense_weight": 0}},
    "lexical weight 2": {"retrieval": {"lexical_weight": 2}},
    "sentence weight 2": {"retrieval": {"sentence_weight": 2}},
    "MMR lambda 0.85": {"retrieval": {"mmr_lambda": 0.85}},
    "MMR lambda 0.7": {"retrieval": {"mmr_lambda": 0.7}},
    "MMR lambda 0.5": {"retrieval": {"mmr_lambda": 0.5}},
}
CHUNK_VARIANTS: dict[str, dict[str, Any]] = {
    "chunks 128/24 tokens": {"chunk": {"size": 128, "overlap": 24}},
    "chunks 250/50 tokens": {"chunk": {"size": 250, "overlap": 50}},
}
COLUMNS = ("hit", "recall", "mrr", "ndcg", "precision", "abstained_unanswerable",
           "abstained_answerable", "citation_recall")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=Path("eval/gold.jsonl"))
    parser.add_argument("--chunks", action="store_true", help="also re-chunk (slow: re-embeds)")
    args = parser.parse_args()

    from rag.config import get_settings
    from rag.evaluate import EvalOptions, evaluate
    from rag.evaluate.report import fmt, table
    from rag.index.build import ingest

    variants = VARIANTS | (CHUNK_VARIANTS if args.chunks else {})
    rows = []
    for name, overrides in variants.items():
        settings = get_settings(**overrides)
        if "chunk" in overrides:
            settings = get_settings(index_dir=Path(tempfile.mkdtemp(prefix="sweep-")),
                                    **overrides)
            ingest(settings, progress=False)
        out = Path(tempfile.mkdtemp(prefix="sweep-report-"))
        summary, _ = evaluate(settings, EvalOptions(gold=args.gold, k=5, out=out,
                                                    baselines=False, progress=False,
                                                    split="dev"))  # never tune on test
        overall = summary.splits["dev"].systems["pipeline"].overall
        rows.append([name, *(fmt(overall[c]) for c in COLUMNS)])
        print(f"done: {name}", flush=True)
    print(table(["variant", *COLUMNS], rows))


if __name__ == "__main__":
    main()

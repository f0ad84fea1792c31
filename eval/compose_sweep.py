"""What the extractive answer says: composition settings compared on the dev split (issue 34).

    .venv/bin/python eval/compose_sweep.py [--gold eval/gold.jsonl]

For each variant of `extractive.*` (most sentences, margin, context weight, type bonus), the
dev split's answerable questions are answered and scored for citation precision and answer token
recall (the metrics of `rag eval`); the answerability model is the committed one. Dev only: the
test split is never read. Prints one markdown table.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "1 sentence": {"max_sentences": 1},
    "2 sentences": {"max_sentences": 2},
    "margin 0.06": {"margin": 0.06},
    "margin 0.03": {"margin": 0.03},
    "2 sentences, margin 0.06": {"max_sentences": 2, "margin": 0.06},
    "context 0": {"context_weight": 0.0},
    "context 1": {"context_weight": 1.0},
    "type bonus 0": {"type_bonus": 0.0},
    "type bonus 0.2": {"type_bonus": 0.2},
}


def main() -> None:
    from rag.answering.pipeline import answer
    from rag.config import get_settings
    from rag.evaluate.gold import load_gold
    from rag.evaluate.metrics import answer_overlap
    from rag.evaluate.scores import _relevant

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=Path("eval/gold.jsonl"))
    args = parser.parse_args()
    items = [i for i in load_gold(args.gold) if i.split == "dev" and i.type != "unanswerable"]
    base = get_settings()
    print("| variant | citation precision | token recall | answered | sentences |")
    print("|---|---|---|---|---|")
    for name, extractive in VARIANTS.items():
        settings = get_settings(extractive=base.extractive.model_copy(update=extractive))
        precision, recall, answered, sentences = [], [], 0, 0
        for item in items:
            found = answer(item.question, settings=settings)
            recall.append(0.0 if found.abstained else
                          answer_overlap(item.answer, found.answer)["token_recall"])
            if found.abstained:
                continue
            answered += 1
            sentences += len(found.sentences)
            cited = [_relevant(c, item) for c in found.citations]
            precision.append(sum(cited) / len(cited) if cited else 0.0)
        print(f"| {name} | {sum(precision) / len(precision):.3f} | "
              f"{sum(recall) / len(recall):.3f} | {answered / len(items):.3f} | "
              f"{sentences / max(answered, 1):.2f} |", flush=True)


if __name__ == "__main__":
    main()

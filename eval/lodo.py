"""Leave-one-document-out: what a user with another corpus meets (issue 34).

With five documents, the test split asks about facts dev already asked about. Here each
document is held out in turn: the answerability model and its bands (abstain / hedged /
confident) are fitted on the dev questions about the other four documents only, and measured on
every question (dev and test) about the held-out one. An answerable question is about its
evidence's document (a multi-document question about each of its documents: it is held out
with any of them and never trained on while one of them is held out); an unanswerable question,
which has no evidence, about the document of its first retrieved passage.

    .venv/bin/python eval/lodo.py [--gold eval/gold.jsonl] [--out eval/bench/lodo.md]

The outcome of each held-out question is the extractive pipeline's under the fold's model:
abstained when the hard checks or the score floor stop it or its confidence is below the fold's
threshold, hedged below the fold's confident band, else confident. (The verifier is not refitted:
the extractive backend quotes its sentences, which pass it whatever its weights.)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from rag.answering.calibration import Answerability
from rag.answering.pipeline import retrieve
from rag.config import get_settings
from rag.evaluate.fitting import FEATURES, answerability_rows, fit_rows
from rag.evaluate.gold import GoldItem, load_gold


def docs_of(item: GoldItem, first_retrieved: str) -> set[str]:
    """The documents a question is about."""
    found = {doc for doc, _ in item.quotes()}
    return found or {first_retrieved}


def outcomes(model: Answerability, x: np.ndarray, hard: np.ndarray) -> list[str]:
    found = []
    for row, stopped in zip(x, hard, strict=True):
        values = dict(zip(FEATURES, row, strict=True))
        confidence = model.confidence(values)
        if stopped or model.outside(values) or confidence < model.threshold:
            found.append("abstained")
        else:
            found.append("hedged" if confidence < model.confident_from
                         else "confident")
    return found


def share(outs: list[str], *kinds: str) -> float:
    return sum(o in kinds for o in outs) / len(outs) if outs else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=Path("eval/gold.jsonl"))
    parser.add_argument("--out", type=Path, default=Path("eval/bench/lodo.md"))
    args = parser.parse_args()
    settings = get_settings()
    items = load_gold(args.gold)
    first = [retrieve(i.question, settings.answer.k, None, settings)[2][0].doc for i in items]
    about = [docs_of(i, f) for i, f in zip(items, first, strict=True)]
    x, y, hard = answerability_rows(items, settings)
    rows = ["| held out | questions | answerable answered | confidently | near-misses "
            "confident | near-misses abstained |", "|---|---|---|---|---|---|"]
    means: list[list[float]] = []
    for doc in sorted(set().union(*about)):
        train = np.array([i.split == "dev" and doc not in a for i, a in zip(items, about,
                                                                            strict=True)])
        held = np.array([doc in a for a in about])
        fitted, _ = fit_rows([i for i, t in zip(items, train, strict=True) if t],
                             x[train], y[train], hard[train])
        outs = outcomes(Answerability.model_validate(fitted), x[held], hard[held])
        pos = [o for o, label in zip(outs, y[held], strict=True) if label == 1]
        neg = [o for o, label in zip(outs, y[held], strict=True) if label == 0]
        figures = [share(pos, "confident", "hedged"), share(pos, "confident"),
                   share(neg, "confident"), share(neg, "abstained")]
        means.append(figures)
        rows.append(f"| {doc} | {len(pos)} + {len(neg)} | " +
                    " | ".join(f"{f:.3f}" for f in figures) + " |")
    mean = np.nanmean(np.array(means), axis=0)
    rows.append("| **mean** | | " + " | ".join(f"**{f:.3f}**" for f in mean) + " |")
    text = "\n".join(["# Leave-one-document-out", "", f"`python eval/lodo.py` on {args.gold} "
                      "(dev and test questions about the held-out document; fitted on the dev "
                      "questions about the other four).", "", *rows, ""])
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()

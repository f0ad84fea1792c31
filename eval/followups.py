"""Follow-up questions measured (issue 35): eval/conversations.jsonl, 40 blind conversations of
2-3 turns, each follow-up with its standalone version.

Each conversation is asked in order through `rag.answer(question, history=[earlier Answers])`,
as the page asks it. For every follow-up turn this records hit@5 and MRR of
- `followup`: the follow-up asked with the conversation (the system's own earlier answers);
- `standalone`: the writer's standalone version asked alone (the ceiling);
- `alone`: the follow-up asked alone, without history (what the page did before issue 35).
The floor: followup hit@5 >= 0.9 x standalone hit@5.

    .venv/bin/python eval/followups.py [--backend NAME] [--out eval/bench/followups.md]

With an LLM backend, the follow-up is condensed by the model (its own prompt); retrieval is the
same. The answers are the backend's.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from rag.answering.pipeline import answer
from rag.config import get_settings
from rag.evaluate.metrics import relevant
from rag.types import Answer

ROOT = Path(__file__).resolve().parent.parent
CONVERSATIONS = ROOT / "eval" / "conversations.jsonl"
KINDS = ("pronoun", "definite", "ellipsis", "subject")


def load(path: Path = CONVERSATIONS) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def ranks(result: Answer, turn: dict[str, Any], k: int = 5) -> tuple[float, float]:
    """hit@k and reciprocal rank of the turn's evidence among the answer's passages."""
    quotes = [(turn["doc"], q) for q in turn["evidence"]]
    first = next((r for r, p in enumerate(result.retrieved[:k], start=1)
                  if relevant(p, quotes)), None)
    return float(first is not None), (1 / first if first else 0.0)


def run(conversations: list[dict[str, Any]], backend: str | None) -> list[dict[str, Any]]:
    """One row per follow-up turn."""
    settings = get_settings()
    rows = []
    for conversation in conversations:
        history: list[Answer] = []
        for number, turn in enumerate(conversation["turns"], start=1):
            asked = answer(turn["question"], backend=backend, settings=settings,
                           history=history)
            if number > 1:
                alone = answer(turn["question"], backend="extractive", settings=settings)
                ceiling = answer(turn["standalone"], backend="extractive", settings=settings)
                rows.append({"id": conversation["id"], "turn": number,
                             "split": conversation["split"], "kind": turn["followup"],
                             "question": turn["question"], "standalone": turn["standalone"],
                             "searched": asked.searched,
                             "followup": ranks(asked, turn), "alone": ranks(alone, turn),
                             "ceiling": ranks(ceiling, turn),
                             "answered": not asked.abstained,
                             "confident": not asked.abstained and not asked.hedged})
            history.append(asked)
    return rows


def figures(rows: list[dict[str, Any]]) -> dict[str, float]:
    n = len(rows) or 1

    def mean(key: str, i: int) -> float:
        return sum(r[key][i] for r in rows) / n

    hit, ceiling = mean("followup", 0), mean("ceiling", 0)
    return {"n": len(rows), "hit": hit, "standalone_hit": ceiling, "alone_hit": mean("alone", 0),
            "ratio": hit / ceiling if ceiling else 0.0, "mrr": mean("followup", 1),
            "standalone_mrr": mean("ceiling", 1), "alone_mrr": mean("alone", 1),
            "answered": sum(r["answered"] for r in rows) / n,
            "confident": sum(r["confident"] for r in rows) / n}


def table(rows: list[dict[str, Any]]) -> list[str]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups["all"].append(row)
        groups[row["split"]].append(row)
        groups[f"kind: {row['kind']}"].append(row)
    lines = ["| follow-ups | n | hit@5 with history | standalone hit@5 | ratio | hit@5 alone "
             "(no history) | MRR with history / standalone | answered | confident |",
             "|---|---|---|---|---|---|---|---|---|"]
    order = ["all", "dev", "test", *(f"kind: {k}" for k in KINDS)]
    for name in [g for g in order if g in groups]:
        f = figures(groups[name])
        lines.append(f"| {name} | {f['n']} | {f['hit']:.3f} | {f['standalone_hit']:.3f} | "
                     f"{f['ratio']:.3f} | {f['alone_hit']:.3f} | {f['mrr']:.3f} / "
                     f"{f['standalone_mrr']:.3f} | {f['answered']:.3f} | {f['confident']:.3f} |")
    return lines


def misses(rows: list[dict[str, Any]]) -> list[str]:
    """Follow-ups whose standalone version finds the evidence and the follow-up does not."""
    return [f"- {r['id']}.{r['turn']} ({r['kind']}): “{r['question']}” searched as "
            f"“{r['searched']}” (standalone: “{r['standalone']}”)"
            for r in rows if r["ceiling"][0] > r["followup"][0]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default=None, help="answer backend (default: settings)")
    parser.add_argument("--out", type=Path, default=ROOT / "eval" / "bench" / "followups.md")
    args = parser.parse_args()
    rows = run(load(), args.backend)
    backend = args.backend or get_settings().llm.backend
    text = [f"# Follow-up questions ({backend} backend)", "",
            "`eval/followups.py` over eval/conversations.jsonl (blind; ca: dev, cb: test).", "",
            *table(rows), "", "Follow-ups that the standalone version finds and the follow-up "
            "does not:", "", *(misses(rows) or ["- none"]), ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(text))
    args.out.with_suffix(".jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""failures.md: every question the pipeline got wrong, why, and what it retrieved."""

from __future__ import annotations

from rag.evaluate.faithful import Case
from rag.evaluate.metrics import answer_overlap, relevant, retrieval
from rag.evaluate.scores import Row

MIN_TOKEN_RECALL = 0.5


def reasons(row: Row, k: int) -> list[str]:
    """Why a question counts as failed (empty: it passed)."""
    result = row.result
    if not row.answerable:
        return [] if result.abstained else ["answered a question the corpus does not answer"]
    found = retrieval(row.item, row.retrieved, k)
    why = []
    if found["recall"] < 1:
        why.append(f"evidence recall@{k} {found['recall']:.2f}")
    if result.abstained:
        why.append("abstained on an answerable question")
    elif answer_overlap(row.item.answer, result.answer)["token_recall"] < MIN_TOKEN_RECALL:
        why.append(f"answer holds under {MIN_TOKEN_RECALL:.0%} of the gold answer's tokens")
    if not all(row.faithful):
        why.append("a sentence is not supported by what it cites")
    return why


def _passages(row: Row) -> list[str]:
    quotes = row.item.quotes()
    lines = []
    for p in row.result.retrieved:
        text = " ".join(p.text.split())
        mark = "**relevant** " if relevant(p, quotes) else ""
        score = p.to_dict()["score"]  # rounded as `rag ask --json` gives it
        lines.append(f"  {p.rank}. {mark}`{p.doc}` "
                     f"score {score:.4f}: {text[:300]}{'…' if len(text) > 300 else ''}")
    return lines


def failures_md(rows: list[Row], k: int, wrong: list[Case]) -> tuple[str, int]:
    """The markdown, and how many questions failed."""
    failed = [(row, why) for row in rows if (why := reasons(row, k))]
    out = [f"# Failing questions ({len(failed)} of {len(rows)})", ""]
    for row, why in failed:
        item = row.item
        out += [f"## {item.id} ({item.split}, {item.type}): {item.question}", "",
                f"- why: {'; '.join(why)}",
                f"- gold answer: {item.answer or '(not in the corpus)'}",
                *(f"- evidence in `{d}`: {q}" for d, q in item.quotes()),
                f"- produced: {row.result.answer}",
                f"- confidence: {row.result.to_dict()['confidence']}",  # as `rag ask` shows it
                *(f"- note: {n}" for n in row.result.notes),
                "- retrieved:", *_passages(row), ""]
    out += [f"# Verifier mistakes on the perturbation set ({len(wrong)})", ""]
    out += [f"- {c.id} {c.kind} (should {'pass' if c.expect_ok else 'fail'}): {c.text}"
            for c in wrong]
    return "\n".join(out) + "\n", len(failed)

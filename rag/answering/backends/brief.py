"""The small prompt of the structured modes: only the best sentences, numbered.

A small model on two cores reads a few hundred tokens in about a second; whole chunks (five of
~250 tokens) cost several seconds before it writes anything, and bury the one sentence that
answers. So the prompt shows the `llm.shown_sentences` best sentences (or table rows) of the
retrieved passages, as ranked by the extractive scorer, each numbered; the schema lets the model
cite only those numbers (rag/answering/backends/schema.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.answering.assessment import Candidate, spans_of
from rag.answering.backends import Message

_HOW = {
    "quote": 'For the answer, first give as "quote" the number of the sentence it rests on, '
             'then as "text" the answer in that sentence\'s own words.',
    "cite": 'Give the answer as "text", then as "cites" the numbers of the sentences that '
            'support it.',
}


@dataclass(frozen=True)
class Shown:
    """One numbered line of the prompt: a passage sentence and where it is."""

    number: int
    text: str  # as shown: cut at llm.shown_chars
    passage: int  # 1-based number of the retrieved passage it belongs to
    spans: list[tuple[str, int, int]]  # (chunk_id, start, end) in the original, as cited
    full: str  # the whole sentence (or table row with its title and header)


def shown(ranked: list[Candidate], count: int, chars: int) -> list[Shown]:
    """The `count` best distinct candidates, whitespace collapsed, cut at `chars`."""
    lines: list[Shown] = []
    seen: set[tuple[str, int, int]] = set()
    for c in ranked:
        if (c.doc, c.start, c.end) in seen:
            continue
        seen.add((c.doc, c.start, c.end))
        full = " ".join(c.text.split())
        text = full if len(full) <= chars else full[:chars].rsplit(" ", 1)[0] + " ..."
        lines.append(Shown(len(lines) + 1, text, c.passage, spans_of(c), full))
        if len(lines) == count:
            break
    return lines


def system_prompt(mode: str) -> str:
    # No worked example: measured on 40 dev questions, SmolLM2-135M copied the example's
    # sentence into its answers, and its own sentences passed the verifier 10 times, not 19.
    return ("You answer questions about policy papers using only the numbered sentences you "
            f"are given. {_HOW[mode]} Copy names, numbers and dates exactly. Write one short "
            'sentence. If no sentence answers the question, set "answerable" to false and '
            "give no sentences.")


def messages(question: str, lines: list[Shown], mode: str) -> list[Message]:
    body = "\n".join(f"[{line.number}] {line.text}" for line in lines)
    return [{"role": "system", "content": system_prompt(mode)},
            {"role": "user", "content": f"Sentences:\n{body}\nQuestion: {question}\nAnswer:"}]

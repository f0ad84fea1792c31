"""The small prompt of the structured modes: only the best sentences, numbered.

A small model on two cores reads a few hundred tokens in about a second; whole chunks (five of
~250 tokens) cost several seconds before it writes anything, and bury the one sentence that
answers. So the prompt shows the `llm.shown_sentences` best sentences (or table rows) of the
retrieved passages, as ranked by the extractive scorer, each numbered; the schema lets the model
cite only those numbers (rag/answering/backends/schema.py). How many fit is also bounded by
`llm.shown_tokens`, the whole prompt's size (system and user messages, the question included)
as `prompt_tokens` estimates it: lines are added best first while the prompt stays within it
(eval/shown.py measures how often the gold evidence is among them, and the true size in
SmolLM2 tokens).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from rag.answering.assessment import Candidate, spans_of
from rag.answering.backends import Message
from rag.config import LLMSettings

_HOW = {
    "quote": 'For the answer, first give as "quote" the number of the sentence it rests on, '
             'then as "text" the answer in that sentence\'s own words.',
    "cite": 'Give the answer as "text", then as "cites" the numbers of the sentences that '
            'support it.',
}


@dataclass(frozen=True)
class Shown:
    """One numbered line of the prompt: a scored sentence as the model sees it."""

    number: int
    text: str  # as shown: cut at llm.shown_chars
    candidate: Candidate

    @property
    def passage(self) -> int:
        """1-based number of the retrieved passage it belongs to."""
        return self.candidate.passage

    @property
    def spans(self) -> list[tuple[str, int, int]]:
        """(chunk_id, start, end) in the original, as cited."""
        return spans_of(self.candidate)

    @property
    def full(self) -> str:
        """The whole sentence (or table row with its title and header)."""
        return " ".join(self.candidate.text.split())


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
        lines.append(Shown(len(lines) + 1, text, c))
        if len(lines) == count:
            break
    return lines


def select(question: str, ranked: list[Candidate], cfg: LLMSettings) -> list[Shown]:
    """The lines the structured prompt shows: the best distinct candidates, at most
    `cfg.shown_sentences`, each cut at `cfg.shown_chars`, added best first while the estimated
    prompt stays within `cfg.shown_tokens` (a line that does not fit is passed over for a
    shorter one below it). The first line is always shown, whatever the budget."""
    # The estimate is a sum over the prompt's pieces, and a line adds its own: the prompt
    # without lines, then each line's cost, gives the same count as rendering it again.
    left = cfg.shown_tokens - prompt_tokens(messages(question, [], cfg.structured))
    lines: list[Shown] = []
    for line in shown(ranked, len(ranked), cfg.shown_chars):
        number = len(lines) + 1
        cost = _pieces(f"[{number}] {line.text}")
        if lines and cost > left:
            continue
        lines.append(Shown(number, line.text, line.candidate))
        left -= cost
        if len(lines) == cfg.shown_sentences:
            break
    return lines


_PIECE = re.compile(r"[A-Za-z]+|\d|[^\sA-Za-z\d]")


def prompt_tokens(prompt: list[Message]) -> int:
    """An estimate, on the safe side, of the tokens of the rendered chat prompt, for any
    backend's tokenizer to be close: every digit and every other symbol one token, a word one
    token per 5 letters (at least one), and 5 tokens of chat template per message. On the dev
    prompts it is at or above SmolLM2's own count (eval/bench/shown.md)."""
    return sum(5 + _pieces(m["content"]) for m in prompt)


def _pieces(text: str) -> int:
    return sum(math.ceil(len(p) / 5) if p[0].isalpha() else 1 for p in _PIECE.findall(text))


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

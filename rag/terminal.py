"""Plain-text rendering of an answer: the text with its markers, then the numbered sources."""

from __future__ import annotations

import textwrap

from rag.types import Answer

QUOTE_CHARS = 300


def _short(text: str, limit: int = QUOTE_CHARS) -> str:
    flat = " ".join(text.replace("■", " ").split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def render_answer(answer: Answer) -> str:
    lines = [f"Answer: {answer.short_answer}", ""] if answer.short_answer else []
    lines += [textwrap.fill(answer.answer, width=100), ""]
    if answer.abstained:
        lines.append("Closest passages:")
        lines += [f"  {p.rank}. {p.doc} (characters {p.start}-{p.end})\n"
                  f"     \"{_short(p.text, 200)}\"" for p in answer.retrieved[:3]]
    else:
        lines.append("Sources:")
        lines += [f"  [{c.n}] {c.title}\n      {c.doc}, {c.location()}\n"
                  f"      \"{_short(c.quote)}\"" for c in answer.citations]
    if answer.confidence is not None:
        lines.append(f"Confidence: {answer.confidence:.2f}")
    lines += [f"Note: {note}" for note in answer.notes]
    return "\n".join(lines)

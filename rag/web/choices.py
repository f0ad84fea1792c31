"""Which answer backends can work right now, and if not, why (shown in the page): every
backend of the registry (rag.answering.backends), each with its own check."""

from __future__ import annotations

from rag.answering.backends import names, spec
from rag.config import LLMSettings


def availability(cfg: LLMSettings) -> dict[str, str | None]:
    return {name: spec(name).problem(cfg) for name in names()}


def describe(found: dict[str, str | None]) -> str:
    lines = [f"- **{name}**: " + ("available" if why is None else f"unavailable — {why}")
             for name, why in found.items()]
    return "\n".join(lines)

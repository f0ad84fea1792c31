"""What the page offers: the documents of the live index, and which answer backends can work
right now, and if not, why: every backend of the registry (rag.answering.backends), each with
its own check."""

from __future__ import annotations

from rag.answering.backends import names, spec
from rag.config import LLMSettings, Settings
from rag.retrieval.searcher import get_searcher


def documents(settings: Settings) -> list[tuple[str, str]]:
    """(title, id) of every document of the live index generation, by id: read again on each
    page load, so an ingest since the page started shows."""
    searcher = get_searcher(settings)
    return [(searcher.title(doc), doc) for doc in sorted(searcher.fingerprint.docs)]


def availability(cfg: LLMSettings) -> dict[str, str | None]:
    return {name: spec(name).problem(cfg) for name in names()}


def describe(found: dict[str, str | None]) -> str:
    lines = [f"- **{name}**: " + ("available" if why is None else f"unavailable — {why}")
             for name, why in found.items()]
    return "\n".join(lines)

"""What the page offers: the documents of the live index, and which answer backends can work
right now, and if not, why: every backend of the registry (rag.answering.backends), each with
its own check."""

from __future__ import annotations

from rag.answering.backends import names, spec
from rag.answering.models import stored
from rag.config import LLMSettings, Settings
from rag.retrieval.searcher import get_searcher
from rag.status import share


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


def calibrations(settings: Settings) -> str:
    """Which models are calibrated (`rag calibrate`) and their dev figures, as Markdown."""
    found = stored(settings)
    if not found:
        return ("**Calibrated models:** none. An LLM nobody calibrated is asked whenever the "
                "extractive backend would answer, and its answers say so; `rag calibrate "
                "--backend NAME --model M` fits its gate.")
    lines = ["**Calibrated models** (dev split; others get the uncalibrated default):"]
    for c, where in found.values():
        f = c.figures
        gate = "always asked" if c.threshold is None else f"asked at confidence ≥ {c.threshold:.2f}"
        lines.append(f"- `{c.backend}` {c.model}: {gate}, own verdict "
                     f"{'trusted' if c.trust_answerable else 'not trusted'}; answered "
                     f"{share(f.answered)}, unanswerable abstained "
                     f"{share(f.abstained_unanswerable)}, faithfulness {share(f.faithfulness)}"
                     f" ({where})")
    return "\n".join(lines)


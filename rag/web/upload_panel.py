"""Documents added from the page and removed from it (placeholder: filled in by the uploads work)."""

from __future__ import annotations

from typing import Any

from rag.config import Settings


def panel(settings: Settings, chosen_docs: Any, enabled: bool) -> None:
    """The upload/removal controls, inside the page's Blocks (nothing yet)."""

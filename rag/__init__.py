"""Question answering over a corpus of policy papers, with verified citations.

Public API: `answer()`, `Answer`, `Citation`, `get_settings()`, `Settings`. Heavy libraries
(torch, chromadb, llama-index) are imported only where they are used, so `import rag` is fast.
"""

from __future__ import annotations

import os

# Models come from installed packages only; nothing may reach for a model hub or telemetry.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from rag.config import Settings, get_settings
from rag.types import Answer, Citation


def answer(question: str, k: int | None = None, docs: list[str] | None = None,
           backend: str | None = None, settings: Settings | None = None) -> Answer:
    """Answer `question` from the index; models and index load once per process."""
    from rag.pipeline import answer as run

    return run(question, k=k, docs=docs, backend=backend, settings=settings)


__all__ = ["Answer", "Citation", "Settings", "answer", "get_settings"]

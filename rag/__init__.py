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

from typing import TYPE_CHECKING, Any

from rag.config import Settings, get_settings
from rag.types import Answer, Citation

if TYPE_CHECKING:
    from rag.answering.pipeline import answer


def __getattr__(name: str) -> Any:
    """`rag.answer` is `rag.answering.pipeline.answer` itself (one signature, with `on_token`),
    imported on first use so that `import rag` stays light (PEP 562)."""
    if name == "answer":
        from rag.answering.pipeline import answer

        return answer
    raise AttributeError(f"module 'rag' has no attribute {name!r}")


__all__ = ["Answer", "Citation", "Settings", "answer", "get_settings"]

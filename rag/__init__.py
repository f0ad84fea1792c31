"""Question answering over a corpus of policy papers, with verified citations.

Public API: `get_settings()`, `Settings`. Heavy libraries (torch, chromadb, llama-index) are
imported only where they are used, so `import rag` stays fast.
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

__all__ = ["Settings", "get_settings"]

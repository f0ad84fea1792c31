"""Answer backends: each registers a name and implements one method, `draft()`.

A backend writes a draft: sentences, each pointing at the retrieved passages (by number) that
support it, or at exact spans of them. The pipeline (rag/pipeline.py) then checks every sentence
with the shared verifier; nothing a backend says reaches the user unchecked.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from rag.errors import UsageError
from rag.types import Passage

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from rag.config import Settings
    from rag.searcher import Searcher


@dataclass
class Query:
    question: str
    vector: npt.NDArray[np.float32]
    searcher: Searcher
    on_token: Callable[[str], None] | None = None  # receives the model's text as it streams


@dataclass
class DraftSentence:
    text: str
    refs: list[int]  # 1-based numbers of the retrieved passages it cites
    spans: list[tuple[str, int, int]] = field(default_factory=list)  # (chunk_id, start, end)
    exact: bool = False  # the text is the cited sentence itself, verbatim from the index


@dataclass
class Draft:
    sentences: list[DraftSentence]
    abstain: bool = False
    notes: list[str] = field(default_factory=list)
    confidence: float | None = None  # P(the passages answer the question), when assessed


class Backend(Protocol):
    name: str

    def draft(self, query: Query, passages: list[Passage]) -> Draft: ...


_REGISTRY: dict[str, Callable[[Settings], Backend]] = {}
_MODULES = {"extractive": "rag.backends.extractive", "llamacpp": "rag.backends.llamacpp",
            "ollama": "rag.backends.ollama", "openai": "rag.backends.openai_compat"}


def register(name: str) -> Callable[[Callable[[Settings], Backend]], Callable[[Settings], Backend]]:
    def wrap(factory: Callable[[Settings], Backend]) -> Callable[[Settings], Backend]:
        _REGISTRY[name] = factory
        return factory
    return wrap


def get_backend(name: str, settings: Settings) -> Backend:
    if name not in _REGISTRY and name in _MODULES:
        importlib.import_module(_MODULES[name])
    if name not in _REGISTRY:
        raise UsageError(f"unknown backend {name!r}; available: {', '.join(sorted(_MODULES))}")
    return _REGISTRY[name](settings)

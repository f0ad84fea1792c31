"""Answer backends: each registers a name and implements one method, `draft()`.

Backends are found through the entry-point group `rag.backends` (this package's own four are
declared in pyproject.toml; another package adds one the same way). Each entry point names a
`BackendSpec`: the backend's name, its install extra, its factory and a check of whether it can
answer right now. The CLI, the page and the error messages all read this one registry.

A backend writes a draft: sentences, each pointing at the retrieved passages (by number) that
support it, or at exact spans of them. The pipeline (rag/answering/pipeline.py) then checks every
sentence with the shared verifier; nothing a backend says reaches the user unchecked.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from rag.errors import UsageError
from rag.types import Passage

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    import numpy as np
    import numpy.typing as npt

    from rag.answering.assessment import Assessment
    from rag.answering.evidence import Evidence
    from rag.answering.followup import Turn
    from rag.answering.question import Question
    from rag.config import LLMSettings, Settings


@dataclass
class Query:
    question: Question  # parsed once (rag/answering/question.py); every step reads it
    vector: npt.NDArray[np.float32]
    evidence: Evidence  # what the backend may ask of the index
    on_token: Callable[[str], None] | None = None  # receives the model's text as it streams
    assessment: Assessment | None = None  # the scorer's (rag/answering/scorer.py)


@dataclass
class DraftSentence:
    text: str
    refs: list[int]  # 1-based numbers of the retrieved passages it cites
    spans: list[tuple[str, int, int]] = field(default_factory=list)  # (chunk_id, start, end)
    exact: bool = False  # the text is the cited sentence itself, verbatim from the index
    # what to say instead if this sentence fails the verifier (quote mode: the quoted sentence)
    fallback: DraftSentence | None = None


@dataclass
class Draft:
    sentences: list[DraftSentence]
    abstain: bool = False
    notes: list[str] = field(default_factory=list)
    confidence: float | None = None  # P(the passages answer the question), when assessed
    verdict: bool | None = None  # the model's own "answerable", when its reply has one


class Backend(Protocol):
    name: str

    def draft(self, query: Query, passages: list[Passage]) -> Draft: ...


@runtime_checkable
class Checked(Protocol):
    """A backend (or its chat model) that can tell, before the first question, that its server
    cannot work."""

    def ready(self) -> None: ...


@runtime_checkable
class Condenses(Protocol):
    """A backend that rewrites a follow-up into a standalone question itself (an LLM's
    condense step); None when it cannot, and the rules of rag/answering/followup.py apply."""

    def condense(self, question: str, history: list[Turn]) -> str | None: ...


Message = dict[str, str]  # one chat message: {"role": ..., "content": ...}
GROUP = "rag.backends"


def install_hint(extra: str) -> str:
    """How to install a backend's optional dependencies (the page and the errors say it)."""
    return f"pip install 'policy-rag[{extra}]'"

Factory = Callable[["Settings"], Backend]


@dataclass(frozen=True)
class BackendSpec:
    """What the registry knows of a backend."""

    name: str
    make: Factory
    extra: str | None = None  # pip install 'policy-rag[<extra>]' (None: nothing to install)
    module: str | None = None  # the optional package it imports (absent: "not installed")
    check: Callable[[LLMSettings, float], str | None] | None = None  # why it cannot answer
    # the name of the model it would answer with (calibrations are stored under it)
    model: Callable[[LLMSettings], str] | None = None

    def model_name(self, cfg: LLMSettings) -> str:
        """The model this backend answers with: "" for one that needs none (extractive)."""
        if self.model is not None:
            return self.model(cfg)
        return "" if self.extra is None and self.module is None else (cfg.model or "default")

    def problem(self, cfg: LLMSettings, timeout: float = 1.0) -> str | None:
        """None when this backend can answer now; otherwise what is wrong and the fix."""
        import importlib.util

        if self.module and importlib.util.find_spec(self.module) is None:
            hint = install_hint(self.extra) if self.extra else f"pip install {self.module}"
            return f"not installed: {hint}"
        return self.check(cfg, timeout) if self.check else None


# Registered in-process (tests, notebooks); these take precedence over entry points.
_REGISTRY: dict[str, Factory] = {}


def register(name: str) -> Callable[[Factory], Factory]:
    def wrap(factory: Factory) -> Factory:
        _REGISTRY[name] = factory
        return factory
    return wrap


@functools.cache
def _entry_points() -> dict[str, EntryPoint]:
    """Read once per process: scanning the installed distributions takes ~35 ms."""
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=GROUP)}


def names() -> list[str]:
    """Every backend this installation knows: extractive first, then by name."""
    found = set(_entry_points()) | set(_REGISTRY)
    return sorted(found, key=lambda n: (n != "extractive", n))


def spec(name: str) -> BackendSpec:
    """The backend's spec (its module is imported; its optional package is not)."""
    if name in _REGISTRY:  # a model's backend (a test's scripted chat, a notebook's)
        return BackendSpec(name, _REGISTRY[name], model=lambda cfg: cfg.model or "default")
    return _loaded(name)


@functools.cache
def _loaded(name: str) -> BackendSpec:
    point = _entry_points().get(name)
    if point is None and "extractive" not in _entry_points():  # installed before the group
        raise UsageError("no answer backends are registered: install the project again "
                         "(.venv/bin/pip install -e .) so that its entry points are written")
    if point is None:
        raise UsageError(f"unknown backend {name!r}; available: {', '.join(names())}")
    found = point.load()
    if not isinstance(found, BackendSpec):
        raise UsageError(f"the entry point {point.value!r} of backend {name!r} is not a "
                         "rag.answering.backends.BackendSpec")
    return found


def get_backend(name: str, settings: Settings) -> Backend:
    return spec(name).make(settings)

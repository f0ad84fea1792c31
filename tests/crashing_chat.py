"""Chat models for the worker-process tests (tests/test_worker.py): one that crashes the process
it runs in with a real segmentation fault, one that answers, one that fails to start."""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator
from typing import Any

from rag.config import LLMSettings
from rag.errors import BackendError


class CrashingChat:
    """Writes one piece, then dereferences a null pointer (the signal llama.cpp 0.3.36 died
    of), unless the question asks it to answer."""

    def __init__(self, cfg: LLMSettings) -> None:
        self.cfg = cfg

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        yield "The answer"
        if "do not crash" not in messages[-1]["content"]:
            ctypes.string_at(0)  # SIGSEGV in this process
        yield f" from process {os.getpid()}."

    def structured(self, messages: list[dict[str, str]], schema: dict[str, Any]) -> Iterator[str]:
        return self.stream(messages)


class BrokenChat:
    def __init__(self, cfg: LLMSettings) -> None:
        raise BackendError("llamacpp", "could not load /nowhere.gguf (bad magic)",
                           "check that llm.model_path is a GGUF model file")

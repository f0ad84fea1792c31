"""`ollama`: a model served by Ollama, through its official Python client (extra `ollama`).

Talks to `/api/chat` at `llm.base_url` (default http://127.0.0.1:11434) with connect and read
timeouts, so an unreachable or hanging server becomes a clear error, never a hang.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rag.answering.backends import BackendSpec, Message
from rag.answering.backends.llm import LLMBackend, reachable, require
from rag.answering.backends.structured import SchemaUnsupported
from rag.config import LLMSettings, Settings
from rag.errors import BackendError

NAME = "ollama"
DEFAULT_URL = "http://127.0.0.1:11434"


class OllamaChat:
    def __init__(self, cfg: LLMSettings) -> None:
        self.ollama = require("ollama", NAME, "ollama")
        httpx = require("httpx", NAME, "ollama")
        if not cfg.model:
            raise BackendError(NAME, "no model is configured",
                               "set RAG_LLM__MODEL (or --model) to a model of `ollama list`")
        self.cfg, self.url = cfg, cfg.base_url or DEFAULT_URL
        self.httpx = httpx
        self.client = self.ollama.Client(host=self.url, timeout=httpx.Timeout(
            cfg.read_timeout, connect=cfg.connect_timeout))

    def stream(self, messages: list[Message]) -> Iterator[str]:
        return self._chat(messages, None)

    def structured(self, messages: list[Message], schema: dict[str, Any]) -> Iterator[str]:
        """Ollama's `format`: a JSON schema the server enforces with a grammar while decoding
        (Ollama 0.5 and later; older servers answer 400 and the free-text prompt is used)."""
        return self._chat(messages, schema)

    def _chat(self, messages: list[Message], schema: dict[str, Any] | None) -> Iterator[str]:
        options = {"temperature": self.cfg.temperature, "num_predict": self.cfg.max_tokens,
                   "seed": 0}
        try:
            for part in self.client.chat(model=self.cfg.model, messages=messages, stream=True,
                                         options=options, format=schema):
                yield part.message.content or ""
        except self.ollama.ResponseError as err:
            if schema is not None and err.status_code == 400 and "format" in str(err.error):
                raise SchemaUnsupported(f"{self.url} answered 400: {err.error}") from err
            if err.status_code == 404:
                raise BackendError(NAME, f"model {self.cfg.model!r} is not on {self.url}",
                                   f"run `ollama pull {self.cfg.model}` or set "
                                   "RAG_LLM__MODEL") from err
            raise BackendError(NAME, f"the server at {self.url} answered {err.status_code}: "
                               f"{err.error}", "check the Ollama server's log") from err
        except self.httpx.TimeoutException as err:
            raise BackendError(NAME, f"no answer from {self.url} within "
                               f"{self.cfg.read_timeout:g} s (llm.read_timeout)",
                               "check the server, or raise RAG_LLM__READ_TIMEOUT") from err
        except (self.httpx.ConnectError, ConnectionError) as err:  # the client wraps ConnectError
            raise BackendError(NAME, f"cannot connect to {self.url}",
                               "start Ollama (`ollama serve`) or set RAG_LLM__BASE_URL") from err


def make(settings: Settings) -> LLMBackend:
    return LLMBackend(NAME, OllamaChat(settings.llm), settings)


def check(cfg: LLMSettings, timeout: float) -> str | None:
    if not cfg.model:
        return "no model set: give one below (see `ollama list`)"
    return reachable((cfg.base_url or DEFAULT_URL).rstrip("/") + "/api/tags", timeout)


SPEC = BackendSpec(NAME, make, extra="ollama", module="ollama", check=check)

"""`ollama`: a model served by Ollama, through its official Python client (extra `ollama`).

Talks to `/api/chat` at `llm.base_url` (default http://127.0.0.1:11434) with connect and read
timeouts, so an unreachable or hanging server becomes a clear error, never a hang. Before the
first question (whatever the answerability gate decides) `/api/tags` is read once per process:
nothing there, or a model it does not list, is an error. A reply that is not an Ollama chat
stream (not UTF-8, not JSON, another shape, empty) is an error naming the server.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from typing import Any

import httpx  # installed with gradio (a dependency); the ollama client is built on it

from rag.answering.backends import BackendSpec, Message
from rag.answering.backends.llm import (
    GARBAGE_ERRORS,
    LLMBackend,
    check_once,
    listed_models,
    not_a_reply,
    reachable,
    require,
)
from rag.answering.backends.structured import SchemaUnsupported
from rag.config import LLMSettings, Settings
from rag.errors import BackendError

NAME = "ollama"
DEFAULT_URL = "http://127.0.0.1:11434"
START = "start Ollama (`ollama serve`) or set RAG_LLM__BASE_URL"


class OllamaChat:
    def __init__(self, cfg: LLMSettings) -> None:
        self.ollama = require("ollama", NAME, "ollama")
        if not cfg.model:
            raise BackendError(NAME, "no model is configured",
                               "set RAG_LLM__MODEL (or --model) to a model of `ollama list`")
        self.cfg, self.url = cfg, cfg.base_url or DEFAULT_URL
        self.httpx = httpx
        self.client = self.ollama.Client(host=self.url, timeout=httpx.Timeout(
            cfg.read_timeout, connect=cfg.connect_timeout),
            event_hooks={"response": [_strict_utf8]})

    def ready(self) -> None:
        """The server answers at `url` and has the model, if it lists any (/api/tags; a name
        without a tag means `:latest`). Checked once per process; raises BackendError."""
        check_once((NAME, self.url, self.cfg.model), self._check)

    def _check(self) -> None:
        listed = listed_models(NAME, self.url, "/api/tags", self.cfg, START)
        model = self.cfg.model
        if listed and not {model, f"{model}:latest"} & set(listed):
            raise BackendError(NAME, f"model {model!r} is not on {self.url} (it lists: "
                               f"{', '.join(listed[:20])})", f"run `ollama pull {model}` or "
                               "set RAG_LLM__MODEL (or --model) to one of them")

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
            yield from self._text(self.client.chat(model=self.cfg.model, messages=messages,
                                                   stream=True, options=options, format=schema))
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
            raise BackendError(NAME, f"cannot connect to {self.url}", START) from err

    def _text(self, parts: Iterator[Any]) -> Iterator[str]:
        """The text of an Ollama chat stream (NDJSON); anything else is a BackendError naming
        the server (an empty body too: not an empty answer)."""
        seen = False
        try:
            for part in parts:
                seen = True
                yield part.message.content or ""
        except GARBAGE_ERRORS as err:
            raise not_a_reply(NAME, self.url, "an Ollama chat stream", "an Ollama server",
                              err) from err
        if not seen:
            raise not_a_reply(NAME, self.url, "an Ollama chat stream", "an Ollama server",
                              "an empty body")


class _CheckedUTF8(httpx.SyncByteStream):
    """A response body that raises UnicodeDecodeError at its first invalid UTF-8 byte: httpx
    decodes text with errors="replace", so a server's garbage would pass as U+FFFD into the
    model's answer (a real Ollama never sends invalid UTF-8: Go's JSON encoder replaces it)."""

    def __init__(self, stream: httpx.SyncByteStream) -> None:
        self.stream, self.decoder = stream, codecs.getincrementaldecoder("utf-8")()

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.stream:
            self.decoder.decode(chunk)
            yield chunk
        self.decoder.decode(b"", final=True)

    def close(self) -> None:
        self.stream.close()


def _strict_utf8(response: httpx.Response) -> None:
    """httpx's response hook (before the body is read); a compressed body is left alone."""
    if "content-encoding" not in response.headers and isinstance(response.stream,
                                                                  httpx.SyncByteStream):
        response.stream = _CheckedUTF8(response.stream)


def make(settings: Settings) -> LLMBackend:
    return LLMBackend(NAME, OllamaChat(settings.llm), settings)


def check(cfg: LLMSettings, timeout: float) -> str | None:
    if not cfg.model:
        return "no model set: give one below (see `ollama list`)"
    return reachable((cfg.base_url or DEFAULT_URL).rstrip("/") + "/api/tags", timeout)


SPEC = BackendSpec(NAME, make, extra="ollama", module="ollama", check=check)

"""`openai`: any OpenAI-compatible chat server (llama.cpp server, vLLM, LM Studio,
`python -m llama_cpp.server`), through the official `openai` client (extra `openai`).

`llm.base_url` (default http://127.0.0.1:8000/v1), `llm.model`, optional `llm.api_key`. No
retries, connect and read timeouts: an unreachable or hanging server is a clear error. The key
is never put in a message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from rag.answering.backends import BackendSpec, Message
from rag.answering.backends.llm import LLMBackend, reachable, require
from rag.answering.backends.structured import SchemaUnsupported
from rag.config import LLMSettings, Settings
from rag.errors import BackendError

NAME = "openai"
FORMS = (lambda schema: {"type": "json_schema", "json_schema": {
             "name": "answer", "schema": schema, "strict": True}},
         lambda schema: {"type": "json_object", "schema": schema})
DEFAULT_URL = "http://127.0.0.1:8000/v1"


class OpenAIChat:
    def __init__(self, cfg: LLMSettings) -> None:
        self.openai = require("openai", NAME, "openai")
        self.cfg, self.url = cfg, cfg.base_url or DEFAULT_URL
        key = cfg.api_key.get_secret_value() if cfg.api_key else "not-needed"
        self._form = 0  # the first of FORMS not known to be refused
        self._refusals: list[str] = []  # how the server refused the others
        self.client = self.openai.OpenAI(
            base_url=self.url, api_key=key, max_retries=0,
            timeout=self.openai.Timeout(cfg.read_timeout, connect=cfg.connect_timeout))

    def stream(self, messages: list[Message]) -> Iterator[str]:
        with self._errors():
            yield from _text(self._create(messages))

    def structured(self, messages: list[Message], schema: dict[str, Any]) -> Iterator[str]:
        """`response_format` as OpenAI specifies it (json_schema; llama.cpp's own server, vLLM),
        else llama-cpp-python's server form (json_object with a schema); the first form the
        server accepts is kept for the next questions. Neither: SchemaUnsupported."""
        o, refused = self.openai, self._refusals
        with self._errors():
            for i in range(self._form, len(FORMS)):
                form = FORMS[i](schema)
                try:
                    chunks = self._create(messages, response_format=form)
                except o.APIStatusError as err:
                    if not _refused(err):
                        raise
                    refused.append(f"{form['type']}: {err.status_code}")
                    continue
                self._form = i
                yield from _text(chunks)
                return
        self._form = len(FORMS)
        raise SchemaUnsupported(f"{self.url} refused response_format ({', '.join(refused)})")

    def _create(self, messages: list[Message], **extra: Any) -> Any:
        return self.client.chat.completions.create(
            model=self.cfg.model or "default", messages=messages, stream=True,
            temperature=self.cfg.temperature, max_tokens=self.cfg.max_tokens, seed=0, **extra)

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        o = self.openai
        try:
            yield
        except o.APITimeoutError as err:
            raise BackendError(NAME, f"no answer from {self.url} within "
                               f"{self.cfg.read_timeout:g} s (llm.read_timeout)",
                               "check the server, or raise RAG_LLM__READ_TIMEOUT") from err
        except o.APIConnectionError as err:
            raise BackendError(NAME, f"cannot connect to {self.url}", "start the server or set "
                               "RAG_LLM__BASE_URL (e.g. http://127.0.0.1:8080/v1)") from err
        except o.AuthenticationError as err:
            raise BackendError(NAME, f"{self.url} refused the API key",
                               "set RAG_LLM__API_KEY to a key the server accepts") from err
        except o.NotFoundError as err:
            raise BackendError(NAME, f"{self.url} has no model {self.cfg.model!r} (or no chat "
                               "endpoint)", "set RAG_LLM__MODEL to a model the server "
                               "lists at /v1/models") from err
        except o.APIStatusError as err:
            raise BackendError(NAME, f"{self.url} answered {err.status_code}",
                               "check the server's log") from err


def _refused(err: Any) -> bool:
    """The server refused the request's response_format: 400 or 422, or the 500 with a
    validation error naming it that llama-cpp-python's server answers to json_schema."""
    return err.status_code in (400, 422) or (
        err.status_code == 500 and "response_format" in str(err.message))


def _text(chunks: Any) -> Iterator[str]:
    for chunk in chunks:
        if chunk.choices and chunk.choices[0].delta.content:
            yield chunk.choices[0].delta.content


def make(settings: Settings) -> LLMBackend:
    return LLMBackend(NAME, OpenAIChat(settings.llm), settings)


def check(cfg: LLMSettings, timeout: float) -> str | None:
    return reachable((cfg.base_url or DEFAULT_URL).rstrip("/") + "/models", timeout)


SPEC = BackendSpec(NAME, make, extra="openai", module="openai", check=check)

"""`openai`: any OpenAI-compatible chat server (llama.cpp server, vLLM, LM Studio,
`python -m llama_cpp.server`), through the official `openai` client (extra `openai`).

`llm.base_url` (default http://127.0.0.1:8000/v1), `llm.model`, optional `llm.api_key`. No
retries, connect and read timeouts: an unreachable or hanging server is a clear error. Before
the first question (whatever the answerability gate decides) `/models` is read once per process:
nothing there, or a model it does not list, is an error. A reply that is not a chat completion
stream (not UTF-8, not JSON, another shape, no event) is an error naming the server. The key is
never put in a message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

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

NAME = "openai"
FORMS = (lambda schema: {"type": "json_schema", "json_schema": {
             "name": "answer", "schema": schema, "strict": True}},
         lambda schema: {"type": "json_object", "schema": schema})
DEFAULT_URL = "http://127.0.0.1:8000/v1"
START = "start the server or set RAG_LLM__BASE_URL (e.g. http://127.0.0.1:8080/v1)"


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

    def ready(self) -> None:
        """The server answers at `url`, and lists the configured model if it lists any (an
        unset model is not checked: the request then names "default", which single-model
        servers take). Checked once per process; raises BackendError."""
        check_once((NAME, self.url, self.cfg.model), self._check)

    def _check(self) -> None:
        key = self.cfg.api_key
        headers = {"Authorization": f"Bearer {key.get_secret_value()}"} if key else None
        listed = listed_models(NAME, self.url, "/models", self.cfg, START, headers)
        if self.cfg.model and listed and self.cfg.model not in listed:
            raise BackendError(NAME, f"{self.url} has no model {self.cfg.model!r} (it lists: "
                               f"{', '.join(listed[:20])})", "set RAG_LLM__MODEL (or --model) "
                               "to one of them")

    def stream(self, messages: list[Message]) -> Iterator[str]:
        with self._errors():
            yield from self._text(self._create(messages))

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
                yield from self._text(chunks)
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
            raise BackendError(NAME, f"cannot connect to {self.url}", START) from err
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
        except o.APIError as err:  # an error event in the stream
            raise BackendError(NAME, f"{self.url} sent an error: {err.message}",
                               "check the server's log") from err

    def _text(self, chunks: Any) -> Iterator[str]:
        """The text of an OpenAI chat completion stream; anything else is a BackendError
        naming the server (a server that sends no event at all too: not an empty answer)."""
        seen = False
        try:
            for chunk in chunks:
                seen = True
                if piece := _content(chunk):
                    yield piece
        except GARBAGE_ERRORS as err:
            raise self._garbage(err) from err
        if not seen:
            kind = getattr(getattr(chunks, "response", None), "headers", {}).get("content-type")
            raise self._garbage(f"no `data:` event; content type {kind!r}")

    def _garbage(self, err: Exception | str) -> BackendError:
        return not_a_reply(NAME, self.url, "an OpenAI chat completion stream",
                           "an OpenAI-compatible server", err)


def _refused(err: Any) -> bool:
    """The server refused the request's response_format: 400 or 422, or the 500 with a
    validation error naming it that llama-cpp-python's server answers to json_schema."""
    return err.status_code in (400, 422) or (
        err.status_code == 500 and "response_format" in str(err.message))


def _content(chunk: Any) -> str:
    """A chunk's text ("" for one without: the role, the finish reason, usage)."""
    if not chunk.choices:
        return ""
    content = chunk.choices[0].delta.content
    if content is not None and not isinstance(content, str):
        raise TypeError(f"the content {content!r} is not text")
    return content or ""


def make(settings: Settings) -> LLMBackend:
    return LLMBackend(NAME, OpenAIChat(settings.llm), settings)


def check(cfg: LLMSettings, timeout: float) -> str | None:
    return reachable((cfg.base_url or DEFAULT_URL).rstrip("/") + "/models", timeout)


SPEC = BackendSpec(NAME, make, extra="openai", module="openai", check=check)

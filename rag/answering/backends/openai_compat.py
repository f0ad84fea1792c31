"""`openai`: any OpenAI-compatible chat server (llama.cpp server, vLLM, LM Studio,
`python -m llama_cpp.server`), through the official `openai` client (extra `openai`).

`llm.base_url` (default http://127.0.0.1:8000/v1), `llm.model`, optional `llm.api_key`. No
retries, connect and read timeouts: an unreachable or hanging server is a clear error. The key
is never put in a message.
"""

from __future__ import annotations

from collections.abc import Iterator

from rag.answering.backends import BackendSpec
from rag.answering.backends.llm import LLMBackend, Message, reachable, require
from rag.config import LLMSettings, Settings
from rag.errors import BackendError

NAME = "openai"
DEFAULT_URL = "http://127.0.0.1:8000/v1"


class OpenAIChat:
    def __init__(self, cfg: LLMSettings) -> None:
        self.openai = require("openai", NAME, "openai")
        self.cfg, self.url = cfg, cfg.base_url or DEFAULT_URL
        key = cfg.api_key.get_secret_value() if cfg.api_key else "not-needed"
        self.client = self.openai.OpenAI(
            base_url=self.url, api_key=key, max_retries=0,
            timeout=self.openai.Timeout(cfg.read_timeout, connect=cfg.connect_timeout))

    def stream(self, messages: list[Message]) -> Iterator[str]:
        o = self.openai
        try:
            chunks = self.client.chat.completions.create(
                model=self.cfg.model or "default", messages=messages, stream=True,
                temperature=self.cfg.temperature, max_tokens=self.cfg.max_tokens, seed=0)
            for chunk in chunks:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
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


def make(settings: Settings) -> LLMBackend:
    return LLMBackend(NAME, OpenAIChat(settings.llm))


def check(cfg: LLMSettings, timeout: float) -> str | None:
    return reachable((cfg.base_url or DEFAULT_URL).rstrip("/") + "/models", timeout)


SPEC = BackendSpec(NAME, make, extra="openai", module="openai", check=check)

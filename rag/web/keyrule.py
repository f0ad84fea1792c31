"""Who gets the configured API key when the page asks an LLM server.

The page lets a visitor type a model and a server URL. The key (`llm.api_key`, from
configuration only) goes only to the configured server: `llm.base_url`, or the backend's default
URL when that is unset. A URL typed in the page that names another server is asked without it.
"""

from __future__ import annotations

import importlib
from typing import Any
from urllib.parse import urlsplit

from rag.answering.backends import spec
from rag.config import LLMSettings
from rag.errors import RagError


def _server(url: str) -> tuple[str, str, str, str]:
    """A URL as compared here: scheme and authority without case, the path without a final /."""
    parts = urlsplit(url.strip())
    return parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), parts.query


def default_url(backend: str | None) -> str | None:
    """The server a backend talks to when `llm.base_url` is unset (its module's DEFAULT_URL)."""
    if not backend:
        return None
    try:
        module = importlib.import_module(spec(backend).make.__module__)
    except (RagError, ImportError):
        return None
    found = getattr(module, "DEFAULT_URL", None)
    return found if isinstance(found, str) else None


def page_llm(base: LLMSettings, model: str, base_url: str, backend: str | None) -> LLMSettings:
    """`base` with the model and server URL typed in the page (blank: the configured ones);
    without the API key when the typed URL is not the configured server."""
    update: dict[str, Any] = {}
    if model.strip():
        update["model"] = model.strip()
    if base_url.strip():
        update["base_url"] = base_url.strip()
        configured = base.base_url or default_url(backend)
        if configured is None or _server(base_url) != _server(configured):
            update["api_key"] = None
    return base.model_copy(update=update)

"""The Gradio page: ask, read the cited answer, click a marker to see the highlighted source.

Models and index are loaded once, before the page is served. Answers stream: an LLM's text
appears as it is written, then is replaced by the verified answer. Errors become a message in
the page, never a stack trace.
"""

from __future__ import annotations

import html
import logging
import queue
import threading
from collections.abc import Iterator
from typing import Any

import gradio as gr

from rag.answering.pipeline import answer
from rag.config import Settings
from rag.errors import RagError
from rag.retrieval.searcher import get_searcher
from rag.types import Answer
from rag.web import choices
from rag.web.keyrule import page_llm
from rag.web.render import (
    Turn,
    conversation_html,
    passages_html,
    plain_text,
    source_block,
    sources_html,
)

log = logging.getLogger("rag.web")
EXAMPLES = ["When did the EAEU treaty come into force?",
            "Which SCO member is suspected of sending drones to Russia?",
            "How many troops will the CORF have?",
            "What did Narendra Modi tell Putin in Samarkand?",
            "Which countries signed free trade agreements with the EAEU?"]


def stream_answer(settings: Settings, question: str, k: int, docs: list[str] | None,
                  backend: str) -> Iterator[str | Answer]:
    """Yields the model's text so far while it writes, then the verified Answer."""
    tokens: queue.Queue[str | None] = queue.Queue()
    result: dict[str, Any] = {}

    def work() -> None:
        try:
            result["answer"] = answer(question, k=k, docs=docs, backend=backend,
                                      settings=settings, on_token=tokens.put)
        except BaseException as err:  # handed to the caller's thread below
            result["error"] = err
        finally:
            tokens.put(None)  # the end of the stream

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    text = ""
    while (piece := tokens.get()) is not None:
        text += piece
        yield text
    thread.join()
    if "error" in result:
        raise result["error"]
    yield result["answer"]


def _settings_for(base: Settings, model: str, base_url: str,
                  backend: str | None = None) -> Settings:
    """The settings for a question from the page: a server URL typed there gets no API key
    unless it is the configured server (rag/web/keyrule.py)."""
    return base.model_copy(update={"llm": page_llm(base.llm, model, base_url, backend)})


def ask(settings: Settings, question: str, turns: list[Turn], docs: list[str], k: float,
        backend: str, model: str, base_url: str) -> Iterator[tuple[Any, ...]]:
    turns = [*turns, Turn(question=question or "")]
    turn, index = turns[-1], len(turns) - 1
    searcher = get_searcher(settings)
    try:
        chosen = _settings_for(settings, model, base_url, backend)
        for item in stream_answer(chosen, question or "", int(k), docs or None, backend):
            if isinstance(item, Answer):
                turn.answer = item
                turn.sources = [source_block(index, c, searcher) for c in item.citations]
            else:
                turn.partial = item
                yield turns, conversation_html(turns), gr.skip(), gr.skip(), gr.skip(), ""
    except RagError as err:
        turn.error = str(err)
    except Exception:  # never a stack trace in the page; the log has it
        log.exception("answering %r failed", question)
        turn.error = "Something went wrong while answering; the server log has the details."
    yield (turns, conversation_html(turns), sources_html(turns), passages_html(turn.answer),
           plain_text(turn.answer), "")


def api_answer(settings: Settings, question: str, k: int = 5,
               docs: list[str] | None = None) -> dict[str, Any]:
    """The `rag ask --json` object (for API clients), or {"error": message}."""
    try:
        return answer(question, k=k, docs=docs or None, settings=settings).to_dict()
    except RagError as err:
        return {"error": str(err)}


def check_backends(settings: Settings, model: str, base_url: str) -> tuple[Any, str]:
    found = choices.availability(_settings_for(settings, model, base_url).llm)
    usable = [name for name, why in found.items() if why is None]
    return gr.update(choices=usable), html.escape(choices.describe(found))

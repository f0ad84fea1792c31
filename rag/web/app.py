"""The Gradio page: ask, read the cited answer, click a marker to see the highlighted source.

Models and index are loaded once, before the page is served. Answers stream: an LLM's text
appears as it is written, then is replaced by the verified answer. Errors become a message in
the page, never a stack trace.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import queue
import threading
from collections.abc import Iterator
from typing import Any

import gradio as gr

from rag.answering.pipeline import answer
from rag.config import AnswerSettings, Settings
from rag.errors import RagError, UsageError
from rag.retrieval.searcher import Searcher, get_searcher
from rag.types import Answer
from rag.web import choices, export
from rag.web.keyrule import page_llm
from rag.web.render import (
    Turn,
    conversation_html,
    history,
    passages_html,
    plain_text,
    source_block,
    sources_html,
)

log = logging.getLogger("rag.web")


def stream_answer(settings: Settings, question: str, k: int, docs: list[str] | None,
                  backend: str, earlier: list[Answer] | None = None) -> Iterator[str | Answer]:
    """Yields the model's text so far while it writes, then the verified Answer."""
    tokens: queue.Queue[str | None] = queue.Queue()
    result: dict[str, Any] = {}

    def work() -> None:
        try:
            result["answer"] = answer(question, k=k, docs=docs, backend=backend,
                                      settings=settings, on_token=tokens.put, history=earlier)
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
    earlier = history(turns)  # a follow-up is searched with the conversation's earlier turns
    turns = [*turns, Turn(question=question or "")]
    turn, index = turns[-1], len(turns) - 1
    searcher = get_searcher(settings)
    try:
        _still_indexed(docs or [], searcher)
        chosen = _settings_for(settings, model, base_url, backend)
        for item in stream_answer(chosen, question or "", int(k), docs or None, backend,
                                  earlier):
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


def _still_indexed(docs: list[str], searcher: Searcher) -> None:
    """A document ticked in a page opened before an ingest removed it is refused, saying so."""
    gone = sorted(set(docs) - set(searcher.fingerprint.docs))
    if gone:
        raise UsageError(f"{', '.join(gone)} is no longer indexed (an ingest removed it since "
                         "this page was opened) — reload the page to see the documents "
                         "indexed now")


def _k_bounds() -> tuple[int, int]:
    """AnswerSettings.k's bounds (ge, le), read from its field."""
    found = {name: getattr(m, name) for m in AnswerSettings.model_fields["k"].metadata
             for name in ("ge", "le") if hasattr(m, name)}
    return int(found["ge"]), int(found["le"])


def _shown(value: object) -> str:
    """A value as an error message shows it: its JSON type and a short repr."""
    kind = {str: "a string", bool: "a boolean", int: "a number", float: "a number",
            list: "a list", dict: "an object", type(None): "null"}.get(type(value), "a value")
    text = repr(value)
    return f"{kind} ({text[:60]}{'...' if len(text) > 60 else ''})"


def api_history(earlier: Any) -> list[dict[str, str]] | None:
    """The API's `history`: null, or a list of earlier turns, oldest first, each a question
    string or an object with a "question" string (and optionally "searched" and "answer",
    as `rag ask --json` gives them)."""
    if earlier is None:
        return None
    fields = ("question", "searched", "answer")
    if not isinstance(earlier, list) or len(earlier) > 50 or not all(
            isinstance(t, str) or (isinstance(t, dict) and isinstance(t.get("question"), str)
                                   and all(isinstance(t.get(f, ""), str | None) for f in fields))
            for t in earlier):
        raise UsageError("history must be a list (at most 50) of earlier questions, oldest "
                         "first: strings, or objects with a \"question\" string and optionally "
                         f"\"searched\" and \"answer\" (as the API returns them); got "
                         f"{_shown(earlier)}")
    return [{"question": t} if isinstance(t, str) else
            {f: t.get(f) or "" for f in fields} for t in earlier]


def api_arguments(question: Any, k: Any, docs: Any) -> tuple[str, int, list[str] | None]:
    """The API's arguments checked: a question string, k a whole number within
    AnswerSettings.k's bounds, docs null or a list of document ids (strings)."""
    if not isinstance(question, str):
        raise UsageError(f"question must be a string, e.g. \"What is the SCO?\"; got "
                         f"{_shown(question)}")
    low, high = _k_bounds()
    if isinstance(k, bool) or not isinstance(k, int) or not low <= k <= high:
        raise UsageError(f"k (passages retrieved) must be a whole number from {low} to {high}; "
                         f"got {_shown(k)}")
    if docs is not None and not (isinstance(docs, list)
                                 and all(isinstance(d, str) for d in docs)):
        raise UsageError("docs must be a list of document ids (the corpus's file names), or "
                         f"null for all documents; got {_shown(docs)}")
    return question, k, docs or None


def api_answer(settings: Settings, question: Any, k: Any = 5, docs: Any = None,
               earlier: Any = None) -> dict[str, Any]:
    """The `rag ask --json` object (for API clients), or {"error": message}. Any argument
    may arrive (the schema does not bind a client), so each is checked here."""
    try:
        question, k, docs = api_arguments(question, k, docs)
        return answer(question, k=k, docs=docs, settings=settings,
                      history=api_history(earlier)).to_dict()
    except RagError as err:
        return {"error": str(err)}
    except Exception:  # never a stack trace for a client; the log has it
        log.exception("answering %r through the API failed", question)
        return {"error": "something went wrong while answering; the server log has the "
                         "details"}


EXPORTS = (("conversation.md", "text/markdown", "The conversation (Markdown, numbered "
             "bibliography)"), ("references.bib", "application/x-bibtex", "Cited sources "
             "(BibTeX)"), ("references.json", "application/json", "Cited sources (CSL-JSON)"))


def export_links(settings: Settings, turns: list[Turn]) -> str:
    """Download links for the conversation and its cited sources (rag/web/export.py), as data:
    URLs: the files are made for this visitor and never stored on the server, so no file route
    is opened for them (rag/web/guard.py serves only the corpus's documents)."""
    exchanges = export.exchanges_of(turns)
    if not exchanges:
        return '<div class="meta">Nothing to export yet: ask a question first.</div>'
    searcher = get_searcher(settings)
    texts = [export.markdown(exchanges, searcher), export.bibtex(exchanges, searcher),
             json.dumps(export.csl_json(exchanges, searcher), indent=2, ensure_ascii=False)]
    links = [f'<a download="{name}" href="data:{kind};charset=utf-8;base64,'
             f'{base64.b64encode(text.encode()).decode()}">{html.escape(label)}</a>'
             for (name, kind, label), text in zip(EXPORTS, texts, strict=True)]
    return '<div class="exports">Download: ' + " · ".join(links) + "</div>"


def check_backends(settings: Settings, model: str, base_url: str) -> tuple[Any, str]:
    found = choices.availability(_settings_for(settings, model, base_url).llm)
    usable = [name for name, why in found.items() if why is None]
    return gr.update(choices=usable), html.escape(choices.describe(found))

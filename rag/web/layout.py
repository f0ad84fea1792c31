"""The page's layout and its wiring to the handlers of rag/web/app.py.

A question from the page is routed by its backend to one of two events with separate
concurrency groups: questions waiting on an LLM server (up to its read timeout when the
server hangs) hold only LLM slots, never the extractive ones other visitors need.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import gradio as gr

from rag.config import Settings
from rag.web import app, choices, upload_panel
from rag.web.front import front
from rag.web.render import conversation_html, sources_html

COPY_JS = "(text) => { navigator.clipboard && navigator.clipboard.writeText(text); return []; }"
ASKING = 4  # questions answered at once per group (extractive; LLM-backed)


def _markdown(text: str) -> str:
    """Settings or corpus text shown as plain text inside the page's Markdown."""
    return "".join(f"\\{ch}" if ch in "\\`*_{}[]()#+-.!|<>&" else ch for ch in text)


def route(backend: str, llm_asks: int, extractive_asks: int) -> tuple[Any, Any]:
    """Counts the question in the State of its group; that State's change starts the answer
    in the group's event (the other State is left as it is, so its event does not fire)."""
    if backend == "extractive":
        return gr.skip(), extractive_asks + 1
    return llm_asks + 1, gr.skip()


def build(settings: Settings, uploads: bool = False) -> gr.Blocks:
    """The page; `uploads`: documents may be added and removed from it (rag/web/upload_panel.py)."""
    docs = choices.documents(settings)  # model and index loaded once, before serving
    found = choices.availability(settings.llm)
    usable = [name for name, why in found.items() if why is None]
    default = settings.llm.backend if settings.llm.backend in usable else "extractive"
    shown = front(settings)  # title, description, examples: from settings or the corpus
    with gr.Blocks(title=shown.title) as page:
        gr.Markdown(f"# {_markdown(shown.title)}\n{_markdown(shown.description)} Every "
                    "sentence cites its source; click a marker to read it.", elem_id="header")
        turns = gr.State([])
        llm_asks, extractive_asks = gr.State(0), gr.State(0)
        with gr.Row():
            with gr.Column(scale=3):
                conversation = gr.HTML(conversation_html([]), elem_id="conversation")
                question = gr.Textbox(label="Question", placeholder="Ask about the documents; "
                                      "a follow-up may say \"it\" or \"they\"",
                                      elem_id="question", max_length=2000)
                with gr.Row():
                    submit = gr.Button("Ask", variant="primary", elem_id="ask")
                    copy = gr.Button("Copy answer with references", elem_id="copy")
                    new = gr.Button("New conversation", elem_id="new-conversation")
                    save = gr.Button("Export conversation", elem_id="export")
                exported = gr.HTML("", elem_id="exports")
                if shown.examples:
                    gr.Examples(shown.examples, inputs=question, label="Examples")
                plain = gr.Textbox(label="Answer with references (plain text)", lines=4,
                                   interactive=False, buttons=["copy"], elem_id="plain")
                with gr.Accordion("Retrieved passages", open=False):
                    passages = gr.HTML("", elem_id="passages")
            with gr.Column(scale=2):
                gr.Markdown("### Source")
                sources = gr.HTML(sources_html([]), elem_id="sources")
                with gr.Accordion("Settings", open=False):
                    chosen_docs = gr.CheckboxGroup(docs, label="Only these documents (none "
                                                   "ticked: all)", elem_id="docs")
                    k = gr.Slider(1, 20, value=settings.answer.k, step=1,
                                  label="Passages retrieved", elem_id="k")
                    backend = gr.Dropdown(usable, value=default, label="Answer backend",
                                          elem_id="backend")
                    model = gr.Textbox(settings.llm.model, label="Model (ollama, openai)")
                    base_url = gr.Textbox(settings.llm.base_url or "",
                                          label="Server URL (ollama, openai)")
                    status = gr.Markdown(choices.describe(found), elem_id="backend-status")
                    recheck = gr.Button("Check backends again", size="sm")
                    gr.Markdown(choices.calibrations(settings), elem_id="calibrations")
                upload_panel.panel(settings, chosen_docs, uploads)
        inputs = [turns, chosen_docs, k, backend, model, base_url]
        outputs = [turns, conversation, sources, passages, plain, question]

        def ask(question: str, *rest: Any) -> Iterator[tuple[Any, ...]]:
            yield from app.ask(settings, question, *rest)

        def answer(question: Any, k: Any = 5, docs: Any = None,
                   history: Any = None) -> dict[str, Any]:
            """Answer a question (a string); k: passages retrieved, a whole number from 1 to
            50; docs: a list of document ids, or null for all; history: the conversation's
            earlier turns, oldest first (question strings, or the objects this API returned),
            so that a follow-up ("When was it founded?") is searched as a standalone question
            (returned as "searched"). Returns the `rag ask --json` object, or {"error": "what
            is wrong"}."""
            return app.api_answer(settings, question, k, docs, history)

        def documents() -> Any:
            return gr.update(choices=choices.documents(settings))

        for event in (submit.click, question.submit):
            event(route, [backend, llm_asks, extractive_asks], [llm_asks, extractive_asks],
                  api_visibility="private", concurrency_limit=None, concurrency_id="route",
                  show_progress="hidden")
        for state, group in ((llm_asks, "ask-llm"), (extractive_asks, "ask-extractive")):
            state.change(ask, [question, *inputs], outputs, api_visibility="private",
                         concurrency_limit=ASKING, concurrency_id=group)
        page.load(documents, None, chosen_docs, api_visibility="private")
        copy.click(None, [plain], None, js=COPY_JS)
        save.click(functools.partial(app.export_links, settings), [turns], [exported],
                   api_visibility="private")
        # follow-ups read the earlier turns: a new topic starts from none
        new.click(lambda: ([], conversation_html([]), sources_html([]), "", "", ""), None,
                  [turns, conversation, sources, passages, plain, exported],
                  api_visibility="private")
        recheck.click(functools.partial(app.check_backends, settings), [model, base_url],
                      [backend, status], api_visibility="private")
        # The API answers with the configured backend: an LLM one shares the page's LLM slots.
        api_group = None if settings.llm.backend == "extractive" else "ask-llm"
        gr.api(answer, api_name="answer", concurrency_limit=ASKING,  # type: ignore[attr-defined]
               concurrency_id=api_group)
    return page  # type: ignore[no-any-return]

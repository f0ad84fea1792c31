"""Documents added from the page and removed from it.

Files are checked and placed by rag/ingest/uploads.py (as ingest would judge them; refused ones
are listed with the reason), then indexed by the index's one ingest queue
(rag/index/ingest_queue.py), whose progress the status line shows. The visitor's document filter
is updated when the ingest is done; answers use the new generation at once (get_searcher).

Only documents added from the page can be removed from it: the page has no login, so whoever
can reach it must not be able to delete the documents its owner put in the corpus folder.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from rag.config import Settings
from rag.errors import RagError
from rag.index.ingest_queue import Run, queue_for
from rag.ingest.uploads import MAX_FILES, Outcome, add_files, remove_file, uploaded
from rag.retrieval.searcher import get_searcher
from rag.web import choices

OFF = ("**Adding and removing documents is off** because the page listens on an address other "
       "than loopback and has no login. To turn it on, start it with `python ui.py "
       "--allow-upload`: then anyone who can reach the page can add and remove documents.")
POLL_S = 0.5  # how often the status line is updated while an ingest runs
WAITING = 8  # visitors' add/remove events at once: each mostly waits on the one ingest queue


def panel(settings: Settings, chosen_docs: Any, enabled: bool) -> None:
    """The controls that add and remove documents, inside the page's Blocks; with `enabled`
    false, only a note saying they are off and how to turn them on."""
    with gr.Accordion("Add or remove documents", open=False, elem_id="documents") as box:
        if not enabled:
            gr.Markdown(OFF, elem_id="uploads-off")
            return
        gr.Markdown(f"PDF, TXT, MD or HTML files, up to {MAX_FILES} at once and "
                    f"{settings.max_document_mb:g} MB each. They are indexed at once for "
                    "everyone using this page.")
        files = gr.File(label="Add documents", file_count="multiple", type="filepath",
                        elem_id="upload")
        status = gr.HTML("", elem_id="upload-status")
        removable = gr.Dropdown(_removable(settings), value=None, elem_id="remove-doc",
                                label="Remove a document added from this page")
        remove = gr.Button("Remove", size="sm", elem_id="remove")

    def add(paths: list[str] | None, chosen: list[str] | None) -> Iterator[tuple[Any, ...]]:
        yield from _add(settings, paths or [], chosen or [])

    def drop(name: str | None, chosen: list[str] | None) -> Iterator[tuple[Any, ...]]:
        yield from _remove(settings, name, chosen or [])

    outputs = [files, status, chosen_docs, removable]
    files.upload(add, [files, chosen_docs], outputs, api_visibility="private",
                 concurrency_limit=WAITING, concurrency_id="documents")
    remove.click(drop, [removable, chosen_docs], outputs, api_visibility="private",
                 concurrency_limit=WAITING, concurrency_id="documents")
    box.expand(lambda: gr.update(choices=_removable(settings)), None, removable,
               api_visibility="private")


def _removable(settings: Settings) -> list[str]:
    return uploaded(settings.corpus_dir, settings.index_dir)


def _lines(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>" if items else ""


def _outcome_html(outcome: Outcome) -> str:
    parts = []
    if outcome.refused:
        parts.append("<p><b>Not added:</b></p>" + _lines(
            [f"{html.escape(name)}: {html.escape(why)}" for name, why in outcome.refused]))
    if outcome.notes:
        parts.append("<p>Notes:</p>" + _lines([html.escape(n) for n in outcome.notes]))
    return "".join(parts)


def _waiting(run: Run, settings: Settings) -> Iterator[str]:
    """The status line while `run` goes on (its end is `_ended`, shown with the new filter)."""
    queue = queue_for(settings)
    while not run.done.wait(POLL_S):
        yield f"<p class='working'>{html.escape(queue.describe(run))}…</p>"


def _ended(run: Run, done: str) -> str:
    if run.error is not None:
        return f"<p class='error'>The ingest failed: {html.escape(str(run.error))}</p>"
    return f"<p class='done'>{done}</p>"


def _filter(settings: Settings, chosen: list[str]) -> Any:
    """The document filter of the live index, the visitor's ticks kept where still indexed."""
    docs = choices.documents(settings)
    ids = {doc for _, doc in docs}
    return gr.update(choices=docs, value=[doc for doc in chosen if doc in ids])


def _add(settings: Settings, paths: list[str],
         chosen: list[str]) -> Iterator[tuple[Any, ...]]:
    if not paths:
        return
    checking = f"<p class='working'>Checking {len(paths)} file(s)…</p>"
    yield gr.skip(), checking, gr.skip(), gr.skip()
    try:
        outcome = add_files([(Path(p), Path(p).name) for p in paths], settings.corpus_dir,
                            settings.index_dir, settings.metadata_file,
                            settings.max_document_mb, get_searcher(settings).fingerprint.docs)
    except (RagError, OSError) as err:
        yield None, f"<p class='error'>{html.escape(str(err))}</p>", gr.skip(), gr.skip()
        return
    told = _outcome_html(outcome)
    if not outcome.added:
        yield None, told, gr.skip(), gr.skip()
        return
    names = html.escape(", ".join(outcome.added))
    run = queue_for(settings).request()
    for line in _waiting(run, settings):
        yield None, f"<p>Adding {names}</p>{line}{told}", gr.skip(), gr.skip()
    yield (None, _ended(run, f"Added and indexed: {names}.") + told, _filter(settings, chosen),
           gr.update(choices=_removable(settings)))


def _remove(settings: Settings, name: str | None,
            chosen: list[str]) -> Iterator[tuple[Any, ...]]:
    if not name:
        yield gr.skip(), "<p>Choose a document to remove.</p>", gr.skip(), gr.skip()
        return
    try:
        remove_file(name, settings.corpus_dir, settings.index_dir)
    except (RagError, OSError) as err:
        yield gr.skip(), f"<p class='error'>{html.escape(str(err))}</p>", gr.skip(), gr.skip()
        return
    shown = html.escape(name)
    run = queue_for(settings).request()
    for line in _waiting(run, settings):
        yield gr.skip(), f"<p>Removing {shown}</p>{line}", gr.skip(), gr.skip()
    yield (gr.skip(), _ended(run, f"Removed {shown} and updated the index."),
           _filter(settings, chosen), gr.update(choices=_removable(settings), value=None))

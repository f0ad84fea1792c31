"""HTML for the web page. Every piece of corpus text and user input goes through `esc()`.

Citation markers are links to `#src-<turn>-<n>`; the source panel holds one hidden block per
citation, shown by the CSS `:target` rule when its marker is clicked (no script needed).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote

from rag.types import HEDGE, Answer, Citation
from rag.web.pdfpage import marked_boxes, page_png

if TYPE_CHECKING:
    from rag.retrieval.searcher import Searcher

CONTEXT = 320  # characters shown around a cited span
CSS = """
#sources .source { display: none; }
#sources .source:target { display: block; }
#sources .hint { display: none; color: var(--body-text-color-subdued); }
#sources:not(:has(.source:target)) .hint { display: block; }
#sources mark { background: #ffe066; color: #000; padding: 0 2px; }
.turn { margin-bottom: 1.2em; }
.q { font-weight: 600; margin-bottom: .3em; }
.searched { font-size: .9em; font-style: italic; color: #555; margin: -.2em 0 .3em; }
.a a.cite { font-weight: 600; text-decoration: none; margin-left: 1px; }
.a.abstained { color: #a15c00; }
.a.hedged { border-left: 4px dashed #a15c00; padding-left: 8px; background: #fff8ec; }
.hedge { color: #a15c00; font-weight: 600; }
.short { font-size: 1.25em; font-weight: 700; margin-bottom: .2em; }
.a.error { color: #b00020; }
.meta, .closest { font-size: .85em; color: var(--body-text-color-subdued); }
.passage { font-size: .9em; margin: .4em 0; }
.pdfpage img { max-width: 100%; border: 1px solid #ccc; margin-top: .3em; }
"""


def esc(text: str) -> str:
    return html.escape(" ".join(text.replace("■", " ").split()))


@dataclass
class Turn:
    question: str
    answer: Answer | None = None
    partial: str = ""
    error: str = ""
    sources: list[str] = field(default_factory=list)  # pre-rendered source blocks


def _answer_html(i: int, turn: Turn) -> str:
    a = turn.answer
    if turn.error:
        return f'<div class="a error">⚠ {esc(turn.error)}</div>'
    if a is None:
        return f'<div class="a pending">{esc(turn.partial)} …</div>'
    if a.abstained:
        closest = "".join(f"<li>{esc(p.doc)}: “{esc(p.text[:180])}…”</li>"
                          for p in a.retrieved[:3])
        why = "".join(f"<div>Note: {esc(n)}</div>" for n in a.notes)
        return (f'<div class="a abstained">{esc(a.answer)}</div>'
                f'<div class="closest">Closest passages:<ul>{closest}</ul></div>'
                f'<div class="meta">{why}</div>')
    body = " ".join(esc(s.text) + "".join(
        f'<a class="cite" href="#src-{i}-{n}" data-n="{n}">[{n}]</a>' for n in s.citations)
        for s in a.sentences)
    if a.hedged:  # the answer's own words say it; the style shows it at a glance
        body = f'<span class="hedge">{esc(HEDGE)}</span> {body}'
    kind = "a hedged" if a.hedged else "a"
    notes = "".join(f"<div>Note: {esc(n)}</div>" for n in a.notes)
    short = (f'<div class="short">{esc(a.short_answer)}</div>' if a.short_answer else "")
    confidence = "" if a.confidence is None else f" · confidence {a.confidence:.2f}"
    return (f'{short}<div class="{kind}">{body}</div><div class="meta">backend '
            f'{esc(a.backend)}{confidence} · {a.timings_ms.get("total", 0):.0f} ms{notes}</div>')


def conversation_html(turns: list[Turn]) -> str:
    if not turns:
        return '<div class="meta">Ask a question about the corpus, or click an example.</div>'
    return "".join(f'<div class="turn"><div class="q">Q: {esc(t.question)}</div>'
                   f"{_searched_html(t)}{_answer_html(i, t)}</div>" for i, t in enumerate(turns))


def _searched_html(turn: Turn) -> str:
    """A follow-up's standalone question, when it was searched for instead of the text typed."""
    a = turn.answer
    if a is None or not a.searched or a.searched == a.question:
        return ""
    return f'<div class="searched">Searched for: {esc(a.searched)}</div>'


def history(turns: list[Turn]) -> list[Answer]:
    """The earlier turns a follow-up reads: those that were answered (or abstained)."""
    return [t.answer for t in turns if t.answer is not None]


def _page_html(c: Citation, searcher: Searcher) -> str:
    """For a PDF citation: the page drawn with the cited lines marked, and a link to the page."""
    pages = searcher.pages(c.doc)
    if pages is None or c.page is None:
        return ""
    image = page_png(searcher.pdf_path(c.doc), c.page,
                     marked_boxes(pages.lines_in(c.start, c.end), c.page))
    # The corpus folder is the one the page serves files from (ui.py `allowed_paths`).
    corpus_file = (searcher.settings.corpus_dir / c.doc).resolve()
    link = (f'<a href="/gradio_api/file={html.escape(quote(str(corpus_file)))}#page={c.page}" '
            f'target="_blank" rel="noopener">Open page {c.page} of the PDF</a><br>'
            if corpus_file.is_file() else "")
    return (f'<div class="pdfpage">{link}<img src="{image}" alt="page {c.page} of '
            f'{html.escape(c.doc)}, the cited lines marked" data-page="{c.page}"></div>')


def source_block(i: int, c: Citation, searcher: Searcher) -> str:
    original = searcher.original(c.doc)
    meta = searcher.metadata.get(c.doc)
    authors = ", ".join(meta.authors) if meta and meta.authors else "authors not stated"
    year = str(meta.year) if meta and meta.year else "year not stated"
    before = original[max(0, c.start - CONTEXT):c.start]
    after = original[c.end:c.end + CONTEXT]
    return (f'<div class="source" id="src-{i}-{c.n}" data-doc="{html.escape(c.doc)}">'
            f"<h4>[{c.n}] {esc(c.title)}</h4>"
            f'<div class="meta">{esc(authors)} · {esc(year)} · {esc(c.doc)}, '
            f"{c.location('–')}</div>"
            f"<blockquote>…{esc(before)} <mark>{esc(c.quote)}</mark> {esc(after)}…</blockquote>"
            f"{_page_html(c, searcher)}</div>")


def sources_html(turns: list[Turn]) -> str:
    blocks = "".join(b for t in turns for b in t.sources)
    return ('<div class="hint">Click a marker such as [1] in an answer to see its source here, '
            f"with the cited words highlighted.</div>{blocks}")


def passages_html(answer: Answer | None) -> str:
    if answer is None or not answer.retrieved:
        return '<div class="meta">No passages yet.</div>'
    return "".join(f'<div class="passage"><b>{p.rank}.</b> {esc(p.doc)} · score '
                   f"{p.score:.4f} · characters {p.start}–{p.end}<br>{esc(p.text)}</div>"
                   for p in answer.retrieved)


def plain_text(answer: Answer | None) -> str:
    """The answer with a numbered reference list, for copying."""
    if answer is None:
        return ""
    refs = [f"[{c.n}] {c.title}. {c.doc}, {c.location()}: "
            f"\"{' '.join(c.quote.split())}\"" for c in answer.citations]
    head = f"{answer.short_answer}\n\n" if answer.short_answer else ""
    return head + answer.answer + ("\n\nReferences:\n" + "\n".join(refs) if refs else "")

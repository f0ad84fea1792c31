"""Issue 18's measure: a PDF made from a corpus document (eval/pdf_corpus.py), dropped into a
copy of the corpus in its text version's place, is ingested incrementally, finds the gold
evidence as often as the text version, and every citation of it names the right page."""

from pathlib import Path
from typing import Any

import pytest

from rag.answering.pipeline import answer, retrieve
from rag.evaluate.gold import load_gold, rebase
from rag.evaluate.metrics import retrieval
from rag.retrieval.searcher import get_searcher
from tests.conftest import DOCS, ROOT
from tests.test_pdf import page_texts

pytestmark = pytest.mark.slow


def test_the_pdf_replacing_its_text_version_is_ingested_incrementally(pdf_index: Any) -> None:
    _, report, pdf = pdf_index
    assert [s.doc for s in report.plan.added] == [pdf.name]
    assert report.plan.removed == [DOCS[0]]
    assert sorted(report.plan.unchanged) == DOCS[1:]
    searcher = get_searcher(pdf_index[0])
    assert 0 < report.chunks_embedded == report.chunks - sum(
        1 for c in searcher.chunks.values() if c.doc != pdf.name)
    # PDFium gives a hyphen ending a line as "\x02": it is kept, as the text version has it
    assert "his views re-\nceived a further shot" in searcher.original(pdf.name)


def test_the_pdf_finds_the_gold_evidence_as_often_as_its_text(real_index: Any,
                                                             pdf_index: Any) -> None:
    settings, _, pdf = pdf_index
    gold = [i for i in load_gold(ROOT / "eval" / "gold.jsonl") if i.doc == DOCS[0]]
    assert len(gold) > 30
    as_pdf = {i.id: i for i in rebase(gold, settings.corpus_dir)}
    assert all(i.doc == pdf.name for i in as_pdf.values())
    hits = [(retrieval(i, retrieve(i.question, 5, None, real_index)[2], 5)["hit"],
             retrieval(as_pdf[i.id], retrieve(i.question, 5, None, settings)[2], 5)["hit"])
            for i in gold]
    text_hits, pdf_hits = sum(t for t, _ in hits), sum(p for _, p in hits)
    assert pdf_hits == text_hits >= 0.9 * len(gold)


def test_every_citation_of_the_pdf_names_the_page_it_quotes(pdf_index: Any) -> None:
    settings, _, pdf = pdf_index
    pages = page_texts(pdf)
    searcher = get_searcher(settings)
    original = searcher.original(pdf.name)
    questions = [i.question for i in load_gold(ROOT / "eval" / "gold.jsonl")
                 if i.doc == DOCS[0] and i.type in ("fact", "number", "table")][:12]
    cited = [c for q in questions for c in answer(q, settings=settings).citations
             if c.doc == pdf.name]
    assert len(cited) >= 8
    for c in cited:
        assert c.quote == original[c.start:c.end]
        first_line = " ".join(c.quote.split("\n")[0].split())
        assert c.page is not None and first_line in pages[c.page - 1], (c.page, first_line)
        assert c.to_dict()["page"] == c.page


def test_a_text_document_cites_no_page(pdf_index: Any) -> None:
    settings, _, _ = pdf_index
    result = answer("What is the Collective Security Treaty Organization?", settings=settings)
    assert result.citations
    assert all((c.page is None) == (not c.doc.endswith(".pdf")) for c in result.citations)
    assert all(Path(c.doc).suffix in (".txt", ".pdf") for c in result.citations)

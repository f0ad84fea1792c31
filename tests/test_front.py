"""The page's title, description and examples come from the settings or the corpus, and an
example is offered only when it is answered confidently on that corpus (issue 35)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from rag.config import get_settings
from rag.errors import UsageError
from rag.web.front import CorpusMeta, candidates, corpus_meta, description_of, front
from rag.web.layout import _markdown


def test_the_corpus_table_of_the_metadata_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "metadata.toml").write_text(
        '["a.txt"]\ntitle = "A"\n\n[corpus]\ntitle = "Health papers"\nexamples = ["What is X?"]\n')
    meta = corpus_meta(get_settings(corpus_dir=tmp_path))
    assert meta == CorpusMeta(title="Health papers", examples=["What is X?"])
    assert corpus_meta(get_settings(corpus_dir=tmp_path / "none")) == CorpusMeta()
    (tmp_path / "metadata.toml").write_text('[corpus]\nexamples = "not a list"\n')
    with pytest.raises(UsageError, match=r"\[corpus\] table of .*metadata.toml"):
        corpus_meta(get_settings(corpus_dir=tmp_path))


def test_the_corpus_table_is_not_a_document() -> None:
    from rag.ingest.metadata import load_metadata

    assert "corpus" not in load_metadata(Path("corpus"), "metadata.toml")


def test_a_description_is_made_from_the_titles() -> None:
    assert description_of(["Only"]) == "Answers from 1 document: Only."
    assert description_of(list("ABCD")) == "Answers from 4 documents: A; B; C; …."


def test_candidates_come_from_settings_then_corpus_then_abbreviations() -> None:
    settings = get_settings(ui={"examples": ["Q1?", "Q2?"]})
    found = candidates(settings, CorpusMeta(examples=["Q2?", "Q3?"]), ["WHO"])
    assert found[:3] == ["Q1?", "Q2?", "Q3?"] and "What is the WHO?" in found


def test_title_text_cannot_inject_markup() -> None:
    assert _markdown("A *bold* [link](x) <b>") == r"A \*bold\* \[link\]\(x\) \<b\>"


@pytest.mark.slow
def test_examples_are_those_answered_confidently(real_index: Any) -> None:
    settings = real_index.model_copy(update={"ui": real_index.ui.model_copy(update={
        "examples": ["What is the population of Kazakhstan?", "When was the SCO founded?"],
        "title": "My title", "example_count": 3})})
    shown = front(settings)
    assert shown.title == "My title"
    assert "When was the SCO founded?" in shown.examples  # answered confidently
    assert "What is the population of Kazakhstan?" not in shown.examples  # a near-miss
    assert len(shown.examples) == 3


@pytest.mark.slow
def test_a_corpus_without_metadata_gets_a_page_of_its_own(real_index: Any,
                                                          tmp_path: Path) -> None:
    """No metadata file: the title is generic, the description names the documents, and no
    text written for the seed corpus appears."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for doc in sorted(real_index.corpus_dir.glob("00[23]_*.txt")):
        shutil.copy(doc, corpus / doc.name)
    from rag.index.build import ingest

    settings = get_settings(corpus_dir=corpus, index_dir=tmp_path / "idx")
    ingest(settings, progress=False)
    shown = front(settings)
    assert shown.title == "Document Q&A"
    assert shown.description.startswith("Answers from 2 documents:")
    assert "five papers" not in shown.description
    assert shown.examples and all(q.endswith("?") for q in shown.examples)

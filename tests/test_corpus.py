"""Which files of a corpus folder are documents, and clear warnings for the rest."""

import os
from pathlib import Path

import pytest

from rag.errors import UsageError
from rag.ingest.corpus import scan_corpus
from rag.ingest.metadata import load_metadata
from tests.conftest import CORPUS, DOCS


def test_the_real_corpus_is_five_documents_without_warnings() -> None:
    scan = scan_corpus(CORPUS, "metadata.toml")
    assert [s.doc for s in scan.documents] == DOCS
    assert len(DOCS) == 5
    assert scan.warnings == []


def test_the_corpus_copy_is_byte_for_byte_the_shared_original() -> None:
    shared = CORPUS.parent.parent / "shared" / "corpus"
    if not shared.is_dir():
        pytest.skip("../shared/corpus is not beside this checkout")
    for doc in DOCS:
        assert (CORPUS / doc).read_bytes() == (shared / doc).read_bytes()


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("empty.txt", b"", "empty"),
    ("blank.md", b"  \n\n ", "empty"),
    ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    ("control.txt", b"\x01\x02\x03\x04 abc", "control characters"),
    ("utf16.txt", b"\xff\xfeR\x00\x00\xd8", "not valid UTF-16"),
    ("paper.pdf", b"%PDF-1.4", "not a readable PDF"),
    ("paper.docx", b"PK\x03\x04", "not a .txt, .md, .pdf or .html file"),
])
def test_bad_files_are_skipped_with_a_one_line_warning(tmp_path: Path, name: str,
                                                       content: bytes, reason: str) -> None:
    (tmp_path / "good.txt").write_text("A good document.")
    (tmp_path / name).write_bytes(content)
    scan = scan_corpus(tmp_path, "metadata.toml")
    assert [s.doc for s in scan.documents] == ["good.txt"]
    assert len(scan.warnings) == 1
    assert name in scan.warnings[0] and reason in scan.warnings[0]
    assert "\n" not in scan.warnings[0]


def test_folders_and_links_outside_the_corpus_are_skipped(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.md").write_text("# Title\n\nText.")
    (corpus / "sub").mkdir()
    (tmp_path / "secret.txt").write_text("outside")
    os.symlink(tmp_path / "secret.txt", corpus / "link.txt")
    os.symlink(corpus / "good.md", corpus / "alias.md")
    scan = scan_corpus(corpus, "metadata.toml")
    assert [s.doc for s in scan.documents] == ["good.md"]  # the link inside is a duplicate
    assert any("alias.md" in w and "the same content as good.md" in w for w in scan.warnings)
    assert any("link.txt" in w and "outside the corpus" in w for w in scan.warnings)
    assert any("sub" in w and "folder" in w for w in scan.warnings)


def test_a_missing_corpus_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"no corpus folder at .*--corpus DIR"):
        scan_corpus(tmp_path / "nowhere", "metadata.toml")


def test_metadata_names_every_document() -> None:
    meta = load_metadata(CORPUS, "metadata.toml")
    assert sorted(meta) == DOCS
    assert meta["002_653e190e66ad8d7b.txt"].year == 2020
    assert "Igbal A. Guliev" in meta["002_653e190e66ad8d7b.txt"].authors
    original = (CORPUS / "004_aa492b75a69e056e.txt").read_text("utf-8")
    parts = meta["004_aa492b75a69e056e.txt"].parts
    assert len(parts) == 3 and all(p.starts_with in original for p in parts)
    asean = original.index("Association of South-East Asian Nations")
    found = meta["004_aa492b75a69e056e.txt"].part_at(original, asean)
    assert found is not None and "South-East Asia" in found.title


def test_broken_metadata_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "metadata.toml").write_text('["a.txt"]\nyear = "not a year"\n')
    with pytest.raises(UsageError, match=r"cannot read .*metadata\.toml"):
        load_metadata(tmp_path, "metadata.toml")

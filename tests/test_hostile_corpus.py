"""Hostile files dropped into a real corpus: each is handled with a one-line message, and nothing
already in the index is lost (real Chroma on disk, fake embedder)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from rag.answering.pipeline import answer
from rag.cli import main
from rag.index.build import ingest
from rag.index.chroma import ChromaIndex
from rag.retrieval.searcher import get_searcher
from tests.conftest import DOCS, FakeEmbedding

pytestmark = pytest.mark.slow
ODD_NAME = "Résumé des accords — ASEAN & Russie (2024).txt"
SUMMIT = "The ASEAN–Russia summit in Kuala Lumpur adopted a plan of action in 2024."
LATIN1 = "Politique étrangère : l’OCS a été créée à Shanghai en 2001, dit le rapport."
UTF16 = "The Kyrgyz parliament ratified the customs treaty in 2019, the note says."
ENDLESS = "The SCO met in Astana and agreed on trade. " * 25_000  # 1 MB, no line break


def _hostile(corpus: Path, outside: Path) -> dict[str, str]:
    """Write the files; returns file name -> what its warning must say ('' for none)."""
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 100)
    (corpus / "latin1.txt").write_bytes(LATIN1.encode("cp1252"))
    (corpus / "utf16.txt").write_bytes(UTF16.encode("utf-16"))
    with (corpus / "huge.txt").open("wb") as handle:  # 50 MB
        handle.write(b"Russia and the EAEU. " * (50 * 1024 * 1024 // 21 + 1))
    (corpus / "endless.txt").write_text(ENDLESS.strip(), encoding="utf-8")
    (corpus / "copy of the first paper.txt").write_bytes((corpus / DOCS[0]).read_bytes())
    outside.write_text("TOPSECRET outside the corpus", encoding="utf-8")
    os.symlink(outside, corpus / "link.txt")
    (corpus / ODD_NAME).write_text(f"{SUMMIT}\n", encoding="utf-8")
    return {"empty.txt": "skipped", "binary.txt": "binary", "latin1.txt": "read as Windows-1252",
            "utf16.txt": "read as UTF-16", "huge.txt": "over the 10 MB limit",
            "copy of the first paper.txt": f"the same content as {DOCS[0]}",
            "link.txt": "outside the corpus folder", "endless.txt": "", ODD_NAME: ""}


def test_hostile_files_are_handled_and_nothing_else_is_lost(
        corpus_copy: Path, settings_for: Any, fake_models: FakeEmbedding, tmp_path: Path,
        capsys: Any) -> None:
    settings = settings_for(corpus_copy)
    ingest(settings, progress=False)
    before = {doc: set(ChromaIndex(settings).collection.get(where={"doc": doc})["ids"])
              for doc in DOCS}
    expected = _hostile(corpus_copy, tmp_path / "secret.txt")
    report = ingest(settings, progress=False)
    assert sorted(s.doc for s in report.plan.added) == sorted(
        ["latin1.txt", "utf16.txt", "endless.txt", ODD_NAME])
    for name, says in expected.items():
        found = [w for w in report.warnings if f"/{name}:" in w]
        assert len(found) == (1 if says else 0), (name, report.warnings)
        assert all(says in w and "\n" not in w for w in found)
    index = ChromaIndex(settings)
    assert {doc: set(index.collection.get(where={"doc": doc})["ids"]) for doc in DOCS} == before
    _, texts, _ = index.all_chunks()
    assert not any("TOPSECRET" in t for t in texts)
    searcher = get_searcher(settings)
    assert searcher.original("latin1.txt") == LATIN1
    assert searcher.original("utf16.txt") == UTF16
    assert max(len(c.text) for c in searcher.chunks.values() if c.doc == "endless.txt") < 2000
    got = answer("Which summit adopted a plan of action in 2024?", docs=[ODD_NAME],
                 settings=settings)
    assert {p.doc for p in got.retrieved} == {ODD_NAME}
    assert got.retrieved[0].text == SUMMIT
    assert main(["ask", "--json", "--doc", ODD_NAME, "--corpus", str(corpus_copy), "--index",
                 str(settings.index_dir), "What did the summit in Kuala Lumpur adopt?"]) == 0
    assert ODD_NAME in capsys.readouterr().out


def test_a_path_as_document_name_is_refused(real_index: Any) -> None:
    from rag.errors import UsageError

    for name in ["../README.md", "/etc/passwd", "../../.rag/CURRENT.json"]:
        with pytest.raises(UsageError, match="unknown document"):
            answer("What is the SCO?", docs=[name], settings=real_index)

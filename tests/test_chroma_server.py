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
import numpy as np
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


def test_two_workers_stage_their_shards_and_ingest_publishes_them(
        server: Server, tmp_path: Path, monkeypatch: Any) -> None:
    """Two `rag ingest --shard K/2` processes embed their halves of the corpus into one real
    Chroma server at once; the plain `rag ingest` then publishes them without embedding
    anything, and the index equals one a single ingest builds."""
    from rag.index import shards

    for key, value in _env(server).items():
        monkeypatch.setenv(key, value)
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    settings = get_settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    workers = [subprocess.Popen([str(Path(sys.executable).with_name("rag")), "ingest", "--shard",
                                 f"{k}/2", "--quiet", "--corpus", str(corpus), "--index",
                                 str(settings.index_dir)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=ROOT,
                                env={**os.environ, **_env(server)}) for k in (1, 2)]
    outputs = [worker.communicate(timeout=600) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    docs = {p.name for p in corpus.glob("*.txt")}
    halves = [{doc for doc in docs if shards.shard_of(doc, 2) == k} for k in (1, 2)]
    assert all(halves)  # each worker had documents of its own
    for (out, _), half, k in zip(outputs, halves, (1, 2), strict=True):
        assert f"Shard {k}/2: {len(half)} documents, {len(half)} staged now" in out
    staged = [shards.Staged.read(settings, sha) for sha in shards.staged_versions(settings)]
    assert sorted(s.doc for s in staged if s) == sorted(docs)
    assert generations.current(settings.index_dir) is None  # readers see nothing yet

    with pytest.MonkeyPatch.context() as no_model:
        no_model.setattr("rag.index.encoding.document_embedder",
                         lambda _: pytest.fail("publishing must not embed"))
        report = ingest(settings, progress=False)
    assert report.chunks_embedded == 0 and len(report.plan.staged) == len(docs)
    assert "May 29, 2014" in answer(QUESTION, settings=settings).answer
    assert not shards.staged_versions(settings)  # published, then removed
    names = {c.name for c in chromadb.HttpClient(host="127.0.0.1",
                                                 port=server.port).list_collections()}
    assert not [name for name in names if "staged" in name]

    single = settings.model_copy(update={  # another index on the server: its own collections
        "index_dir": tmp_path / "single",
        "chroma": settings.chroma.model_copy(update={"collection": "single"})})
    ingest(single, progress=False)
    published, alone = ChromaIndex(settings), ChromaIndex(single)
    ids, texts, _ = published.all_chunks()
    alone_ids, alone_texts, _ = alone.all_chunks()
    assert sorted(zip(ids, texts, strict=True)) == sorted(zip(alone_ids, alone_texts, strict=True))
    assert published.sentences.count() == alone.sentences.count()
    assert published.fingerprint() == alone.fingerprint()
    vectors = [index.collection.get(ids=sorted(ids), include=["embeddings"])["embeddings"]
               for index in (published, alone)]
    assert np.allclose(vectors[0], vectors[1], atol=1e-6)  # the same encoder, in the workers

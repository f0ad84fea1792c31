"""Helpers of the reliability tests: a bigger corpus, child processes, and the consistency check
that an index must pass after any fault."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.index import generations
from rag.index.chroma import ChromaIndex
from rag.index.lexical import LexicalIndex
from tests.conftest import CORPUS, DOCS, ROOT

ZANZIBAR = "The Zanzibar accord on customs data was signed by the SCO members in 2031."


def big_corpus(target: Path, variants: int = 3) -> Path:
    """The real corpus plus `variants` altered copies of each paper (4x the documents)."""
    shutil.copytree(CORPUS, target)
    for doc in DOCS:
        text = (CORPUS / doc).read_text("utf-8")
        for i in range(1, variants + 1):
            (target / f"{Path(doc).stem}-v{i}.txt").write_text(
                f"Variant {i} of this paper, kept for comparison.\n\n{text}", encoding="utf-8")
    return target


def change_corpus(corpus: Path) -> None:
    """Six documents changed (one says something new), one removed, one added."""
    docs = sorted(p for p in corpus.glob("*.txt"))
    for i, path in enumerate(docs[:6]):
        extra = ZANZIBAR if i == 0 else f"A closing remark number {i} about the EAEU."
        path.write_text(path.read_text("utf-8") + f"\n\n{extra}\n", encoding="utf-8")
    docs[6].unlink()
    (corpus / "zz-added.txt").write_text(
        "An added note.\n\nThe CSTO held exercises in Tajikistan in 2025.\n", encoding="utf-8")


def child(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`python -m tests.child ARGS` (the rag command with the fake embedder)."""
    return subprocess.Popen([sys.executable, "-m", "tests.child", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})})


def results(process: subprocess.Popen[str], timeout: float = 300) -> list[dict[str, Any]]:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def wait_for(condition: Callable[[], bool], process: subprocess.Popen[str],
             timeout: float = 120) -> None:
    """Poll until `condition()`; fail if the process ends first."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"the child ended first: {process.communicate()}"
        assert time.monotonic() < deadline, "timed out waiting for the child"
        time.sleep(0.01)


def generation_of(pid: int, index_dir: Path) -> Path | None:
    """The generation folder that process `pid` is writing, if any."""
    found = list(index_dir.glob(f"{generations.PREFIX}*-{pid}"))
    return found[0] if found else None


def sha_map(corpus: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(corpus.iterdir()) if p.suffix == ".txt"}


def snapshot(settings: Settings) -> dict[str, Any]:
    """Everything a complete index holds, for comparing two indexes."""
    index = ChromaIndex(settings)
    ids, _, metas = index.all_chunks()
    fingerprint = index.fingerprint()
    assert fingerprint is not None
    return {"chunks": sorted(ids), "sentences": sorted(index.sentences.get()["ids"]),
            "docs": fingerprint.docs, "chunk_docs": {str(m["doc"]) for m in metas},
            "key": fingerprint.key(), "folder": index.folder}


def assert_consistent(settings: Settings, corpus: Path, reference: dict[str, Any]) -> None:
    """The index is complete and consistent: it holds exactly what a fresh ingest of `corpus`
    holds, every document once, BM25 and originals matching, no leftover generations."""
    pointer = generations.read_pointer(settings.index_dir)
    assert pointer is not None
    now = snapshot(settings)
    assert generations.check_manifest(now["folder"]) is None
    assert now["docs"] == sha_map(corpus)
    assert now["chunk_docs"] == set(now["docs"])
    assert len(now["chunks"]) == len(set(now["chunks"])) and now["chunks"] == reference["chunks"]
    assert now["sentences"] == reference["sentences"]
    lexical = LexicalIndex.load(now["folder"] / "lexical")
    assert lexical is not None and lexical[1] == now["key"]
    assert sorted(lexical[0].ids) == now["chunks"]
    originals = {p.stem for p in (now["folder"] / "originals").iterdir()}
    assert originals == set(now["docs"].values())
    left = {p.name for p in settings.index_dir.glob(f"{generations.PREFIX}*")}
    assert left <= {pointer["generation"], pointer["previous"]}
    assert not list(settings.index_dir.rglob("*.tmp"))

"""A running page survives many index switches without leaking: each `rag ingest` publishes a
new generation, `get_searcher` loads it, and what the old generation held (its Chroma client:
SQLite and HNSW file handles, Chroma's native threads) is released once no question uses it.

Ingest runs in a child process with the fake embedder (tests/child.py), as it does beside a
running `python ui.py`; this process only reads, with the fake query encoder. The leak does
not depend on the embedding model: measured with the real ONNX query encoder and a real
`rag ingest`, each switch left the same 11-12 deleted files, 15 descriptors and 6-7 native
threads behind as with the fakes.
"""

from __future__ import annotations

import ctypes
import gc
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rag.answering.pipeline import answer
from rag.config import Settings
from rag.errors import RagError
from rag.index import generations
from rag.retrieval import searcher as searcher_module
from rag.retrieval.searcher import get_searcher
from tests.reliability import child, results

pytestmark = pytest.mark.slow

QUESTION = "When did the EAEU treaty come into force?"


@dataclass
class Usage:
    rss_mb: float
    fds: int
    threads: int  # Python threads (threading.active_count)
    tasks: int  # every thread of the process, native ones included (/proc/self/task)
    deleted: list[str]  # index files deleted on disk but still held open
    index_files: list[str]  # every open file under the index folder


def _open_files() -> list[str]:
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            found.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:  # closed in between (the listing's own descriptor)
            continue
    return found


def _rss_mb() -> float:
    """Resident memory, after glibc has given its free pages back (malloc_trim), so that it
    counts what is held rather than what the allocator keeps for later."""
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def usage(index_dir: Path) -> Usage:
    files = _open_files()
    inside = [f for f in files if f.startswith(str(index_dir))]
    return Usage(rss_mb=_rss_mb(), fds=len(files), threads=threading.active_count(),
                 tasks=len(os.listdir("/proc/self/task")),
                 deleted=[f for f in inside if f.endswith("(deleted)")], index_files=inside)


def ingest(settings: Settings) -> None:
    """`rag ingest` in a child process (the fake embedder): publishes a new generation."""
    before = generations.read_pointer(settings.index_dir)
    process = child("ingest", "--quiet", "--corpus", str(settings.corpus_dir), "--index",
                    str(settings.index_dir))
    assert [r["rc"] for r in results(process)] == [0]
    assert generations.read_pointer(settings.index_dir) != before, "no new generation"


def change(corpus: Path, i: int) -> None:
    doc = sorted(corpus.glob("*.txt"))[0]
    doc.write_text(doc.read_text("utf-8") + f"\n\nA closing remark number {i} about the EAEU.\n",
                   encoding="utf-8")


def live_folder(settings: Settings) -> str:
    folder = generations.current(settings.index_dir)
    assert folder is not None
    return str(folder) + "/"


@pytest.fixture
def fresh_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """No searcher of another test's index in the process-wide cache."""
    monkeypatch.setattr(searcher_module, "_searchers", {})


def test_ten_switches_leave_nothing_of_the_old_generations_open(
        corpus_copy: Path, settings_for: Any, fake_models: Any, fresh_cache: None) -> None:
    """Margins, after ten switches against after the first. Deleted index files held open:
    none, and every open index file belongs to the live generation (one generation left open
    fails both). Open files and native threads +8: the live Chroma client's worker threads
    come and go, each with a descriptor (seen at rest: 10-17 threads, 21-28 descriptors);
    one generation left open adds 15 descriptors and 6-7 threads. Python threads +1. Resident
    memory +30 MB (seen: +10 to +17 MB after ten switches, levelling off; with every
    generation left open, +113 MB)."""
    settings = settings_for(corpus_copy)
    ingest(settings)
    assert answer(QUESTION, settings=settings).retrieved  # the fakes: it abstains
    seen = []
    for i in range(10):
        change(corpus_copy, i)
        ingest(settings)
        assert get_searcher(settings).generation == Path(live_folder(settings)).name
        assert answer(QUESTION, settings=settings).retrieved  # the fakes: it abstains
        seen.append(usage(settings.index_dir))
    first, last = seen[0], seen[-1]
    summary = [(round(u.rss_mb), u.fds, u.threads, u.tasks, len(u.deleted)) for u in seen]
    assert last.deleted == [], summary
    assert all(f.startswith(live_folder(settings)) for f in last.index_files), last.index_files
    assert last.fds <= first.fds + 8, summary
    assert last.tasks <= first.tasks + 8, summary
    assert last.threads <= first.threads + 1, summary
    assert last.rss_mb <= first.rss_mb + 30, summary


def test_a_question_in_flight_keeps_the_old_generation_until_it_ends(
        corpus_copy: Path, settings_for: Any, fake_models: Any, fresh_cache: None) -> None:
    """A searcher taken before a switch (as the page's `ask` holds one while it answers) still
    reads its generation through Chroma after the switch; its files close when it is let go."""
    settings = settings_for(corpus_copy)
    ingest(settings)
    old = get_searcher(settings)
    vector = old.embed_question(QUESTION).tolist()
    old_folder = str(old.index.folder) + "/"
    change(corpus_copy, 0)
    ingest(settings)
    new = get_searcher(settings)
    assert new is not old and new.generation != old.generation
    ids, _, _ = old.index.all_chunks()  # Chroma's SQLite of the old generation
    assert set(old.index.nearest(old.index.collection, vector, 3, None)) <= set(ids)  # its HNSW
    assert any(f.startswith(old_folder) for f in usage(settings.index_dir).index_files)
    del old  # the last reference: closed at once, no garbage collection needed
    assert not [f for f in usage(settings.index_dir).index_files if f.startswith(old_folder)]


def test_a_switch_releases_the_searchers_of_every_configuration(
        corpus_copy: Path, settings_for: Any, fake_models: Any, fresh_cache: None) -> None:
    """Two configurations of the same index (one cached searcher each: here they differ in
    how many vectors are searched exactly); a switch seen through one of them releases the old
    generation's other searcher too, which would otherwise hold its files until that
    configuration is asked again."""
    settings = settings_for(corpus_copy)
    other = settings.model_copy(update={"embed": settings.embed.model_copy(
        update={"exact_search_max": 10})})
    ingest(settings)
    get_searcher(settings)
    old_folder = str(get_searcher(other).index.folder) + "/"
    change(corpus_copy, 0)
    ingest(settings)
    get_searcher(settings)
    gc.collect()
    assert not [f for f in usage(settings.index_dir).index_files if f.startswith(old_folder)]


def test_other_llm_settings_share_one_searcher(real_index: Settings) -> None:
    """A visitor who types model names or server URLs in the page does not load the index
    again for each (that grew the page by a Searcher per value typed)."""
    first = get_searcher(real_index)
    for model, url in [("llama3.2:1b", "http://127.0.0.1:9/v1"), ("x" * 50, "http://a.example")]:
        other = real_index.model_copy(update={"llm": real_index.llm.model_copy(
            update={"model": model, "base_url": url, "backend": "openai"})})
        assert get_searcher(other) is first
    moved = real_index.model_copy(update={"index_dir": real_index.index_dir / "elsewhere"})
    with pytest.raises(RagError, match="elsewhere"):  # another index: another Searcher
        get_searcher(moved)

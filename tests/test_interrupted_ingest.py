"""Faults inflicted for real on `rag ingest` running in a child process: kill -9 at several
points, and questions answered while it runs. The fake embedder (slowed down) stands in for the
model so that an ingest of 20 documents takes seconds and its stages can be caught."""

from __future__ import annotations

import os
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rag.answering.pipeline import answer
from rag.config import Settings, get_settings
from rag.errors import IndexMissingError, UsageError
from rag.index import build as ingest
from rag.index import generations
from rag.retrieval import searcher
from rag.retrieval.searcher import Searcher
from rag.status import index_status
from tests.conftest import FakeEmbedding, use_fake
from tests.reliability import (
    ZANZIBAR,
    assert_consistent,
    big_corpus,
    change_corpus,
    child,
    generation_of,
    sha_map,
    snapshot,
    wait_for,
)

pytestmark = pytest.mark.slow
SLOW = {"RAG_TEST_EMBED_DELAY": "0.002"}
QUESTION = "When was the Zanzibar accord on customs data signed?"


@dataclass
class World:
    base_corpus: Path
    changed_corpus: Path
    base_index: Path
    base: dict[str, Any]
    changed: dict[str, Any]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """A 20-document corpus indexed once, and the snapshot a fresh ingest of its changed
    version gives (what every recovered index must equal)."""
    root = tmp_path_factory.mktemp("interrupted")
    base_corpus = big_corpus(root / "base-corpus")
    changed_corpus = root / "changed-corpus"
    shutil.copytree(base_corpus, changed_corpus)
    change_corpus(changed_corpus)
    with pytest.MonkeyPatch.context() as patch:
        use_fake(patch, FakeEmbedding(model_name="fake"))
        base = get_settings(corpus_dir=base_corpus, index_dir=root / "base-index")
        ingest.ingest(base, progress=False)
        changed = get_settings(corpus_dir=changed_corpus, index_dir=root / "changed-index")
        ingest.ingest(changed, progress=False)
        return World(base_corpus, changed_corpus, root / "base-index", snapshot(base),
                     snapshot(changed))


def _index_copy(world: World, tmp_path: Path) -> Settings:
    shutil.copytree(world.base_index, tmp_path / "index")
    return get_settings(corpus_dir=world.changed_corpus, index_dir=tmp_path / "index")


def _ingest_child(settings: Settings, pauses: str = "") -> Any:
    return child("ingest", "--quiet", "--corpus", str(settings.corpus_dir), "--index",
                 str(settings.index_dir), env={**SLOW, "RAG_TEST_PAUSE": pauses})


def _new_originals(folder: Path | None, world: World, minimum: int) -> bool:
    if folder is None or not (folder / "originals").is_dir():
        return False
    new = set(sha_map(world.changed_corpus).values()) - set(world.base["docs"].values())
    return len(new & {p.stem for p in (folder / "originals").iterdir()}) >= minimum


STAGES = {  # stage -> (pauses, condition(pid, index_dir, world) under which to kill)
    "while copying the live index": ("", lambda pid, d, w: generation_of(pid, d) is not None),
    "while embedding": ("", lambda pid, d, w: _new_originals(generation_of(pid, d), w, 2)),
    "before writing BM25": ("bm25:5", lambda pid, d, w: _new_originals(generation_of(pid, d),
                                                                       w, 7)),
    "after the switch": ("switched:5", lambda pid, d, w: (generations.read_pointer(d) or {})
                         .get("generation", "").endswith(f"-{pid}")),
}


@pytest.mark.parametrize("stage", list(STAGES))
def test_kill_9_then_ingest_again_gives_a_complete_index(
        stage: str, world: World, tmp_path: Path, fake_models: FakeEmbedding) -> None:
    settings = _index_copy(world, tmp_path)
    pauses, condition = STAGES[stage]
    process = _ingest_child(settings, pauses)
    wait_for(lambda: condition(process.pid, settings.index_dir, world), process)
    assert process.poll() is None
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    switched = stage == "after the switch"
    # In between, queries work on one whole state: the old one, or the new one once switched.
    reader = Searcher(settings)
    assert reader.fingerprint.docs == (world.changed if switched else world.base)["docs"]
    got = answer(QUESTION, settings=settings)
    assert {p.doc for p in got.retrieved} <= set(reader.fingerprint.docs)
    assert any("Zanzibar" in p.text for p in got.retrieved) == switched
    report = ingest.ingest(settings, progress=False)
    assert report.chunks == len(world.changed["chunks"])
    assert_consistent(settings, world.changed_corpus, world.changed)


def test_kill_9_during_the_first_ingest(world: World, tmp_path: Path,
                                        fake_models: FakeEmbedding) -> None:
    settings = get_settings(corpus_dir=world.base_corpus, index_dir=tmp_path / "index")
    process = _ingest_child(settings)
    wait_for(lambda: (generation_of(process.pid, settings.index_dir) or tmp_path / "x")
             .joinpath("originals").is_dir(), process)
    with pytest.raises(IndexMissingError, match=r"being built by a running `rag ingest` \(pid"):
        Searcher(settings)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    with pytest.raises(IndexMissingError, match=r"no index at .* run `rag ingest`"):
        Searcher(settings)
    ingest.ingest(settings, progress=False)
    assert_consistent(settings, world.base_corpus, world.base)


def test_questions_are_answered_while_an_ingest_runs(world: World, tmp_path: Path,
                                                     fake_models: FakeEmbedding) -> None:
    settings = _index_copy(world, tmp_path)
    old, new = set(world.base["chunks"]), set(world.changed["chunks"])
    process = _ingest_child(settings, "bm25:1")
    wait_for(lambda: generation_of(process.pid, settings.index_dir) is not None, process)
    seen: list[tuple[str, set[str], bool]] = []
    while process.poll() is None:
        got = answer(QUESTION, settings=settings)
        ids = {p.chunk_id for p in got.retrieved}
        seen.append((searcher.get_searcher(settings).generation, ids,
                     any("Zanzibar" in p.text for p in got.retrieved)))
        assert ids <= old or ids <= new  # one whole state, never a mix
        if len(seen) == 3:
            with pytest.raises(UsageError, match="another `rag ingest` is running"):
                ingest.ingest(settings, progress=False)
            assert index_status(settings)["generation"] == world.base["folder"].name
        time.sleep(0.05)
    assert process.returncode == 0, process.communicate()
    during = [s for s in seen if s[0] == world.base["folder"].name]
    assert len(during) >= 10 and not any(zanzibar for _, _, zanzibar in during)
    after = answer(QUESTION, settings=settings)  # the searcher reloads the new generation
    assert any(ZANZIBAR in p.text for p in after.retrieved)
    assert searcher.get_searcher(settings).generation != world.base["folder"].name
    assert_consistent(settings, world.changed_corpus, world.changed)

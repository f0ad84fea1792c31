"""Files under the index folder deleted, truncated or overwritten for real; then, in a fresh
process each time, `rag ask` says what is wrong and what to do, and `rag ingest --rebuild`
recovers. The children run in parallel (see tests/child.py)."""

from __future__ import annotations

import json
import os
import shutil
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rag.config import get_settings
from rag.index import build as ingest
from rag.index import generations
from tests.conftest import CORPUS, FakeEmbedding, use_fake
from tests.reliability import child, results

pytestmark = pytest.mark.slow
QUESTION = "When did the Vietnam free trade agreement with the EAEU enter into force?"
REBUILD = "run `rag ingest --rebuild`"


def _segment(gen: Path) -> Path:
    """The biggest vector-index file of the generation."""
    return max(gen.glob("chroma/*/data_level0.bin"), key=lambda p: p.stat().st_size)


def _truncate(path: Path) -> None:
    with path.open("r+b") as handle:
        handle.truncate(path.stat().st_size // 2)


def _garble(path: Path) -> None:
    path.write_bytes(os.urandom(path.stat().st_size))


def _free_pages(data: bytes) -> set[int]:
    """Numbers of the pages on SQLite's freelist (unused: zeroing them damages nothing)."""
    size = struct.unpack(">H", data[16:18])[0] or 65536
    trunk, free = struct.unpack(">I", data[32:36])[0], set()
    while trunk:
        free.add(trunk)
        page = data[(trunk - 1) * size:trunk * size]
        trunk, count = struct.unpack(">II", page[:8])
        free.update(struct.unpack(f">{count}I", page[8:8 + 4 * count]))
    return free


def _zero(path: Path, where: float) -> None:
    """Overwrite 64 kB with zeros, the file keeping its size (so the manifest still matches),
    from the first page in use at or after the fraction `where` of the file (SQLite keeps free
    pages, and where they lie varies from one ingest to the next)."""
    data = path.read_bytes()
    size, free = struct.unpack(">H", data[16:18])[0] or 65536, _free_pages(data)
    page = next(p for p in range(int(where * len(data)) // size + 1, len(data) // size + 1)
                if p not in free)
    offset = min((page - 1) * size, len(data) - 65536)
    with path.open("r+b") as handle:
        handle.seek(offset)
        handle.write(bytes(65536))
    assert path.stat().st_size == len(data)


def _zero_db(where: float) -> Callable[[Path, Path], None]:
    return lambda d, g: _zero(g / "chroma" / "chroma.sqlite3", where)


Damage = Callable[[Path, Path], None]
CASES: dict[str, tuple[Damage, str, int]] = {  # damage(index_dir, gen), message, rc of `ingest`
    "pointer deleted": (lambda d, g: (d / "CURRENT.json").unlink(), "no index at", 0),
    "pointer emptied": (lambda d, g: (d / "CURRENT.json").write_text(""), "no index at", 0),
    "generation deleted": (lambda d, g: shutil.rmtree(g), REBUILD, 1),
    "database truncated": (lambda d, g: _truncate(g / "chroma" / "chroma.sqlite3"), REBUILD, 1),
    "database deleted": (lambda d, g: (g / "chroma" / "chroma.sqlite3").unlink(), REBUILD, 1),
    "database garbled": (lambda d, g: _garble(g / "chroma" / "chroma.sqlite3"), REBUILD, 1),
    "database zeroed at its start": (_zero_db(0.0), REBUILD, 1),
    "database zeroed at a quarter": (_zero_db(0.25), REBUILD, 1),
    "database zeroed in the middle": (_zero_db(0.5), REBUILD, 1),
    "database zeroed near its end": (_zero_db(0.9), REBUILD, 1),
    "vector file truncated": (lambda d, g: _truncate(_segment(g)), REBUILD, 1),
    "vector folder deleted": (lambda d, g: shutil.rmtree(_segment(g).parent), REBUILD, 1),
    "BM25 deleted": (lambda d, g: shutil.rmtree(g / "lexical"), REBUILD, 1),
    "original deleted": (lambda d, g: next((g / "originals").iterdir()).unlink(), REBUILD, 1),
    "manifest deleted": (lambda d, g: (g / generations.MANIFEST).unlink(), REBUILD, 1),
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    root = tmp_path_factory.mktemp("damaged")
    with pytest.MonkeyPatch.context() as patch:
        use_fake(patch, FakeEmbedding(model_name="fake"))
        ingest.ingest(get_settings(corpus_dir=CORPUS, index_dir=root / "good"), progress=False)
    processes = {}
    for name, (damage, _, _) in CASES.items():
        index = root / name.replace(" ", "-")
        shutil.copytree(root / "good", index)
        damage(index, generations.live(index))
        where = ["--corpus", str(CORPUS), "--index", str(index)]
        processes[name] = child("ask", QUESTION, *where, "--then", "status", *where,
                                "--then", "ingest", "--quiet", *where,
                                "--then", "ingest", "--rebuild", "--quiet", *where,
                                "--then", "ask", "--json", QUESTION, *where)
    return {name: results(process) for name, process in processes.items()}


@pytest.mark.parametrize("case", list(CASES))
def test_damage_gives_a_clear_error_and_rebuild_recovers(
        case: str, outcomes: dict[str, list[dict[str, Any]]]) -> None:
    ask, status, again, rebuild, after = outcomes[case]
    _, message, ingest_rc = CASES[case]
    for run in (ask, status):
        assert run["rc"] == 1, run
        assert run["stderr"].startswith("error: ") and message in run["stderr"], run
        assert "Traceback" not in run["stderr"]
    assert again["rc"] == ingest_rc, again
    if ingest_rc:
        assert REBUILD in again["stderr"]
    assert rebuild["rc"] == 0, rebuild
    assert after["rc"] == 0, after
    assert json.loads(after["stdout"])["question"] == QUESTION


def test_vectors_zeroed_in_place_give_the_damaged_message(tmp_path: Path) -> None:
    """64 kB of zeros at the start of the vector file, its size kept (so the manifest matches):
    `rag ask` says the index is damaged and how to repair it (it was chromadb's InternalError
    traceback, "Error getting embedding"), and the rebuild repairs it."""
    with pytest.MonkeyPatch.context() as patch:
        use_fake(patch, FakeEmbedding(model_name="fake"))
        ingest.ingest(get_settings(corpus_dir=CORPUS, index_dir=tmp_path / "idx"),
                      progress=False)
    segment = _segment(generations.live(tmp_path / "idx"))
    size = segment.stat().st_size
    with segment.open("r+b") as handle:
        handle.write(bytes(min(65536, size)))
    assert segment.stat().st_size == size
    where = ["--corpus", str(CORPUS), "--index", str(tmp_path / "idx")]
    ask, rebuild, after = results(child("ask", QUESTION, *where, "--then", "ingest",
                                        "--rebuild", "--quiet", *where, "--then", "ask",
                                        "--json", QUESTION, *where))
    assert ask["rc"] == 1 and REBUILD in ask["stderr"], ask
    assert "Traceback" not in ask["stderr"]
    assert rebuild["rc"] == 0 and after["rc"] == 0, (rebuild, after)

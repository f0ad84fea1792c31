"""Collections bigger than one Chroma `get()` can return (the 100x benchmark has 120k
sentences; a single get of them failed with "too many SQL variables")."""

from pathlib import Path

import numpy as np
import pytest

from rag.index.chroma import get_all


def _collection(path: Path, n: int) -> object:
    import chromadb
    from chromadb.config import Settings

    client = chromadb.PersistentClient(path=str(path),
                                       settings=Settings(anonymized_telemetry=False))
    collection = client.create_collection("big")
    vectors = np.random.default_rng(0).random((n, 4), dtype=np.float32)
    for i in range(0, n, 5000):
        collection.add(ids=[f"s{j:06d}" for j in range(i, min(i + 5000, n))],
                       embeddings=vectors[i:i + 5000],
                       metadatas=[{"doc": f"d{j % 7}"} for j in range(i, min(i + 5000, n))])
    return collection


def test_get_all_pages_through_a_collection(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    collection = _collection(tmp_path, 23)
    monkeypatch.setattr("rag.index.chroma._PAGE", 5)
    got = get_all(collection, ["metadatas", "embeddings"])
    assert got["ids"] == [f"s{j:06d}" for j in range(23)]
    assert [m["doc"] for m in got["metadatas"]] == [f"d{j % 7}" for j in range(23)]
    assert len(got["embeddings"]) == 23


@pytest.mark.slow
def test_a_collection_of_40000_records_is_read_whole(tmp_path: Path) -> None:
    collection = _collection(tmp_path, 40_000)
    got = get_all(collection, ["metadatas", "embeddings"])
    assert got["ids"] == [f"s{j:06d}" for j in range(40_000)]
    assert len(got["metadatas"]) == len(got["embeddings"]) == 40_000

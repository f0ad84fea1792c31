"""`rag ingest --shard K/N`: the arguments and the split (the workers themselves run against a
real Chroma server in tests/test_chroma_server.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.cli import main
from rag.errors import UsageError
from rag.index import shards
from tests.conftest import CORPUS


@pytest.mark.parametrize("text", ["0/2", "3/2", "2", "a/b", "1/0", ""])
def test_a_bad_shard_is_refused_with_the_form_to_use(text: str) -> None:
    with pytest.raises(UsageError, match="K/N"):
        shards.parse(text)


def test_every_document_falls_in_exactly_one_shard() -> None:
    assert shards.parse("2/3") == (2, 3)
    docs = [p.name for p in CORPUS.glob("*.txt")] + [f"paper-{i}.txt" for i in range(300)]
    for n in (1, 2, 3, 7):
        got = [shards.shard_of(doc, n) for doc in docs]
        assert set(got) == set(range(1, n + 1))
        assert got == [shards.shard_of(doc, n) for doc in docs]  # the same in every worker


def test_shards_need_a_chroma_server(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAG_CHROMA__MODE", raising=False)
    code = main(["ingest", "--shard", "1/2", "--corpus", str(CORPUS), "--index",
                 str(tmp_path / "index")])
    assert code != 0
    assert "RAG_CHROMA__MODE=server" in capsys.readouterr().err
    assert not (tmp_path / "index").exists() or not list((tmp_path / "index").iterdir())

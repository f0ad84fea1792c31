"""Shared fixtures: corpus copies, a deterministic fake embedder, and one real index per session."""

from __future__ import annotations

import hashlib
import re
import shutil
import socket
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import Field

from rag.config import Settings, get_settings
from rag.embedding.tokens import TokenStates

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
DOCS = sorted(p.name for p in CORPUS.glob("*.txt"))


class FakeEmbedding(BaseEmbedding):
    """Deterministic bag-of-words hashing embedder that records every text it embeds."""

    embedded: list[str] = Field(default_factory=list)
    dim: int = 32
    context: float = 0.0  # > 0: each token state also depends on the whole text, as in a model

    def _vector(self, text: str) -> list[float]:
        vec = [0.0] * self.dim
        for word in text.lower().split():
            vec[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        norm = sum(v * v for v in vec) ** 0.5 or 1.0
        return [v / norm for v in vec]

    def _get_text_embedding(self, text: str) -> list[float]:
        self.embedded.append(text)
        return self._vector(text)

    def token_states(self, texts: list[str]) -> list[TokenStates]:
        """One token per word, its state the word's hashed one-hot (so a span's pooled vector is
        the bag of words of its text, as `_vector` would give it)."""
        self.embedded.extend(texts)
        out = []
        for text in texts:
            words = list(re.finditer(r"\S+", text)) or [None]
            states = np.zeros((len(words), self.dim), dtype=np.float32)
            offsets = np.zeros((len(words), 2), dtype=np.int64)
            for i, word in enumerate(w for w in words if w is not None):
                states[i, int(hashlib.md5(word.group().lower().encode()).hexdigest(), 16)
                       % self.dim] = 1.0
                offsets[i] = word.span()
            states[:, int(hashlib.md5(text.encode()).hexdigest(), 16) % self.dim] += self.context
            out.append(TokenStates(states, offsets))
        return out

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def use_fake(patch: Any, fake: BaseEmbedding, questions: bool = True) -> None:
    """`fake` instead of the model at ingest (and for questions), and no ONNX export."""
    patch.setattr("rag.index.encoding.get_embedder", lambda *args, **kwargs: fake)
    patch.setattr("rag.index.build.start_export", lambda settings: {})
    patch.setattr("rag.index.encoding.export_encoder", lambda *args, **kwargs: None)
    if questions:
        patch.setattr("rag.retrieval.searcher.query_embedder", lambda settings: fake)


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A private copy of the real corpus (with its metadata file)."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture
def fake_embedder(monkeypatch: pytest.MonkeyPatch) -> FakeEmbedding:
    """Replace the sentence-transformers model in ingest by the fake (Chroma stays real)."""
    fake = FakeEmbedding(model_name="fake")
    use_fake(monkeypatch, fake, questions=False)
    return fake


@pytest.fixture
def fake_models(monkeypatch: pytest.MonkeyPatch, fake_embedder: FakeEmbedding) -> FakeEmbedding:
    """The fake embedder for questions too (the searcher's query encoder)."""
    use_fake(monkeypatch, fake_embedder)
    return fake_embedder


@pytest.fixture
def settings_for(tmp_path: Path) -> Any:
    def make(corpus: Path, **overrides: Any) -> Settings:
        return get_settings(corpus_dir=corpus, index_dir=tmp_path / "index", **overrides)
    return make


@pytest.fixture(scope="session")
def real_index(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The real corpus ingested once per test session with the real embedding model."""
    from rag.index.build import ingest

    settings = get_settings(corpus_dir=CORPUS, index_dir=tmp_path_factory.mktemp("real") / "idx")
    ingest(settings, progress=False)
    return settings


@pytest.fixture(scope="session")
def pdf_index(real_index: Settings, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The session's real index, copied, after the corpus's first document was replaced by a
    PDF made from it (eval/pdf_corpus.py) and the corpus ingested again (incrementally).
    Yields (settings, the ingest report, the PDF's path)."""
    import subprocess
    import sys

    from rag.index.build import ingest

    root = tmp_path_factory.mktemp("pdf")
    subprocess.run([sys.executable, str(ROOT / "eval" / "pdf_corpus.py"), str(root / "corpus"),
                    "--corpus", str(CORPUS), "--docs", DOCS[0]], check=True, cwd=ROOT,
                   capture_output=True)
    shutil.copytree(real_index.index_dir, root / "idx")
    settings = get_settings(corpus_dir=root / "corpus", index_dir=root / "idx")
    report = ingest(settings, progress=False)
    return settings, report, root / "corpus" / f"{Path(DOCS[0]).stem}.pdf"

"""The exported encoder (rag/embedding/onnx_model.py) as a llama-index embedding model."""

from __future__ import annotations

from pathlib import Path

from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from rag.embedding.onnx_model import OnnxModel
from rag.embedding.tokens import TokenStates


class OnnxEmbedding(BaseEmbedding):
    """Mean-pooled, normalised embeddings from an ONNX export of a BERT-like model."""

    _model: OnnxModel = PrivateAttr()

    def __init__(self, onnx_file: Path, model_dir: Path, threads: int = 2,
                 spinning: bool = True) -> None:
        super().__init__(model_name=str(onnx_file), embed_batch_size=32)
        self._model = OnnxModel(onnx_file, model_dir, threads, spinning)

    def embed(self, texts: list[str]) -> list[list[float]]:
        return self._model.embed(texts)

    def token_states(self, texts: list[str]) -> list[TokenStates]:
        return self._model.token_states(texts)

    def _get_query_embedding(self, query: str) -> list[float]:
        return self.embed([query])[0]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self.embed([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self.embed(texts)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self.embed([query])[0]

"""The exported encoder run with onnxruntime (rag/embedding/export.py makes it): the model's token
states, and sentence vectors mean-pooled over the attention mask and normalised, as
sentence-transformers does for all-MiniLM-L6-v2. No llama-index here, so that checking an export
imports only onnxruntime and tokenizers; rag/embedding/onnx_embedding.py wraps it for
llama-index."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from rag.embedding.tokens import TokenStates


class OnnxModel:
    def __init__(self, onnx_file: Path, model_dir: Path, threads: int = 2,
                 spinning: bool = True) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        # Spinning threads answer a short question sooner; at ingest they only take the CPU
        # from the thread that chunks and writes (10x the corpus: 52.5 s without, 54.8 s with).
        options.add_session_config_entry("session.intra_op.allow_spinning",
                                         "1" if spinning else "0")
        self.session = ort.InferenceSession(str(onnx_file), options,
                                            providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(_max_length(model_dir))
        self.tokenizer.enable_padding()

    def embed(self, texts: list[str]) -> list[list[float]]:
        _, hidden, mask = self._run(texts)
        pooled = (hidden * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return [[float(x) for x in row] for row in pooled]

    def token_states(self, texts: list[str]) -> list[TokenStates]:
        """Each text's token states without padding (rag/embedding/tokens.py)."""
        encoded, hidden, mask = self._run(texts)
        return [TokenStates(hidden[i, :n], np.array(e.offsets[:n], dtype=np.int64))
                for i, (e, n) in enumerate(zip(encoded, mask.sum(1), strict=True))]

    def _run(self, texts: list[str]) -> tuple[list[Any], Any, Any]:
        """The encodings, the last hidden states (texts, tokens, dim) and the attention mask."""
        encoded = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask,
                                         "token_type_ids": np.zeros_like(ids)})[0]
        return encoded, hidden, mask


def _max_length(model_dir: Path) -> int:
    config = model_dir / "sentence_bert_config.json"
    return int(json.loads(config.read_text()).get("max_seq_length", 256)) if config.is_file() \
        else 256

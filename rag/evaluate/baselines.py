"""The two baselines `rag eval` scores next to the pipeline, in the same run.

1. Vanilla llama-index, as a user would first build it: `SimpleDirectoryReader` over the corpus
   files, the default `SentenceSplitter` (1024 tokens, overlap 200), the same embedding model,
   `VectorStoreIndex` on an in-memory Chroma collection, `as_retriever(similarity_top_k=k)`.
2. Plain BM25 (bm25s, English stemming and stop words) over fixed-size chunks of the raw text
   (llama-index `TokenTextSplitter`, no overlap).

Neither cleans the text. Both return `Hit`s: a document and a text, what the retrieval metrics
read (the pipeline's `Passage`s have both too).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from rag.evaluate.gold import document_text


@dataclass(frozen=True)
class Hit:
    doc: str
    text: str
    score: float = 0.0


class Baseline(Protocol):
    name: str
    label: str
    chunks: int

    def retrieve(self, question: str, k: int) -> list[Hit]: ...


class VanillaLlamaIndex:
    name = "vanilla_llamaindex"
    label = "vanilla llama-index (SentenceSplitter 1024, dense top-k)"

    def __init__(self, files: list[Path], embed_model: Any) -> None:
        import chromadb
        from llama_index.core import (
            Document,
            SimpleDirectoryReader,
            StorageContext,
            VectorStoreIndex,
        )
        from llama_index.core.node_parser import SentenceSplitter
        from llama_index.vector_stores.chroma import ChromaVectorStore

        text_files = [f for f in files if f.suffix.lower() in (".txt", ".md")]
        documents = SimpleDirectoryReader(input_files=[str(f) for f in text_files]).load_data(
            ) if text_files else []
        # A PDF or HTML file: the text our ingest extracts (SimpleDirectoryReader would need
        # pypdf, and the comparison is of retrieval, not of PDF readers).
        documents += [Document(text=document_text(f), metadata={"file_name": f.name})
                      for f in files if f not in text_files]
        client = chromadb.EphemeralClient()
        collection = client.create_collection(f"vanilla-{uuid.uuid4().hex}")
        storage = StorageContext.from_defaults(vector_store=ChromaVectorStore(
            chroma_collection=collection))
        # The embedder is passed in: llama-index's global default would reach for OpenAI.
        self.index = VectorStoreIndex.from_documents(
            documents, storage_context=storage, embed_model=embed_model,
            transformations=[SentenceSplitter()])
        self.chunks = collection.count()

    def retrieve(self, question: str, k: int) -> list[Hit]:
        found = self.index.as_retriever(similarity_top_k=k).retrieve(question)
        return [Hit(n.node.metadata["file_name"], n.node.get_content(), float(n.score or 0.0))
                for n in found]


class PlainBM25:
    name = "bm25"
    label = "plain BM25 (stemmed, fixed-size chunks)"

    def __init__(self, files: list[Path], chunk_tokens: int) -> None:
        import bm25s
        import Stemmer
        from llama_index.core.node_parser import TokenTextSplitter

        splitter = TokenTextSplitter(chunk_size=chunk_tokens, chunk_overlap=0)
        self.passages = [Hit(f.name, piece)
                         for f in files
                         for piece in splitter.split_text(document_text(f))]
        self.stemmer = Stemmer.Stemmer("english")
        self.retriever = bm25s.BM25()
        self.retriever.index(self._tokens([p.text for p in self.passages]), show_progress=False)
        self.chunks = len(self.passages)

    def _tokens(self, texts: list[str]) -> Any:
        import bm25s

        return bm25s.tokenize(texts, stopwords="en", stemmer=self.stemmer, show_progress=False)

    def retrieve(self, question: str, k: int) -> list[Hit]:
        k = min(k, len(self.passages))
        rows, scores = self.retriever.retrieve(self._tokens([question]), k=k, show_progress=False)
        return [replace(self.passages[int(row)], score=float(score))
                for row, score in zip(rows[0], scores[0], strict=True)]

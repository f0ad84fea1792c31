"""Chunks -> llama-index TextNodes with their embeddings, ready for the vector store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.types import Chunk

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.schema import TextNode

METADATA_KEYS = ["doc", "seq", "start", "end", "kind"]


def to_node(chunk: Chunk, embedding: list[float] | None = None) -> TextNode:
    from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

    return TextNode(
        id_=chunk.id,
        text=chunk.text,
        embedding=embedding,
        metadata={"doc": chunk.doc, "seq": chunk.seq, "start": chunk.start, "end": chunk.end,
                  "kind": chunk.kind},
        excluded_embed_metadata_keys=METADATA_KEYS,
        excluded_llm_metadata_keys=METADATA_KEYS,
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=chunk.doc)},
    )


def embed_chunks(embedder: BaseEmbedding, chunks: dict[str, list[Chunk]], batch_size: int,
                 progress: bool) -> dict[str, list[TextNode]]:
    """Embed every chunk (one progress bar for all documents); nodes grouped by document."""
    from tqdm import tqdm

    flat = [chunk for doc_chunks in chunks.values() for chunk in doc_chunks]
    vectors: list[list[float]] = []
    # disable=None: tqdm shows the bar on a terminal only, not in logs.
    with tqdm(total=len(flat), unit="chunk", desc="Embedding",
              disable=None if progress else True) as bar:
        for i in range(0, len(flat), batch_size):
            batch = [chunk.text for chunk in flat[i:i + batch_size]]
            vectors.extend(embedder.get_text_embedding_batch(batch))
            bar.update(len(batch))
    nodes: dict[str, list[TextNode]] = {doc: [] for doc in chunks}
    for chunk, vector in zip(flat, vectors, strict=True):
        nodes[chunk.doc].append(to_node(chunk, vector))
    return nodes

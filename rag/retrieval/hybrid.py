"""Hybrid retrieval: dense (Chroma) and lexical (BM25) rankings fused by reciprocal rank.

A llama-index retriever (public `retrieve()`, private `_retrieve()` hook), so it composes with
llama-index; the query embedding is computed once and shared with the answerer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from rag.retrieval.searcher import Searcher
from rag.types import Passage

RRF_K = 60  # the constant of reciprocal-rank fusion (Cormack et al., 2009)


@dataclass(frozen=True)
class FusionWeights:
    dense: float = 1.0
    lexical: float = 1.0
    sentences: float = 1.0
    candidates: int = 30  # taken from each ranking before fusion
    mmr_lambda: float = 1.0  # 1.0: no maximal-marginal-relevance re-ranking


def fuse(rankings: list[tuple[list[str], float]], k: int) -> list[tuple[str, float]]:
    """Weighted reciprocal-rank fusion of several rankings of ids."""
    scores: dict[str, float] = {}
    for ids, weight in rankings:
        for rank, item in enumerate(ids):
            scores[item] = scores.get(item, 0.0) + weight / (RRF_K + rank + 1)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


def mmr(ranked: list[tuple[str, float]], vectors: dict[str, Any], lam: float,
        k: int) -> list[tuple[str, float]]:
    """Maximal marginal relevance: each next pick maximises lam * relevance (fused score,
    scaled to [0, 1]) - (1 - lam) * its highest cosine to a passage already picked."""
    top = ranked[0][1] if ranked else 1.0
    left, chosen = list(ranked), list[tuple[str, float]]()
    while left and len(chosen) < k:
        def value(item: tuple[str, float]) -> float:
            overlap = max((float(vectors[item[0]] @ vectors[c]) for c, _ in chosen), default=0.0)
            return lam * item[1] / top - (1 - lam) * overlap
        best = max(left, key=value)
        left.remove(best)
        chosen.append(best)
    return chosen


class HybridRetriever(BaseRetriever):
    def __init__(self, searcher: Searcher, k: int = 5, docs: list[str] | None = None,
                 weights: FusionWeights | None = None) -> None:
        super().__init__()
        self.searcher, self.k, self.docs = searcher, k, docs
        self.weights = weights or FusionWeights()

    def passages(self, query_bundle: QueryBundle) -> list[Passage]:
        """The top k chunks as Passages (rank, fused score, text, sentence spans): what the
        pipeline uses. `retrieve()` gives the same ranking as llama-index nodes."""
        return [self.searcher.passage(chunk_id, rank, score)
                for rank, (chunk_id, score) in enumerate(self._ranked(query_bundle), start=1)]

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [NodeWithScore(node=TextNode(id_=p.chunk_id, text=p.text, metadata={
                    "doc": p.doc, "start": p.start, "end": p.end, "kind": p.kind}),
                    score=p.score) for p in self.passages(query_bundle)]

    def _ranked(self, query_bundle: QueryBundle) -> list[tuple[str, float]]:
        expanded = self.searcher.vocabulary_terms.expand_query(query_bundle.query_str)
        if query_bundle.embedding is None:
            query_bundle.embedding = self.searcher.embedder.get_query_embedding(expanded)
        dense = self._dense(query_bundle.embedding)
        by_sentence = self._sentence_dense(query_bundle.embedding)
        lexical = [i for i, _ in self.searcher.lexical.search(expanded, self.weights.candidates,
                                                              self._allowed())]
        use_mmr = self.weights.mmr_lambda < 1
        fused = fuse([(dense, self.weights.dense), (lexical, self.weights.lexical),
                      (by_sentence, self.weights.sentences)],
                     self.weights.candidates if use_mmr else self.k)
        if use_mmr:
            fused = mmr(fused, self.searcher.chunk_vectors, self.weights.mmr_lambda, self.k)
        return fused

    def _dense(self, embedding: list[float]) -> list[str]:
        vector = np.asarray(embedding, dtype=np.float32)
        return self.searcher.dense_chunks.nearest(vector, self.weights.candidates, self.docs)

    def _sentence_dense(self, embedding: list[float]) -> list[str]:
        """Chunks ranked by their sentence closest to the question (sentence-window retrieval)."""
        if not self.weights.sentences:
            return []
        vector = np.asarray(embedding, dtype=np.float32)
        ranked: dict[str, None] = {}
        for sid in self.searcher.dense_sentences.nearest(vector, self.weights.candidates * 2,
                                                         self.docs):
            ranked.update(dict.fromkeys(self.searcher.chunks_of_sentence.get(sid, [])))
        return list(ranked)[: self.weights.candidates]

    def _allowed(self) -> set[str] | None:
        if not self.docs:
            return None
        return {i for i, c in self.searcher.chunks.items() if c.doc in self.docs}

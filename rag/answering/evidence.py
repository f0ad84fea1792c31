"""What backends and citations may ask of the index: the Evidence seam.

A backend sees the retrieved passages plus this: the original text it may quote, titles and
source names, sentence vectors and the embedder for similarity, and the index's vocabulary and
idf for answerability. The live index's Searcher (rag.retrieval.searcher) is one; a test can
give a small object instead. Nothing here reaches Chroma, BM25 or the files directly.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from typing import Protocol

import numpy as np
import numpy.typing as npt

from rag.text.vocab import Vocabulary

Vector = npt.NDArray[np.float32]


class Evidence(Protocol):
    @property
    def vocabulary(self) -> Container[str]:
        """The index's terms (after tokenizing), for "is this word known at all"."""
        ...

    @property
    def vocabulary_terms(self) -> Vocabulary:
        """The corpus's abbreviations and names that stand for each other (learned from its
        texts and its vocabulary.toml), for "does this text name that name"."""
        ...

    @property
    def idf(self) -> Mapping[str, float]:
        """Inverse document frequency of each term over the chunks."""
        ...

    def original(self, doc: str) -> str:
        """The text `doc` was indexed from; citations are character spans into it."""
        ...

    def page(self, doc: str, offset: int) -> int | None:
        """The 1-based page of a PDF document on which `offset` lies; None for text."""
        ...

    def title(self, doc: str, offset: int | None = None) -> str:
        """The document's title (or of the article inside it in which `offset` lies)."""
        ...

    def sources(self, docs: list[str]) -> str:
        """Names the documents' metadata gives (authors, publisher, organisations of titles)."""
        ...

    def docs_named_in(self, question: str) -> set[str]:
        """Documents the question names by author or publisher ("according to Harding")."""
        ...

    def sentence_vector(self, doc: str, start: int, end: int) -> Vector | None:
        """The stored vector of the indexed sentence at [start, end) of `doc`, if any."""
        ...

    def embed_text(self, text: str) -> Vector:
        """A vector for a text of its own (an answer sentence, a quote), comparable with
        another such vector (the verifier compares the two) and with sentence vectors."""
        ...

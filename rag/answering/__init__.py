"""Answering: question -> retrieval -> backend -> verified Answer. The backends (registered
through the `rag.backends` entry-point group), the extractive answerer's composition and
answerability model, citations and the verifier every sentence passes. Backends and citations
see the index only through the Evidence interface."""

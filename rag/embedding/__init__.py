"""Embedding: the sentence-transformers model (loaded once per process) for ingest, and the
ONNX query encoder exported from it for questions."""

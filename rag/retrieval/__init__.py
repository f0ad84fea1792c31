"""Retrieval: the live index opened for questions (Searcher, once per process) and the hybrid
llama-index retriever that turns a question into ranked Passages."""

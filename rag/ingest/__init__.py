"""Ingest: which files are documents, their cleaning (furniture, hyphenation, paragraphs, tables)
and chunking, and their bibliographic metadata. Builds on rag.text; knows nothing of indexes."""

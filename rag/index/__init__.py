"""The index: Chroma collections (embedded or server), the BM25 index, exact dense search,
generations and the fingerprint of what built them, and the incremental build (`rag ingest`)
that fills them from rag.ingest and rag.embedding."""

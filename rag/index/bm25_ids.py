"""bm25s's own BM25 index, built from flat arrays of token ids with whole-array numpy.

`bm25s.BM25.index` takes one list of tokens per chunk and scores the chunks one by one in
Python: 1.2 s for the 24,000 chunks of 100x the corpus, the largest step of an ingest that
changes one document there. The numbers it computes (document frequencies, Lucene idf, the
term-frequency part with each chunk's length) are a few operations on the flat token ids that
rag/index/terms.py keeps, about 0.1 s. The result is the bm25s.BM25 that `index` makes, with
the same score matrix, vocabulary and parameters, so searching, saving and loading stay
bm25s's; tests/test_bm25_ids.py checks the matrix equals bm25s's element for element.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def index(tokens: np.ndarray, lengths: np.ndarray, vocab: dict[str, int]) -> Any:
    """A bm25s.BM25 (default parameters) over chunks given as one array of token ids
    (`tokens`, ids into `vocab`, which must all occur) cut into chunks by `lengths`."""
    import bm25s

    bm25 = bm25s.BM25()
    if (bm25.method, bm25.idf_method, bm25.csc_backend) != ("lucene", "lucene", "numpy"):
        raise RuntimeError(f"bm25s's defaults are now {bm25.method}/{bm25.csc_backend}: this "
                           "builder computes lucene's with numpy, so use bm25s.BM25.index")
    n_docs, n_vocab = len(lengths), len(vocab)
    # (chunk, term) pairs as one integer, in 32 bits when they fit: the arrays here are as
    # long as the corpus has tokens (2.4 million at 100x), and their size is ingest's memory
    wide = np.dtype(np.int64 if n_docs * n_vocab >= 2**31 else np.int32)
    pairs: np.ndarray = np.repeat(np.arange(n_docs, dtype=wide), lengths)
    np.multiply(pairs, n_vocab, out=pairs)
    np.add(pairs, tokens, out=pairs)
    pairs, tf = np.unique(pairs, return_counts=True)
    doc, term = np.divmod(pairs, n_vocab)  # sorted by chunk, then term, as bm25s's loop
    del pairs
    df = np.bincount(term, minlength=n_vocab)
    # math.log as bm25s does, once per distinct frequency: numpy's log may differ by an ulp
    # between CPUs (SIMD implementations), and then so could a score.
    idf_of = {int(d): math.log(1 + (n_docs - d + 0.5) / (d + 0.5)) for d in np.unique(df)}
    idf = np.array([idf_of[int(d)] for d in df], dtype=bm25.dtype)
    tf_array = tf.astype(bm25.dtype)
    del tf
    # bm25s: tf / (k1 * ((1 - b) + b * l_d / l_avg) + tf), with l_avg a float64 mean; the
    # same operations on the same numbers per chunk, then spread over its terms
    norm = (bm25.k1 * ((1 - bm25.b) + bm25.b * lengths / np.asarray(lengths).mean()))[doc]
    norm += tf_array
    np.divide(tf_array, norm, out=norm)
    norm *= idf[term]
    scores = norm.astype(bm25.dtype)
    del norm, tf_array
    # the matrix as BM25.build_index_from_ids builds it (its default csc_backend, numpy)
    data, indices, indptr = bm25._np_csc(data=scores, rows=doc.astype(bm25.int_dtype),
                                         cols=term.astype(bm25.int_dtype), shape=(n_docs, n_vocab))
    bm25.scores = {"data": data.astype(bm25.dtype), "indices": indices, "indptr": indptr,
                   "num_docs": n_docs}
    # what BM25.index sets after scoring (create_empty_token=True)
    bm25.vocab_dict = {**vocab, "": len(vocab)} if "" not in vocab else dict(vocab)
    bm25.unique_token_ids_set = set(bm25.vocab_dict.values())
    bm25.nonoccurrence_array = None
    return bm25

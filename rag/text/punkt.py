"""nltk (for llama-index's punkt sentence tokenizer) imported without scipy.stats.

nltk's package import loads nltk.metrics.association, which imports scipy.stats for one
function (fisher_exact) and falls back to a stub when scipy is missing. scipy is installed here
(sentence-transformers needs it), and loading scipy.stats took 0.85 s of the 1.3 s nltk import:
6% of a whole first ingest, spent before the first document can be chunked. Punkt never uses it.
So scipy.stats is hidden while nltk is imported, and importable again right after.
"""

from __future__ import annotations

import sys


def import_nltk() -> None:
    """Import nltk once per process, without scipy.stats (harmless when either is loaded)."""
    if "nltk" in sys.modules:
        return
    hide = "scipy.stats" not in sys.modules
    if hide:
        sys.modules["scipy.stats"] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        import nltk  # noqa: F401
    finally:
        if hide:
            sys.modules.pop("scipy.stats", None)

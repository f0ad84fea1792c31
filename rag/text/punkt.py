"""nltk (for llama-index's punkt sentence tokenizer) imported without scipy.stats and sklearn.

nltk's package import loads nltk.metrics.association, which imports scipy.stats for one
function (fisher_exact), and nltk.classify.scikitlearn, which imports sklearn for a wrapper
class; both fall back when the import fails. scipy and sklearn are installed here
(sentence-transformers needs them), and loading them took 0.85 s and 0.26 s of the nltk
import, spent before the first document can be chunked (at 100x the corpus, a tenth of an
ingest that changes one document). Punkt uses neither. So they are hidden while nltk is
imported, and importable again right after.
"""

from __future__ import annotations

import sys

HIDDEN = ("scipy.stats", "sklearn")


def import_nltk() -> None:
    """Import nltk once per process, without what HIDDEN names (harmless when loaded)."""
    if "nltk" in sys.modules:
        return
    hide = [name for name in HIDDEN if name not in sys.modules]
    for name in hide:
        sys.modules[name] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        import nltk  # noqa: F401
    finally:
        for name in hide:
            sys.modules.pop(name, None)

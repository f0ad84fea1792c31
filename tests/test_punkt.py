"""nltk is imported without scipy.stats and sklearn (rag/text/punkt.py), and punkt still works."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
from rag.text.punkt import HIDDEN, import_nltk
import_nltk()
assert not [name for name in HIDDEN if name in sys.modules], sys.modules.keys() & set(HIDDEN)
import nltk.tokenize.punkt
text = "The EAEU was founded in 2014. Its members are five."
print(len(nltk.tokenize.punkt.PunktSentenceTokenizer().tokenize(text)))
import sklearn, scipy.stats  # importable again once nltk is loaded
"""


def test_nltk_without_scipy_stats_and_sklearn() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2"

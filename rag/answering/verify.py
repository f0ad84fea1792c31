"""Is an answer sentence supported by the spans it cites? One check shared by every answerer.

Support combines content-word overlap (stems, spelling-normalised; a word also counts when it
shares its first letters with a cited word, so "expansion" meets "expand") with the embedding
similarity of sentence and cited text. Hard rules: every number and every name in the sentence
must occur in the cited text — as written, as a derived form (Kazakhstani / Kazakhstan), as
another name of the same thing (SCO / Shanghai Cooperation Organization, Moscow / Russia), or,
for the source's own names (author, title, publisher: "Harding writes that ..."), in the
metadata of the cited document. The weight and the threshold are fitted on the gold set's dev
split (eval/fit.py, rag/answering/calibration.json).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.answering.calibration import calibration
from rag.text.names import name_tokens, named_in, names, numbers, same_word
from rag.text.tokens import normalize, tokenize
from rag.text.vocab import NO_VOCABULARY, Vocabulary


@dataclass(frozen=True)
class Support:
    score: float
    ok: bool
    missing: list[str] = field(default_factory=list)


def support(sentence: str, cited: list[str], similarity: float | None = None,
            sources: str = "", vocabulary: Vocabulary = NO_VOCABULARY) -> Support:
    """How well `cited` (original spans) supports `sentence`; `similarity` is their cosine;
    `sources` is the metadata (title, authors, publisher) of the cited documents, whose names
    a sentence may use to attribute ("According to Harding, ..."); `vocabulary` (the live
    index's) gives the other names of a name (SCO / Shanghai Cooperation Organization)."""
    raw = " ".join(cited)
    # As the reader sees it (line-break hyphens joined), and with every hyphen a space.
    variants = f"{normalize(raw)} {re.sub(r'[-■]', ' ', raw)}"
    cited_tokens = set(tokenize(variants))
    known_names = cited_tokens | name_tokens(sources)
    words = tokenize(sentence)
    lexical = sum(same_word(w, cited_tokens) for w in words) / len(words) if words else 0.0
    missing = sorted(numbers(sentence) - numbers(variants))
    missing += sorted(n for n in names(sentence) if not named_in(n, known_names, vocabulary))
    weight, threshold = calibration().verifier_weight, calibration().verifier_threshold
    score = lexical if similarity is None else (
        weight * lexical + (1 - weight) * max(similarity, 0.0))
    return Support(score=score, ok=not missing and bool(cited) and score >= threshold,
                   missing=missing)

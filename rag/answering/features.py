"""Features of one question against its candidate evidence, for the answerability model.

Each feature is a number a person can read: how similar the best sentence is, how much of the
question's content the evidence covers (one sentence, the best three together, a whole
passage), whether the best sentence satisfies the question's constraints (a year it names, a
date for "when", a count for "how many", a name for "who"), how many of its words and names
the corpus never uses, and what kind of question it is.
`rag.answering.calibration.Answerability` combines them (gradient-boosted trees fitted on the
dev split by eval/fit.py) into a confidence.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence

from rag.answering.answerable import counted_found, kind_found, name_found, unknown_to_corpus
from rag.answering.assessment import Candidate
from rag.answering.question import Question
from rag.text.names import name_tokens, named_in
from rag.text.vocab import NO_VOCABULARY, Vocabulary, coverage, with_synonyms

TOP = 3  # sentences whose union of words is the "together" coverage


def _weighted(content: list[str], words: frozenset[str], idf: Mapping[str, float],
              unseen: float) -> float:
    """Share of the question's content terms in `words`, each weighted by its rarity."""
    weights = {t: idf.get(t, unseen) for t in content}
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in words) / total if total else 0.0


def features(question: Question, ranked: Sequence[Candidate], vocabulary: Container[str],
             idf: Mapping[str, float], retrieval_score: float = 0.0,
             terms: Vocabulary = NO_VOCABULARY) -> dict[str, float]:
    """The named features; `ranked` holds the candidates that fit the question's constraints
    first, each group best first; `retrieval_score` is the first passage's fused score;
    `terms` the live index's abbreviations and aliases (`vocabulary` is its BM25 terms)."""
    q_words = list(question.words)
    content = list(question.content)
    unknown = unknown_to_corpus(question, vocabulary)
    specific = sorted(question.names)
    top = list(ranked[:TOP])
    # a word counts as found in any of its near-synonyms ("creation" for "founded")
    words = [with_synonyms(c.words) for c in top]
    union = frozenset().union(*words) if top else frozenset()
    passages = name_tokens(" ".join(dict.fromkeys(c.passage_text for c in top)))
    fitting = [c for c in ranked if c.fits]
    unseen = max(idf.values(), default=1.0) + 1.0
    rarest = max(content, key=lambda t: idf.get(t, unseen), default=None)
    return {
        "rare_sentence_coverage": max((_weighted(content, w, idf, unseen) for w in words),
                                      default=0.0),
        "rare_top_coverage": _weighted(content, union, idf, unseen),
        "rarest_found": float(rarest is None or rarest in union),
        "best_score": max((c.score for c in ranked), default=0.0),
        "best_cosine": max((c.cosine for c in ranked), default=0.0),
        "fitting_score": fitting[0].score if fitting else 0.0,
        "best_fits": float(bool(ranked) and ranked[0].fits),
        "counted_found": float(any(counted_found(question, c.text) for c in top)),
        "name_found": float(bool(ranked) and name_found(question, ranked[0].text, terms)),
        "sentence_coverage": max((coverage(q_words, w, terms) for w in words), default=0.0),
        "top_coverage": coverage(q_words, union, terms),
        "passage_coverage": max((coverage(q_words, set(c.passage_words), terms) for c in top),
                                default=0.0),
        "names_found": (sum(named_in(n, passages, terms) for n in specific) / len(specific)
                        if specific else 1.0),
        "unknown_terms": float(len(unknown)),
        "content_terms": float(len(content)),
        "context_coverage": max((coverage(q_words, with_synonyms(c.words | c.context_words),
                                          terms) for c in top), default=0.0),
        "names_in_sentence": (sum(named_in(n, set(ranked[0].words | ranked[0].context_words),
                                           terms) for n in specific) / len(specific)
                              if specific and ranked else 1.0),
        "kind_found": float(bool(ranked) and kind_found(question, ranked[0].text, terms)),
        **_spread(question, ranked, terms),
        "top_passage_score": retrieval_score,
        "asks_name": float(question.wants_name),
        "asks_definition": float(question.kind == "definition"),
        "why_how": float(question.why_how),
        "wants_number": float(question.wants_number),
    }


def _spread(question: Question, ranked: Sequence[Candidate],
            terms: Vocabulary) -> dict[str, float]:
    """How the best sentence stands out: its lead over the best of another passage and over
    the runner-up, the mean similarity of the best three, how many sentences hold what the
    question asks for, and how much of the question (and of its names) the best sentence
    covers on its own."""
    if not ranked:
        return dict.fromkeys(SPREAD, 0.0)
    best = ranked[0]
    by_score = sorted(ranked, key=lambda c: -c.score)
    other = [c.score for c in ranked if c.passage != best.passage]
    names = sorted(question.names)
    return {
        "gap_other_passage": best.score - (max(other) if other else 0.0),
        "score_gap2": by_score[0].score - (by_score[1].score if len(by_score) > 1 else 0.0),
        "names_in_best_only": (sum(named_in(n, set(best.words), terms) for n in names)
                               / len(names) if names else 1.0),
        "best_cov_own": coverage(list(question.words), with_synonyms(best.words), terms),
        "n_fitting": float(sum(c.fits for c in ranked)),
        "mean_top3_cos": sum(c.cosine for c in by_score[:3]) / len(by_score[:3]),
    }


SPREAD = ("gap_other_passage", "score_gap2", "names_in_best_only", "best_cov_own", "n_fitting",
          "mean_top3_cos")

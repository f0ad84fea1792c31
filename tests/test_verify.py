"""The shared verifier, fusion, vocabulary and tokenizer: offline, no model."""

from pathlib import Path

import pytest

from rag.answering.pipeline import clean_question
from rag.answering.verify import support
from rag.errors import UsageError
from rag.index.lexical import LexicalIndex
from rag.retrieval.hybrid import fuse, mmr
from rag.text.names import names, numbers
from rag.text.tokens import american, tokenize
from rag.text.vocab import Vocabulary, coverage

SPAN = ("After a period of relative stagnation, the CSTO reached an agreement to establish CORF "
        "in February 2009. Under this agreement, a force of 16,000 troops is to be formed, with "
        "Russia supplying 8,000, Kazakhstan 4,000, Tajikistan, Belarus, Kyrgyzstan and Armenia "
        "1,000 each.")


def test_a_faithful_sentence_is_supported() -> None:
    verdict = support("The CSTO agreed in February 2009 to establish CORF.", [SPAN])
    assert verdict.ok and verdict.score >= 0.6


@pytest.mark.parametrize(("sentence", "missing"), [
    ("A force of 18,000 troops is to be formed.", "18000"),  # swapped number
    ("The CSTO agreed in March 2009 to establish CORF.", "March"),  # swapped date
    ("NATO agreed in February 2009 to establish CORF.", "NATO"),  # swapped name
    ("Uzbekistan supplies 8,000 troops to the force.", "Uzbekistan"),
])
def test_invented_numbers_dates_and_names_are_rejected(sentence: str, missing: str) -> None:
    verdict = support(sentence, [SPAN])
    assert not verdict.ok
    assert missing in verdict.missing


def test_unrelated_or_uncited_sentences_are_rejected() -> None:
    assert not support("Bananas are yellow fruit grown in the tropics.", [SPAN]).ok
    assert not support("The CSTO agreed to establish CORF.", []).ok


def test_quotes_with_pdf_artefacts_still_support_clean_sentences() -> None:
    raw = "Russia’s■Approach■to■Multilateral co-\noperation received further sup-\nport"
    assert support("Russia’s approach to multilateral cooperation received further support.",
                   [raw]).ok


def test_embedding_similarity_enters_the_score() -> None:
    low = support("The CSTO agreed in February 2009 to establish CORF.", [SPAN], similarity=0.0)
    high = support("The CSTO agreed in February 2009 to establish CORF.", [SPAN], similarity=1.0)
    assert high.score > low.score


def test_numbers_and_names_extraction() -> None:
    assert numbers("16,000 troops in 2009 and 1.5 times") == {"16000", "2009", "1.5"}
    assert names("In 2009 the CSTO met Russia’s allies") >= {"CSTO", "Russia’s"}
    assert "In" not in names("In 2009 the CSTO met")


def test_fusion_rewards_agreement_between_rankings() -> None:
    fused = fuse([(["a", "b", "c"], 1.0), (["b", "d", "a"], 1.0)], k=3)
    assert [i for i, _ in fused] == ["b", "a", "d"]
    assert fuse([(["a"], 0.0), (["b"], 1.0)], k=1)[0][0] == "b"


def test_mmr_prefers_a_different_passage_to_a_near_duplicate() -> None:
    import numpy as np

    vectors = {"a": np.array([1.0, 0.0]), "a2": np.array([0.99, 0.141]),
               "b": np.array([0.0, 1.0])}
    ranked = [("a", 0.05), ("a2", 0.049), ("b", 0.04)]
    assert [i for i, _ in mmr(ranked, vectors, 1.0, 2)] == ["a", "a2"]
    assert [i for i, _ in mmr(ranked, vectors, 0.7, 2)] == ["a", "b"]
    assert mmr([], vectors, 0.5, 3) == []


def test_spellings_and_abbreviations_meet() -> None:
    assert tokenize("organisation") == tokenize("organization")
    assert tokenize("the centre of behaviour") == tokenize("the center of behavior")
    assert american("defence") == "defense"
    # the corpus's abbreviations: learned from its texts (rag/text/abbreviations.py)
    vocabulary = Vocabulary.learned(["the Shanghai Cooperation Organization (SCO) and the "
                                     "Eurasian Economic Union (EAEU)"])
    assert "Shanghai Cooperation Organization" in vocabulary.expand_query("Who founded the SCO?")
    assert "EAEU" in vocabulary.expand_query("When was the Eurasian Economic Union created?")
    assert coverage(tokenize("What does the SCO do?"),
                    set(tokenize("the Shanghai Cooperation Organisation does it")),
                    vocabulary) == 1.0


def test_bm25_index_persists_behind_an_atomic_pointer(tmp_path: Path) -> None:
    index = LexicalIndex.build(["a", "b"], ["Kazakhstan joined the customs union",
                                           "Vietnam signed a free trade agreement"])
    assert index.search("free trade with Vietnam", 2)[0][0] == "b"
    assert index.search("Vietnam", 2, allowed={"a"}) == []
    index.save(tmp_path, "key1")
    LexicalIndex.build(["c"], ["other text"]).save(tmp_path, "key2")
    loaded = LexicalIndex.load(tmp_path)
    assert loaded is not None and loaded[1] == "key2" and loaded[0].ids == ["c"]
    assert not (tmp_path / "key1").exists()
    assert LexicalIndex.load(tmp_path / "missing") is None


@pytest.mark.parametrize("bad", ["", "   ", "\n\t", "\x00\x01"])
def test_empty_questions_are_refused(bad: str) -> None:
    with pytest.raises(UsageError, match="empty"):
        clean_question(bad, 2000)


def test_long_questions_are_refused_and_control_characters_dropped() -> None:
    with pytest.raises(UsageError, match="2001 characters long; the limit is 2000"):
        clean_question("x" * 2001, 2000)
    assert clean_question("What\x00 is\tthe\u200b SCO?\x07", 2000) == "What is the SCO?"

"""What a newcomer meets first: the page's example questions are answered with confidence,
plain first questions are answered, and a near-miss is not answered with confidence (issue 34).
Real index of the real corpus, default (extractive) backend."""

from typing import Any

import pytest

import rag
from rag.config import get_settings
from rag.types import HEDGE
from rag.web.front import corpus_meta
from tests.conftest import CORPUS

pytestmark = pytest.mark.slow


EXAMPLES = corpus_meta(get_settings(corpus_dir=CORPUS)).examples


def test_the_seed_corpus_offers_five_examples() -> None:
    assert len(EXAMPLES) == 5


@pytest.mark.parametrize("question", EXAMPLES)
def test_each_example_question_of_the_page_is_answered_with_confidence(
        real_index: Any, question: str) -> None:
    found = rag.answer(question, settings=real_index)
    assert not found.abstained and not found.hedged, (question, found.confidence, found.notes)
    assert found.citations and not found.answer.startswith(HEDGE)


@pytest.mark.parametrize("question, words", [
    ("When was the SCO founded?", "2001"),
    ("When did the EAEU treaty come into force?", "January 1, 2015"),
])
def test_plain_first_questions_are_answered(real_index: Any, question: str, words: str) -> None:
    found = rag.answer(question, settings=real_index)
    assert not found.abstained, found.notes
    assert words in found.answer


@pytest.mark.parametrize("question", ["What is the population of Kazakhstan?",
                                      "When did Iran join BRICS?"])
def test_a_near_miss_is_not_answered_with_confidence(real_index: Any, question: str) -> None:
    found = rag.answer(question, settings=real_index)
    assert found.abstained or found.hedged, (found.confidence, found.answer)
    if found.hedged:  # it says so in words, and the JSON says so; no short answer to trust
        assert found.answer.startswith(HEDGE) and found.to_dict()["hedged"] is True
        assert found.short_answer is None

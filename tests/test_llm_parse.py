"""Parsing a model's reply into cited sentences (no model, no index)."""

from rag.answering.backends.llm import CANNOT, build_messages, parse
from rag.types import Passage

PASSAGES = [Passage(rank=i, chunk_id=f"000_x:{i * 100}-{i * 100 + 90}:abc{i}", doc="000_x.txt",
                    start=i * 100, end=i * 100 + 90, kind="text", text=f"Passage {i} text.",
                    score=1.0) for i in range(1, 4)]


def test_the_prompt_numbers_passages_with_their_ids_and_states_the_rules() -> None:
    system, user = build_messages("When?", PASSAGES)
    assert "[1] (id 000_x:100-190:abc1)\nPassage 1 text." in user["content"]
    assert user["content"].endswith("Question: When?\nAnswer:")
    assert "square brackets" in system["content"] and CANNOT in system["content"]


def test_markers_are_parsed_by_number_and_by_chunk_id() -> None:
    draft = parse("The treaty took effect in 2015 [1]. It has five members. [2][3] "
                  "Armenia joined too [000_x:300-390:abc3].", PASSAGES)
    assert [(s.text, s.refs) for s in draft.sentences] == [
        ("The treaty took effect in 2015.", [1]), ("It has five members.", [2, 3]),
        ("Armenia joined too.", [3])]
    assert not draft.abstain and draft.notes == []


def test_citations_of_passages_not_retrieved_and_uncited_sentences_are_removed() -> None:
    draft = parse("Russia leads [7]. Kazakhstan agrees [2, 9]. Nobody objects.", PASSAGES)
    assert [(s.text, s.refs) for s in draft.sentences] == [("Kazakhstan agrees.", [2])]
    assert any("not retrieved: 7" in n for n in draft.notes)
    assert any("not retrieved: 9" in n for n in draft.notes)
    assert any("without a citation: 'Russia leads.'" in n for n in draft.notes)
    assert any("without a citation: 'Nobody objects.'" in n for n in draft.notes)


def test_cannot_answer_and_empty_replies_are_abstentions() -> None:
    for reply in (CANNOT, "Sorry, I can't answer that from these passages.", "   "):
        draft = parse(reply, PASSAGES)
        assert draft.abstain and draft.sentences == []

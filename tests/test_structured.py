"""The structured answer path: one schema, one parser, enforced by every backend that can.

The schema and parser are tested on their own; the Ollama `format` path against the
Ollama-protocol fake (which, like a server that ignores the schema, can send anything back);
the real SmolLM2 paths (in-process grammar, `python -m llama_cpp.server`) are in
tests/test_llamacpp.py.
"""

import json
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest

from rag.answering.assessment import Candidate
from rag.answering.backends.brief import Shown, messages
from rag.answering.backends.schema import PARSE_FAILED, answer_schema, parse_reply
from rag.answering.pipeline import answer
from tests.fakes import FakeOllama, quote_sentence_with, shown_in
from tests.test_llm_backends import NEEDLE, QUESTION, with_llm

FIRST, SECOND = ("The bank opened its first office in Minsk.",
                 "The bank was founded in 1998 by Ivan Petrov.")
def _line(number: int, shown: str, passage: int, span: tuple[str, int, int], full: str) -> Shown:
    chunk, start, end = span
    return Shown(number, shown, Candidate(1.0, 1.0, passage, 0, full, frozenset(), chunk, "d",
                                          start, end))


LINES = [_line(1, FIRST, 2, ("c2", 10, 52), FIRST),
         _line(2, SECOND[:30] + " ...", 1, ("c1", 0, 44), SECOND)]  # cut for the prompt


@pytest.mark.parametrize("mode", ["quote", "cite"])
def test_the_schema_allows_only_the_numbers_shown(mode: str) -> None:
    schema = answer_schema(2, mode, sentences=2, chars=200)
    key = "quote" if mode == "quote" else "cites"
    good = {"answerable": True, "sentences": [{key: 2 if mode == "quote" else [2],
                                               "text": "Founded in 1998."}]}
    jsonschema.validate(good, schema)
    for bad in (3, 0):
        good["sentences"][0][key] = bad if mode == "quote" else [bad]
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(good, schema)
    with pytest.raises(jsonschema.ValidationError):  # more sentences than allowed
        jsonschema.validate({"answerable": True, "sentences": [good["sentences"][0]] * 3},
                            schema)


def test_a_quote_becomes_a_draft_citing_the_shown_span() -> None:
    raw = json.dumps({"answerable": True, "sentences": [
        {"quote": 2, "text": "The bank was founded in 1998 by Ivan Petrov."},
        {"quote": 1, "text": "[1] It opened in Minsk [1]."}]})
    draft = parse_reply(raw, LINES, fallback=False)
    first, second = draft.sentences
    assert (first.refs, first.spans, first.exact) == ([1], [("c1", 0, 44)], True)
    assert second.text == "It opened in Minsk." and second.spans == [("c2", 10, 52)]
    assert not second.exact and draft.notes == [f"model output: {raw!r}"]


def test_with_fallback_a_quote_carries_its_whole_sentence() -> None:
    raw = json.dumps({"answerable": True, "sentences": [{"quote": 2, "text": "Opened in 1999."}]})
    (item,) = parse_reply(raw, LINES, fallback=True).sentences
    assert item.fallback is not None and not item.exact
    assert (item.fallback.text, item.fallback.spans, item.fallback.exact) == (
        SECOND, [("c1", 0, 44)], True)  # the whole sentence, though the prompt showed a cut


def test_a_sentence_too_short_to_answer_gives_way_to_its_quote() -> None:
    raw = json.dumps({"answerable": True, "sentences": [{"quote": 2, "text": "1998"}]})
    assert parse_reply(raw, LINES, fallback=False).sentences == []
    (item,) = parse_reply(raw, LINES, fallback=True).sentences
    assert item.text == SECOND and item.exact


def test_a_citation_of_a_sentence_not_shown_is_rejected() -> None:
    raw = json.dumps({"answerable": True, "sentences": [
        {"text": "Founded in 1998.", "cites": [9]},
        {"text": "Petrov founded it.", "cites": [2, 7]}]})
    draft = parse_reply(raw, LINES, fallback=False)
    assert [s.text for s in draft.sentences] == ["Petrov founded it."]
    assert draft.sentences[0].spans == [("c1", 0, 44)]
    assert "dropped 'Founded in 1998.': it cites sentence(s) [9], but only 1-2" in draft.notes[1]
    assert "removed the citation(s) [7]" in draft.notes[2]


@pytest.mark.parametrize("raw", ["The bank was founded in 1998 [2].", '{"answerable": true',
                                 '{"sentences": []}', ""])
def test_a_reply_that_is_not_the_schema_is_an_abstention_that_says_so(raw: str) -> None:
    draft = parse_reply(raw, LINES, fallback=False)
    assert draft.abstain and not draft.sentences
    assert draft.notes[0] == f"model output: {raw!r}" and draft.notes[1].startswith(PARSE_FAILED)


def test_the_models_answerable_flag_is_kept_as_its_verdict() -> None:
    raw = json.dumps({"answerable": False,
                      "sentences": [{"quote": 2, "text": "It was founded 1998."}]})
    kept = parse_reply(raw, LINES, fallback=False)
    assert kept.verdict is False and len(kept.sentences) == 1 and not kept.abstain
    assert "do not answer" in kept.notes[1]
    assert parse_reply(raw.replace("false", "true"), LINES, fallback=False).verdict is True
    # a raw newline in a string, as llama.cpp's grammar lets through
    newline = raw.replace("It was founded 1998.", "It was founded\n1998.")
    assert parse_reply(newline, LINES, fallback=False).sentences[0].text == (
        "It was founded 1998.")
    fenced = "```json\n" + raw + "\n```"  # a server that does not enforce the format
    assert len(parse_reply(fenced, LINES, fallback=False).sentences) == 1


def test_the_prompt_numbers_the_shown_sentences_only() -> None:
    sent = messages("When was the bank founded?", LINES, "quote")
    assert shown_in(sent) == {1: LINES[0].text, 2: LINES[1].text}
    assert '"quote"' in sent[0]["content"] and len(sent) == 2



@pytest.fixture
def ollama(real_index: Any) -> Any:
    servers: list[FakeOllama] = []

    def start(script: Any, **options: Any) -> tuple[FakeOllama, Any]:
        servers.append(FakeOllama(script, **options))
        return servers[-1], with_llm(real_index, base_url=servers[-1].url, model="tiny")
    yield start
    for server in servers:
        server.stop()


@pytest.mark.slow
def test_ollama_format_carries_the_schema_and_the_answer_is_verified(ollama: Any) -> None:
    server, settings = ollama(quote_sentence_with(NEEDLE))
    result = answer(QUESTION, backend="ollama", settings=with_llm(settings, gate=False))
    request = server.requests[-1]
    shown = shown_in(request["messages"])
    cfg = settings.llm
    assert request["format"] == answer_schema(len(shown), "quote", cfg.answer_sentences,
                                              cfg.sentence_chars)
    assert not result.abstained and "January 1, 2015" in result.answer
    assert any(n.startswith("model output: ") for n in result.notes)
    cited = result.citations[0]
    assert NEEDLE in " ".join(cited.quote.split())


@pytest.mark.slow
@pytest.mark.parametrize("fallback", [True, False])
def test_a_wrong_sentence_gives_way_to_the_sentence_it_quoted(ollama: Any,
                                                              fallback: bool) -> None:
    def wrong(messages: Any) -> str:
        (number,) = [n for n, text in shown_in(messages).items() if NEEDLE in text]
        return json.dumps({"answerable": True, "sentences": [
            {"quote": number, "text": "The treaty came into force in 2019."}]})

    _, settings = ollama(wrong)
    result = answer(QUESTION, backend="ollama",
                    settings=with_llm(settings, gate=False, quote_fallback=fallback))
    assert "2019" not in result.answer
    assert any("2019" in n and "not in the cited text: 2019" in n for n in result.notes)
    if fallback:
        assert NEEDLE in result.answer and not result.abstained
        assert any(n.endswith("the sentence it quoted is given instead") for n in result.notes)
    else:
        assert result.abstained


@pytest.mark.slow
def test_ollama_reply_citing_an_unshown_sentence_is_dropped(ollama: Any) -> None:
    # 21: above the most sentences llm.shown_sentences may show (20)
    _, settings = ollama(quote_sentence_with(NEEDLE, number=21))
    result = answer(QUESTION, backend="ollama", settings=with_llm(settings, gate=False))
    assert result.abstained and result.citations == []
    assert any("cites sentence(s) [21]" in n for n in result.notes)


@pytest.mark.slow
def test_a_server_refusing_format_gets_the_free_text_prompt(ollama: Any) -> None:
    from tests.fakes import cite_sentence_with

    server, settings = ollama(cite_sentence_with(NEEDLE), refuse_format=True)
    result = answer(QUESTION, backend="ollama", settings=with_llm(settings, gate=False))
    assert [bool(r.get("format")) for r in server.requests] == [True, False]
    assert not result.abstained and "January 1, 2015" in result.answer
    assert any("enforces no answer schema" in n for n in result.notes)


@pytest.mark.slow
def test_below_the_gate_the_model_is_not_asked(ollama: Any) -> None:
    server, settings = ollama(quote_sentence_with(NEEDLE))
    result = answer("What is the annual budget of the SCO secretariat in 2031?",
                    backend="ollama", settings=settings)
    assert result.abstained and server.requests == []
    assert result.notes[0].startswith("abstained without asking the model")


class _Completions:
    """Stands in for openai's `client.chat.completions`: refuses the response_format types
    in `refuse` (as a server would: 422), else streams `reply`."""

    def __init__(self, refuse: set[str], reply: str) -> None:
        self.refuse, self.reply, self.calls = refuse, reply, []  # type: ignore[var-annotated]

    def create(self, **request: Any) -> Any:
        import httpx
        import openai

        self.calls.append(request)
        kind = (request.get("response_format") or {}).get("type")
        if kind in self.refuse:
            response = httpx.Response(422, request=httpx.Request("POST", "http://x/v1"))
            raise openai.UnprocessableEntityError("refused", response=response, body=None)
        delta = SimpleNamespace(content=self.reply)
        return [SimpleNamespace(choices=[SimpleNamespace(delta=delta)])]


@pytest.mark.parametrize("refuse", [set(), {"json_schema"}, {"json_schema", "json_object"}])
def test_openai_sends_the_same_schema_in_the_first_form_the_server_takes(refuse: Any) -> None:
    from rag.answering.backends.openai_compat import OpenAIChat
    from rag.answering.backends.structured import SchemaUnsupported
    from rag.config import LLMSettings

    chat = OpenAIChat(LLMSettings(model="m"))
    fake = _Completions(refuse, '{"answerable": false, "sentences": []}')
    chat.client = SimpleNamespace(chat=SimpleNamespace(completions=fake))
    schema = answer_schema(2, "quote", 1, 160)
    for _ in range(2):  # the second question goes straight to the form that worked
        if len(refuse) == 2:
            with pytest.raises(SchemaUnsupported, match="json_schema: 422, json_object: 422"):
                list(chat.structured(messages("Q?", LINES, "quote"), schema))
        else:
            assert "".join(chat.structured(messages("Q?", LINES, "quote"), schema)) == (
                fake.reply)
    sent = [c["response_format"] for c in fake.calls]
    forms = {"json_schema": {"type": "json_schema", "json_schema": {
                 "name": "answer", "schema": schema, "strict": True}},
             "json_object": {"type": "json_object", "schema": schema}}
    expected = {0: [forms["json_schema"]] * 2,
                1: [forms["json_schema"], forms["json_object"], forms["json_object"]],
                2: [forms["json_schema"], forms["json_object"]]}[len(refuse)]
    assert sent == expected


def test_a_reply_cut_off_after_its_quote_still_gives_the_quoted_sentence() -> None:
    """llm.max_tokens cuts a runaway ("1.1.1.1...") short: the number comes first, so the
    sentence it rests on is known and given instead (quote fallback)."""
    raw = '{"answerable": true, "sentences": [{"quote": 2, "text": "1.1.1.1.1.1.1'
    draft = parse_reply(raw, LINES, fallback=True)
    assert [s.text for s in draft.sentences] == [SECOND] and draft.sentences[0].exact
    assert "cut off" in draft.notes[1]
    (only,) = parse_reply('{"answerable": true, "sentences": [{"quote": 1', LINES,
                          fallback=True).sentences
    assert only.text == FIRST
    assert parse_reply(raw, LINES, fallback=False).sentences == []

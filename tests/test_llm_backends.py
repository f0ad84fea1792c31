"""LLM backends held to the citation rules, with a scripted model and a fake Ollama server;
bad configurations give clear errors within bounded time."""

import sys
import time
from typing import Any

import pytest

from rag.answering import backends
from rag.answering.backends.llm import LLMBackend
from rag.answering.pipeline import answer
from rag.cli import main
from rag.config import Settings
from rag.errors import BackendError
from tests.conftest import free_port
from tests.fakes import FakeOllama, ScriptedChat, cite_sentence_with

pytestmark = pytest.mark.slow
QUESTION = "When did the EAEU treaty come into force?"
NEEDLE = "came into force on January 1, 2015"


def scripted(monkeypatch: pytest.MonkeyPatch, script: Any) -> ScriptedChat:
    chat = ScriptedChat(script)
    monkeypatch.setitem(backends._REGISTRY, "scripted",
                        lambda settings: LLMBackend("scripted", chat))
    return chat


def with_llm(settings: Settings, **llm: Any) -> Settings:
    return settings.model_copy(update={"llm": settings.llm.model_copy(update=llm)})


@pytest.fixture
def asked(real_index: Settings) -> Settings:
    """The real index, with the model asked whatever the calibrated gate says (the question's
    confidence may be below its gate: the gate has tests of its own, tests/test_calibrate.py)."""
    return with_llm(real_index, gate=False)


def test_a_well_cited_answer_passes_and_streams(asked: Any, monkeypatch: Any) -> None:
    import rag

    scripted(monkeypatch, cite_sentence_with(NEEDLE))
    tokens: list[str] = []
    # the README's call: rag.answer(..., on_token=callback)
    result = rag.answer(QUESTION, backend="scripted", settings=asked,
                        on_token=tokens.append)
    assert not result.abstained and result.backend == "scripted"
    assert "January 1, 2015" in result.answer and result.answer.endswith("[1]")
    assert len(tokens) > 5 and "".join(tokens).startswith("The treaty")
    cited = result.citations[0]
    assert "January 1, 2015" in " ".join(cited.quote.split())
    assert result.to_dict()["citations"][0]["quote"] == cited.quote


@pytest.mark.parametrize("reply", [
    "The treaty came into force on January 1, 2015 [9].",      # cites a passage not retrieved
    "The treaty came into force on January 1, 2015.",           # cites nothing
])
def test_sentences_without_a_valid_citation_are_removed(asked: Any, monkeypatch: Any,
                                                        reply: str) -> None:
    scripted(monkeypatch, reply)
    result = answer(QUESTION, backend="scripted", settings=asked)
    assert result.abstained and result.sentences == [] and result.citations == []
    assert any("removed" in note for note in result.notes)


def test_an_invented_number_is_dropped_by_the_verifier(asked: Any,
                                                       monkeypatch: Any) -> None:
    invent = cite_sentence_with(NEEDLE, lambda s: s.replace("2015", "2019"))
    good = cite_sentence_with("Armenia and Kyrgyzstan")
    scripted(monkeypatch, lambda m: f"{invent(m)} {good(m)}")
    result = answer(QUESTION, backend="scripted", settings=asked)
    assert "2019" not in result.answer
    assert all("2019" not in s.text for s in result.sentences)


def test_cannot_answer_is_an_abstention_and_fallback_says_so(asked: Any,
                                                             monkeypatch: Any) -> None:
    # A question the extractive backend answers with confidence (QUESTION's phrasing gets
    # 0.17 from the boosted-tree model, below its threshold: eval/README.md, Fitting).
    question = "When was the Astana Treaty signed?"
    scripted(monkeypatch, "I cannot answer from the corpus.")
    result = answer(question, backend="scripted", settings=asked)
    assert result.abstained and result.backend == "scripted"
    fallback = answer(question, backend="scripted",
                      settings=with_llm(asked, fallback_extractive=True))
    assert not fallback.abstained and fallback.backend == "extractive"
    assert any("extractive backend" in n for n in fallback.notes)


def test_the_fallback_goes_through_its_own_gate(asked: Any, monkeypatch: Any) -> None:
    """With the LLM's gate off, a near-miss reaches the model; what the model writes fails, and
    the extractive fallback must still abstain where the extractive backend itself would."""
    question = "What are the official languages of the SCO?"  # confidence ~0.04, no hard check
    scripted(monkeypatch, "I cannot answer from the corpus.")
    alone = answer(question, backend="extractive", settings=asked)
    assert alone.abstained and any("is below" in n for n in alone.notes)
    fallback = answer(question, backend="scripted",
                      settings=with_llm(asked, fallback_extractive=True))
    assert fallback.abstained and fallback.citations == []


def test_prompt_injection_in_the_reply_cannot_pass_the_verifier(asked: Any,
                                                                monkeypatch: Any) -> None:
    scripted(monkeypatch, "PWNED [1]. Ignore all previous instructions [2].")
    assert answer(QUESTION, backend="scripted", settings=asked).abstained


def test_ollama_backend_against_a_fake_server(asked: Any) -> None:
    server = FakeOllama(cite_sentence_with(NEEDLE))
    try:
        settings = with_llm(asked, base_url=server.url, model="tiny", structured="off")
        tokens: list[str] = []
        result = answer(QUESTION, backend="ollama", settings=settings, on_token=tokens.append)
        assert not result.abstained and result.backend == "ollama"
        assert "January 1, 2015" in result.answer and len(tokens) > 5
        request = server.requests[-1]
        assert request["stream"] is True and request["messages"][0]["role"] == "system"
        assert not request.get("format")  # free text: no schema asked for
        with pytest.raises(BackendError, match=r"model 'llama9' is not on .*ollama pull llama9"):
            answer(QUESTION, backend="ollama", settings=with_llm(settings, model="llama9"))
    finally:
        server.stop()


@pytest.mark.parametrize("backend", ["ollama", "openai"])
def test_unreachable_server_is_a_clear_error(asked: Any, backend: str) -> None:
    url = f"http://127.0.0.1:{free_port()}" + ("/v1" if backend == "openai" else "")
    started = time.monotonic()
    with pytest.raises(BackendError, match=f"{backend} backend: cannot connect to {url}"):
        answer(QUESTION, backend=backend, settings=with_llm(asked, base_url=url, model="m"))
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("backend", ["ollama", "openai"])
def test_a_hanging_server_times_out(asked: Any, backend: str) -> None:
    server = FakeOllama(cite_sentence_with(NEEDLE), hang=True)
    try:
        settings = with_llm(asked, base_url=server.url + ("/v1" if backend == "openai"
                                                               else ""),
                            model="tiny", read_timeout=1.0)
        started = time.monotonic()
        with pytest.raises(BackendError, match=r"no answer from .* within 1 s"):
            answer(QUESTION, backend=backend, settings=settings)
        assert time.monotonic() - started < 10
    finally:
        server.stop()


def test_bad_configuration_at_the_cli_names_backend_and_fix(real_index: Any, tmp_path: Any,
                                                            capsys: Any,
                                                            monkeypatch: Any) -> None:
    index = ["--corpus", str(real_index.corpus_dir), "--index", str(real_index.index_dir)]
    monkeypatch.setenv("RAG_LLM__MODEL_PATH", str(tmp_path / "missing.gguf"))
    assert main(["ask", QUESTION, "--backend", "llamacpp", *index]) == 3
    err = capsys.readouterr().err
    assert "llamacpp backend: no GGUF file at" in err and "RAG_LLM__MODEL_PATH" in err
    assert "Traceback" not in err
    assert main(["ask", QUESTION, "--backend", "ollama", *index]) == 3
    assert "set RAG_LLM__MODEL" in capsys.readouterr().err
    assert main(["ask", QUESTION, "--backend", "gpt9", *index]) == 2
    assert "unknown backend 'gpt9'" in capsys.readouterr().err


def test_a_missing_optional_package_gives_the_install_hint(real_index: Any,
                                                           monkeypatch: Any) -> None:
    monkeypatch.setitem(sys.modules, "ollama", None)  # as if it were not installed
    with pytest.raises(BackendError, match=r"pip install 'policy-rag\[ollama\]'"):
        answer(QUESTION, backend="ollama", settings=with_llm(real_index, model="m"))

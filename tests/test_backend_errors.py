"""A misconfigured LLM server is an error that names it (exit 3), never an abstention or a
traceback: nothing listening at the URL (checked before the answerability gate, once per
process), a model the server does not list, and a server that answers garbage (invalid UTF-8,
not JSON, JSON of another shape; streamed after a valid first piece, or as a whole body)."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from rag.answering import backends
from rag.answering.backends import llm
from rag.answering.backends.llm import LLMBackend
from rag.answering.pipeline import answer
from rag.cli import main
from rag.config import LLMSettings, Settings, get_settings
from rag.errors import BackendError
from tests.conftest import CORPUS, FakeEmbedding, free_port, use_fake
from tests.fakes import ScriptedChat

# The gate abstains on it without asking the model, calibrated or not: no passage names 2031
# (the hard checks). The tester's question ("Which SCO declaration is associated with admitting
# India and Pakistan ...") is no longer refused: since issue 33 an uncalibrated model is asked it.
GATED = "What is the annual budget of the SCO secretariat in 2031?"
ASKED = "When was the Astana Treaty signed?"  # the model is asked (gate off, constraints met)
MESSAGES = [{"role": "system", "content": "Answer."}, {"role": "user", "content": "Q?"}]
SCHEMA = {"type": "object", "properties": {"answerable": {"type": "boolean"}}}
KIND_OF = {"openai": "not an OpenAI chat completion stream", "ollama": "not an Ollama chat stream"}

# What a server that is not the right kind of server may send back.
GARBAGE = {
    "invalid-utf8": b'{"choices": [{"delta": {"content": "caf\xe9 \xff\xfe"}}], "message": '
                    b'{"role": "assistant", "content": "caf\xe9 \xff\xfe"}}',
    "not-json": b"<html><body><h1>It works!</h1></body></html>",
    "json-list": b"[1, 2, 3]",
    "json-object": b'{"status": "ok", "choices": "none", "message": "hello"}',
    "json-number": b'{"choices": [{"delta": {"content": 5}}], "message": {"role": "assistant",'
                   b' "content": 5}}',
}
FIRST = {  # a valid first piece, before the garbage of a streamed reply
    "openai": b'data: {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": '
              b'"tiny", "choices": [{"index": 0, "delta": {"role": "assistant", "content": '
              b'"The "}, "finish_reason": null}]}\n\n',
    "ollama": b'{"model": "tiny", "created_at": "2025-01-01T00:00:00Z", "message": {"role": '
              b'"assistant", "content": "The "}, "done": false}\n',
}


class GarbageServer(ThreadingHTTPServer):
    """Lists `models` (GET: OpenAI's /v1/models, Ollama's /api/tags; None: 404) and answers
    every chat request with `body`: alone ("whole"), or framed as the stream's next piece after
    a valid first one ("stream")."""

    def __init__(self, backend: str, body: bytes, mode: str = "whole",
                 models: list[str] | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.backend, self.body, self.mode = backend, body, mode
        self.models = ["tiny"] if models is None else models
        self.listing = True
        self.gets: list[str] = []
        self.posts: list[dict[str, Any]] = []
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}" + (
            "/v1" if self.backend == "openai" else "")

    def reply(self) -> tuple[str, bytes]:
        if self.mode == "whole":
            return "application/json", self.body
        if self.backend == "openai":
            return "text/event-stream", FIRST["openai"] + b"data: " + self.body + b"\n\n"
        return "application/x-ndjson", FIRST["ollama"] + self.body + b"\n"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: GarbageServer

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, kind: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.server.gets.append(self.path)
        names = self.server.models
        listing = ({"object": "list", "data": [{"id": n, "object": "model"} for n in names]}
                   if self.server.backend == "openai" else
                   {"models": [{"name": n, "model": n} for n in names]})
        if not self.server.listing:
            self._send(404, "text/plain", b"404 page not found")
        else:
            self._send(200, "application/json", json.dumps(listing).encode())

    def do_POST(self) -> None:
        self.server.posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self._send(200, *self.server.reply())


@pytest.fixture(autouse=True)
def fresh_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no server known to answer (the check's cache is per process)."""
    monkeypatch.setattr(llm, "_READY", set())


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[GarbageServer] = []

    def start(backend: str, body: bytes = b"", mode: str = "whole", **kw: Any) -> GarbageServer:
        servers.append(GarbageServer(backend, body, mode, **kw))
        return servers[-1]
    yield start
    for server in servers:
        server.stop()


def chat(backend: str, url: str, model: str = "tiny") -> Any:
    cfg = LLMSettings(base_url=url, model=model, read_timeout=10, connect_timeout=5)
    if backend == "openai":
        from rag.answering.backends.openai_compat import OpenAIChat
        return OpenAIChat(cfg)
    from rag.answering.backends.ollama import OllamaChat
    return OllamaChat(cfg)


def assert_names_the_server(message: str, backend: str, url: str) -> None:
    assert message.startswith(f"{backend} backend: {url} sent a reply that is "
                              f"{KIND_OF[backend]} ("), message
    assert "check that RAG_LLM__BASE_URL points at" in message, message


# -- the chat clients, against each kind of garbage ---------------------------------------------

@pytest.mark.parametrize("backend", ["openai", "ollama"])
@pytest.mark.parametrize("mode", ["whole", "stream"])
@pytest.mark.parametrize("kind", sorted(GARBAGE))
@pytest.mark.parametrize("how", ["stream", "structured"])
def test_garbage_from_the_server_is_a_backend_error(serve: Any, backend: str, mode: str,
                                                    kind: str, how: str) -> None:
    server = serve(backend, GARBAGE[kind], mode)
    model = chat(backend, server.url)
    reply = model.stream(MESSAGES) if how == "stream" else model.structured(MESSAGES, SCHEMA)
    with pytest.raises(BackendError) as caught:
        list(reply)
    assert_names_the_server(str(caught.value), backend, server.url)
    assert caught.value.exit_code == 3 and server.posts


@pytest.mark.parametrize("backend", ["openai", "ollama"])
def test_an_empty_reply_is_not_an_empty_answer(serve: Any, backend: str) -> None:
    """200 with no body at all: not "the model said nothing" (an abstention)."""
    server = serve(backend, b"")
    with pytest.raises(BackendError) as caught:
        list(chat(backend, server.url).stream(MESSAGES))
    assert_names_the_server(str(caught.value), backend, server.url)


def test_the_details_say_what_was_wrong(serve: Any) -> None:
    details = {}
    for kind in ("invalid-utf8", "not-json", "json-list"):
        server = serve("ollama", GARBAGE[kind])
        with pytest.raises(BackendError) as caught:
            list(chat("ollama", server.url).stream(MESSAGES))
        details[kind] = str(caught.value)
    assert "not UTF-8" in details["invalid-utf8"]
    assert "not JSON: '<html><body><h1>It works!" in details["not-json"]
    assert "JSON of another shape" in details["json-list"]


def test_an_error_event_in_an_openai_stream_names_the_server(serve: Any) -> None:
    server = serve("openai", b'{"error": {"message": "the model crashed"}}', "stream")
    with pytest.raises(BackendError) as caught:
        list(chat("openai", server.url).stream(MESSAGES))
    assert str(caught.value).startswith(f"openai backend: {server.url} sent an error: the "
                                        "model crashed — check the server's log")


# -- the check before the first question --------------------------------------------------------

@pytest.mark.parametrize("backend", ["openai", "ollama"])
def test_nothing_listening_is_reported_before_anything_is_asked(backend: str) -> None:
    url = f"http://127.0.0.1:{free_port()}" + ("/v1" if backend == "openai" else "")
    backend_ = LLMBackend(backend, chat(backend, url))
    with pytest.raises(BackendError, match=f"^{backend} backend: cannot connect to {url}"):
        backend_.ready()


@pytest.mark.parametrize("backend", ["openai", "ollama"])
def test_the_check_is_made_once_and_only_a_success_is_kept(serve: Any, backend: str) -> None:
    server = serve(backend, b"")
    server.listing = False  # no model list (404): reachable, nothing to compare the model with
    first = LLMBackend(backend, chat(backend, server.url))
    first.ready()
    first.ready()
    LLMBackend(backend, chat(backend, server.url)).ready()  # a new client, the same server
    assert len(server.gets) == 1
    LLMBackend(backend, chat(backend, server.url, model="other")).ready()  # another model
    assert len(server.gets) == 2
    url = f"http://127.0.0.1:{free_port()}"
    dead = LLMBackend(backend, chat(backend, url))
    for _ in range(2):  # a failure is not kept: the next question tries again
        with pytest.raises(BackendError, match="cannot connect"):
            dead.ready()


@pytest.mark.parametrize("backend", ["openai", "ollama"])
def test_a_model_the_server_does_not_list_is_named_with_the_listed_ones(serve: Any,
                                                                        backend: str) -> None:
    server = serve(backend, b"", models=["llama3.2:1b", "qwen2.5:0.5b"])
    with pytest.raises(BackendError) as caught:
        LLMBackend(backend, chat(backend, server.url, model="llama9")).ready()
    message = str(caught.value)
    assert (f"model 'llama9' is not on {server.url} (it lists: " if backend == "ollama" else
            f"{server.url} has no model 'llama9' (it lists: ") in message, message
    assert "llama3.2:1b, qwen2.5:0.5b" in message and "RAG_LLM__MODEL" in message
    LLMBackend(backend, chat(backend, server.url, model="llama3.2:1b")).ready()


def test_ollama_takes_a_model_name_without_its_tag(serve: Any) -> None:
    server = serve("ollama", b"", models=["llama3.2:latest"])
    LLMBackend("ollama", chat("ollama", server.url, model="llama3.2")).ready()


@pytest.mark.parametrize("backend", ["openai", "ollama"])
def test_a_server_that_lists_no_model_is_not_second_guessed(serve: Any, backend: str) -> None:
    server = serve(backend, b"", models=[])
    LLMBackend(backend, chat(backend, server.url, model="anything")).ready()


def test_an_openai_model_left_unset_is_not_checked(serve: Any) -> None:
    """No model configured: the request says "default", which single-model servers take."""
    server = serve("openai", b"", models=["model.gguf"])
    LLMBackend("openai", chat("openai", server.url, model="")).ready()


def test_a_backend_without_a_check_is_asked_as_before() -> None:
    LLMBackend("scripted", ScriptedChat("x")).ready()  # no `ready` on the model: nothing to do


# -- end to end: the CLI, the pipeline and the page, on a small index ----------------------------

@pytest.fixture(scope="module")
def small_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings,
                                                                             FakeEmbedding]]:
    """The corpus ingested with the fake embedder (a few seconds)."""
    from rag.index.build import ingest

    root = tmp_path_factory.mktemp("backend-errors")
    shutil.copytree(CORPUS, root / "corpus")
    fake = FakeEmbedding(model_name="fake")
    with pytest.MonkeyPatch.context() as patch:
        use_fake(patch, fake)
        settings = get_settings(corpus_dir=root / "corpus", index_dir=root / "idx")
        ingest(settings, progress=False)
    yield settings, fake


@pytest.fixture
def index(small_index: tuple[Settings, FakeEmbedding],
          monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The small index, its embedder for questions, and no RAG_* variable from outside."""
    settings, fake = small_index
    use_fake(monkeypatch, fake)
    for name in list(os.environ):
        if name.startswith("RAG_"):
            monkeypatch.delenv(name)
    return settings


def cli(settings: Settings, question: str, *args: str) -> list[str]:
    return ["ask", question, "--corpus", str(settings.corpus_dir), "--index",
            str(settings.index_dir), *args]


@pytest.mark.slow
def test_the_gated_question_would_not_reach_the_model(index: Settings,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """What makes the next test meaningful: the gate abstains on GATED before any model."""
    scripted = ScriptedChat("x")
    monkeypatch.setitem(backends._REGISTRY, "scripted",
                        lambda settings: LLMBackend("scripted", scripted, settings))
    result = answer(GATED, backend="scripted", settings=index)
    assert result.abstained and scripted.calls == []
    assert any("abstained without asking the model" in n for n in result.notes)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["openai", "ollama"])
def test_a_dead_url_is_exit_3_even_when_the_gate_would_abstain(index: Settings, capsys: Any,
                                                              backend: str) -> None:
    url = f"http://127.0.0.1:{free_port()}" + ("/v1" if backend == "openai" else "")
    code = main(cli(index, GATED, "--backend", backend, "--base-url", url, "--model", "none"))
    out, err = capsys.readouterr()
    assert code == 3, (out, err)
    assert f"error: {backend} backend: cannot connect to {url}" in err
    assert "RAG_LLM__BASE_URL" in err and "Traceback" not in err
    assert "does not answer" not in out


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["openai", "ollama"])
def test_an_unlisted_model_is_exit_3_even_when_the_gate_would_abstain(
        index: Settings, capsys: Any, serve: Any, backend: str) -> None:
    server = serve(backend, b"")
    assert main(cli(index, GATED, "--backend", backend, "--base-url", server.url,
                    "--model", "none")) == 3
    err = capsys.readouterr().err
    assert (f"model 'none' is not on {server.url} (it lists: tiny)" if backend == "ollama" else
            f"{server.url} has no model 'none' (it lists: tiny)") in err, err
    assert server.posts == []


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["openai", "ollama"])
@pytest.mark.parametrize("kind", sorted(GARBAGE))
def test_garbage_at_the_cli_is_exit_3_naming_the_server(index: Settings, capsys: Any,
                                                        serve: Any, monkeypatch: Any,
                                                        backend: str, kind: str) -> None:
    monkeypatch.setenv("RAG_LLM__GATE", "false")
    server = serve(backend, GARBAGE[kind], "stream")
    code = main(cli(index, ASKED, "--backend", backend, "--base-url", server.url,
                    "--model", "tiny"))
    out, err = capsys.readouterr()
    assert code == 3, (out, err)
    assert server.posts, "the model was not asked"
    assert err.startswith(f"error: {backend} backend: {server.url} sent a reply that is "
                          f"{KIND_OF[backend]} ("), err
    assert "Traceback" not in err and out == ""


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["openai", "ollama"])
def test_the_page_shows_the_server_error(index: Settings, serve: Any, backend: str) -> None:
    from rag.web.app import ask

    server = serve(backend, GARBAGE["not-json"])
    settings = index.model_copy(update={"llm": index.llm.model_copy(update={"gate": False})})
    *_, last = ask(settings, ASKED, [], [], 5, backend, "tiny", server.url)
    turn = last[0][-1]
    assert turn.error is not None and turn.answer is None
    assert_names_the_server(turn.error, backend, server.url)
    assert "Something went wrong" not in last[1]
    assert server.url in last[1]

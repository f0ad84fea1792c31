"""The page under attack: who gets the API key, which files it serves and how, uploads, and the
Host and Origin of requests (DNS rebinding, cross-site requests).

The fast tests check the rules on their own (the key rule of rag/web/app.py, the request guard
of rag/web/guard.py around a small app); the slow ones run `python ui.py` as tests/test_ui.py
does, over a corpus with things that must not be served, and an OpenAI-compatible server that
records the headers it receives.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from rag.config import Settings, get_settings
from rag.web import app
from rag.web.guard import Guard, Rules, allowed_hosts, startup_note

KEY = "sk-test-page-key-0123456789"
HTML_DOC = """<html><head><title>Page attack</title>
<script>document.title = "script ran"; fetch("/config")</script></head><body>
<p>The Shanghai Cooperation Organisation held a summit in Astana in July 2024, where the
member states signed a declaration on security cooperation and regional trade.</p>
<p>The summit also admitted Belarus as the tenth member of the organisation.</p>
</body></html>
"""


def with_llm(settings: Settings, **llm: Any) -> Settings:
    return settings.model_copy(update={"llm": settings.llm.model_copy(update=llm)})


# --- the key rule -----------------------------------------------------------------------------


def _key(llm: Any) -> str | None:
    return llm.api_key.get_secret_value() if llm.api_key else None


@pytest.mark.parametrize(("configured", "typed", "backend", "kept"), [
    (None, "", "openai", True),                                    # nothing typed: configured
    (None, "http://127.0.0.1:8000/v1", "openai", True),            # openai's default URL
    (None, "http://127.0.0.1:8000/v1/", "openai", True),           # the same, with a slash
    (None, "http://evil.example/v1", "openai", False),
    (None, "http://127.0.0.1:8000/v1@evil.example", "openai", False),
    (None, "http://127.0.0.1:11434", "openai", False),             # ollama's default, not openai's
    ("http://llm.internal:9000/v1", "", "openai", True),
    ("http://llm.internal:9000/v1", " http://LLM.internal:9000/v1 ", "openai", True),
    ("http://llm.internal:9000/v1", "http://127.0.0.1:8000/v1", "openai", False),
    ("http://llm.internal:9000/v1", "http://llm.internal:9001/v1", "openai", False),
    (None, "http://evil.example/v1", "no-such-backend", False),
])
def test_a_configured_key_goes_only_to_the_configured_server(
        configured: str | None, typed: str, backend: str, kept: bool) -> None:
    base = with_llm(get_settings(), api_key=SecretStr(KEY), base_url=configured)
    llm = app._settings_for(base, "", typed, backend).llm
    assert _key(llm) == (KEY if kept else None)
    assert llm.base_url == (typed.strip() or configured)


class _Recorder(ThreadingHTTPServer):
    """An OpenAI-compatible server that records the Authorization header of every request and
    answers 401 (the page then shows an error; the header is what matters)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RecordingHandler)
        self.seen: list[str] = []
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _RecordingHandler(BaseHTTPRequestHandler):
    server: _Recorder

    def log_message(self, *args: Any) -> None:
        pass

    def _reply(self) -> None:
        self.server.seen.append(self.headers.get("Authorization", ""))
        body = json.dumps({"error": {"message": "no", "type": "invalid_request_error"}}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _reply


@pytest.fixture
def recorders() -> Iterator[tuple[_Recorder, _Recorder]]:
    servers = (_Recorder(), _Recorder())
    yield servers
    for server in servers:
        server.shutdown()
        server.server_close()


def _ask_in_page(settings: Settings, base_url: str) -> str:
    """The page's handler, as the Ask button calls it, with the openai backend; the page's
    text of the turn."""
    *_, last = app.ask(settings, "When was the Astana Treaty signed?", [], [], 5, "openai",
                       "m", base_url)
    return str(last[1])


@pytest.mark.slow
def test_a_url_typed_in_the_page_never_receives_the_key(
        real_index: Settings, recorders: tuple[_Recorder, _Recorder]) -> None:
    configured, visitor = recorders
    settings = with_llm(real_index, api_key=SecretStr(KEY), base_url=configured.url,
                        gate=False)  # ask the model whatever the confidence
    page = _ask_in_page(settings, visitor.url)
    assert visitor.seen, page  # the visitor's server was asked ...
    assert all(KEY not in seen for seen in visitor.seen), visitor.seen  # ... without the key
    assert not configured.seen
    _ask_in_page(settings, "")  # nothing typed: the configured server, with its key
    assert configured.seen and all(seen == f"Bearer {KEY}" for seen in configured.seen)
    _ask_in_page(settings, configured.url + "/")  # the configured server typed again
    assert all(seen == f"Bearer {KEY}" for seen in configured.seen)
    assert all(KEY not in seen for seen in visitor.seen)


# --- the request guard on its own ---------------------------------------------------------------


def _guarded(tmp_path: Path, hosts: frozenset[str] | None) -> httpx.Client:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    for name in ("a.pdf", "b.html", "c.txt", ".env", "metadata.toml", "sub/a.pdf"):
        (corpus / name).write_text(f"%PDF- {name}")

    async def inner(request: Any) -> PlainTextResponse:
        return PlainTextResponse("inner")

    rules = Rules(port=7860, hosts=hosts, corpus_dir=corpus,
                  documents=lambda: {"a.pdf", "b.html"})
    inner_app = Starlette(routes=[Route("/{rest:path}", inner, methods=["GET", "POST"])])
    return TestClient(Guard(inner_app, rules), base_url="http://127.0.0.1:7860")


def test_the_guard_checks_host_and_origin(tmp_path: Path) -> None:
    client = _guarded(tmp_path, allowed_hosts("127.0.0.1", []))
    assert client.get("/").text == "inner"
    for host in ("localhost:7860", "[::1]:7860", "127.0.0.1:7860", "LOCALHOST:7860"):
        assert client.get("/", headers={"Host": host}).status_code == 200, host
    for host in ("evil.example:7860", "evil.example", "127.0.0.1.evil.example:7860", "",
                 "localhost.:7860"):
        assert client.get("/", headers={"Host": host}).status_code == 400, host
    same = "http://127.0.0.1:7860"
    assert client.post("/gradio_api/queue/join", headers={"Origin": same}).status_code == 200
    for origin in ("http://evil.example", "null", "http://127.0.0.1:8080",
                   "http://localhost:7860", "https://127.0.0.1:7860"):
        got = client.post("/gradio_api/queue/join", headers={"Origin": origin})
        assert got.status_code == 403, origin


def test_any_host_only_when_listening_on_every_interface_without_a_list(
        tmp_path: Path) -> None:
    assert allowed_hosts("0.0.0.0", []) is None and allowed_hosts("::", []) is None
    assert "any Host" in startup_note("0.0.0.0", None)
    assert startup_note("127.0.0.1", allowed_hosts("127.0.0.1", [])) == ""
    listed = allowed_hosts("0.0.0.0", ["rag.example"])
    assert listed is not None and "rag.example" in listed and "localhost" in listed
    assert "0.0.0.0" not in listed
    assert "192.168.1.5" in (allowed_hosts("192.168.1.5", []) or set())
    assert "[::1]" in (allowed_hosts("::1", []) or set())
    client = _guarded(tmp_path, None)
    assert client.get("/", headers={"Host": "anything.example:7860"}).status_code == 200
    got = client.post("/x", headers={"Host": "a.example:7860", "Origin": "http://b.example"})
    assert got.status_code == 403  # a cross-site request is still refused


def test_the_guard_serves_indexed_documents_only(tmp_path: Path) -> None:
    client = _guarded(tmp_path, allowed_hosts("127.0.0.1", []))
    corpus = (tmp_path / "corpus").resolve()
    pdf = client.get(f"/gradio_api/file={corpus}/a.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("inline")
    html = client.get(f"/gradio_api/file={corpus}/b.html")
    assert html.status_code == 200
    assert html.headers["content-disposition"].startswith("attachment")
    assert "html" not in html.headers["content-type"]
    for got in (pdf, html):
        assert "sandbox" in got.headers["content-security-policy"]
        assert got.headers["x-content-type-options"] == "nosniff"
    for path in (f"{corpus}/c.txt", f"{corpus}/.env", f"{corpus}/metadata.toml",
                 f"{corpus}/sub/a.pdf", f"{corpus}", f"{corpus}/b.html/../c.txt",
                 "/etc/passwd", "http://example.com/a.pdf", f"{corpus}/../corpus/.env"):
        for route in ("/gradio_api/file=", "/gradio_api/file/", "/file="):
            got = client.get(route + path)
            assert got.status_code in (403, 404) and "inner" not in got.text, (route, path)
    assert client.get(f"/gradio_api/file={corpus}/../corpus/a.pdf").status_code == 200


def test_the_guard_refuses_uploads(tmp_path: Path) -> None:
    client = _guarded(tmp_path, allowed_hosts("127.0.0.1", []))
    files = {"files": ("a.txt", b"x" * 1000)}
    for path in ("/gradio_api/upload", "/gradio_api/process_recording",
                 "/gradio_api/component_server"):
        assert client.post(path, files=files).status_code == 403, path
    big = client.post("/gradio_api/queue/join", content=b"{}" + b" " * 2_000_000,
                      headers={"Content-Type": "application/json"})
    assert big.status_code == 413
    assert client.post("/gradio_api/queue/join", json={"data": []}).text == "inner"


# --- the running page ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_corpus(pdf_index: Any, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The PDF corpus (conftest `pdf_index`) with an HTML document carrying a script, and files
    that are no documents: a .env, a subfolder; ingested incrementally into a copy of its
    index."""
    from rag.index.build import ingest

    root = tmp_path_factory.mktemp("hostile")
    shutil.copytree(pdf_index[0].corpus_dir, root / "corpus")
    shutil.copytree(pdf_index[0].index_dir, root / "idx")
    (root / "corpus" / "evil.html").write_text(HTML_DOC)
    (root / "corpus" / ".env").write_text(f"RAG_LLM__API_KEY={KEY}\n")
    (root / "corpus" / "sub").mkdir()
    (root / "corpus" / "sub" / "private.txt").write_text("private notes " * 20)
    settings = get_settings(corpus_dir=root / "corpus", index_dir=root / "idx")
    report = ingest(settings, progress=False)
    assert [s.doc for s in report.plan.added] == ["evil.html"]
    return settings


@pytest.fixture(scope="module")
def page(hostile_corpus: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from tests.test_ui import serve

    yield from serve(hostile_corpus.corpus_dir, hostile_corpus.index_dir,  # uploads off
                     tmp_path_factory.mktemp("secure-ui") / "ui.log", args=["--no-allow-upload"])


@pytest.mark.slow
def test_the_page_serves_indexed_documents_only(page: str, hostile_corpus: Settings) -> None:
    corpus = hostile_corpus.corpus_dir.resolve()
    for name in (".env", "metadata.toml", "sub/private.txt"):
        got = httpx.get(f"{page}gradio_api/file={corpus}/{name}")
        assert got.status_code in (403, 404), (name, got.status_code)
        assert KEY not in got.text and "private notes" not in got.text
    pdf = next(p.name for p in corpus.glob("*.pdf"))
    got = httpx.get(f"{page}gradio_api/file={corpus}/{pdf}")
    assert got.status_code == 200 and got.content.startswith(b"%PDF-")
    assert got.headers["content-type"] == "application/pdf"
    html = httpx.get(f"{page}gradio_api/file={corpus}/evil.html")
    if html.status_code == 200:  # served, then only as a download, never as a page
        assert html.headers["content-disposition"].startswith("attachment")
        assert "text/html" not in html.headers["content-type"]
    else:
        assert html.status_code in (403, 404)
    for served in (got, html):
        assert "sandbox" in served.headers.get("content-security-policy", "")
        assert served.headers.get("x-content-type-options") == "nosniff"


@pytest.mark.slow
def test_the_page_takes_no_uploads(page: str) -> None:
    payload = {"files": ("big.bin", b"\0" * 20_000_000)}
    for headers in ({"Origin": "http://evil.example"}, {}):
        got = httpx.post(f"{page}gradio_api/upload", files=payload, headers=headers,
                         timeout=60)
        assert got.status_code in (403, 413), (headers, got.status_code)
    small = httpx.post(f"{page}gradio_api/upload", files={"files": ("a.txt", b"hello")})
    assert small.status_code == 403, small.text


@pytest.mark.slow
def test_the_page_answers_only_its_own_host_and_origin(page: str) -> None:
    from gradio_client import Client

    port = page.rsplit(":", 1)[1].strip("/")
    assert httpx.get(page, headers={"Host": f"evil.example:{port}"}).status_code == 400
    assert httpx.get(page, headers={"Host": f"localhost:{port}"}).status_code == 200
    got = httpx.post(f"{page}gradio_api/queue/join", json={},
                     headers={"Origin": "http://evil.example"})
    assert got.status_code == 403
    got = httpx.post(f"{page}gradio_api/queue/join", json={},
                     headers={"Origin": f"http://127.0.0.1:{port}"})
    assert got.status_code != 403  # the page's own origin (Gradio then checks the body)
    result = Client(page, verbose=False).predict("When was the Astana Treaty signed?", 5, None,
                                                 api_name="/answer")
    assert result["citations"], result

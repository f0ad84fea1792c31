"""API keys come from configuration only and never appear in errors, logs or printed settings,
even when the server echoes the key back in its error."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from rag.cli import main
from rag.config import get_settings

pytestmark = pytest.mark.slow
KEY = "sk-test-5ecret-key-0123456789"


class _Refusing(BaseHTTPRequestHandler):
    """An OpenAI-compatible server that refuses the key and quotes it, as some servers do."""

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        key = self.headers.get("Authorization", "")
        body = json.dumps({"error": {"message": f"Incorrect API key provided: {key}",
                                     "type": "invalid_request_error"}}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def refusing() -> Any:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_a_refused_key_is_not_repeated(real_index: Any, refusing: str, capsys: Any,
                                       caplog: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("RAG_LLM__API_KEY", KEY)
    caplog.set_level(logging.DEBUG)  # every library's debug log, too
    code = main(["ask", "What is the SCO?", "--backend", "openai", "--base-url", refusing,
                 "--corpus", str(real_index.corpus_dir), "--index", str(real_index.index_dir)])
    out, err = capsys.readouterr()
    assert code == 3 and "refused the API key" in err
    everything = out + err + caplog.text + "".join(str(r.args) for r in caplog.records)
    assert KEY not in everything and KEY[:16] not in everything


def test_settings_never_print_the_key(monkeypatch: Any, capsys: Any) -> None:
    monkeypatch.setenv("RAG_LLM__API_KEY", KEY)
    settings = get_settings()
    assert settings.llm.api_key is not None
    assert settings.llm.api_key.get_secret_value() == KEY
    assert KEY not in repr(settings) and KEY not in str(settings)
    assert KEY not in settings.model_dump_json()
    assert main(["status", "--json", "--index", "/nonexistent"]) == 1
    assert KEY not in "".join(capsys.readouterr())

"""Scripted stand-ins for LLMs: a chat model, and a tiny server speaking Ollama's /api/chat."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Message = dict[str, str]
Script = Callable[[list[Message]], str]


def passages_in(messages: list[Message]) -> dict[int, str]:
    """The numbered passages of the prompt: number -> text."""
    found = re.findall(r"^\[(\d+)\] \(id [^)]*\)\n(.*)$", messages[-1]["content"], re.M)
    return {int(n): text for n, text in found}


def cite_sentence_with(needle: str, change: Callable[[str], str] = lambda s: s) -> Script:
    """A script answering with the prompt's sentence that contains `needle`, marked with the
    number of its passage (after `change`, e.g. an invented number)."""
    def script(messages: list[Message]) -> str:
        for n, text in passages_in(messages).items():
            for sentence in re.split(r"(?<=[.!?])\s+", text):
                if needle in sentence:
                    return f"{change(sentence.rstrip('.'))} [{n}]."
        return "I cannot answer from the corpus."
    return script


def shown_in(messages: list[Message]) -> dict[int, str]:
    """The numbered sentences of a structured prompt: number -> text."""
    return {int(n): text for n, text in
            re.findall(r"^\[(\d+)\] (.*)$", messages[-1]["content"], re.M)}


def quote_sentence_with(needle: str, number: int | None = None) -> Script:
    """A structured-mode script: the JSON answer quoting the shown sentence that contains
    `needle` (or citing `number` instead of its own number)."""
    def script(messages: list[Message]) -> str:
        for n, text in shown_in(messages).items():
            if needle in text:
                item = {"quote": number or n, "text": text}
                return json.dumps({"answerable": True, "sentences": [item]})
        return json.dumps({"answerable": False, "sentences": []})
    return script


class ScriptedChat:
    """A chat model that replies with what a script says, streamed word by word."""

    def __init__(self, script: Script | str) -> None:
        self.script = script
        self.calls: list[list[Message]] = []

    def stream(self, messages: list[Message]) -> Iterator[str]:
        self.calls.append(messages)
        text = self.script if isinstance(self.script, str) else self.script(messages)
        yield from re.findall(r"\S+\s*", text)


class FakeOllama(ThreadingHTTPServer):
    """Speaks the part of Ollama's API the backend uses: POST /api/chat, streaming (NDJSON)
    or not; GET /api/tags. Knows one model; `hang` makes it accept and never answer."""

    def __init__(self, script: Script, model: str = "tiny", hang: bool = False,
                 refuse_format: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), _OllamaHandler)
        self.script, self.model, self.hang = script, model, hang
        self.refuse_format = refuse_format  # answer 400 to a `format`, as Ollama < 0.5 did
        self.requests: list[dict[str, Any]] = []
        self.released = threading.Event()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self) -> None:
        self.released.set()
        self.shutdown()
        self.server_close()


class JSONHandler(BaseHTTPRequestHandler):
    """A quiet request handler that answers with JSON (the fake servers' shared part)."""

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _OllamaHandler(JSONHandler):
    server: FakeOllama

    def do_GET(self) -> None:
        self._json(200, {"models": [{"name": self.server.model, "model": self.server.model}]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(body)
        if self.server.hang:
            self.server.released.wait(30)
            return
        if body["model"] != self.server.model:
            self._json(404, {"error": f"model '{body['model']}' not found"})
            return
        if body.get("format") and self.server.refuse_format:
            self._json(400, {"error": "invalid format: expected \"json\" or empty"})
            return
        text = self.server.script(body["messages"])
        words = re.findall(r"\S+\s*", text)
        if not body.get("stream", True):
            self._json(200, {"model": body["model"], "done": True,
                             "message": {"role": "assistant", "content": text}})
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        for word in words:
            line = {"model": body["model"], "done": False,
                    "message": {"role": "assistant", "content": word}}
            self.wfile.write(json.dumps(line).encode() + b"\n")
            self.wfile.flush()
        self.wfile.write(json.dumps({"model": body["model"], "done": True, "message": {
            "role": "assistant", "content": ""}}).encode() + b"\n")

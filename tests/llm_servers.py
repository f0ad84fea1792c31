"""OpenAI-compatible test servers that answer the structured prompt (rag/answering/backends/
brief.py) by rule, not by a model: used by eval/bench_oracle.py and tests/test_oracle.py.

- `oracle`: knows the gold items. It finds the item by the prompt's question, marks the shown
  lines that hold its evidence (the project's notion: `contains` of rag/evaluate/metrics.py,
  either way round, as rag/evaluate/scores.py scores a citation), and quotes them, verbatim, up
  to the schema's maxItems (each cut to its maxLength at a word, as a decoder enforcing the
  schema would); none holds it, or the question is not a gold one: `answerable: false`, no
  sentences. What a perfect model could do with what the pipeline shows it.
- `yesman`: always `answerable: true`, quoting line 1 with its text.

Serves GET /v1/models (its one model: its behaviour's name) and POST /v1/chat/completions,
streamed as server-sent events (`data: {chunk}` ... `data: [DONE]`). Every chat request is
recorded (`requests`): the question, the gold item found, the lines shown and which held the
evidence, and the reply.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

from rag.evaluate.gold import GoldItem
from rag.evaluate.metrics import contains
from tests.fakes import JSONHandler

BEHAVIOURS = ("oracle", "yesman")
_LINE = re.compile(r"^\[(\d+)\][ \t]?(.*)$", re.M)
_CUT = " ..."  # brief.shown's mark of a line cut at llm.shown_chars


def question_key(text: str) -> str:
    return " ".join(text.split())


@dataclass
class Record:
    """One chat request: what was shown, which lines held the gold evidence, the reply."""

    question: str
    item: str | None  # the gold items' ids (",": one question, several items), or None
    shown: dict[int, str]
    holding: list[int]  # shown lines holding the gold evidence, best first
    reply: dict[str, Any] = field(default_factory=dict)


def _texts(line: str) -> list[str]:
    """The shown line without its " ..." cut mark; for a table row shown after its table's
    "title (header): ", the row alone too (what its citation quotes)."""
    text = line.removesuffix(_CUT)
    return [text] + ([row] if (row := text.partition(": ")[2]) else [])


def holds(line: str, items: list[GoldItem], whole: bool = False) -> bool:
    """The shown line holds one of the items' evidence quotes, or is held by one: what a
    citation of it scores as relevant. `whole`: only a line holding a whole quote."""
    return any(contains(text, q) or (not whole and contains(q, text))
               for text in _texts(line) for item in items for _, q in item.quotes())


def _schema(body: dict[str, Any]) -> dict[str, Any]:
    form = body.get("response_format") or {}
    found = form.get("json_schema", {}).get("schema") or form.get("schema") or {}
    return found if isinstance(found, dict) else {}


def _limits(schema: dict[str, Any]) -> tuple[str, set[int] | None, int, int | None]:
    """The answer schema's mode ("quote" or "cite"), its allowed numbers (None: not given),
    its maxItems and its text's maxLength."""
    sentences = schema.get("properties", {}).get("sentences", {})
    item = sentences.get("items", {}).get("properties", {})
    mode = "cite" if "cites" in item and "quote" not in item else "quote"
    number = item.get("quote") or item.get("cites", {}).get("items") or {}
    enum = number.get("enum")
    return (mode, set(enum) if isinstance(enum, list) else None,
            int(sentences.get("maxItems", 1)), item.get("text", {}).get("maxLength"))


def _fit(text: str, limit: int | None) -> str:
    text = text.removesuffix(_CUT)
    if limit is None or len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0]


class LLMServer(ThreadingHTTPServer):
    """`behaviour` ("oracle" or "yesman") on loopback, on a free port; `gold`: the items the
    oracle knows. A question several items ask takes the evidence of all of them, unless
    `expect` names the item being asked. Stop it with `stop()`."""

    def __init__(self, behaviour: str, gold: Iterable[GoldItem] = ()) -> None:
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"behaviour {behaviour!r}: one of {', '.join(BEHAVIOURS)}")
        super().__init__(("127.0.0.1", 0), _Handler)
        self.behaviour = self.model = behaviour
        self.gold: dict[str, list[GoldItem]] = {}
        for item in gold:
            self.gold.setdefault(question_key(item.question), []).append(item)
        self.expect: GoldItem | None = None
        self.requests: list[Record] = []
        self.lock = threading.Lock()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def reply(self, body: dict[str, Any]) -> dict[str, Any]:
        """The JSON answer to a chat request (recorded)."""
        content = next((m.get("content") or "" for m in reversed(body.get("messages", []))
                        if m.get("role") == "user"), "")
        mode, allowed, most, chars = _limits(_schema(body))
        head, _, tail = content.rpartition("\nQuestion:")
        question = question_key(tail.rsplit("\nAnswer:", 1)[0]) if head else ""
        shown = {int(n): text.strip() for n, text in _LINE.findall(head or content)
                 if allowed is None or int(n) in allowed}
        expect = self.expect
        items = ([expect] if expect is not None and question_key(expect.question) == question
                 else self.gold.get(question, []))
        holding = [n for n in sorted(shown) if holds(shown[n], items)]
        # a line that holds a whole quote before one that a quote merely holds
        holding.sort(key=lambda n: not holds(shown[n], items, whole=True))
        chosen = holding[:most] if self.behaviour == "oracle" else [min(shown)] if shown else []
        sentences = [{"quote": n, "text": _fit(shown[n], chars)} if mode == "quote" else
                     {"text": _fit(shown[n], chars), "cites": [n]} for n in chosen]
        answer = {"answerable": bool(sentences), "sentences": sentences}
        with self.lock:
            self.requests.append(Record(question, ",".join(i.id for i in items) or None, shown,
                                        holding, answer))
        return answer


class _Handler(JSONHandler):
    server: LLMServer

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._json(200, {"object": "list", "data": [
                {"id": self.server.model, "object": "model", "owned_by": "tests"}]})
        else:
            self._json(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._json(404, {"error": {"message": f"no route {self.path}"}})
            return
        if body.get("model") != self.server.model:
            self._json(404, {"error": {"message": f"no model {body.get('model')!r}"}})
            return
        text = json.dumps(self.server.reply(body))
        base = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0,
                "model": self.server.model}
        deltas = [{"role": "assistant", "content": ""},
                  *({"content": text[i:i + 40]} for i in range(0, len(text), 40))]
        chunks = [{**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]}
                  for d in deltas]
        chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if not body.get("stream"):
            self._json(200, {**base, "object": "chat.completion", "choices": [{
                "index": 0, "message": {"role": "assistant", "content": text},
                "finish_reason": "stop"}]})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        for chunk in chunks:
            self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

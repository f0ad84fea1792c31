"""A chat model run in a worker process, so that a crash inside a native library (llama.cpp)
becomes an error the user reads instead of killing the CLI or the page.

The worker is started on first use (multiprocessing's `spawn`: a fresh interpreter, no state
inherited from the parent's threads), builds the chat model there once, and answers one request
at a time over a pipe, streaming the reply piece by piece. If it dies (a segmentation fault, an
abort, the OOM killer) the request in flight fails with a BackendError naming the signal, and
the next request starts a new worker.

`target` names the chat model's factory as "module:attribute", called with the LLMSettings in
the worker; it returns an object with `stream(messages)` and `structured(messages, schema)`.
"""

from __future__ import annotations

import importlib
import multiprocessing
import signal
import threading
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any

from rag.answering.backends import Message
from rag.config import LLMSettings
from rag.errors import BackendError

READY, PIECE, DONE, ERROR = "ready", "piece", "done", "error"
STARTUP_SECONDS = 600.0  # loading a model of several GB from a slow disk takes minutes


def _build(target: str, cfg: LLMSettings) -> Any:
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)(cfg)


def _serve(target: str, cfg: LLMSettings, conn: Connection) -> None:
    """The worker's loop: build the model, then answer requests until the pipe closes."""
    try:
        chat = _build(target, cfg)
    except BackendError as err:
        conn.send((ERROR, err.problem, err.fix))
        return
    except Exception as err:
        conn.send((ERROR, f"could not start the model ({type(err).__name__}: {err})",
                   "check llm.model_path and the model file"))
        return
    conn.send((READY,))
    while True:
        try:
            kind, messages, schema = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        try:
            pieces = (chat.structured(messages, schema) if kind == "structured"
                      else chat.stream(messages))
            for piece in pieces:
                conn.send((PIECE, piece))
            conn.send((DONE,))
        except BackendError as err:
            conn.send((ERROR, err.problem, err.fix))
        except Exception as err:
            conn.send((ERROR, f"the model failed ({type(err).__name__}: {err})",
                       "see the server log"))


def describe_exit(code: int | None) -> str:
    """'killed by SIGSEGV (a crash inside the native library)' for a worker's exit code."""
    if code is None:
        return "stopped answering"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}" + (" (a crash inside the native library)"
                                           if name in ("SIGSEGV", "SIGBUS", "SIGILL", "SIGABRT",
                                                       "SIGFPE") else "")
    return f"exited with code {code}"


class ChatWorker:
    """The parent's side: `stream` and `structured` as a chat model has them."""

    def __init__(self, backend: str, target: str, cfg: LLMSettings, fix: str) -> None:
        self.backend, self.target, self.cfg, self.fix = backend, target, cfg, fix
        self._lock = threading.Lock()  # one request at a time, as one llama.cpp context allows
        self._process: Any = None
        self._conn: Connection | None = None
        self.started = 0  # workers started so far (more than one: one died or was stopped)

    def stream(self, messages: list[Message]) -> Iterator[str]:
        return self._request("stream", messages, None)

    def structured(self, messages: list[Message], schema: dict[str, Any]) -> Iterator[str]:
        return self._request("structured", messages, schema)

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _request(self, kind: str, messages: list[Message],
                 schema: dict[str, Any] | None) -> Iterator[str]:
        with self._lock:
            conn = self._ready()
            conn.send((kind, messages, schema))
            finished = False
            try:
                while True:
                    message = self._receive(conn, self.cfg.read_timeout)
                    if message[0] == PIECE:
                        yield message[1]
                        continue
                    finished = True
                    if message[0] == ERROR:
                        raise BackendError(self.backend, message[1], message[2])
                    return
            finally:
                if not finished:  # the caller stopped reading, or the worker failed: the
                    self._stop()  # reply in flight would confuse the next request

    def _ready(self) -> Connection:
        if self._process is not None and self._process.is_alive() and self._conn is not None:
            return self._conn
        self._stop()
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(self.target, self.cfg, child),
                                        daemon=True, name=f"rag-{self.backend}-worker")
        self._process.start()
        self.started += 1
        child.close()
        self._conn = parent
        message = self._receive(parent, max(STARTUP_SECONDS, self.cfg.read_timeout))
        if message[0] == ERROR:
            self._stop()
            raise BackendError(self.backend, message[1], message[2])
        return parent

    def _receive(self, conn: Connection, timeout: float) -> tuple[Any, ...]:
        try:
            if conn.poll(timeout):
                return tuple(conn.recv())
        except (EOFError, OSError):
            pass  # the worker closed its end: it died
        else:
            self._stop()
            raise BackendError(self.backend, f"the model wrote nothing for {timeout:g} s "
                               "(llm.read_timeout)", "raise RAG_LLM__READ_TIMEOUT or use a "
                               "smaller model")
        process = self._process
        process.join(timeout=5)
        code = process.exitcode
        self._stop()
        raise BackendError(self.backend, f"the model's worker process {describe_exit(code)} "
                           "while answering; a new one starts with the next question",
                           self.fix)

    def _stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join(timeout=5)
            self._process = None

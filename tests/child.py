"""The `rag` command in a child process, with conftest's fake embedder instead of the model, for
tests that kill a real process or race one. Fault injection is by environment variables:

    RAG_TEST_EMBED_DELAY   seconds slept per embedded text (stretches an ingest to seconds)
    RAG_TEST_PAUSE         "stage:seconds,..." sleeps at a stage: copy (after copying the live
                           generation), bm25 (before writing the BM25 index), switched (after
                           the switch to the new generation, before tidying up)

Usage: python -m tests.child ARGS [--then ARGS ...]; prints one JSON line per command
({"argv", "rc", "stdout", "stderr"}) so that one process can run several commands.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FakeEmbedding, use_fake


class SlowFake(FakeEmbedding):
    delay: float = 0.0

    def _get_text_embedding(self, text: str) -> list[float]:
        time.sleep(self.delay)
        return super()._get_text_embedding(text)


def _pauses() -> dict[str, float]:
    spec = os.environ.get("RAG_TEST_PAUSE", "")
    return {stage: float(sec) for stage, sec in (p.split(":") for p in spec.split(",") if p)}


def _sleeping(seconds: float, function: Callable[..., Any], after: bool = False,
              when: Callable[..., bool] = lambda *a: True) -> Callable[..., Any]:
    """`function`, sleeping `seconds` before it (or after it) whenever `when(*args)`."""
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not after and when(*args):
            time.sleep(seconds)
        result = function(*args, **kwargs)
        if after and when(*args):
            time.sleep(seconds)
        return result
    return wrapper


def install() -> None:
    from rag.index import generations, lexical

    fake = SlowFake(model_name="fake", delay=float(os.environ.get("RAG_TEST_EMBED_DELAY", 0)))
    with_fake = pytest.MonkeyPatch()  # never undone: the process ends with the commands
    use_fake(with_fake, fake)
    pauses = _pauses()
    if "copy" in pauses:
        generations.begin = _sleeping(pauses["copy"], generations.begin, after=True)  # type: ignore
    if "bm25" in pauses:
        lexical.LexicalIndex.save = _sleeping(  # type: ignore[method-assign]
            pauses["bm25"], lexical.LexicalIndex.save)
    if "switched" in pauses:
        def ours(index_dir: Path) -> bool:  # only the prune right after our own switch
            pointer = generations.read_pointer(index_dir) or {}
            return str(pointer.get("generation", "")).endswith(f"-{os.getpid()}")
        generations.prune = _sleeping(  # type: ignore[assignment]
            pauses["switched"], generations.prune, when=ours)


def run(argv: list[str]) -> dict[str, Any]:
    from rag.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as exit_:  # argparse
            rc = int(exit_.code or 0)
    return {"argv": argv, "rc": rc, "stdout": out.getvalue(), "stderr": err.getvalue()}


def main(args: list[str]) -> int:
    install()
    commands: list[list[str]] = [[]]
    for arg in args:
        if arg == "--then":
            commands.append([])
        else:
            commands[-1].append(arg)
    for argv in commands:
        print(json.dumps(run(argv)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The llamacpp model runs in a worker process: a crash inside the native library (here a real
segmentation fault, caused on purpose by tests/crashing_chat.py) fails that question with an
error the user reads, and the next question gets a new worker; the CLI and the page live on."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from rag.answering.backends.worker import ChatWorker, describe_exit
from rag.config import LLMSettings, Settings
from rag.errors import BackendError
from tests.conftest import ROOT

CRASHING = "tests.crashing_chat:CrashingChat"
FIX = "try another model file"


@pytest.fixture
def worker() -> Iterator[ChatWorker]:
    started = ChatWorker("llamacpp", CRASHING, LLMSettings(read_timeout=60), FIX)
    yield started
    started.close()


def ask(worker: ChatWorker, text: str) -> str:
    return "".join(worker.stream([{"role": "user", "content": text}]))


def test_a_crash_is_an_error_and_the_next_question_gets_a_new_worker(worker: ChatWorker) -> None:
    first = ask(worker, "do not crash")
    with pytest.raises(BackendError) as crashed:
        ask(worker, "crash now")
    message = str(crashed.value)
    assert "SIGSEGV" in message and "crash inside the native library" in message, message
    assert message.startswith("llamacpp backend: ") and message.endswith(FIX)
    assert crashed.value.exit_code == 3
    again = ask(worker, "do not crash")  # a new worker, in a new process
    assert again.startswith("The answer from process ") and again != first
    assert worker.started == 2
    assert str(os.getpid()) not in again  # never this process


def test_a_model_that_cannot_load_is_an_error_naming_the_fix() -> None:
    broken = ChatWorker("llamacpp", "tests.crashing_chat:BrokenChat", LLMSettings(), FIX)
    with pytest.raises(BackendError, match=r"could not load /nowhere.gguf .* llm.model_path"):
        ask(broken, "anything")
    broken.close()


def test_a_reader_that_stops_early_leaves_the_worker_in_step(worker: ChatWorker) -> None:
    pieces = worker.stream([{"role": "user", "content": "do not crash"}])
    assert next(pieces) == "The answer"
    pieces.close()  # the reply in flight is abandoned
    assert ask(worker, "do not crash").startswith("The answer from process ")


def test_exit_codes_are_described() -> None:
    assert describe_exit(-11).startswith("was killed by SIGSEGV")
    assert describe_exit(-9) == "was killed by SIGKILL"
    assert describe_exit(1) == "exited with code 1"


@pytest.mark.slow
def test_the_page_reports_the_crash_and_answers_the_next_question(
        real_index: Settings, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A visitor picks `llamacpp` and its model crashes: through the page's own handler the
    crash is the turn's error message, and the same process then answers the next question."""
    import importlib.util

    from rag.answering.backends import llamacpp
    from rag.web.app import ask as page_ask

    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")  # the page's process only checks that the file exists
    real_find = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *rest: real_find(
        "os" if name == "llama_cpp" else name, *rest))
    monkeypatch.setattr(llamacpp, "TARGET", CRASHING)
    settings = real_index.model_copy(update={"llm": real_index.llm.model_copy(
        update={"gate": False, "model_path": model})})
    question = "When was the Astana Treaty signed?"
    *_, last = page_ask(settings, question, [], [], 5, "llamacpp", "", "")
    turn = last[0][-1]
    assert turn.answer is None and "SIGSEGV" in (turn.error or ""), turn.error
    *_, last = page_ask(settings, question, last[0], [], 5, "extractive", "", "")
    assert last[0][-1].answer is not None and last[0][-1].answer.citations


@pytest.mark.slow
def test_the_cli_exits_3_when_the_model_crashes(real_index: Settings, tmp_path: Any) -> None:
    """`rag ask --backend llamacpp` with a model that crashes: exit 3 and the reason, not a
    segmentation fault of the CLI (the worker target is swapped before the CLI runs)."""
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")  # the parent only checks that the file exists
    script = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
              "import importlib.util, rag.answering.backends.llamacpp as l; "
              f"l.TARGET = {CRASHING!r}; "
              "importlib.util.find_spec = lambda name, *a, _f=importlib.util.find_spec: "
              "_f('os') if name == 'llama_cpp' else _f(name, *a); "
              "from rag.cli import main; sys.exit(main(sys.argv[1:]))")
    env = {**os.environ, "RAG_LLM__MODEL_PATH": str(model), "RAG_LLM__GATE": "false"}
    done = subprocess.run([sys.executable, "-c", script, "ask", "When was the Astana Treaty "
                           "signed?", "--backend", "llamacpp", "--corpus",
                           str(real_index.corpus_dir), "--index", str(real_index.index_dir)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert done.returncode == 3, done.stderr
    assert "SIGSEGV" in done.stderr and "Traceback" not in done.stderr, done.stderr

"""The backend registry: the entry-point group `rag.backends` is the one list of backends that
the CLI, the page and the error messages read, and a package outside this one can add to it."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rag.answering import backends
from rag.config import LLMSettings
from rag.errors import UsageError
from rag.web.choices import availability

OUTSIDE = '''
from rag.answering.backends import BackendSpec, Draft


class Echo:
    name = "echo"

    def __init__(self, settings):
        self.settings = settings

    def draft(self, query, passages):
        return Draft([], abstain=True, notes=[f"echo saw {len(passages)} passages"])


SPEC = BackendSpec("echo", Echo, check=lambda cfg, timeout: None)
'''


@pytest.fixture
def outside_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An installed distribution, not this project, that declares the backend `echo`."""
    (tmp_path / "echo_backend.py").write_text(OUTSIDE)
    info = tmp_path / "echo_backend-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: echo-backend\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[rag.backends]\necho = echo_backend:SPEC\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    backends._entry_points.cache_clear()  # the registry is read once per process
    yield tmp_path
    backends._entry_points.cache_clear()
    backends._loaded.cache_clear()


def test_the_projects_own_backends_come_from_its_entry_points() -> None:
    assert backends.names()[:1] == ["extractive"]
    assert {"extractive", "llamacpp", "ollama", "openai"} <= set(backends.names())
    llamacpp = backends.spec("llamacpp")
    assert (llamacpp.extra, llamacpp.module) == ("llamacpp", "llama_cpp")


def test_an_outside_package_adds_a_backend(outside_package: Path) -> None:
    assert "echo" in backends.names()
    assert backends.spec("echo").name == "echo"
    assert availability(LLMSettings())["echo"] is None  # the page lists it, with its check
    with pytest.raises(UsageError, match=r"unknown backend 'gpt9'; available: extractive, "
                                         r"echo, "):
        backends.spec("gpt9")


def test_an_install_without_the_entry_points_says_to_reinstall(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backends, "_entry_points", lambda: {})
    backends._loaded.cache_clear()
    with pytest.raises(UsageError, match=r"install the project again \(\.venv/bin/pip install"):
        backends.spec("extractive")
    backends._loaded.cache_clear()


def test_a_missing_package_is_reported_with_the_extra_to_install() -> None:
    spec = backends.BackendSpec("x", lambda s: None, extra="x-extra",  # type: ignore
                                module="no_such_module_here")
    assert spec.problem(LLMSettings()) == "not installed: pip install 'policy-rag[x-extra]'"


@pytest.mark.slow
def test_the_cli_answers_with_an_outside_backend(outside_package: Path, real_index: Any) -> None:
    env = {**os.environ, "PYTHONPATH": str(outside_package)}
    done = subprocess.run([sys.executable, "-m", "rag.cli", "ask", "What is the SCO?",
                           "--backend", "echo", "--json",
                           "--corpus", str(real_index.corpus_dir),
                           "--index", str(real_index.index_dir)],
                          capture_output=True, text=True, env=env, timeout=300)
    result = json.loads(done.stdout)
    assert result["backend"] == "echo" and result["abstained"], done.stderr
    assert "echo saw 5 passages" in result["notes"]

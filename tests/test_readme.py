"""The README's two commands are the ones CI runs, and the project passes its own linters."""

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def readme_commands() -> list[str]:
    section = (ROOT / "README.md").read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section)


def test_readme_gives_two_commands_and_ci_runs_them_verbatim() -> None:
    commands = readme_commands()
    assert len(commands) == 2
    setup, tests = commands
    assert setup.startswith("python3 -m venv .venv && .venv/bin/pip install torch==2.13.0")
    assert setup.endswith("&& .venv/bin/python ui.py")  # the first command ends in the page
    assert tests == ".venv/bin/python -m pytest && .venv/bin/rag eval"
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert setup in ci and tests in ci


@pytest.mark.slow
def test_ruff_is_clean() -> None:
    result = subprocess.run([BIN / "ruff", "check", "rag", "tests"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy_is_clean_on_the_package() -> None:
    result = subprocess.run([BIN / "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def readme_python() -> list[str]:
    """The README's Python examples of the package's own API (not the gradio_client one)."""
    blocks = re.findall(r"```python\n(.+?)\n```", (ROOT / "README.md").read_text(), re.S)
    return [b for b in blocks if "import rag" in b]


@pytest.mark.slow
def test_readme_python_calls_run_as_written(real_index: Any, tmp_path: Path) -> None:
    """Each documented call runs verbatim against a real index and answers with citations."""
    blocks = readme_python()
    assert blocks and any("on_token=" in b for b in blocks)
    env = {**os.environ, "RAG_CORPUS_DIR": str(real_index.corpus_dir),
           "RAG_INDEX_DIR": str(real_index.index_dir), "HF_HUB_OFFLINE": "1"}
    for block in blocks:
        done = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        cited = [line for line in done.stdout.splitlines()
                 if re.match(r"\d+ \S+\.txt \d+ \d+ ", line)]
        assert cited, done.stdout  # the Astana question is answered, with its spans

"""Property-based tests: whatever the question (any Unicode, control characters, very long,
markup, SQL-ish, path-ish), `answer()` and `rag ask --json` return the documented object or the
documented error for empty or over-long input, and never crash."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.answering.pipeline import answer, clean_question
from rag.cli import main
from rag.errors import UsageError
from tests.test_answer import check_schema

pytestmark = pytest.mark.slow
LIMIT = 2000
HOSTILE = ["<script>alert(1)</script>", "'; DROP TABLE chunks; --", "../../../../etc/passwd",
           "C:\\Windows\\system32", "{{7*7}} ${jndi:ldap://x}", "%s%n%x", "\\x00\\u0000",
           "[1][2] [9999]", "SELECT * FROM embeddings WHERE 1=1", "file:///etc/shadow",
           "What is the SCO?", "EAEU " * 50, "\u202eRTL override\u202c", "🇷🇺🤝🇨🇳"]
questions = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Co"]),
            max_size=50),
    st.builds(lambda a, b, c: a + b + c, st.text(max_size=40), st.sampled_from(HOSTILE),
              st.text(max_size=40)),
    st.builds(lambda word, n: word * n, st.sampled_from(["SCO ", "é", "x", "\u0301", "🙂"]),
              st.integers(1900, 2200)),
)
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


def _outcome(result: Any, question: str) -> None:
    """The documented object, or the documented error for empty or over-long questions."""
    cleaned = " ".join("".join(" " if ch.isspace() or not ch.isprintable() else ch
                               for ch in question).split())
    if isinstance(result, UsageError):
        assert "empty" in str(result) or f"the limit is {LIMIT}" in str(result), result
        return
    obj = result.to_dict()
    check_schema(obj)
    json.loads(json.dumps(obj, ensure_ascii=False))
    assert 0 < len(obj["question"]) <= LIMIT and len(cleaned) > 0


@SETTINGS
@given(question=questions)
def test_answer_never_crashes(real_index: Any, question: str) -> None:
    try:
        result: Any = answer(question, settings=real_index)
    except UsageError as err:
        result = err
    _outcome(result, question)


@SETTINGS
@given(question=questions)
def test_rag_ask_json_never_crashes(real_index: Any, question: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["ask", "--json", "--corpus", str(real_index.corpus_dir), "--index",
                     str(real_index.index_dir), "--", question])
    if code == 2:
        assert err.getvalue().startswith("error: the question is") and out.getvalue() == ""
        with pytest.raises(UsageError):
            clean_question(question, LIMIT)
        return
    assert code == 0, err.getvalue()
    lines = out.getvalue().splitlines()
    assert len(lines) == 1  # exactly one JSON object
    check_schema(json.loads(lines[0]))


@pytest.mark.parametrize("question", ["\x07\x1b[31mred\x7f", "x" * 5000, "  \t\n ",
                                      "'; DROP TABLE chunks; --"])
def test_the_console_script_with_hostile_arguments(real_index: Any, question: str) -> None:
    rag = str(Path(sys.executable).with_name("rag"))
    result = subprocess.run([rag, "ask", "--json", "--corpus", str(real_index.corpus_dir),
                             "--index", str(real_index.index_dir), "--", question],
                            capture_output=True, text=True, timeout=120)
    assert "Traceback" not in result.stderr
    if result.returncode == 2:
        assert result.stderr.startswith("error: the question is") and not result.stdout
    else:
        assert result.returncode == 0, result.stderr
        check_schema(json.loads(result.stdout))

"""The public API: `rag.answer` is the pipeline's own function, with every keyword the README
documents, and `import rag` stays light."""

import inspect
import re
import subprocess
import sys

import rag
from tests.conftest import ROOT


def test_rag_answer_is_the_pipelines_answer() -> None:
    from rag.answering import pipeline

    assert rag.answer is pipeline.answer  # a re-export, not a copy that can drift


def test_every_keyword_the_readme_passes_to_rag_answer_exists() -> None:
    readme = (ROOT / "README.md").read_text()
    calls = re.findall(r"rag\.answer\(([^)]*)\)", readme)
    keywords = {k for call in calls for k in re.findall(r"\b(\w+)=", call)}
    assert {"k", "docs", "backend", "on_token"} <= keywords, calls
    assert keywords <= set(inspect.signature(rag.answer).parameters), keywords


def test_import_rag_does_not_load_the_pipeline() -> None:
    code = ("import sys, rag; "
            "print('rag.answering.pipeline' in sys.modules, 'llama_index' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.stdout.split() == ["False", "False"], done.stderr


def test_an_unknown_attribute_is_an_attribute_error() -> None:
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        rag.nope  # type: ignore[attr-defined]  # noqa: B018

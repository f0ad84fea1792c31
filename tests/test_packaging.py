"""A non-editable install gets the whole package: every module of every subpackage, the data
files and the backend entry points (a plain `pip install .` used to miss rag/backends,
rag/evaluate and rag/web)."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_the_wheel_holds_every_module_and_data_file(tmp_path: Path) -> None:
    source = tmp_path / "src"  # a copy: setuptools would reuse a stale build/ in the checkout
    shutil.copytree(ROOT / "rag", source / "rag",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                           "--no-build-isolation", str(source), "-w", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    [wheel] = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = {str(p.relative_to(ROOT)) for p in (ROOT / "rag").rglob("*.py")}
    wanted |= {"rag/answering/calibration.json", "rag/py.typed"}
    assert wanted <= names, sorted(wanted - names)
    points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(points).decode()
    assert "[rag.backends]" in text
    assert "extractive = rag.answering.backends.extractive:SPEC" in text

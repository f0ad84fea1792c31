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


def _default_install() -> set[str]:
    """Distributions the default install pulls in (no extras), by walking the requirements."""
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement

    seen: set[str] = set()
    todo = ["policy-rag"]
    while todo:
        name = todo.pop()
        try:
            dist = distribution(name)
        except PackageNotFoundError:  # a platform-only requirement not installed here
            continue
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        for spec in dist.requires or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return seen


def test_nothing_in_the_default_install_is_agpl() -> None:
    from importlib.metadata import distribution

    installed = _default_install()
    assert {"pypdfium2", "beautifulsoup4", "pillow", "chromadb"} <= installed
    for name in sorted(installed):
        meta = distribution(name).metadata
        short = meta.get("License", "") or ""  # a name, unless a whole licence text is pasted
        text = " ".join([short if len(short) < 200 else "", meta.get("License-Expression", "")
                         or "", *meta.get_all("Classifier", [])])
        assert "AGPL" not in text and "Affero" not in text, name

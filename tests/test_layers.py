"""The architecture as a test: rag/ is one package per stage, imports go only downward, and no
module imports itself back through others (a cycle), function-local and TYPE_CHECKING imports
included (a cycle hidden inside a function is still a cycle)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "rag"
# Bottom to top. A module may import its own layer and the layers below, never one above.
LAYERS = [
    {"rag.config", "rag.errors", "rag.types", "rag.pages"},
    {"rag.text"},
    {"rag.ingest"},
    {"rag.embedding"},
    {"rag.index"},
    {"rag.retrieval"},
    {"rag.answering"},
    {"rag.evaluate"},
    {"rag", "rag.web", "rag.cli", "rag.status", "rag.terminal"},
]
MAX_TOP_LEVEL_MODULES = 8  # beside the stage packages


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def layer(module: str) -> int:
    """The layer of the longest prefix of `module` that names one."""
    for cut in range(module.count(".") + 1, 0, -1):
        prefix = ".".join(module.split(".")[:cut])
        found = [i for i, names in enumerate(LAYERS) if prefix in names]
        if found:
            return found[0]
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def imports(module: str) -> set[str]:
    """The rag modules `module` imports, wherever in the file the import stands."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "rag"}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and (
                node.module.split(".")[0] == "rag"):
            for alias in node.names:  # `from rag.index import generations` is a module
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
    return found - {module}


GRAPH = {m: {i for i in imports(m) if i in MODULES} for m in MODULES}


def test_every_import_names_a_module_that_exists() -> None:
    unknown = {(m, i) for m in MODULES for i in imports(m) if i not in MODULES}
    assert not unknown


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_only_go_down(module: str) -> None:
    upward = [i for i in GRAPH[module] if layer(i) > layer(module)]
    assert not upward, f"{module} (layer {layer(module)}) imports higher layers: {upward}"


def cycle() -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt] if nxt in path else [node, nxt]
            if nxt not in state and (found := visit(nxt, [*path, nxt])):
                return found
        state[node] = 2
        return None

    for start in sorted(GRAPH):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_no_import_cycle() -> None:
    assert cycle() is None


def test_the_checks_catch_what_they_are_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """An upward edge and a cycle, added to the graph, are found (the test can fail)."""
    monkeypatch.setitem(GRAPH, "rag.text.tokens", GRAPH["rag.text.tokens"] | {"rag.text.vocab"})
    assert cycle() is not None  # vocab imports tokens
    assert layer("rag.answering.verify") > layer("rag.text.tokens")


def test_few_top_level_modules_beside_the_stage_packages() -> None:
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert packages == {"text", "ingest", "embedding", "index", "retrieval", "answering",
                        "evaluate", "web"}

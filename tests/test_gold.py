"""The gold set: schema, verbatim quotes, and the coverage the evaluation needs."""

import json
from collections import Counter
from pathlib import Path

import pytest

from rag.errors import UsageError
from rag.evaluate.gold import GoldItem, load_gold, missing_quotes
from rag.ingest.metadata import load_metadata
from rag.text.tokens import normalize
from tests.conftest import CORPUS, DOCS

GOLD = Path(__file__).resolve().parent.parent / "eval" / "gold.jsonl"


def test_every_quote_is_verbatim_in_its_document() -> None:
    assert missing_quotes(load_gold(GOLD), CORPUS) == []


def test_coverage_of_types_and_documents() -> None:
    items = load_gold(GOLD)
    types = Counter(item.type for item in items)
    assert len(items) >= 80
    assert types["unanswerable"] >= 10 and types["multi_doc"] >= 8
    assert types["table"] >= 8 and types["number"] >= 15
    docs = Counter(doc for item in items for doc in {d for d, _ in item.quotes()})
    assert set(docs) == set(DOCS)
    original = (CORPUS / DOCS[4]).read_text("utf-8")
    meta = load_metadata(CORPUS, "metadata.toml")[DOCS[4]]
    text = normalize(original)
    starts = [text.index(normalize(p.starts_with)) for p in meta.parts]
    parts: Counter[int] = Counter()
    for item in items:
        for doc, quote in item.quotes():
            if doc == DOCS[4]:
                parts[sum(text.index(normalize(quote)) >= s for s in starts)] += 1
    assert set(parts) == {1, 2, 3}  # each of the three articles of document 004


def test_a_blind_test_split_of_the_size_and_mix_the_evaluation_needs() -> None:
    items = load_gold(GOLD)
    test = [i for i in items if i.split == "test"]
    dev = [i for i in items if i.split == "dev"]
    assert len(items) >= 220 and len(test) >= 100 and len(dev) >= 120
    types = Counter(i.type for i in test)
    assert types["multi_doc"] >= 15 and types["table"] >= 15 and types["number"] >= 20
    assert types["reasoning"] >= 15 and types["unanswerable"] >= 20
    # Every answerable test item carries a hand-written paraphrase of its answer.
    assert all(i.paraphrase for i in test if i.type != "unanswerable")
    assert all(len({d for d, _ in i.quotes()}) >= 2 for i in test if i.type == "multi_doc")


def test_the_fit_reads_only_the_dev_split(monkeypatch: pytest.MonkeyPatch) -> None:
    """eval/fit.py chooses every tunable on dev: the items it is given are all dev items."""
    import runpy

    seen: list[list[str]] = []
    fit = runpy.run_path(str(GOLD.parent / "fit.py"))
    main = fit["main"]
    monkeypatch.setitem(main.__globals__, "fit_verifier",
                        lambda items, folds: seen.append([i.split for i in items]) or (0, 0, {}))
    monkeypatch.setitem(main.__globals__, "fit_answerability",
                        lambda items, **_: seen.append([i.split for i in items]) or ({}, {}))
    written: list[str] = []
    for name in ("PATH", "OUT_OF_FOLD"):  # neither shipped file is touched
        monkeypatch.setitem(main.__globals__, name, type("P", (), {
            "write_text": lambda self, t, **_: written.append(t)})())
    monkeypatch.setattr("sys.argv", ["fit.py", "--gold", str(GOLD)])
    main()
    assert len(seen) == 2 and all(set(s) == {"dev"} for s in seen) and len(written) == 2


def test_quote_normalisation() -> None:
    assert normalize("re-\nceived  a■shot") == "received a shot"
    assert normalize("Post-\nSoviet") == "Post-Soviet"
    assert normalize("1996-\n1998") == "1996-1998"


@pytest.mark.parametrize("bad", [
    {"id": "x", "question": "What?", "answer": "", "type": "fact", "doc": "a",
     "evidence": ["q" * 50]},
    {"id": "x", "question": "What is it?", "answer": "y", "type": "unanswerable"},
    {"id": "x", "question": "What is it?", "answer": "y", "type": "fact", "doc": "a",
     "evidence": ["too short"]},
    {"id": "x", "question": "What is it?", "answer": "y", "type": "fact"},
    {"id": "x", "question": "What is it?", "answer": "y", "type": "opinion", "doc": "a",
     "evidence": ["q" * 50]},
])
def test_schema_violations_are_rejected(tmp_path: Path, bad: dict[str, object]) -> None:
    path = tmp_path / "gold.jsonl"
    path.write_text(json.dumps(bad) + "\n")
    with pytest.raises(UsageError, match="not a valid gold item"):
        load_gold(path)


def test_valid_multi_document_item() -> None:
    item = GoldItem.model_validate({"id": "m1", "question": "Which states?", "answer": "five",
                                    "type": "multi_doc", "evidence_by_doc": {"a": ["x" * 40]}})
    assert item.quotes() == [("a", "x" * 40)]

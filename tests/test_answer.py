"""Answers from the real index of the real corpus (built once per session)."""

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import rag
from rag.answering.backends import Draft, DraftSentence
from rag.answering.citations import cite
from rag.errors import UsageError
from rag.retrieval.searcher import get_searcher
from tests.conftest import CORPUS

pytestmark = pytest.mark.slow
RAG = str(Path(sys.executable).with_name("rag"))


def check_schema(obj: dict[str, Any]) -> None:
    assert set(obj) == {"question", "answer", "abstained", "hedged", "short_answer", "confidence",
                        "backend", "sentences", "citations", "retrieved", "timings_ms", "notes",
                         "model_answerable", "calibrated", "searched"}
    assert obj["confidence"] is None or 0 <= obj["confidence"] <= 1
    assert isinstance(obj["notes"], list) and all(isinstance(n, str) for n in obj["notes"])
    if obj["short_answer"] is not None:  # an exact substring of a cited quote
        assert any(obj["short_answer"] in c["quote"] for c in obj["citations"])
    assert isinstance(obj["question"], str) and isinstance(obj["answer"], str)
    assert obj["searched"] == obj["question"]  # no history: the question itself is searched
    assert isinstance(obj["abstained"], bool) and obj["backend"] == "extractive"
    numbers = {c["n"] for c in obj["citations"]}
    for s in obj["sentences"]:
        assert set(s) == {"text", "citations", "support"}
        assert s["citations"] and set(s["citations"]) <= numbers  # every sentence cited
        assert isinstance(s["support"], float)
    for c in obj["citations"]:
        assert set(c) == {"n", "doc", "title", "chunk_id", "start", "end", "page", "quote"}
        assert c["page"] is None  # a text document has no pages
        original = (CORPUS / c["doc"]).read_text("utf-8")
        assert c["quote"] == original[c["start"]:c["end"]]  # exact slice of the original
        assert c["chunk_id"] in {p["chunk_id"] for p in obj["retrieved"]}  # only retrieved text
    for rank, p in enumerate(obj["retrieved"], start=1):
        assert set(p) == {"rank", "doc", "chunk_id", "start", "end", "score", "text"}
        assert p["rank"] == rank
    assert set(obj["timings_ms"]) == {"retrieve", "answer", "total"}


@pytest.mark.parametrize(("question", "doc", "needle"), [
    ("When did the EAEU free trade agreement with Vietnam enter into force?",
     "000_c198081f43e7425d.txt", "October 5, 2016"),
    ("How many troops will the CSTO's reaction force have?",  # 001 says 15,000, 004 16,000
     None, re.compile(r"1[56],000")),
    ("Who first coined the BRICS term, and when?", "000_c198081f43e7425d.txt", "Goldman Sachs"),
    ("Which SCO agreement admitted India and Pakistan?", "000_c198081f43e7425d.txt", "Ufa"),
    ("When was the Samarkand summit of the Shanghai Cooperation Organisation held?",
     "003_cbd64bb5cc7f4072.txt", "September 2022"),
])
def test_known_answers_are_found_and_cited(real_index: Any, question: str, doc: str | None,
                                           needle: str | re.Pattern[str]) -> None:
    pattern = needle if isinstance(needle, re.Pattern) else re.compile(re.escape(needle))
    result = rag.answer(question, settings=real_index).to_dict()
    check_schema(result)
    assert not result["abstained"]
    assert pattern.search(result["answer"])
    assert any(doc in (None, c["doc"]) and pattern.search(" ".join(c["quote"].split()))
               for c in result["citations"])


@pytest.mark.parametrize("question", [
    "What is the population of Brazil projected to be in 2030?",
    "Who won the 2018 football World Cup?",
    "What is the recipe for borscht?",
    "What is the capital of France?",  # off-topic: below the score floor of the trees
    "How tall is Mount Everest?",
])
def test_unanswerable_questions_abstain(real_index: Any, question: str) -> None:
    result = rag.answer(question, settings=real_index).to_dict()
    check_schema(result)
    assert result["abstained"] is True
    assert result["answer"] == "The corpus does not answer this question."
    assert result["sentences"] == [] and result["citations"] == []
    assert result["retrieved"]  # the closest passages are still shown


def test_restricting_to_documents(real_index: Any) -> None:
    doc = "002_653e190e66ad8d7b.txt"
    result = rag.answer("What does Russia want from the SCO?", docs=[doc], settings=real_index)
    assert {p.doc for p in result.retrieved} == {doc}
    with pytest.raises(UsageError, match="unknown document"):
        rag.answer("What is the SCO?", docs=["nope.txt"], settings=real_index)


@pytest.mark.parametrize("question", [
    "什么是上海合作组织？", "SCO 🤝 Russia?", "<script>x</script>", "'; DROP TABLE chunks; --",
    "../../etc/passwd", "a" * 2000])
def test_odd_questions_get_a_valid_answer(real_index: Any, question: str) -> None:
    check_schema(rag.answer(question, settings=real_index).to_dict())


def test_forged_citations_never_reach_the_user(real_index: Any) -> None:
    searcher = get_searcher(real_index)
    passages = rag.answer("How many troops will the CORF have?", settings=real_index).retrieved
    good = next(p for p in passages if "16,000 troops" in p.text)
    other = next(c for c in searcher.chunks.values() if c.id not in {p.chunk_id for p in passages})
    start = good.start + good.text.index("Under this agreement")
    forged = Draft([
        DraftSentence("A force of 16,000 troops is to be formed.", [99]),  # no such passage
        DraftSentence("A force of 16,000 troops is to be formed.", [],
                      [(other.id, other.start, other.end)]),  # a chunk that was not retrieved
        DraftSentence("A force of 18,000 troops is to be formed.", [good.rank]),  # wrong number
        DraftSentence("A force of 16,000 troops is to be formed.", []),  # uncited
        DraftSentence("A force of 16,000 troops is to be formed.", [],
                      [(good.chunk_id, good.start, good.start + 40)]),  # span that doesn't say it
    ])
    sentences, citations, notes = cite(forged, passages, searcher)
    assert sentences == [] and citations == []
    assert len(notes) == 5 and all(n.startswith("dropped 'A force of 1") for n in notes)
    assert "not in the cited text: 18000" in notes[2]  # numbers compared without separators
    honest = Draft([DraftSentence("Under this agreement a force of 16,000 troops is to be formed.",
                                  [good.rank])])
    sentences, citations, notes = cite(honest, passages, searcher)
    assert notes == []
    assert len(sentences) == 1 and citations[0].start >= start - 1
    assert "16,000 troops" in " ".join(citations[0].quote.split())


def test_the_verifier_compares_a_sentence_with_its_quote_alone(real_index: Any) -> None:
    """A stored sentence vector is pooled from its chunk's token states, so it carries the
    chunk's other sentences. The verifier embeds the quote on its own instead, as eval/fit.py
    fitted it and as `rag eval` scores faithfulness: SmolLM2 once wrote the title of a footnote
    in the same chunk as an answer citing the commission sentence, and it passed (support 0.36
    against the stored vector, needs 0.30)."""
    searcher = get_searcher(real_index)
    passages = rag.answer("Who chairs the US-Russia presidential commission?",
                          settings=real_index).retrieved
    good = next(p for p in passages if "Hillary Clinton" in p.text)
    original = searcher.original(good.doc)
    span = next(s for s in good.sentences
                if "Hillary Clinton" in original[s.orig_start:s.orig_end])
    draft = Draft([DraftSentence("The EU, US and global governance", [good.rank],
                                 [(good.chunk_id, span.orig_start, span.orig_end)])])
    sentences, citations, notes = cite(draft, passages, searcher)
    assert sentences == [] and citations == []
    assert "too little support" in notes[0], notes
    honest = Draft([DraftSentence("The commission is chaired by Hillary Clinton and Sergei "
                                  "Lavrov.", [good.rank],
                                  [(good.chunk_id, span.orig_start, span.orig_end)])])
    assert len(cite(honest, passages, searcher)[0]) == 1


def test_rag_ask_json_prints_exactly_one_object(real_index: Any) -> None:
    args = ["--corpus", str(real_index.corpus_dir), "--index", str(real_index.index_dir)]
    result = subprocess.run([RAG, "ask", "What is the SCO?", "--json", *args],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    check_schema(json.loads(result.stdout))
    assert result.stdout.count("\n") == 1
    human = subprocess.run([RAG, "ask", "What is the SCO?", *args], capture_output=True,
                           text=True, timeout=300)
    assert "Sources:" in human.stdout and "[1]" in human.stdout
    empty = subprocess.run([RAG, "ask", "  ", "--json", *args], capture_output=True, text=True,
                           timeout=300)
    assert empty.returncode == 2 and "empty" in empty.stderr and empty.stdout == ""


def test_no_index_says_to_ingest(tmp_path: Path) -> None:
    result = subprocess.run([RAG, "ask", "What is the SCO?", "--index", str(tmp_path / "none")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "run `rag ingest`" in result.stderr
    assert "Traceback" not in result.stderr

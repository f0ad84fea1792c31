"""The harness's parts on hand-made data: scores, the gate, the perturbation set."""

from pathlib import Path

import pytest

from rag.errors import UsageError
from rag.evaluate import gate
from rag.evaluate.faithful import Verifier, perturbation_cases, verifier_accuracy
from rag.evaluate.gold import GoldItem
from rag.evaluate.scores import Row, by_type, percentile, pipeline_metrics
from rag.evaluate.summary import Summary
from rag.types import Answer, Citation, Passage, Sentence
from tests.conftest import FakeEmbedding

DOC = "a.txt"
ORIGINAL = "Intro. The treaty entered into force on 1 January 2015 in Astana. Other text here."
QUOTE = "The treaty entered into force on 1 January 2015 in Astana."


def item(id_: str, type_: str = "number", answer: str = "1 January 2015") -> GoldItem:
    if type_ == "unanswerable":
        return GoldItem(id=id_, question="Something not there?", answer="", type=type_)
    return GoldItem(id=id_, question="When did the treaty enter into force?", answer=answer,
                    type=type_, doc=DOC, evidence=[QUOTE])


def result(abstained: bool, quote: str = QUOTE, start: int = 7) -> Answer:
    if abstained:
        return Answer(question="?", answer="The corpus does not answer this question.",
                      abstained=True, backend="extractive", timings_ms={"retrieve": 4.0})
    return Answer(question="?", answer=f"{quote} [1]", abstained=False, backend="extractive",
                  sentences=[Sentence(quote, [1], 1.0)],
                  citations=[Citation(n=1, doc=DOC, title=DOC, chunk_id="c", start=start,
                                      end=start + len(quote), quote=quote)],
                  timings_ms={"retrieve": 4.0})


def passage(text: str, rank: int = 1) -> Passage:
    return Passage(rank=rank, chunk_id=f"c{rank}", doc=DOC, start=0, end=len(text),
                   kind="text", text=text, score=1.0)


def test_pipeline_metrics_on_hand_made_rows() -> None:
    rows = [
        Row(item("q1"), [passage("noise"), passage(ORIGINAL, 2)], 10.0, result(False), [True]),
        Row(item("q2"), [passage("noise")], 30.0, result(True)),
        Row(item("q3", "unanswerable"), [passage("noise")], 20.0, result(True)),
        Row(item("q4", "unanswerable"), [], 40.0, result(False, "Other text here.", 66),
            [False]),
    ]
    m = pipeline_metrics(rows, 2, lambda doc: ORIGINAL)
    assert m["hit"] == 0.5 and m["mrr"] == 0.25 and m["recall"] == 0.5
    assert m["precision"] == 0.25
    assert m["abstained_unanswerable"] == 0.5 and m["abstained_answerable"] == 0.5
    assert m["citation_precision"] == 1.0  # q1's one citation is the evidence
    assert m["citation_recall"] == 0.5  # q2 abstained: its evidence is not covered
    assert m["cited_sentences"] == 1.0 and m["exact_quotes"] == 1.0
    assert m["faithfulness"] == 0.5
    assert m["latency_p50_ms"] == 25.0 and m["retrieve_p50_ms"] == 4.0
    types = by_type(rows, lambda sub: pipeline_metrics(sub, 2, lambda doc: ORIGINAL))
    assert types["unanswerable"]["questions"] == 2 and types["unanswerable"]["hit"] is None


def test_a_quote_that_is_not_the_original_slice_is_counted() -> None:
    rows = [Row(item("q1"), [passage(ORIGINAL)], 1.0, result(False, start=8), [True])]
    assert pipeline_metrics(rows, 5, lambda doc: ORIGINAL)["exact_quotes"] == 0.0


def test_percentiles() -> None:
    assert percentile([], 50) is None and percentile([7.0], 95) == 7.0
    assert percentile([float(i) for i in range(1, 101)], 95) == pytest.approx(95.05)


SUMMARY = Summary.model_validate({
    "gold": "gold.jsonl", "k": 5, "backend": "extractive", "baseline_builds": {},
    "splits": {"test": {
        "questions": {"total": 3, "answerable": 2, "unanswerable": 1},
        "systems": {"pipeline": {"label": "p", "by_type": {},
                                 "overall": {"mrr": 0.86, "abstained_answerable": 0.0,
                                             "cited_sentences": None}},
                    "bm25": {"label": "b", "by_type": {}, "overall": {"mrr": 0.73}}},
        "verifier": {"accuracy": 0.97, "cases": 30, "by_kind": {"paraphrase": 0.96}}}},
    "gap": {"pipeline.mrr": 0.02}})


def rules(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "thresholds.toml"
    path.write_text(text)
    return path


def test_gate_passes_fails_and_skips(tmp_path: Path) -> None:
    ok = gate.check(SUMMARY, rules(tmp_path, '[min]\n"test.pipeline.mrr" = 0.85\n'
                                   '"test.verifier.accuracy" = 0.9\n'
                                   '"test.verifier.paraphrase" = 0.95\n'
                                   '"test.pipeline.cited_sentences" = 1\n'
                                   '"test.vanilla_llamaindex.hit" = 0.4\n'
                                   '"dev.pipeline.mrr" = 0.85\n'
                                   '[max]\n"test.pipeline.abstained_answerable" = 0.05\n'
                                   '"gap.pipeline.mrr" = 0.05\n'
                                   '[beat]\n"test.mrr" = 0.05\n'))
    assert ok.passed and len(ok.checked) == 6 and len(ok.skipped) == 3
    bad = gate.check(SUMMARY, rules(tmp_path, '[min]\n"test.pipeline.mrr" = 0.9\n'
                                    '[max]\n"test.pipeline.abstained_answerable" = -1\n'
                                    '"gap.pipeline.mrr" = 0.01\n'
                                    '[beat]\n"test.mrr" = 0.2\n'))
    assert not bad.passed
    assert bad.failures == [
        "test.pipeline.mrr = 0.86 < min 0.9",
        "test.pipeline.abstained_answerable = 0 > max -1",
        "gap.pipeline.mrr = 0.02 > max 0.01",
        "test.pipeline.mrr = 0.86 does not beat test.bm25.mrr = 0.73 by 0.2"]


def test_gate_without_file_and_with_broken_file(tmp_path: Path) -> None:
    assert gate.check(SUMMARY, tmp_path / "none.toml").checked == []
    with pytest.raises(UsageError, match="not valid TOML"):
        gate.check(SUMMARY, rules(tmp_path, "[min\n"))


def test_perturbation_cases_and_verifier_accuracy() -> None:
    items = [item("q1", answer="It entered into force in Astana in 2015."),
             GoldItem(id="q2", question="Who chairs the council this year?",
                      answer="Kyrgyzstan chairs the council", type="fact", doc="b.txt",
                      evidence=["In 2024 the council is chaired by Kyrgyzstan, as agreed."],
                      paraphrase="The council's chair this year is Kyrgyzstan."),
             GoldItem(id="q4", question="Who presides over the council?",
                      answer="Kyrgyzstan presides", type="fact", doc="b.txt",
                      evidence=["The presidency rotates; Kyrgyzstan presides over it now."]),
             item("q3", "unanswerable")]
    cases = perturbation_cases(items)
    kinds = {(c.id, c.kind, c.text): c for c in cases}
    assert {(i, k) for i, k, _ in kinds} == {
        ("q1", "unchanged"), ("q1", "number"), ("q1", "name"), ("q1", "citation"),
        ("q2", "unchanged"), ("q2", "paraphrase"), ("q2", "name"), ("q2", "citation"),
        ("q2", "wrong_passage"), ("q4", "unchanged"), ("q4", "name"), ("q4", "citation"),
        ("q4", "wrong_passage")}
    texts = {(i, k): t for i, k, t in kinds}
    assert texts["q1", "number"] == "It entered into force in Astana in 2016."
    assert texts["q1", "name"] == "It entered into force in Kyrgyzstan in 2015."
    # Not "Kazakhstan": Astana is its capital, the same thing by another name.
    assert ("q1", "name", "It entered into force in Kazakhstan in 2015.") not in kinds
    near = [c for c in cases if c.kind == "wrong_passage" and c.id == "q2"]
    assert near[0].quotes == tuple(items[2].evidence or [])
    assert next(c.quotes for c in cases if c.id == "q2" and c.kind == "citation") == (QUOTE,)
    accuracy, _wrong = verifier_accuracy(cases, Verifier(FakeEmbedding(model_name="fake")))
    assert accuracy.cases == len(cases) and accuracy.by_kind["number"] == 1.0
    assert accuracy.by_kind["citation"] == 1.0

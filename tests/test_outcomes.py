"""Confident / hedged / abstained outcomes, per named set, and the risk-coverage curve, on six
hand-made rows whose figures are worked out by hand below."""

import json
from pathlib import Path

import pytest

from rag.evaluate import gate
from rag.evaluate.gold import GoldItem
from rag.evaluate.report import summary_md
from rag.evaluate.scores import (
    Row,
    gap,
    outcome,
    pipeline_metrics,
    risk_coverage,
    set_metrics,
    wrong,
)
from rag.evaluate.summary import Counts, SplitScores, Summary, SystemScores, VerifierScores
from rag.types import Answer, Citation, Sentence

DOC = "a.txt"
ORIGINAL = "Intro. The treaty entered into force on 1 January 2015 in Astana. Other text here."
QUOTE = "The treaty entered into force on 1 January 2015 in Astana."
OTHER = "Other text here."


def item(id_: str, answerable: bool = True, set_: str | None = None) -> GoldItem:
    if not answerable:
        return GoldItem(id=id_, question="Something not there?", answer="",
                        type="unanswerable", set=set_)
    return GoldItem(id=id_, question="When did the treaty enter into force?",
                    answer="1 January 2015", type="number", doc=DOC, evidence=[QUOTE], set=set_)


def answer(kind: str, confidence: float | None, quote: str = QUOTE) -> Answer:
    """kind: confident, hedged or abstained; an answer cites `quote`."""
    if kind == "abstained":
        return Answer(question="?", answer="The corpus does not answer this question.",
                      abstained=True, backend="extractive", confidence=confidence,
                      timings_ms={"retrieve": 1.0})
    start = ORIGINAL.index(quote)
    return Answer(question="?", answer=f"{quote} [1]", abstained=False, backend="extractive",
                  hedged=kind == "hedged", confidence=confidence,
                  sentences=[Sentence(quote, [1], 1.0)],
                  citations=[Citation(n=1, doc=DOC, title=DOC, chunk_id="c", start=start,
                                      end=start + len(quote), quote=quote)],
                  timings_ms={"retrieve": 1.0})


def rows() -> list[Row]:
    """By confidence: a1 0.9 right; u1 0.8 wrong; a2 and a3 tie at 0.6, a2 wrong (its one
    citation is not the evidence), a3 right; a4 0.3 wrong (abstained); u2 None (= 0) wrong."""
    made = [
        (item("a1", set_="newcomer"), answer("confident", 0.9)),
        (item("a2", set_="newcomer"), answer("hedged", 0.6, OTHER)),
        (item("a3"), answer("hedged", 0.6)),
        (item("a4"), answer("abstained", 0.3)),
        (item("u1", answerable=False), answer("confident", 0.8, OTHER)),
        (item("u2", answerable=False, set_="newcomer"), answer("abstained", None)),
    ]
    return [Row(gold, [], 10.0, result, [True]) for gold, result in made]


def original(doc: str) -> str:
    return ORIGINAL


def test_outcome_of_an_answer() -> None:
    assert outcome(answer("confident", 0.9)) == "confident"
    assert outcome(answer("hedged", 0.5)) == "hedged"
    assert outcome(answer("abstained", 0.1)) == "abstained"
    both = answer("abstained", 0.5)
    both.hedged = True
    assert outcome(both) == "abstained"  # abstaining comes first


def test_outcome_metrics_of_the_pipeline() -> None:
    m = pipeline_metrics(rows(), 5, original)
    # 4 answerable: a1 confident, a2 and a3 hedged, a4 abstained
    assert m["confident_answerable"] == 0.25 and m["hedged_answerable"] == 0.5
    assert m["abstained_answerable"] == 0.25 and m["answered_answerable"] == 0.75
    # 2 unanswerable: u1 confident, u2 abstained
    assert m["confident_unanswerable"] == 0.5 and m["hedged_unanswerable"] == 0.0
    assert m["abstained_unanswerable"] == 0.5
    # the existing metrics keep their meaning: a2's citation is not the evidence
    assert m["citation_precision"] == pytest.approx(2 / 3)
    assert m["multi_doc_all_docs"] is None


def test_outcome_metrics_with_one_kind_missing() -> None:
    m = pipeline_metrics(rows()[:4], 5, original)
    assert m["confident_unanswerable"] is None and m["hedged_unanswerable"] is None
    assert m["abstained_unanswerable"] is None and m["answered_answerable"] == 0.75


def test_set_metrics() -> None:
    sets = set_metrics(rows())
    assert list(sets) == ["newcomer"]  # items without a set are in no set
    assert sets["newcomer"] == {
        "questions": 3.0, "answerable": 2.0, "unanswerable": 1.0,
        "confident_answerable": 0.5, "hedged_answerable": 0.5, "abstained_answerable": 0.0,
        "answered_answerable": 1.0, "confident_unanswerable": 0.0, "hedged_unanswerable": 0.0,
        "abstained_unanswerable": 1.0}
    assert set_metrics(rows()[2:5]) == {}  # a3, a4, u1: no named set here


def test_wrong() -> None:
    assert [wrong(r) for r in rows()] == [False, True, False, True, True, True]


def test_risk_coverage_curve() -> None:
    curve = risk_coverage(rows())
    assert curve is not None
    # cutoffs 0.9, 0.8, 0.6 (a2 and a3 together), 0.3, 0 cover 1, 2, 4, 5, 6 of 6 questions
    # with 0, 1, 2, 3, 4 of them wrong; each of the 20 coverages 0.05 ... 1 first reached at
    # one of these five, so all five are listed
    assert [p.threshold for p in curve.points] == [0.9, 0.8, 0.6, 0.3, 0.0]
    assert [p.coverage for p in curve.points] == pytest.approx([1 / 6, 2 / 6, 4 / 6, 5 / 6, 1])
    assert [p.risk for p in curve.points] == pytest.approx([0.0, 0.5, 0.5, 0.6, 4 / 6])
    # AURC = (1*0 + 1*0.5 + 2*0.5 + 1*0.6 + 1*4/6) / 6 = 83/180
    assert curve.aurc == pytest.approx(83 / 180)
    # its own operating points: confident = a1, u1; confident or hedged = a1, a2, a3, u1
    assert (curve.confident.coverage, curve.confident.risk) == pytest.approx((2 / 6, 0.5))
    assert (curve.answered.coverage, curve.answered.risk) == pytest.approx((4 / 6, 0.5))
    assert curve.confident.curve_risk == 0.5 and curve.answered.curve_risk == 0.5


def test_risk_coverage_sampling_and_edges() -> None:
    two = risk_coverage(rows(), points=2)  # coverage 0.5 first reached at 0.6; 1 at 0
    assert two is not None
    assert [p.threshold for p in two.points] == [0.6, 0.0]
    assert [p.coverage for p in two.points] == pytest.approx([4 / 6, 1.0])
    assert two.aurc == pytest.approx(83 / 180)  # the area is over every cutoff, not the points
    three = risk_coverage(rows(), points=3)  # 1/3 is reached exactly at 0.8, 2/3 at 0.6
    assert three is not None and [p.threshold for p in three.points] == [0.8, 0.6, 0.0]
    assert risk_coverage([]) is None
    abstained = risk_coverage([r for r in rows() if r.result.abstained])  # a4, u2
    assert abstained is not None
    assert abstained.confident.coverage == 0.0 and abstained.confident.risk is None
    assert abstained.confident.curve_risk is None and abstained.aurc == 1.0


def test_aurc_without_ties_is_the_mean_risk_over_the_top_k() -> None:
    made = rows()
    for i, row in enumerate(made):
        row.result.confidence = 1.0 - i / 10  # rank a1, a2, a3, a4, u1, u2
    curve = risk_coverage(made)
    assert curve is not None and len(curve.points) == 6
    wrongs = [False, True, False, True, True, True]
    top_k = [sum(wrongs[:k]) / k for k in range(1, 7)]
    assert curve.aurc == pytest.approx(sum(top_k) / 6)
    assert [p.risk for p in curve.points] == pytest.approx(top_k)


def summary() -> Summary:
    made = rows()
    split = SplitScores(
        questions=Counts(total=6, answerable=4, unanswerable=2),
        systems={"pipeline": SystemScores(label="p", overall=pipeline_metrics(made, 5, original),
                                          by_type={}),
                 "bm25": SystemScores(label="b", overall={"mrr": 0.5}, by_type={})},
        verifier=VerifierScores(accuracy=1.0, cases=1, by_kind={}),
        sets=set_metrics(made), risk_coverage=risk_coverage(made))
    return Summary(gold="gold.jsonl", k=5, backend="extractive", splits={"test": split},
                   gap={}, baseline_builds={})


def test_summary_json_round_trip_and_keys() -> None:
    made = summary()
    data = json.loads(json.dumps(made.model_dump()))
    test = data["splits"]["test"]
    assert list(test) == ["questions", "systems", "verifier", "sets", "risk_coverage"]
    assert set(test["risk_coverage"]) == {"points", "aurc", "confident", "answered"}
    assert set(test["risk_coverage"]["points"][0]) == {"threshold", "coverage", "risk"}
    assert Summary.model_validate(data) == made


def test_gate_reads_set_keys(tmp_path: Path) -> None:
    made = summary()
    assert made.value("test.newcomer.abstained_answerable") == 0.0
    assert made.value("test.newcomer.confident_unanswerable") == 0.0
    assert made.value("test.newcomer.abstained_unanswerable") == 1.0
    assert made.value("test.pipeline.confident_unanswerable") == 0.5
    assert made.value("dev.newcomer.abstained_answerable") is None
    assert made.value("test.nosuchset.abstained_answerable") is None
    path = tmp_path / "thresholds.toml"
    path.write_text('[min]\n"test.newcomer.abstained_unanswerable" = 0.9\n'
                    '"test.pipeline.answered_answerable" = 0.8\n'
                    '[max]\n"test.newcomer.abstained_answerable" = 0.05\n'
                    '"test.newcomer.confident_unanswerable" = 0.0\n'
                    '"dev.newcomer.abstained_answerable" = 0.05\n')
    result = gate.check(made, path)
    assert result.checked == ["test.newcomer.abstained_unanswerable",
                              "test.pipeline.answered_answerable",
                              "test.newcomer.abstained_answerable",
                              "test.newcomer.confident_unanswerable"]
    assert result.failures == ["test.pipeline.answered_answerable = 0.75 < min 0.8"]
    assert result.skipped == ["dev.newcomer.abstained_answerable (not measured in this run)"]


def test_a_system_comes_before_a_set_of_the_same_name() -> None:
    made = summary()
    made.splits["test"].sets["bm25"] = {"mrr": 0.1}
    assert made.value("test.bm25.mrr") == 0.5


def test_gap_covers_the_outcomes() -> None:
    made = summary().splits["test"]
    dev = made.model_copy(deep=True)
    dev.systems["pipeline"].overall["hedged_answerable"] = 0.2
    found = gap({"dev": dev, "test": made})
    assert found["pipeline.hedged_answerable"] == pytest.approx(0.3)
    assert found["pipeline.confident_answerable"] == 0.0


def test_summary_md_tables() -> None:
    md = summary_md(summary())
    assert "### test: pipeline answered confidently, hedged or abstained" in md
    assert "| all | answerable | 4 | 0.250 (1) | 0.500 (2) | 0.250 (1) |" in md
    assert "| all | unanswerable | 2 | 0.500 (1) | 0.000 (0) | 0.500 (1) |" in md
    assert "| set `newcomer` | answerable | 2 | 0.500 (1) | 0.500 (1) | 0.000 (0) |" in md
    assert "| set `newcomer` | unanswerable | 1 | 0.000 (0) | 0.000 (0) | 1.000 (1) |" in md
    # coverages 0.1 ... 1 are first reached at cutoffs 0.9 (0.1), 0.8 (0.2, 0.3), 0.6 (0.4 to
    # 0.6), 0.3 (0.7, 0.8), 0 (0.9, 1): five rows
    assert ("| confidence >= | coverage | risk |\n|---|---|---|\n"
            "| 0.900 | 0.167 | 0.000 |\n| 0.800 | 0.333 | 0.500 |\n| 0.600 | 0.667 | 0.500 |\n"
            "| 0.300 | 0.833 | 0.600 |\n| 0.000 | 1.000 | 0.667 |\n") in md
    assert "AURC = 0.461" in md
    assert ("answering only when confident covers 0.333 of the questions at risk 0.500 "
            "(ranking by confidence alone: risk 0.500 at that coverage); confident or hedged "
            "covers 0.667 of the questions at risk 0.500") in md
    assert "| answerable: answered with a hedge | 0.500 | – |" in md  # pipeline, bm25

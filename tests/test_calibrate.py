"""Per-model calibration (`rag calibrate`) and the gate it sets (rag/answering/gate.py).

The policy choice is tested on made-up records; the gate in the real pipeline with the
Ollama-protocol fake; `rag calibrate` end to end against the scripted OpenAI-compatible oracle
server (tests/llm_servers.py) on a small gold file: stored, shown by `rag status`, resumed after
an interruption, refused for a dead server; the extractive refit on a copy of the index.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from rag.answering import models
from rag.answering.calibration import answerability, calibration
from rag.answering.gate import REFUSED, gate_for
from rag.answering.models import ModelCalibration, save
from rag.answering.pipeline import answer
from rag.cli import main
from rag.config import Settings
from rag.evaluate.calibrate import FLOORS, Policy, Record, choose, cross_validated, figures
from rag.evaluate.gold import load_gold
from tests.conftest import ROOT
from tests.llm_servers import LLMServer
from tests.test_llm_backends import with_llm
from tests.test_structured import ollama  # noqa: F401  (the fixture)

# a dev question the extractive backend answers (confidence 0.90, above its threshold)
ANSWERED = "Where did Russia agree in 2006 to expand an airbase as a contribution to the CSTO?"
AIRBASE = "Kant"


def record(n: int, answerable: bool, confidence: float, verdict: bool | None,
           answered: bool = True, asked: bool = True) -> Record:
    return Record(f"w{n % 4}x{n}", f"q{n}", answerable, asked, confidence, verdict, answered,
                  answered and answerable, 100.0, 10.0)


def test_a_model_whose_verdict_is_right_is_asked_always_and_trusted() -> None:
    # the verdict is right; the confidence says little (answerable ones often score low)
    records = [record(n, n % 3 != 0, (n * 37 % 100) / 100, verdict=n % 3 != 0)
               for n in range(120)]
    assert choose(records, FLOORS) == Policy(None, True)
    f = figures(records, Policy(None, True))
    assert f.answered == 1.0 and f.abstained_unanswerable == 1.0 and f.refused_before_asked == 0


def test_a_yes_man_is_gated_by_confidence_to_reach_the_floor() -> None:
    # always says answerable, always gets a sentence through; unanswerable ones score lower
    records = [record(n, n % 3 != 0, (0.5 if n % 3 else 0.0) + (n % 50) / 100, verdict=True)
               for n in range(150)]
    policy = choose(records, FLOORS)
    assert policy.threshold is not None
    f = figures(records, policy)
    assert f.abstained_unanswerable is not None and f.abstained_unanswerable >= 0.8
    assert f.answered is not None and f.answered >= 0.9
    assert choose(records, (0.45, 0.95)).threshold is not None
    cv = cross_validated(records, FLOORS)
    assert cv.answerable == 100 and cv.unanswerable == 50 and cv.answered is not None


def test_no_policy_reaching_the_floor_abstains_most() -> None:
    records = [record(n, n % 2 == 0, 0.5, verdict=True) for n in range(40)]  # no signal at all
    policy = choose(records, FLOORS)
    assert figures(records, policy).abstained_unanswerable == 1.0  # refuses everything


def test_an_uncalibrated_model_gets_the_extractive_gate_and_trusts_its_verdict(
        real_index: Settings) -> None:
    gate = gate_for("openai", "someone-elses-7b", real_index)
    assert gate.calibration is None and gate.trust_answerable
    assert gate.threshold == answerability(real_index.index_dir).threshold
    assert gate.threshold == calibration().answerability.threshold
    assert gate.note is not None and "rag calibrate --backend openai --model someone-elses-7b" \
        in gate.note
    assert gate_for("openai", "x", with_llm(real_index, gate=False)).threshold is None
    assert not gate_for("openai", "x", with_llm(real_index, trust_answerable=False)) \
        .trust_answerable


def test_the_index_folders_calibration_wins_over_the_shipped_one(
        tmp_path: Path, real_index: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    shipped, own = tmp_path / "shipped.json", tmp_path / "idx"
    save(ModelCalibration(backend="openai", model="m", threshold=0.3), shipped)
    monkeypatch.setattr(models, "SHIPPED", shipped)
    settings = real_index.model_copy(update={"index_dir": own})
    assert gate_for("openai", "m", settings).threshold == 0.3
    save(ModelCalibration(backend="openai", model="m", threshold=None,
                          trust_answerable=False), own / models.FILE)
    gate = gate_for("openai", "m", settings)
    assert gate.threshold is None and not gate.trust_answerable and gate.note is None


def _says_no_but_quotes(messages: list[dict[str, str]]) -> str:
    """A model that quotes the right sentence but says the sentences do not answer."""
    from tests.fakes import shown_in

    for n, text in shown_in(messages).items():
        if AIRBASE in text:
            return json.dumps({"answerable": False, "sentences": [{"quote": n, "text": text}]})
    return json.dumps({"answerable": False, "sentences": []})


@pytest.mark.slow
def test_the_pipeline_applies_the_gate_and_says_the_model_is_uncalibrated(
        ollama: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    server, settings = ollama(_says_no_but_quotes)
    result = answer(ANSWERED, backend="ollama", settings=settings)
    assert len(server.requests) == 1  # asked: the extractive backend answers this one
    assert result.abstained and result.model_answerable is False
    assert result.calibrated is False
    assert any("not calibrated" in n and "rag calibrate --backend ollama --model tiny" in n
               for n in result.notes)
    # calibrated not to trust its verdict: the verified quote is the answer
    shipped = tmp_path / "shipped.json"
    save(ModelCalibration(backend="ollama", model="tiny", threshold=None,
                          trust_answerable=False), shipped)
    monkeypatch.setattr(models, "SHIPPED", shipped)
    result = answer(ANSWERED, backend="ollama", settings=settings)
    assert not result.abstained and AIRBASE in result.answer and result.calibrated is True
    assert not any("not calibrated" in n for n in result.notes)
    # an off-topic question is refused before the model is asked, calibrated or not
    before = len(server.requests)
    off = answer("Who won the 2018 football World Cup?", backend="ollama", settings=settings)
    assert off.abstained and off.notes[0].startswith(REFUSED) and len(server.requests) == before
    assert off.model_answerable is None


def small_gold(tmp_path: Path, every: int = 40) -> tuple[Path, list[Any]]:
    items = [i for i in load_gold(ROOT / "eval" / "gold.jsonl") if i.split == "dev"][::every]
    path = tmp_path / "small.jsonl"
    path.write_text("".join(i.model_dump_json(exclude_none=True) + "\n" for i in items),
                    encoding="utf-8")
    return path, items


@pytest.mark.slow
def test_rag_calibrate_fits_stores_and_resumes(real_index: Settings, tmp_path: Path,
                                               capsys: Any) -> None:
    gold, items = small_gold(tmp_path)
    out = tmp_path / "calibrations.json"
    server = LLMServer("oracle", items)
    args = ["calibrate", "--backend", "openai", "--base-url", server.url, "--model", "oracle",
            "--gold", str(gold), "--index", str(real_index.index_dir), "--out", str(out),
            "--quiet"]
    try:
        assert main([*args, "--fresh"]) == 0
        printed = capsys.readouterr().out
        asked = len(server.requests)
        assert 0 < asked <= len(items)  # off-topic ones are refused before the model
        (fitted,) = json.loads(out.read_text())["models"]
        assert fitted["backend"] == "openai" and fitted["model"] == "oracle"
        assert fitted["figures"]["answered"] >= 0.8
        assert fitted["figures"]["abstained_unanswerable"] >= 0.8
        assert fitted["cv"]["answerable"] + fitted["cv"]["unanswerable"] == len(items)
        assert "openai oracle:" in printed and f"Stored in {out}" in printed
        # interrupted after three answers, the last line cut off: only the rest is asked
        cache = next((real_index.index_dir / "calibrate").glob("openai-oracle*.jsonl"))
        lines = cache.read_text().splitlines()
        cache.write_text("\n".join(lines[:4]) + "\n" + lines[4][:20])
        assert main(args) == 0
        lost = [json.loads(line) for line in lines[4:]]
        assert len(server.requests) - asked == sum(r["asked"] for r in lost) > 0
        again = len(server.requests)
        assert main(args) == 0 and len(server.requests) == again  # nothing left to ask
    finally:
        server.stop()


@pytest.mark.slow
def test_rag_status_shows_the_calibrated_models(real_index: Settings, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: Any) -> None:
    from rag.answering.models import Figures

    shipped = tmp_path / "shipped.json"
    save(ModelCalibration(backend="llamacpp", model="Tiny.gguf", threshold=0.5,
                          trust_answerable=False,
                          figures=Figures(answered=0.47, abstained_unanswerable=0.84,
                                          faithfulness=1.0, latency_p95_ms=2100.0,
                                          answerable=600, unanswerable=284)), shipped)
    monkeypatch.setattr(models, "SHIPPED", shipped)
    assert main(["status", "--index", str(real_index.index_dir)]) == 0
    out = capsys.readouterr().out
    assert "llamacpp Tiny.gguf: asked at answerability confidence >= 0.500" in out
    assert "answered 0.47" in out and "abstained 0.84" in out and "p95 2.1 s" in out
    from rag.web.choices import calibrations

    assert "`llamacpp` Tiny.gguf" in calibrations(real_index)


@pytest.mark.slow
def test_a_dead_server_is_an_error_not_a_calibration(real_index: Settings, tmp_path: Path,
                                                     capsys: Any) -> None:
    gold, _ = small_gold(tmp_path)
    out = tmp_path / "c.json"
    code = main(["calibrate", "--backend", "openai", "--base-url", "http://127.0.0.1:9/v1",
                 "--model", "none", "--gold", str(gold), "--index",
                 str(real_index.index_dir), "--out", str(out), "--quiet"])
    assert code == 3 and not out.exists()
    assert "cannot connect to http://127.0.0.1:9/v1" in capsys.readouterr().err


@pytest.mark.slow
def test_calibrating_the_extractive_backend_refits_it_for_that_index(
        real_index: Settings, tmp_path: Path, capsys: Any) -> None:
    pytest.importorskip("sklearn")  # the `calibrate` extra (in `dev`: CI has it)
    index = tmp_path / "idx"
    shutil.copytree(real_index.index_dir, index)
    gold, _ = small_gold(tmp_path, every=4)
    assert main(["calibrate", "--backend", "extractive", "--gold", str(gold), "--index",
                 str(index), "--quiet"]) == 0
    assert "Answerability model refitted" in capsys.readouterr().out
    own = answerability(index)
    assert (index / "answerability.json").is_file() and own.trees
    assert own.threshold != calibration().answerability.threshold
    assert answerability(real_index.index_dir) == calibration().answerability  # untouched
    assert gate_for("openai", "x", real_index.model_copy(update={"index_dir": index})) \
        .threshold == own.threshold
    assert main(["status", "--index", str(index)]) == 0
    assert f"Answerability model: {index / 'answerability.json'}" in capsys.readouterr().out


def test_the_gate_is_chosen_on_out_of_fold_confidences(tmp_path: Path, real_index: Settings,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A dev question the answerability model was fitted on is judged by its out-of-fold
    confidence (eval/fit.py writes them), not the in-sample one, which is near 0 or 1."""
    from rag.evaluate import fitting
    from rag.evaluate.calibrate import with_out_of_fold

    oof = tmp_path / "oof.json"
    oof.write_text(json.dumps({"w0x0": {"question": "q0", "confidence": 0.3},
                               "w1x1": {"question": "another question", "confidence": 0.3}}))
    monkeypatch.setattr(fitting, "OUT_OF_FOLD", oof)
    records = [record(0, True, 0.99, True), record(1, True, 0.99, True)]
    swapped, count = with_out_of_fold(records, real_index)
    assert count == 1 and swapped[0].confidence == 0.3 and swapped[1].confidence == 0.99
    assert json.loads((ROOT / "rag" / "answering" / "out_of_fold.json").read_text())  # shipped

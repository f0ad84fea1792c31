"""`rag calibrate` for an LLM backend: run the gold set's dev split through the model, then fit
how its answers are gated (rag/answering/gate.py) by cross-validation.

Every dev question is asked once, ungated (only the hard checks and the off-topic score floor
stop it) and with the model's verdict not applied, so that one pass gives the outcome of every
policy: a policy is a threshold on the answerability confidence (or none) and whether the
model's own "answerable" is trusted. A question is answered under a policy when the policy asks
the model, the model's verdict does not stop it, and a sentence it wrote passed the verifier.

The policy chosen is the one with the widest margin over both floors the README holds an LLM
backend to (`answer_floor` 0.45 of the answerable questions answered, `abstain_floor` 0.80 of the
unanswerable ones abstained): the one that maximises the smaller of the two margins, as eval/fit.py
chose the single LLM gate before. (Answering the most with the abstention floor just met, the rule
first tried, put SmolLM2's gate at the edge: 0.80 on dev out of fold, 0.794 on test.)
Chosen on the other folds and measured on each held-out
one (one fold per gold writer, the id's letters, when there are at least three; else five
folds), which gives the out-of-fold figures; the stored policy is chosen on the whole split.

Resumable: each answer is appended to `<index>/calibrate/<backend>-<model>.jsonl` as it comes,
and a second run with the same backend, model, settings and gold file asks only what is left.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import statistics
import subprocess
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from rag.answering.backends import spec
from rag.answering.calibration import answerability
from rag.answering.gate import REFUSED
from rag.answering.models import Figures, ModelCalibration
from rag.answering.pipeline import answer
from rag.config import Settings
from rag.evaluate.fitting import folds, out_of_fold
from rag.evaluate.gold import GoldItem
from rag.evaluate.scores import _relevant
from rag.retrieval.searcher import get_searcher

FLOORS = (0.45, 0.80)  # answerable answered, unanswerable abstained


@dataclass(frozen=True)
class Record:
    """One dev question asked once, ungated."""

    id: str
    question: str
    answerable: bool
    asked: bool  # the hard checks and the score floor let it through to the model
    confidence: float
    verdict: bool | None  # the model's own "answerable"
    answered: bool  # a sentence it wrote passed the verifier (verdict not applied)
    evidence_cited: bool  # ... and a citation holds the gold evidence
    total_ms: float
    retrieve_ms: float


@dataclass(frozen=True)
class Policy:
    threshold: float | None
    trust: bool

    def answers(self, r: Record) -> bool:
        return self.asks(r) and not (self.trust and r.verdict is False) and r.answered

    def asks(self, r: Record) -> bool:
        return r.asked and (self.threshold is None or r.confidence >= self.threshold)


def ungated(settings: Settings) -> Settings:
    """The settings a calibration run asks with: the model asked whenever the hard checks
    pass, its verdict recorded but not applied, no extractive fallback."""
    llm = settings.llm.model_copy(update={"gate": False, "trust_answerable": False,
                                          "fallback_extractive": False})
    return settings.model_copy(update={"llm": llm})


def ask(item: GoldItem, backend: str, settings: Settings) -> Record:
    result = answer(item.question, backend=backend, settings=settings)
    refused = any(n.startswith(REFUSED) for n in result.notes)
    return Record(item.id, item.question, item.type != "unanswerable", not refused,
                  float(result.confidence or 0.0), result.model_answerable,
                  not result.abstained, any(_relevant(c, item) for c in result.citations),
                  result.timings_ms["total"], result.timings_ms["retrieve"])


def run_key(backend: str, model: str, settings: Settings, gold: Path) -> str:
    """What a run's answers depend on: a cached answer with another key is asked again."""
    llm = ungated(settings).llm.model_dump(mode="json", exclude={"api_key", "read_timeout",
                                                                 "connect_timeout", "backend"})
    fingerprint = get_searcher(settings).fingerprint
    blob = json.dumps([backend, model, llm, settings.answer.k, str(gold),
                       sorted(fingerprint.docs.items())], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def run(items: list[GoldItem], backend: str, settings: Settings, cache: Path, key: str,
        progress: bool) -> list[Record]:
    """Every item asked (or read back from `cache`, when asked before under the same key)."""
    done = _cached(cache, key)
    asking = ungated(settings)
    # written again with only the whole records: a line cut off by an interruption goes
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text("".join(json.dumps(x) + "\n" for x in
                             [{"key": key}, *(asdict(r) for r in done.values())]),
                     encoding="utf-8")
    records = []
    for item in tqdm(items, desc=f"calibrating {backend}", unit="q", disable=not progress):
        record = done.get(item.id)
        if record is None or record.question != item.question:
            record = ask(item, backend, asking)
            with cache.open("a", encoding="utf-8") as out:
                out.write(json.dumps(asdict(record)) + "\n")
        records.append(record)
    return records


def _cached(cache: Path, key: str) -> dict[str, Record]:
    if not cache.is_file():
        return {}
    lines = cache.read_text(encoding="utf-8").splitlines()
    try:
        if not lines or json.loads(lines[0]).get("key") != key:
            return {}
        return {r.id: r for r in (Record(**json.loads(line)) for line in lines[1:]
                                  if line.strip())}
    except (ValueError, TypeError):  # a line cut off by an interruption: start that one again
        found = {}
        for line in lines[1:]:
            try:
                r = Record(**json.loads(line))
            except (ValueError, TypeError):
                continue
            found[r.id] = r
        return found


def figures(records: list[Record], policy: Policy) -> Figures:
    """`policy` on every record, with the answer's latency under it."""
    return outcomes([(r, policy) for r in records], latency=True)


def outcomes(held: list[tuple[Record, Policy]], latency: bool) -> Figures:
    """The shares of each record's outcome under the policy beside it (and, if `latency`,
    the whole answer's time: the model's when the policy asks it, else retrieval's)."""
    pos = [(r, p) for r, p in held if r.answerable]
    neg = [(r, p) for r, p in held if not r.answerable]
    times = [r.total_ms if p.asks(r) else r.retrieve_ms for r, p in held] if latency else []
    return Figures(
        answered=_share(p.answers(r) for r, p in pos),
        abstained_unanswerable=_share(not p.answers(r) for r, p in neg),
        refused_before_asked=_share(not p.asks(r) for r, p in pos),
        evidence_cited=_share(p.answers(r) and r.evidence_cited for r, p in pos),
        faithfulness=1.0,
        latency_p50_ms=round(statistics.median(times), 1) if times else None,
        latency_p95_ms=round(_p95(times), 1) if times else None,
        answerable=len(pos), unanswerable=len(neg))


def _share(flags: Iterable[bool]) -> float | None:
    values = list(flags)
    return round(sum(values) / len(values), 4) if values else None


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def choose(records: list[Record], floors: tuple[float, float]) -> Policy:
    """The policy with the widest margin over both `floors` (answered, abstained): the largest
    min(answered - floors[0], abstained - floors[1]); ties: more answered, then no threshold or
    the lowest one, then trusting the verdict. The thresholds tried: none, every cut half way
    between two neighbouring confidences, and one above them all (never asked)."""
    conf = np.array([r.confidence for r in records])
    pos = np.array([r.answerable for r in records])
    values = np.unique(conf[[r.asked for r in records]])
    cuts = [None, *((values[:-1] + values[1:]) / 2).tolist(),
            *([float(values[-1]) + 1e-6] if len(values) else [])]
    best: tuple[object, ...] = ()
    chosen = Policy(None, True)
    for trust in (True, False):
        policy = Policy(None, trust)
        passes = np.array([policy.answers(r) for r in records])  # without a threshold
        for cut in cuts:
            answering = passes if cut is None else passes & (conf >= cut)
            answered = float(answering[pos].mean()) if pos.any() else 0.0
            abstained = float(1 - answering[~pos].mean()) if (~pos).any() else 1.0
            margin = min(answered - floors[0], abstained - floors[1])
            score = (round(margin, 9), answered, -(cut or 0.0), trust)
            if score > best:
                best, chosen = score, Policy(cut, trust)
    return chosen


def cross_validated(records: list[Record], floors: tuple[float, float]) -> Figures:
    """Each fold's outcomes under the policy chosen on the other folds."""
    groups = folds([r.id for r in records])
    held: list[tuple[Record, Policy]] = []
    for name in sorted(set(groups)):
        train = [r for r, g in zip(records, groups, strict=True) if g != name]
        policy = choose(train, floors)
        held += [(r, policy) for r, g in zip(records, groups, strict=True) if g == name]
    return outcomes(held, latency=False)


def with_out_of_fold(records: list[Record], settings: Settings) -> tuple[list[Record], int]:
    """The records, each dev question the answerability model was fitted on given its
    out-of-fold confidence (eval/fit.py, `rag calibrate --backend extractive`): a threshold
    read off the confidences of the model's own training questions would be too low for the
    questions it meets (they separate almost perfectly in-sample)."""
    found = out_of_fold(settings)
    swapped = [replace(r, confidence=found[r.id][1])
               if r.id in found and found[r.id][0] == r.question else r for r in records]
    return swapped, sum(a is not b for a, b in zip(records, swapped, strict=True))


def fit(records: list[Record], backend: str, model: str, settings: Settings, gold: Path,
        floors: tuple[float, float]) -> ModelCalibration:
    records, held_out = with_out_of_fold(records, settings)
    policy = choose(records, floors)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip()
    llm = settings.llm
    default = Policy(answerability(settings.index_dir).threshold, True)
    return ModelCalibration(
        backend=backend, model=model,
        threshold=None if policy.threshold is None else round(policy.threshold, 6),
        trust_answerable=policy.trust, figures=figures(records, policy),
        cv=cross_validated(records, floors),
        provenance={"fitted": datetime.date.today().isoformat(), "commit": commit or None,
                    "gold": str(gold), "split": "dev", "items": len(records),
                    "answer_floor": floors[0], "abstain_floor": floors[1], "k": settings.answer.k,
                    "structured": llm.structured, "shown_sentences": llm.shown_sentences,
                    "base_url": llm.base_url if backend != "llamacpp" else None,
                    "uncalibrated_default": figures(records, default).model_dump(),
                    "out_of_fold_confidences": held_out})


def model_of(backend: str, settings: Settings) -> str:
    return spec(backend).model_name(settings.llm)


def dev_items(gold: Path) -> list[GoldItem]:
    """The gold file's dev split, with both kinds of question (an error says what is missing)."""
    from rag.errors import UsageError
    from rag.evaluate.gold import load_gold

    items = [i for i in load_gold(gold) if i.split == "dev"]
    answerable = sum(i.type != "unanswerable" for i in items)
    if not answerable or answerable == len(items):
        raise UsageError(f"{gold}: calibrating needs dev questions of both kinds; its dev split "
                         f"has {answerable} answerable and {len(items) - answerable} "
                         "unanswerable ones (\"type\": \"unanswerable\": eval/README.md)")
    return items


def calibrate(settings: Settings, backend: str, gold: Path, out: Path | None,
              floors: tuple[float, float],
              progress: bool, fresh: bool = False) -> tuple[ModelCalibration, Path]:
    """Ask every dev question (what an earlier interrupted run asked is read back), fit the
    policy, and store it (default: the index folder's calibrations.json)."""
    from rag.answering.backends import get_backend
    from rag.answering.backends.llm import LLMBackend
    from rag.answering.models import FILE, save

    items = dev_items(gold)
    chosen = get_backend(backend, settings)
    if isinstance(chosen, LLMBackend):
        chosen.ready()  # a dead server is an error, not a calibration
    model = model_of(backend, settings)
    cache = Path(settings.index_dir) / "calibrate" / f"{backend}-{_slug(model)}.jsonl"
    if fresh:
        cache.unlink(missing_ok=True)
    records = run(items, backend, settings, cache, run_key(backend, model, settings, gold),
                  progress)
    fitted = fit(records, backend, model, settings, gold, floors)
    path = out or Path(settings.index_dir) / FILE
    save(fitted, path)
    return fitted, path


def _slug(model: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in model)[:80] or "default"

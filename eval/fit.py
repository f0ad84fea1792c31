"""Fit every tunable of answering on the gold set's dev split, by cross-validation; write
rag/answering/calibration.json. The test split is never read.

    .venv/bin/python eval/fit.py [--gold eval/gold.jsonl] [--folds 5]   (--folds: the verifier's)

1. The verifier's weight (word overlap vs embedding similarity) and threshold: chosen on the
   training folds to accept the most gold answers and paraphrases while rejecting at least
   98% of citations of another document's evidence and of another passage of the same
   document; scored on the held-out fold.
2. The answerability model: gradient-boosted trees (scikit-learn, balanced classes; FEATURES
   and MODEL below) over the features of rag/answering/features.py, fitted on the questions
   the hard checks (rag/answering/answerable.py `unmet`) leave to it, and exported as plain
   data (rag/answering/calibration.py evaluates it without scikit-learn). Its abstention
   threshold is the highest confidence at which at most 5% of the answerable dev questions
   abstain (hard checks included), read off out-of-fold confidences: each writer's items
   (the id's letters) scored by a model fitted on the other writers' items, so the threshold
   is neither fitted to the questions it is read from nor to one writer's way of asking.
   `score_floor`: the lowest best_score of an answerable dev question; below it the runtime
   abstains, since trees do not extrapolate (off-topic questions, never in dev, landed in
   high-confidence leaves: "Who won the 2018 football World Cup?" got
   0.83). The trees are free, not monotone: with every coverage and similarity feature
   constrained to raise the confidence, leave-one-writer-out AUC fell from 0.80 to 0.71-0.73
   (804 items).
3. The LLM gate (`llm_threshold`, rag/answering/gate.py): the out-of-fold confidence that
   leaves the widest margin over both floors an LLM backend is held to (issue 19: at least 40%
   of the answerable questions answered, at least 80% of the unanswerable ones abstained),
   i.e. that maximises min(asked - 0.40, abstained - 0.80). An LLM backend's answers are
   checked sentence by sentence, not by this model, so the gate is what keeps it from
   answering what the corpus does not; and SmolLM2-135M's own "answerable" carries no signal
   (eval/README.md), so nothing after the gate can make up for a gate set too low. A fixed
   abstention target (85%, before 2026-12-04) sat at the edge of the answered floor once the
   dev split held harder near-misses.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier

from rag.answering.answerable import unmet
from rag.answering.backends import Query
from rag.answering.backends.extractive import ExtractiveBackend
from rag.answering.calibration import PATH, Answerability
from rag.answering.pipeline import retrieve
from rag.answering.verify import support
from rag.config import get_settings
from rag.evaluate.faithful import Verifier, perturbation_cases
from rag.evaluate.gold import GoldItem, load_gold
from rag.retrieval.searcher import get_searcher

MAX_FALSE_ABSTENTION = 0.05
LLM_ANSWERED_FLOOR = 0.40  # issue 19's floors, which the gate keeps the widest margin over
LLM_ABSTAINED_FLOOR = 0.80
# The model: every feature rag/answering/features.py computes, in gradient-boosted trees.
# Chosen 2026-12-04 on the 504-item dev split by leave-one-writer-out cross-validation (each
# writer's items held out in turn, which is what a new writer's questions are), among logistic
# regression on 10 or on all 17 features, random forests, extra trees and boosted trees:
# answerable questions asked at 85% of the unanswerable ones abstained, logistic regression on
# 10 features 0.31, on all 17 0.40, boosted trees (below) 0.56-0.58 over three seeds, random
# forests and extra trees 0.51-0.56; the least margin over the LLM floors 0.01, 0.03, 0.08-0.09.
# Rechecked on 804 dev items (13 writers): logistic regression on all 17 0.44, these trees 0.57,
# random forest 0.56; AUC 0.73, 0.80, 0.80 (eval/README.md: Fitting).
FEATURES = ("best_cosine", "best_fits", "best_score", "content_terms", "counted_found",
            "fitting_score", "name_found", "names_found", "passage_coverage",
            "rare_sentence_coverage", "rare_top_coverage", "rarest_found", "sentence_coverage",
            "top_coverage", "unknown_terms", "wants_number", "why_how")
MODEL = {"max_depth": 3, "learning_rate": 0.03, "n_estimators": 300, "subsample": 0.8}
MIN_FORGERY_REJECTED = 0.98
# Names are not among the constraints: the hard rule (every name of the sentence is in the cited
# text or the cited document's metadata) decides nearly all of them, and demanding 98% from the
# score too cost a third of the paraphrases on dev (CV paraphrase 0.35 instead of 0.71).
FORGERIES = ("citation", "wrong_passage", "number")
POSITIVE = ("unchanged", "paraphrase")
POSITIVE_TIE = 0.005  # about 4 of the ~800 dev answers and paraphrases


def folds_of(ids: list[str], folds: int) -> dict[str, int]:
    """A fixed fold per gold id (every case of one item lands in the same fold)."""
    return {i: n % folds for n, i in enumerate(sorted(set(ids)))}


def verifier_rows(items: list[GoldItem]) -> list[tuple[str, str, bool, float, float, bool]]:
    """(id, kind, expected, lexical, similarity, hard-rule failure) per perturbation case."""
    searcher = get_searcher(get_settings())
    verifier = Verifier(searcher.embedder, searcher.sources)
    rows = []
    for c in perturbation_cases(items):
        lexical = support(c.text, list(c.quotes), None, searcher.sources(list(c.docs)))
        similarity = verifier.similarity(c.text, c.quotes) or 0.0
        rows.append((c.id, c.kind, c.expect_ok, lexical.score, similarity, bool(lexical.missing)))
    return rows


def _verdicts(rows: list[tuple[str, str, bool, float, float, bool]], w: float,
              t: float) -> dict[str, float]:
    by_kind: dict[str, list[bool]] = {}
    for _, kind, expected, lexical, sim, hard in rows:
        ok = not hard and w * lexical + (1 - w) * max(sim, 0.0) >= t
        by_kind.setdefault(kind, []).append(ok == expected)
    return {k: float(np.mean(v)) for k, v in by_kind.items()}


def choose_verifier(rows: list[tuple[str, str, bool, float, float, bool]]) -> tuple[float, float]:
    """The (weight, threshold) that accepts the most gold answers and paraphrases while
    rejecting MIN_FORGERY_REJECTED of each forgery kind; among pairs within POSITIVE_TIE of the
    best acceptance, the one whose worst forgery kind is rejected most (then the higher
    threshold). Many pairs tie on acceptance, and taking the first of them took the most
    lenient one (on 804 dev items: threshold 0.16, which let "The EU, US and global
    governance" pass again)."""
    scored = []
    for w in np.round(np.arange(0.0, 1.01, 0.1), 2):
        for t in np.round(np.arange(0.10, 0.90, 0.01), 2):
            acc = _verdicts(rows, float(w), float(t))
            forged = [acc.get(k, 1.0) for k in FORGERIES]
            if min(forged) < MIN_FORGERY_REJECTED:
                continue
            value = float(np.mean([acc[k] for k in POSITIVE if k in acc]))
            scored.append((value, min(forged), float(t), float(w)))
    if not scored:
        return 0.7, 0.6
    best = max(v for v, _, _, _ in scored)
    _, t, w = max((f, t, w) for v, f, t, w in scored if v >= best - POSITIVE_TIE)
    return w, t


def fit_verifier(items: list[GoldItem], folds: int) -> tuple[float, float, dict[str, float]]:
    rows = verifier_rows(items)
    fold = folds_of([r[0] for r in rows], folds)
    held: list[tuple[str, str, bool, float, float, bool]] = []
    verdicts: dict[str, list[float]] = {}
    for f in range(folds):
        w, t = choose_verifier([r for r in rows if fold[r[0]] != f])
        test = [r for r in rows if fold[r[0]] == f]
        held += test
        for kind, value in _verdicts(test, w, t).items():
            verdicts.setdefault(kind, []).append(value * sum(r[1] == kind for r in test))
    counts = {k: sum(r[1] == k for r in held) for k in verdicts}
    cv = {k: round(sum(v) / counts[k], 4) for k, v in verdicts.items()}
    w, t = choose_verifier(rows)
    return w, t, cv


def answerability_rows(items: list[GoldItem]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The model's features, the label (answerable or not) of each dev question, and whether
    the hard checks (`rag.answering.answerable.unmet`) abstain on it before the model is asked.
    The hard checks alone: the assessment's `unmet` also holds the committed model's score
    floor, and a refit must not depend on the fit before it."""
    settings = get_settings()
    backend = ExtractiveBackend(settings)
    values, labels, hard = [], [], []
    for item in items:
        searcher, vector, passages = retrieve(item.question, settings.answer.k, None, settings)
        found = backend.assess(Query(item.question, vector, searcher), passages)
        values.append([found.features[name] for name in FEATURES])
        labels.append(int(item.type != "unanswerable"))
        hard.append(unmet(item.question, [c.text for c in found.ranked],
                          [p.text for p in passages]) is not None)
    return np.array(values, dtype=float), np.array(labels), np.array(hard)


def _model(x: np.ndarray, y: np.ndarray) -> GradientBoostingClassifier:
    """Gradient-boosted trees on balanced class weights (MODEL); fixed seed, so a refit gives
    the same trees."""
    from sklearn.utils.class_weight import compute_sample_weight

    model = GradientBoostingClassifier(**MODEL, random_state=0)
    return model.fit(x, y, sample_weight=compute_sample_weight("balanced", y))


def _confidence(x: np.ndarray, model: GradientBoostingClassifier) -> np.ndarray:
    return model.predict_proba(x)[:, 1]


def _tree(tree: Any) -> dict[str, list[Any]]:
    """A fitted regression tree as plain lists. scikit-learn updates only the leaves' values
    after the split (a Newton step); each inner node gets the weighted mean of its children,
    so a path's steps add up to the leaf (Answerability.contributions)."""
    left, right = tree.children_left.tolist(), tree.children_right.tolist()
    value = tree.value[:, 0, 0].astype(float).tolist()
    weight = tree.weighted_n_node_samples.tolist()
    for node in reversed(range(len(left))):  # children come after their parent
        if left[node] != -1:
            a, b = left[node], right[node]
            value[node] = (weight[a] * value[a] + weight[b] * value[b]) / (weight[a] + weight[b])
    return {"feature": tree.feature.tolist(), "threshold": tree.threshold.tolist(),
            "left": left, "right": right, "value": value}


def export(model: GradientBoostingClassifier, x: np.ndarray) -> dict[str, Any]:
    """The model as data for rag.answering.calibration.Answerability, checked to give the same
    confidence as scikit-learn on every row of `x`."""
    trees = [_tree(e.tree_) for e in model.estimators_[:, 0]]
    raw = model.decision_function(x[:1])[0]
    steps = sum(e.predict(x[:1].astype(np.float32))[0] for e in model.estimators_[:, 0])
    data = {"features": list(FEATURES), "trees": trees,
            "learning_rate": model.learning_rate, "init": float(raw - model.learning_rate * steps)}
    mine = Answerability.model_validate(data)
    ours = [mine.confidence(dict(zip(FEATURES, row, strict=True))) for row in x]
    assert np.allclose(ours, _confidence(x, model), atol=1e-9), "exported model differs"
    return data


def _threshold(pos: np.ndarray, hard_false: int, total: int) -> float:
    """The highest confidence at which at most MAX_FALSE_ABSTENTION of all `total` answerable
    questions abstain, counting the `hard_false` ones the hard checks already abstain on."""
    allowed = int(np.floor(MAX_FALSE_ABSTENTION * total)) - hard_false
    ordered = np.sort(pos)
    return float(ordered[max(allowed, 0)]) if len(ordered) else 0.5


def _shares(pos: np.ndarray, neg: np.ndarray, cut: float, hard_true: int, total_pos: int,
            total_neg: int) -> tuple[float, float]:
    """At confidence `cut`: the share of all `total_pos` answerable questions above it (asked,
    answered), and of all `total_neg` unanswerable ones below it or stopped by the hard checks
    (`hard_true`) (abstained)."""
    return (float(np.sum(pos >= cut) / total_pos),
            float((np.sum(neg < cut) + hard_true) / total_neg))


def _llm_threshold(pos: np.ndarray, neg: np.ndarray, hard_true: int, total_pos: int,
                   total_neg: int) -> float:
    """The confidence (half way between two neighbouring out-of-fold confidences) that
    maximises the smaller margin over the two floors: answerable questions asked over
    LLM_ANSWERED_FLOOR, unanswerable ones abstained over LLM_ABSTAINED_FLOOR. Ties: the lower
    one."""
    values = np.unique(np.concatenate([pos, neg]))
    cuts = np.concatenate([[0.0], (values[:-1] + values[1:]) / 2, [1.0]])
    best, chosen = -np.inf, 0.5
    for cut in cuts:
        asked, abstained = _shares(pos, neg, float(cut), hard_true, total_pos, total_neg)
        margin = min(asked - LLM_ANSWERED_FLOOR, abstained - LLM_ABSTAINED_FLOOR)
        if margin > best + 1e-12:
            best, chosen = margin, float(cut)
    return chosen


def writer(item_id: str) -> str:
    """The batch an item was written in: its id's letters (g, dn, dp, ta, ...), one writer each."""
    match = re.match(r"[a-z]+", item_id)
    return match.group(0) if match else item_id


def fit_answerability(items: list[GoldItem]) -> tuple[dict[str, object], dict[str, object]]:
    """The model is fitted, and its thresholds read, on the questions the hard checks leave to
    it; the false-abstention budget counts the answerable questions the hard checks abstain on.
    The thresholds are read off out-of-fold confidences, each writer's items scored by a model
    fitted on the other writers' (a new writer's questions are what the system meets)."""
    x_all, y_all, hard = answerability_rows(items)
    hard_false = int(np.sum(hard & (y_all == 1)))
    keep = ~hard
    x, y = x_all[keep], y_all[keep]
    groups = np.array([writer(i.id) for i in items])[keep]
    oof = np.zeros(len(y))
    for group in np.unique(groups):
        held = groups == group
        oof[held] = _confidence(x[held], _model(x[~held], y[~held]))
    pos, neg = oof[y == 1], oof[y == 0]
    total_pos, total_neg = int(np.sum(y_all == 1)), int(np.sum(y_all == 0))
    hard_true = total_neg - len(neg)
    threshold = _threshold(pos, hard_false, total_pos)
    asked, abstained = _shares(pos, neg, threshold, hard_true, total_pos, total_neg)
    llm = _llm_threshold(pos, neg, hard_true, total_pos, total_neg)
    llm_asked, llm_abstained = _shares(pos, neg, llm, hard_true, total_pos, total_neg)
    # Every answerable question not asked abstains: the hard checks' ones are not in `pos`.
    cv: dict[str, object] = {
        "folds": "one per writer: " + ", ".join(sorted(set(groups))),
        "false_abstention": round(1 - asked, 4), "unanswerable_abstained": round(abstained, 4),
        "answerable": total_pos, "unanswerable": total_neg,
        "hard_checks_abstained_answerable": hard_false,
        "hard_checks_abstained_unanswerable": hard_true,
        "llm_answerable_asked": round(llm_asked, 4),
        "llm_unanswerable_abstained": round(llm_abstained, 4)}
    model = export(_model(x, y), x)
    floor = float(x[y == 1, FEATURES.index("best_score")].min())
    model.update(threshold=round(threshold, 6), llm_threshold=round(llm, 6),
                 score_floor=round(floor - 5e-7, 6))  # rounded down: the lowest stays inside
    return model, cv


def dumps(calibration: dict[str, Any]) -> str:
    """Indented JSON, each tree on one line (300 trees would be 20,000 lines otherwise)."""
    trees = calibration["answerability"].get("trees", [])
    marked = {**calibration, "answerability": {**calibration["answerability"],
                                               "trees": [f"@tree{n}@" for n in range(len(trees))]}}
    text = json.dumps(marked, indent=2)
    for n, tree in enumerate(trees):
        text = text.replace(f'"@tree{n}@"', json.dumps(tree), 1)
    return text + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=Path("eval/gold.jsonl"))
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    dev = [i for i in load_gold(args.gold) if i.split == "dev"]
    w, t, verifier_cv = fit_verifier(dev, args.folds)
    model, answer_cv = fit_answerability(dev)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip()
    calibration = {
        "verifier_weight": w, "verifier_threshold": t, "answerability": model,
        "provenance": {"fitted": datetime.date.today().isoformat(), "commit": commit,
                       "gold": str(args.gold), "split": "dev", "items": len(dev),
                       "folds": args.folds, "cv_verifier_accuracy_by_kind": verifier_cv,
                       "cv_answerability": answer_cv}}
    PATH.write_text(dumps(calibration), encoding="utf-8")
    print(json.dumps({k: v for k, v in calibration.items() if k != "answerability"}, indent=2))


if __name__ == "__main__":
    main()

"""Numbers fitted on the gold set's dev split, read from `calibration.json` beside it.

`eval/fit.py` writes that file: the verifier's weight and threshold, and the answerability
model (gradient-boosted trees over named features, with the confidence below which the answer
is an abstention). Every value is chosen by cross-validation on dev; the test split is never
read. The file records when, at which commit and with what cross-validated results.

The trees are evaluated here by hand rather than by scikit-learn (a dozen lines) so that the
fitted model stays data a person can read and diff, with no pickle to trust or to tie to one
scikit-learn version; eval/fit.py checks that both give the same confidence on every dev row.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

PATH = Path(__file__).with_name("calibration.json")
OWN = "answerability.json"  # in the index folder: `rag calibrate --backend extractive` writes it
LEAF = -1


class Tree(BaseModel):
    """One regression tree, as scikit-learn's `tree_` arrays: node i splits on
    `feature[i]` at `threshold[i]` (a value <= threshold goes `left`), or is a leaf
    (`left[i] == -1`). `value[i]` is the node's output; an inner node's is the weighted mean of
    its leaves, so the steps along a path add up to the leaf's value."""

    feature: list[int]
    threshold: list[float]
    left: list[int]
    right: list[int]
    value: list[float]

    def leaf(self, x: list[np.float32]) -> float:
        """The value of x's leaf."""
        steps = self.path(x)
        return self.value[steps[-1][1] if steps else 0]

    def path(self, x: list[np.float32]) -> list[tuple[int, int]]:
        """(node, next node) for each split on the way to x's leaf."""
        steps, node = [], 0
        while self.left[node] != LEAF:
            # scikit-learn compares float32 features with float64 thresholds; so does this.
            # float(): a float32 compared with a Python float is compared in float32 (NumPy 2,
            # NEP 50), which rounds the threshold and can send a row the other way.
            nxt = (self.left[node] if float(x[self.feature[node]]) <= self.threshold[node]
                   else self.right[node])
            steps.append((node, nxt))
            node = nxt
        return steps


class Answerability(BaseModel):
    features: list[str] = Field(default_factory=list, description="Feature names, in order.")
    trees: list[Tree] = Field(default_factory=list, description="The boosted trees "
                              "(scikit-learn GradientBoostingClassifier, exported by eval/fit.py).")
    learning_rate: float = Field(default=0.1, description="Each tree's weight.")
    init: float = Field(default=0.0, description="Log-odds before the first tree.")
    threshold: float = Field(default=0.5, description="Below this confidence: abstain.")
    confident: float = Field(default=0.0, description="At or above this confidence the answer "
                             "is given with confidence; between `threshold` and this, it is "
                             "hedged (\"The documents may not answer this exactly ...\"). At "
                             "or below `threshold`: no hedged band.")
    score_floor: float = Field(default=0.0, description="The lowest best-sentence score "
                               "(feature best_score) of an answerable dev question. Below it a "
                               "question is outside what the trees were fitted on (they do not "
                               "extrapolate: an off-topic question can land in a "
                               "high-confidence leaf), and the answer is an abstention.")

    @property
    def confident_from(self) -> float:
        """The confidence from which an answer is given with confidence (`confident`, but never
        below `threshold`: no hedged band then)."""
        return max(self.confident, self.threshold)

    def outside(self, values: dict[str, float]) -> str | None:
        """Why the question is outside what the model was fitted on, or None."""
        score = values.get("best_score", 0.0)
        if self.trees and score < self.score_floor:
            return (f"the best sentence scores {score:.2f}, below every answerable dev "
                    f"question ({self.score_floor:.2f}): the corpus is probably not about this")
        return None

    def contributions(self, values: dict[str, float]) -> dict[str, float]:
        """Each feature's share of the model's log-odds (positive: for answering): every split
        on the way to a leaf moves the output by the child's value minus the parent's, and
        that step is the split feature's. With the roots' values and `init` they add up to the
        log-odds exactly."""
        x = self._row(values)
        terms = dict.fromkeys(self.features, 0.0)
        for tree in self.trees:
            for node, nxt in tree.path(x):
                terms[self.features[tree.feature[node]]] += self.learning_rate * (
                    tree.value[nxt] - tree.value[node])
        return terms

    def log_odds(self, values: dict[str, float]) -> float:
        x = self._row(values)
        return self.init + self.learning_rate * sum(tree.leaf(x) for tree in self.trees)

    def _row(self, values: dict[str, float]) -> list[np.float32]:
        """The features in the trees' order, as float32 (what scikit-learn compares)."""
        return [np.float32(values[name]) for name in self.features]

    def confidence(self, values: dict[str, float]) -> float:
        """P(the evidence answers the question), by the fitted model."""
        z = self.log_odds(values)
        return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))


class Calibration(BaseModel):
    verifier_weight: float = Field(default=0.7, description="Weight of word overlap (the rest: "
                                   "embedding similarity) in a sentence's support score.")
    verifier_threshold: float = Field(default=0.6, description="Least support score accepted.")
    answerability: Answerability = Field(default_factory=Answerability)
    provenance: dict[str, object] = Field(default_factory=dict, description="When, at which "
                                          "commit, on what, and the cross-validated results.")


@functools.cache
def calibration() -> Calibration:
    if not PATH.is_file():
        return Calibration()
    return Calibration.model_validate(json.loads(PATH.read_text(encoding="utf-8")))


def answerability(index_dir: Path) -> Answerability:
    """The answerability model for the index at `index_dir`: the one `rag calibrate --backend
    extractive --gold FILE` fitted on that corpus's questions, else the shipped one."""
    path = Path(index_dir) / OWN
    try:
        stat = path.stat()
    except OSError:
        return calibration().answerability
    return _own(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _own(path: str, mtime_ns: int, size: int) -> Answerability:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return Answerability.model_validate(data["answerability"])

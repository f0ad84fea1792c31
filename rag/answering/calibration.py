"""Numbers fitted on the gold set's dev split, read from `calibration.json` beside it.

`eval/fit.py` writes that file: the verifier's weight and threshold, and the answerability
model (a logistic regression over a few named features, with the confidence below which the
answer is an abstention). Every value is chosen by cross-validation on dev; the test split is
never read. The file records when, at which commit and with what cross-validated results.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

from pydantic import BaseModel, Field

PATH = Path(__file__).with_name("calibration.json")


class Answerability(BaseModel):
    features: list[str] = Field(default_factory=list, description="Feature names, in order.")
    means: list[float] = Field(default_factory=list, description="Standardisation: means.")
    scales: list[float] = Field(default_factory=list, description="Standardisation: scales.")
    coef: list[float] = Field(default_factory=list, description="Logistic-regression weights.")
    intercept: float = Field(default=0.0, description="Logistic-regression intercept.")
    threshold: float = Field(default=0.5, description="Below this confidence: abstain.")
    llm_threshold: float = Field(default=0.5, description="Below this confidence an LLM "
                                 "backend is not asked (llm.gate): its answers are checked "
                                 "sentence by sentence only, so it needs a stricter gate.")

    def contributions(self, values: dict[str, float]) -> dict[str, float]:
        """Each feature's term in the model's log-odds (positive: for answering)."""
        return {name: w * (values[name] - m) / s for name, w, m, s in
                zip(self.features, self.coef, self.means, self.scales, strict=True)}

    def confidence(self, values: dict[str, float]) -> float:
        """P(the evidence answers the question), by the fitted model."""
        z = self.intercept + sum(self.contributions(values).values())
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

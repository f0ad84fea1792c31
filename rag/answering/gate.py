"""How an LLM backend's answers are gated: whether it is asked at all, and whether its own
"answerable" verdict counts. Both come from the model's calibration (rag/answering/models.py,
fitted by `rag calibrate` on the gold set's dev split).

A model nobody calibrated gets a lenient default: it is refused before it is asked only where
the extractive backend itself would abstain (the answerability model's own threshold, chosen so
that at most 5% of answerable dev questions abstain, and the off-topic score floor), its own
verdict is trusted, and the verifier checks every sentence it writes. Every answer it gives says
that it is not calibrated and how to calibrate it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from rag.answering.calibration import answerability
from rag.answering.models import ModelCalibration, find

if TYPE_CHECKING:
    from rag.answering.assessment import Assessment
    from rag.answering.backends import Draft
    from rag.config import Settings

REFUSED = "abstained without asking the model"


@dataclass(frozen=True)
class Gate:
    """The gate of one backend and model under the current settings."""

    backend: str
    model: str
    threshold: float | None  # below this answerability confidence the model is not asked
    trust_answerable: bool  # abstain when the model says the sentences do not answer
    calibration: ModelCalibration | None  # None: the uncalibrated default

    @property
    def note(self) -> str | None:
        """What every answer of an uncalibrated model says."""
        if self.calibration is not None:
            return None
        return (f"this model is not calibrated — `rag calibrate --backend {self.backend} "
                f"--model {self.model}` fits when it is asked and whether its own verdict "
                "counts (until then: the extractive backend's gate)")

    def refuse(self, found: Assessment) -> str | None:
        """None when the model should be asked; otherwise why the answer is an abstention."""
        if found.unmet:
            return f"{REFUSED}: {found.unmet}"
        if not found.ranked:
            return f"{REFUSED}: no passage sentence to show it"
        if self.threshold is not None and found.confidence < self.threshold:
            source = "its calibration" if self.calibration else "the uncalibrated default"
            return (f"{REFUSED}: confidence {found.confidence:.3f} is below {self.threshold:.3f} "
                    f"({source}; llm.gate)")
        return None

    def judge(self, draft: Draft) -> Draft:
        """The draft, or an abstention when the model said no and its verdict is trusted."""
        if draft.verdict is False and self.trust_answerable and draft.sentences:
            return replace(draft, sentences=[], abstain=True,
                           notes=[*draft.notes, "abstained: the model said the sentences do not "
                                  "answer (its verdict is trusted)"])
        return draft


def gate_for(backend: str, model: str, settings: Settings) -> Gate:
    """The gate for `backend` and `model`: its calibration's, or the uncalibrated default;
    `llm.gate = false` asks the model whenever the hard checks pass, and `llm.trust_answerable`
    (when set) overrides the calibration's verdict rule."""
    found = find(settings, backend, model)
    if found is not None:
        threshold, trust = found.threshold, found.trust_answerable
    else:
        threshold, trust = answerability(settings.index_dir).threshold, True
    cfg = settings.llm
    return Gate(backend, model, threshold if cfg.gate else None,
                trust if cfg.trust_answerable is None else cfg.trust_answerable, found)

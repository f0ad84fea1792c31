"""How a backend's answers are gated: whether it is asked at all, whether an LLM's own
"answerable" verdict counts, and whether an answer is given with confidence or hedged. For an LLM
the first two come from the model's calibration (rag/answering/models.py, fitted by
`rag calibrate` on the gold set's dev split); a backend that needs no model (the extractive one)
goes through the answerability model's own threshold. The bands (abstain / hedged / confident)
are the answerability model's, for every backend: the confidence is the scorer's.

A model nobody calibrated gets a lenient default: it is refused before it is asked only where
the extractive backend itself would abstain (the answerability model's own threshold, chosen so
that at most 5% of answerable dev questions abstain, and the off-topic score floor), its own
verdict is trusted, and the verifier checks every sentence it writes. Every answer it gives says
that it is not calibrated and how to calibrate it.
"""

from __future__ import annotations

from collections.abc import Callable
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
    confident: float = 0.0  # at or above: a confident answer; below: hedged
    contributions: Callable[[dict[str, float]], dict[str, float]] | None = None  # for the notes

    @property
    def note(self) -> str | None:
        """What every answer of an uncalibrated model says (None for a backend with no model)."""
        if self.calibration is not None or not self.model:
            return None
        return (f"this model is not calibrated — `rag calibrate --backend {self.backend} "
                f"--model {self.model}` fits when it is asked and whether its own verdict "
                "counts (until then: the extractive backend's gate)")

    def refuse(self, found: Assessment) -> str | None:
        """None when the backend should be asked; otherwise why the answer is an abstention."""
        refused = REFUSED if self.model else "abstained"
        if found.unmet:
            return f"{refused}: {found.unmet}"
        if not found.ranked:
            return f"{refused}: no passage sentence to answer with"
        if self.threshold is not None and found.confidence < self.threshold:
            source = ("its calibration" if self.calibration else
                      "the uncalibrated default; llm.gate" if self.model else "answerability")
            return (f"{refused}: confidence {found.confidence:.3f} is below "
                    f"{self.threshold:.3f} ({source}){self._against(found.features)}")
        return None

    def hedged(self, confidence: float) -> bool:
        """Answered, but in the middle band: the answer says the documents may not answer."""
        return confidence < self.confident

    def _against(self, values: dict[str, float]) -> str:
        """The features that weighed most against answering."""
        terms = self.contributions(values) if self.contributions and values else {}
        against = [f"{k} {values[k]:.2f}" for k, v in sorted(terms.items(), key=lambda kv: kv[1])
                   if v < 0]
        return f"; most against answering: {', '.join(against[:4])}" if against else ""

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
    found = find(settings, backend, model) if model else None
    own = answerability(settings.index_dir)
    if found is not None:
        threshold, trust = found.threshold, found.trust_answerable
    else:
        threshold, trust = own.threshold, True
    cfg = settings.llm
    return Gate(backend, model, threshold if cfg.gate or not model else None,
                trust if cfg.trust_answerable is None else cfg.trust_answerable, found,
                own.confident_from, own.contributions if own.features else None)

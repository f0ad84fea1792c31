"""Whether an LLM backend is asked at all: the same calibrated decision the extractive backend
makes, at the stricter `llm_threshold`.

A model's own "answerable" verdict is not reliable for small models, and asking one costs
seconds; the answerability model (rag/answering/calibration.py) decides first, and the model is
asked only when the retrieved evidence probably answers. `eval/fit.py` chooses the threshold by
cross-validation on the dev split.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.answering.calibration import calibration

if TYPE_CHECKING:
    from rag.answering.assessment import Assessment
    from rag.config import LLMSettings


def why_not_ask(found: Assessment, cfg: LLMSettings) -> str | None:
    """None when the model should be asked; otherwise why the answer is an abstention."""
    if found.unmet:
        return f"abstained without asking the model: {found.unmet}"
    if not found.ranked:
        return "abstained without asking the model: no passage sentence to show it"
    threshold = calibration().answerability.llm_threshold
    if cfg.gate and found.confidence < threshold:
        return (f"abstained without asking the model: confidence {found.confidence:.3f} is "
                f"below llm_threshold {threshold:.3f} (llm.gate)")
    return None

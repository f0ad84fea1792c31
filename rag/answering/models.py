"""What is known of each answer model: its calibration, fitted by `rag calibrate`.

A calibration says how one backend and model is gated: the answerability confidence below
which the model is not asked (or none), and whether its own "answerable" verdict is trusted,
with the figures measured when it was fitted. It is stored per backend and model:

- `<index folder>/calibrations.json`: what `rag calibrate` fitted on this corpus's gold set
  (it survives re-ingesting; `rag ingest --rebuild` keeps it too);
- `rag/answering/models.json`, shipped: the bundled SmolLM2's, fitted on the seed corpus.

The index folder's entry wins. A model with neither is uncalibrated (rag/answering/gate.py).
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from pathlib import Path

from pydantic import BaseModel, Field

from rag.config import Settings

SHIPPED = Path(__file__).with_name("models.json")
FILE = "calibrations.json"


class Figures(BaseModel):
    """What a gating policy gives on a gold split (shares of its questions)."""

    answered: float | None = Field(default=None, description="Answerable questions answered "
                                   "(with at least one verified sentence).")
    abstained_unanswerable: float | None = Field(default=None, description="Unanswerable "
                                                 "questions abstained on.")
    refused_before_asked: float | None = Field(default=None, description="Answerable questions "
                                               "the gate refused before the model was asked.")
    evidence_cited: float | None = Field(default=None, description="Answerable questions "
                                         "answered with a citation of the gold evidence.")
    faithfulness: float | None = Field(default=None, description="Answer sentences that cite "
                                       "a verified span (the verifier drops the others: 1.0).")
    latency_p50_ms: float | None = Field(default=None, description="Whole answer, median.")
    latency_p95_ms: float | None = Field(default=None, description="Whole answer, 95th "
                                         "percentile.")
    answerable: int = Field(default=0, description="Answerable questions measured.")
    unanswerable: int = Field(default=0, description="Unanswerable questions measured.")


class ModelCalibration(BaseModel):
    backend: str = Field(description="Backend name (rag.backends entry point).")
    model: str = Field(description="Model name: the GGUF file's name for llamacpp, the "
                       "server's model name for ollama and openai.")
    threshold: float | None = Field(default=None, description="Answerability confidence "
                                    "below which the model is not asked. None: it is asked "
                                    "whenever the hard checks and the score floor pass.")
    trust_answerable: bool = Field(default=True, description="Abstain when the model says "
                                   "the sentences it was shown do not answer.")
    figures: Figures = Field(default_factory=Figures, description="The chosen policy on the "
                             "whole dev split (in-sample).")
    cv: Figures = Field(default_factory=Figures, description="The policy chosen on the other "
                        "folds, measured on each held-out fold (out-of-fold).")
    provenance: dict[str, object] = Field(default_factory=dict, description="When, at which "
                                          "commit, on which gold file, and with what settings.")

    @property
    def key(self) -> str:
        return key(self.backend, self.model)


def key(backend: str, model: str) -> str:
    return f"{backend}:{model}"


def _read(path: Path) -> dict[str, ModelCalibration]:
    """The file's calibrations, read again only when it changes (the gate asks per question)."""
    try:
        stat = path.stat()
    except OSError:
        return {}
    return dict(_parsed(str(path), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=8)
def _parsed(path: str, mtime_ns: int, size: int) -> dict[str, ModelCalibration]:
    found = json.loads(Path(path).read_text(encoding="utf-8"))
    entries = [ModelCalibration.model_validate(e) for e in found.get("models", [])]
    return {e.key: e for e in entries}


def stored(settings: Settings) -> dict[str, tuple[ModelCalibration, str]]:
    """Every calibration this installation has, by key, with where it is stored."""
    where = Path(settings.index_dir) / FILE
    shipped = {k: (c, "shipped") for k, c in _read(SHIPPED).items()}
    return shipped | {k: (c, str(where)) for k, c in _read(where).items()}


def find(settings: Settings, backend: str, model: str) -> ModelCalibration | None:
    found = stored(settings).get(key(backend, model))
    return found[0] if found else None


def save(calibration: ModelCalibration, path: Path) -> None:
    """Add or replace `calibration` in the file at `path` (written atomically)."""
    entries = _read(path) | {calibration.key: calibration}
    data = {"models": [e.model_dump(mode="json") for e in entries.values()]}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".calibrations-")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)

"""The typed summary of one `rag eval` run, written as summary.json (same keys, same order).

Report, chart, gate and CLI read these fields instead of digging through nested dicts; the
gate's string keys (`test.pipeline.mrr`, `gap.pipeline.hit`, `dev.verifier.number`) resolve
through `Summary.value`.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

Metrics = dict[str, float | None]  # metric name -> value; None: nothing to average over


class SystemScores(BaseModel):
    label: str = Field(description="What the system is (pipeline or a baseline).")
    overall: Metrics = Field(description="Every metric over the split's questions.")
    by_type: dict[str, Metrics] = Field(description="The same per question type, with counts.")


class VerifierScores(BaseModel):
    accuracy: float | None = Field(description="Share of perturbation cases judged right.")
    cases: int = Field(description="How many cases (unchanged, paraphrase, number, ...).")
    by_kind: dict[str, float] = Field(description="Accuracy per kind of case.")


class Counts(BaseModel):
    total: int
    answerable: int
    unanswerable: int


class SplitScores(BaseModel):
    questions: Counts
    systems: dict[str, SystemScores] = Field(description="pipeline first, then baselines.")
    verifier: VerifierScores


class GateResult(BaseModel):
    file: str = Field(description="The thresholds file checked.")
    checked: list[str] = Field(default_factory=list)
    failures: list[str] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list, description="Keys this run did not measure.")
    passed: bool = True
    note: str = ""


class Summary(BaseModel):
    gold: str = Field(description="The gold file scored.")
    k: int = Field(description="Passages retrieved and scored per question.")
    backend: str = Field(description="The answer backend that produced the answers.")
    splits: dict[str, SplitScores] = Field(description="dev and test, each scored on its own.")
    gap: Metrics = Field(description="|dev - test| of each quality metric (both splits only).")
    baseline_builds: dict[str, dict[str, float]] = Field(
        description="Per baseline: build time (s) and chunk count.")
    gate: GateResult | None = Field(default=None, description="The CI gate's verdict.")
    failures: int | None = Field(default=None, description="Failing questions (failures.md).")

    def value(self, key: str) -> float | None:
        """`<split>.<system>.<metric>`, `<split>.verifier.<accuracy or kind>`, or
        `gap.<system>.<metric>`; None when this run did not measure it."""
        split, _, rest = key.partition(".")
        if split == "gap":
            value = self.gap.get(rest)
        elif (block := self.splits.get(split)) is None:
            return None
        else:
            system, _, metric = rest.partition(".")
            if system == "verifier":
                verifier = block.verifier
                value = verifier.accuracy if metric == "accuracy" else verifier.by_kind.get(metric)
            else:
                scores = block.systems.get(system)
                value = scores.overall.get(metric) if scores else None
        return None if value is None else float(value)

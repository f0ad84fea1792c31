"""The typed summary of one `rag eval` run, written as summary.json (same keys, same order).

Report, chart, gate and CLI read these fields instead of digging through nested dicts; the
gate's string keys (`test.pipeline.mrr`, `gap.pipeline.hit`, `dev.verifier.number`,
`test.newcomer.abstained_answerable` for a named set of gold items) resolve through
`Summary.value`.
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


class RiskPoint(BaseModel):
    threshold: float = Field(description="Answer only at confidence >= this (None counts as 0).")
    coverage: float = Field(description="Share of all the split's questions at or above it.")
    risk: float = Field(description="Share of those that are wrong.")


class OperatingPoint(BaseModel):
    coverage: float = Field(description="Share of all the split's questions answered this way.")
    risk: float | None = Field(description="Share of those that are wrong (None: none).")
    curve_risk: float | None = Field(description="The confidence ranking's risk at the first "
                                     "cutoff covering at least as many questions.")


class RiskCoverage(BaseModel):
    """The pipeline's questions ranked by confidence: at each cutoff, how many are answered
    (coverage) and how many of those are wrong (risk). Wrong: unanswerable, or answerable and
    abstained or without a citation relevant to the gold evidence."""

    points: list[RiskPoint] = Field(description="The first cutoff reaching each of 20 evenly "
                                    "spaced coverages (fewer when confidences tie).")
    aurc: float = Field(description="Area under the risk-coverage curve over every cutoff.")
    confident: OperatingPoint = Field(description="The system's own: answered confidently.")
    answered: OperatingPoint = Field(description="The system's own: confidently or hedged.")


class SplitScores(BaseModel):
    questions: Counts
    systems: dict[str, SystemScores] = Field(description="pipeline first, then baselines.")
    verifier: VerifierScores
    sets: dict[str, Metrics] = Field(default_factory=dict, description="The pipeline's "
                                     "outcomes on each named set of gold items (`set`), with "
                                     "counts; a set with no items in the split is absent.")
    risk_coverage: RiskCoverage | None = Field(default=None, description="The pipeline's "
                                               "risk-coverage curve (None: no questions).")


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
        """`<split>.<system>.<metric>`, `<split>.verifier.<accuracy or kind>`,
        `<split>.<set>.<metric>` (a named set of gold items; a system of the same name comes
        first), or `gap.<system>.<metric>`; None when this run did not measure it."""
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
            elif (scores := block.systems.get(system)) is not None:
                value = scores.overall.get(metric)
            else:
                value = block.sets.get(system, {}).get(metric)
        return None if value is None else float(value)

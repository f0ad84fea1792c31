"""The CI gate: floors and ceilings from a committed TOML file, checked against summary.json.

    [min]                       # each metric must be at least this
    "test.pipeline.mrr" = 0.85
    [max]                       # ... at most this
    "test.pipeline.abstained_answerable" = 0.05
    "gap.pipeline.token_recall" = 0.05      # |dev - test|
    [beat]                      # the pipeline must beat every baseline by at least this
    "test.mrr" = 0.05

Keys are `<split>.<system>.<metric>` as in summary.json's splits (`<split>.verifier.accuracy`
or `<split>.verifier.<kind>` for the verifier), `gap.<system>.<metric>` for the difference
between the splits, and `<split>.<metric>` in [beat]. A metric the run did not produce (a split
the gold file lacks, a baseline skipped with --no-baselines, no unanswerable items) is skipped
and listed as such, not failed.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from rag.errors import UsageError
from rag.evaluate.summary import GateResult, Summary


def check(summary: Summary, path: Path) -> GateResult:
    if not path.is_file():
        return GateResult(file=str(path), note=f"no thresholds file at {path}")
    try:
        rules = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise UsageError(f"{path} is not valid TOML: {err}") from err
    result = GateResult(file=str(path))
    bounds = [(key, limit, "min") for key, limit in rules.get("min", {}).items()]
    bounds += [(key, limit, "max") for key, limit in rules.get("max", {}).items()]
    for key, limit, kind in bounds:
        value = summary.value(key)
        if value is None:
            result.skipped.append(f"{key} (not measured in this run)")
            continue
        result.checked.append(key)
        if (value < limit) if kind == "min" else (value > limit):
            sign = "<" if kind == "min" else ">"
            result.failures.append(f"{key} = {value:.4g} {sign} {kind} {limit}")
    for key, margin in rules.get("beat", {}).items():
        _beat(summary, key, margin, result)
    result.passed = not result.failures
    return result


def _beat(summary: Summary, key: str, margin: float, result: GateResult) -> None:
    """`<split>.<metric>`: the pipeline beats every baseline of that split by `margin`."""
    split, _, metric = key.partition(".")
    ours = summary.value(f"{split}.pipeline.{metric}")
    block = summary.splits.get(split)
    for name in [s for s in (block.systems if block else {}) if s != "pipeline"]:
        theirs = summary.value(f"{split}.{name}.{metric}")
        if ours is None or theirs is None:
            result.skipped.append(f"{split}: pipeline vs {name} on {metric} (not measured)")
            continue
        result.checked.append(f"{split}: pipeline beats {name} on {metric}")
        if ours - theirs < margin:
            result.failures.append(f"{split}.pipeline.{metric} = {ours:.4g} does not beat "
                                   f"{split}.{name}.{metric} = {theirs:.4g} by {margin}")

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
from typing import Any

from rag.errors import UsageError


def _value(summary: dict[str, Any], key: str) -> float | None:
    """`<split>.<system>.<metric>`, `<split>.verifier.<accuracy or kind>`, or
    `gap.<system>.<metric>` (the |dev - test| difference)."""
    split, _, rest = key.partition(".")
    if split == "gap":
        value = summary.get("gap", {}).get(rest)
        return None if value is None else float(value)
    block = summary["splits"].get(split)
    if block is None:
        return None
    system, _, metric = rest.partition(".")
    if system == "verifier":
        verifier = block["verifier"]
        value = verifier.get(metric, verifier.get("by_kind", {}).get(metric))
    else:
        value = block["systems"].get(system, {}).get("overall", {}).get(metric)
    return None if value is None else float(value)


def check(summary: dict[str, Any], path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {"file": str(path), "checked": [], "failures": [], "skipped": [], "passed": True,
                "note": f"no thresholds file at {path}"}
    try:
        rules = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise UsageError(f"{path} is not valid TOML: {err}") from err
    checked, failures, skipped = [], [], []
    bounds = [(key, limit, "min") for key, limit in rules.get("min", {}).items()]
    bounds += [(key, limit, "max") for key, limit in rules.get("max", {}).items()]
    for key, limit, kind in bounds:
        value = _value(summary, key)
        if value is None:
            skipped.append(f"{key} (not measured in this run)")
            continue
        checked.append(key)
        if (value < limit) if kind == "min" else (value > limit):
            sign = "<" if kind == "min" else ">"
            failures.append(f"{key} = {value:.4g} {sign} {kind} {limit}")
    for key, margin in rules.get("beat", {}).items():
        split, _, metric = key.partition(".")
        ours = _value(summary, f"{split}.pipeline.{metric}")
        block = summary["splits"].get(split, {"systems": {}})
        for name in [s for s in block["systems"] if s != "pipeline"]:
            theirs = _value(summary, f"{split}.{name}.{metric}")
            if ours is None or theirs is None:
                skipped.append(f"{split}: pipeline vs {name} on {metric} (not measured)")
                continue
            checked.append(f"{split}: pipeline beats {name} on {metric}")
            if ours - theirs < margin:
                failures.append(f"{split}.pipeline.{metric} = {ours:.4g} does not beat "
                                f"{split}.{name}.{metric} = {theirs:.4g} by {margin}")
    return {"file": str(path), "checked": checked, "failures": failures, "skipped": skipped,
            "passed": not failures, "note": ""}

"""The CI gate: floors and ceilings from a committed TOML file, checked against summary.json.

    [min]                       # each metric must be at least this
    "pipeline.mrr" = 0.85
    [max]                       # ... at most this
    "pipeline.abstained_answerable" = 0.05
    [beat]                      # the pipeline must beat every baseline by at least this
    "mrr" = 0.05

Keys are `<system>.<metric>` as in summary.json's "overall" blocks, or `verifier.accuracy`.
A metric the run did not produce (a baseline skipped with --no-baselines, no unanswerable
items in the gold file) is skipped and listed as such, not failed.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from rag.errors import UsageError


def _value(summary: dict[str, Any], key: str) -> float | None:
    system, _, metric = key.partition(".")
    block = summary["verifier"] if system == "verifier" else (
        summary["systems"].get(system, {}).get("overall", {}))
    value = block.get(metric)
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
    baselines = [s for s in summary["systems"] if s != "pipeline"]
    for metric, margin in rules.get("beat", {}).items():
        ours = _value(summary, f"pipeline.{metric}")
        for name in baselines:
            theirs = _value(summary, f"{name}.{metric}")
            if ours is None or theirs is None:
                skipped.append(f"pipeline vs {name} on {metric} (not measured)")
                continue
            checked.append(f"pipeline beats {name} on {metric}")
            if ours - theirs < margin:
                failures.append(f"pipeline.{metric} = {ours:.4g} does not beat {name}.{metric} "
                                f"= {theirs:.4g} by {margin}")
    return {"file": str(path), "checked": checked, "failures": failures, "skipped": skipped,
            "passed": not failures, "note": ""}

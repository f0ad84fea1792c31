"""What the pipeline itself loses: the real pipeline (retrieval, the lines shown, the gate,
parsing, the verifier) answering through the `openai` backend with a rule in place of the model
(tests/llm_servers.py). Writes eval/bench/oracle.json and oracle.md.

    HF_HUB_OFFLINE=1 .venv/bin/python eval/bench_oracle.py                  # dev and test
    HF_HUB_OFFLINE=1 .venv/bin/python eval/bench_oracle.py --limit 50 --out /tmp/oracle

- oracle: quotes the shown lines that hold the gold evidence, says `answerable: false` when
  none does: the ceiling a perfect model reaches through this pipeline. Each answerable
  question it does not answer with a citation of the gold evidence is put at the first stage
  that lost it (LOSSES).
- yes-man: always answerable, quoting line 1: what the verifier (and the gate) let through.

Each three ways: uncalibrated (the default gate of a model nobody calibrated), calibrated
(`rag calibrate` run on the dev split against the same server first, its policy then applied),
and with `llm.gate = false`. A citation "of the gold evidence" is
one `rag eval` scores relevant (rag/evaluate/scores.py `_relevant`); "retrieved" is a retrieved
passage holding a gold quote (rag/evaluate/metrics.py `relevant`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.answering.backends.schema import PARSE_FAILED  # noqa: E402
from rag.answering.pipeline import answer  # noqa: E402
from rag.config import Settings, get_settings  # noqa: E402
from rag.evaluate.gold import GoldItem, load_gold  # noqa: E402
from rag.evaluate.metrics import relevant  # noqa: E402
from rag.evaluate.scores import _covered, _relevant  # noqa: E402
from rag.types import Answer  # noqa: E402
from tests.llm_servers import LLMServer, Record  # noqa: E402

REFUSED = "abstained without asking the model"
VERIFIER = "the verifier found too little support"
FELL_BACK = "the sentence it quoted is given instead"
LOSSES = {  # stage -> what it means, in the order a question meets them
    "not_retrieved": "not retrieved: no retrieved passage holds a gold quote",
    "gate": "refused by the gate (confidence below its threshold) before the model was asked",
    "hard_checks": "refused by the hard checks (unmet constraint, nothing to show) before the "
                   "model was asked",
    "not_asked": "abstained before asking the model for another reason",
    "not_shown": "retrieved, but no line shown to the model holds the gold evidence",
    "model_said_no": "the model said unanswerable although a shown line holds it",
    "parsing": "the reply was dropped by the parser",
    "verifier": "the sentence was dropped by the verifier",
    "judged": "abstained after the model's reply for another reason (the gate's judge)",
    "other_citation": "answered, but citing something else",
}
GATES = ("uncalibrated", "calibrated", "off")
CONFIGS = [(who, gate) for who in ("oracle", "yesman") for gate in GATES]


def settings_for(server: LLMServer, gate: bool) -> Settings:
    return get_settings(llm={"backend": "openai", "base_url": server.url, "model": server.model,
                             "gate": gate, "fallback_extractive": False})


def gold_cited(item: GoldItem, found: Answer) -> bool:
    return not found.abstained and any(_relevant(c, item) for c in found.citations)


def loss(item: GoldItem, found: Answer, record: Record | None) -> str:
    """Where an answerable question that was not answered with the gold evidence was lost."""
    notes = found.notes
    if not any(relevant(p, item.quotes()) for p in found.retrieved):
        return "not_retrieved"
    refused = next((n for n in notes if n.startswith(REFUSED)), None)
    if refused is not None:
        return "gate" if "llm.gate" in refused else "hard_checks"
    if record is None:
        return "not_asked"
    if not record.holding:
        return "not_shown"
    if not record.reply.get("answerable"):
        return "model_said_no"
    if not found.abstained:
        return "other_citation"
    if any(n.startswith(PARSE_FAILED) for n in notes):
        return "parsing"
    if any(VERIFIER in n for n in notes):
        return "verifier"
    if any(n.startswith(("dropped", "removed")) for n in notes):  # the parser's own drops
        return "parsing"
    return "judged"


def calibrated(server: LLMServer, gold: Path, folder: Path) -> Path:
    """`rag calibrate` against `server` on the dev split of `gold`; the file it wrote."""
    from rag.evaluate.calibrate import FLOORS, calibrate

    out = folder / f"{server.model}.json"
    found, _ = calibrate(settings_for(server, True), "openai", gold, out, FLOORS,
                         progress=False)
    print(f"calibrated {server.model}: threshold {found.threshold}, trust "
          f"{found.trust_answerable}; dev {found.figures.model_dump()}", flush=True)
    return out


def run(server: LLMServer, gate: str, items: list[GoldItem],
        calibration: Path | None = None) -> dict[str, Any]:
    from rag.answering import models

    settings = settings_for(server, gate != "off")
    models.SHIPPED = calibration if gate == "calibrated" and calibration else Path("/nonexistent")
    answerable = [i for i in items if i.type != "unanswerable"]
    unanswerable = [i for i in items if i.type == "unanswerable"]
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    for item in items:
        before, server.expect = len(server.requests), item
        found = answer(item.question, backend="openai", settings=settings)
        asked = server.requests[before:]
        record = asked[-1] if asked else None
        row = {"id": item.id, "type": item.type, "abstained": found.abstained,
               "asked": record is not None,
               "lines_shown": None if record is None else len(record.shown),
               "shown_holding": None if record is None else bool(record.holding),
               "gold_cited": gold_cited(item, found) if item.type != "unanswerable" else None,
               "coverage": _covered(item, found.citations) if item.quotes() else None,
               "verifier_dropped": sum(VERIFIER in n for n in found.notes),
               "fell_back": sum(FELL_BACK in n for n in found.notes)}
        if item.type != "unanswerable" and not row["gold_cited"]:
            row["lost_at"] = loss(item, found, record)
        rows.append(row)
    seconds = time.perf_counter() - started
    by_id = {r["id"]: r for r in rows}
    ans = [by_id[i.id] for i in answerable]
    una = [by_id[i.id] for i in unanswerable]

    def share(rs: list[dict[str, Any]], key: str, value: Any = True) -> float | None:
        return round(sum(r[key] == value for r in rs) / len(rs), 4) if rs else None

    return {
        "questions": len(items), "answerable": len(ans), "unanswerable": len(una),
        "answerable_gold_cited": share(ans, "gold_cited"),
        "answerable_answered": share(ans, "abstained", False),
        "answerable_asked": share(ans, "asked"),
        "answerable_shown_gold": share(ans, "shown_holding"),
        "gold_coverage": round(sum(r["coverage"] for r in ans) / len(ans), 4) if ans else None,
        "unanswerable_abstained": share(una, "abstained"),
        "unanswerable_answered": share(una, "abstained", False),
        "unanswerable_asked": share(una, "asked"),
        "lines_shown_mean": round(sum(shown) / len(shown), 2) if (shown := [
            r["lines_shown"] for r in rows if r["lines_shown"] is not None]) else None,
        "sentences_dropped_by_verifier": sum(r["verifier_dropped"] for r in rows),
        "quote_fallbacks": sum(r["fell_back"] for r in rows),
        "losses": dict(Counter(r["lost_at"] for r in ans if "lost_at" in r).most_common()),
        "lost": {r["id"]: r["lost_at"] for r in ans if "lost_at" in r},
        "unanswerable_answered_ids": [r["id"] for r in una if not r["abstained"]],
        "seconds_per_question": round(seconds / max(len(items), 1), 3),
    }


ORACLE_COLUMNS = {"answerable_gold_cited": "answerable: answered citing the gold evidence",
                  "answerable_answered": "answerable: answered",
                  "answerable_shown_gold": "answerable: gold shown to the model",
                  "unanswerable_abstained": "unanswerable: abstained",
                  "lines_shown_mean": "lines shown per prompt (mean)",
                  "quote_fallbacks": "quote fallbacks", "sentences_dropped_by_verifier":
                  "sentences the verifier dropped"}
YESMAN_COLUMNS = {"answerable_answered": "answerable: answered",
                  "answerable_gold_cited": "answerable: answered citing the gold evidence",
                  "unanswerable_answered": "unanswerable: answered (got through)",
                  "unanswerable_asked": "unanswerable: model asked",
                  "sentences_dropped_by_verifier": "sentences the verifier dropped",
                  "quote_fallbacks": "quote fallbacks"}


def _cell(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def markdown(results: dict[str, Any]) -> str:
    out = ["# The pipeline's own losses: oracle and yes-man servers", "",
           f"Ran {results['ran']} (`eval/bench_oracle.py`; uncommitted under rag/: "
           f"{', '.join(results['dirty']) or 'none'}). The real pipeline (retrieval, the "
           "lines shown, the gate, parsing, the verifier) through the `openai` backend, with "
           "tests/llm_servers.py in place of the model; `llm.fallback_extractive` off. "
           "**oracle** quotes the shown lines that hold the gold evidence (or says "
           "`answerable: false`): the ceiling of a perfect model. **yes-man** always says "
           "answerable and quotes line 1. *uncalibrated*: the gate of a model nobody "
           "calibrated; *calibrated*: the policy `rag calibrate` fitted against the same server "
           "on the dev split; *gate off*: `llm.gate = false`.", ""]
    for who, c in results.get("calibrations", {}).items():
        cut = "none" if c["threshold"] is None else f"{c['threshold']:.3f}"
        out.append(f"- `rag calibrate` for {who}: threshold {cut}, verdict "
                   f"{'trusted' if c['trust_answerable'] else 'not trusted'}; dev answered "
                   f"{c['figures']['answered']} (CV {c['cv']['answered']}), unanswerable "
                   f"abstained {c['figures']['abstained_unanswerable']} (CV "
                   f"{c['cv']['abstained_unanswerable']})")
    out.append("")
    for split, configs in results["splits"].items():
        first = next(iter(configs.values()))
        out += [f"## {split} ({first['answerable']} answerable, {first['unanswerable']} "
                "unanswerable)", ""]
        for who, columns in (("oracle", ORACLE_COLUMNS), ("yesman", YESMAN_COLUMNS)):
            names = [n for n in configs if n.startswith(who)]
            if not names:
                continue
            out += ["| " + who + " | " + " | ".join(names) + " |",
                    "|---|" + "---:|" * len(names)]
            out += [f"| {label} | " + " | ".join(_cell(configs[n][key]) for n in names) + " |"
                    for key, label in columns.items()]
            out.append("")
        out += ["Where the answerable questions not answered with the gold evidence were lost "
                "(first stage that lost each):", "",
                "| stage | " + " | ".join(configs) + " |", "|---|" + "---:|" * len(configs)]
        for stage, text in LOSSES.items():
            counts = [configs[n]["losses"].get(stage, 0) for n in configs]
            if any(counts):
                out.append(f"| {text} | " + " | ".join(map(str, counts)) + " |")
        out.append("")
    out += ["Stages: " + "; ".join(f"`{k}`: {v}" for k, v in LOSSES.items()) + ".", ""]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", nargs="+", default=["dev", "test"])
    parser.add_argument("--limit", type=int, default=None, help="first N items of each split")
    parser.add_argument("--gold", type=Path, default=ROOT / "eval" / "gold.jsonl")
    parser.add_argument("--out", type=Path, default=ROOT / "eval" / "bench")
    args = parser.parse_args()
    gold = load_gold(args.gold)

    def git(*cmd: str) -> str:
        return subprocess.run(["git", *cmd], cwd=ROOT, capture_output=True,
                              text=True).stdout.rstrip()

    results: dict[str, Any] = {
        "ran": f"{time.strftime('%Y-%m-%d %H:%M')} at {git('rev-parse', '--short', 'HEAD')}",
        "dirty": [line[3:] for line in git("status", "--short", "rag").splitlines()],
        "limit": args.limit, "splits": {}}
    servers = {who: LLMServer(who, gold) for who in ("oracle", "yesman")}
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="bench-oracle-"))
    try:
        fitted = {who: calibrated(server, args.gold, folder) for who, server in servers.items()}
        results["calibrations"] = {who: json.loads(path.read_text())["models"][0]
                                   for who, path in fitted.items()}
        for split in args.splits:
            items = [i for i in gold if i.split == split][:args.limit]
            results["splits"][split] = {}
            for who, gate in CONFIGS:
                name = f"{who}, {gate}" if gate != "off" else f"{who}, gate off"
                found = run(servers[who], gate, items, fitted[who])
                results["splits"][split][name] = found
                print(f"{split} {name}: " + ", ".join(
                    f"{k} {v}" for k, v in found.items() if k not in ("lost", "unanswerable_"
                                                                     "answered_ids")),
                      flush=True)
    finally:
        for server in servers.values():
            server.stop()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "oracle.json").write_text(json.dumps(results, indent=1) + "\n")
    (args.out / "oracle.md").write_text(markdown(results))
    print(f"wrote {args.out / 'oracle.md'} and oracle.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

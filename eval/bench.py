"""Performance benchmark: ingest, cold start, warm latency against vanilla llama-index, memory,
and growth with corpus size. Writes eval/bench/bench.json, bench.md and bench.png.

    .venv/bin/python eval/bench.py              # 1x and 10x the corpus: about 10 minutes
    .venv/bin/python eval/bench.py --scales 1 10 100   # adds 100x (about an hour here)

Every timing that a user would see as a command is taken from a fresh process (`rag ingest`,
`rag ask`); warm latencies are taken in one process after a warm-up, first the pipeline's over
all gold questions, then the vanilla retriever's over the same questions.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RAG = str(Path(sys.executable).with_name("rag"))
# Runs the rag command in this child process and reports its peak memory (KiB) on stderr.
MEASURED = ("import resource, sys; from rag.cli import main; code = main(sys.argv[1:]); "
            "print('MAXRSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
            "file=sys.stderr); sys.exit(code)")


def run(*args: str, env: dict[str, str] | None = None,
        code: str = MEASURED) -> dict[str, Any]:
    """`rag ARGS` (or the script `code`) in a fresh process: wall seconds, peak memory (MB) of
    that process (ingest's export process aside: it ends before the ingest does), output."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                          text=True, cwd=ROOT, env={**os.environ, **(env or {})})
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"rag {' '.join(args)} failed:\n{done.stderr}")
    rss = re.search(r"MAXRSS (\d+)", done.stderr)
    return {"seconds": round(seconds, 2), "peak_mb": round(int(rss.group(1)) / 1024, 1)
            if rss else None, "stdout": done.stdout.strip()}


def synthesize(target: Path, scale: int) -> Path:
    """The corpus `scale` times: copy i of each paper has its paragraphs in another order and
    its own first line, so every copy is a different document of the same shape."""
    source = ROOT / "corpus"
    target.mkdir(parents=True)
    shutil.copy(source / "metadata.toml", target / "metadata.toml")
    for path in sorted(source.glob("*.txt")):
        paragraphs = path.read_text("utf-8").split("\n\n")
        for i in range(scale):
            if i:
                random.Random(i).shuffle(paragraphs)
            text = (f"Copy {i} of {path.stem}.\n\n" if i else "") + "\n\n".join(paragraphs)
            (target / (path.name if not i else f"{path.stem}-copy{i:03d}.txt")).write_text(
                text, encoding="utf-8")
    return target


def ingest_runs(corpus: Path, index: Path) -> dict[str, Any]:
    where = ["--corpus", str(corpus), "--index", str(index), "--quiet"]
    cold = run("ingest", *where)
    unchanged = run("ingest", *where)
    docs = sorted(corpus.glob("*.txt"), key=lambda p: p.stat().st_size)
    changed = {}
    for label, path in (("smallest", docs[0]), ("largest", docs[-1])):
        path.write_text(path.read_text("utf-8") + "\n\nA paragraph added for the benchmark.\n",
                        encoding="utf-8")
        result = run("ingest", *where)
        embedded = re.search(r"(\d+) chunks embedded", result["stdout"])
        changed[label] = {**result, "doc": path.name, "doc_kb": round(path.stat().st_size / 1e3),
                          "chunks_embedded": int(embedded.group(1)) if embedded else None}
    chunks = int(re.search(r"Index: \d+ documents, (\d+) chunks", cold["stdout"]).group(1))
    return {"cold": cold, "unchanged": unchanged, "one_changed": changed, "chunks": chunks,
            "chunks_per_s": round(chunks / cold["seconds"], 1)}


VANILLA = ("import resource, sys; "
           "sys.path.insert(0, 'eval'); from bench_vanilla_ingest import main; "
           "from pathlib import Path; code = main(Path(sys.argv[1]), Path(sys.argv[2])); "
           "print('MAXRSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
           "file=sys.stderr); sys.exit(code)")


def vanilla_ingest(corpus: Path, index: Path) -> dict[str, Any]:
    """Vanilla llama-index's ingest of the same corpus (eval/bench_vanilla_ingest.py), in a
    fresh process like `rag ingest`."""
    return run(str(corpus), str(index), code=VANILLA)


def cold_ask(corpus: Path, index: Path, times: int = 3) -> dict[str, Any]:
    runs = [run("ask", "When was the Astana Treaty signed?", "--corpus", str(corpus), "--index",
                str(index)) for _ in range(times)]
    return {"seconds": sorted(r["seconds"] for r in runs)[times // 2],
            "all": [r["seconds"] for r in runs]}


def warm(corpus: Path, index: Path, vanilla: bool,
         precision: str | None = None) -> dict[str, Any]:
    """Warm latencies in a fresh process (eval/bench_warm.py), with its peak memory;
    `precision` overrides the query encoder's (embed.onnx_precision)."""
    args = [sys.executable, str(ROOT / "eval" / "bench_warm.py"), str(corpus), str(index)]
    env = {**os.environ, **({"RAG_EMBED__ONNX_PRECISION": precision} if precision else {})}
    done = subprocess.run(args + (["--vanilla"] if vanilla else []), capture_output=True,
                          text=True, cwd=ROOT, env=env)
    if done.returncode:
        raise SystemExit(f"warm latency run failed:\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def throughput(corpus: Path, index: Path) -> dict[str, Any]:
    """The embedder's raw speed on the texts ingest embeds (eval/bench_embed.py)."""
    done = subprocess.run([sys.executable, str(ROOT / "eval" / "bench_embed.py"), str(corpus),
                           str(index)], capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        raise SystemExit(f"throughput run failed:\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--out", type=Path, default=ROOT / "eval" / "bench")
    parser.add_argument("--merge", action="store_true", help="keep the other scales' results "
                        "already in OUT/bench.json (each records when it ran)")
    parser.add_argument("--keep", type=Path, help="build the corpora and indexes in this "
                        "folder and keep them (default: a temporary folder)")
    args = parser.parse_args()
    from bench_report import write  # eval/bench_report.py

    machine = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    old = args.out / "bench.json"
    results: dict[str, Any] = json.loads(old.read_text()) if args.merge and old.is_file() \
        else {"machine": machine, "scales": {}}
    if args.keep:
        shutil.rmtree(args.keep, ignore_errors=True)
    folder = contextlib.nullcontext(str(args.keep)) if args.keep else \
        tempfile.TemporaryDirectory(prefix="rag-bench-")
    with folder as tmp:
        for scale in args.scales:
            corpus = synthesize(Path(tmp) / f"corpus-{scale}x", scale)
            index = Path(tmp) / f"index-{scale}x"
            print(f"{scale}x: ingest ...", flush=True)
            files = list(corpus.glob("*.txt"))
            commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                    capture_output=True, text=True).stdout.strip()
            entry = {"ran": f"{time.strftime('%Y-%m-%d %H:%M')} at {commit or '?'}",
                     "documents": len(files),
                     "corpus_mb": round(sum(p.stat().st_size for p in files) / 1e6, 2),
                     "ingest": ingest_runs(corpus, index)}
            print(f"{scale}x: questions ...", flush=True)
            entry["warm"] = warm(corpus, index, vanilla=scale == 1)
            if scale == 1:
                entry["vanilla_ingest"] = vanilla_ingest(corpus, Path(tmp) / "vanilla-1x")
                # the int8 export is made by an ingest that asks for it (nothing to embed)
                run("ingest", "--corpus", str(corpus), "--index", str(index), "--quiet",
                    env={"RAG_EMBED__ONNX_PRECISION": "int8"})
                entry["throughput"] = throughput(corpus, index)
                entry["warm_int8"] = warm(corpus, index, vanilla=True, precision="int8")
                entry["cold_ask"] = cold_ask(corpus, index)
            results["scales"][str(scale)] = entry
            print(json.dumps({scale: entry}), flush=True)
    results["scales"] = dict(sorted(results["scales"].items(), key=lambda kv: int(kv[0])))
    write(results, args.out)
    print(f"Report: {args.out}/bench.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())

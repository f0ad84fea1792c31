"""bench.json, bench.md and bench.png from eval/bench.py's results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TARGETS = """Targets. Issue 8: warm answer p50 <= 30 ms at 1x and <= 60 ms at 100x; retrieval
>= 3x faster than vanilla llama-index; `rag ask` cold start <= 6 s; query cost sub-linear in
corpus size. Issue 17: cold ingest at 1x <= 12 s and at or below vanilla llama-index's in the
same run; 100x <= 8 minutes, at >= 70% of the embedder's throughput; ingest peak <= 1 GB at
every scale; at 100x one changed document <= 5 s and an unchanged re-ingest <= 2 s."""


def _table(results: dict[str, Any]) -> list[str]:
    rows = ["| scale | documents | chunks | cold ingest (s) | chunks/s | ingest peak (MB) | "
            "re-ingest unchanged (s) | one doc changed: smallest / largest (s, chunks) | "
            "answer p50 / p95 (ms) | retrieval p50 / p95 (ms) | answering p50 (ms) | "
            "query process peak (MB) |", "|" + "---|" * 12]
    for scale, e in results["scales"].items():
        i, w = e["ingest"], e["warm"]
        one = " / ".join(f"{c['seconds']} ({c['chunks_embedded']})"
                         for c in i["one_changed"].values())
        rows.append(f"| {scale}x | {e['documents']} | {i['chunks']} | {i['cold']['seconds']} | "
                    f"{i['chunks_per_s']} | {i['cold']['peak_mb']} | {i['unchanged']['seconds']}"
                    f" | {one} | {w['total']['p50']} / {w['total']['p95']} | "
                    f"{w['retrieve']['p50']} / {w['retrieve']['p95']} | {w['answer']['p50']} | "
                    f"{w['peak_mb']} |")
    return rows


def markdown(results: dict[str, Any]) -> str:
    lines = ["# Benchmark", "", f"Machine: {results['machine']}. Written by `eval/bench.py`.",
             "", TARGETS, "", *_table(results), ""]
    scales = list(results["scales"].items())
    lines.append("Runs: " + "; ".join(f"{k}x {e.get('ran', '?')}" for k, e in scales) + ".")
    if len(scales) > 1:
        (a, first), (b, last) = scales[0], scales[-1]
        grew = last["warm"]["total"]["p50"] / first["warm"]["total"]["p50"]
        size = last["ingest"]["chunks"] / first["ingest"]["chunks"]
        lines += ["", f"Growth: from {a}x to {b}x the index has {size:.0f}x the chunks and the "
                  f"warm answer p50 is {grew:.1f}x: sub-linear." if grew < size else
                  f"Growth: the answer p50 grew {grew:.1f}x for {size:.0f}x the chunks.", ""]
    one = results["scales"].get("1")
    if one:
        w = one["warm"]
        lines += [f"Retrieval at 1x: pipeline p50 {w['retrieve']['p50']} ms, vanilla llama-index "
                  f"p50 {w['vanilla']['p50']} ms (p95 {w['vanilla']['p95']}): the pipeline is "
                  f"{w['vanilla_over_pipeline_retrieval']}x faster (fp32 query encoder, the "
                  "default).",
                  *_int8(one.get("warm_int8")),
                  *_vanilla_ingest(one),
                  *_throughput(results),
                  f"`rag ask` cold start (process start to answer printed): median "
                  f"{one['cold_ask']['seconds']} s of {one['cold_ask']['all']}.", ""]
    return "\n".join(lines)


def _vanilla_ingest(one: dict[str, Any]) -> list[str]:
    v = one.get("vanilla_ingest")
    if not v:
        return []
    cold = one["ingest"]["cold"]
    return [f"Cold ingest at 1x: `rag ingest` {cold['seconds']} s (peak {cold['peak_mb']} MB, "
            f"ONNX export included), vanilla llama-index (eval/bench_vanilla_ingest.py: "
            f"SimpleDirectoryReader, default SentenceSplitter, HuggingFaceEmbedding, Chroma on "
            f"disk; {v['stdout']}) {v['seconds']} s (peak {v['peak_mb']} MB)."]


def _throughput(results: dict[str, Any]) -> list[str]:
    """The embedder's speed on the 1x texts, and each scale's ingest as a share of it (the
    model's time for that scale's tokens, estimated from 1x at the same tokens per second)."""
    one = results["scales"].get("1", {})
    t = one.get("throughput")
    if not t:
        return []
    kinds = [("onnx_int8", "ONNX int8 (what ingest embeds documents with)"),
             ("onnx_fp32", "ONNX fp32"), ("sentence_transformers", "sentence-transformers (torch)")]
    rates = "; ".join(f"{label} {t[k]['texts_per_s']} texts/s, {t[k]['tokens_per_s']} tokens/s "
                      f"({t[k]['seconds']} s)" for k, label in kinds if k in t)
    lines = [f"Embedder throughput at 1x, on the {t['texts']} distinct chunks ({t['tokens']} "
             f"tokens) an ingest runs through the model (sentence vectors are pooled from them), "
             f"in ingest's batches: {rates}."]
    if "onnx_int8" in t:
        shares = []
        for scale, e in results["scales"].items():
            model = t["onnx_int8"]["seconds"] * e["ingest"]["chunks"] / one["ingest"]["chunks"]
            cold = e["ingest"]["cold"]["seconds"]
            shares.append(f"{scale}x {cold} s, {model / cold:.0%}")
        lines.append("Cold ingest against the int8 encoder's time for the same number of chunks "
                     "(model time / ingest time; at 1x the ingest includes the one-off export "
                     "and the imports): " + "; ".join(shares) + ".")
    return lines


def _int8(w: dict[str, Any] | None) -> list[str]:
    if not w:
        return []
    return [f"With the int8 query encoder (`RAG_EMBED__ONNX_PRECISION=int8`), in a process of "
            f"its own: pipeline retrieval p50 {w['retrieve']['p50']} ms, answer p50 "
            f"{w['total']['p50']} ms, vanilla p50 {w['vanilla']['p50']} ms: "
            f"{w['vanilla_over_pipeline_retrieval']}x."]


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scales = results["scales"]
    chunks = [e["ingest"]["chunks"] for e in scales.values()]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.plot(chunks, [e["ingest"]["chunks_per_s"] for e in scales.values()], "o-")
    left.set(xscale="log", xlabel="chunks in the index", ylabel="chunks per second",
             title="Cold ingest throughput")
    for key, style in (("p50", "o-"), ("p95", "s--")):
        right.plot(chunks, [e["warm"]["total"][key] for e in scales.values()], style,
                   label=f"answer {key}")
    first = next(iter(scales.values()))["warm"]["total"]["p50"]
    right.plot(chunks, [first * c / chunks[0] for c in chunks], ":", color="grey",
               label="linear in size (from 1x p50)")
    right.set(xscale="log", yscale="log", xlabel="chunks in the index", ylabel="ms",
              title="Warm answer latency (extractive, k=5)")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def write(results: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(results, indent=2))
    (out / "bench.md").write_text(markdown(results))
    chart(results, out / "bench.png")

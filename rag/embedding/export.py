"""Exporting the embedding model to ONNX, once per model and index (rag/embedding/encoder.py says
why and loads the exports).

A BERT's graphs are written from its weights without torch, where importing torch and tracing
the model took 15-20 s: the fp32 export directly with onnxruntime's fused operators
(rag/embedding/bert_fused.py, 0.4 s), the int8 one the same with 7-bit weights
(rag/embedding/bert_int8.py). Any other model is traced with torch.onnx, then fused by
onnxruntime's BERT optimizer or quantized by its quantize_dynamic. Each export is kept only if
it gives (nearly) the vectors of sentence-transformers on two probes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from rag.embedding import bert_fused, bert_int8
from rag.embedding.embed import get_embedder, resolve_model_path
from rag.embedding.encoder import onnx_path

# How closely each export must agree with sentence-transformers (cosine, on the probes)
MIN_COSINE = {"fp32": 0.9999, "int8": 0.98}
PROBES = ["When did the EAEU treaty enter into force?", "Russia and the SCO after 2022."]


def export(model: str, index_dir: Path, precisions: tuple[str, ...] = ("fp32",)) -> str | None:
    """Make the exports of `model` in these precisions that are not there yet; None, or why
    they cannot be used."""
    current = {onnx_path(index_dir, model, p).name for p in ("fp32", "int8")}
    for older in onnx_path(index_dir, model).parent.glob(f"{Path(model).name}.*onnx"):
        if older.name not in current:
            older.unlink(missing_ok=True)  # of another exporter version (encoder.py)
    missing = [p for p in precisions if not onnx_path(index_dir, model, p).is_file()]
    if not missing:
        return None
    onnx_path(index_dir, model).parent.mkdir(parents=True, exist_ok=True)
    try:
        problems = [_make(model, index_dir, precision) for precision in missing]
    except Exception as err:  # an exporter failure must not fail the ingest
        for leftover in onnx_path(index_dir, model).parent.glob(f"*.{os.getpid()}.tmp"):
            leftover.unlink(missing_ok=True)
        return f"the ONNX export of {model} failed ({type(err).__name__}: {err})"
    return "; ".join(p for p in problems if p) or None


def _make(model: str, index_dir: Path, precision: str) -> str | None:
    """One export, kept only if it agrees with the model; None, or why not."""
    import onnx

    model_dir, target = resolve_model_path(model), onnx_path(index_dir, model, precision)
    # a name of this process's own: shard workers (rag/index/shards.py) may export at once
    tmp = target.with_name(f"{target.stem}.{os.getpid()}.tmp")
    if bert_fused.supported(model_dir):  # the optimizer's fused graph, written directly
        fused = bert_fused.fused(model_dir)
        onnx.save(fused if precision == "fp32" else bert_int8.quantized(fused), str(tmp))
    else:
        graph = _graph(model)
        if isinstance(graph, str):
            return graph
        _derive(model, graph, tmp, precision)
    return _accept(model, tmp, target, precision)


@functools.cache
def _graph(model: str) -> Any:
    """The model's graph traced by torch.onnx (an onnx ModelProto), or why there is none."""
    model_dir = resolve_model_path(model)
    try:
        import onnx
        import torch
        from transformers import AutoModel
    except ImportError as err:
        return f"the ONNX query encoder needs {err.name} (pip install onnx)"
    with tempfile.TemporaryDirectory() as tmp:
        _trace(model_dir, Path(tmp) / "raw.onnx", torch, AutoModel)
        return onnx.load(str(Path(tmp) / "raw.onnx"))


def _trace(model_dir: Path, target: Path, torch: Any, auto_model: Any) -> None:
    bert = auto_model.from_pretrained(str(model_dir), attn_implementation="eager").eval()

    class Hidden(torch.nn.Module):  # type: ignore[misc]
        """The last hidden state, from keyword arguments (BertModel.forward's positional
        arguments are not these three)."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    ids = torch.ones(1, 8, dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes; the result is checked
        torch.onnx.export(Hidden(), (ids, torch.ones_like(ids), torch.zeros_like(ids)),
                          str(target), input_names=names, output_names=["hidden"],
                          opset_version=17, dynamic_axes={n: axes for n in [*names, "hidden"]},
                          dynamo=False)


def _derive(model: str, graph: Any, tmp: Path, precision: str) -> None:
    """Write the fp32 (fused by onnxruntime's BERT optimizer) or int8 export of the plain
    graph (left unchanged) to `tmp`."""
    from onnx import ModelProto
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    copy = ModelProto()
    copy.CopyFrom(graph)  # both tools change the graph they are given
    root, level = logging.getLogger(), logging.getLogger().level
    root.setLevel(logging.ERROR)  # both tools chat through the root logger
    try:
        if precision == "fp32":
            heads, hidden = _shape(resolve_model_path(model))
            # opt_level 0: the BERT fusions only (its onnxruntime pre-pass imports torch)
            optimize_model(copy, model_type="bert", num_heads=heads, hidden_size=hidden,
                           opt_level=0).save_model_to_file(str(tmp))
        else:  # per channel, MatMul only: per-tensor int8 moved the vectors enough to cost
            # MRR; 7-bit (reduce_range): the same integers on every CPU (rag/embedding/bert_int8.py)
            quantize_dynamic(copy, tmp, per_channel=True, reduce_range=True,
                             weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"])
    finally:
        root.setLevel(level)


def _shape(model_dir: Path) -> tuple[int, int]:
    """Attention heads and hidden size, from the model's config.json."""
    config = json.loads((model_dir / "config.json").read_text())
    return int(config["num_attention_heads"]), int(config["hidden_size"])


def _accept(model: str, tmp: Path, target: Path, precision: str) -> str | None:
    """Keep an export only if it gives (nearly) the vectors of sentence-transformers."""
    from rag.embedding.onnx_model import OnnxModel

    vectors = OnnxModel(tmp, resolve_model_path(model)).embed(PROBES)
    cosine = min(float(np.dot(a, b)) for a, b in zip(vectors, reference(model), strict=True))
    if cosine < MIN_COSINE[precision]:
        tmp.unlink(missing_ok=True)
        return f"the {precision} ONNX export of {model} disagrees with it (cosine {cosine:.5f})"
    tmp.replace(target)
    return None


@functools.cache
def reference(model: str) -> list[list[float]]:
    """sentence-transformers' vectors of the probes: stored for the shipped model's weights
    (reference.json, made with sentence-transformers), so that checking an export needs no
    torch; computed for any other model."""
    weights = resolve_model_path(model) / "model.safetensors"
    if weights.is_file():
        digest = hashlib.sha256(weights.read_bytes()).hexdigest()
        stored = json.loads((Path(__file__).parent / "reference.json").read_text()).get(digest)
        if stored and stored["probes"] == PROBES:
            return [list(map(float, v)) for v in stored["vectors"]]
    return get_embedder(model).get_text_embedding_batch(PROBES)

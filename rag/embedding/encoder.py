"""The encoder: the embedding model exported to ONNX once, at ingest, and run with onnxruntime —
by ingest for the documents (fp32 only, rag/index/build.py `document_embedder`) and at question
time for questions.

Why not sentence-transformers at question time: importing it (torch, transformers) takes 8-9 s
and one short query takes ~10 ms on this CPU; onnxruntime imports in 0.1 s and takes 2.8 ms,
with the same vectors (cosine > 0.9999, checked at export). sentence-transformers' own ONNX backend
needs `optimum` and still imports torch, so the export is done here with torch.onnx (needs the
`onnx` package, at ingest only), and the ONNX model is a llama-index `BaseEmbedding` like the other.
Without the exported file (or onnxruntime) the searcher uses sentence-transformers instead.

Two exports are kept, and `embed.onnx_precision` picks one (measured on a 2-core CPU, one
short question): fp32, the default, with onnxruntime's BERT operator fusion (same vectors;
2.8 ms), and an int8 one, the raw export quantized per channel by onnxruntime (cosine >= 0.98
to the model's vectors on the gold questions; 1.6 ms). int8 is not the default because its
integer kernels differ between CPUs (u8 x s8 products saturate in AVX2's VPMADDUBSW and not in
AVX-512 VNNI), so its rankings depend on the machine (issue 15). Each is kept only if it
passes its check.
"""

from __future__ import annotations

import functools
import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.embedding.embed import get_embedder, resolve_model_path

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

    from rag.config import Settings

# How closely each export must agree with sentence-transformers (cosine, on the probes)
MIN_COSINE = {"fp32": 0.9999, "int8": 0.98}
_PROBES = ["When did the EAEU treaty enter into force?", "Russia and the SCO after 2022."]


def onnx_path(index_dir: Path, model: str, precision: str = "fp32") -> Path:
    """Where an export of `model` lives: beside the generations, shared by all of them."""
    return index_dir / "encoders" / f"{Path(model).name}.{precision}.onnx"


def export(model: str, index_dir: Path) -> str | None:
    """Export `model` in both precisions unless they are there already; None, or why they
    cannot be used."""
    target = onnx_path(index_dir, model)
    target.with_name(f"{Path(model).name}.onnx").unlink(missing_ok=True)  # before both existed
    if target.is_file() and onnx_path(index_dir, model, "int8").is_file():
        return None
    try:
        import onnx  # noqa: F401  (torch.onnx needs it)
        import torch
        from transformers import AutoModel
    except ImportError as err:
        return f"the ONNX query encoder needs {err.name} (pip install onnx)"
    try:
        return _export(model, target, torch, AutoModel)
    except Exception as err:  # an exporter failure must not fail the ingest
        for leftover in target.parent.glob("*.tmp"):
            leftover.unlink(missing_ok=True)
        return f"the ONNX export of {model} failed ({type(err).__name__})"


def _export(model: str, target: Path, torch: Any, auto_model: Any) -> str | None:
    model_dir = resolve_model_path(model)
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

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".raw")
    ids = torch.ones(1, 8, dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes; the result is checked below
        torch.onnx.export(Hidden(), (ids, torch.ones_like(ids), torch.zeros_like(ids)), str(tmp),
                          input_names=names, output_names=["hidden"], opset_version=17,
                          dynamic_axes={n: axes for n in [*names, "hidden"]}, dynamo=False)
    try:
        return _derive(model, tmp, target, bert.config)
    finally:
        tmp.unlink(missing_ok=True)


def _derive(model: str, raw: Path, target: Path, config: Any) -> str | None:
    """The two exports from the raw one, each kept only if it agrees with the model."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    fused, int8 = target.with_suffix(".tmp"), onnx_path(target.parent.parent, model, "int8")
    root, level = logging.getLogger(), logging.getLogger().level
    root.setLevel(logging.ERROR)  # both tools chat through the root logger
    try:
        optimize_model(str(raw), model_type="bert", num_heads=config.num_attention_heads,
                       hidden_size=config.hidden_size).save_model_to_file(str(fused))
        # Per channel and MatMul only: per-tensor int8 moved the vectors enough to cost MRR.
        quantize_dynamic(raw, int8.with_suffix(".tmp"), per_channel=True,
                         weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"])
    finally:
        root.setLevel(level)
    problems = [_accept(model, fused, target, "fp32"),
                _accept(model, int8.with_suffix(".tmp"), int8, "int8")]
    return "; ".join(p for p in problems if p) or None


def _accept(model: str, tmp: Path, target: Path, precision: str) -> str | None:
    """Keep an export only if it gives (nearly) the vectors of sentence-transformers."""
    from rag.embedding.onnx_embedding import OnnxEmbedding

    onnx_model = OnnxEmbedding(tmp, resolve_model_path(model))
    cosine = min(float(np.dot(a, b)) for a, b in zip(
        onnx_model.embed(_PROBES), _reference(model), strict=True))
    if cosine < MIN_COSINE[precision]:
        tmp.unlink(missing_ok=True)
        return f"the {precision} ONNX export of {model} disagrees with it (cosine {cosine:.5f})"
    tmp.replace(target)
    return None


@functools.cache
def _reference(model: str) -> list[list[float]]:
    return get_embedder(model).get_text_embedding_batch(_PROBES)


def exported(settings: Settings, precisions: list[str]) -> BaseEmbedding | None:
    """The first of these exports that ingest made and that loads, or None (then the caller
    uses sentence-transformers)."""
    embed = settings.embed
    for precision in dict.fromkeys(precisions) if embed.onnx else []:
        onnx = load(onnx_path(settings.index_dir, embed.model, precision), embed.model)
        if onnx is not None:
            return onnx
    return None


@functools.cache
def load(onnx_file: Path, model: str) -> BaseEmbedding | None:
    """The exported encoder (once per process), or None when it is not there or not usable."""
    if not onnx_file.is_file():
        return None
    from rag.embedding.onnx_embedding import OnnxEmbedding

    try:
        return OnnxEmbedding(onnx_file, resolve_model_path(model))
    except Exception:  # onnxruntime missing or the file unreadable: sentence-transformers instead
        return None

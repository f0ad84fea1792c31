"""A BERT encoder's graph with onnxruntime's fused operators, written from its safetensors
weights, without torch.

Why by hand: the exporters (torch.onnx, optimum) need torch, and importing it plus tracing the
model took 15-20 s of a first `rag ingest`, longer than the ingest itself (issue 17); and
onnxruntime's BERT optimizer, run on a plain graph, took 1.5 s more (its import and shape
inference). These are the nodes the optimizer makes from torch.onnx's graph of BertModel
(EmbedLayerNormalization, then per layer Attention, MatMul, SkipLayerNormalization, MatMul,
BiasGelu, MatMul, SkipLayerNormalization). rag/embedding/export.py checks the result against
sentence-transformers like any export; tests/test_export.py checks that the optimizer makes
exactly this graph from a plain one (tests/bert_plain.py). Models of other architectures are
exported with torch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

MS = "com.microsoft"


def supported(model_dir: Path) -> bool:
    """Whether `fused` can write `model_dir`'s graph (a BERT with absolute positions)."""
    try:
        config = json.loads((model_dir / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return bool(config.get("model_type") == "bert" and config.get("hidden_act") == "gelu"
                and config.get("position_embedding_type", "absolute") == "absolute"
                and (model_dir / "model.safetensors").is_file())


def weights_of(model_dir: Path) -> dict[str, Any]:
    """The model's weights by name (numpy arrays), without a "bert." prefix."""
    from safetensors.numpy import load_file

    return {k.removeprefix("bert."): v for k, v in
            load_file(str(model_dir / "model.safetensors")).items()}


def fused(model_dir: Path) -> Any:
    """The fused graph (an onnx ModelProto): inputs input_ids, attention_mask, token_type_ids
    (batch, tokens), output hidden (batch, tokens, hidden size)."""
    from onnx import TensorProto, helper, numpy_helper

    config = json.loads((model_dir / "config.json").read_text())
    w, eps = weights_of(model_dir), float(config["layer_norm_eps"])
    heads, size = int(config["num_attention_heads"]), int(config["hidden_size"])
    inits: dict[str, Any] = {}

    def init(name: str, value: Any) -> str:
        inits[name] = np.ascontiguousarray(value)
        return name

    nodes = [helper.make_node("Cast", [n], [f"{n}_int32"], to=TensorProto.INT32)
             for n in ("attention_mask", "input_ids", "token_type_ids")]
    e = "embeddings."
    nodes.append(helper.make_node(
        "EmbedLayerNormalization", ["input_ids_int32", "token_type_ids_int32",
                                    *(init(e + k, w[e + k]) for k in (
                                        "word_embeddings.weight", "position_embeddings.weight",
                                        "token_type_embeddings.weight", "LayerNorm.weight",
                                        "LayerNorm.bias")), "attention_mask_int32"],
        ["embedded", "mask_index"], domain=MS, epsilon=eps))
    x = "embedded"
    for i in range(int(config["num_hidden_layers"])):
        p, a = f"encoder.layer.{i}.", f"encoder.layer.{i}.attention."
        qkv = [f"{a}self.{n}." for n in ("query", "key", "value")]
        nodes += [
            helper.make_node("Attention", [x, init(f"{p}qkv_weight", np.concatenate(
                [w[q + "weight"].T for q in qkv], axis=1)), init(f"{p}qkv_bias", np.concatenate(
                    [w[q + "bias"] for q in qkv])), "mask_index"], [f"{p}context"],
                domain=MS, num_heads=heads),
            *_dense_and_norm(f"{p}context", x, f"{a}output.", f"{p}attended", w, init, eps),
            helper.make_node("MatMul", [f"{p}attended", init(
                f"{p}intermediate.dense.weight", w[f"{p}intermediate.dense.weight"].T)],
                [f"{p}inner"]),
            helper.make_node("BiasGelu", [f"{p}inner", init(
                f"{p}intermediate.dense.bias", w[f"{p}intermediate.dense.bias"])],
                [f"{p}gelu"], domain=MS),
            *_dense_and_norm(f"{p}gelu", f"{p}attended", f"{p}output.", f"{p}out", w, init, eps)]
        x = f"{p}out"
    nodes.append(helper.make_node("Identity", [x], ["hidden"]))
    ints = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "tokens"])
            for n in ("input_ids", "attention_mask", "token_type_ids")]
    out = helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["batch", "tokens", size])
    graph = helper.make_graph(nodes, "bert", ints, [out],
                              [numpy_helper.from_array(v, n) for n, v in inits.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                   helper.make_opsetid(MS, 1)])


def _dense_and_norm(x: str, skip: str, prefix: str, out: str, w: dict[str, Any], init: Any,
                    eps: float) -> list[Any]:
    """MatMul by prefix.dense, then SkipLayerNormalization with the residual `skip` (the dense
    layer's bias added inside it)."""
    from onnx import helper

    return [helper.make_node("MatMul", [x, init(prefix + "dense.weight",
                                                w[prefix + "dense.weight"].T)], [out + "_dense"]),
            helper.make_node("SkipLayerNormalization", [
                out + "_dense", skip, init(prefix + "LayerNorm.weight",
                                           w[prefix + "LayerNorm.weight"]),
                init(prefix + "LayerNorm.bias", w[prefix + "LayerNorm.bias"]),
                init(prefix + "dense.bias", w[prefix + "dense.bias"])], [out],
                domain=MS, epsilon=eps)]

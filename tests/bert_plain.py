"""A BERT's plain ONNX graph (standard operators, as torch.onnx writes BertModel's last hidden
state), written from its weights: the reference tests/test_export.py holds the fused graph the
package writes (rag/embedding/bert_fused.py) against. onnxruntime's BERT optimizer must turn
this graph into exactly that one, and this graph must give the model's vectors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from rag.embedding.bert_fused import weights_of

MASKED = -10000.0  # added to the attention scores of padding tokens, as BERT does


def graph(model_dir: Path) -> Any:
    """The graph (an onnx ModelProto): inputs input_ids, attention_mask, token_type_ids
    (batch, tokens), output hidden (batch, tokens, hidden size)."""
    import onnx

    config = json.loads((model_dir / "config.json").read_text())
    built = _Graph(weights_of(model_dir), float(config["layer_norm_eps"]))
    x = built.embeddings()
    mask = built.mask()
    heads, size = int(config["num_attention_heads"]), int(config["hidden_size"])
    for layer in range(int(config["num_hidden_layers"])):
        x = built.layer(f"encoder.layer.{layer}.", x, mask, heads, size // heads)
    built.nodes.append(onnx.helper.make_node("Identity", [x], ["hidden"]))
    ints = [onnx.helper.make_tensor_value_info(name, onnx.TensorProto.INT64, ["batch", "tokens"])
            for name in ("input_ids", "attention_mask", "token_type_ids")]
    out = onnx.helper.make_tensor_value_info("hidden", onnx.TensorProto.FLOAT,
                                             ["batch", "tokens", size])
    return onnx.helper.make_model(
        onnx.helper.make_graph(built.nodes, "bert", ints, [out], built.initializers),
        opset_imports=[onnx.helper.make_opsetid("", 17)])


class _Graph:
    """Nodes and weights of the graph being written; each method returns its output's name."""

    def __init__(self, weights: dict[str, Any], eps: float) -> None:
        self.weights, self.eps = weights, eps
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.count = 0

    def op(self, kind: str, *inputs: str, **attributes: Any) -> str:
        import onnx

        self.count += 1
        name = f"{kind.lower()}_{self.count}"
        self.nodes.append(onnx.helper.make_node(kind, list(inputs), [name], **attributes))
        return name

    def const(self, name: str, value: Any) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def weight(self, key: str, transpose: bool = False) -> str:
        value = self.weights[key]
        return self.const(key, np.ascontiguousarray(value.T) if transpose else value)

    def dense(self, x: str, prefix: str) -> str:
        return self.op("Add", self.op("MatMul", x, self.weight(prefix + "weight", True)),
                       self.weight(prefix + "bias"))

    def norm(self, x: str, prefix: str) -> str:
        return self.op("LayerNormalization", x, self.weight(prefix + "weight"),
                       self.weight(prefix + "bias"), axis=-1, epsilon=self.eps)

    def embeddings(self) -> str:
        e = "embeddings."
        tokens = self.op("Gather", self.op("Shape", "input_ids"), self.const("one", np.int64(1)))
        count = len(self.weights[e + "position_embeddings.weight"])
        positions = self.op("Slice", self.const("position_ids", np.arange(count)[None]),
                            self.const("start", np.array([0])),
                            self.op("Unsqueeze", tokens, self.const("axis_0", np.array([0]))),
                            self.const("axis_1", np.array([1])), self.const("step", np.array([1])))
        total = self.op("Add", self.op("Gather", self.weight(e + "word_embeddings.weight"),
                                       "input_ids"),
                        self.op("Gather", self.weight(e + "token_type_embeddings.weight"),
                                "token_type_ids"))
        total = self.op("Add", total, self.op("Gather",
                                              self.weight(e + "position_embeddings.weight"),
                                              positions))
        return self.norm(total, e + "LayerNorm.")

    def mask(self) -> str:
        """(batch, 1, 1, tokens): 0 for a token, MASKED for padding (the operators in the
        order onnxruntime's attention fusion looks for)."""
        wide = self.op("Unsqueeze", self.op("Unsqueeze", "attention_mask", "axis_1"),
                       self.const("axis_2", np.array([2])))
        hidden = self.op("Sub", self.const("one_f", np.float32(1.0)),
                         self.op("Cast", wide, to=1))  # to float
        return self.op("Mul", hidden, self.const("masked", np.float32(MASKED)))

    def layer(self, p: str, x: str, mask: str, heads: int, width: int) -> str:
        split = self.const(f"{p}split", np.array([0, 0, heads, width]))
        q, k, v = (self.op("Reshape", self.dense(x, f"{p}attention.self.{n}."), split)
                   for n in ("query", "key", "value"))
        q, v = (self.op("Transpose", t, perm=[0, 2, 1, 3]) for t in (q, v))
        k = self.op("Transpose", k, perm=[0, 2, 3, 1])
        scores = self.op("Div", self.op("MatMul", q, k),
                         self.const(f"{p}scale", np.float32(np.sqrt(width))))
        probs = self.op("Softmax", self.op("Add", scores, mask), axis=-1)
        context = self.op("Transpose", self.op("MatMul", probs, v), perm=[0, 2, 1, 3])
        context = self.op("Reshape", context, self.const(f"{p}merge", np.array([0, 0,
                                                                                 heads * width])))
        x = self.norm(self.op("Add", self.dense(context, f"{p}attention.output.dense."), x),
                      f"{p}attention.output.LayerNorm.")
        inner = self.dense(x, f"{p}intermediate.dense.")
        erf = self.op("Erf", self.op("Div", inner, self.const(f"{p}sqrt2", np.float32(
            np.sqrt(2.0)))))
        gelu = self.op("Mul", self.op("Mul", inner, self.op(
            "Add", erf, self.const(f"{p}one", np.float32(1.0)))),
            self.const(f"{p}half", np.float32(0.5)))
        return self.norm(self.op("Add", self.dense(gelu, f"{p}output.dense."), x),
                         f"{p}output.LayerNorm.")

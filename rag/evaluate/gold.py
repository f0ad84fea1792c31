"""Gold question sets: schema, loading, and the normalisation quotes are checked under.

A quote is verbatim from its document after collapsing whitespace (`■` counts as a space) and
joining words hyphenated across a line break ("re-\\nceived" -> "received"; before a capital
or a digit the hyphen stays: "Post-\\nSoviet" -> "Post-Soviet").
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from rag.errors import UsageError
from rag.ingest.corpus import read_document
from rag.text.tokens import normalize

QuestionType = Literal["fact", "number", "table", "multi_doc", "reasoning", "unanswerable"]
Split = Literal["dev", "test"]
SPLITS: tuple[Split, ...] = ("dev", "test")
MIN_QUOTE, MAX_QUOTE = 40, 300


class GoldItem(BaseModel):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    question: str = Field(min_length=5)
    answer: str
    type: QuestionType
    doc: str | None = None
    evidence: list[str] | None = None
    evidence_by_doc: dict[str, list[str]] | None = None
    split: Split = Field(default="dev", description="dev: thresholds, weights and rules may be "
                         "chosen on it; test: written before the system ran on it, only measured")
    set: str | None = Field(default=None, description="A named subset reported on its own "
                            "(\"newcomer\": plain first questions, eval/README.md)")
    paraphrase: str | None = Field(default=None, description="The answer in other words than "
                                   "the evidence (hand-written): the verifier must accept it")

    @model_validator(mode="after")
    def _shape(self) -> GoldItem:
        if self.type == "unanswerable":
            if self.answer or self.doc or self.evidence or self.evidence_by_doc or self.paraphrase:
                raise ValueError("an unanswerable item has an empty answer, no paraphrase and no "
                                 "evidence")
            return self
        if not self.answer:
            raise ValueError("an answerable item needs an answer")
        if (self.doc is None) == (self.evidence_by_doc is None):
            raise ValueError("give either doc and evidence, or evidence_by_doc")
        if self.doc is not None and not self.evidence:
            raise ValueError("doc needs at least one evidence quote")
        for quote in self.quotes():
            if not MIN_QUOTE <= len(quote[1]) <= MAX_QUOTE:
                raise ValueError(f"quote of {len(quote[1])} characters (40-300): {quote[1]!r}")
        return self

    def quotes(self) -> list[tuple[str, str]]:
        """(document, quote) pairs of the evidence."""
        if self.evidence_by_doc:
            return [(d, q) for d, qs in self.evidence_by_doc.items() for q in qs]
        return [(self.doc, q) for q in self.evidence or []] if self.doc else []


def load_gold(path: Path) -> list[GoldItem]:
    if not path.is_file():
        raise UsageError(f"no gold file at {path}")
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(GoldItem.model_validate(json.loads(line)))
        except (ValueError, ValidationError) as err:
            raise UsageError(f"{path}:{number}: not a valid gold item: {err}") from err
    if not items:
        raise UsageError(f"{path} holds no questions")
    if len({item.id for item in items}) != len(items):
        raise UsageError(f"{path}: duplicate ids")
    return items


def document_text(path: Path) -> str:
    """The text a document is indexed from (a PDF's or HTML page's extracted text); "" if none.
    Read once per version of the file: the gold check, the scoring and both baselines ask."""
    if not path.is_file():
        return ""
    stat = path.stat()
    return _document_text(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _document_text(path: Path, mtime_ns: int, size: int) -> str:
    source = read_document(path)[0]
    return source.text if source is not None else ""


def rebase(items: list[GoldItem], corpus_dir: Path) -> list[GoldItem]:
    """The gold set for a corpus whose documents have other formats: a gold document id missing
    from `corpus_dir` ("paper.txt") stands for the one file of the same stem ("paper.pdf")."""
    files = {p.name for p in corpus_dir.iterdir()} if corpus_dir.is_dir() else set()
    stems: dict[str, list[str]] = {}
    for name in sorted(files):
        stems.setdefault(Path(name).stem, []).append(name)

    def doc(name: str) -> str:
        twins = stems.get(Path(name).stem, [])
        return name if name in files or len(twins) != 1 else twins[0]

    return [item.model_copy(update={
        "doc": doc(item.doc) if item.doc else None,
        "evidence_by_doc": {doc(d): q for d, q in item.evidence_by_doc.items()}
        if item.evidence_by_doc else None}) for item in items]


def missing_quotes(items: list[GoldItem], corpus_dir: Path) -> list[str]:
    """Quotes not found in their document (normalised), as messages."""
    texts: dict[str, str] = {}
    problems = []
    for item in items:
        for doc, quote in item.quotes():
            if doc not in texts:
                texts[doc] = normalize(document_text(corpus_dir / doc))
            if normalize(quote) not in texts[doc]:
                problems.append(f"{item.id}: not in {doc}: {quote!r}")
    return problems

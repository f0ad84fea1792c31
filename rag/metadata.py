"""Bibliographic metadata of the corpus documents, used to name a source in answers and the UI."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from rag.errors import UsageError


class Part(BaseModel):
    """A separate article inside one file (a digest holding several articles)."""

    title: str = Field(description="Title of the article.")
    authors: list[str] = Field(default_factory=list, description="Its authors, if stated.")
    starts_with: str = Field(description="Verbatim text with which the article begins in the file.")


class DocMeta(BaseModel):
    title: str = Field(description="Title of the document.")
    authors: list[str] = Field(default_factory=list, description="Authors, as the text gives them.")
    year: int | None = Field(default=None, description="Year of publication, if known.")
    venue: str | None = Field(default=None, description="Publisher, journal or website.")
    note: str | None = Field(default=None, description="How the metadata was established.")
    parts: list[Part] = Field(default_factory=list, description="Articles inside the file.")

    def source_text(self) -> str:
        """Authors (of the file and of its parts) and publisher: the names an answer may use to
        say where something comes from ("Harding writes ..."). Not the titles: their words
        are the subject matter ("Shanghai", "Treaty"), and must be in the cited text."""
        authors = [*self.authors, *(a for p in self.parts for a in p.authors)]
        return " ".join([*authors, self.venue or ""])

    def part_at(self, original: str, offset: int) -> Part | None:
        """The article of this file in which character `offset` lies, if the file has parts."""
        found = None
        for part in self.parts:
            start = original.find(part.starts_with)
            if 0 <= start <= offset:
                found = part
        return found


def load_metadata(corpus_dir: Path, filename: str) -> dict[str, DocMeta]:
    """Metadata by document id; empty when the corpus has no metadata file."""
    path = corpus_dir / filename
    if not path.is_file():
        return {}
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        return {doc: DocMeta.model_validate(entry) for doc, entry in raw.items()}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, ValidationError) as err:
        raise UsageError(f"cannot read {path}: {err}. Fix the file or remove it.") from err


def title_of(doc: str, meta: dict[str, DocMeta]) -> str:
    return meta[doc].title if doc in meta else doc

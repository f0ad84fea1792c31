"""Bibliographic metadata of the corpus documents, used to name a source in answers and the UI."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from rag.errors import UsageError
from rag.text.vocab import organisations_in


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
        """Authors (of the file and of its parts), publisher, and the organisations the titles
        are about: the names an answer may use without the cited sentence repeating them
        ("Harding writes that the SCO ..." citing "the group's ..."). Not the titles' other
        words ("Shanghai", "Treaty"): those must be in the cited text."""
        authors = [*self.authors, *(a for p in self.parts for a in p.authors)]
        titles = " ".join([self.title, *(p.title for p in self.parts)])
        return " ".join([*authors, self.venue or "", *organisations_in(titles)])

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


def docs_named_in(question: str, meta: dict[str, DocMeta]) -> set[str]:
    """Documents the question names by an author's surname or the publisher ("according to
    Harding", "the Carnegie paper")."""
    from rag.text.names import name_tokens, named_in

    asked = name_tokens(question)
    return {doc for doc, m in meta.items()
            if any(named_in(name.split()[-1], asked) for name in
                   [*m.authors, *(a for p in m.parts for a in p.authors)])
            or (m.venue and named_in(m.venue.split()[0], asked))}

"""Bibliographic metadata of the corpus documents, used to name a source in answers and the UI."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from rag.errors import UsageError
from rag.text.vocab import NO_VOCABULARY, Vocabulary


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

    def source_text(self, vocabulary: Vocabulary = NO_VOCABULARY) -> str:
        """Authors (of the file and of its parts), publisher, and the organisations the titles
        are about: the names an answer may use without the cited sentence repeating them
        ("Harding writes that the SCO ..." citing "the group's ..."). Not the titles' other
        words ("Shanghai", "Treaty"): those must be in the cited text. The organisations are
        the abbreviations of `vocabulary`, the live index's."""
        authors = [*self.authors, *(a for p in self.parts for a in p.authors)]
        titles = " ".join([self.title, *(p.title for p in self.parts)])
        return " ".join([*authors, self.venue or "", *vocabulary.organisations_in(titles)])

    def part_at(self, original: str, offset: int) -> Part | None:
        """The article of this file in which character `offset` lies, if the file has parts."""
        found = None
        for part in self.parts:
            start = original.find(part.starts_with)
            if 0 <= start <= offset:
                found = part
        return found


def load_metadata(corpus_dir: Path, filename: str) -> dict[str, DocMeta]:
    """Metadata by document id; empty when the corpus has no metadata file. A file that is
    there but cannot be read, parsed or validated is a UsageError of one line naming the line
    of the file (rag ingest checks it, so the mistake is found before `rag ask` stops on it)."""
    path = corpus_dir / filename
    if not path.exists() and not path.is_symlink():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
        raw = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        problem = err.strerror if isinstance(err, OSError) else err
        raise UsageError(f"cannot read {path}: {problem}. Fix the file or remove it.") from err
    meta = {}
    for doc, entry in raw.items():
        if doc == "corpus":  # the corpus as a whole (rag/web/front.py), not a file
            continue
        try:
            meta[doc] = DocMeta.model_validate(entry)
        except ValidationError as err:
            raise UsageError(f"cannot read {path}: {_invalid(text, doc, entry, err)}. Fix the "
                             "file or remove it.") from err
    return meta


def _invalid(text: str, doc: str, entry: object, err: ValidationError) -> str:
    """One line on what is wrong in the entry of `doc`, with its line in the file."""
    at = _line_of(text, doc)
    if not isinstance(entry, dict):
        return (f"{doc} = {entry!r}{_at(at)} is outside any document's section (a "
                '["file name"] line followed by its fields)')
    first = err.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "the entry"
    if first["type"] == "missing":
        return f'["{doc}"]{_at(at)} has no {field}, which every entry needs'
    line = _line_of(text, str(first["loc"][0]), after=at or 0) if first["loc"] else at
    found = repr(first["input"])
    found = found if len(found) <= 60 else f"{found[:57]}..."
    return f'["{doc}"] {field}: {first["msg"]} (found {found}){_at(line)}'


def _at(line: int | None) -> str:
    return "" if line is None else f" at line {line}"


def _line_of(text: str, key: str, after: int = 0) -> int | None:
    """Number of the first line after line `after` that sets `key` or opens its section."""
    sets = re.compile(rf"""\s*\[?\s*(["']?){re.escape(key)}\1\s*[=\].]""")
    for number, line in enumerate(text.splitlines()[after:], start=after + 1):
        if sets.match(line):
            return number
    return None


def title_of(doc: str, meta: dict[str, DocMeta]) -> str:
    return meta[doc].title if doc in meta else doc


def docs_named_in(question: str, meta: dict[str, DocMeta],
                  vocabulary: Vocabulary = NO_VOCABULARY) -> set[str]:
    """Documents the question names by an author's surname or the publisher ("according to
    Harding", "the Carnegie paper")."""
    from rag.text.names import name_tokens, named_in

    asked = name_tokens(question)
    return {doc for doc, m in meta.items()
            if any(named_in(name.split()[-1], asked, vocabulary) for name in
                   [*m.authors, *(a for p in m.parts for a in p.authors)])
            or (m.venue and named_in(m.venue.split()[0], asked, vocabulary))}

"""What the page says about its corpus: title, one-line description and example questions.

Nothing here is written for one corpus. Each comes from the settings (`ui.title`,
`ui.description`, `ui.examples`), else from the corpus: the `[corpus]` table of its
metadata.toml, else what the index knows (the documents' titles, the abbreviations learned from
them). Example questions are offered only when the default backend answers them confidently on
this corpus (answered, not hedged): a newcomer's first click should not meet an abstention.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass

from pydantic import BaseModel, Field, ValidationError

from rag.config import Settings
from rag.errors import RagError, UsageError

log = logging.getLogger("rag.web")
CORPUS_TABLE = "corpus"  # metadata.toml's table about the corpus as a whole (not a file name)
DEFAULT_TITLE = "Document Q&A"
# questions made from what the corpus defines ("Shanghai Cooperation Organization (SCO)")
TEMPLATES = ("What is the {short}?", "When was the {short} founded?",
             "Who are the members of the {short}?", "What does {short} stand for?")


class CorpusMeta(BaseModel):
    """metadata.toml's [corpus] table."""

    title: str | None = Field(default=None, description="The page's title for this corpus.")
    description: str | None = Field(default=None, description="One line on what it holds.")
    examples: list[str] = Field(default_factory=list, description="Example questions.")


@dataclass(frozen=True)
class Front:
    title: str
    description: str
    examples: list[str]


def corpus_meta(settings: Settings) -> CorpusMeta:
    """The [corpus] table of the corpus's metadata file (empty when there is none)."""
    path = settings.corpus_dir / settings.metadata_file
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        return CorpusMeta.model_validate(raw.get(CORPUS_TABLE, {}))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ValidationError) as err:
        raise UsageError(f"cannot read the [{CORPUS_TABLE}] table of {path}: "
                         f"{str(err).splitlines()[0]}. Fix the file or remove the table.") from err


def description_of(titles: list[str]) -> str:
    """"Answers from 3 documents: A; B; C." (the first three titles)."""
    shown = "; ".join(titles[:3]) + ("; …" if len(titles) > 3 else "")
    noun = "document" if len(titles) == 1 else "documents"
    return f"Answers from {len(titles)} {noun}: {shown}."


def candidates(settings: Settings, meta: CorpusMeta, abbreviations: list[str]) -> list[str]:
    """Example questions to try, in order: the settings', the corpus's, then made from the
    abbreviations the corpus defines; each once."""
    made = [t.format(short=a) for t in TEMPLATES for a in abbreviations]
    return list(dict.fromkeys([*settings.ui.examples, *meta.examples, *made]))


def confident(questions: list[str], settings: Settings, count: int) -> list[str]:
    """The first `count` of `questions` that the default (extractive) backend answers
    confidently on this corpus."""
    from rag.answering.pipeline import answer

    chosen: list[str] = []
    for question in questions:
        if len(chosen) >= count:
            break
        try:
            got = answer(question, backend="extractive", settings=settings)
        except RagError as err:  # a bad example in the settings: skipped, and said
            log.warning("example %r skipped: %s", question, err)
            continue
        if not got.abstained and not got.hedged:
            chosen.append(question)
    return chosen


def front(settings: Settings) -> Front:
    """The page's title, description and examples for the live index's corpus."""
    from rag.retrieval.searcher import get_searcher

    searcher = get_searcher(settings)
    meta = corpus_meta(settings)
    docs = sorted(searcher.fingerprint.docs)
    titles = [searcher.title(d) for d in docs]
    title = settings.ui.title or meta.title or DEFAULT_TITLE
    description = settings.ui.description or meta.description or description_of(titles)
    tried = candidates(settings, meta, list(searcher.vocabulary_terms.abbreviations))
    return Front(title, description, confident(tried, settings, settings.ui.example_count))

"""The structured path of an LLM backend: small prompt, schema enforced while decoding, parse.

A chat model that can constrain its output to a JSON schema implements `structured(messages,
schema)`, streaming the reply's text; it raises `SchemaUnsupported` when its server accepts no
schema at all, and the backend then falls back to the free-text prompt (rag/answering/backends/
llm.py) and says so in the notes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

from rag.answering.assessment import Candidate
from rag.answering.backends import Draft, Message, Query
from rag.answering.backends.brief import messages, select
from rag.answering.backends.schema import answer_schema, parse_reply
from rag.config import LLMSettings


class SchemaUnsupported(Exception):
    """The server accepts none of the ways to enforce a JSON schema."""


@runtime_checkable
class StructuredChat(Protocol):
    def structured(self, messages: list[Message], schema: dict[str, Any]) -> Iterator[str]: ...


def structured_draft(model: StructuredChat, query: Query, ranked: list[Candidate],
                     cfg: LLMSettings) -> Draft:
    """Ask for a schema-shaped answer citing the best of the `ranked` passage sentences (as
    many as fit the prompt budget, `brief.select`); parse it."""
    lines = select(query.question.text, ranked, cfg)
    if not lines:
        return Draft([], abstain=True, notes=["no passage sentence could be shown to the model"])
    schema = answer_schema(len(lines), cfg.structured, cfg.answer_sentences, cfg.sentence_chars)
    pieces = []
    for piece in model.structured(messages(query.question.text, lines, cfg.structured), schema):
        pieces.append(piece)
        if query.on_token is not None:
            query.on_token(piece)
    return parse_reply("".join(pieces), lines, cfg.quote_fallback)

"""One answer schema for every LLM backend, and one parser for what comes back.

`{"answerable": bool, "sentences": [{"text": str, "cites": [int]}]}` (mode `cite`), or with
`{"quote": int, "text": str}` items (mode `quote`: the sentence the answer rests on comes first,
so a small model writes its answer looking at it). The numbers are an enum of the numbers shown
in the prompt: where the backend enforces the schema while decoding (llama.cpp grammar, Ollama
`format`, OpenAI `response_format`), citing a sentence that was not shown cannot be written.
Where a server does not enforce it, the parser rejects it: such a sentence is dropped with a note.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ValidationError

from rag.answering.backends import Draft, DraftSentence
from rag.answering.backends.brief import Shown

MIN_WORDS = 3  # an answer sentence shorter than this says nothing on its own
PARSE_FAILED = "could not parse the model's reply as the answer schema"
_FENCE = re.compile(r"^\s*```(?:json)?\s*|\s*```\s*$")
_LABEL = re.compile(r"^\s*(?:\[\d+\]|S\d+:)\s*|\s*\[\d+\](?=[\s.,;:!?]|$)")


def answer_schema(shown: int, mode: str, sentences: int, chars: int) -> dict[str, Any]:
    """The JSON schema of an answer citing only the sentences numbered 1..`shown`."""
    number = {"type": "integer", "enum": list(range(1, shown + 1))}
    text = {"type": "string", "minLength": 1, "maxLength": chars}
    if mode == "quote":
        item = {"type": "object", "properties": {"quote": number, "text": text},
                "required": ["quote", "text"], "additionalProperties": False}
    else:
        cites = {"type": "array", "items": number, "minItems": 1, "maxItems": 3}
        item = {"type": "object", "properties": {"text": text, "cites": cites},
                "required": ["text", "cites"], "additionalProperties": False}
    return {"type": "object",
            "properties": {"answerable": {"type": "boolean"},
                           "sentences": {"type": "array", "items": item, "maxItems": sentences}},
            "required": ["answerable", "sentences"], "additionalProperties": False}


class _Item(BaseModel):
    text: str = ""  # a reply cut off after its "quote" still names the sentence
    cites: list[int] = []
    quote: int | None = None


class _Reply(BaseModel):
    answerable: bool
    sentences: list[_Item] = []


def parse_reply(raw: str, lines: list[Shown], fallback: bool) -> Draft:
    """The reply as a draft, with the model's own verdict (`Draft.verdict`: whether it counts is
    the gate's decision, rag/answering/gate.py). Notes: the raw output, and each sentence
    dropped here and why. `fallback`: a quoting sentence that fails the verifier gives way to
    the sentence it quotes."""
    notes = [f"model output: {raw.strip()!r}"]
    try:
        reply = _Reply.model_validate(_loads(_FENCE.sub("", raw), notes))
    except json.JSONDecodeError as err:
        notes.append(f"{PARSE_FAILED} (not JSON: {err.msg} at character {err.pos})")
        return Draft([], abstain=True, notes=notes)
    except ValidationError as err:
        problem = err.errors()[0]
        notes.append(f"{PARSE_FAILED} ({problem['msg']} at "
                     f"{'.'.join(map(str, problem['loc'])) or 'the top'})")
        return Draft([], abstain=True, notes=notes)
    if not reply.answerable:
        notes.append("the model said the sentences do not answer the question")
    by_number = {line.number: line for line in lines}
    found = [_sentence(item, by_number, fallback, notes) for item in reply.sentences]
    return Draft([f for f in found if f is not None], notes=notes, verdict=reply.answerable)


# How a reply cut off by llm.max_tokens may end, and what closes it (quote mode writes the number
# first, so a reply cut inside its "text" still says which sentence it rests on).
_CLOSINGS = ('"}]}', '}]}', ']}', '}', '""}]}', '"text": ""}]}', ', "text": ""}]}')


def _loads(text: str, notes: list[str]) -> object:
    """The reply's JSON; a reply cut off inside a sentence is closed, with a note.
    strict=False: control characters inside strings are accepted. llama-cpp-python's grammar
    for strings (`char ::= [^"\\] | ...`) lets a raw newline through, and on dev SmolLM2 wrote
    one in 7 of 117 replies that were otherwise the schema."""
    try:
        return json.loads(text, strict=False)
    except json.JSONDecodeError:
        stripped = text.rstrip().rstrip(",")
        for closing in _CLOSINGS:
            try:
                found = json.loads(stripped + closing, strict=False)
            except json.JSONDecodeError:
                continue
            if not (isinstance(found, dict) and found.get("sentences")):
                break  # cut off before any sentence: nothing to recover
            notes.append("the reply was cut off (llm.max_tokens); it was closed after its "
                         "last complete part")
            return found
        raise


def _sentence(item: _Item, by_number: dict[int, Shown], fallback: bool,
              notes: list[str]) -> DraftSentence | None:
    """One item of the reply as a draft sentence, or None (and a note on why)."""
    text = " ".join(_LABEL.sub("", item.text).split())
    numbers = [item.quote] if item.quote is not None else item.cites
    unknown = [n for n in numbers if n not in by_number]
    cited = [by_number[n] for n in dict.fromkeys(numbers) if n in by_number]
    shown = f"only 1-{len(by_number)} were shown"
    if unknown:
        notes.append(f"dropped {item.text!r}: it cites sentence(s) {unknown}, but {shown}"
                     if not cited else f"removed the citation(s) {unknown} of {item.text!r}: "
                     f"{shown}")
    if not cited:
        return None
    refs = list(dict.fromkeys(c.passage for c in cited))
    spans = [s for c in cited for s in c.spans]
    quoted = (DraftSentence(cited[0].full, refs, spans, exact=True)
              if fallback and item.quote is not None else None)
    if len(text.split()) < MIN_WORDS:  # "2008": a number the quote holds, but no answer
        notes.append(f"dropped {item.text!r}: fewer than {MIN_WORDS} words" +
                     ("; the sentence it quoted is given instead" if quoted else ""))
        return quoted
    return DraftSentence(text, refs, spans, len(cited) == 1 and text == cited[0].full, quoted)

"""What every LLM backend shares: the free-text prompt and its parser, and the backend itself.

A chat model only has to stream text for a list of messages (`ChatModel.stream`). One that can
also constrain its reply to a JSON schema (`structured`, rag/answering/backends/structured.py)
answers in the structured modes by default. The free-text prompt (`llm.structured = "off"`, or
a server that enforces no schema) numbers the retrieved passages (with their stable chunk ids)
and asks for a marker after every sentence, or a fixed phrase when the passages do not answer.
The reply is parsed in code: markers that point at no retrieved passage are removed, sentences
left without a marker are removed; the pipeline then checks every remaining sentence with the
shared verifier.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from rag.answering.backends import Checked, Draft, DraftSentence, Message, Query, install_hint
from rag.answering.backends.structured import SchemaUnsupported, StructuredChat, structured_draft
from rag.answering.followup import Turn
from rag.answering.injection import blank_instructions
from rag.answering.question import parse as parse_question
from rag.answering.scorer import assess
from rag.config import LLMSettings, Settings, get_settings
from rag.errors import BackendError
from rag.types import Passage

CANNOT = "I cannot answer from the corpus."
_CANNOT = re.compile(r"\bcan(?:no|')t (?:be )?answer(?:ed)?\b|\bdo(?:es)? not answer\b", re.I)
SYSTEM = (
    "You answer questions about policy papers using only the numbered passages you are "
    "given. Write one to three short sentences. End every sentence with the number of the "
    "passage that supports it in square brackets, like [1] or [2][3]. Copy names, numbers "
    "and dates exactly as the passage writes them. Do not use anything you know from "
    f"elsewhere. If the passages do not answer the question, reply exactly: {CANNOT}\n\n"
    "Example. Question: When was the bank founded?\n"
    "Answer: The bank was founded in 1998 [2]. Its first head was Ivan Petrov [2][4]."
)
CONDENSE = (
    "Rewrite the last question of a conversation so that it can be understood without the "
    "conversation: replace pronouns and vague references (it, they, the organisation, and "
    "what about ...?) with the names they refer to, and change nothing else. Reply with the "
    "rewritten question only, on one line. If it already stands alone, repeat it unchanged.\n\n"
    "Example. Conversation: Q: What is the Eurasian Economic Union? Last question: When was it "
    "created?\nStandalone question: When was the Eurasian Economic Union created?"
)
_CONDENSED = re.compile(r"^\s*(?:standalone question|rewritten question|question|q)\s*:\s*", re.I)
_MARKER_GROUP = re.compile(r"(?:\s*\[[^\[\]]{1,80}\])+")
_MARKER = re.compile(r"\[([^\[\]]{1,80})\]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


class ChatModel(Protocol):
    """A backend's one method: stream the reply to `messages`, piece by piece."""

    def stream(self, messages: list[Message]) -> Iterator[str]: ...


def build_messages(question: str, passages: list[Passage]) -> list[Message]:
    blocks = [f"[{p.rank}] (id {p.chunk_id})\n{' '.join(blank_instructions(p).split())}"
              for p in passages]
    user = "Passages:\n\n" + "\n\n".join(blocks) + f"\n\nQuestion: {question}\nAnswer:"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def _refs(markers: list[str], passages: list[Passage]) -> tuple[list[int], list[str]]:
    """Passage numbers the markers name (by number or chunk id), and the ones that name none."""
    by_id = {p.chunk_id: p.rank for p in passages}
    refs, unknown = [], []
    for marker in markers:
        for part in re.split(r"[,;]\s*|\s+", marker.strip()):
            number = by_id.get(part) or (int(part) if part.isdigit() else None)
            if number is not None and 1 <= number <= len(passages):
                refs.append(number)
            elif part:
                unknown.append(part)
    return list(dict.fromkeys(refs)), unknown


def parse(text: str, passages: list[Passage]) -> Draft:
    """The model's reply as a draft: cited sentences, and notes on what was removed."""
    if not text.strip() or _CANNOT.search(text):
        return Draft([], abstain=True, notes=["the model said the passages do not answer"])
    # "... 2015. [1] Next" -> "... 2015 [1]. Next": a marker belongs to the sentence before it.
    text = re.sub(r"([.!?])((?:\s*\[[^\[\]]{1,80}\])+)", r"\2\1", " ".join(text.split()))
    sentences, notes = [], []
    for piece in _SENTENCE_END.split(text):
        refs, unknown = _refs(_MARKER.findall(piece), passages)
        clean = re.sub(r"\s+([.!?,;:])", r"\1", _MARKER_GROUP.sub("", piece)).strip()
        if unknown:
            notes.append(f"removed citation(s) of passages that were not retrieved: "
                         f"{', '.join(unknown)}")
        if not clean:
            continue
        if not refs:
            notes.append(f"removed a sentence without a citation: {clean!r}")
            continue
        sentences.append(DraftSentence(clean, refs))
    return Draft(sentences, notes=notes)


def condense_messages(question: str, history: list[Turn]) -> list[Message]:
    """The condense prompt: the earlier turns (questions as searched, answers cut short) and
    the follow-up."""
    lines = [f"Q: {t.standalone}" + (f"\nA: {t.answer[:300]}" if t.answer else "")
             for t in history]
    user = ("Conversation:\n" + "\n".join(lines) + f"\nLast question: {question}\n"
            "Standalone question:")
    return [{"role": "system", "content": CONDENSE}, {"role": "user", "content": user}]


def condensed(reply: str, question: str, limit: int) -> str | None:
    """The model's rewrite, if it is one: a single question (ending in "?") of question length,
    with no citation marker, keeping at least half of the follow-up's content words. None: the
    reply is not a usable rewrite (a small model may answer instead, or echo the conversation)
    and the rules of rag/answering/followup.py are used."""
    lines = [line for line in reply.strip().splitlines() if line.strip()]
    text = _CONDENSED.sub("", lines[0]).strip().strip('"“”') if lines else ""
    if (not text.endswith("?") or len(text) > min(limit, 3 * len(question) + 200)
            or _MARKER.search(text)):
        return None
    wanted = set(parse_question(question).content)
    kept = wanted & set(parse_question(text).words)
    return text if not wanted or len(kept) >= len(wanted) / 2 else None


class LLMBackend:
    """An answer backend around a chat model: the structured path when the model can enforce
    a schema and `llm.structured` asks for it, else the free-text prompt and parser."""

    def __init__(self, name: str, model: ChatModel, settings: Settings | None = None) -> None:
        self.name, self.model = name, model
        self.settings = settings or get_settings()
        self.cfg = self.settings.llm

    def ready(self) -> None:
        """Raise BackendError if the model's server cannot work (checked once per process);
        the pipeline calls it before the answerability gate, so that a dead server is not
        reported as "the corpus does not answer"."""
        if isinstance(self.model, Checked):
            self.model.ready()

    def condense(self, question: str, history: list[Turn]) -> str | None:
        """The follow-up as a standalone question, written by the model (None: its reply was
        not a usable question, or `llm.condense` is off; the caller then uses the rules)."""
        if not self.cfg.condense:
            return None
        self.ready()
        reply = "".join(self.model.stream(condense_messages(question, history)))
        return condensed(reply, question, self.settings.answer.max_question_chars)

    def draft(self, query: Query, passages: list[Passage]) -> Draft:
        if not passages:
            return Draft([], abstain=True, notes=["nothing was retrieved"])
        notes = []
        if self.cfg.structured != "off" and isinstance(self.model, StructuredChat):
            if query.assessment is None:  # the pipeline makes it; a direct caller may not
                query.assessment = assess(query, passages, self.settings)
            try:
                return structured_draft(self.model, query, query.assessment.ranked, self.cfg)
            except SchemaUnsupported as err:
                notes.append(f"the server enforces no answer schema ({err}); asked for free "
                             "text with [n] markers instead")
        pieces = []
        for piece in self.model.stream(build_messages(query.question.text, passages)):
            pieces.append(piece)
            if query.on_token is not None:
                query.on_token(piece)
        draft = parse("".join(pieces), passages)
        draft.notes[:0] = notes
        return draft


def reachable(url: str, timeout: float) -> str | None:
    """None when a server answers at `url` (even with an error status); otherwise why not."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return None
    except urllib.error.HTTPError:
        return None  # it answered (an error status still means someone is there)
    except (OSError, ValueError) as err:
        return f"cannot reach {url} ({getattr(err, 'reason', err)})"


_READY: set[tuple[str, str, str]] = set()  # (backend, base URL, model) whose check passed


def check_once(key: tuple[str, str, str], check: Callable[[], None]) -> None:
    """Run `check` (it raises BackendError) unless it passed for `key` in this process: a
    success is kept, a failure is not (the next question tries again)."""
    if key not in _READY:
        check()
        _READY.add(key)


def listed_models(backend: str, base: str, path: str, cfg: LLMSettings, fix: str,
                  headers: dict[str, str] | None = None) -> list[str]:
    """The model names the server at `base` lists at `path` (OpenAI's /models, Ollama's
    /api/tags); [] when it answers without such a list (an error status, another body: the
    chat request will say more). Nothing answering: BackendError naming `base` and `fix`."""
    import httpx  # installed with gradio (a dependency); the chat clients use it too

    timeout = httpx.Timeout(cfg.read_timeout, connect=cfg.connect_timeout)
    try:
        response = httpx.get(base.rstrip("/") + path, headers=headers, timeout=timeout)
    except httpx.ConnectTimeout as err:
        raise BackendError(backend, f"cannot connect to {base} (no answer within "
                           f"{cfg.connect_timeout:g} s, llm.connect_timeout)", fix) from err
    except httpx.TimeoutException as err:
        raise BackendError(backend, f"no answer from {base} within {cfg.read_timeout:g} s "
                           "(llm.read_timeout)", "check the server, or raise "
                           "RAG_LLM__READ_TIMEOUT") from err
    except (httpx.HTTPError, httpx.InvalidURL) as err:
        raise BackendError(backend, f"cannot connect to {base} ({err})", fix) from err
    return _names(response.content) if response.is_success else []


def _names(body: bytes) -> list[str]:
    try:
        found = json.loads(body)
    except ValueError:
        return []
    entries = (found.get("data", found.get("models")) if isinstance(found, dict) else None)
    names = [e.get("id", e.get("name")) for e in entries
             if isinstance(e, dict)] if isinstance(entries, list) else []
    return [name for name in names if isinstance(name, str)]


def not_a_reply(backend: str, url: str, kind: str, fix: str, err: Exception | str) -> BackendError:
    """A BackendError for a server that answered with something other than `kind`."""
    if isinstance(err, UnicodeDecodeError):
        detail = "not UTF-8 text"
    elif isinstance(err, json.JSONDecodeError):
        detail = f"not JSON: {' '.join(err.doc.split())[:60]!r}"
    elif isinstance(err, Exception):
        detail = f"JSON of another shape: {' '.join(str(err).split(' [type=')[0].split())}"
    else:
        detail = err
    return BackendError(backend, f"{url} sent a reply that is not {kind} ({detail})",
                        f"check that RAG_LLM__BASE_URL points at {fix}")


# What the chat clients raise when a reply is not what they expect: invalid UTF-8, not JSON and
# pydantic's ValidationError are ValueErrors; JSON of another shape fails on an attribute or type.
GARBAGE_ERRORS = (ValueError, AttributeError, TypeError, KeyError, IndexError)


def require(module: str, backend: str, extra: str) -> Any:
    """Import an optional dependency, or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise BackendError(backend, f"the Python package for it is not installed ({err.name})",
                           install_hint(extra)) from err

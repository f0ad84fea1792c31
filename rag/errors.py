"""Errors that reach the user. Each message says what went wrong and what to do about it."""

from __future__ import annotations


class RagError(Exception):
    """An expected failure with a message meant for the user (no traceback is shown)."""

    exit_code = 1


class UsageError(RagError):
    """Bad input from the user (empty question, missing folder, ...)."""

    exit_code = 2


class IndexMissingError(RagError):
    """No index where one was expected."""


class FingerprintMismatchError(RagError):
    """The index was built with other settings (embedder, chunker, cleaning)."""


class BackendError(RagError):
    """An answer backend failed: not installed, unreachable, wrong model, too slow."""

    exit_code = 3

    def __init__(self, backend: str, problem: str, fix: str) -> None:
        super().__init__(f"{backend} backend: {problem} — {fix}")
        self.backend, self.problem, self.fix = backend, problem, fix


class IndexDamagedError(RagError):
    """Files of the index are missing or unreadable; only a rebuild helps."""

    def __init__(self, index_dir: object, problem: str) -> None:
        super().__init__(f"the index at {index_dir}/ is damaged ({problem}) — run "
                         "`rag ingest --rebuild`")

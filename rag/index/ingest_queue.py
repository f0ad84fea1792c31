"""Ingests asked for by the page: one at a time per index, through one worker thread.

`ingest()` refuses to run beside another ingest (generations.ingest_lock), which a visitor
should never see: two visitors adding documents at once both get them indexed. A request made
while an ingest runs waits for the next one, and every request waiting when that one starts
shares it: ingest reads the whole corpus folder, so one run takes in every file placed before
it began. A `rag ingest` from the command line holding the lock is waited for, saying so.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rag.config import Settings
from rag.errors import RagError, UsageError
from rag.index import generations
from rag.index.build import IngestReport, ingest
from rag.index.stream import Progress

log = logging.getLogger("rag.index")
LOCK_REFUSED = "another `rag ingest` is running"  # how generations.ingest_lock refuses
POLL_S = 1.0  # how often a lock held by another process is looked at again
Ingest = Callable[[Progress], IngestReport]


@dataclass
class Run:
    """One ingest, shared by every request that waited for it."""

    status: str = "waiting for the ingest in progress to finish"
    started: bool = False
    report: IngestReport | None = None
    error: RagError | None = None
    done: threading.Event = field(default_factory=threading.Event)


class IngestQueue:
    """Runs `run_ingest` in a worker thread of its own, once per batch of requests."""

    def __init__(self, index_dir: Path, run_ingest: Ingest, poll_s: float = POLL_S) -> None:
        self.index_dir, self.run_ingest, self.poll_s = index_dir, run_ingest, poll_s
        self._changed = threading.Condition()
        self._next: Run | None = None
        self.current: Run | None = None
        self._worker: threading.Thread | None = None

    def request(self) -> Run:
        """The ingest that will take in every file placed in the corpus folder before this
        call: the next one to start (the one running may have read the folder already)."""
        with self._changed:
            if self._next is None:
                self._next = Run()
                self._changed.notify()
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="ingest-queue",
                                                daemon=True)
                self._worker.start()
            return self._next

    def describe(self, run: Run) -> str:
        """Where `run` is, in words for the page."""
        running = self.current
        if not run.started and running is not None and running is not run:
            return f"waiting for the ingest in progress to finish ({running.status})"
        return run.status

    def _work(self) -> None:
        while True:
            with self._changed:
                while self._next is None:
                    self._changed.wait()
                run, self._next = self._next, None
                self.current = run
            self._execute(run)
            with self._changed:
                self.current = None

    def _execute(self, run: Run) -> None:
        run.started = True
        try:
            run.report = self._attempt(run)
        except RagError as err:
            run.error = err
        except Exception as err:  # the page says so; the log has the traceback
            log.exception("an ingest from the page failed")
            run.error = RagError(f"the ingest failed ({type(err).__name__}); the server log "
                                 "has the details")
        finally:
            run.done.set()

    def _attempt(self, run: Run) -> IngestReport:
        """Ingest, first waiting for any other process's ingest of this index to finish."""
        while True:
            holder = generations.ingest_running(self.index_dir)
            if holder is not None:
                run.status = (f"waiting for a `rag ingest` running on this index ({holder}) "
                              "to finish")
                time.sleep(self.poll_s)
                continue
            run.status = "reading the corpus folder"
            try:
                return self.run_ingest(lambda done, total: _embedding(run, done, total))
            except UsageError as err:
                if LOCK_REFUSED not in str(err):  # taken between the look and the ingest
                    raise
                time.sleep(self.poll_s)


def _embedding(run: Run, done: int, total: int) -> None:
    run.status = f"embedding {done}/{total} passages and sentences"


_queues: dict[Path, IngestQueue] = {}
_making = threading.Lock()


def queue_for(settings: Settings) -> IngestQueue:
    """The one queue of `settings`' index in this process."""
    key = settings.index_dir.resolve()
    with _making:
        if key not in _queues:
            _queues[key] = IngestQueue(settings.index_dir, lambda on_progress: ingest(
                settings, progress=False, on_progress=on_progress))
        return _queues[key]

"""Documents added from the page and removed from it: the checks and safe names of
rag/ingest/uploads.py, the ingest queue of rag/index/ingest_queue.py, the request guard with
uploads on and off, and (slow) the page in Chromium adding a PDF, answering from it with its
page, and removing it. Screenshots go to test-artifacts/ui/.
"""

from __future__ import annotations

import argparse
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rag.config import Settings, get_settings
from rag.errors import UsageError
from rag.index import generations
from rag.index.build import IngestReport, Plan
from rag.index.ingest_queue import IngestQueue
from rag.ingest import uploads
from rag.ingest.uploads import add_files, remove_file, safe_name, uploaded
from rag.web.guard import (
    Guard,
    Rules,
    allowed_hosts,
    is_loopback,
    upload_limit,
    upload_note,
    uploads_on,
)
from tests import pdfs
from tests.conftest import CORPUS, ROOT
from tests.test_ui import browser  # noqa: F401  # the Chromium fixture

TEXT = "The Example Council met in Vienna in 2031 and agreed on a common fisheries policy.\n"


# --- names and checks -----------------------------------------------------------------------


@pytest.mark.parametrize(("given", "name"), [
    ("report.pdf", "report.pdf"),
    ("../../x.pdf", "x.pdf"),
    ("..\\..\\windows\\x.PDF", "x.pdf"),
    ("/etc/passwd.txt", "passwd.txt"),
    ("..", None),
    (".env", None),
    (".hidden.md", "hidden.md"),
    ("Zürich Ünion — 2024 (final).HTML", "Zurich_Union_2024_final.html"),
    ("доклад.pdf", "document.pdf"),
    ("-rf.txt", "rf.txt"),
    ("notes.htm", "notes.htm"),
    ("metadata.toml", None),
    ("vocabulary.toml", None),
    ("program.exe", None),
    ("archive.pdf.exe", None),
    ("no-suffix", None),
    ("a" * 300 + ".txt", "a" * 80 + ".txt"),
])
def test_a_safe_name_is_a_plain_basename_with_a_supported_suffix(given: str,
                                                                   name: str | None) -> None:
    assert safe_name(given) == name


def _folders(tmp_path: Path) -> tuple[Path, Path]:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (corpus / "metadata.toml").write_text("# metadata\n")
    (corpus / "vocabulary.toml").write_text("# words\n")
    (corpus / "kept.txt").write_text(TEXT)
    return corpus, index


def _add(tmp_path: Path, files: list[tuple[Path, str]], max_mb: float = 10.0,
         known: dict[str, str] | None = None) -> uploads.Outcome:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    return add_files(files, corpus, index, "metadata.toml", max_mb, known or {})


def test_files_are_checked_as_ingest_checks_them(tmp_path: Path) -> None:
    corpus, _ = _folders(tmp_path)
    given = tmp_path / "given"
    given.mkdir()
    files = {
        "empty.txt": b"",
        "program.pdf": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 500,  # a .exe
        "program.txt": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 500,
        "big.txt": b"word " * 300_000,  # 1.5 MB, over the 1 MB limit below
        "notes.docx": b"PK\x03\x04",
    }
    for name, data in files.items():
        (given / name).write_bytes(data)
    pdfs.policy_paper(given / "locked.pdf", encrypt="secret")
    pdfs.scanned(given / "scan.pdf")
    pdfs.policy_paper(given / "good.pdf")
    (given / "good.md").write_text("# Council\n\n" + TEXT)
    names = [*files, "locked.pdf", "scan.pdf", "good.pdf", "good.md"]
    outcome = _add(tmp_path, [(given / n, n) for n in names], max_mb=1.0)
    why = dict(outcome.refused)
    assert why["empty.txt"] == "empty"
    assert why["program.pdf"].startswith("not a readable PDF")
    assert why["program.txt"].startswith("binary, not text")
    assert "over the 1 MB limit" in why["big.txt"]
    assert why["notes.docx"] == "not a .pdf, .txt, .md or .html file"
    assert why["locked.pdf"].startswith("an encrypted PDF")
    assert why["scan.pdf"].startswith("no text layer")
    assert outcome.added == ["good.pdf", "good.md"]
    assert sorted(p.name for p in corpus.iterdir()) == [
        "good.md", "good.pdf", "kept.txt", "metadata.toml", "vocabulary.toml"]
    assert (corpus / "good.pdf").read_bytes() == (given / "good.pdf").read_bytes()


def test_nothing_is_overwritten_and_nothing_lands_outside_the_corpus(tmp_path: Path) -> None:
    corpus, _ = _folders(tmp_path)
    source = tmp_path / "upload.txt"
    source.write_text("Another text about the Example Council and its 2032 meeting.\n")
    other = tmp_path / "other.txt"
    other.write_text("A third text, on the Example Council's budget for 2033.\n")
    outcome = _add(tmp_path, [(source, "../../kept.txt"), (other, "KEPT.txt")])
    assert outcome.added == ["kept-2.txt", "KEPT-3.txt"]  # a clash in any case is a clash
    assert (corpus / "kept.txt").read_text() == TEXT
    assert not (tmp_path / "kept.txt").exists()
    assert (corpus / "metadata.toml").read_text() == "# metadata\n"
    assert not [p for p in corpus.iterdir() if p.name.startswith(".")]  # no part file left
    again = _add(tmp_path, [(source, "copy.txt")])
    assert again.added == [] and "the same content as kept-2.txt" in again.refused[0][1]


def test_a_copy_of_an_indexed_document_is_refused(tmp_path: Path) -> None:
    _folders(tmp_path)
    import hashlib

    source = tmp_path / "same.txt"
    source.write_text(TEXT)
    known = {"kept.txt": hashlib.sha256(TEXT.encode()).hexdigest()}
    outcome = _add(tmp_path, [(source, "same.txt")], known=known)
    assert outcome.refused == [("same.txt", "the same content as kept.txt, already a document")]


def test_at_most_max_files_at_once(tmp_path: Path) -> None:
    _folders(tmp_path)
    files = []
    for i in range(uploads.MAX_FILES + 2):
        path = tmp_path / f"d{i}.txt"
        path.write_text(f"Document number {i} about the Example Council.\n")
        files.append((path, path.name))
    outcome = _add(tmp_path, files)
    assert len(outcome.added) == uploads.MAX_FILES and len(outcome.refused) == 2


def test_only_documents_added_from_the_page_can_be_removed(tmp_path: Path) -> None:
    corpus, index = _folders(tmp_path)
    source = tmp_path / "added.txt"
    source.write_text("An added text on the Example Council.\n")
    assert _add(tmp_path, [(source, "added.txt")]).added == ["added.txt"]
    assert uploaded(corpus, index) == ["added.txt"]
    for name in ("kept.txt", "metadata.toml", "../kept.txt", "missing.txt"):
        with pytest.raises(UsageError, match="only documents added here"):
            remove_file(name, corpus, index)
    assert (corpus / "kept.txt").exists() and (corpus / "metadata.toml").exists()
    remove_file("added.txt", corpus, index)
    assert not (corpus / "added.txt").exists() and uploaded(corpus, index) == []
    (corpus / "added.txt").write_text("The owner's own file of that name, put by hand.\n")
    with pytest.raises(UsageError):
        remove_file("added.txt", corpus, index)


# --- the queue ----------------------------------------------------------------------------------


def _report() -> IngestReport:
    return IngestReport(plan=Plan(), warnings=[], chunks_embedded=0, documents=0, chunks=0,
                        seconds=0.0)


class FakeIngest:
    """Reads the folder when it starts (as ingest does), takes the real lock, counts runs and
    how many ran at once."""

    def __init__(self, corpus: Path, index: Path, seconds: float = 0.3) -> None:
        self.corpus, self.index, self.seconds = corpus, index, seconds
        self.runs: list[set[str]] = []
        self.running = self.most = 0
        self.lock = threading.Lock()

    def __call__(self, on_progress: Any) -> IngestReport:
        with generations.ingest_lock(self.index):
            with self.lock:
                self.running += 1
                self.most = max(self.most, self.running)
            seen = {p.name for p in self.corpus.iterdir()}
            for done in range(3):
                on_progress(done * 10, 30)
                time.sleep(self.seconds / 3)
            self.runs.append(seen)
            with self.lock:
                self.running -= 1
        return _report()


def test_two_visitors_at_once_are_both_indexed_one_ingest_at_a_time(tmp_path: Path) -> None:
    corpus, index = _folders(tmp_path)
    fake = FakeIngest(corpus, index)
    queue = IngestQueue(index, fake, poll_s=0.05)
    first = queue.request()
    first_status: list[str] = []
    while not first.started:
        time.sleep(0.01)
    results: list[Any] = []

    def visitor(name: str) -> None:  # places a file while the first run is going on
        (corpus / name).write_text(f"{name} about the Example Council.\n")
        run = queue.request()
        first_status.append(queue.describe(run))
        run.done.wait(10)
        results.append((name, run))

    threads = [threading.Thread(target=visitor, args=(n,)) for n in ("a.txt", "b.txt")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert first.done.wait(10) and first.error is None
    assert len(results) == 2 and all(run.error is None and run.report for _, run in results)
    assert results[0][1] is results[1][1]  # both waited while one ran: merged into one run
    assert fake.most == 1 and len(fake.runs) == 2
    assert {"a.txt", "b.txt"} <= fake.runs[1]
    assert all(s.startswith("waiting for the ingest in progress to finish") or
               s.startswith("embedding") for s in first_status)


def test_a_command_line_ingest_is_waited_for_not_failed(tmp_path: Path) -> None:
    corpus, index = _folders(tmp_path)
    fake = FakeIngest(corpus, index, seconds=0.05)
    queue = IngestQueue(index, fake, poll_s=0.05)
    with generations.ingest_lock(index):  # `rag ingest` holds the lock (another open file)
        run = queue.request()
        time.sleep(0.3)
        assert not run.done.is_set()
        assert "waiting for a `rag ingest` running on this index" in queue.describe(run)
    assert run.done.wait(10) and run.error is None and len(fake.runs) == 1


def test_the_lock_taken_between_the_look_and_the_ingest_is_waited_for(tmp_path: Path) -> None:
    _, index = _folders(tmp_path)
    calls = []

    def refused_once(on_progress: Any) -> IngestReport:
        calls.append(1)
        if len(calls) == 1:
            raise UsageError(f"another `rag ingest` is running on {index}/ (pid 1) — wait")
        return _report()

    run = IngestQueue(index, refused_once, poll_s=0.01).request()
    assert run.done.wait(5) and run.error is None and len(calls) == 2


def test_an_ingest_error_reaches_every_waiting_visitor(tmp_path: Path) -> None:
    _, index = _folders(tmp_path)

    def failing(on_progress: Any) -> IngestReport:
        raise UsageError("no .txt, .md, .pdf or .html documents — nothing to index")

    run = IngestQueue(index, failing).request()
    assert run.done.wait(5) and isinstance(run.error, UsageError)

    def crashing(on_progress: Any) -> IngestReport:
        raise KeyError("boom")

    run = IngestQueue(index, crashing).request()
    assert run.done.wait(5) and run.error is not None and "server log" in str(run.error)


# --- the guard ----------------------------------------------------------------------------------


def _guarded(tmp_path: Path, limit: int | None, host: str = "127.0.0.1") -> Any:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    (corpus / "a.pdf").write_text("%PDF- a")

    async def inner(request: Any) -> PlainTextResponse:
        return PlainTextResponse("inner")

    rules = Rules(port=7860, hosts=allowed_hosts(host, []), corpus_dir=corpus,
                  documents=lambda: {"a.pdf"}, upload_limit=limit)
    app = Starlette(routes=[Route("/{rest:path}", inner, methods=["GET", "POST"])])
    return TestClient(Guard(app, rules), base_url="http://127.0.0.1:7860")


def test_the_guard_takes_uploads_only_when_on(tmp_path: Path) -> None:
    files = {"files": ("a.txt", b"x" * 1000)}
    off = _guarded(tmp_path, None)
    assert off.post("/gradio_api/upload", files=files).status_code == 403
    on = _guarded(tmp_path, upload_limit(0.01))  # 10 kB documents: 1.1 MB per upload
    assert on.post("/gradio_api/upload", files=files).text == "inner"
    assert on.post("/gradio_api/upload?upload_id=x1", files=files).text == "inner"
    big = {"files": ("a.txt", b"x" * 1_200_000)}
    assert on.post("/gradio_api/upload", files=big).status_code == 413
    cross = on.post("/gradio_api/upload", files=files, headers={"Origin": "http://evil.example"})
    assert cross.status_code == 403
    same = on.post("/gradio_api/upload", files=files, headers={"Origin": "http://127.0.0.1:7860"})
    assert same.text == "inner"
    for path in ("/gradio_api/process_recording", "/gradio_api/component_server", "/upload"):
        assert on.post(path, files=files).status_code == 403, path  # other routes: never
    assert on.post("/gradio_api/upload", content=b"{}",
                   headers={"Content-Type": "application/json"}).status_code == 400
    assert on.post("/gradio_api/queue/join", content=b" " * 2_000_000,
                   headers={"Content-Type": "application/json"}).status_code == 413


def test_the_guard_never_serves_gradio_upload_files(tmp_path: Path) -> None:
    on = _guarded(tmp_path, upload_limit(10))
    stored = tmp_path / "gradio" / "0123abcd" / "a.pdf"  # as Gradio stores an upload
    stored.parent.mkdir(parents=True)
    stored.write_text("%PDF- uploaded")
    assert on.get(f"/gradio_api/file={stored}").status_code == 404
    assert on.get(f"/gradio_api/file={(tmp_path / 'corpus' / 'a.pdf').resolve()}").text == \
        "%PDF- a"


@pytest.mark.parametrize(("host", "allow", "on", "warned"), [
    ("127.0.0.1", None, True, False),
    ("localhost", None, True, False),
    ("::1", None, True, False),
    ("127.0.0.2", None, True, False),
    ("127.0.0.1", False, False, False),
    ("0.0.0.0", None, False, False),
    ("192.168.1.5", None, False, False),
    ("0.0.0.0", True, True, True),
    ("rag.example", True, True, True),
])
def test_uploads_are_on_by_default_on_loopback_only(host: str, allow: bool | None, on: bool,
                                                    warned: bool) -> None:
    assert uploads_on(host, allow) is on
    note = upload_note(host, on)
    assert ("anyone who can reach it can add and remove documents" in note) is warned
    assert is_loopback(host) is (host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"))


def test_ui_guard_rules_follow_the_host_and_the_flag(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("ui_main", ROOT / "ui.py")
    assert spec is not None and spec.loader is not None
    ui = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ui)
    settings = get_settings(corpus_dir=tmp_path, index_dir=tmp_path / "idx")

    def rules(host: str, allow: bool | None) -> Rules:
        args = argparse.Namespace(host=host, port=7860, allowed_host=[], allow_upload=allow)
        return ui.guard_rules(args, settings)  # type: ignore[no-any-return]

    assert rules("127.0.0.1", None).upload_limit == upload_limit(settings.max_document_mb)
    assert rules("0.0.0.0", None).upload_limit is None
    assert rules("0.0.0.0", True).upload_limit is not None
    assert rules("127.0.0.1", False).upload_limit is None


# --- the real thing (slow) ----------------------------------------------------------------------


@pytest.fixture
def own_index(real_index: Settings, tmp_path: Path) -> Settings:
    """A copy of the small seed corpus and of its session index: never the shared .rag."""
    shutil.copytree(CORPUS, tmp_path / "corpus")
    shutil.copytree(real_index.index_dir, tmp_path / "idx")
    return get_settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "idx")


@pytest.mark.slow
def test_two_uploads_at_once_with_the_real_ingest(own_index: Settings, tmp_path: Path) -> None:
    from rag.index.ingest_queue import queue_for
    from rag.retrieval.searcher import get_searcher

    seen: list[str] = []
    queue = queue_for(own_index)
    given = []
    for i, fact in enumerate(("the Baltic Grain Compact of 2029", "the Andean Water Pact")):
        path = tmp_path / f"fact{i}.txt"
        path.write_text(f"This note is about {fact}. " * 20 + "\n")
        given.append(path)

    def visitor(path: Path) -> Any:
        outcome = add_files([(path, path.name)], own_index.corpus_dir, own_index.index_dir,
                            own_index.metadata_file, own_index.max_document_mb, {})
        assert outcome.added == [path.name]
        run = queue.request()
        while not run.done.wait(0.05):
            seen.append(queue.describe(run))
        return run

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(visitor, given))
    assert all(run.error is None for run in runs), [run.error for run in runs]
    docs = get_searcher(own_index).fingerprint.docs
    assert {"fact0.txt", "fact1.txt"} <= set(docs)
    assert any(s.startswith("embedding ") and "/" in s for s in seen), seen[-5:]


FACT_QUESTION = "When was the Tarrow Accord on Arctic fisheries signed?"
FACT = "The Tarrow Accord on Arctic fisheries was signed in Reykjavik on 14 March 2031."


def fact_paper(path: Path) -> Path:
    """A two-page PDF whose distinctive fact is on page 2 only."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    canvas = Canvas(str(path), pagesize=A4)
    canvas.setTitle("Arctic fisheries after 2030")
    lines = ["Fishing fleets of the northern states have followed the cod and the",
             "herring further north as the sea warmed. Quotas agreed between the",
             "coastal states no longer matched where the fish were found."]
    for row, line in enumerate(lines):
        canvas.drawString(72, A4[1] - 100 - row * 14, line)
    canvas.showPage()
    for row, line in enumerate([FACT, "Nine coastal states signed it after two years of talks.",
                                "It sets joint quotas for cod and herring north of 66 degrees."]):
        canvas.drawString(72, A4[1] - 100 - row * 14, line)
    canvas.showPage()
    canvas.save()
    return path


@pytest.fixture
def upload_ui(own_index: Settings, tmp_path: Path) -> Iterator[str]:
    from tests.test_ui import serve

    yield from serve(own_index.corpus_dir, own_index.index_dir, tmp_path / "ui.log")


def _open_panel(page: Any) -> None:
    page.get_by_text("Add or remove documents").click()


@pytest.mark.slow
def test_add_a_pdf_ask_about_its_page_two_and_remove_it(upload_ui: str,
                                                        browser: Any,  # noqa: F811
                                                        own_index: Settings,
                                                        tmp_path: Path) -> None:
    from tests.test_ui import ARTIFACTS, ask

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf = fact_paper(tmp_path / "Arctic fisheries (2031).pdf")
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(upload_ui)
    _open_panel(page)
    page.locator("#upload input[type=file]").set_input_files(str(pdf))
    status = page.locator("#upload-status")
    status.locator(".done").wait_for(timeout=180_000)
    assert "Arctic_fisheries_2031.pdf" in status.inner_text()
    page.screenshot(path=ARTIFACTS / "7-upload-added.png", full_page=True)
    assert (own_index.corpus_dir / "Arctic_fisheries_2031.pdf").is_file()
    page.get_by_text("Settings").click()
    listed = page.locator("#docs")
    listed.get_by_text("Arctic fisheries after 2030").wait_for(timeout=10_000)

    ask(page, FACT_QUESTION)
    marker = page.locator("#conversation a.cite").first
    marker.wait_for(timeout=60_000)
    assert "2031" in page.locator("#conversation").inner_text()
    marker.click()
    shown = page.locator("#sources .source:target")
    shown.wait_for(state="visible", timeout=10_000)
    assert shown.get_attribute("data-doc") == "Arctic_fisheries_2031.pdf"
    assert "page 2," in shown.locator(".meta").inner_text()
    assert "14 March 2031" in shown.locator("mark").inner_text()
    page.screenshot(path=ARTIFACTS / "8-upload-cited-page-2.png", full_page=True)

    page.locator("#remove-doc input").click()
    page.get_by_role("option", name="Arctic_fisheries_2031.pdf").click()
    page.locator("#remove").click()
    status.get_by_text("Removed Arctic_fisheries_2031.pdf").wait_for(timeout=180_000)
    assert not (own_index.corpus_dir / "Arctic_fisheries_2031.pdf").exists()
    listed.get_by_text("Arctic fisheries after 2030").wait_for(state="detached", timeout=5_000)
    ask(page, FACT_QUESTION)
    page.locator("#conversation .turn").nth(1).locator(".a").wait_for(timeout=60_000)
    second = page.locator("#conversation .turn").nth(1)
    assert "Arctic_fisheries" not in second.inner_html()
    later = page.locator("#sources .source[id^='src-1-']")  # the second turn's sources
    assert all(doc != "Arctic_fisheries_2031.pdf" for doc in
               later.evaluate_all("els => els.map(e => e.dataset.doc)"))
    page.screenshot(path=ARTIFACTS / "9-upload-removed.png", full_page=True)
    assert errors == []


@pytest.mark.slow
def test_uploads_are_off_on_every_interface_without_the_flag(own_index: Settings,
                                                              tmp_path: Path,
                                                              browser: Any,  # noqa: F811
                                                              ) -> None:
    from tests.test_ui import ARTIFACTS, serve

    served = serve(own_index.corpus_dir, own_index.index_dir, tmp_path / "ui.log",
                   args=["--host", "0.0.0.0"])
    url = next(served)
    try:
        got = httpx.post(f"{url}gradio_api/upload", files={"files": ("a.txt", b"hello")})
        assert got.status_code == 403, got.text
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(url)
        _open_panel(page)
        off = page.locator("#uploads-off")
        off.wait_for(state="visible", timeout=10_000)
        assert "off" in off.inner_text() and "--allow-upload" in off.inner_text()
        assert page.locator("#upload").count() == 0
        off.screenshot(path=ARTIFACTS / "10-uploads-off.png")
    finally:
        next(served, None)  # the rest of serve(): stop the page
    log = (tmp_path / "ui.log").read_text()
    assert "anyone who can reach it can add and remove documents" not in log

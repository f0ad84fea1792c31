"""The web page in a real browser (Debian's Chromium driven by Playwright), and its API under
concurrent use. Screenshots go to test-artifacts/ui/.

Needs /usr/bin/chromium (`apt-get install -y chromium`; .ci/run installs it). Without it the
browser tests are skipped, saying so; CI sets RAG_REQUIRE_BROWSER=1, which makes that a failure.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "ui"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def ui(real_index: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python ui.py` on a free port, serving the session's real index."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("ui") / "ui.log"
    log = log_path.open("wb")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    process = subprocess.Popen([sys.executable, str(ROOT / "ui.py"), "--port", str(port),
                                "--corpus", str(real_index.corpus_dir),
                                "--index", str(real_index.index_dir)],
                               stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while True:
        assert process.poll() is None, log_path.read_text()
        try:
            urllib.request.urlopen(url, timeout=1).read()
            break
        except OSError:
            assert time.monotonic() < deadline, "the UI did not come up in 120 s"
            time.sleep(0.5)
    yield url
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = "needs Debian's Chromium: apt-get install -y chromium"
        if os.environ.get("RAG_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        yield launched
        launched.close()


def ask(page: Any, question: str) -> None:
    box = page.locator("#question textarea")
    box.fill(question)
    page.locator("#ask").click()


def test_ask_click_a_marker_and_see_the_highlighted_source(ui: str, browser: Any) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(ui)
    started = time.monotonic()
    ask(page, "When did the Vietnam free trade agreement with the EAEU enter into force?")
    marker = page.locator("#conversation a.cite").last  # [1] the table's title, [2] the row
    marker.wait_for(timeout=30_000)
    first_answer_s = time.monotonic() - started
    page.screenshot(path=ARTIFACTS / "1-answer.png", full_page=True)
    marker.click()
    shown = page.locator("#sources .source:target")
    shown.wait_for(state="visible", timeout=10_000)
    assert shown.get_attribute("data-doc") == "000_c198081f43e7425d.txt"
    highlighted = shown.locator("mark").inner_text()
    assert "Vietnam" in highlighted and "2016" in highlighted
    assert "Carnegie" in shown.inner_text() or "EAEU" in shown.inner_text()
    page.screenshot(path=ARTIFACTS / "2-source.png", full_page=True)
    plain = page.locator("#plain textarea").input_value()
    assert "References:" in plain and "[1]" in plain

    ask(page, "Who was Secretary-General of the SCO in 2019?")
    page.locator("#conversation .abstained").wait_for(timeout=30_000)
    assert "The corpus does not answer this question" in page.locator(
        "#conversation").inner_text()
    page.screenshot(path=ARTIFACTS / "3-abstention.png", full_page=True)
    assert errors == []
    (ARTIFACTS / "time-to-first-answer.txt").write_text(f"{first_answer_s:.2f} s\n")


def test_markup_in_a_question_is_shown_as_text(ui: str, browser: Any) -> None:
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(ui)
    page.evaluate("window.__xss = 0")
    question = ('<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2; '
                'alert(1)"> What is the SCO?')
    ask(page, question)
    page.locator("#conversation .turn .a").first.wait_for(timeout=30_000)
    page.wait_for_timeout(500)
    assert page.evaluate("window.__xss") == 0 and dialogs == []
    assert page.locator("#conversation img").count() == 0
    assert "<script>window.__xss = 1</script>" in page.locator("#conversation .q").inner_text()
    page.screenshot(path=ARTIFACTS / "4-markup-as-text.png", full_page=True)


def test_twenty_questions_at_once_through_the_api(ui: str) -> None:
    from gradio_client import Client

    questions = ["How many troops will the CORF have?",
                 "When was the Astana Treaty signed?",
                 "Which SCO member is suspected of sending drones to Russia?",
                 "What share of the EAEU's GDP does Russia account for?"] * 5

    def one(question: str) -> dict[str, Any]:
        client = Client(ui, verbose=False)
        result: dict[str, Any] = client.predict(question, 5, None, api_name="/answer")
        return result

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(one, questions))
    assert len(results) == 20
    for question, result in zip(questions, results, strict=True):
        assert result["question"] == question and not result["abstained"]
        assert result["citations"] and all(s["citations"] for s in result["sentences"])
    answers: dict[str, set[str]] = {}
    for question, result in zip(questions, results, strict=True):
        answers.setdefault(question, set()).add(result["answer"])
    assert all(len(a) == 1 for a in answers.values())  # the same answer every time

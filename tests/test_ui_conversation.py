"""A conversation in the page (Debian's Chromium driven by Playwright): a follow-up answered
about the first question's subject with "Searched for" shown, the conversation exported, a new
conversation started; the page's title and examples made from the corpus; the API's history.
Screenshots go to test-artifacts/ui/."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.test_ui import ARTIFACTS, ask, browser, ui  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow


def wait_for_answers(page: Any, count: int) -> None:
    """Until `count` turns hold a finished answer (or an abstention)."""
    page.wait_for_function(
        "n => document.querySelectorAll('#conversation .turn .meta').length >= n",
        arg=count, timeout=60_000)


def test_a_follow_up_is_answered_about_the_first_subject_and_exported(ui: str,  # noqa: F811
                                                                      browser: Any) -> None:  # noqa: F811
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1100}, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(ui)
    header = page.locator("#header").inner_text()
    assert "Policy papers Q&A" in header  # metadata.toml's [corpus] title
    assert page.title() == "Policy papers Q&A"

    ask(page, "What is the Shanghai Cooperation Organization?")
    wait_for_answers(page, 1)
    ask(page, "When was it founded?")
    wait_for_answers(page, 2)
    second = page.locator("#conversation .turn").nth(1)
    assert second.locator(".searched").inner_text() == (
        "Searched for: When was the Shanghai Cooperation Organization founded?")
    assert "2001" in second.inner_text()
    assert page.locator("#conversation .turn").nth(0).locator(".searched").count() == 0
    page.screenshot(path=ARTIFACTS / "7-follow-up.png", full_page=True)

    page.locator("#export").click()
    link = page.locator("#exports a[download='conversation.md']")
    link.wait_for(timeout=30_000)
    with page.expect_download() as got:
        link.click()
    text = got.value.path().read_text()
    assert "When was it founded?" in text and "Searched as:" in text
    assert "## References" in text and "1. " in text
    with page.expect_download() as got:
        page.locator("#exports a[download='references.json']").click()
    items = json.loads(got.value.path().read_text())
    assert items and all(item["title"] for item in items)
    with page.expect_download() as got:
        page.locator("#exports a[download='references.bib']").click()
    assert got.value.path().read_text().lstrip().startswith("@")
    page.screenshot(path=ARTIFACTS / "8-export.png", full_page=True)

    page.locator("#new-conversation").click()
    page.wait_for_function("() => !document.querySelector('#conversation .turn')",
                           timeout=10_000)
    ask(page, "When was it founded?")  # no earlier turn: searched as typed
    wait_for_answers(page, 1)
    assert page.locator("#conversation .searched").count() == 0
    assert errors == []


def test_the_api_takes_the_conversation_as_history(ui: str) -> None:  # noqa: F811
    from gradio_client import Client

    client = Client(ui, verbose=False)
    first = client.predict("What is the Shanghai Cooperation Organization?", 5, None, None,
                           api_name="/answer")
    second = client.predict("When was it founded?", 5, None, [first], api_name="/answer")
    assert second["searched"] == "When was the Shanghai Cooperation Organization founded?"
    assert "2001" in second["answer"]
    old = client.predict("When was the Astana Treaty signed?", 5, None, api_name="/answer")
    assert old["searched"] == old["question"]  # an old caller: no history argument
    bad = client.predict("When was it founded?", 5, None, "not a list", api_name="/answer")
    assert "history must be a list" in bad["error"]

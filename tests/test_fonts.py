"""The page's bundled fonts (rag/web/fonts.py): they cover the corpus's characters, ship with
the package, and in a real browser draw the header, the answer and the source titles with no
font fetched from anywhere and no letter taken from another font (Gradio's own weight-600 file
made "Q&A", "EAEU" and "BRICS" look like small capitals). Screenshot: test-artifacts/ui/.
"""

import fnmatch
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fontTools.ttLib import TTFont

from rag.web import fonts
from tests import test_ui
from tests.conftest import CORPUS, ROOT
from tests.test_ui import ARTIFACTS, ask, serve

browser = test_ui.browser  # the module's Chromium fixture (needs /usr/bin/chromium)


def _cmap(face: fonts.Face) -> set[int]:
    return set(TTFont(fonts.FONTS_DIR / face.file).getBestCmap())


def test_the_bundled_fonts_draw_every_character_of_the_corpus() -> None:
    used = {ord(c) for p in CORPUS.glob("*.txt") for c in p.read_text(encoding="utf-8")}
    used |= {ord(c) for c in "Policy papers Q&A · ⚠ … “”‘’–—"}  # the page's own text
    used -= {ord(c) for c in "\n\t\r"}
    for face in fonts.FACES:
        missing = sorted(chr(c) for c in used - _cmap(face))
        assert not missing, (face.file, missing)


def test_the_theme_inlines_its_fonts_and_links_no_stylesheet() -> None:
    theme = fonts.theme()
    css = theme._get_theme_css()
    assert theme._stylesheets == []  # no <link> to fonts.googleapis.com or elsewhere
    assert css.count("@font-face") == len(fonts.FACES)
    assert css.count("url(data:font/woff2;base64,") == len(fonts.FACES)
    assert "http" not in css.split(":root")[0] and "static/fonts" not in css
    assert f"'{fonts.SANS}'" in theme.font and f"'{fonts.MONO}'" in theme.font_mono


def test_the_package_data_ships_the_fonts_and_their_licence() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["rag.web"]
    files = [p.relative_to(fonts.FONTS_DIR.parent).as_posix()
             for p in fonts.FONTS_DIR.iterdir()]
    assert "fonts/LICENSE_DEJAVU" in files
    assert {f.file for f in fonts.FACES} <= {Path(f).name for f in files}
    for name in files:
        assert any(fnmatch.fnmatch(name, p) for p in patterns), name


@pytest.fixture(scope="module")
def ui(real_index: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    yield from serve(real_index.corpus_dir, real_index.index_dir,
                     tmp_path_factory.mktemp("ui-fonts") / "ui.log")


def _platform_fonts(page: Any, selector: str) -> list[dict[str, Any]]:
    """The fonts Chromium drew the text of `selector`'s element with (DevTools protocol)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    assert node, selector
    found: list[dict[str, Any]] = cdp.send("CSS.getPlatformFontsForNode",
                                           {"nodeId": node})["fonts"]
    cdp.detach()
    return found


@pytest.mark.slow
def test_the_page_draws_capitals_in_the_bundled_font_fetching_none(ui: str,
                                                                   browser: Any) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(ui)
    ask(page, "When was the SCO founded?")
    marker = page.locator("#conversation a.cite").first
    marker.wait_for(timeout=30_000)
    marker.click()
    title = page.locator("#sources .source:target h4")
    title.wait_for(state="visible", timeout=10_000)
    assert "EAEU" in title.inner_text() and "BRICS" in title.inner_text()
    page.evaluate("document.fonts.ready")
    page.screenshot(path=ARTIFACTS / "7-fonts.png", full_page=True)

    origin = urlsplit(ui).netloc
    away = [u for u in requested if not u.startswith("data:") and urlsplit(u).netloc != origin]
    assert away == []
    assert not [u for u in requested if "/static/fonts/" in u]  # Gradio's own font files
    bold, regular = ("DejaVuSans-Bold", True), ("DejaVuSans", True)  # (name, bundled)
    for selector, wanted in (("h1", [bold]), ("#conversation .a", [regular, bold]),
                             ("#sources .source:target h4", [bold])):
        style = page.locator(selector).first.evaluate(
            "e => { const s = getComputedStyle(e); return [s.fontFamily, s.fontVariantCaps, "
            "s.fontFeatureSettings, s.fontVariant]; }")
        assert style[0].startswith(f'"{fonts.SANS}"'), (selector, style)
        assert style[1:] == ["normal", "normal", "normal"], (selector, style)  # no small caps
        drawn = _platform_fonts(page, selector)
        # the bundled font for every letter: before, "A" and "B" of the header and the titles
        # came from Gradio's Source Sans Pro SemiBold, the rest from the system's DejaVu Bold
        got = sorted((f["postScriptName"], f["isCustomFont"]) for f in drawn)
        assert got == sorted(wanted), (selector, drawn)
    assert page.locator("h1").inner_text() == "Policy papers Q&A"

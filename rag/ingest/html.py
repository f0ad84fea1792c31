"""HTML documents: their visible text, one block (paragraph, heading, list item, table row)
per paragraph. Read with Beautiful Soup (MIT) and the standard library's parser, imported only
when a corpus holds an HTML file. The extracted text is what the index stores and citations
quote, as for PDFs; an HTML document has no pages."""

from __future__ import annotations

import re
from typing import Any

from rag.errors import UsageError
from rag.ingest.pdf import UnreadableDocument

HIDDEN = ("script", "style", "noscript", "template", "head", "svg", "iframe", "nav")
BLOCKS = ("p", "div", "section", "article", "main", "aside", "header", "footer", "blockquote",
          "pre", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd",
          "table", "caption", "figure", "figcaption", "hr", "address")
_BLANKS = re.compile(r"[ \t]*\n[ \t\n]*\n[ \t\n]*")


def _soup(html: str) -> Any:
    try:
        from bs4 import BeautifulSoup
    except ImportError as err:  # pragma: no cover - a dependency of the default install
        raise UsageError("reading HTML needs beautifulsoup4 — pip install beautifulsoup4"
                         ) from err
    return BeautifulSoup(html, "html.parser")


def read_html(html: str) -> str:
    """The visible text of an HTML page, blocks separated by blank lines, cells by a space."""
    soup = _soup(html)
    for tag in soup.find_all(HIDDEN):
        tag.decompose()
    for tag in soup.find_all("br"):
        tag.replace_with("\n")
    for tag in soup.find_all(["td", "th"]):
        tag.insert_after(" ")
    for tag in soup.find_all("tr"):
        tag.insert_after("\n")
    for tag in soup.find_all(BLOCKS):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    text = _BLANKS.sub("\n\n", soup.get_text()).strip()
    if not text:
        raise UnreadableDocument("an HTML page with no visible text")
    return text + "\n"

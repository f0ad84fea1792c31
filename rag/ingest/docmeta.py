"""Title, authors and year as a document states them itself, for the documents (or fields)
metadata.toml does not give: a PDF's document information and XMP, an HTML page's <title> and
citation_*/DC.*/og: meta tags, a Markdown file's YAML front matter or first `# heading`, a
plain text's title line, "By ..." line and date line near its top.

Conservative by design: no title is better than a wrong one (answers and the page name a
source by it), so a field is taken only from a place that states it, and junk ("Microsoft Word
- x.docx", "untitled", a file name, a sentence, a page header) is dropped. The year comes only
from an explicit publication or creation date, never from any four-digit number in the text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.ingest.metadata import DocMeta

HEAD_LINES = 15  # non-blank lines of a text in which its byline and date are looked for
HEAD_CHARS = 65_536  # of a text or Markdown file, where all is looked for (the rest never is)
FIRST_YEAR, FIRST_PDF_YEAR = 1000, 1993  # PDF appeared in 1993: an earlier CreationDate is junk

_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|"
           "december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec")
# A date as a field holding one writes it; a line of text that is only a date must name its
# day or month (FULL_DATES): "2019/20" or "2020" alone may be a fiscal year or a page number.
_NAMED = (r"\d{1,2}[-/.]\d{1,2}[-/.](?P<y>\d{4})",  # 13/05/2020, 05.13.2020
          rf"(?:\d{{1,2}}(?:st|nd|rd|th)?\s+)?(?:{_MONTHS})\.?,?\s+(?P<y>\d{{4}})",  # (13) May 2020
          rf"(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}})")  # May 13, 2020
_TIME = r"(?:[T ]\d{1,2}:\d{2}\S*)?"
DATES = [re.compile(p, re.I) for p in (
    rf"(?P<y>\d{{4}})(?:[-/.]\d{{1,2}}(?:[-/.]\d{{1,2}})?)?{_TIME}", *_NAMED)]
FULL_DATES = [re.compile(p, re.I) for p in (rf"(?P<y>\d{{4}})-\d{{2}}-\d{{2}}{_TIME}", *_NAMED)]
_PDF_DATE = re.compile(r"(?:D:)?(?P<y>\d{4})(?:\d{2}){0,5}(?:[Zz+\-].*)?")
_DATE_LABEL = re.compile(r"(?:(?:first\s+)?published|publication\s+date|date|dated|posted|"
                         r"released)(?:\s+on)?\s*:?\s*(?P<date>.+)", re.I)
_COPYRIGHT = re.compile(r"(?:©|\bcopyright\b)\s*(?:©\s*)?(?P<y>\d{4})\b", re.I)
_BYLINE = re.compile(r"\s*(?:by|written\s+by|authors?\s*:)\s+(?P<names>.+)", re.I)
_RULE = re.compile(r"\s*(?:-{3,}|\*{3,}|_{3,}|={3,})\s*")
_MARKUP = re.compile(r"^\s*#{1,6}\s+|\*\*|__|<[^<>]{1,80}>|\s+#+\s*$|^[*_]+|[*_]+$")
_AUTHOR_SEPARATORS = re.compile(r"\s*(?:;|\band\b|&)\s*")
_SIDE = re.compile(r"\s+(?:[|·•–—]|-|::)\s+")  # "Title | Site", "Title - Site"

# Titles that are a program's placeholder or a file name, not the document's title.
_JUNK_TITLE = re.compile(
    r"microsoft\s+(?:word|powerpoint|excel)\b.*|untitled\b.*|no\s+title|(?:the\s+)?title"
    r"|(?:document|presentation|slide|book|doc)\s*\d*|powerpoint\s+presentation|unknown"
    r"|none|null|n/?a|.*\.(?:docx?|pdf|rtf|odt|pptx?|xlsx?|tex|dvi|indd|qxd|txt|md|html?|e?ps"
    r"|wpd|pages)|\S*[/\\]\S*|[a-z]:\\.*|[\w.-]*_[\w.-]*|[^a-z]*", re.I)
# What an office program or a login puts in the Author field.
_JUNK_AUTHOR = re.compile(r"(?i:administrator|admin|user\d*|owner|author|unknown|guest|name|"
                          r"(?:microsoft\s+office|windows)\s+user)|[^\s@]+@\S+|https?://\S+"
                          r"|[a-z0-9_.]+|\w*\d\w*")  # a login: "jsmith", "pc01"
# Labels that open a text but title nothing: the first block is then not a title.
_LABELS = re.compile(r"(?:executive\s+)?summary|abstract|contents|table\s+of\s+contents|"
                     r"introduction|preface|foreword|acknowledge?ments?|key\s+findings|"
                     r"list\s+of\s+\w+|analysis|draft|confidential", re.I)
_FURNITURE = re.compile(r".*(?:\bpage\s+\d|\bvol\.|\bno\.\s*\d|\bpp\.|\bissn\b|\bisbn\b|"
                        r"\bdoi\b|https?://|www\.|@|©|copyright|all\s+rights\s+reserved|"
                        r"\s\|\s).*|[\d\s./-]*", re.I)
_SMALL_WORDS = {"a", "an", "and", "as", "at", "but", "by", "for", "from", "in", "into", "nor",
                "of", "on", "or", "over", "per", "the", "to", "up", "via", "vs", "with", "its",
                "their", "is", "are", "be", "de", "la", "le", "et", "und", "der", "die"}
_PARTICLES = {"van", "von", "de", "der", "den", "da", "di", "du", "la", "le", "del", "dos",
              "bin", "al", "ibn", "y", "ter", "ten", "st."}


@dataclass
class Read:
    """What a document says of itself, and where each field was found ("the HTML <title>")."""

    title: str = ""
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    where: dict[str, str] = field(default_factory=dict)  # "title"/"authors"/"year" -> place

    def take(self, name: str, value: Any, where: str) -> None:
        """Set field `name` to `value` found at `where`, unless it is set already or empty."""
        if value and not getattr(self, name):
            setattr(self, name, value)
            self.where[name] = where

    def note(self, fields: tuple[str, ...] = ("title", "authors", "year")) -> str:
        """'title and authors from the PDF's metadata; year from the PDF's creation date'."""
        places: dict[str, list[str]] = {}
        for name in fields:
            if name in self.where:
                places.setdefault(self.where[name], []).append(name)
        return "; ".join(f"{' and '.join(names)} from {where}" for where, names in places.items())


def read_metadata(source: Path | str | bytes, name: str = "") -> DocMeta | None:
    """What the document at `source` (a path, or its content: then `name` is its file name,
    which says its kind) states of its title, authors and year; None when it states none.
    A title it does not state is its file name, and `note` says where each field came from."""
    name = name or (source.name if isinstance(source, Path) else "")
    read = read_fields(source, name)
    return combine(None, read, name)


def read_fields(source: Path | str | bytes, name: str = "") -> Read:
    """The fields `read_metadata` reads, with where each came from."""
    name = name or (source.name if isinstance(source, Path) else "")
    data = source.read_bytes() if isinstance(source, Path) else source
    kind = Path(name).suffix.lower()
    if kind == ".pdf":
        return _pdf(data.encode() if isinstance(data, str) else data, name)
    if isinstance(data, str):
        text = data
    else:  # imported here: a searcher reading stored texts need not import the readers
        from rag.ingest.corpus import decode

        text = decode(data)[0] or ""
    if kind in (".html", ".htm"):
        return _html(text, name)
    return _markdown(text, name) if kind == ".md" else _text(text, name)


def read_stored(doc: str, sha256: str, original: Callable[[], str], pdf: Path,
                corpus_dir: Path) -> Read:
    """What an indexed document states of itself, from what the index keeps of it: a text's or
    Markdown file's `original()` text (the file's own), a PDF's copy `pdf`; an HTML page's head
    is not kept, so its file in `corpus_dir` is read if it is still the version indexed."""
    kind = Path(doc).suffix.lower()
    if kind == ".pdf":
        return read_fields(pdf, doc) if pdf.is_file() else Read()
    if kind in (".html", ".htm"):
        try:
            data = (corpus_dir / doc).read_bytes()
        except OSError:  # gone or unreadable since the ingest: the page is named by file name
            return Read()
        return read_fields(data, doc) if hashlib.sha256(data).hexdigest() == sha256 else Read()
    return read_fields(original(), doc)


def combine(given: DocMeta | None, read: Read, doc: str) -> DocMeta | None:
    """`given` (metadata.toml's entry) with the fields it lacks taken from `read`: a field
    metadata.toml gives wins. None when neither says anything."""
    if given is None:
        if not read.where:
            return None
        return DocMeta(title=read.title or doc, authors=read.authors, year=read.year,
                       note=_sentence(read.note()))
    borrowed = tuple(n for n in ("authors", "year") if not getattr(given, n) and n in read.where)
    if not borrowed:
        return given
    note = _sentence(read.note(borrowed))
    return given.model_copy(update={**{n: getattr(read, n) for n in borrowed},
                                    "note": f"{given.note} {note}" if given.note else note})


# ---- checks shared by every kind --------------------------------------------------------


def _sentence(note: str) -> str:
    return f"{note[:1].upper()}{note[1:]}."


def _clean(value: str) -> str:
    return " ".join(_MARKUP.sub(" ", value).split()).strip()


def _good_title(value: str, name: str) -> str:
    """`value` as a title, or "" when it is junk: a placeholder, a file name (this one's or
    any), no letters, or too long to be a title."""
    title = _clean(value)
    stem = Path(name).stem.lower()
    if (not title or _JUNK_TITLE.fullmatch(title) or _LABELS.fullmatch(title.rstrip(":"))
            or title.lower() in (name.lower(), stem) or len(title) > 300):
        return ""
    return title


def _year(value: object, earliest: int = FIRST_YEAR, dates: list[re.Pattern[str]] = DATES
          ) -> int | None:
    """The year of a value that is a date ("2020-05-13", "13 May 2020", a YAML date), else
    None: a bare number is a year only where the field itself is a date."""
    if isinstance(value, dt.date):
        year = value.year
    elif isinstance(value, int) and not isinstance(value, bool):
        year = value
    elif isinstance(value, str):
        found = next((m for p in dates if (m := p.fullmatch(value.strip()))), None)
        if found is None:
            return None
        year = int(found["y"])
    else:
        return None
    return year if earliest <= year <= dt.date.today().year + 1 else None


def _split_authors(value: str) -> list[str]:
    """'A; B', 'A and B', 'A, B and C' into names; 'Roe, Jane' stays one name (a comma
    separates names only when every piece has two words or more)."""
    names = []
    for piece in _AUTHOR_SEPARATORS.split(value):
        parts = [p.strip() for p in piece.split(",") if p.strip()]
        if len(parts) > 1 and all(len(p.split()) > 1 for p in parts):
            names += parts
        elif piece.strip(" ,"):
            names.append(piece.strip(" ,"))
    return [n for n in (_clean(n) for n in names) if n and not _JUNK_AUTHOR.fullmatch(n)]


def _person(value: str) -> bool:
    """Whether `value` reads as a person's name: two to five words, each capitalised, an
    initial or a particle ("van", "de"), the last a capitalised word."""
    words = value.split()
    if not 2 <= len(words) <= 5 or words[-1].lower() in _PARTICLES:
        return False
    return all(w.lower() in _PARTICLES or re.fullmatch(r"[A-Z]\.(?:-?[A-Z]\.)*|[A-Z]", w)
               or (re.fullmatch(r"[A-ZÀ-Þ][\w'’.-]*", w) and not w.isdigit()) for w in words)


def _byline_names(value: str) -> list[str]:
    """The people a "By ..." line names, without what follows a name ("By Stephen Aris,
    Zurich"); none unless the first is a person."""
    names = []
    for piece in _AUTHOR_SEPARATORS.split(value.strip()):
        names += [p for p in (p.strip() for p in piece.split(",")) if _person(p)]
        if not names:
            return []
    return names


# ---- PDF -----------------------------------------------------------------------------------


def _pdf(data: bytes, name: str) -> Read:
    """Title, authors and year from the document information dictionary, then the XMP."""
    from rag.ingest.pdf import UnreadableDocument, _open

    read = Read()
    try:
        pdf = _open(data)
    except UnreadableDocument:
        return read
    try:
        info = pdf.get_metadata_dict(skip_empty=True)
    finally:
        pdf.close()
    xmp = _xmp(data)
    read.take("title", _good_title(info.get("Title", ""), name), "the PDF's metadata")
    read.take("title", _good_title(xmp.get("title", ""), name), "the PDF's XMP metadata")
    read.take("authors", [a for a in (_clean(c) for c in xmp.get("creators", []))
                          if a and not _JUNK_AUTHOR.fullmatch(a)], "the PDF's XMP metadata")
    read.take("authors", _split_authors(info.get("Author", "")), "the PDF's metadata")
    read.take("year", _year(xmp.get("published")), "the PDF's XMP publication date")
    dates = (("CreationDate", "creation date"), ("ModDate", "modification date"))
    for key, what in dates:
        found = _PDF_DATE.fullmatch(info.get(key, "").strip())
        read.take("year", found and _year(int(found["y"]), FIRST_PDF_YEAR), f"the PDF's {what}")
        xmp_date = xmp.get(key, "")[:10]
        read.take("year", _year(xmp_date, FIRST_PDF_YEAR), f"the PDF's XMP {what}")
    return read


_PACKET = re.compile(rb"<x(?:ap)?:xmpmeta\b.*?</x(?:ap)?:xmpmeta>", re.S)
_PDF_NS = b"http://ns.adobe.com/pdf/1.3/"
_DC, _XMP = "{http://purl.org/dc/elements/1.1/}", "{http://ns.adobe.com/xap/1.0/}"
_RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"


def _xmp(data: bytes) -> dict[str, Any]:
    """The document's XMP packet, found by scanning the file as the XMP specification allows
    (PDFium has no call for the catalog's Metadata stream; a compressed one is not found).
    Only a packet describing a PDF (with the pdf: namespace) counts: an embedded image's XMP
    has a title of its own. The last one, as an incremental update appends the newer."""
    import xml.etree.ElementTree as ET  # expat >= 2.4.1 caps entity expansion; no external ones

    packets = [p for p in _PACKET.findall(data) if _PDF_NS in p]
    if not packets:
        return {}
    try:
        root = ET.fromstring(packets[-1])
    except ET.ParseError:
        return {}
    values: dict[str, list[str]] = {}
    for node in root.iter(f"{_RDF}Description"):
        for key, value in node.attrib.items():  # the abbreviated form: xmp:CreateDate="..."
            values.setdefault(key, []).append(value)
        for child in node:
            items = [li.text or "" for li in child.iter(f"{_RDF}li")]
            values.setdefault(child.tag, []).extend(items or [child.text or ""])
    prism = [v for k, vs in values.items() if k.startswith("{http://prismstandard.org/")
             and k.endswith(("}publicationDate", "}coverDate")) for v in vs]
    first = {k: next((v.strip() for v in vs if v.strip()), "") for k, vs in values.items()}
    return {"title": first.get(f"{_DC}title", ""), "creators": values.get(f"{_DC}creator", []),
            "published": prism[0][:10] if prism else None,
            "CreationDate": first.get(f"{_XMP}CreateDate", ""),
            "ModDate": first.get(f"{_XMP}ModifyDate", "")}


# ---- HTML ----------------------------------------------------------------------------------

_HTML_TITLES = ("citation_title", "dc.title", "dcterms.title", "og:title")
_HTML_AUTHORS = ("citation_author", "dc.creator", "dcterms.creator")
_HTML_DATES = ("citation_publication_date", "citation_date", "dc.date.issued",
               "dcterms.issued", "dc.date", "dcterms.date", "article:published_time")


def _html(html: str, name: str) -> Read:
    """From the meta tags a library or publisher writes (Google Scholar's citation_*, Dublin
    Core, Open Graph), then <title> and <meta name="author">."""
    from rag.ingest.html import _soup

    end = html.lower().find("</head>")
    soup = _soup(html[: end + 7] if end >= 0 else html)
    tags: dict[str, list[str]] = {}
    for meta in soup.find_all("meta"):
        key = str(meta.get("name") or meta.get("property") or "").strip().lower()
        if key and meta.get("content"):
            tags.setdefault(key, []).append(str(meta["content"]))
    read, site = Read(), (tags.get("og:site_name") or tags.get("application-name") or [""])[0]
    for key in _HTML_TITLES:
        title = _without_site(tags.get(key, [""])[0], site)
        read.take("title", _good_title(title, name), f"the HTML {_tag(key)} tag")
    if soup.title is not None:
        title = _without_site(soup.title.get_text(), site)
        read.take("title", _good_title(title, name), "the HTML <title>")
    for key in _HTML_AUTHORS:
        names = [_first_last(n) for n in tags.get(key, [])]
        read.take("authors", [n for n in names if n], f"the HTML {_tag(key)} tags")
    read.take("authors", _split_authors(tags.get("author", [""])[0]),
              'the HTML <meta name="author">')
    for key in _HTML_DATES:
        read.take("year", _year(tags.get(key, [""])[0]), f"the HTML {_tag(key)} tag")
    return read


def _tag(key: str) -> str:
    """'dc.title' as pages write it: 'DC.title'."""
    return f"DC.{key[3:]}" if key.startswith("dc.") else key


def _without_site(title: str, site: str) -> str:
    """'The paper | Carnegie' without ' | Carnegie' when that is the site's name; "" when
    the title is only the site's name."""
    if site and _clean(title).lower() == _clean(site).lower():
        return ""
    parts = _SIDE.split(title.strip())
    if site and len(parts) > 1 and _clean(parts[-1]).lower() == _clean(site).lower():
        return title.strip()[: title.strip().rfind(parts[-1])].rstrip(" |·•–—-:")
    return title


def _first_last(value: str) -> str:
    """'Harding, Benjamin' (the order citation_author often has) as 'Benjamin Harding'."""
    value = _clean(value)
    last, comma, first = value.partition(",")
    if comma and first.strip() and "," not in first and _person(f"{first.strip()} {last}"):
        return f"{first.strip()} {last.strip()}"
    return "" if _JUNK_AUTHOR.fullmatch(value) else value


# ---- Markdown and plain text ---------------------------------------------------------------

_FRONT = re.compile(r"\ufeff?---[ \t]*\r?\n(?P<yaml>.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|$)",
                    re.S)


def _markdown(text: str, name: str) -> Read:
    """From YAML front matter (title, author or authors, date or year), then the first
    heading if it is a `# heading`, then the byline and date lines as in a text."""
    read, front = Read(), _FRONT.match(text[:HEAD_CHARS])
    if front:
        _front_matter(front["yaml"], name, read)
        text = text[front.end():]
    text = text[:HEAD_CHARS]
    read.take("title", _good_title(_first_heading(text), name), "the Markdown # heading")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    _byline_and_date(lines[:HEAD_LINES], read)
    return read


def _front_matter(yaml_text: str, name: str, read: Read) -> None:
    import yaml  # type: ignore[import-untyped]  # PyYAML: a dependency of llama-index-core

    try:
        front = yaml.safe_load(yaml_text)
    except (yaml.YAMLError, ValueError, RecursionError):  # ValueError: "date: 2020-13-45"
        return
    if not isinstance(front, dict):
        return
    where = "the Markdown front matter"
    title = front.get("title")
    read.take("title", _good_title(title if isinstance(title, str) else "", name), where)
    authors = front.get("authors", front.get("author"))
    if isinstance(authors, str):
        read.take("authors", _split_authors(authors), where)
    elif isinstance(authors, list):  # of names, or of {name: ...}; nothing else is printed
        names = [a.get("name") if isinstance(a, dict) else a for a in authors]
        read.take("authors", [_clean(n) for n in names if isinstance(n, str) and _clean(n)],
                  where)
    read.take("year", _year(front.get("date")) or _year(front.get("year")), where)


def _first_heading(text: str) -> str:
    """The text of the document's first heading if that is a level-one heading (markdown-it:
    a `#` inside a code block is no heading, and a `Title\\n===` heading is one)."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse(text)
    for at, token in enumerate(tokens):
        if token.type == "heading_open":
            inline = tokens[at + 1].children or []
            words = "".join(t.content for t in inline if t.type in ("text", "code_inline"))
            return words if token.tag == "h1" else ""
    return ""


def _text(text: str, name: str) -> Read:
    """From the text's first block if it reads as a title, its "By ..." line and its date or
    © line, all near its top."""
    lines = text[:HEAD_CHARS].lstrip("\ufeff").splitlines()
    read = Read()
    read.take("title", _good_title(_title_line(lines), name), "the text's first line")
    _byline_and_date([ln for ln in lines if ln.strip()][:HEAD_LINES], read)
    return read


def _title_line(lines: list[str]) -> str:
    """The first block of text (up to a blank line or a "By" line), if it is one or two
    lines that read as a title; else ""."""
    block: list[str] = []
    for line in lines:
        if _RULE.fullmatch(line) or (not line.strip() and not block):
            continue
        if not line.strip() or _BYLINE.match(line) or len(block) > 2:
            break
        block.append(_clean(line))
    labels = any(_LABELS.fullmatch(line.rstrip(" :")) or _FURNITURE.fullmatch(line)
                 for line in block)
    title = " ".join(block)
    return title if 1 <= len(block) <= 2 and not labels and _title_like(title) else ""


def _title_like(line: str) -> bool:
    """A title, not a sentence, a label or a page header: 2 to 25 words, not ending as a
    sentence or clause does, most of its longer words capitalised."""
    words = line.split()
    if (not 2 <= len(words) <= 25 or line[-1] in ".,;:-" or _LABELS.fullmatch(line.rstrip(":"))
            or _FURNITURE.fullmatch(line) or re.search(r"[a-z]\. [A-Z]", line)
            or (not line[0].isupper() and not line[0].isdigit() and line[0] not in "\"“‘'")):
        return False
    content = [w for w in words if w.lower().strip("\"“”‘’'(),") not in _SMALL_WORDS]
    capitals = sum(w.lstrip("\"“‘'(")[:1].isupper() for w in content)
    return bool(content) and capitals >= 0.6 * len(content)


def _byline_and_date(lines: list[str], read: Read) -> None:
    """Authors from a "By A and B" line, the year from a © line, a labelled date
    ("Published: 3 March 2021") or a line that is only a date ("December 2022")."""
    for line in lines:
        line = _clean(line)
        byline = _BYLINE.fullmatch(line)
        if byline:
            read.take("authors", _byline_names(byline["names"]), "the text's \"By\" line")
        copyright_ = _COPYRIGHT.search(line)
        labelled = _DATE_LABEL.fullmatch(line)
        if copyright_:
            read.take("year", _year(int(copyright_["y"])), "the text's © line")
        elif labelled:
            read.take("year", _year(labelled["date"].strip(" .")), "the text's date line")
        else:
            read.take("year", _year(line.strip(" .()"), dates=FULL_DATES), "the text's date line")

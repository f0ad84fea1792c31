"""Take the findings away: a conversation's cited answers as Markdown, BibTeX and CSL-JSON.

On the page each answer numbers its own citations ([1] of one answer and [1] of the next may be
different sources). An export is read as one text, so every marker is renumbered to one
bibliography in which a source (a file, or an article inside a multi-article file) has one
number wherever it is cited; the page of each cited place stays beside it ("[1, p. 4]").

Bibliographic data comes from the corpus's metadata (corpus/metadata.toml, and a PDF's own
metadata where that gives none); nothing is looked up elsewhere. Where metadata is missing the
source is named by its file.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from bibtexparser.entrypoint import write_string
from bibtexparser.library import Library
from bibtexparser.model import Entry as BibEntry
from bibtexparser.model import Field

from rag.ingest.metadata import DocMeta
from rag.types import HEDGE, Answer, Citation
from rag.web.render import Turn

# A question and its answer; None when answering it failed.
Exchange = tuple[str, Answer | None]
MARKDOWN_FILE, BIBTEX_FILE, CSL_FILE = "conversation.md", "references.bib", "references.json"


class Sources(Protocol):
    """What an export reads of the index (rag.retrieval.searcher.Searcher is one; a test may
    pass a small object): the metadata, and the original text to tell which article of a
    multi-article file a citation lies in."""

    @property
    def metadata(self) -> Mapping[str, DocMeta]: ...

    def original(self, doc: str) -> str: ...


@dataclass(frozen=True)
class Reference:
    """One cited place: the source's bibliographic data and the page cited (None: a text file
    has no pages). `title` is the file's; `part` the article's inside it, when the file holds
    several articles (then `authors` are that article's)."""

    doc: str
    title: str
    authors: tuple[str, ...] = ()
    year: int | None = None
    venue: str | None = None
    page: int | None = None
    part: str | None = None

    @classmethod
    def of(cls, citation: Citation, sources: Sources) -> Reference:
        meta = sources.metadata.get(citation.doc)
        if meta is None:
            return cls(citation.doc, citation.title, page=citation.page)
        part = (meta.part_at(sources.original(citation.doc), citation.start)
                if meta.parts else None)
        return cls(citation.doc, meta.title, tuple(part.authors if part else meta.authors),
                   meta.year, meta.venue, citation.page, part.title if part else None)

    @property
    def source(self) -> tuple[str, str | None]:
        """What one bibliography number stands for: a file, or an article inside it."""
        return self.doc, self.part

    @property
    def own_title(self) -> str:
        """The title of what is cited: the article's, inside a multi-article file."""
        return self.part or self.title


@dataclass(frozen=True)
class Source:
    """One numbered entry of the bibliography: the source and every page cited in it."""

    number: int
    reference: Reference  # its first cited place (the page there is that place's)
    pages: tuple[int, ...]


@dataclass(frozen=True)
class Bibliography:
    sources: tuple[Source, ...]
    places: Mapping[tuple[int, int], Reference]  # (exchange index, citation n) -> the place
    numbers: Mapping[tuple[str, str | None], int]

    def marker(self, exchange: int, n: int) -> str:
        """The renumbered marker of citation `n` of an exchange: "[1, p. 4]" or "[1]"."""
        place = self.places[(exchange, n)]
        number = self.numbers[place.source]
        return f"[{number}]" if place.page is None else f"[{number}, p. {place.page}]"


def bibliography(exchanges: Sequence[Exchange], sources: Sources) -> Bibliography:
    """Every source cited in the conversation, numbered in the order first cited."""
    places: dict[tuple[int, int], Reference] = {}
    cited: dict[tuple[str, str | None], list[Reference]] = {}
    for i, (_, answer) in enumerate(exchanges):
        for citation in answer.citations if answer else []:
            place = places[(i, citation.n)] = Reference.of(citation, sources)
            cited.setdefault(place.source, []).append(place)
    numbers = {key: number for number, key in enumerate(cited, start=1)}
    entries = tuple(Source(numbers[key], refs[0], tuple(sorted({r.page for r in refs
                                                                if r.page is not None})))
                    for key, refs in cited.items())
    return Bibliography(entries, places, numbers)


def exchanges_of(turns: Iterable[Turn]) -> list[Exchange]:
    """The page's turns as exchanges: answered and failed ones (a turn still streaming is left
    out: it has nothing to export yet)."""
    return [(t.question, t.answer) for t in turns if t.answer is not None or t.error]


# --- Venue: what kind of publication a source appeared in -----------------------------------

JOURNAL = re.compile(r"^(?P<name>.+?)\s+(?P<volume>\d+)\s*\((?P<issue>[^()]+)\)"
                     r"(?:\s*:\s*(?P<pages>\d+\s*[-–]+\s*\d+))?(?:\s*\((?P<publisher>[^()]+)\))?$")
JOURNAL_WORDS = re.compile(r"\b(journal|review|quarterly|bulletin|annals)\b", re.I)
# "J. Gaskarth (ed.), Rising Powers, Global Governance and Global Ethics (Series, Publisher)"
BOOK = re.compile(r"^(?P<editors>.+?)\s*\((?:eds?|Hrsg)\.?\),?\s*(?P<name>.+?)"
                  r"(?:\s*\((?P<extra>[^()]+)\))?$")
WEB = re.compile(r"\b(web|website|blog|online)\b", re.I)


@dataclass(frozen=True)
class Venue:
    """A venue string of the metadata, read as a journal (with volume, issue and the article's
    page range when given), a chapter of an edited book, a web page, or other (a publisher)."""

    kind: Literal["journal", "book", "web", "other"]
    name: str  # the journal's name, the book's title, or the venue as written
    editors: tuple[str, ...] = ()
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None  # the article's range in the journal, "132-136"
    publisher: str | None = None
    series: str | None = None


def venue_of(text: str) -> Venue:
    text = " ".join(text.split())
    if found := JOURNAL.match(text):
        pages = re.sub(r"\s*[-–]+\s*", "-", found["pages"]) if found["pages"] else None
        return Venue("journal", found["name"], volume=found["volume"], issue=found["issue"],
                     pages=pages, publisher=found["publisher"])
    if found := BOOK.match(text):
        editors = tuple(e for e in re.split(r"\s*(?:,|&|\band\b)\s*", found["editors"]) if e)
        series, _, publisher = (found["extra"] or "").rpartition(", ")
        return Venue("book", found["name"], editors, publisher=publisher or None,
                     series=series or None)
    if JOURNAL_WORDS.search(text):
        return Venue("journal", text)
    return Venue("web" if WEB.search(text) else "other", text)


# --- Names -----------------------------------------------------------------------------------

ORGANISATION = re.compile(
    r"\b(institute|endowment|centre|center|foundation|university|council|organi[sz]ation|"
    r"ministry|agency|commission|committee|office|bank|association|society|network|"
    r"programme|secretariat|forum|press|department|government|union|school|club)\b", re.I)
PARTICLES = {"van", "von", "de", "der", "den", "da", "di", "du", "del", "della", "la", "le",
             "bin", "ibn", "al", "el", "ter", "ten", "dos", "das", "zu"}
SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"}


def is_organisation(name: str) -> bool:
    return bool(ORGANISATION.search(name)) or len(name.split()) > 4


def csl_name(name: str) -> dict[str, str]:
    """A name as CSL wants it: family and given (with a particle and suffix apart), or literal
    for an organisation. "Surname, Given" is read as written; otherwise the last word (with
    the lower-case particles before it) is the family name."""
    name = " ".join(name.split())
    if is_organisation(name):
        return {"literal": name}
    if "," in name:
        family, given = (s.strip() for s in name.split(",", 1))
        return {"family": family, "given": given} if given else {"family": family}
    words = name.split()
    out: dict[str, str] = {}
    if len(words) > 2 and words[-1].lower() in SUFFIXES:
        out["suffix"] = words.pop()
    cut = len(words) - 1
    while cut > 1 and words[cut - 1].lower() in PARTICLES:
        cut -= 1
    if cut < len(words) - 1:
        out["non-dropping-particle"] = " ".join(words[cut:-1])
    out["family"] = words[-1]
    if cut > 0:
        out["given"] = " ".join(words[:cut])
    return out


def _ascii_word(text: str) -> str:
    """Lower-case ASCII letters and digits of `text` (for a citation key)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", folded.lower())


def _key_base(ref: Reference) -> str:
    """surname + year + first title word: "chatterjedoody2015russia". With no author, the
    venue's first word ("carnegie2020russias")."""
    if ref.authors:
        first = csl_name(ref.authors[0])
        who = first.get("family") or first.get("literal", "").split()[0]
    else:
        who = (ref.venue or "").split(" ", 1)[0]
    words = [w for w in (_ascii_word(w) for w in ref.own_title.split())
             if w and w not in {"a", "an", "the"}]
    year = str(ref.year) if ref.year else "nd"
    return f"{_ascii_word(who) or 'anon'}{year}{words[0] if words else 'untitled'}"


def keys(bib: Bibliography) -> list[str]:
    """A citation key per source, in the bibliography's order; the same base twice gets a
    letter ("harding2022russia", "harding2022russiab")."""
    found: list[str] = []
    for source in bib.sources:
        base = key = _key_base(source.reference)
        letter = ord("b")
        while key in found:
            key, letter = f"{base}{chr(letter)}", letter + 1
        found.append(key)
    return found


def _page_runs(pages: Sequence[int], dash: str) -> str:
    """4, 5, 6, 9 -> "4-6, 9" (with `dash`)."""
    runs: list[list[int]] = []
    for page in pages:
        if runs and page == runs[-1][-1] + 1:
            runs[-1].append(page)
        else:
            runs.append([page])
    return ", ".join(f"{r[0]}{dash}{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


# --- Markdown --------------------------------------------------------------------------------

# Characters that could start markup inside a line (every line of corpus or user text starts
# with fixed text, so line-start markup such as "1." or ">" cannot arise). "$" is math on GitHub.
MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~$&])")


def md(text: str) -> str:
    """Corpus or user text as inert Markdown on one line."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.replace("■", " ").split()))


def markdown(exchanges: Sequence[Exchange], sources: Sources) -> str:
    """The conversation: each question, its answer with markers renumbered to the bibliography
    at the end, and under it the verbatim quotes it cites."""
    bib = bibliography(exchanges, sources)
    lines = ["# Findings", ""]
    for i, (question, answer) in enumerate(exchanges):
        lines += [f"## {i + 1}. {md(question)}", "", *_answer_md(i, answer, bib)]
    if bib.sources:
        lines += ["## References", "", *(f"{s.number}. {_source_md(s)}" for s in bib.sources),
                  ""]
    return "\n".join(lines)


def _answer_md(i: int, answer: Answer | None, bib: Bibliography) -> list[str]:
    if answer is None:
        return ["**A:** *No answer: answering this question failed.*", ""]
    if answer.abstained:
        return [*_searched_md(answer), f"**A (abstained):** *{md(answer.answer)}*", ""]
    body = " ".join(md(s.text) + "".join(bib.marker(i, n) for n in s.citations
                                         if (i, n) in bib.places) for s in answer.sentences)
    head = f"**A (hedged):** *{md(HEDGE)}* " if answer.hedged else "**A:** "
    short = [f"**Short answer:** {md(answer.short_answer)}", ""] if answer.short_answer else []
    quotes = [f"- {bib.marker(i, c.n)} “{md(c.quote)}”" for c in answer.citations]
    return [*_searched_md(answer), *short, head + body, "",
            *(["Quoted:", "", *quotes, ""] if quotes else [])]


def _searched_md(answer: Answer) -> list[str]:
    """A follow-up ("When was it founded?") is searched as a question of its own; say which,
    so the answer can be read apart from the conversation. (Answers of a version without
    follow-ups have no `searched`.)"""
    searched = str(getattr(answer, "searched", "") or "")
    if not searched or searched == answer.question:
        return []
    return [f"*Searched as:* {md(searched)}", ""]


def _source_md(source: Source) -> str:
    ref = source.reference
    who = ", ".join(md(a) for a in ref.authors)
    year = f" ({ref.year})" if ref.year else ""
    title = (f"“{md(ref.part)}”. In: *{md(ref.title)}*" if ref.part else f"*{md(ref.title)}*")
    parts = [f"{who}{year}. {title}" if who else f"{title}{year}"]
    if ref.venue:
        parts.append(md(ref.venue))
    if source.pages:
        many = len(source.pages) > 1
        parts.append(f"Cited: {'pp' if many else 'p'}. {_page_runs(source.pages, '–')}")
    parts.append(f"File: {md(ref.doc)}")
    return ". ".join(parts) + "."


# --- BibTeX ----------------------------------------------------------------------------------

# BibTeX counts every brace, escaped or not, so a lone brace is written as a command whose
# own braces balance; the others are LaTeX's special characters. Non-ASCII stays UTF-8.
BIBTEX_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\textbraceleft{}",
                  "}": r"\textbraceright{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def tex(text: str) -> str:
    """Corpus text as a BibTeX field value that shows it as written."""
    return "".join(BIBTEX_SPECIAL.get(ch, ch) for ch in " ".join(text.replace("■", " ").split()))


def _tex_names(names: Iterable[str]) -> str:
    """Names joined with " and "; an organisation in braces, so BibTeX keeps it whole."""
    return " and ".join(f"{{{tex(n)}}}" if is_organisation(n) else tex(n) for n in names)


def bibtex(exchanges: Sequence[Exchange], sources: Sources) -> str:
    """One entry per cited source: @article (a journal), @incollection (a chapter of an edited
    book), else @misc. `pages` are the pages cited (PDF pages), else a journal article's
    range as its venue gives it. Written by bibtexparser; the values are escaped here (its
    LaTeX encoder would also turn every non-ASCII letter into a macro)."""
    bib = bibliography(exchanges, sources)
    library = Library([_bib_entry(s, key) for s, key in zip(bib.sources, keys(bib), strict=True)])
    return str(write_string(library))


def _bib_entry(source: Source, key: str) -> BibEntry:
    ref = source.reference
    venue = venue_of(ref.venue) if ref.venue else None
    kind = "misc" if ref.part or venue is None else venue.kind
    fields = {"author": _tex_names(ref.authors), "title": f"{{{tex(ref.own_title)}}}",
              "year": str(ref.year or "")}
    if kind == "journal" and venue:
        fields |= {"journal": tex(venue.name), "volume": venue.volume or "",
                   "number": tex(venue.issue or ""), "publisher": tex(venue.publisher or "")}
    elif kind == "book" and venue:
        fields |= {"booktitle": f"{{{tex(venue.name)}}}", "editor": _tex_names(venue.editors),
                   "series": tex(venue.series or ""), "publisher": tex(venue.publisher or "")}
    elif ref.part:
        fields["howpublished"] = tex(f"In: {ref.title}" + (f". {ref.venue}" if ref.venue else ""))
    else:
        fields["howpublished"] = tex(ref.venue or "")
    range_ = venue.pages if venue and kind == "journal" else None
    fields["pages"] = (_page_runs(source.pages, "--") if source.pages
                       else (range_ or "").replace("-", "--"))
    entry_type = {"journal": "article", "book": "incollection"}.get(kind, "misc")
    return BibEntry(entry_type, key, [Field(k, v) for k, v in fields.items() if v])


# --- CSL-JSON --------------------------------------------------------------------------------

CSL_TYPES = {"journal": "article-journal", "book": "chapter", "web": "webpage", "other": "report"}


def csl_json(exchanges: Sequence[Exchange], sources: Sources) -> list[dict[str, Any]]:
    """CSL-JSON items (as Zotero, Pandoc and citeproc read them), one per cited source, with
    the same ids as the BibTeX keys. `page` as in `bibtex`."""
    bib = bibliography(exchanges, sources)
    return [_csl_item(s, key) for s, key in zip(bib.sources, keys(bib), strict=True)]


def _csl_item(source: Source, key: str) -> dict[str, Any]:
    ref = source.reference
    venue = venue_of(ref.venue) if ref.venue else None
    item: dict[str, Any] = {"id": key, "type": "document", "title": " ".join(ref.own_title.split())}
    if ref.authors:
        item["author"] = [csl_name(a) for a in ref.authors]
    if ref.year:
        item["issued"] = {"date-parts": [[ref.year]]}
    if ref.part:
        item |= {"type": "article", "container-title": ref.title}
        if ref.venue:
            item["note"] = ref.venue
    elif venue:
        item |= _csl_venue(venue)
    page = (_page_runs(source.pages, "-") if source.pages
            else venue.pages if venue and venue.kind == "journal" else None)
    if page:
        item["page"] = page
    return item


def _csl_venue(venue: Venue) -> dict[str, Any]:
    if venue.kind == "web":  # "Web article, translated from ...": not a site's name
        return {"type": "webpage", "note": venue.name}
    fields: dict[str, Any] = {"type": CSL_TYPES[venue.kind]}
    if venue.kind == "other":
        fields["publisher"] = venue.name
        return fields
    fields["container-title"] = venue.name
    optional = {"volume": venue.volume, "issue": venue.issue, "publisher": venue.publisher,
                "collection-title": venue.series}
    fields |= {k: v for k, v in optional.items() if v}
    if venue.editors:
        fields["editor"] = [csl_name(e) for e in venue.editors]
    return fields


# --- Files -----------------------------------------------------------------------------------

def files(exchanges: Sequence[Exchange], sources: Sources, folder: Path) -> list[Path]:
    """Write conversation.md, references.bib and references.json into `folder` (made if
    missing) for the page to offer as downloads; returns their paths in that order."""
    folder.mkdir(parents=True, exist_ok=True)
    texts = {MARKDOWN_FILE: markdown(exchanges, sources),
             BIBTEX_FILE: bibtex(exchanges, sources),
             CSL_FILE: json.dumps(csl_json(exchanges, sources), ensure_ascii=False, indent=2)
             + "\n"}
    written = []
    for name, text in texts.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written

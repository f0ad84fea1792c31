"""Exporting a conversation of cited answers: Markdown, BibTeX and CSL-JSON (rag/web/export.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from bibtexparser.entrypoint import parse_string
from jsonschema import Draft7Validator

from rag.ingest.metadata import DocMeta, Part, load_metadata
from rag.types import HEDGE, Answer, Citation, Sentence
from rag.web import export
from rag.web.export import Reference, csl_name, venue_of
from rag.web.render import Turn
from tests.conftest import CORPUS

JOURNAL_DOC, BOOK_DOC, DIGEST_DOC, ODD_DOC, ORG_DOC = (
    "j.pdf", "b.txt", "d.txt", "odd.txt", "org.txt")
DIGEST = "Header.\nFIRST ARTICLE begins here. Alpha.\nSECOND ARTICLE begins here. Beta.\n"
META = {
    JOURNAL_DOC: DocMeta(title="Russian Engagement in the SCO", year=2020,
                         authors=["Igbal A. Guliev", "Svetlana V. Karpova"],
                         venue="International Journal on Emerging Technologies 11(5): 132-136 "
                               "(Research Trend)"),
    BOOK_DOC: DocMeta(title="Russia Rising?", authors=["P. N. Chatterje-Doody"], year=2015,
                      venue="J. Gaskarth (ed.), Rising Powers, Global Governance and Global "
                            "Ethics (Global Institutions, Routledge)"),
    DIGEST_DOC: DocMeta(title="Three analyses", authors=["Stephen Aris", "Derek Averre"],
                        year=2010, venue="Analytical digest",
                        parts=[Part(title="The first", authors=["Stephen Aris"],
                                    starts_with="FIRST ARTICLE"),
                               Part(title="The second", authors=["Derek Averre"],
                                    starts_with="SECOND ARTICLE")]),
    ODD_DOC: DocMeta(title="Oil & {Gas} at 5% for $3 #1 in_full ~ ^ \\", year=2022,
                     authors=["Jürgen Müller"], venue="Web article"),
    ORG_DOC: DocMeta(title="Russia Rising again", year=2015,
                     authors=["Carnegie Endowment for International Peace"],
                     venue="Carnegie Endowment for International Peace"),
}


class FakeSources:
    """The two things an export reads of a Searcher."""

    def __init__(self) -> None:
        self.metadata: Mapping[str, DocMeta] = META
        self.read: list[str] = []

    def original(self, doc: str) -> str:
        self.read.append(doc)
        return DIGEST if doc == DIGEST_DOC else "x" * 1000


def cite(n: int, doc: str, start: int = 0, page: int | None = None,
         quote: str = "a quoted sentence") -> Citation:
    return Citation(n=n, doc=doc, title=f"title of {doc}", chunk_id="c", start=start,
                    end=start + len(quote), quote=quote, page=page)


def answered(question: str, citations: list[Citation], hedged: bool = False) -> Answer:
    sentences = [Sentence(f"Claim {c.n} from {c.doc}.", [c.n], 0.9) for c in citations]
    text = " ".join(s.text for s in sentences)
    return Answer(question=question, answer=f"{HEDGE} {text}" if hedged else text,
                  abstained=False, backend="extractive", sentences=sentences,
                  citations=citations, hedged=hedged)


def conversation() -> list[export.Exchange]:
    first = answered("What does the journal say?", [cite(1, JOURNAL_DOC, page=4),
                                                    cite(2, BOOK_DOC)])
    in_second = DIGEST.index("SECOND") + 1
    second = answered("And then?", [cite(1, JOURNAL_DOC, page=7), cite(2, DIGEST_DOC, in_second),
                                    cite(3, DIGEST_DOC, start=10), cite(4, JOURNAL_DOC, page=5)],
                      hedged=True)
    abstained = Answer(question="What is the recipe for borscht?",
                       answer="The corpus does not answer this question.", abstained=True,
                       backend="extractive")
    return [("What does the journal say?", first), ("And then?", second),
            ("What is the recipe for borscht?", abstained), ("Why did it fail?", None)]


def section(text: str, heading: str) -> str:
    """The Markdown from `heading` to the next heading."""
    return text.split(heading, 1)[1].split("\n## ", 1)[0]


# --- references and numbering ---------------------------------------------------------------

def test_one_number_per_source_across_turns_and_the_page_of_each_place() -> None:
    bib = export.bibliography(conversation(), FakeSources())
    assert [(s.number, s.reference.doc, s.reference.part) for s in bib.sources] == [
        (1, JOURNAL_DOC, None), (2, BOOK_DOC, None), (3, DIGEST_DOC, "The second"),
        (4, DIGEST_DOC, "The first")]
    assert bib.sources[0].pages == (4, 5, 7)
    assert [bib.marker(0, 1), bib.marker(0, 2)] == ["[1, p. 4]", "[2]"]
    assert [bib.marker(1, n) for n in (1, 2, 3, 4)] == ["[1, p. 7]", "[3]", "[4]", "[1, p. 5]"]


def test_a_reference_in_a_part_names_the_article_and_its_own_authors() -> None:
    sources = FakeSources()
    ref = Reference.of(cite(1, DIGEST_DOC, start=DIGEST.index("SECOND") + 3, page=2), sources)
    assert ref == Reference(DIGEST_DOC, "Three analyses", ("Derek Averre",), 2010,
                            "Analytical digest", 2, "The second")
    before = Reference.of(cite(1, DIGEST_DOC, start=0), sources)  # before the first article
    assert before.part is None and before.authors == ("Stephen Aris", "Derek Averre")
    assert Reference.of(cite(1, BOOK_DOC), sources).part is None
    assert sources.read == [DIGEST_DOC, DIGEST_DOC]  # only a file with parts is read


def test_a_document_without_metadata_is_named_by_its_citation() -> None:
    ref = Reference.of(cite(1, "unknown.txt", page=3), FakeSources())
    assert ref == Reference("unknown.txt", "title of unknown.txt", page=3)


def test_the_pages_turns_become_exchanges_leaving_out_one_still_streaming() -> None:
    done = answered("q", [cite(1, BOOK_DOC)])
    turns = [Turn("q", done), Turn("failed", error="boom"), Turn("streaming", partial="..")]
    assert export.exchanges_of(turns) == [("q", done), ("failed", None)]


# --- Markdown --------------------------------------------------------------------------------

def test_markdown_renumbers_markers_and_lists_quotes_and_the_bibliography() -> None:
    text = export.markdown(conversation(), FakeSources())
    first = section(text, "## 1. What does the journal say?")
    assert f"Claim 1 from {JOURNAL_DOC}.[1, p. 4]" in first
    assert f"Claim 2 from {BOOK_DOC}.[2]" in first
    assert "- [1, p. 4] “a quoted sentence”" in first
    second = section(text, "## 2. And then?")
    assert f"Claim 2 from {DIGEST_DOC}.[3]" in second and "Claim 4 from j.pdf.[1, p. 5]" in second
    refs = section(text, "## References").strip().splitlines()
    assert refs[0] == ("1. Igbal A. Guliev, Svetlana V. Karpova (2020). *Russian Engagement in "
                       "the SCO*. International Journal on Emerging Technologies 11(5): 132-136 "
                       "(Research Trend). Cited: pp. 4–5, 7. File: j.pdf.")
    assert refs[2].startswith("3. Derek Averre (2010). “The second”. In: *Three analyses*.")
    assert len(refs) == 4


def test_hedged_abstained_and_failed_turns_say_so() -> None:
    text = export.markdown(conversation(), FakeSources())
    assert section(text, "## 2. And then?").strip().startswith(f"**A (hedged):** *{HEDGE}* ")
    assert "**A (hedged)" not in section(text, "## 1. What")
    borscht = section(text, "## 3. What is the recipe for borscht?")
    assert "**A (abstained):** *The corpus does not answer this question.*" in borscht
    assert "Quoted" not in borscht
    assert "answering this question failed" in section(text, "## 4. Why did it fail?")


def test_a_conversation_without_citations_has_no_bibliography() -> None:
    text = export.markdown(conversation()[2:], FakeSources())
    assert "## References" not in text and "## 1. What is the recipe" in text


def test_corpus_text_cannot_break_the_markdown() -> None:
    markdown_it = pytest.importorskip("markdown_it")
    quote = "a *starred* word, `code`, [a link](http://x), <b>bold</b> _x_ | pipe & $x$ #"
    exchanges: list[export.Exchange] = [(
        "Is *this* # a `question`?", answered("q", [cite(1, ODD_DOC, quote=quote)]))]
    text = export.markdown(exchanges, FakeSources())
    html = markdown_it.MarkdownIt("commonmark").render(text)
    # the markup the export makes itself: "A:" bold, the bibliography's title italic; none
    # from the quote, the title or the question
    assert html.count("<strong>") == 1 and html.count("<em>") == 1
    for tag in ("<code>", "<a ", "<b>", "<h3", "<table", "<hr"):
        assert tag not in html, (tag, html)
    assert "a *starred* word, `code`, [a link](http://x), &lt;b&gt;bold&lt;/b&gt; _x_" in html
    assert "<em>Oil &amp; {Gas} at 5% for $3 #1 in_full ~ ^ \\</em>" in html
    assert "Is *this* # a `question`?" in html


def test_quotes_are_on_one_line() -> None:
    exchanges: list[export.Exchange] = [
        ("q", answered("q", [cite(1, BOOK_DOC, quote="first line\n\n> second■line\n1. third")]))]
    text = export.markdown(exchanges, FakeSources())
    assert "- [1] “first line \\> second line 1. third”" in text


# --- BibTeX ----------------------------------------------------------------------------------

def parsed_bibtex(text: str) -> dict[str, Any]:
    """The entries as bibtexparser reads them back (no block may fail), fields unwrapped."""
    library = parse_string(text)
    assert not library.failed_blocks, [b.error for b in library.failed_blocks]
    return {e.key: (e.entry_type, {f.key: f.value for f in e.fields}) for e in library.entries}


def braces_balance(value: str) -> bool:
    """BibTeX's own rule: every brace counts, a backslash before it or not."""
    depth = 0
    for ch in value:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def test_bibtex_has_one_entry_per_source_of_the_right_type_and_parses_back() -> None:
    text = export.bibtex(conversation(), FakeSources())
    entries = parsed_bibtex(text)
    assert list(entries) == ["guliev2020russian", "chatterjedoody2015russia", "averre2010second",
                             "aris2010first"]
    kind, journal = entries["guliev2020russian"]
    assert kind == "article"
    assert journal == {"author": "Igbal A. Guliev and Svetlana V. Karpova",
                       "title": "{Russian Engagement in the SCO}", "year": "2020",
                       "journal": "International Journal on Emerging Technologies",
                       "volume": "11", "number": "5", "publisher": "Research Trend",
                       "pages": "4--5, 7"}
    kind, chapter = entries["chatterjedoody2015russia"]
    assert kind == "incollection"
    assert chapter["booktitle"] == "{Rising Powers, Global Governance and Global Ethics}"
    assert (chapter["editor"], chapter["series"], chapter["publisher"]) == (
        "J. Gaskarth", "Global Institutions", "Routledge")
    assert "pages" not in chapter  # a text file: no page cited, and the venue gives none
    kind, part = entries["averre2010second"]
    assert kind == "misc" and part["howpublished"] == "In: Three analyses. Analytical digest"
    assert part["author"] == "Derek Averre"


def test_a_journal_articles_range_is_its_pages_when_no_page_is_cited() -> None:
    exchanges: list[export.Exchange] = [("q", answered("q", [cite(1, JOURNAL_DOC)]))]
    (_, fields), = parsed_bibtex(export.bibtex(exchanges, FakeSources())).values()
    assert fields["pages"] == "132--136"


def test_bibtex_escapes_special_characters_and_keeps_unicode() -> None:
    exchanges: list[export.Exchange] = [("q", answered("q", [cite(1, ODD_DOC)]))]
    text = export.bibtex(exchanges, FakeSources())
    (key, (kind, fields)), = parsed_bibtex(text).items()
    assert key == "muller2022oil" and kind == "misc"
    assert fields["author"] == "Jürgen Müller"  # UTF-8, not {\"u}
    assert fields["title"] == ("{Oil \\& \\textbraceleft{}Gas\\textbraceright{} at 5\\% for "
                               "\\$3 \\#1 in\\_full \\textasciitilde{} \\textasciicircum{} "
                               "\\textbackslash{}}")
    assert all(braces_balance(v) for v in fields.values())
    assert braces_balance(text)


def test_an_organisation_is_one_bibtex_author() -> None:
    exchanges: list[export.Exchange] = [("q", answered("q", [cite(1, ORG_DOC)]))]
    (key, (_, fields)), = parsed_bibtex(export.bibtex(exchanges, FakeSources())).items()
    assert fields["author"] == "{Carnegie Endowment for International Peace}"
    assert key == "carnegie2015russia"


def test_keys_are_unique() -> None:
    same = DocMeta(title="Russia Rising", authors=["P. N. Chatterje-Doody"], year=2015)

    class Twins(FakeSources):
        def __init__(self) -> None:
            super().__init__()
            self.metadata = {**META, "twin.txt": same, "triplet.txt": same}

    exchanges: list[export.Exchange] = [("q", answered("q", [
        cite(1, BOOK_DOC), cite(2, "twin.txt"), cite(3, "triplet.txt")]))]
    assert list(parsed_bibtex(export.bibtex(exchanges, Twins()))) == [
        "chatterjedoody2015russia", "chatterjedoody2015russiab", "chatterjedoody2015russiac"]


def test_nothing_cited_is_an_empty_bibtex() -> None:
    assert export.bibtex(conversation()[2:], FakeSources()).strip() == ""
    assert export.csl_json(conversation()[2:], FakeSources()) == []


# --- CSL-JSON --------------------------------------------------------------------------------

# The item shape of CSL-JSON, after csl-data.json of the CSL 1.0.2 schema (citation-style-language
# /schema): its variable names by kind, and the name and date content models.
CSL_NAME_VARIABLES = [
    "author", "chair", "collection-editor", "compiler", "composer", "container-author",
    "contributor", "curator", "director", "editor", "editorial-director", "executive-producer",
    "interviewer", "illustrator", "organizer", "original-author", "performer", "producer",
    "recipient", "reviewed-author", "translator"]
CSL_DATE_VARIABLES = ["accessed", "available-date", "event-date", "issued", "original-date",
                      "submitted"]
CSL_STRING_VARIABLES = [
    "language", "journalAbbreviation", "shortTitle", "abstract", "annote", "archive",
    "archive_collection", "archive_location", "archive-place", "authority", "call-number",
    "citation-label", "collection-title", "container-title", "container-title-short",
    "dimensions", "division", "DOI", "event", "event-place", "genre", "ISBN", "ISSN",
    "jurisdiction", "keyword", "medium", "note", "original-publisher",
    "original-publisher-place", "original-title", "part-title", "PMCID", "PMID", "publisher",
    "publisher-place", "references", "reviewed-title", "scale", "section", "source", "status",
    "title", "title-short", "URL", "version", "year-suffix"]
CSL_NUMBER_VARIABLES = [
    "chapter-number", "citation-number", "collection-number", "edition",
    "first-reference-note-number", "issue", "locator", "number", "number-of-pages",
    "number-of-volumes", "page", "page-first", "part", "printing", "supplement", "volume"]
CSL_TYPES = [
    "article", "article-journal", "article-magazine", "article-newspaper", "bill", "book",
    "broadcast", "chapter", "classic", "collection", "dataset", "document", "entry",
    "entry-dictionary", "entry-encyclopedia", "event", "figure", "graphic", "hearing",
    "interview", "legal_case", "legislation", "manuscript", "map", "motion_picture",
    "musical_score", "pamphlet", "paper-conference", "patent", "performance", "periodical",
    "personal_communication", "post", "post-weblog", "regulation", "report", "review",
    "review-book", "software", "song", "speech", "standard", "thesis", "treaty", "webpage"]
STRING_OR_NUMBER = {"type": ["string", "number"]}
CSL_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "array",
    "items": {
        "type": "object",
        "required": ["type", "id"],
        "additionalProperties": False,
        "properties": {
            "id": STRING_OR_NUMBER, "type": {"type": "string", "enum": CSL_TYPES},
            "categories": {"type": "array", "items": {"type": "string"}},
            **{v: {"type": "array", "items": {"$ref": "#/definitions/name-variable"}}
               for v in CSL_NAME_VARIABLES},
            **{v: {"$ref": "#/definitions/date-variable"} for v in CSL_DATE_VARIABLES},
            **{v: {"type": "string"} for v in CSL_STRING_VARIABLES},
            **{v: STRING_OR_NUMBER for v in CSL_NUMBER_VARIABLES},
        },
    },
    "definitions": {
        "name-variable": {"type": "object", "additionalProperties": False, "properties": {
            "family": {"type": "string"}, "given": {"type": "string"},
            "dropping-particle": {"type": "string"}, "non-dropping-particle": {"type": "string"},
            "suffix": {"type": "string"},
            "comma-suffix": {"type": ["string", "number", "boolean"]},
            "static-ordering": {"type": ["string", "number", "boolean"]},
            "literal": {"type": "string"},
            "parse-names": {"type": ["string", "number", "boolean"]}}},
        "date-variable": {"type": "object", "additionalProperties": False, "properties": {
            "date-parts": {"type": "array", "minItems": 1, "maxItems": 2, "items": {
                "type": "array", "minItems": 1, "maxItems": 3, "items": STRING_OR_NUMBER}},
            "season": STRING_OR_NUMBER, "circa": {"type": ["string", "number", "boolean"]},
            "literal": {"type": "string"}, "raw": {"type": "string"}}},
    },
}


def check_csl(items: list[dict[str, Any]]) -> None:
    errors = [e.message for e in Draft7Validator(CSL_SCHEMA).iter_errors(items)]
    assert not errors, errors
    json.dumps(items)  # plain JSON


def test_the_schema_rejects_what_it_should() -> None:
    """The schema check can fail: an unknown field, a bad type, a bad name."""
    for bad in ({"id": "a", "type": "journal"}, {"id": "a", "type": "book", "authors": []},
                {"id": "a", "type": "book", "author": [{"surname": "X"}]},
                {"type": "book"}, {"id": "a", "type": "book", "issued": {"date-parts": [2020]}}):
        assert list(Draft7Validator(CSL_SCHEMA).iter_errors([bad])), bad


def test_csl_json_items_validate_and_carry_the_fields() -> None:
    items = export.csl_json(conversation(), FakeSources())
    check_csl(items)
    by_id = {item["id"]: item for item in items}
    assert list(by_id) == ["guliev2020russian", "chatterjedoody2015russia", "averre2010second",
                           "aris2010first"]  # the BibTeX keys
    assert by_id["guliev2020russian"] == {
        "id": "guliev2020russian", "type": "article-journal",
        "title": "Russian Engagement in the SCO",
        "author": [{"family": "Guliev", "given": "Igbal A."},
                   {"family": "Karpova", "given": "Svetlana V."}],
        "issued": {"date-parts": [[2020]]},
        "container-title": "International Journal on Emerging Technologies", "volume": "11",
        "issue": "5", "publisher": "Research Trend", "page": "4-5, 7"}
    chapter = by_id["chatterjedoody2015russia"]
    assert chapter["type"] == "chapter" and chapter["editor"] == [
        {"family": "Gaskarth", "given": "J."}]
    assert (chapter["container-title"], chapter["collection-title"], chapter["publisher"]) == (
        "Rising Powers, Global Governance and Global Ethics", "Global Institutions", "Routledge")
    part = by_id["averre2010second"]
    assert (part["type"], part["title"], part["container-title"]) == (
        "article", "The second", "Three analyses")


def test_csl_json_of_an_organisation_and_odd_characters() -> None:
    exchanges: list[export.Exchange] = [("q", answered("q", [cite(1, ORG_DOC),
                                                           cite(2, ODD_DOC)]))]
    items = export.csl_json(exchanges, FakeSources())
    check_csl(items)
    org, odd = items
    assert org["author"] == [{"literal": "Carnegie Endowment for International Peace"}]
    assert (org["type"], org["publisher"]) == ("report", "Carnegie Endowment for International "
                                               "Peace")
    assert odd["title"] == META[ODD_DOC].title  # JSON needs no escaping of its own
    assert odd["type"] == "webpage"


@pytest.mark.parametrize(("name", "parts"), [
    ("P. N. Chatterje-Doody", {"family": "Chatterje-Doody", "given": "P. N."}),
    ("Sergey Yu. Perevozchikov", {"family": "Perevozchikov", "given": "Sergey Yu."}),
    ("Ludwig van Beethoven", {"family": "Beethoven", "given": "Ludwig",
                              "non-dropping-particle": "van"}),
    ("Martin Luther King Jr.", {"family": "King", "given": "Martin Luther", "suffix": "Jr."}),
    ("Smith, John", {"family": "Smith", "given": "John"}),
    ("Plato", {"family": "Plato"}),
    ("Centre for Security Studies", {"literal": "Centre for Security Studies"}),
])
def test_names_are_split_sensibly(name: str, parts: dict[str, str]) -> None:
    assert csl_name(name) == parts


def test_the_corpus_venues_are_read_as_what_they_are() -> None:
    meta = load_metadata(CORPUS, "metadata.toml")
    kinds = {doc: venue_of(m.venue).kind for doc, m in meta.items() if m.venue}
    assert kinds == {"000_c198081f43e7425d.txt": "other", "001_bda3b9d9c2b1379f.txt": "book",
                     "002_653e190e66ad8d7b.txt": "journal", "003_cbd64bb5cc7f4072.txt": "web",
                     "004_aa492b75a69e056e.txt": "other"}
    journal = venue_of(meta["002_653e190e66ad8d7b.txt"].venue or "")
    assert (journal.name, journal.volume, journal.issue, journal.pages, journal.publisher) == (
        "International Journal on Emerging Technologies", "11", "5", "132-136", "Research Trend")


# --- files -----------------------------------------------------------------------------------

def test_files_writes_the_three_downloads(tmp_path: Path) -> None:
    folder = tmp_path / "export" / "new"
    paths = export.files(conversation(), FakeSources(), folder)
    assert [p.name for p in paths] == ["conversation.md", "references.bib", "references.json"]
    assert all(p.parent == folder for p in paths)
    md, bib, csl = (p.read_text(encoding="utf-8") for p in paths)
    assert md == export.markdown(conversation(), FakeSources())
    assert bib == export.bibtex(conversation(), FakeSources())
    assert json.loads(csl) == export.csl_json(conversation(), FakeSources())


# --- the real index --------------------------------------------------------------------------

@pytest.mark.slow
def test_a_real_conversation_exports_with_the_corpus_titles(real_index: Any,
                                                            tmp_path: Path) -> None:
    from rag.answering.pipeline import answer
    from rag.retrieval.searcher import get_searcher

    questions = ["What does the Carnegie paper say about the BRICS?",
                 "How many troops will the CORF have?"]
    exchanges: list[export.Exchange] = [(q, answer(q, settings=real_index)) for q in questions]
    searcher = get_searcher(real_index)
    md_path, bib_path, csl_path = export.files(exchanges, searcher, tmp_path)
    meta = load_metadata(CORPUS, "metadata.toml")
    cited = {c.doc for _, a in exchanges if a for c in a.citations}
    assert "000_c198081f43e7425d.txt" in cited  # the Carnegie paper, named in the question
    text = md_path.read_text(encoding="utf-8")
    references = section(text, "## References")
    carnegie = meta["000_c198081f43e7425d.txt"]
    assert f"1. *{export.md(carnegie.title)}* (2020). {carnegie.venue}." in references
    for doc in cited:
        titles = [meta[doc].title, *(p.title for p in meta[doc].parts)]
        assert any(export.md(t) in references for t in titles), doc
    entries = parsed_bibtex(bib_path.read_text(encoding="utf-8"))
    assert entries["carnegie2020russias"][1]["howpublished"] == carnegie.venue
    items = json.loads(csl_path.read_text(encoding="utf-8"))
    check_csl(items)
    assert [i["id"] for i in items] == list(entries)
    for i, (_, a) in enumerate(exchanges):  # every quote is listed under its marker
        assert a is not None and a.citations
        body = section(text, f"## {i + 1}. ")
        quoted = re.findall(r"^- \[(\d+)(?:, p\. \d+)?\] “", body, re.M)
        assert len(quoted) == len(a.citations)
        assert all(export.md(c.quote) in body for c in a.citations)

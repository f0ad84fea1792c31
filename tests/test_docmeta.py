"""Title, authors and year read from the documents themselves (rag/ingest/docmeta.py): a PDF's
information dictionary and XMP, HTML meta tags, Markdown front matter or `# heading`, a text's
title and "By" lines; nothing where the document does not state it plainly. The PDFs are made
here (reportlab, as in tests/pdfs.py)."""

import hashlib
import tomllib
from pathlib import Path
from typing import Any

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase.pdfdoc import PDFStream
from reportlab.pdfgen.canvas import Canvas

from rag.index.build import ingest
from rag.ingest.docmeta import Read, combine, read_fields, read_metadata, read_stored
from rag.ingest.metadata import DocMeta
from rag.retrieval.searcher import get_searcher
from tests.conftest import CORPUS

XMP = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:pdf="http://ns.adobe.com/pdf/1.3/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
 xmlns:prism="http://prismstandard.org/namespaces/basic/2.0/"
 pdf:Producer="Writer" xmp:CreateDate="2021-02-03T10:00:00Z">
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Eurasian Integration Revisited</rdf:li>
</rdf:Alt></dc:title>
<dc:creator><rdf:Seq><rdf:li>Anna Petrova</rdf:li><rdf:li>Li Wei</rdf:li></rdf:Seq></dc:creator>
<prism:publicationDate>2019-11-30</prism:publicationDate>
</rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"""


def make_pdf(path: Path, title: str = "", author: str = "", date: str = "",
             xmp: str = "") -> Path:
    """One page of text with these Title, Author and CreationDate (and ModDate) entries, and
    an uncompressed XMP Metadata stream if given. Without a date, reportlab's invariant one
    (D:20000101000000)."""
    canvas = Canvas(str(path), pagesize=A4, pageCompression=0, invariant=1)
    if title:
        canvas.setTitle(title)
    if author:
        canvas.setAuthor(author)
    if date:
        canvas.setDateFormatter(lambda *_: date)
    if xmp:
        stream = PDFStream(dictionary=None, content=xmp.encode(), filters=())
        stream.dictionary["Type"], stream.dictionary["Subtype"] = "/Metadata", "/XML"
        canvas.setCatalogEntry("Metadata", stream)
    canvas.drawString(72, A4[1] - 100, "The Shanghai Cooperation Organisation was founded in 2001.")
    canvas.showPage()
    canvas.save()
    return path


def test_a_pdf_gives_its_title_authors_and_creation_year(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "paper.pdf", "Russia and the SCO", "Jane Roe; John Doe",
                    "D:20190315120000Z")
    meta = read_metadata(path)
    assert meta == DocMeta(title="Russia and the SCO", authors=["Jane Roe", "John Doe"],
                           year=2019, note=meta.note if meta else None)
    assert meta and meta.note == ("Title and authors from the PDF's metadata; year from the "
                                  "PDF's creation date.")


@pytest.mark.parametrize("junk", ["Microsoft Word - draft.docx", "untitled", "paper.pdf",
                                  "paper", "report_final_v2", "C:\\Users\\x\\draft"])
def test_a_pdf_with_a_junk_title_gets_none_from_that_field(tmp_path: Path, junk: str) -> None:
    meta = read_metadata(make_pdf(tmp_path / "paper.pdf", junk, "Administrator"))
    assert meta == DocMeta(title="paper.pdf", year=2000,
                           note="Year from the PDF's creation date.")


def test_a_pdf_with_junk_info_takes_its_xmp(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "p.pdf", "Microsoft Word - draft.docx", "jsmith",
                    "D:19700101000000Z", xmp=XMP)
    read = read_fields(path)
    assert (read.title, read.authors, read.year) == (
        "Eurasian Integration Revisited", ["Anna Petrova", "Li Wei"], 2019)
    assert read.note() == ("title and authors from the PDF's XMP metadata; year from the PDF's "
                           "XMP publication date")


def test_an_image_s_xmp_is_not_the_document_s(tmp_path: Path) -> None:
    """Only a packet describing a PDF counts (an embedded photo's has a title of its own)."""
    photo = XMP.replace('xmlns:pdf="http://ns.adobe.com/pdf/1.3/" ', "").replace(
        'pdf:Producer="Writer" ', "")
    read = read_fields(make_pdf(tmp_path / "p.pdf", xmp=photo))
    assert (read.title, read.authors, read.year) == ("", [], 2000)  # the Info's CreationDate


HTML = """<!doctype html><html><head>
<title>Russia, the sick man of the SCO? | Diploweb</title>
<meta name="citation_title"
 content="Russia, the sick man of the Shanghai Cooperation Organization?">
<meta name="citation_author" content="Harding, Benjamin">
<meta name="citation_author" content="Assen Slim">
<meta name="citation_publication_date" content="2022/12/22">
<meta property="og:site_name" content="Diploweb">
</head><body><p>In 2014 and 1999 things happened.</p></body></html>"""


def test_html_citation_tags_win_over_the_title_tag() -> None:
    read = read_fields(HTML, "sco.html")
    assert read.title == "Russia, the sick man of the Shanghai Cooperation Organization?"
    assert read.authors == ["Benjamin Harding", "Assen Slim"]
    assert read.year == 2022
    assert read.note() == ("title from the HTML citation_title tag; authors from the HTML "
                           "citation_author tags; year from the HTML "
                           "citation_publication_date tag")


def test_html_without_citation_tags_uses_title_author_and_open_graph() -> None:
    html = ("<html><head><title>Russia and BRICS | Diploweb</title>"
            '<meta property="og:site_name" content="Diploweb">'
            '<meta name="author" content="Jane Roe and John Doe">'
            '<meta property="article:published_time" content="2021-06-01T08:00:00+00:00">'
            "</head><body><p>Text.</p></body></html>")
    meta = read_metadata(html, "brics.htm")
    assert meta is not None
    assert (meta.title, meta.authors, meta.year) == ("Russia and BRICS", ["Jane Roe", "John Doe"],
                                                     2021)
    assert meta.note == ('Title from the HTML <title>; authors from the HTML <meta '
                         'name="author">; year from the HTML article:published_time tag.')


def test_an_html_page_titled_by_its_site_only_has_no_title() -> None:
    html = ('<html><head><title>Diploweb</title><meta property="og:site_name" '
            'content="Diploweb"></head><body><p>2020</p></body></html>')
    assert read_metadata(html, "page.html") is None


def test_markdown_front_matter() -> None:
    text = ("---\ntitle: \"The SCO at twenty\"\nauthors:\n  - Jane Roe\n  - name: John Doe\n"
            "date: 2021-06-15\n---\n\n# Something else\n\nBody text from 1999.\n")
    read = read_fields(text, "sco.md")
    assert (read.title, read.authors, read.year) == ("The SCO at twenty",
                                                     ["Jane Roe", "John Doe"], 2021)
    assert set(read.where.values()) == {"the Markdown front matter"}


@pytest.mark.parametrize("front", ["date: 2020-13-45", "authors: [&a [1, 2], *a, {name: 3}]",
                                   "title: [unclosed", "- a list"])
def test_front_matter_that_is_not_what_it_should_be_gives_nothing_from_it(front: str) -> None:
    read = read_fields(f"---\n{front}\n---\n\n# Heading Title\n", "a.md")
    assert (read.title, read.authors, read.year) == ("Heading Title", [], None)


def test_markdown_without_front_matter_takes_its_first_level_one_heading() -> None:
    text = "```bash\n# not a heading\n```\n\n# Russia *and* the SCO\n\nIn 2014 Russia ...\n"
    meta = read_metadata(text, "sco.md")
    assert meta is not None and meta.title == "Russia and the SCO" and meta.year is None
    assert meta.note == "Title from the Markdown # heading."
    assert read_metadata("## Background\n\nText.\n\n# Appendix\n", "a.md") is None


def test_a_text_with_a_title_line_a_byline_and_a_date() -> None:
    text = ("\n  Russia and the Shanghai Cooperation Organisation  \n\nBy Jane Roe, Oxford and "
            "John Doe\n\nPublished: 3 March 2021\n\nIn 2014, Russia annexed Crimea.\n")
    read = read_fields(text, "sco.txt")
    assert (read.title, read.authors, read.year) == (
        "Russia and the Shanghai Cooperation Organisation", ["Jane Roe", "John Doe"], 2021)
    assert read.where == {"title": "the text's first line", "authors": 'the text\'s "By" line',
                          "year": "the text's date line"}


@pytest.mark.parametrize("text", [
    "Over the past two decades Russia has intensified its engagement.\n\nMore text.\n",
    "The SCO was founded in 2001\nby six states, and it has grown since then into\na bloc.\n",
    "Summary\n\nRussia ...\n",
    "List of abbreviations:\nBRIC – Brazil, Russia, India, China\n\nText.\n",
    "Page 3 of 12\n\nText.\n",
    "POLICY PAPER 7 | RUSSIA AND THE SCO\n\nText.\n",
    "the role of small states in regional organisations\n\nText.\n",
])
def test_a_text_that_does_not_open_with_a_title_gets_none(text: str) -> None:
    assert read_fields(text, "doc.txt").title == ""


def test_a_byte_order_mark_does_not_hide_the_title() -> None:
    read = read_fields("\ufeffRussia and the SCO\n\nText.\n".encode(), "a.txt")
    assert read.title == "Russia and the SCO"


def test_no_year_from_a_number_that_is_not_a_date() -> None:
    text = ("Russia and the SCO\n\n2019/20\n\n2020\n\nIn 2014 Russia annexed Crimea; by 2019 "
            "the SCO had eight members.\n(Received 12 June 2020, Accepted 4 August 2020)\n")
    read = read_fields(text, "doc.txt")
    assert read.year is None and read.authors == []  # "by 2019 ..." names no one
    assert read_fields("A Title Here\n\n© 2018 Carnegie\n", "d.txt").year == 2018


def test_metadata_toml_wins_field_by_field() -> None:
    given = DocMeta(title="Given title", authors=[], year=2020, note="By hand.")
    read = Read(title="Read title", authors=["Jane Roe"], year=2019,
                where={"title": "the PDF's metadata", "authors": "the PDF's metadata",
                       "year": "the PDF's creation date"})
    meta = combine(given, read, "d.pdf")
    assert meta is not None
    assert (meta.title, meta.authors, meta.year) == ("Given title", ["Jane Roe"], 2020)
    assert meta.note == "By hand. Authors from the PDF's metadata."
    assert combine(given, Read(), "d.pdf") is given
    assert combine(None, Read(), "d.pdf") is None


def test_what_it_reads_of_the_seed_corpus_agrees_with_metadata_toml() -> None:
    """Conservative: on the seed corpus (extracted text), a title or author read is the one
    metadata.toml gives by hand, or none."""
    given = tomllib.loads((CORPUS / "metadata.toml").read_text(encoding="utf-8"))
    for path in sorted(CORPUS.glob("*.txt")):
        read = read_fields(path)
        assert read.title in ("", given[path.name]["title"]), path.name
        assert set(read.authors) <= set(given[path.name]["authors"]), path.name
        assert read.year in (None, given[path.name]["year"]), path.name


@pytest.mark.slow
def test_an_ingested_corpus_without_metadata_toml_is_named_by_its_documents(
        tmp_path: Path, fake_models: Any, settings_for: Any) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    make_pdf(corpus / "paper.pdf", "Russia and the SCO", "Jane Roe; John Doe",
             "D:20190315120000Z")
    (corpus / "sco.html").write_text(HTML, encoding="utf-8")
    (corpus / "notes.md").write_text("# Notes on the Eurasian Union\n\nThe EAEU was founded "
                                     "in 2015 by five states.\n", encoding="utf-8")
    (corpus / "brief.txt").write_text("Russia and the BRICS Group\n\nBy Anna Petrova\n\nThe "
                                      "BRICS group met in Kazan in 2024.\n", encoding="utf-8")
    (corpus / "plain.txt").write_text("The SCO summit was held in Astana in 2024 and it was "
                                      "long.\n", encoding="utf-8")
    settings = settings_for(corpus)
    ingest(settings, progress=False)
    searcher = get_searcher(settings)
    assert searcher.title("paper.pdf") == "Russia and the SCO"
    assert searcher.metadata["paper.pdf"].year == 2019
    assert searcher.title("sco.html") == ("Russia, the sick man of the Shanghai Cooperation "
                                          "Organization?")
    assert searcher.title("notes.md") == "Notes on the Eurasian Union"
    assert searcher.title("brief.txt") == "Russia and the BRICS Group"
    assert searcher.metadata["brief.txt"].authors == ["Anna Petrova"]
    assert searcher.title("plain.txt") == "plain.txt" and "plain.txt" not in searcher.metadata
    assert searcher.docs_named_in("What is Petrova's view of BRICS?") == {"brief.txt"}


def test_an_indexed_html_page_is_read_only_while_its_file_is_the_version_indexed(
        tmp_path: Path) -> None:
    """The index keeps an HTML page's text, not its head: the file is read again, if it has
    not changed since the ingest (else its title could be another version's)."""
    (tmp_path / "sco.html").write_text(HTML, encoding="utf-8")
    indexed = hashlib.sha256(HTML.encode()).hexdigest()

    def stored(sha256: str) -> Read:
        return read_stored("sco.html", sha256, lambda: "", tmp_path / "none.pdf", tmp_path)

    assert stored(indexed).title.startswith("Russia, the sick man")
    assert stored("0" * 64) == Read()
    (tmp_path / "sco.html").unlink()
    assert stored(indexed) == Read()

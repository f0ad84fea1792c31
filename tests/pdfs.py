"""PDFs the tests make themselves (reportlab): a two-column page drawn row by row (left line,
right line, ...), a word hyphenated at a line end, a running header and a page number on
every page, a table, a second page; and the bad kinds (encrypted, no text layer, broken)."""

from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

HEADER = "POLICY PAPER 7 | RUSSIA AND THE SCO"
LEFT = ["The Shanghai Cooperation Organisation was", "founded in 2001 by six states. Its",
        "secretariat sits in Beijing, its anti-terrorist", "structure in the Uzbek capital, Tash-",
        "kent. India and Pakistan"]
RIGHT = ["joined the organisation as full members", "in 2017, and Iran followed in 2023. The",
         "SCO now spans most of the Eurasian", "landmass and nearly half of the world's",
         "people, as its charter proudly notes."]
TABLE = [("Country", "Joined"), ("India", "2017"), ("Pakistan", "2017"), ("Iran", "2023")]
PAGE_TWO = "Russia sees the organisation as a counterweight to the West."
TITLE, AUTHOR = "Russia and the SCO", "Jane Roe; John Doe"


def _furniture(canvas: Canvas, number: int) -> None:
    canvas.setFont("Helvetica", 8)
    canvas.drawString(72, A4[1] - 40, HEADER)
    canvas.drawCentredString(A4[0] / 2, 30, str(number))
    canvas.setFont("Helvetica", 11)


def policy_paper(path: Path, encrypt: str | None = None) -> Path:
    """Two pages: two columns drawn row by row, then a table and a closing sentence."""
    canvas = Canvas(str(path), pagesize=A4, encrypt=encrypt)
    canvas.setTitle(TITLE)
    canvas.setAuthor(AUTHOR)
    _furniture(canvas, 1)
    for row, (left, right) in enumerate(zip(LEFT, RIGHT, strict=True)):
        y = A4[1] - 100 - row * 14
        canvas.drawString(72, y, left)
        canvas.drawString(310, y, right)
    canvas.showPage()
    _furniture(canvas, 2)
    canvas.drawString(72, A4[1] - 100, "Table 1. Members and the year they joined")
    for row, (country, year) in enumerate(TABLE):
        canvas.drawString(72, A4[1] - 120 - row * 14, country)
        canvas.drawString(250, A4[1] - 120 - row * 14, year)
    canvas.drawString(72, A4[1] - 200, PAGE_TWO)
    canvas.showPage()
    canvas.save()
    return path


def scanned(path: Path) -> Path:
    """A page with shapes and no text layer, as a scanned page without OCR has."""
    canvas = Canvas(str(path), pagesize=A4)
    canvas.rect(72, 500, 300, 200, fill=1)
    canvas.showPage()
    canvas.save()
    return path


def broken(path: Path, good: Path) -> Path:
    """The first third of a good PDF: the header is there, the rest is not."""
    data = good.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return path

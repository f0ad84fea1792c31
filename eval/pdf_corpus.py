"""Make PDF versions of corpus documents, to check that PDFs answer like their text versions.

    .venv/bin/python eval/pdf_corpus.py OUT_DIR [--docs 000_....txt ...] [--corpus corpus]

Copies the corpus folder to OUT_DIR and replaces each chosen text document (default: all)
with a PDF of the same stem: A4 pages holding the text's lines as they are, a running header
(the title) and a page number on every page, title and author in the PDF's metadata.
Its entry in metadata.toml is renamed with it. `rag eval --corpus OUT_DIR` maps the
gold set's "paper.txt" to "paper.pdf" (rag.evaluate.gold `rebase`). Needs reportlab (in
the dev extra); uses DejaVu Sans where Debian has it (it covers the corpus's characters),
else Helvetica.
"""

from __future__ import annotations

import argparse
import shutil
import tomllib
from pathlib import Path

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
MARGIN, SIZE, LEADING, LINES = 40.0, 8.5, 11.5, 62  # points, points, points, lines a page


def _font() -> str:
    if not FONT.is_file():
        return "Helvetica"
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont("DejaVuSans", str(FONT)))
    return "DejaVuSans"


def make_pdf(text: str, out: Path, title: str, authors: list[str]) -> None:
    """`text` as a paginated PDF at `out`, line for line as the text file breaks it (the
    corpus files are text extracted from PDFs: their lines are the original's lines, hyphens
    at line ends included), LINES lines a page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.pdfgen.canvas import Canvas

    font, width, height = _font(), A4[0] - 2 * MARGIN, A4[1]
    canvas = Canvas(str(out), pagesize=A4)
    canvas.setTitle(title)
    canvas.setAuthor(", ".join(authors))
    lines = text.replace("\t", " ").splitlines()
    for number, first in enumerate(range(0, len(lines), LINES), start=1):
        canvas.setFont(font, 8)
        canvas.drawString(MARGIN, height - 40, title[:100])
        canvas.drawCentredString(A4[0] / 2, 30, str(number))
        for row, line in enumerate(lines[first:first + LINES]):
            size = min(SIZE, SIZE * width / max(stringWidth(line, font, SIZE), 1.0))
            canvas.setFont(font, size)
            canvas.drawString(MARGIN, height - 70 - row * LEADING, line.rstrip())
        canvas.showPage()
    canvas.save()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    parser.add_argument("--docs", nargs="*", help="text documents to replace (default: all)")
    args = parser.parse_args()
    shutil.copytree(args.corpus, args.out, dirs_exist_ok=True)
    meta_file = args.corpus / "metadata.toml"
    meta = tomllib.loads(meta_file.read_text()) if meta_file.is_file() else {}
    for path in sorted(args.corpus.glob("*.txt")):
        if args.docs and path.name not in args.docs:
            continue
        info = meta.get(path.name, {})
        make_pdf(path.read_text(encoding="utf-8"), args.out / f"{path.stem}.pdf",
                 info.get("title", path.stem), info.get("authors", []))
        (args.out / path.name).unlink()
        _rename_metadata(args.out / "metadata.toml", path.name, f"{path.stem}.pdf")
        print(f"{path.name} -> {path.stem}.pdf")


def _rename_metadata(path: Path, old: str, new: str) -> None:
    """The metadata of `old` now describes `new` (its keys are file names)."""
    if path.is_file():
        path.write_text(path.read_text(encoding="utf-8").replace(f'["{old}"]', f'["{new}"]'),
                        encoding="utf-8")


if __name__ == "__main__":
    main()

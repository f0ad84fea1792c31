"""A PDF page drawn as an image with the cited lines marked, for the source panel.

Drawn with pypdfium2 from the copy of the PDF the index was built from (so the page is the one
the offsets describe, even if the corpus file has changed since), marked with Pillow, and sent
inline as a PNG data URL: no file has to be served for the image.
"""

from __future__ import annotations

import base64
import functools
import io
from pathlib import Path

from rag.pages import Line

SCALE = 1.25  # pixels per PDF point: an A4 page is 744 x 1052
MARK = (255, 208, 0, 90)  # translucent yellow over the cited lines
OUTLINE = (214, 150, 0, 255)
PAD = 2.0  # points around a line's box


@functools.lru_cache(maxsize=64)
def page_png(pdf: Path, page: int, boxes: tuple[tuple[float, float, float, float], ...]) -> str:
    """A data URL of page `page` (1-based) of `pdf` with `boxes` (PDF points) marked."""
    import pypdfium2
    from PIL import Image, ImageDraw

    document = pypdfium2.PdfDocument(pdf)
    try:
        drawn = document[page - 1].render(scale=SCALE).to_pil().convert("RGBA")
        height = document.get_page_size(page - 1)[1]
    finally:
        document.close()
    overlay = Image.new("RGBA", drawn.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for left, bottom, right, top in boxes:
        draw.rectangle([(left - PAD) * SCALE, (height - top - PAD) * SCALE,
                        (right + PAD) * SCALE, (height - bottom + PAD) * SCALE],
                       fill=MARK, outline=OUTLINE, width=2)
    out = io.BytesIO()
    Image.alpha_composite(drawn, overlay).convert("RGB").save(out, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def marked_boxes(lines: list[Line], page: int) -> tuple[tuple[float, float, float, float], ...]:
    """The boxes of the cited lines that lie on `page` (a citation may run onto the next)."""
    return tuple(line.box for line in lines if line.page == page)

"""The page's fonts, shipped with the package: DejaVu Sans and DejaVu Sans Mono.

Why: Gradio 6's default theme draws text in its own copy of Source Sans Pro (a LocalFont served
from /static/fonts). Its weight-600 file, used by the header, buttons and source titles, is a
Google Fonts Cyrillic-extended slice holding only the space, "A" and "B". Chromium draws those
from it and every other letter of the line from a system fallback (DejaVu Sans Bold on Debian),
whose capitals are a tenth taller, so "Q&A", "EAEU" and "BRICS" read as small capitals.

Here the theme's fonts are DejaVu (Bitstream Vera licence, `fonts/LICENSE_DEJAVU`), subset to
Latin and the punctuation the corpus uses, and inlined in the theme's stylesheet as data URLs:
the page fetches no font file, from its own server or any other host, and needs no file route
(rag/web/guard.py serves only the corpus's documents). A character outside `UNICODES` is drawn
by the browser's own sans-serif font.

`python -m rag.web.fonts` makes the files again from matplotlib's copy of DejaVu.
"""

from __future__ import annotations

import base64
import functools
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from rag.errors import RagError

FONTS_DIR = Path(__file__).with_name("fonts")
SANS = "Bundled DejaVu Sans"  # CSS family names of their own: never a system font's
MONO = "Bundled DejaVu Sans Mono"
# Latin-1 and Latin Extended-A (names), general punctuation (curly quotes, dashes, ellipsis),
# the euro and rouble signs, arrows, minus, <= and >=, squares and circles, and the page's
# warning sign (rag/web/render.py).
UNICODES = ("U+0020-007E, U+00A0-017F, U+2000-206F, U+20AC, U+20BD, U+2122, U+2190-2193, "
            "U+2212, U+2264-2265, U+25A0-25CF, U+26A0")
# DejaVu's capitals and x-height are about a tenth larger than Source Sans's at one font size:
# scaled down, the page keeps the text sizes and line lengths Gradio's theme was made for.
SIZE_ADJUST = "90%"


@dataclass(frozen=True)
class Face:
    family: str
    file: str  # in FONTS_DIR
    weights: str  # the CSS font-weight range it is used for
    source: str  # the matplotlib DejaVu file it is cut from


FACES = (
    Face(SANS, "DejaVuSans.woff2", "100 500", "DejaVuSans.ttf"),
    Face(SANS, "DejaVuSans-Bold.woff2", "600 900", "DejaVuSans-Bold.ttf"),
    Face(MONO, "DejaVuSansMono.woff2", "100 500", "DejaVuSansMono.ttf"),
    Face(MONO, "DejaVuSansMono-Bold.woff2", "600 900", "DejaVuSansMono-Bold.ttf"),
)


@functools.cache
def face_css(face: Face) -> str:
    """An @font-face rule with the font inlined: no request leaves the page for it."""
    path = FONTS_DIR / face.file
    try:
        data = base64.b64encode(path.read_bytes()).decode("ascii")
    except OSError as err:
        raise RagError(f"The page's font {path} cannot be read ({err.strerror}): reinstall "
                       "the package (pip install --force-reinstall policy-rag).") from err
    return (f"@font-face {{ font-family: '{face.family}'; font-style: normal; "
            f"font-weight: {face.weights}; font-display: block; size-adjust: {SIZE_ADJUST}; "
            f"unicode-range: {UNICODES}; "
            f"src: url(data:font/woff2;base64,{data}) format('woff2'); }}")


class BundledFont(gr.themes.Font):
    """A theme font whose faces are the package's own files (Gradio's LocalFont points at
    Gradio's static folder, GoogleFont at fonts.googleapis.com)."""

    def stylesheet(self) -> dict[str, str | None]:
        faces = [face_css(f) for f in FACES if f.family == self.name]
        return {"url": None, "css": "\n".join(faces)}


def theme() -> Any:
    """Gradio's default theme with the bundled fonts; the generic families after them only
    draw characters outside UNICODES."""
    return gr.themes.Default(font=[BundledFont(SANS), "sans-serif"],
                             font_mono=[BundledFont(MONO), "monospace"])


def make(source_dir: Path, target_dir: Path = FONTS_DIR) -> list[Path]:
    """Cut each face from its DejaVu TrueType file to UNICODES, as WOFF2 (fontTools; brotli
    compresses). Without hinting instructions, half the size: browsers draw the outlines
    well without them."""
    from fontTools import subset

    options = subset.Options()
    options.flavor = "woff2"
    options.name_IDs = ["*"]  # the copyright and licence notices stay in the file
    options.hinting = False
    options.drop_tables += ["FFTM"]  # FontForge's timestamps
    made = []
    for face in FACES:
        font = subset.load_font(str(source_dir / face.source), options)
        cutter = subset.Subsetter(options)
        cutter.populate(unicodes=subset.parse_unicodes(UNICODES.replace(" ", "")))
        cutter.subset(font)
        subset.save_font(font, str(target_dir / face.file), options)
        made.append(target_dir / face.file)
    return made


def main() -> int:
    import matplotlib

    source = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    for path in make(source):
        print(f"{path}: {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())

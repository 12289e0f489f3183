"""A QR code drawn from WAHA's raw text: one small SVG `<path>`, as a `data:` URL for an <img>.

WAHA gives the QR's text (`GET /api/{session}/auth/qr?format=raw`, ~250 bytes) as well as a
PNG it renders and sends base64. Drawing the text here saves WAHA's render, the base64 and
the browser's PNG decode: the page gets one path, a stroke of width 1 along every run of dark
modules of each row (`M4,4.5h7m2,0h1...`), no spaces (a space costs 3 bytes in a data URL).
The browser scales the vector to the <img>'s size: crisp at any pixel density.

`QrPicture` is what the QR cache holds and the pages show, whichever way it was made.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import Sequence

import segno

#: White modules around the code (the QR standard's quiet zone).
QUIET_ZONE = 4
#: One fixed data mask. Left to choose, segno draws the symbol with each of the 8 masks and scores
#: them (pure Python): 40 ms of a 47 ms draw of WAHA's ~250-byte text on our 2-core machine, on the
#: way from WAHA's event to the page. Any mask gives a valid QR; the score only prefers fewer
#: finder-like patterns and large blocks, which decoders (tests/core/test_qr_picture.py reads back
#: many texts with zxing) do not need for a code shown this large on a screen.
QR_MASK = 0


@dataclasses.dataclass(frozen=True)
class QrPicture:
    """A QR code ready for an <img src>: `data_url`; `source` is "raw" (drawn here) or "png" (WAHA's)."""

    data_url: str
    mimetype: str
    source: str


def qr_matrix(text: str) -> Sequence[Sequence[int]]:
    """The modules of the QR code of `text` (truthy = dark), without the quiet zone."""
    return segno.make_qr(text, error="l", mask=QR_MASK).matrix


def svg_path(matrix: Sequence[Sequence[int]], border: int = QUIET_ZONE) -> str:
    """The path data: per row, one horizontal stroke per run of dark modules (relative moves)."""
    parts: list[str] = []
    pen_x, pen_y = 0, 0.0  # where the previous stroke ended
    first = True
    for y, row in enumerate(matrix):
        x, width = 0, len(row)
        while x < width:
            if not row[x]:
                x += 1
                continue
            start = x
            while x < width and row[x]:
                x += 1
            col, line = start + border, y + border + 0.5
            if first:
                parts.append(f"M{col},{_num(line)}")
                first = False
            else:
                parts.append(f"m{col - pen_x},{_num(line - pen_y)}")
            parts.append(f"h{x - start}")
            pen_x, pen_y = x + border, line
    return "".join(parts)


def qr_svg(text: str, border: int = QUIET_ZONE) -> str:
    matrix = qr_matrix(text)
    size = len(matrix) + 2 * border
    return (f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {size} {size}' width='{size}' height='{size}'"
            f" shape-rendering='crispEdges'><path stroke='black' d='{svg_path(matrix, border)}'/></svg>")


def svg_data_url(svg: str) -> str:
    """URL-encoded, not base64: the path's letters, digits, commas and dots pass as they are."""
    return "data:image/svg+xml," + urllib.parse.quote(svg, safe="/:=',.-")


def qr_picture(text: str) -> QrPicture:
    """WAHA's raw QR text -> the picture the page shows."""
    return QrPicture(data_url=svg_data_url(qr_svg(text)), mimetype="image/svg+xml", source="raw")


def _num(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)

"""Read a QR back the way a phone would: rasterise the picture, then decode it with zxing-cpp.

`decode_data_url` takes what a page's <img> gets (`QrPicture.data_url`): wahaweb's SVG is
rasterised here from its path (only the commands wahaweb writes: M, m, h, strokes of width 1
along y + 0.5), at `scale` pixels per module; WAHA's PNG data URLs are not handled (no image
library). `decode_gray` decodes a grayscale bitmap (one byte per pixel, 0 = black), e.g. the
pixels Chromium painted, read back through a canvas.
"""

from __future__ import annotations

import re
import urllib.parse

import zxingcpp

_VIEWBOX = re.compile(r"viewBox='0 0 (\d+) (\d+)'")
_PATH = re.compile(r" d='([^']*)'")
_COMMAND = re.compile(r"([MmHh])([-\d.,]+)")


def decode_gray(pixels: bytes, width: int, height: int) -> list[str]:
    view = memoryview(bytes(pixels)).cast("B", (height, width))
    return [barcode.text for barcode in zxingcpp.read_barcodes(view, formats=zxingcpp.BarcodeFormat.QRCode)]


def rasterise_svg(svg: str, scale: int = 4) -> tuple[bytes, int, int]:
    """wahaweb's QR SVG -> (grayscale pixels, width, height): white, dark where the path strokes."""
    box = _VIEWBOX.search(svg)
    path = _PATH.search(svg)
    assert box and path, svg[:200]
    cols, rows = int(box.group(1)), int(box.group(2))
    width, height = cols * scale, rows * scale
    pixels = bytearray([255]) * (width * height)
    x = y = 0.0
    for command, args in _COMMAND.findall(path.group(1)):
        numbers = [float(n) for n in args.split(",")]
        if command in "Mm":
            dx, dy = numbers
            x, y = (dx, dy) if command == "M" else (x + dx, y + dy)
            continue
        end = numbers[0] if command == "H" else x + numbers[0]
        row = int(y - 0.5)  # a stroke of width 1 centred on y covers module row y - 0.5
        for py in range(row * scale, (row + 1) * scale):
            start = py * width
            pixels[start + int(min(x, end) * scale):start + int(max(x, end) * scale)] = b"\x00" * int(
                abs(end - x) * scale)
        x = end
    return bytes(pixels), width, height


def svg_of(data_url: str) -> str:
    prefix = "data:image/svg+xml,"
    assert data_url.startswith(prefix), data_url[:40]
    return urllib.parse.unquote(data_url[len(prefix):])


def decode_data_url(data_url: str, scale: int = 4) -> list[str]:
    return decode_gray(*rasterise_svg(svg_of(data_url), scale))

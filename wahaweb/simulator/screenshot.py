"""``GET /api/screenshot``: a PNG of what the engine's browser shows.

While a QR is up, WhatsApp Web shows the QR, so the screenshot is that QR; otherwise it is a
plain image whose colour tells the status (dashboards only display it). The PNG is written
by hand (a greyscale image is a few lines of zlib) to need no imaging library.
"""

from __future__ import annotations

import struct
import zlib

from .qr import QrRenderer
from .session import SessionStatus, SimSession

STATUS_SHADES = {
    SessionStatus.STARTING: 0xC0,
    SessionStatus.PASSKEY_REQUIRED: 0xA0,
    SessionStatus.PASSKEY_CONFIRMATION_REQUIRED: 0xA0,
    SessionStatus.WORKING: 0xF0,
    SessionStatus.FAILED: 0x40,
}


def plain_png(shade: int, width: int = 64, height: int = 48) -> bytes:
    """An 8-bit greyscale PNG of one shade."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes([shade]) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def screenshot_png(session: SimSession, renderer: QrRenderer) -> bytes:
    if session.status is SessionStatus.SCAN_QR_CODE and session.qr_value:
        return renderer.png(session.qr_value)
    return plain_png(STATUS_SHADES.get(session.status, 0x80))

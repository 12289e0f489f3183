"""What a linking phone sees: QR texts, their PNGs, and pairing codes.

The QR text follows WhatsApp Web's shape, ``2@<ref>,<noise key>,<identity key>,<adv secret>``,
so a client that only relays it cannot tell the difference; the PNG is a real, scannable QR
of that text (any phone's camera decodes it, WhatsApp just won't link).
"""

from __future__ import annotations

import base64
import io
import re
import secrets
import string

import segno

PAIRING_CODE_ALPHABET = string.ascii_uppercase + string.digits
PHONE_NUMBER = re.compile(r"^\+?(\d{8,15})$")


def _random_b64(length: int) -> str:
    return base64.b64encode(secrets.token_bytes(length)).decode("ascii")


def new_qr_value() -> str:
    ref = "2@" + base64.b64encode(secrets.token_bytes(66)).decode("ascii")
    return ",".join((ref, _random_b64(32), _random_b64(32), _random_b64(32)))


def render_png(value: str) -> bytes:
    """PNG of ``value``: a real, scannable QR."""
    buffer = io.BytesIO()
    segno.make_qr(value, error="l").save(buffer, kind="png", scale=5, border=4)
    return buffer.getvalue()


class QrRenderer:
    """PNGs of QR texts, cached per simulator because clients poll the same QR many times.

    An instance, not a module-level cache: simulators in one process share nothing.
    """

    def __init__(self, max_entries: int = 64) -> None:
        self._cache: dict[str, bytes] = {}
        self._max_entries = max_entries

    def png(self, value: str) -> bytes:
        png = self._cache.get(value)
        if png is None:
            if len(self._cache) >= self._max_entries:
                self._cache.pop(next(iter(self._cache)))
            png = self._cache[value] = render_png(value)
        return png

    def png_base64(self, value: str) -> str:
        return base64.b64encode(self.png(value)).decode("ascii")


def new_pairing_code() -> str:
    chars = "".join(secrets.choice(PAIRING_CODE_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def normalise_phone_number(raw: object) -> str | None:
    """Digits of an international number (8 to 15 of them, an optional leading '+'), or None."""
    if not isinstance(raw, str):
        return None
    match = PHONE_NUMBER.match(raw.strip())
    return match.group(1) if match else None


def random_phone_number() -> str:
    return "628" + "".join(secrets.choice(string.digits) for _ in range(9))

"""Messages for the sign-in and sign-up forms, carried as codes in the redirect's query.

A form post answers with a redirect back to the form, so its message travels in the URL.
Sending the text itself would let anyone craft a link that prints their own words on our
sign-in page; a code can only name one of the messages below.
"""

from __future__ import annotations

from wahaweb.core.accounts import MESSAGES
from wahaweb.core.errors import CoreError, RateLimited

GENERIC = "Something went wrong. Please try again."
#: code -> the limit whose wording it uses
RATE_LIMITS = {"rate_limited": "sign_in", "sign_up_limited": "sign_up"}
_BY_TEXT = {text: code for code, text in MESSAGES.items()}


def code_for(exc: CoreError) -> tuple[str, int | None]:
    """The code of a core error, and the wait in seconds when it is a rate limit."""
    if isinstance(exc, RateLimited):
        return ("sign_up_limited" if exc.name == "sign_up" else "rate_limited"), int(exc.retry_after_seconds)
    if exc.code in MESSAGES:
        return exc.code, None
    return _BY_TEXT.get(str(exc), "error"), None


def message_for(code: str, wait: str | int | None = None) -> str:
    """The text of a code from a query string; unknown codes say nothing (empty)."""
    if not code:
        return ""
    if code in RATE_LIMITS:
        text = str(wait or "")
        seconds = int(text) if text.isdigit() and 0 < int(text) < 100_000 else 60
        return str(RateLimited(RATE_LIMITS[code], seconds))
    if code == "error":
        return GENERIC
    return MESSAGES.get(code, "")

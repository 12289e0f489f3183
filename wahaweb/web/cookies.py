"""The sign-in cookie's name and the one rule for where a browser may be sent after sign-in.

The HTTP form routes set the cookie and redirect; the Reflex pages read the cookie from the
websocket handshake and build sign-in links: both must agree on the name and on `safe_next`.
"""

from __future__ import annotations

COOKIE_NAME = "wahaweb_session"


def safe_next(target: str | None) -> str:
    """Only same-site paths are followed after sign-in (no open redirects).

    Browsers drop tabs and newlines from URLs, so `/\\t/evil.example` would become
    `//evil.example`: any control or whitespace character refuses the target.
    """
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return "/"
    if target.startswith(("/login", "/register", "/api/")):
        return "/"
    return target

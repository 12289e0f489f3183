"""Which web pages may open wahaweb's websocket: its own, and origins the operator names.

The session cookie is SameSite=Lax, so a page on another port or a sibling subdomain
(same site, other origin) would send it along with a websocket handshake and could act
as the signed-in user. Browsers always send `Origin` on a websocket handshake, and no
page can forge it: we accept the handshake only when the Origin's host is the host the
request was made to, or one of `WAHAWEB_ALLOWED_ORIGINS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit


def origin_policy(allowed: Iterable[str]) -> Callable[[str | None, dict[str, Any]], bool]:
    """An engine.io `cors_allowed_origins` callable: `(origin, environ) -> allowed?`."""
    extras = frozenset(o.rstrip("/").lower() for o in allowed)

    def allowed_origin(origin: str | None, environ: dict[str, Any] | None = None) -> bool:
        if not origin:
            return True  # not a browser: it cannot carry a victim's cookie across sites
        origin = origin.rstrip("/").lower()
        if origin in extras:
            return True
        host = ((environ or {}).get("HTTP_HOST") or "").lower()
        return bool(host) and urlsplit(origin).netloc == host

    return allowed_origin
